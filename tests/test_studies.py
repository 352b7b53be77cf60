"""kanmix.studies plans every run of a chapter and reads them back: tiny settings, real runs."""

from __future__ import annotations

import pytest

from kanmix import studies
from kanmix.models import build_model, count_parameters

pytestmark = pytest.mark.usefixtures("store")

MIXER = {"patch": 8, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8, "grid_size": 3}
KWARGS = {"kan_mixer": MIXER, "mlp_mixer": {k: v for k, v in MIXER.items() if k != "grid_size"},
          "mlp": {"hidden": [16]}, "kan": {"hidden": [4], "grid_size": 3}}
TRAIN = {"epochs": 2, "batch_size": 50, "precision": "fp32", "augment": True, "progress": False}


def test_mixer_study_plans_every_part_and_a_rerun_trains_nothing(training_calls):
    kw = dict(datasets=["fashion_mnist"], models=["kan_mixer", "mlp_mixer", "mlp"], model_kwargs=KWARGS, folds=2,
              train=TRAIN, subset=200, param_matched_to="kan_mixer", time_matched_epochs=3, headline_repeats=2,
              headline_against=studies.TIME_MATCHED, efficiency_sizes=[100], efficiency_folds=1,
              grid_variants={"[-1, 1]": {}, "update after epoch 1": {"train": {"grid_updates": [1]}}},
              grid_handling="[-1, 1]")
    study = studies.mixers(**kw)
    labels = ["KAN-Mixer", "MLP-Mixer", "MLP", studies.PARAM_MATCHED, studies.TIME_MATCHED]
    assert list(study.folds.model.unique()) == labels and len(study.folds) == 2 * len(labels)
    # The parameter-matched MLP-Mixer has about the KAN-Mixer's parameters; the time-matched one more epochs.
    params = study.folds.groupby("model")["params"].first()
    assert abs(params[studies.PARAM_MATCHED] - params["KAN-Mixer"]) <= 0.1 * params["KAN-Mixer"]
    assert params[studies.PARAM_MATCHED] > params["MLP-Mixer"]
    epochs = study.folds.groupby("model")["epochs"].first()
    assert epochs[studies.TIME_MATCHED] == 3 and epochs["MLP-Mixer"] == 2
    # The headline pair: the KAN-Mixer and the MLP-Mixer named in advance, with 2 repeats of 2 folds.
    assert study.headline_pair == ("KAN-Mixer", studies.TIME_MATCHED)
    assert sorted(zip(study.headline.model, study.headline.repeat, study.headline.fold)) == sorted(
        (m, r, f) for m in study.headline_pair for r in (0, 1) for f in (0, 1))
    assert studies.headline_comparison(study, 2).n == 4 and studies.headline_comparison(study, 2, repeats=False).n == 2
    # Repeat 0 of the headline pair is the main CV's: the same records.
    main0 = study.folds[study.folds.model == "KAN-Mixer"].hash.tolist()
    assert study.headline[(study.headline.model == "KAN-Mixer") & (study.headline.repeat == 0)].hash.tolist() == main0
    # Data efficiency: fold 0 at each size, the smaller set trained for more epochs.
    eff = study.efficiency
    assert list(eff.subset.unique()) == [100] and set(eff.model) == {"KAN-Mixer", "MLP-Mixer"}
    assert (eff.fold == 0).all()
    assert eff[eff.subset == 100].epochs.iloc[0] == studies.efficiency_epochs(2, 100, 60000)
    # The ablation: one run per variant on fold 0; the chosen variant is the main KAN-Mixer: one record.
    assert list(study.ablation.model) == ["[-1, 1]", "update after epoch 1"]
    assert study.ablation.hash.iloc[0] == main0[0]
    assert {"outside_grid", "val_accuracy"} <= set(study.ablation_curves.columns)
    assert study.ablation_curves.outside_grid.between(0, 1).all()
    assert study.curves[study.curves.model == "MLP"].outside_grid.isna().all()  # no KAN layers
    trained = len(training_calls)
    assert trained == len({r["hash"] for r in study.records})  # each distinct run trained once
    again = studies.mixers(**kw)
    assert len(training_calls) == trained and again.folds.equals(study.folds)


def test_efficiency_epochs_sit_between_equal_epochs_and_equal_steps():
    assert studies.efficiency_epochs(10, None, 60000) == 10 and studies.efficiency_epochs(10, 60000, 60000) == 10
    e = studies.efficiency_epochs(10, 1250, 60000)
    assert 10 < e < 10 * 60000 / 1250 and e == 70  # ceil(10 * sqrt(48))


def test_precision_parity_runs_the_same_folds_in_each_precision():
    models = {"KAN-Mixer": {"model": "kan_mixer", "model_kwargs": MIXER}}
    table, records = studies.precision_parity(dataset="fashion_mnist", models=models, folds=2,
                                              train={**TRAIN, "epochs": 1}, subset=100)
    assert sorted(zip(table.precision, table.fold)) == [("bf16", 0), ("bf16", 1), ("fp32", 0), ("fp32", 1)]
    assert [r["config"]["train"]["precision"] for r in records] == ["fp32", "fp32", "bf16", "bf16"]
    assert table.groupby("precision").n_val.sum().tolist() == [100, 100]  # the same held-out images


def test_param_matched_model_is_built_from_the_chapter_widths():
    specs = studies.mixer_specs(KWARGS, "fashion_mnist", models=["kan_mixer", "mlp_mixer"], size=32,
                                param_matched_to="kan_mixer", time_matched_epochs=None)
    assert list(specs) == ["KAN-Mixer", "MLP-Mixer", studies.PARAM_MATCHED]
    kan = count_parameters(build_model("kan_mixer", in_shape=(1, 32, 32), **MIXER))
    got = count_parameters(build_model("mlp_mixer", in_shape=(1, 32, 32), **specs[studies.PARAM_MATCHED]["model_kwargs"]))
    assert abs(got - kan) <= 0.1 * kan


def test_autoencoder_study_sweeps_widths_with_baselines_and_keeps_only_named_weights(training_calls):
    from kanmix import ae, results

    kw = dict(datasets=["mnist"], models=["kan", "mlp", "cnn"], bottlenecks={"mnist": [4, 8, 20]},
              hidden={"mnist": 16}, train={"epochs": 1, "batch_size": 50, "precision": "fp32", "progress": False},
              subset=200, test_subset=50, keep_weights=[("kan", "mnist", 8)])
    study = studies.autoencoders(**kw)
    t = study.table
    # The CNN's latent comes in multiples of its 3x3 grid: 4 and 8 both become 9, run once; 20 becomes 18.
    assert sorted(t[t.model == "cnn"].bottleneck) == [9, 18]
    assert sorted(t[t.model == "kan"].bottleneck) == [4, 8, 20] == sorted(t[t.model == "kan"].requested)
    assert list(study.baselines.components) == [0, 4, 8, 20] and study.baselines.method.tolist()[0] == "mean"
    pca = study.baselines.set_index("components")
    assert pca.test_mse[4] > pca.test_mse[8] > pca.test_mse[20]  # more components, less error
    assert pca.test_mse[0] > pca.test_mse[4] and pca.knn_accuracy.isna().tolist() == [True, False, False, False]
    assert t.beats_mean.tolist() == list(t.test_mse < pca.test_mse[0])
    # Every run keeps its example reconstructions; only the named one keeps weights.
    kept = [r for r in study.records if r["kind"] == "ae" and results.has_weights(r["config"])]
    assert [(r["config"]["model"], r["config"]["bottleneck"]) for r in kept] == [("kan_ae", 8)]
    rec = next(r for r in study.records if r["kind"] == "ae")
    ex = rec["examples"]
    assert ex["index"] == ae.example_indices(50) and len(ex["reconstruction_u8"][0]) == 28 * 28
    assert all(0 <= v <= 255 for v in ex["reconstruction_u8"][0])
    n = len(training_calls)
    assert n == 8  # 3 KAN + 3 MLP + 2 CNN runs
    again = studies.autoencoders(**kw)
    assert len(training_calls) == n and again.table.equals(t)
    # A model that cannot beat the mean image stops the study when asked to.
    with pytest.raises(ValueError, match="no better than predicting the mean image"):
        studies.autoencoders(**{**kw, "models": ["cnn"], "train": {**kw["train"], "lr": 1e-9}, "require_beat_mean": True})


def test_the_chosen_grid_handling_is_the_main_kan_mixer():
    specs = studies.mixer_specs(KWARGS, "fashion_mnist", models=["kan_mixer", "mlp_mixer"], size=32,
                                param_matched_to=None, time_matched_epochs=None,
                                kan_overrides={"model_kwargs": {"grid_range": [-3, 3]}, "train": {"grid_updates": [1]}})
    kan = specs["KAN-Mixer"]
    assert kan["model_kwargs"]["grid_range"] == [-3, 3] and kan["train"] == {"grid_updates": [1]}
    assert "grid_range" not in specs["MLP-Mixer"]["model_kwargs"]
    with pytest.raises(ValueError, match="not one of the grid variants"):
        studies.mixers(datasets=["fashion_mnist"], models=["kan_mixer"], model_kwargs=KWARGS, folds=2, train=TRAIN,
                       subset=100, grid_variants={"a": {}}, grid_handling="b")
    with pytest.raises(ValueError, match="may set model_kwargs and train"):
        studies.with_overrides({"model": "kan_mixer"}, {"epochs": 3})


def test_every_run_is_built_and_checked_before_the_first_trains(training_calls, store):
    # A size the k-fold split cannot take (1 image per class for 2 folds) used to fail after the
    # ablation, the main CV and the headline repeats had trained; now nothing trains.
    kw = dict(datasets=["fashion_mnist"], models=["kan_mixer", "mlp_mixer"], model_kwargs=KWARGS, folds=2,
              train=TRAIN, subset=200, efficiency_sizes=[100, 10], grid_variants={"[-1, 1]": {}},
              grid_handling="[-1, 1]")
    with pytest.raises(studies.ParameterError, match=r"efficiency_sizes \(size 10\): class \d+ has only 1 "):
        studies.mixers(**kw)
    with pytest.raises(studies.ParameterError, match=r"model_kwargs\['mlp_mixer'\]: .*dim"):
        studies.mixers(**{**kw, "efficiency_sizes": [], "model_kwargs": {**KWARGS, "mlp_mixer": {**KWARGS["mlp_mixer"],
                                                                                                 "dim": 0}}})
    with pytest.raises(studies.ParameterError, match=r"parity_models\['KAN'\]=.* must be a dict with 'model'"):
        studies.parity_plan(dataset="fashion_mnist", models={"KAN": {"model_kwargs": MIXER}}, folds=2, train=TRAIN,
                            subset=100, name="parity_models")
    # The autoencoders' PCA baseline of 300 components needs 300 training images: refused before it is computed.
    with pytest.raises(studies.ParameterError, match=r"bottlenecks\['mnist'\]=\[4, 300\]: .* at most 200"):
        studies.autoencoders(datasets=["mnist"], models=["kan"], bottlenecks={"mnist": [4, 300]}, hidden={"mnist": 16},
                             train={"epochs": 1}, subset=200)
    assert training_calls == [] and not store.exists()


def test_one_epoch_leaves_out_the_grid_update_and_the_study_says_so(training_calls):
    kw = dict(datasets=["fashion_mnist"], models=["kan_mixer"], model_kwargs=KWARGS, folds=2,
              train={**TRAIN, "epochs": 1}, subset=100, headline_repeats=1,
              grid_variants={"[-1, 1]": {}, "update after epoch 1": {"train": {"grid_updates": [1]}}},
              grid_handling="[-1, 1]")
    study = studies.mixers(**kw)
    assert list(study.ablation.model) == ["[-1, 1]"] and list(study.left_out) == ["update after epoch 1"]
    assert len(training_calls) == 2  # the KAN-Mixer's two folds; the ablation's fold 0 is the first of them


def test_output_layer_outside_reads_the_last_kan_layer_of_the_last_epoch():
    def rec(first, last):
        return {"history": [{"outside_grid": {"l0": 1.0, "l1": 1.0}},
                            {"outside_grid": {"l0": first, "l1": last}}]}

    labelled = [("KAN", rec(0.0, 0.8)), ("KAN", rec(0.1, 0.6)), ("MLP", {"history": [{}]})]
    assert studies.output_layer_outside(labelled, "KAN") == pytest.approx(0.7)
    assert studies.output_layer_outside(labelled, "MLP") is None


def test_efficiency_curve_takes_the_matched_models_each_with_its_own_epochs_and_the_whole_test_split():
    study = studies.mixers(datasets=["fashion_mnist"], models=["kan_mixer", "mlp_mixer"], model_kwargs=KWARGS, folds=2,
                           train={**TRAIN, "epochs": 1}, subset=200, time_matched_epochs=2, efficiency_sizes=[100],
                           efficiency_folds=2, efficiency_models=["KAN-Mixer", studies.TIME_MATCHED],
                           efficiency_full_test=True)
    eff = study.efficiency
    assert study.efficiency_metric == "test_accuracy"
    assert sorted(set(eff.model)) == sorted(["KAN-Mixer", studies.TIME_MATCHED]) and sorted(eff.fold) == [0, 0, 1, 1]
    epochs = eff.groupby("model").epochs.first()
    # Each model's own epochs scaled to the subset: the time-matched one starts from its 2, not the shared 1.
    assert epochs["KAN-Mixer"] == studies.efficiency_epochs(1, 100, 60000)
    assert epochs[studies.TIME_MATCHED] == studies.efficiency_epochs(2, 100, 60000)
    assert (eff.n_test == 10000).all()  # the whole test split, not a tenth of a percent of it
    table = studies.efficiency_table(study)
    assert list(table.columns) == ["epochs", "test_accuracy", "sd", "folds"]
    assert table.index.names == ["n_train", "model"] and (eff.n_train.iloc[0], studies.TIME_MATCHED) in table.index
    with pytest.raises(studies.ParameterError, match="efficiency_models"):
        studies.mixers_plan(datasets=["fashion_mnist"], models=["kan_mixer"], model_kwargs=KWARGS, folds=2,
                            train=TRAIN, subset=200, efficiency_sizes=[100], efficiency_models=["MLP"])


def test_the_autoencoder_parity_varies_only_chapter_4s_precision(training_calls):
    from kanmix import book
    from kanmix.studies import ParameterError

    p4 = {**book.chapter_parameters("smoke", ["04"])["04"], "subset": 100, "test_subset": 100}
    runs = studies.ae_parity_runs(p4, dataset="mnist", bottleneck=p4["paper_widths"]["mnist"])
    assert [c.seed for c in runs] == p4["seeds"] and {c.model for c in runs} == {"kan_ae"}
    planned = {c.to_dict()["seed"]: c for c in runs}
    with pytest.raises(ParameterError, match="parity_ae=.*chapter 4 has no KAN autoencoder there"):
        studies.ae_parity_runs(p4, dataset="mnist", bottleneck=p4["paper_widths"]["mnist"] + 1)
    rows, records = studies.ae_precision_parity(runs, available_only=True)  # an empty store: nothing trains
    assert rows.empty and records == [] and training_calls == []
    rows, records = studies.ae_precision_parity(runs)
    assert sorted(zip(rows.precision, rows.seed)) == sorted((p, s) for p in ("bf16", "fp32") for s in planned)
    for rec in records:  # each twin differs from chapter 4's run in its precision alone
        cfg = rec["config"]
        twin = planned[cfg["seed"]].to_dict()
        assert {**cfg, "train": {**cfg["train"], "precision": twin["train"]["precision"]}} == twin
    assert (rows.test_mse > 0).all() and len(training_calls) == 2 * len(runs)


def test_chapter_4s_deviations_follow_its_parameters():
    from kanmix import book

    cpu = studies.ae_deviations_from_chapter(book.chapter_parameters("cpu", ["04"])["04"])
    assert cpu.loc["datasets", "the paper"] == "MNIST, SVHN and CIFAR-10"
    assert cpu.loc["datasets", "why"].startswith("SVHN left out")
    assert "10,000 on CIFAR-10 (stratified)" in cpu.loc["training images at the paper's width", "here"]
    assert "150 (MNIST) and 500 (CIFAR-10)" in cpu.loc["bottleneck", "here"]
    everything = studies.ae_deviations(
        datasets=["mnist", "svhn", "cifar10"], hidden={"mnist": 64, "svhn": 64, "cifar10": 64}, precision="fp32",
        epochs=10, seeds=[0], paper_widths={"mnist": 150}, paper_hidden={}, paper_width_subset={},
        converged_epochs=None, authors_variant=False)
    assert everything.loc["datasets", "why"] == "the same" and everything.loc["seeds", "here"] == "one"
    assert everything.loc["training images at the paper's width", "here"] == "the full training split"
    assert everything.loc["training", "here"] == "the same, 10 epochs"


def test_a_data_efficiency_campaign_under_way_is_read_not_trained(training_calls):
    from kanmix import report

    kw = dict(datasets=["fashion_mnist"], models=["kan_mixer", "mlp_mixer"], model_kwargs=KWARGS, folds=2,
              train={**TRAIN, "epochs": 1}, subset=200, param_matched_to="kan_mixer", efficiency_sizes=[100, 150],
              efficiency_folds=2, efficiency_models=["KAN-Mixer", studies.PARAM_MATCHED], efficiency_full_test=True)
    study = studies.mixers(**kw, efficiency_available_only=True)
    assert len(training_calls) == 3 * 2  # the main CV's three models on two folds; no efficiency run
    assert study.efficiency is None and study.efficiency_missing == 2 * 2 * 2
    assert "8 planned runs of the curve are not in the results store, so none is shown yet" in (
        report.efficiency_campaign_text(study))
    complete = studies.mixers(**kw)
    assert len(training_calls) == 3 * 2 + 8 and complete.efficiency_missing == 0
    assert report.efficiency_campaign_text(complete) == "" and sorted(complete.efficiency.subset.unique()) == [100, 150]
