import pytest
import torch

from kanmix import ae
from kanmix.cli import _args
from kanmix.cli import ae as ae_cli
from kanmix.cli import cv as cv_cli
from kanmix.cli import main as kanmix_main
from kanmix.cli import search as search_cli
from kanmix.cli import train as train_cli
from kanmix.train import RUNTIME_OPTIONS, TrainConfig

QUICK = ["--epochs", "1", "--no-progress", "--device", "cpu"]
pytestmark = pytest.mark.usefixtures("store")


@pytest.mark.parametrize("command", ["cv", "ae", "search"])
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        kanmix_main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--subset" in out and "--epochs" in out and "--precision" in out


@pytest.mark.parametrize("module, argv, names", [
    (cv_cli, ["--model", "kan_mixer", "--dataset", "mnist", "--folds", "1"], ["--folds", ">= 2"]),
    (cv_cli, ["--model", "resnet", "--dataset", "mnist"], ["--model", "kan_mixer", "mlp_mixer"]),
    (cv_cli, ["--model", "kan_mixer", "--dataset", "mnist", "--patch", "5"], ["--patch", "[1, 2, 4, 7, 14, 28]"]),
    (ae_cli, ["--model", "kan", "--dataset", "mnist", "--bottleneck", "16", "0"], ["--bottleneck", "positive"]),
    (ae_cli, ["--model", "vae", "--dataset", "mnist", "--bottleneck", "16"], ["--model", "kan", "cnn", "mlp"]),
    (ae_cli, ["--model", "cnn", "--dataset", "mnist", "--bottleneck", "16"], ["--bottleneck", "multiple", "9"]),
    (search_cli, ["--dataset", "mnist", "--storage", "nosuchdialect://host/db"], ["--storage", "cannot be opened"]),
    (search_cli, ["--dataset", "mnist", "--folds", "1"], ["--folds", ">= 2"]),
    (search_cli, ["--dataset", "imagenet"], ["--dataset", "fashion_mnist"]),
    # The shared declarations (kanmix.cli._args) reject the same way in every command.
    (cv_cli, ["--model", "mlp", "--dataset", "mnist", "--warmup", "2"], ["--warmup", "[0, 1]"]),
    (search_cli, ["--dataset", "mnist", "--warmup", "2"], ["--warmup", "[0, 1]"]),
    (ae_cli, ["--model", "kan", "--dataset", "mnist", "--bottleneck", "16", "--test-subset", "5"],
     ["--test-subset", ">= 10"]),
    (search_cli, ["--dataset", "mnist", "--test-subset", "x"], ["--test-subset", ">= 10"]),
    (search_cli, ["--dataset", "mnist", "--subset", "5"], ["--subset", ">= 10"]),
    (ae_cli, ["--model", "kan", "--dataset", "mnist", "--bottleneck", "16", "--subset", "5"], ["--subset", ">= 10"]),
    (cv_cli, ["--model", "mlp", "--dataset", "mnist", "--grid-size", "3"], ["--grid-size", "does not apply"]),
    (ae_cli, ["--model", "kan", "--dataset", "mnist", "--bottleneck", "16", "--lr", "0"], ["--lr", "positive"]),
    (search_cli, ["--dataset", "mnist", "--lr-range", "0.1", "0.01"], ["--lr-range", "low <= high"]),
    (cv_cli, ["--model", "mlp", "--dataset", "mnist", "--precision", "half"], ["--precision", "invalid choice"]),
    (ae_cli, ["--model", "kan", "--dataset", "mnist", "--bottleneck", "16", "--precision", "half"],
     ["--precision", "invalid choice"]),
    (search_cli, ["--dataset", "mnist", "--precision", "half"], ["--precision", "invalid choice"]),
])
def test_bad_arguments_give_one_line_before_training(module, argv, names, capsys, no_training):
    with pytest.raises(SystemExit) as exit_:
        module.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for name in names:
        assert name in err


def test_cv_cli_prints_folds_and_reuses_records(capsys):
    argv = ["--model", "mlp", "--dataset", "fashion_mnist", "--folds", "2", "--subset", "100", "--test-subset", "50",
            "--hidden", "16", "--batch-size", "25", *QUICK]
    assert cv_cli.main(argv) == 0
    first = capsys.readouterr()
    assert "per-fold results" in first.out and "per-model summary" in first.out
    assert first.err.count("trained in") == 2 and "reused)" not in first.err
    assert cv_cli.main(argv) == 0
    second = capsys.readouterr()
    assert second.err.count("(reused)") == 2 and "trained in" not in second.err
    table = second.out.split("per-fold results\n", 1)[1].split("\n\n", 1)[0].splitlines()
    header, *fold_lines = table
    assert header.split()[:3] == ["model", "repeat", "fold"] and header.split()[-2] == "reused"
    assert [ln.split()[2] for ln in fold_lines] == ["0", "1"]
    assert all(ln.split()[-2] == "True" for ln in fold_lines)


def test_ae_cli_sweeps_bottlenecks_with_knn(capsys):
    argv = ["--model", "mlp", "--dataset", "mnist", "--bottleneck", "4", "8", "--subset", "100", "--test-subset", "50",
            "--hidden", "8", *QUICK]
    assert ae_cli.main(argv) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()[:3]
    assert "knn_accuracy" in header and "psnr" in header
    assert [r.split()[2] for r in rows] == ["4", "8"]
    assert ae_cli.main(argv) == 0
    assert capsys.readouterr().err.count("(reused)") == 2


def test_search_cli_runs_a_trial(store, capsys):
    # The MLP-Mixer keeps this quick (no KAN kernels to compile); the KAN-Mixer path is tested in test_search.
    argv = ["--dataset", "mnist", "--model", "mlp_mixer", "--trials", "1", "--folds", "2",
            "--subset", "40", "--test-subset", "20",
            "--patch", "14", "--dim", "4", "--depth", "1", "--batch-size", "20", *QUICK]
    assert search_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "1 trials" in out and "best: trial 0" in out
    assert (store / "search.sqlite3").exists()
    assert len(list((store / "classification").glob("*.json"))) == 2


def test_shared_training_defaults():
    # The flags' defaults are TrainConfig's; cv trains exactly as `kanmix train` does; the AE sweep
    # keeps the paper's recipe.
    def numbers(args):
        return {k: v for k, v in _args.training_config(args).items() if k not in RUNTIME_OPTIONS}

    train_args = train_cli.build_parser().parse_args(["--model", "mlp", "--dataset", "mnist"])
    cv_args = cv_cli.build_parser().parse_args(["--model", "mlp", "--dataset", "mnist"])
    defaults = {f: getattr(TrainConfig, f) for f in _args.TRAINING_ARGS}
    assert numbers(cv_args) == numbers(train_args) == defaults and defaults["precision"] == "auto"
    ae_args = ae_cli.build_parser().parse_args(["--model", "kan", "--dataset", "mnist", "--bottleneck", "16"])
    recipe = {k: ae.PAPER_RECIPE[k] for k in ("epochs", "batch_size", "lr", "weight_decay")}
    assert numbers(ae_args) == {**recipe, "precision": "auto"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_an_argument_error(capsys, no_training):
    with pytest.raises(SystemExit) as exit_:
        cv_cli.main(["--model", "mlp", "--dataset", "mnist", "--device", "cuda"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "argument --device" in err and "no CUDA GPU" in err
