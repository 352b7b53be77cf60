"""The figures of chapters 3, 4 and 6 are drawn for the book's column: at most 6.6 inches wide (660 px at the
book's 100 dpi, so the page never shrinks them), at most 8 panels, and no text under 9 pt (12.5 px), as
:func:`kanmix.page.figure_png` records it. Each is drawn here from synthetic inputs shaped like the real ones,
with the real class names and model labels (the longest text the chapters draw)."""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from kanmix import ae, cv, data, page, report, viz

MODELS = ["KAN-Mixer", "MLP-Mixer", "MLP-Mixer (param-matched)", "MLP-Mixer (time-matched)", "MLP", "KAN"]
DATASETS = ["fashion_mnist", "cifar10"]
TITLES = {d: data.info(d).title for d in DATASETS}
COLUMN_PX = 660  # the widest a figure is shown unscaled in the book's column at a 1280 px window
SMALLEST_PX = 9 * page.FIGURE_DPI / 72  # 9 pt


def fits(fig) -> dict:
    """``fig`` as the book glues it: its PNG's width, its smallest text (px) and its panels."""
    with matplotlib.rc_context(report.RC_PARAMS):
        png = Image.open(io.BytesIO(page.figure_png(fig, dpi=page.FIGURE_DPI)))
    return {"width": png.width, "smallest": float(png.text[page.SMALLEST_TEXT_KEY]), "panels": len(fig.axes)}


def check(fig) -> None:
    got = fits(fig)
    assert got["width"] <= COLUMN_PX and got["smallest"] >= SMALLEST_PX - 0.05 and got["panels"] <= 8, got


def _folds() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for dataset in DATASETS:
        for i, model in enumerate(MODELS):
            for fold in range(5):
                conf = np.diag(rng.integers(50, 100, 10)) + rng.integers(0, 5, (10, 10))
                rows.append({"model": model, "dataset": dataset, "repeat": 0, "fold": fold, "folds": 5,
                             "val_accuracy": 0.85 + 0.01 * i + 0.005 * rng.standard_normal(), "test_accuracy": 0.85,
                             "train_seconds": 60.0 * (1 + i), "params": 27_000 * (1 + 3 * i), "epochs": 10,
                             "val_confusion": conf.tolist()})
    return pd.DataFrame(rows)


def test_chapter_3s_figures_fit_the_column():
    with matplotlib.rc_context(report.RC_PARAMS):
        folds = _folds()
        check(viz.mixer_diagram())
        summaries = {d: cv.overview(folds[folds.dataset == d]) for d in DATASETS}
        check(viz.plot_cost(summaries, titles=TITLES))
        curves = folds.assign(epoch=folds.fold + 1).rename(columns={})
        check(viz.plot_by_model(curves, y="val_accuracy", ylabel="held-out accuracy", panels="dataset", titles=TITLES,
                                order=MODELS, size=(6.4, 3.2)))
        check(viz.plot_confusions(folds, datasets=DATASETS, models=MODELS[:2],
                                  classes={d: data.info(d).classes for d in DATASETS}, titles=TITLES))
        eff = folds.assign(n_train=folds.fold.map({0: 1250, 1: 5000, 2: 18750, 3: 48000, 4: 48000}))
        check(viz.plot_by_model(eff, x="n_train", y="val_accuracy", ylabel="test accuracy", spread="errorbars",
                                logx=True, xlabel="training images per fold (log)", size=(6.4, 3.2)))
        check(viz.plot_importances(pd.Series({"lr": 0.5, "dim": 0.3, "weight_decay": 0.1, "depth": 0.05,
                                              "patch": 0.05}), names=report.SEARCH_NAMES))
        check(viz.message("no data-efficiency size has all its runs\nin the results store yet"))


def test_twelve_confusion_matrices_are_refused():
    with pytest.raises(ValueError, match="more than 8 panels"):
        viz.plot_confusions(_folds(), datasets=DATASETS, models=MODELS, classes={d: ["a"] * 10 for d in DATASETS},
                            titles=TITLES)


def test_chapter_4s_figures_fit_the_column():
    rows, base = [], []
    for dataset, sizes in (("mnist", [2, 10, 32, 150, 256]), ("cifar10", [5, 16, 50, 128, 500])):
        for i, model in enumerate(["KAN AE", "MLP AE", "CNN AE"]):
            rows += [{"dataset": dataset, "model": model, "bottleneck": b, "psnr": 10 + i + np.log(b),
                      "knn_accuracy": 0.5 + 0.1 * np.log10(b), "train_seconds": 100.0 * (i + 1) * b ** 0.3,
                      "params": 100_000 * (3 - i) + 1000 * b} for b in sizes]
        base += [{"dataset": dataset, "components": c, "psnr": 9 + np.log(c + 1), "knn_accuracy": 0.5}
                 for c in [0, *sizes]]
    table, baselines = pd.DataFrame(rows), pd.DataFrame(base)
    with matplotlib.rc_context(report.RC_PARAMS):
        check(viz.plot_ae_sweep(table, baselines, ["mnist", "cifar10"]))
        check(viz.plot_ae_cost(table))
        grey, colour = np.zeros((8, 1, 28, 28), np.uint8), np.zeros((8, 3, 32, 32), np.uint8)
        labels = [f"{ae.LABELS[k]} (256)" for k in ("kan", "mlp", "cnn")]
        check(viz.plot_image_rows([("MNIST\noriginal", grey), *((label, grey) for label in labels),
                                   ("CIFAR-10\noriginal", colour), *((label, colour) for label in labels)]))


def test_chapter_6s_frontier_fits_the_column():
    rows = []
    for dataset in DATASETS:
        for family, scale in (("KAN-Mixer", 1.0), ("MLP-Mixer", 0.7), ("MLP-Mixer (1×)", 0.5)):
            for i, (dim, depth) in enumerate([(16, 1), (32, 1), (64, 2)]):
                for epochs in (10, 20):
                    rows.append({"dataset": dataset, "family": family, "dim": dim, "depth": depth, "epochs": epochs,
                                 "seed": 0, "flops": scale * 6e12 * 2 ** i * epochs / 10,
                                 "train_seconds": 150.0 * scale * 1.5 ** i * epochs / 10,
                                 "val_accuracy": 0.85 + 0.01 * i + 0.002 * epochs / 10})
    marks = {d: [("KAN-Mixer", 2.7e15, 0.903), ("MLP-Mixer", 1.9e15, 0.877)] for d in DATASETS}
    with matplotlib.rc_context(report.RC_PARAMS):
        check(viz.plot_frontier(pd.DataFrame(rows), datasets=DATASETS, titles=TITLES,
                                families=viz.family_colours(["KAN-Mixer", "MLP-Mixer", "MLP-Mixer (1×)"]),
                                paper=marks))


def test_log_ticks_label_a_short_range_without_minor_labels():
    fig = viz.plot_cost({"fashion_mnist": cv.overview(_folds()[lambda f: f.dataset == "fashion_mnist"])},
                        titles=TITLES)
    fig.draw_without_rendering()
    time_axis = fig.axes[0].xaxis
    labels = [t.get_text() for t in time_axis.get_majorticklabels() if t.get_visible() and t.get_text()]
    assert labels and all(not t.get_text() for t in time_axis.get_minorticklabels())
    assert all(re.fullmatch(r"\d+k?", label) for label in labels), labels  # 50, 100, 200, 1k: no powers of ten
