"""The KAN layer: efficient-KAN semantics, computed as one matrix product.

Each edge ``i -> o`` carries a learnable function

    phi_oi(x) = base_weight[o, i] * silu(x)
              + spline_scaler[o, i] * sum_j spline_weight[o, i, j] * B_j(x)

where ``B_j`` are the ``G + k`` B-splines of order ``k`` on the knots stored in the buffer
``grid`` (one knot vector per input feature). This is the efficient-KAN formulation
(Blealtan, 2024), kept parameter for parameter so that its checkpoints and init carry over.

Speed: stacking ``[silu(x), B_0(x) ... B_{G+k-1}(x)]`` per input gives a feature matrix of
shape ``(rows, (G + k + 1) * in)``, and the layer is a single GEMM of it against
``cat(base_weight, spline_weight * spline_scaler)``. A custom autograd function saves only
``x``; forward and backward walk the rows in cache-sized blocks, building each block's
features with one fused kernel (``torch.compile``; eager if compiling is unavailable or
``KANMIX_COMPILE=0``) right before the GEMMs that read them. The cost is then the three
GEMMs of a dense layer on those features plus a little elementwise work, and activation
memory is the input alone. On a uniform grid (the state after init) the cubic bases come in
closed form; after ``update_grid`` (or for other spline orders) from the Cox-de Boor
recursion. Under autocast the bases are computed in float32 and the GEMMs run in the
autocast dtype.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["KANLinear", "KAN", "EdgeFunctions", "bspline_bases"]


# --------------------------------------------------------------------------------------
# Features: [silu(x), B_0(x), ..., B_{G+k-1}(x)], laid out (rows, G + k + 1, in)
# --------------------------------------------------------------------------------------
# The feature axis sits *before* the input axis so every feature row is a pointwise
# function of a contiguous row of x: the kernels vectorise along `in`, and the GEMM does
# not care in which order the reduction axis is laid out.


def _cox_de_boor(x: Tensor, knots: Tensor, order: int, derivative: bool):
    """``x (rows, in)``, ``knots (K, in)`` -> bases ``(rows, K - 1 - order, in)`` (and d/dx)."""
    x = x.unsqueeze(1)
    lower = ((x >= knots[:-1]) & (x < knots[1:])).to(x.dtype)
    bases = lower
    for p in range(1, order + 1):
        lower = bases
        left = (x - knots[: -(p + 1)]) / (knots[p:-1] - knots[: -(p + 1)])
        right = (knots[p + 1 :] - x) / (knots[p + 1 :] - knots[1:-p])
        bases = left * lower[:, :-1] + right * lower[:, 1:]
    if not derivative:
        return bases
    k = order
    # d/dx B_{j,k} = k (B_{j,k-1} / (t_{j+k} - t_j) - B_{j+1,k-1} / (t_{j+k+1} - t_{j+1}))
    d = k * (lower[:, :-1] / (knots[k:-1] - knots[: -(k + 1)]) - lower[:, 1:] / (knots[k + 1 :] - knots[1:-k]))
    return bases, d


def _cubic_uniform(x: Tensor, t0: Tensor, inv_h: Tensor, n_bases: int, derivative: bool):
    """Cubic B-splines on uniform knots in closed form: ``x (rows, in)`` -> ``(rows, n_bases, in)``.

    ``B_j`` is the cardinal cubic spline centred at ``u = j + 2`` (``u`` = x in knot steps
    from ``t_0``): ``((2 - s)_+^3 - 4 (1 - s)_+^3) / 6`` with ``s = |u - j - 2|``. It is
    continuous, so it agrees with the half-open Cox-de Boor recursion everywhere, knots included.
    """
    u = ((x - t0) * inv_h).unsqueeze(1)
    centre = torch.arange(2, n_bases + 2, device=x.device, dtype=x.dtype).unsqueeze(-1)
    d = u - centre
    s = d.abs()
    a = (2 - s).clamp(min=0)
    b = (1 - s).clamp(min=0)
    bases = (a * a * a - 4 * (b * b * b)) * (1 / 6)
    if not derivative:
        return bases
    return bases, torch.sign(d) * (2 * (b * b) - 0.5 * (a * a)) * inv_h


def _bases(x: Tensor, knots: Tensor, t0: Tensor, inv_h: Tensor, order: int, uniform: bool, derivative: bool):
    if uniform and order == 3:
        return _cubic_uniform(x, t0, inv_h, knots.shape[0] - 1 - order, derivative)
    return _cox_de_boor(x, knots, order, derivative)


def _features_eager(x, knots, t0, inv_h, order: int, uniform: bool, dtype: torch.dtype) -> Tensor:
    """``x (rows, in)`` -> features ``(rows, (G + k + 1) * in)`` in ``dtype``."""
    bases = _bases(x, knots, t0, inv_h, order, uniform, False)
    return torch.cat([F.silu(x).unsqueeze(1), bases], dim=1).to(dtype).flatten(1)


def _grad_input_eager(x, grad_feats, knots, t0, inv_h, order: int, uniform: bool) -> Tensor:
    """``x (rows, in)``, ``grad_feats (rows, G + k + 1, in)`` -> ``(rows, in)``: sum of grad * d feature / dx."""
    _, dbases = _bases(x, knots, t0, inv_h, order, uniform, True)
    sig = torch.sigmoid(x)
    dsilu = sig * (1 + x * (1 - sig))
    grad_feats = grad_feats.to(x.dtype)
    return grad_feats[:, 0] * dsilu + (grad_feats[:, 1:] * dbases).sum(1)


class _Fused:
    """A pointwise kernel that `torch.compile` fuses into one pass, or eager when compiling fails.

    Eager PyTorch runs the dozen elementwise steps above as a dozen passes over a tensor as large
    as the feature matrix, which costs more than the GEMM on narrow layers; fused, building the
    features costs about one write of them. The row count of the tensor arguments is compiled as
    a symbol (the kernels vectorise along ``in``, so this costs nothing), which lets the blocks
    have any length without a recompile. ``KANMIX_COMPILE=0`` forces eager.
    """

    def __init__(self, fn, row_args: tuple[int, ...]):
        self.eager, self.row_args = fn, row_args
        # One kernel per (layer width, dtype, grid kind): a model with many distinct layer
        # widths needs more than dynamo's default of 8 before it would fall back to eager.
        config = torch._dynamo.config
        config.recompile_limit = max(getattr(config, "recompile_limit", 8), 64)
        self.compiled = None if os.environ.get("KANMIX_COMPILE", "1") == "0" else torch.compile(fn)

    def __call__(self, *args):
        if self.compiled is not None and not torch.compiler.is_compiling():
            for i in self.row_args:
                torch._dynamo.maybe_mark_dynamic(args[i], 0)
            try:
                return self.compiled(*args)
            except Exception as err:  # noqa: BLE001 - any compiler failure: fall back, loudly, once
                out = self.eager(*args)  # a genuine error in the inputs re-raises here
                warnings.warn(f"kanmix.kan: torch.compile failed ({type(err).__name__}: {err}); using eager kernels", RuntimeWarning, stacklevel=3)
                self.compiled = None
                return out
        return self.eager(*args)


_features = _Fused(_features_eager, row_args=(0,))
_grad_input = _Fused(_grad_input_eager, row_args=(0, 1))


def bspline_bases(x: Tensor, grid: Tensor, order: int, *, derivative: bool = False):
    """B-spline bases by the Cox-de Boor recursion on per-feature knot vectors.

    ``x (rows, in)``, ``grid (in, K)`` (non-decreasing knots) -> ``(rows, in, K - 1 - order)``.
    Intervals are half-open ``[t_j, t_{j+1})``: every basis is zero before the first knot and
    at or after the last. ``derivative=True`` also returns the derivatives, same shape.
    """
    out = _cox_de_boor(x, grid.t(), order, derivative)
    if derivative:
        return out[0].transpose(1, 2), out[1].transpose(1, 2)
    return out.transpose(1, 2)


def _combined_weight(base_weight: Tensor, spline_weight: Tensor, spline_scaler: Tensor) -> Tensor:
    """``(out, in)``, ``(out, in, G+k)``, ``(out, in)`` -> ``(out, (G + k + 1) * in)``, the feature layout."""
    spline = (spline_weight * spline_scaler.unsqueeze(-1)).transpose(1, 2)
    return torch.cat([base_weight.unsqueeze(1), spline], dim=1).flatten(1)


def _blocks(rows: int, width: int, device: torch.device) -> list[tuple[int, int]]:
    """Row ranges ``[(lo, hi), ...]`` splitting ``rows`` rows of ``width`` features into near-equal blocks.

    On CPU a block of ``_CACHE_ELEMENTS`` stays in cache between the basis kernel that writes it
    and the GEMM that reads it, where a whole ``(rows, width)`` matrix would go through main
    memory (and page faults) several times. Blocks shorter than ``_MIN_ROWS`` would make the
    weight-gradient accumulation dominate, so wide layers fall back to few large blocks.
    Measured on a 2-core EPYC, 16 MiB blocks ran within 1.13x of the dense limit at all three
    benchmark shapes, where 4 MiB blocks or one whole-matrix block were slower on some.
    """
    kind = device.type if device.type in _CACHE_ELEMENTS else "cuda"
    most = _CACHE_ELEMENTS[kind] // width
    if most < _MIN_ROWS[kind]:
        most = _LARGE_ELEMENTS[kind] // width
    if rows == 0:
        return []
    n = -(-rows // max(1, most))
    step = -(-rows // n)
    return [(lo, min(lo + step, rows)) for lo in range(0, rows, step)]


_CACHE_ELEMENTS = {"cpu": 1 << 22, "cuda": 1 << 26}
_MIN_ROWS = {"cpu": 384, "cuda": 1}
_LARGE_ELEMENTS = {"cpu": 1 << 25, "cuda": 1 << 26}


class _KANFunction(torch.autograd.Function):
    """``(rows, in) -> (rows, out)`` as GEMMs on the features, built block by block.

    Saves only ``x``; backward rebuilds each block's features for the weight gradient and turns
    the features' gradient into the input's with the closed-form derivatives.
    """

    @staticmethod
    def forward(ctx, x, knots, t0, inv_h, base_weight, spline_weight, spline_scaler, order, uniform, dtype):
        weight = _combined_weight(base_weight, spline_weight, spline_scaler).to(dtype)
        out = torch.empty(x.shape[0], weight.shape[0], device=x.device, dtype=dtype)
        for lo, hi in _blocks(x.shape[0], weight.shape[1], x.device):
            feats = _features(x[lo:hi], knots, t0, inv_h, order, uniform, dtype)
            torch.mm(feats, weight.t(), out=out[lo:hi])
        ctx.save_for_backward(x, knots, t0, inv_h, base_weight, spline_weight, spline_scaler)
        ctx.config = order, uniform, dtype
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, knots, t0, inv_h, base_weight, spline_weight, spline_scaler = ctx.saved_tensors
        order, uniform, dtype = ctx.config
        rows, n_in = x.shape
        need_x, need_w = ctx.needs_input_grad[0], any(ctx.needs_input_grad[4:7])
        g = grad_out.to(dtype).contiguous()  # often an expanded view (from .sum()): materialise once
        weight = _combined_weight(base_weight, spline_weight, spline_scaler).to(dtype)
        grad_x = torch.empty_like(x) if need_x else None
        # Accumulated across blocks in the parameters' precision, not bf16; zero for an empty batch.
        grad_w = torch.zeros(weight.shape, dtype=base_weight.dtype, device=x.device) if need_w else None
        for lo, hi in _blocks(rows, weight.shape[1], x.device):
            xc, gc = x[lo:hi], g[lo:hi]
            if need_w:
                feats = _features(xc, knots, t0, inv_h, order, uniform, dtype)
                if feats.dtype == grad_w.dtype:
                    grad_w.addmm_(gc.t(), feats)
                else:
                    grad_w += (gc.t() @ feats).to(grad_w.dtype)
                del feats
            if need_x:
                grad_feats = (gc @ weight).view(hi - lo, -1, n_in)
                grad_x[lo:hi] = _grad_input(xc, grad_feats, knots, t0, inv_h, order, uniform)
        grad_base = grad_spline = grad_scaler = None
        if need_w:
            grad_w = grad_w.view(-1, weight.shape[1] // n_in, n_in)
            grad_base = grad_w[:, 0]
            grad_comb = grad_w[:, 1:].transpose(1, 2)  # (out, in, G + k)
            grad_spline = grad_comb * spline_scaler.unsqueeze(-1)
            grad_scaler = (grad_comb * spline_weight).sum(-1)
        return grad_x, None, None, None, grad_base, grad_spline, grad_scaler, None, None, None


class EdgeFunctions(NamedTuple):
    """Sampled edge functions of a layer: ``x (in, n)``; ``total``, ``base``, ``spline`` ``(out, in, n)``."""

    x: Tensor
    total: Tensor
    base: Tensor
    spline: Tensor


class KANLinear(nn.Module):
    """A KAN layer, ``(..., in_features) -> (..., out_features)``, efficient-KAN semantics.

    Knots ``t_j = a + (j - k) h`` for ``j = 0 ... G + 2k`` with ``h = (b - a) / G`` and
    ``(a, b) = grid_range``, stored per input in the buffer ``grid (in, G + 2k + 1)``.
    Parameters: ``base_weight (out, in)``, ``spline_weight (out, in, G + k)``,
    ``spline_scaler (out, in)``.

    The spline part of every edge is exactly zero outside the extended grid
    ``[t_0, t_{G+2k})`` (and only partially supported between ``t_0`` and ``a`` and between
    ``b`` and ``t_{G+2k}``), as in the reference; only the SiLU base path acts there. If
    inputs drift outside ``grid_range``, call ``update_grid(x)`` on representative inputs:
    it moves the knots to the data's quantiles and refits the splines so the layer computes
    the same function on that data.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        grid_size: int = 5,
        spline_order: int = 3,
        scale_noise: float = 0.1,
        scale_base: float = 1.0,
        scale_spline: float = 1.0,
        grid_eps: float = 0.02,
        grid_range: tuple[float, float] = (-1, 1),
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"in_features and out_features must be >= 1, got {in_features} and {out_features}")
        if grid_size < 1:
            raise ValueError(f"grid_size must be >= 1, got {grid_size}")
        if spline_order < 1:
            raise ValueError(f"spline_order must be >= 1 (3 is cubic), got {spline_order}")
        lo, hi = map(float, grid_range)
        if not hi > lo:
            raise ValueError(f"grid_range must be (low, high) with high > low, got {grid_range}")
        if not 0.0 <= grid_eps <= 1.0:
            raise ValueError(f"grid_eps mixes quantile and uniform knots and must be in [0, 1], got {grid_eps}")
        self.in_features, self.out_features = in_features, out_features
        self.grid_size, self.spline_order = grid_size, spline_order
        self.scale_noise, self.scale_base, self.scale_spline = scale_noise, scale_base, scale_spline
        self.grid_eps, self.grid_range = grid_eps, (lo, hi)

        h = (hi - lo) / grid_size
        knots = lo + h * torch.arange(-spline_order, grid_size + spline_order + 1, dtype=torch.float32)
        self.register_buffer("grid", knots.expand(in_features, -1).contiguous())
        # Uniform knots take the closed-form path; update_grid and state-dict loads re-check.
        self._uniform = True
        self.register_load_state_dict_post_hook(lambda module, _: module._refresh_grid_kind())
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.spline_weight = nn.Parameter(torch.empty(out_features, in_features, grid_size + spline_order))
        self.spline_scaler = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """efficient-KAN's init: kaiming-uniform base weight and scaler; splines fit to small noise."""
        nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
        with torch.no_grad():
            g, k = self.grid_size, self.spline_order
            noise = (torch.rand(g + 1, self.in_features, self.out_features) - 0.5) * self.scale_noise / g
            knots = self.grid[:, k:-k].t()  # (G + 1, in): the knots inside grid_range
            self.spline_weight.copy_(self._fit(knots, noise.to(self.grid), self.grid))
        nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5) * self.scale_spline)

    def _refresh_grid_kind(self) -> None:
        """Re-detect whether the knots are uniform; call after editing ``grid`` by hand."""
        steps = self.grid.double().diff(dim=1)
        self._uniform = bool(torch.allclose(steps, steps[:, :1].expand_as(steps), rtol=1e-5, atol=0))

    def _fit(self, x: Tensor, y: Tensor, grid: Tensor) -> Tensor:
        """Least-squares spline coefficients: ``x (rows, in)``, ``y (rows, in, out)`` -> ``(out, in, G + k)``.

        Solved per input feature in float64 on the CPU with the SVD driver, which returns the
        minimum-norm solution when the system is rank-deficient (as at init: G + 1 points for
        G + k unknowns, or when few samples fall in some knot interval).
        """
        a = bspline_bases(x.double().cpu(), grid.double().cpu(), self.spline_order).transpose(0, 1)
        b = y.double().cpu().transpose(0, 1)  # (in, rows, out)
        coeff = torch.linalg.lstsq(a, b, driver="gelsd").solution  # (in, G + k, out)
        return coeff.permute(2, 0, 1).to(device=self.spline_weight.device, dtype=self.spline_weight.dtype)

    @property
    def scaled_spline_weight(self) -> Tensor:
        """``spline_weight * spline_scaler``: ``(out, in, G + k)``."""
        return self.spline_weight * self.spline_scaler.unsqueeze(-1)

    def _check(self, x: Tensor, what: str) -> None:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"{what} expects inputs shaped (..., {self.in_features}), got {tuple(x.shape)}")

    def _grid_args(self, dtype: torch.dtype):
        """Knots ``(K, in)``, first knots ``t0 (in,)`` and inverse steps ``(in,)`` in ``dtype``."""
        knots = self.grid.t().to(dtype)
        t0 = self.grid[:, 0].to(dtype).contiguous()
        inv_h = (knots.shape[0] - 1) / (knots[-1] - t0)  # only used on uniform grids
        return knots, t0, inv_h

    def forward(self, x: Tensor) -> Tensor:
        """``(..., in_features) -> (..., out_features)``."""
        self._check(x, "KANLinear")
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features).contiguous()  # row blocks must be contiguous slices
        device_type = x.device.type
        if torch.is_autocast_enabled(device_type):
            # Bases in float32 (polynomials of x lose digits in bf16), GEMMs in the autocast dtype.
            dtype = torch.get_autocast_dtype(device_type)
            x2 = x2.float()
        else:
            dtype = x.dtype
        knots, t0, inv_h = self._grid_args(x2.dtype)
        out = _KANFunction.apply(
            x2, knots, t0, inv_h, self.base_weight, self.spline_weight, self.spline_scaler,
            self.spline_order, self._uniform, dtype,
        )
        return out.view(*lead, self.out_features)

    def bases(self, x: Tensor) -> Tensor:
        """The B-spline bases the forward pass uses: ``(..., in) -> (..., in, G + k)``."""
        self._check(x, "KANLinear.bases")
        x2 = x.reshape(-1, self.in_features)
        knots, t0, inv_h = self._grid_args(x2.dtype)
        out = _bases(x2, knots, t0, inv_h, self.spline_order, self._uniform, False)
        return out.transpose(1, 2).reshape(*x.shape, -1)

    def regularization_loss(self, l1: float = 1.0, entropy: float = 1.0) -> Tensor:
        """efficient-KAN's sparsity penalty: ``l1 * sum_oi mean_j |w_oij| + entropy * H(p)``.

        ``p`` is the per-edge L1 mass normalised to sum to one; the entropy term pushes the mass
        onto few edges. Both terms use the unscaled ``spline_weight``, as the reference does.
        """
        edge_l1 = self.spline_weight.abs().mean(-1)
        total = edge_l1.sum()
        p = edge_l1 / total.clamp_min(torch.finfo(edge_l1.dtype).tiny)
        return l1 * total - entropy * torch.xlogy(p, p).sum()

    @torch.no_grad()
    def update_grid(self, x: Tensor, margin: float = 0.01) -> None:
        """Move the knots to the data and refit the splines so the output function is kept.

        ``x (..., in)``. New interior knots mix the per-feature sample quantiles with a uniform
        grid over ``[min - margin, max + margin]`` (weight ``grid_eps`` on the uniform one), and
        the grid is extended by ``k`` uniform steps on each side. ``spline_weight`` is then refit
        by least squares to the current *unscaled* spline of every edge, so with
        ``spline_scaler`` untouched the layer's output on ``x`` changes only by the refit's
        approximation error. (The reference fits the scaled spline and keeps the scaler, which
        applies the scaler twice.)
        """
        self._check(x, "update_grid")
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        x = x.detach().reshape(-1, self.in_features).to(self.grid)
        rows = x.shape[0]
        if rows < 2:
            raise ValueError("update_grid needs at least 2 rows of inputs to place knots")
        g, k = self.grid_size, self.spline_order
        old_spline = torch.einsum("nic,oic->nio", self.bases(x), self.spline_weight.to(x))

        x_sorted = x.sort(dim=0).values
        adaptive = x_sorted[torch.linspace(0, rows - 1, g + 1, device=x.device).long()]  # (G + 1, in)
        step = (x_sorted[-1] - x_sorted[0] + 2 * margin) / g  # (in,)
        if bool((step <= 0).any()):
            raise ValueError("update_grid: a feature is constant and margin is 0; use margin > 0")
        steps = torch.arange(g + 1, device=x.device, dtype=x.dtype).unsqueeze(1)
        uniform = x_sorted[0] - margin + steps * step
        knots = self.grid_eps * uniform + (1 - self.grid_eps) * adaptive
        ext = torch.arange(1, k + 1, device=x.device, dtype=x.dtype).unsqueeze(1) * step
        grid = torch.cat([knots[:1] - ext.flip(0), knots, knots[-1:] + ext], dim=0).t().contiguous()

        self.spline_weight.copy_(self._fit(x, old_spline, grid))
        self.grid.copy_(grid)
        self._refresh_grid_kind()

    @torch.no_grad()
    def edge_functions(self, n: int = 200, x_range: tuple[float | Tensor, float | Tensor] | None = None) -> EdgeFunctions:
        """Sample every edge function on ``n`` points per input.

        ``x_range = (low, high)`` gives the sampled interval: numbers for one interval shared by
        all inputs, or ``(in,)`` tensors for one per input (e.g. the quantiles of real data). It
        defaults to each input's own ``[t_k, t_{G+k}]`` (``grid_range`` before any
        ``update_grid``). Returns ``EdgeFunctions(x (in, n), total, base, spline)`` with the
        three functions shaped ``(out, in, n)`` and ``total = base + spline``.
        """
        k = self.spline_order
        if x_range is None:
            lo, hi = self.grid[:, k], self.grid[:, -k - 1]
        else:
            lo, hi = (torch.as_tensor(v, device=self.grid.device, dtype=self.grid.dtype).expand(self.in_features)
                      for v in x_range)
        t = torch.linspace(0, 1, n, device=lo.device, dtype=lo.dtype)
        xs = lo.unsqueeze(1) + (hi - lo).unsqueeze(1) * t  # (in, n)
        cols = xs.t()  # (n, in): a batch of n inputs
        base = self.base_weight.unsqueeze(-1) * F.silu(xs).unsqueeze(0)
        spline = torch.einsum("nic,oic->oin", self.bases(cols), self.scaled_spline_weight)
        return EdgeFunctions(xs, base + spline, base, spline)

    @torch.no_grad()
    def edge_importance(self, x: Tensor) -> Tensor:
        """Per-edge importance ``mean_x |phi_oi(x_i)|`` over real inputs ``x (..., in)`` -> ``(out, in)``.

        The L1 measure pykan uses to prune edges. Rows are processed in chunks so memory stays
        bounded for wide layers.
        """
        self._check(x, "edge_importance")
        x = x.detach().reshape(-1, self.in_features).to(self.grid)
        if x.shape[0] == 0:
            raise ValueError("edge_importance needs at least one input row")
        total = torch.zeros(self.out_features, self.in_features, dtype=torch.float64, device=x.device)
        chunk = max(1, (1 << 22) // (self.out_features * self.in_features))
        scaled = self.scaled_spline_weight
        for start in range(0, x.shape[0], chunk):
            xc = x[start : start + chunk]
            phi = F.silu(xc).unsqueeze(1) * self.base_weight
            phi = phi + torch.einsum("nic,oic->noi", self.bases(xc), scaled)
            total += phi.abs().sum(0, dtype=torch.float64)
        return (total / x.shape[0]).to(self.grid.dtype)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"grid_size={self.grid_size}, spline_order={self.spline_order}, grid_range={self.grid_range}"
        )


class KAN(nn.Module):
    """A stack of KANLinear layers, ``(..., widths[0]) -> (..., widths[-1])``."""

    def __init__(self, widths: list[int], **kanlinear_kwargs) -> None:
        super().__init__()
        widths = list(widths)
        if len(widths) < 2:
            raise ValueError(f"KAN needs at least two widths (input and output), got {widths}")
        self.widths = widths
        self.layers = nn.ModuleList(KANLinear(a, b, **kanlinear_kwargs) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def regularization_loss(self, l1: float = 1.0, entropy: float = 1.0) -> Tensor:
        """Sum of the layers' ``regularization_loss``."""
        return sum(layer.regularization_loss(l1, entropy) for layer in self.layers)

    @torch.no_grad()
    def update_grid(self, x: Tensor, margin: float = 0.01) -> None:
        """Update each layer's grid on the activations it sees, first layer first."""
        for layer in self.layers:
            layer.update_grid(x, margin)
            x = layer(x)
