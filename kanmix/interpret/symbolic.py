"""Symbolic fits of KAN edges: which simple closed form, if any, an edge is close to over its real inputs.

pykan's ``suggest_symbolic``, kept simple: :func:`symbolic_fits` gives the R^2 of the best affine
``a + b * f(c * u + d)`` for each form ``f`` of :data:`LIBRARY` over a fixed grid of inner
parameters ``(c, d)`` (see :func:`library`), and the best form; :func:`symbolic_top` fits the
edges a chapter shows, each layer's most important and least SiLU-like ones. Fits are weighted
by the data, like every measure of :mod:`kanmix.interpret.edges`, whose sampled edges they read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from kanmix.grids import kan_layers, layer_inputs
from kanmix.interpret.edges import EdgeSample, _r2, sample_edges

__all__ = ["GOOD_FIT", "LIBRARY", "TIE", "library", "symbolic_fits", "symbolic_top"]

#: A symbolic form fits an edge when its R^2 reaches this.
GOOD_FIT = 0.99
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

    ``edges`` is :func:`kanmix.interpret.edges.edge_table` of ``model`` on the same float ``images``. The least
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
