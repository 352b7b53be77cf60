"""Chapters 1, 2 and 5 made for the page (#28): the findings each opens with (``report.kan_findings``,
``report.layer_findings``, ``report.splines_findings``), which keep to three sentences of at most two numbers and
flip when their evidence flips, and the figures drawn for the book's column (at most 6.6 inches wide, at most 8
panels, no text under 9 pt). Every input is synthetic and shaped like the real one."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.text import Text

import kanmix.kan_fast as kan_fast
from kanmix import flops, interpret, report, studies, viz
from kanmix.bench import kan as bench_kan
from kanmix.kan import KANLinear
from test_chapter_parts import _bench_records, _parity
from test_report_splines import _controls, _evidence


@pytest.fixture(autouse=True)
def eager_kernels(monkeypatch):
    monkeypatch.setattr(kan_fast._features, "compiled", None)
    monkeypatch.setattr(kan_fast._grad_input, "compiled", None)


@pytest.fixture(autouse=True)
def book_style():
    with matplotlib.rc_context(report.RC_PARAMS):  # what report.setup() gives every chapter's kernel
        yield


def numbers(sentence: str) -> list[str]:
    """The numbers a reader counts in ``sentence``: not those inside $math$ nor inside a name (bf16, float32)."""
    return re.findall(r"(?<![\w.])\d[\d,.]*", re.sub(r"\$[^$]*\$", "", sentence))


def checked(sentences: list[str], at_most: int = 3) -> list[str]:
    """``sentences`` after the rules a page's finding keeps: 1 to ``at_most`` sentences, each starting with a capital,
    ending with a full stop, with at most two numbers, true minus signs and no powers of ten."""
    assert 1 <= len(sentences) <= at_most, sentences
    for s in sentences:
        assert s[0].isupper() and s.endswith("."), s
        assert len(numbers(s)) <= 2, (numbers(s), s)
        assert not re.search(r"(?<![\w.-])-(?=\.?\d)", s) and "e-0" not in s and "× 10" not in s, s
        assert "(chapter" not in s, s  # a chapter's own finding does not point at itself
    return sentences


def for_the_page(fig, *, panels: int = 8) -> None:
    """``fig`` fits the column (at most 6.6 inches) with at most ``panels`` panels and no visible text under 9 pt."""
    assert fig.get_figwidth() <= 6.6 + 1e-9
    assert sum(ax.axison for ax in fig.axes) <= panels
    fig.draw_without_rendering()
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert min(sizes) >= 9, min(sizes)


# ----------------------------------------------------------------------------- chapter 1


def test_chapter_1_finding_states_the_cost_and_the_partition_of_unity_and_flips_with_them():
    costs = flops.layer_costs([[64, 64], [256, 256]], [3, 5], batch=4)
    cost, unity = checked(report.kan_findings(costs, 2.4e-7))
    assert "about 9.9× the parameters" in cost and "does 9.0× its matrix-multiply work, as $G + k + 1$ predicts" in cost
    assert unity.startswith("The B-spline bases every edge is built from sum to one") and "0.00000024" in unity
    off = costs.copy()
    off["FLOPs ratio"] = off["FLOPs ratio"] * 1.1  # a counter that disagrees with the formula
    cost, unity = checked(report.kan_findings(off, 0.02))
    assert "not the $G + k + 1$ of the formula" in cost and "as $G + k + 1$ predicts" not in cost
    assert unity.startswith("The B-spline bases do not sum to one") and "0.020" in unity


def test_bases_figure_draws_two_sweeps_in_at_most_8_panels_and_checks_every_pair():
    fig, error = viz.plot_bases([3, 5, 10], [1, 2, 3], n=200)
    for_the_page(fig, panels=6)
    titles = [ax.get_title() for ax in fig.axes if ax.axison]
    # Top: the degrees at the middle grid size; bottom: the grid sizes at the highest degree.
    assert titles == ["G = 5, k = 1: 6 bases", "G = 5, k = 2: 7 bases", "G = 5, k = 3: 8 bases",
                      "G = 3, k = 3: 6 bases", "G = 5, k = 3: 8 bases", "G = 10, k = 3: 13 bases"]
    assert 0 <= error < 1e-5  # a partition of unity, over all nine pairs, drawn or not
    with pytest.raises(ValueError, match="at most 4"):
        viz.plot_bases([2, 3, 4, 5, 6], [1])


# ----------------------------------------------------------------------------- chapter 2


def test_chapter_2_finding_follows_the_spline_share_the_speed_and_the_bf16_verdicts():
    speed = bench_kan.speed_table(_bench_records())
    parity = _parity()  # the KAN-Mixer equivalent at 1 point, the MLP-Mixer not
    table = studies.parity_table(parity)
    shares, cost, bf16 = checked(report.layer_findings({"trained": 0.31, "untrained": 0.017}, speed, parity, table,
                                                       margin=0.01))
    assert shares.startswith("Training moves the weight of the KAN classifier's edges toward their splines")
    assert "31% of their magnitude, against 1.7% at initialisation" in shares
    assert "at most 1.2× the time of the dense limit" in cost and "at least 3.0× as fast as the plain" in cost
    assert ("equivalent to float32 within 1.0 points of accuracy for the KAN-Mixer, but not shown to be for the "
            "MLP-Mixer") in bf16 and bf16.endswith("bf16 trains the KAN-Mixer 2.0× as fast.")
    # Reversed: the spline loses weight, the plain formulation wins somewhere, every model equivalent at a wide margin.
    slow = speed.assign(**{"reference / kanmix": speed["reference / kanmix"] / 10})
    shares, cost, bf16 = checked(report.layer_findings({"trained": 0.01, "untrained": 0.017}, slow, parity,
                                                       table.drop("KAN-Mixer"), margin=0.5))
    assert "away from their splines, toward the SiLU base" in shares
    assert "but is slower than the plain efficient-KAN formulation at some shapes (down to 0.30×)" in cost
    assert "for the KAN-Mixer and the MLP-Mixer." in bf16 and "as fast" not in bf16
    same = report.layer_findings({"trained": 0.1, "untrained": 0.1}, speed, parity, table, margin=0.0001)
    assert same[0].startswith("Training leaves the KAN classifier's edges as they were")
    assert "is not shown to be equivalent to float32" in same[2] and "the KAN-Mixer and the MLP-Mixer" in same[2]


def test_chapter_2_figures_fit_the_column():
    torch.manual_seed(0)
    layer, x = KANLinear(6, 4), 0.7 * torch.randn(300, 6)
    for_the_page(viz.plot_edge_terms(layer, x, 6), panels=6)
    from kanmix import grids

    after, _, _ = grids.grid_update_effect(layer, x)
    for_the_page(viz.plot_grid_update(layer, after, x), panels=2)
    speed = bench_kan.speed_table(_bench_records(flashkan=True))
    for_the_page(viz.plot_layer_speed(speed, labels=report.CONTENDERS), panels=2)
    headers = {report.column_label(c, report.SPEED_NAMES, report.SPEED_UNITS) for c in speed.columns}
    assert {"KANLinear (ms)", "plain (ms)", "limit (ms)", "KANLinear / limit", "memory (KiB/row)"} <= headers


# ----------------------------------------------------------------------------- chapter 5


def test_chapter_5_finding_reuses_the_findings_pages_sentence_and_adds_forms_and_pruning():
    ev = _evidence()  # trained edges further from SiLU; 1 of 4 fitted top edges beyond an MLP's shape; pruning safe
    inside = report.inside_finding(ev)
    shape, forms, pruning = checked(report.splines_findings(ev))
    assert inside.endswith(" (chapter 5).") and shape == inside[:-len(" (chapter 5).")] + "."
    assert forms == ("Of the 4 top trained edges fitted to a library of closed forms, only 1 has one that an MLP "
                     "edge's shape would not fit as well.")
    assert pruning == ("Pruned by importance and fine-tuned, the KAN-Mixer keeps its test accuracy, within noise, "
                       "with 25% of its edges.")
    beaten = _evidence()
    beaten.controls = _controls(random_tuned=0.70, mlp_tuned=0.80)
    assert report.splines_findings(beaten)[-1].endswith(", and importance keeps better edges than a random order does.")


def test_chapter_5_finding_flips_with_the_evidence():
    ev = _evidence(trained_higher=False, pruning_ok=False)
    ev.symbolic = {"trained": ev.symbolic["trained"].assign(r2_x=0.1, r2_silu=0.1)}  # every good fit beyond an MLP's
    ev.controls = _controls(random_tuned=0.90, mlp_tuned=0.95)
    shape, forms, pruning = checked(report.splines_findings(ev))
    assert "closer to the SiLU shape" in shape
    assert forms.startswith("Of the 4 top trained edges") and ", 3 have one" in forms and "only" not in forms
    assert pruning.startswith("Pruning costs the KAN-Mixer accuracy: with 25% of its edges kept by importance")
    assert "it loses 29.5 points of test accuracy, beyond noise" in pruning
    assert pruning.endswith("and importance keeps no better edges than a random order does.")
    none = _evidence()
    none.symbolic = {"trained": none.symbolic["trained"].assign(r2=0.5)}
    assert ", none has one that an MLP edge's shape" in report.splines_findings(none)[1]
    bare = _evidence()
    bare.symbolic, bare.pruning = {}, None
    assert len(checked(report.splines_findings(bare))) == 1  # what the evidence lacks is left out
    at_chance = _evidence()
    at_chance.chance = 0.9
    assert not any("prun" in s.lower() for s in report.splines_findings(at_chance))


def test_chapter_5_finding_puts_the_linearizing_test_before_the_closed_forms():
    from test_report_splines import _linear_records

    ev = _evidence()
    ev.linearized = _linear_records("all", [0.89, 0.888, 0.89], [0.55, 0.56, 0.59], [0.83, 0.835, 0.838])
    shape, linear, pruning = checked(report.splines_findings(ev))
    assert linear == report.linear_finding(ev)[:-len(" (chapter 5).")] + "."
    assert "closed forms" not in " ".join([shape, linear, pruning]) and pruning.startswith("Pruned by importance")


def test_layer_labels_name_the_mixer_layers_by_block_and_kind_and_the_autoencoders_by_module():
    from types import SimpleNamespace

    layers = [("KAN-Mixer", f"blocks.{b}.{kind}_mix.{i}") for b in (0, 1) for kind in ("token", "channel")
              for i in (0, 2)] + [("KAN AE", "encoder.0"), ("KAN AE", "decoder.2")]
    edges = pd.DataFrame([{"model": m, "layer": layer, "state": st} for m, layer in layers for st in ("trained", "init")])
    labels = studies.layer_labels(SimpleNamespace(edges=edges))
    assert list(labels) == layers  # in the edges' order, each once
    assert list(labels.values())[:4] == ["block 0, token 1", "block 0, token 2", "block 0, channel 1",
                                         "block 0, channel 2"]  # the j-th KAN layer, whatever its module index
    assert list(labels.values())[-2:] == ["AE encoder.0", "AE decoder.2"]


def _edges() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"model": m, "layer": layer, "state": state, "spline_share": v, "deviation": v / 10}
            for m, layer in (("KAN-Mixer", "blocks.0.token_mix.0"), ("KAN AE", "encoder.0"))
            for state, scale in (("trained", 0.3), ("init", 0.01)) for v in scale * rng.random(50)]
    return pd.DataFrame(rows)


def test_chapter_5_figures_fit_the_column_with_at_most_8_panels():
    edges = _edges()
    fig = viz.plot_edge_measures(edges, ["spline_share", "deviation"],
                                 labels={("KAN-Mixer", "blocks.0.token_mix.0"): "mixer token 0",
                                         ("KAN AE", "encoder.0"): "AE encoder 0"},
                                 xlabels={"spline_share": "spline share", "deviation": "deviation"},
                                 states={"trained": "tab:purple", "init": "0.4"})
    for_the_page(fig, panels=2)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mixer token 0", "AE encoder 0"]
    medians = [line.get_xdata()[0] for line in ax.lines if line.get_marker() == "o"]
    part = edges[(edges.model == "KAN-Mixer") & (edges.state == "trained")]
    assert medians[0] == pytest.approx(part.spline_share.median())  # the first layer's trained median, drawn first
    maps = {"KAN-Mixer, trained": torch.rand(16, 4, 4), "KAN-Mixer, init": torch.rand(16, 4, 4),
            "MLP-Mixer, trained": torch.rand(16, 4, 4)}
    for_the_page(viz.plot_token_maps(maps, 5), panels=7)  # 6 maps and the colour bar
    for_the_page(viz.plot_pixel_maps({"trained": torch.rand(28, 28), "init": torch.rand(28, 28)}, label="importance"),
                 panels=3)
    pruning = pd.DataFrame([{"seed": s, "keep": k, "accuracy_unpruned": 0.9, "accuracy_pruned": 0.5 + k / 3,
                             "accuracy_finetuned": 0.8 + k / 10} for s in range(2) for k in (1.0, 0.5, 0.2, 0.1)])
    fig = viz.plot_pruning(pruning, _controls(0.7, 0.8), colours={interpret.RANDOM: "tab:orange",
                                                                  interpret.MAGNITUDE: "tab:green"})
    for_the_page(fig, panels=1)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.1", "0.2", "0.5", "1"]
    torch.manual_seed(0)
    layer, x = KANLinear(6, 4), 0.5 * torch.randn(100, 6)
    rows = [("trained", layer, x, (-1.0, 1.0), "tab:purple"), ("init", KANLinear(6, 4), x, (-1.0, 1.0), "0.35")]
    for_the_page(viz.plot_edge_rows(rows, top_k=4), panels=8)


def test_chapter_5_conclusion_can_fold_its_measure_by_measure_bullets_under_its_summary():
    plain = report.conclude_interpretability(_evidence())
    folded = report.conclude_interpretability(_evidence(), fold="Measure by measure")
    summary, bullets = plain.split("\n\n", 1)
    assert folded == f"{summary}\n\n````{{dropdown}} Measure by measure\n{bullets}\n````"
