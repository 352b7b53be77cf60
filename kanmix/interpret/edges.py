"""Per-edge measures of trained KAN layers, on the inputs each edge actually sees.

Every measure here reads one :class:`kanmix.kan.KANLinear` together with real inputs
``x (rows, in)`` (:func:`kanmix.grids.layer_inputs` of a model on images), so it can be taken
for a trained model and for the same architecture at initialisation, its control. The images
are training images (:func:`probe_images`): test images stay untouched for scoring.

**Where an edge is looked at.** Edge ``o <- i`` only ever sees the values of input ``i``.
:func:`sample_edges` samples every edge function on ``n`` points spanning the central
``coverage`` of input ``i``'s real values (its quantiles) and weights each point by the share
of real inputs nearest to it, so that every per-edge statistic below is an average over the
data, not over an arbitrary interval. Inputs that are (nearly) constant over the data, such as
the always-black border pixels of MNIST, give edges that are a constant: their shape measures
are NaN and summaries leave them out.

**Per-edge measures** (:func:`edge_table` puts them in one DataFrame, :func:`summarize` sums a
table up):

- :func:`spline_share`: ``S / (S + B)`` with ``S`` and ``B`` the data-weighted mean ``|spline|``
  and ``|base|`` of the edge: 0 for a pure ``w * SiLU`` edge, 1 for a pure spline.
- :func:`silu_deviation`: the fraction of the edge's variance over the data that the best
  ``a + b * SiLU(x)`` leaves unexplained (``1 - R^2``). An edge with deviation 0 is what an MLP
  edge is: a layer all of whose edges are ``a + b * SiLU(x)`` computes ``Linear(SiLU(x))``.
- :func:`shape_stats`: local extrema (reversals larger than ``tol`` of the edge's range, so
  spline ripple does not count), monotone (no such extremum), and curvature (mean ``|phi''|``
  with ``x`` and ``phi`` rescaled to ``[0, 1]``: 0 for a line, 8 for a parabola with its vertex
  in the middle).
- :func:`edge_importances`: mean ``|phi|`` of every edge (pykan's pruning score), and
  :func:`top_share`, how much of it the most important edges hold. :func:`importance` takes the
  same measure of an ``nn.Linear``, whose edge ``o <- i`` is ``phi(x) = w_oi x``: the control.

This module imports nothing else of :mod:`kanmix.interpret`; the others build on it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from kanmix import data
from kanmix.grids import kan_layers, layer_inputs
from kanmix.kan import KANLinear

__all__ = ["POINTS", "COVERAGE", "TOL", "SILU_LIKE", "PROBE_SEED", "EdgeSample", "data_range", "sample_edges",
           "probe_images", "spline_share", "silu_deviation", "shape_stats", "edge_table", "edge_importances", "importance",
           "top_share", "summarize"]

#: Points per edge where the edge functions are sampled (curvature comes from their second differences).
POINTS = 64
#: The central share of each input's real values that an edge is looked at over.
COVERAGE = 0.99
#: A reversal smaller than this fraction of an edge's range is ripple, not an extremum.
TOL = 0.05
#: An edge whose deviation from ``a + b * SiLU(x)`` is below this is counted as SiLU-like.
SILU_LIKE = 0.01
#: The draw of the training images that define importance: one for every seed, so all are measured on the same images.
PROBE_SEED = 0


# ----------------------------------------------------------------------------- sampling edges


class EdgeSample(NamedTuple):
    """Edge functions over real inputs: ``x``, ``weight`` ``(in, n)``; ``total``, ``base``, ``spline``
    ``(out, in, n)`` (float64); ``constant (in,)``: inputs (nearly) constant over the data.

    ``weight[i]`` sums to one: the share of input ``i``'s real values nearest each point.
    """

    x: torch.Tensor
    weight: torch.Tensor
    total: torch.Tensor
    base: torch.Tensor
    spline: torch.Tensor
    constant: torch.Tensor


def data_range(x: torch.Tensor, coverage: float = COVERAGE) -> tuple[torch.Tensor, torch.Tensor]:
    """Each input's central ``coverage`` of its real values ``x (rows, in)``: ``(low (in,), high (in,))``."""
    if not 0 < coverage <= 1:
        raise ValueError(f"coverage={coverage!r} must be in (0, 1]")
    x = x.reshape(-1, x.shape[-1])
    if x.shape[0] == 0:
        raise ValueError("data_range needs at least one input row")
    # Sort-based quantiles: torch.quantile refuses tensors of more than 2**24 elements.
    xs = x.sort(dim=0).values
    last = xs.shape[0] - 1
    q = (1 - coverage) / 2
    return xs[math.floor(q * last)], xs[math.ceil((1 - q) * last)]


def sample_edges(layer: KANLinear, x: torch.Tensor, *, n: int = POINTS, coverage: float = COVERAGE) -> EdgeSample:
    """Every edge of ``layer`` sampled on ``n`` points over its real inputs ``x (rows, in)``: an :class:`EdgeSample`."""
    if not isinstance(layer, KANLinear):
        raise TypeError(f"sample_edges needs a kanmix.kan.KANLinear, got {type(layer).__name__}")
    x = x.detach().reshape(-1, layer.in_features).to(layer.grid)
    lo, hi = data_range(x, coverage)
    width = hi - lo
    constant = width <= 1e-6 * lo.abs().clamp_min(1.0)
    ef = layer.edge_functions(n=n, x_range=(lo, hi))
    # Each real value counts for the sample point nearest to it; values outside the central range drop out.
    pos = ((x - lo) / torch.where(constant, 1.0, width) * (n - 1)).round()
    inside = (pos >= 0) & (pos <= n - 1)
    index = (torch.arange(layer.in_features, device=x.device) * n + pos.clamp(0, n - 1).long())[inside]
    counts = torch.bincount(index, minlength=layer.in_features * n).view(layer.in_features, n).double()
    counts[constant] = 1.0  # a constant input: all n points are the same value
    weight = counts / counts.sum(1, keepdim=True).clamp_min(1.0)
    return EdgeSample(ef.x.double(), weight, ef.total.double(), ef.base.double(), ef.spline.double(), constant)


def _wmean(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (v * w).sum(-1)


def _r2(y: torch.Tensor, g: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """R^2 of the weighted least-squares fit ``y ~ a + b * g`` along the last axis (shapes broadcast).

    NaN where ``y`` is constant (nothing to explain); 0 where ``g`` is constant or not finite.
    """
    cy = y - _wmean(y, w).unsqueeze(-1)
    cg = g - _wmean(g, w).unsqueeze(-1)
    vy, vg, cov = _wmean(cy * cy, w), _wmean(cg * cg, w), _wmean(cy * cg, w)
    r2 = (cov * cov / (vy * vg)).clamp(0, 1)
    r2 = torch.where((vg > 1e-14 * _wmean(g * g, w)) & torch.isfinite(vg), r2, torch.zeros_like(r2))
    return torch.where(vy > 1e-12 * _wmean(y * y, w) + 1e-300, r2, torch.full_like(r2, math.nan))


# ----------------------------------------------------------------------------- per-edge measures


def spline_share(s: EdgeSample) -> torch.Tensor:
    """``(out, in)``: ``S / (S + B)``, data-weighted mean ``|spline|`` over ``|spline| + |base|`` (NaN: a zero edge)."""
    sp, b = _wmean(s.spline.abs(), s.weight), _wmean(s.base.abs(), s.weight)
    total = sp + b
    return torch.where(total > 0, sp / total.clamp_min(1e-300), torch.full_like(total, math.nan))


def silu_deviation(s: EdgeSample) -> torch.Tensor:
    """``(out, in)``: ``1 - R^2`` of the best ``a + b * SiLU(x)`` fit of each edge over its real inputs.

    0 for an edge that is a scaled SiLU plus a constant; NaN for an edge constant over the data.
    """
    return 1 - _r2(s.total, F.silu(s.x), s.weight)


def _extrema(y: torch.Tensor, tol: float) -> torch.Tensor:
    """Reversals of each row of ``y (E, n)`` larger than ``tol`` of its range (a zigzag count): ``(E,)``.

    A point is an extremum when the curve moves by more than the threshold into it and out of it;
    the first significant move from the left end sets the direction. The walk along the ``n``
    points is sequential, so it runs in NumPy: a few thousand small operations, which in torch
    would each pay the thread pool's synchronisation.
    """
    v = y.detach().cpu().double().numpy()
    h = tol * (v.max(1) - v.min(1))
    start = v[:, 0]
    direction = np.zeros_like(h)
    ext, count = start.copy(), np.zeros_like(h)
    for t in range(1, v.shape[1]):
        x = v[:, t]
        begin = (direction == 0) & (np.abs(x - start) > h)
        direction = np.where(begin, np.sign(x - start), direction)
        ext = np.where(begin, x, ext)
        up, down = (direction > 0) & ~begin, (direction < 0) & ~begin
        ext = np.where(up, np.maximum(ext, x), np.where(down, np.minimum(ext, x), ext))
        turn = (up & (ext - x > h)) | (down & (x - ext > h))
        count += turn
        direction = np.where(turn, -direction, direction)
        ext = np.where(turn, x, ext)
    return torch.from_numpy(count).to(y.device)


def shape_stats(s: EdgeSample, *, tol: float = TOL) -> dict[str, torch.Tensor]:
    """``{"extrema", "monotone", "curvature"}``, each ``(out, in)``, over each edge's real input range.

    ``extrema``: reversals larger than ``tol`` of the edge's range; ``monotone``: 1.0 without
    one, else 0.0; ``curvature``: mean ``|phi''|`` with ``x`` and ``phi`` both rescaled to
    ``[0, 1]`` (0 for a line, 8 for ``x^2`` on ``[-1, 1]``). All NaN for an edge that is
    constant over the data (a constant input, or an edge that is zero).
    """
    y = s.total
    out, n_in, n = y.shape
    span = y.max(-1).values - y.min(-1).values
    flat = (span <= 1e-9 * y.abs().amax(-1).clamp_min(1e-300)) | s.constant
    ext = _extrema(y.reshape(-1, n), tol).view(out, n_in)
    scaled = (y - y.min(-1, keepdim=True).values) / span.clamp_min(1e-300).unsqueeze(-1)
    second = (scaled[..., 2:] - 2 * scaled[..., 1:-1] + scaled[..., :-2]) * (n - 1) ** 2
    nan = torch.full_like(span, math.nan)
    return {"extrema": torch.where(flat, nan, ext), "monotone": torch.where(flat, nan, (ext == 0).double()),
            "curvature": torch.where(flat, nan, second.abs().mean(-1))}


def edge_table(model: nn.Module, images: torch.Tensor, *, tol: float = TOL, n: int = POINTS,
               coverage: float = COVERAGE) -> pd.DataFrame:
    """One row per edge of every KAN layer of ``model`` on float images ``(N, C, H, W)``.

    Columns: ``layer``, ``out``, ``in``, ``importance`` (:meth:`KANLinear.edge_importance`, mean
    ``|phi|`` over the real inputs), ``spline_share``, ``deviation`` (:func:`silu_deviation`),
    ``extrema``, ``monotone``, ``curvature`` (:func:`shape_stats`).
    """
    frames = []
    layers = kan_layers(model)
    for name, x in layer_inputs(model, images).items():
        layer = layers[name]
        s = sample_edges(layer, x, n=n, coverage=coverage)
        cols = {"importance": layer.edge_importance(x).double(), "spline_share": spline_share(s),
                "deviation": silu_deviation(s), **shape_stats(s, tol=tol)}
        o, i = torch.meshgrid(torch.arange(layer.out_features), torch.arange(layer.in_features), indexing="ij")
        frames.append(pd.DataFrame({"layer": name, "out": o.flatten().numpy(), "in": i.flatten().numpy(),
                                    **{k: v.flatten().cpu().numpy() for k, v in cols.items()}}))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- importance, and a table summed up


def importance(layer: KANLinear | nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """``(out, in)``: mean ``|phi_oi(x_i)|`` of every edge of ``layer`` over its real inputs ``x (rows, in)``.

    For a KAN layer it is :meth:`KANLinear.edge_importance`; for an ``nn.Linear`` the edge is
    ``w_oi x_i`` (its bias belongs to no edge), so the mean is ``|w_oi| mean|x_i|``: one measure
    for both families, so that their maps compare.
    """
    if isinstance(layer, KANLinear):
        return layer.edge_importance(x)
    x = x.detach().reshape(-1, layer.in_features).double()
    if x.shape[0] == 0:
        raise ValueError("importance needs at least one input row")
    return layer.weight.detach().abs().double().cpu() * x.abs().mean(0).cpu()


def edge_importances(model: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{layer name: (out, in)}``: :meth:`KANLinear.edge_importance` of every KAN layer on float images."""
    layers = kan_layers(model)
    return {name: layers[name].edge_importance(x) for name, x in layer_inputs(model, images).items()}


def _flat64(values) -> torch.Tensor:
    """A tensor, array or sequence as a flat float64 tensor (a copy for arrays: they may be read-only)."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().double().flatten()
    return torch.from_numpy(np.array(values, dtype=np.float64).ravel())


def top_share(values: torch.Tensor | np.ndarray, fraction: float = 0.1) -> float:
    """The share of the total held by the largest ``fraction`` of the entries (``fraction`` for a uniform spread)."""
    v = _flat64(values)
    v = v[torch.isfinite(v)]
    k = max(1, round(fraction * v.numel()))
    total = float(v.sum())
    return float(v.topk(k).values.sum()) / total if total > 0 else math.nan


def summarize(edges: pd.DataFrame) -> pd.Series:
    """One summary of :func:`edge_table` rows (of one model, or pooled): what the tables and conclusions show.

    ``spline_share``, ``deviation``, ``extrema``, ``curvature``: medians over the edges;
    ``silu_like``: the fraction with deviation below :data:`SILU_LIKE`; ``monotone``: the
    fraction monotone; ``concentration``: :func:`top_share` of the importances, taken within each
    layer (and ``seed``, when there is that column), whose scales differ, then averaged. NaN
    measures (constant edges) are left out.
    """
    groups = [c for c in ("layer", "seed") if c in edges]
    return pd.Series({
        "spline_share": edges.spline_share.median(), "deviation": edges.deviation.median(),
        "silu_like": float((edges.deviation.dropna() < SILU_LIKE).mean()), "monotone": edges.monotone.mean(),
        "extrema": edges.extrema.median(), "curvature": edges.curvature.median(),
        "concentration": float(np.mean([top_share(g.importance.to_numpy()) for _, g in edges.groupby(groups)]))
        if groups else top_share(edges.importance.to_numpy())})


# ----------------------------------------------------------------------------- the images edges are measured on


def _sample_indices(total: int, n: int, seed: int) -> torch.Tensor:
    """``n`` indices of ``range(total)`` from a seeded permutation, cycling through it when ``n > total``."""
    perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return perm[torch.arange(n) % total]


def probe_images(split, n: int, seed: int = PROBE_SEED) -> torch.Tensor:
    """``n`` training images of ``split`` (a :class:`kanmix.splits.Split`), floats ``(n, C, H, W)``, drawn by ``seed``.

    The images that define importance and every per-edge measure: training images, so that
    test images stay untouched for scoring (:func:`kanmix.interpret.pruning.prune_runs` uses the same draw).
    """
    from kanmix.splits import load_split

    return _probe(load_split(split)[0][0], n, seed)


def _probe(train_x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return data.to_float(train_x[_sample_indices(train_x.shape[0], min(n, train_x.shape[0]), seed)])
