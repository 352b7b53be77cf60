import json
import re

import pytest

from kanmix.cli.train import main

TINY = ["--model", "kan_mixer", "--dataset", "fashion_mnist", "--epochs", "1", "--subset", "100",
        "--patch", "14", "--dim", "8", "--depth", "1", "--token-hidden", "4", "--channel-hidden", "8",
        "--grid-size", "3", "--batch-size", "50", "--no-progress"]


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("KANMIX_RESULTS", str(tmp_path / "res"))
    return tmp_path / "res"


@pytest.mark.parametrize("argv, message", [
    (["--model", "kan_mixer", "--dataset", "fashion_mnist", "--patch", "5"],
     r"argument --patch: 5 does not divide the 28x28 image of fashion_mnist; choose one of \[1, 2, 4, 7, 14, 28\]"),
    (["--model", "resnet", "--dataset", "mnist"], "argument --model: invalid choice: 'resnet' .*kan_mixer"),
    (["--model", "mlp", "--dataset", "imagenet"], "argument --dataset: invalid choice: 'imagenet' .*cifar10"),
    (["--model", "mlp_mixer", "--dataset", "mnist", "--dim", "0"], "argument --dim: must be a positive integer, got 0"),
    (["--model", "mlp", "--dataset", "mnist", "--hidden", "64,-1"], "argument --hidden: must be comma-separated"),
    (["--model", "mlp", "--dataset", "mnist", "--grid-size", "3"], "argument --grid-size: does not apply to --model mlp"),
    (["--model", "kan", "--dataset", "mnist", "--folds", "5", "--fold", "5"], r"argument --fold: must be in 0..4"),
    (["--model", "kan", "--dataset", "mnist", "--folds", "1"], r"argument --folds: must be an integer >= 2, got 1"),
    (["--model", "kan", "--dataset", "mnist", "--augment", "flip"], "argument --augment: must be none, paper"),
])
def test_bad_arguments_fail_in_one_line_before_training(argv, message, capsys, store):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not store.exists()  # nothing ran


def test_help_lists_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "kan_mixer" in out and "fashion_mnist" in out and "--subset" in out


def test_train_writes_record_and_rerun_reuses_it(capsys, store):
    assert main(TINY) == 0
    out, err = capsys.readouterr()
    assert "test accuracy" in out and "epoch=1" in err
    records = list((store / "classification").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["config"]["model_kwargs"]["dim"] == 8 and record["n_train"] == 100
    assert main(TINY) == 0
    out, err = capsys.readouterr()
    assert "reusing" in err and str(records[0]) in out
    assert json.loads(records[0].read_text()) == record


def _one_line_error(capsys, argv) -> str:
    from kanmix.cli import main as kanmix

    assert kanmix(["train", *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("kanmix train: error: "), err
    assert "Traceback" not in err
    return err


def test_known_failures_end_in_one_line_with_status_1(capsys, store, monkeypatch, tmp_path):
    # A damaged record: the message names the file and the fix.
    assert main(TINY) == 0
    capsys.readouterr()
    (record,) = (store / "classification").glob("*.json")
    record.write_text(record.read_text()[:100])
    err = _one_line_error(capsys, TINY)
    assert str(record) in err and "--force" in err
    # SVHN without its files: the data error says where to put them.
    monkeypatch.setenv("KANMIX_SVHN_DIR", str(tmp_path / "no-svhn"))
    err = _one_line_error(capsys, ["--model", "mlp", "--dataset", "svhn", "--epochs", "1", "--no-progress"])
    assert "SVHN" in err and "train_32x32.mat" in err and str(tmp_path / "no-svhn") in err
    # A diverged run: an absurd learning rate turns the loss into NaN or inf.
    err = _one_line_error(capsys, [*TINY, "--lr", "1e30", "--seed", "1"])
    assert "loss became" in err
