"""Chapter 4's sentences: the autoencoder sweep and its matched comparisons (equal latent sizes, matched
parameters, seeds), with PCA beside every model; and the chapter's page, one call per section."""

from __future__ import annotations

import math
from collections.abc import Mapping

from kanmix.report._format import bullets, count, flop_text, fmt, from_to, listing, plain, recompute_time, signed


# ----------------------------------------------------------------------------- chapter 4's sentences
# Each takes chapter 4's study (kanmix.studies.AutoencoderStudy) or a table of kanmix.ae's chapter-4
# section and says what it shows.

#: Chapter 4's column names and units (:func:`kanmix.page.table`'s ``names`` and ``units``): short, so that a
#: table fits the book's column; accuracies (fractions) are shown as percentages (``percent=AE_PERCENT``).
AE_NAMES = {"model": "model", "requested": "bottleneck asked", "bottleneck": "latent size", "params": "parameters",
            "test_mse": "test MSE", "psnr": "PSNR", "knn_accuracy": "KNN accuracy",
            "knn_authors": "authors' KNN", "knn_authors_features": "authors' features",
            "train_seconds": "time", "components": "components", "method": "baseline", "gap": "authors − ours",
            "n_train": "training images", "latent": "latent size", "pair": "a − b", "seeds": "seeds",
            "mse_diff": "test MSE, a − b", "mse_verdict": "lower test MSE",
            "knn_diff": "KNN accuracy, a − b", "knn_verdict": "higher KNN accuracy",
            "pca_mse": "PCA test MSE", "pca_knn": "PCA KNN accuracy", "channels": "encoder channels",
            "tflops": "training compute", "flops_vs_kan": "× KAN AE's"}
AE_UNITS = {"psnr": "dB", "train_seconds": "s", "pca_knn": "%", "tflops": "TFLOP"}
AE_PERCENT = ("knn_accuracy", "knn_authors", "gap", "knn_diff")


def ae_protocol_text(study, hidden: Mapping[str, int], bottlenecks: Mapping, *, workers: int = 1) -> str:
    """How chapter 4's autoencoders trained and were scored (from the first record's config), the hidden width on
    each dataset, where a bottleneck is wider than it, and what recomputing the study costs."""
    from kanmix.data import info

    records = [r for r in study.records if r["kind"] == "ae"]
    recipe, metrics = records[0]["config"]["train"], records[0]["metrics"]
    datasets = list(dict.fromkeys(study.baselines.dataset))
    return (f"Every autoencoder of the sweep trained for {recipe['epochs']} epochs with AdamW (learning rate "
            f"{plain(recipe['lr'])}, weight decay {plain(recipe['weight_decay'])}, batch "
            f"{plain(recipe['batch_size'])}, constant learning rate, {recipe['precision']}) on the mean squared "
            f"error, on {metrics['n_train']:,} training images, and was scored on {metrics['n_test']:,} test images. "
            "Hidden width of the KAN and MLP autoencoders: "
            + listing(f"{plain(hidden[d])} on {info(d).title}" for d in datasets) + ". "
            + " ".join(f"On {info(d).title} the bottlenecks wider than the hidden layer ("
                       + listing(plain(b) for b in bottlenecks[d] if b > hidden[d])
                       + f") can carry at most {plain(hidden[d])} "
                       "dimensions." for d in datasets if max(bottlenecks[d]) > hidden[d])
            + " Recomputing this chapter from an empty results store: "
            + f"{recompute_time(study.records, workers=workers)}.")


def beats_mean_text(runs) -> str:
    """How many of the trained autoencoders beat the mean-image predictor, and which do not, each named by its
    setting and seed. ``runs``: :attr:`kanmix.studies.AutoencoderStudy.runs`, every arm's runs and every seed
    (``model``, ``key``, ``dataset``, ``n_train``, ``epochs``, ``bottleneck``, ``seed``, ``test_mse``,
    ``beats_mean``)."""
    from kanmix.ae import SEED_SETTING, label
    from kanmix.data import info

    beats = runs["beats_mean"].astype(bool)
    head = (f"{int(beats.sum())} of the {count(len(runs), 'trained autoencoder')} (every arm of the chapter, each "
            "seed counted) have a lower test MSE than the mean-image predictor")
    if beats.all():
        return head + " — all of them."
    names = []
    for i, r in runs[~beats].iterrows():
        same = (runs[SEED_SETTING] == r[SEED_SETTING]).all(axis=1) & (runs.index != i)
        names.append(f"the {label(r.key)} on {info(r.dataset).title} at latent size {r.bottleneck}, "
                     f"seed {r.seed} (test MSE {fmt(r.test_mse, 4)}; {int(runs[same].beats_mean.sum())} of its "
                     f"{count(int(same.sum()), 'other seed')} trained)")
    which = "the one that does not is " if len(names) == 1 else "the ones that do not are "
    return (head + ": " + which + listing(names) + ". A model that loses to the mean image has not "
            "trained. Such a run stays in every table and in the paired seed comparisons, where it widens its "
            "setting's interval; the chapter stops only when every seed of a setting fails, which points to a "
            "broken model rather than an unlucky start.")


def knn_protocol_text(knn) -> str:
    """The authors' KNN protocol against ours (:func:`kanmix.ae.knn_table`), by the space the authors' number is
    computed in: the mean, smallest and largest gap."""
    by_space = knn.groupby("knn_authors_features")["gap"].agg(["mean", "min", "max", "count"])
    return "The authors' protocol against ours, by the space the authors' number is computed in: " + "; ".join(
        f"on {space} ({count(int(r['count']), 'run')}) it reads {signed(r['mean'])} on average"
        + ("" if signed(r["min"]) == signed(r["max"]) else f" ({from_to(r['min'], r['max'], signed)})")
        for space, r in by_space.iterrows()) + "."


def convergence_text(changes) -> str:
    """How much the test MSE still moved over the last epoch (:func:`kanmix.ae.last_epoch_changes`), and how many
    runs of each model on each dataset were still improving by more than 1%."""
    from kanmix.data import info

    if not changes:
        return "Each run trained for one epoch only: convergence cannot be judged from its curve."
    still = [c for c in changes if c[3] < -0.01]
    lo, hi = (signed(100 * f(c[3] for c in changes), 2) + "%" for f in (min, max))
    by_model: dict[tuple[str, str], list[int]] = {}
    for d, m, w, _ in still:
        by_model.setdefault((m, info(d).title), []).append(w)
    return (f"Over the last epoch the test MSE changed by {lo if lo == hi else f'between {lo} and {hi}'} (relative) "
            f"across the {count(len(changes), 'run')}; "
            + (f"{len(still)} were still improving by more than 1%: " + listing(
                f"the {m} on {title} at {count(len(ws), 'latent size')} ({listing(sorted(ws))})"
                for (m, title), ws in by_model.items()) if still else
               "none was still improving by more than 1%") + ".")


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




# ----------------------------------------------------------------------------- chapter 4's page
# One function per section of the chapter: it shows (kanmix.page.table, displayed where the cell runs) or glues
# (kanmix.page.figure and myst-nb's glue, placed by the chapter's Markdown) that section's tables and figures under
# their captions, from chapter 4's study (kanmix.studies.AutoencoderStudy). The captions are the page's text, so they
# live here beside the sentences; each caption's provenance line names the records behind it.


def glue_ae_placed(study, comparisons, deviations, profile: str, *, epochs: int,
                   paper_widths: Mapping[str, int]) -> None:
    """Glue what chapter 4's Markdown places away from the cell that computes it: the finding under the title
    (``ch4_finding``: :func:`kanmix.report.autoencoders_finding` and :func:`kanmix.report.like_for_like_finding`
    of ``comparisons``, :func:`kanmix.ae.matched_comparisons`), the folded tables of the baselines
    (``ch4_baselines``) and of ``deviations`` from the paper (``ch4_deviations``,
    :func:`kanmix.studies.ae_deviations`), and the folded reconstructions of the sweep's runs (``recon``)."""
    from myst_nb import glue

    from kanmix import ae, page, viz
    from kanmix.report._headline import autoencoders_finding, chapter_findings, like_for_like_finding

    page.findings(chapter_findings(4, autoencoders_finding(comparisons, epochs=epochs, paper_widths=paper_widths),
                                   like_for_like_finding(comparisons, epochs=epochs)), key="ch4_finding", show=False)
    glue("ch4_baselines", page.table(ae.baselines_table(study.baselines), "The mean-image predictor (0 components) and "
                                     "PCA at every latent size of the sweep", study.records_of(study.baselines),
                                     profile, names=AE_NAMES, units=AE_UNITS, percent=AE_PERCENT), display=False)
    glue("ch4_deviations", page.table(deviations, "Chapter 4 against the KAN autoencoder paper (– : the paper's value "
                                      "is not restated here)", [], profile), display=False)
    rows, shown = ae.reconstruction_rows(study.records_of(study.table))  # the sweep's runs
    page.figure("recon", viz.plot_image_rows(rows), "Test images (top row of each block) and their reconstructions by "
                "each model at its widest bottleneck (latent size in brackets)", shown, profile)


def show_ae_sweep(study, datasets, profile: str, *, hidden: Mapping[str, int], bottlenecks: Mapping,
                  workers: int = 1) -> None:
    """Show chapter 4's sweep: the note on a campaign under way (:func:`ae_campaign_text`), the protocol
    (:func:`ae_protocol_text`) and, per dataset of ``datasets``, its runs by model and bottleneck
    (:func:`kanmix.ae.sweep_table`)."""
    from IPython.display import Markdown, display

    from kanmix import ae, page
    from kanmix.data import info

    table, records = ae.chapter_table(study.table), study.records_of(study.table)
    display(Markdown(ae_campaign_text(study)))
    display(Markdown(ae_protocol_text(study, hidden, bottlenecks, workers=workers)))
    for dataset in datasets:
        display(page.table(ae.sweep_table(table, dataset), f"{info(dataset).title}: the autoencoders by bottleneck. "
                           "MSE in the models' [−1, 1] input space; PSNR on the [0, 1] pixel scale; KNN (k = 3) fit on "
                           "the training images' codes and scored on the test images' codes",
                           [r for r in records if r["config"]["dataset"] == dataset], profile, names=AE_NAMES,
                           units=AE_UNITS, percent=AE_PERCENT))


def glue_ae_figures(study, datasets, profile: str) -> None:
    """Glue chapter 4's two figures of the sweep: quality against latent size per dataset of ``datasets``, with
    PCA and the mean image (``ae_sweep``), and PSNR against time and parameters (``ae_cost``)."""
    from kanmix import ae, page, viz

    table = ae.chapter_table(study.table)
    page.figure("ae_sweep", viz.plot_ae_sweep(table, study.baselines, datasets), "Reconstruction quality (top) and "
                "latent-space KNN accuracy (bottom) against the latent size, one column per dataset, with PCA at the "
                "same size and the mean-image predictor", study.records, profile)
    page.figure("ae_cost", viz.plot_ae_cost(table), "Test PSNR against training time (left) and parameter count "
                "(right), every run of every dataset", study.records_of(study.table), profile)


def show_ae_comparisons(comparisons, datasets, records, profile: str) -> None:
    """Show, per dataset of ``datasets``, every comparison of ``comparisons`` (:func:`kanmix.ae.matched_comparisons`)
    as :func:`kanmix.ae.comparison_table` lays it out; ``records``: the study's, for the captions."""
    from IPython.display import display

    from kanmix import ae, page
    from kanmix.data import info

    for dataset in datasets:
        display(page.table(ae.comparison_table(comparisons, dataset), f"{info(dataset).title}: every comparison at "
                           "equal latent size, training images and length (a − b, means over the paired seeds)",
                           records, profile, precision=3, names=AE_NAMES, units=AE_UNITS))


def show_ae_paper_widths(study, profile: str) -> None:
    """Show chapter 4's paper-width arm: every model and PCA at the paper's widths
    (:func:`kanmix.ae.paper_width_shown`), their parameters and training compute beside the widened CNN
    (:func:`kanmix.ae.paper_width_costs_shown`), and why that CNN is not trained (:func:`widened_cnn_text`)."""
    from IPython.display import Markdown, display

    from kanmix import ae, page

    paper = ae.paper_width_table(study.runs, study.all_baselines)
    display(page.table(ae.paper_width_shown(paper), "The paper's widths: every model and PCA of the same size on the "
                       f"same images (mean ± sd over seeds{ae.training_images_note(paper)}), and the epoch from which "
                       "an epoch gained under 0.5%", study.records, profile, names=AE_NAMES, units=AE_UNITS))
    costs = ae.paper_width_costs(study.paper_configs())
    display(page.table(ae.paper_width_costs_shown(costs), "Parameters and training compute at the paper's widths (the "
                       "paper's epochs over the training images above), with the CNN autoencoder widened to the KAN "
                       "autoencoder's parameter count (priced, not trained)", study.records, profile, names=AE_NAMES,
                       units=AE_UNITS))
    display(Markdown(widened_cnn_text(costs)))


def show_ae_knn(study, profile: str) -> None:
    """Show both KNN accuracies of every run of the sweep (:func:`kanmix.ae.knn_table`) and how the authors'
    protocol differs from ours (:func:`knn_protocol_text`)."""
    from IPython.display import Markdown, display

    from kanmix import ae, page

    knn = ae.knn_table(ae.chapter_table(study.table))
    display(page.table(knn, "Latent-space KNN accuracy (k = 3): ours against the authors' protocol",
                       study.records_of(study.table), profile, names=AE_NAMES, units=AE_UNITS, percent=AE_PERCENT))
    display(Markdown(knn_protocol_text(knn)))


def show_ae_convergence(study, *, epochs: int) -> None:
    """Show whether chapter 4's runs converged: the last epoch's change of the sweep's runs
    (:func:`convergence_text`), then what training longer than ``epochs`` changed at the paper's widths
    (:func:`ae_converged_text`)."""
    from IPython.display import Markdown, display

    from kanmix import ae

    display(Markdown(convergence_text(ae.last_epoch_changes(study.curves))))
    display(Markdown(ae_converged_text(ae.paper_width_table(study.runs, study.all_baselines), epochs=epochs)))
