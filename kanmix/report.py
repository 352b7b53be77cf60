"""What a chapter of the book shares with every other: kernel set-up and tables formatted for reading.

``setup()`` is the first line after a chapter's imports. ``format_table(df, names=, units=)``
turns a DataFrame of results into the strings a reader sees (thousands separators for counts,
a few significant digits for measurements, human column names with units);
:func:`kanmix.page.table` renders it with its caption in a box that scrolls when the table is
wider than the page.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kanmix.interpret import Comparison, Evidence

# The look of every figure in the book: a little larger than matplotlib's 100 dpi so that the
# axis labels stay legible at the book's column width, and no top/right frame.
RC_PARAMS = {"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False}


def setup() -> None:
    """Prepare a chapter's kernel for the book: call once, right after the chapter's imports.

    - Hides tqdm's "IProgress not found" warning: the book's kernels run in batch (papermill,
      nbmake) with no widget front end, so the warning would be printed into every chapter
      that trains; the progress bars then fall back to text.
    - Turns on matplotlib's inline backend when running in IPython (a no-op elsewhere):
      ``kanmix.viz`` returns bare Figures, which ``display()`` renders only with it on.
    - Sets the book's figure style (:data:`RC_PARAMS`), after the backend so that nothing the
      backend applies overrides it.
    """
    warnings.filterwarnings("ignore", message="IProgress not found")
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: no inline backend to turn on
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        shell.run_line_magic("matplotlib", "inline")
    import matplotlib.pyplot as plt

    plt.rcParams.update(RC_PARAMS)


# ----------------------------------------------------------------------------- tables

def format_number(value, precision: int = 4) -> str:
    """One measurement as text with ``precision`` significant digits and thousands separators.

    ``12.5697`` -> ``"12.57"``, ``0.903`` -> ``"0.9030"``, ``123456.7`` -> ``"123,457"`` (no
    digit of the integer part is dropped), ``2.5e-7`` -> ``"2.500e-07"``; missing values (None,
    NaN) -> ``"–"``. Integers (``1004745`` -> ``"1,004,745"``) are counts and keep every digit.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    value = float(value)
    if value == 0 or math.isinf(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -4:  # 0.00001234: fixed notation would be mostly zeros
        return f"{value:.{precision - 1}e}"
    return f"{value:,.{max(precision - 1 - magnitude, 0)}f}"


def column_label(name, names: Mapping | None = None, units: Mapping | None = None) -> str:
    """The header a reader sees: ``names[name]`` (else the field name with spaces for
    underscores, so long headers can wrap), then `` (unit)`` when ``units`` gives one."""
    label = (names or {}).get(name)
    if label is None:
        label = str(name).replace("_", " ")
    unit = (units or {}).get(name)
    return f"{label} ({unit})" if unit else str(label)


def format_table(df, *, names: Mapping | None = None, units: Mapping | None = None, precision: int = 4):
    """A copy of ``df`` as the text a reader sees; its shape and row order are unchanged.

    - integer columns are counts: every digit, with thousands separators (``1,004,745``);
    - float columns are measurements, shown with ``precision`` significant digits
      (:func:`format_number`); a float column whose values are all whole numbers (a count
      that became float, e.g. through a missing value) is shown as a count;
    - other columns (text, already formatted numbers) are left as they are;
    - column and index names become ``names[field]`` with `` (units[field])`` appended
      (:func:`column_label`); fields missing from ``names`` get spaces for underscores.

    ``names`` and ``units`` map field names (``"psnr"``) to what the reader sees (``"PSNR"``,
    ``"dB"``); fields not in the table are ignored, so chapters can pass one mapping for all
    their tables.
    """
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            continue
        present = series.dropna()
        whole = pd.api.types.is_integer_dtype(series) or bool(
            len(present) and (present == present.round()).all() and present.abs().max() < 2**53)
        if whole:
            out[col] = [format_number(None if pd.isna(v) else int(v)) for v in series]
        else:
            out[col] = [format_number(None if pd.isna(v) else float(v), precision) for v in series]
    out.columns = _labels(out.columns, names, units)
    out.index = out.index.set_names([None if n is None else column_label(n, names, units) for n in out.index.names])
    return out


def _labels(columns, names, units):
    import pandas as pd

    if isinstance(columns, pd.MultiIndex):  # a pivoted table: label every level
        return pd.MultiIndex.from_tuples([tuple(column_label(p, names, units) for p in col) for col in columns],
                                         names=columns.names)
    return pd.Index([column_label(c, names, units) for c in columns], name=columns.name)


# ----------------------------------------------------------------------------- sentences from numbers
# A results section of the book is a function of its records: these turn numbers into the
# sentences the chapters print, so a reversed ranking or a null result changes the words. They
# return Markdown strings; a chapter shows them with IPython's ``display(Markdown(...))``.


def fmt(value, precision: int = 4) -> str:
    """A number in prose: :func:`format_number` (``0.9031`` -> ``"0.9031"``, ``12345`` -> ``"12,345"``)."""
    return format_number(value, precision)


def signed(value: float, precision: int = 3) -> str:
    """A difference in prose, always with its sign: ``0.0042`` -> ``"+0.0042"``; the minus is a real minus sign."""
    text = format_number(abs(value), precision)
    return ("+" if value >= 0 else "−") + text


def count(n: int, noun: str) -> str:
    """``count(1, "fold") == "1 fold"``, ``count(3, "fold") == "3 folds"``: regular plurals only."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def listing(items) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``; one item alone; ``"none"`` for none."""
    items = [str(i) for i in items]
    if not items:
        return "none"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def ranking(scores: Mapping[str, float], *, higher_is_better: bool = True) -> list[str]:
    """The labels of ``scores`` from best to worst (ties keep their given order)."""
    return sorted(scores, key=lambda k: -scores[k] if higher_is_better else scores[k])


def ranking_sentence(scores: Mapping[str, float], *, what: str = "mean validation accuracy",
                     higher_is_better: bool = True, precision: int = 4) -> str:
    """``"By mean validation accuracy: A (0.91) > B (0.90) > C (0.88)."``"""
    order = ranking(scores, higher_is_better=higher_is_better)
    sign = " > " if higher_is_better else " < "
    return f"By {what}: " + sign.join(f"{k} ({fmt(scores[k], precision)})" for k in order) + "."


def compare_to_paper(ours: Mapping[str, float], paper: Mapping[str, float], *, what: str = "accuracy",
                     noise: Mapping[str, float] | None = None, separated: set | None = None) -> str:
    """Ours against a paper's numbers for the models both report: each gap, then the rankings.

    ``noise`` (optional) gives, per model, the spread below which a gap is called "within
    noise" (e.g. the fold standard deviation). The rankings are compared pair by pair: the
    sentence names every pair whose order the two disagree on, so a reversal is spelled out.
    ``separated`` (optional) holds the pairs (frozensets of two labels) whose difference in our
    runs survives the chapter's test: an order is then said to agree with the paper's only where
    each neighbouring pair of it is separated, and reversed or agreeing pairs that are not are
    called tied within noise.
    """
    common = [m for m in paper if m in ours]
    if not common:
        return "None of the models reported in the paper was run here."
    parts = []
    for m in common:
        gap = ours[m] - paper[m]
        if noise and m in noise and abs(gap) <= noise[m]:
            judged = "within one fold standard deviation of the paper's"
        else:
            judged = "above the paper's" if gap > 0 else "below the paper's" if gap < 0 else "equal to the paper's"
        parts.append(f"{m} {fmt(ours[m])} against {fmt(paper[m])} ({signed(gap)}, {judged})")
    text = f"Our {what} beside the paper's: " + "; ".join(parts) + "."
    if len(common) < 2:
        return text
    flipped = [(a, b) for i, a in enumerate(common) for b in common[i + 1:]
               if (ours[a] - ours[b]) * (paper[a] - paper[b]) < 0]
    ties = [(a, b) for i, a in enumerate(common) for b in common[i + 1:] if paper[a] == paper[b]]
    paper_order = " > ".join(ranking({m: paper[m] for m in common}))
    our_order = " > ".join(ranking({m: ours[m] for m in common}))
    if separated is not None:
        ordered = ranking({m: ours[m] for m in common})
        tied = [(a, b) for a, b in zip(ordered, ordered[1:]) if frozenset((a, b)) not in separated]
        real_flips = [(a, b) for a, b in flipped if frozenset((a, b)) in separated]
        parts_ = []
        if not flipped and not tied:
            parts_.append(f"The ranking agrees with the paper's ({our_order}), each neighbouring pair separated "
                          "beyond noise.")
        elif not real_flips:
            text_ = f"Our order is {our_order}" + (f", the paper's {paper_order}" if flipped else ", as in the paper")
            if flipped:
                text_ += f"; the reversed {listing(f'{a} and {b}' for a, b in flipped)} are within noise"
            if tied:
                text_ += (f"; {listing(f'{a} and {b}' for a, b in tied)} are tied within noise, as far as these "
                          "folds can tell")
            parts_.append(text_ + ".")
        else:
            parts_.append(f"The ranking differs: the paper has {paper_order}, we have {our_order}; the order of "
                          f"{listing(f'{a} and {b}' for a, b in real_flips)} is reversed beyond noise.")
        text += " " + " ".join(parts_)
    elif not flipped:
        text += f" The ranking agrees with the paper's ({our_order})."
    else:
        pairs = listing(f"{a} and {b}" for a, b in flipped)
        text += (f" The ranking differs: the paper has {paper_order}, we have {our_order}; "
                 f"the order of {pairs} is reversed.")
    if ties:
        text += " The paper reports " + listing(f"{a} and {b}" for a, b in ties) + " as tied."
    return text


def paired_sentence(res, a: str, b: str, *, metric: str = "accuracy", alpha: float = 0.05,
                    wilcoxon: bool = True) -> str:
    """One paired comparison (:class:`kanmix.stats.PairedComparison`) of ``a`` and ``b`` in words.

    The difference is called significant only when the corrected t-test's p is below ``alpha``;
    otherwise the sentence says the data cannot tell the two apart. The exact Wilcoxon p is given
    with its floor, which says whether ``alpha`` was reachable at all with this many pairs;
    ``wilcoxon=False`` leaves it out, as for the folds of a repeated k-fold split, which are not
    the independent pairs the test assumes.
    """
    diff = f"{a} − {b} = {signed(res.mean_diff)} [{signed(res.ci_low)}, {signed(res.ci_high)}] over {res.n} pairs"
    tests = f"corrected t-test p = {fmt(res.p_nb, 2)}"
    if wilcoxon:
        tests += (f"; exact Wilcoxon p = {fmt(res.p_wilcoxon, 2)}, "
                  f"whose floor with {res.wilcoxon_n} non-zero pairs is {fmt(res.p_floor, 2)}")
    if res.p_nb < alpha:
        better = a if res.mean_diff > 0 else b
        verdict = f"{better} has the higher {metric}, significantly at {alpha}"
    else:
        verdict = f"at {alpha} the data cannot tell {a} and {b} apart"
    unreachable = f"; the Wilcoxon test could not have reached {alpha}" if wilcoxon and res.p_floor >= alpha else ""
    return f"{diff}: {verdict} ({tests}{unreachable})."


def span(values, precision: int = 3) -> str:
    """The range of ``values`` in prose: ``"1.03–1.46"``, or one number when they agree to ``precision`` digits."""
    values = list(values)
    lo, hi = fmt(min(values), precision), fmt(max(values), precision)
    return lo if lo == hi else f"{lo}–{hi}"


def distinct(records) -> list:
    """Each record once, in first-seen order: one run can back a table twice (chapter 3's fold-0
    KAN-Mixer is also the grid ablation's default arm). Keyed by the full hash; a record without
    one is kept as it is."""
    seen = {}
    for r in records:
        seen.setdefault(r.get("hash") or id(r), r)
    return list(seen.values())


def recompute_time(records, *, workers: int = 1) -> str:
    """What recomputing ``records`` from an empty results store costs, from their own wall times.

    Each record keeps the wall time of the run that made it (``provenance.wall_time_s``, the
    training and scoring of one run in one process). Their sum is the cost with one worker; with
    ``workers`` runs at a time the wall time is about that sum divided by ``workers``. Records
    appearing twice count once.
    """
    unique = distinct(records)
    total = sum(float(r.get("provenance", {}).get("wall_time_s") or 0.0) for r in unique)
    hours = total / 3600
    text = f"{len(unique)} runs, {fmt(hours, 2)} h of run time in all"
    if workers > 1:
        text += f", about {fmt(hours / workers, 2)} h of wall time with {workers} runs at a time"
    return text


# ----------------------------------------------------------------------------- the compute frontier

_PREFIXES = ((1e18, "EFLOP"), (1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"))


def flop_text(value: float) -> str:
    """A FLOP count in prose, with an SI prefix and three significant digits: ``2.72e15`` -> ``"2.72 PFLOP"``."""
    for scale, unit in _PREFIXES:
        if value >= scale * (1 - 5e-4):  # 9.9999e12 is 10.0 TFLOP, not 10,000 GFLOP
            return f"{format_number(float(f'{value / scale:.3g}'), 3)} {unit}"
    return f"{format_number(float(f'{value:.3g}'), 3)} FLOP"


def points(value: float) -> str:
    """An accuracy difference in percentage points, signed, two significant digits: ``-0.0123`` -> ``"−1.2 points"``."""
    return f"{signed(100 * value, 2)} points"


def _budget(cmp, value: float) -> str:
    return flop_text(value) if cmp.x == "flops" else f"{format_number(value, 3)} s"


def frontier_gap_sentence(cmp, *, what: str = "training FLOPs") -> str:
    """Who is ahead at equal compute (a :class:`kanmix.frontier.Comparison`), over which range, by how much.

    A compute level counts for a family only where its frontier is ahead by more than the noise
    band; without repeated seeds there is no band and the sentence says the differences are not
    judged against noise.
    """
    a, b = cmp.a, cmp.b
    if cmp.lo is None or cmp.gaps.empty:
        return (f"The {a} and {b} frontiers cover no common range of {what}, so they cannot be compared at "
                "equal compute.")
    n = len(cmp.gaps)
    where = f"from {_budget(cmp, cmp.lo)} to {_budget(cmp, cmp.hi)}"
    if cmp.band is None:
        leader = a if cmp.gaps.gap.mean() > 0 else b
        return (f"At equal {what} ({where}, {count(n, 'compute level')}), the {a} frontier minus the {b} one is "
                f"{span(100 * cmp.gaps.gap, 3)} points (mean {points(cmp.gaps.gap.mean())}, toward the {leader}); "
                "no configuration was trained with several seeds, so these gaps are not judged against noise.")
    ahead = cmp.ahead()
    parts = []
    for who in (a, b):
        rows = ahead[who]
        if len(rows):
            parts.append(f"the {who} is ahead at {len(rows)} of {n} ({_budget(cmp, rows.x.min())}–"
                         f"{_budget(cmp, rows.x.max())}), by {span(100 * rows.gap.abs(), 3)} points")
        else:
            parts.append(f"the {who} is ahead at none")
    tied = len(ahead["tied"])
    text = (f"At equal {what} ({where}, {count(n, 'compute level')} where a frontier has a point), "
            + "; ".join(parts) + f"; {tied} of {n} {'is' if tied == 1 else 'are'} within the noise band of "
            f"±{format_number(100 * cmp.band, 2)} points (95%, from the spread between seeds, "
            f"{count(cmp.seed_df, 'degree')} of freedom).")
    return text[0].upper() + text[1:]


def frontier_trend_sentence(cmp, *, what: str = "training FLOPs") -> str:
    """Whether the gap widens or narrows with compute: the difference of the fitted slopes, with its interval."""
    a, b = cmp.a, cmp.b
    if cmp.slope is None:
        return f"A trend needs at least two frontier points of each family; {a} or {b} has fewer."
    per = f"per tenfold {what}"
    if cmp.slope_ci is None:
        return (f"Fitted as accuracy against log {what}, the gap ({a} − {b}) changes by {points(cmp.slope)} {per}; "
                "with only two frontier points for a family this slope has no error estimate, so no trend is claimed.")
    lo, hi = cmp.slope_ci
    interval = f"{points(cmp.slope)} {per} (95% interval {points(lo)} to {points(hi)})"
    if lo > 0 or hi < 0:
        toward = a if cmp.slope > 0 else b
        verdict = f"the gap moves toward the {toward} as compute grows"
    else:
        verdict = "the interval includes zero: no widening or narrowing can be claimed"
    return f"Fitted as accuracy against log {what}, the gap ({a} − {b}) changes by {interval}: {verdict}."


def frontier_crossing_sentence(cmp, *, target_name: str = "the paper's budget") -> str:
    """Where the fitted frontiers cross, and the fitted gap at ``cmp.target`` (an extrapolation when outside the range)."""
    a, b = cmp.a, cmp.b
    if cmp.trend_a is None or cmp.trend_b is None:
        return "The frontiers have too few points to be fitted."
    parts = []
    if cmp.crossing is None:
        parts.append("The fitted frontiers are parallel: they do not cross.")
    elif cmp.lo is not None and cmp.lo <= cmp.crossing <= cmp.hi:
        parts.append(f"The fitted frontiers cross at about {_budget(cmp, cmp.crossing)}, inside the measured range.")
    else:
        top = max(cmp.gaps.x) if not cmp.gaps.empty else None
        beyond = (f", {format_number(cmp.crossing / top, 2)}× the largest budget compared" if top and cmp.crossing > top
                  else ", below the smallest budget compared")
        parts.append(f"The fitted frontiers would cross at about {_budget(cmp, cmp.crossing)}{beyond}: "
                     "an extrapolation of straight lines through a saturating curve.")
    if cmp.target is not None and cmp.at_target is not None:
        inside = cmp.lo is not None and cmp.lo <= cmp.target <= cmp.hi
        label = "At" if inside else "Extrapolated to"
        text = f"{label} {target_name} ({_budget(cmp, cmp.target)}), the fitted gap ({a} − {b}) is {points(cmp.at_target)}"
        if cmp.at_target_ci is None and not inside:
            text = (f"With two points per frontier the lines have no error estimate, so they are not extrapolated to "
                    f"{target_name} ({_budget(cmp, cmp.target)}).")
        elif cmp.at_target_ci is None:
            text += " with no error estimate (two points per frontier)."
        else:
            lo, hi = cmp.at_target_ci
            text += f" (95% interval {points(lo)} to {points(hi)})"
            text += ("; the interval includes zero, so the lines cannot say which family would lead there."
                     if lo <= 0 <= hi else f"; on these lines the {a if cmp.at_target > 0 else b} would lead there.")
        parts.append(text)
    return " ".join(parts)


# ----------------------------------------------------------------------------- a model against the rest


def against_sentence(rows, *, title: str, kan: str = "KAN-Mixer", alpha: float = 0.05) -> str:
    """Where ``kan`` wins, loses and ties on one dataset (:func:`kanmix.studies.kan_mixer_against`'s rows).

    A pair is called a win or a loss only when its Holm-adjusted p (over every pair of the CV)
    is below ``alpha``; every loss names what the other model costs beside it, so a reader sees
    whether the cheaper model is the better one.
    """
    if len(rows) == 0:
        return f"On {title} there is nothing to set the {kan} against."
    groups = {"ahead of": [], "behind": [], "not separable from": []}
    for r in rows.itertuples():
        key = "not separable from" if r.p_holm >= alpha else ("ahead of" if r.diff > 0 else "behind")
        cost = (f"{format_number(r.params / r.kan_params, 2)}× the {kan}'s parameters and "
                f"{format_number(r.seconds / r.kan_seconds, 2)}× its training time")
        groups[key].append(f"the {r.model} ({points(r.diff)} [{signed(100 * r.ci_low, 2)}, {signed(100 * r.ci_high, 2)}],"
                           f" p = {format_number(r.p_holm, 2)}; {cost})")
    n = int(rows.pairs.iloc[0])
    said = "; ".join(f"{key} {listing(items)}" for key, items in groups.items() if items)
    return (f"On {title}, with p-values Holm-adjusted over the {n} pairs of the cross-validation, the {kan} is "
            f"{said}.")


def equivalence_sentence(res, *, margin: float, a: str = "bf16", b: str = "float32",
                         what: str = "held-out accuracy") -> str:
    """Whether ``a`` and ``b`` are equivalent within ``margin`` (a parameter, not read off the results): two one-sided
    tests at 0.05, i.e. the corrected 90% interval of ``a - b`` (:class:`kanmix.stats.PairedComparison`
    with ``confidence=0.90``) inside ``±margin``. An interval reaching past the margin says only that
    equivalence cannot be claimed, not that the two differ."""
    lo, hi = res.ci_low, res.ci_high
    interval = (f"{a} − {b} = {points(res.mean_diff)} of {what}, corrected 90% interval {points(lo)} to "
                f"{points(hi)} over {count(res.n, 'paired fold')}")
    band = f"±{format_number(100 * margin, 2)} points"
    if -margin < lo and hi < margin:
        return f"{interval}: inside the {band} equivalence margin, so the two are equivalent at that margin."
    return (f"{interval}: it reaches past the {band} equivalence margin, so equivalence cannot be claimed "
            f"(and a difference of up to {format_number(100 * max(abs(lo), abs(hi)), 2)} points is not ruled out).")


def one_fold_sentence(scores: Mapping[str, float], reference: str, n: int, *, what: str = "held-out accuracy") -> str:
    """Each of ``scores`` against ``reference``, all scored once on the same ``n`` images: a gap is called
    one only beyond :func:`kanmix.stats.binomial_band` (the test images' noise alone, so a lower bound
    on the real noise)."""
    from kanmix.stats import binomial_band

    band = binomial_band(scores[reference], n)
    beyond, within = [], []
    for label, value in scores.items():
        if label == reference:
            continue
        gap = value - scores[reference]
        (beyond if abs(gap) > band else within).append(f"{label} ({signed(gap)})")
    text = (f"Scored once on {n:,} images, two {what} values near {fmt(scores[reference], 3)} must differ by more "
            f"than ±{fmt(band, 2)} to be told apart by the images alone")
    if within:
        text += f"; {listing(within)} against {reference} {'is' if len(within) == 1 else 'are'} within that"
    if beyond:
        text += f"; {listing(beyond)} against {reference} {'is' if len(beyond) == 1 else 'are'} beyond it"
    return text + "."


# ----------------------------------------------------------------------------- chapter 3's sentences
# Each takes chapter 3's study (kanmix.studies.MixerStudy) and says what its tables show; the
# numbers and the tests come from kanmix.studies, the words from here.


def grid_ablation_text(study, grid_handling: str) -> str:
    """The ablation's coverage of the default grid, the handling every KAN-Mixer uses, and the one-fold noise band."""
    from kanmix.studies import ablation_table

    table = ablation_table(study)
    default = study.ablation_curves[study.ablation_curves.model == table.index[0]]["outside_grid"]
    text = (f"With the default grid, {fmt(default.min(), 3)}–{fmt(default.max(), 3)} of the KAN layers' inputs fell "
            f"outside $[-1, 1]$ over training. Every KAN-Mixer of this chapter uses **{grid_handling}**, set in the "
            "profile. The ablation is one fold: "
            + one_fold_sentence(table["val_accuracy"].to_dict(), grid_handling, int(study.ablation.n_val.iloc[0]))
            + " A difference within that band is not evidence for either handling.")
    if study.left_out:  # handlings the epochs cannot train (kanmix.studies.runnable_grid_variants)
        text += "\n\nLeft out of the ablation: " + "; ".join(
            f"**{label}**, because {why}" for label, why in study.left_out.items()) + "."
    return text


def cv_text(study, dataset: str) -> str:
    """One dataset's ranking by mean held-out accuracy, and the flat KAN's output-layer handicap where it ran."""
    from kanmix.studies import output_layer_outside, summaries

    text = ranking_sentence(summaries(study)[dataset]["val_accuracy"].to_dict())
    outside = output_layer_outside(study.labelled[dataset], "KAN")
    if outside is not None:
        # Its output layer reads unnormalised activations; outside the [-1, 1] grid an edge is its
        # SiLU term alone, a handicap the KAN-Mixer's layers (which read LayerNorm outputs) do not share.
        text += (f" The flat KAN's output layer saw {fmt(100 * outside, 2)}% of its inputs outside its "
                 "[−1, 1] grid after the last epoch, where its splines are zero: that layer is mostly a SiLU network, "
                 "a handicap the KAN-Mixer's layers (which read LayerNorm outputs) do not share.")
    return text


def mlp_mixers_beside(study, *, kan: str = "KAN-Mixer") -> str:
    """Each MLP-Mixer's parameters, training time and held-out accuracy beside the KAN-Mixer's, per dataset."""
    from kanmix.data import info
    from kanmix.studies import summaries

    lines = []
    for dataset, s in summaries(study).items():
        if kan not in s.index:
            continue
        for other in (o for o in s.index if o.startswith("MLP-Mixer")):
            lines.append(f"- {info(dataset).title}, {other}: {fmt(s.loc[other, 'params'])} parameters against the "
                         f"{kan}'s {fmt(s.loc[kan, 'params'])}, {fmt(s.loc[other, 'train_seconds'], 3)} s of training "
                         f"per fold against {fmt(s.loc[kan, 'train_seconds'], 3)} s, and "
                         f"{signed(s.loc[other, 'val_accuracy'] - s.loc[kan, 'val_accuracy'])} held-out accuracy.")
    return "The MLP-Mixers beside the KAN-Mixer:\n\n" + "\n".join(lines)


def paper_texts(study, paper: Mapping[str, Mapping[str, float]], *, folds: int) -> str:
    """Per dataset, our mean held-out accuracies against the paper's (:func:`compare_to_paper`, with the pairs our
    folds separate after Holm's correction)."""
    from kanmix.data import info
    from kanmix.studies import separated_pairs, summaries

    texts = []
    for dataset, s in summaries(study).items():
        texts.append(f"**{info(dataset).title}.** " + compare_to_paper(
            s["val_accuracy"].to_dict(), paper.get(dataset, {}), what="mean held-out accuracy",
            noise=s["std"].to_dict(),
            separated=separated_pairs(study.folds[study.folds.dataset == dataset], folds=folds)))
    return "\n\n".join(texts)


def headline_text(study, tests) -> str:
    """The headline pair (:func:`kanmix.studies.headline_tests`) in words: over the main CV, with its p adjusted
    over that CV's pairs and the Wilcoxon test beside it; over the repeats, the corrected test alone."""
    from kanmix.data import info

    if not tests:
        return ""
    a, b = study.headline_pair
    lines = []
    for t in tests:
        holm = (f" Adjusted over the {t.pairs} pairs of the main CV (Holm), its p is {fmt(t.p_holm, 2)}."
                if t.p_holm is not None else "")
        lines.append(f"- **{t.label}**: {paired_sentence(t.res, a, b, wilcoxon=not t.repeated)}{holm} With this "
                     f"spread, the smallest difference the corrected test would detect with 80% power at 0.05 is "
                     f"{fmt(t.mdd, 2)}.")
    return f"On {info(study.folds.dataset.iloc[0]).title}, the {a} against the {b}:\n\n" + "\n".join(lines)


def efficiency_text(study, *, folds: int) -> str:
    """The KAN-Mixer against each other model of the data-efficiency curve, size by size, against the noise.

    With several folds a gap is the corrected paired test over them (:func:`kanmix.stats.paired_comparison`,
    Holm-adjusted over every comparison the section makes); with one fold, the binomial band of the images
    scored (:func:`one_fold_sentence`), a lower bound on the real noise.
    """
    from kanmix.stats import holm, paired_comparison

    eff, metric, kan = study.efficiency, study.efficiency_metric, "KAN-Mixer"
    others = [m for m in dict.fromkeys(eff.model) if m != kan]
    if kan not in set(eff.model) or not others:
        return ""
    what = "test accuracy (the whole test split)" if metric == "test_accuracy" else "held-out accuracy"
    sizes = sorted(eff.n_train.unique())
    if folds < 2:  # each gap against the first other model, the images scored being the only noise measured
        n_scored = eff.groupby("n_train")["n_test" if metric == "test_accuracy" else "n_val"].first()
        by_size = eff.groupby(["n_train", "model"])[metric].mean().unstack()
        scored = "the whole test split" if metric == "test_accuracy" else "its held-out fold"
        return (f"Each point is the mean over {count(folds, 'fold')}, scored on {scored}. " + " ".join(
            f"At {n:,} training images: " + one_fold_sentence(by_size.loc[n, [kan, *others]].to_dict(), others[0],
                                                              int(n_scored.loc[n]) * folds, what=what.split(" (")[0])
            for n in sizes))
    tests = []
    for n in sizes:
        wide = eff[eff.n_train == n].pivot(index="fold", columns="model", values=metric)
        for other in others:
            tests.append((n, other, paired_comparison(wide[kan], wide[other], folds=int(eff.folds.iloc[0]))))
    adjusted = holm([res.p_nb for _, _, res in tests])
    lines = []
    for (n, other, res), p in zip(tests, adjusted):
        verdict = (f"the {kan if res.mean_diff > 0 else other} is ahead" if p < 0.05 else "no difference can be told")
        lines.append(f"- {n:,} images, {kan} − {other}: {points(res.mean_diff)} [{signed(100 * res.ci_low, 2)}, "
                     f"{signed(100 * res.ci_high, 2)}], Holm-adjusted p = {fmt(p, 2)}: {verdict}.")
    return (f"{what[0].upper() + what[1:]}, the {kan} against each model over {count(folds, 'fold')} (corrected "
            f"paired t-test, Holm over the {len(tests)} comparisons of this section):\n\n" + "\n".join(lines))


def mixers_points(study, paper: Mapping[str, Mapping[str, float]], *, folds: int, repeats: int,
                  paper_params: int) -> str:
    """Chapter 3's conclusions as bullets: per dataset, the ranking, where the KAN-Mixer wins and loses (Holm over
    the CV's pairs, with costs) and the paper beside ours; the scale of the comparison; the headline pair over
    every repeat of the split."""
    from kanmix.data import info
    from kanmix.studies import headline_comparison, kan_mixer_against, separated_pairs, summaries

    points_, tables = [], summaries(study)
    for dataset, s in tables.items():
        title = info(dataset).title
        part = study.folds[study.folds.dataset == dataset]
        text = f"**{title}.** " + ranking_sentence(s["val_accuracy"].to_dict(), what="mean held-out accuracy")
        if "KAN-Mixer" in s.index:
            text += " " + against_sentence(kan_mixer_against(part, folds=folds), title=title)
        text += " " + compare_to_paper(s["val_accuracy"].to_dict(), paper.get(dataset, {}),
                                       what="mean held-out accuracy", noise=s["std"].to_dict(),
                                       separated=separated_pairs(part, folds=folds))
        points_.append(text)
    first = next(iter(tables.values()))
    if "KAN-Mixer" in first.index:
        ours = int(first.loc["KAN-Mixer", "params"])
        points_.append(f"Every comparison with the paper is at another scale: this KAN-Mixer has {ours:,} parameters, "
                       f"{fmt(100 * ours / paper_params, 2)}% of the paper's configuration ({paper_params:,}); "
                       "{doc}`06_frontier` measures how the comparison moves with size and training length.")
    if study.headline_pair is not None:
        points_.append(f"The headline pair (the profile's `headline_against`) over all {repeats} repeats of the split: "
                       + paired_sentence(headline_comparison(study, folds), *study.headline_pair, wilcoxon=False))
    return "\n".join(f"- {p}" for p in points_)


#: Chapter 3's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``).
CV_NAMES = {"params": "parameters", "epochs": "epochs", "train_seconds": "training time per fold",
            "val_accuracy": "val accuracy", "ci_low": "95% CI low", "ci_high": "95% CI high", "std": "sd over folds",
            "test_accuracy": "test accuracy", "per_minute": "val accuracy per training minute",
            "outside_grid": "inputs outside the grid"}
CV_UNITS = {"train_seconds": "s"}


def protocol_text(study, *, paper_epochs: int, workers: int) -> str:
    """How chapter 3's folds trained (from its records' configs), against the paper's epochs, and what a rerun costs."""
    train = study.records[0]["config"]["train"]
    augment = train["augment"]
    return (f"Each fold trained on {int(study.folds.n_train.iloc[0]):,} images for {train['epochs']} epochs (batch "
            f"{train['batch_size']}, AdamW with peak learning rate {train['lr']:g} and weight decay "
            f"{train['weight_decay']:g}, a 5% warm-up and a cosine decay, {train['precision']}), with flips "
            f"(p = {augment['hflip']:g}) and rotations of up to ±{augment['rotate']:g}° — the angle is our assumption. "
            f"The paper trained for {paper_epochs} epochs. Recomputing this chapter from an empty results store: "
            f"{recompute_time(study.records, workers=workers)}.")


# ----------------------------------------------------------------------------- chapter 5's sentences
# Sentences from :class:`kanmix.interpret.Evidence`: every statement compares a trained model with
# the same architecture at initialisation (or the KAN-Mixer with the MLP-Mixer) and calls a
# difference one only beyond the noise band of :func:`kanmix.interpret.compare`.

#: What each per-state measure is called where it shows nothing (:func:`null_results`).
_MEASURE_NAMES = {"spline_share": "the splines' share of the edges", "silu_like": "the share of SiLU-like edges",
                  "deviation": "the edges' deviation from the SiLU shape", "monotone": "the share of monotone edges",
                  "concentration": "how concentrated importance is", "locality": "how local the token maps are"}


def _pct(v: float) -> str:
    """A fraction as a percentage: three significant digits from 10% up, two below (0.31%)."""
    if v is None or not math.isfinite(v):
        return "–"
    return f"{100 * v:.3g}%" if abs(v) >= 0.1 else f"{100 * v:.2g}%"


def _num(v: float) -> str:
    """Three significant digits, trailing zeros dropped (``0.5``, ``0.903``): unlike :func:`format_number`."""
    return "–" if v is None or not math.isfinite(v) else f"{v:.3g}"


def _times(ratio: float) -> str:
    """A cost ratio: ``5.4×``, ``110×``."""
    return f"{ratio:.2g}×" if ratio < 10 else f"{ratio:,.0f}×"


def _versus(c: Comparison, higher: str, lower: str, same: str, show=_num) -> str:
    """The words for the :class:`kanmix.interpret.Comparison` ``c`` (``higher``/``lower``/``same``, by its
    sign), then the means and the band in brackets, each number written by ``show``."""
    if c.sign is None:
        return (f"{show(c.a)} against {show(c.b)}, with no noise estimate (one value each side), "
                "so no difference is claimed")
    words = {1: higher, -1: lower, 0: same}[c.sign]
    sign = "" if show(abs(c.diff)) == show(0.0) else "+" if c.diff > 0 else "−"
    return f"{words} ({show(c.a)} against {show(c.b)}; difference {sign}{show(abs(c.diff))} ± {show(c.half_width)})"


def _pruning_lines(ev: Evidence) -> tuple[str | None, float | None]:
    """The pruning sentence (None without runs) and the smallest kept fraction down to which no fine-tuned
    model lost accuracy beyond noise (None if none, or if the unpruned model is no better than chance)."""
    from kanmix.interpret.evidence import compare

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


def findings(ev: Evidence) -> list[str]:
    """What the trained KAN models show beyond their untrained control and beyond noise, as phrases.

    ``ev`` is a :class:`kanmix.interpret.Evidence`. Empty when nothing does. Read by both
    conclusions, so they cannot disagree.
    """
    from kanmix.interpret.evidence import per_state, seed_agreement

    c = per_state(ev)

    def sign(name: str) -> int | None:
        return c[name].sign if name in c else None

    def both(name: str, show=_num) -> str:
        return f"{show(c[name].a)} against {show(c[name].b)}"

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
    stab = seed_agreement(ev)
    if stab is not None and stab.sign == 1:
        held.append(f"the token maps recur across seeds more than untrained ones do (rank correlation "
                    f"{_num(stab.a)} against {_num(stab.b)})")
    _, safe = _pruning_lines(ev)
    if safe is not None:
        held.append(f"the network can be read from {_pct(safe)} of its edges: the rest can be pruned, with "
                    "fine-tuning, at no accuracy cost beyond noise")
    return held


def null_results(ev: Evidence) -> list[str]:
    """The measures that do *not* separate the trained model from its untrained control beyond noise, as
    phrases: the negative results a summary names beside :func:`findings`' positive ones."""
    from kanmix.interpret.evidence import per_state, seed_agreement

    c = per_state(ev)
    out = [_MEASURE_NAMES[name] for name in _MEASURE_NAMES if name in c and not c[name].sign]
    stab = seed_agreement(ev)
    if stab is not None and stab.sign != 1:
        out.append("how much the token maps recur across seeds")
    if ev.pruning is not None and not ev.pruning.empty and _pruning_lines(ev)[1] is None:
        out.append(f"pruning: no kept fraction down to {_pct(ev.pruning.keep.min())} of the edges kept the unpruned "
                   "accuracy after fine-tuning")
    return out


def conclude_interpretability(ev: Evidence, name: str = "these KAN vision models") -> str:
    """Markdown answering "what does the interpretability of ``name`` amount to, measurably?".

    A summary of :func:`findings`, then one bullet per measure the evidence (a
    :class:`kanmix.interpret.Evidence`) holds. Every statement compares the trained models with
    the same architecture at initialisation (the token maps also with the MLP-Mixer's), and calls
    a difference one only beyond the noise band of :func:`kanmix.interpret.compare`; with a single
    seed there is no band, and the summary says so instead of calling the measures equal.
    """
    from kanmix.interpret.edges import SILU_LIKE
    from kanmix.interpret.evidence import compare, per_state, seed_agreement, symbolic_counts
    from kanmix.interpret.symbolic import GOOD_FIT

    c = per_state(ev)
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
                                 show=_pct)
        + "; the median deviation from that shape is "
        + _versus(c["deviation"], "larger than at initialisation", "smaller than at initialisation",
                  "no different from initialisation")
        + ". Where every edge of a layer is `a + b·SiLU(x)`, the layer computes `Linear(SiLU(x))`: an MLP layer.",
        "- **Shapes.** The share of edges monotone over their real inputs is "
        + _versus(c["monotone"], "larger after training than at initialisation",
                  "smaller after training than at initialisation", "no different from initialisation", show=_pct) + ".",
        "- **Is importance concentrated?** The top 10% of edges hold "
        + _versus(c["concentration"], "more of the total importance than at initialisation",
                  "less of the total importance than at initialisation", "the same share as at initialisation",
                  show=_pct) + " (a uniform spread would give 10%).",
    ]
    if ev.symbolic.get("trained") is not None:
        n_fit, n_good, n_mlp, forms = symbolic_counts(ev.symbolic["trained"])
        init = ""
        if ev.symbolic.get("init") is not None:
            at_init = symbolic_counts(ev.symbolic["init"])
            init = f" (at initialisation: {at_init.good} of {at_init.fitted})"
        verb = "has" if n_good - n_mlp == 1 else "have"
        named = ", ".join(f"{form} ({count})" for form, count in forms.items()) or "none"
        lines.append(f"- **Symbolic forms.** {n_good - n_mlp} of the {n_fit} top trained edges {verb} a closed form "
                     f"(R² ≥ {GOOD_FIT}) that an MLP edge, `a + b·SiLU(x)` or a straight line, would not also give. "
                     f"In all, {n_good} fit a library form{init}; forms named: {named}; {n_mlp} of them are fitted as "
                     "well by an MLP edge's shape.")
    if "locality" in c:
        words = [_versus(c["locality"], "less local than at initialisation", "more local than at initialisation",
                         "as local as at initialisation")]
        if ev.locality.get("mlp"):
            words.append(_versus(compare(ev.locality["trained"], ev.locality["mlp"]), "less local than the MLP-Mixer's",
                                 "more local than the MLP-Mixer's", "as local as the MLP-Mixer's"))
        lines.append("- **Token maps.** Mean distance read, relative to a uniform map (below 1: local): the trained "
                     "maps are " + "; and ".join(words) + ".")
    stab = seed_agreement(ev)
    if stab is not None:
        lines.append("- **Across seeds.** The rank correlation of the token maps between trained seeds is "
                     + _versus(stab, "higher than between untrained ones", "lower than between untrained ones",
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

    A loss is claimed only beyond the noise band of :func:`kanmix.interpret.compare` (paired over
    seeds, with the test images' binomial noise): splines whose replacement costs nothing do no
    work an MLP edge could not.
    """
    import numpy as np

    from kanmix.interpret.evidence import compare

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

    Compares test accuracy (per-seed records, the band of :func:`kanmix.interpret.compare` on the
    test images), parameters and training seconds. The cost counts as justified by accuracy only
    when the KAN-Mixer is more accurate beyond noise; otherwise the answer says what the
    interpretability measures (a :class:`kanmix.interpret.Evidence` ``ev``, through
    :func:`findings`) found that the cost buys, if anything.
    """
    import numpy as np

    from kanmix.interpret.evidence import compare

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


# ----------------------------------------------------------------------------- chapter 6's sentences


def seconds_source(study) -> str:
    """Where chapter 6's seconds come from, for captions (:func:`kanmix.studies.seconds_column`)."""
    if study.timing is not None:
        return f"seconds from one side-by-side timing of every size, one thread, on {study.timing['provenance']['device']}"
    return "seconds as each run recorded them (machines may differ between runs)"


def frontier_answer(study, by_flops: Mapping, titles: Mapping[str, str]) -> str:
    """The gap between the frontiers at equal training FLOPs on each dataset, after a note when runs are missing."""
    lines = [f"**{titles[d]}.** " + frontier_gap_sentence(c) for d, c in by_flops.items()]
    if study.missing:
        lines.insert(0, f"*This page shows a campaign under way: {count(study.missing, 'planned run')} of the "
                        "grid are not in the results store yet, so the frontiers below are incomplete.*")
    return "\n\n".join(lines)


def sweep_text(study, lr_sweep: Mapping) -> str:
    """The learning rate each family chose, and which swept family's sits at the edge of the range it tried
    (``lr_sweep``: chapter 6's parameter, ``lrs`` tried at one size of each family in ``sizes``)."""
    tried = sorted(lr_sweep["lrs"])
    edge = [f for f in lr_sweep["sizes"] if f in study.lrs and study.lrs[f] in (tried[0], tried[-1])]
    return "Chosen: " + "; ".join(f"{f}: {lr:g}" for f, lr in study.lrs.items()) + "." + (
        f" For {listing(edge)} the best value is at the edge of the range tried, so a value beyond it might do "
        "better still: the sweep tests the single learning rate only within its range." if edge else "")


def frontier_summary(by_flops: Mapping, by_time: Mapping, titles: Mapping[str, str]) -> str:
    """Per dataset: the gap's trend with compute, where the fitted frontiers would cross, and the gap by seconds."""
    return "\n\n".join(
        f"**{titles[d]}.** " + frontier_trend_sentence(by_flops[d]) + " " + frontier_crossing_sentence(by_flops[d])
        + " By training time: " + frontier_gap_sentence(by_time[d], what="training seconds") for d in by_flops)


# ----------------------------------------------------------------------------- chapter 2's sentences
# Chapter 2 opens one trained KAN classifier (the tables of kanmix.page, kanmix.grids.grid_update_effect),
# times the layer (kanmix.bench.kan.speed_table) and trains chapter 3's mixers in float32 and bf16
# (kanmix.studies.precision_parity); these say what its tables show.


def bullets(items) -> str:
    """Markdown bullets, one per item."""
    return "\n".join(f"- {item}" for item in items)


def layer_model_text(record: dict) -> str:
    """Chapter 2's KAN classifier (a ``classification`` record of a ``kan`` model): size, widths, test accuracy,
    training length, images and seconds."""
    from kanmix.data import info

    cfg = record["config"]
    d = info(cfg["dataset"])
    widths = [d.channels * (cfg.get("size") or d.size) ** 2, *cfg["model_kwargs"]["hidden"], d.num_classes]
    return (f"The classifier ({record['parameters']:,} parameters, widths {widths}) reached a test accuracy of "
            f"{fmt(record['metrics']['test']['accuracy'])} after {count(cfg['train']['epochs'], 'epoch')} on "
            f"{record['n_train']:,} images, in {fmt(record['train_seconds'], 3)} s of training "
            f"({cfg['train']['precision']}).")


def spline_share_text(share, weighted: Mapping[str, float]) -> str:
    """The median spline share of the second and first layers' edges, trained and untrained, and the
    importance-weighted share (:func:`kanmix.studies.spline_share_table`, :func:`kanmix.studies.weighted_spline_share`)."""
    first, second = share.index[0], share.index[1]
    return (f"In the trained model the median edge is {fmt(100 * share.loc[second, 'trained'], 2)}% spline in the "
            f"second layer ({fmt(100 * share.loc[second, 'untrained'], 2)}% at initialisation) and "
            f"{fmt(100 * share.loc[first, 'trained'], 2)}% in the first; weighted by edge importance, the "
            f"spline carries {fmt(100 * weighted['trained'], 2)}% of the edges' magnitude "
            f"({fmt(100 * weighted['untrained'], 2)}% untrained, a factor of "
            f"{fmt(weighted['trained'] / weighted['untrained'], 3)}).")


def grid_update_text(occupancy, change: float) -> str:
    """The second layer's inputs inside its grid and its knot intervals in use, before and after a grid update, and
    what the update changed in its output (:func:`kanmix.grids.grid_update_effect`)."""
    return (f"Before the update {fmt(100 * occupancy.iloc[0, 0], 3)}% of the second layer's inputs were inside its "
            f"grid and {fmt(100 * occupancy.iloc[0, 1], 3)}% of its knot intervals were in use; after it, "
            f"{fmt(100 * occupancy.iloc[1, 0], 3)}% and {fmt(100 * occupancy.iloc[1, 1], 3)}%. The layer's output "
            f"on these inputs moved by at most {fmt(100 * change, 2)}% of its largest value (the refit's error).")


def top_edges_text(reg) -> str:
    """The share of the importance the top 10% of edges hold in each layer, trained and untrained
    (:func:`kanmix.studies.regulariser_table`)."""
    column = "importance held by the top 10% of edges"
    top_t, top_u = (reg.xs(state, level="state")[column] for state in ("trained", "untrained"))
    return "The top 10% of edges hold " + listing(
        f"{fmt(100 * top_t[n], 3)}% of the importance in {n} ({fmt(100 * top_u[n], 3)}% untrained)"
        for n in top_t.index) + " (10% would be an even spread)."


def layer_speed_lines(speed, records) -> list[str]:
    """What the layer benchmark (:func:`kanmix.bench.kan.speed_table`) shows, one line per finding.

    Per dtype: ``KANLinear`` against the dense limit and the plain formulation, and where (with
    several shapes) the plain formulation suffers most and least relative to its GEMMs; against
    each installed peer, at how many shapes it is faster. With both dtypes, bf16's speed-up of
    ``KANLinear``, on the device of the first of ``records`` (the benchmark's store records; none
    when it was read from a file, whose caption names its origin).
    """
    lines = []
    for dtype, part in speed.groupby(level="dtype", sort=False):
        part = part.droplevel("dtype")
        line = (f"In {dtype}, `KANLinear` runs at {span(part['kanmix / limit'])}× the dense limit and "
                f"{span(part['reference / kanmix'])}× faster than the plain formulation")
        if len(part) > 1:
            worst, best = part["reference / limit"].idxmax(), part["reference / limit"].idxmin()
            line += (f"; the plain formulation suffers most, relative to its GEMMs, at ({worst}) "
                     f"({fmt(part.loc[worst, 'reference / limit'], 3)}× the limit) and least at ({best}) "
                     f"({fmt(part.loc[best, 'reference / limit'], 3)}×)")
        lines.append(line + ".")
        for p in (p for p in ("flashkan", "inkan") if f"{p} ms" in part and part[f"{p} ms"].notna().all()):
            faster = int((part["kanmix ms"] < part[f"{p} ms"]).sum())
            lines.append(f"In {dtype}, `KANLinear` is faster than `{p}` at {faster} of {len(part)} shapes.")
    if {"float32", "bfloat16"} <= set(speed.index.get_level_values("dtype")):
        gain = speed.xs("float32", level="dtype")["kanmix ms"] / speed.xs("bfloat16", level="dtype")["kanmix ms"]
        device = records[0]["provenance"]["device"] if records else "see the caption"
        lines.append("bf16 makes `KANLinear` " + listing(f"{fmt(g, 3)}× faster at ({s})" for s, g in gain.items())
                     + f" than float32 on this machine ({device}).")
    return lines


def parity_verdicts(parity, table, *, margin: float) -> list[str]:
    """Per model, bf16 against float32 as an equivalence test within ``margin`` (:func:`equivalence_sentence`) and how
    much faster bf16 trained.

    ``parity`` is :func:`kanmix.studies.precision_parity`'s rows (one per model, precision and
    fold), ``table`` :func:`kanmix.studies.parity_table` of them. The folds are paired; the
    Nadeau-Bengio correction uses their number.
    """
    from kanmix.stats import paired_comparison

    verdicts = []
    for label in table.index.get_level_values("model").unique():
        fp32, bf16 = table.loc[(label, "fp32")], table.loc[(label, "bf16")]
        part = parity[parity.model == label]
        wide = part.pivot(index="fold", columns="precision", values="val_accuracy")
        res = paired_comparison(wide["bf16"], wide["fp32"], folds=int(part.folds.iloc[0]), confidence=0.90)
        verdicts.append(f"{label}: " + equivalence_sentence(res, margin=margin)
                        + f" bf16 trained {fmt(fp32['train_seconds'] / bf16['train_seconds'], 3)}× as fast")
    return verdicts


def parity_text(verdicts) -> str:
    """:func:`parity_verdicts` as one paragraph, with what the test is."""
    return ("Mean held-out accuracy, bf16 against float32, as an equivalence test (two one-sided tests at 0.05: the "
            "corrected 90% interval must lie inside the margin): " + "; ".join(verdicts) + ".")


def bf16_time_text(table, *, kan: str = "KAN-Mixer", mlp: str = "MLP-Mixer") -> str:
    """How much bf16 speeds each mixer, and which precision's time match favours the KAN-Mixer
    (:func:`kanmix.studies.parity_table`); ``""`` unless both mixers ran."""
    models = set(table.index.get_level_values("model"))
    if not {kan, mlp} <= models:
        return ""
    seconds = table["train_seconds"]
    speedup = {m: seconds[(m, "fp32")] / seconds[(m, "bf16")] for m in (kan, mlp)}
    ratio = {p: seconds[(kan, p)] / seconds[(mlp, p)] for p in ("bf16", "fp32")}
    return (f"bf16 speeds the {kan} {fmt(speedup[kan], 2)}× and the {mlp} {fmt(speedup[mlp], 2)}×, so the {kan} takes "
            f"{fmt(ratio['bf16'], 2)}× the {mlp}'s training time in bf16 and {fmt(ratio['fp32'], 2)}× in float32. "
            "Chapter 3 matches training time in bf16 on this CPU: " + (
                f"a match made in float32 would give the {mlp} more epochs, so the bf16 match is the more generous to "
                f"the {kan}." if ratio["fp32"] > ratio["bf16"] else
                f"a match made in float32 would give the {mlp} fewer epochs, so the bf16 match is the less generous to "
                f"the {kan}."))


def layer_points(weighted: Mapping[str, float], occupancy, change: float, speed_lines, verdicts, records, *,
                 workers: int = 1) -> str:
    """Chapter 2's conclusions as bullets: the spline's weighted share, the grid before and after an update, the
    benchmark's lines, the bf16 verdicts and what recomputing the chapter's ``records`` costs."""
    return bullets([
        f"**Base and spline.** Weighted by importance, the spline carries {fmt(100 * weighted['trained'], 2)}% of the "
        f"trained edges' magnitude against {fmt(100 * weighted['untrained'], 2)}% at initialisation "
        f"({fmt(weighted['trained'] / weighted['untrained'], 3)}×); the rest is the SiLU base.",
        f"**Grid.** {fmt(100 * occupancy.iloc[0, 0], 3)}% of the second layer's inputs sat inside its grid and "
        f"{fmt(100 * occupancy.iloc[0, 1], 3)}% of its knot intervals were in use; a grid update raised these to "
        f"{fmt(100 * occupancy.iloc[1, 0], 3)}% and {fmt(100 * occupancy.iloc[1, 1], 3)}% at the cost of a "
        f"{fmt(100 * change, 2)}% change of the output.",
        *speed_lines,
        "**bf16.** " + "; ".join(verdicts) + ".",
        f"Recomputing this chapter from an empty results store: {recompute_time(records, workers=workers)}.",
    ])


# ----------------------------------------------------------------------------- chapter 4's sentences
# Each takes chapter 4's study (kanmix.studies.AutoencoderStudy) or a table of kanmix.ae's chapter-4
# section and says what it shows.

#: Chapter 4's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``).
AE_NAMES = {"model": "model", "requested": "bottleneck asked", "bottleneck": "latent size", "params": "parameters",
            "test_mse": "test MSE", "psnr": "PSNR", "knn_accuracy": "KNN accuracy (train → test)",
            "knn_authors": "KNN accuracy (authors' protocol)", "knn_authors_features": "authors' KNN features",
            "train_seconds": "training time", "knn_per_minute": "KNN accuracy per training minute",
            "components": "components", "method": "baseline", "gap": "authors − ours",
            "n_train": "training images", "latent": "latent size", "pair": "a − b", "seeds": "seeds",
            "mse_diff": "test MSE a − b", "mse_diff_sd": "sd of test MSE a − b", "mse_verdict": "lower test MSE",
            "knn_diff": "KNN accuracy a − b", "knn_diff_sd": "sd of KNN a − b", "knn_verdict": "higher KNN accuracy",
            "hidden": "hidden width", "mse_sd": "sd of test MSE", "knn_sd": "sd of KNN accuracy",
            "plateau_epoch": "gain < 0.5% from epoch",
            "pca_mse": "PCA test MSE", "pca_knn": "PCA KNN accuracy", "channels": "encoder channels",
            "images": "images seen", "flops": "training FLOPs", "flops_vs_kan": "× KAN AE's FLOPs"}
AE_UNITS = {"psnr": "dB", "train_seconds": "s", "test_mse": "[-1, 1] scale"}


def ae_protocol_text(study, hidden: Mapping[str, int], bottlenecks: Mapping, *, workers: int = 1) -> str:
    """How chapter 4's autoencoders trained and were scored (from the first record's config), the hidden width on
    each dataset, where a bottleneck is wider than it, and what recomputing the study costs."""
    from kanmix.data import info

    records = [r for r in study.records if r["kind"] == "ae"]
    recipe, metrics = records[0]["config"]["train"], records[0]["metrics"]
    datasets = list(dict.fromkeys(study.baselines.dataset))
    return (f"Every autoencoder of the sweep trained for {recipe['epochs']} epochs with AdamW (learning rate {recipe['lr']:g}, "
            f"weight decay {recipe['weight_decay']:g}, batch {recipe['batch_size']}, constant learning rate, "
            f"{recipe['precision']}) on the mean squared error, on {metrics['n_train']:,} training images, and was "
            f"scored on {metrics['n_test']:,} test images. Hidden width of the KAN and MLP autoencoders: "
            + listing(f"{hidden[d]} on {info(d).title}" for d in datasets) + ". "
            + " ".join(f"On {info(d).title} the bottlenecks wider than the hidden layer ("
                       + listing(str(b) for b in bottlenecks[d] if b > hidden[d]) + f") can carry at most {hidden[d]} "
                       "dimensions." for d in datasets if max(bottlenecks[d]) > hidden[d])
            + " Recomputing this chapter from an empty results store: "
            + f"{recompute_time(study.records, workers=workers)}.")


def beats_mean_text(table) -> str:
    """How many of the trained autoencoders (``table``: :func:`kanmix.ae.chapter_table`) beat the mean-image
    predictor, and which do not."""
    from kanmix.data import info

    beats = table["beats_mean"]
    return (f"{int(beats.sum())} of the {len(table)} trained autoencoders have a lower test MSE than the mean-image "
            "predictor" + (" — all of them." if beats.all() else
                           ": the ones that do not are " + listing(
                               f"the {r.model} on {info(r.dataset).title} at {r.bottleneck}"
                               for r in table[~beats].itertuples())
                           + ". They are shown, but a model that loses to the mean image has not trained; the `cpu` "
                             "profile stops on one."))


def knn_protocol_text(knn) -> str:
    """The authors' KNN protocol against ours (:func:`kanmix.ae.knn_table`), by the space the authors' number is
    computed in: the mean, smallest and largest gap."""
    by_space = knn.groupby("knn_authors_features")["gap"].agg(["mean", "min", "max", "count"])
    return "The authors' protocol against ours, by the space the authors' number is computed in: " + "; ".join(
        f"on {space} ({int(r['count'])} runs) it reads {signed(r['mean'])} on average (from {signed(r['min'])} "
        f"to {signed(r['max'])})" for space, r in by_space.iterrows()) + "."


def convergence_text(changes) -> str:
    """How much the test MSE still moved over the last epoch (:func:`kanmix.ae.last_epoch_changes`), and which runs
    were still improving by more than 1%."""
    from kanmix.data import info

    if not changes:
        return "Each run trained for one epoch only: convergence cannot be judged from its curve."
    still = [c for c in changes if c[3] < -0.01]
    return (f"Over the last epoch the test MSE changed by between {signed(100 * min(c[3] for c in changes), 2)}% and "
            f"{signed(100 * max(c[3] for c in changes), 2)}% (relative) across the {len(changes)} runs; "
            + (f"{len(still)} were still improving by more than 1%: " + listing(
                f"{m} on {info(d).title} at {w}" for d, m, w, _ in still) if still else
               "none was still improving by more than 1%") + ".")


def longer_training_sentence(table, band: float | None, *, what: str = "validation accuracy") -> str:
    """What the longer training length bought each family (:func:`kanmix.frontier.longer_training`'s rows): how
    many sizes gained or lost beyond the noise ``band`` (:func:`kanmix.frontier.gap_band`; ``None``: no seeds
    to judge by), and the range of the changes."""
    if len(table) == 0:
        return "No size has been trained at two lengths yet, so what longer training buys cannot be said."
    same = table.short.nunique() == 1 and table.long.nunique() == 1
    lengths = f"from {table.short.iloc[0]} to {table.long.iloc[0]} epochs" if same else "from the shorter length to the longer"
    parts = []
    for family, rows in table.groupby("family", sort=False):
        lo, hi = rows.gain.min(), rows.gain.max()
        changes = points(lo) if f"{signed(100 * lo, 2)}" == f"{signed(100 * hi, 2)}" else \
            f"{signed(100 * lo, 2)} to {points(hi)}"
        if band is None:
            parts.append(f"the {family}'s changed by {changes} over {count(len(rows), 'size')}")
            continue
        up, down = int((rows.gain > band).sum()), int((rows.gain < -band).sum())
        verdict = f"rose beyond the noise at {up} of {count(len(rows), 'size')}"
        if down:
            verdict += f" and fell beyond it at {down}"
        parts.append(f"the {family}'s {verdict} ({changes})")
    noise = ("no configuration was trained with several seeds, so these changes are not judged against noise"
             if band is None else f"noise band ±{format_number(100 * band, 2)} points, 95%")
    return f"Training {lengths}, {what} changed as follows: " + "; ".join(parts) + f" ({noise})."


def longer_training_text(study, titles: Mapping[str, str]) -> str:
    """:func:`longer_training_sentence` per dataset of chapter 6's study, each with its own seeds' noise band."""
    from kanmix.frontier import gap_band, longer_training

    return "\n\n".join(
        f"**{title}.** " + longer_training_sentence(longer_training(study.points, d),
                                                     gap_band(study.points[study.points.dataset == d])[0])
        for d, title in titles.items())


# ----------------------------------------------------------------------------- chapter 1's sentences


def layer_cost_points(costs) -> str:
    """What chapter 1's cost table (:func:`kanmix.flops.layer_costs`) says, at efficient-KAN's G = 5, k = 3 where
    the table has them: the parameter and FLOP ratios against a dense layer, and why sizes must be matched."""
    at = costs.xs(3, level="k")
    at = at.xs(5, level="G") if 5 in at.index.get_level_values("G") else at
    lines = [
        "A KAN edge holds $G + k + 2$ parameters. At efficient-KAN's defaults $G = 5$, $k = 3$ (used throughout this "
        "book; the autoencoder paper does not state its values) a KAN layer has "
        f"{span(at['params ratio'])} times the parameters of a "
        "dense layer of the same shape in the table (not quite $G + k + 2$ because the dense layer also has a bias).",
        f"Its matrix-multiply work is $G + k + 1$ times a dense layer's at the same shape: the measured ratio is "
        f"{span(at['FLOPs ratio'])} here, as the formula says. "
        "The B-spline evaluation adds elementwise work that grows with $G$ and $k$ per input but not with the output "
        "width, so for wide layers the GEMM dominates.",
        "A \"KAN\" and an \"MLP\" of the same layer widths are therefore not the same size: a fair comparison matches "
        "parameters or training time, or reports both. Chapters 3 and 4 put parameters, training time and accuracy "
        "per training minute next to every accuracy, and chapter 3 adds an MLP-Mixer matched to the KAN-Mixer in "
        "parameters and one matched in training time.",
    ]
    return "\n".join(f"- {line}" for line in lines)


# ----------------------------------------------------------------------------- chapter 4's controls
# Equal latent sizes, matched parameters, seeds and a converged arm: these take chapter 4's study or the
# comparisons of kanmix.ae.matched_comparisons and say what they show, and what they rest on.


def ae_campaign_text(study) -> str:
    """A note when chapter 4's study read a campaign under way (``available_only``): how many of its planned runs
    and PCA baselines are not in the results store yet; empty when none is missing."""
    if not (study.missing or study.missing_baselines):
        return ""
    baselines = (f" and {count(study.missing_baselines, 'PCA baseline')}" if study.missing_baselines else "")
    return (f"*This chapter shows a campaign under way: {study.missing:,} of its {count(len(study.plan), 'planned run')}"
            f"{baselines} are not in the results store yet, so the tables and sentences below rest on the runs "
            "that are; a comparison without its seeds says it rests on one.*")


def _noise(row) -> str:
    """How sure one comparison of :func:`kanmix.ae.matched_comparisons` is, in words."""
    if row.separated is None:
        return "one seed"
    if row.separated:
        return f"beyond the noise of {row.seeds} seeds"
    return (f"within the noise of {row.seeds} seeds (95% interval of the difference {signed(row.ci_low)} to "
            f"{signed(row.ci_high)})")


def _at(row, full: int) -> str:
    """Where a comparison was made: its latent size, and its training images when not the dataset's most."""
    return f"{row.latent}" + ("" if row.n_train == full else f" ({row.n_train:,} training images)")


def _against(row) -> str:
    """One comparison's two means, its difference and which is better: ``"0.0138 against 0.01376 (−0.0000 ...)"``."""
    from kanmix.ae import label

    better = f"{label(row.better)} better" if row.better else "equal"
    spread = "" if row.separated is None else f" ± {fmt(row.sd, 2)} sd"
    return (f"{fmt(row.a_value)} against {fmt(row.b_value)} (difference {signed(row.diff)}{spread}; {better}, "
            f"{_noise(row)})")


def _setting_lines(rows, what: str) -> str:
    """The comparisons of one setting (``rows`` of :func:`kanmix.ae.matched_comparisons`), each pair on both
    scores: ``"<what>: the KAN AE against PCA: test MSE ...; KNN accuracy ..."``."""
    from kanmix.ae import label

    parts = []
    for (a, b), pair in rows.groupby(["a", "b"], sort=False):
        scores = {r.metric: r for r in pair.itertuples()}
        parts.append(f"the {label(a)} against {'' if b == 'pca' else 'the '}{label(b)}"
                     + (f" (at {pair.latent.iloc[0]})" if a == "cnn" else "") + ": "
                     + "; ".join(f"{name} {_against(scores[m])}" for m, name in
                                 (("test_mse", "test MSE"), ("knn_accuracy", "KNN accuracy")) if m in scores))
    return f"{what}: " + ". ".join(p[0].upper() + p[1:] for p in parts) + "."


def ae_summary(comparisons, *, epochs: int, paper_widths: Mapping[str, int], missing: int = 0) -> str:
    """Chapter 4's conclusions from its matched comparisons (:func:`kanmix.ae.matched_comparisons`: equal latent
    sizes, the same training images and length), as bullets per dataset:

    - at the paper's ``epochs``, how often the KAN autoencoder beats each other model (the same-shape MLP, the
      parameter-matched MLP, the CNN, the authors' code) on test MSE and on KNN accuracy, and how many of the
      seeded comparisons hold beyond the seeds' noise (the rest rest on one seed);
    - where PCA of the same size beats each model, on which score;
    - the paper's setting (``paper_widths[dataset]``, the paper-width arm), every pair with its noise band, and
      the same after the converged arm's longer training.

    ``missing`` planned runs not in the results store yet are said to be missing.
    """
    from kanmix.ae import label
    from kanmix.data import info

    lines = []
    for dataset in dict.fromkeys(comparisons.dataset):
        part = comparisons[comparisons.dataset == dataset]
        title, full = info(dataset).title, part.n_train.max()
        main = part[part.epochs == epochs]
        pairs = main[main.b != "pca"]
        if len(pairs):
            counts = []
            for metric, name in (("test_mse", "test MSE"), ("knn_accuracy", "KNN accuracy")):
                scored = pairs[pairs.metric == metric]
                counts.append(f"on {name} it beats " + listing(
                    f"the {label(b)} at {int((g.better == 'kan').sum())} of {count(len(g), 'size')}"
                    for b, g in scored.groupby("b", sort=False)))
            seeded = pairs[pairs.separated.notna()]
            if len(seeded):
                call = seeded[seeded.better != ""]
                noise = (f"Where {int(seeded.seeds.max())} seeds were trained (at "
                         + listing(dict.fromkeys(_at(r, full) for r in seeded.itertuples()))
                         + f"), {int(call.separated.sum())} of these {len(seeded)} comparisons are beyond the seeds' "
                         "noise (95% interval of the paired difference); every other count rests on one seed.")
            else:
                noise = "Every count rests on one seed."
            lines.append(f"**{title}, the KAN autoencoder at equal latent sizes** ({count(epochs, 'epoch')}): "
                         + "; ".join(counts) + ". " + noise)
        pca = main[main.b == "pca"]
        if len(pca):
            wins = []
            for a, g in pca.groupby("a", sort=False):
                lost = []
                for metric, name in (("test_mse", "test MSE"), ("knn_accuracy", "KNN accuracy")):
                    scored, beaten = g[g.metric == metric], g[(g.metric == metric) & (g.better == "pca")]
                    if len(beaten):
                        where = (f"every size ({len(beaten)})" if len(beaten) == len(scored) > 1 else listing(
                            _at(r, full) + ("" if r.separated is None else f" ({_noise(r)})")
                            for r in beaten.itertuples()))
                        lost.append(f"on {name} at {where}")
                if lost:
                    wins.append(f"the {label(a)} " + ", and ".join(lost))
            lines.append(f"**{title}, PCA** of the same size on the same training images beats "
                         + ("; ".join(wins) if wins else "none of the autoencoders at any size") + ".")
        width = paper_widths.get(dataset)
        for at_paper, what in ((main, f"the paper's {count(epochs, 'epoch')}"),
                               (part[part.epochs > epochs], "trained longer")):
            rows = at_paper[at_paper.paper & (((at_paper.latent == width) & (at_paper.a == "kan"))
                                              | ((at_paper.a == "cnn") & (at_paper.b == "pca")))]
            if width is not None and not len(rows) and what.startswith("the paper"):
                lines.append(f"**{title} at the paper's setting** (bottleneck {width}): not trained yet.")
            if width is not None and len(rows):
                n = rows.n_train.iloc[0]
                longer = "" if what.startswith("the paper") else f", {count(int(rows.epochs.iloc[0]), 'epoch')}"
                lines.append(_setting_lines(rows, f"**{title} at the paper's setting** (bottleneck {width}"
                                                  f"{'' if n == full else f', {n:,} training images'}{longer}, "
                                                  f"{what})"))
    if missing:
        lines.append(f"These rest on the runs in the results store; {count(missing, 'planned run')} of the campaign "
                     "are not there yet, so the counts may change.")
    return bullets(lines) if lines else "No comparison at equal latent sizes has been trained yet."


def ae_converged_text(paper_table, *, epochs: int) -> str:
    """What training longer than the paper's ``epochs`` changes at the paper's widths (:func:`kanmix.ae.
    paper_width_table`): per model with both lengths, the test MSE after each (seed means) and the epoch at which the
    longer run's epoch-on-epoch gain first fell under :data:`kanmix.ae.PLATEAU`."""
    from kanmix.ae import PLATEAU

    if not len(paper_table):
        return "No run at the paper's widths has been trained yet."
    frame = paper_table.reset_index()
    parts = []
    for (dataset, n_train, model, latent), g in frame.groupby(["dataset", "n_train", "model", "latent"], sort=False):
        short, long_ = g[g.epochs == epochs], g[g.epochs > epochs]
        if not (len(short) and len(long_)):
            continue
        a, b = short.iloc[0], long_.iloc[0]
        plateau = (f"its gain per epoch first fell under {fmt(100 * PLATEAU, 2)}% at epoch {int(b.plateau_epoch)}"
                   if b.plateau_epoch is not None and not math.isnan(b.plateau_epoch) else
                   f"every epoch still gained {fmt(100 * PLATEAU, 2)}% or more")
        parts.append(f"{dataset}, the {model} at {latent}: test MSE {fmt(a.test_mse)} after "
                     f"{count(epochs, 'epoch')} ({count(int(a.seeds), 'seed')}), {fmt(b.test_mse)} after {int(b.epochs)} "
                     f"({signed(100 * (b.test_mse - a.test_mse) / a.test_mse, 2)}%); {plateau}")
    if not parts:
        return "No model at the paper's widths has been trained at both lengths yet."
    return ("The paper's recipe keeps the learning rate constant (no warm-up, no decay), so the longer arm is the "
            "same recipe run for longer. " + "; ".join(parts) + ".")


def widened_cnn_text(costs) -> str:
    """Why the CNN autoencoder is not matched to the KAN autoencoder's parameters (:func:`kanmix.ae.
    paper_width_costs`): per dataset, the widened CNN's parameters and training FLOPs against the KAN's."""
    frame = costs.reset_index()
    parts = []
    for dataset, g in frame.groupby("dataset", sort=False):
        by = g.set_index("model")
        if "CNN AE (widened)" not in by.index or "KAN AE" not in by.index:
            continue
        wide, kan = by.loc["CNN AE (widened)"], by.loc["KAN AE"]
        parts.append(f"on {dataset} a CNN autoencoder widened to {fmt(int(wide.params))} parameters (the KAN "
                     f"autoencoder has {fmt(int(kan.params))}; encoder channels {wide.channels}) would take "
                     f"{flop_text(wide.flops)} to train, {fmt(wide.flops_vs_kan, 3)}× the KAN autoencoder's "
                     f"{flop_text(kan.flops)}")
    if not parts:
        return "No CNN autoencoder was priced against a KAN autoencoder at the paper's widths."
    ratio = frame[frame.model == "CNN AE (widened)"].flops_vs_kan
    verdict = ("A convolution applies every weight at every position, so the parameters a CNN would need to match "
               "the KAN autoencoder multiply its compute: no widened CNN is trained here, and the CNN autoencoder "
               "keeps the authors' size." if ratio.min() > 2 else
               "The widened CNN would cost about as much as the KAN autoencoder, but this campaign does not train "
               "it: the CNN autoencoder keeps the authors' size.")
    return "Matched in parameters, " + "; ".join(parts) + ". " + verdict


# ----------------------------------------------------------------------------- chapter 3's random search
# These take :class:`kanmix.studies.SearchStudy` (or its parts) and say what the search found and what it rests on.

#: The random search's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``).
SEARCH_NAMES = {"dim": "width", "depth": "blocks", "weight_decay": "weight decay", "params": "parameters",
                "cost": "training FLOPs per image (× the chapter's KAN-Mixer)", "train_seconds": "training time",
                "val_accuracy": "held-out accuracy", "scored": "trials scored", "skipped": "draws over the budget",
                "trial": "trial", "ci_low": "95% CI low", "ci_high": "95% CI high", "std": "sd over folds",
                "test_accuracy": "test accuracy", "per_minute": "held-out accuracy per training minute",
                "epochs": "epochs"}
SEARCH_UNITS = {"train_seconds": "s"}


def _other_folds(folds: int) -> str:
    return "the other fold" if folds == 2 else f"the other {folds - 1} folds"


def search_campaign_text(study) -> str:
    """A note when the random search was read while its campaign is under way (``available_only``): how many of its
    planned runs are not in the results store yet; empty when none is missing."""
    if not study.missing:
        return ""
    p = study.plan
    where = ("its exported study is not in the results store yet" if study.source is None else
             f"{count(len(study.scored), 'trial')} of {p.trials} are in")
    return (f"*This section shows a campaign under way ({where}): {study.missing:,} of its "
            f"{count(p.planned_runs(), 'planned run')} ({count(p.trials, 'trial')}, then the best configuration on "
            f"{_other_folds(p.folds)} at the search's schedule and on all {p.folds} at the chapter's) "
            "are not in the results store, so the tables and sentences below rest on the runs that are.*")


def search_protocol_text(study, *, title: str, workers: int = 1) -> str:
    """What the random search ran, in numbers: its trials, their fold and schedule, the space, the budget; after
    :func:`search_campaign_text`'s note when runs are missing."""
    p = study.plan
    choices = "; ".join(f"{SEARCH_NAMES.get(k, k)} in {{{', '.join(str(c) for c in v)}}}"
                        for k, v in p.space.items() if isinstance(v, list))
    ranges = "; ".join(f"{SEARCH_NAMES.get(k, k)} log-uniform in [{v[0]:g}, {v[1]:g}]"
                       for k, v in p.space.items() if isinstance(v, tuple))
    n_train = f" ({study.records[0]['n_train']:,} training images)" if study.records else ""
    skipped = int((study.trials.note == "over the budget").sum()) if len(study.trials) else 0
    budget = (f" A draw whose model needs more than {fmt(p.max_cost, 3)}× the training FLOPs per image of this "
              f"chapter's KAN-Mixer is skipped without training and does not count as a trial "
              f"({count(skipped, 'draw')} so far)." if p.max_cost is not None else "")
    note = search_campaign_text(study)
    return (note + "\n\n" if note else "") + (
            f"**The search.** {count(p.trials, 'trial')} of a random search (Optuna; trial *n* draws from the seed "
            f"and *n* alone), each a KAN-Mixer trained for {count(p.epochs, 'epoch')} on fold 0 of this chapter's "
            f"{p.folds}-fold partition of {title}{n_train} and scored by its accuracy on that fold's held-out part. "
            f"Drawn: {choices}; {ranges}; every other setting is this chapter's KAN-Mixer's.{budget} Runs train "
            f"{workers} at a time. The best configuration then trains on {_other_folds(p.folds)} "
            f"for {count(p.epochs, 'epoch')} (how much a one-fold score moves between folds) and on all {p.folds} "
            f"for {p.final_epochs} (this chapter's schedule).")


def search_importance_text(study) -> str:
    """Which drawn settings the trials' held-out accuracy depends on most (fANOVA), or why that cannot be said."""
    imp = study.importances
    if imp.empty:
        return ("No importance can be estimated yet: that needs at least two scored trials whose scores differ.")
    rest = listing(f"{SEARCH_NAMES.get(k, k)} ({fmt(v, 2)})" for k, v in imp.iloc[1:].items())
    return (f"By Optuna's fANOVA over {count(len(study.scored), 'scored trial')}, "
            f"{SEARCH_NAMES.get(imp.index[0], imp.index[0])} accounts for the largest share of the variation in "
            f"held-out accuracy ({fmt(imp.iloc[0], 2)}), then {rest}. With this few trials the shares are rough, and "
            "each is measured over the configurations the budget let the search train, not the whole space.")


def patch_text(outcome) -> str:
    """Whether the patch size of :class:`kanmix.studies.PatchOutcome` wins the search, against the fold noise."""
    p, rival = outcome.patch, outcome.rival
    tries = listing(f"patch {q}: {count(n, 'trial')}" for q, n in sorted(outcome.scored.items()))
    caveat = (f" Each patch size's best is the best of its own trials ({tries}), each on one fold with a short "
              "schedule: a size with more trials has more chances to score high.")
    if outcome.verdict == "untried":
        return (f"No trial with patch {p} was scored, so this search cannot say whether patch {p} wins here"
                + (f" ({tries})." if outcome.scored else "."))
    if outcome.verdict == "alone":
        return f"Every scored trial has patch {p}: this search compares no other patch size."
    ours, theirs = fmt(outcome.scores[p]), fmt(outcome.scores[rival])
    if outcome.verdict == "open":
        return (f"Patch {p}'s best trial scores {ours}, {signed(outcome.margin)} against the best other patch size's "
                f"(patch {rival}, {theirs}); the fold noise is not measured yet, so this is no verdict." + caveat)
    band = (f"{fmt(outcome.band, 2)} (1.96 · √2 times {fmt(outcome.noise, 2)}, the sd of the best configuration's "
            "held-out accuracy over the folds at the search's schedule)")
    if outcome.verdict == "wins":
        head = (f"Patch {p} wins at this scale: its best trial scores {ours}, {signed(outcome.margin)} above the best "
                f"trial of patch {rival} ({theirs}), beyond the fold noise's band of ±{band}.")
    elif outcome.verdict == "ahead":
        head = (f"Patch {p} has the best trial ({ours}), but only {signed(outcome.margin)} above patch {rival}'s best "
                f"({theirs}), within the fold noise's band of ±{band}: at this scale the search does not separate "
                f"patch {p} from patch {rival}.")
    elif outcome.verdict == "behind":
        head = (f"Patch {p} does not have the best trial: patch {rival}'s ({theirs}) is {signed(-outcome.margin)} "
                f"above patch {p}'s best ({ours}), within the fold noise's band of ±{band}, so patch {p} is not "
                "clearly beaten either.")
    else:
        head = (f"Patch {p} does not win at this scale: patch {rival}'s best trial ({theirs}) is "
                f"{signed(-outcome.margin)} above patch {p}'s best ({ours}), beyond the fold noise's band of ±{band}.")
    return head + caveat


def search_final_text(study, comparison, *, kan: str = "KAN-Mixer") -> str:
    """How the searched configuration does at the chapter's schedule: its mean held-out accuracy over the folds and,
    with ``comparison`` (:func:`kanmix.studies.searched_against_chapter`), against the chapter's KAN-Mixer fold by
    fold."""
    p, final = study.plan, study.final
    if final.empty:
        return (f"The best configuration has not been trained with the chapter's schedule yet ({p.final_epochs} "
                f"epochs on each of the {p.folds} folds).")
    b = study.best
    label = ", ".join(f"{SEARCH_NAMES.get(k, k)} {fmt(b[k], 3) if isinstance(v, tuple) else int(b[k])}"
                      for k, v in p.space.items())
    text = (f"Trained for {p.final_epochs} epochs on {count(len(final), 'fold')} of {p.folds}, the best configuration "
            f"({label}) reaches a mean held-out accuracy of {fmt(final.val_accuracy.mean())}"
            f" (at the search's {count(p.epochs, 'epoch')} on fold 0: {fmt(b.val_accuracy)}).")
    if comparison is None:
        return text + f" This chapter's {kan} has no folds of this partition to set beside it."
    return text + " Against this chapter's hand-picked " + kan + ": " + paired_sentence(
        comparison, "searched", kan, metric="held-out accuracy")
