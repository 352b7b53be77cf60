"""The parts chapters 2 and 4 are made of: their tables, figures and sentences, on tiny synthetic data.

Chapter 2 (the KAN layer up close): :func:`kanmix.grids.grid_update_effect`, the layer tables of
:mod:`kanmix.page`, :func:`kanmix.bench.kan.chapter_results` and :func:`~kanmix.bench.kan.speed_table`,
the figures ``plot_edge_terms``, ``plot_grid_update`` and ``plot_layer_speed`` and the sentences
of :mod:`kanmix.report`. Chapter 4 (autoencoders): the chapter-4 tables of :mod:`kanmix.ae`, the
figures ``plot_ae_sweep``, ``plot_ae_cost`` and ``plot_image_rows`` and their sentences.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

import kanmix.kan_fast as kan_fast
from kanmix import ae, grids, report, studies, viz
from kanmix.bench import kan as bench_kan
from kanmix.interpret import top_share
from kanmix.kan import KANLinear


@pytest.fixture(autouse=True)
def eager_kernels(monkeypatch):
    monkeypatch.setattr(kan_fast._features, "compiled", None)
    monkeypatch.setattr(kan_fast._grad_input, "compiled", None)


def _layer(n_in: int = 3, n_out: int = 2, seed: int = 0) -> KANLinear:
    torch.manual_seed(seed)
    return KANLinear(n_in, n_out)


def _inputs(rows: int = 400, n_in: int = 3, scale: float = 2.0, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(rows, n_in, generator=g)


# ----------------------------------------------------------------------------- chapter 2: the grid update


def test_grid_update_effect_moves_the_knots_to_the_data_and_keeps_the_layer():
    layer = _layer()
    x = _inputs()
    grid_before = layer.grid.clone()
    after, table, change = grids.grid_update_effect(layer, x)
    assert torch.equal(layer.grid, grid_before)  # the layer itself is untouched
    assert after is not layer and not torch.equal(after.grid, grid_before)
    assert list(table.index) == ["before update_grid", "after update_grid"]
    inside = table["inputs inside the grid"]
    # Inputs of sd 2 mostly fall outside [-1, 1]; after the update the grid spans them all.
    assert inside.iloc[0] == pytest.approx(1 - grids.outside_grid(layer, x))
    assert inside.iloc[0] < 0.6 and inside.iloc[1] == pytest.approx(1.0)
    assert table["knot intervals holding ≥ 1% of their input"].iloc[1] == pytest.approx(
        grids.knot_occupancy(after, x))
    k = layer.spline_order
    assert table["grid range of input 0"].iloc[0] == "[−1.00, 1.00]"  # a true minus sign
    lo, hi = (report.fmt(float(after.grid[0, i]), 3) for i in (k, -k - 1))
    assert table["grid range of input 0"].iloc[1] == f"[{lo}, {hi}]"
    with torch.no_grad():
        y0, y1 = layer(x), after(x)
    assert change == pytest.approx(float((y1 - y0).abs().max() / y0.abs().max()))
    assert 0 <= change < 1


# ----------------------------------------------------------------------------- chapter 2: the layer tables


def test_kan_layer_labels_name_pixels_hidden_and_classes():
    assert studies.kan_layer_labels(2) == ["layer 1 (pixels → hidden)", "layer 2 (hidden → classes)"]
    assert studies.kan_layer_labels(3)[1] == "layer 2 (hidden → hidden)"
    assert studies.kan_layer_labels(1) == ["layer 1 (pixels → classes)"]


def _edges(shares, importances, layers=("a", "b")) -> pd.DataFrame:
    rows = []
    for layer, share, imp in zip(layers, shares, importances):
        rows += [{"layer": layer, "spline_share": s, "importance": w} for s, w in zip(share, imp)]
    return pd.DataFrame(rows)


def test_spline_share_table_takes_each_layers_median_in_its_order():
    edges = {"trained": _edges([[0.1, 0.2, 0.9], [0.5, 0.7]], [[1, 1, 1], [1, 1]], layers=("z", "a")),
             "untrained": _edges([[0.0, 0.0, 0.3], [0.1, 0.3]], [[1, 1, 1], [1, 1]], layers=("z", "a"))}
    share = studies.spline_share_table(edges)
    assert list(share.columns) == ["trained", "untrained"]
    assert list(share.index) == ["layer 1 (pixels → hidden)", "layer 2 (hidden → classes)"]
    assert share.loc["layer 1 (pixels → hidden)", "trained"] == pytest.approx(0.2)  # layer "z" comes first
    assert share.loc["layer 2 (hidden → classes)", "untrained"] == pytest.approx(0.2)


def test_weighted_spline_share_weights_by_importance_and_counts_missing_as_zero():
    edges = {"trained": _edges([[1.0, 0.0], [math.nan]], [[3, 1], [4]])}
    assert studies.weighted_spline_share(edges) == {"trained": pytest.approx(3 / 8)}


def test_regulariser_table_has_both_terms_and_the_top_share_per_layer_and_state():
    torch.manual_seed(0)
    trained = torch.nn.Sequential(KANLinear(4, 5), KANLinear(5, 2))
    untrained = torch.nn.Sequential(KANLinear(4, 5), KANLinear(5, 2))
    with torch.no_grad():
        trained[1].spline_weight.mul_(3.0)
    imp = {name: np.arange(1.0, 1.0 + n) for name, n in (("0", 20), ("1", 10))}
    edges = {state: pd.DataFrame([{"layer": name, "importance": v} for name, vals in imp.items() for v in vals])
             for state in ("trained", "untrained")}
    reg = studies.regulariser_table({"trained": trained, "untrained": untrained}, edges)
    assert list(reg.index) == [("layer 1 (pixels → hidden)", "trained"), ("layer 1 (pixels → hidden)", "untrained"),
                               ("layer 2 (hidden → classes)", "trained"), ("layer 2 (hidden → classes)", "untrained")]
    row = reg.loc[("layer 2 (hidden → classes)", "trained")]
    with torch.no_grad():
        assert row["L1 term"] == pytest.approx(float(trained[1].regularization_loss(l1=1.0, entropy=0.0)))
        assert row["normalised entropy"] == pytest.approx(
            float(trained[1].regularization_loss(l1=0.0, entropy=1.0)) / math.log(10))
    assert row["L1 term"] > reg.loc[("layer 2 (hidden → classes)", "untrained"), "L1 term"]
    assert 0 < row["normalised entropy"] <= 1 + 1e-6
    assert row["importance held by the top 10% of edges"] == pytest.approx(top_share(imp["1"], 0.1))
    assert reg.loc[("layer 1 (pixels → hidden)", "trained"), "importance held by the top 10% of edges"] == \
        pytest.approx((20 + 19) / sum(range(1, 21)))


def _parity() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for model, shift, seconds in (("KAN-Mixer", 0.0, (100.0, 50.0)), ("MLP-Mixer", -0.05, (20.0, 16.0))):
        base = 0.9 + 0.01 * rng.standard_normal(5)
        for precision, sec in zip(("fp32", "bf16"), seconds):
            acc = base + (shift + 0.001 * rng.standard_normal(5) if precision == "bf16" else 0)
            rows += [{"model": model, "precision": precision, "fold": f, "folds": 5, "val_accuracy": a,
                      "train_seconds": sec + f} for f, a in enumerate(acc)]
    return pd.DataFrame(rows)


def test_parity_table_means_per_model_and_precision_in_order():
    parity = _parity()
    table = studies.parity_table(parity)
    assert list(table.index) == [("KAN-Mixer", "fp32"), ("KAN-Mixer", "bf16"), ("MLP-Mixer", "fp32"),
                                 ("MLP-Mixer", "bf16")]
    part = parity[(parity.model == "MLP-Mixer") & (parity.precision == "bf16")]
    assert table.loc[("MLP-Mixer", "bf16"), "val_accuracy"] == pytest.approx(part.val_accuracy.mean())
    assert table.loc[("MLP-Mixer", "bf16"), "std"] == pytest.approx(part.val_accuracy.std())
    assert table.loc[("KAN-Mixer", "fp32"), "train_seconds"] == pytest.approx(102.0)


# ----------------------------------------------------------------------------- chapter 2: the benchmark


def _bench_records(flashkan: bool = False) -> list[dict]:
    out = []
    for (rows, n_in, n_out), scale in (((1024, 8, 4), 1.0), ((2048, 4, 8), 3.0)):
        for dtype, speed in (("float32", 1.0), ("bfloat16", 2.0)):
            ms = {"kanmix": 2.0 * scale / speed, "reference": 6.0 * scale * scale / speed, "limit": 1.6 * scale / speed,
                  "linear": 0.5 / speed, "flashkan": (3.0 * scale / speed if flashkan else None), "inkan": None}
            out.append({"dtype": dtype, "shape": [rows, n_in, n_out], **ms,
                        "peak_bytes": {"kanmix": rows * 2048 if dtype == "float32" else None}})
    return out


def test_speed_table_has_the_timed_contenders_ratios_and_memory_per_row():
    speed = bench_kan.speed_table(_bench_records())
    assert list(speed.index) == [("1024, 8 → 4", "float32"), ("1024, 8 → 4", "bfloat16"),
                                 ("2048, 4 → 8", "float32"), ("2048, 4 → 8", "bfloat16")]
    assert [c for c in speed.columns if c.endswith(" ms")] == ["kanmix ms", "reference ms", "limit ms", "linear ms"]
    row = speed.loc[("2048, 4 → 8", "float32")]
    assert row["kanmix / limit"] == pytest.approx(2.0 / 1.6)
    assert row["reference / kanmix"] == pytest.approx(54.0 / 6.0)
    assert row["reference / limit"] == pytest.approx(54.0 / 4.8)
    assert row["kanmix KiB / row"] == pytest.approx(2.0)
    assert pd.isna(speed.loc[("2048, 4 → 8", "bfloat16"), "kanmix KiB / row"])
    assert "flashkan ms" in bench_kan.speed_table(_bench_records(flashkan=True)).columns


def test_chapter_results_reads_a_json_file_or_the_store_measuring_once(tmp_path, store, monkeypatch):
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(_bench_records()))
    speed, records, source = bench_kan.chapter_results(str(path), [[1, 2, 3]], 3, ["float32"])
    pd.testing.assert_frame_equal(speed, bench_kan.speed_table(_bench_records()))
    assert records == []
    assert source == "measured by `python -m kanmix.bench kan`, read from gpu.json"
    with pytest.raises(FileNotFoundError, match="bench_json='nowhere.json' is not a file"):
        bench_kan.chapter_results("nowhere.json", [[1, 2, 3]], 3, ["float32"])

    calls = []

    def fake(rows, n_in, n_out, device, repeats, warmup, warmup_s, dtypes):  # no timing in tests
        calls.append((rows, n_in, n_out))
        return [{"dtype": d, "shape": [rows, n_in, n_out], "kanmix": 1.0 + (d == "float32"), "reference": 4.0,
                 "limit": 0.5} for d in dtypes]

    monkeypatch.setattr(bench_kan, "bench_dtypes", fake)
    speed, records, source = bench_kan.chapter_results(None, [[8, 2, 3]], 2, ["float32", "bfloat16"], "cpu")
    assert source is None and len(records) == 1 and records[0]["kind"] == "bench_kan"
    assert [r["dtype"] for r in records[0]["shapes"]] == ["float32", "bfloat16"]
    assert list(speed.index) == [("8, 2 → 3", "float32"), ("8, 2 → 3", "bfloat16")]
    assert list(speed["kanmix / limit"]) == [4.0, 2.0]
    again = bench_kan.chapter_results(None, [[8, 2, 3]], 2, ["float32", "bfloat16"], "cpu")
    pd.testing.assert_frame_equal(again[0], speed)
    assert calls == [(8, 2, 3)]  # read back from the store, not measured again


# ----------------------------------------------------------------------------- chapter 2: figures


def _drawn(fig: Figure):
    return [ax for ax in fig.axes if ax.axison]


def test_plot_edge_terms_draws_the_most_important_edges_split_into_their_terms():
    layer, x = _layer(3, 2), 0.7 * torch.randn(300, 3)
    fig = viz.plot_edge_terms(layer, x, 4)
    assert isinstance(fig, Figure)
    axes = _drawn(fig)
    assert len(axes) == 4
    imp = layer.edge_importance(x)
    order = imp.flatten().argsort(descending=True)[:4].tolist()
    for ax, flat in zip(axes, order):
        o, i = divmod(flat, 3)
        assert ax.get_title() == f"in {i} → class {o}"
        labels = [line.get_label() for line in ax.lines]
        assert labels == ["base (SiLU)", "spline", "edge φ"]
        base, spline, total = (np.asarray(line.get_ydata()) for line in ax.lines)
        np.testing.assert_allclose(base + spline, total, atol=1e-5)
        xs = np.asarray(ax.lines[0].get_xdata())
        assert xs.min() <= -1.5 and xs.max() >= 1.5  # the inputs' range, widened to [-1.5, 1.5]
    # One legend above the panels names the three curves; none inside a panel, where it would hide one.
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["base (SiLU)", "spline", "edge φ"]
    assert all(ax.get_legend() is None for ax in axes)
    assert fig.get_figwidth() <= 6.6 and len(fig.axes) == 6  # drawn for the page: 3 panels a row, the last 2 off
    assert len({ax.get_position().y0 for ax in axes}) == 2


def test_plot_grid_update_shows_the_busiest_input_and_its_knots_before_and_after():
    layer = _layer(3, 2)
    x = torch.randn(300, 3) * torch.tensor([0.5, 2.0, 1.0])  # input 1 varies most
    after, _, _ = grids.grid_update_effect(layer, x)
    fig = viz.plot_grid_update(layer, after, x)
    hist, edge = fig.axes
    assert hist.get_title().startswith("input 1:")
    knots = [line for line in hist.lines]
    assert len(knots) == layer.grid.shape[1] + after.grid.shape[1]
    reds = sorted(float(line.get_xdata()[0]) for line in knots if line.get_color() == "tab:red")
    np.testing.assert_allclose(reds, sorted(after.grid[1].tolist()), rtol=1e-6)
    o = int(layer.edge_importance(x)[:, 1].argmax())
    assert edge.get_title() == f"edge in 1 → class {o}"
    assert fig.get_figwidth() <= 6.6
    assert [line.get_label() for line in edge.lines] == ["before", "after"]


def test_plot_layer_speed_has_a_panel_per_dtype_and_a_bar_per_contender_and_shape():
    speed = bench_kan.speed_table(_bench_records(flashkan=True))
    fig = viz.plot_layer_speed(speed)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["float32", "bfloat16"]
    for ax, dtype in zip(axes, ("float32", "bfloat16")):
        assert ax.get_xscale() == "log"
        assert len(ax.patches) == 4 * 2  # kanmix, reference, linear, flashkan at two shapes; the limit is a line
        widths = sorted(round(p.get_width(), 6) for p in ax.patches)
        part = speed.xs(dtype, level="dtype")
        expected = sorted(round(v, 6) for c in ("kanmix", "reference", "linear", "flashkan") for v in part[f"{c} ms"])
        assert widths == expected
    assert [t.get_text() for t in axes[0].get_yticklabels()] == list(part.index)  # shared: shown on the left
    labels = axes[-1].get_legend_handles_labels()[1]
    assert sorted(labels) == sorted(["kanmix", "reference", "linear", "flashkan", "dense limit"])
    assert fig.get_figwidth() <= 6.6 and len(fig.legends) == 1  # one legend, under the stacked panels
    named = viz.plot_layer_speed(speed, labels=report.CONTENDERS).axes[-1].get_legend_handles_labels()[1]
    assert sorted(named) == sorted(["KANLinear", "plain", "nn.Linear", "flashkan", "dense limit"])


# ----------------------------------------------------------------------------- chapter 2: sentences


def _layer_record() -> dict:
    return {"parameters": 25_450, "n_train": 600, "train_seconds": 12.345, "metrics": {"test": {"accuracy": 0.81234}},
            "config": {"dataset": "fashion_mnist", "size": None, "model_kwargs": {"hidden": [32]},
                       "train": {"epochs": 1, "precision": "fp32"}}}


def test_layer_model_text_reads_everything_from_the_record():
    assert report.layer_model_text(_layer_record()) == (
        "The classifier (25,450 parameters, widths 784 → 32 → 10) reached a test accuracy of 0.8123 after 1 epoch "
        "on 600 images, in 12.3 s of training (fp32).")
    cifar = _layer_record()
    cifar["config"].update(dataset="cifar10", size=16)
    assert "widths 768 → 32 → 10" in report.layer_model_text(cifar)
    cifar["config"].update(size=None)  # a width past 999 has its thousands separator
    assert "widths 3,072 → 32 → 10" in report.layer_model_text(cifar)


def test_layer_sentences_follow_the_tables():
    share = pd.DataFrame({"trained": [0.33, 0.011], "untrained": [0.2, 0.059]},
                         index=studies.kan_layer_labels(2))
    assert report.spline_share_text(share, {"trained": 0.31, "untrained": 0.017}) == (
        "In the trained model the median edge is 1.1% spline in the second layer (5.9% at initialisation) and 33% in "
        "the first; weighted by edge importance, the spline carries 31% of the edges' magnitude (1.7% untrained, a "
        "factor of 18.2).")
    occupancy = pd.DataFrame({"in": [0.202, 1.0], "used": [0.906, 1.0]})
    assert report.grid_update_text(occupancy, 0.063) == (
        "Before the update 20.2% of the second layer's inputs were inside its grid and 90.6% of its knot intervals "
        "were in use; after it, 100% and 100%. The layer's output on these inputs moved by at most 6.3% of its "
        "largest value (the refit's error).")
    reg = pd.DataFrame({"layer": ["L1", "L1", "L2", "L2"], "state": ["trained", "untrained"] * 2,
                        "importance held by the top 10% of edges": [0.311, 0.193, 0.299, 0.218]}
                       ).set_index(["layer", "state"])
    assert report.top_edges_text(reg) == (
        "The top 10% of edges hold 31.1% of the importance in L1 (19.3% untrained) and 29.9% of the importance in "
        "L2 (21.8% untrained) (10% would be an even spread).")
    assert report.bullets(["a", "b"]) == "- a\n- b"


def test_layer_speed_lines_name_ranges_extremes_peers_and_the_bf16_gain():
    speed = bench_kan.speed_table(_bench_records(flashkan=True))
    lines = report.layer_speed_lines(speed, [{"provenance": {"device": "cpu: Test CPU"}}])
    assert lines[0] == ("In float32, `KANLinear` runs at 1.25× the dense limit and 3.00–9.00× faster than the plain "
                        "formulation; the plain formulation suffers most, relative to its GEMMs, at (2048, 4 → 8) "
                        f"({report.fmt(54 / 4.8, 3)}× the limit) and least at (1024, 8 → 4) (3.75×).")
    assert lines[1] == "In float32, `KANLinear` is faster than `flashkan` at 2 of 2 shapes."
    assert lines[2].startswith("In bfloat16, `KANLinear` runs at 1.25× the dense limit")
    assert lines[-1] == ("bf16 makes `KANLinear` 2.00× faster at (1024, 8 → 4) and 2.00× faster at (2048, 4 → 8) than "
                         "float32 on this machine (cpu: Test CPU).")
    alone = report.layer_speed_lines(speed.xs("float32", level="dtype", drop_level=False).iloc[:1], [])
    assert alone == ["In float32, `KANLinear` runs at 1.25× the dense limit and 3.00× faster than the plain "
                     "formulation.", "In float32, `KANLinear` is faster than `flashkan` at 1 of 1 shapes."]
    assert report.layer_speed_lines(speed, [])[-1].endswith("on this machine (see the caption).")


def test_parity_verdicts_call_equivalence_only_inside_the_margin():
    parity = _parity()
    table = studies.parity_table(parity)
    verdicts = report.parity_verdicts(parity, table, margin=0.01)
    assert len(verdicts) == 2
    kan, mlp = verdicts
    assert kan.startswith("KAN-Mixer: bf16 − float32 = ") and "so the two are equivalent at that margin" in kan
    assert kan.endswith("bf16 trained 1.96× as fast")  # 102 s against 52 s per fold
    assert mlp.startswith("MLP-Mixer: ") and "equivalence cannot be claimed" in mlp
    assert "over 5 paired folds" in mlp
    text = report.parity_text(verdicts)
    assert text.startswith("Mean held-out accuracy, bf16 against float32, as an equivalence test")
    assert text.endswith(f"{kan}; {mlp}.")


def test_bf16_time_text_says_which_match_favours_the_kan_mixer():
    def table(kan32, kan16, mlp32, mlp16):
        return pd.DataFrame({"train_seconds": [kan32, kan16, mlp32, mlp16]}, index=pd.MultiIndex.from_tuples(
            [("KAN-Mixer", "fp32"), ("KAN-Mixer", "bf16"), ("MLP-Mixer", "fp32"), ("MLP-Mixer", "bf16")],
            names=["model", "precision"]))

    more = report.bf16_time_text(table(600.0, 300.0, 100.0, 80.0))
    assert more.startswith("bf16 speeds the KAN-Mixer 2.0× and the MLP-Mixer 1.2×, so the KAN-Mixer takes 3.8× the "
                           "MLP-Mixer's training time in bf16 and 6.0× in float32.")
    assert more.endswith("would give the MLP-Mixer more epochs, so the bf16 match is the more generous to the "
                         "KAN-Mixer.")
    less = report.bf16_time_text(table(300.0, 300.0, 100.0, 50.0))
    assert "fewer epochs, so the bf16 match is the less generous to the KAN-Mixer." in less
    assert report.bf16_time_text(table(1.0, 1.0, 1.0, 1.0).drop("MLP-Mixer")) == ""


def test_layer_points_gather_the_chapters_findings_as_bullets():
    occupancy = pd.DataFrame({"in": [0.5, 1.0], "used": [0.75, 1.0]})
    records = [{"hash": "a", "provenance": {"wall_time_s": 1800.0}}, {"hash": "b", "provenance": {"wall_time_s": 1800.0}}]
    text = report.layer_points({"trained": 0.3, "untrained": 0.1}, occupancy, 0.05, ["- speed line"], ["KAN: ok"],
                               records, workers=2)
    lines = text.split("\n")
    assert len(lines) == 5 and all(line.startswith("- ") for line in lines)
    assert lines[0] == ("- **Base and spline.** Weighted by importance, the spline carries 30% of the trained edges' "
                        "magnitude against 10% at initialisation (3.00×); the rest is the SiLU base.")
    assert lines[1].startswith("- **Grid.** 50.0% of the second layer's inputs sat inside its grid and 75.0%")
    assert lines[3] == "- **bf16.** KAN: ok."
    assert lines[4] == ("- Recomputing this chapter from an empty results store: 2 runs, 1.0 h of run time in all, "
                        "about 0.50 h of wall time with 2 runs at a time.")


# ----------------------------------------------------------------------------- chapter 4: tables


def _ae_table() -> pd.DataFrame:
    rows = []
    for dataset in ("mnist", "cifar10"):
        for model, quality in (("kan", 1.0), ("mlp", 0.9), ("cnn", 0.8)):
            for requested in (4, 16):
                bottleneck = 18 if model == "cnn" and requested == 16 else requested
                mse = 0.1 / (quality * requested)
                rows.append({"model": model, "dataset": dataset, "bottleneck": bottleneck, "requested": requested,
                             "params": {"kan": 5000, "mlp": 1000, "cnn": 800}[model] + requested, "test_mse": mse,
                             "psnr": 10 * math.log10(4 / mse), "knn_accuracy": 0.5 + quality * requested / 100,
                             "knn_authors": 0.6 + quality * requested / 100,
                             "knn_authors_features": "reconstruction" if model == "kan" else "latent",
                             "train_seconds": {"kan": 120.0, "mlp": 30.0, "cnn": 60.0}[model],
                             "beats_mean": True})
    return pd.DataFrame(rows)


def _baselines() -> pd.DataFrame:
    rows = []
    for dataset in ("mnist", "cifar10"):
        rows.append({"dataset": dataset, "method": "mean", "components": 0, "test_mse": 0.5, "psnr": 9.0,
                     "knn_accuracy": None})
        for k in (4, 16):
            rows.append({"dataset": dataset, "method": "pca", "components": k, "test_mse": 0.1 / (0.95 * k),
                         "psnr": 10 * math.log10(4 * 0.95 * k / 0.1), "knn_accuracy": 0.5 + k / 100})
    return pd.DataFrame(rows)


def test_chapter_table_labels_models():
    table = ae.chapter_table(_ae_table())
    assert list(dict.fromkeys(table.model)) == ["KAN AE", "MLP AE", "CNN AE"]
    assert list(_ae_table().model.unique()) == ["kan", "mlp", "cnn"]  # the study's table is not changed


def test_sweep_baselines_and_knn_tables_pick_index_and_columns():
    table = ae.chapter_table(_ae_table())
    sweep = ae.sweep_table(table, "cifar10")
    assert sweep.index.names == ["model", "requested"] and len(sweep) == 6
    assert list(sweep.columns) == ["bottleneck", "params", "test_mse", "psnr", "knn_accuracy", "train_seconds"]
    assert sweep.loc[("CNN AE", 16), "bottleneck"] == 18
    base = ae.baselines_table(_baselines())
    assert base.index.names == ["dataset", "method", "components"]
    assert list(base.index.get_level_values("dataset").unique()) == ["MNIST", "CIFAR-10"]
    assert list(base.columns) == ["test_mse", "psnr", "knn_accuracy"]
    knn = ae.knn_table(table)
    assert list(knn.columns) == ["knn_accuracy", "knn_authors", "gap", "knn_authors_features"]
    assert knn.index.names == ["dataset", "model", "bottleneck"]
    assert knn["gap"].to_numpy() == pytest.approx(0.1)


def _ae_record(model: str, bottleneck: int, index: list[int], shape=(1, 2, 2)) -> dict:
    n = len(index)
    pixels = np.full((n, math.prod(shape)), bottleneck, dtype=np.uint8)
    return {"kind": "ae", "config": {"dataset": "mnist", "size": None, "subset": 20, "subset_seed": 0,
                                     "test_subset": 10, "fold": None, "model": model, "bottleneck": bottleneck},
            "examples": {"index": index, "reconstruction_u8": pixels.tolist()}}


def test_reconstruction_rows_show_the_originals_and_each_models_widest_bottleneck(monkeypatch):
    x_test = torch.arange(10 * 4, dtype=torch.uint8).reshape(10, 1, 2, 2)
    seen = []

    def fake_split(split):
        seen.append(split)
        return (None, None), None, (x_test, torch.zeros(10))

    monkeypatch.setattr(ae, "load_split", fake_split)
    index = [0, 5, 9]
    records = [_ae_record("kan_ae", 4, index), _ae_record("kan_ae", 16, index), _ae_record("cnn_ae", 9, index)]
    rows, shown = ae.reconstruction_rows(records)
    assert [label for label, _ in rows] == ["MNIST\noriginal", "KAN AE (16)", "CNN AE (9)"]
    assert shown == [records[1], records[2]]
    np.testing.assert_array_equal(rows[0][1], x_test[index].numpy())
    assert rows[1][1].shape == (3, 1, 2, 2) and (rows[1][1] == 16).all()
    assert seen[0].subset == 20 and seen[0].test_subset == 10  # the records' own split


def test_last_epoch_changes_skip_one_epoch_runs():
    curves = pd.DataFrame([
        {"dataset": "mnist", "model": "kan", "bottleneck": 4, "epoch": 2, "test_mse": 0.09},
        {"dataset": "mnist", "model": "kan", "bottleneck": 4, "epoch": 1, "test_mse": 0.10},
        {"dataset": "mnist", "model": "mlp", "bottleneck": 4, "epoch": 1, "test_mse": 0.2}])
    changes = ae.last_epoch_changes(curves)
    assert len(changes) == 1
    assert changes[0][:3] == ("mnist", "KAN AE", 4) and changes[0][3] == pytest.approx(-0.1)


# ----------------------------------------------------------------------------- chapter 4: figures


def test_plot_ae_sweep_draws_models_pca_and_the_mean_image_per_dataset():
    table = ae.chapter_table(_ae_table())
    fig = viz.plot_ae_sweep(table, _baselines(), ["mnist", "cifar10"])
    assert len(fig.axes) == 4
    top = fig.axes[0]
    assert top.get_title() == "MNIST"
    labels = [line.get_label() for line in top.lines]
    assert labels == ["KAN AE", "MLP AE", "CNN AE", "PCA", "mean image"]
    assert list(top.lines[2].get_xdata()) == [4, 18]  # the CNN at the sizes it got, sorted
    assert top.lines[4].get_ydata()[0] == pytest.approx(9.0)
    bottom = fig.axes[2:]  # the second row; its first panel carries the row's label
    assert bottom[0].get_ylabel() == "KNN accuracy on codes" and all(ax.get_xscale() == "log" for ax in bottom)
    assert [line.get_label() for line in bottom[0].lines] == ["KAN AE", "MLP AE", "CNN AE", "PCA"]


def test_plot_ae_cost_puts_every_run_on_both_panels():
    table = ae.chapter_table(_ae_table())
    fig = viz.plot_ae_cost(table)
    left, right = fig.axes
    assert [c.get_label() for c in left.collections] == ["KAN AE", "MLP AE", "CNN AE"]
    assert sum(len(c.get_offsets()) for c in right.collections) == len(table)
    assert left.get_xscale() == right.get_xscale() == "log"
    kan = right.collections[0].get_offsets()
    assert sorted(kan[:, 0].tolist()) == sorted(table[table.model == "KAN AE"].params.tolist())


def test_plot_image_rows_tiles_each_dataset_into_one_labelled_panel_in_grey_or_colour():
    grey = np.zeros((3, 1, 4, 4), dtype=np.uint8)
    colour = np.full((3, 3, 4, 4), 200, dtype=np.uint8)
    fig = viz.plot_image_rows([("first\noriginal", grey), ("first model", grey), ("second", colour)])
    top, bottom = fig.axes  # one panel per image shape, however many images
    assert [t.get_text() for t in top.get_yticklabels()] == ["first\noriginal", "first model"]
    assert [t.get_text() for t in bottom.get_yticklabels()] == ["second"]
    assert top.images[0].get_array().shape == (2 * 4 + 2, 3 * 4 + 2 * 2)  # two rows of three, 2 px apart
    assert top.images[0].get_cmap().name == "gray"
    assert bottom.images[0].get_array().shape == (4, 3 * 4 + 2 * 2, 3)
    assert bottom.images[0].get_array()[0, 0, 0] == 200 and bottom.images[0].get_array()[0, 4, 0] == 255


# ----------------------------------------------------------------------------- chapter 4: sentences


def test_ae_protocol_text_reads_the_recipe_and_flags_wide_bottlenecks():
    rec = {"kind": "ae", "hash": "h1", "provenance": {"wall_time_s": 3600.0},
           "config": {"train": {"epochs": 10, "lr": 1e-3, "weight_decay": 1e-4, "batch_size": 128,
                                "precision": "bf16"}},
           "metrics": {"n_train": 60000, "n_test": 10000}}
    base = {"kind": "ae_baseline", "hash": "h2", "provenance": {"wall_time_s": 0.0}}
    study = SimpleNamespace(records=[base, rec], baselines=_baselines())
    text = report.ae_protocol_text(study, {"mnist": 256, "cifar10": 128},
                                   {"mnist": [2, 150, 256], "cifar10": [5, 128, 500, 600]}, workers=1)
    assert text.startswith("Every autoencoder of the sweep trained for 10 epochs with AdamW (learning rate 0.001, weight decay "
                           "0.0001, batch 128, constant learning rate, bf16) on the mean squared error, on 60,000 "
                           "training images, and was scored on 10,000 test images.")
    assert "Hidden width of the KAN and MLP autoencoders: 256 on MNIST and 128 on CIFAR-10." in text
    assert "On CIFAR-10 the bottlenecks wider than the hidden layer (500 and 600) can carry at most 128 dimensions." \
        in text and "On MNIST the bottlenecks" not in text
    assert text.endswith("Recomputing this chapter from an empty results store: 2 runs, 1.0 h of run time in all.")


def test_beats_mean_text_names_each_run_that_loses_with_its_seed():
    runs = pd.concat([_ae_table().assign(seed=seed) for seed in (0, 1, 2)], ignore_index=True).assign(
        n_train=60000, epochs=10)
    runs["key"] = runs.model
    assert report.beats_mean_text(runs) == ("36 of the 36 trained autoencoders (every arm of the chapter, each seed "
                                            "counted) have a lower test MSE than the mean-image predictor — all of them.")
    setting = (runs.model == "cnn") & (runs.dataset == "mnist") & (runs.requested == 4)
    lost = setting & (runs.seed == 2)
    runs.loc[lost, ["beats_mean", "test_mse"]] = [False, 0.3856]
    text = report.beats_mean_text(runs)
    assert text.startswith("35 of the 36 trained autoencoders (every arm of the chapter, each seed counted) have a "
                           "lower test MSE than the mean-image predictor: the one that does not is the CNN AE on "
                           "MNIST at latent size 4, seed 2 (test MSE 0.3856; 2 of its 2 other seeds trained).")
    assert "stops only when every seed of a setting fails" in text
    # A second seed of the same setting fails too: each names the other's failure in its count.
    runs.loc[setting & (runs.seed == 0), "beats_mean"] = False
    text = report.beats_mean_text(runs)
    assert "34 of the 36" in text and "the ones that do not are" in text and "seed 0" in text and text.count("1 of its 2 other seeds trained") == 2


def test_knn_protocol_text_summarises_the_gap_per_feature_space():
    knn = pd.DataFrame({"gap": [0.1, 0.3, -0.02], "knn_authors_features": ["latent", "latent", "reconstruction"]})
    assert report.knn_protocol_text(knn) == (
        "The authors' protocol against ours, by the space the authors' number is computed in: on latent (2 runs) it "
        "reads +0.200 on average (from +0.100 to +0.300); on reconstruction (1 run) it reads −0.0200 on average.")


def test_convergence_text_names_the_runs_still_improving():
    assert report.convergence_text([]) == ("Each run trained for one epoch only: convergence cannot be judged from "
                                           "its curve.")
    changes = [("mnist", "KAN AE", 4, -0.05), ("cifar10", "MLP AE", 16, 0.002), ("mnist", "CNN AE", 9, -0.005),
               ("mnist", "KAN AE", 32, -0.02)]
    assert report.convergence_text(changes) == (  # the runs still improving, grouped by model and dataset
        "Over the last epoch the test MSE changed by between −5.0% and +0.20% (relative) across the 4 runs; 2 were "
        "still improving by more than 1%: the KAN AE on MNIST at 2 latent sizes (4 and 32).")
    assert report.convergence_text(changes[1:3]).endswith("; none was still improving by more than 1%.")
    assert report.convergence_text(changes[:1]).startswith(  # a range of one value is that value
        "Over the last epoch the test MSE changed by −5.0% (relative) across the 1 run; ")


def _parity_rows(diffs):
    """Chapter 2's parity rows for one model: per fold, float32 at 0.9 and bf16 at 0.9 + the fold's difference."""
    import pandas as pd

    return pd.DataFrame([{"model": "KAN-Mixer", "precision": p, "fold": f, "folds": len(diffs),
                          "val_accuracy": 0.9 + (d if p == "bf16" else 0.0)}
                         for f, d in enumerate(diffs) for p in ("fp32", "bf16")])


def test_the_parity_intervals_are_set_beside_chapter_3s_gaps():
    from kanmix import report

    wide = _parity_rows([0.004, -0.006, 0.003, -0.002, 0.001])  # an interval several tenths of a point wide
    text = report.parity_against_gaps(wide, {"MLP-Mixer (param-matched)": 0.0019, "MLP-Mixer": 0.0116})
    assert "include gaps no wider than that: the MLP-Mixer (param-matched) (+0.19 points)" in text
    assert "this gap holds in float32 is not settled here; only the wider one, the MLP-Mixer (+1.2 points), is." in text
    narrow = _parity_rows([0.0001, -0.0001, 0.0002, -0.0002, 0.0])
    text = report.parity_against_gaps(narrow, {"MLP-Mixer (param-matched)": 0.0019, "MLP-Mixer": 0.0116})
    assert "are all wider (the smallest 0.19 points), so none of them could be a bf16 effect" in text
    assert "not all in the results store" in report.parity_against_gaps(wide, None)


def test_the_autoencoder_parity_is_an_equivalence_test_of_relative_mse():
    import pandas as pd

    from kanmix import report

    def rows(ratios):
        return pd.DataFrame([{"precision": p, "seed": s, "test_mse": 0.01 * (r if p == "bf16" else 1.0)}
                             for s, r in enumerate(ratios) for p in ("fp32", "bf16")])

    same = report.ae_parity_sentence(rows([1.001, 0.999, 1.002]), margin=0.02)
    assert "inside the ±2.0% equivalence margin" in same and "over 3 seeds" in same
    apart = report.ae_parity_sentence(rows([1.05, 1.06, 1.04]), margin=0.02)  # bf16 5% worse: past the margin
    assert "+5.0% on average" in apart and "equivalence cannot be claimed" in apart
    noisy = report.ae_parity_sentence(rows([1.03, 0.97, 1.0]), margin=0.02)  # centred, but too wide to claim it
    assert "equivalence cannot be claimed" in noisy
    one = report.ae_parity_sentence(rows([1.0]).query("seed == 0"), margin=0.02)
    assert "needs at least two seeds" in one and "1 seed so far" in one
