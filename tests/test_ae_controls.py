"""Chapter 4's controls (issue 26): the authors' single-layer KAN autoencoder, parameter matching, the plan's
equal latent sizes, seeds, converged and paper-width arms (existing configs unchanged), a campaign read while
under way, the matched comparisons and the sentences they feed, each fed reversed or null evidence."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from kanmix import ae, models, report, results, studies
from kanmix.kan import KANLinear
from kanmix.splits import Split
from kanmix.studies._autoencoders import autoencoders_plan, baseline_plan

# ----------------------------------------------------------------------------- the models


def test_the_authors_code_variant_is_one_kan_layer_per_side():
    torch.manual_seed(0)
    net = models.build_model("kan_single_ae", in_shape=(1, 28, 28), bottleneck=5)
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert net.encode(x).shape == (3, 5) and net.decode(net.encode(x)).shape == (3, 1, 28, 28)
    assert net(x).shape == x.shape
    layers = [m for m in net.modules() if not list(m.children())]
    assert [type(m) for m in layers] == [KANLinear, KANLinear]  # no ReLU, no dense layer
    g, k = 5, 3
    assert models.count_parameters(net) == 2 * 784 * 5 * (g + k + 2)
    assert models.model_arguments("kan_single_ae")[0] == "bottleneck" and "hidden" not in \
        models.model_arguments("kan_single_ae")
    assert ae.model_name("kan1") == "kan_single_ae"


def test_parameter_count_builds_nothing_and_agrees_with_a_real_build():
    for name, kwargs, shape in (("kan_ae", {"hidden": 16, "bottleneck": 4}, (1, 28, 28)),
                                ("kan_single_ae", {"bottleneck": 6}, (3, 32, 32)),
                                ("mlp_ae", {"hidden": 12, "bottleneck": 4}, (1, 28, 28)),
                                ("cnn_ae", {"bottleneck": 18}, (1, 28, 28))):
        real = models.count_parameters(models.build_model(name, in_shape=shape, **kwargs))
        assert models.parameter_count(name, in_shape=shape, **kwargs) == real
    assert KANLinear.reset_parameters.__name__ == "reset_parameters"  # restored after the meta build


@pytest.mark.parametrize("shape, hidden, bottleneck", [((1, 28, 28), 256, 150), ((1, 28, 28), 16, 9),
                                                       ((3, 32, 32), 512, 500), ((3, 32, 32), 128, 16)])
def test_the_matched_mlp_has_the_kan_autoencoders_parameters_within_10_percent(shape, hidden, bottleneck):
    split = Split(dataset="mnist" if shape[0] == 1 else "cifar10")
    kan = models.parameter_count("kan_ae", in_shape=shape, hidden=hidden, bottleneck=bottleneck)
    width = ae.matched_mlp_hidden(split, hidden, bottleneck)

    def mlp(h: int) -> int:
        return models.parameter_count("mlp_ae", in_shape=shape, hidden=h, bottleneck=bottleneck)

    assert abs(mlp(width) - kan) <= 0.1 * kan
    assert abs(mlp(width) - kan) <= min(abs(mlp(width - 1) - kan), abs(mlp(width + 1) - kan))  # the nearest width
    assert width > hidden  # a KAN edge holds G + k + 2 = 10 weights


def test_the_widened_cnn_keeps_its_latent_and_matches_the_kan_autoencoder():
    split = Split(dataset="mnist")
    target = models.parameter_count("kan_ae", in_shape=(1, 28, 28), hidden=64, bottleneck=36)
    kwargs = ae.widened_cnn(split, 36, target)
    net = models.build_model("cnn_ae", in_shape=(1, 28, 28), bottleneck=36, **kwargs)
    assert net.bottleneck == 36 and abs(models.count_parameters(net) - target) <= 0.1 * target
    assert kwargs["channels"][0] > 8  # wider than the authors' 8 channels


# ----------------------------------------------------------------------------- the plan

#: Chapter 4's cpu profile before the controls: its 28 records must keep their hashes.
CPU = dict(datasets=["mnist", "cifar10"], models=["kan", "mlp", "cnn"],
           bottlenecks={"mnist": [2, 10, 32, 150, 256], "cifar10": [5, 16, 50, 128, 500]},
           hidden={"mnist": 256, "cifar10": 128}, train={"epochs": 10, "precision": "bf16"}, subset=None,
           test_subset="all", keep_weights=[("kan", "mnist", 150)])
CONTROLS = dict(equal_latents=True, seeds=[0, 1, 2], seed_widths={"mnist": 9, "cifar10": 16},
                paper_widths={"mnist": 150, "cifar10": 500}, paper_hidden={"cifar10": 512},
                paper_width_subset={"cifar10": 10000}, converged_epochs=30, matched_mlp=True, authors_variant=True)


def _old_plan(kw: dict) -> list:
    """The configs chapter 4 built before the controls, the way it built them."""
    out = []
    for dataset in kw["datasets"]:
        split = Split(dataset=dataset, subset=kw["subset"], test_subset=kw["test_subset"])
        for model in kw["models"]:
            done = set()
            for requested in kw["bottlenecks"][dataset]:
                cnn = ae.model_name(model) == "cnn_ae"
                width = ae.cnn_bottleneck(split, requested) if cnn else requested
                if width not in done:
                    done.add(width)
                    out.append(ae.ae_config(model, dataset, width, seed=0, subset=kw["subset"],
                                            test_subset=kw["test_subset"], build=False,
                                            model_kwargs={} if cnn else {"hidden": kw["hidden"][dataset]},
                                            **kw["train"]))
    return out


def test_existing_configs_keep_their_hashes_with_the_controls_on_or_off():
    old = [results.run_hash(c.to_dict()) for c in _old_plan(CPU)]
    off = autoencoders_plan(**CPU, check=False)
    on = autoencoders_plan(**CPU, **CONTROLS, check=False)
    assert [results.run_hash(p.cfg.to_dict()) for p in off] == old and len(old) == 28
    assert [results.run_hash(p.cfg.to_dict()) for p in on[:28]] == old
    assert len({results.config_hash(p.cfg.to_dict()) for p in on}) == len(on)  # each run planned once
    # The run chapter 5 loads, exactly as its committed record has it.
    kan150 = next(p for p in on if p.key == "kan" and p.cfg.bottleneck == 150 and p.cfg.seed == 0
                  and p.cfg.train.epochs == 10)
    assert kan150.keep and kan150.arms == ("sweep", "paper")
    assert results.config_hash(kan150.cfg.to_dict()) == "7226cc8c239e8dd7"
    # The baselines of the sweep keep theirs too: the old components come first, in the old order.
    comps = baseline_plan(on, CPU["bottlenecks"], subset=None, test_subset="all", equal_latents=True)
    assert comps[Split(dataset="mnist", test_subset="all")][:6] == [0, 2, 10, 32, 150, 256]
    assert results.config_hash(ae.baseline_config(Split(dataset="cifar10", test_subset="all"), 128)) == \
        "3c9b037e9aa280c5"


def test_the_plan_pairs_equal_latents_and_seeds_only_where_asked():
    plan = autoencoders_plan(**CPU, **CONTROLS, check=False)
    ten = [p for p in plan if p.cfg.train.epochs == 10]
    # Every latent size the CNN has on the full split is also a size of the KAN and MLP autoencoders.
    for dataset in CPU["datasets"]:
        full = [p for p in ten if p.cfg.split.dataset == dataset and p.cfg.split.subset is None and p.cfg.seed == 0]
        sizes = {k: {p.cfg.bottleneck for p in full if p.key == k} for k in ("kan", "mlp", "cnn")}
        assert sizes["cnn"] and sizes["cnn"] <= sizes["kan"] and sizes["cnn"] <= sizes["mlp"]
    # Seeds 1 and 2 only at the seed widths and the paper's widths (the CNN at its nearest size).
    seeded = {(p.cfg.split.dataset, p.key, p.cfg.bottleneck) for p in plan if p.cfg.seed != 0}
    assert seeded == {(d, k, w) for d, narrow, paper, cnn in (("mnist", 9, 150, 153), ("cifar10", 16, 500, 496))
                      for k, w in [(k, narrow) for k in ("kan", "mlp", "cnn", "mlp_matched")]
                      + [(k, paper) for k in ("kan", "mlp", "mlp_matched", "kan1")] + [("cnn", cnn)]}
    for key in seeded:
        assert {p.cfg.seed for p in plan if (p.cfg.split.dataset, p.key, p.cfg.bottleneck) == key} == {0, 1, 2}
    # The converged arm: the paper-width models once more, seed 0, 30 epochs.
    long_ = [p for p in plan if p.cfg.train.epochs != 10]
    assert {p.cfg.train.epochs for p in long_} == {30} and {p.cfg.seed for p in long_} == {0}
    assert sorted((p.cfg.split.dataset, p.key) for p in long_) == sorted(
        (d, k) for d in ("mnist", "cifar10") for k in ("kan", "mlp", "cnn", "mlp_matched", "kan1"))
    # CIFAR-10 at the paper's width: a hidden layer at least as wide as the bottleneck, on 10,000 images,
    # scored on the whole test split.
    paper = [p for p in plan if p.cfg.split.dataset == "cifar10" and "paper" in p.arms]
    assert {p.cfg.split.subset for p in paper} == {10000} and {p.cfg.split.test_subset for p in paper} == {"all"}
    assert all(p.cfg.model_kwargs.get("hidden", 500) >= 500 for p in paper)
    assert {p.cfg.model_kwargs["hidden"] for p in paper if p.key == "kan"} == {512}
    # The authors' code only at the paper's widths; the matched MLP at the seed and paper widths.
    assert {p.cfg.bottleneck for p in plan if p.key == "kan1"} == {150, 500}
    assert {p.cfg.bottleneck for p in plan if p.key == "mlp_matched"} == {9, 150, 16, 500}


@pytest.mark.parametrize("change, match", [
    ({"paper_hidden": {"cifar10": 256}}, r"paper_hidden\['cifar10'\]: the hidden layer .* 256, narrower than"),
    ({"seed_widths": {"mnist": 10, "cifar10": 16}}, r"seed_widths\['mnist'\]=10 is no latent size .* such as 9"),
    ({"seeds": [1, 2]}, r"seeds=\[1, 2\] must include seed=0"),
    ({"converged_epochs": 10}, r"converged_epochs=10 must be an integer above epochs=10"),
    ({"paper_width_subset": {"cifar10": 400}}, r"paper_widths\['cifar10'\]=500: more PCA components"),
    ({"equal_latents": "yes"}, r"equal_latents='yes' must be true or false")])
def test_a_control_no_run_can_take_fails_in_one_line(change, match):
    with pytest.raises(studies.ParameterError, match=match):
        autoencoders_plan(**CPU, **{**CONTROLS, **change}, check=False)
    with pytest.raises(studies.ParameterError, match="matched_mlp=True .* which models lacks"):
        autoencoders_plan(**{**CPU, "models": ["mlp", "cnn"]}, matched_mlp=True, check=False)


# ----------------------------------------------------------------------------- a campaign under way

TINY = dict(datasets=["mnist"], models=["kan", "cnn"], bottlenecks={"mnist": [4]}, hidden={"mnist": 8},
            train={"epochs": 1, "batch_size": 50, "precision": "fp32", "progress": False}, subset=100, test_subset=20)


@pytest.mark.usefixtures("store")
def test_available_only_reads_what_exists_counts_the_rest_and_trains_nothing(training_calls, monkeypatch):
    first = studies.autoencoders(**TINY)
    assert len(training_calls) == 2 and first.missing == 0
    controls = dict(equal_latents=True, seeds=[0, 1], seed_widths={"mnist": 9}, paper_widths={"mnist": 8},
                    converged_epochs=2, matched_mlp=True, authors_variant=True)
    plan = autoencoders_plan(**TINY, **controls, check=False)
    monkeypatch.setenv(results.READ_ONLY, "1")  # a record it would compute is an error
    under_way = studies.autoencoders(**TINY, **controls, available_only=True)
    assert len(training_calls) == 2  # nothing trained, no baseline computed
    assert under_way.missing == len(plan) - 2 and under_way.missing_baselines == 2  # PCA at 8 and 9
    assert under_way.table.equals(first.table) and len(under_way.runs) == 2
    assert report.ae_campaign_text(under_way).startswith(
        f"*This chapter shows a campaign under way: {len(plan) - 2} of its {len(plan)} planned runs and 2 PCA "
        "baselines are not in the results store yet")
    assert report.ae_campaign_text(first) == ""


@pytest.mark.usefixtures("store")
def test_the_controls_train_tiny_runs_into_rows_tables_and_costs(training_calls):
    study = studies.autoencoders(**{**TINY, "models": ["kan", "mlp", "cnn"]}, seeds=[0, 1], paper_widths={"mnist": 8},
                                 converged_epochs=2, matched_mlp=True, authors_variant=True)
    runs = study.runs
    assert len(training_calls) == len(runs) == len(study.plan) == 17  # 3 in the sweep (the CNN at 9 shared), 9 + 5
    paper = ae.paper_width_table(runs, study.all_baselines)
    assert set(paper.index.get_level_values("model")) == {ae.LABELS[k] for k in ("kan", "mlp", "cnn", "mlp_matched",
                                                                                   "kan1")}
    assert set(paper.index.get_level_values("epochs")) == {1, 2} and paper.pca_mse.notna().all()
    shown = ae.paper_width_shown(paper)
    assert list(shown.columns) == ["test_mse", "pca_mse", "knn_accuracy", "pca_knn"] and len(shown) == len(paper)
    two = paper.xs(1, level="epochs").iloc[0]
    assert shown.xs(1, level="epochs").iloc[0].test_mse == f"{report.fmt(two.test_mse)} ± {report.fmt(two.mse_sd, 2)}"
    assert " ± " not in shown.xs(2, level="epochs").iloc[0].test_mse  # one seed: the mean alone
    assert ae.training_images_note(paper).startswith("; training images: MNIST ")
    assert (paper.xs(1, level="epochs").seeds == 2).all() and (paper.xs(2, level="epochs").seeds == 1).all()
    costs = ae.paper_width_costs(study.paper_configs())
    assert "CNN AE (widened)" in costs.xs("MNIST").index and costs.xs(("MNIST", "KAN AE")).flops_vs_kan == 1
    assert costs.xs(("MNIST", "CNN AE (widened)")).flops_vs_kan > 1
    # The sweep's table is the sweep alone, its baselines the sweep's training images.
    assert set(study.table.model) == {"kan", "mlp", "cnn"} and (study.table.seed == 0).all()
    assert study.baselines.n_train.nunique() == 1


# ----------------------------------------------------------------------------- the comparisons


def _runs(kan: dict, other: dict, *, other_key: str = "mlp", latent: int = 9) -> pd.DataFrame:
    """Synthetic run rows: the KAN AE and ``other_key`` at ``latent``, test MSE by seed."""
    rows = []
    for key, by_seed in (("kan", kan), (other_key, other)):
        for seed, mse in by_seed.items():
            rows.append({"dataset": "mnist", "n_train": 60000, "epochs": 10, "bottleneck": latent, "key": key,
                         "seed": seed, "test_mse": mse, "knn_accuracy": 1 - mse, "arms": "sweep,paper"})
    return pd.DataFrame(rows, columns=["dataset", "n_train", "epochs", "bottleneck", "key", "seed", "test_mse",
                                       "knn_accuracy", "arms"])


def _pca(mse: float, latent: int = 9) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": "mnist", "n_train": 60000, "method": "pca", "components": latent,
                          "test_mse": mse, "knn_accuracy": 1 - mse}])


def test_comparisons_pair_equal_sizes_seed_by_seed():
    runs = _runs({0: 0.10, 1: 0.11, 2: 0.12}, {0: 0.20, 1: 0.21, 2: 0.22})
    cnn = _runs({}, {0: 0.5}, other_key="cnn", latent=18)  # a CNN at another size meets no KAN AE
    c = ae.matched_comparisons(pd.concat([runs, cnn]), _pca(0.15))
    mse = c[c.metric == "test_mse"].set_index(["a", "b"])
    assert ("kan", "cnn") not in mse.index
    row = mse.loc[("kan", "mlp")]
    assert row.seeds == 3 and row.better == "kan" and row["diff"] == pytest.approx(-0.1) and row.separated
    assert mse.loc[("kan", "pca")].better == "kan" and mse.loc[("mlp", "pca")].better == "pca"
    assert c[(c.metric == "knn_accuracy") & (c.a == "kan") & (c.b == "mlp")].better.iloc[0] == "kan"
    noisy = ae.matched_comparisons(_runs({0: 0.10, 1: 0.30}, {0: 0.20, 1: 0.19}), _pca(0.15))
    assert not noisy[(noisy.b == "mlp") & (noisy.metric == "test_mse")].separated.iloc[0]
    one = ae.matched_comparisons(_runs({0: 0.10, 1: 0.30}, {0: 0.20}), _pca(0.15))
    assert one[one.b == "mlp"].seeds.tolist() == [1, 1] and one[one.b == "mlp"].separated.isna().all()
    table = ae.comparison_table(c, "mnist")
    assert table.loc[(60000, 10, 9, "KAN AE − MLP AE"), "mse_verdict"] == "KAN AE, beyond the seeds' noise"
    assert list(table.columns) == ["seeds", "mse_diff", "mse_verdict", "knn_diff", "knn_verdict"]


def test_plateau_epoch_is_the_first_epoch_gaining_under_half_a_percent():
    curve = [{"epoch": e, "test_mse": m} for e, m in enumerate([1.0, 0.5, 0.3, 0.299, 0.2], start=1)]
    assert ae.plateau_epoch(curve) == 4
    assert ae.plateau_epoch(curve[:3]) is None and ae.plateau_epoch(curve[:1]) is None
    assert ae.plateau_epoch(list(reversed(curve))) == 4  # by epoch, not by position


# ----------------------------------------------------------------------------- the sentences


def _summary(kan: dict, mlp: dict, pca: float, **kw) -> str:
    c = ae.matched_comparisons(_runs(kan, mlp), _pca(pca))
    return report.ae_summary(c, epochs=10, paper_widths={"mnist": 9}, **kw)


def test_the_summary_names_where_pca_wins_and_flips_when_it_loses():
    wins = _summary({0: 0.10, 1: 0.11, 2: 0.12}, {0: 0.20, 1: 0.21, 2: 0.22}, pca=0.05)
    assert "- **MNIST, PCA** of the same size on the same training images beats the KAN AE on test MSE at 9 " \
           "(beyond the noise of 3 seeds), and on KNN accuracy at 9 (beyond the noise of 3 seeds); the MLP AE on test MSE" in wins
    assert "The KAN AE against PCA: test MSE 0.1100 against 0.05000 (difference +0.0600 ± 0.010 sd; PCA better, " \
           "beyond the noise of 3 seeds)" in wins
    close = _summary({0: 0.10, 1: 0.11, 2: 0.12}, {0: 0.20, 1: 0.21, 2: 0.22}, pca=0.105)
    assert "beats the KAN AE on test MSE at 9 (within the noise of 3 seeds (95% interval" in close
    loses = _summary({0: 0.10, 1: 0.11, 2: 0.12}, {0: 0.20, 1: 0.21, 2: 0.22}, pca=0.5)
    assert "PCA** of the same size on the same training images beats none of the autoencoders at any size." in loses
    assert "KAN AE better, beyond the noise of 3 seeds" in loses


def test_the_summary_counts_flip_with_the_evidence_and_say_what_they_rest_on():
    better = _summary({0: 0.10, 1: 0.11, 2: 0.12}, {0: 0.20, 1: 0.21, 2: 0.22}, pca=0.5)
    assert "on test MSE it beats the MLP AE at 1 of 1 size" in better
    assert "Where 3 seeds were trained (at 9), 2 of these 2 comparisons are beyond the seeds' noise" in better
    worse = _summary({0: 0.20, 1: 0.21, 2: 0.22}, {0: 0.10, 1: 0.11, 2: 0.12}, pca=0.5)
    assert "on test MSE it beats the MLP AE at 0 of 1 size" in worse and "MLP AE better" in worse
    noisy = _summary({0: 0.10, 1: 0.30, 2: 0.20}, {0: 0.20, 1: 0.19, 2: 0.21}, pca=0.5)
    assert "0 of these 2 comparisons are beyond the seeds' noise" in noisy and "within the noise of 3 seeds" in noisy
    single = _summary({0: 0.10}, {0: 0.20}, pca=0.5, missing=4)
    assert "**MNIST at the paper's setting** (bottleneck 9, the paper's 10 epochs): The KAN AE" in single
    c = ae.matched_comparisons(_runs({0: 0.10}, {0: 0.20}).assign(arms="sweep"), _pca(0.5))
    assert "**MNIST at the paper's setting** (bottleneck 9): not trained yet." in report.ae_summary(
        c, epochs=10, paper_widths={"mnist": 9})
    assert "Every count rests on one seed." in single and "one seed)" in single
    assert single.endswith("4 planned runs of the campaign are not there yet, so the counts may change.")
    assert report.ae_summary(ae.matched_comparisons(_runs({}, {}), _pca(0.1)), epochs=10, paper_widths={}) == \
        "No comparison at equal latent sizes has been trained yet."


def _paper(short: float, long_: float, plateau) -> pd.DataFrame:
    rows = [{"dataset": "MNIST", "n_train": 60000, "model": "KAN AE", "latent": 150, "epochs": e, "seeds": s,
             "test_mse": m, "plateau_epoch": p} for e, s, m, p in ((10, 3, short, None), (30, 1, long_, plateau))]
    return pd.DataFrame(rows).set_index(["dataset", "n_train", "model", "latent", "epochs"])


def test_the_converged_arm_says_when_training_stopped_gaining():
    text = report.ae_converged_text(_paper(0.02, 0.015, 17.0), epochs=10)
    assert text.startswith("The paper's recipe keeps the learning rate constant")
    assert ("MNIST, the KAN AE at 150: test MSE 0.02000 after 10 epochs (3 seeds), 0.01500 after 30 (−25%); its "
            "gain per epoch first fell under 0.50% at epoch 17.") in text
    still = report.ae_converged_text(_paper(0.02, 0.025, math.nan), epochs=10)
    assert "(+25%); every epoch still gained 0.50% or more." in still
    assert report.ae_converged_text(_paper(0.02, 0.015, 3.0).xs(10, level="epochs", drop_level=False), epochs=10) \
        == "No model at the paper's widths has been trained at both lengths yet."
    assert report.ae_converged_text(pd.DataFrame(), epochs=10) == "No run at the paper's widths has been trained yet."


def test_the_widened_cnn_sentence_follows_its_cost():
    def costs(ratio: float) -> pd.DataFrame:
        return pd.DataFrame([
            {"dataset": "MNIST", "model": "KAN AE", "channels": "", "params": 4_000_000, "flops": 1e15,
             "flops_vs_kan": 1.0},
            {"dataset": "MNIST", "model": "CNN AE (widened)", "channels": "[672, 336, 17]", "params": 4_100_000,
             "flops": ratio * 1e15, "flops_vs_kan": ratio}]).set_index(["dataset", "model"])

    dear = report.widened_cnn_text(costs(40.0))
    assert "on MNIST a CNN autoencoder widened to 4,100,000 parameters (the KAN autoencoder has 4,000,000; encoder " \
           "channels [672, 336, 17]) would take 40.0 PFLOP to train, 40.0× the KAN autoencoder's 1.00 PFLOP" in dear
    assert "multiply its compute: no widened CNN is trained here" in dear
    assert "would cost about as much as the KAN autoencoder" in report.widened_cnn_text(costs(1.2))
    assert report.widened_cnn_text(costs(1.2).drop(("MNIST", "KAN AE"))).startswith("No CNN autoencoder was priced")
