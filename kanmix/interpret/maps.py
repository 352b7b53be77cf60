"""Whole-model maps over the image: which patch positions a token-mixing network reads, how local that
is, and whether seeds agree.

:func:`token_maps` gives, for a KAN-Mixer and for an MLP-Mixer, its control, the token-mixing layers'
edge importances on data (:func:`kanmix.interpret.edges.importance`, one measure for both) composed
into one map per output token; :func:`locality` sums a map up as the distance it reads from; :func:`rank_agreement`
compares maps across seeds (only for quantities aligned across seeds: input tokens and pixels
are, hidden units and embedding channels are not).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from kanmix.grids import module_inputs
from kanmix.interpret.edges import _flat64, importance

__all__ = ["token_maps", "locality", "rank_agreement"]


def token_maps(model: nn.Module, images: torch.Tensor, *, block: int = 0) -> torch.Tensor:
    """Which patch positions each output token of a mixer block's token mixing reads: ``(T, H/P, W/P)``.

    ``images (N, C, H, W)`` float. Entry ``[j, r, c]`` is the importance of input token
    ``(r, c)`` for output token ``j``, summed over the paths through the hidden units
    (``second @ first``, pykan's path importance), each map normalised to sum to one. The two
    matrices are the token-mixing layers' edge importances on these images (mean ``|phi|``,
    :func:`kanmix.interpret.edges.importance`): of the KAN edges for a KAN-Mixer, of the linear
    edges ``w x`` for an MLP-Mixer, so both families' maps are the same measure.
    """
    mix = model.blocks[block].token_mix
    first, second = mix[0], mix[-1]
    inputs = module_inputs(model, images, {"first": first, "second": second})
    a, b = importance(first, inputs["first"]), importance(second, inputs["second"])
    paths = b.double() @ a.double()  # (T_out, T_in)
    paths = paths / paths.sum(1, keepdim=True).clamp_min(1e-300)
    h, w = images.shape[-2] // model.patch, images.shape[-1] // model.patch
    return paths.view(-1, h, w).float().cpu()


def locality(maps: torch.Tensor) -> torch.Tensor:
    """``(T,)``: for each output token of ``maps (T, h, w)``, the map-weighted mean distance from its own
    patch to the input patches, over the same mean for a uniform map. Below 1: it reads near itself."""
    t, h, w = maps.shape
    r, c = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pos = torch.stack([r.flatten(), c.flatten()], 1).double()
    dist = torch.cdist(pos, pos)  # (T_out, T_in), output token j sits at patch j
    m = maps.reshape(t, -1).double()
    m = m / m.sum(1, keepdim=True).clamp_min(1e-300)
    return ((m * dist).sum(1) / dist.mean(1).clamp_min(1e-300)).float()


def rank_agreement(maps: Sequence[torch.Tensor | np.ndarray]) -> list[float]:
    """Spearman's rank correlation of every pair of ``maps`` (flattened, same shape): ``[rho, ...]``.

    Only meaningful for quantities aligned across the models compared, e.g. token maps or
    per-pixel importances of models trained from different seeds; a hidden unit of one seed
    has no counterpart in another, so per-edge importances of hidden layers are not comparable.
    """
    from scipy.stats import spearmanr

    flat = [_flat64(m).numpy() for m in maps]
    if len({f.shape for f in flat}) > 1:
        raise ValueError(f"rank_agreement needs maps of one shape, got {[f.shape for f in flat]}")
    return [float(spearmanr(flat[a], flat[b]).statistic) for a in range(len(flat)) for b in range(a + 1, len(flat))]
