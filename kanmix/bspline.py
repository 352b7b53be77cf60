"""B-splines on per-input knot vectors: the basis of every KAN layer, with no layer in sight.

The bottom of the layer's one-way chain: :mod:`kanmix.bspline` (the basis) <- :mod:`kanmix.kan_fast`
(fused kernels, tensors in and out) <- :mod:`kanmix.kan` (the layer and its maths).

Layout: knots ``(K, in)`` and bases ``(rows, n_bases, in)``, the basis axis *before* the input
axis, so every basis is a pointwise function of a contiguous row of x that kernels vectorise
along ``in``. :func:`bspline_bases` and :meth:`kanmix.kan.KANLinear.bases` transpose to
efficient-KAN's ``(rows, in, n_bases)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

__all__ = ["Grid", "bspline_bases", "cox_de_boor", "cubic_uniform"]


class Grid(NamedTuple):
    """A layer's knots in the layout and dtype the basis functions read.

    ``knots (K, in)``: one column of ``K = G + 2k + 1`` non-decreasing knots per input;
    ``t0 (in,)``: the first knots; ``inv_h (in,)``: ``1 / step`` (read only when ``uniform``);
    ``order``: the spline order ``k``; ``uniform``: whether every input's knots are equally spaced.
    """

    knots: Tensor
    t0: Tensor
    inv_h: Tensor
    order: int
    uniform: bool

    @property
    def n_bases(self) -> int:
        return self.knots.shape[0] - 1 - self.order

    def bases(self, x: Tensor, derivative: bool = False):
        """``x (rows, in)`` -> bases ``(rows, n_bases, in)`` (and their d/dx, same shape).

        Uniform cubic grids (the state after init) take the closed form, others Cox-de Boor.
        """
        if self.uniform and self.order == 3:
            return cubic_uniform(x, self, derivative)
        return cox_de_boor(x, self.knots, self.order, derivative)


def cox_de_boor(x: Tensor, knots: Tensor, order: int, derivative: bool = False):
    """``x (rows, in)``, ``knots (K, in)`` -> bases ``(rows, K - 1 - order, in)`` (and d/dx).

    Intervals are half-open ``[t_j, t_{j+1})``: every basis is zero before the first knot and at
    or after the last.
    """
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


def cubic_uniform(x: Tensor, grid: Grid, derivative: bool = False):
    """Cubic B-splines on uniform knots in closed form: ``x (rows, in)`` -> ``(rows, n_bases, in)``.

    ``B_j`` is the cardinal cubic spline centred at ``u = j + 2`` (``u`` = x in knot steps
    from ``t_0``): ``((2 - s)_+^3 - 4 (1 - s)_+^3) / 6`` with ``s = |u - j - 2|``. It is
    continuous, so it agrees with the half-open Cox-de Boor recursion everywhere, knots included.
    """
    u = ((x - grid.t0) * grid.inv_h).unsqueeze(1)
    centre = torch.arange(2, grid.n_bases + 2, device=x.device, dtype=x.dtype).unsqueeze(-1)
    d = u - centre
    s = d.abs()
    a = (2 - s).clamp(min=0)
    b = (1 - s).clamp(min=0)
    bases = (a * a * a - 4 * (b * b * b)) * (1 / 6)
    if not derivative:
        return bases
    return bases, torch.sign(d) * (2 * (b * b) - 0.5 * (a * a)) * grid.inv_h


def bspline_bases(x: Tensor, grid: Tensor, order: int, *, derivative: bool = False):
    """B-spline bases by the Cox-de Boor recursion on per-feature knot vectors.

    ``x (rows, in)``, ``grid (in, K)`` (non-decreasing knots) -> ``(rows, in, K - 1 - order)``.
    Intervals are half-open ``[t_j, t_{j+1})``: every basis is zero before the first knot and
    at or after the last. ``derivative=True`` also returns the derivatives, same shape.
    """
    out = cox_de_boor(x, grid.t(), order, derivative)
    if derivative:
        return out[0].transpose(1, 2), out[1].transpose(1, 2)
    return out.transpose(1, 2)
