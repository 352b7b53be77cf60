"""Chapter 4's sentences: the autoencoder sweep and its matched comparisons (equal latent sizes, matched
parameters, seeds), with PCA beside every model."""

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


