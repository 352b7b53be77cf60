"""Chapter 6's sentences: the compute frontiers compared at equal compute, their trend and crossing, and
what longer training buys; and the chapter's page, one call per table or figure under its caption."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from kanmix.report._format import (count, distinct, flop_text, fmt, from_to, listing, plain, points, recompute_time,
                                   signed, span)


def _budget(cmp, value: float) -> str:
    return flop_text(value) if cmp.x == "flops" else f"{fmt(value, 3)} s"


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
    where = from_to(cmp.lo, cmp.hi, partial(_budget, cmp))  # "at 14.3 TFLOP" when the common range is one level
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
            parts.append(f"the {who} is ahead at {len(rows)} of {n} ({span(rows.x, show=partial(_budget, cmp))}), "
                         f"by {span(100 * rows.gap.abs(), 3)} points")
        else:
            parts.append(f"the {who} is ahead at none")
    tied = len(ahead["tied"])
    text = (f"At equal {what} ({where}, {count(n, 'compute level')} where a frontier has a point), "
            + "; ".join(parts) + f"; {tied} of {n} {'is' if tied == 1 else 'are'} within the noise band of "
            f"±{fmt(100 * cmp.band, 2)} points (95%, from the spread between seeds, "
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
        beyond = (f", {fmt(cmp.crossing / top, 2)}× the largest budget compared" if top and cmp.crossing > top
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


# ----------------------------------------------------------------------------- chapter 6's sentences


#: Chapter 6's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``): short, so that a
#: table fits the book's column; accuracies (fractions) are shown as percentages (``percent=FRONTIER_PERCENT``).
FRONTIER_NAMES = {"params": "parameters", "flops_per_image": "training FLOPs per image", "tflops": "training compute",
                  "seconds": "time", "val_accuracy": "val. accuracy", "test_accuracy": "test accuracy",
                  "short": "epochs, short", "long": "epochs, long", "y_short": "accuracy, short",
                  "y_long": "accuracy, long", "gain": "long − short", "flops_ratio": "FLOPs, long / short",
                  "lr": "learning rate"}
FRONTIER_UNITS = {"seconds": "s", "tflops": "TFLOP"}
FRONTIER_PERCENT = ("val_accuracy", "test_accuracy", "y_short", "y_long", "gain")


def seconds_source(study) -> str:
    """Where chapter 6's seconds come from, for captions (:func:`kanmix.studies.seconds_column`)."""
    if study.timing is not None:
        return f"seconds from one side-by-side timing of every size, one thread, on {study.timing['provenance']['device']}"
    return "seconds as each run recorded them (machines may differ between runs)"


def frontier_devices_text(study) -> str:
    """Which devices trained chapter 6's runs, when more than one did (else ``""``): how many runs each
    device other than the main one trained (by dataset, and how many were further seeds), and what mixing
    devices does and does not change."""
    from collections import Counter

    from kanmix import data

    runs = [r for r in distinct(study.records) if r.get("kind") == "classification"]
    device = {id(r): str(r.get("provenance", {}).get("device", "?")) for r in runs}
    counts = Counter(device.values())
    if len(counts) <= 1:
        return ""
    (main, n_main), *others = counts.most_common()
    first_seed = min(int(r["seed"]) for r in runs)
    parts = []
    for dev, n in others:
        mine = [r for r in runs if device[id(r)] == dev]
        grid = Counter(data.info(r["config"]["dataset"]).title for r in mine if int(r["seed"]) == first_seed)
        what = [f"{k:,} of the grid on {title}" for title, k in grid.items()]
        seeded = sum(int(r["seed"]) != first_seed for r in mine)
        if seeded:
            what.append(f"{seeded:,} with a further seed")
        parts.append(f"{n:,} on {dev} ({listing(what)})")
    text = (f"Of the chapter's {count(len(runs), 'run')}, {n_main:,} trained on {main} and "
            f"{listing(parts)}, each with its configuration's recipe and precision. Two devices order a "
            "computation's floating-point sums differently, so one configuration need not give identical "
            "numbers on both")
    by_config: dict[str, set] = {}  # a configuration's devices, over its seeds
    for r in runs:
        cfg = {k: v for k, v in r["config"].items() if k != "seed"}
        by_config.setdefault(repr(sorted(cfg.items())), set()).add(device[id(r)])
    mixed_pairs = any(len(devs) > 1 for devs in by_config.values())
    if mixed_pairs:
        text += ("; the seed noise band pairs seeds made on different devices, so that difference is inside the "
                 "band")
    text += ". "
    if study.timing is not None:
        text += (f"No run's own seconds are used: the seconds axis comes from one timing of every size on "
                 f"{study.timing['provenance']['device']}.")
    else:
        text += "The seconds axis uses each run's own seconds, which are not comparable across devices."
    return text


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
    return "Chosen: " + "; ".join(f"{f}: {plain(lr)}" for f, lr in study.lrs.items()) + "." + (
        f" For {listing(edge)} the best value is at the edge of the range tried, so a value beyond it might do "
        "better still: the sweep tests the single learning rate only within its range." if edge else "")


def frontier_summary(by_flops: Mapping, by_time: Mapping, titles: Mapping[str, str]) -> str:
    """Per dataset: the gap's trend with compute, where the fitted frontiers would cross, and the gap by seconds."""
    return "\n\n".join(
        f"**{titles[d]}.** " + frontier_trend_sentence(by_flops[d]) + " " + frontier_crossing_sentence(by_flops[d])
        + " By training time: " + frontier_gap_sentence(by_time[d], what="training seconds") for d in by_flops)


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
             if band is None else f"noise band ±{fmt(100 * band, 2)} points, 95%")
    return f"Training {lengths}, {what} changed as follows: " + "; ".join(parts) + f" ({noise})."


def longer_training_text(study, titles: Mapping[str, str]) -> str:
    """:func:`longer_training_sentence` per dataset of chapter 6's study, each with its own seeds' noise band."""
    from kanmix.frontier import gap_band, longer_training

    return "\n\n".join(
        f"**{title}.** " + longer_training_sentence(longer_training(study.points, d),
                                                     gap_band(study.points[study.points.dataset == d])[0])
        for d, title in titles.items())




# ----------------------------------------------------------------------------- chapter 6's page
# One function per part of the chapter: ``show_*`` displays a table (kanmix.page.table) and what it says where the
# cell runs, ``glue_*`` glues a figure for the chapter's Markdown to place (kanmix.page.figure, in a
# ``remove-output`` cell). Each reads chapter 6's study (kanmix.studies.FrontierStudy) and, where it compares the
# families, the reading of it (kanmix.studies.FrontierReading); the captions are the page's text.


def frontier_findings(by_flops: Mapping, by_time: Mapping, *, missing: int = 0) -> list[str]:
    """Chapter 6's opening findings (:func:`kanmix.report.chapter_findings`): who leads at equal training compute
    (``by_flops``), then at equal training time on this machine (``by_time``), each dataset's
    :func:`kanmix.frontier.compare`; ``missing`` planned runs are not in the results store yet."""
    from kanmix.report._headline import chapter_findings, scale_finding

    return chapter_findings(6, scale_finding(by_flops, missing=missing),
                            scale_finding(by_time, missing=missing, what="training time on this machine",
                                          grows="the budget"))


def frontier_figure(study, reading, *, seconds: str = "train_seconds"):
    """Every family's points and frontier on every dataset of ``reading`` (:class:`kanmix.studies.FrontierReading`),
    with the paper's marks: :func:`kanmix.viz.plot_frontier`, its seconds panel from the column ``seconds``."""
    from kanmix import viz

    return viz.plot_frontier(study.points, datasets=list(reading.titles), titles=reading.titles,
                             families=viz.family_colours(reading.families), paper=reading.paper, seconds=seconds)


def glue_frontier(study, reading, profile: str) -> None:
    """Glue ``frontier``: chapter 6's figure (:func:`frontier_figure`), its seconds from the side-by-side timing
    where there is one (:func:`kanmix.studies.seconds_column`)."""
    from kanmix import page
    from kanmix.studies import seconds_column

    fig = frontier_figure(study, reading, seconds=seconds_column(study))
    page.figure("frontier", fig, "Validation accuracy (fold 0) against training compute: FLOPs (left) and "
                f"{seconds_source(study)} (right). Large markers are seed means (circle: shorter training, square: "
                "longer), faint dots single seeds, lines each family's frontier; stars mark the paper's reported "
                "accuracies at the training FLOPs of its configuration", study.records, profile)


def show_lr_sweep(study, lr_sweep: Mapping, profile: str) -> None:
    """Show the learning-rate sweep, one column per rate (:func:`kanmix.studies.sweep_table`), and the rate each
    family chose (:func:`sweep_text`; ``lr_sweep``: chapter 6's parameter)."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import sweep_table

    sweep = sweep_table(study)
    display(page.table(sweep, "Learning-rate sweep: fold-0 validation accuracy per peak learning rate (lr)",
                       study.sweep_records, profile, percent=sweep.columns,
                       names={**FRONTIER_NAMES, **{lr: f"lr {plain(lr)}" for lr in sweep.columns}}))
    display(Markdown(sweep_text(study, lr_sweep)))


def show_frontier_points(study, profile: str, *, workers: int = 1) -> None:
    """Show every point of the frontier, seeds averaged (:func:`kanmix.studies.points_table`), and what recomputing
    the chapter costs with ``workers`` runs at a time."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import points_table

    display(page.table(points_table(study), "Every point of the frontier: means over seeds (training time: "
                       f"{seconds_source(study)}; parameters: the scaling paths' table)", study.records, profile,
                       names=FRONTIER_NAMES, units=FRONTIER_UNITS, percent=FRONTIER_PERCENT))
    display(Markdown(f"Recomputing this chapter from an empty results store: "
                     f"{recompute_time(study.records, workers=workers)}."))


def show_longer_training(study, reading, profile: str) -> None:
    """Show what the longer training length bought each size on every dataset of ``reading``
    (:func:`kanmix.studies.longer_training_table`) and what that says (:func:`longer_training_text`)."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import longer_training_table

    display(page.table(longer_training_table(study, list(reading.titles)), "Validation accuracy (fold 0) after the "
                       "shorter and the longer training of each size, seeds averaged", study.records, profile,
                       names=FRONTIER_NAMES, units=FRONTIER_UNITS, percent=FRONTIER_PERCENT))
    display(Markdown(longer_training_text(study, reading.titles)))
