"""The arguments the `python -m kanmix` commands share, built from the configs they fill.

Training flags come from :class:`kanmix.train.TrainConfig`'s fields (name, type, default, help)
and split flags from :class:`kanmix.splits.Split`'s (:func:`add_config_args`), so a default or a
check lives in one place. A flag's type only parses its text; the value is checked by the config it fills (or,
for a model flag, by the model's constructor), and :func:`config_errors` turns that
``ValueError`` into the command's one-line error naming the flag:
``<prog>: error: argument --flag: <what is wrong and what is allowed>``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import re
import sys
from collections.abc import Iterable, Iterator

from kanmix.models import CLASSIFIERS, model_arguments
from kanmix.splits import Split
from kanmix.train import RUNTIME_OPTIONS, TrainConfig

# CLI flag -> model keyword; each is passed only when given, so defaults live in kanmix.models.
MODEL_FLAGS = ("patch", "dim", "depth", "token_hidden", "channel_hidden", "dropout", "hidden", "grid_size",
               "spline_order")
#: Config names whose flag is called something else (see :func:`config_errors`).
FLAG_OF = {"fold.folds": "folds", "fold.fold": "fold", "fold.repeat": "repeat", "fold.seed": "fold_seed",
           "checkpoint_every_s": "checkpoint_every"}


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not argparse's usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def new_parser(command: str, doc: str) -> Parser:
    """The parser of ``python -m kanmix <command>``, described by the first paragraph of ``doc``."""
    return Parser(prog=f"python -m kanmix {command}", description=doc.split("\n\n")[0],
                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)


# --- argument types: text -> value ------------------------------------------------------------------

def parser_of(parse, what: str):
    """An argparse type that applies ``parse`` and reports a failure as ``must be <what>, got <text>``."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err) if what is None else f"must be {what}, got {text!r}") from None
    convert.__name__ = getattr(parse, "__name__", what)
    return convert


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # every range check is false for NaN, and no option means infinity
        raise ValueError(text)
    return value


integer = parser_of(int, "an integer")
number = parser_of(_finite, "a finite number")


def _at_least(kind: type, low, strict: bool = False):
    def parse(text: str):
        value = _finite(text) if kind is float else kind(text)
        if value < low or (strict and value == low):
            raise ValueError(text)
        return value
    return parse


# For the commands' own flags (trial counts, worker numbers, search ranges): no config checks them.
positive_int = parser_of(_at_least(int, 1), "a positive integer")
non_negative_int = parser_of(_at_least(int, 0), "a non-negative integer")
positive_float = parser_of(_at_least(float, 0.0, strict=True), "a positive finite number")
non_negative_float = parser_of(_at_least(float, 0.0), "a non-negative finite number")
#: Comma-separated integers, e.g. ``256,128`` -> ``[256, 128]`` (the model checks the widths).
widths = parser_of(lambda t: [int(v) for v in t.split(",")], "comma-separated integers like 256,128")


_TYPES = {"int": integer, "float": number, "str": str}


# --- flags from config fields ---------------------------------------------------------------------

def add_config_args(group, config: type, names: Iterable[str], *, defaults: dict | None = None,
                    helps: dict | None = None) -> None:
    """One flag per field ``names`` of the dataclass ``config``: its type, default and help
    (``defaults``, and ``helps`` that are not ``None``, win). A field's metadata may give ``parse`` (text -> value),
    ``choices`` and ``metavar`` (see :func:`kanmix.checks.option`).
    """
    by_name = {f.name: f for f in dataclasses.fields(config)}
    for name in names:
        f = by_name[name]
        meta = f.metadata
        kind = parser_of(meta["parse"], None) if "parse" in meta else _TYPES[f.type.split(" | ")[0]]
        extra = {k: meta[k] for k in ("choices", "metavar") if k in meta}
        group.add_argument(f"--{FLAG_OF.get(name, name).replace('_', '-')}", dest=name, type=kind,
                           default=(defaults or {}).get(name, f.default),
                           help=(helps or {}).get(name) or meta.get("help"), **extra)


def add_split_args(p: argparse.ArgumentParser, *, subset_help: str | None = None,
                   seed_help: str | None = None) -> None:
    """``--size``, ``--subset``, ``--test-subset`` (a :class:`~kanmix.splits.Split`'s) and ``--seed``
    (:class:`~kanmix.train.TrainConfig`'s); ``*_help`` replace the fields' help."""
    add_config_args(p, Split, ("size", "subset", "test_subset"), helps={"subset": subset_help})
    add_config_args(p, TrainConfig, ("seed",), helps={"seed": seed_help})


def split_options(args: argparse.Namespace) -> dict:
    """The split keys of a config dict from the parsed ``--size``, ``--subset`` and ``--test-subset``."""
    return {"size": args.size, "subset": args.subset, "test_subset": args.test_subset}


#: The training flags a command may declare, in the order --help lists them.
TRAINING_ARGS = ("epochs", "batch_size", "lr", "weight_decay", "warmup", "label_smoothing", "augment", "precision")


def add_training_args(p: argparse.ArgumentParser, *, title: str = "training", names: Iterable[str] = TRAINING_ARGS,
                      defaults: dict | None = None) -> None:
    """A group of the training flags ``names`` (all by default); ``defaults`` override TrainConfig's."""
    add_config_args(p.add_argument_group(title), TrainConfig, names, defaults=defaults)


def training_config(args: argparse.Namespace) -> dict:
    """The ``train`` section of a config dict: the training and running flags the parser declared."""
    names = (*TRAINING_ARGS, *RUNTIME_OPTIONS)
    return {name: getattr(args, name) for name in names if hasattr(args, name)}


def add_model_args(p: argparse.ArgumentParser, *, title: str) -> None:
    """A group of the classifier architecture flags (:data:`MODEL_FLAGS`); unset ones keep kanmix.models' defaults."""
    m = p.add_argument_group(title)
    m.add_argument("--patch", type=integer, help="mixers: patch side; must divide the image side")
    m.add_argument("--dim", type=integer, help="mixers: token width")
    m.add_argument("--depth", type=integer, help="mixers: number of mixer blocks")
    m.add_argument("--token-hidden", type=integer, help="mixers: hidden width of token mixing")
    m.add_argument("--channel-hidden", type=integer, help="mixers: hidden width of channel mixing")
    m.add_argument("--dropout", type=number, help="mixers and mlp: dropout rate in [0, 1)")
    m.add_argument("--hidden", type=widths, help="mlp and kan: hidden widths, e.g. 256 or 256,128")
    m.add_argument("--grid-size", type=integer, help="KAN models: spline grid intervals")
    m.add_argument("--spline-order", type=integer, help="KAN models: spline order (3 = cubic)")


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


def add_executor_args(group, *, workers: bool = True) -> None:
    """``--executor``, ``--ray-address``, ``--ray-cpus``, ``--ray-gpus`` and (with ``workers``) ``--workers``:
    where the missing runs train."""
    if workers:
        group.add_argument("--workers", type=positive_int, default=1,
                           help="local executor: runs trained at a time, in processes sharing this machine's threads")
    group.add_argument("--executor", choices=["local", "ray"], default=None,
                       help="where missing runs train: this machine, or a Ray cluster (pip install -e '.[cluster]'); "
                            "default $KANMIX_EXECUTOR, else local")
    group.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                       help="the Ray cluster's head (implies --executor ray); default $KANMIX_RAY_ADDRESS, then "
                            "$RAY_ADDRESS, else a one-machine cluster started here")
    group.add_argument("--ray-cpus", type=non_negative_float, default=None, metavar="N",
                       help="CPUs each run reserves on the Ray cluster and trains with (default 1)")
    group.add_argument("--ray-gpus", type=non_negative_float, default=None, metavar="N",
                       help="GPUs each run reserves on the Ray cluster (default 1 where it has GPUs, else 0)")


def executor_option(args: argparse.Namespace, parser: argparse.ArgumentParser):
    """The ``executor`` argument of :func:`kanmix.runner.record_many` that :func:`add_executor_args`'s flags ask for."""
    ray_flags = [f for f in ("ray_address", "ray_cpus", "ray_gpus") if getattr(args, f) is not None]
    if not ray_flags and args.executor != "ray":
        return args.executor
    if args.executor == "local":
        parser.error(f"argument --{ray_flags[0].replace('_', '-')}: is for --executor ray, not local")
    from kanmix.cluster import RayExecutor  # Ray itself is imported when the first run is sent

    return RayExecutor(address=args.ray_address, cpus_per_run=args.ray_cpus, gpus_per_run=args.ray_gpus)


# --- config errors as flag errors ---------------------------------------------------------------------

_NAMED = re.compile(r"([a-z_]+(?:\.[a-z_]+)?)(?:\[\d+\])?=")


@contextlib.contextmanager
def config_errors(parser: argparse.ArgumentParser, aliases: dict | None = None) -> Iterator[None]:
    """Turn a ``ValueError`` of the configs (or a model) built inside into ``parser.error``.

    The package's messages start with the name of what is wrong (``lr=0.0 must be ...``); when
    the parser has that flag (``--lr``, or the one :data:`FLAG_OF`/``aliases`` give), the error
    is reported as ``argument --lr: <message>``, else as the message alone.
    """
    try:
        yield
    except ValueError as err:
        message = str(err)
        match = _NAMED.match(message)
        if match:
            name = {**FLAG_OF, **(aliases or {})}.get(match[1], match[1])
            flag = f"--{name.replace('_', '-')}"
            if flag in parser._option_string_actions:
                parser.error(f"argument {flag}: {message}")
        parser.error(message)


def classifier_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """The :class:`kanmix.experiment.ClassificationRun` dict of the parsed classifier arguments.

    Only routes the flags: a model flag that does not apply to ``args.model`` is an error here;
    every value is checked by the config, or by the model when it is built. With ``args.folds``
    set, ``args.fold``, ``args.repeat`` and ``args.fold_seed`` make the fold.
    """
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
    fold = None
    if getattr(args, "folds", None) is not None:
        fold = {"folds": args.folds, "fold": args.fold or 0, "repeat": args.repeat or 0, "seed": args.fold_seed or 0}
    elif hasattr(args, "fold"):  # a fold's coordinates without --folds would be ignored: refuse them instead
        for name in ("fold", "repeat", "fold_seed"):
            if getattr(args, name) is not None:
                parser.error(f"argument --{name.replace('_', '-')}: needs --folds (how many folds to split the training set into)")
    return {"dataset": args.dataset, **split_options(args), "model": args.model, "model_kwargs": model_kwargs,
            "train": training_config(args), "seed": args.seed, "fold": fold}


def stored_hashes(cfgs: Iterable, force: bool) -> set[str]:
    """Hashes of the run configs whose records exist and will be reused (none under ``--force``)."""
    from kanmix import results

    keys = [c.to_dict() for c in cfgs]
    return set() if force else {results.run_hash(k) for k in keys if results.record_path(k).exists()}


def datasets_fetched(command: str, datasets: Iterable[str]) -> bool:
    """Whether ``datasets`` are all on disk and intact; if not, prints what is wrong and the command that repairs it.

    SVHN is exempt: it is read from ``KANMIX_SVHN_DIR``, and its loader names what is missing.
    """
    from kanmix import data

    for name in datasets:
        if name == "svhn":
            continue
        try:
            data.verify(name)
        except data.DataError as err:
            print(f"kanmix {command}: error: {err}", file=sys.stderr)
            return False
    return True
