"""Chapter 3's sentences, each from the chapter's study (:class:`kanmix.studies.MixerStudy`), and those of
its random-search section."""

from __future__ import annotations

from collections.abc import Mapping

from kanmix.report._format import (
    against_sentence, compare_to_paper, count, fmt, format_number, listing, one_fold_sentence, p_value,
    paired_sentence, plain, points, recompute_time, signed, span, typeset)


def interval_cell(lo: float, hi: float, precision: int = 3) -> str:
    """An interval in one table cell, each end with ``precision`` significant digits and a true minus sign:
    ``(89.12, 89.64)`` -> ``"[89.1, 89.6]"``; one column where a table had two (its low and high ends). The space
    is a no-break space, so a narrow column does not split the interval over two lines."""
    return f"[{format_number(float(lo), precision)},\u00a0{format_number(float(hi), precision)}]"


# ----------------------------------------------------------------------------- chapter 3's sentences
# Each takes chapter 3's study (kanmix.studies.MixerStudy) and says what its tables show; the
# numbers and the tests come from kanmix.studies, the words from here.


def grid_ablation_text(study, grid_handling: str) -> str:
    """The ablation's coverage of the default grid, the handling every KAN-Mixer uses, and the one-fold noise band."""
    from kanmix.studies import ablation_table

    table = ablation_table(study)
    default = study.ablation_curves[study.ablation_curves.model == table.index[0]]["outside_grid"]
    text = (f"With the default grid, {span(default, 3)} of the KAN layers' inputs fell "
            f"outside $[-1, 1]$ over training. Every KAN-Mixer of this chapter uses **{grid_handling}**, set in the "
            "profile. The ablation is one fold: "
            + one_fold_sentence(table["val_accuracy"].to_dict(), grid_handling, int(study.ablation.n_val.iloc[0]))
            + " A difference within that band is not evidence for either handling.")
    if study.left_out:  # handlings the epochs cannot train (kanmix.studies.runnable_grid_variants)
        text += "\n\nLeft out of the ablation: " + "; ".join(
            f"**{label}**, because {why}" for label, why in study.left_out.items()) + "."
    return typeset(text)  # the handlings' labels come from the profile: "[-1, 1] (efficient-KAN)"


def cv_text(study, dataset: str) -> str:
    """The flat KAN's output-layer handicap on one dataset, where it ran (the ranking is the table's own order);
    empty where no flat KAN ran."""
    from kanmix.studies import output_layer_outside

    outside = output_layer_outside(study.labelled[dataset], "KAN")
    if outside is None:
        return ""
    # Its output layer reads unnormalised activations; outside the [-1, 1] grid an edge is its
    # SiLU term alone, a handicap the KAN-Mixer's layers (which read LayerNorm outputs) do not share.
    return (f"The flat KAN's output layer saw {fmt(100 * outside, 2)}% of its inputs outside its [−1, 1] grid after "
            "the last epoch, where its splines are zero: that layer is mostly a SiLU network, a handicap the "
            "KAN-Mixer's layers (which read LayerNorm outputs) do not share.")


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
        holm = (f" Adjusted over the {t.pairs} pairs of the main CV (Holm): {p_value(t.p_holm)}."
                if t.p_holm is not None else "")
        lines.append(f"- **{t.label}**: {paired_sentence(t.res, a, b, wilcoxon=not t.repeated)}{holm} With this "
                     f"spread, the smallest difference the corrected test would detect with 80% power at 0.05 is "
                     f"{fmt(t.mdd, 2)}.")
    return f"On {info(study.folds.dataset.iloc[0]).title}, the {a} against the {b}:\n\n" + "\n".join(lines)


def efficiency_campaign_text(study) -> str:
    """A note when the data-efficiency curve was read while its campaign is under way
    (``efficiency_available_only``): how many planned runs are missing; empty when none is."""
    if not study.efficiency_missing:
        return ""
    shown = "only the sizes whose runs are all stored are shown" if study.efficiency is not None else "none is shown yet"
    return (f"*This section shows a campaign under way: {count(study.efficiency_missing, 'planned run')} of the curve "
            f"{'is' if study.efficiency_missing == 1 else 'are'} not in the results store, so {shown}.*")


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
    lines, separated = [], {1: [], -1: []}
    for (n, other, res), p in zip(tests, adjusted):
        verdict = (f"the {kan if res.mean_diff > 0 else other} is ahead" if p < 0.05 else "no difference can be told")
        if p < 0.05:
            separated[1 if res.mean_diff > 0 else -1].append(f"the {other} at {n:,} images")
        lines.append(f"- {n:,} images, {kan} − {other}: {points(res.mean_diff)} [{signed(100 * res.ci_low, 2)}, "
                     f"{signed(100 * res.ci_high, 2)}], Holm-adjusted {p_value(p)}: {verdict}.")
    # The tally first: a reader sees where the curve separates the models before the list of every gap.
    rest = len(tests) - len(separated[1]) - len(separated[-1])
    ahead, behind = (listing(separated[sign]) if separated[sign] else "none" for sign in (1, -1))
    tally = (f"In sum, no difference can be told in any of the {len(tests)}:" if rest == len(tests) else
             f"In sum, the {kan} is ahead of {ahead}, behind {behind}; no difference can be told in {rest} of the "
             f"{len(tests)}:")
    return (f"{what[0].upper() + what[1:]}, the {kan} against each model over {count(folds, 'fold')} (corrected "
            f"paired t-test, Holm over the {len(tests)} comparisons of this section). {tally}\n\n" + "\n".join(lines))


def mixers_points(study, *, folds: int, repeats: int, paper_params: int) -> str:
    """Chapter 3's conclusions as bullets: per dataset, where the KAN-Mixer wins and loses (Holm over the CV's
    pairs, with costs); the scale of the comparison; the headline pair over every repeat of the split. The
    ranking and the paper's numbers are the cross-validation tables' own, and are not repeated here."""
    from kanmix.data import info
    from kanmix.studies import headline_comparison, kan_mixer_against, summaries

    points_, tables = [], summaries(study)
    for dataset, s in tables.items():
        if "KAN-Mixer" not in s.index:
            continue
        title = info(dataset).title
        part = study.folds[study.folds.dataset == dataset]
        points_.append(against_sentence(kan_mixer_against(part, folds=folds), title=title))
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


#: Chapter 3's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``): short, so that a
#: table fits the book's column; accuracies are shown as percentages (``percent=CV_PERCENT``).
CV_NAMES = {"params": "parameters", "epochs": "epochs", "train_seconds": "time per fold",
            "val_accuracy": "val. accuracy", "ci": "95% CI", "sd": "sd", "test_accuracy": "test accuracy",
            "paper": "paper", "outside_grid": "inputs outside the grid", "n_train": "training images",
            "model": "model", "folds": "folds", "diff": "a − b", "d_z": "effect size dz",
            "p_nb_holm": "p, corrected t (Holm)", "p_wilcoxon_holm": "p, Wilcoxon (Holm)"}
CV_UNITS = {"train_seconds": "s", "ci": "%", "diff": "points"}
CV_PERCENT = ("val_accuracy", "test_accuracy", "sd", "paper", "outside_grid")


def protocol_text(study, *, paper_epochs: int, workers: int) -> str:
    """How chapter 3's folds trained (from its records' configs), against the paper's epochs, and what a rerun costs."""
    train = study.records[0]["config"]["train"]
    augment = train["augment"]
    return (f"Each fold trained on {int(study.folds.n_train.iloc[0]):,} images for {train['epochs']} epochs (batch "
            f"{plain(train['batch_size'])}, AdamW with peak learning rate {plain(train['lr'])} and weight decay "
            f"{plain(train['weight_decay'])}, a 5% warm-up and a cosine decay, {train['precision']}), with flips "
            f"(p = {plain(augment['hflip'])}) and rotations of up to ±{plain(augment['rotate'])}° — the angle is our "
            f"assumption. The paper trained for {paper_epochs} epochs. Recomputing this chapter from an empty results "
            f"store: {recompute_time(study.records, workers=workers)}.")


# ----------------------------------------------------------------------------- chapter 3's random search
# These take :class:`kanmix.studies.SearchStudy` (or its parts) and say what the search found and what it rests on.

#: The random search's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``); its
#: accuracies are shown as percentages (``percent=CV_PERCENT``).
SEARCH_NAMES = {**CV_NAMES, "dim": "width", "depth": "blocks", "weight_decay": "weight decay",
                "cost": "FLOPs / image (× ours)", "train_seconds": "time", "val_accuracy": "held-out accuracy",
                "scored": "trials scored", "skipped": "draws over the budget", "trial": "trial"}
SEARCH_UNITS = {**CV_UNITS, "train_seconds": "s"}


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
    choices = "; ".join(f"{SEARCH_NAMES.get(k, k)} in {{{', '.join(plain(c) for c in v)}}}"
                        for k, v in p.space.items() if isinstance(v, list))
    ranges = "; ".join(f"{SEARCH_NAMES.get(k, k)} log-uniform in [{plain(v[0])}, {plain(v[1])}]"
                       for k, v in p.space.items() if isinstance(v, tuple))
    n_train = f" ({study.records[0]['n_train']:,} training images)" if study.records else ""
    skipped = int((study.trials.note == "over the budget").sum()) if len(study.trials) else 0
    budget = (f" A draw whose model needs more than {fmt(p.max_cost, 3)}× the training FLOPs per image of this "
              f"chapter's KAN-Mixer is skipped without training and does not count as a trial "
              f"({count(skipped, 'draw')}{' so far' if study.missing else ''})." if p.max_cost is not None else "")
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
    label = ", ".join(f"{SEARCH_NAMES.get(k, k)} {fmt(b[k], 3) if isinstance(v, tuple) else fmt(int(b[k]))}"
                      for k, v in p.space.items())
    text = (f"Trained for {p.final_epochs} epochs on {count(len(final), 'fold')} of {p.folds}, the best configuration "
            f"({label}) reaches a mean held-out accuracy of {fmt(final.val_accuracy.mean())}"
            f" (at the search's {count(p.epochs, 'epoch')} on fold 0: {fmt(b.val_accuracy)}).")
    if comparison is None:
        return text + f" This chapter's {kan} has no folds of this partition to set beside it."
    return text + " Against this chapter's hand-picked " + kan + ": " + paired_sentence(
        comparison, "searched", kan, metric="held-out accuracy")


# ----------------------------------------------------------------------------- chapter 3's sections
# One call per section of the chapter: each takes the study (and the few parameters its captions and tests need),
# shows its tables and sentences (``show_*``, in a cell whose output the page keeps) or glues its tables, sentences
# and figures for the Markdown to place (``glue_*``, in a ``remove-output`` cell: page.figure also shows a figure
# where it is made). The captions are written here; the numbers come from kanmix.studies.


def _titles(study) -> dict[str, str]:
    """Dataset -> its title, for every dataset of the study's main CV, in the study's order."""
    from kanmix.data import info

    return {d: info(d).title for d in dict.fromkeys(study.folds.dataset)}


def mixers_findings(study, *, folds: int) -> list[str]:
    """Chapter 3's finding, pasted under its title (:func:`kanmix.page.findings`): the headline pair on every dataset
    (:func:`~kanmix.report.mixers_finding`) and the KAN-Mixer against the rest of the field
    (:func:`~kanmix.report.mixers_field_finding`), both from each dataset's
    :func:`kanmix.studies.kan_mixer_against` over ``folds`` folds, the pointer to chapter 3 left out."""
    from kanmix.report._headline import chapter_findings, mixers_field_finding, mixers_finding
    from kanmix.studies import kan_mixer_against_each

    against = kan_mixer_against_each(study, folds=folds)
    return chapter_findings(3, mixers_finding(against, study.headline_pair),
                            mixers_field_finding(against, study.headline_pair))


def glue_deviations(study, profile: str, *, model_kwargs: Mapping[str, dict], lr: float, augment: Mapping) -> None:
    """Glue ``ch3_deviations``: :func:`kanmix.studies.deviations` of the chapter's settings on its first dataset, at
    the precision its runs trained in (a table computed here, no record behind it)."""
    from myst_nb import glue

    from kanmix import page
    from kanmix.studies import deviations

    precision = study.records[0]["config"]["train"]["precision"]  # "auto" resolved: what the runs used
    glue("ch3_deviations", page.table(deviations(model_kwargs=model_kwargs, dataset=study.folds.dataset.iloc[0], lr=lr,
                                                 precision=precision, augment=augment),
                                      "What this chapter does differently from the KAN-Mixers paper", [], profile),
         display=False)


def glue_grid_ablation(study, profile: str, *, grid_handling: str) -> None:
    """Glue the grid ablation, folded under the protocol: its table (``ch3_ablation``, one row per handling,
    :func:`kanmix.studies.ablation_table`), what it says (``ch3_ablation_text``, :func:`grid_ablation_text`) and
    the figure of its inputs outside the grid per epoch (``outside_grid``)."""
    from IPython.display import Markdown
    from myst_nb import glue

    from kanmix import page, viz
    from kanmix.studies import ablation_table, records_of

    records = records_of(study, study.ablation)
    title = _titles(study)[study.folds.dataset.iloc[0]]
    glue("ch3_ablation", page.table(ablation_table(study), f"The grid ablation: the KAN-Mixer on fold 0 of {title}, "
                                    "with the share of its KAN layers' inputs outside their grids after the last "
                                    "epoch (mean over layers)", records, profile, names=CV_NAMES, units=CV_UNITS,
                                    percent=CV_PERCENT), display=False)
    glue("ch3_ablation_text", Markdown(grid_ablation_text(study, grid_handling)), display=False)
    page.figure("outside_grid", viz.plot_by_model(study.ablation_curves, y="outside_grid",
                                                  ylabel="inputs outside the grid", spread=None, bottom=0,
                                                  size=(6.4, 2.8)),
                "Fraction of the KAN-Mixer's KAN-layer inputs outside their grids after each epoch, mean over its "
                "layers, for each grid handling", records, profile)


def show_cross_validation(study, profile: str, *, folds: int) -> None:
    """Show the main CV: per dataset its table (:func:`kanmix.studies.shown_overview`, one row per model, beside
    :data:`kanmix.studies.PAPER_ACCURACY`) and the flat KAN's handicap (:func:`cv_text`); then our accuracies
    against the paper's (:func:`paper_texts`)."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import PAPER_ACCURACY, shown_overview, summaries

    titles = _titles(study)
    for dataset, summary in summaries(study).items():
        display(page.table(shown_overview(summary, PAPER_ACCURACY.get(dataset, {})),
                           f"{titles[dataset]}: {folds}-fold cross-validation, mean over folds, with its corrected 95% "
                           "interval (paper: the KAN-Mixers paper's 5-fold mean)",
                           [r for _, r in study.labelled[dataset]], profile, precision=3, names=CV_NAMES,
                           units=CV_UNITS, percent=CV_PERCENT))
        display(Markdown(cv_text(study, dataset)))
    display(Markdown(paper_texts(study, PAPER_ACCURACY, folds=folds)))


def glue_cv_figures(study, profile: str) -> None:
    """Glue the main CV's figures: accuracy against cost (``cost``), the training curves (``cv_curves``) and the
    confusion matrices of the KAN-Mixer and the headline pair's MLP-Mixer (``confusion``)."""
    from kanmix import page, viz
    from kanmix.data import info
    from kanmix.studies import summaries

    summary, titles = summaries(study), _titles(study)
    page.figure("cost", viz.plot_cost(summary, titles=titles), "Held-out accuracy (mean ± sd over folds) against "
                "training time per fold (left) and parameter count (right), one row per dataset", study.records,
                profile)
    order = list(next(iter(summary.values())).index)  # the first dataset's ranking
    page.figure("cv_curves", viz.plot_by_model(study.curves, y="val_accuracy", ylabel="held-out accuracy",
                                               panels="dataset", titles=titles, order=order, size=(6.4, 3.2)),
                "Held-out accuracy after each epoch, mean ± sd over folds, one panel per dataset", study.records,
                profile)
    # The KAN-Mixer and the headline MLP-Mixer: 12 matrices would be too small to read in the column.
    shown = [m for m in ("KAN-Mixer", study.headline_pair[1] if study.headline_pair else None) if m in order]
    page.figure("confusion", viz.plot_confusions(study.folds, datasets=list(titles), models=shown,
                                                 classes={d: info(d).classes for d in titles}, titles=titles),
                f"Confusion matrices of {listing(shown)}, summed over the held-out folds, rows normalised: row = "
                "true class, column = predicted class, darker = a larger share of the row", study.records, profile)


def glue_pairs(study, profile: str, *, folds: int) -> None:
    """Glue the paired tests folded under the headline: the Wilcoxon floors for the first dataset's number of models
    (``ch3_floors``, :func:`kanmix.studies.wilcoxon_floors`) and every pair of each dataset's main CV, one table per
    dataset (``ch3_pairs``, :func:`kanmix.studies.pairs_table`)."""
    from IPython.display import HTML
    from myst_nb import glue

    from kanmix import page
    from kanmix.studies import pairs_table, summaries, wilcoxon_floors

    titles = _titles(study)
    glue("ch3_floors", page.table(wilcoxon_floors(len(next(iter(summaries(study).values())))), "The smallest "
                                  "p-value an exact Wilcoxon test can give, by the number of paired folds (no data "
                                  "can do better)", [], profile), display=False)
    glue("ch3_pairs", HTML("".join(
        page.table(pairs_table(study, dataset, folds=folds), f"{title}: every pair of the cross-validation, a − b in "
                   f"held-out accuracy over {folds} folds; p-values Holm-adjusted over the pairs",
                   [r for _, r in study.labelled[dataset]], profile, precision=2, names=CV_NAMES,
                   units=CV_UNITS).data for dataset, title in titles.items())), display=False)


def _efficiency_scored(study) -> str:
    """What the data-efficiency curve scores, as the section's words call it."""
    return {"val_accuracy": "held-out accuracy", "test_accuracy": "test accuracy"}[study.efficiency_metric]


def show_efficiency(study, profile: str, *, folds: int) -> None:
    """Show the data-efficiency section: the campaign note (:func:`efficiency_campaign_text`), then, where any size
    has all its runs, the table (:func:`kanmix.studies.efficiency_table`) and the KAN-Mixer against each model over
    ``folds`` folds (:func:`efficiency_text`)."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import efficiency_table, records_of

    scored = _efficiency_scored(study)
    display(Markdown(efficiency_campaign_text(study)))
    if study.efficiency is not None:
        display(page.table(efficiency_table(study), f"{scored[0].upper() + scored[1:]} against the number of "
                           "training images per fold (sd: over the folds)", records_of(study, study.efficiency),
                           profile, precision=3, names=CV_NAMES, units=CV_UNITS, percent=CV_PERCENT))
        display(Markdown(efficiency_text(study, folds=folds)))


def glue_efficiency_figure(study, profile: str, *, folds: int) -> None:
    """Glue ``efficiency``: the curve's metric against the training-set size (log), one line per model, with error
    bars over ``folds`` folds when there are several; while no size has all its runs, a figure that says so."""
    from kanmix import page, viz
    from kanmix.studies import records_of

    scored = _efficiency_scored(study)
    what = f"{scored[0].upper() + scored[1:]} against training-set size"
    if study.efficiency is None:  # the numbered figure still stands, so the prose's reference resolves
        page.figure("efficiency", viz.message("no data-efficiency size has all its runs\nin the results store yet"),
                    f"{what}: not yet run", [], profile)
        return
    page.figure("efficiency", viz.plot_by_model(study.efficiency, x="n_train", y=study.efficiency_metric,
                                                spread="errorbars", logx=True, xlabel="training images per fold (log)",
                                                ylabel=scored, size=(6.4, 3.2)),
                what + (" (mean ± sd over folds)" if folds > 1 else ""), records_of(study, study.efficiency), profile)


# ----------------------------------------------------------------------------- chapter 3's search sections
# As above, for the random search (:class:`kanmix.studies.SearchStudy`).

#: :func:`kanmix.page.table`'s formatting of the search's tables.
_SEARCH_TABLE = {"names": SEARCH_NAMES, "units": SEARCH_UNITS, "percent": CV_PERCENT}


def glue_search(search, profile: str, *, model_kwargs: Mapping, lr: float, weight_decay: float) -> None:
    """Glue what is folded under the search's protocol: the trials, best first (``ch3_trials``,
    :func:`kanmix.studies.search_trials_table`), the best configuration beside the chapter's KAN-Mixer
    (``model_kwargs``, ``lr``, ``weight_decay``) and the paper's (``ch3_best``,
    :func:`kanmix.studies.search_best_table`), and what the accuracy depends on, in words (``ch3_importance_text``)
    and as a figure (``search_importance``)."""
    from IPython.display import Markdown
    from myst_nb import glue

    from kanmix import page, viz
    from kanmix.data import info
    from kanmix.studies import search_best_table, search_trials_table

    glue("ch3_trials", page.table(search_trials_table(search), f"The search's trials on fold 0 of "
                                  f"{info(search.plan.dataset).title}, best first (held-out accuracy on that fold, "
                                  "after the search's short schedule)", search.records, profile, precision=3,
                                  **_SEARCH_TABLE), display=False)
    glue("ch3_best", page.table(search_best_table(search, model_kwargs=model_kwargs, lr=lr, weight_decay=weight_decay),
                                "The best trial's configuration beside this chapter's KAN-Mixer and the paper's",
                                search.records, profile, names=SEARCH_NAMES), display=False)
    glue("ch3_importance_text", Markdown(search_importance_text(search)), display=False)
    page.figure("search_importance", viz.plot_importances(search.importances, names=SEARCH_NAMES),
                "How much of the trials' held-out accuracy each drawn setting accounts for (Optuna's fANOVA, seeded)",
                search.records, profile)


def show_patch_outcome(search, profile: str, *, patch: int = 4) -> None:
    """Show each patch size's trials and best (``search.by_patch``) and whether ``patch`` wins against the fold noise
    (:func:`patch_text` of :func:`kanmix.studies.patch_outcome`)."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.studies import patch_outcome

    display(page.table(search.by_patch, "Each patch size's scored trials, its draws over the budget, and its best "
                       "trial", search.records, profile, precision=3, **_SEARCH_TABLE))
    display(Markdown(patch_text(patch_outcome(search, patch))))


def show_search_final(search, study, profile: str) -> None:
    """Show the searched configuration at the chapter's schedule beside the chapter's KAN-Mixer on the same folds
    (``study``: chapter 3's :class:`kanmix.studies.MixerStudy`; :func:`kanmix.studies.search_final_table`), and
    what it says (:func:`search_final_text`)."""
    from IPython.display import Markdown, display

    from kanmix import page
    from kanmix.data import info
    from kanmix.studies import search_final_records, search_final_table, searched_against_chapter, shown_overview

    final = search_final_table(search, study)
    display(page.table(shown_overview(final) if len(final) else final, f"This chapter's KAN-Mixer and the best "
                       f"configuration of the search, each trained with this chapter's schedule on the same folds of "
                       f"{info(search.plan.dataset).title}", search_final_records(search, study), profile, precision=3,
                       **_SEARCH_TABLE))
    display(Markdown(search_final_text(search, searched_against_chapter(search, study))))
