"""Chapters 3 and 6 call one function per table, sentence and figure: those functions, on small synthetic studies.

The studies here are built by hand (no training): what the functions compute is checked against
the same numbers worked out directly from the synthetic tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kanmix import report, stats, studies, viz
from kanmix.models import build_model, config, count_parameters
from kanmix.studies import FrontierStudy, MixerStudy

MODELS = ["KAN-Mixer", "MLP-Mixer", studies.TIME_MATCHED]
ACCURACY = {"KAN-Mixer": 0.80, "MLP-Mixer": 0.78, studies.TIME_MATCHED: 0.83}


def _folds(dataset: str, repeats: int = 1, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(len(dataset))
    rows = []
    for model in MODELS:
        for repeat in range(repeats):
            for fold in range(5):
                rows.append({"model": model, "dataset": dataset, "repeat": repeat, "fold": fold, "folds": 5,
                             "val_accuracy": ACCURACY[model] + shift + 0.01 * rng.standard_normal(),
                             "test_accuracy": ACCURACY[model] + shift, "train_seconds": 10.0 * (1 + MODELS.index(model)),
                             "params": 1000 * (3 - MODELS.index(model)), "epochs": 10, "n_train": 800, "n_val": 200,
                             "hash": f"{dataset}-{model}-{repeat}-{fold}",
                             "val_confusion": np.eye(3, dtype=int).tolist()})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def mixer_study() -> MixerStudy:
    folds = pd.concat([_folds("fashion_mnist"), _folds("cifar10", shift=-0.2)], ignore_index=True)
    headline = _folds("fashion_mnist", repeats=2)
    headline = headline[headline.model.isin(["KAN-Mixer", studies.TIME_MATCHED])]
    headline.loc[headline.repeat == 0, "val_accuracy"] = folds[
        (folds.dataset == "fashion_mnist") & folds.model.isin(["KAN-Mixer", studies.TIME_MATCHED])].val_accuracy.values
    ablation = pd.DataFrame({"model": ["[-1, 1]", "[-3, 3]"], "val_accuracy": [0.80, 0.81],
                             "test_accuracy": [0.79, 0.80], "n_val": [200, 200], "hash": ["a0", "a1"]})
    ablation_curves = pd.DataFrame({"model": ["[-1, 1]"] * 2 + ["[-3, 3]"] * 2, "epoch": [1, 2, 1, 2],
                                    "outside_grid": [0.30, 0.20, 0.05, 0.04], "val_accuracy": [0.7, 0.8, 0.7, 0.81]})
    efficiency = pd.DataFrame({"model": ["KAN-Mixer", "MLP-Mixer"] * 2, "n_train": [100, 100, 800, 800],
                               "epochs": [20, 20, 10, 10], "fold": [0] * 4, "val_accuracy": [0.5, 0.6, 0.8, 0.78],
                               "n_val": [200] * 4, "hash": ["e0", "e1", "e2", "e3"]})
    records = [{"hash": h, "config": {"train": {"epochs": 10, "batch_size": 128, "lr": 2e-3, "weight_decay": 0.01,
                                                "precision": "bf16", "augment": {"hflip": 0.5, "rotate": 10.0}}},
                "train_seconds": 10.0} for h in [*folds.hash, *ablation.hash, *efficiency.hash]]
    return MixerStudy(folds=folds, curves=pd.DataFrame(), labelled={"fashion_mnist": [], "cifar10": []},
                      headline=headline, headline_pair=("KAN-Mixer", studies.TIME_MATCHED), efficiency=efficiency,
                      ablation=ablation, ablation_curves=ablation_curves, left_out={"late update": "one epoch"},
                      records=records)


def test_tables_are_the_synthetic_numbers_regrouped(mixer_study):
    summary = studies.summaries(mixer_study)
    assert list(summary) == ["fashion_mnist", "cifar10"] and list(summary["cifar10"].index) == MODELS
    fm = mixer_study.folds[mixer_study.folds.dataset == "fashion_mnist"]
    assert summary["fashion_mnist"].loc["KAN-Mixer", "val_accuracy"] == pytest.approx(
        fm[fm.model == "KAN-Mixer"].val_accuracy.mean())
    abl = studies.ablation_table(mixer_study)
    assert abl.loc["[-1, 1]", "outside_grid"] == 0.20 and abl.loc["[-3, 3]", "val_accuracy"] == 0.81  # last epoch
    assert [r["hash"] for r in studies.records_of(mixer_study, mixer_study.ablation)] == ["a0", "a1"]
    pairs = studies.pairs_table(mixer_study, "fashion_mnist", folds=5)
    assert len(pairs) == 3 and list(pairs.columns) == ["diff", "ci", "d_z", "p_nb_holm", "p_wilcoxon_holm"]
    wide = fm.pivot(index="fold", columns="model", values="val_accuracy")
    a, b = pairs.index[0]
    assert pairs.iloc[0]["diff"] == pytest.approx(100 * (wide[a] - wide[b]).mean())  # in points
    everything = stats.all_pairs(fm, metric="val_accuracy", folds=5).iloc[0]
    assert pairs.iloc[0].ci == report.interval_cell(100 * everything.ci_low, 100 * everything.ci_high, precision=2)
    eff = studies.efficiency_table(mixer_study)
    assert eff.loc[(100, "MLP-Mixer"), "val_accuracy"] == 0.6 and eff.loc[(100, "KAN-Mixer"), "epochs"] == 20
    shown = studies.shown_overview(summary["fashion_mnist"], {"KAN-Mixer": 0.9})
    assert list(shown.columns) == ["params", "train_seconds", "val_accuracy", "ci", "test_accuracy", "paper"]
    row, full = shown.loc["KAN-Mixer"], summary["fashion_mnist"].loc["KAN-Mixer"]
    assert row.paper == 0.9 and np.isnan(shown.loc["MLP-Mixer", "paper"]) and row.val_accuracy == full.val_accuracy
    assert row.ci == report.interval_cell(100 * full.ci_low, 100 * full.ci_high)
    assert "paper" not in studies.shown_overview(summary["cifar10"]).columns


def test_an_interval_fits_one_cell_with_true_minus_signs():
    assert report.interval_cell(89.12, 89.64) == "[89.1,\u00a089.6]"  # a no-break space: one line in any column
    assert report.interval_cell(-0.853, -0.2312, precision=2) == "[−0.85,\u00a0−0.23]"


def test_wilcoxon_floors_are_two_over_two_to_the_n():
    floors = studies.wilcoxon_floors(4, folds=(5, 10))
    assert floors.loc[5, "two-sided floor"] == pytest.approx(2 / 2 ** 5)
    assert floors.loc[10, "one-sided floor"] == pytest.approx(1 / 2 ** 10)
    assert floors.loc[5, "two-sided floor, Holm over 6 pairs"] == pytest.approx(min(1, 6 * 2 / 2 ** 5))


def test_headline_tests_adjust_the_main_cv_only(mixer_study):
    main, repeated = studies.headline_tests(mixer_study, folds=5, repeats=2)
    assert (main.res.n, repeated.res.n) == (5, 10)
    against = studies.kan_mixer_against(mixer_study.folds[mixer_study.folds.dataset == "fashion_mnist"], folds=5)
    assert main.p_holm == pytest.approx(against.set_index("model").loc[studies.TIME_MATCHED, "p_holm"])
    assert main.pairs == 3 and repeated.p_holm is None and main.mdd > 0
    text = report.headline_text(mixer_study, [main, repeated])
    main_line, repeats_line = text.splitlines()[-2:]
    assert "Adjusted over the 3 pairs" in main_line and "Wilcoxon" in main_line
    assert "2 repeats" in repeats_line and "Wilcoxon" not in repeats_line and "Adjusted" not in repeats_line


def test_chapter3_sentences_cover_every_dataset(mixer_study):
    text = report.mixers_points(mixer_study, folds=5, repeats=2, paper_params=100_000)
    assert "- On Fashion-MNIST, " in text and "- On CIFAR-10, " in text
    assert "3,000 parameters, 3.0% of the paper's configuration (100,000)" in text
    assert "By mean" not in text  # the ranking is the tables' own
    ablation = report.grid_ablation_text(mixer_study, "[-1, 1]")
    assert "0.200–0.300" in ablation and "**late update**, because one epoch" in ablation
    assert report.paper_texts(mixer_study, {}, folds=5).count("None of the models") == 2
    eff = report.efficiency_text(mixer_study, folds=1)
    assert "At 100 training images" in eff and "At 800 training images" in eff
    protocol = report.protocol_text(mixer_study, paper_epochs=10, workers=1)
    assert "800 images for 10 epochs" in protocol and "learning rate 0.002" in protocol


def test_deviations_count_the_paper_model():
    table = studies.deviations(model_kwargs={"kan_mixer": {"patch": 8, "dim": 8, "depth": 1, "token_hidden": 4,
                                                           "channel_hidden": 8},
                                             "mlp_mixer": {"patch": 8, "dim": 8, "depth": 1, "token_hidden": 4,
                                                           "channel_hidden": 16}},
                               dataset="fashion_mnist", lr=1e-3, precision="fp32", augment={"rotate": 5.0})
    paper = count_parameters(build_model("kan_mixer", in_shape=(1, 32, 32), num_classes=10,
                                         **config("kan_mixer_paper")[1]))
    assert f"({paper:,} parameters)" in table.loc["mixer size", "the paper"]
    assert studies.paper_parameters("fashion_mnist") == paper
    assert table.loc["MLP-Mixer channel expansion", "here"].startswith("2 ")
    assert table.loc["rotation range", "here"] == "±5°"


def test_figures_draw_one_mark_per_model_and_panel(mixer_study):
    fig = viz.plot_by_model(mixer_study.folds.assign(epoch=mixer_study.folds.fold), y="val_accuracy", ylabel="acc",
                            panels="dataset", titles={"fashion_mnist": "F", "cifar10": "C"})
    assert len(fig.axes) == 2 and all(len(ax.lines) == len(MODELS) for ax in fig.axes)
    assert [ax.get_title() for ax in fig.axes] == ["F", "C"]
    bars = viz.plot_by_model(mixer_study.efficiency, x="n_train", y="val_accuracy", ylabel="acc", spread="errorbars",
                             logx=True, bottom=0)
    assert bars.axes[0].get_xscale() == "log" and bars.axes[0].get_ylim()[0] == 0
    conf = viz.plot_confusions(mixer_study.folds, datasets=["cifar10"], models=MODELS, classes={"cifar10": list("abc")},
                               titles={"cifar10": "C"})
    image = conf.axes[0].images[0].get_array()
    assert len(conf.axes) == 3 and np.allclose(image.sum(1), 1)  # rows normalised
    cost = viz.plot_cost(studies.summaries(mixer_study), titles={"fashion_mnist": "F", "cifar10": "C"})
    assert len(cost.axes) == 4 and all(ax.get_xscale() == "log" for ax in cost.axes)
    assert len(viz.mixer_diagram().axes[0].patches) == 6  # five boxes and the block's frame


def test_frontier_tables_and_sentences():
    points = pd.DataFrame({"dataset": "fashion_mnist", "family": ["K", "K", "M"], "size": ["8×1"] * 3,
                           "epochs": [10, 10, 10], "seed": [0, 1, 0], "params": [10, 10, 20], "flops": [1e9] * 3,
                           "train_seconds": [5.0, 7.0, 3.0], "timed_seconds": [4.0, 4.0, 2.0],
                           "val_accuracy": [0.8, 0.9, 0.7], "test_accuracy": [0.8, 0.8, 0.7]})
    sweep = pd.DataFrame({"family": ["K", "K", "M", "M"], "size": ["8×1"] * 4, "lr": [1e-3, 2e-3, 1e-3, 2e-3],
                          "val_accuracy": [0.5, 0.6, 0.7, 0.6]})
    study = FrontierStudy(points=points, sweep=sweep, lrs={"K": 2e-3, "M": 1e-3, "M (1×)": 1e-3}, missing=3)
    assert studies.seconds_column(study) == "train_seconds"
    table = studies.points_table(study)
    assert table.iloc[0].val_accuracy == pytest.approx(0.85) and table.iloc[0].seeds == 2
    assert table.iloc[0].seconds == pytest.approx(6.0)
    timed = FrontierStudy(points=points, sweep=sweep, lrs={}, timing={"provenance": {"device": "cpu: X"}})
    assert studies.seconds_column(timed) == "timed_seconds" and studies.points_table(timed).iloc[0].seconds == 4.0
    assert "on cpu: X" in report.seconds_source(timed) and "machines may differ" in report.seconds_source(study)
    assert studies.sweep_table(study).loc[("M", "8×1"), 1e-3] == 0.7
    text = report.sweep_text(study, {"lrs": [1e-3, 2e-3, 4e-3], "sizes": {"K": [8, 1], "M": [8, 1]}})
    assert "K: 0.002; M: 0.001" in text and "For M the best value is at the edge" in text
    assert report.frontier_answer(study, {}, {}).startswith("*This page shows a campaign under way: 3 planned runs")


def _lengths(gains: dict[str, float], seeds_sd: float | None = None) -> pd.DataFrame:
    """Points of two families at sizes 8×1 and 16×1, each at 10 and 20 epochs; ``gains`` per family."""
    rows = []
    for family, gain in gains.items():
        for dim in (8, 16):
            for epochs in (10, 20):
                base = {"dataset": "d", "family": family, "dim": dim, "depth": 1, "epochs": epochs, "seed": 0,
                        "flops": dim * epochs * 1e6, "val_accuracy": 0.7 + (gain if epochs == 20 else 0)}
                rows.append(base)
                if seeds_sd is not None:
                    rows.append({**base, "seed": 1, "val_accuracy": base["val_accuracy"] + seeds_sd})
    return pd.DataFrame(rows)


def test_longer_training_measures_each_size_and_judges_it_against_the_seeds():
    from kanmix import frontier

    points = _lengths({"K": 0.05, "M": -0.002}, seeds_sd=0.01)
    table = frontier.longer_training(points, "d")
    assert list(table.family) == ["K", "K", "M", "M"] and (table.flops_ratio == 2).all()
    assert table.gain.tolist() == pytest.approx([0.05, 0.05, -0.002, -0.002])
    band, df = frontier.gap_band(points)
    # Each configuration has two seeds 0.01 apart: sd = 0.01 / sqrt(2), pooled over 8 configurations.
    assert df == 8 and band == pytest.approx(1.96 * 0.01 / np.sqrt(2) * np.sqrt(2))
    text = report.longer_training_sentence(table, band)
    assert "the K's rose beyond the noise at 2 of 2 sizes" in text and "the M's rose beyond the noise at 0 of 2" in text
    # Reversed evidence reverses the sentence; no seeds, no judgement; no second length, nothing to say.
    flipped = report.longer_training_sentence(frontier.longer_training(_lengths({"K": -0.05}), "d"), band)
    assert "fell beyond it at 2" in flipped
    unjudged = report.longer_training_sentence(table, None)
    assert "not judged against noise" in unjudged and "beyond" not in unjudged
    one_length = frontier.longer_training(points[points.epochs == 10], "d")
    assert len(one_length) == 0 and "cannot be said" in report.longer_training_sentence(one_length, band)


def test_efficiency_text_tests_each_gap_over_the_folds_or_against_the_images(mixer_study):
    from dataclasses import replace

    rows = []
    for fold in range(3):
        for n in (100, 800):
            for model, acc in (("KAN-Mixer", 0.70), ("MLP-Mixer", 0.60 if n == 100 else 0.701)):
                rows.append({"model": model, "n_train": n, "fold": fold, "folds": 5, "epochs": 10, "n_val": 200,
                             "n_test": 10000, "test_accuracy": acc + 0.002 * fold * (model == "KAN-Mixer"),
                             "val_accuracy": acc, "hash": f"{model}{n}{fold}"})
    study = replace(mixer_study, efficiency=pd.DataFrame(rows), efficiency_metric="test_accuracy")
    text = report.efficiency_text(study, folds=3)
    lines = text.splitlines()[-2:]
    assert "Holm over the 2 comparisons" in text and "test accuracy (the whole test split)" in text.lower()
    assert lines[0].startswith("- 100 images") and "the KAN-Mixer is ahead" in lines[0]
    assert lines[1].startswith("- 800 images") and "no difference can be told" in lines[1]
    assert ("In sum, the KAN-Mixer is ahead of the MLP-Mixer at 100 images, behind none; no difference can be told "
            "in 1 of the 2:") in text
    flipped = study.efficiency.assign(model=study.efficiency.model.map({"KAN-Mixer": "MLP-Mixer",
                                                                         "MLP-Mixer": "KAN-Mixer"}))
    behind = report.efficiency_text(replace(study, efficiency=flipped), folds=3)
    assert "the KAN-Mixer is ahead of none, behind the MLP-Mixer at 100 images;" in behind
    same = study.efficiency.assign(test_accuracy=0.7 + 0.002 * study.efficiency.fold)  # no gap anywhere
    assert "In sum, no difference can be told in any of the 2:" in report.efficiency_text(
        replace(study, efficiency=same), folds=3)
    table = studies.efficiency_table(study)
    assert table.loc[(100, "KAN-Mixer"), "sd"] == pytest.approx(0.002)
    one = report.efficiency_text(replace(study, efficiency=study.efficiency[study.efficiency.fold == 0]), folds=1)
    assert "scored on the whole test split" in one and "10,000 images" in one
