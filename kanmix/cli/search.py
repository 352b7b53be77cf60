"""`python -m kanmix search`: Optuna random search over KAN-Mixer (or MLP-Mixer) hyper-parameters.

    python -m kanmix search --dataset fashion_mnist --trials 2 --folds 2 --epochs 1 --subset 2000
    python -m kanmix search --dataset cifar10 --trials 20 --storage postgresql://host/db --worker 1

A thin layer over :func:`kanmix.search.search`. Each trial samples patch size, dim, depth,
learning rate and weight decay, cross-validates that KAN-Mixer on the training split and
scores it by mean validation accuracy; every fold is a results-store record. The study lives
in SQLite beside the results unless ``--storage`` names another database; workers started
with the same study name and storage (and distinct ``--worker`` numbers) share the trials.
"""

from __future__ import annotations

import argparse
import sys

from kanmix.cli.train import _non_negative_float, _non_negative_int, _Parser, _positive_float, _positive_int
from kanmix.data import DATASETS
from kanmix.search import DEFAULT_SPACE


def _folds(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m kanmix search", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", required=True, choices=list(DATASETS),
                   help="dataset (fetched with `kanmix data fetch`)")
    p.add_argument("--model", choices=["kan_mixer", "mlp_mixer"], default="kan_mixer",
                   help="mixer to tune (tune the MLP-Mixer with the same budget for a fair comparison)")
    p.add_argument("--trials", type=_positive_int, default=10, help="trials this worker runs")
    p.add_argument("--total-trials", type=_positive_int, default=None,
                   help="stop once the whole study has this many finished trials")
    p.add_argument("--folds", type=_folds, default=3, help="K of the stratified K-fold inside each trial (>= 2)")
    p.add_argument("--fold-seed", type=_non_negative_int, default=0)
    p.add_argument("--size", type=_positive_int, default=None, help="resize images to SIZE x SIZE (the paper used 32)")
    p.add_argument("--subset", type=_positive_int, default=None, help="search on a stratified subset of N images")
    p.add_argument("--test-subset", default=None,
                   help="test images to score: an integer, or 'all' (default: same fraction as --subset)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed of the sampler and of every run")

    s = p.add_argument_group("search space")
    s.add_argument("--patch", type=_positive_int, nargs="+", default=DEFAULT_SPACE["patch"],
                   help="patch sizes (those not dividing the image side are dropped)")
    s.add_argument("--dim", type=_positive_int, nargs="+", default=DEFAULT_SPACE["dim"], help="token widths")
    s.add_argument("--depth", type=_positive_int, nargs="+", default=DEFAULT_SPACE["depth"], help="mixer blocks")
    s.add_argument("--lr-range", type=_positive_float, nargs=2, default=list(DEFAULT_SPACE["lr"]),
                   metavar=("LOW", "HIGH"), help="log-uniform learning-rate range")
    s.add_argument("--wd-range", type=_positive_float, nargs=2, default=list(DEFAULT_SPACE["weight_decay"]),
                   metavar=("LOW", "HIGH"), help="log-uniform weight-decay range")

    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=_positive_int, default=10)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--warmup", type=_non_negative_float, default=1.0, help="warm-up epochs before the cosine decay")

    r = p.add_argument_group("study and running")
    r.add_argument("--storage", default=None,
                   help="database URL (default: sqlite:///<results dir>/search.sqlite3)")
    r.add_argument("--study-name", default=None, help="default: derived from the dataset, space and settings")
    r.add_argument("--worker", type=_non_negative_int, default=0, help="distinct number per concurrent worker")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: on in an interactive terminal, off under CI)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag in ("lr_range", "wd_range"):
        low, high = getattr(args, flag)
        if low > high:
            parser.error(f"argument --{flag.replace('_', '-')}: LOW {low} must not exceed HIGH {high}")
    test_subset = args.test_subset
    if test_subset is not None and test_subset != "all":
        if not test_subset.isdigit() or int(test_subset) < 10:
            parser.error(f"argument --test-subset: must be 'all' or an integer >= 10, got {test_subset!r}")
        test_subset = int(test_subset)

    import optuna
    import pandas as pd

    from kanmix import data, results, search

    side = args.size or DATASETS[args.dataset].size
    space = {"patch": args.patch, "dim": args.dim, "depth": args.depth, "lr": tuple(args.lr_range),
             "weight_decay": tuple(args.wd_range)}
    try:
        space = search.check_space(space, side)
    except ValueError as err:
        parser.error(f"argument --patch: {err}")
    try:
        search.open_storage(args.storage)
    except ValueError as err:
        parser.error(f"argument --storage: {err}")
    if args.dataset != "svhn" and not data.is_fetched(args.dataset):
        print(f"kanmix search: error: dataset {args.dataset!r} is not fetched; run `python -m kanmix data fetch "
              f"{args.dataset}` first", file=sys.stderr)
        return 1
    if args.device == "cuda":
        from kanmix.train import resolve_device
        try:
            resolve_device("cuda")
        except ValueError as err:
            parser.error(f"argument --device: {err}")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    train = {"epochs": args.epochs, "batch_size": args.batch_size, "warmup": args.warmup}
    device = None if args.device == "auto" else args.device

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "failed" if trial.value is None else f"mean val acc {trial.value:.4f}"
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
        print(f"  trial {trial.number}: {value}  ({params})", file=sys.stderr, flush=True)

    try:
        study = search.search(args.dataset, model=args.model, trials=args.trials, folds=args.folds, space=space,
                              train=train, size=args.size, subset=args.subset, test_subset=test_subset, seed=args.seed,
                              fold_seed=args.fold_seed, storage=args.storage, name=args.study_name,
                              worker=args.worker, total_trials=args.total_trials, progress=args.progress,
                              device=device, callbacks=[report])
    except KeyboardInterrupt:
        print("\ninterrupted; finished trials are in the study, rerun to continue", file=sys.stderr)
        return 130

    table = search.trials_table(study).sort_values("val_accuracy", ascending=False, na_position="last")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(f"study {study.study_name!r} in {args.storage or search.default_storage()}: {len(table)} trials")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    done = table[table.state == "COMPLETE"]
    if len(done):
        best = study.best_trial
        print(f"\nbest: trial {best.number}, mean val accuracy {best.value:.4f}, {best.params}")
    print(f"fold records: {results.results_dir() / 'classification'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
