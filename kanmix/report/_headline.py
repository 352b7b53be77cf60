"""The book's opening findings: one plain sentence per chapter's answer, each with at most two numbers and a
pointer to the chapter that shows it, written ``(chapter N)`` (the book's Sphinx extension makes it a link).

Each sentence is computed from the inputs the findings page already holds, so it flips when the evidence
flips, and calls a difference one only where the chapter's own test does: chapter 3's Holm-adjusted p,
chapter 4's matched comparisons' own interval, chapter 5's :attr:`kanmix.interpret.Comparison.sign`, and
chapter 6's noise band and slope interval (what :func:`frontier_gap_sentence` and
:func:`frontier_trend_sentence` would claim). A sentence that names a winner also names where it loses,
and every dataset the chapter ran. Each function returns ``None`` when its evidence is missing (a campaign
not run yet); :func:`headline_findings` gathers the rest.

A chapter opens with its own findings (:func:`chapter_findings`): the same sentences, and where a chapter has
more to say one more of the same kind (:func:`mixers_field_finding`, :func:`like_for_like_finding`, or
:func:`scale_finding` by training time). The findings page's paragraphs under its opening block are
:func:`findings_in_detail`. The page reads every chapter's study as :class:`ChapterStudies`, which feeds both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from kanmix.report._format import fmt, listing, pct, plain, sig3

if TYPE_CHECKING:
    import pandas as pd

    from kanmix.studies import AutoencoderStudy, FrontierReading, FrontierStudy, MixerStudy, SplinesStudy

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


def mixers_field_finding(against: Mapping | None, pair: tuple[str, str] | None, *,
                         alpha: float = 0.05) -> str | None:
    """Chapter 3's KAN-Mixer against every other model of its cross-validation but the headline pair's MLP-Mixer
    (:func:`mixers_finding` says that one): on each dataset, the models it is more accurate than and those more
    accurate than it, each where the pair's Holm-adjusted p is below ``alpha``; no numbers (the chapter's tables
    give them). ``against`` and ``pair`` are :func:`mixers_finding`'s. ``None`` where no pair is separated."""
    if not against:
        return None
    kan, other = pair if pair is not None else ("KAN-Mixer", None)
    ahead: dict[str, list[str]] = {}  # dataset title -> the models the KAN-Mixer beats there
    behind: dict[str, list[str]] = {}  # model -> the dataset titles where it beats the KAN-Mixer
    for dataset, rows in against.items():
        for r in rows.itertuples():
            if r.model != other and r.p_holm < alpha:
                if r.diff > 0:
                    ahead.setdefault(_title(dataset), []).append(plain_name(r.model))
                else:
                    behind.setdefault(plain_name(r.model), []).append(_title(dataset))
    if not ahead and not behind:
        return None
    groups: dict[tuple, list[str]] = {}  # datasets with the same beaten models said together
    for title, beaten in ahead.items():
        groups.setdefault(tuple(beaten), []).append(title)
    every = len(against)
    clauses = [("than " if i else "") + listing(beaten) + " "
               + ("on both datasets" if len(titles) == 2 == every else "on " + listing(titles))
               for i, (beaten, titles) in enumerate(groups.items())]
    text = (f"of the other models, {plain_name(kan)} is more accurate than " + " and ".join(clauses)
            if clauses else "")
    losses = "; ".join(f"{model} is more accurate than {'it' if clauses else plain_name(kan)} on {listing(titles)}"
                       for model, titles in behind.items())
    return _pointer(text + ("; " if text and losses else "") + losses, 3)


def _lead(cmp) -> int | str:
    """One dataset's frontiers at equal compute as a verdict of :func:`_contest` (as
    :func:`frontier_gap_sentence` judges them): +1 or −1 where one family is ahead beyond the noise band at
    every level compared, 0 where none is, a phrase where the lead is partial or split, or unjudged."""
    a, b = plain_name(cmp.a), plain_name(cmp.b)
    if cmp.band is None:
        gaps = cmp.gaps.gap
        if not ((gaps > 0).all() or (gaps < 0).all()):
            return f"with one seed per size, no gap between {a} and {b} is judged against noise"
        return (f"with one seed per size (no noise band to judge it against), {a if gaps.iloc[0] > 0 else b}'s "
                "frontier is higher at every level compared")
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


def scale_finding(comparisons: Mapping | None, *, missing: int = 0, what: str = "training compute",
                  grows: str = "compute") -> str | None:
    """Chapter 6's frontiers at equal training FLOPs: ``comparisons`` maps a dataset to its
    :func:`kanmix.frontier.compare` (the KAN-Mixer's family first). Who is ahead on each dataset, over how wide
    a range of compute (the one number), and whether the gap closes as compute grows. ``missing`` planned runs
    not in the results store yet make it "so far". ``None`` where no dataset's frontiers overlap. For frontiers
    compared on another axis (training seconds), ``what`` names the budget (``"training time"``) and ``grows``
    what grows (``"the budget"``)."""
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
    text = (("so far, at" if missing else "at") + f" equal {what}{span}, "
            + _contest(plain_name(first.a), plain_name(first.b), outcomes, _ACCURACY, budget=0))
    trends.pop(None, None)
    if len(trends) == 1 and sum(map(len, trends.values())) == len(outcomes):
        text += f"; as {grows} grows, the gap {next(iter(trends))}"
    elif trends:
        text += f"; as {grows} grows, the gap " + listing(f"{how} on {listing(ts)}" for how, ts in trends.items())
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


def _sizes(won: int, total: int) -> str:
    """How many latent sizes a model won, in words: ``"at every latent size"``, ``"at 3 of 7 latent sizes"``."""
    if won == total:
        return "at every latent size" if total > 1 else "at the one latent size compared"
    return "at no latent size" if won == 0 else f"at {won} of {total} latent sizes"


def like_for_like_finding(comparisons, *, epochs: int | None) -> str | None:
    """Chapter 4's KAN autoencoder against the MLP autoencoders at equal latent sizes (the same shape, and matched
    in parameters), on test MSE after the paper's ``epochs``: ``comparisons`` is
    :func:`kanmix.ae.matched_comparisons`' table (at each latent size its most training images). A size counts as
    won where the KAN autoencoder's mean error is lower and the seeds' interval, where there are seeds, excludes
    zero; how many sizes rest on a single seed is said. No number but the counts. ``None`` before any such
    comparison."""
    if comparisons is None or not len(comparisons) or epochs is None:
        return None
    c = comparisons
    chosen = c[(c.epochs == epochs) & (c.a == "kan") & c.b.isin(["mlp", "mlp_matched"]) & (c.metric == "test_mse")]
    chosen = chosen.sort_values("n_train").groupby(["dataset", "b", "latent"], sort=False).tail(1)
    if not len(chosen):
        return None
    clauses = []
    for b in ("mlp", "mlp_matched"):
        groups: dict[str, list[str]] = {}
        for dataset, g in chosen[chosen.b == b].groupby("dataset", sort=False):
            won = int(((g.better == "kan") & (g.separated.isna() | g.separated.astype(bool))).sum())
            groups.setdefault(_sizes(won, len(g)), []).append(_title(dataset))
        if groups:
            where = listing(f"{how} on {listing(titles)}" for how, titles in groups.items())
            clauses.append(f"{'than ' if clauses else ''}{plain_name(b)} {where}")
    single = int(chosen.separated.isna().sum())
    noise = ("; each rests on a single seed" if single == len(chosen) else
             f"; {single} of these {len(chosen)} sizes rest on a single seed" if single else "")
    return _pointer("at equal latent sizes, the KAN autoencoder has a lower test error than " + ", and ".join(clauses)
                    + noise, 4)


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
    shares = f"({pct(silu.a)} of them SiLU-like, against {pct(silu.b)} at initialisation)"
    if silu.sign == 0 and deviation in (1, -1):  # the numbers quoted are those of the measure that moved
        shares = (f"(median deviation from that shape {sig3(dev.a)}, against {sig3(dev.b)} at initialisation)")
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


def linear_finding(ev) -> str | None:
    """Chapter 5's functional test of the splines (:func:`kanmix.report.replacement` of the
    :class:`kanmix.interpret.Evidence` ``ev``): what replacing the trained KAN-Mixer's edges by their
    best-fitting MLP edge, ``a + b SiLU(x)``, does to its test accuracy (trained and replaced, the two
    numbers), and whether fine-tuning wins it back, each judged by its noise band. ``None`` without
    linearized records or a band."""
    from kanmix.report._splines import replacement

    replaced = None if ev is None else replacement(ev)
    if replaced is None:
        return None
    what, e = replaced
    head = f"replacing {what} by its best-fitting MLP edge, a + b·SiLU(x),"
    if e.raw.sign == 0:
        return _pointer(f"{head} leaves its test accuracy unchanged, within noise: the splines do nothing an MLP "
                        "edge could not", 5)
    if e.raw.sign == 1:
        return _pointer(f"{head} raises its test accuracy from {sig3(e.raw.b)} to {sig3(e.raw.a)}: its splines' "
                        "departures from the SiLU shape cost accuracy", 5)
    drop = f"{head} drops its test accuracy from {sig3(e.raw.b)} to {sig3(e.raw.a)}"
    if e.tuned.sign == -1:
        return _pointer(f"{drop}, and fine-tuning does not win it back: the splines do work an MLP edge in their "
                        "place does not", 5)
    return _pointer(f"{drop}, but fine-tuning wins it back, within noise: MLP edges can learn what the splines do",
                    5)


def on_own_page(chapter: int, *found: str | None) -> list[str]:
    """The sentences of ``found`` that are not ``None``, each without its pointer to chapter ``chapter``: the
    findings page points there, and on the chapter's own page the pointer would point at itself."""
    own = f" (chapter {chapter})."
    return [s[:-len(own)] + "." if s.endswith(own) else s for s in found if s]


def chapter_findings(chapter: int, *found: str | None) -> list[str]:
    """What chapter ``chapter`` states first, above its study (:func:`kanmix.page.findings`): the sentences of
    ``found`` its evidence supports (:func:`on_own_page`), or one sentence saying there is no finding yet (its
    runs not in the results store)."""
    return (on_own_page(chapter, *found)
            or ["No finding yet: the runs this chapter compares are not in the results store."])


def headline_findings(*, against: Mapping | None = None, pair: tuple[str, str] | None = None,
                      frontier: Mapping | None = None, missing: int = 0, comparisons=None, epochs: int | None = None,
                      paper_widths: Mapping[str, int] | None = None, evidence=None) -> list[str]:
    """The book's opening findings, in the order mixers (chapter 3), scale (chapter 6), autoencoders (chapter
    4), inside the KAN-Mixer (chapter 5): each of :func:`mixers_finding`, :func:`scale_finding`,
    :func:`autoencoders_finding`, :func:`inside_finding` and :func:`linear_finding` from its inputs, those whose
    evidence is missing left out."""
    found = [mixers_finding(against, pair), scale_finding(frontier, missing=missing),
             autoencoders_finding(comparisons, epochs=epochs, paper_widths=paper_widths), inside_finding(evidence),
             linear_finding(evidence)]
    return [s for s in found if s is not None]


# ----------------------------------------------------------------------------- the findings page, in detail
# One paragraph per chapter under the findings page's opening block: the chapters' own sentences (the same
# functions, on the same inputs), gathered.


def _scale_detail(comparisons: Mapping, missing: int) -> str:
    from kanmix.report._format import count
    from kanmix.report._frontier import frontier_gap_sentence, frontier_trend_sentence

    under_way = f"; a campaign under way, {count(missing, 'planned run')} not yet in the results store" if missing else ""
    return f"**At equal compute** (chapter 6{under_way}). " + " ".join(
        f"{_title(d)}: " + frontier_gap_sentence(c) + " " + frontier_trend_sentence(c) for d, c in comparisons.items())


def _mixers_detail(study, against: Mapping, *, folds: int, repeats: int, paper: Mapping) -> str:
    from kanmix.report._format import against_sentence, compare_to_paper, paired_sentence
    from kanmix.studies import headline_comparison, separated_pairs, summaries

    parts = []
    for dataset, s in summaries(study).items():
        title = _title(dataset)
        parts.append(against_sentence(against[dataset], title=title) + " " + compare_to_paper(
            s["val_accuracy"].to_dict(), paper.get(dataset, {}), what="mean held-out accuracy",
            noise=s["std"].to_dict(), separated=separated_pairs(study.folds[study.folds.dataset == dataset],
                                                                folds=folds)))
    text = "**KAN-Mixers** (chapter 3). " + " ".join(parts)
    if study.headline_pair is not None:
        text += f" The headline pair over all {repeats} repeats of the split: " + paired_sentence(
            headline_comparison(study, folds), *study.headline_pair, wilcoxon=False)
    return text


def _inside_detail(evidence, seeds: int) -> str:
    """Chapter 5's paragraph of the findings page: every positive finding, then every negative result (a
    measure within noise of its untrained control, a property shared with the MLP-Mixer, a control not beaten)."""
    from kanmix.report._format import count
    from kanmix.report._splines import findings, negative_results

    # Semicolons: the phrases carry commas and colons of their own.
    found = findings(evidence)
    return " ".join(filter(None, [
        f"**Inside the KAN-Mixer** (chapter 5, {count(seeds, 'seed')}, each measure set against the same network at "
        "initialisation and called a difference only beyond the seeds' noise): "
        + ("; ".join(found) + "." if found else
           "no measure separates the trained edges from their untrained twins beyond noise."),
        negative_results(evidence)]))


def _layer_detail(bench: Mapping) -> str:
    """Chapter 2's benchmark record (:func:`kanmix.bench.kan.stored`): per dtype, ``KANLinear``'s time against the
    dense limit and against the plain efficient-KAN formulation."""
    import pandas as pd

    from kanmix.report._format import count, span

    speed = pd.DataFrame(bench["shapes"])
    speed["kanmix_limit"], speed["ref_kanmix"] = speed.kanmix / speed.limit, speed.reference / speed.kanmix
    parts = [f"in {dtype} {'`KANLinear`' if i == 0 else 'it'} takes {span(g.kanmix_limit)}× the time of the "
             f"three-GEMM dense limit and runs {span(g.ref_kanmix)}× faster than the plain efficient-KAN formulation"
             for i, (dtype, g) in enumerate(speed.groupby("dtype", sort=False))]
    n_shapes = speed["shape"].map(tuple).nunique()
    return (f"**The layer.** Over {count(n_shapes, 'benchmark shape')}: " + "; ".join(parts)
            + f" ({bench['provenance']['device']}).")


def findings_in_detail(*, frontier: Mapping, frontier_missing: int, mixers, against: Mapping, folds: int,
                       repeats: int, paper: Mapping, ae_comparisons, epochs: int, paper_widths: Mapping,
                       ae_missing: int, evidence, seeds: int, bench: Mapping | None = None) -> str:
    """The findings page's paragraphs under its opening block, in Markdown: the compute frontier on every dataset
    (chapter 6: ``frontier`` as :func:`scale_finding` takes it, ``frontier_missing`` runs not stored yet); the
    KAN-Mixer against every baseline and the paper (chapter 3: its study ``mixers``, ``against`` as
    :func:`mixers_finding` takes it, the CV's ``folds``, the headline pair's ``repeats``, the ``paper``'s
    accuracies); the autoencoders' matched comparisons (chapter 4, :func:`kanmix.report.ae_summary`'s inputs);
    every measure of chapter 5's ``evidence`` over its ``seeds``; and, with chapter 2's ``bench`` record, the
    layer's speed."""
    from kanmix.report._autoencoders import ae_summary

    points = [_scale_detail(frontier, frontier_missing),
              _mixers_detail(mixers, against, folds=folds, repeats=repeats, paper=paper),
              "**KAN autoencoders** (chapter 4).\n\n" + ae_summary(ae_comparisons, epochs=epochs,
                                                                   paper_widths=paper_widths, missing=ae_missing),
              _inside_detail(evidence, seeds)]
    if bench:
        points.append(_layer_detail(bench))
    return "\n\n".join(points)


# ----------------------------------------------------------------------------- the findings page
# The findings page reads every chapter's study the way the chapter does (the same functions on the chapter's
# parameters), so the page and the chapters cannot disagree: ChapterStudies holds them, and the page's cells each
# make one call.


@dataclass
class ChapterStudies:
    """The chapters' studies as the findings page reads them (:meth:`read`), each as its own chapter does.

    - ``params``: chapter (``"02"`` ... ``"06"``) -> its parameters under the page's profile
      (:func:`kanmix.book.chapter_parameters`);
    - ``mixers``: chapter 3's :class:`kanmix.studies.MixerStudy`; ``against``: the KAN-Mixer against each other
      model per dataset (:func:`kanmix.studies.kan_mixer_against_each`);
    - ``scale``: chapter 6's :class:`kanmix.studies.FrontierStudy`; ``scale_reading``: its
      :class:`kanmix.studies.FrontierReading`;
    - ``autoencoders``: chapter 4's :class:`kanmix.studies.AutoencoderStudy`; ``ae_comparisons``: its
      :func:`kanmix.ae.matched_comparisons`;
    - ``splines``: chapter 5's :class:`kanmix.studies.SplinesStudy`;
    - ``bench``: chapter 2's stored benchmark record (:func:`kanmix.bench.kan.stored`), ``None`` where chapter 2
      reads its benchmark from a JSON file.
    """

    params: Mapping[str, Mapping]
    mixers: MixerStudy
    against: Mapping
    scale: FrontierStudy
    scale_reading: FrontierReading
    autoencoders: AutoencoderStudy
    ae_comparisons: pd.DataFrame
    splines: SplinesStudy
    bench: Mapping | None

    @classmethod
    def read(cls, params: Mapping[str, Mapping], *, read_only: bool) -> ChapterStudies:
        """Every study of chapters 2 to 6 from their ``params``; with ``read_only`` a record the chapters did not
        make is an error (:func:`kanmix.results.read_only`), never a reason to train."""
        from kanmix import ae, results, runtime, studies
        from kanmix.bench import kan as bench_kan

        with results.read_only(read_only):
            scale = studies.frontier_from_chapter(params["06"])
            mixers = studies.mixers_from_chapter(params["03"])
            autoencoders = studies.autoencoders_from_chapter(params["04"])
            p2 = params["02"]  # chapter 2's benchmark, unless it was read from a JSON file
            bench = None if p2["bench_json"] else bench_kan.stored(p2["bench_shapes"], p2["bench_repeats"],
                                                                   p2["bench_dtypes"], runtime.default_device())
            splines = studies.splines_from_chapter(params["05"])
        p6 = params["06"]
        return cls(params=params, mixers=mixers,
                   against=studies.kan_mixer_against_each(mixers, folds=params["03"]["folds"]), scale=scale,
                   scale_reading=studies.frontier_reading(scale, p6["families"], p6["datasets"],
                                                          paper_epochs=p6["paper_epochs"]),
                   autoencoders=autoencoders, ae_comparisons=ae.matched_comparisons(autoencoders.runs,
                                                                                    autoencoders.all_baselines),
                   splines=splines, bench=bench)

    def headline(self) -> list[str]:
        """The book's opening findings (:func:`headline_findings`) from these studies."""
        p4 = self.params["04"]
        return headline_findings(against=self.against, pair=self.mixers.headline_pair,
                                 frontier=self.scale_reading.by_flops, missing=self.scale.missing,
                                 comparisons=self.ae_comparisons, epochs=p4["epochs"],
                                 paper_widths=p4["paper_widths"], evidence=self.splines.evidence)

    def in_detail(self) -> str:
        """The findings page's paragraphs under its opening block (:func:`findings_in_detail`), in Markdown."""
        from kanmix.studies import PAPER_ACCURACY

        p3, p4 = self.params["03"], self.params["04"]
        return findings_in_detail(
            frontier=self.scale_reading.by_flops, frontier_missing=self.scale.missing, mixers=self.mixers,
            against=self.against, folds=p3["folds"], repeats=p3["headline_repeats"], paper=PAPER_ACCURACY,
            ae_comparisons=self.ae_comparisons, epochs=p4["epochs"], paper_widths=p4["paper_widths"],
            ae_missing=self.autoencoders.missing, evidence=self.splines.evidence, seeds=len(self.splines.plan.kan),
            bench=self.bench)


def glue_findings_frontier(chapters: ChapterStudies, profile: str) -> None:
    """Glue ``findings_frontier``: chapter 6's frontier figure (:func:`kanmix.report.frontier_figure`, seconds as
    each run recorded them) for the findings page."""
    from kanmix import page
    from kanmix.report._frontier import frontier_figure

    page.figure("findings_frontier", frontier_figure(chapters.scale, chapters.scale_reading), "Validation accuracy "
                "against training compute for each family along its scaling path (chapter 6): lines are the "
                "frontiers, stars the paper's reported accuracies at the FLOPs of its configuration",
                chapters.scale.records, profile)


def show_findings_table(chapters: ChapterStudies, profile: str) -> None:
    """Show chapter 3's cross-validation beside the KAN-Mixers paper's numbers
    (:func:`kanmix.studies.overview_beside_paper`)."""
    from IPython.display import display

    from kanmix import page
    from kanmix.report._mixers import CV_NAMES, CV_PERCENT, CV_UNITS
    from kanmix.studies import PAPER_ACCURACY, overview_beside_paper

    display(page.table(overview_beside_paper(chapters.mixers, PAPER_ACCURACY), f"Chapter 3: "
                       f"{chapters.params['03']['folds']}-fold cross-validation, mean over folds, beside the "
                       "KAN-Mixers paper's numbers", chapters.mixers.records, profile, names=CV_NAMES, units=CV_UNITS,
                       percent=CV_PERCENT))
