"""The KAN layer with efficient-KAN semantics: the basis, the layer and its grid, in one file.

Each edge ``i -> o`` carries a learnable function

    phi_oi(x) = base_weight[o, i] * silu(x)
              + spline_scaler[o, i] * sum_j spline_weight[o, i, j] * B_j(x)

where ``B_j`` are the ``G + k`` B-splines of order ``k`` on the knots stored in the buffer
``grid`` (one knot vector per input feature), and output ``o`` sums its edges. This is the
efficient-KAN formulation (Blealtan, 2024), kept parameter for parameter so that its checkpoints
and init carry over. :meth:`KANLinear.plain_forward` computes it as efficient-KAN does: SiLU
and the materialised bases, then two ``F.linear`` calls.

``KANLinear.forward`` computes the same function with the fast path of :mod:`kanmix.kan_fast`
(fused basis kernels, row blocks, a custom autograd function); the maths is all here, and the
tests hold the fast path to :meth:`~KANLinear.plain_forward`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kanmix import kan_fast
from kanmix._torch_compat import version_counter
from kanmix.bspline import Grid, bspline_bases

__all__ = ["KANLinear", "KAN", "PlainKANLinear", "EdgeFunctions"]


# --------------------------------------------------------------------------------------
# The layer
# --------------------------------------------------------------------------------------


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

    ``forward`` runs the fast path (:mod:`kanmix.kan_fast`); ``plain_forward`` the formula as
    written. Under ``torch.autocast`` both compute the bases in float32 and the GEMMs in the
    autocast dtype.
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
        self._grids: dict = {}  # grid_for's cache
        self.base_weight = nn.Parameter(torch.empty(out_features, in_features))
        self.spline_weight = nn.Parameter(torch.empty(out_features, in_features, grid_size + spline_order))
        self.spline_scaler = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def plain_forward(self, x: Tensor) -> Tensor:
        """``(..., in) -> (..., out)``: the formula as efficient-KAN computes it; the reference of the fast path."""
        self._check(x, "KANLinear")
        base = F.linear(F.silu(x), self.base_weight)
        spline = F.linear(self.bases(x).flatten(-2), self.scaled_spline_weight.flatten(1))
        return base + spline

    def forward(self, x: Tensor) -> Tensor:
        """``(..., in) -> (..., out)``: ``plain_forward``'s function, computed by :mod:`kanmix.kan_fast`."""
        self._check(x, "KANLinear")
        rows, dtype = kan_fast.rows_and_dtype(x)
        out = kan_fast.kan_linear(rows, self.grid_for(rows.dtype), self.base_weight, self.spline_weight,
                                  self.spline_scaler, dtype)
        return out.view(*x.shape[:-1], self.out_features)

    def reset_parameters(self) -> None:
        """efficient-KAN's init: kaiming-uniform base weight and scaler; splines fit to small noise."""
        nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5) * self.scale_base)
        with torch.no_grad():
            g, k = self.grid_size, self.spline_order
            noise = (torch.rand(g + 1, self.in_features, self.out_features) - 0.5) * self.scale_noise / g
            knots = self.grid[:, k:-k].t()  # (G + 1, in): the knots inside grid_range
            self.spline_weight.copy_(self._fit(knots, noise.to(self.grid), self.grid))
        nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5) * self.scale_spline)

    # Compiled graphs cannot guard on a version counter: a graph that traced this method would
    # keep the grid it saw. Run eagerly (a graph break where a model is compiled whole), it sees
    # every change, and the Grid it returns is guarded like any input.
    @torch.compiler.disable
    def grid_for(self, dtype: torch.dtype) -> Grid:
        """The buffer ``grid`` as a :class:`Grid` in ``dtype``, whether its knots are uniform included.

        Derived from the buffer and cached until it changes: the cache is keyed on the buffer's
        identity (a new tensor after ``.to()``, ``load_state_dict`` with ``assign=True`` or
        reassignment) and its version counter (bumped by every in-place write: ``update_grid``,
        ``load_state_dict``, ``grid[...] = ...``). So nothing has to be refreshed by hand, the
        state dict holds only ``grid`` (old checkpoints load as they are), and the uniformity
        test, which reads values back to the host (a sync on CUDA), runs once per change of
        the grid rather than once per forward. Writes through ``grid.data`` bypass the version
        counter and are not seen; write to ``grid`` itself.
        """
        cache = self._grids
        if cache.get("source") is not self.grid or cache.get("version") != version_counter(self.grid):
            steps = self.grid.double().diff(dim=1)
            uniform = bool(torch.allclose(steps, steps[:, :1].expand_as(steps), rtol=1e-5, atol=0))
            cache = self._grids = {"source": self.grid, "version": version_counter(self.grid), "uniform": uniform}
        if dtype not in cache:
            knots = self.grid.t().to(dtype).contiguous()
            t0 = knots[0].contiguous()
            inv_h = (knots.shape[0] - 1) / (knots[-1] - t0)  # the step of a uniform grid
            cache[dtype] = Grid(knots, t0, inv_h, self.spline_order, cache["uniform"])
        return cache[dtype]

    def _fit(self, x: Tensor, y: Tensor, grid: Tensor) -> Tensor:
        """Least-squares spline coefficients: ``x (rows, in)``, ``y (rows, in, out)`` -> ``(out, in, G + k)``.

        In one go, for data that fits in memory (init fits ``G + 1`` points); ``update_grid``
        streams its rows through :meth:`_refit`.
        """
        a = bspline_bases(x.double().cpu(), grid.double().cpu(), self.spline_order).transpose(0, 1)
        return self._solve(a, y.double().cpu().transpose(0, 1), x.shape[0])

    def _refit(self, x: Tensor, grid: Tensor) -> Tensor:
        """:meth:`_fit` of the current (unscaled) splines on the knots ``grid (in, K)``, row block by row block.

        ``x (rows, in)`` -> ``(out, in, G + k)``. Input ``i`` solves ``min_w || A_i w - Y_i ||``
        with ``A_i (rows, G + k)`` the bases on the new knots and ``Y_i (rows, out)`` the current
        spline of each edge from ``i``. ``Y`` holds ``rows * in * out`` values (4.3 GB of float32
        for a 256-wide layer on 16,384 rows), so it is made a block of rows at a time and folded
        into a running QR factorisation: ``[R; A_block] = Q R'`` and ``c' = Q^T [c; Y_block]``
        keep ``|| A w - Y ||^2 = || R w - c ||^2 + const`` for every ``w``, with ``R`` at most
        ``(G + k, G + k)`` and ``c`` at most ``(G + k, out)`` per input. ``R`` has the singular
        values of ``A``, so :meth:`_solve`, told the full row count, cuts off the same ones and
        returns the one-shot solve's minimum-norm solution up to float64 rounding.

        Not the normal equations ``A^T A w = A^T Y``: they square the condition number and
        need a rank cutoff of their own; and ``A^T Y = (A^T B_old) W^T``, which never forms
        ``Y``, loses ``Y``'s float32 rounding that the one-shot solve fitted. Each moved float32
        coefficients off the one-shot solve's, where this fold keeps them.
        """
        k, n_in, n_out = self.spline_order, self.in_features, self.out_features
        grid64 = grid.double().cpu()
        weight = self.spline_weight.detach().to(x)
        r = torch.zeros(n_in, 0, grid.shape[1] - 1 - k, dtype=torch.float64)
        c = torch.zeros(n_in, 0, n_out, dtype=torch.float64)
        block = max(1, (1 << 22) // (n_in * n_out))  # rows whose Y has 4 M values
        for start in range(0, x.shape[0], block):
            xb = x[start : start + block]
            # Y as the one-shot solve had it: the layer's bases of the current knots, the same einsum.
            y = torch.einsum("nic,oic->nio", self.bases(xb), weight).cpu().transpose(0, 1).double()  # (in, block, out)
            a = bspline_bases(xb.double().cpu(), grid64, k).transpose(0, 1)  # (in, block, G + k)
            q, r = torch.linalg.qr(torch.cat([r, a], dim=1))
            m = c.shape[1]
            c = q[:, :m].mT @ c + q[:, m:].mT @ y
        return self._solve(r, c, x.shape[0])

    def _solve(self, a: Tensor, b: Tensor, rows: int) -> Tensor:
        """Minimum-norm least squares per input, ``a (in, m, G + k) w = b (in, m, out)``: ``w`` as ``(out, in, G + k)``.

        float64 on the CPU with the SVD driver, which returns the minimum-norm solution when
        the system is rank-deficient (as at init: G + 1 points for G + k unknowns, or when few
        samples fall in some knot interval). Singular values below ``eps * max(rows, G + k)``
        times the largest count as zero: LAPACK's default for a ``rows``-row system, also when
        ``a`` is its ``m``-row QR factor.
        """
        rcond = torch.finfo(torch.float64).eps * max(rows, a.shape[-1])
        coeff = torch.linalg.lstsq(a, b, rcond=rcond, driver="gelsd").solution  # (in, G + k, out)
        return coeff.permute(2, 0, 1).to(device=self.spline_weight.device, dtype=self.spline_weight.dtype)

    @property
    def scaled_spline_weight(self) -> Tensor:
        """``spline_weight * spline_scaler``: ``(out, in, G + k)``."""
        return self.spline_weight * self.spline_scaler.unsqueeze(-1)

    def _check(self, x: Tensor, what: str) -> None:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"{what} expects inputs shaped (..., {self.in_features}), got {tuple(x.shape)}")

    def bases(self, x: Tensor) -> Tensor:
        """The B-spline bases of the layer's knots: ``(..., in) -> (..., in, G + k)``."""
        self._check(x, "KANLinear.bases")
        x2 = x.reshape(-1, self.in_features)
        grid = self.grid_for(x2.dtype)
        return grid.bases(x2).transpose(1, 2).reshape(*x.shape, grid.n_bases)

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
        applies the scaler twice.) Memory is ``O(rows * in)`` for the quantiles plus one block
        of rows of the refit (:meth:`_refit`), never ``rows * in * out``.
        """
        self._check(x, "update_grid")
        if margin < 0:
            raise ValueError(f"margin must be >= 0, got {margin}")
        x = x.detach().reshape(-1, self.in_features).to(self.grid)
        rows = x.shape[0]
        if rows < 2:
            raise ValueError("update_grid needs at least 2 rows of inputs to place knots")
        g, k = self.grid_size, self.spline_order
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

        self.spline_weight.copy_(self._refit(x, grid))  # reads the current splines, so before the knots move
        self.grid.copy_(grid)

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


class PlainKANLinear(KANLinear):
    """A :class:`KANLinear` whose ``forward`` is ``plain_forward``: the reference layer of the tests and benchmarks."""

    forward = KANLinear.plain_forward


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
