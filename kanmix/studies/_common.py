"""What every study shares: the model labels, one-line parameter errors, and the checks of every
run before anything trains (:class:`RunChecks`)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from kanmix import cv, data, results, runner
from kanmix.errors import KanmixError
from kanmix.models import count_parameters, parameter_count
from kanmix.splits import Split
from kanmix.train import TrainConfig


#: The chapter-3 labels of the models (registry name -> label), in table order.
MIXER_LABELS = {"kan_mixer": "KAN-Mixer", "mlp_mixer": "MLP-Mixer", "mlp": "MLP", "kan": "KAN"}
PARAM_MATCHED = "MLP-Mixer (param-matched)"
TIME_MATCHED = "MLP-Mixer (time-matched)"
#: The KAN-Mixers paper's mean 5-fold accuracies (arXiv:2503.08939), per dataset: the numbers
#: chapter 3 and the findings page set ours beside.
PAPER_ACCURACY = {"fashion_mnist": {"KAN-Mixer": 0.9030, "MLP": 0.8920, "MLP-Mixer": 0.8770, "KAN": 0.8920},
                  "cifar10": {"KAN-Mixer": 0.6980}}
#: TrainConfig's epochs, for training options that do not set them.
_DEFAULT_EPOCHS = next(f.default for f in dataclasses.fields(TrainConfig) if f.name == "epochs")


# ----------------------------------------------------------------------------- checks before training


class ParameterError(KanmixError, ValueError):
    """A parameter value that no run can take; the message names the parameter first and says why."""


def one_line(err: BaseException) -> str:
    """``err``'s message on one line (a KeyError's without its quotes)."""
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    return " ".join(str(text).split()) or type(err).__name__


@contextlib.contextmanager
def about(name: str | None) -> Iterator[None]:
    """Within the block, a bad value fails as one :class:`ParameterError` line that starts with ``name``.

    ``name`` says which parameter the block's values come from (``"efficiency_sizes=[5]"``);
    an error that already names one passes through as it is.
    """
    try:
        yield
    except ParameterError:
        raise
    except (ValueError, TypeError, LookupError, KanmixError) as err:
        if name is None:
            raise
        raise ParameterError(f"{name}: {one_line(err)}") from None


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Within the block, torch runs on one CPU thread (the thread count is restored after).

    For the models the checks build only to see that they can be built (and to count their
    parameters): a KAN layer's initial spline fit is many small least-squares solves, which
    several threads make slower, many times slower on a busy machine.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_ints(name: str, values, *, minimum: int = 1, empty: bool = False) -> list[int]:
    """``values`` as a list of ints >= ``minimum`` (non-empty unless ``empty``), else a ParameterError naming ``name``."""
    if not isinstance(values, (list, tuple)) or not (values or empty) \
            or not all(_is_int(v) and v >= minimum for v in values):
        raise ParameterError(f"{name}={values!r} must be a {'' if empty else 'non-empty '}list of integers >= {minimum}")
    return list(values)


def _distinct(name: str, values: Sequence) -> None:
    twice = [v for i, v in enumerate(values) if v in values[:i]]
    if twice:
        raise ParameterError(f"{name}={list(values)!r} lists {twice[0]!r} twice")


@functools.lru_cache(maxsize=16)
def _labels(dataset: str, part: str, root: str) -> np.ndarray:
    """The labels of one split of ``dataset`` (checked against its manifest), without its images."""
    if dataset == "svhn":  # one .mat file holds both
        return data.load(dataset, part)[1].numpy()
    return np.load(data._verified_array(dataset, f"{part}_labels", Path(root)))


def check_split(split: Split) -> None:
    """Raise now what :func:`kanmix.splits.load_split` would raise for ``split``, reading its labels only.

    The same draws on the labels alone: the stratified subset (which needs every class, and
    fewer images than the split holds or all of them), the fold of the k-fold split (which needs
    ``folds`` images of every class in the subset) and the test subset. Milliseconds, where
    loading and resizing the images would take seconds.
    """
    from kanmix.folds import kfold_indices, stratified_subset

    info, root = split.info, str(data.data_dir())
    train = _labels(split.dataset, "train", root)
    if split.subset is not None:
        train = train[stratified_subset(train, split.subset, seed=split.subset_seed)]
    if split.fold is not None:
        f = split.fold
        kfold_indices(train, folds=f.folds, fold=f.fold, repeat=f.repeat, seed=f.seed)
    ts = split.test_subset
    if ts is None and split.subset is not None:  # as load_split draws it
        ts = max(info.num_classes, math.ceil(split.subset * info.test_size / info.train_size))
    if isinstance(ts, int):
        stratified_subset(_labels(split.dataset, "test", root), ts, seed=split.subset_seed)


class RunChecks:
    """What the runs of a study need before the first of them trains, each distinct thing checked once.

    :meth:`add` the runs (the stored ones are skipped: their records prove they ran), then
    :meth:`verify`: first every data split (:func:`check_split`), then every model, built once
    per architecture (and, for a run that keeps its weights, checked against the size a record
    may keep). A failure names the parameter given with the run.
    """

    def __init__(self, *, force: bool = False):
        self.force = force
        self._todo: list[tuple[runner.Run, str | None, str | None, bool]] = []
        self._splits: set = set()
        self._built: set[str] = set()  # architectures whose models were built
        self._counts: dict[str, int] = {}  # architecture -> parameter count
        self._weights: set[str] = set()  # architectures whose weights fit beside a record

    @staticmethod
    def _architecture(kind: str, model: str, model_kwargs: Mapping, in_shape, classes: int | None,
                      bottleneck: int | None = None) -> str:
        return results.canonical_json({"kind": kind, "model": model, "model_kwargs": dict(model_kwargs),
                                       "bottleneck": bottleneck, "in_shape": list(in_shape), "classes": classes})

    def parameters(self, model: str, model_kwargs: Mapping, in_shape, num_classes: int) -> int:
        """The parameter count of a classifier, built once per architecture (a checked model counts too)."""
        arch = self._architecture("classification", model, model_kwargs, in_shape, num_classes)
        if arch not in self._counts:
            self._counts[arch] = _count_parameters(model, model_kwargs, in_shape, num_classes)
            self._built.add(arch)
        return self._counts[arch]

    def add(self, cfgs: Iterable[runner.Run], *, split: str | None = None, model: str | None = None,
            keep_weights: bool = False, built: bool = False) -> None:
        """Queue ``cfgs``; ``split`` and ``model`` name the parameters their split and model come from.

        ``built``: their models were built already (as :func:`kanmix.ae.ae_config` does), so they
        are built again only to weigh the weights they keep.
        """
        for cfg in cfgs:
            if not self.force and runner.stored(cfg) and not (keep_weights and not results.has_weights(cfg.to_dict())):
                continue
            self._todo.append((cfg, split, model, keep_weights))
            if built:
                self._built.add(self._arch(cfg))

    def _arch(self, cfg: runner.Run) -> str:
        return self._architecture(cfg.KIND, cfg.model, cfg.model_kwargs, cfg.split.in_shape,
                                  cfg.split.info.num_classes, getattr(cfg, "bottleneck", None))

    def verify(self) -> None:
        """Check what :meth:`add` queued (splits first, then models); raises the first problem."""
        todo, self._todo = self._todo, []
        for cfg, split, _, _ in todo:
            f = cfg.split.fold
            key = (cfg.split.dataset, cfg.split.subset, cfg.split.subset_seed, cfg.split.test_subset,
                   None if f is None else (f.folds, f.repeat, f.seed))  # one fold fits when all do
            if key not in self._splits:
                with about(split):
                    check_split(cfg.split)
                self._splits.add(key)
        for cfg, _, model, keep in todo:
            arch = self._arch(cfg)
            if arch in self._built and (not keep or arch in self._weights):
                continue
            with about(model), one_thread():
                net = cfg.build_model()
                if keep:
                    results.check_weights_fit(net)
                    self._weights.add(arch)
            self._built.add(arch)
            self._counts[arch] = count_parameters(net)


def _fold_runs(specs: Mapping[str, dict], dataset: str, *, train: Mapping, **study) -> list[tuple[str, runner.Run]]:
    """:func:`kanmix.cv.plan`'s runs, ``[(label, config), ...]`` fold by fold, without its model checks
    (:class:`RunChecks` builds each architecture once for a whole study)."""
    by_label = {label: cv.fold_configs(spec["model"], dataset, model_kwargs=dict(spec.get("model_kwargs") or {}),
                                       train={**train, **(spec.get("train") or {})}, **study)
                for label, spec in specs.items()}
    n = len(next(iter(by_label.values()))) if by_label else 0
    return [(label, cfgs[i]) for i in range(n) for label, cfgs in by_label.items()]


def with_overrides(spec: dict, overrides: Mapping | None) -> dict:
    """``spec`` (``model``, ``model_kwargs``, ``train``) with ``overrides``' ``model_kwargs`` and ``train`` merged in."""
    overrides = overrides or {}
    unknown = set(overrides) - {"model_kwargs", "train"}
    if unknown:
        raise ValueError(f"overrides may set model_kwargs and train, not {sorted(unknown)}")
    return {"model": spec["model"], "model_kwargs": {**spec.get("model_kwargs", {}), **overrides.get("model_kwargs", {})},
            "train": {**spec.get("train", {}), **overrides.get("train", {})}}


def _count_parameters(model: str, model_kwargs: Mapping, in_shape, num_classes: int) -> int:
    # Counted on the meta device (kanmix.models.parameter_count): no weight is drawn, so the paper's
    # 11.8M-parameter KAN-Mixer costs nothing to count.
    return parameter_count(model, in_shape=in_shape, num_classes=num_classes, **model_kwargs)


def _check_spec(name: str, spec) -> None:
    """A model spec of a study: a dict with ``model`` and optional ``model_kwargs`` and ``train`` (dicts)."""
    if not isinstance(spec, Mapping) or "model" not in spec or set(spec) - {"model", "model_kwargs", "train"} \
            or not all(isinstance(spec.get(k) or {}, Mapping) for k in ("model_kwargs", "train")):
        raise ParameterError(f"{name}={spec!r} must be a dict with 'model' and optional 'model_kwargs' and 'train' dicts")


# ----------------------------------------------------------------------------- from a chapter's parameters
# A chapter and the findings page resolve the same parameters (kanmix.book.plan) into the same
# study through these, so the page that summarises the book reads exactly the chapters' records.


def _chapter_values(params: Mapping, names: Sequence[str]) -> dict:
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"the chapter parameters lack {missing}")
    return {n: params[n] for n in names}


