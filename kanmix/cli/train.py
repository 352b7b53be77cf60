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

from kanmix.data import DATASETS
from kanmix.models import CLASSIFIERS, model_arguments

# CLI flag -> model keyword; each is passed only when given, so defaults live in kanmix.models.
MODEL_FLAGS = {
    "patch": int, "dim": int, "depth": int, "token_hidden": int, "channel_hidden": int, "dropout": float,
    "hidden": None, "grid_size": int, "spline_order": int,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {value}")
    return value


def _fraction_incl(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {value}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {value}")
    return value


def _widths(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers like 256,128, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"must be comma-separated positive integers like 256,128, got {text!r}")
    return values


def _augment(text: str):
    if text == "none":
        return None
    if text == "paper":
        return True
    spec = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if key not in ("hflip", "rotate", "crop") or not value:
            raise argparse.ArgumentTypeError(
                f"must be none, paper, or key=value pairs of hflip, rotate, crop (e.g. hflip=0.5,crop=4), got {text!r}")
        try:
            spec[key] = int(value) if key == "crop" else float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key}={value!r} is not a number") from None
    return spec


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m kanmix train", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, choices=list(CLASSIFIERS), help="classifier to train")
    p.add_argument("--dataset", required=True, choices=list(DATASETS), help="dataset (fetched with `kanmix data fetch`)")
    p.add_argument("--size", type=_positive_int, default=None, help="resize images to SIZE x SIZE (the paper used 32)")
    p.add_argument("--subset", type=_positive_int, default=None, help="train on a stratified subset of N images")
    p.add_argument("--test-subset", default=None,
                   help="test images to score: an integer, or 'all' (default: same fraction as --subset)")
    p.add_argument("--seed", type=_non_negative_int, default=0, help="seed of init, shuffling, augmentation")

    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=_positive_int, default=10)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--lr", type=_positive_float, default=1e-3)
    t.add_argument("--weight-decay", type=_non_negative_float, default=0.01)
    t.add_argument("--warmup", type=_fraction_incl, default=0.05,
                   help="fraction of the training steps spent warming up before the cosine decay")
    t.add_argument("--label-smoothing", type=_fraction, default=0.0)
    t.add_argument("--augment", type=_augment, default=None, metavar="{none,paper,hflip=P,rotate=DEG,crop=PAD}",
                   help="data augmentation ('paper' = horizontal flip + 10 degree rotation)")

    f = p.add_argument_group("cross-validation fold (optional)")
    f.add_argument("--folds", type=_positive_int, default=None, help="split the training set into K stratified folds")
    f.add_argument("--fold", type=_non_negative_int, default=0, help="which fold to hold out")
    f.add_argument("--repeat", type=_non_negative_int, default=0, help="repeated k-fold: which reshuffle")
    f.add_argument("--fold-seed", type=_non_negative_int, default=0)

    m = p.add_argument_group("model (defaults: the paper configuration; see kanmix.models)")
    m.add_argument("--patch", type=_positive_int, help="mixers: patch side; must divide the image side")
    m.add_argument("--dim", type=_positive_int, help="mixers: token width")
    m.add_argument("--depth", type=_positive_int, help="mixers: number of mixer blocks")
    m.add_argument("--token-hidden", type=_positive_int, help="mixers: hidden width of token mixing")
    m.add_argument("--channel-hidden", type=_positive_int, help="mixers: hidden width of channel mixing")
    m.add_argument("--dropout", type=_fraction, help="mixers and mlp: dropout rate in [0, 1)")
    m.add_argument("--hidden", type=_widths, help="mlp and kan: hidden widths, e.g. 256 or 256,128")
    m.add_argument("--grid-size", type=_positive_int, help="KAN models: spline grid intervals")
    m.add_argument("--spline-order", type=_positive_int, help="KAN models: spline order (3 = cubic)")

    r = p.add_argument_group("running")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on in an interactive terminal, off under CI)")
    r.add_argument("--checkpoint-every", type=_positive_float, default=60.0, metavar="SECONDS",
                   help="also checkpoint inside an epoch this often")
    r.add_argument("--force", action="store_true", help="retrain even if a record exists")
    r.add_argument("--keep-weights", action="store_true", help="store the trained weights beside the record")
    return p


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """The experiment config of the parsed arguments; cross-argument checks call ``parser.error``."""
    info = DATASETS[args.dataset]
    side = args.size or info.size
    allowed = model_arguments(args.model)
    model_kwargs = {}
    for key in MODEL_FLAGS:
        value = getattr(args, key)
        if value is None:
            continue
        if key not in allowed:
            users = [name for name in CLASSIFIERS if key in model_arguments(name)]
            parser.error(f"argument --{key.replace('_', '-')}: does not apply to --model {args.model}; "
                         f"it is for {', '.join(users)}")
        model_kwargs[key] = value
    patch = model_kwargs.get("patch", 4 if "patch" in allowed else None)
    if patch is not None and side % patch:
        divisors = [d for d in range(1, side + 1) if side % d == 0]
        parser.error(f"argument --patch: {patch} does not divide the {side}x{side} image of {args.dataset}"
                     f"{' (or pass --size 32)' if side != 32 and 32 % patch == 0 else ''}; choose one of {divisors}")
    if args.subset is not None and args.subset < info.num_classes:
        parser.error(f"argument --subset: must be at least {info.num_classes} (one image per class), got {args.subset}")
    test_subset = args.test_subset
    if test_subset is not None and test_subset != "all":
        if not test_subset.isdigit() or int(test_subset) < info.num_classes:
            parser.error(f"argument --test-subset: must be 'all' or an integer >= {info.num_classes}, got {test_subset!r}")
        test_subset = int(test_subset)
    fold = None
    if args.folds is not None:
        if args.folds < 2:
            parser.error(f"argument --folds: must be at least 2, got {args.folds}")
        if args.fold >= args.folds:
            parser.error(f"argument --fold: must be in 0..{args.folds - 1} for --folds {args.folds}, got {args.fold}")
        fold = {"folds": args.folds, "fold": args.fold, "repeat": args.repeat, "seed": args.fold_seed}
    train = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "weight_decay": args.weight_decay,
             "warmup": args.warmup, "label_smoothing": args.label_smoothing, "augment": args.augment}
    return {"dataset": args.dataset, "size": args.size, "model": args.model, "model_kwargs": model_kwargs,
            "train": train, "subset": args.subset, "test_subset": test_subset, "seed": args.seed, "fold": fold}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cfg = config_from_args(args, parser)

    # Heavy imports only after the arguments are known to be good.
    from kanmix import data as kdata
    from kanmix.experiment import checkpoint_dir, classification_run, normalize_config
    from kanmix.results import load_record, load_weights, record_path
    from kanmix.train import TrainConfig

    try:
        cfg = normalize_config(cfg)
        TrainConfig(**cfg["train"], seed=cfg["seed"])  # e.g. label smoothing out of range
        if args.device == "cuda":
            from kanmix.train import resolve_device
            resolve_device("cuda")
    except ValueError as err:
        parser.error(str(err))
    path = record_path(cfg)
    reused = (load_record(cfg) is not None and not args.force
              and (not args.keep_weights or load_weights(cfg) is not None))
    if reused:
        print(f"reusing {path} (pass --force to retrain)", file=sys.stderr)
    elif not kdata.is_fetched(args.dataset) and args.dataset != "svhn":
        print(f"kanmix train: error: dataset {args.dataset!r} is not fetched; run `python -m kanmix data fetch "
              f"{args.dataset}` first", file=sys.stderr)
        return 1
    elif (checkpoint_dir(cfg) / "last.pt").exists():
        print(f"resuming from {checkpoint_dir(cfg) / 'last.pt'}", file=sys.stderr)

    def on_epoch(row: dict) -> None:
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()]
        print("  " + "  ".join(parts), file=sys.stderr, flush=True)

    device = None if args.device == "auto" else args.device
    try:
        record = classification_run(cfg, force=args.force, progress=args.progress, device=device,
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
