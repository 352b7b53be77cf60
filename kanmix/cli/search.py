"""`python -m kanmix search`: Optuna random search over KAN-Mixer (or MLP-Mixer) hyper-parameters.

    python -m kanmix search --dataset fashion_mnist --trials 2 --folds 2 --epochs 1 --subset 2000
    python -m kanmix search --dataset cifar10 --trials 20 --storage postgresql://user@host/db --worker 1

A thin layer over :func:`kanmix.search.search`. Each trial samples patch size, dim, depth,
learning rate and weight decay, cross-validates that KAN-Mixer on the training split and
scores it by mean validation accuracy; every fold is a results-store record. The study lives
in SQLite beside the results unless ``--storage`` names another database (PostgreSQL needs
``pip install -e '.[cluster]'``); workers started with the same study name and storage share
the trials, none drawing another's, and a trial whose worker died is retried by the others.
``--executor ray`` (or ``--ray-address``) trains each trial's folds on a Ray cluster;
``--parallel N`` trains N trials at a time. A budget: ``--first-folds 1`` scores each trial on
one fold, ``--max-flops`` skips the draws whose model costs more. After the search the study's
trials are exported beside the records (``<results>/search/<study>/trials.json``, with a checksum).
"""

from __future__ import annotations

import argparse
import sys

from kanmix.cli._args import (add_executor_args, add_running_args, add_split_args, add_training_args, config_errors,
                              datasets_fetched, executor_option, integer, new_parser, non_negative_int, positive_float,
                              positive_int, split_options, training_config)
from kanmix.data import DATASETS
from kanmix.search import DEFAULT_SPACE, HEARTBEAT


def build_parser() -> argparse.ArgumentParser:
    p = new_parser("search", __doc__)
    p.add_argument("--dataset", required=True, choices=list(DATASETS),
                   help="dataset (fetched with `kanmix data fetch`)")
    p.add_argument("--model", choices=["kan_mixer", "mlp_mixer"], default="kan_mixer",
                   help="mixer to tune (tune the MLP-Mixer with the same budget for a fair comparison)")
    p.add_argument("--trials", type=positive_int, default=10, help="trials this worker runs")
    p.add_argument("--total-trials", type=positive_int, default=None,
                   help="stop once the whole study has this many finished trials")
    p.add_argument("--folds", type=integer, default=3, help="K of the stratified K-fold inside each trial (>= 2)")
    p.add_argument("--first-folds", type=positive_int, default=None, metavar="N",
                   help="score each trial on the first N of its K folds only (a budget: 1 is one run a trial)")
    p.add_argument("--fold-seed", type=integer, default=0)
    add_split_args(p, subset_help="search on a stratified subset of N images",
                   seed_help="seed of the sampler and of every run")

    s = p.add_argument_group("search space")
    s.add_argument("--patch", type=positive_int, nargs="+", default=DEFAULT_SPACE["patch"],
                   help="patch sizes (those not dividing the image side are dropped)")
    s.add_argument("--dim", type=positive_int, nargs="+", default=DEFAULT_SPACE["dim"], help="token widths")
    s.add_argument("--depth", type=positive_int, nargs="+", default=DEFAULT_SPACE["depth"], help="mixer blocks")
    s.add_argument("--lr-range", type=positive_float, nargs=2, default=list(DEFAULT_SPACE["lr"]),
                   metavar=("LOW", "HIGH"), help="log-uniform learning-rate range")
    s.add_argument("--wd-range", type=positive_float, nargs=2, default=list(DEFAULT_SPACE["weight_decay"]),
                   metavar=("LOW", "HIGH"), help="log-uniform weight-decay range")
    s.add_argument("--max-flops", type=positive_float, default=None,
                   help="skip, untrained, the draws whose model needs more training FLOPs per image than this")

    # lr and weight decay are searched; the rest of the recipe is fixed for every trial.
    add_training_args(p, names=("epochs", "batch_size", "warmup", "precision"))

    r = add_running_args(p, title="study and running")
    r.add_argument("--storage", default=None,
                   help="database URL (default: sqlite:///<results dir>/search.sqlite3)")
    r.add_argument("--study-name", default=None, help="default: derived from the dataset, space and settings")
    r.add_argument("--worker", type=non_negative_int, default=0,
                   help="a label for this worker's trials (workers never share draws, whatever their numbers)")
    r.add_argument("--heartbeat", type=positive_int, default=HEARTBEAT, metavar="SECONDS",
                   help="a running trial's heartbeat; one silent for 3 heartbeats (its worker died) is retried")
    r.add_argument("--parallel", type=positive_int, default=1, metavar="N",
                   help="trials this worker trains at a time (their runs in N local processes, or on --executor)")
    add_executor_args(r, workers=False)  # --worker labels a search worker; --parallel sets its runs at a time
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    import optuna
    import pandas as pd

    from kanmix import results, search

    space = {"patch": args.patch, "dim": args.dim, "depth": args.depth, "lr": tuple(args.lr_range),
             "weight_decay": tuple(args.wd_range)}
    train = training_config(args)
    runtime = {"progress": train.pop("progress"), "device": train.pop("device")}
    study = {"folds": args.folds, "first_folds": args.first_folds, "space": space, "model": args.model, "train": train,
             **split_options(args), "seed": args.seed, "fold_seed": args.fold_seed, **runtime}
    executor = executor_option(args, parser)
    with config_errors(parser, aliases={"lr": "lr_range", "weight_decay": "wd_range"}):
        search.prepare(args.dataset, **study)
        search.open_storage(args.storage, heartbeat=args.heartbeat)
    if not datasets_fetched("search", [args.dataset]):
        return 1

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        value = "failed" if trial.value is None else f"mean val acc {trial.value:.4f}"
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
        print(f"  trial {trial.number}: {value}  ({params})", file=sys.stderr, flush=True)

    try:
        found = search.search(args.dataset, **study, trials=args.trials, storage=args.storage,
                              name=args.study_name, worker=args.worker, total_trials=args.total_trials,
                              callbacks=[report], heartbeat=args.heartbeat, executor=executor, parallel=args.parallel,
                              max_flops=args.max_flops)
    except KeyboardInterrupt:
        print("\ninterrupted; finished trials are in the study, rerun to continue", file=sys.stderr)
        return 130

    table = search.trials_table(found).sort_values("val_accuracy", ascending=False, na_position="last")
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(f"study {found.study_name!r} in {search.shown(args.storage)}: {len(table)} trials")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    done = table[table.state == "COMPLETE"]
    if len(done):
        best = found.best_trial
        print(f"\nbest: trial {best.number}, mean val accuracy {best.value:.4f}, {best.params}")
    print(f"fold records: {results.results_dir() / 'classification'}")
    print(f"trials exported to {search.export_study(found)} (commit it with the records)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
