"""The book's opening findings: one plain sentence per chapter's answer, each with at most two numbers and a
pointer to the chapter that shows it, written ``(chapter N)`` (the book's Sphinx extension makes it a link).

Each sentence is computed from the inputs the findings page already holds, so it flips when the evidence
flips, and calls a difference one only where the chapter's own test does: chapter 3's Holm-adjusted p,
chapter 4's matched comparisons' own interval, chapter 5's :attr:`kanmix.interpret.Comparison.sign`, and
chapter 6's noise band and slope interval (what :func:`frontier_gap_sentence` and
:func:`frontier_trend_sentence` would claim). A sentence that names a winner also names where it loses,
and every dataset the chapter ran. Each function returns ``None`` when its evidence is missing (a campaign
not run yet); :func:`headline_findings` gathers the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from kanmix.report._format import fmt, listing, plain
from kanmix.report._splines import _num, _pct

#: The chapters' labels (chapter 3's models, chapter 6's families, chapter 4's model keys) in a reader's words.
PLAIN_NAMES = {
    "KAN-Mixer": "the KAN-Mixer", "MLP-Mixer": "an MLP-Mixer",
    "MLP-Mixer (time-matched)": "an MLP-Mixer trained for as long",
    "MLP-Mixer (param-matched)": "an MLP-Mixer with as many parameters", "MLP": "an MLP", "KAN": "a KAN",
    "MLP-Mixer (1×)": "an MLP-Mixer with the KAN-Mixer's hidden widths",
    "kan": "the KAN autoencoder", "mlp": "an MLP autoencoder of the same shape",
    "mlp_matched": "an MLP autoencoder with as many parameters", "cnn": "a convolutional autoencoder",
    "kan1": "the authors' KAN autoencoder", "pca": "PCA of the same size",
}


def plain_name(label: str) -> str:
    """``label`` as :data:`PLAIN_NAMES` writes it (an unknown label keeps its name, after "the")."""
    return PLAIN_NAMES.get(label, f"the {label}")


def _title(dataset: str) -> str:
    from kanmix.data import info

    return info(dataset).title


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _pointer(text: str, chapter: int) -> str:
    return f"{_capital(text)} (chapter {chapter})."


def _two(value: float) -> str:
    """A margin in prose, two significant digits and no trailing zeros: ``0.7``, ``4.4``, ``55``, ``120``."""
    return plain(float(f"{value:.2g}"))


# ----------------------------------------------------------------------------- one contest, in words


class Words(NamedTuple):
    """How one chapter words ``first`` against ``second``: ``better`` (``"is more accurate than"``), and after
    it ``worse`` (``"less accurate"``), ``same`` (``"as accurate"``, said with "within noise"); ``tie`` when no
    difference is claimed anywhere (``"is as accurate as"``); the size of a lead, the first with its unit
    (``"by {} points"``), the second without (``"{}"``), for a win and for a loss."""

    better: str
    worse: str
    same: str
    tie: str
    win: tuple[str, str]
    loss: tuple[str, str]


def _where(titles: list[str], values: list[str] | None, forms: tuple[str, str], every: int) -> str:
    """Where one verdict holds: ``"on MNIST"``, ``"on both MNIST and CIFAR-10"``, or with the leads ``"on MNIST,
    by 0.7 points"``, ``"on both datasets, by 0.7 points on A and 4.4 on B"`` (``every``: how many datasets the
    chapter ran)."""
    if not values:
        return "on " + ("both " if len(titles) == 2 == every else "") + listing(titles)
    first, rest = forms
    if len(titles) == 1:
        return f"on {titles[0]}, {first.format(values[0])}"
    amounts = f"{first.format(values[0])} on {titles[0]} and {rest.format(values[1])} on {titles[1]}"
    return ("on both datasets, " if every == 2 else "") + amounts


def _contest(first: str, second: str, outcomes: Mapping[str, tuple], words: Words, *, budget: int = 2) -> str:
    """``first`` against ``second`` over datasets, in one clause: ``outcomes`` maps a dataset's title to
    ``(verdict, lead)``, the verdict +1 (``first`` better beyond noise), −1 (``second`` better), 0 (within
    noise) or a phrase said as it is (``"a single seed cannot tell them apart"``), and the lead the winner's
    margin as text, or as ``(said where it wins, said where it loses)`` when the two differ (``None``: none
    given). The winner is the subject; the leads are given only when there are at most ``budget`` of them."""
    groups: dict = {}
    for title, (verdict, lead) in outcomes.items():
        groups.setdefault(verdict, []).append((title, lead))
    wins, losses = groups.pop(1, []), groups.pop(-1, [])
    if losses and not wins:
        first, second, wins, losses = second, first, losses, wins
    leads = [lead for _, lead in wins + losses]
    shown = bool(leads) and len(leads) <= budget and None not in leads
    every = len(outcomes)

    def where(items, *, lost: bool = False, amounts: bool = True):
        values = [v[lost] if isinstance(v, tuple) else v for _, v in items]
        return _where([t for t, _ in items], values if shown and amounts else None, words.loss if lost else words.win,
                      every)

    def joined(head: str, tail: str) -> str:
        return head + (" " if tail.startswith("on ") else ", ") + tail

    clauses = []
    if wins:
        clauses.append(joined(f"{first} {words.better} {second}", where(wins)))
        if losses:
            clauses.append("but " + joined(words.worse, where(losses, lost=True)))
    ties = groups.pop(0, [])
    if ties:
        clauses.append(f"and {words.same}, within noise, {where(ties, amounts=False)}" if clauses else
                       f"{first} {words.tie} {second}, within noise, {where(ties, amounts=False)}")
    for phrase, items in groups.items():
        clauses.append(("and " if clauses else "") + f"{phrase} {where(items, amounts=False)}")
    return ", ".join(clauses)


# ----------------------------------------------------------------------------- the findings


_ACCURACY = Words("is more accurate than", "less accurate", "as accurate", "is as accurate as",
                  ("by {} points", "{}"), ("by {} points", "{}"))


def mixers_finding(against: Mapping | None, pair: tuple[str, str] | None, *, alpha: float = 0.05) -> str | None:
    """Chapter 3's headline pair on every dataset: ``against`` maps a dataset to its
    :func:`kanmix.studies.kan_mixer_against` rows, ``pair`` is ``mixers.headline_pair`` (the KAN-Mixer and the
    MLP-Mixer named in advance). A difference is one where its Holm-adjusted p is below ``alpha``; the lead is
    in accuracy points. ``None`` without a pair, or where no dataset has that MLP-Mixer."""
    if not against or pair is None:
        return None
    kan, other = pair
    outcomes = {}
    for dataset, rows in against.items():
        row = rows[rows.model == other] if len(rows) else rows
        if not len(row):
            continue
        r = row.iloc[0]
        verdict = 0 if not r.p_holm < alpha else 1 if r["diff"] > 0 else -1
        outcomes[_title(dataset)] = (verdict, _two(100 * abs(r["diff"])))
    if not outcomes:
        return None
    return _pointer(_contest(plain_name(kan), plain_name(other), outcomes, _ACCURACY), 3)


def _lead(cmp) -> int | str:
    """One dataset's frontiers at equal compute as a verdict of :func:`_contest` (as
    :func:`frontier_gap_sentence` judges them): +1 or −1 where one family is ahead beyond the noise band at
    every level compared, 0 where none is, a phrase where the lead is partial or split, or unjudged."""
    a, b = plain_name(cmp.a), plain_name(cmp.b)
    if cmp.band is None:
        return f"with one seed per size, no gap between {a} and {b} is judged against noise"
    ahead = cmp.ahead()
    n, na, nb = len(cmp.gaps), len(ahead[cmp.a]), len(ahead[cmp.b])
    if na and nb:
        return f"{a} and {b} each lead at some compute levels"
    if na == n or nb == n:
        return 1 if na else -1
    if na or nb:
        return f"{a if na else b} leads at some compute levels and ties at the rest"
    return 0


def _trend(cmp, lead) -> str | None:
    """How one dataset's gap moves with compute, as :func:`frontier_trend_sentence` would claim it (``None``
    without an interval for the slope)."""
    if cmp.slope_ci is None:
        return None
    lo, hi = cmp.slope_ci
    if lo <= 0 <= hi:
        return "neither closes nor widens measurably"
    toward = 1 if cmp.slope > 0 else -1
    if lead in (1, -1):
        return "widens" if toward == lead else "narrows"
    return f"moves toward {plain_name(cmp.a if toward == 1 else cmp.b)}"


def scale_finding(comparisons: Mapping | None, *, missing: int = 0) -> str | None:
    """Chapter 6's frontiers at equal training FLOPs: ``comparisons`` maps a dataset to its
    :func:`kanmix.frontier.compare` (the KAN-Mixer's family first). Who is ahead on each dataset, over how wide
    a range of compute (the one number), and whether the gap closes as compute grows. ``missing`` planned runs
    not in the results store yet make it "so far". ``None`` where no dataset's frontiers overlap."""
    if not comparisons:
        return None
    outcomes, trends, apart = {}, {}, []
    ratio = 1.0
    for dataset, cmp in comparisons.items():
        title = _title(dataset)
        if cmp.lo is None or cmp.gaps.empty:
            apart.append(title)
            continue
        outcomes[title] = (_lead(cmp), None)
        trends.setdefault(_trend(cmp, outcomes[title][0]), []).append(title)
        ratio = max(ratio, cmp.hi / cmp.lo)
    if not outcomes:
        return None
    first = next(iter(comparisons.values()))
    span = f", across a {fmt(ratio, 2)}-fold range" if fmt(ratio, 2) != "1.0" else ""
    text = (("so far, at" if missing else "at") + f" equal training compute{span}, "
            + _contest(plain_name(first.a), plain_name(first.b), outcomes, _ACCURACY, budget=0))
    trends.pop(None, None)
    if len(trends) == 1 and sum(map(len, trends.values())) == len(outcomes):
        text += f"; as compute grows, the gap {next(iter(trends))}"
    elif trends:
        text += "; as compute grows, the gap " + listing(f"{how} on {listing(ts)}" for how, ts in trends.items())
    if apart:
        text += f"; on {listing(apart)} the frontiers do not overlap yet"
    return _pointer(text, 6)


_RECONSTRUCTION = Words("reconstructs the test images better than", "worse", "as well",
                        "reconstructs the test images as well as",
                        ("with {}% less error", "{}% less"), ("with {}% more error", "{}% more"))


def autoencoders_finding(comparisons, *, epochs: int | None, paper_widths: Mapping[str, int] | None) -> str | None:
    """Chapter 4's KAN autoencoder against PCA of the same size at the paper's latent size of each dataset, on
    test MSE after the paper's ``epochs``: ``comparisons`` is :func:`kanmix.ae.matched_comparisons`' table (the
    paper-width arm, its most training images). A difference is one where the comparison's own interval
    excludes zero; the lead is the winner's error below the loser's, in percent. ``None`` before any
    paper-width run."""
    if comparisons is None or not len(comparisons) or epochs is None or not paper_widths:
        return None
    import pandas as pd

    c = comparisons
    chosen = c[(c.epochs == epochs) & (c.a == "kan") & (c.b == "pca") & (c.metric == "test_mse") & c.paper.astype(bool)
               & (c.latent == c.dataset.map(paper_widths))]
    outcomes = {}
    for dataset in dict.fromkeys(chosen.dataset):
        r = chosen[chosen.dataset == dataset].sort_values("n_train").iloc[-1]
        if r.separated is None or pd.isna(r.separated):
            verdict = "a single seed cannot tell PCA and the KAN autoencoder apart"
        else:
            verdict = 0 if not r.separated or not r.better else 1 if r.better == "kan" else -1
        best, worst = sorted((r.a_value, r.b_value))
        gap = worst - best  # the winner's error is gap / worst less than the loser's, the loser's gap / best more
        lead = (_two(100 * gap / worst), _two(100 * gap / best)) if best > 0 and math.isfinite(worst) else None
        outcomes[_title(dataset)] = (verdict, lead)
    if not outcomes:
        return None
    at = "the paper's latent sizes" if len(outcomes) > 1 else "the paper's latent size"
    return _pointer(f"at {at}, " + _contest(plain_name("kan"), plain_name("pca"), outcomes, _RECONSTRUCTION), 4)


def _shape_clause(ev) -> tuple[str, bool] | None:
    """What training does to the KAN edges' distance from the SiLU shape (the two shares of SiLU-like edges),
    and whether that is something an MLP's edges would not show (``None`` without the measure)."""
    from kanmix.interpret.evidence import per_state

    c = per_state(ev)
    silu, dev = c.get("silu_like"), c.get("deviation")
    if silu is None:
        return None
    if silu.sign is None:
        return "with one seed, the KAN-Mixer's edges are not judged against their initial SiLU shape", False
    deviation = None if dev is None else dev.sign  # +1: further from the SiLU shape, as fewer SiLU-like edges
    shares = f"({_pct(silu.a)} of them SiLU-like, against {_pct(silu.b)} at initialisation)"
    if silu.sign == 0 and deviation in (1, -1):  # the numbers quoted are those of the measure that moved
        shares = (f"(median deviation from that shape {_num(dev.a)}, against {_num(dev.b)} at initialisation)")
    if silu.sign == -1 or deviation == 1:  # as :func:`findings` reads it
        return f"training bends the KAN-Mixer's edges away from the SiLU shape {shares}", True
    if silu.sign == 1 or deviation == -1:
        return f"training brings the KAN-Mixer's edges closer to the SiLU shape of an MLP {shares}", False
    return (f"training leaves the KAN-Mixer's edges as close to the SiLU shape as at initialisation, within noise "
            f"{shares}"), False


def _seeds_clause(ev, after_edges: bool) -> tuple[str, bool] | None:
    """Whether the token maps recur across seeds beyond untrained ones and beyond an MLP-Mixer's, and whether
    that sets the KAN-Mixer apart (``None`` without the measure or its noise)."""
    from kanmix.interpret.evidence import compare, seed_agreement

    stab = seed_agreement(ev)
    if stab is None or stab.sign is None:
        return None
    maps = "the token maps they form" if after_edges else "the KAN-Mixer's token maps"
    if stab.sign != 1:
        return f"{maps} recur across seeds {'no more' if stab.sign == 0 else 'less'} than untrained ones do", False
    vs = compare(ev.stability["trained"], ev.stability["mlp"]) if len(ev.stability.get("mlp", ())) else None
    if vs is None or vs.sign is None:
        return f"{maps} recur across seeds more than untrained ones do", True
    if vs.sign == 1:
        return f"{maps} recur across seeds more than an MLP-Mixer's do", True
    return f"{maps} recur across seeds {'no more' if vs.sign == 0 else 'less'} than an MLP-Mixer's do", False


def inside_finding(ev) -> str | None:
    """Chapter 5's evidence (:class:`kanmix.interpret.Evidence`) on what training makes of the KAN-Mixer's
    edges: how far from the SiLU shape they move (the two numbers), and whether the token maps they form recur
    across seeds more than an MLP-Mixer's, each judged by its :attr:`~kanmix.interpret.Comparison.sign`.
    ``None`` without evidence."""
    if ev is None:
        return None
    shape = _shape_clause(ev)
    seeds = _seeds_clause(ev, shape is not None)
    if shape is None and seeds is None:
        return None
    if shape is None or seeds is None:
        return _pointer((shape or seeds)[0], 5)
    return _pointer(f"{shape[0]}, {'and' if shape[1] == seeds[1] else 'yet'} {seeds[0]}", 5)


def headline_findings(*, against: Mapping | None = None, pair: tuple[str, str] | None = None,
                      frontier: Mapping | None = None, missing: int = 0, comparisons=None, epochs: int | None = None,
                      paper_widths: Mapping[str, int] | None = None, evidence=None) -> list[str]:
    """The book's opening findings, in the order mixers (chapter 3), scale (chapter 6), autoencoders (chapter
    4), inside the KAN-Mixer (chapter 5): each of :func:`mixers_finding`, :func:`scale_finding`,
    :func:`autoencoders_finding` and :func:`inside_finding` from its inputs, those whose evidence is missing
    left out."""
    found = [mixers_finding(against, pair), scale_finding(frontier, missing=missing),
             autoencoders_finding(comparisons, epochs=epochs, paper_widths=paper_widths), inside_finding(evidence)]
    return [s for s in found if s is not None]
