import dataclasses
import math

import pytest
import torch
from torch import nn

from kanmix.models import build_model
from kanmix.checkpoint import CheckpointError, load_checkpoint
from kanmix.runtime import progress_enabled, seed_everything
from kanmix.train import (RECONSTRUCT, TrainConfig, TrainingDiverged, encode, evaluate, fit, lr_lambda,
                          predict)


@pytest.fixture(scope="module")
def data(synthetic):
    return synthetic(128)


def tiny(seed=0):
    seed_everything(seed)
    return build_model("kan_mixer", in_shape=(1, 28, 28), patch=14, dim=8, depth=1, token_hidden=8,
                       channel_hidden=8, dropout=0.2, grid_size=3)


CFG = dict(epochs=2, batch_size=32, lr=3e-3, augment={"hflip": 0.5, "rotate": 10, "crop": 2}, progress=False,
           device="cpu", precision="fp32")


class Interrupt(nn.Module):
    """Wraps a model and raises (like a kill) on forward call number ``at``; ``mode="nan"`` poisons it instead."""

    def __init__(self, model, at, mode="kill"):
        super().__init__()
        self.model, self.at, self.mode, self.calls = model, at, mode, 0

    def forward(self, x):
        self.calls += self.training  # count training steps only, not evaluation
        out = self.model(x)
        if self.calls == self.at:
            if self.mode == "kill":
                raise KeyboardInterrupt
            out = out * float("nan")
        return out


def state_equal(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_schedule_warms_up_then_decays():
    lrs = [lr_lambda(s, 4, 20, 0.1) for s in range(21)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0] and lrs[4] == 1.0
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:])) and math.isclose(lrs[20], 0.1)


def test_config_validation():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="unknown training option"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="hflip"):
        TrainConfig(augment={"hflip": 3})
    with pytest.raises(ValueError, match="precision='fp16'; choose from fp32, bf16, auto"):
        TrainConfig(precision="fp16")
    with pytest.raises(dataclasses.FrozenInstanceError):  # validated once: it cannot change afterwards
        TrainConfig().lr = -1


def test_progress_quiet_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "1")
    assert progress_enabled(None) is False and progress_enabled(True) is True


def test_training_reduces_loss_and_is_deterministic(data):
    m1, m2 = tiny(), tiny()
    before = evaluate(m1, *data)["loss"]
    out1 = fit(m1, *data, CFG)
    out2 = fit(m2, *data, CFG)
    assert evaluate(m1, *data)["loss"] < before
    assert out1["history"] == out2["history"] and state_equal(m1, m2)
    assert out1["images_per_second"] > 0 and out1["steps"] == 8
    assert [r["epoch"] for r in out1["history"]] == [1, 2]
    out3 = fit(tiny(), *data, {**CFG, "seed": 1})
    assert out3["history"] != out1["history"]


# mid-epoch 1 (per-step checkpoints), mid-epoch 2 (after an end-of-epoch checkpoint), and in bf16
@pytest.mark.parametrize("kill_at, precision", [(2, "fp32"), (6, "fp32"), (6, "bf16")])
def test_resume_after_kill_matches_uninterrupted(data, tmp_path, kill_at, precision):
    ref = tiny()
    expected = fit(ref, *data, {**CFG, "precision": precision}, val=data)
    ckpt = tmp_path / "ckpt"
    cfg = {**CFG, "precision": precision, "checkpoint_every_s": 0.0}  # checkpoint after every step
    with pytest.raises(KeyboardInterrupt):
        fit(Interrupt(tiny(), kill_at), *data, cfg, checkpoint_dir=ckpt, val=data)
    state = load_checkpoint(ckpt / "last.pt")
    assert (state["epoch"], state["step"]) == divmod(kill_at - 1, 4)
    assert state["train_seconds"] > 0 and state["images_seen"] == (kill_at - 1) * CFG["batch_size"]
    resumed_model = tiny(seed=123)  # init is overwritten by the checkpoint
    got = fit(Interrupt(resumed_model, at=0), *data, cfg, checkpoint_dir=ckpt, val=data)
    assert got["resumed_from_epoch"] == pytest.approx((kill_at - 1) / 4)
    assert got["history"] == expected["history"]
    assert state_equal(resumed_model, ref)
    assert got["train_seconds"] > state["train_seconds"]  # the time before the kill counts too


def test_a_checkpoint_of_another_precision_is_not_resumed(data, tmp_path):
    fit(tiny(), *data, {**CFG, "epochs": 1}, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"checkpoint .*last\.pt is for .*'fp32'.*'bf16'.*delete it"):
        fit(tiny(), *data, {**CFG, "precision": "bf16"}, checkpoint_dir=tmp_path)


def test_bf16_trains_under_autocast_with_float32_weights(data):
    model = tiny()
    before = evaluate(model, *data, precision="bf16")["loss"]
    out = fit(model, *data, {**CFG, "precision": "bf16"}, val=data)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay float32
    assert out["history"][-1]["val_loss"] < before
    fp32 = evaluate(model, *data, precision="fp32")
    assert fp32["loss"] == pytest.approx(out["history"][-1]["val_loss"], rel=0.05)  # bf16 ~ 3 digits


def test_nan_loss_stops_and_keeps_last_good_checkpoint(data, tmp_path):
    model = Interrupt(tiny(), at=6, mode="nan")  # 4 steps per epoch: epoch 2, step 2
    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 2 .*last good checkpoint is kept"):
        fit(model, *data, CFG, checkpoint_dir=tmp_path)
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["epoch"] == 1 and state["step"] == 0
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_an_unreadable_checkpoint_is_moved_aside_and_training_starts_afresh(data, tmp_path, capsys):
    expected = fit(tiny(), *data, CFG)
    (tmp_path / "last.pt").write_bytes(b"PK\x03\x04 truncated by a full disk")
    got_model = tiny()
    got = fit(got_model, *data, CFG, checkpoint_dir=tmp_path)
    err = capsys.readouterr().err
    assert f"the checkpoint {tmp_path / 'last.pt'} cannot be used" in err and "starts from scratch" in err
    assert (tmp_path / "last.pt.unreadable").exists()  # kept for inspection, not deleted
    assert got["resumed_from_epoch"] is None and got["history"] == expected["history"]


def test_reconstruct_task_and_inference_helpers(data):
    images = data[0]
    seed_everything(0)
    ae = build_model("mlp_ae", in_shape=(1, 28, 28), hidden=32, bottleneck=8)
    before = evaluate(ae, images, None, objective=RECONSTRUCT)["loss"]
    out = fit(ae, images, None, dict(epochs=3, batch_size=32, lr=3e-3, progress=False, precision="fp32"),
              objective=RECONSTRUCT)
    assert "train_accuracy" not in out["history"][0]
    assert evaluate(ae, images, None, objective=RECONSTRUCT)["loss"] < before
    assert encode(ae, images, batch_size=50).shape == (128, 8)
    assert predict(ae, images, batch_size=50).shape == (128, 1, 28, 28)


def test_bad_inputs(data):
    with pytest.raises(ValueError, match="uint8"):
        fit(tiny(), data[0].float(), data[1], CFG)
    with pytest.raises(ValueError, match="labels"):
        fit(tiny(), *data[:1], None, CFG)
    with pytest.raises(TypeError, match="objective"):
        fit(tiny(), *data, CFG, objective="segment")
