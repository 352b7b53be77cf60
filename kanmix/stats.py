"""Paired comparison of models evaluated on the same cross-validation folds.

Two models scored on the same ``J`` folds give ``J`` paired differences
``d_j = a_j - b_j``. This module turns them into the numbers a careful reader
wants to see side by side:

* **Exact two-sided Wilcoxon signed-rank test** (``scipy.stats.wilcoxon``,
  ``method="exact"``; zero differences are dropped, as in Wilcoxon's original
  procedure).

  *The p-value floor.* Under the null every one of the ``2**n`` sign patterns
  of the ``n`` non-zero differences is equally likely, and the most extreme
  outcome (all differences of one sign) has two-sided probability
  ``2 / 2**n``. No data can do better. With the 5 paired folds of the
  KAN-Mixers paper the floor is ``2/32 = 0.0625``: its comparisons could report
  p = 0.10 but could *never* reach 0.05, however large the gap between models.
  Six pairs are the minimum for 0.05 (floor 0.03125); repeated k-fold CV
  (5x2 gives 10 pairs, floor 0.00195) makes small p-values reachable.
  :func:`wilcoxon_floor` returns the floor and every comparison reports it.

* **Nadeau-Bengio corrected resampled t-test** (Nadeau & Bengio, "Inference
  for the Generalization Error", Machine Learning 52, 239-281, 2003).
  The fold scores are not independent: any two training sets share most of
  their examples, so the naive paired t-test's variance ``s**2 / J`` is far
  too small and its p-values far too optimistic. Nadeau and Bengio inflate it::

      t = mean(d) / sqrt((1/J + n_test/n_train) * s**2),   df = J - 1

  where ``s**2`` is the sample variance (ddof=1) of the differences and
  ``n_test/n_train`` the ratio of held-out to training examples per fold
  (``1/(k-1)`` for k-fold; Bouckaert & Frank 2004 use the same statistic
  with ``J = k * repeats`` for repeated k-fold). The 95% confidence interval
  of the mean difference uses the same corrected standard error:
  ``mean(d) +- t_{0.975, J-1} * sqrt((1/J + n_test/n_train) * s**2)``.
  The correction is derived for scores on each fold's own held-out part
  (the ``val`` scores of :mod:`kanmix.cv`), which is what should be compared.

* **Effect size**: Cohen's ``d_z = mean(d) / sd(d)``, the standardised mean of
  the paired differences (independent of the number of folds).

:func:`all_pairs` builds a tidy table of every pairwise comparison in a
long-format DataFrame of fold scores, with Holm's step-down correction for
the multiple comparisons (:func:`holm`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats as st


def wilcoxon_floor(n_pairs: int) -> float:
    """Smallest two-sided p-value the exact Wilcoxon test can give for ``n_pairs``
    non-zero paired differences: ``min(1, 2 / 2**n_pairs)`` (0.0625 for 5 pairs)."""
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    return min(1.0, 2.0 / 2.0**n_pairs)


def kfold_test_train_ratio(folds: int) -> float:
    """``n_test / n_train`` of k-fold CV: each fold holds out 1/k and trains on (k-1)/k."""
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    return 1.0 / (folds - 1)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values, in the input order.

    Sort ascending, multiply the i-th smallest (0-based) by ``m - i``, then take
    the running maximum so adjusted p-values keep the order of the raw ones, and
    clip at 1. Rejecting where the adjusted p < alpha controls the family-wise
    error rate at alpha under any dependence between the tests.
    (scipy.stats offers only Benjamini-Hochberg, hence this short version.)
    NaN p-values are passed through and do not count towards ``m``.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    order = np.argsort(p[ok], kind="stable")
    scaled = p[ok][order] * (m - np.arange(m))
    adjusted = np.minimum(1.0, np.maximum.accumulate(scaled))
    valid = np.empty(m)
    valid[order] = adjusted
    out[ok] = valid
    return out


def mean_ci(scores: Sequence[float], *, test_train_ratio: float = 0.0, confidence: float = 0.95
            ) -> tuple[float, float, float, float]:
    """``(mean, sd, ci_low, ci_high)`` of one model's scores over ``J`` folds: ``(J,) -> 4 floats``.

    The interval is ``mean +- t_{(1+confidence)/2, J-1} * sqrt((1/J + test_train_ratio) * sd**2)``:
    the Nadeau-Bengio corrected interval for fold scores when ``test_train_ratio`` is
    ``n_test/n_train`` of the folds, the ordinary t-interval when it is 0. With fewer than two
    scores the interval is undefined and returned as NaN.
    """
    x = np.asarray(scores, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"scores must be a non-empty 1-D sequence, got shape {x.shape}")
    if test_train_ratio < 0:
        raise ValueError(f"test_train_ratio must be >= 0, got {test_train_ratio}")
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = float(st.t.ppf(0.5 + confidence / 2, df=len(x) - 1)) * _corrected_se(sd, len(x), test_train_ratio)
    return mean, sd, mean - half, mean + half


def _corrected_se(sd: float, n: int, test_train_ratio: float) -> float:
    """Nadeau-Bengio standard error of a mean over ``n`` fold scores (plain ``sd/sqrt(n)`` at ratio 0)."""
    return math.sqrt((1.0 / n + test_train_ratio) * sd**2)


@dataclass(frozen=True)
class PairedComparison:
    """The result of :func:`paired_comparison` (all differences are ``a - b``)."""

    n: int  # number of paired scores J
    mean_a: float
    mean_b: float
    mean_diff: float
    ci_low: float  # CI of the mean difference at the given confidence (default 95%), Nadeau-Bengio corrected
    ci_high: float
    t: float  # corrected t statistic, df = n - 1
    p_nb: float  # two-sided p of the corrected resampled t-test
    p_wilcoxon: float  # exact two-sided Wilcoxon signed-rank p
    wilcoxon_n: int  # non-zero differences the Wilcoxon test used
    p_floor: float  # smallest p the exact Wilcoxon test could have given here
    d_z: float  # Cohen's d_z of the paired differences
    sd_diff: float  # their standard deviation (ddof=1): what a power calculation for the next study needs
    test_train_ratio: float

    def as_dict(self) -> dict:
        return asdict(self)


def paired_comparison(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    *,
    test_train_ratio: float | None = None,
    folds: int | None = None,
    confidence: float = 0.95,
) -> PairedComparison:
    """Compare two models scored on the same folds: ``(J,), (J,) -> PairedComparison``.

    Give the Nadeau-Bengio ratio ``n_test/n_train`` either directly
    (``test_train_ratio``) or through ``folds`` (k-fold CV: ``1/(k-1)``).
    ``scores_a[j]`` and ``scores_b[j]`` must come from the same fold ``j``.
    """
    a = np.asarray(scores_a, dtype=float)
    b = np.asarray(scores_b, dtype=float)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"scores must be two 1-D sequences of equal length, got shapes {a.shape} and {b.shape}")
    if len(a) < 2:
        raise ValueError(f"need at least 2 paired scores, got {len(a)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite numbers")
    if (test_train_ratio is None) == (folds is None):
        raise ValueError("give exactly one of test_train_ratio= (n_test/n_train) or folds= (k of k-fold CV)")
    ratio = kfold_test_train_ratio(folds) if folds is not None else float(test_train_ratio)
    if ratio < 0:
        raise ValueError(f"test_train_ratio must be >= 0, got {ratio}")

    d = a - b
    n = len(d)
    mean, sd, ci_low, ci_high = mean_ci(d, test_train_ratio=ratio, confidence=confidence)
    se = _corrected_se(sd, n, ratio)
    if se > 0:
        t = mean / se
        p_nb = float(2 * st.t.sf(abs(t), df=n - 1))
    else:  # identical differences on every fold: no spread to test against
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p_nb = 1.0 if mean == 0 else 0.0
    d_z = mean / sd if sd > 0 else (0.0 if mean == 0 else math.copysign(math.inf, mean))

    nonzero = int(np.count_nonzero(d))
    if nonzero == 0:
        p_w = 1.0
    else:
        p_w = float(st.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided", method="exact").pvalue)
    return PairedComparison(
        n=n,
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        mean_diff=mean,
        ci_low=ci_low,
        ci_high=ci_high,
        t=t,
        p_nb=p_nb,
        p_wilcoxon=p_w,
        wilcoxon_n=nonzero,
        p_floor=wilcoxon_floor(max(nonzero, 1)),
        d_z=d_z,
        sd_diff=sd,
        test_train_ratio=ratio,
    )


def all_pairs(
    scores: pd.DataFrame,
    *,
    metric: str = "val_accuracy",
    model_col: str = "model",
    pair_on: Sequence[str] = ("repeat", "fold"),
    test_train_ratio: float | None = None,
    folds: int | None = None,
) -> pd.DataFrame:
    """Every pairwise comparison of the models in a long table of fold scores.

    ``scores`` has one row per (model, *pair_on*) with the score in ``metric``
    (the tidy output of :func:`kanmix.cv.cross_validate` fits as is). Models are
    paired on the ``pair_on`` columns present in the table; a model missing a
    fold another one has is an error, since unpaired folds would bias the test.
    Returns one row per pair ``(a, b)`` with the fields of
    :class:`PairedComparison` plus ``p_nb_holm`` and ``p_wilcoxon_holm``.
    """
    missing = [c for c in (metric, model_col) if c not in scores.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in the scores table; columns are {list(scores.columns)}")
    keys = [c for c in pair_on if c in scores.columns]
    if not keys:
        raise KeyError(f"none of the pairing columns {list(pair_on)} is in the scores table")
    if scores.duplicated([model_col, *keys]).any():
        raise ValueError(f"more than one score per ({model_col}, {', '.join(keys)}); aggregate first")
    wide = scores.pivot(index=keys, columns=model_col, values=metric)
    if wide.isna().any().any():
        gaps = wide.columns[wide.isna().any()].tolist()
        raise ValueError(f"models {gaps} lack scores on some folds the others have; run the missing folds first")
    models = list(wide.columns)
    if len(models) < 2:
        raise ValueError(f"need at least two models to compare, got {models}")
    rows = []
    for a, b in itertools.combinations(models, 2):
        res = paired_comparison(wide[a], wide[b], test_train_ratio=test_train_ratio, folds=folds)
        rows.append({"a": a, "b": b, **res.as_dict()})
    table = pd.DataFrame(rows)
    table["p_nb_holm"] = holm(table["p_nb"])
    table["p_wilcoxon_holm"] = holm(table["p_wilcoxon"])
    return table


def minimum_detectable_difference(sd_diff: float, n: int, *, test_train_ratio: float, alpha: float = 0.05,
                                  power: float = 0.8) -> float:
    """Smallest true mean difference the corrected t-test finds with probability ``power``.

    ``sd_diff``: the standard deviation (ddof=1) of the paired differences over ``n`` fold
    pairs; ``test_train_ratio``: the Nadeau-Bengio ``n_test/n_train`` (``1/(k-1)`` for k-fold,
    also for repeated k-fold with ``n = k * repeats`` as in Bouckaert & Frank). The statistic
    is ``mean(d) / se`` with ``se = sqrt((1/n + ratio) * sd**2)``; under a true difference
    ``delta`` it follows a non-central t with ``n - 1`` degrees of freedom and non-centrality
    ``delta / se``. Returns the ``delta`` whose two-sided rejection probability at level
    ``alpha`` is ``power`` (scipy's ``nct``, solved with ``brentq``): a difference smaller
    than this is likely to go undetected with this many folds and this spread.
    """
    from scipy.optimize import brentq

    if n < 2:
        raise ValueError(f"n must be >= 2 paired scores, got {n}")
    if not (sd_diff >= 0 and math.isfinite(sd_diff)):
        raise ValueError(f"sd_diff must be a finite number >= 0, got {sd_diff}")
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError(f"alpha={alpha} and power={power} must lie in (0, 1)")
    se = _corrected_se(sd_diff, n, test_train_ratio)
    if se == 0:
        return 0.0
    df = n - 1
    crit = float(st.t.ppf(1 - alpha / 2, df))

    def shortfall(nc: float) -> float:
        # The lower tail is negligible for nc > 0 but kept for small nc; scipy's nct can return
        # NaN there for large nc, where it is zero.
        lower = float(np.nan_to_num(st.nct.cdf(-crit, df, nc), nan=0.0))
        return float(st.nct.sf(crit, df, nc)) + lower - power

    upper = crit + 8.0  # enough for df >= 3; heavy-tailed small df need a wider bracket
    while shortfall(upper) < 0:
        upper *= 2
    return brentq(shortfall, 0.0, upper) * se


def binomial_band(p: float, n: int, *, confidence: float = 0.95) -> float:
    """Half-width of the normal-approximation interval of the difference of two accuracies near ``p``,
    each scored on ``n`` images: ``z * sqrt(2 p (1 - p) / n)``. Below it, two single-fold scores
    cannot be told apart by their test images alone (seed noise comes on top)."""
    if n < 1:
        raise ValueError(f"n={n!r} must be a positive number of images")
    z = st.norm.ppf(0.5 + confidence / 2)
    return float(z * math.sqrt(2 * p * (1 - p) / n))
