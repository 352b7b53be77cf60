"""`python -m kanmix cv`: stratified k-fold cross-validation of one or more classifiers.

    python -m kanmix cv --model kan_mixer --dataset fashion_mnist --folds 2 --epochs 1 --subset 2000
    python -m kanmix cv --model kan_mixer mlp_mixer --dataset fashion_mnist --size 32 --folds 5 --repeats 2
    python -m kanmix cv --model kan_mixer --dataset cifar10 --folds 5 --ray-address head:6379 --ray-gpus 1

A thin layer over :func:`kanmix.cv.run_folds`. Every fold of every model is a results-store
record: rerunning reuses finished folds, an interrupted study resumes at the first missing
one. ``--workers`` trains that many folds at a time here, ``--executor ray`` (or
``--ray-address``) on a Ray cluster. Prints the per-fold table, the per-model summary (mean +-
std, 95% CI) and, for several models, the paired comparisons of their validation accuracies
(Wilcoxon, Nadeau-Bengio, Holm).
"""

from __future__ import annotations

import argparse
import sys

from kanmix.cli._args import (add_executor_args, add_model_args, add_running_args, add_split_args,
                              add_training_args, classifier_config, config_errors, datasets_fetched, executor_option,
                              integer, new_parser, positive_int, stored_hashes)
from kanmix.data import DATASETS
from kanmix.models import CLASSIFIERS


def build_parser() -> argparse.ArgumentParser:
    p = new_parser("cv", __doc__)
    p.add_argument("--model", required=True, nargs="+", choices=list(CLASSIFIERS), metavar="MODEL",
                   help=f"classifier(s) to cross-validate on the same folds: {', '.join(CLASSIFIERS)}")
    p.add_argument("--dataset", required=True, choices=list(DATASETS),
                   help="dataset (fetched with `kanmix data fetch`)")
    p.add_argument("--folds", type=integer, default=5, help="K of stratified K-fold (>= 2)")
    p.add_argument("--repeats", type=positive_int, default=1, help="repeated K-fold: independent reshuffles")
    p.add_argument("--fold-seed", type=integer, default=0, help="seed of the fold assignment")
    add_split_args(p, subset_help="cross-validate on a stratified subset of N images")
    add_training_args(p, title="training (as `kanmix train`)")
    add_model_args(p, title="model (shared by all --model; defaults: the paper configuration)")
    add_executor_args(add_running_args(p, force_help="retrain folds even if their records exist"))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(set(args.model)) != len(args.model):
        parser.error(f"argument --model: lists a model twice: {' '.join(args.model)}")
    # kanmix train's routing of the model flags, per model; the folds are cv.plan's business.
    configs = {m: classifier_config(argparse.Namespace(**{**vars(args), "model": m, "folds": None}), parser)
               for m in args.model}
    common = {k: v for k, v in configs[args.model[0]].items() if k not in ("dataset", "model", "model_kwargs", "fold")}
    executor = executor_option(args, parser)

    import pandas as pd

    from kanmix import cv, results, stats

    models = {m: {"model": m, "model_kwargs": c["model_kwargs"]} for m, c in configs.items()}
    with config_errors(parser):
        runs = cv.plan(models, args.dataset, folds=args.folds, repeats=args.repeats, fold_seed=args.fold_seed,
                       force=args.force, **common)
    if not datasets_fetched("cv", [args.dataset]):
        return 1

    existed = stored_hashes([c for _, c in runs], args.force)
    print(f"{len(runs)} fold runs ({len(existed)} already in {results.results_dir()}); "
          f"{args.folds}-fold x {args.repeats} on {args.dataset}", file=sys.stderr)

    def on_record(label: str, rec: dict) -> None:
        f = rec["config"]["fold"]
        how = "reused" if rec["hash"] in existed else f"trained in {rec['train_seconds']:.1f} s"
        print(f"  {label} repeat {f['repeat']} fold {f['fold']}: val acc {rec['metrics']['val']['accuracy']:.4f}  "
              f"test acc {rec['metrics']['test']['accuracy']:.4f}  ({how})", file=sys.stderr, flush=True)

    try:
        labelled = cv.run_plan(runs, force=args.force, on_record=on_record, workers=args.workers, executor=executor)
    except KeyboardInterrupt:
        print("\ninterrupted; rerun the same command to resume at the first missing fold", file=sys.stderr)
        return 130

    df = cv.table(labelled)
    df["reused"] = df["hash"].isin(existed)
    cols = ["model", "repeat", "fold", "val_accuracy", "val_f1", "test_accuracy", "test_f1", "train_seconds",
            "images_per_second", "params", "n_train", "n_val", "n_test", "reused", "hash"]
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4f}".format):
        print("per-fold results")
        print(df[cols].to_string(index=False))
        summ = cv.summary(df, metrics=("val_accuracy", "val_f1", "test_accuracy", "test_f1", "train_seconds"))
        summ["mean +- std"] = [f"{a:.4f} +- {b:.4f}" for a, b in zip(summ["mean"], summ["std"])]
        summ["95% CI"] = [f"[{a:.4f}, {b:.4f}]" for a, b in zip(summ.ci_low, summ.ci_high)]
        print("\nper-model summary (95% CI: Nadeau-Bengio corrected for accuracy/F1)")
        print(summ[["model", "metric", "n", "mean +- std", "95% CI"]].to_string(index=False))
        if len(models) > 1:
            pairs = stats.all_pairs(df, metric="val_accuracy", folds=args.folds)
            print("\npaired comparisons of val accuracy (a - b)")
            print(pairs[["a", "b", "n", "mean_diff", "ci_low", "ci_high", "p_nb", "p_nb_holm", "p_wilcoxon",
                         "p_wilcoxon_holm", "p_floor", "d_z"]].to_string(index=False))
    print(f"\nrecords: {results.results_dir() / cv.ClassificationRun.KIND}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
