"""kanmix.viz.plot_edges and plot_edge_rows draw the right edges, in importance order."""

from __future__ import annotations

import pytest
import torch
from matplotlib.figure import Figure

import kanmix.kan_fast as kan_fast
from kanmix.kan import KANLinear
from kanmix.viz import plot_edge_rows, plot_edges


@pytest.fixture(autouse=True)
def eager_kernels(monkeypatch):
    monkeypatch.setattr(kan_fast._features, "compiled", None)
    monkeypatch.setattr(kan_fast._grad_input, "compiled", None)


def _drawn_axes(fig: Figure):
    return [ax for ax in fig.axes if ax.axison]


def test_small_layer_draws_every_edge_sorted_by_importance():
    torch.manual_seed(0)
    layer = KANLinear(3, 2)
    x = 0.5 * torch.randn(100, 3)
    fig = plot_edges(layer, x, parts=True, n=50)
    assert isinstance(fig, Figure)
    axes = _drawn_axes(fig)
    assert len(axes) == 6
    imp = layer.edge_importance(x)
    shown = [float(ax.get_title().split()[-1]) for ax in axes]  # titled "i→o, |φ| importance"
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == pytest.approx(float(imp.max()), rel=0.05)  # two significant digits
    assert len(axes[0].lines) == 3  # total, base, spline
    # The drawn curve is the edge function itself.
    src, dst = map(int, axes[0].get_title().split(",")[0].split("\u2192"))
    ef = layer.edge_functions(n=50)
    line = axes[0].lines[0]
    torch.testing.assert_close(torch.as_tensor(line.get_ydata()), ef.total[dst, src].float())


def test_large_layer_shows_top_k():
    torch.manual_seed(0)
    layer = KANLinear(40, 30)
    fig = plot_edges(layer, top_k=12, fade=False)
    assert len(_drawn_axes(fig)) == 12
    assert "top 12 of 1200 edges" in fig._suptitle.get_text()


def test_rejects_non_kan_layer():
    with pytest.raises(TypeError, match="KANLinear"):
        plot_edges(torch.nn.Linear(2, 2))


def test_edge_rows_draw_each_layers_own_top_edges_in_a_row_labelled_on_its_left():
    torch.manual_seed(0)
    trained, untrained = KANLinear(5, 3), KANLinear(5, 3)
    x = 0.5 * torch.randn(100, 5)
    fig = plot_edge_rows([("trained", trained, x, (-1.0, 1.0), "k"), ("init", untrained, x, (-1.0, 1.0), "0.4")],
                         top_k=4)
    rows = [fig.axes[:4], fig.axes[4:]]
    assert len(fig.axes) == 8 and [r[0].get_ylabel() for r in rows] == ["trained", "init"]
    for row, layer in zip(rows, (trained, untrained)):
        order = layer.edge_importance(x).flatten().argsort(descending=True)[:4].tolist()
        titles = [tuple(map(int, ax.get_title().split(",")[0].split("\u2192"))) for ax in row]
        assert titles == [(i, o) for o, i in (divmod(f, 5) for f in order)]  # each row ranks its own layer's edges
        assert all(len(ax.lines) == 3 for ax in row)  # total, base and spline
    assert fig.get_figwidth() == pytest.approx(6.6)
