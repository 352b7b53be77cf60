import numpy as np
import pytest

from kanmix import results, runner, runtime
from kanmix.experiment import ClassificationRun
from kanmix.metrics import classification_metrics

CFG = {
    "dataset": "fashion_mnist",
    "model": "kan_mixer",
    "model_kwargs": {"patch": 14, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8, "grid_size": 3},
    "train": {"epochs": 2, "batch_size": 50, "lr": 3e-3, "precision": "fp32"},
    "subset": 200,
    "seed": 0,
    "fold": {"folds": 4, "fold": 1},
}
RUN = ClassificationRun.from_dict(CFG)
pytestmark = pytest.mark.usefixtures("store")


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


def test_config_is_validated_once_and_round_trips():
    cfg = ClassificationRun.from_dict({"dataset": "mnist", "model": "mlp", "train": {"device": "cpu", "epochs": 3}})
    d = cfg.to_dict()
    assert d["train"]["epochs"] == 3 and "device" not in d["train"] and d["seed"] == 0 and d["kind"] == "classification"
    assert d["train"]["precision"] in ("fp32", "bf16")  # auto is resolved before hashing
    assert ClassificationRun.from_dict(d).to_dict() == d
    assert RUN.split.fold.folds == 4 and RUN.seed == 0 and RUN.train.lr == 3e-3


@pytest.mark.parametrize("bad, match", [
    ({"dataset": "imagenet", "model": "mlp"}, "unknown dataset 'imagenet'"),
    ({"dataset": "mnist", "model": "kan_ae"}, "unknown classifier 'kan_ae'"),
    ({"dataset": "mnist"}, "needs 'model'"),
    ({**CFG, "fold": {"folds": 4, "fold": 4}}, "fold.fold=4"),
    ({**CFG, "train": {"seed": 3}}, "top level"),
    ({**CFG, "train": {"lr": 0}}, "lr=0 must be a positive number"),
    ({**CFG, "epoch": 3}, r"unknown config key\(s\) \['epoch'\]"),
    ({**CFG, "kind": "ae"}, "kind='ae'"),
])
def test_bad_configs_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        ClassificationRun.from_dict(bad)


def test_auto_precision_is_resolved_before_hashing(monkeypatch):
    auto = {**CFG, "train": {**CFG["train"], "precision": "auto"}}
    keys = {}
    for fast, precision in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(runtime, "cpu_bf16_is_faster", lambda: fast)
        cfg = ClassificationRun.from_dict({**auto, "train": {**auto["train"], "device": "cpu"}}).to_dict()
        assert cfg["train"]["precision"] == precision
        keys[precision] = results.run_hash(cfg)
    assert keys["fp32"] == results.run_hash(RUN.to_dict()) != keys["bf16"]


def test_run_writes_record_then_reuses_it(store):
    rec = runner.record(RUN)
    assert rec["kind"] == "classification" and rec["hash"] == results.run_hash(RUN.to_dict())
    assert rec["config"] == RUN.to_dict()
    assert (rec["n_train"], rec["n_val"], rec["n_test"]) == (150, 50, 34)
    for split in ("val", "test"):
        m = rec["metrics"][split]
        assert 0 <= m["accuracy"] <= 1 and len(m["confusion"]) == 10
    assert [r["epoch"] for r in rec["history"]] == [1, 2] and "val_accuracy" in rec["history"][0]
    # A KAN model's history says, per epoch, how much of each KAN layer's input left its grid.
    outside = rec["history"][-1]["outside_grid"]
    assert set(outside) == {"blocks.0.token_mix.0", "blocks.0.token_mix.1", "blocks.0.channel_mix.0",
                            "blocks.0.channel_mix.1"} and all(0 <= v <= 1 for v in outside.values())
    assert rec["parameters"] > 0 and rec["images_per_second"] > 0 and rec["fold"]["folds"] == 4
    assert (store / "classification" / f"{rec['hash']}.json").exists()
    assert not results.checkpoint_dir(RUN.to_dict()).exists()  # cleaned up after the record is written
    again = runner.record(RUN)  # reused: identical, including provenance date
    assert again == rec


def test_same_seed_same_metrics_and_resume(tmp_path, monkeypatch):
    first = runner.record(RUN)

    class Killed(Exception):
        pass

    def kill(row):
        raise Killed

    monkeypatch.setenv("KANMIX_RESULTS", str(tmp_path / "other"))
    with pytest.raises(Killed):
        runner.record(RUN, on_epoch=kill)  # dies after epoch 1's checkpoint
    assert results.load_record(RUN.to_dict()) is None and results.checkpoint_dir(RUN.to_dict()).exists()
    resumed = runner.record(RUN)
    assert resumed["resumed_from_epoch"] == 1
    assert resumed["metrics"] == first["metrics"] and resumed["history"] == first["history"]


def test_keep_weights_round_trip():
    cfg = ClassificationRun.from_dict({**CFG, "fold": None})
    rec = runner.record(cfg, keep_weights=True)
    assert rec["metrics"]["val"] is None
    model = runner.load_trained(cfg)
    assert model is not None and not model.training
    assert sum(p.numel() for p in model.parameters()) == rec["parameters"]


def test_config_hashes_are_stable():
    # Stored records are found by these keys: a change here makes every study retrain, so it
    # must be deliberate (and the records regenerated).
    assert results.config_hash(RUN.to_dict()) == "d9d3695c3f984ab2"
    plain = {"dataset": "mnist", "model": "mlp", "train": {"precision": "fp32"}}
    assert results.config_hash(ClassificationRun.from_dict(plain).to_dict()) == "a062ebbf1350ad42"
    other = {"dataset": "cifar10", "model": "kan", "size": 16, "test_subset": "all", "subset_seed": 3,
             "train": {"precision": "bf16"}}
    assert results.config_hash(ClassificationRun.from_dict(other).to_dict()) == "a9775d4f6449f275"


def test_record_many_trains_missing_runs_in_worker_processes_then_reads_them_in_order(store):
    from dataclasses import replace

    cfgs = [replace(RUN, train=replace(RUN.train, seed=s)) for s in (0, 1, 2)]
    first = runner.record(cfgs[0])  # stored already: no worker trains it again
    records = runner.record_many([cfgs[2], cfgs[0], cfgs[1], cfgs[2]], workers=2)
    assert [r["config"]["seed"] for r in records] == [2, 0, 1, 2] and records[0] == records[3]
    assert records[1] == first
    # The two new runs were trained by the workers, each with its share of the threads.
    assert records[0]["provenance"]["threads"] == records[2]["provenance"]["threads"] >= 1
    assert len(list((store / "classification").glob("*.json"))) == 3
    with pytest.raises(ValueError, match="2 flags for 3 runs"):
        runner.record_many(cfgs, keep_weights=[True, False])
