import numpy as np
import pytest
import torch

from kanmix import cv, results, stats
from kanmix.experiment import KIND
from kanmix.splits import load_split

STUDY = {"folds": 2, "subset": 100, "test_subset": 50, "train": {"epochs": 1, "batch_size": 25},
         "progress": False, "device": "cpu"}
MODELS = {"mlp16": {"model": "mlp", "model_kwargs": {"hidden": [16]}},
          "mlp32": {"model": "mlp", "model_kwargs": {"hidden": [32]}}}


pytestmark = pytest.mark.usefixtures("store")


def test_folds_are_stratified_disjoint_and_deterministic():
    cfgs = cv.fold_configs("mlp", "fashion_mnist", folds=2, subset=100, test_subset=50)
    assert [c.split.fold.fold for c in cfgs] == [0, 1]
    assert [results.config_hash(c.to_dict()) for c in cfgs] == [results.config_hash(c.to_dict()) for c in
                                                                cv.fold_configs("mlp", "fashion_mnist", folds=2,
                                                                                subset=100, test_subset=50)]
    vals = []
    for c in cfgs:
        (x, y), (xv, yv), _ = load_split(c.split)
        assert len(y) == len(yv) == 50
        assert torch.bincount(yv, minlength=10).tolist() == [5] * 10  # 10 per class in the subset, half held out
        assert torch.equal(load_split(c.split)[1][0], xv)  # same config -> same fold
        vals.append({bytes(img.numpy()) for img in xv})
    assert not vals[0] & vals[1]  # the held-out folds do not overlap


def test_cross_validation_records_tables_and_resume(store, training_calls):
    labelled = cv.run_folds(MODELS, "fashion_mnist", **STUDY)
    df = cv.table(labelled)
    assert list(df.columns) == cv.COLUMNS
    assert list(zip(df.model, df.fold)) == [("mlp16", 0), ("mlp32", 0), ("mlp16", 1), ("mlp32", 1)]
    assert (df.n_val == 50).all() and (df.n_test == 50).all() and (df.n_train == 50).all()
    for _, r in df.iterrows():
        conf = np.array(r.val_confusion)
        assert conf.sum(1).tolist() == [5] * 10  # rows are the stratified true-class counts
        assert r.val_accuracy == pytest.approx(np.trace(conf) / conf.sum())
    assert df.params.iloc[0] < df.params.iloc[1]
    assert len(list((store / KIND).glob("*.json"))) == 4 and len(training_calls) == 4

    # Interrupt the study: forget one fold, then re-run. Only that fold trains, to the same numbers.
    (store / KIND / f"{df.hash.iloc[3]}.json").unlink()
    again = cv.cross_validate(MODELS, "fashion_mnist", **STUDY)
    assert len(training_calls) == 5
    assert again.drop(columns=["train_seconds", "images_per_second"]).equals(
        df.drop(columns=["train_seconds", "images_per_second"]))

    curves = cv.curves(labelled)
    assert len(curves) == 4 and {"train_loss", "val_accuracy"} <= set(curves.columns)

    summ = cv.summary(df)
    acc = summ[(summ.model == "mlp16") & (summ.metric == "val_accuracy")].iloc[0]
    scores = df[df.model == "mlp16"].val_accuracy
    assert acc.n == 2 and acc["mean"] == pytest.approx(scores.mean()) and acc["std"] == pytest.approx(scores.std())
    _, _, lo, hi = stats.mean_ci(scores.to_numpy(), test_train_ratio=1.0)  # 2 folds: n_test/n_train = 1
    assert (acc.ci_low, acc.ci_high) == pytest.approx((lo, hi))
    # Fold scores pair up for the statistics.
    assert len(stats.all_pairs(df, folds=2)) == 1


def test_bad_study_arguments_fail_before_training(no_training):
    with pytest.raises(ValueError, match="folds=1"):
        cv.run_folds(["mlp"], "fashion_mnist", folds=1)
    with pytest.raises(ValueError, match="unknown classifier"):
        cv.run_folds(["mlp", "resnet"], "fashion_mnist", folds=2)
    with pytest.raises(ValueError, match="twice"):
        cv.run_folds(["mlp", "mlp"], "fashion_mnist", folds=2)
    with pytest.raises(ValueError, match="hidden"):
        cv.run_folds(MODELS | {"bad": {"model": "mlp", "model_kwargs": {"hidden": [0]}}}, "fashion_mnist", folds=2)


def test_per_model_training_options_and_first_folds(store, training_calls):
    models = {"short": {"model": "mlp", "model_kwargs": {"hidden": [16]}},
              "long": {"model": "mlp", "model_kwargs": {"hidden": [16]}, "train": {"epochs": 2}}}
    runs = cv.plan(models, "fashion_mnist", folds=4, first_folds=1, repeats=2, subset=100, test_subset=50,
                   train={"epochs": 1, "batch_size": 25, "precision": "fp32"})
    # Only fold 0 of each repeat, every model on it; the "long" model trains twice as many epochs.
    assert [(label, c.split.fold.repeat, c.split.fold.fold) for label, c in runs] == [
        ("short", 0, 0), ("long", 0, 0), ("short", 1, 0), ("long", 1, 0)]
    assert [c.train.epochs for _, c in runs] == [1, 2, 1, 2]
    assert all(c.train.batch_size == 25 for _, c in runs)  # shared options still apply
    # The folds are those of the full 4-fold study: fold 0 here is fold 0 there.
    full = cv.fold_configs("mlp", "fashion_mnist", folds=4, subset=100, test_subset=50,
                           model_kwargs={"hidden": [16]}, train={"epochs": 1, "batch_size": 25, "precision": "fp32"})
    assert runs[0][1] == full[0]
    assert not training_calls  # planning trains nothing
    with pytest.raises(ValueError, match="first_folds=5 must be in 1..4"):
        cv.plan(models, "fashion_mnist", folds=4, first_folds=5, subset=100)
    with pytest.raises(ValueError, match="optional 'model_kwargs' and 'train'"):
        cv.plan({"x": {"model": "mlp", "epochs": 3}}, "fashion_mnist", folds=2, subset=100)


def test_overview_has_cost_and_score_per_model():
    import pandas as pd

    df = pd.DataFrame({"model": ["a", "b", "a", "b"], "folds": 2, "params": [10, 20, 10, 20], "epochs": 3,
                       "train_seconds": [60.0, 120.0, 120.0, 240.0], "val_accuracy": [0.8, 0.9, 0.9, 0.92],
                       "test_accuracy": [0.7, 0.8, 0.8, 0.9]})
    o = cv.overview(df)
    assert list(o.index) == ["a", "b"] and o.loc["a", "train_seconds"] == 90.0
    assert o.loc["a", "val_accuracy"] == pytest.approx(0.85) and o.loc["b", "test_accuracy"] == pytest.approx(0.85)
    assert o.loc["a", "per_minute"] == pytest.approx(0.85 / 1.5)
    assert o.loc["a", "ci_low"] < 0.85 < o.loc["a", "ci_high"] and o.loc["a", "std"] == pytest.approx(0.0707, abs=1e-4)
