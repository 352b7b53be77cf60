"""`python -m kanmix train`: train one classifier on one dataset, as one results-store record.

    python -m kanmix train --model kan_mixer --dataset fashion_mnist --epochs 1 --subset 2000

A thin layer over :func:`kanmix.experiment.classification_run`. Arguments are checked before
anything loads or trains; a bad one stops with a single line naming it and what is allowed.
Rerunning a finished command reuses its record (``--force`` retrains); rerunning an
interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import sys

from kanmix.cli._args import (add_model_args, add_running_args, add_split_args, add_training_args,
                              classifier_config, datasets_fetched, device, folds, new_parser, non_negative_int,
                              positive_float)
from kanmix.data import DATASETS
from kanmix.models import CLASSIFIERS


def build_parser() -> argparse.ArgumentParser:
    p = new_parser("train", __doc__)
    p.add_argument("--model", required=True, choices=list(CLASSIFIERS), help="classifier to train")
    p.add_argument("--dataset", required=True, choices=list(DATASETS), help="dataset (fetched with `kanmix data fetch`)")
    add_split_args(p)
    add_training_args(p)

    f = p.add_argument_group("cross-validation fold (optional)")
    f.add_argument("--folds", type=folds, default=None, help="split the training set into K stratified folds")
    f.add_argument("--fold", type=non_negative_int, default=0, help="which fold to hold out")
    f.add_argument("--repeat", type=non_negative_int, default=0, help="repeated k-fold: which reshuffle")
    f.add_argument("--fold-seed", type=non_negative_int, default=0)

    add_model_args(p, title="model (defaults: the paper configuration; see kanmix.models)")
    r = add_running_args(p, progress_help="progress bar", force_help="retrain even if a record exists")
    r.add_argument("--checkpoint-every", type=positive_float, default=60.0, metavar="SECONDS",
                   help="also checkpoint inside an epoch this often")
    r.add_argument("--keep-weights", action="store_true", help="store the trained weights beside the record")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cfg = classifier_config(args, parser)

    # Heavy imports only after the arguments are known to be good.
    from kanmix.experiment import checkpoint_dir, classification_run, normalize_config
    from kanmix.results import has_weights, load_record, record_path

    try:
        cfg = normalize_config(cfg)  # also validates the training settings against TrainConfig
    except ValueError as err:
        parser.error(str(err))
    run_device = device(args, parser)
    path = record_path(cfg)
    reused = (load_record(cfg) is not None and not args.force
              and (not args.keep_weights or has_weights(cfg)))
    if reused:
        print(f"reusing {path} (pass --force to retrain)", file=sys.stderr)
    elif not datasets_fetched("train", [args.dataset]):
        return 1
    elif (checkpoint_dir(cfg) / "last.pt").exists():
        print(f"resuming from {checkpoint_dir(cfg) / 'last.pt'}", file=sys.stderr)

    def on_epoch(row: dict) -> None:
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()]
        print("  " + "  ".join(parts), file=sys.stderr, flush=True)

    try:
        record = classification_run(cfg, force=args.force, progress=args.progress, device=run_device,
                                    keep_weights=args.keep_weights, on_epoch=on_epoch,
                                    checkpoint_every_s=args.checkpoint_every)
    except KeyboardInterrupt:
        print(f"\ninterrupted; rerun the same command to resume from {checkpoint_dir(cfg) / 'last.pt'}",
              file=sys.stderr)
        return 130
    except ValueError as err:  # a model argument the early checks could not see
        print(f"kanmix train: error: {err}", file=sys.stderr)
        return 2

    test, val = record["metrics"]["test"], record["metrics"]["val"]
    summary = [f"{cfg['model']} on {cfg['dataset']}: {record['parameters']:,} parameters",
               f"test accuracy {test['accuracy']:.4f} (macro F1 {test['f1']:.4f}, {record['n_test']} images)"]
    if val is not None:
        summary.append(f"val accuracy {val['accuracy']:.4f} ({record['n_val']} images)")
    ips = record["images_per_second"]
    summary.append(f"trained {record['n_train']} images x {cfg['train']['epochs']} epochs in "
                   f"{record['train_seconds']:.1f} s ({ips:.0f} images/s on {record['provenance']['device']})")
    summary.append(f"record: {path}")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
