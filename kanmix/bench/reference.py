"""The plain efficient-KAN computation of a KANLinear, for benchmarks and cross-checks only.

Same parameters, buffers and init as :class:`kanmix.kan.KANLinear` (it subclasses it); only
``forward`` differs: the full Cox-de Boor recursion over all knots, materialised as
``(rows, in, G + k)`` bases, two ``F.linear`` calls, and autograd through all of it. This is
what the fused layer is measured against.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from kanmix.kan import KANLinear, bspline_bases


class ReferenceKANLinear(KANLinear):
    """``(..., in_features) -> (..., out_features)`` computed the straightforward way."""

    def forward(self, x: Tensor) -> Tensor:
        self._check(x, "ReferenceKANLinear")
        x2 = x.reshape(-1, self.in_features)
        bases = bspline_bases(x2, self.grid.to(x2.dtype), self.spline_order)
        out = F.linear(F.silu(x2), self.base_weight) + F.linear(bases.flatten(1), self.scaled_spline_weight.flatten(1))
        return out.view(*x.shape[:-1], self.out_features)
