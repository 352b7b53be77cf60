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
    Each panel is titled ``"i→o, |φ| importance"``. With ``fade`` each curve's opacity is its
    importance relative to the top edge, as pykan does. ``parts=True`` overlays the SiLU base and
    spline parts (dashed) on the total. ``x_range`` is passed to ``layer.edge_functions``: one
    ``(low, high)`` for all inputs, or ``(in,)`` tensors per input. ``color`` is the colour of the
    total's curve. Returns the matplotlib Figure (not shown; call ``fig.savefig`` or display it).
    """
    if not isinstance(layer, KANLinear):
        raise TypeError(f"plot_edges needs a kanmix.kan.KANLinear, got {type(layer).__name__}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    ef = layer.edge_functions(n=n, x_range=x_range)
    importance = _importance(layer, x, ef)
    source = "mean |phi| over data" if x is not None else "mean |phi| over the plotted range"
    shown = min(top_k, importance.numel())
    n_cols = cols or min(shown, max(1, math.ceil(math.sqrt(shown * 1.5))))
    n_rows = math.ceil(shown / n_cols)
    # A bare Figure, not pyplot: no global figure registry to leak from in loops or notebooks.
    fig = Figure(figsize=(panel_size * n_cols, panel_size * n_rows + 0.4))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    _draw_edges(list(axes.flat)[:shown], layer, ef, importance, parts=parts, fade=fade, color=color)
    for ax in list(axes.flat)[shown:]:
        ax.set_axis_off()
    total_edges = layer.in_features * layer.out_features
    what = f"all {total_edges} edges" if shown == total_edges else f"top {shown} of {total_edges} edges"
    fig.suptitle(f"KANLinear {layer.in_features}\u2192{layer.out_features}: {what}, by {source}")
    fig.tight_layout()
    return fig


def _importance(layer: KANLinear, x: torch.Tensor | None, ef) -> torch.Tensor:
    """Each edge's importance ``(out, in)``: the mean ``|phi_oi|`` over the inputs ``x (..., in)``
    (``layer.edge_importance``) or, without data, over the sampled edge functions ``ef``."""
    importance = layer.edge_importance(x) if x is not None else ef.total.abs().mean(-1)
    return importance.detach().float().cpu()


def _draw_edges(axes, layer: KANLinear, ef, importance: torch.Tensor, *, parts: bool, fade: bool, color: str) -> int:
    """The most important edges of ``layer`` (``importance (out, in)``), one to each of ``axes`` in order, from
    its sampled edge functions ``ef``; titled ``"in→out, |φ| importance"``, no ticks (each panel on its own
    scale). Returns how many were drawn (fewer than ``axes`` when the layer has fewer edges)."""
    order = importance.flatten().argsort(descending=True)[:len(axes)]
    top = float(importance.max()) or 1.0
    xs, total, base, spline = (t.detach().float().cpu() for t in ef)
    for ax, flat in zip(axes, order.tolist()):
        o, i = divmod(flat, layer.in_features)
        alpha = max(0.15, float(importance[o, i]) / top) if fade else 1.0
        ax.plot(xs[i], total[o, i], color=color, alpha=alpha, lw=1.2)
        if parts:
            ax.plot(xs[i], base[o, i], color="tab:blue", alpha=alpha, lw=0.8, ls="--")
            ax.plot(xs[i], spline[o, i], color="tab:orange", alpha=alpha, lw=0.8, ls="--")
        ax.set_title(f"{i}\u2192{o}, |φ| {float(importance[o, i]):.2g}", alpha=max(alpha, 0.5))
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes)[len(order):]:
        ax.set_axis_off()
    return len(order)


def plot_edge_rows(rows, *, top_k: int = 4, n: int = 120, parts: bool = True, width: float = 6.6) -> Figure:
    """The ``top_k`` most important edges of several KAN layers, one row of panels per layer, ``width`` inches wide:
    what :func:`plot_edges` draws, for setting a trained layer above its untrained twin.

    ``rows`` is ``[(label, layer, x (rows, in), x_range, color), ...]``: each layer's edges are ranked by their
    importance over its own inputs ``x`` and drawn over ``x_range`` (``layer.edge_functions``' argument, e.g. the
    inputs' central range), the total in ``color``, faded by importance, with the SiLU base (blue, dashed) and the
    spline (orange, dashed) when ``parts``; ``label`` names the row on its left.
    """
    fig = Figure(figsize=(width, 1.35 * len(rows) + 0.2))
    axes = fig.subplots(len(rows), top_k, squeeze=False)
    for row, (label, layer, x, x_range, color) in zip(axes, rows):
        ef = layer.edge_functions(n=n, x_range=x_range)
        _draw_edges(list(row), layer, ef, _importance(layer, x, ef), parts=parts, fade=True, color=color)
        row[0].set_ylabel(label)
    fig.tight_layout()
    return fig


def plot_edge_measures(edges, columns, *, labels, xlabels, states, floor: float = 1e-6,
                       width: float = 6.6) -> Figure:
    """Per KAN layer, the median and interquartile range of edge measures in each state: one panel per measure,
    ``width`` inches wide, log axes.

    ``edges`` is :func:`kanmix.interpret.edge_table`'s rows of every model (``model``, ``layer``, ``state`` and the
    ``columns``); ``labels`` maps each ``(model, layer)`` to its name on the y axis, in the order drawn (top to
    bottom); ``xlabels`` maps a column to its axis label; ``states`` maps a state to its colour, each drawn as a dot
    at the median and a bar from the 25th to the 75th percentile. Values at or below ``floor`` are drawn at it.
    """
    keys = list(labels)
    fig = Figure(figsize=(width, 0.27 * len(keys) + 1.2))
    axes = fig.subplots(1, len(columns), sharey=True, squeeze=False)[0]
    step = 0.32 / max(len(states) - 1, 1)
    for ax, column in zip(axes, columns):
        for j, (state, colour) in enumerate(states.items()):
            for y, (model, layer) in enumerate(keys):
                part = edges[(edges.model == model) & (edges.layer == layer) & (edges.state == state)][column]
                v = np.clip(part[np.isfinite(part)].to_numpy(), floor, None)
                if not len(v):
                    continue
                q1, q2, q3 = np.percentile(v, [25, 50, 75])
                at = y - 0.16 + j * step
                ax.plot([q1, q3], [at, at], color=colour, lw=2, solid_capstyle="butt")
                ax.plot([q2], [at], "o", color=colour, ms=4, label=state if y == 0 else None)
        ax.set_xscale("log")
        ax.set_xlabel(xlabels[column])
        ax.grid(True, axis="x", which="major", lw=0.3, alpha=0.5)
    axes[0].set_yticks(range(len(keys)), [labels[k] for k in keys])
    axes[0].set_ylim(len(keys) - 0.5, -0.5)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=len(states), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))
    return fig


def plot_token_maps(maps, token: int, *, width: float = 6.6) -> Figure:
    """Token-mixing maps side by side: one column per entry of ``maps`` (a label -> ``(T, h, w)`` maps, as
    :func:`kanmix.interpret.token_maps` gives them), the map of output ``token`` on top (its own patch marked +) and
    the mean over all output tokens below; one colour scale for every panel, so a flat map looks flat."""
    top = max(float(m.max()) for m in maps.values())
    side = next(iter(maps.values())).shape[-1]
    fig = Figure(figsize=(width, 2 * width / (len(maps) + 0.4) + 0.1))
    axes = fig.subplots(2, len(maps), squeeze=False)
    for c, (label, m) in enumerate(maps.items()):
        for r, image in enumerate((m[token], m.mean(0))):
            ax = axes[r, c]
            shown = ax.imshow(image.numpy(), cmap="magma", vmin=0, vmax=top, interpolation="nearest")
            if r == 0:
                ax.plot(token % side, token // side, "c+", ms=10, mew=2)
                ax.set_title(label)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel(f"output token {token}")
    axes[1, 0].set_ylabel("mean over outputs")
    fig.colorbar(shown, ax=axes, fraction=0.03, label="share of the map")
    return fig


def plot_pixel_maps(maps, *, label: str, width: float = 5.0) -> Figure:
    """Per-pixel maps side by side, one panel per entry of ``maps`` (a title -> ``(H, W)`` tensor), on one colour
    scale labelled ``label``."""
    top = max(float(m.max()) for m in maps.values())
    fig = Figure(figsize=(width, width / (len(maps) + 0.3)))
    axes = fig.subplots(1, len(maps), squeeze=False)[0]
    for ax, (title, m) in zip(axes, maps.items()):
        shown = ax.imshow(m.numpy(), cmap="magma", vmin=0, vmax=top)
        ax.set_title(title)
        ax.axis("off")
    fig.colorbar(shown, ax=axes, fraction=0.04, label=label)
    return fig


def plot_pruning(pruning, controls, *, colours, width: float = 6.6) -> Figure:
    """Test accuracy against the fraction of edges kept (log axis, ticked at the fractions run), one line per seed:
    ``pruning`` has ``seed``, ``keep``, ``accuracy_unpruned``, ``accuracy_pruned`` and ``accuracy_finetuned``
    (right after pruning: grey, dashed; after fine-tuning: purple); ``controls`` the same per ``control``, each
    drawn fine-tuned in ``colours[control]`` and named by it; the unpruned mean is a black line. The legend is under the axes."""
    fig = Figure(figsize=(width, 3.6))
    ax = fig.subplots()
    for column, label, style, colour in (("accuracy_pruned", "pruned", "o--", "0.5"),
                                         ("accuracy_finetuned", "pruned + fine-tuned", "o-", "tab:purple")):
        for k, (_, part) in enumerate(pruning.groupby("seed")):
            ax.plot(part.keep, part[column], style, color=colour, alpha=0.7, label=label if k == 0 else None)
    for control, colour in colours.items():
        part = controls[controls.control == control] if len(controls) else controls
        for k, (_, seed_part) in enumerate(part.groupby("seed") if len(part) else ()):
            ax.plot(seed_part.keep, seed_part.accuracy_finetuned, "s:", color=colour, alpha=0.7,
                    label=control if k == 0 else None)
    ax.axhline(pruning.accuracy_unpruned.mean(), color="k", lw=0.8, label="unpruned (mean)")
    ax.set_xscale("log")
    keeps = sorted(pruning.keep.unique())
    ax.set_xticks(keeps, [f"{k:g}" for k in keeps])
    ax.minorticks_off()
    ax.set_xlabel("fraction of edges kept")
    ax.set_ylabel("test accuracy")
    handles, labels = ax.get_legend_handles_labels()  # under the axes: inside, it would hide the lines
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, (0.21 * math.ceil(len(labels) / 2) + 0.05) / fig.get_figheight(), 1, 1))
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
    inches wide, the width the book shows it at; the legend sits under the panels.
    """
    from matplotlib.lines import Line2D

    from kanmix.frontier import envelope, mean_points

    lengths = sorted(points["epochs"].unique())
    markers = dict(zip(lengths, _LENGTH_MARKERS))
    fig = Figure(figsize=(width, 2.5 * len(datasets) + 0.7))
    axes = fig.subplots(len(datasets), 2, squeeze=False, sharey="row")
    for row, dataset in zip(axes, datasets):
        part = points[points.dataset == dataset]
        for ax, x, xlabel in ((row[0], "flops", "training FLOPs (log)"), (row[1], seconds, "training seconds (log)")):
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
            _log_ticks(ax.xaxis)
            ax.set_xlabel(xlabel)
            ax.grid(True, which="major", lw=0.3, alpha=0.5)
        row[0].set_ylabel(f"{titles[dataset]}\nfold-0 val. accuracy")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += [Line2D([], [], ls="", marker=markers[n], color="0.4", label=f"{n} epochs") for n in lengths]
    if paper:
        handles.append(Line2D([], [], ls="", marker="*", markersize=10, color="0.4", markeredgecolor="k",
                              label="paper (reported)"))
    _legend_below(fig, handles, ncol=3)
    return fig


# ----------------------------------------------------------------------------- chapter 3's figures


def mixer_diagram(width: float = 6.4) -> Figure:
    """Schematic of a KAN-Mixer: image -> patch embedding -> L x (token mixing, channel mixing) -> head, drawn
    ``width`` inches wide (the book's column) with its text at the book's size."""
    boxes = [("image\nC × 32 × 32", "0.85"),
             ("patch\nembedding\nP×P conv,\nstride P\n→ T tokens\nof width D", "#cfe2f3"),
             ("token\nmixing\nLayerNorm,\nKAN across\nthe T tokens,\n+ input", "#f9cb9c"),
             ("channel\nmixing\nLayerNorm,\nKAN across\nthe D widths,\n+ input", "#f9cb9c"),
             ("head\nLayerNorm,\nmean over\ntokens,\nlinear", "#d9ead3")]
    fig = Figure(figsize=(width, 2.5))
    ax = fig.subplots()
    for i, (text, colour) in enumerate(boxes):
        ax.add_patch(Rectangle((i * 2.2, 0), 1.9, 2.2, facecolor=colour, edgecolor="k", lw=0.8))
        ax.text(i * 2.2 + 0.95, 1.1, text, ha="center", va="center", linespacing=1.15)
        if i:
            ax.annotate("", xy=(i * 2.2, 1.1), xytext=(i * 2.2 - 0.3, 1.1), arrowprops={"arrowstyle": "->"})
    ax.add_patch(Rectangle((4.3, -0.15), 4.2, 2.5, fill=False, ls="--", edgecolor="tab:red"))
    ax.text(6.4, 2.45, "mixer block, repeated L times", ha="center", color="tab:red")
    ax.set_xlim(-0.1, 10.9)
    ax.set_ylim(-0.25, 2.8)
    ax.axis("off")
    fig.tight_layout(pad=0.2)
    return fig


def plot_by_model(frame, *, y: str, ylabel: str, x: str = "epoch", xlabel: str = "epoch", panels=None,
                  titles=None, order=None, spread: str | None = "band", logx: bool = False,
                  bottom: float | None = None, size: tuple[float, float] = (6.4, 3.0)) -> Figure:
    """``y`` against ``x``, one line per ``model``: the mean over the rows sharing (model, x).

    One panel per value of ``panels`` (a column, e.g. ``"dataset"``; ``None``: one panel), titled
    by ``titles[value]``. ``spread`` draws the sd over those rows as a ``"band"`` or as
    ``"errorbars"`` (``None``: neither; a single row has sd 0). ``order`` lists the models in the
    legend's order (default: as they appear). ``bottom`` fixes the y axis' lower end. The whole
    figure is ``size`` inches (the book's column is 6.6 wide), the legend under the panels.
    """
    keys = list(dict.fromkeys(frame[panels])) if panels else [None]
    fig = Figure(figsize=size)
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
            _log_ticks(ax.xaxis)
        if bottom is not None:
            ax.set_ylim(bottom, None)
        if key is not None and titles:
            ax.set_title(titles[key])
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel(ylabel)
    handles, labels = {}, []
    for ax in axes:  # every model once, in the order drawn, though a panel may lack some
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    _legend_below(fig, list(handles.values()), ncol=min(len(handles), 3))
    return fig


#: The most panels a figure of the book holds: more are too small to read in the column.
MAX_PANELS = 8


def plot_confusions(folds, *, datasets, models, classes, titles, width: float = 6.4) -> Figure:
    """Confusion matrices summed over the held-out folds, rows normalised: one row of panels per dataset, one
    column per model (at most :data:`MAX_PANELS` in all), ``width`` inches wide.

    ``folds`` has ``dataset``, ``model`` and ``val_confusion`` (a (classes, classes) nested list per
    fold); ``classes[dataset]`` names the classes and ``titles[dataset]`` the dataset. Each panel is titled
    with its model and dataset; the class names label the true class (rows, first column only) and the
    predicted class (columns).
    """
    if len(datasets) * len(models) > MAX_PANELS:
        raise ValueError(f"{len(datasets)} datasets × {len(models)} models is more than {MAX_PANELS} panels: "
                         "draw fewer models, or one figure per dataset")
    side = width / len(models)
    fig = Figure(figsize=(width, (side + 0.35) * len(datasets)))
    axes = fig.subplots(len(datasets), len(models), squeeze=False)
    for row_axes, dataset in zip(axes, datasets):
        rows = folds[folds.dataset == dataset]
        names = classes[dataset]
        for ax, label in zip(row_axes, models):
            conf = np.sum([np.array(c) for c in rows[rows.model == label]["val_confusion"]], axis=0)
            ax.imshow(conf / np.maximum(conf.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
            ax.set_title(f"{label}, {titles[dataset]}")
            ax.set_xticks(range(len(names)), names, rotation=90)
            ax.set_yticks(range(len(names)), names if ax is row_axes[0] else [])
    fig.tight_layout()
    return fig


def plot_cost(summaries, *, titles, y: str = "val_accuracy", width: float = 6.4) -> Figure:
    """Mean ``y`` (± its sd over folds) against training seconds per fold and against parameters, log axes.

    ``summaries`` maps a dataset to :func:`kanmix.cv.overview`'s table (one row per model, with
    ``train_seconds``, ``params``, ``y`` and ``std``); one row of two panels per dataset, ``width`` inches
    wide, the models' legend under them.
    """
    fig = Figure(figsize=(width, 2.3 * len(summaries) + 0.8))
    axes = fig.subplots(len(summaries), 2, squeeze=False, sharey="row")
    for row_axes, (dataset, s) in zip(axes, summaries.items()):
        for ax, column, xlabel in ((row_axes[0], "train_seconds", "training time per fold (s, log)"),
                                   (row_axes[1], "params", "parameters (log)")):
            for label in s.index:
                ax.errorbar(s.loc[label, column], s.loc[label, y], yerr=s.loc[label, "std"], fmt="o", label=label,
                            capsize=3)
            ax.set_xscale("log")
            ax.margins(x=0.15)
            _log_ticks(ax.xaxis)
            ax.set_xlabel(xlabel)
            ax.set_title(titles[dataset])
        row_axes[0].set_ylabel("held-out accuracy")
    _legend_below(fig, axes[0, 0].get_legend_handles_labels()[0], ncol=3)
    return fig


# ----------------------------------------------------------------------------- chapter 2's figures


def plot_edge_terms(layer: KANLinear, x: torch.Tensor, n_edges: int, *, target: str = "class", cols: int = 3,
                    width: float = 6.6) -> Figure:
    """The ``n_edges`` most important edges of ``layer`` on its inputs ``x (rows, in)``, each split into its terms.

    One panel per edge, most important first (``layer.edge_importance(x)``), ``cols`` to a row and ``width``
    inches wide: the SiLU base term, the spline term and their sum, the edge function phi, over the inputs'
    range widened to at least ``[-1.5, 1.5]``; the grid range is shaded. Panels are titled
    ``"in i → <target> o"``; one legend, above the panels, names the three curves.
    """
    top = torch.topk(layer.edge_importance(x).flatten(), n_edges).indices
    ef = layer.edge_functions(n=300, x_range=(min(float(x.min()), -1.5), max(float(x.max()), 1.5)))
    n_cols = min(cols, n_edges)
    n_rows = math.ceil(n_edges / n_cols)
    fig = Figure(figsize=(width, 1.9 * n_rows + 0.5))
    axes = fig.subplots(n_rows, n_cols, sharex=True, squeeze=False)
    for ax, flat in zip(axes.flat, top.tolist()):
        o, i = divmod(flat, layer.in_features)
        ax.plot(ef.x[i], ef.base[o, i], color="tab:blue", lw=1, label="base (SiLU)")
        ax.plot(ef.x[i], ef.spline[o, i], color="tab:orange", lw=1, label="spline")
        ax.plot(ef.x[i], ef.total[o, i], color="k", lw=1.6, label="edge φ")
        ax.axvspan(*layer.grid_range, color="0.93", zorder=0)
        ax.set_title(f"in {i} → {target} {o}")
    for ax in list(axes.flat)[n_edges:]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("input x")
    # One legend for all panels, above them: inside a panel it would hide a curve.
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return fig


def plot_grid_update(before: KANLinear, after: KANLinear, x: torch.Tensor, *, target: str = "class",
                     width: float = 6.6) -> Figure:
    """A grid update seen on the input of ``x (rows, in)`` that varies most (``before`` and ``after`` the update),
    ``width`` inches wide.

    Left: the histogram of that input's values with the knots before (blue) and after (red, dashed). Right: its
    most important edge (``before.edge_importance(x)``) before and after, over the range of ``x``.
    """
    busiest = int(x.std(0).argmax())
    o = int(before.edge_importance(x)[:, busiest].argmax())
    fig = Figure(figsize=(width, 2.9))
    ax0, ax1 = fig.subplots(1, 2)
    ax0.hist(x[:, busiest].numpy(), bins=60, color="0.6")
    for j, t in enumerate(before.grid[busiest]):
        ax0.axvline(float(t), color="tab:blue", lw=0.8, alpha=0.7, label="knots before" if j == 0 else None)
    for j, t in enumerate(after.grid[busiest]):
        ax0.axvline(float(t), color="tab:red", lw=0.8, ls="--", label="knots after" if j == 0 else None)
    ax0.set_title(f"input {busiest}: values and knots")
    ax0.set_xlabel("activation")
    ax0.set_ylabel("images")
    e_before, e_after = (m.edge_functions(n=300, x_range=(float(x.min()), float(x.max()))) for m in (before, after))
    ax1.plot(e_before.x[busiest], e_before.total[o, busiest], color="tab:blue", lw=2, label="before")
    ax1.plot(e_after.x[busiest], e_after.total[o, busiest], color="tab:red", lw=1, ls="--", label="after")
    ax1.set_title(f"edge in {busiest} → {target} {o}")
    ax1.set_xlabel("activation")
    ax1.set_ylabel("φ")
    ax1.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_layer_speed(speed, *, labels=None, width: float = 6.6) -> Figure:
    """Forward + backward time of every contender against the dense limit: one panel per dtype, stacked, sharing a
    log time axis, ``width`` inches wide.

    ``speed`` is :func:`kanmix.bench.kan.speed_table`'s frame (index: shape, dtype; an ``"<name> ms"``
    column per contender, ``"limit ms"`` among them): one bar per contender and shape, the limit a
    dashed line across each shape's bars; the legend is under the panels and names each contender as ``labels``
    (a mapping) does, else by its column's name.
    """
    from matplotlib.ticker import NullFormatter

    others = [c[:-3] for c in speed.columns if c.endswith(" ms") and c != "limit ms"]
    dtypes = speed.index.get_level_values("dtype").unique()
    n_shapes = speed.index.get_level_values(0).nunique()
    panel = 0.35 + 0.12 * len(others) * n_shapes
    fig = Figure(figsize=(width, panel * len(dtypes) + 0.7))
    axes = fig.subplots(len(dtypes), 1, squeeze=False, sharex=True)
    height = 0.8 / len(others)
    for ax, (dtype, part) in zip(axes[:, 0], speed.groupby(level="dtype", sort=False)):
        part = part.droplevel("dtype")
        for j, name in enumerate(others):
            ax.barh(np.arange(len(part)) + j * height, part[f"{name} ms"], height, label=(labels or {}).get(name, name))
        for k, limit in enumerate(part["limit ms"]):
            ax.vlines(limit, k - height / 2, k + 0.8 - height / 2, colors="k", linestyles="--",
                      label=(labels or {}).get("limit", "dense limit") if k == 0 else None)
        ax.set_yticks(np.arange(len(part)) + 0.4 - height / 2, part.index)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # labelled decades only: minor labels collide
        ax.set_title(dtype)
    axes[-1, 0].set_xlabel("forward + backward, ms (log)")
    handles, labels = axes[-1, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 5), frameon=False)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    return fig


# ----------------------------------------------------------------------------- chapter 4's figures


def plot_ae_sweep(table, baselines, datasets, *, width: float = 6.4) -> Figure:
    """Test PSNR (top) and KNN accuracy on the codes (bottom) against the latent size, one column per dataset,
    ``width`` inches wide, the legend under the panels.

    ``table`` is chapter 4's :func:`kanmix.ae.chapter_table` (one row per run, ``model`` the label
    in the legend), ``baselines`` :attr:`kanmix.studies.AutoencoderStudy.baselines`: PCA at each
    width is a dashed line, the mean-image predictor (0 components) a dotted one on the PSNR panel.
    """
    from kanmix.data import info

    fig = Figure(figsize=(width, 5.2))
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
        axes[0, c].set_title(info(dataset).title)
        axes[1, c].set_xlabel("latent size (log)")
        axes[1, c].set_xscale("log")
        _log_ticks(axes[1, c].xaxis)
    axes[0, 0].set_ylabel("test PSNR (dB)")
    axes[1, 0].set_ylabel("KNN accuracy on codes")
    _legend_below(fig, axes[0, 0].get_legend_handles_labels()[0], ncol=3)
    return fig


def plot_ae_cost(table, *, width: float = 6.4) -> Figure:
    """Test PSNR against training seconds (left) and parameters (right), log axes: one point per run, one colour
    per ``model``; ``width`` inches wide, the legend under the panels."""
    fig = Figure(figsize=(width, 3.2))
    axes = fig.subplots(1, 2, sharey=True)
    for label, rows in table.groupby("model", sort=False):
        axes[0].scatter(rows.train_seconds, rows.psnr, label=label, s=18)
        axes[1].scatter(rows.params, rows.psnr, label=label, s=18)
    for ax, xlabel in zip(axes, ("training time per run (s, log)", "parameters (log)")):
        ax.set_xscale("log")
        _log_ticks(ax.xaxis)
        ax.set_xlabel(xlabel)
    axes[0].set_ylabel("test PSNR (dB)")
    _legend_below(fig, axes[0].get_legend_handles_labels()[0], ncol=3)
    return fig


def plot_image_rows(rows, *, width: float = 6.4) -> Figure:
    """Rows of images, each labelled on its left: ``rows`` is ``[(label, images (n, C, H, W) uint8), ...]``
    (:func:`kanmix.ae.reconstruction_rows`); grey for one channel, colour for three.

    The rows are tiled into one picture per run of rows of the same image shape (a dataset's originals and
    its reconstructions), so the figure has one panel per dataset however many images it shows; ``width``
    inches wide, the labels at the book's text size.
    """
    groups: list[list] = []
    for label, images in rows:
        if not groups or groups[-1][0][1].shape[1:] != images.shape[1:]:
            groups.append([])
        groups[-1].append((label, images))
    n_cols = max(len(images) for _, images in rows)
    label_inches = 1.3
    tile = (width - label_inches) / n_cols
    fig = Figure(figsize=(width, sum(tile * len(g) + 0.1 for g in groups)))
    axes = fig.subplots(len(groups), 1, squeeze=False, height_ratios=[len(g) for g in groups])[:, 0]
    for ax, group in zip(axes, groups):
        c, h, w = group[0][1].shape[1:]
        pad = 2  # a white line between tiles
        sheet = np.full((len(group) * (h + pad) - pad, n_cols * (w + pad) - pad, c), 255, dtype=np.uint8)
        for r, (_, images) in enumerate(group):
            for k in range(len(images)):
                sheet[r * (h + pad):r * (h + pad) + h, k * (w + pad):k * (w + pad) + w] = np.transpose(images[k],
                                                                                                     (1, 2, 0))
        sheet = sheet.squeeze(-1) if c == 1 else sheet
        ax.imshow(sheet, cmap="gray" if c == 1 else None, vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([r * (h + pad) + h / 2 for r in range(len(group))], [label for label, _ in group])
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
    fig.tight_layout(pad=0.2)
    return fig


# ----------------------------------------------------------------------------- chapter 1's figure


def _bases(grid_size: int, order: int, n: int):
    """The knots ``(G + 2k + 1,)`` of a fresh one-input ``KANLinear``, ``n`` points ``x`` spanning them and the
    ``G + k`` bases there ``(n, G + k)``, as the layer itself evaluates them (:func:`kanmix.bspline.bspline_bases`)."""
    from kanmix.bspline import bspline_bases

    knots = KANLinear(1, 1, grid_size=grid_size, spline_order=order).grid  # (1, G + 2k + 1)
    x = torch.linspace(float(knots[0, 0]), float(knots[0, -1]) - 1e-6, n)
    return knots[0], x, bspline_bases(x.unsqueeze(1), knots, order)[:, 0, :]


def plot_bases(grid_sizes, orders, *, n: int = 600, width: float = 6.6) -> tuple[Figure, float]:
    """The B-spline bases of a fresh one-input ``KANLinear`` in two sweeps, ``width`` inches wide.

    Top row: each degree of ``orders`` at the middle grid size of ``grid_sizes``; bottom row: each grid size at
    the highest degree (the panel the sweeps share is drawn in both, as each row's anchor). At most 4 of each,
    so the figure keeps to 8 panels. Each panel shades the grid range [-1, 1], draws every basis and their sum
    (dashed) and marks the knots. Returns the figure and the largest deviation of that sum from one inside the
    grid range (partition of unity) over *every* pair of ``grid_sizes`` and ``orders``, drawn or not.
    """
    if max(len(grid_sizes), len(orders)) > 4:
        raise ValueError(f"plot_bases draws at most 4 grid sizes and 4 degrees, got {grid_sizes} and {orders}")
    unity_error = 0.0
    for g in grid_sizes:
        for k in orders:
            _, x, bases = _bases(g, k, n)
            inside = (x >= -1) & (x < 1)
            unity_error = max(unity_error, float((bases[inside].sum(1) - 1).abs().max()))
    g_mid, k_top = sorted(grid_sizes)[len(grid_sizes) // 2], max(orders)
    rows = [[(g_mid, k) for k in orders], [(g, k_top) for g in grid_sizes]]
    n_cols = max(map(len, rows))
    fig = Figure(figsize=(width, 2 * width / n_cols * 0.8 + 0.3))
    axes = fig.subplots(2, n_cols, sharex=True, sharey=True, squeeze=False)
    for row, pairs in zip(axes, rows):
        for ax, (g, k) in zip(row, pairs):
            knots, x, bases = _bases(g, k, n)
            ax.axvspan(-1, 1, color="0.94", zorder=0)
            ax.plot(x, bases, lw=1.2)
            ax.plot(x, bases.sum(1), color="k", lw=0.8, ls="--")
            ax.plot(knots, torch.zeros_like(knots), "|", color="k", ms=6)
            ax.set_title(f"G = {g}, k = {k}: {bases.shape[1]} bases")
        for ax in row[len(pairs):]:
            ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("$B_j(x)$")
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


# ----------------------------------------------------------------------------- what chapters 3, 4 and 6 share


def _legend_below(fig: Figure, handles, *, ncol: int) -> None:
    """One legend for the whole figure, under its panels (each handle's own label), then the panels laid out
    above it: a legend inside a panel of a column-wide figure covers the data."""
    labels = [h.get_label() for h in handles]
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
    rows = -(-len(handles) // ncol) if handles else 0
    legend_inches = 0.22 * rows + 0.1 * bool(rows)
    fig.tight_layout(rect=(0, legend_inches / fig.get_figheight(), 1, 1))


def _short_number(value: float) -> str:
    """A tick label: ``200``, ``5k``, ``1.2M``, ``3T`` (SI prefixes, at most two significant digits)."""
    for scale, suffix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(value) >= scale:
            scaled = value / scale  # 1 to 999: three digits at most, never a power of ten
            return f"{scaled:.0f}{suffix}" if abs(scaled) >= 10 else f"{scaled:.2g}{suffix}"
    return f"{value:.2g}"


def _log_ticks(axis) -> None:
    """Tick labels on a log ``axis`` that do not collide in a half-column panel: at 1, 2 and 5 times each power of
    ten over up to 1.3 decades, at 1 and 3 times over up to 2.5, at each power of ten over more, written short
    (:func:`_short_number`), and no minor labels (matplotlib labels the minor ticks of a range under a decade,
    and they run into each other). Call it after the data is drawn: the labels are chosen from the axis' range."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    lo, hi = sorted(axis.get_view_interval())
    decades = math.log10(hi / lo) if lo > 0 else math.inf
    subs = (1.0, 2.0, 5.0) if decades <= 1.3 else (1.0, 3.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _short_number(v)))
    axis.set_minor_formatter(NullFormatter())
