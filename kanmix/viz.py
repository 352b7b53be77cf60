"""Plots of KAN layers: every edge's learned function as a small curve, pykan style."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from kanmix.kan import KANLinear

__all__ = ["plot_edges"]


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
