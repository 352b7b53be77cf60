"""kanmix.interpret: every measure on layers and curves whose answer is known; evidence that compares only beyond
noise; the package's modules as a one-way chain. Its sentences are tested in test_report_splines.py."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from kanmix import interpret, report, runner
from kanmix.interpret import pruning
from kanmix.experiment import ClassificationRun
from kanmix.bspline import bspline_bases
from kanmix.kan import KANLinear
from kanmix.models import build_model


def _spline_layer(fn, n_in: int = 3, n_out: int = 2) -> KANLinear:
    """A KANLinear whose every edge is ``fn`` on ``[-1, 1]``: no base, splines least-squares fitted to it."""
    layer = KANLinear(n_in, n_out)
    xs = torch.linspace(-1, 1, 400, dtype=torch.float64)
    bases = bspline_bases(xs.unsqueeze(1), layer.grid.double()[:1], layer.spline_order)[:, 0]  # (400, G + k)
    coef = torch.linalg.lstsq(bases, fn(xs).unsqueeze(1)).solution.squeeze(1).float()
    with torch.no_grad():
        layer.base_weight.zero_()
        layer.spline_scaler.fill_(1.0)
        layer.spline_weight.copy_(coef.expand(n_out, n_in, -1))
    return layer


def _curves(ys: list[torch.Tensor], n: int = 200) -> interpret.EdgeSample:
    """An EdgeSample of one input on ``[-1, 1]`` with the given edge functions ``(n,)`` as outputs, uniform weights."""
    x = torch.linspace(-1, 1, n, dtype=torch.float64).unsqueeze(0)
    total = torch.stack([y(x[0]) for y in ys]).unsqueeze(1)  # (out, 1, n)
    return interpret.EdgeSample(x, torch.full_like(x, 1 / n), total, torch.zeros_like(total), total,
                                torch.zeros(1, dtype=torch.bool))


def test_an_x_squared_layer_is_fitted_as_x_squared():
    layer = _spline_layer(lambda v: v * v)
    s = interpret.sample_edges(layer, torch.rand(5000, 3) * 2 - 1)
    fits = interpret.symbolic_fits(s)
    assert (fits.best == "x^2").all() and (fits.r2 > 0.9999).all()
    assert (fits.r2_x < 0.01).all()  # a parabola centred in its range has no straight-line part
    assert torch.allclose(interpret.spline_share(s), torch.ones(2, 3, dtype=torch.float64))
    assert (interpret.silu_deviation(s) > 0.5).all()  # far from any a + b SiLU(x)
    shape = interpret.shape_stats(s)
    assert (shape["extrema"] == 1).all() and (shape["monotone"] == 0).all()
    assert torch.allclose(shape["curvature"], torch.full((2, 3), 8.0, dtype=torch.float64), atol=0.1)


def test_a_pure_silu_layer_has_no_spline_share_and_no_deviation():
    torch.manual_seed(0)
    layer = KANLinear(4, 3)
    with torch.no_grad():
        layer.spline_scaler.zero_()
    s = interpret.sample_edges(layer, torch.randn(3000, 4))
    assert torch.equal(interpret.spline_share(s), torch.zeros(3, 4, dtype=torch.float64))
    assert interpret.silu_deviation(s).abs().max() < 1e-9
    fits = interpret.symbolic_fits(s)
    assert (fits.best == "silu").all() and (fits.r2 > 1 - 1e-9).all()


def test_a_spline_only_layer_is_all_spline_and_an_init_layer_mostly_silu():
    s = interpret.sample_edges(_spline_layer(torch.sin), torch.rand(1000, 3) * 2 - 1)
    assert torch.allclose(interpret.spline_share(s), torch.ones(2, 3, dtype=torch.float64))
    torch.manual_seed(0)
    init = interpret.sample_edges(KANLinear(8, 8), torch.randn(2000, 8))
    assert interpret.spline_share(init).median() < 0.2  # efficient-KAN's init: small spline noise on a SiLU


@pytest.mark.parametrize("fn, extrema", [
    (lambda x: x, 0),
    (lambda x: -x ** 3, 0),
    (lambda x: x + 0.01 * torch.sin(40 * x), 0),  # ripple below TOL of the range is not an extremum
    (lambda x: torch.sin(2 * math.pi * x), 4),  # two periods: extrema at -3/4, -1/4, 1/4, 3/4
    (lambda x: torch.cos(3 * math.pi * x), 5),  # at -2/3, -1/3, 0, 1/3, 2/3
    (lambda x: x * x, 1),
])
def test_extrema_and_monotone_count_significant_reversals(fn, extrema):
    shape = interpret.shape_stats(_curves([fn]))
    assert shape["extrema"].item() == extrema
    assert shape["monotone"].item() == float(extrema == 0)


def test_curvature_is_zero_for_a_line_and_scale_free():
    shape = interpret.shape_stats(_curves([lambda x: 3 * x - 1, lambda x: x * x, lambda x: 100 * x * x + 7]))
    c = shape["curvature"].flatten()
    assert c[0].abs() < 1e-9 and torch.allclose(c[1], c[2]) and abs(c[1].item() - 8) < 0.1


@pytest.mark.parametrize("fn, form", [
    (lambda u: 2 * torch.sin(2 * math.pi * u + math.pi / 4) + 1, "sin"),
    (lambda u: torch.tanh(8 * (u + 0.25)), "tanh"),
    (lambda u: torch.exp(-(4 * (u - 0.5)) ** 2), "gaussian"),
    (lambda u: (u - 0.5).abs(), "|x|"),
    (lambda u: (u + 0.25) ** 3, "x^3"),
    (lambda u: torch.exp(-2 * u), "exp"),
    (lambda u: 5 - 2 * u, "x"),
])
def test_symbolic_fits_find_the_form_of_the_library(fn, form):
    fits = interpret.symbolic_fits(_curves([fn]))
    assert fits.best.iloc[0] == form and fits.r2.iloc[0] > 0.9999, fits.iloc[0].to_dict()


def test_measures_are_weighted_by_the_data_and_constant_inputs_drop_out():
    layer = KANLinear(2, 1)
    x = torch.stack([torch.cat([torch.rand(900) * 0.1, torch.rand(100) * 0.9 + 0.1]), torch.full((1000,), 0.3)], 1)
    s = interpret.sample_edges(layer, x, coverage=1.0)
    assert torch.allclose(s.weight.sum(1), torch.ones(2, dtype=torch.float64))
    assert s.x[0].min() >= 0 and s.x[0].max() <= 1
    low = s.x[0] <= 0.1 + 1 / 127
    assert abs(s.weight[0][low].sum().item() - 0.9) < 0.02  # nine tenths of the inputs lie in [0, 0.1]
    assert s.constant.tolist() == [False, True]
    assert math.isnan(interpret.silu_deviation(s)[0, 1]) and math.isnan(interpret.shape_stats(s)["extrema"][0, 1])
    fits = interpret.symbolic_fits(s)
    assert pd.isna(fits.best.iloc[1]) and math.isnan(fits.r2.iloc[1])


def test_edge_table_has_one_row_per_edge_of_every_kan_layer():
    torch.manual_seed(0)
    model = build_model("kan_mixer", in_shape=(1, 16, 16), patch=8, dim=4, depth=1, token_hidden=3, channel_hidden=5)
    table = interpret.edge_table(model, torch.rand(6, 1, 16, 16) * 2 - 1)
    sizes = table.groupby("layer", sort=False).size()
    assert sizes.to_dict() == {"blocks.0.token_mix.0": 12, "blocks.0.token_mix.1": 12,
                               "blocks.0.channel_mix.0": 20, "blocks.0.channel_mix.1": 20}
    assert table.spline_share.between(0, 1).all() and (table.importance >= 0).all()


def _diagonal_token_mixer(kind: str, side: int = 4, patch: int = 4):
    """A mixer whose token mixing maps token j to hidden unit j to token j, and nothing else."""
    model = build_model(kind, in_shape=(1, side * patch, side * patch), patch=patch, dim=6, depth=1,
                        token_hidden=side * side, channel_hidden=4)
    eye = torch.eye(side * side)
    with torch.no_grad():
        for layer in (model.blocks[0].token_mix[0], model.blocks[0].token_mix[-1]):
            if kind == "kan_mixer":
                layer.base_weight.copy_(eye)
                layer.spline_scaler.copy_(eye)
            else:
                layer.weight.copy_(eye * torch.randn(side * side).abs().add(0.5))
    return model


@pytest.mark.parametrize("kind", ["kan_mixer", "mlp_mixer"])
def test_token_maps_of_a_diagonal_token_mixer_read_only_their_own_patch(kind):
    torch.manual_seed(0)
    model = _diagonal_token_mixer(kind)
    maps = interpret.token_maps(model, torch.rand(8, 1, 16, 16) * 2 - 1)
    assert maps.shape == (16, 4, 4)
    assert torch.allclose(maps.flatten(1), torch.eye(16), atol=1e-6)
    assert torch.allclose(interpret.locality(maps), torch.zeros(16))
    assert interpret.top_share(maps, 1 / 16) == pytest.approx(1.0)


def test_locality_top_share_and_rank_agreement_on_known_maps():
    uniform = torch.full((9, 3, 3), 1 / 9)
    assert torch.allclose(interpret.locality(uniform), torch.ones(9))
    assert interpret.top_share(torch.ones(100), 0.1) == pytest.approx(0.1)
    a = torch.arange(12.0)
    assert interpret.rank_agreement([a, a * 3 + 1, -a]) == pytest.approx([1.0, -1.0, -1.0])
    with pytest.raises(ValueError, match="one shape"):
        interpret.rank_agreement([a, a[:5]])


def test_keep_masks_keep_the_most_important_fraction_of_each_layer():
    imp = {"a": torch.tensor([[0.1, 0.9], [0.5, 0.3]]), "b": torch.arange(10.0).view(2, 5)}
    masks = interpret.keep_masks(imp, 0.5)
    assert masks["a"].tolist() == [[False, True], [True, False]]
    assert masks["b"].sum() == 5 and masks["b"][1].all()
    assert interpret.keep_masks(imp, 0.01)["a"].sum() == 1  # never a layer without edges
    with pytest.raises(ValueError, match="keep"):
        interpret.keep_masks(imp, 0.0)


def test_masked_edges_stay_exactly_zero_through_fine_tuning(synthetic):
    from kanmix.train import fit

    torch.manual_seed(0)
    model = build_model("kan_mixer", in_shape=(1, 16, 16), patch=8, dim=8, depth=1, token_hidden=4, channel_hidden=8)
    images, labels = synthetic(64, (1, 16, 16))
    probe = images.float() / 127.5 - 1
    masks = interpret.keep_masks(interpret.edge_importances(model, probe), 0.3)
    interpret.mask_edges(model, masks)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    fit(model, images, labels, {"epochs": 2, "batch_size": 16, "lr": 1e-2, "precision": "fp32", "progress": False})
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters())  # it did train
    after = interpret.edge_importances(model, probe)
    for name, keep in masks.items():
        assert (after[name][~keep] == 0).all(), name
        assert (after[name][keep] > 0).all(), name


def test_prune_runs_are_records_naming_their_base_and_keep_masked_edges_zero(store, training_calls, monkeypatch):
    from kanmix import results

    cfg = ClassificationRun.from_dict({"dataset": "fashion_mnist", "size": 32, "subset": 200, "model": "kan_mixer",
                                       "model_kwargs": {"patch": 8, "dim": 8, "depth": 1, "token_hidden": 4,
                                                        "channel_hidden": 8},
                                       "train": {"epochs": 1, "batch_size": 50, "precision": "fp32",
                                                 "progress": False}})
    runner.record(cfg, keep_weights=True)
    kw = dict(n_importance=64, n_eval=200, steps=3, finetune={"batch_size": 32})
    importance_calls = []
    real = interpret.edge_importances
    monkeypatch.setattr(pruning, "edge_importances", lambda *a: importance_calls.append(1) or real(*a))
    full, quarter = interpret.prune_runs(cfg, [1.0, 0.25], **kw)
    assert len(importance_calls) == 1  # importance is computed once for all kept fractions
    assert quarter["config"]["base"] == results.run_hash(cfg.to_dict()) and quarter["config"]["keep"] == 0.25
    assert quarter["config"]["steps"] == 3 and quarter["config"]["train"]["batch_size"] == 32
    assert quarter["masked_nonzero"] == 0 and quarter["n_eval"] == 200
    assert quarter["edges_kept"] == pytest.approx(0.25 * quarter["edges"], abs=4)
    assert full["edges_kept"] == full["edges"] and full["accuracy_pruned"] == full["accuracy_unpruned"]
    assert quarter["accuracy_unpruned"] == full["accuracy_unpruned"]
    assert all(0 <= quarter[k] <= 1 for k in ("accuracy_unpruned", "accuracy_pruned", "accuracy_finetuned"))
    trained = len(training_calls)
    assert interpret.prune_runs(cfg, [0.25], **kw) == [quarter]  # read back: nothing trains or is measured
    assert len(training_calls) == trained and len(importance_calls) == 1
    unknown = ClassificationRun.from_dict({**cfg.to_dict(), "seed": 5})
    with pytest.raises(ValueError, match="kept no weights"):
        interpret.prune_runs(unknown, [0.5], n_importance=8, n_eval=20, steps=1)


def test_importance_of_a_linear_layer_is_its_edges_mean_absolute_output():
    torch.manual_seed(0)
    lin, x = torch.nn.Linear(3, 2), torch.randn(50, 3)
    oracle = (lin.weight.detach()[:, None, :] * x[None]).abs().mean(1).double()  # (out, rows, in) -> (out, in)
    assert torch.allclose(interpret.importance(lin, x), oracle)
    with pytest.raises(ValueError, match="at least one"):
        interpret.importance(lin, torch.empty(0, 3))


def test_kept_parameters_by_hand_for_both_families():
    kan = build_model("kan_mixer", in_shape=(1, 16, 16), patch=8, dim=4, depth=1, token_hidden=3, channel_hidden=5)
    mlp = build_model("mlp_mixer", in_shape=(1, 16, 16), patch=8, dim=4, depth=1, token_hidden=3, channel_hidden=5)
    total = {m: sum(p.numel() for p in m.parameters()) for m in (kan, mlp)}
    per_edge = 2 + kan.blocks[0].token_mix[0].grid_size + kan.blocks[0].token_mix[0].spline_order
    # Edges per layer: token 4->3 and 3->4 (12 each), channel 4->5 and 5->4 (20 each); half kept is 6, 6, 10, 10.
    assert interpret.kept_parameters(kan, 1.0) == total[kan]
    assert interpret.kept_parameters(kan, 0.5) == total[kan] - (6 + 6 + 10 + 10) * per_edge
    assert interpret.kept_parameters(mlp, 0.5) == total[mlp] - (6 + 6 + 10 + 10)
    assert set(interpret.prunable_layers(mlp)) == {"blocks.0.token_mix.0", "blocks.0.token_mix.2",
                                                   "blocks.0.channel_mix.0", "blocks.0.channel_mix.2"}
    keep = interpret.keep_for_parameters(mlp, total[mlp] - 32)
    assert keep == pytest.approx(0.5) and interpret.kept_parameters(mlp, keep) == total[mlp] - 32
    with pytest.raises(ValueError, match="out of reach"):
        interpret.keep_for_parameters(mlp, total[mlp] + 1)


def test_random_and_magnitude_pruning_are_named_controls_with_masked_edges_zero(store):
    from kanmix import results

    shape = {"patch": 8, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8}
    train = {"epochs": 1, "batch_size": 50, "precision": "fp32", "progress": False}
    kw = dict(n_importance=64, n_eval=200, steps=2, finetune={"batch_size": 32})
    runs = {m: ClassificationRun.from_dict({"dataset": "fashion_mnist", "size": 32, "subset": 200, "model": m,
                                            "model_kwargs": shape, "train": train}) for m in ("kan_mixer", "mlp_mixer")}
    for cfg in runs.values():
        runner.record(cfg, keep_weights=True)
    (claim,) = interpret.prune_runs(runs["kan_mixer"], [0.25], **kw)
    (chance,) = interpret.prune_runs(runs["kan_mixer"], [0.25], ranking="random", **kw)
    (mlp,) = interpret.prune_runs(runs["mlp_mixer"], [0.25], ranking="magnitude", **kw)
    assert "ranking" not in claim["config"]  # the claim's records keep the hashes they had before the controls
    assert chance["config"]["ranking"] == "random" and mlp["config"]["ranking"] == "magnitude"
    assert chance["hash"] != claim["hash"] and chance["edges_kept"] == claim["edges_kept"]
    assert chance["masked_nonzero"] == 0 and mlp["masked_nonzero"] == 0
    model = runner.load_trained(runs["mlp_mixer"])
    assert mlp["parameters_kept"] == interpret.kept_parameters(model, 0.25)
    assert mlp["config"]["base"] == results.run_hash(runs["mlp_mixer"].to_dict())
    with pytest.raises(ValueError, match="ranking"):
        interpret.prune_runs(runs["kan_mixer"], [0.5], ranking="largest", **kw)


def test_compare_claims_a_difference_only_beyond_noise():
    clear = interpret.compare([0.90, 0.91, 0.905], [0.80, 0.81, 0.805])
    assert clear.sign == 1 and clear.diff == pytest.approx(0.1)
    assert interpret.compare([0.80, 0.81, 0.805], [0.90, 0.91, 0.905]).sign == -1
    assert interpret.compare([0.50, 0.52, 0.48], [0.51, 0.49, 0.50]).sign == 0
    assert interpret.compare([0.5], [0.6]).sign is None  # no noise estimate
    # With an evaluation-set size, binomial noise: 0.5 vs 0.6 differs on 10,000 images, not on 20.
    assert interpret.compare([0.5], [0.6], n=10_000).sign == -1
    assert interpret.compare([0.5], [0.6], n=20).sign == 0
    # Paired per-seed values: a consistent drop is a drop even when the seeds themselves differ a lot.
    before, after = [0.70, 0.90, 0.80], [0.68, 0.881, 0.779]
    assert interpret.compare(after, before, paired=True).sign == -1
    assert interpret.compare(after, before).sign == 0


def test_symbolic_top_and_evidence_from_real_tables():
    torch.manual_seed(0)
    kw = dict(in_shape=(1, 16, 16), patch=4, dim=4, depth=1, token_hidden=5, channel_hidden=3)
    images = torch.rand(6, 1, 16, 16) * 2 - 1
    models = {s: build_model("kan_mixer", **kw) for s in range(2)}
    tables = {s: interpret.edge_table(m, images) for s, m in models.items()}
    top = interpret.symbolic_top(models[0], images, tables[0], 2)
    per_layer = top.groupby("layer").size()
    assert len(per_layer) == 4 and per_layer.between(2, 4).all()
    assert set(top.why) <= {"important", "non-SiLU"} and top.best.notna().all()
    first = top[top.layer == "blocks.0.token_mix.0"]
    imp = tables[0][tables[0].layer == "blocks.0.token_mix.0"].importance
    assert sorted(first[first.why == "important"].importance) == sorted(imp.nlargest(2))
    edges = pd.concat([t.assign(state=state, seed=s) for s, t in tables.items() for state in ("trained", "init")])
    maps = {"trained": [interpret.token_maps(m, images) for m in models.values()]}
    maps["init"] = maps["trained"]
    ev = interpret.evidence(edges, maps)
    assert ev.spline_share["trained"] == ev.spline_share["init"] and len(ev.spline_share["trained"]) == 2
    assert ev.stability["trained"] == pytest.approx([interpret.rank_agreement(maps["trained"])[0]])
    assert all(0 < v < 1 for v in ev.concentration["trained"])
    assert "amounts to nothing" in report.conclude_interpretability(ev)  # identical sides: no difference


def test_summarize_takes_concentration_within_each_layer():
    rows = pd.DataFrame({"layer": ["a"] * 10 + ["b"] * 10, "importance": [1.0] * 10 + [0.0] * 9 + [1000.0],
                         "spline_share": 0.5, "deviation": [0.001] * 15 + [0.5] * 4 + [math.nan],
                         "monotone": [1.0] * 19 + [math.nan], "extrema": 0.0, "curvature": 1.0})
    got = interpret.summarize(rows)
    assert got.concentration == pytest.approx((0.1 + 1.0) / 2)  # not dominated by layer b's scale
    assert got.silu_like == pytest.approx(15 / 19) and got.monotone == 1.0 and got.spline_share == 0.5


def test_the_modules_form_a_one_way_chain():
    """Each module of the package imports only the modules before it: edges, symbolic, maps, pruning, evidence."""
    order = ["edges", "symbolic", "maps", "pruning", "evidence"]
    folder = Path(interpret.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted(["__init__", *order])
    for k, name in enumerate(order):
        tree = ast.parse((folder / f"{name}.py").read_text())
        used = {node.module.split(".")[2] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                and node.module and node.module.startswith("kanmix.interpret.")}
        used |= {alias.name.split(".")[2] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names if alias.name.startswith("kanmix.interpret.")}
        assert used <= set(order[:k]), f"{name} imports {sorted(used - set(order[:k]))}, which come after it"
        assert "kanmix import interpret" not in (folder / f"{name}.py").read_text(), name
