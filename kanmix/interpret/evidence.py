"""The numbers the conclusions read: per-seed measures of trained models against their untrained
control (:class:`Evidence`), and comparisons that claim a difference only beyond noise (:func:`compare`).

With one value per side and no evaluation-set size there is no noise estimate, and no
difference is claimed. The sentences that put these numbers into words are
:func:`kanmix.report.findings`, :func:`kanmix.report.conclude_interpretability` and their
neighbours; nothing here writes English.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from kanmix.interpret.edges import summarize
from kanmix.interpret.maps import locality, rank_agreement
from kanmix.interpret.symbolic import GOOD_FIT

__all__ = ["Comparison", "compare", "Evidence", "evidence", "per_state", "seed_agreement", "SymbolicCounts",
           "symbolic_counts"]


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


@dataclass
class Evidence:
    """The measures the conclusions read, each as per-seed values for ``"trained"`` and ``"init"``.

    - ``spline_share``, ``deviation``: the median per model over all its KAN edges;
    - ``silu_like``: the fraction of edges with deviation below :data:`kanmix.interpret.edges.SILU_LIKE`;
    - ``monotone``: the fraction of monotone edges;
    - ``concentration``: :func:`kanmix.interpret.edges.top_share` of the edge importances (top 10%);
    - ``locality``: mean :func:`kanmix.interpret.maps.locality` of the first block's token maps (also ``"mlp"``);
    - ``stability``: the pairwise :func:`kanmix.interpret.maps.rank_agreement` of the token maps across seeds
      (``"trained"``, ``"init"``, and the MLP-Mixer's, ``"mlp"``);
    - ``symbolic``: :func:`kanmix.interpret.symbolic.symbolic_top` rows of the top edges (``"trained"``, ``"init"``);
    - ``pruning``: one row per prune run: ``seed``, ``keep``, ``accuracy_unpruned``,
      ``accuracy_pruned``, ``accuracy_finetuned``, ``n_eval``; ``steps``: its fine-tuning steps;
      ``chance``: the accuracy of guessing (a model no better than it is not worth pruning);
    - ``controls``: the same columns for pruning's controls, with ``control`` naming each (random order,
      the parameter-matched MLP-Mixer by magnitude) and ``keep`` the KAN-Mixer's kept fraction it is
      set against;
    - ``linearized``: :func:`kanmix.linearize.linearize_runs` records (one per seed and arm): test accuracy
      trained, with the arm's edges replaced by their best ``a + b SiLU(x)``, and after fine-tuning.

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
    controls: pd.DataFrame | None = None
    steps: int = 0
    chance: float | None = None
    linearized: Sequence[dict] = ()


def evidence(edges: pd.DataFrame, maps: Mapping[str, Sequence[torch.Tensor]] | None = None, *,
             symbolic: Mapping[str, pd.DataFrame] | None = None, pruning: pd.DataFrame | None = None,
             controls: pd.DataFrame | None = None, steps: int = 0, chance: float | None = None,
             linearized: Sequence[dict] = ()) -> Evidence:
    """The :class:`Evidence` of one model family from its measures.

    ``edges``: :func:`kanmix.interpret.edges.edge_table` rows of every model, with a ``state`` column
    (``"trained"``, ``"init"``) and a ``seed`` column; ``maps``: :func:`kanmix.interpret.maps.token_maps`
    per seed for ``"trained"``, ``"init"`` and optionally ``"mlp"``. Per seed, the spline share and
    deviation are medians over all the model's edges (:func:`kanmix.interpret.edges.summarize`).
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
        stability={k: rank_agreement(maps[k]) for k in ("trained", "init", "mlp") if len(maps.get(k, ())) > 1},
        symbolic=dict(symbolic or {}), pruning=pruning, controls=controls, steps=steps, chance=chance,
        linearized=list(linearized))


def _both(values: Mapping[str, list[float]]) -> bool:
    return bool(values.get("trained")) and bool(values.get("init"))


#: The per-seed measures :func:`per_state` compares, in the order the conclusions name them.
PER_STATE = ("spline_share", "silu_like", "deviation", "monotone", "concentration", "locality")


def per_state(ev: Evidence) -> dict[str, Comparison]:
    """Trained against init (:func:`compare`) for every per-seed measure of :data:`PER_STATE` the evidence holds."""
    return {name: compare(getattr(ev, name)["trained"], getattr(ev, name)["init"])
            for name in PER_STATE if _both(getattr(ev, name))}


def seed_agreement(ev: Evidence) -> Comparison | None:
    """The token maps' rank correlation between trained seeds against that between untrained ones
    (``None`` without pairs on both sides)."""
    return compare(ev.stability["trained"], ev.stability["init"]) if _both(ev.stability) else None


class SymbolicCounts(NamedTuple):
    """Of the edges :func:`kanmix.interpret.symbolic.symbolic_top` fitted: ``fitted``, those with a form
    (not constant); ``good``, those fitted to R^2 >= :data:`kanmix.interpret.symbolic.GOOD_FIT`; ``mlp``,
    of the good ones, those an MLP edge's shape (``x`` or ``silu``) fits as well, whatever form was named
    best (the simplest within the tie may be ``x^2`` for a SiLU over a short range); ``forms``: form ->
    good edges it was named for, most frequent first."""

    fitted: int
    good: int
    mlp: int
    forms: dict[str, int]


def symbolic_counts(df: pd.DataFrame) -> SymbolicCounts:
    """The :class:`SymbolicCounts` of symbolic-fit rows."""
    fitted = df.dropna(subset=["best"])
    good = fitted[fitted.r2 >= GOOD_FIT]
    mlp = int((good[["r2_x", "r2_silu"]].max(axis=1) >= GOOD_FIT).sum())
    return SymbolicCounts(len(fitted), len(good), mlp, {str(k): int(v) for k, v in good.best.value_counts().items()})


class Linearized(NamedTuple):
    """One linearizing arm over its seeds: ``raw``, the linearized model's test accuracy against the trained
    one's (paired by seed, :func:`compare` with the test images' noise); ``tuned``, the same after the
    fine-tuning steps; ``r2``, the median over seeds and layers of the edge fits' median R²."""

    raw: Comparison
    tuned: Comparison
    r2: float


def linearized_effects(records: Sequence[dict]) -> dict[str, Linearized]:
    """Per arm, in the order the records first name it: the :class:`Linearized` effect of replacing its KAN
    edges by their best ``a + b SiLU(x)`` (:func:`kanmix.linearize.linearize_runs` records, one per seed)."""
    out = {}
    for arm in dict.fromkeys(r["config"]["arm"] for r in records):
        rows = [r for r in records if r["config"]["arm"] == arm]
        n, trained = min(int(r["n_eval"]) for r in rows), [r["accuracy_trained"] for r in rows]
        out[arm] = Linearized(compare([r["accuracy_linearized"] for r in rows], trained, n=n, paired=True),
                              compare([r["accuracy_finetuned"] for r in rows], trained, n=n, paired=True),
                              float(np.median([v for r in rows for v in r["median_r2"].values()])))
    return out
