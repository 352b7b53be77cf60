"""The arguments and checks the `python -m kanmix` commands share, declared once.

Every check runs before anything loads or trains, and a bad value stops the command with a
single line, ``<prog>: error: argument --flag: <what is wrong and what is allowed>``.
Argument types raise :class:`argparse.ArgumentTypeError`, which argparse turns into that line;
checks that need several arguments call ``parser.error``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

from kanmix.data import DATASETS
from kanmix.models import CLASSIFIERS, model_arguments

# CLI flag -> model keyword; each is passed only when given, so defaults live in kanmix.models.
MODEL_FLAGS = ("patch", "dim", "depth", "token_hidden", "channel_hidden", "dropout", "hidden", "grid_size",
               "spline_order")


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not argparse's usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def new_parser(command: str, doc: str) -> Parser:
    """The parser of ``python -m kanmix <command>``, described by the first paragraph of ``doc``."""
    return Parser(prog=f"python -m kanmix {command}", description=doc.split("\n\n")[0],
                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)


# --- argument types ---------------------------------------------------------------------------

def _number(text: str, kind: type, what: str, ok) -> int | float:
    """``text`` as ``kind`` if ``ok(value)``; otherwise an argparse error saying it ``must be <what>``."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, "a positive integer", lambda v: v >= 1)


def non_negative_int(text: str) -> int:
    return _number(text, int, "a non-negative integer", lambda v: v >= 0)


def positive_float(text: str) -> float:
    return _number(text, float, "a positive number", lambda v: v > 0)


def non_negative_float(text: str) -> float:
    return _number(text, float, "a non-negative number", lambda v: v >= 0)


def fraction(text: str) -> float:
    """A number in [0, 1): dropout, label smoothing."""
    return _number(text, float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def fraction_incl(text: str) -> float:
    """A number in [0, 1]: the warm-up fraction."""
    return _number(text, float, "a number in [0, 1]", lambda v: 0 <= v <= 1)


def folds(text: str) -> int:
    """K of a K-fold split: an integer >= 2."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer >= 2, got {value}")
    return value


def widths(text: str) -> list[int]:
    """Comma-separated positive integers, e.g. ``256,128`` -> ``[256, 128]``."""
    what = f"must be comma-separated positive integers like 256,128, got {text!r}"
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(what) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(what)
    return values


def augment(text: str):
    """``none`` -> None, ``paper`` -> True, ``hflip=0.5,crop=4`` -> a dict for :class:`kanmix.augment.Augment`."""
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


# --- argument groups ----------------------------------------------------------------------------

def add_split_args(p: argparse.ArgumentParser, *, subset_help: str = "train on a stratified subset of N images",
                   seed_help: str | None = "seed of init, shuffling, augmentation") -> None:
    """``--size``, ``--subset``, ``--test-subset`` (checked by :func:`check_subsets`) and ``--seed``."""
    p.add_argument("--size", type=positive_int, default=None,
                   help="resize images to SIZE x SIZE (the KAN-Mixer paper used 32)")
    p.add_argument("--subset", type=positive_int, default=None, help=subset_help)
    p.add_argument("--test-subset", default=None,
                   help="test images to score: an integer, or 'all' (default: same fraction as --subset)")
    p.add_argument("--seed", type=non_negative_int, default=0, help=seed_help)


# name -> (type, default, extra add_argument keywords); the defaults are kanmix.train.TrainConfig's.
TRAINING_ARGS = {
    "epochs": (positive_int, 10, {}),
    "batch_size": (positive_int, 128, {}),
    "lr": (positive_float, 1e-3, {}),
    "weight_decay": (non_negative_float, 0.01, {}),
    "warmup": (fraction_incl, 0.05,
               {"help": "fraction of the training steps spent warming up before the cosine decay"}),
    "label_smoothing": (fraction, 0.0, {}),
    "augment": (augment, None, {"metavar": "{none,paper,hflip=P,rotate=DEG,crop=PAD}",
                                "help": "data augmentation ('paper' = horizontal flip + 10 degree rotation)"}),
}


def add_training_args(p: argparse.ArgumentParser, *, title: str = "training", names: Iterable[str] = TRAINING_ARGS,
                      defaults: dict | None = None) -> None:
    """A group of the training flags ``names`` (all by default), with ``defaults`` overriding TrainConfig's."""
    group = p.add_argument_group(title)
    defaults = defaults or {}
    for name in names:
        kind, default, extra = TRAINING_ARGS[name]
        group.add_argument(f"--{name.replace('_', '-')}", type=kind, default=defaults.get(name, default), **extra)


def training_config(args: argparse.Namespace) -> dict:
    """The ``train`` section of an experiment config: the training flags the parser declared."""
    return {name: getattr(args, name) for name in TRAINING_ARGS if hasattr(args, name)}


def add_model_args(p: argparse.ArgumentParser, *, title: str) -> None:
    """A group of the classifier architecture flags (:data:`MODEL_FLAGS`); unset ones keep kanmix.models' defaults."""
    m = p.add_argument_group(title)
    m.add_argument("--patch", type=positive_int, help="mixers: patch side; must divide the image side")
    m.add_argument("--dim", type=positive_int, help="mixers: token width")
    m.add_argument("--depth", type=positive_int, help="mixers: number of mixer blocks")
    m.add_argument("--token-hidden", type=positive_int, help="mixers: hidden width of token mixing")
    m.add_argument("--channel-hidden", type=positive_int, help="mixers: hidden width of channel mixing")
    m.add_argument("--dropout", type=fraction, help="mixers and mlp: dropout rate in [0, 1)")
    m.add_argument("--hidden", type=widths, help="mlp and kan: hidden widths, e.g. 256 or 256,128")
    m.add_argument("--grid-size", type=positive_int, help="KAN models: spline grid intervals")
    m.add_argument("--spline-order", type=positive_int, help="KAN models: spline order (3 = cubic)")


def add_running_args(p: argparse.ArgumentParser, *, title: str = "running", progress_help: str = "progress bars",
                     force_help: str | None = None) -> argparse._ArgumentGroup:
    """``--device``, ``--progress`` and, given ``force_help``, ``--force``; returns the group to extend."""
    r = p.add_argument_group(title)
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    r.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help=f"{progress_help} (default: on in an interactive terminal, off under CI)")
    if force_help is not None:
        r.add_argument("--force", action="store_true", help=force_help)
    return r


# --- checks after parsing -------------------------------------------------------------------------

def check_subsets(parser: argparse.ArgumentParser, args: argparse.Namespace, datasets: Sequence[str]) -> int | str | None:
    """Check ``--subset`` and parse ``--test-subset`` (``None``, ``"all"`` or an int) for every dataset.

    Both need at least one image per class of every dataset, or the stratified subsample fails.
    """
    minimum = max(DATASETS[d].num_classes for d in datasets)
    if args.subset is not None and args.subset < minimum:
        parser.error(f"argument --subset: must be at least {minimum} (one image per class), got {args.subset}")
    text = args.test_subset
    if text is None or text == "all":
        return text
    if not text.isdigit() or int(text) < minimum:
        parser.error(f"argument --test-subset: must be 'all' or an integer >= {minimum}, got {text!r}")
    return int(text)


def classifier_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """The :mod:`kanmix.experiment` config of the parsed classifier arguments.

    Checks what one flag's type cannot: model flags that do not apply to ``args.model``, a patch
    that does not divide the image, subset sizes, and the fold (when ``args.folds`` is not
    ``None``, with ``args.fold``, ``args.repeat`` and ``args.fold_seed``).
    """
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
    test_subset = check_subsets(parser, args, [args.dataset])
    fold = None
    if args.folds is not None:
        if args.fold >= args.folds:
            parser.error(f"argument --fold: must be in 0..{args.folds - 1} for --folds {args.folds}, got {args.fold}")
        fold = {"folds": args.folds, "fold": args.fold, "repeat": args.repeat, "seed": args.fold_seed}
    return {"dataset": args.dataset, "size": args.size, "model": args.model, "model_kwargs": model_kwargs,
            "train": training_config(args), "subset": args.subset,
            "test_subset": test_subset, "seed": args.seed, "fold": fold}


def device(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    """``--device`` for the library (``None`` = CUDA when present); ``cuda`` without a GPU is an argument error."""
    if args.device == "cuda":
        from kanmix.train import resolve_device  # heavy; only once the other arguments are known good
        try:
            resolve_device("cuda")
        except ValueError as err:
            parser.error(f"argument --device: {err}")
    return None if args.device == "auto" else args.device


def stored_hashes(cfgs: Iterable[dict], force: bool) -> set[str]:
    """Hashes of the configs whose records exist and will be reused (none under ``--force``)."""
    from kanmix import results

    return set() if force else {results.run_hash(c) for c in cfgs if results.record_path(c).exists()}


def datasets_fetched(command: str, datasets: Iterable[str]) -> bool:
    """Whether ``datasets`` are all on disk; if not, prints which fetch command to run.

    SVHN is exempt: it is read from ``KANMIX_SVHN_DIR``, and its loader names what is missing.
    """
    from kanmix import data

    for name in datasets:
        if name != "svhn" and not data.is_fetched(name):
            print(f"kanmix {command}: error: dataset {name!r} is not fetched; run `python -m kanmix data fetch "
                  f"{name}` first", file=sys.stderr)
            return False
    return True
