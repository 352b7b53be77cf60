"""The book's figures: every edge's learned function as a small curve (pykan style), chapter 2's edge terms, grid
update and layer timings, chapter 3's schematic, curves, confusion matrices and costs, chapter 4's autoencoder
sweep, costs and reconstructions, and chapter 6's compute frontiers. Each returns a matplotlib Figure."""

from __future__ import annotations

import math

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from kanmix.kan import KANLinear

__all__ = ["family_colours", "mixer_diagram", "plot_by_model", "plot_confusions", "plot_cost", "plot_edges",
           "plot_frontier", "plot_edge_terms", "plot_grid_update", "plot_layer_speed", "plot_ae_sweep", "plot_ae_cost",
           "plot_image_rows"]


def plot_edges(
    layer: KANLinear,
    x: torch.Tensor | None = None,
    *,
    top_k: int = 64,
    n: int = 200,
    x_range: tuple[float | torch.Tensor, float | torch.Tensor] | None = None,
    parts: bool = False,
    fade: bool = True,
    cols: int | None = None,
    panel_size: float = 1.3,
    color: str = "black",
) -> Figure:
    """Draw each edge function ``phi_oi`` of ``layer`` in its own small panel.

    Edges are ranked by importance, the mean ``|phi_oi|`` over the inputs ``x (..., in)``
    (``layer.edge_importance``) or, without data, over the sampled range; the ``top_k`` most
    important are drawn, most important first, so layers too large to draw whole stay readable.
    With ``fade`` each curve's opacity is its importance relative to the top edge, as pykan
    does. ``parts=True`` overlays the SiLU base and spline parts (dashed) on the total.
    ``x_range`` is passed to ``layer.edge_functions``: one ``(low, high)`` for all inputs, or
    ``(in,)`` tensors per input. ``color`` is the colour of the total's curve.
    Returns the matplotlib Figure (not shown; call ``fig.savefig`` or display it).
    """
    if not isinstance(layer, KANLinear):
        raise TypeError(f"plot_edges needs a kanmix.kan.KANLinear, got {type(layer).__name__}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    ef = layer.edge_functions(n=n, x_range=x_range)
    if x is not None:
        importance = layer.edge_importance(x)
        source = "mean |phi| over data"
    else:
        importance = ef.total.abs().mean(-1)
        source = "mean |phi| over the plotted range"
    importance = importance.detach().float().cpu()
    order = importance.flatten().argsort(descending=True)[:top_k]
    shown = len(order)
    n_cols = cols or min(shown, max(1, math.ceil(math.sqrt(shown * 1.5))))
    n_rows = math.ceil(shown / n_cols)
    # A bare Figure, not pyplot: no global figure registry to leak from in loops or notebooks.
    fig = Figure(figsize=(panel_size * n_cols, panel_size * n_rows + 0.4))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    top = float(importance.max()) or 1.0
    xs, total, base, spline = (t.detach().float().cpu() for t in ef)
    for ax, flat in zip(axes.flat, order.tolist()):
        o, i = divmod(flat, layer.in_features)
        alpha = max(0.15, float(importance[o, i]) / top) if fade else 1.0
        ax.plot(xs[i], total[o, i], color=color, alpha=alpha, lw=1.2)
        if parts:
            ax.plot(xs[i], base[o, i], color="tab:blue", alpha=alpha, lw=0.8, ls="--")
            ax.plot(xs[i], spline[o, i], color="tab:orange", alpha=alpha, lw=0.8, ls="--")
        ax.set_title(f"{i}\u2192{o}  {float(importance[o, i]):.3g}", fontsize=7, alpha=max(alpha, 0.5))
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[shown:]:
        ax.set_axis_off()
    total_edges = layer.in_features * layer.out_features
    what = f"all {total_edges} edges" if shown == total_edges else f"top {shown} of {total_edges} edges"
    fig.suptitle(f"KANLinear {layer.in_features}\u2192{layer.out_features}: {what}, by {source}", fontsize=9)
    fig.tight_layout()
    return fig


def family_colours(labels) -> dict:
    """One colour per model family, in order (the KAN family first, red), the same on every page."""
    return dict(zip(labels, ("tab:red", "tab:blue", "tab:cyan", "tab:green", "tab:purple")))


#: Marker of a point by its training length (epochs), in the order lengths appear.
_LENGTH_MARKERS = ("o", "s", "^", "D")


def plot_frontier(points, *, datasets, titles, families, paper=None, y: str = "val_accuracy",
                  seconds: str = "train_seconds", width: float = 6.4) -> Figure:
    """Accuracy against training FLOPs (left) and training seconds (right), one row per dataset.

    ``points`` is :attr:`kanmix.studies.FrontierStudy.points` (one row per record: seed means
    are drawn, each seed as a faint dot); each family's frontier (:func:`kanmix.frontier.envelope`)
    is a line through its points on the envelope. ``families`` maps a family label to its colour.
    ``seconds`` is the column of the right panel (``timed_seconds``: from one side-by-side timing).
    ``paper`` maps a dataset to ``[(label, flops, accuracy), ...]``: the paper's reported accuracies,
    drawn as stars at their training FLOPs, with a dotted line at each budget. Drawn ``width``
    inches wide, the width the book shows it at.
    """
    from matplotlib.ticker import NullFormatter

    from kanmix.frontier import envelope, mean_points

    lengths = sorted(points["epochs"].unique())
    markers = dict(zip(lengths, _LENGTH_MARKERS))
    fig = Figure(figsize=(width, 2.7 * len(datasets) + 0.6))
    axes = fig.subplots(len(datasets), 2, squeeze=False, sharey="row")
    for row, dataset in zip(axes, datasets):
        part = points[points.dataset == dataset]
        for ax, x, xlabel in ((row[0], "flops", "training FLOPs"), (row[1], seconds, "training seconds")):
            means = mean_points(part, y)
            for family, colour in families.items():
                fam = means[means.family == family]
                if fam.empty:
                    continue
                raw = part[part.family == family]
                ax.scatter(raw[x], raw[y], s=8, color=colour, alpha=0.3, linewidths=0)
                for n, grp in fam.groupby("epochs"):
                    ax.scatter(grp[x], grp[y], s=22, color=colour, marker=markers[n], edgecolors="white",
                               linewidths=0.5, zorder=3)
                env = envelope(part[part.family == family], x=x, y=y)
                ax.step(env[x], env[y], where="post", color=colour, lw=1.2, label=family)
            if x == "flops":
                for label, budget, acc in (paper or {}).get(dataset, []):
                    colour = families.get(label, "0.3")
                    ax.axvline(budget, color=colour, ls=":", lw=0.8)
                    ax.scatter([budget], [acc], marker="*", s=90, color=colour, edgecolors="k", linewidths=0.5,
                               zorder=4)
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # labelled decades only: minor labels collide
            ax.set_xlabel(xlabel, fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(True, which="major", lw=0.3, alpha=0.5)
        row[0].set_ylabel(f"{titles[dataset]}\nfold-0 validation accuracy", fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles += [Line2D([], [], ls="", marker=markers[n], color="0.4", label=f"{n} epochs") for n in lengths]
    if paper:
        handles.append(Line2D([], [], ls="", marker="*", markersize=10, color="0.4", markeredgecolor="k",
                              label="paper (reported)"))
    ncol = min(len(handles), 4)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    legend_inches = 0.25 * math.ceil(len(handles) / ncol) + 0.1
    fig.tight_layout(rect=(0, legend_inches / fig.get_figheight(), 1, 1))
    return fig


# ----------------------------------------------------------------------------- chapter 3's figures


def mixer_diagram(width: float = 11.0) -> Figure:
    """Schematic of a KAN-Mixer: image -> patch embedding -> L x (token mixing, channel mixing) -> head."""
    boxes = [("image\nC×32×32", "0.85"), ("patch embedding\nconv P×P, stride P\n→ T tokens × D", "#cfe2f3"),
             ("LayerNorm\n→ transpose\ntoken-mixing KAN\nT → hidden → T\n→ transpose, +", "#f9cb9c"),
             ("LayerNorm\nchannel-mixing KAN\nD → hidden → D\n+", "#f9cb9c"),
             ("LayerNorm\nmean over tokens\nLinear → classes", "#d9ead3")]
    fig = Figure(figsize=(width, 3 * width / 11))
    ax = fig.subplots()
    for i, (text, colour) in enumerate(boxes):
        ax.add_patch(Rectangle((i * 2.2, 0), 1.9, 2.2, facecolor=colour, edgecolor="k", lw=0.8))
        ax.text(i * 2.2 + 0.95, 1.1, text, ha="center", va="center", fontsize=8)
        if i:
            ax.annotate("", xy=(i * 2.2, 1.1), xytext=(i * 2.2 - 0.3, 1.1), arrowprops={"arrowstyle": "->"})
    ax.add_patch(Rectangle((4.3, -0.25), 4.2, 2.7, fill=False, ls="--", edgecolor="tab:red"))
    ax.text(6.4, 2.6, "mixer block, repeated L times", ha="center", color="tab:red", fontsize=9)
    ax.set_xlim(-0.2, 11.1)
    ax.set_ylim(-0.4, 2.9)
    ax.axis("off")
    fig.tight_layout()
    return fig


def plot_by_model(frame, *, y: str, ylabel: str, x: str = "epoch", xlabel: str = "epoch", panels=None,
                  titles=None, order=None, spread: str | None = "band", logx: bool = False,
                  bottom: float | None = None, size: tuple[float, float] = (5.5, 3.3)) -> Figure:
    """``y`` against ``x``, one line per ``model``: the mean over the rows sharing (model, x).

    One panel per value of ``panels`` (a column, e.g. ``"dataset"``; ``None``: one panel), titled
    by ``titles[value]``. ``spread`` draws the sd over those rows as a ``"band"`` or as
    ``"errorbars"`` (``None``: neither; a single row has sd 0). ``order`` lists the models in the
    legend's order (default: as they appear). ``bottom`` fixes the y axis' lower end. Each panel
    is ``size`` inches.
    """
    keys = list(dict.fromkeys(frame[panels])) if panels else [None]
    fig = Figure(figsize=(size[0] * len(keys), size[1]))
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        part = frame if key is None else frame[frame[panels] == key]
        stats = part.groupby(["model", x], sort=False)[y].agg(["mean", "std"]).fillna(0)
        for label in order or list(dict.fromkeys(part["model"])):
            if label not in stats.index.get_level_values(0):
                continue
            c = stats.loc[label].sort_index()
            if spread == "errorbars":
                ax.errorbar(c.index, c["mean"], yerr=c["std"], marker="o", capsize=3, label=label)
            else:
                ax.plot(c.index, c["mean"], marker="o" if spread is None else ".", label=label)
                if spread == "band":
                    ax.fill_between(c.index, c["mean"] - c["std"], c["mean"] + c["std"], alpha=0.15)
        if logx:
            ax.set_xscale("log")
        if bottom is not None:
            ax.set_ylim(bottom, None)
        if key is not None and titles:
            ax.set_title(titles[key], fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    axes[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_confusions(folds, *, datasets, models, classes, titles) -> Figure:
    """Confusion matrices summed over the held-out folds, rows normalised: one row of panels per dataset.

    ``folds`` has ``dataset``, ``model`` and ``val_confusion`` (a (classes, classes) nested list per
    fold); ``classes[dataset]`` names the classes and ``titles[dataset]`` the dataset.
    """
    fig = Figure(figsize=(2.6 * len(models), 2.9 * len(datasets)))
    axes = fig.subplots(len(datasets), len(models), squeeze=False)
    for row_axes, dataset in zip(axes, datasets):
        rows = folds[folds.dataset == dataset]
        names = classes[dataset]
        for ax, label in zip(row_axes, models):
            conf = np.sum([np.array(c) for c in rows[rows.model == label]["val_confusion"]], axis=0)
            ax.imshow(conf / np.maximum(conf.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
            ax.set_title(f"{label}\n{titles[dataset]}", fontsize=7)
            ax.set_xticks(range(len(names)), names, rotation=90, fontsize=5)
            ax.set_yticks(range(len(names)), names if ax is row_axes[0] else [], fontsize=5)
    fig.tight_layout()
    return fig


def plot_cost(summaries, *, titles, y: str = "val_accuracy") -> Figure:
    """Mean ``y`` (± its sd over folds) against training seconds per fold and against parameters, log axes.

    ``summaries`` maps a dataset to :func:`kanmix.cv.overview`'s table (one row per model, with
    ``train_seconds``, ``params``, ``y`` and ``std``); one row of two panels per dataset.
    """
    fig = Figure(figsize=(10, 3.3 * len(summaries)))
    axes = fig.subplots(len(summaries), 2, squeeze=False)
    for row_axes, (dataset, s) in zip(axes, summaries.items()):
        for ax, column, xlabel in ((row_axes[0], "train_seconds", "training time per fold (s, log)"),
                                   (row_axes[1], "params", "parameters (log)")):
            for label in s.index:
                ax.errorbar(s.loc[label, column], s.loc[label, y], yerr=s.loc[label, "std"], fmt="o", label=label,
                            capsize=3)
            ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("held-out accuracy")
            ax.set_title(titles[dataset], fontsize=10)
    axes[0, 1].legend(frameon=False, fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- chapter 2's figures


def plot_edge_terms(layer: KANLinear, x: torch.Tensor, n_edges: int, *, target: str = "class") -> Figure:
    """The ``n_edges`` most important edges of ``layer`` on its inputs ``x (rows, in)``, each split into its terms.

    One panel per edge, most important first (``layer.edge_importance(x)``): the SiLU base term,
    the spline term and their sum, the edge function phi, over the inputs' range widened to at
    least ``[-1.5, 1.5]``; the grid range is shaded. Panels are titled ``"in i → <target> o"``.
    """
    top = torch.topk(layer.edge_importance(x).flatten(), n_edges).indices
    ef = layer.edge_functions(n=300, x_range=(min(float(x.min()), -1.5), max(float(x.max()), 1.5)))
    fig = Figure(figsize=(2.4 * n_edges, 2.4))
    axes = fig.subplots(1, n_edges, sharex=True, squeeze=False)[0]
    for ax, flat in zip(axes, top.tolist()):
        o, i = divmod(flat, layer.in_features)
        ax.plot(ef.x[i], ef.base[o, i], color="tab:blue", lw=1, label="base (SiLU)")
        ax.plot(ef.x[i], ef.spline[o, i], color="tab:orange", lw=1, label="spline")
        ax.plot(ef.x[i], ef.total[o, i], color="k", lw=1.6, label="edge φ")
        ax.axvspan(*layer.grid_range, color="0.93", zorder=0)
        ax.set_title(f"in {i} → {target} {o}", fontsize=9)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_grid_update(before: KANLinear, after: KANLinear, x: torch.Tensor, *, target: str = "class") -> Figure:
    """A grid update seen on the input of ``x (rows, in)`` that varies most (``before`` and ``after`` the update).

    Left: the histogram of that input's values with the knots before (blue) and after (red,
    dashed). Right: its most important edge (``before.edge_importance(x)``) before and after,
    over the range of ``x``.
    """
    busiest = int(x.std(0).argmax())
    o = int(before.edge_importance(x)[:, busiest].argmax())
    fig = Figure(figsize=(10, 3))
    ax0, ax1 = fig.subplots(1, 2)
    ax0.hist(x[:, busiest].numpy(), bins=60, color="0.6")
    for t in before.grid[busiest]:
        ax0.axvline(float(t), color="tab:blue", lw=0.8, alpha=0.7)
    for t in after.grid[busiest]:
        ax0.axvline(float(t), color="tab:red", lw=0.8, ls="--")
    ax0.set_title(f"input {busiest}: activations, knots before (blue) and after (red)", fontsize=9)
    e_before, e_after = (m.edge_functions(n=300, x_range=(float(x.min()), float(x.max()))) for m in (before, after))
    ax1.plot(e_before.x[busiest], e_before.total[o, busiest], color="tab:blue", lw=2, label="before")
    ax1.plot(e_after.x[busiest], e_after.total[o, busiest], color="tab:red", lw=1, ls="--", label="after")
    ax1.set_title(f"edge in {busiest} → {target} {o} over the activations' range", fontsize=9)
    ax1.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_layer_speed(speed) -> Figure:
    """Forward + backward time of every contender against the dense limit: one panel per dtype, log time axis.

    ``speed`` is :func:`kanmix.bench.kan.speed_table`'s frame (index: shape, dtype; an ``"<name> ms"``
    column per contender, ``"limit ms"`` among them): one bar per contender and shape, the limit a
    dashed line across each shape's bars.
    """
    others = [c[:-3] for c in speed.columns if c.endswith(" ms") and c != "limit ms"]
    dtypes = speed.index.get_level_values("dtype").unique()
    n_shapes = speed.index.get_level_values(0).nunique()
    fig = Figure(figsize=(12, 1.2 + 0.9 * n_shapes))
    axes = fig.subplots(1, len(dtypes), squeeze=False, sharey=True)
    height = 0.8 / len(others)
    for ax, (dtype, part) in zip(axes[0], speed.groupby(level="dtype", sort=False)):
        part = part.droplevel("dtype")
        for j, name in enumerate(others):
            ax.barh(np.arange(len(part)) + j * height, part[f"{name} ms"], height, label=name)
        for k, limit in enumerate(part["limit ms"]):
            ax.vlines(limit, k - height / 2, k + 0.8 - height / 2, colors="k", linestyles="--",
                      label="dense limit" if k == 0 else None)
        ax.set_yticks(np.arange(len(part)) + 0.4 - height / 2, part.index)
        ax.set_xscale("log")
        ax.set_xlabel("forward + backward, ms (log)")
        ax.set_title(dtype, fontsize=10)
    axes[0, 0].invert_yaxis()
    axes[0, -1].legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- chapter 4's figures


def plot_ae_sweep(table, baselines, datasets) -> Figure:
    """Test PSNR (top) and KNN accuracy on the codes (bottom) against the latent size, one column per dataset.

    ``table`` is chapter 4's :func:`kanmix.ae.chapter_table` (one row per run, ``model`` the label
    in the legend), ``baselines`` :attr:`kanmix.studies.AutoencoderStudy.baselines`: PCA at each
    width is a dashed line, the mean-image predictor (0 components) a dotted one on the PSNR panel.
    """
    from kanmix.data import info

    fig = Figure(figsize=(5.2 * len(datasets), 6))
    axes = fig.subplots(2, len(datasets), squeeze=False, sharex="col")
    for c, dataset in enumerate(datasets):
        part = table[table.dataset == dataset]
        pca = baselines[(baselines.dataset == dataset) & (baselines.components > 0)]
        mean_psnr = baselines[(baselines.dataset == dataset) & (baselines.components == 0)].psnr.iloc[0]
        for label, rows in part.groupby("model", sort=False):
            rows = rows.sort_values("bottleneck")
            axes[0, c].plot(rows.bottleneck, rows.psnr, marker="o", label=label)
            axes[1, c].plot(rows.bottleneck, rows.knn_accuracy, marker="o", label=label)
        axes[0, c].plot(pca.components, pca.psnr, ls="--", color="0.4", marker="x", label="PCA")
        axes[0, c].axhline(mean_psnr, ls=":", color="0.5", label="mean image")
        axes[1, c].plot(pca.components, pca.knn_accuracy, ls="--", color="0.4", marker="x", label="PCA")
        axes[0, c].set_title(info(dataset).title, fontsize=10)
        axes[0, c].set_ylabel("test PSNR (dB)")
        axes[1, c].set_ylabel("KNN accuracy on codes")
        axes[1, c].set_xlabel("latent size (log)")
        axes[1, c].set_xscale("log")
    axes[0, 0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_ae_cost(table) -> Figure:
    """Test PSNR against training seconds (left) and parameters (right), log axes: one point per run, one colour
    per ``model``."""
    fig = Figure(figsize=(10, 3.4))
    axes = fig.subplots(1, 2)
    for label, rows in table.groupby("model", sort=False):
        axes[0].scatter(rows.train_seconds, rows.psnr, label=label, s=18)
        axes[1].scatter(rows.params, rows.psnr, label=label, s=18)
    for ax, xlabel in zip(axes, ("training time per run (s, log)", "parameters (log)")):
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test PSNR (dB)")
    axes[0].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_image_rows(rows) -> Figure:
    """Rows of images, each labelled on its left: ``rows`` is ``[(label, images (n, C, H, W) uint8), ...]``
    (:func:`kanmix.ae.reconstruction_rows`); grey for one channel, colour for three."""
    n_cols = max(len(images) for _, images in rows)
    fig = Figure(figsize=(1.15 * n_cols, 1.2 * len(rows)))
    axes = fig.subplots(len(rows), n_cols, squeeze=False)
    for r, (label, images) in enumerate(rows):
        for c in range(n_cols):
            img = np.transpose(images[c], (1, 2, 0)).squeeze()
            axes[r, c].imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(label, fontsize=7)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- chapter 1's figure


def plot_bases(grid_sizes, orders, *, n: int = 600) -> tuple[Figure, float]:
    """The B-spline bases of a fresh one-input ``KANLinear`` for each grid size (columns) and degree (rows).

    Each panel shades the grid range, draws every basis and their sum (dashed) and marks the knots.
    Returns the figure and the largest deviation of that sum from one inside the grid range
    (partition of unity).
    """
    from kanmix.bspline import bspline_bases

    fig = Figure(figsize=(3.3 * len(grid_sizes), 2.3 * len(orders)))
    axes = fig.subplots(len(orders), len(grid_sizes), sharex=True, sharey=True, squeeze=False)
    unity_error = 0.0
    for r, k in enumerate(orders):
        for c, g in enumerate(grid_sizes):
            knots = KANLinear(1, 1, grid_size=g, spline_order=k).grid  # (1, G + 2k + 1)
            x = torch.linspace(float(knots[0, 0]), float(knots[0, -1]) - 1e-6, n)
            bases = bspline_bases(x.unsqueeze(1), knots, k)[:, 0, :]  # (n, G + k)
            ax = axes[r, c]
            ax.axvspan(-1, 1, color="0.94", zorder=0)
            ax.plot(x, bases, lw=1.2)
            ax.plot(x, bases.sum(1), color="k", lw=0.8, ls="--")
            ax.plot(knots[0], torch.zeros_like(knots[0]), "|", color="k", ms=6)
            ax.set_title(f"G = {g}, k = {k}: {bases.shape[1]} bases", fontsize=9)
            inside = (x >= -1) & (x < 1)
            unity_error = max(unity_error, float((bases[inside].sum(1) - 1).abs().max()))
    for ax in axes[-1]:
        ax.set_xlabel("x")
    fig.tight_layout()
    return fig, unity_error


# ----------------------------------------------------------------------------- chapter 3's random search


def message(text: str, *, size: tuple[float, float] = (5, 1.6)) -> Figure:
    """A figure that only says ``text``: what a chapter shows in a figure's place while the runs it draws are not
    in the results store (a campaign under way), so the book's numbered figure still stands."""
    fig = Figure(figsize=size)
    ax = fig.subplots()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def plot_importances(importances, *, names=None) -> Figure:
    """Each searched setting's importance (a Series, largest first, as :func:`kanmix.studies.search_importances`
    gives it) as horizontal bars, the largest on top; ``names`` maps settings to labels. Without importances
    the panel says so."""
    if len(importances) == 0:
        return message("no importance yet:\nfewer than two scored trials that differ",
                       size=(5, 0.45 * 3 + 0.8))
    fig = Figure(figsize=(5, 0.45 * len(importances) + 0.8))
    ax = fig.subplots()
    labels = [(names or {}).get(k, k) for k in importances.index]
    ax.barh(labels[::-1], list(importances.to_numpy()[::-1]), color="tab:orange")
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the held-out accuracy's variation (fANOVA)")
    fig.tight_layout()
    return fig
