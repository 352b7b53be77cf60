import json
import re

import pytest

from kanmix.cli.train import main

TINY = ["--model", "kan_mixer", "--dataset", "fashion_mnist", "--epochs", "1", "--subset", "100",
        "--patch", "14", "--dim", "8", "--depth", "1", "--token-hidden", "4", "--channel-hidden", "8",
        "--grid-size", "3", "--batch-size", "50", "--no-progress"]


pytestmark = pytest.mark.usefixtures("store")


@pytest.mark.parametrize("argv, message", [
    # The model checks its own arguments; the flag is named in front of its message.
    (["--model", "kan_mixer", "--dataset", "fashion_mnist", "--patch", "5"],
     r"argument --patch: patch=5 does not divide the 28x28 image; choose one of \[1, 2, 4, 7, 14, 28\]"),
    (["--model", "mlp_mixer", "--dataset", "mnist", "--dim", "0"], "argument --dim: dim=0 must be a positive integer"),
    (["--model", "mlp", "--dataset", "mnist", "--hidden", "64,-1"],
     r"argument --hidden: hidden\[1\]=-1 must be a positive integer"),
    # The configs (split, fold, training) check theirs.
    (["--model", "kan", "--dataset", "mnist", "--folds", "5", "--fold", "5"], r"argument --fold: fold.fold=5 must be in 0..4"),
    (["--model", "kan", "--dataset", "mnist", "--folds", "1"], r"argument --folds: fold.folds=1 must be an integer >= 2"),
    (["--model", "kan", "--dataset", "mnist", "--subset", "5"], "argument --subset: subset=5 must be an integer >= 10"),
    (["--model", "kan", "--dataset", "mnist", "--epochs", "0"], "argument --epochs: epochs=0 must be a positive integer"),
    (["--model", "kan", "--dataset", "mnist", "--checkpoint-every", "-1"], "argument --checkpoint-every: checkpoint_every_s"),
    # The command line itself: choices, text that is not a value, flags for another model.
    (["--model", "resnet", "--dataset", "mnist"], "argument --model: invalid choice: 'resnet' .*kan_mixer"),
    (["--model", "mlp", "--dataset", "imagenet"], "argument --dataset: invalid choice: 'imagenet' .*cifar10"),
    (["--model", "mlp", "--dataset", "mnist", "--precision", "fp16"], "argument --precision: invalid choice: 'fp16'"),
    (["--model", "mlp", "--dataset", "mnist", "--hidden", "64,x"], "argument --hidden: must be comma-separated integers"),
    (["--model", "mlp", "--dataset", "mnist", "--epochs", "two"], "argument --epochs: must be an integer, got 'two'"),
    (["--model", "mlp", "--dataset", "mnist", "--grid-size", "3"], "argument --grid-size: does not apply to --model mlp"),
    (["--model", "kan", "--dataset", "mnist", "--augment", "flip"], "argument --augment: must be none, paper"),
])
def test_bad_arguments_fail_in_one_line_before_training(argv, message, capsys, store, no_training):
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
    assert "--precision {fp32,bf16,auto}" in out and "(default: auto)" in out  # TrainConfig's default


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


def test_precision_bf16_trains_on_the_cpu(capsys, store):
    assert main([*TINY, "--device", "cpu", "--precision", "bf16"]) == 0
    out = capsys.readouterr().out
    assert "kan_mixer on fashion_mnist (bf16)" in out and "test accuracy" in out
    (record,) = (store / "classification").glob("*.json")
    assert json.loads(record.read_text())["config"]["train"]["precision"] == "bf16"


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
