"""Plots of KAN layers: every edge's learned function as a small curve, pykan style."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from kanmix.kan import KANLinear

__all__ = ["family_colours", "plot_edges", "plot_frontier"]


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
