"""Correctness of kanmix.kan.KANLinear against independent float64 evaluations (scipy, numpy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.interpolate import BSpline

import kanmix.kan as kan
from kanmix.bench.reference import ReferenceKANLinear, cox_de_boor
from kanmix.kan import KAN, KANLinear, bspline_bases


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
        monkeypatch.setattr(kan._features, "compiled", None)
        monkeypatch.setattr(kan._grad_input, "compiled", None)


@pytest.fixture(params=["uniform", "updated"])
def layer(request) -> KANLinear:
    torch.manual_seed(0)
    layer = KANLinear(4, 3)
    if request.param == "updated":
        layer.update_grid(data_like(256, 4) + torch.tensor([0.0, 0.5, -0.3, 1.0]))
        assert not layer._uniform
    return layer


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bases_match_scipy(layer, dtype):
    layer = layer.to(dtype)
    x = probe_points(layer)
    ours = layer.bases(x.to(dtype)).double().numpy()  # the path forward() takes
    general = bspline_bases(x, layer.grid.double(), layer.spline_order).numpy()  # Cox-de Boor, float64
    benchmark = cox_de_boor(x, layer.grid.double(), layer.spline_order).numpy()  # the benchmark's own recursion
    grid = layer.grid.double().numpy()
    for i in range(layer.in_features):
        ref = scipy_bases(grid[i], x[:, i].numpy(), layer.spline_order)
        np.testing.assert_allclose(ours[:, i], ref, atol=1e-6, rtol=0)
        np.testing.assert_allclose(general[:, i], ref, atol=1e-12, rtol=0)
        np.testing.assert_allclose(benchmark[:, i], ref, atol=1e-12, rtol=0)


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
        monkeypatch.setitem(kan._CACHE_ELEMENTS, "cpu", 40)
        monkeypatch.setitem(kan._MIN_ROWS, "cpu", 1)
    layer = layer.double()
    x = probe_points(layer, n=6, seed=1)[:8].clone().requires_grad_()
    names = ["base_weight", "spline_weight", "spline_scaler"]
    params = tuple(getattr(layer, n).detach().clone().requires_grad_() for n in names)

    def fn(x, *ps):
        return torch.func.functional_call(layer, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(fn, (x, *params))


def test_float32_matches_float64_formula(layer):
    x = probe_points(layer, n=200, seed=2).float()
    ours = layer(x).detach().double().numpy()
    ref = plain_output_float64(layer, x)
    np.testing.assert_allclose(ours, ref, atol=2e-6 * max(1.0, np.abs(ref).max()), rtol=0)


def test_matches_reference_forward_and_backward(layer):
    ref = ReferenceKANLinear(4, 3)
    ref.load_state_dict(layer.state_dict())
    x1 = data_like(64, 4, seed=3).requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = layer(x1), ref(x2)
    torch.testing.assert_close(y1, y2, atol=1e-5, rtol=1e-5)
    (y1 * y1).sum().backward()
    (y2 * y2).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-5, rtol=1e-4)
    for name in ("base_weight", "spline_weight", "spline_scaler"):
        torch.testing.assert_close(getattr(layer, name).grad, getattr(ref, name).grad, atol=1e-5, rtol=1e-4)


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


def test_bf16_autocast_close_to_float32():
    torch.manual_seed(0)
    layer = KANLinear(8, 4)
    x = data_like(32, 8).requires_grad_()
    ref = layer(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, atol=3e-2, rtol=3e-2)
    out.float().sum().backward()
    assert x.grad.dtype == torch.float32 and layer.spline_weight.grad.dtype == torch.float32
    assert torch.isfinite(x.grad).all()


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
    assert not layer._uniform and torch.all(layer.spline_scaler == 2.0)
    assert _max_relative_change(before, after) < 1e-4  # applying the scaler twice would double it


def test_state_dict_round_trip_keeps_updated_grid():
    torch.manual_seed(0)
    a = KANLinear(4, 3)
    a.update_grid(data_like(128, 4) * 2)
    b = KANLinear(4, 3)
    b.load_state_dict(a.state_dict())
    assert not b._uniform
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
    assert not any(lyr._uniform for lyr in net.layers)
    assert _max_relative_change(before, net(x).detach()) < 0.05


def test_compiled_and_eager_kernels_agree(monkeypatch):
    # Named 'compiled' so the eager fixture leaves torch.compile on; the env var is set so the
    # comparison holds even where KANMIX_COMPILE=0 disables compiling by default.
    monkeypatch.setenv("KANMIX_COMPILE", "1")
    features = kan._Fused(kan._features.eager, row_args=(0,))
    grad_input = kan._Fused(kan._grad_input.eager, row_args=(0, 1))
    torch.manual_seed(0)
    layer = KANLinear(8, 2)
    x = data_like(50, 8)
    grid = layer._grid_args(torch.float32)
    # Several row counts, and a slice at an offset as the row blocks are: one kernel serves all.
    for xc in (x, x[:37], x[13:]):
        args = (xc, *grid, 3, True, torch.float32)
        torch.testing.assert_close(features(*args), kan._features.eager(*args), atol=1e-6, rtol=1e-6)
        gf = torch.randn(xc.shape[0], 9, 8)
        torch.testing.assert_close(grad_input(xc, gf, *grid, 3, True), kan._grad_input.eager(xc, gf, *grid, 3, True),
                                   atol=1e-5, rtol=1e-5)
    assert features.compiled is not None and grad_input.compiled is not None  # no silent fall-back to eager


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
