"""`python -m kanmix train`: train one classifier on one dataset, as one results-store record.

    python -m kanmix train --model kan_mixer --dataset fashion_mnist --epochs 1 --subset 2000

A thin layer over :func:`kanmix.runner.record` of a :class:`kanmix.experiment.ClassificationRun`.
Arguments are checked (by that config, and by building the model) before anything loads or
trains; a bad one stops with a single line naming it and what is allowed.
Rerunning a finished command reuses its record (``--force`` retrains); rerunning an
interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import sys

from kanmix.cli._args import (add_config_args, add_model_args, add_running_args, add_split_args, add_training_args,
                              classifier_config, config_errors, datasets_fetched, integer, new_parser)
from kanmix.data import DATASETS
from kanmix.models import CLASSIFIERS
from kanmix.train import TrainConfig


def build_parser() -> argparse.ArgumentParser:
    p = new_parser("train", __doc__)
    p.add_argument("--model", required=True, choices=list(CLASSIFIERS), help="classifier to train")
    p.add_argument("--dataset", required=True, choices=list(DATASETS), help="dataset (fetched with `kanmix data fetch`)")
    add_split_args(p)
    add_training_args(p)

    f = p.add_argument_group("cross-validation fold (optional)")
    f.add_argument("--folds", type=integer, default=None, help="split the training set into K stratified folds")
    f.add_argument("--fold", type=integer, default=None, help="which fold to hold out (default 0; needs --folds)")
    f.add_argument("--repeat", type=integer, default=None, help="repeated k-fold: which reshuffle (default 0; "
                   "needs --folds)")
    f.add_argument("--fold-seed", type=integer, default=None, help="seed of the fold assignment (default 0)")

    add_model_args(p, title="model (defaults: the paper configuration; see kanmix.models)")
    r = add_running_args(p, progress_help="progress bar", force_help="retrain even if a record exists")
    add_config_args(r, TrainConfig, ["checkpoint_every_s"])
    r.add_argument("--keep-weights", action="store_true", help="store the trained weights beside the record")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    from kanmix import results, runner
    from kanmix.experiment import ClassificationRun
    from kanmix.checkpoint import CHECKPOINT

    with config_errors(parser):
        cfg = ClassificationRun.from_dict(classifier_config(args, parser))
    key = cfg.to_dict()
    path = results.record_path(key)
    checkpoint = results.checkpoint_dir(key) / CHECKPOINT
    reused = (not args.force and results.load_record(key) is not None
              and (not args.keep_weights or results.has_weights(key)))
    if reused:
        print(f"reusing {path} (pass --force to retrain)", file=sys.stderr)
    else:
        with config_errors(parser):
            runner.check_model(cfg, keep_weights=args.keep_weights)
        if not datasets_fetched("train", [args.dataset]):
            return 1

    def on_epoch(row: dict) -> None:
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()]
        print("  " + "  ".join(parts), file=sys.stderr, flush=True)

    try:
        record = runner.record(cfg, force=args.force, keep_weights=args.keep_weights, on_epoch=on_epoch)
    except KeyboardInterrupt:
        print(f"\ninterrupted; rerun the same command to resume from {checkpoint}", file=sys.stderr)
        return 130

    test, val = record["metrics"]["test"], record["metrics"]["val"]
    summary = [f"{cfg.model} on {cfg.split.dataset} ({cfg.train.precision}): {record['parameters']:,} parameters",
               f"test accuracy {test['accuracy']:.4f} (macro F1 {test['f1']:.4f}, {record['n_test']} images)"]
    if val is not None:
        summary.append(f"val accuracy {val['accuracy']:.4f} ({record['n_val']} images)")
    ips = record["images_per_second"]
    summary.append(f"trained {record['n_train']} images x {cfg.train.epochs} epochs in "
                   f"{record['train_seconds']:.1f} s ({ips:.0f} images/s on {record['provenance']['device']})")
    summary.append(f"record: {path}")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
