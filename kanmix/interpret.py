"""What trained KAN layers compute, measured on the inputs they actually see, against controls.

Every measure here reads one :class:`kanmix.kan.KANLinear` together with real inputs
``x (rows, in)`` (:func:`kanmix.grids.layer_inputs` of a model on images), so it can be taken
for a trained model and for the same architecture at initialisation, its control.

**Where an edge is looked at.** Edge ``o <- i`` only ever sees the values of input ``i``.
:func:`sample_edges` samples every edge function on ``n`` points spanning the central
``coverage`` of input ``i``'s real values (its quantiles) and weights each point by the share
of real inputs nearest to it, so that every per-edge statistic below is an average over the
data, not over an arbitrary interval. Inputs that are (nearly) constant over the data, such as
the always-black border pixels of MNIST, give edges that are a constant: their shape measures
are NaN and summaries leave them out.

**Per-edge measures** (:func:`edge_table` puts them in one DataFrame):

- :func:`spline_share`: ``S / (S + B)`` with ``S`` and ``B`` the data-weighted mean ``|spline|``
  and ``|base|`` of the edge: 0 for a pure ``w * SiLU`` edge, 1 for a pure spline.
- :func:`silu_deviation`: the fraction of the edge's variance over the data that the best
  ``a + b * SiLU(x)`` leaves unexplained (``1 - R^2``). An edge with deviation 0 is what an MLP
  edge is: a layer all of whose edges are ``a + b * SiLU(x)`` computes ``Linear(SiLU(x))``.
- :func:`shape_stats`: local extrema (reversals larger than ``tol`` of the edge's range, so
  spline ripple does not count), monotone (no such extremum), and curvature (mean ``|phi''|``
  with ``x`` and ``phi`` rescaled to ``[0, 1]``: 0 for a line, 8 for a parabola with its vertex
  in the middle).
- :func:`symbolic_fits`: pykan's ``suggest_symbolic``, kept simple: the R^2 of the best affine
  ``a + b * f(c * u + d)`` for each form ``f`` of :data:`LIBRARY` over a fixed grid of inner
  parameters ``(c, d)`` (see :func:`library`), and the best form.

**Whole-model measures**: :func:`token_maps` (which patch positions a token-mixing network
reads, for a KAN-Mixer from edge importances on data, for an MLP-Mixer from its weights, the
control), :func:`locality` and :func:`top_share` of such maps and importances, and
:func:`rank_agreement` across seeds (only for quantities aligned across seeds: input tokens
and pixels are, hidden units and embedding channels are not).

**Pruning** (:func:`prune_runs`): mask the least important edges of a trained KAN-Mixer
(importance on training images), so that they stay exactly zero (:func:`mask_edges`) during a
short fine-tuning, and score on test images; each run is a results-store record.

**Conclusions** (:func:`conclude_interpretability`, :func:`conclude_cost`): Markdown computed
from the measures. Differences are claimed only beyond a noise band (:func:`compare`): with one
value per side and no evaluation-set size there is no noise estimate, and no difference is
claimed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from kanmix import data, results, runner
from kanmix.grids import kan_layers, layer_inputs
from kanmix.kan import KANLinear

__all__ = [
    "EdgeSample", "sample_edges", "probe_images", "data_range", "spline_share", "silu_deviation", "shape_stats",
    "edge_table", "LIBRARY", "library", "symbolic_fits", "symbolic_top", "edge_importances", "token_maps",
    "locality", "top_share", "rank_agreement", "keep_masks", "mask_edges", "prune_runs", "Comparison", "compare",
    "Evidence", "summarize", "evidence", "findings", "null_results", "conclude_interpretability",
    "conclude_linearized", "conclude_cost",
]

#: Points per edge where the edge functions are sampled (curvature comes from their second differences).
POINTS = 64
#: The central share of each input's real values that an edge is looked at over.
COVERAGE = 0.99
#: A reversal smaller than this fraction of an edge's range is ripple, not an extremum.
TOL = 0.05
#: An edge whose deviation from ``a + b * SiLU(x)`` is below this is counted as SiLU-like.
SILU_LIKE = 0.01
#: A symbolic form fits an edge when its R^2 reaches this.
GOOD_FIT = 0.99


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


# ----------------------------------------------------------------------------- symbolic fits

#: The symbolic forms, simplest first: the first form within :data:`TIE` of the best R^2 is chosen.
LIBRARY = ("x", "x^2", "x^3", "|x|", "sin", "tanh", "exp", "silu", "gaussian")
TIE = 1e-3
_FORMS = {"x": lambda v: v, "x^2": lambda v: v * v, "x^3": lambda v: v ** 3, "|x|": torch.abs, "sin": torch.sin,
          "tanh": torch.tanh, "exp": lambda v: torch.exp(v.clamp(max=30)), "silu": F.silu,
          "gaussian": lambda v: torch.exp(-v * v)}


def library(u: torch.Tensor) -> dict[str, torch.Tensor]:
    """The candidate features ``f(c * u + d)`` of each form on ``u (n,)``, the input rescaled to ``[-1, 1]``.

    Form -> ``(K, n)``. Outer scale and offset are fitted by least squares; the inner
    ``(c, d)`` come from a fixed grid in units of the edge's own input range (centres ``m`` at
    nine points of ``[-1, 1]``, ``d = -c * m``):

    - ``x``: ``u`` itself (an inner affine map changes nothing);
    - ``x^2``, ``x^3``, ``|x|``: ``(u - m)``, the vertex, inflection or kink at ``m``;
    - ``sin``: ``sin(w u + p)``, ``w`` in ``pi/2, pi, 2 pi, 3 pi``, eight phases ``p``;
    - ``tanh``, ``silu``, ``gaussian`` (``exp(-v^2)``): ``c (u - m)`` with ``c`` in ``1, 2, 4, 8``;
    - ``exp``: ``c u`` with ``c`` in ``+-1, +-2, +-4`` (a shift only rescales it).

    :func:`symbolic_fits` adds ``f(x)`` in the layer's own input units for every form, so an
    edge that is exactly ``a + b * SiLU(x)`` is found as ``silu``.
    """
    centres = torch.linspace(-1, 1, 9, dtype=u.dtype)
    scales = torch.tensor([1.0, 2.0, 4.0, 8.0], dtype=u.dtype)
    shifted = u - centres.unsqueeze(1)  # (9, n)
    scaled = (scales.view(-1, 1, 1) * shifted).reshape(-1, u.shape[0])  # (36, n)
    w = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=u.dtype) * math.pi
    phase = torch.arange(8, dtype=u.dtype) * math.pi / 4
    sines = (w.view(-1, 1, 1) * u + phase.view(1, -1, 1)).reshape(-1, u.shape[0])
    rates = torch.tensor([-4.0, -2.0, -1.0, 1.0, 2.0, 4.0], dtype=u.dtype).unsqueeze(1) * u
    inner = {"x": u.unsqueeze(0), "x^2": shifted, "x^3": shifted, "|x|": shifted, "sin": sines,
             "tanh": scaled, "exp": rates, "silu": scaled, "gaussian": scaled}
    return {form: _FORMS[form](v) for form, v in inner.items()}


def symbolic_fits(s: EdgeSample, edges: Sequence[tuple[int, int]] | None = None, *, chunk: int = 256) -> pd.DataFrame:
    """The best R^2 of every :data:`LIBRARY` form for the given ``(out, in)`` edges (all if ``None``).

    One row per edge: ``out``, ``in``, ``r2_<form>`` for each form, ``best`` (the simplest form
    within :data:`TIE` of the highest R^2) and ``r2`` (its R^2). Fits are weighted by the
    data, like every measure here (see :func:`library` for the inner parameters).
    """
    n_out, n_in, n = s.total.shape
    if edges is None:
        edges = [(o, i) for o in range(n_out) for i in range(n_in)]
    edges = [(int(o), int(i)) for o, i in edges]
    u = torch.linspace(-1, 1, n, dtype=torch.float64)
    shared = library(u)
    rows = []
    for start in range(0, len(edges), chunk):
        part = edges[start:start + chunk]
        o = torch.tensor([e[0] for e in part])
        i = torch.tensor([e[1] for e in part])
        y, w, x = s.total[o, i], s.weight[i], s.x[i]  # (E, n)
        best = {}
        for form in LIBRARY:
            grid = _r2(y, shared[form].unsqueeze(1), w).nan_to_num(-1.0).amax(0)  # over the inner grid
            raw = _r2(y, _FORMS[form](x), w).nan_to_num(-1.0)
            best[form] = torch.maximum(grid, raw)
        r2 = torch.stack([best[f] for f in LIBRARY], 1)  # (E, forms)
        flat = torch.isnan(_r2(y, x, w))  # a constant edge has nothing to fit
        top = r2.amax(1, keepdim=True)
        choice = (r2 >= top - TIE).double().argmax(1)  # the first (simplest) form within TIE
        for k, (oo, ii) in enumerate(part):
            row = {"out": oo, "in": ii, **{f"r2_{f}": math.nan if flat[k] else float(best[f][k]) for f in LIBRARY}}
            row["best"] = None if flat[k] else LIBRARY[int(choice[k])]
            row["r2"] = math.nan if flat[k] else float(r2[k, choice[k]])
            rows.append(row)
    return pd.DataFrame(rows, columns=["out", "in", *(f"r2_{f}" for f in LIBRARY), "best", "r2"])


def symbolic_top(model: nn.Module, images: torch.Tensor, edges: pd.DataFrame, n: int) -> pd.DataFrame:
    """Symbolic fits of each KAN layer's ``n`` most important edges and its ``n`` least SiLU-like ones.

    ``edges`` is :func:`edge_table` of ``model`` on the same float ``images``. The least
    SiLU-like edges (largest ``deviation``) are taken among the more important half of the
    layer, so that near-zero edges, whose shape is noise, are not what the table shows. One row
    per chosen edge: ``layer``, ``why`` ("important" or "non-SiLU"), the edge's measures and
    :func:`symbolic_fits`' columns.
    """
    layers = kan_layers(model)
    frames = []
    for name, x in layer_inputs(model, images).items():
        table = edges[edges.layer == name]
        important = table.nlargest(n, "importance").assign(why="important")
        upper = table[table.importance >= table.importance.median()]
        odd = upper.dropna(subset=["deviation"]).nlargest(n, "deviation").assign(why="non-SiLU")
        chosen = pd.concat([important, odd[~odd.index.isin(important.index)]])
        fits = symbolic_fits(sample_edges(layers[name], x), list(zip(chosen["out"], chosen["in"])))
        frames.append(chosen.reset_index(drop=True).join(fits.drop(columns=["out", "in"])))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- maps over the image


def edge_importances(model: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{layer name: (out, in)}``: :meth:`KANLinear.edge_importance` of every KAN layer on float images."""
    layers = kan_layers(model)
    return {name: layers[name].edge_importance(x) for name, x in layer_inputs(model, images).items()}


def token_maps(model: nn.Module, images: torch.Tensor, *, block: int = 0) -> torch.Tensor:
    """Which patch positions each output token of a mixer block's token mixing reads: ``(T, H/P, W/P)``.

    ``images (N, C, H, W)`` float. Entry ``[j, r, c]`` is the importance of input token
    ``(r, c)`` for output token ``j``, summed over the paths through the hidden units
    (``|second| @ |first|``, pykan's path importance), each map normalised to sum to one.
    For a KAN-Mixer the two matrices are the token-mixing layers' edge importances on these
    images (mean ``|phi|``); for an MLP-Mixer, the control, they are the absolute weights of its
    two Linear layers (its token-mixing inputs are LayerNorm outputs, of about unit scale for
    every token, so weights alone are comparable across tokens).
    """
    mix = model.blocks[block].token_mix
    first, second = mix[0], mix[-1]
    if isinstance(first, KANLinear):
        inputs = layer_inputs(model, images)
        names = {id(m): name for name, m in kan_layers(model).items()}
        a, b = (m.edge_importance(inputs[names[id(m)]]) for m in (first, second))
    else:
        a, b = first.weight.detach().abs(), second.weight.detach().abs()
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


# ----------------------------------------------------------------------------- pruning


def keep_masks(importances: Mapping[str, torch.Tensor], keep: float) -> dict[str, torch.Tensor]:
    """``{layer: (out, in) bool}``: the ``keep`` fraction of each layer's most important edges (at least one)."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep={keep!r} must be a fraction in (0, 1]")
    masks = {}
    for name, imp in importances.items():
        flat = imp.flatten()
        mask = torch.zeros(flat.numel(), dtype=torch.bool)
        mask[flat.topk(max(1, round(keep * flat.numel()))).indices] = True
        masks[name] = mask.view(imp.shape)
    return masks


class _Mask(nn.Module):
    """A parametrization ``w -> w * mask``: masked entries are exactly zero whatever ``w`` becomes."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * self.mask.to(w.dtype)


def mask_edges(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Remove the edges where ``masks[layer]`` is False, in place, and keep them removed under training.

    Both ``base_weight`` and ``spline_scaler`` of a removed edge are multiplied by zero through
    ``torch.nn.utils.parametrize``, so the edge function is exactly zero and gets no gradient;
    the optimiser may move the stored values, never the edge. Returns ``model``.
    """
    layers = kan_layers(model)
    for name, keep in masks.items():
        layer = layers[name]
        for param in ("base_weight", "spline_scaler"):
            target = getattr(layer, param)
            parametrize.register_parametrization(layer, param, _Mask(keep.to(target.device, torch.float32)))
    return model


def _sample_indices(total: int, n: int, seed: int) -> torch.Tensor:
    """``n`` indices of ``range(total)`` from a seeded permutation, cycling through it when ``n > total``."""
    perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return perm[torch.arange(n) % total]


#: The draw of the training images that define importance: one for every seed, so all are measured on the same images.
PROBE_SEED = 0


def probe_images(split, n: int, seed: int = PROBE_SEED) -> torch.Tensor:
    """``n`` training images of ``split`` (a :class:`kanmix.splits.Split`), floats ``(n, C, H, W)``, drawn by ``seed``.

    The images that define importance and every per-edge measure: training images, so that
    test images stay untouched for scoring (:func:`prune_runs` uses the same draw).
    """
    from kanmix.splits import load_split

    return _probe(load_split(split)[0][0], n, seed)


def _probe(train_x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    return data.to_float(train_x[_sample_indices(train_x.shape[0], min(n, train_x.shape[0]), seed)])


def _accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, precision: str) -> float:
    from kanmix.train import predict

    return float((predict(model, images, precision=precision).argmax(1) == labels).double().mean())


def finetune_config(base: runner.Run, finetune: Mapping | None = None):
    """The brief fine-tuning a trained run's derived models get (pruned, linearized): one pass of
    :func:`kanmix.train.fit` at the base's precision and seed, no augmentation, no grid updates;
    ``finetune`` overrides the other options (default lr 3e-4, no warm-up, cosine to 0, batch 128)."""
    from kanmix.train import TrainConfig

    options = {"lr": 3e-4, "warmup": 0.0, "batch_size": 128, **(finetune or {})}
    return TrainConfig.from_dict({**options, "epochs": 1, "precision": base.train.precision,
                                  "augment": None, "grid_updates": (), "seed": base.seed})


def trained_and_data(base: runner.Run, n_eval: int, who: str) -> tuple[nn.Module, tuple, tuple]:
    """``base``'s trained model, its training ``(images, labels)`` and ``n_eval`` test images with labels
    drawn by its seed (disjoint from every training image). ``who`` names the caller in the error
    raised when the base kept no weights."""
    from kanmix.splits import load_split

    model = runner.load_trained(base)
    if model is None:
        raise ValueError(f"{who}: the base run {results.run_hash(base.to_dict())} kept no weights; "
                         "run it with keep_weights=True")
    train, _, _ = load_split(base.split)
    test_x, test_y = data.load(base.split.dataset, "test", size=base.split.size)
    pick = _sample_indices(test_x.shape[0], min(n_eval, test_x.shape[0]), base.seed)
    return model, train, (test_x[pick], test_y[pick])


PRUNE_KIND = "prune_finetune"


def prune_runs(base: runner.Run, keeps: Sequence[float], *, n_importance: int, n_eval: int, steps: int,
               finetune: Mapping | None = None, force: bool = False) -> list[dict]:
    """Prune ``base``'s trained KAN-Mixer to each ``keep`` fraction of every KAN layer's edges, fine-tune, score.

    One results-store record per kept fraction (``kind="prune_finetune"``), whose config names
    the base run's hash. Importance is :meth:`KANLinear.edge_importance` on ``n_importance``
    training images of the base's split (:func:`probe_images`' default draw, the same for
    every seed); the masked model
    (:func:`mask_edges`) is fine-tuned for ``steps`` steps (one pass of
    :func:`kanmix.train.fit` over ``steps * batch_size`` training images, the base's precision,
    no augmentation; ``finetune`` overrides the other :class:`kanmix.train.TrainConfig`
    options, by default lr 3e-4, no warm-up, cosine to 0); accuracy is measured on ``n_eval``
    test images (disjoint from every training image) before pruning, after pruning and after
    fine-tuning. ``keep=1`` is the control: fine-tuning alone. Each record also counts the
    removed edges that are not exactly zero after fine-tuning (``masked_nonzero``, 0 by
    construction). The importances and the unpruned accuracy are computed once, and only if
    some record is missing.
    """
    from kanmix.train import fit

    train_cfg = finetune_config(base, finetune)
    base_hash = results.run_hash(base.to_dict())
    shared: dict = {}

    def prepared() -> dict:
        """The base's training and test images, importances and unpruned accuracy (computed on first use)."""
        if not shared:
            model, train, test = trained_and_data(base, n_eval, "prune_runs")
            shared.update(train=train, test=test,
                          importance=edge_importances(model, _probe(train[0], n_importance, PROBE_SEED)))
            shared["before"] = _accuracy(model, *shared["test"], base.train.precision)
        return shared

    def compute(keep: float) -> dict:
        p = prepared()
        model = runner.load_trained(base)
        masks = keep_masks(p["importance"], keep)
        mask_edges(model, masks)
        pruned = _accuracy(model, *p["test"], base.train.precision)
        train_x, train_y = p["train"]
        tune = _sample_indices(train_x.shape[0], steps * train_cfg.batch_size, base.seed + 1)
        fitted = fit(model, train_x[tune], train_y[tune], train_cfg, task="classify")
        tuned = _accuracy(model, *p["test"], base.train.precision)
        # phi = base_weight * SiLU + spline_scaler * spline: a removed edge is zero iff both factors are.
        layers = kan_layers(model)
        nonzero = sum(int(((layers[name].base_weight != 0) | (layers[name].spline_scaler != 0))[~m.to(
            layers[name].base_weight.device)].sum()) for name, m in masks.items())
        return {"accuracy_unpruned": p["before"], "accuracy_pruned": pruned, "accuracy_finetuned": tuned,
                "edges": sum(int(m.numel()) for m in masks.values()),
                "edges_kept": sum(int(m.sum()) for m in masks.values()), "masked_nonzero": nonzero,
                "finetune_seconds": fitted["train_seconds"], "n_eval": int(p["test"][0].shape[0]), "seed": base.seed}

    return [results.cached_run({"kind": PRUNE_KIND, "base": base_hash, "keep": float(keep),
                                "n_importance": n_importance, "n_eval": n_eval, "steps": steps,
                                "train": train_cfg.result_options()}, lambda keep=keep: compute(keep), force=force)
            for keep in keeps]


# ----------------------------------------------------------------------------- noise and conclusions


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b``: their means, ``diff = a - b`` and the noise band ``half_width``.

    ``sign`` is +1 or -1 only when ``|diff|`` exceeds the band, 0 within it, and ``None``
    when there is no noise estimate (then no difference is claimed either way).
    """

    a: float
    b: float
    diff: float
    half_width: float | None

    @property
    def sign(self) -> int | None:
        if self.half_width is None:
            return None
        return 0 if abs(self.diff) <= self.half_width else int(math.copysign(1, self.diff))


def compare(a: Sequence[float], b: Sequence[float], *, n: int | None = None, paired: bool = False) -> Comparison:
    """Compare per-seed values ``a`` and ``b`` (e.g. accuracies, or a median per seed).

    The band is the half-width of a 95% interval of the difference of the means. Unpaired: the
    seed variance pooled over the sides that have two or more values, with a t quantile on its
    degrees of freedom. ``paired`` (``a[k]`` and ``b[k]`` from the same seed, e.g. a model before
    and after pruning): the variance of the per-seed differences instead, which removes the
    seeds' own spread. For accuracies measured on ``n`` images, the binomial variance
    ``p (1 - p) / n`` of each side is added (for paired values this ignores their correlation,
    so it errs on the side of claiming less). With neither a seed variance nor ``n`` there is no
    band (``half_width=None``) and no difference is claimed.
    """
    from scipy.stats import t as student

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        raise ValueError("compare needs at least one value on each side")
    if paired and a.size != b.size:
        raise ValueError(f"paired values need one value per seed on each side, got {a.size} and {b.size}")
    ma, mb = float(a.mean()), float(b.mean())
    if paired:
        d = a - b
        dof = d.size - 1
        seed_var = float(d.var(ddof=1)) / d.size if dof else 0.0
    else:
        groups = [g for g in (a, b) if g.size >= 2]
        dof = sum(g.size - 1 for g in groups)
        pooled = sum(float(((g - g.mean()) ** 2).sum()) for g in groups) / dof if dof else 0.0
        seed_var = pooled * (1 / a.size + 1 / b.size)
    if not dof and n is None:
        return Comparison(ma, mb, ma - mb, None)
    p = (ma + mb) / 2
    eval_var = p * (1 - p) / n * (1 / a.size + 1 / b.size) if n is not None else 0.0
    quantile = float(student.ppf(0.975, dof)) if dof else 1.96
    return Comparison(ma, mb, ma - mb, quantile * math.sqrt(seed_var + eval_var))


def _pct(v: float) -> str:
    """A fraction as a percentage: three significant digits from 10% up, two below (0.31%)."""
    if v is None or not math.isfinite(v):
        return "–"
    return f"{100 * v:.3g}%" if abs(v) >= 0.1 else f"{100 * v:.2g}%"


def _num(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.3g}"


def _times(ratio: float) -> str:
    """A cost ratio: ``5.4×``, ``110×``."""
    return f"{ratio:.2g}×" if ratio < 10 else f"{ratio:,.0f}×"


def _versus(c: Comparison, higher: str, lower: str, same: str, fmt=_num) -> str:
    """The words for ``c`` (``higher``/``lower``/``same``, by its sign), then the means and the band in brackets."""
    if c.sign is None:
        return (f"{fmt(c.a)} against {fmt(c.b)}, with no noise estimate (one value each side), "
                "so no difference is claimed")
    words = {1: higher, -1: lower, 0: same}[c.sign]
    sign = "" if fmt(abs(c.diff)) == fmt(0.0) else "+" if c.diff > 0 else "−"
    return f"{words} ({fmt(c.a)} against {fmt(c.b)}; difference {sign}{fmt(abs(c.diff))} ± {fmt(c.half_width)})"


@dataclass
class Evidence:
    """The measures the conclusions read, each as per-seed values for ``"trained"`` and ``"init"``.

    - ``spline_share``, ``deviation``: the median per model over all its KAN edges;
    - ``silu_like``: the fraction of edges with deviation below :data:`SILU_LIKE`;
    - ``monotone``: the fraction of monotone edges;
    - ``concentration``: :func:`top_share` of the edge importances (top 10%);
    - ``locality``: mean :func:`locality` of the first block's token maps (also ``"mlp"``);
    - ``stability``: the pairwise :func:`rank_agreement` of the token maps across seeds;
    - ``symbolic``: :func:`symbolic_fits` rows of the top edges (``"trained"``, ``"init"``);
    - ``pruning``: one row per prune run: ``seed``, ``keep``, ``accuracy_unpruned``,
      ``accuracy_pruned``, ``accuracy_finetuned``, ``n_eval``; ``steps``: its fine-tuning steps;
      ``chance``: the accuracy of guessing (a model no better than it is not worth pruning).

    Measures a model family lacks (no token maps, no pruning) are left empty and left out.
    """

    spline_share: dict[str, list[float]]
    deviation: dict[str, list[float]]
    silu_like: dict[str, list[float]]
    monotone: dict[str, list[float]]
    concentration: dict[str, list[float]]
    locality: dict[str, list[float]]
    stability: dict[str, list[float]]
    symbolic: dict[str, pd.DataFrame] = field(default_factory=dict)
    pruning: pd.DataFrame | None = None
    steps: int = 0
    chance: float | None = None


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


def evidence(edges: pd.DataFrame, maps: Mapping[str, Sequence[torch.Tensor]] | None = None, *,
             symbolic: Mapping[str, pd.DataFrame] | None = None, pruning: pd.DataFrame | None = None,
             steps: int = 0, chance: float | None = None) -> Evidence:
    """The :class:`Evidence` of one model family from its measures.

    ``edges``: :func:`edge_table` rows of every model, with a ``state`` column (``"trained"``,
    ``"init"``) and a ``seed`` column; ``maps``: :func:`token_maps` per seed for ``"trained"``,
    ``"init"`` and optionally ``"mlp"``. Per seed, the spline share and deviation are medians over
    all the model's edges (:func:`summarize`).
    """
    per_seed = {state: [summarize(part) for _, part in edges[edges.state == state].groupby("seed")]
                for state in ("trained", "init")}

    def by_state(name: str) -> dict[str, list[float]]:
        return {state: [float(row[name]) for row in rows] for state, rows in per_seed.items()}

    maps = maps or {}
    return Evidence(
        spline_share=by_state("spline_share"), deviation=by_state("deviation"), silu_like=by_state("silu_like"),
        monotone=by_state("monotone"), concentration=by_state("concentration"),
        locality={k: [float(locality(m).mean()) for m in v] for k, v in maps.items()},
        stability={k: rank_agreement(maps[k]) for k in ("trained", "init") if len(maps.get(k, ())) > 1},
        symbolic=dict(symbolic or {}), pruning=pruning, steps=steps, chance=chance)


def _both(values: Mapping[str, list[float]]) -> bool:
    return bool(values.get("trained")) and bool(values.get("init"))


def _trained_vs_init(ev: Evidence, name: str) -> Comparison:
    values = getattr(ev, name)
    return compare(values["trained"], values["init"])


def _symbolic_counts(df: pd.DataFrame) -> tuple[int, int, int, str]:
    """Edges with a form; of them, fitted to R^2 >= GOOD_FIT; of those, fitted as well by ``x`` or ``silu``
    (whatever form was named best: the simplest within TIE may be ``x^2`` for a SiLU over a short range);
    and the forms named."""
    fitted = df.dropna(subset=["best"])
    good = fitted[fitted.r2 >= GOOD_FIT]
    mlp = int((good[["r2_x", "r2_silu"]].max(axis=1) >= GOOD_FIT).sum())
    forms = ", ".join(f"{form} ({count})" for form, count in good.best.value_counts().items()) or "none"
    return len(fitted), len(good), mlp, forms


def _pruning_lines(ev: Evidence) -> tuple[str | None, float | None]:
    """The pruning sentence (None without runs) and the smallest kept fraction down to which no fine-tuned
    model lost accuracy beyond noise (None if none, or if the unpruned model is no better than chance)."""
    df = ev.pruning
    if df is None or df.empty:
        return None, None
    n = int(df.n_eval.min())
    full = df.groupby("seed").accuracy_unpruned.first()
    lead = f"Pruned by importance on training images and scored on {n} test images, with {ev.steps} fine-tuning steps: "
    if ev.chance is not None:
        above = compare(full.tolist(), [ev.chance] * len(full), n=n, paired=True)
        if above.sign != 1:
            return (lead + f"the unpruned model is no better than chance (accuracy {_num(above.a)} against "
                    f"{_num(ev.chance)}), so pruning it shows nothing."), None
    safe, failed, parts = None, False, []
    for keep in sorted(df.keep.unique(), reverse=True):
        rows = df[df.keep == keep].set_index("seed")
        unpruned = full.loc[rows.index].tolist()
        tuned = compare(rows.accuracy_finetuned.tolist(), unpruned, n=n, paired=True)
        if keep < 1:
            raw = compare(rows.accuracy_pruned.tolist(), unpruned, n=n, paired=True)
            parts.append(f"keeping {_pct(keep)} of the edges, accuracy is "
                         + _versus(raw, "higher than unpruned", "lower than unpruned", "no different from unpruned")
                         + " right after pruning, and after fine-tuning "
                         + _versus(tuned, "higher", "lower", "no different"))
            failed = failed or tuned.sign is None or tuned.sign < 0
            if not failed:
                safe = keep
        else:
            parts.append("fine-tuning alone (all edges kept) leaves accuracy "
                         + _versus(tuned, "higher", "lower", "no different"))
    return lead + "; ".join(parts) + ".", safe


def _per_state(ev: Evidence) -> dict[str, Comparison]:
    """Trained against init for every per-seed measure the evidence holds."""
    names = ("spline_share", "silu_like", "deviation", "monotone", "concentration", "locality")
    return {name: _trained_vs_init(ev, name) for name in names if _both(getattr(ev, name))}


def findings(ev: Evidence) -> list[str]:
    """What the trained KAN models show beyond their untrained control and beyond noise, as phrases.

    Empty when nothing does. Read by both conclusions, so they cannot disagree.
    """
    c = _per_state(ev)

    def sign(name: str) -> int | None:
        return c[name].sign if name in c else None

    def both(name: str, fmt=_num) -> str:
        return f"{fmt(c[name].a)} against {fmt(c[name].b)}"

    held = []
    if sign("spline_share") == 1:
        held.append(f"training moves the splines beyond their initial share (median {both('spline_share')})")
    if sign("silu_like") == -1 or sign("deviation") == 1:
        held.append("trained edges depart from the SiLU shape more than at initialisation (SiLU-like edges "
                    f"{both('silu_like', _pct)}; median deviation {both('deviation')})")
    if sign("monotone") is not None and sign("monotone") != 0:
        held.append(f"training makes {'more' if sign('monotone') == 1 else 'fewer'} edges monotone "
                    f"({both('monotone', _pct)})")
    if sign("concentration") == 1:
        held.append(f"importance concentrates on fewer edges than at initialisation (top 10% of edges hold "
                    f"{both('concentration', _pct)})")
    if sign("locality") == -1:
        held.append(f"token maps become more local than at initialisation (locality {both('locality')})")
    if _both(ev.stability):
        stab = compare(ev.stability["trained"], ev.stability["init"])
        if stab.sign == 1:
            held.append(f"the token maps recur across seeds more than untrained ones do (rank correlation "
                        f"{_num(stab.a)} against {_num(stab.b)})")
    _, safe = _pruning_lines(ev)
    if safe is not None:
        held.append(f"the network can be read from {_pct(safe)} of its edges: the rest can be pruned, with "
                    "fine-tuning, at no accuracy cost beyond noise")
    return held


#: What each per-state measure is called where it shows nothing (:func:`null_results`).
_MEASURE_NAMES = {"spline_share": "the splines' share of the edges", "silu_like": "the share of SiLU-like edges",
                  "deviation": "the edges' deviation from the SiLU shape", "monotone": "the share of monotone edges",
                  "concentration": "how concentrated importance is", "locality": "how local the token maps are"}


def null_results(ev: Evidence) -> list[str]:
    """The measures that do *not* separate the trained model from its untrained control beyond noise, as
    phrases: the negative results a summary names beside :func:`findings`' positive ones."""
    c = _per_state(ev)
    out = [_MEASURE_NAMES[name] for name in _MEASURE_NAMES if name in c and not c[name].sign]
    if _both(ev.stability) and compare(ev.stability["trained"], ev.stability["init"]).sign != 1:
        out.append("how much the token maps recur across seeds")
    if ev.pruning is not None and not ev.pruning.empty and _pruning_lines(ev)[1] is None:
        out.append(f"pruning: no kept fraction down to {_pct(ev.pruning.keep.min())} of the edges kept the unpruned "
                   "accuracy after fine-tuning")
    return out


def conclude_interpretability(ev: Evidence, name: str = "these KAN vision models") -> str:
    """Markdown answering "what does the interpretability of ``name`` amount to, measurably?".

    A summary of :func:`findings`, then one bullet per measure the evidence holds. Every
    statement compares the trained models with the same architecture at initialisation (the
    token maps also with the MLP-Mixer's), and calls a difference one only beyond the noise band
    of :func:`compare`; with a single seed there is no band, and the summary says so instead of
    calling the measures equal.
    """
    c = _per_state(ev)
    share = c["spline_share"]
    mostly = "the spline" if share.a > 0.5 else "the SiLU base"
    lines = [
        "- **Do the splines get used?** The median edge's spline share is "
        + _versus(share, "higher after training than at initialisation", "lower after training than at initialisation",
                  "no different after training from initialisation")
        + f"; in the median trained edge, {mostly} carries most of the magnitude.",
        f"- **How far from an MLP?** The share of edges that are `a + b·SiLU(x)` to within {_pct(SILU_LIKE)} of their "
        "variance is " + _versus(c["silu_like"], "larger after training than at initialisation",
                                 "smaller after training than at initialisation", "no different from initialisation",
                                 fmt=_pct)
        + "; the median deviation from that shape is "
        + _versus(c["deviation"], "larger than at initialisation", "smaller than at initialisation",
                  "no different from initialisation")
        + ". Where every edge of a layer is `a + b·SiLU(x)`, the layer computes `Linear(SiLU(x))`: an MLP layer.",
        "- **Shapes.** The share of edges monotone over their real inputs is "
        + _versus(c["monotone"], "larger after training than at initialisation",
                  "smaller after training than at initialisation", "no different from initialisation", fmt=_pct) + ".",
        "- **Is importance concentrated?** The top 10% of edges hold "
        + _versus(c["concentration"], "more of the total importance than at initialisation",
                  "less of the total importance than at initialisation", "the same share as at initialisation",
                  fmt=_pct) + " (a uniform spread would give 10%).",
    ]
    if ev.symbolic.get("trained") is not None:
        n_fit, n_good, n_mlp, forms = _symbolic_counts(ev.symbolic["trained"])
        init = ""
        if ev.symbolic.get("init") is not None:
            i_fit, i_good, _, _ = _symbolic_counts(ev.symbolic["init"])
            init = f" (at initialisation: {i_good} of {i_fit})"
        verb = "has" if n_good - n_mlp == 1 else "have"
        lines.append(f"- **Symbolic forms.** {n_good - n_mlp} of the {n_fit} top trained edges {verb} a closed form "
                     f"(R² ≥ {GOOD_FIT}) that an MLP edge, `a + b·SiLU(x)` or a straight line, would not also give. "
                     f"In all, {n_good} fit a library form{init}; forms named: {forms}; {n_mlp} of them are fitted as "
                     "well by an MLP edge's shape.")
    if "locality" in c:
        words = [_versus(c["locality"], "less local than at initialisation", "more local than at initialisation",
                         "as local as at initialisation")]
        if ev.locality.get("mlp"):
            words.append(_versus(compare(ev.locality["trained"], ev.locality["mlp"]), "less local than the MLP-Mixer's",
                                 "more local than the MLP-Mixer's", "as local as the MLP-Mixer's"))
        lines.append("- **Token maps.** Mean distance read, relative to a uniform map (below 1: local): the trained "
                     "maps are " + "; and ".join(words) + ".")
    if _both(ev.stability):
        lines.append("- **Across seeds.** The rank correlation of the token maps between trained seeds is "
                     + _versus(compare(ev.stability["trained"], ev.stability["init"]),
                               "higher than between untrained ones", "lower than between untrained ones",
                               "no different from that between untrained ones")
                     + ". Hidden units are not aligned across seeds, so only input-side maps are compared.")
    prune, _ = _pruning_lines(ev)
    if prune is not None:
        lines.append(f"- **Pruning.** {prune}")
    held = findings(ev)
    if held:
        summary = (f"**Measurably, the interpretability of {name} amounts to this:** " + "; ".join(held)
                   + ". Every other measure below is what the untrained network already shows, or within noise of it.")
    elif all(v.sign is None for v in c.values()):
        summary = (f"**With one seed there is no noise estimate for {name}:** the measures below are set against "
                   "initialisation, and no difference is claimed either way.")
    else:
        summary = (f"**Measurably, the interpretability of {name} amounts to nothing the untrained network does "
                   "not already show:** no measure below differs from initialisation beyond noise"
                   + (", and no pruned model kept its accuracy." if prune is not None else "."))
    return "\n".join([summary, "", *lines])


def conclude_linearized(records: Sequence[dict], steps: int) -> str:
    """Markdown: what replacing each arm's KAN edges by their best ``a + b SiLU(x)`` costs in test accuracy
    (:func:`kanmix.linearize.linearize_runs`' records, one per seed and arm), with and without fine-tuning.

    A loss is claimed only beyond the noise band of :func:`compare` (paired over seeds, with the
    test images' binomial noise): splines whose replacement costs nothing do no work an MLP edge
    could not.
    """
    if not records:
        return "No linearized model was scored."
    lines = []
    for arm in dict.fromkeys(r["config"]["arm"] for r in records):
        rows = [r for r in records if r["config"]["arm"] == arm]
        n = min(int(r["n_eval"]) for r in rows)
        trained = [r["accuracy_trained"] for r in rows]
        raw = compare([r["accuracy_linearized"] for r in rows], trained, n=n, paired=True)
        tuned = compare([r["accuracy_finetuned"] for r in rows], trained, n=n, paired=True)
        r2 = np.median([v for r in rows for v in r["median_r2"].values()])
        lines.append(f"- **{arm[0].upper() + arm[1:]} layers** (median R² of the edge fits {_num(r2)}): accuracy is "
                     + _versus(raw, "higher than trained", "lower than trained", "no different from trained")
                     + f" with no fine-tuning, and after {steps} fine-tuning steps "
                     + _versus(tuned, "higher", "lower", "no different") + ".")
    return "\n".join(lines)


def conclude_cost(kan: Sequence[dict], mlp: Sequence[dict], ev: Evidence | None = None) -> str:
    """Markdown answering "is the KAN-Mixer's extra cost justified against the MLP-Mixer?" from classification records.

    Compares test accuracy (per-seed records, the band of :func:`compare` on the test images),
    parameters and training seconds. The cost counts as justified by accuracy only when the
    KAN-Mixer is more accurate beyond noise; otherwise the answer says what the interpretability
    measures (``ev``, through :func:`findings`) found that the cost buys, if anything.
    """
    acc = compare([r["metrics"]["test"]["accuracy"] for r in kan], [r["metrics"]["test"]["accuracy"] for r in mlp],
                  n=min(int(r["n_test"]) for r in [*kan, *mlp]))
    params = np.mean([r["parameters"] for r in kan]) / np.mean([r["parameters"] for r in mlp])
    seconds = np.mean([r["train_seconds"] for r in kan]) / np.mean([r["train_seconds"] for r in mlp])
    cost = f"{_times(params)} the parameters and {_times(seconds)} the training time"
    head = ("The KAN-Mixer's test accuracy is "
            + _versus(acc, "higher than the MLP-Mixer's", "lower than the MLP-Mixer's",
                      "no different from the MLP-Mixer's")
            + f", at {cost} of the MLP-Mixer of the same widths.")
    # The same widths are no cost-matched baseline: a verdict on cost says so and points to the
    # MLP-Mixers matched in parameters and in training time (chapter 3), where the cost is decided.
    matched = (" This MLP-Mixer is not matched in cost; the MLP-Mixers with the KAN-Mixer's parameters or its "
               "training time are in {doc}`03_kan_mixers`, whose comparison decides the cost question.")
    if params <= 1 and seconds <= 1:
        return f"{head} **The KAN-Mixer costs no more here, so there is no extra cost to justify.**"
    if acc.sign == 1:
        return f"{head} **Against this same-width MLP-Mixer the extra cost buys accuracy.**{matched}"
    verdict = "**Against this same-width MLP-Mixer the extra cost is not justified by accuracy.**"
    if ev is not None:
        held = findings(ev)
        verdict += (" Nor do the interpretability measures find anything beyond the untrained network that it buys."
                    if not held else f" What it buys instead: {'; '.join(held)}. Whether that is worth {cost} "
                    "is a judgement these numbers leave to the reader.")
    return f"{head} {verdict}{matched}"


# ----------------------------------------------------------------------------- chapter 5's runs


class ChapterRuns(NamedTuple):
    """The runs chapter 5 interprets: the KAN-Mixer and the MLP-Mixer per seed, the KAN autoencoder."""

    kan: list
    mlp: list
    ae: runner.Run


def chapter_runs(params: Mapping) -> ChapterRuns:
    """The configs of chapter 5's models from its parameters (as :func:`kanmix.book.plan` resolves them).

    The mixers train on ``dataset`` at 32x32 (``subset`` of it, no fold: the chapter selects
    nothing on validation data), the KAN-Mixer and the MLP-Mixer of the same widths once per seed
    (so that their accuracies compare with a noise band on both sides); the autoencoder is
    chapter 4's KAN autoencoder of ``ae_dataset``. The findings page and the chapter build them
    here, so they read the same records.
    """
    from kanmix import ae
    from kanmix.experiment import ClassificationRun

    def mixer(model: str, kwargs: Mapping, seed: int) -> ClassificationRun:
        return ClassificationRun.from_dict({"dataset": params["dataset"], "size": 32, "subset": params["subset"],
                                            "model": model, "model_kwargs": dict(kwargs), "seed": seed,
                                            "train": dict(params["train"])})

    seeds = list(params["seeds"])
    return ChapterRuns(
        kan=[mixer("kan_mixer", params["mixer_kwargs"], s) for s in seeds],
        mlp=[mixer("mlp_mixer", params["mlp_kwargs"], s) for s in seeds],
        ae=ae.ae_config("kan", params["ae_dataset"], params["ae_bottleneck"], seed=seeds[0], subset=params["ae_subset"],
                        model_kwargs={"hidden": params["ae_hidden"]}, **params["ae_train"]))
