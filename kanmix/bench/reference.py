"""The plain efficient-KAN computation of a KANLinear, for benchmarks and cross-checks only.

Same parameters, buffers and init as :class:`kanmix.kan.KANLinear` (it subclasses it); only
``forward`` differs. It computes the layer the way efficient-KAN does: the Cox-de Boor
recursion over all knots of every input, in efficient-KAN's ``(rows, in, knots)`` layout,
materialised as ``(rows, in, G + k)`` bases, then two ``F.linear`` calls, with autograd
through all of it. The recursion is written out here rather than taken from
:mod:`kanmix.kan`, so tests that compare the two layers compare independent code.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from kanmix.kan import KANLinear


def cox_de_boor(x: Tensor, grid: Tensor, order: int) -> Tensor:
    """``x (rows, in)``, ``grid (in, K)`` -> bases ``(rows, in, K - 1 - order)``, half-open intervals."""
    x = x.unsqueeze(-1)
    bases = ((x >= grid[:, :-1]) & (x < grid[:, 1:])).to(x.dtype)
    for p in range(1, order + 1):
        left = (x - grid[:, : -(p + 1)]) / (grid[:, p:-1] - grid[:, : -(p + 1)])
        right = (grid[:, p + 1 :] - x) / (grid[:, p + 1 :] - grid[:, 1:-p])
        bases = left * bases[..., :-1] + right * bases[..., 1:]
    return bases


class ReferenceKANLinear(KANLinear):
    """``(..., in_features) -> (..., out_features)`` computed the straightforward way."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, "ReferenceKANLinear")
        x2 = x.reshape(-1, self.in_features)
        bases = cox_de_boor(x2, self.grid.to(x2.dtype), self.spline_order)
        out = F.linear(F.silu(x2), self.base_weight) + F.linear(bases.flatten(1), self.scaled_spline_weight.flatten(1))
        return out.view(*x.shape[:-1], self.out_features)
