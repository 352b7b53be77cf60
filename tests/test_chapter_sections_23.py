"""Chapters 2 and 3 call one function per section: those functions (``report.show_*`` show a section's tables and
sentences, ``report.glue_*`` glue what the Markdown places), on tiny synthetic inputs.

What a function shows or glues is captured as the notebook would receive it (an IPython shell's display publisher,
:func:`IPython.utils.capture.capture_output`) and checked against the parts it is made of, computed directly.
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

import kanmix.kan_fast as kan_fast
from kanmix import cv, data, grids, interpret, report, runner, studies, viz
from kanmix.bench import kan as bench_kan
from kanmix.models import build_model
from kanmix.studies import SearchPlan, SearchStudy
from test_chapter_parts import _bench_records, _parity
from test_chapter_tables import mixer_study  # noqa: F401  (a fixture)

GLUED = "application/papermill.record/"  # myst_nb's prefix of what glue(..., display=False) stores


@pytest.fixture(autouse=True)
def eager_kernels(monkeypatch):
    monkeypatch.setattr(kan_fast._features, "compiled", None)
    monkeypatch.setattr(kan_fast._grad_input, "compiled", None)


class Page:
    """What a cell published: ``shown``, the outputs a reader sees (each its mime bundle, without the glue key's
    prefix), and ``glued``, glue key -> its bundle (shown or not)."""

    def __init__(self, outputs):
        self.shown, self.glued = [], {}
        for out in outputs:
            bundle = {k.removeprefix(GLUED): v for k, v in out.data.items()}
            key = (out.metadata or {}).get("scrapbook", {}).get("name")
            if key is not None:
                self.glued[key] = bundle
            if not any(k.startswith(GLUED) for k in out.data):
                self.shown.append(bundle)

    def texts(self) -> list[str]:
        """Each shown output as text: its Markdown, its HTML, or ``"<png>"`` for an image."""
        return [b["text/markdown"] if "text/markdown" in b else b["text/html"] if "text/html" in b else
                "<png>" if "image/png" in b else "?" for b in self.shown]


@pytest.fixture
def cell(tmp_path, monkeypatch):
    """Run a section function as in a notebook cell: ``cell(fn, *args, **kwargs)`` -> ``(returned, Page)``."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no profile or history under $HOME
    config = Config()
    config.HistoryManager.enabled = False
    InteractiveShell.instance(config=config)

    def run(fn, *args, **kwargs):
        with capture_output() as captured:
            returned = fn(*args, **kwargs)
        return returned, Page(captured.outputs)

    yield run
    InteractiveShell.clear_instance()  # the other tests run outside IPython, as before


class Drawn:
    """Stands in for a ``kanmix.viz`` plot: records its arguments, returns a small empty figure."""

    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        fig = Figure(figsize=(2, 1))
        fig.subplots()
        return fig


def caption(page: Page, key: str) -> str:
    return page.glued[f"{key}_caption"]["text/markdown"]


# ----------------------------------------------------------------------------- chapter 2


@pytest.fixture
def classifier(monkeypatch) -> report.OpenedClassifier:
    """Chapter 2's classifier opened, on 8×8 images: 64 → 6 → 3, trained (perturbed) and untrained."""
    torch.manual_seed(0)
    trained = build_model("kan", in_shape=(1, 8, 8), num_classes=3, hidden=[6]).eval()
    untrained = build_model("kan", in_shape=(1, 8, 8), num_classes=3, hidden=[6]).eval()
    with torch.no_grad():
        trained.kan.layers[1].spline_weight.mul_(4.0)
    images = torch.randint(0, 256, (40, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(runner, "load_trained", lambda cfg: trained)
    monkeypatch.setattr(runner, "build", lambda cfg: untrained)
    monkeypatch.setattr(data, "load", lambda name, split: (images, torch.zeros(len(images), dtype=torch.long)))
    cfg = SimpleNamespace(split=SimpleNamespace(dataset="fashion_mnist"))
    return report.open_classifier(cfg, {"hash": "classifier"}, n_probe=30)


def test_open_classifier_reads_both_models_on_the_first_test_images(classifier):
    kan = classifier
    assert kan.record == {"hash": "classifier"}
    assert kan.probe.shape == (30, 1, 8, 8) and kan.probe.min() >= -1 and kan.probe.max() <= 1
    assert kan.layer is kan.models["trained"].kan.layers[1]
    torch.testing.assert_close(kan.inputs, grids.layer_inputs(kan.models["trained"], kan.probe)["kan.layers.1"])
    assert kan.inputs.shape == (30, 6)
    assert set(kan.edges) == {"trained", "untrained"}
    pd.testing.assert_frame_equal(kan.edges["untrained"], interpret.edge_table(kan.models["untrained"], kan.probe))
    assert len(kan.edges["trained"]) == 64 * 6 + 6 * 3  # one row per edge of both layers


def test_show_spline_share_shows_the_table_and_its_sentence_and_returns_the_weighted_share(classifier, cell):
    weighted, page = cell(report.show_spline_share, classifier, "smoke")
    assert weighted == studies.weighted_spline_share(classifier.edges)
    table, text = page.texts()
    assert "Median spline share S / (S + B) of the edges of each layer" in table and "profile smoke" in table
    assert "layer 2 (hidden → classes)" in table
    assert text == report.spline_share_text(studies.spline_share_table(classifier.edges), weighted)
    assert not page.glued


def test_the_layer_figures_are_glued_under_their_keys(classifier, cell, monkeypatch):
    edges_plot, update_plot = Drawn(), Drawn()
    monkeypatch.setattr(viz, "plot_edge_terms", edges_plot)
    monkeypatch.setattr(viz, "plot_grid_update", update_plot)
    _, page = cell(report.glue_edge_terms, classifier, "smoke", n_edges=4)
    assert set(page.glued) == {"edges", "edges_caption"} and "image/png" in page.glued["edges"]
    assert edges_plot.calls == [((classifier.layer, classifier.inputs, 4), {})]
    assert caption(page, "edges").startswith("**The 4 most important edges of the second KAN layer (panel: input unit")
    assert "profile `smoke`" in caption(page, "edges") and "1 record" in caption(page, "edges")

    after = grids.grid_update_effect(classifier.layer, classifier.inputs)[0]
    _, page = cell(report.glue_grid_update, classifier, after, "smoke")
    assert set(page.glued) == {"grid_update", "grid_update_caption"}
    assert update_plot.calls == [((classifier.layer, after, classifier.inputs), {})]
    assert "the knots move to the data and the edge function is kept where the data is**" in caption(page,
                                                                                                    "grid_update")


def test_show_grid_update_returns_the_update_and_shows_its_table_and_sentence(classifier, cell):
    (after, occupancy, change), page = cell(report.show_grid_update, classifier, "smoke")
    expected = grids.grid_update_effect(classifier.layer, classifier.inputs)
    torch.testing.assert_close(after.grid, expected[0].grid)
    pd.testing.assert_frame_equal(occupancy, expected[1])
    assert change == pytest.approx(expected[2])
    table, text = page.texts()
    assert "Where the second layer's knots sit relative to its real inputs" in table and "after update_grid" in table
    assert text == report.grid_update_text(occupancy, change)


def test_show_regulariser_shows_both_terms_and_the_top_edges(classifier, cell):
    returned, page = cell(report.show_regulariser, classifier, "smoke")
    assert returned is None
    table, text = page.texts()
    assert "The two terms of the KAN sparsity regulariser" in table and "normalised entropy" in table
    assert text == report.top_edges_text(studies.regulariser_table(classifier.models, classifier.edges))


def test_show_layer_speed_reads_a_benchmark_file_and_shows_table_and_lines(tmp_path, cell, monkeypatch):
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(_bench_records()))
    speed, page = cell(report.show_layer_speed, "smoke", bench_json=str(path), shapes=[[1, 2, 3]], repeats=7,
                       dtypes=["float32"])
    pd.testing.assert_frame_equal(speed.table, bench_kan.speed_table(_bench_records()))
    assert speed.records == [] and speed.source.endswith("read from gpu.json")
    assert speed.lines == report.layer_speed_lines(speed.table, [])
    table, lines = page.texts()
    assert (f"Forward + backward time of one layer (grid {bench_kan.GRID_SIZE}, order {bench_kan.SPLINE_ORDER}), "
            "medians of 7 steps") in table
    assert "read from gpu.json" in table and "plain / limit" not in table  # that ratio is the sentences' alone
    assert lines == report.bullets(speed.lines)

    monkeypatch.setattr(viz, "plot_layer_speed", drawn := Drawn())
    _, page = cell(report.glue_layer_speed, speed, "smoke")
    assert set(page.glued) == {"speed", "speed_caption"} and page.texts() == ["<png>"]
    assert drawn.calls == [((speed.table,), {"labels": report.CONTENDERS})]
    assert "the dashed line is the dense limit" in caption(page, "speed") and "read from gpu.json" in caption(page,
                                                                                                              "speed")


def test_show_parity_shows_the_table_the_verdicts_and_the_gaps(cell):
    parity = _parity().assign(dataset="fashion_mnist")
    (table, verdicts), page = cell(report.show_parity, parity, [], "smoke", margin=0.01, gaps={"MLP-Mixer": 0.5})
    pd.testing.assert_frame_equal(table, studies.parity_table(parity))
    assert verdicts == report.parity_verdicts(parity, table, margin=0.01)
    shown = page.texts()
    assert len(shown) == 4
    assert f"{data.info('fashion_mnist').title}: 5-fold CV of the same models, seeds and folds in float32" in shown[0]
    assert shown[1:] == [report.parity_text(verdicts), report.bf16_time_text(table),
                         report.parity_against_gaps(parity, {"MLP-Mixer": 0.5})]
    _, page = cell(report.show_parity, parity, [], "smoke", margin=0.01, gaps=None)
    assert page.texts()[-1].startswith("Chapter 3's runs are not all in the results store")


# ----------------------------------------------------------------------------- chapter 3


def test_mixers_findings_are_the_headline_pair_and_the_field_without_the_pointer(mixer_study):
    found = report.mixers_findings(mixer_study, folds=5)
    against = studies.kan_mixer_against_each(mixer_study, folds=5)
    assert found == report.chapter_findings(3, report.mixers_finding(against, mixer_study.headline_pair),
                                            report.mixers_field_finding(against, mixer_study.headline_pair))
    assert found and not any("(chapter 3)" in s for s in found)


def test_glue_deviations_glues_the_table_at_the_precision_the_runs_used(mixer_study, cell):
    kwargs = {"patch": 8, "dim": 32, "depth": 1, "token_hidden": 8, "channel_hidden": 32, "dropout": 0.0}
    _, page = cell(report.glue_deviations, mixer_study, "smoke", model_kwargs={"kan_mixer": kwargs,
                                                                               "mlp_mixer": kwargs},
                   lr=2e-3, augment={"hflip": 0.5, "rotate": 10.0})
    assert list(page.glued) == ["ch3_deviations"] and page.shown == []
    html = page.glued["ch3_deviations"]["text/html"]
    assert "What this chapter does differently from the KAN-Mixers paper" in html
    assert ">bf16<" in html and "±10°" in html  # the records' precision, the rotation given


def test_glue_grid_ablation_glues_table_sentence_and_figure(mixer_study, cell, monkeypatch):
    monkeypatch.setattr(viz, "plot_by_model", drawn := Drawn())
    _, page = cell(report.glue_grid_ablation, mixer_study, "smoke", grid_handling="[-1, 1]")
    assert list(page.glued) == ["ch3_ablation", "ch3_ablation_text", "outside_grid", "outside_grid_caption"]
    table = page.glued["ch3_ablation"]["text/html"]
    assert f"the KAN-Mixer on fold 0 of {data.info('fashion_mnist').title}, with the share" in table
    assert "2 records" in table  # the ablation's own: a0 and a1
    assert page.glued["ch3_ablation_text"]["text/markdown"] == report.grid_ablation_text(mixer_study, "[-1, 1]")
    (args, kwargs), = drawn.calls
    assert args == (mixer_study.ablation_curves,) and kwargs["y"] == "outside_grid" and kwargs["spread"] is None
    assert caption(page, "outside_grid").startswith("**Fraction of the KAN-Mixer's KAN-layer inputs outside")
    assert page.texts() == ["<png>"]  # the figure, shown where it is made (the cell's output is removed)


def test_show_cross_validation_shows_each_datasets_table_then_the_paper(mixer_study, cell):
    _, page = cell(report.show_cross_validation, mixer_study, "smoke", folds=5)
    shown = page.texts()
    assert len(shown) == 5 and not page.glued
    for table, dataset in ((shown[0], "fashion_mnist"), (shown[2], "cifar10")):
        assert f"{data.info(dataset).title}: 5-fold cross-validation, mean over folds" in table
        assert "MLP-Mixer (time-matched)" in table
    assert shown[1] == report.cv_text(mixer_study, "fashion_mnist") == ""  # no flat KAN in this study
    assert shown[4] == report.paper_texts(mixer_study, studies.PAPER_ACCURACY, folds=5)


def test_glue_cv_figures_glues_cost_curves_and_the_headline_confusions(mixer_study, cell, monkeypatch):
    cost, curves, confusions = Drawn(), Drawn(), Drawn()
    monkeypatch.setattr(viz, "plot_cost", cost)
    monkeypatch.setattr(viz, "plot_by_model", curves)
    monkeypatch.setattr(viz, "plot_confusions", confusions)
    _, page = cell(report.glue_cv_figures, mixer_study, "smoke")
    assert [k for k in page.glued if not k.endswith("_caption")] == ["cost", "cv_curves", "confusion"]
    titles = {d: data.info(d).title for d in ("fashion_mnist", "cifar10")}
    (args, kwargs), = cost.calls
    assert list(args[0]) == list(titles) and kwargs == {"titles": titles}
    (_, kwargs), = curves.calls
    assert kwargs["order"] == list(studies.summaries(mixer_study)["fashion_mnist"].index)
    (_, kwargs), = confusions.calls
    assert kwargs["models"] == ["KAN-Mixer", studies.TIME_MATCHED] and kwargs["datasets"] == list(titles)
    assert caption(page, "confusion").startswith(
        f"**Confusion matrices of {report.listing(['KAN-Mixer', studies.TIME_MATCHED])}, summed over")
    assert f"{len(mixer_study.records)} records" in caption(page, "cost")  # the study's, as every CV figure


def test_glue_pairs_glues_the_floors_and_every_datasets_pairs(mixer_study, cell):
    _, page = cell(report.glue_pairs, mixer_study, "smoke", folds=5)
    assert list(page.glued) == ["ch3_floors", "ch3_pairs"] and page.shown == []
    assert "Holm over 3 pairs" in page.glued["ch3_floors"]["text/html"]  # three models: three pairs
    pairs = page.glued["ch3_pairs"]["text/html"]
    first, second = (pairs.index(f"{data.info(d).title}: every pair of the cross-validation, a − b in held-out "
                                 "accuracy over 5 folds") for d in ("fashion_mnist", "cifar10"))
    assert first < second and pairs.count('<div class="kanmix-table">') == 2


def test_show_efficiency_shows_the_table_and_the_tests_or_only_the_campaign_note(mixer_study, cell):
    _, page = cell(report.show_efficiency, mixer_study, "smoke", folds=1)
    note, table, text = page.texts()
    assert note == "" and text == report.efficiency_text(mixer_study, folds=1)
    assert "Held-out accuracy against the number of training images per fold (sd: over the folds)" in table
    assert "4 records" in table
    waiting = dataclasses.replace(mixer_study, efficiency=None, efficiency_missing=4)
    _, page = cell(report.show_efficiency, waiting, "smoke", folds=1)
    assert page.texts() == [report.efficiency_campaign_text(waiting)] and "4 planned runs" in page.texts()[0]


def test_glue_efficiency_figure_draws_the_curve_or_says_it_is_not_run(mixer_study, cell, monkeypatch):
    monkeypatch.setattr(viz, "plot_by_model", drawn := Drawn())
    _, page = cell(report.glue_efficiency_figure, mixer_study, "smoke", folds=3)
    (args, kwargs), = drawn.calls
    assert args == (mixer_study.efficiency,) and kwargs["x"] == "n_train" and kwargs["logx"]
    assert kwargs["ylabel"] == "held-out accuracy"
    assert caption(page, "efficiency").startswith(
        "**Held-out accuracy against training-set size (mean ± sd over folds)**")
    scored_on_test = dataclasses.replace(mixer_study, efficiency_metric="test_accuracy")
    _, page = cell(report.glue_efficiency_figure, scored_on_test, "smoke", folds=1)
    assert caption(page, "efficiency").startswith("**Test accuracy against training-set size**")
    _, page = cell(report.glue_efficiency_figure, dataclasses.replace(mixer_study, efficiency=None), "smoke", folds=3)
    assert caption(page, "efficiency").startswith("**Held-out accuracy against training-set size: not yet run**")
    assert len(drawn.calls) == 2 and "image/png" in page.glued["efficiency"]  # a message stands in for the curve


# ----------------------------------------------------------------------------- chapter 3's search

SPACE = {"patch": [7, 14], "dim": [4, 8], "depth": [1], "lr": (1e-3, 1e-2), "weight_decay": (1e-5, 1e-3)}
KAN_KWARGS = {"patch": 7, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8}


def _fold_rows(model: str, accuracies, prefix: str) -> pd.DataFrame:
    rows = [{**dict.fromkeys(cv.COLUMNS), "model": model, "dataset": "mnist", "repeat": 0, "fold": f, "folds": 2,
             "seed": 0, "val_accuracy": a, "test_accuracy": a, "train_seconds": 10.0, "params": 1000, "n_train": 100,
             "n_val": 100, "epochs": 2, "hash": f"{prefix}{f}"} for f, a in enumerate(accuracies)]
    return pd.DataFrame(rows, columns=cv.COLUMNS)


@pytest.fixture
def search() -> SearchStudy:
    """A search of three trials on MNIST (two scored, one diverged), its best trained on both folds."""
    plan = SearchPlan(dataset="mnist", space=SPACE, trials=3, epochs=1, final_epochs=2, folds=2,
                      model_kwargs=KAN_KWARGS, train={"batch_size": 20}, subset=200, seed=0, max_cost=None,
                      reference_flops=1000, name="tiny", size=None)
    trials = pd.DataFrame([
        {"trial": 0, "state": "COMPLETE", "val_accuracy": 0.61, "patch": 7, "dim": 8, "depth": 1, "lr": 2e-3,
         "weight_decay": 1e-4, "params": 900, "cost": 1.2, "note": ""},
        {"trial": 1, "state": "COMPLETE", "val_accuracy": 0.55, "patch": 14, "dim": 4, "depth": 1, "lr": 5e-3,
         "weight_decay": 1e-5, "params": 400, "cost": 0.4, "note": ""},
        {"trial": 2, "state": "FAIL", "val_accuracy": np.nan, "patch": 7, "dim": 4, "depth": 1, "lr": 9e-3,
         "weight_decay": 1e-3, "params": 500, "cost": 0.8, "note": "diverged"}])
    final = _fold_rows("searched", [0.70, 0.72], "final")
    return SearchStudy(plan=plan, trials=trials, source="export", best=trials.iloc[0],
                       by_patch=studies.search_patch_table(trials), noise_sd=0.01, final=final,
                       records=[{"hash": f"trial{i}", "n_train": 100} for i in range(3)],
                       final_records=[{"hash": h} for h in final.hash])


def test_glue_search_glues_trials_best_importances_and_their_figure(search, cell):
    _, page = cell(report.glue_search, search, "smoke", model_kwargs=KAN_KWARGS, lr=2e-3, weight_decay=0.01)
    assert list(page.glued) == ["ch3_trials", "ch3_best", "ch3_importance_text", "search_importance",
                                "search_importance_caption"]
    trials = page.glued["ch3_trials"]["text/html"]
    assert f"The search's trials on fold 0 of {data.info('mnist').title}, best first" in trials
    assert "3 records" in trials
    assert trials.index(">61.0<") < trials.index(">55.0<")  # best first, as percentages
    best = page.glued["ch3_best"]["text/html"]
    assert "best trial (0)" in best and "this chapter's KAN-Mixer" in best and "the paper's" in best
    assert page.glued["ch3_importance_text"]["text/markdown"] == report.search_importance_text(search)
    assert caption(page, "search_importance").startswith("**How much of the trials' held-out accuracy each drawn")
    assert page.texts() == ["<png>"]


def test_show_patch_outcome_shows_the_patch_table_and_the_verdict(search, cell):
    _, page = cell(report.show_patch_outcome, search, "smoke", patch=7)
    table, text = page.texts()
    assert "Each patch size's scored trials, its draws over the budget, and its best trial" in table
    assert text == report.patch_text(studies.patch_outcome(search, 7)) and text.startswith("Patch 7 ")


def test_show_search_final_sets_the_searched_configuration_beside_the_chapters(search, cell):
    chapter = SimpleNamespace(folds=_fold_rows("KAN-Mixer", [0.60, 0.66], "kan"),
                              records=[{"hash": "kan0"}, {"hash": "kan1"}, {"hash": "other"}])
    _, page = cell(report.show_search_final, search, chapter, "smoke")
    table, text = page.texts()
    assert f"each trained with this chapter's schedule on the same folds of {data.info('mnist').title}" in table
    assert "KAN-Mixer" in table and "searched" in table and "4 records" in table  # both folds of each, no other
    assert text == report.search_final_text(search, studies.searched_against_chapter(search, chapter))
    assert "Against this chapter's hand-picked KAN-Mixer" in text
    _, page = cell(report.show_search_final, dataclasses.replace(search, final=search.final.iloc[:0]), None, "smoke")
    table, text = page.texts()
    assert "has not been trained with the chapter's schedule yet" in text
