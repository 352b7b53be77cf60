"""Accuracy against training compute: model families along scaling paths, and their compute-optimal frontiers.

One point is one model size trained for one number of epochs (each length with its own
learning-rate schedule, as a real run of that length would be), scored on one fold. A
family's *frontier* is the upper envelope of its points: the best accuracy it reached with at
most that much compute. Two families are compared where both frontiers are measured:

- **at equal compute**, the gap between the two envelopes at every compute level where either
  has a point (:func:`compare`), against a noise band from the points trained with several seeds;
- **as a trend**, each frontier fitted as ``accuracy = a + b log10(compute)``; the gap widens or
  narrows with compute by the difference of the slopes, with an interval from their standard
  errors, and the fitted lines say where the frontiers would cross and what the gap would be at
  another budget (the paper's). Accuracy saturates, so the line is a local description, and any
  value read off it outside the measured range is an extrapolation, labelled as one.

Compute is counted in training FLOPs (:mod:`kanmix.flops`, machine-independent) and in training
seconds (this machine's, in the campaign's conditions).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as st

#: The point columns that identify one trained configuration (seeds are averaged over).
POINT = ["dataset", "family", "dim", "depth", "epochs"]


@dataclass(frozen=True)
class Family:
    """A model family along its scaling path: ``model`` (``kan_mixer`` or ``mlp_mixer``) at each
    ``(dim, depth)`` of ``sizes``, with hidden widths ``token_ratio * dim`` (token mixing) and
    ``channel_ratio * dim`` (channel mixing). ``lr_from`` names the family whose swept learning
    rate this one uses (``None``: its own sweep)."""

    label: str
    model: str
    sizes: tuple[tuple[int, int], ...]
    channel_ratio: float
    token_ratio: float = 0.5
    lr_from: str | None = None

    @classmethod
    def from_dict(cls, label: str, d: Mapping) -> Family:
        allowed = {"model", "sizes", "channel_ratio", "token_ratio", "lr_from"}
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise ValueError(f"families[{label!r}] has unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
        if d.get("model") not in ("kan_mixer", "mlp_mixer"):
            raise ValueError(f"families[{label!r}].model={d.get('model')!r} must be kan_mixer or mlp_mixer")
        sizes = d.get("sizes")
        if not isinstance(sizes, (list, tuple)) or not sizes or not all(
                isinstance(s, (list, tuple)) and len(s) == 2 and all(isinstance(v, int) and v >= 1 for v in s)
                for s in sizes):
            raise ValueError(f"families[{label!r}].sizes={sizes!r} must be a non-empty list of [dim, depth] pairs")
        for key in ("channel_ratio", "token_ratio"):
            if key in d and not (isinstance(d[key], (int, float)) and d[key] > 0):
                raise ValueError(f"families[{label!r}].{key}={d[key]!r} must be a positive number")
        return cls(label, d["model"], tuple(tuple(s) for s in sizes), d.get("channel_ratio", 1),
                   d.get("token_ratio", 0.5), d.get("lr_from"))

    def model_kwargs(self, dim: int, depth: int, patch: int) -> dict:
        """The mixer's arguments at one size (dropout 0, as every mixer of the book)."""
        return {"patch": patch, "dim": dim, "depth": depth, "token_hidden": max(1, round(self.token_ratio * dim)),
                "channel_hidden": max(1, round(self.channel_ratio * dim)), "dropout": 0.0}


def size_label(dim: int, depth: int) -> str:
    """``"64×2"``: a mixer's width × depth."""
    return f"{dim}×{depth}"


# ----------------------------------------------------------------------------- points and envelopes


def mean_points(points: pd.DataFrame, y: str) -> pd.DataFrame:
    """One row per configuration (:data:`POINT`): ``y`` and the compute columns averaged over seeds, with ``seeds``."""
    agg = {c: "mean" for c in ("flops", "train_seconds", "timed_seconds", y) if c in points} | {"seed": "count"}
    out = points.groupby(POINT, sort=False, as_index=False).agg(agg).rename(columns={"seed": "seeds"})
    return out


def envelope(points: pd.DataFrame, *, x: str = "flops", y: str = "val_accuracy") -> pd.DataFrame:
    """The upper envelope of each (dataset, family): the points (seed means) that beat every cheaper one.

    A point is on its family's frontier when no point of that family with at most its ``x``
    reached its ``y``. Rows keep :data:`POINT`, ``x``, ``y`` and ``seeds``, sorted by ``x``.
    """
    means = mean_points(points, y)
    keep = []
    for _, part in means.groupby(["dataset", "family"], sort=False):
        best = -math.inf
        for i, row in part.sort_values([x, y], ascending=[True, False]).iterrows():
            if row[y] > best:
                keep.append(i)
                best = row[y]
    return means.loc[keep].sort_values(["dataset", "family", x]).reset_index(drop=True)


def best_within(env: pd.DataFrame, budget: float, *, x: str = "flops", y: str = "val_accuracy") -> float:
    """The best ``y`` of one family's envelope at compute at most ``budget`` (NaN below its cheapest point)."""
    within = env[env[x] <= budget * (1 + 1e-12)]
    return float(within[y].max()) if len(within) else math.nan


def seed_sd(points: pd.DataFrame, y: str = "val_accuracy") -> tuple[float | None, int]:
    """The pooled standard deviation of ``y`` between seeds of one configuration, and its degrees of freedom.

    Pooled over every configuration trained with two or more seeds (``None, 0`` if none was).
    """
    ss, df = 0.0, 0
    for _, part in points.groupby(POINT, sort=False):
        if len(part) > 1:
            ss += float(((part[y] - part[y].mean()) ** 2).sum())
            df += len(part) - 1
    return (math.sqrt(ss / df), df) if df else (None, 0)


def gap_band(points: pd.DataFrame, y: str = "val_accuracy") -> tuple[float | None, int]:
    """The 95% noise band of a difference between two single-seed points, ``1.96 * sd * sqrt(2)`` with ``sd``
    from :func:`seed_sd`, and its degrees of freedom (``None, 0`` when no configuration has several seeds)."""
    sd, df = seed_sd(points, y)
    return (1.96 * sd * math.sqrt(2) if sd is not None else None), df


def longer_training(points: pd.DataFrame, dataset: str, *, y: str = "val_accuracy") -> pd.DataFrame:
    """What the longest training length bought each size over the shortest, on ``dataset``.

    One row per (family, size) trained at two or more lengths (seeds averaged): ``family``, ``size``,
    ``short``/``long`` (epochs), ``y_short``/``y_long`` and ``gain`` (long minus short), and
    ``flops_ratio`` (what the longer run cost, as a multiple of the shorter). Families keep their order.
    """
    means = mean_points(points[points.dataset == dataset], y)
    rows = []
    for (family, dim, depth), part in means.groupby(["family", "dim", "depth"], sort=False):
        if part.epochs.nunique() < 2:
            continue
        short, long = part.loc[part.epochs.idxmin()], part.loc[part.epochs.idxmax()]
        rows.append({"family": family, "size": size_label(dim, depth), "short": int(short.epochs),
                     "long": int(long.epochs), "y_short": short[y], "y_long": long[y], "gain": long[y] - short[y],
                     "flops_ratio": long.flops / short.flops})
    return pd.DataFrame(rows, columns=["family", "size", "short", "long", "y_short", "y_long", "gain", "flops_ratio"])


# ----------------------------------------------------------------------------- the comparison


@dataclass
class Trend:
    """``y = intercept + slope * log10(x)`` fitted to one family's frontier points."""

    intercept: float
    slope: float
    slope_se: float | None  # None with two points: a line through them has no error estimate
    n: int
    x_mean: float  # of log10(x)
    sxx: float
    resid_sd: float | None

    def at(self, x: float) -> float:
        return self.intercept + self.slope * math.log10(x)

    def se_at(self, x: float) -> float | None:
        """The standard error of the fitted line's value at ``x``."""
        if self.resid_sd is None:
            return None
        return self.resid_sd * math.sqrt(1 / self.n + (math.log10(x) - self.x_mean) ** 2 / self.sxx)


def fit_trend(env: pd.DataFrame, *, x: str = "flops", y: str = "val_accuracy") -> Trend | None:
    """:class:`Trend` of one family's envelope (``None`` with fewer than two points of distinct ``x``)."""
    lx, yy = np.log10(env[x].to_numpy(float)), env[y].to_numpy(float)
    if len(lx) < 2 or np.ptp(lx) == 0:
        return None
    fit = st.linregress(lx, yy)
    n = len(lx)
    resid = yy - (fit.intercept + fit.slope * lx)
    resid_sd = float(math.sqrt((resid ** 2).sum() / (n - 2))) if n > 2 else None
    return Trend(float(fit.intercept), float(fit.slope), float(fit.stderr) if n > 2 else None, n,
                 float(lx.mean()), float(((lx - lx.mean()) ** 2).sum()), resid_sd)


@dataclass
class Comparison:
    """Family ``a`` against family ``b`` on one dataset, by compute ``x`` (see :func:`compare`).

    ``gaps`` has one row per compute level (``x``, ``a``, ``b``, ``gap = a - b``) inside the
    range both frontiers cover, ``[lo, hi]``. ``band`` is the 95% noise band of one gap (from
    the seeds; ``None`` without repeated seeds). ``slope`` is the gap's change per tenfold
    compute, with its 95% interval ``slope_ci`` (``None`` where a frontier has under three
    points); ``crossing`` is where the fitted frontiers cross (``None`` if parallel);
    ``at_target`` the fitted gap at ``target`` with its 95% interval.
    """

    dataset: str
    a: str
    b: str
    x: str
    y: str
    lo: float | None
    hi: float | None
    gaps: pd.DataFrame
    band: float | None
    seed_df: int
    trend_a: Trend | None
    trend_b: Trend | None
    slope: float | None = None
    slope_ci: tuple[float, float] | None = None
    crossing: float | None = None
    target: float | None = None
    at_target: float | None = None
    at_target_ci: tuple[float, float] | None = None

    def ahead(self) -> dict[str, pd.DataFrame]:
        """The compute levels where ``a`` or ``b`` is ahead beyond the band, or the two are within it."""
        band = self.band or 0.0
        g = self.gaps
        return {self.a: g[g.gap > band], self.b: g[g.gap < -band], "tied": g[g.gap.abs() <= band]}


def compare(points: pd.DataFrame, a: str, b: str, dataset: str, *, x: str = "flops", y: str = "val_accuracy",
            target: float | None = None) -> Comparison:
    """Family ``a`` against ``b`` on ``dataset``: the gap of their frontiers at equal ``x``, and its trend.

    ``points`` has one row per record with the columns of :data:`POINT`, ``seed``, ``x`` and
    ``y``. The noise band is ``1.96 * sd * sqrt(2)``: two single-seed points differ by that much
    95% of the time by seed alone, with ``sd`` pooled over every configuration trained with
    several seeds (:func:`seed_sd`, over both families). ``target`` (e.g. the paper's FLOPs)
    is where the fitted gap is read off, as an extrapolation if outside the measured range.
    """
    part = points[points.dataset == dataset]
    env = envelope(part, x=x, y=y)
    env_a, env_b = env[env.family == a], env[env.family == b]
    band, df = gap_band(part, y)
    lo = hi = None
    rows = []
    if len(env_a) and len(env_b):
        lo, hi = max(env_a[x].min(), env_b[x].min()), min(env_a[x].max(), env_b[x].max())
        levels = sorted({v for v in pd.concat([env_a[x], env_b[x]]) if lo <= v <= hi}) if lo <= hi else []
        for level in levels:
            va, vb = best_within(env_a, level, x=x, y=y), best_within(env_b, level, x=x, y=y)
            rows.append({"x": level, "a": va, "b": vb, "gap": va - vb})
        if lo > hi:
            lo = hi = None
    cmp = Comparison(dataset, a, b, x, y, lo, hi, pd.DataFrame(rows, columns=["x", "a", "b", "gap"]), band, df,
                     fit_trend(env_a, x=x, y=y), fit_trend(env_b, x=x, y=y), target=target)
    ta, tb = cmp.trend_a, cmp.trend_b
    if ta is not None and tb is not None:
        cmp.slope = ta.slope - tb.slope
        if ta.slope_se is not None and tb.slope_se is not None:
            half = st.t.ppf(0.975, min(ta.n, tb.n) - 2) * math.hypot(ta.slope_se, tb.slope_se)
            cmp.slope_ci = (cmp.slope - half, cmp.slope + half)
        if cmp.slope != 0:
            # Lines that are parallel to rounding cross beyond any float: that is no crossing at all.
            exponent = (tb.intercept - ta.intercept) / cmp.slope
            cmp.crossing = 10 ** exponent if abs(exponent) < 300 else None
        if target is not None:
            cmp.at_target = ta.at(target) - tb.at(target)
            se_a, se_b = ta.se_at(target), tb.se_at(target)
            if se_a is not None and se_b is not None:
                half = st.t.ppf(0.975, min(ta.n, tb.n) - 2) * math.hypot(se_a, se_b)
                cmp.at_target_ci = (cmp.at_target - half, cmp.at_target + half)
    return cmp
