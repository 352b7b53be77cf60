"""Faults and bad values: each test is one probe that once got past the checks (a trusted edited
record, NaN weights kept as good, a traceback on a full or read-only disk, a value that trained
before failing). Tiny synthetic data where content does not matter; real files and real file
systems (a tmpfs mounted read-only or 64 KiB small) where the fault is in the files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import torch

from kanmix import data, results, search
from kanmix.cli import main as kanmix
from kanmix.runtime import seed_everything
from kanmix.models import build_model
from kanmix.checkpoint import load_checkpoint, save_checkpoint
from kanmix.train import TrainConfig, TrainingDiverged, fit

#: The issue's probe: a small MLP on 500 MNIST images for one epoch (a few seconds).
T = ["train", "--model", "mlp", "--dataset", "mnist", "--subset", "500", "--epochs", "1", "--hidden", "16",
     "--no-progress"]


def one_line(capsys, argv, status=1) -> str:
    """Run ``python -m kanmix argv`` in process; its error must be one line with ``status``, no traceback."""
    try:
        code = kanmix(argv)
    except SystemExit as exc:  # argparse's errors exit with 2
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == status, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ------------------------------------------------------------------------- 1. records are checked


def test_an_edited_record_is_refused_not_reported(store, capsys):
    assert kanmix(T) == 0
    capsys.readouterr()
    (path,) = (store / "classification").glob("*.json")
    record = json.loads(path.read_text())
    record["metrics"]["test"]["accuracy"] = 0.9999
    path.write_text(json.dumps(record, sort_keys=True, indent=1))
    err = one_line(capsys, T)
    assert str(path) in err and "checksum" in err and "0.9999" not in err


def test_a_record_whose_config_was_edited_is_refused(store, capsys):
    assert kanmix(T) == 0
    capsys.readouterr()
    (path,) = (store / "classification").glob("*.json")
    record = json.loads(path.read_text())
    record["config"]["model"], record["config"]["train"]["lr"] = "kan", 0.5
    record["checksum"] = results.record_checksum(record)  # even with a matching checksum
    path.write_text(json.dumps(record))
    with pytest.raises(results.RecordError, match="does not hash to its name .*edited"):
        results.read_record(path)
    assert "does not hash" in one_line(capsys, T)


def test_a_record_under_another_name_is_refused(store):
    results.cached_run({"kind": "demo", "seed": 0}, lambda: {"score": 1})
    (path,) = (store / "demo").glob("*.json")
    other = path.with_name("0123456789abcdef.json")
    shutil.copy(path, other)
    with pytest.raises(results.RecordError, match="not its file name's: it was copied or renamed"):
        list(results.iter_records("demo"))
    other.unlink()
    path.rename(store / "elsewhere.json")
    (store / "demo2").mkdir()
    shutil.copy(store / "elsewhere.json", store / "demo2" / path.name)  # right name, wrong kind folder
    with pytest.raises(results.RecordError, match="does not hash to its name"):
        results.read_record(store / "demo2" / path.name)


def test_a_record_without_checksum_is_refused(store):
    results.cached_run({"kind": "demo", "seed": 1}, lambda: {"score": 1})
    (path,) = (store / "demo").glob("*.json")
    record = json.loads(path.read_text())
    del record["checksum"]
    path.write_text(json.dumps(record))
    with pytest.raises(results.RecordError, match="has no checksum"):
        results.load_record({"kind": "demo", "seed": 1})


def test_every_committed_record_passes_the_checks():
    """The committed store: every record's name, stored hash, config hash and checksum agree."""
    root = Path(__file__).resolve().parent.parent / "results"
    paths = sorted(root.glob("*/*.json"))
    assert len(paths) >= 151
    for path in paths:
        record = results.read_record(path)
        assert record["hash"] == path.stem == results.run_hash(record["config"], record["numerics"])


# ------------------------------------------------------------------------- 2. NaN weights


def tiny(seed=0):
    seed_everything(seed)
    return build_model("mlp", in_shape=(1, 28, 28), hidden=[8])


CFG = dict(epochs=2, batch_size=32, lr=1e-2, progress=False, device="cpu", precision="fp32")


def poison_gradient_at(model, step: int):
    """Make the gradient NaN on training step ``step`` (1-based) only: the loss of that step is
    finite, so only a check of the weights after the update can see the damage."""
    calls = {"n": 0}
    first = next(model.parameters())

    def hook(grad):
        calls["n"] += 1
        return grad * float("nan") if calls["n"] == step else grad

    first.register_hook(hook)


def test_nan_weights_after_the_last_step_are_caught(synthetic, tmp_path):
    images, labels = synthetic(128)  # 4 steps per epoch
    model = tiny()
    poison_gradient_at(model, 8)  # the very last step: no later loss would ever see it
    with pytest.raises(TrainingDiverged, match=r"weights became non-finite .* end of epoch 2.*already clipped"):
        fit(model, images, labels, CFG, checkpoint_dir=tmp_path, val=(images, labels))
    state = load_checkpoint(tmp_path / "last.pt")
    assert state["epoch"] == 1  # the last good state, and it is good
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_nan_weights_are_never_checkpointed_and_a_rerun_completes(synthetic, tmp_path):
    images, labels = synthetic(128)
    model = tiny()
    poison_gradient_at(model, 4)  # the last step of epoch 1: the end-of-epoch checkpoint would hold NaN
    with pytest.raises(TrainingDiverged, match=r"end of epoch 1; no checkpoint was written"):
        fit(model, images, labels, CFG, checkpoint_dir=tmp_path, val=(images, labels))
    assert not (tmp_path / "last.pt").exists()
    out = fit(tiny(), images, labels, CFG, checkpoint_dir=tmp_path, val=(images, labels))
    assert out["resumed_from_epoch"] is None and len(out["history"]) == 2


def test_a_checkpoint_with_nan_weights_is_set_aside(synthetic, tmp_path, capsys):
    images, labels = synthetic(64)
    fit(tiny(), images, labels, {**CFG, "epochs": 1}, checkpoint_dir=tmp_path)
    state = load_checkpoint(tmp_path / "last.pt")
    next(iter(state["model"].values())).fill_(float("nan"))
    save_checkpoint(tmp_path / "last.pt", state)
    out = fit(tiny(), images, labels, CFG, checkpoint_dir=tmp_path)
    assert "NaN or infinity" in capsys.readouterr().err
    assert out["resumed_from_epoch"] is None and (tmp_path / "last.pt.unreadable").exists()


def test_force_starts_clean_and_an_unreadable_checkpoint_is_kept(store):
    cfg = {"kind": "demo", "seed": 2}
    folder = results.checkpoint_dir(cfg)
    folder.mkdir(parents=True)
    (folder / "last.pt").write_bytes(b"state of a diverged run")
    (folder / "last.pt.unreadable").write_bytes(b"crafted")
    seen = []
    results.cached_run(cfg, lambda: seen.append(sorted(p.name for p in folder.iterdir())) or {"score": 1}, force=True)
    assert seen == [["last.pt.unreadable"]]  # the old state was gone before the run started
    assert (folder / "last.pt.unreadable").read_bytes() == b"crafted"  # kept after success, where it was


# ------------------------------------------------------------------------- 3. storage faults


@pytest.fixture
def mount(tmp_path):
    """``mount(options) -> folder``: a real tmpfs mounted with ``options`` (needs root; skipped
    with the reason otherwise). Unmounted at the end."""
    mounted = []

    def make(options: str) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'})")
        mounted.append(where)
        return where

    yield make
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_store_fails_in_one_line_before_training(mount, monkeypatch, capsys, no_training):
    ro = mount("ro,size=1m")
    monkeypatch.setenv("KANMIX_RESULTS", str(ro / "results"))
    err = one_line(capsys, T)
    assert "cannot be written" in err and "KANMIX_RESULTS" in err
    with pytest.raises(results.RecordError, match="cannot be written"):
        results.cached_run({"kind": "demo"}, lambda: pytest.fail("ran on a read-only store"))


def test_a_full_disk_loses_no_trained_work(mount, monkeypatch, capsys):
    small = mount("size=64k")
    monkeypatch.setenv("KANMIX_RESULTS", str(small / "results"))
    # The checkpoint (the MLP and AdamW's moments, over 64 KiB) cannot be written: training goes on.
    assert kanmix([*T[:-3], "--hidden", "64", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert err.count("cannot write the checkpoint") == 1 and "training goes on" in err
    assert "test accuracy" in out
    # The finished record cannot be written either: it is kept elsewhere, and the error says where.
    cfg = {"kind": "demo", "seed": 3}

    def fill_the_disk():
        fd = os.open(small / "filler", os.O_WRONLY | os.O_CREAT)
        with pytest.raises(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        os.close(fd)
        return {"curve": list(range(5000))}

    with pytest.raises(results.RecordError, match=r"No space left on device.*kept at (\S+): free space") as exc:
        results.cached_run(cfg, fill_the_disk)
    kept = Path(str(exc.value).split("kept at ")[1].split(":")[0])
    rescued = json.loads(kept.read_text())
    assert rescued["curve"][-1] == 4999 and rescued["checksum"] == results.record_checksum(rescued)
    kept.unlink()


# ------------------------------------------------------------------------- 4. values, not only types


@pytest.mark.parametrize("argv, message", [
    ([*T, "--weight-decay", "nan"], "argument --weight-decay: must be a finite number, got 'nan'"),
    ([*T, "--lr", "inf"], "argument --lr: must be a finite number, got 'inf'"),
    (["train", "--model", "mlp", "--dataset", "mnist", "--dropout", "nan"], "argument --dropout: must be a finite"),
    ([*T[:5], "--subset", "1000000", "--epochs", "1"], r"argument --subset: subset=1000000 is more than the 60,000"),
    ([*T, "--test-subset", "20000"], r"argument --test-subset: test_subset=20000 is more than the 10,000"),
    ([*T, "--fold", "3"], "argument --fold: needs --folds"),
    ([*T, "--fold-seed", "3"], "argument --fold-seed: needs --folds"),
    ([*T[:-3], "--hidden", "4096,4096", "--keep-weights"], r"keep_weights: the model's weights are 76\.4 MB, over"),
    (["search", "--dataset", "mnist", "--trials", "1", "--lr-range", "1e-3", "inf"],
     r"argument --lr-range: must be a positive finite number, got 'inf'"),
])
def test_bad_values_fail_in_one_line_before_training(argv, message, capsys, store, no_training):
    err = one_line(capsys, argv, status=2)
    assert re.search(message, err), err
    assert not (store / "classification").exists()


def test_configs_refuse_values_that_compare_false():
    for name in ("weight_decay", "warmup", "min_lr_ratio", "label_smoothing", "grad_clip"):
        with pytest.raises(ValueError, match=f"{name}=nan must be a finite number"):
            TrainConfig(**{name: float("nan")})
    with pytest.raises(ValueError, match="dropout=nan must be a finite number"):
        from kanmix.experiment import ClassificationRun

        ClassificationRun.from_dict({"dataset": "mnist", "model": "mixer", "model_kwargs": {"dropout": float("nan")}})


# ------------------------------------------------------------------------- 6. data faults keep their detail


@pytest.fixture
def small_data(tmp_path, monkeypatch):
    """A fetched-looking MNIST of 20 images in a data folder of its own (``KANMIX_DATA``)."""
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (20, 1, 28, 28), dtype=np.uint8),
              "train_labels": np.arange(20, dtype=np.int64) % 10,
              "test_images": rng.integers(0, 256, (10, 1, 28, 28), dtype=np.uint8),
              "test_labels": np.arange(10, dtype=np.int64)}
    data.store_dataset("mnist", arrays, tmp_path / "data")
    monkeypatch.setenv("KANMIX_DATA", str(tmp_path / "data"))
    data._VERIFIED.clear()
    yield tmp_path / "data" / "mnist"
    data._VERIFIED.clear()


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_array_is_named_not_called_unfetched(small_data, damage, capsys, store):
    path = small_data / "train_images.npy"
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    else:
        raw = raw[: len(raw) // 2]
    path.write_bytes(bytes(raw))
    err = one_line(capsys, T)
    assert str(path) in err and "corrupt" in err and "not fetched" not in err


def test_a_damaged_manifest_is_one_line_in_train_and_data_list(small_data, capsys, store):
    (small_data / "manifest.json").write_text('{"arrays": {"train_images": ')
    err = one_line(capsys, T)
    assert "manifest.json is damaged" in err and "data fetch mnist --force" in err
    assert kanmix(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "mnist" in out and "damaged:" in out and "manifest.json is damaged" in out


# ------------------------------------------------------------------------- 7. smaller faults


def test_the_default_study_database_stays_inside_an_odd_store_path(tmp_path, monkeypatch):
    from sqlalchemy.engine import make_url

    odd = tmp_path / "store?mode=ro%20x"
    monkeypatch.setenv("KANMIX_RESULTS", str(odd))
    url = make_url(search.default_storage())
    assert url.database == str(odd / "search.sqlite3") and not url.query
    storage = search.open_storage()
    assert (odd / "search.sqlite3").exists() and storage is not None


def test_a_damaged_study_database_is_one_line(tmp_path, monkeypatch, capsys, store):
    import optuna

    db = tmp_path / "study.sqlite3"
    url = f"sqlite:///{db}"
    optuna.create_study(study_name="s", storage=search.open_storage(url))
    raw = bytearray(db.read_bytes())
    raw[100:] = b"\xa5" * (len(raw) - 100)  # every page after the header is garbage
    db.write_bytes(bytes(raw))
    err = one_line(capsys, ["search", "--dataset", "mnist", "--trials", "1", "--storage", url, "--folds", "2",
                            "--subset", "100", "--epochs", "1"], status=2)
    assert str(db) in err and ("malformed" in err or "not a database" in err)
    with pytest.raises(search.StorageError, match="failed .*finished trials and their run records are kept"):
        with search._database_errors(url):
            optuna.load_study(study_name="s", storage=optuna.storages.RDBStorage(url))


def test_a_deflated_or_oversized_checkpoint_is_refused_before_it_is_read(synthetic, tmp_path, capsys):
    images, labels = synthetic(64)
    bomb = tmp_path / "last.pt"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data/0", b"\0" * (256 << 20))  # 256 MiB that pack into a few hundred KiB
    assert bomb.stat().st_size < (1 << 20)
    with pytest.raises(ValueError, match="compressed"):
        load_checkpoint(bomb)
    out = fit(tiny(), images, labels, {**CFG, "epochs": 1}, checkpoint_dir=tmp_path)
    assert "is compressed" in capsys.readouterr().err and out["resumed_from_epoch"] is None
    big = tmp_path / "big" / "last.pt"
    big.parent.mkdir()
    with open(big, "wb") as f:
        f.truncate(1 << 30)  # sparse: a 1 GiB file that costs no disk
    fit(tiny(), images, labels, {**CFG, "epochs": 1}, checkpoint_dir=big.parent)
    assert "more than the" in capsys.readouterr().err and (big.parent / "last.pt.unreadable").exists()


def test_resuming_is_said_only_once_the_run_is_ours(store, capsys, monkeypatch):
    """``train`` used to print "resuming from" before waiting on another process's lock; now the
    training loop says it when it actually restores the checkpoint, under the lock."""
    from kanmix import runner

    calls = {"n": 0}
    real_fit = runner.fit

    def interrupted_fit(model, *args, **kwargs):
        def forward_then_stop(x, _forward=model.forward):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return _forward(x)

        model.forward = forward_then_stop
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(runner, "fit", interrupted_fit)
    assert kanmix([*T, "--checkpoint-every", "0"]) == 130
    capsys.readouterr()
    monkeypatch.setattr(runner, "fit", real_fit)
    assert kanmix(T) == 0
    err = capsys.readouterr().err
    assert err.count("resuming from") == 1 and err.index("kanmix: resuming from") < err.index("epoch=1")


def test_records_say_whether_the_kan_kernels_were_compiled(store):
    record = results.cached_run({"kind": "demo", "seed": 4}, lambda: {"score": 1})
    from kanmix import kan_fast

    assert record["provenance"]["kan_compile"] is kan_fast.compiled()
