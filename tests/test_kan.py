"""Correctness of kanmix.kan.KANLinear: its plain formula against independent float64 evaluations
(scipy, numpy), and the fast path (kanmix.kan_fast) against the plain formula."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

import kanmix.kan_fast as kan_fast
from kanmix.bspline import bspline_bases
from kanmix.kan import KAN, KANLinear, PlainKANLinear


def scipy_bases(knots: np.ndarray, x: np.ndarray, order: int) -> np.ndarray:
    """``(n,)`` points -> ``(n, len(knots) - order - 1)`` B-spline values, zero outside each support."""
    cols = []
    for j in range(len(knots) - order - 1):
        element = BSpline.basis_element(knots[j : j + order + 2], extrapolate=False)
        cols.append(np.nan_to_num(element(x), nan=0.0))
    return np.stack(cols, axis=-1)


def probe_points(layer: KANLinear, n: int = 60, seed: int = 0) -> torch.Tensor:
    """``(n + K, in)``: random points over each input's extended grid, every knot but the last,
    and the ends of the inner range."""
    g = torch.Generator().manual_seed(seed)
    grid = layer.grid.double()
    k = layer.spline_order
    lo, hi = grid[:, 0], grid[:, -1]
    rand = lo + (hi - lo) * torch.rand(n, layer.in_features, generator=g, dtype=torch.float64)
    ends = torch.stack([grid[:, k], grid[:, -k - 1]])
    return torch.cat([rand, grid[:, :-1].t(), ends])


def data_like(rows: int, n_in: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.6 * torch.randn(rows, n_in, generator=g)


def uniform(layer: KANLinear) -> bool:
    """Whether the layer takes the closed-form uniform-grid path."""
    return layer.grid_for(torch.float32).uniform


def plain_output_float64(layer: KANLinear, x: torch.Tensor) -> np.ndarray:
    """The formula written out in numpy float64 with scipy bases: ``(rows, in) -> (rows, out)``."""
    xs = x.double().numpy()
    grid = layer.grid.double().numpy()
    bw = layer.base_weight.detach().double().numpy()
    sw = (layer.spline_weight * layer.spline_scaler.unsqueeze(-1)).detach().double().numpy()
    out = (xs / (1 + np.exp(-xs))) @ bw.T
    for i in range(layer.in_features):
        out += scipy_bases(grid[i], xs[:, i], layer.spline_order) @ sw[:, i, :].T
    return out


@pytest.fixture(autouse=True)
def eager_kernels(request, monkeypatch):
    """Run the fused kernels eagerly: same code, no compile wait. One test checks the compiled ones."""
    if "compiled" not in request.node.name:
        monkeypatch.setattr(kan_fast._features, "compiled", None)
        monkeypatch.setattr(kan_fast._grad_input, "compiled", None)


@pytest.fixture(params=["uniform", "updated"])
def layer(request) -> KANLinear:
    torch.manual_seed(0)
    layer = KANLinear(4, 3)
    if request.param == "updated":
        layer.update_grid(data_like(256, 4) + torch.tensor([0.0, 0.5, -0.3, 1.0]))
        assert not uniform(layer)
    return layer


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bases_match_scipy(layer, dtype):
    layer = layer.to(dtype)
    x = probe_points(layer)
    ours = layer.bases(x.to(dtype)).double().numpy()  # the path forward() takes
    general = bspline_bases(x, layer.grid.double(), layer.spline_order).numpy()  # Cox-de Boor, float64
    grid = layer.grid.double().numpy()
    for i in range(layer.in_features):
        ref = scipy_bases(grid[i], x[:, i].numpy(), layer.spline_order)
        np.testing.assert_allclose(ours[:, i], ref, atol=1e-6, rtol=0)
        np.testing.assert_allclose(general[:, i], ref, atol=1e-12, rtol=0)


def test_bases_partition_of_unity(layer):
    k = layer.spline_order
    lo, hi = layer.grid[:, k], layer.grid[:, -k - 1]
    x = lo + (hi - lo) * torch.linspace(0, 1, 101).unsqueeze(1)
    sums = layer.bases(x).sum(-1)
    torch.testing.assert_close(sums, torch.ones_like(sums), atol=1e-6, rtol=0)


def test_spline_is_zero_outside_extended_grid(layer):
    far = torch.stack([layer.grid[:, 0] - 0.1, layer.grid[:, -1], layer.grid[:, -1] + 3.0])
    assert layer.bases(far).abs().max() == 0


@pytest.mark.parametrize("chunked", [False, True])
def test_gradcheck_float64(layer, chunked, monkeypatch):
    if chunked:  # several row chunks per call: the accumulation across chunks must be exact too
        monkeypatch.setitem(kan_fast._CACHE_BYTES, "cpu", 320)  # 40 float64 elements
        monkeypatch.setitem(kan_fast._MIN_ROWS, "cpu", 1)
    layer = layer.double()
    x = probe_points(layer, n=6, seed=1)[:8].clone().requires_grad_()
    names = ["base_weight", "spline_weight", "spline_scaler"]
    params = tuple(getattr(layer, n).detach().clone().requires_grad_() for n in names)

    def fn(x, *ps):
        return torch.func.functional_call(layer, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(fn, (x, *params))


def test_float32_matches_float64_formula(layer):
    x = probe_points(layer, n=200, seed=2).float()
    ref = plain_output_float64(layer, x)
    for out in (layer(x), layer.plain_forward(x)):  # the fast path and the formula as written
        np.testing.assert_allclose(out.detach().double().numpy(), ref, atol=2e-6 * max(1.0, np.abs(ref).max()), rtol=0)


def _forward_backward(fn, layer: KANLinear, x: torch.Tensor, grad_out: torch.Tensor) -> list[torch.Tensor]:
    """``fn(x)`` and the gradients of ``sum(fn(x) * grad_out)`` for x and every parameter, in float32."""
    layer.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_()
    y = fn(x)
    (y.float() * grad_out).sum().backward()
    return [y.detach().float(), x.grad, *(p.grad for p in (layer.base_weight, layer.spline_weight, layer.spline_scaler))]


def test_fast_path_matches_plain_forward_and_backward(layer):
    x = data_like(64, 4, seed=3)
    grad_out = torch.randn(64, 3, generator=torch.Generator().manual_seed(7))
    fast = _forward_backward(layer, layer, x, grad_out)
    plain = _forward_backward(layer.plain_forward, layer, x, grad_out)
    for name, a, b in zip(["output", "x", "base_weight", "spline_weight", "spline_scaler"], fast, plain):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4, msg=name)


def test_any_leading_shape():
    torch.manual_seed(0)
    layer = KANLinear(5, 2)
    x = data_like(24, 5).view(2, 3, 4, 5)
    assert layer(x).shape == (2, 3, 4, 2)
    torch.testing.assert_close(layer(x).reshape(-1, 2), layer(x.reshape(-1, 5)))
    assert layer(x.transpose(0, 2)).shape == (4, 3, 2, 2)  # non-contiguous input
    assert layer(torch.zeros(0, 5)).shape == (0, 2)
    empty = torch.zeros(0, 5, requires_grad=True)
    layer(empty).sum().backward()  # an empty batch has zero gradients, not an error
    assert empty.grad.shape == (0, 5)
    assert all(p.grad is not None and not p.grad.any() for p in layer.parameters())
    layer.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the bf16 weight gradient takes another route
        out = layer(empty)
    out.float().sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 and not p.grad.any() for p in layer.parameters())


def _bf16_error_bounds(layer: KANLinear, x: torch.Tensor, grad_out: torch.Tensor) -> list[torch.Tensor]:
    """Worst-case bf16 rounding errors of ``_forward_backward``'s five tensors.

    bf16 keeps 8 significant bits, so one rounding moves a value by at most ``u = 2^-8`` of
    itself. Every GEMM of the bf16 path rounds both operands (features or their gradient,
    weight, output gradient) and its output, and accumulates in float32, so each element of a
    GEMM's result is off by at most ``3u`` times the sum of the magnitudes of the products it
    adds (the float32 sums and the float32 reference add ~1e-5 of that, negligible); the
    elementwise float32 steps after the GEMMs carry this bound along. Unlike a tolerance
    relative to the result, this holds for elements whose terms cancel, and a wrong feature,
    weight or block moves elements by a good part of that sum, far beyond ``3u``.
    """
    grid = layer.grid_for(torch.float64)
    xd = x.double()
    bases, dbases = grid.bases(xd, derivative=True)  # (rows, G + k, in)
    sig = torch.sigmoid(xd)
    feats = torch.cat([torch.nn.functional.silu(xd).unsqueeze(1), bases], 1).abs()  # (rows, G + k + 1, in)
    dfeats = torch.cat([(sig * (1 + xd * (1 - sig))).unsqueeze(1), dbases], 1).abs()
    weight = kan_fast.combined_weight(layer.base_weight, layer.spline_weight, layer.spline_scaler)
    w = weight.detach().double().abs().view(layer.out_features, -1, layer.in_features)
    g = grad_out.double().abs()
    grad_w = torch.einsum("ro,rfi->ofi", g, feats)
    grad_comb = grad_w[:, 1:].transpose(1, 2)  # (out, in, G + k)
    sums = [
        torch.einsum("rfi,ofi->ro", feats, w),  # output
        torch.einsum("ro,ofi,rfi->ri", g, w, dfeats),  # input gradient
        grad_w[:, 0],  # base_weight
        grad_comb * layer.spline_scaler.detach().double().abs().unsqueeze(-1),  # spline_weight
        (grad_comb * layer.spline_weight.detach().double().abs()).sum(-1),  # spline_scaler
    ]
    return [3 * 2.0**-8 * s.float() for s in sums]


@pytest.mark.parametrize("path", ["fast", "fast-blocked", "plain"])
def test_bf16_autocast_agrees_with_float32(layer, path, monkeypatch):
    if path == "fast-blocked":  # several row blocks, and the weight gradient over several blocks of inputs
        monkeypatch.setitem(kan_fast._CACHE_BYTES, "cpu", 12000)
        monkeypatch.setitem(kan_fast._MIN_ROWS, "cpu", 1)
        monkeypatch.setitem(kan_fast._MIN_INPUTS, "cpu", 1)
    torch.manual_seed(1)
    layer = KANLinear(24, 16) if uniform(layer) else layer  # uniform: a wider layer, more terms per sum
    rows = 300
    x = data_like(rows, layer.in_features, seed=8) + torch.linspace(-0.5, 0.5, layer.in_features)
    grad_out = torch.randn(rows, layer.out_features, generator=torch.Generator().manual_seed(9))
    fn = layer.plain_forward if path == "plain" else layer
    ref = _forward_backward(fn, layer, x, grad_out)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert fn(x[:2]).dtype == torch.bfloat16  # the GEMMs ran in bf16
        got = _forward_backward(fn, layer, x, grad_out)
    bounds = _bf16_error_bounds(layer, x, grad_out)
    for name, a, b, bound in zip(["output", "x", "base_weight", "spline_weight", "spline_scaler"], got, ref, bounds):
        assert a.dtype == torch.float32, name  # the input's and the parameters' gradients stay float32
        excess = ((a - b).abs() - bound).max().item()
        assert excess <= 1e-6, f"{name}: bf16 differs from float32 by {excess:.3g} more than rounding allows"


def test_init_matches_efficient_kan():
    torch.manual_seed(0)
    n_in, n_out, g = 200, 50, 5
    layer = KANLinear(n_in, n_out, grid_size=g, scale_noise=0.1)
    bound = 1 / math.sqrt(n_in)  # kaiming_uniform with a = sqrt(5): gain sqrt(1/3) * sqrt(3 / fan_in)
    for w in (layer.base_weight, layer.spline_scaler):
        assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
    # The splines interpolate uniform noise of amplitude scale_noise / 2 / G at the G + 1 inner knots.
    knots = layer.grid[:, 3:-3].t()
    values = torch.einsum("nic,oic->noi", layer.bases(knots), layer.spline_weight).detach()
    assert values.abs().max() <= 0.1 / 2 / g * (1 + 1e-5)
    assert values.abs().max() > 0.9 * 0.1 / 2 / g
    assert values.std() == pytest.approx(0.1 / g / math.sqrt(12), rel=0.05)


def test_regularization_loss_formula():
    torch.manual_seed(0)
    layer = KANLinear(3, 2)
    l1 = layer.spline_weight.abs().mean(-1)
    p = l1 / l1.sum()
    expected = 0.3 * l1.sum() + 0.7 * -(p * p.log()).sum()
    torch.testing.assert_close(layer.regularization_loss(0.3, 0.7), expected)
    stack = KAN([3, 4, 2])
    total = sum(lyr.regularization_loss() for lyr in stack.layers)
    torch.testing.assert_close(stack.regularization_loss(), total)


def _max_relative_change(before: torch.Tensor, after: torch.Tensor) -> float:
    return ((after - before).abs().max() / before.abs().max()).item()


def test_update_grid_preserves_output():
    torch.manual_seed(0)
    layer = KANLinear(16, 8)
    x = data_like(512, 16)
    with torch.no_grad():
        before = layer(x)
        layer.update_grid(x)
        after = layer(x)
    k = layer.spline_order
    inside = ((x >= layer.grid[:, k]) & (x <= layer.grid[:, -k - 1])).all(1)
    assert inside.float().mean() > 0.9
    change = _max_relative_change(before[inside], after[inside])
    assert change < 0.01, f"update_grid changed outputs by {change:.2%}"


def test_update_grid_does_not_scale_twice():
    torch.manual_seed(0)
    layer = KANLinear(6, 4)
    # Make every spline a cubic polynomial, which splines on any knots represent exactly: the
    # refit is then exact, and any change of the output is the refit's own error.
    x = torch.rand(512, 6, generator=torch.Generator().manual_seed(4)) * 2 - 1
    poly = (0.3 * x**3 - x**2 + 0.5 * x).unsqueeze(-1) * torch.linspace(-1, 1, 4)  # (rows, in, out)
    with torch.no_grad():
        layer.base_weight.zero_()  # isolate the spline part
        layer.spline_scaler.fill_(2.0)
        layer.spline_weight.copy_(layer._fit(x, poly, layer.grid))
        before = layer(x)
        torch.testing.assert_close(before, 2 * poly.sum(1), atol=1e-4, rtol=1e-4)
        layer.update_grid(x)
        after = layer(x)
    assert not uniform(layer) and torch.all(layer.spline_scaler == 2.0)
    assert _max_relative_change(before, after) < 1e-4  # applying the scaler twice would double it


@pytest.mark.parametrize("inputs", ["gaussian", "discrete", "few rows"])
def test_update_grid_refit_is_the_minimum_norm_least_squares_fit(inputs):
    """The streamed refit (row blocks folded into a running QR) against the whole problem solved at once.

    The oracle: numpy's SVD least squares (LAPACK gelsd, the minimum-norm solution) of scipy's
    bases on the new knots against the current splines on every row at once, per input.
    'discrete': three values per input leave knot intervals empty, so the system is
    rank-deficient (rank 3 of 8) and only the minimum-norm solution is determined; 'few rows':
    fewer rows than bases. At 64 x 64 a block holds 1,024 rows: 4,131 rows are 5 blocks, the
    last partial.
    """
    torch.manual_seed(0)
    layer = KANLinear(64, 64)
    g = torch.Generator().manual_seed(1)
    x = {"gaussian": 0.8 * torch.randn(4131, 64, generator=g),  # partly outside [-1, 1]
         "discrete": torch.randint(-1, 2, (4131, 64), generator=g).float(),
         "few rows": torch.randn(6, 64, generator=g)}[inputs]
    with torch.no_grad():  # what the refit fits: the current unscaled splines, as the layer computes them
        y = torch.einsum("nic,oic->nio", layer.bases(x), layer.spline_weight).double().numpy()
    layer.update_grid(x)
    xs, grid, k = x.double().numpy(), layer.grid.double().numpy(), layer.spline_order
    a = [scipy_bases(grid[i], xs[:, i], k) for i in range(64)]
    if inputs == "discrete":
        assert max(np.linalg.matrix_rank(ai) for ai in a) == 3
    expected = np.stack([np.linalg.lstsq(ai, y[:, i], rcond=None)[0].T for i, ai in enumerate(a)], axis=1)
    expected = torch.from_numpy(expected).float()  # (out, in, G + k)
    scale = expected.abs().max().item()
    torch.testing.assert_close(layer.spline_weight.detach(), expected, rtol=0, atol=1e-6 * scale)


def test_state_dict_round_trip_keeps_updated_grid():
    torch.manual_seed(0)
    a = KANLinear(4, 3)
    a.update_grid(data_like(128, 4) * 2)
    b = KANLinear(4, 3)
    b.load_state_dict(a.state_dict())
    assert not uniform(b)
    x = data_like(16, 4, seed=5)
    torch.testing.assert_close(a(x), b(x))


def test_edge_functions_shapes_and_consistency(layer):
    ef = layer.edge_functions(n=7)
    assert ef.x.shape == (4, 7) and ef.total.shape == ef.base.shape == ef.spline.shape == (3, 4, 7)
    torch.testing.assert_close(ef.total, ef.base + ef.spline)
    # Summing the edges into an output node is the layer's forward pass at those inputs.
    torch.testing.assert_close(layer(ef.x.t()).detach(), ef.total.sum(1).t(), atol=1e-5, rtol=1e-5)
    fixed = layer.edge_functions(n=5, x_range=(-2.0, 2.0))
    torch.testing.assert_close(fixed.x[0], torch.linspace(-2, 2, 5))
    lo, hi = torch.tensor([-1.0, 0.0, 0.5, -3.0]), torch.tensor([1.0, 2.0, 0.75, -2.0])
    per_input = layer.edge_functions(n=5, x_range=(lo, hi))  # one interval per input
    for i in range(4):
        torch.testing.assert_close(per_input.x[i], torch.linspace(float(lo[i]), float(hi[i]), 5))
    torch.testing.assert_close(layer(per_input.x.t()).detach(), per_input.total.sum(1).t(), atol=1e-5, rtol=1e-5)


def test_edge_importance_is_mean_abs_edge_function(layer):
    x = data_like(300, 4, seed=6)
    imp = layer.edge_importance(x)
    phi = torch.nn.functional.silu(x).unsqueeze(1) * layer.base_weight + torch.einsum(
        "nic,oic->noi", bspline_bases(x, layer.grid, 3), layer.scaled_spline_weight
    )
    torch.testing.assert_close(imp, phi.abs().mean(0).detach(), atol=1e-6, rtol=1e-5)
    assert imp.shape == (3, 4)


def test_kan_stack():
    torch.manual_seed(0)
    net = KAN([4, 6, 3], grid_size=4)
    assert len(net.layers) == 2 and all(isinstance(lyr, KANLinear) for lyr in net.layers)
    assert net.layers[0].grid_size == 4
    x = data_like(64, 4)
    assert net(x).shape == (64, 3)
    before = net(x).detach()
    net.update_grid(x)
    assert not any(uniform(lyr) for lyr in net.layers)
    assert _max_relative_change(before, net(x).detach()) < 0.05


def test_compiled_and_eager_kernels_agree(monkeypatch):
    # Named 'compiled' so the eager fixture leaves torch.compile on; the env var is set so the
    # comparison holds even where KANMIX_COMPILE=0 disables compiling by default.
    monkeypatch.setenv("KANMIX_COMPILE", "1")
    features = kan_fast._Fused(kan_fast._features.eager, row_args=(0,))
    grad_input = kan_fast._Fused(kan_fast._grad_input.eager, row_args=(0, 1))
    config = torch._dynamo.config
    limit = config.recompile_limit
    torch.manual_seed(0)
    layer = KANLinear(8, 2)
    x = data_like(50, 8)
    grid = layer.grid_for(torch.float32)
    # Several row counts, and a slice at an offset as the row blocks are: one kernel serves all.
    for xc in (x, x[:37], x[13:]):
        for dtype in (torch.float32, torch.bfloat16):  # bf16 features come straight out of the kernel
            got = features(xc, grid, dtype)
            assert got.dtype == dtype
            torch.testing.assert_close(got, kan_fast._features.eager(xc, grid, dtype), atol=1e-6, rtol=1e-6)
        gf = torch.randn(xc.shape[0], 9, 8)
        torch.testing.assert_close(grad_input(xc, gf, grid), kan_fast._grad_input.eager(xc, gf, grid),
                                   atol=1e-5, rtol=1e-5)
    # A block of inputs, as the bf16 weight gradient builds them: strided rows of x, its knots' columns.
    cols = grid._replace(knots=grid.knots[:, 2:7], t0=grid.t0[2:7], inv_h=grid.inv_h[2:7])
    block = features(x[:, 2:7], cols, torch.bfloat16).view(50, 9, 5)
    torch.testing.assert_close(block, features(x, grid, torch.bfloat16).view(50, 9, 8)[:, :, 2:7], atol=0, rtol=0)
    assert features.compiled is not None and grad_input.compiled is not None  # no silent fall-back to eager
    assert config.recompile_limit == limit  # raised only while the kernels run


def test_grid_kind_follows_the_buffer():
    """Editing ``grid`` in place switches between the closed form and Cox-de Boor with no refresh call."""
    torch.manual_seed(0)
    layer = KANLinear(4, 3)
    assert uniform(layer)

    def check():
        x = probe_points(layer, n=40, seed=4).float()
        ref = plain_output_float64(layer, x)
        np.testing.assert_allclose(layer(x).detach().double().numpy(), ref, atol=2e-6 * max(1.0, np.abs(ref).max()))

    with torch.no_grad():
        layer.grid.mul_(1.5)  # uniform, with another step: the cached step must not be reused
    assert uniform(layer)
    check()
    with torch.no_grad():
        layer.grid[1, 4] += 0.05  # one knot of one input moved
    assert not uniform(layer)
    check()
    # The flag is not state: the state dict holds the grid alone and loads into a fresh layer.
    assert set(layer.state_dict()) == {"grid", "base_weight", "spline_weight", "spline_scaler"}
    plain = PlainKANLinear(4, 3)
    plain.load_state_dict(layer.state_dict())
    assert not uniform(plain)
    x = data_like(16, 4, seed=5)
    torch.testing.assert_close(plain(x), layer(x), atol=1e-5, rtol=1e-5)


def test_compiled_model_sees_grid_edits():
    # A whole model under torch.compile: the grid's uniformity is read outside the graph, so a
    # graph traced on the uniform grid is not reused once the knots move.
    torch.manual_seed(0)
    layer = KANLinear(6, 4)
    compiled = torch.compile(layer)
    x = data_like(32, 6)
    torch.testing.assert_close(compiled(x), layer.plain_forward(x), atol=1e-5, rtol=1e-5)
    layer.update_grid(x)
    assert not uniform(layer)
    torch.testing.assert_close(compiled(x), layer.plain_forward(x), atol=1e-5, rtol=1e-5)


def test_bad_input_errors():
    layer = KANLinear(3, 2)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        layer(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="grid_range"):
        KANLinear(3, 2, grid_range=(1, -1))
    with pytest.raises(ValueError, match="spline_order"):
        KANLinear(3, 2, spline_order=0)
    with pytest.raises(ValueError, match="at least two widths"):
        KAN([3])
    with pytest.raises(ValueError, match="at least 2 rows"):
        layer.update_grid(torch.zeros(1, 3))
