import numpy as np
import pytest
import torch

from kanmix import results
from kanmix.experiment import (checkpoint_dir, classification_run, load_split, load_trained, normalize_config,
                               normalize_split, split_data, split_of)
from kanmix.metrics import classification_metrics

CFG = {
    "dataset": "fashion_mnist",
    "model": "kan_mixer",
    "model_kwargs": {"patch": 14, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8, "grid_size": 3},
    "train": {"epochs": 2, "batch_size": 50, "lr": 3e-3},
    "subset": 200,
    "seed": 0,
    "fold": {"folds": 4, "fold": 1},
}


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("KANMIX_RESULTS", str(tmp_path / "res"))
    return tmp_path / "res"


def test_metrics_match_hand_counts():
    m = classification_metrics(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), 4)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["confusion"] == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    # per-class precision 1/2, 2/3, 0, 0 and recall 1/2, 1, 0, 0, averaged over all 4 classes
    assert m["precision"] == pytest.approx((1 / 2 + 2 / 3) / 4)
    assert m["recall"] == pytest.approx((1 / 2 + 1) / 4)
    assert m["f1"] == pytest.approx((1 / 2 + 0.8) / 4)
    with pytest.raises(ValueError, match="differ"):
        classification_metrics([0, 1], [0], 2)


def test_config_is_normalised_and_validated():
    cfg = normalize_config({"dataset": "mnist", "model": "mlp", "train": {"device": "cuda", "epochs": 3}})
    assert cfg["train"]["epochs"] == 3 and "device" not in cfg["train"] and cfg["seed"] == 0
    assert normalize_config(cfg) == cfg
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'"):
        normalize_config({"dataset": "imagenet", "model": "mlp"})
    with pytest.raises(ValueError, match="unknown classifier 'kan_ae'"):
        normalize_config({"dataset": "mnist", "model": "kan_ae"})
    with pytest.raises(ValueError, match="fold.fold=4"):
        normalize_config({**CFG, "fold": {"folds": 4, "fold": 4}})
    with pytest.raises(ValueError, match="top level"):
        normalize_config({**CFG, "train": {"seed": 3}})


def test_splits_are_stratified_subsets():
    (xtr, ytr), (xva, yva), (xte, yte) = split_data(CFG)
    assert (len(ytr), len(yva)) == (150, 50) and len(yte) == 34  # 200 / 60000 of the 10000 test images
    assert np.bincount(ytr.numpy() if hasattr(ytr, "numpy") else ytr, minlength=10).min() >= 14
    _, _, (xall, _) = split_data({**CFG, "test_subset": "all"})
    assert len(xall) == 10_000


def test_run_writes_record_then_reuses_it(store):
    rec = classification_run(CFG, progress=False)
    assert rec["kind"] == "classification" and rec["hash"] == results.run_hash(normalize_config(CFG))
    assert (rec["n_train"], rec["n_val"], rec["n_test"]) == (150, 50, 34)
    for split in ("val", "test"):
        m = rec["metrics"][split]
        assert 0 <= m["accuracy"] <= 1 and len(m["confusion"]) == 10
    assert [r["epoch"] for r in rec["history"]] == [1, 2] and "val_accuracy" in rec["history"][0]
    assert rec["parameters"] > 0 and rec["images_per_second"] > 0 and rec["fold"]["folds"] == 4
    assert (store / "classification" / f"{rec['hash']}.json").exists()
    assert not checkpoint_dir(CFG).exists()  # cleaned up after the record is written
    again = classification_run(CFG)  # reused: identical, including provenance date
    assert again == rec


def test_same_seed_same_metrics_and_resume(store, tmp_path, monkeypatch):
    first = classification_run(CFG, progress=False)

    class Killed(Exception):
        pass

    def kill(row):
        raise Killed

    monkeypatch.setenv("KANMIX_RESULTS", str(tmp_path / "other"))
    with pytest.raises(Killed):
        classification_run(CFG, progress=False, on_epoch=kill)  # dies after epoch 1's checkpoint
    assert results.load_record(normalize_config(CFG)) is None and checkpoint_dir(CFG).exists()
    resumed = classification_run(CFG, progress=False)
    assert resumed["resumed_from_epoch"] == 1
    assert resumed["metrics"] == first["metrics"] and resumed["history"] == first["history"]


def test_keep_weights_round_trip():
    rec = classification_run({**CFG, "fold": None}, keep_weights=True)
    assert rec["metrics"]["val"] is None
    model = load_trained({**CFG, "fold": None})
    assert model is not None and sum(p.numel() for p in model.parameters()) == rec["parameters"]


def test_config_hashes_are_stable():
    # Hashes computed by the code before the data split moved into normalize_split/load_split:
    # stored records must keep them, or every study would silently retrain.
    assert results.config_hash(normalize_config(CFG)) == "299c588623aa497d"
    assert results.config_hash(normalize_config({"dataset": "mnist", "model": "mlp"})) == "5520b25b62d04a23"
    other = {"dataset": "cifar10", "model": "kan", "size": 16, "test_subset": "all", "subset_seed": 3}
    assert results.config_hash(normalize_config(other)) == "c294f5f064b80c68"


def test_split_needs_no_model():
    split = split_of(CFG)
    assert "model" not in split and normalize_split(split)["fold"] == {"folds": 4, "fold": 1, "repeat": 0, "seed": 0}
    for (x, y), (x_cls, y_cls) in zip(load_split(split), split_data(CFG)):
        assert torch.equal(x, x_cls) and torch.equal(y, y_cls)
    with pytest.raises(ValueError, match=r"unknown split key\(s\) \['model'\]"):
        normalize_split({"dataset": "mnist", "model": "mlp"})
    with pytest.raises(ValueError, match="subset=3"):
        load_split({"dataset": "mnist", "subset": 3})
