"""What every chapter shares: kernel set-up, tables formatted for reading, numbers in prose, and the
sentences several chapters use (rankings, paired tests, the papers' numbers beside ours, one-fold noise)."""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Mapping
from decimal import Decimal


# The look of every figure in the book: a little larger than matplotlib's 100 dpi so that the
# axis labels stay legible at the book's column width, and no top/right frame.
#: The book's figure style: drawn at the pixels they are shown at (kanmix.page.FIGURE_DPI), with no text below
#: 9 pt (12.5 px on the page, above the 10 px the browser checks hold figures to).
RC_PARAMS = {"figure.dpi": 100, "axes.spines.top": False, "axes.spines.right": False, "font.size": 10,
             "axes.titlesize": 10, "axes.labelsize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
             "legend.fontsize": 9, "legend.title_fontsize": 9, "figure.titlesize": 11}


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

#: The minus sign a reader sees (U+2212): a hyphen-minus is shorter than the plus beside it and reads
#: as a dash, so every number the book prints, in tables and in prose, carries this one instead.
MINUS = "\u2212"

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _minus(text: str) -> str:
    """A number's text with its hyphen-minus made :data:`MINUS` (numbers only: there "-" is always a sign)."""
    return text.replace("-", MINUS)


def typeset(text: str) -> str:
    """Text written for machines (a label from a profile, a symbolic form), written for readers: powers as
    superscripts (``"x^2"`` -> ``"x²"``) and a hyphen-minus before a digit as a minus sign (``"[-1, 1]"`` ->
    ``"[−1, 1]"``; ``"fold-0"`` and ``"2024-01"`` keep their hyphens). ``$…$`` math is left to the book's LaTeX."""
    parts = re.split(r"(\$[^$]*\$)", str(text))  # odd parts are math
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"\^(-?\d+)", lambda m: m.group(1).translate(_SUPERSCRIPT), parts[i])
        parts[i] = re.sub(r"(?<![\w.-])-(?=\.?\d)", MINUS, parts[i])
    return "".join(parts)


def format_number(value, precision: int = 4, *, fixed: bool = False) -> str:
    """One measurement as text with at most ``precision`` significant digits, thousands separators and a true
    minus sign (:data:`MINUS`).

    ``12.5697`` -> ``"12.57"``, ``0.903`` -> ``"0.9030"`` (trailing zeros say how many digits are meant),
    ``-0.0012345`` -> ``"−0.001234"``, ``123456.7`` -> ``"123,500"``, ``2.5e-7`` -> ``"2.500 × 10⁻⁷"``, or
    with ``fixed`` (prose, which never shows a power of ten) ``"0.0000002500"``; missing values (None, NaN)
    -> ``"–"``. Integers (``1004745`` -> ``"1,004,745"``) are counts and keep every digit, and so do whole
    floats too large for ``precision`` digits (a count that became a float).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return _minus(f"{int(value):,}")
    value = float(value)
    if value == 0:
        return "0"  # -0.0 too: a zero has no sign
    if math.isinf(value):
        return _minus(f"{value:g}")
    mantissa, exponent = f"{value:.{precision - 1}e}".split("e")
    magnitude = int(exponent)  # of the rounded value: 0.99996 is 1.000, not 0.99996
    if magnitude < -4 and not fixed:  # 0.00001234: fixed notation would be mostly zeros
        return f"{_minus(mantissa)} × 10{str(magnitude).translate(_SUPERSCRIPT)}"
    if magnitude >= precision:  # past the decimal point: round the integer part, unless it is a count
        if value.is_integer():
            return _minus(f"{int(value):,}")
        value = round(value, precision - 1 - magnitude)
    return _minus(f"{value:,.{max(precision - 1 - magnitude, 0)}f}")


def plain(value) -> str:
    """A setting or a label exactly as given, in fixed notation, with thousands separators and a true minus sign:
    ``1e-05`` -> ``"0.00001"``, ``0.5`` -> ``"0.5"``, ``3.0`` -> ``"3"``, ``20000`` -> ``"20,000"``. Unlike
    :func:`format_number` it neither adds nor drops digits: a learning rate is a choice, not a measurement."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral) or not math.isfinite(value):
        return format_number(value)
    return _minus(f"{Decimal(repr(float(value))).normalize():,f}")


def column_label(name, names: Mapping | None = None, units: Mapping | None = None) -> str:
    """The header a reader sees: ``names[name]`` (else the field name with spaces for underscores, so long
    headers can wrap; a number, such as a learning rate heading its column, as :func:`plain` writes it), then
    `` (unit)`` when ``units`` gives one."""
    label = (names or {}).get(name)
    if label is None:
        label = plain(name) if isinstance(name, numbers.Real) else str(name).replace("_", " ")
    unit = (units or {}).get(name)
    return typeset(f"{label} ({unit})" if unit else str(label))


def format_table(df, *, names: Mapping | None = None, units: Mapping | None = None, precision: int = 4,
                 percent=()):
    """A copy of ``df`` as the text a reader sees; its shape and row order are unchanged.

    - integer columns are counts: every digit, with thousands separators (``1,004,745``);
    - float columns are measurements, shown with at most ``precision`` significant digits
      (:func:`format_number`); a float column whose values are all whole numbers (a count
      that became float, e.g. through a missing value) is shown as a count;
    - the columns named in ``percent`` (fractions: ``0.9031``) are shown as percentages
      (``90.31``) with ``%`` as their unit, always as measurements;
    - numbers in the index are labels, shown as :func:`plain` writes them (``60,000``, ``0.0003``), and its
      text as :func:`typeset` writes it;
    - other columns (text, already formatted numbers) are left as they are but for :func:`typeset`
      (``"x^2"`` -> ``"x²"``, ``"[-1, 1]"`` -> ``"[−1, 1]"``);
    - column and index names become ``names[field]`` with `` (units[field])`` appended
      (:func:`column_label`); fields missing from ``names`` get spaces for underscores.

    Every minus sign is a true one (:data:`MINUS`). ``names``, ``units`` and ``percent`` use field names
    (``"psnr"`` -> ``"PSNR"``, ``"dB"``); fields not in the table are ignored, so chapters can pass one
    mapping for all their tables. In a table with a column MultiIndex, a column is a percentage when
    any level of its name is in ``percent``.
    """
    import pandas as pd

    percent = set(percent)
    units = {**(units or {}), **{field: "%" for field in percent}}
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            out[col] = [typeset(v) if isinstance(v, str) else v for v in series]
            continue
        share = bool(percent & set(col if isinstance(col, tuple) else (col,)))
        out[col] = _cells(100 * series if share else series, precision, whole=not share and _whole(series))
    out.columns = _labels(out.columns, names, units)
    out.index = _index(out.index, names, units)
    return out


def _whole(series) -> bool:
    """Whether a numeric column holds counts: integers, or floats that are all whole numbers."""
    import pandas as pd

    present = series.dropna()
    return pd.api.types.is_integer_dtype(series) or bool(
        len(present) and (present == present.round()).all() and present.abs().max() < 2**53)


def _cells(series, precision: int, *, whole: bool) -> list[str]:
    """A numeric column's cells: counts with every digit, measurements with ``precision`` significant digits."""
    import pandas as pd

    if whole:
        return [format_number(None if pd.isna(v) else int(v)) for v in series]
    return [format_number(None if pd.isna(v) else float(v), precision) for v in series]


def _index(index, names, units):
    """``index`` with its numbers as :func:`plain` writes them, its text :func:`typeset` and its level names as
    :func:`column_label` gives them."""
    import pandas as pd

    labels = [None if n is None else column_label(n, names, units) for n in index.names]
    shown = [[typeset(v) if isinstance(v, str) else plain(v) for v in index.get_level_values(i)]
             for i in range(index.nlevels)]
    if isinstance(index, pd.MultiIndex):
        return pd.MultiIndex.from_arrays(shown, names=labels)
    return pd.Index(shown[0], name=labels[0])


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
    """A number in prose: :func:`format_number` in fixed notation (``0.9031`` -> ``"0.9031"``, ``12345`` ->
    ``"12,345"``, ``-2.4e-7`` -> ``"−0.0000002400"``): a sentence never shows a power of ten."""
    return format_number(value, precision, fixed=True)


def signed(value: float, precision: int = 3) -> str:
    """A difference in prose, always with its sign: ``0.0042`` -> ``"+0.00420"``, ``-3.33e-5`` -> ``"−0.0000333"``;
    the minus is a true minus sign (:data:`MINUS`)."""
    return ("+" if value >= 0 else MINUS) + fmt(abs(value), precision)


#: Below this a p-value is said to be below it, not given: its digits would say nothing more.
P_FLOOR = 0.0001


def p_value(p: float, precision: int = 2) -> str:
    """A p-value in prose: ``0.0123`` -> ``"p = 0.012"``, ``2.4e-7`` -> ``"p < 0.0001"`` (below :data:`P_FLOOR`)."""
    return f"p < {plain(P_FLOOR)}" if p < P_FLOOR else f"p = {fmt(p, precision)}"


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
    """One paired comparison (:class:`kanmix.stats.PairedComparison`, at its default 95% interval) of ``a`` and ``b``
    in words, the difference of two accuracies (fractions) in percentage points.

    The difference is called significant only when the corrected t-test's p is below ``alpha``;
    otherwise the sentence says the data cannot tell the two apart. The exact Wilcoxon p is given
    with its floor, which says whether ``alpha`` was reachable at all with this many pairs;
    ``wilcoxon=False`` leaves it out, as for the folds of a repeated k-fold split, which are not
    the independent pairs the test assumes.
    """
    diff = (f"{a} − {b} = {points(res.mean_diff)} of {metric} (95% interval {signed(100 * res.ci_low, 2)} to "
            f"{signed(100 * res.ci_high, 2)}) over {res.n} pairs")
    tests = f"corrected t-test {p_value(res.p_nb)}"
    if wilcoxon:
        tests += (f"; exact Wilcoxon {p_value(res.p_wilcoxon)}, "
                  f"whose floor with {res.wilcoxon_n} non-zero pairs is {fmt(res.p_floor, 2)}")
    if res.p_nb < alpha:
        better = a if res.mean_diff > 0 else b
        verdict = f"{better} has the higher {metric}, significantly at {alpha}"
    else:
        verdict = f"at {alpha} the data cannot tell {a} and {b} apart"
    unreachable = f"; the Wilcoxon test could not have reached {alpha}" if wilcoxon and res.p_floor >= alpha else ""
    return f"{diff}: {verdict} ({tests}{unreachable})."


def span(values, precision: int = 3, *, show=None) -> str:
    """The range of ``values`` (numbers) in prose, each shown by ``show`` (default :func:`fmt` to ``precision``
    digits): ``"1.03–1.46"``; one number when both ends read the same; ``"from −1.16 to +1.65"`` when the range
    reaches below zero, because a dash beside a minus sign reads as one more minus (``"−1.16–1.65"``)."""
    show = show or (lambda v: fmt(v, precision))
    values = list(values)
    lo, hi = min(values), max(values)
    if show(lo) == show(hi):
        return show(lo)
    if lo < 0:
        return f"from {show(lo)} to {'+' if hi > 0 else ''}{show(hi)}"
    return f"{show(lo)}–{show(hi)}"


def from_to(lo, hi, show=fmt) -> str:
    """Two ends of a range in prose: ``"from 1.20 TFLOP to 3.40 TFLOP"``, or ``"at 1.20 TFLOP"`` when both ends
    read the same under ``show`` (a range of one value is that value)."""
    first, last = show(lo), show(hi)
    return f"at {first}" if first == last else f"from {first} to {last}"


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
    appearing twice count once. Records made on several devices get one sum per device: a GPU's
    seconds and a CPU's do not add up to any one machine's cost.
    """
    unique = distinct(records)
    by_device: dict[str, list[float]] = {}
    for r in unique:
        p = r.get("provenance", {})
        by_device.setdefault(str(p.get("device", "?")), []).append(float(p.get("wall_time_s") or 0.0))
    if len(by_device) > 1:
        parts = [f"{fmt(sum(t) / 3600, 2)} h on {d} ({count(len(t), 'run')})"
                 for d, t in sorted(by_device.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        return (f"{count(len(unique), 'run')}, made on {count(len(by_device), 'device')}: {listing(parts)} of run "
                "time (each device's own seconds, which do not add up to one machine's cost)")
    hours = sum(sum(t) for t in by_device.values()) / 3600
    text = f"{count(len(unique), 'run')}, {fmt(hours, 2)} h of run time in all"
    if workers > 1:
        text += f", about {fmt(hours / workers, 2)} h of wall time with {count(workers, 'run')} at a time"
    return text


# ----------------------------------------------------------------------------- the compute frontier

_PREFIXES = ((1e18, "EFLOP"), (1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"))


def flop_text(value: float) -> str:
    """A FLOP count in prose, with an SI prefix and three significant digits: ``2.72e15`` -> ``"2.72 PFLOP"``."""
    for scale, unit in _PREFIXES:
        if value >= scale * (1 - 5e-4):  # 9.9999e12 is 10.0 TFLOP, not 10,000 GFLOP
            return f"{fmt(value / scale, 3)} {unit}"
    return f"{fmt(value, 3)} FLOP"


def points(value: float) -> str:
    """An accuracy difference in percentage points, signed, two significant digits: ``-0.0123`` -> ``"−1.2 points"``."""
    return f"{signed(100 * value, 2)} points"


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
        cost = (f"{fmt(r.params / r.kan_params, 2)}× the {kan}'s parameters and "
                f"{fmt(r.seconds / r.kan_seconds, 2)}× its training time")
        groups[key].append(f"the {r.model} ({points(r.diff)} [{signed(100 * r.ci_low, 2)}, {signed(100 * r.ci_high, 2)}],"
                           f" {p_value(r.p_holm)}; {cost})")
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
    band = f"±{fmt(100 * margin, 2)} points"
    if -margin < lo and hi < margin:
        return f"{interval}: inside the {band} equivalence margin, so the two are equivalent at that margin."
    return (f"{interval}: it reaches past the {band} equivalence margin, so equivalence cannot be claimed "
            f"(and a difference of up to {fmt(100 * max(abs(lo), abs(hi)), 2)} points is not ruled out).")


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


def pct(v: float) -> str:
    """A fraction as a percentage: three significant digits from 10% up, two below (0.31%), fixed notation."""
    if v is None or not math.isfinite(v):
        return "–"
    return plain(float(f"{100 * v:.3g}" if abs(v) >= 0.1 else f"{100 * v:.2g}")) + "%"


def sig3(v: float) -> str:
    """Three significant digits, trailing zeros dropped (``0.5``, ``0.903``, ``−0.0000477``): unlike
    :func:`format_number`, in fixed notation with a true minus sign."""
    return "–" if v is None or not math.isfinite(v) else plain(float(f"{v:.3g}"))


def times(ratio: float) -> str:
    """A cost ratio: ``5.4×``, ``110×``."""
    return f"{ratio:.2g}×" if ratio < 10 else f"{ratio:,.0f}×"


def bullets(items) -> str:
    """Markdown bullets, one per item."""
    return "\n".join(f"- {item}" for item in items)
