"""The section calls chapters 0, 4, 5 and 6 are made of (#28: prose, one study call and plots): each shows its
tables (``report.show_*``) or glues its figures (``report.glue_*``) under the captions the page had, in the page's
order, from the chapter's study.

Chapters 4 and 5 read tiny real studies (a few runs on 100 images, trained once per module into a results store of
their own); chapter 6 a synthetic frontier; the findings page synthetic studies. What the page gets is caught where
the functions hand it over: ``IPython.display.display`` and myst-nb's ``glue``.
"""

from __future__ import annotations

import math
import re

import IPython.display
import myst_nb
import pandas as pd
import pytest
import torch
from IPython.display import HTML, Image, Markdown

from kanmix import book, data, frontier, grids, interpret, page, report, studies
from kanmix.kan import KANLinear
from test_ae_controls import TINY
from test_report_headline import PAIR, SEEDS3, WIDTHS, _against, _ae, _evidence
from test_report_headline import _frontier as _compared


@pytest.fixture
def shown(monkeypatch) -> list[tuple]:
    """What the page gets, in order: ``("display", object)`` for each object displayed and ``("glue", key, object)``
    for each one glued; the provenance gathered starts empty."""
    out: list[tuple] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: out.extend(("display", o) for o in objs))
    monkeypatch.setattr(myst_nb, "glue", lambda key, obj, display=True: out.append(("glue", key, obj)))
    monkeypatch.setattr(page, "_SEEN", {})
    return out


def tables(out: list[tuple]) -> list[tuple[str, str]]:
    """``(caption, provenance line)`` of every table displayed, in order."""
    return [re.search(r'kanmix-table-caption"><b>(.*?)</b><br><small>(.*?)</small>', o[1].data).groups()
            for o in out if o[0] == "display" and isinstance(o[1], HTML)]


def behind(note: str) -> int:
    """How many records a caption's provenance line says it rests on."""
    return int(re.search(r"· (\d+) records?\b", note).group(1))


def texts(out: list[tuple]) -> list[str]:
    """The Markdown displayed, in order."""
    return [o[1].data for o in out if o[0] == "display" and isinstance(o[1], Markdown)]


def glued(out: list[tuple]) -> dict:
    """Key -> what was glued under it, in the order glued."""
    return {o[1]: o[2] for o in out if o[0] == "glue"}


def figures(out: list[tuple]) -> list[str]:
    """The keys of the figures glued (PNG images, each with its ``<key>_caption``), in order."""
    got = glued(out)
    keys = [k for k, v in got.items() if isinstance(v, Image)]
    for key in keys:
        assert got[key].data.startswith(b"\x89PNG") and isinstance(got[f"{key}_caption"], Markdown)
    return keys


def caption(out: list[tuple], key: str) -> str:
    """The text of figure ``key``'s caption (without its provenance line)."""
    return re.match(r"\*\*(.*?)\*\* <br>", glued(out)[f"{key}_caption"].data).group(1)


# ----------------------------------------------------------------------------- chapter 4


@pytest.fixture(scope="module")
def ae_study(tmp_path_factory):
    """Chapter 4's study on 100 MNIST images: the KAN and CNN autoencoders' sweep at one width, and the paper-width
    arm at 8 (the authors' code beside them) trained for 1 and 2 epochs; one seed."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KANMIX_RESULTS", str(tmp_path_factory.mktemp("ae") / "results"))
        return studies.autoencoders(**TINY, paper_widths={"mnist": 8}, converged_epochs=2, authors_variant=True)


def test_chapter_4_glues_its_finding_folded_tables_and_reconstructions(ae_study, shown):
    from kanmix import ae

    comparisons = ae.matched_comparisons(ae_study.runs, ae_study.all_baselines)
    deviations = pd.DataFrame({"the paper": ["10"], "here": ["1"], "why": ["budget"]},
                              index=pd.Index(["epochs"], name="setting"))
    report.glue_ae_placed(ae_study, comparisons, deviations, "smoke", epochs=1, paper_widths={"mnist": 8})
    got = glued(shown)
    assert list(got) == ["ch4_finding", "ch4_baselines", "ch4_deviations", "recon", "recon_caption"]
    assert got["ch4_finding"].data.startswith("```{container} kanmix-finding\n- ")
    assert ("<b>The mean-image predictor (0 components) and PCA at every latent size of the sweep</b>"
            in got["ch4_baselines"].data and ">pca<" in got["ch4_baselines"].data)
    assert "<b>Chapter 4 against the KAN autoencoder paper (– : the paper's value is not restated here)</b>" in \
        got["ch4_deviations"].data and ">budget<" in got["ch4_deviations"].data
    assert figures(shown) == ["recon"]
    assert caption(shown, "recon").startswith("Test images (top row of each block) and their reconstructions")
    assert behind(got["recon_caption"].data) == 2  # the KAN and the CNN autoencoder at their widest bottleneck
    assert not any(o[0] == "display" for o in shown)  # everything is placed by the Markdown


def test_chapter_4_shows_its_sweep_one_table_per_dataset(ae_study, shown):
    report.show_ae_sweep(ae_study, ["mnist"], "smoke", hidden={"mnist": 8}, bottlenecks={"mnist": [4]})
    assert texts(shown)[0] == "" and texts(shown)[1].startswith("Every autoencoder of the sweep trained for 1 epochs")
    (text, note), = tables(shown)
    assert text.startswith("MNIST: the autoencoders by bottleneck. MSE in the models' [−1, 1] input space")
    assert behind(note) == 2  # the sweep's two runs, not the paper-width arm's


def test_chapter_4_glues_its_two_figures_and_shows_comparisons_paper_widths_knn_and_convergence(ae_study, shown):
    from kanmix import ae

    report.glue_ae_figures(ae_study, ["mnist"], "smoke")
    assert figures(shown) == ["ae_sweep", "ae_cost"]
    assert caption(shown, "ae_cost") == ("Test PSNR against training time (left) and parameter count (right), every "
                                         "run of every dataset")
    shown.clear()
    comparisons = ae.matched_comparisons(ae_study.runs, ae_study.all_baselines)
    report.show_ae_comparisons(comparisons, ["mnist"], ae_study.records, "smoke")
    assert [t for t, _ in tables(shown)] == ["MNIST: every comparison at equal latent size, training images and "
                                             "length (a − b, means over the paired seeds)"]
    shown.clear()
    report.show_ae_paper_widths(ae_study, "smoke")
    (widths, _), (costs, _) = tables(shown)
    assert widths.startswith("The paper's widths: every model and PCA of the same size on the same images (mean ± sd "
                             "over seeds; training images: MNIST 100)")
    assert costs.startswith("Parameters and training compute at the paper's widths")
    assert texts(shown) == [report.widened_cnn_text(ae.paper_width_costs(ae_study.paper_configs()))]
    assert texts(shown)[0].startswith("Matched in parameters, on MNIST a CNN autoencoder widened to")
    shown.clear()
    report.show_ae_knn(ae_study, "smoke")
    assert [t for t, _ in tables(shown)] == ["Latent-space KNN accuracy (k = 3): ours against the authors' protocol"]
    assert texts(shown)[0].startswith("The authors' protocol against ours, by the space")
    shown.clear()
    report.show_ae_convergence(ae_study, epochs=1)
    last, longer = texts(shown)
    assert last == "Each run trained for one epoch only: convergence cannot be judged from its curve."
    assert longer.startswith("The paper's recipe keeps the learning rate constant") and "after 2 (" in longer


# ----------------------------------------------------------------------------- chapter 5


@pytest.fixture(scope="module")
def splines_study(tmp_path_factory):
    """Chapter 5's study under the smoke profile on less data: two seeds, 100 images, no controls or linearizing."""
    params = {**book.chapter_parameters("smoke", ["05"])["05"], "seeds": [0, 1], "subset": 100, "ae_subset": 100,
              "n_importance": 32, "n_eval": 100, "linearize_arms": [], "pruning_controls": False, "finetune_steps": 1}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KANMIX_RESULTS", str(tmp_path_factory.mktemp("splines") / "results"))
        return studies.splines_from_chapter(params)


@pytest.mark.slow  # four mixers and an autoencoder trained, every edge measured
def test_chapter_5_draws_the_first_token_channel_and_pixel_layers_over_their_own_inputs(splines_study):
    names = studies.drawn_layers(splines_study)
    assert list(names) == ["token", "channel", "ae"]
    assert names["token"].startswith("blocks.0.token_mix") and names["channel"].startswith("blocks.0.channel_mix")
    assert names["ae"] == next(iter(grids.kan_layers(splines_study.ae_trained)))
    for part, (trained, untrained, probe) in {
            "token": (splines_study.trained[0], splines_study.untrained[0], splines_study.probe),
            "ae": (splines_study.ae_trained, splines_study.ae_untrained, splines_study.ae_probe)}.items():
        rows = studies.edge_rows(splines_study, part)
        assert [(r[0], r[4]) for r in rows] == list(studies.EDGE_COLOURS.items())
        for (_, layer, x, (low, high), _), model in zip(rows, (trained, untrained)):
            assert layer is grids.kan_layers(model)[names[part]] and isinstance(layer, KANLinear)
            assert x.shape[1] == layer.in_features and x.shape[0] > 0
            assert low.shape == high.shape == (layer.in_features,) and (low <= high).all()
        # The pixels reach the autoencoder's first layer as they are; the mixer's token-mixing layer reads the patch
        # embedding before it, trained or not.
        assert torch.equal(rows[0][2], rows[1][2]) == (part == "ae")


@pytest.mark.slow
def test_chapter_5_shows_its_tables_under_their_captions(splines_study, shown):
    study = splines_study
    report.show_splines_models(study, "smoke")
    (models, note), (autoencoder, ae_note) = tables(shown)
    assert models.startswith(f"The classifiers interpreted in this chapter, means over each mixer's seeds "
                             f"({data.info('fashion_mnist').title}, 100 training images, 1 epoch): test accuracy")
    assert behind(note) == 4 and autoencoder == "The KAN autoencoder (MNIST)" and behind(ae_note) == 1
    shown.clear()
    report.show_edge_summary(study, "smoke")
    (summary, note), = tables(shown)
    assert f"deviation below {interpret.SILU_LIKE}" in summary and "mixer values pool the seeds 0 and 1." in summary
    assert behind(note) == 3  # both KAN-Mixers and the autoencoder
    shown.clear()
    report.show_symbolic_fits(study, "smoke")
    assert [t.split(":")[0] for t, _ in tables(shown)] == [
        f"Best forms of the top edges with R² ≥ {interpret.GOOD_FIT} (\"no fit\" below it), trained against untrained "
        "(init)", "Symbolic fits of the top edges of the trained models (first seed), per layer and edge (input → "
        "output unit)"]
    shown.clear()
    report.show_token_locality(study, "smoke")
    report.show_seed_agreement(study, "smoke")
    report.show_pruning(study, "smoke", n_eval=100, finetune_steps=1)
    locality, agreement, pruning = tables(shown)
    assert locality[0].startswith("Token maps, per seed: locality") and behind(locality[1]) == 4
    assert agreement[0].startswith("Spearman rank correlation of the token maps between each pair of seeds")
    assert pruning[0].startswith("Pruning by importance: mean over seeds 0 and 1 of the test accuracy (100 test "
                                 "images) unpruned, pruned, and pruned then fine-tuned for 1 steps")
    html = [o[1].data for o in shown if o[0] == "display"]
    assert "0 vs 1" in html[1] and "pruned + fine-tuned" in html[2]


@pytest.mark.slow
def test_chapter_5_glues_its_figures_with_the_captions_that_name_them(splines_study, shown):
    study = splines_study
    names = studies.drawn_layers(study)
    report.glue_edge_distributions(study, "smoke")
    report.glue_edge_figures(study, "smoke", n_panels=2)
    report.glue_token_maps(study, "smoke")
    report.glue_pixel_maps(study, "smoke")
    report.glue_pruning(study, "smoke")
    assert figures(shown) == ["ch5_distributions", "ch5_edges_token", "ch5_edges_channel", "ch5_edges_ae",
                              "ch5_token_maps", "ch5_pixel_maps", "ch5_pruning"]
    token = caption(shown, "ch5_edges_token")
    assert token.startswith(f"The 2 most important edges of the KAN-Mixer's first token-mixing layer ({names['token']}, "
                            "first seed) after training (top) and at initialisation (bottom), each over the central 99%")
    assert caption(shown, "ch5_edges_channel") == (
        f"The 2 most important edges of the KAN-Mixer's first channel-mixing layer ({names['channel']}, first seed) "
        "after training (top) and at initialisation (bottom), drawn as the token-mixing layer's above")
    assert f"pixel-side encoder layer ({names['ae']}, first seed)" in caption(shown, "ch5_edges_ae")
    side = study.maps["mlp"][0].shape[-1]  # 32 / patch 8: a 4 × 4 grid, whose centre patch is token 10
    assert side == 4 and caption(shown, "ch5_token_maps").startswith(
        "Token-mixing importance over the 4×4 patch grid (first block, first seed): top, which input patches output "
        "token 10 (the centre patch, marked +) reads")
    assert caption(shown, "ch5_token_maps").endswith("A uniform map is 1/16 everywhere")
    assert caption(shown, "ch5_pixel_maps").startswith(f"Per-pixel importance of the KAN autoencoder's {names['ae']}:")
    assert not any(o[0] == "display" for o in shown)


# ----------------------------------------------------------------------------- chapter 6


def _frontier_study(timing: dict | None = None) -> studies.FrontierStudy:
    """Two families at two sizes and two lengths on Fashion-MNIST, on lines ``acc = a + b log10(FLOPs)``, one
    seed, and a learning-rate sweep at one size each; every point has one record of 36 s."""
    rows = []
    for family, (a, b), dims in (("KAN-Mixer", (0.20, 0.05), (8, 16)), ("MLP-Mixer", (0.25, 0.045), (16, 32))):
        for dim in dims:
            for epochs in (1, 2):
                flops = dim * 1e10 * epochs
                rows.append({"dataset": "fashion_mnist", "family": family, "size": frontier.size_label(dim, 1),
                             "dim": dim, "depth": 1, "epochs": epochs, "seed": 0, "lr": 0.002, "params": 100 * dim,
                             "n_train": 300, "flops": flops, "train_seconds": flops / 1e10,
                             "val_accuracy": a + b * math.log10(flops), "test_accuracy": a + b * math.log10(flops),
                             "folds": 1})
    points = pd.DataFrame(rows)
    first = points[(points.epochs == 1) & points.dim.isin([16])]
    sweep = pd.concat([first, first.assign(lr=0.004, val_accuracy=first.val_accuracy - 0.01)], ignore_index=True)
    records = [{"hash": f"{i:016x}", "kind": "classification", "provenance": {"device": "cpu", "wall_time_s": 36.0,
                                                                             "git": {"dirty": False}}}
               for i in range(len(points))]
    return studies.FrontierStudy(points=points, sweep=sweep, lrs={"KAN-Mixer": 0.002, "MLP-Mixer": 0.002},
                                 records=records, sweep_records=records[:2], timing=timing)


def test_frontier_reading_compares_the_first_two_families_against_the_papers_budget(monkeypatch):
    marks = {"fashion_mnist": [("KAN-Mixer", 5e15, 0.903)]}
    monkeypatch.setattr("kanmix.studies._frontier.paper_frontier_marks",
                        lambda datasets, *, paper_epochs: marks if paper_epochs == 10 else {})
    study = _frontier_study()
    reading = studies.frontier_reading(study, ["KAN-Mixer", "MLP-Mixer", "MLP-Mixer (1×)"], ["fashion_mnist"],
                                       paper_epochs=10)
    assert reading.families == ["KAN-Mixer", "MLP-Mixer", "MLP-Mixer (1×)"] and reading.paper is marks
    assert reading.titles == {"fashion_mnist": "Fashion-MNIST"}
    by_flops, by_time = reading.by_flops["fashion_mnist"], reading.by_time["fashion_mnist"]
    assert (by_flops.a, by_flops.b, by_flops.x, by_flops.target) == ("KAN-Mixer", "MLP-Mixer", "flops", 5e15)
    assert (by_time.x, by_time.target) == ("train_seconds", None)
    assert by_flops.gaps.equals(frontier.compare(study.points, "KAN-Mixer", "MLP-Mixer", "fashion_mnist").gaps)


def _reading(study: studies.FrontierStudy) -> studies.FrontierReading:
    by_flops, by_time = studies.frontier_comparisons(study, ["KAN-Mixer", "MLP-Mixer"], ["fashion_mnist"])
    return studies.FrontierReading(["KAN-Mixer", "MLP-Mixer"], {"fashion_mnist": "Fashion-MNIST"}, {}, by_flops,
                                   by_time)


def test_chapter_6_findings_say_who_leads_by_compute_then_by_time():
    cmp = {"fashion_mnist": _compared("fashion_mnist", (0.5, 0.021), (0.6, 0.02))}
    found = report.frontier_findings(cmp, cmp, missing=3)
    assert found == report.chapter_findings(6, report.scale_finding(cmp, missing=3),
                                            report.scale_finding(cmp, missing=3, what="training time on this machine",
                                                                 grows="the budget"))
    assert len(found) == 2 and not any("(chapter 6)" in s for s in found)
    assert report.frontier_findings({}, {}) == ["No finding yet: the runs this chapter compares are not in the "
                                                "results store."]


def test_chapter_6_glues_its_frontier_and_shows_sweep_points_and_longer_training(shown):
    study = _frontier_study()
    reading = _reading(study)
    report.glue_frontier(study, reading, "smoke")
    assert figures(shown) == ["frontier"]
    assert caption(shown, "frontier").startswith("Validation accuracy (fold 0) against training compute: FLOPs (left) "
                                                 "and seconds as each run recorded them (machines may differ")
    assert behind(glued(shown)["frontier_caption"].data) == 8
    fig = report.frontier_figure(study, reading)
    assert len([ax for ax in fig.axes if ax.axison]) == 2  # one dataset: FLOPs and seconds
    shown.clear()
    report.show_lr_sweep(study, {"lrs": [0.002, 0.004], "sizes": {"KAN-Mixer": [16, 1], "MLP-Mixer": [16, 1]}},
                         "smoke")
    (sweep, note), = tables(shown)
    assert sweep == "Learning-rate sweep: fold-0 validation accuracy per peak learning rate (lr)"
    assert behind(note) == 2 and "lr 0.002" in shown[0][1].data and "lr 0.004" in shown[0][1].data
    assert texts(shown) == [report.sweep_text(study, {"lrs": [0.002, 0.004], "sizes": {"KAN-Mixer": [16, 1],
                                                                                       "MLP-Mixer": [16, 1]}})]
    shown.clear()
    report.show_frontier_points(study, "smoke", workers=2)
    (points, _), = tables(shown)
    assert points.startswith("Every point of the frontier: means over seeds (training time: seconds as each run")
    assert texts(shown) == ["Recomputing this chapter from an empty results store: 8 runs, 0.080 h of run time in all, "
                            "about 0.040 h of wall time with 2 runs at a time."]
    shown.clear()
    report.show_longer_training(study, reading, "smoke")
    (longer, _), = tables(shown)
    assert longer == ("Validation accuracy (fold 0) after the shorter and the longer training of each size, seeds "
                      "averaged")
    assert texts(shown) == [report.longer_training_text(study, reading.titles)]
    assert texts(shown)[0].startswith("**Fashion-MNIST.** Training from 1 to 2 epochs")


# ----------------------------------------------------------------------------- the findings page


def _chapters(bench=None) -> report.ChapterStudies:
    """Synthetic studies of chapters 3 to 6, shaped as the findings page reads them."""
    from types import SimpleNamespace

    scale = _frontier_study()
    reading = _reading(scale)
    reading = reading._replace(by_flops={"fashion_mnist": _compared("fashion_mnist", (0.5, 0.021), (0.6, 0.02))})
    return report.ChapterStudies(
        params={"03": {"folds": 5, "headline_repeats": 3}, "04": {"epochs": 10, "paper_widths": WIDTHS},
                "06": {"families": reading.families, "datasets": ["fashion_mnist"], "paper_epochs": 10}},
        mixers=SimpleNamespace(headline_pair=PAIR), against=_against({"fashion_mnist": 0.005, "cifar10": 0.042}),
        scale=scale, scale_reading=reading, autoencoders=SimpleNamespace(missing=2),
        ae_comparisons=_ae({"mnist": (SEEDS3, 0.05)}),
        splines=SimpleNamespace(evidence=_evidence(), plan=SimpleNamespace(kan=[0, 1, 2])), bench=bench)


def test_the_findings_page_states_the_headline_findings_of_the_chapters_studies():
    chapters = _chapters()
    assert chapters.headline() == report.headline_findings(
        against=chapters.against, pair=PAIR, frontier=chapters.scale_reading.by_flops, missing=0,
        comparisons=chapters.ae_comparisons, epochs=10, paper_widths=WIDTHS, evidence=chapters.splines.evidence)
    assert [int(re.search(r"\(chapter (\d)\)\.$", s).group(1)) for s in chapters.headline()] == [3, 6, 4, 5]


def test_the_findings_in_detail_read_each_chapter_with_its_own_parameters(monkeypatch):
    calls = []
    monkeypatch.setattr("kanmix.report._headline.findings_in_detail", lambda **kw: calls.append(kw) or "detail")
    chapters = _chapters(bench={"shapes": []})
    assert chapters.in_detail() == "detail"
    kw, = calls
    assert kw["frontier"] is chapters.scale_reading.by_flops and kw["frontier_missing"] == 0
    assert (kw["folds"], kw["repeats"], kw["paper"]) == (5, 3, studies.PAPER_ACCURACY)
    assert (kw["epochs"], kw["paper_widths"], kw["ae_missing"], kw["seeds"]) == (10, WIDTHS, 2, 3)
    assert kw["ae_comparisons"] is chapters.ae_comparisons and kw["bench"] == {"shapes": []}


def test_the_findings_page_reads_every_study_read_only_and_the_benchmark_unless_chapter_2_read_a_file(monkeypatch):
    import os

    from kanmix import ae, results
    from kanmix.bench import kan as bench_kan

    read = []

    def reader(name, value):
        def fake(*args, **kwargs):
            read.append((name, os.environ.get(results.READ_ONLY)))
            return value
        return fake

    scale = _frontier_study()
    mixers, autoencoders = object(), type("AE", (), {"runs": "runs", "all_baselines": "baselines"})()
    for name, value in (("frontier_from_chapter", scale), ("mixers_from_chapter", mixers),
                        ("autoencoders_from_chapter", autoencoders), ("splines_from_chapter", "splines")):
        monkeypatch.setattr(studies, name, reader(name, value))
    monkeypatch.setattr(bench_kan, "stored", reader("bench", {"stored": True}))
    monkeypatch.setattr(studies, "kan_mixer_against_each", lambda m, *, folds: ("against", m, folds))
    monkeypatch.setattr(studies, "frontier_reading", lambda s, f, d, *, paper_epochs: ("reading", s, f, d, paper_epochs))
    monkeypatch.setattr(ae, "matched_comparisons", lambda runs, baselines: ("compared", runs, baselines))
    monkeypatch.delenv(results.READ_ONLY, raising=False)
    params = {"02": {"bench_json": None, "bench_shapes": [[8, 8, 8]], "bench_repeats": 1, "bench_dtypes": ["float32"]},
              "03": {"folds": 5}, "04": {}, "05": {},
              "06": {"families": {"KAN-Mixer": {}}, "datasets": ["cifar10"], "paper_epochs": 10}}
    chapters = report.ChapterStudies.read(params, read_only=True)
    assert read == [(n, "1") for n in ("frontier_from_chapter", "mixers_from_chapter", "autoencoders_from_chapter",
                                        "bench", "splines_from_chapter")]
    assert results.READ_ONLY not in os.environ  # only while reading
    assert chapters.against == ("against", mixers, 5) and chapters.bench == {"stored": True}
    assert chapters.scale_reading == ("reading", scale, {"KAN-Mixer": {}}, ["cifar10"], 10)
    assert chapters.ae_comparisons == ("compared", "runs", "baselines") and chapters.splines == "splines"
    read.clear()
    from_file = report.ChapterStudies.read({**params, "02": {**params["02"], "bench_json": "bench.json"}},
                                           read_only=False)
    assert from_file.bench is None and "bench" not in [n for n, _ in read] and {v for _, v in read} == {None}


def test_the_findings_page_glues_the_frontier_and_shows_chapter_3s_table(monkeypatch, shown):
    chapters = _chapters()
    report.glue_findings_frontier(chapters, "smoke")
    assert figures(shown) == ["findings_frontier"]
    assert caption(shown, "findings_frontier") == (
        "Validation accuracy against training compute for each family along its scaling path (chapter 6): lines are "
        "the frontiers, stars the paper's reported accuracies at the FLOPs of its configuration")
    shown.clear()
    overview = pd.DataFrame({"val_accuracy": [0.9]}, index=pd.Index(["KAN-Mixer"], name="model"))
    monkeypatch.setattr(studies, "overview_beside_paper",
                        lambda mixers, paper: overview if paper is studies.PAPER_ACCURACY else None)
    chapters.mixers.records = [{"hash": "ab" * 8, "provenance": {"device": "cpu", "git": {"dirty": False}}}]
    report.show_findings_table(chapters, "smoke")
    (text, note), = tables(shown)
    assert text == "Chapter 3: 5-fold cross-validation, mean over folds, beside the KAN-Mixers paper's numbers"
    assert behind(note) == 1 and "90.00" in shown[0][1].data
