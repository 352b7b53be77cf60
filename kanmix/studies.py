"""The book's studies, one call each: a chapter's parameters in, every run done (or read back), tidy tables out.

Each function plans all the runs of a chapter from the chapter's own parameters, runs the
missing ones through :func:`kanmix.runner.record` (so every number is a results-store record,
and a rerun trains nothing), and returns plain DataFrames the chapter shows. The chapters
stay thin and the plans are tested here, on tiny settings.

- :func:`mixers` (chapter 3): k-fold CV of the KAN-Mixer against the MLP-Mixer (as in the paper,
  parameter-matched and time-matched), MLP and KAN; repeated CV of the headline pair; data
  efficiency; the grid-range ablation.
- :func:`precision_parity` (chapter 2): the same CV in float32 and bf16.
- :func:`autoencoders` (chapter 4): the bottleneck sweep of KAN, MLP and CNN autoencoders with
  the mean-image and PCA baselines.

Every study builds all of its run configs first (:func:`mixers_plan`, :func:`parity_plan`,
:func:`autoencoders_plan`) and checks what the runs that are not stored yet need: their data
splits, on the labels alone (:func:`check_split`), and their models, built once per
architecture. So a value that no run can take fails at once, in one line that names the
parameter, and never after hours of training. :func:`check_chapter` does the same from a
chapter's resolved parameters without training anything: ``python -m kanmix.book run`` calls
it for every chapter before any kernel starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kanmix import ae, checks, cv, data, results, runner, stats
from kanmix import frontier as frontier_mod
from kanmix.errors import KanmixError
from kanmix.models import CLASSIFIERS, build_model, count_parameters, param_matched
from kanmix.flops import run_training_flops, training_flops, training_images
from kanmix.splits import Fold, Split
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


@dataclass
class MixerStudy:
    """What :func:`mixers` returns: tidy tables, each with a ``dataset`` column where it has several.

    - ``folds``: one row per (dataset, model, fold) of the main CV (:data:`kanmix.cv.COLUMNS`);
    - ``curves``: per-epoch rows of the main CV (``outside_grid`` is the mean over a model's KAN layers);
    - ``labelled``: dataset -> ``[(label, record), ...]`` of the main CV, for captions;
    - ``headline``: the repeated CV of ``headline_pair`` on the first dataset (all repeats);
    - ``efficiency``: one row per (train size, model, fold) of the data-efficiency runs;
    - ``ablation``: one row per grid variant (fold 0 of the first dataset), with its curves in
      ``ablation_curves``;
    - ``left_out``: the grid variants the ablation left out, each with why
      (:func:`runnable_grid_variants`);
    - ``records``: every record behind these tables, for provenance.
    """

    folds: pd.DataFrame
    curves: pd.DataFrame
    labelled: dict[str, list[tuple[str, dict]]]
    headline: pd.DataFrame | None = None
    headline_pair: tuple[str, str] | None = None
    efficiency: pd.DataFrame | None = None
    ablation: pd.DataFrame | None = None
    ablation_curves: pd.DataFrame | None = None
    left_out: dict[str, str] = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)


def kan_mixer_against(folds_table: pd.DataFrame, *, folds: int, kan: str = "KAN-Mixer") -> pd.DataFrame:
    """The KAN-Mixer against every other model of one dataset's main CV, from the family of all its pairs.

    ``folds_table`` is one dataset's rows of :attr:`MixerStudy.folds`. Returns one row per other
    model: ``model``, ``diff`` (KAN-Mixer minus it, mean held-out accuracy) with its corrected 95%
    interval ``ci_low``/``ci_high``, ``p`` (the corrected t-test) and ``p_holm`` (Holm-adjusted over
    every pair of the CV: the family the chapter tests), ``pairs`` (that family's size), and the
    cost of each side: ``params``, ``kan_params``, ``seconds``, ``kan_seconds`` (training per fold).
    """
    pairs = stats.all_pairs(folds_table, metric="val_accuracy", folds=folds)
    cost = folds_table.groupby("model").agg(params=("params", "first"), seconds=("train_seconds", "mean"))
    rows = []
    for r in pairs.itertuples():
        if kan not in (r.a, r.b):
            continue
        sign, other = (1, r.b) if r.a == kan else (-1, r.a)
        lo, hi = sorted((sign * r.ci_low, sign * r.ci_high))
        rows.append({"model": other, "diff": sign * r.mean_diff, "ci_low": lo, "ci_high": hi, "p": r.p_nb,
                     "p_holm": r.p_nb_holm, "pairs": len(pairs), "params": int(cost.loc[other, "params"]),
                     "kan_params": int(cost.loc[kan, "params"]), "seconds": float(cost.loc[other, "seconds"]),
                     "kan_seconds": float(cost.loc[kan, "seconds"])})
    return pd.DataFrame(rows)


def output_layer_outside(labelled: Sequence[tuple[str, dict]], label: str) -> float | None:
    """The mean over ``label``'s folds of the fraction of its last KAN layer's inputs outside the grid
    after the last epoch (``None`` for a model without KAN layers). Outside the grid a KAN edge is
    its SiLU term alone, so a high fraction in the output layer makes that layer mostly a SiLU network."""
    shares = []
    for name, rec in labelled:
        outside = rec["history"][-1].get("outside_grid") if name == label and rec.get("history") else None
        if outside:
            shares.append(list(outside.values())[-1])  # layers in forward order: the last is the output layer
    return float(np.mean(shares)) if shares else None


def headline_comparison(study: MixerStudy, folds: int, *, repeats: bool = True):
    """The headline pair's paired comparison (:func:`kanmix.stats.paired_comparison`, KAN-Mixer minus the
    named MLP-Mixer) over every repeat of the split, or over the main CV's folds alone
    (``repeats=False``); ``None`` without a headline pair."""
    if study.headline is None or study.headline_pair is None:
        return None
    a, b = study.headline_pair
    part = study.headline if repeats else study.headline[study.headline.repeat == 0]
    wide = part.pivot(index=["repeat", "fold"], columns="model", values="val_accuracy")
    return stats.paired_comparison(wide[a], wide[b], folds=folds)


def separated_pairs(folds_table: pd.DataFrame, *, folds: int, alpha: float = 0.05) -> set[frozenset]:
    """The model pairs of one dataset's main CV whose difference survives Holm's correction at ``alpha``."""
    pairs = stats.all_pairs(folds_table, metric="val_accuracy", folds=folds)
    return {frozenset((r.a, r.b)) for r in pairs.itertuples() if r.p_nb_holm < alpha}


def with_overrides(spec: dict, overrides: Mapping | None) -> dict:
    """``spec`` (``model``, ``model_kwargs``, ``train``) with ``overrides``' ``model_kwargs`` and ``train`` merged in."""
    overrides = overrides or {}
    unknown = set(overrides) - {"model_kwargs", "train"}
    if unknown:
        raise ValueError(f"overrides may set model_kwargs and train, not {sorted(unknown)}")
    return {"model": spec["model"], "model_kwargs": {**spec.get("model_kwargs", {}), **overrides.get("model_kwargs", {})},
            "train": {**spec.get("train", {}), **overrides.get("train", {})}}


def mixer_specs(model_kwargs: Mapping[str, dict], dataset: str, *, models: Sequence[str], size: int | None,
                param_matched_to: str | None, time_matched_epochs: int | None,
                kan_overrides: Mapping | None = None,
                count: Callable[[str, Mapping, tuple, int], int] | None = None) -> dict[str, dict]:
    """The chapter's models as :func:`kanmix.cv.plan` specs: label -> model, kwargs and training overrides.

    ``models`` are registry names with their ``model_kwargs``; ``kan_overrides`` (the chosen grid
    handling, see :func:`runnable_grid_variants`) is merged into the KAN-Mixer's. ``param_matched_to`` (a
    registry name, the KAN-Mixer) adds an MLP-Mixer whose hidden widths are scaled to that
    model's parameter count (:func:`kanmix.models.param_matched`); ``time_matched_epochs`` adds
    the MLP-Mixer trained for that many epochs, chosen so its training time matches the KAN-Mixer's.
    ``count(name, model_kwargs, in_shape, num_classes)`` gives the target's parameter count
    (default: build it; :meth:`RunChecks.parameters` builds each architecture once).
    """
    specs = {MIXER_LABELS.get(m, m): {"model": m, "model_kwargs": dict(model_kwargs[m])} for m in models}
    if "kan_mixer" in models:
        specs[MIXER_LABELS["kan_mixer"]] = with_overrides(specs[MIXER_LABELS["kan_mixer"]], kan_overrides)
    if param_matched_to is not None:
        split = Split(dataset=dataset, size=size)
        shape = {"in_shape": split.in_shape, "num_classes": split.info.num_classes}
        target = (count or _count_parameters)(param_matched_to, model_kwargs[param_matched_to], split.in_shape,
                                              split.info.num_classes)
        specs[PARAM_MATCHED] = {"model": "mlp_mixer", "model_kwargs": param_matched(
            "mlp_mixer", model_kwargs["mlp_mixer"], target, **shape)}
    if time_matched_epochs is not None:
        specs[TIME_MATCHED] = {"model": "mlp_mixer", "model_kwargs": dict(model_kwargs["mlp_mixer"]),
                               "train": {"epochs": time_matched_epochs}}
    return specs


def _count_parameters(model: str, model_kwargs: Mapping, in_shape, num_classes: int) -> int:
    with one_thread():
        return count_parameters(build_model(model, in_shape=in_shape, num_classes=num_classes, **model_kwargs))


def _curves(labelled: Sequence[tuple[str, dict]]) -> pd.DataFrame:
    """:func:`kanmix.cv.curves` with ``outside_grid`` reduced to its mean over the KAN layers."""
    df = cv.curves(labelled)
    if "outside_grid" in df:
        df["outside_grid"] = [sum(v.values()) / len(v) if isinstance(v, dict) and v else math.nan
                              for v in df["outside_grid"]]
    return df


def efficiency_epochs(epochs: int, subset: int | None, full: int) -> int:
    """Epochs of a data-efficiency run on ``subset`` of ``full`` training images: ``epochs * sqrt(full / subset)``.

    A smaller set gets more epochs, between equal epochs (which starves it of steps) and equal
    steps (which would cost a full run for every size): the square root splits the difference,
    and the whole curve costs about one more full run.
    """
    if subset is None or subset >= full:
        return epochs
    return math.ceil(epochs * math.sqrt(full / subset))


def runnable_grid_variants(variants: Mapping[str, dict], train: Mapping) -> tuple[dict[str, dict], dict[str, str]]:
    """``(kept, left_out)``: the grid variants that the training can run, and the others with the reason.

    A variant that moves the grid after epoch ``e`` (its ``train`` option ``grid_updates``) needs
    a later epoch to train on the moved grid. With ``e`` at or past the last epoch it is left out
    of the ablation: an update there would change the model with nothing trained on it. The
    chapter's "update_grid after epoch 1" arm therefore runs with 2 or more epochs and is left
    out with 1. Every other bad value of a variant fails, naming the variant.
    """
    kept, left_out = {}, {}
    for label, overrides in variants.items():
        with about(f"grid_variants[{label!r}]"):
            if not isinstance(overrides, Mapping):
                raise TypeError(f"{overrides!r} must be a dict of model_kwargs and/or train overrides")
            spec = with_overrides({"model": "kan_mixer"}, overrides)
        options = {**train, **spec["train"]}
        epochs, updates = options.get("epochs", _DEFAULT_EPOCHS), options.get("grid_updates") or ()
        late = [e for e in updates if _is_int(e) and _is_int(epochs) and e >= epochs] \
            if isinstance(updates, (list, tuple)) else []
        if late:
            left_out[label] = (f"it moves the grid after epoch {late[0]} and the training has {epochs} "
                               f"epoch{'s' if epochs != 1 else ''}, none after that to train on the moved grid")
        else:
            kept[label] = overrides
    return kept, left_out


@dataclass
class MixerPlan:
    """Every run of :func:`mixers`, built (so validated) before any of them trains.

    - ``ablation``: ``[(variant, config), ...]``, fold 0 of the first dataset; ``left_out``: the
      grid variants left out, with why (:func:`runnable_grid_variants`);
    - ``specs``: dataset -> label -> model spec of the main CV, whose runs are ``main[dataset]``;
    - ``headline``: for each MLP-Mixer variant, the repeated CV of it and the KAN-Mixer (the main
      CV's results decide which of them runs);
    - ``efficiency``: training-set size -> its runs;
    - ``blame``: label -> the parameter its model is built from, for the model checks.
    """

    specs: dict[str, dict[str, dict]] = field(default_factory=dict)
    main: dict[str, list[tuple[str, runner.Run]]] = field(default_factory=dict)
    ablation: list[tuple[str, runner.Run]] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    headline: dict[str, list[tuple[str, runner.Run]]] = field(default_factory=dict)
    efficiency: dict[int | None, list[tuple[str, runner.Run]]] = field(default_factory=dict)
    blame: dict[str, str] = field(default_factory=dict)

    def queue(self, checks_: RunChecks) -> None:
        """Add every run to ``checks_``, each with the parameter its split and its model come from."""
        for runs in [self.ablation, *self.main.values(), *self.headline.values()]:
            for label, cfg in runs:
                checks_.add([cfg], model=self.blame.get(label))
        for n, runs in self.efficiency.items():
            for label, cfg in runs:
                checks_.add([cfg], split=f"efficiency_sizes (size {n})", model=self.blame.get(label))


def mixers_plan(*, datasets: Sequence[str], models: Sequence[str], model_kwargs: Mapping[str, dict], folds: int,
                train: dict, size: int | None = 32, subset: int | None = None, seed: int = 0,
                param_matched_to: str | None = None, time_matched_epochs: int | None = None,
                headline_repeats: int = 1, headline_against: str | None = None,
                efficiency_sizes: Sequence[int | None] = (), efficiency_folds: int = 1,
                grid_variants: Mapping[str, dict] | None = None, grid_handling: str | None = None,
                force: bool = False, check: bool = True) -> MixerPlan:
    """Every run config of :func:`mixers` (same arguments), built and, with ``check``, checked; nothing trains.

    The values no run can take fail first, each naming its parameter; then the runs that are
    not stored yet are checked (:class:`RunChecks`: their data splits, then their models). The
    parameter-matched MLP-Mixer's widths need the KAN-Mixer built, so every other run is built
    and checked before it.
    """
    grid_variants = dict(grid_variants or {})
    if grid_handling is not None and grid_handling not in grid_variants:
        raise ParameterError(f"grid_handling={grid_handling!r} is not one of the grid variants {list(grid_variants)}")
    datasets, models = list(datasets), list(models)
    if not datasets:
        raise ParameterError("datasets=[]: name at least one dataset")
    _distinct("datasets", datasets)
    for name in models:
        if name not in CLASSIFIERS:
            raise ParameterError(f"models: unknown classifier {name!r}; choose from {', '.join(CLASSIFIERS)}")
    needed = [*models, *([param_matched_to, "mlp_mixer"] if param_matched_to is not None else []),
              *(["mlp_mixer"] if time_matched_epochs is not None else []), *(["kan_mixer"] if grid_variants else [])]
    missing = [m for m in dict.fromkeys(needed) if not isinstance(model_kwargs.get(m), Mapping)]
    if missing:
        raise ParameterError(f"model_kwargs has no dict of arguments for {missing}")
    TrainConfig.from_dict(dict(train))  # the shared options (epochs, lr, precision, ...): a bad one names itself
    for dataset in datasets:
        Split(dataset=dataset, size=size, subset=subset)
    checks.integer("folds", folds, 2)
    if time_matched_epochs is not None:
        checks.integer("time_matched_epochs", time_matched_epochs)
    checks.integer("headline_repeats", headline_repeats)
    if efficiency_sizes and not 1 <= checks.integer("efficiency_folds", efficiency_folds) <= folds:
        raise ParameterError(f"efficiency_folds={efficiency_folds} must be at most folds={folds}")
    kept, left_out = runnable_grid_variants(grid_variants, train)
    if grid_handling in left_out:
        raise ParameterError(f"grid_handling={grid_handling!r} cannot be trained: {left_out[grid_handling]}")
    args = dict(datasets=datasets, models=models, model_kwargs=model_kwargs, folds=folds, train=dict(train), size=size,
                subset=subset, seed=seed, time_matched_epochs=time_matched_epochs, headline_repeats=headline_repeats,
                headline_against=headline_against, efficiency_sizes=list(efficiency_sizes),
                efficiency_folds=efficiency_folds, variants=kept, left_out=left_out, grid_handling=grid_handling)
    run_checks = RunChecks(force=force) if check else None
    if param_matched_to is not None:  # every other run first: the matched widths need the KAN-Mixer built
        first = _plan_mixers(**{**args, "headline_against": None}, param_matched_to=None)
        if run_checks is not None:
            first.queue(run_checks)
            run_checks.verify()
    plan = _plan_mixers(**args, param_matched_to=param_matched_to,
                        count=run_checks.parameters if run_checks is not None else None)
    if run_checks is not None:
        plan.queue(run_checks)
        run_checks.verify()
    return plan


def _plan_mixers(*, datasets, models, model_kwargs, folds, train, size, subset, seed, param_matched_to,
                 time_matched_epochs, headline_repeats, headline_against, efficiency_sizes, efficiency_folds, variants,
                 left_out, grid_handling, count=None) -> MixerPlan:
    """:func:`mixers_plan`'s configs of arguments it has checked one by one."""
    shared = {"folds": folds, "size": size, "subset": subset, "seed": seed}
    first, kan, mlp = datasets[0], MIXER_LABELS["kan_mixer"], MIXER_LABELS["mlp_mixer"]
    plan = MixerPlan(left_out=dict(left_out))
    base = {"model": "kan_mixer", "model_kwargs": dict(model_kwargs.get("kan_mixer") or {})}
    for label, overrides in variants.items():
        with about(f"grid_variants[{label!r}]"):
            plan.ablation += _fold_runs({label: with_overrides(base, overrides)}, first, train=train, first_folds=1,
                                        **shared)
        plan.blame[label] = "model_kwargs['kan_mixer']" + (
            f" with grid_variants[{label!r}]" if overrides.get("model_kwargs") else "")
    kan_overrides = variants.get(grid_handling) if grid_handling is not None else None
    plan.blame.update({MIXER_LABELS.get(m, m): f"model_kwargs[{m!r}]" for m in models})
    if kan_overrides and kan_overrides.get("model_kwargs"):
        plan.blame[kan] = f"model_kwargs['kan_mixer'] with grid_variants[{grid_handling!r}]"
    plan.blame[PARAM_MATCHED] = f"param_matched (an MLP-Mixer as large as model_kwargs[{param_matched_to!r}])"
    plan.blame[TIME_MATCHED] = "model_kwargs['mlp_mixer']"
    for dataset in datasets:
        with about(plan.blame[PARAM_MATCHED] if param_matched_to is not None else None):
            specs = mixer_specs(model_kwargs, dataset, models=models, size=size, param_matched_to=param_matched_to,
                                time_matched_epochs=time_matched_epochs, kan_overrides=kan_overrides, count=count)
        plan.specs[dataset] = specs
        plan.main[dataset] = _fold_runs(specs, dataset, train=train, **shared)
    specs = plan.specs[first]
    candidates = [label for label, s in specs.items() if s["model"] == "mlp_mixer"]
    # With no MLP-Mixer beside a KAN-Mixer there is no pair to name: the chapter's own check of its
    # models says what is missing.
    if headline_against is not None and kan in specs and candidates:
        if headline_against not in candidates:
            raise ParameterError(f"headline_against={headline_against!r} must be one of the MLP-Mixers the chapter "
                                 f"trains beside a KAN-Mixer: {candidates}")
        plan.headline[headline_against] = _fold_runs({kan: specs[kan], headline_against: specs[headline_against]},
                                                     first, train=train, repeats=headline_repeats, **shared)
    if efficiency_sizes:
        pair = {label: specs[label] for label in (kan, mlp) if label in specs}
        if not pair:
            raise ParameterError(f"efficiency_sizes={efficiency_sizes!r}: the data-efficiency runs are the KAN-Mixer's "
                                 "and the MLP-Mixer's, and models has neither")
        full = data.info(first).train_size
        for n in efficiency_sizes:
            with about(f"efficiency_sizes={efficiency_sizes!r}"):
                Split(dataset=first, size=size, subset=n)  # before its epochs are worked out from it
                epochs = efficiency_epochs(train.get("epochs", _DEFAULT_EPOCHS), n, full)
                plan.efficiency[n] = _fold_runs(pair, first, train={**train, "epochs": epochs},
                                                first_folds=efficiency_folds, **{**shared, "subset": n})
    return plan


def mixers(*, datasets: Sequence[str], models: Sequence[str], model_kwargs: Mapping[str, dict], folds: int,
           train: dict, size: int | None = 32, subset: int | None = None, seed: int = 0,
           param_matched_to: str | None = None, time_matched_epochs: int | None = None,
           headline_repeats: int = 1, headline_against: str | None = None,
           efficiency_sizes: Sequence[int | None] = (), efficiency_folds: int = 1,
           grid_variants: Mapping[str, dict] | None = None, grid_handling: str | None = None,
           force: bool = False, workers: int = 1) -> MixerStudy:
    """Chapter 3's runs, in the order a reader needs them (see :class:`MixerStudy`).

    ``train`` holds the training options every model shares (epochs, lr, precision, augment,
    ...). ``grid_variants`` maps a label to overrides (``model_kwargs`` and/or ``train``) of the
    KAN-Mixer, compared first on fold 0 of the first dataset (a variant the epochs cannot train
    is left out: :func:`runnable_grid_variants`); ``grid_handling`` names the one every KAN-Mixer
    of the study uses, so its fold 0 is one record. The headline pair is the KAN-Mixer and the
    MLP-Mixer named by ``headline_against``, fixed before any run (a pair picked after looking at
    the results would need its p-value corrected for the picking); with ``headline_repeats > 1``
    both get that many repeats of the k-fold split on the first dataset (repeat 0 is the main CV). ``efficiency_sizes`` are training-set subsets (``None``: the whole split) on
    which the KAN-Mixer and MLP-Mixer run the first ``efficiency_folds`` folds, with
    :func:`efficiency_epochs`. ``workers`` trains that many runs at a time (:func:`kanmix.runner.record_many`).
    Every run is built and checked before the first trains (:func:`mixers_plan`).
    """
    checks.integer("workers", workers)
    plan = mixers_plan(datasets=datasets, models=models, model_kwargs=model_kwargs, folds=folds, train=train, size=size,
                       subset=subset, seed=seed, param_matched_to=param_matched_to,
                       time_matched_epochs=time_matched_epochs, headline_repeats=headline_repeats,
                       headline_against=headline_against, efficiency_sizes=efficiency_sizes,
                       efficiency_folds=efficiency_folds, grid_variants=grid_variants, grid_handling=grid_handling,
                       force=force)
    study = MixerStudy(folds=pd.DataFrame(), curves=pd.DataFrame(), labelled={}, left_out=dict(plan.left_out))
    if plan.ablation:
        labelled = cv.run_plan(plan.ablation, force=force, workers=workers)
        study.ablation, study.ablation_curves = cv.table(labelled), _curves(labelled)
        study.records += [rec for _, rec in labelled]
    tables, curves = [], []
    for dataset in datasets:
        labelled = cv.run_plan(plan.main[dataset], force=force, workers=workers)
        study.labelled[dataset] = labelled
        tables.append(cv.table(labelled))
        curves.append(_curves(labelled).assign(dataset=dataset))
        study.records += [rec for _, rec in labelled]
    study.folds, study.curves = pd.concat(tables, ignore_index=True), pd.concat(curves, ignore_index=True)
    first = datasets[0]
    if plan.headline:
        (against,) = plan.headline
        study.headline_pair = (MIXER_LABELS["kan_mixer"], against)
        labelled = cv.run_plan(plan.headline[against], force=force, workers=workers)
        study.headline = cv.table(labelled)
        study.records += [rec for _, rec in labelled]
    if plan.efficiency:
        runner.record_many([cfg for runs in plan.efficiency.values() for _, cfg in runs], workers=workers, force=force)
        rows = []
        for n, runs in plan.efficiency.items():
            labelled = cv.run_plan(runs)  # reads the records just made
            rows.append(cv.table(labelled).assign(subset=n or data.info(first).train_size))
            study.records += [rec for _, rec in labelled]
        study.efficiency = pd.concat(rows, ignore_index=True)
    return study


def _check_spec(name: str, spec) -> None:
    """A model spec of a study: a dict with ``model`` and optional ``model_kwargs`` and ``train`` (dicts)."""
    if not isinstance(spec, Mapping) or "model" not in spec or set(spec) - {"model", "model_kwargs", "train"} \
            or not all(isinstance(spec.get(k) or {}, Mapping) for k in ("model_kwargs", "train")):
        raise ParameterError(f"{name}={spec!r} must be a dict with 'model' and optional 'model_kwargs' and 'train' dicts")


def parity_plan(*, dataset: str, models: Mapping[str, dict], folds: int, train: dict, size: int | None = 32,
                subset: int | None = None, seed: int = 0, precisions: Sequence[str] = ("fp32", "bf16"),
                force: bool = False, check: bool = True, name: str = "models") -> dict[str, list[tuple[str, runner.Run]]]:
    """Every run of :func:`precision_parity` (same arguments), per precision, built and checked; nothing trains.

    ``name`` is what the caller calls ``models``, for the messages (chapter 2: ``parity_models``).
    """
    if not isinstance(models, Mapping) or not models:
        raise ParameterError(f"{name}={models!r} must name at least one model (label -> spec)")
    for label, spec in models.items():
        _check_spec(f"{name}[{label!r}]", spec)
    runs = {precision: _fold_runs(models, dataset, train={**train, "precision": precision}, folds=folds, size=size,
                                  subset=subset, seed=seed) for precision in precisions}
    if check:
        run_checks = RunChecks(force=force)
        for labelled in runs.values():
            for label, cfg in labelled:
                run_checks.add([cfg], model=f"{name}[{label!r}]")
        run_checks.verify()
    return runs


def precision_parity(*, dataset: str, models: Mapping[str, dict], folds: int, train: dict, size: int | None = 32,
                     subset: int | None = None, seed: int = 0, precisions: Sequence[str] = ("fp32", "bf16"),
                     force: bool = False, workers: int = 1) -> tuple[pd.DataFrame, list[dict]]:
    """The same k-fold CV at each precision: one row per (model, precision, fold), and the records.

    ``models`` maps a label to ``{"model": name, "model_kwargs": {...}}``. Everything but the
    precision is shared, seeds and folds included, so the precisions are compared fold by fold.
    Every run is built and checked before the first trains (:func:`parity_plan`).
    """
    checks.integer("workers", workers)
    runs = parity_plan(dataset=dataset, models=models, folds=folds, train=train, size=size, subset=subset, seed=seed,
                       precisions=precisions, force=force)
    rows, records = [], []
    for precision, planned in runs.items():
        labelled = cv.run_plan(planned, force=force, workers=workers)
        rows.append(cv.table(labelled).assign(precision=precision))
        records += [rec for _, rec in labelled]
    return pd.concat(rows, ignore_index=True), records


@dataclass
class AutoencoderStudy:
    """What :func:`autoencoders` returns.

    - ``table``: one row per run (:data:`kanmix.ae.COLUMNS`, plus ``requested``, the bottleneck
      asked for, and ``beats_mean``, whether its test MSE is below the mean-image predictor's);
    - ``curves``: per-epoch train and test MSE;
    - ``baselines``: the mean image and PCA at every requested width, per dataset;
    - ``records``: every record behind them.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    baselines: pd.DataFrame
    records: list[dict]


def autoencoders_plan(*, datasets: Sequence[str], models: Sequence[str], bottlenecks: Mapping[str, Sequence[int]],
                      hidden: Mapping[str, int], train: dict, seed: int = 0, subset: int | None = None,
                      test_subset: int | str | None = None, keep_weights: Sequence[tuple[str, str, int]] = (),
                      force: bool = False, check: bool = True) -> list[tuple[int, runner.Run, bool]]:
    """Every autoencoder run of :func:`autoencoders` (same arguments) as ``[(requested, config, keeps weights), ...]``,
    built and, with ``check``, checked (splits, models, and the size of the weights kept); nothing trains.

    The linear baselines need at most as many PCA components as there are training images and
    pixels; a bottleneck beyond that fails here too.
    """
    datasets, models = list(datasets), list(models)
    if not datasets:
        raise ParameterError("datasets=[]: name at least one dataset")
    _distinct("datasets", datasets)
    if not models:
        raise ParameterError("models=[]: name at least one autoencoder")
    _distinct("models", models)
    for model in models:
        with about("models"):
            ae.model_name(model)
    with about("epochs/precision (the training options)"):
        TrainConfig.from_dict({**ae.PAPER_RECIPE, **train})
    splits = {}
    for dataset in datasets:
        splits[dataset] = Split(dataset=dataset, subset=subset, test_subset=test_subset)
        if not isinstance(bottlenecks, Mapping) or dataset not in bottlenecks:
            raise ParameterError(f"bottlenecks has no widths for {dataset!r}")
        widths = _positive_ints(f"bottlenecks[{dataset!r}]", bottlenecks[dataset])
        _distinct(f"bottlenecks[{dataset!r}]", widths)
        info = splits[dataset].info
        most = min(min(subset or info.train_size, info.train_size), math.prod(splits[dataset].in_shape))
        if max(widths) > most:
            raise ParameterError(f"bottlenecks[{dataset!r}]={widths}: the PCA baseline of {max(widths)} components "
                                 f"needs as many training images and pixels, and there are at most {most}")
        if any(ae.model_name(m) != "cnn_ae" for m in models) and not (isinstance(hidden, Mapping) and dataset in hidden):
            raise ParameterError(f"hidden has no width for {dataset!r}")
    planned = []
    for dataset in datasets:
        split = splits[dataset]
        for model in models:
            done = set()
            for requested in bottlenecks[dataset]:
                cnn = ae.model_name(model) == "cnn_ae"
                width = ae.cnn_bottleneck(split, requested) if cnn else requested
                if width in done:
                    continue
                done.add(width)
                what = f"the {model} autoencoder on {dataset} at bottleneck {width}" + (
                    "" if cnn else f" (hidden[{dataset!r}]={hidden[dataset]!r})")
                with about(what), one_thread():  # ae_config builds the model of a run not stored
                    cfg = ae.ae_config(model, dataset, width, seed=seed, subset=subset, test_subset=test_subset,
                                       model_kwargs={} if cnn else {"hidden": hidden[dataset]}, **train)
                planned.append((requested, cfg, (model, dataset, requested) in keep_weights))
    if check:
        run_checks = RunChecks(force=force)
        for requested, cfg, keep in planned:
            run_checks.add([cfg], model=f"the {cfg.model} on {cfg.split.dataset} at bottleneck {cfg.bottleneck}",
                           keep_weights=keep, built=True)  # ae_config built the model of every run not stored
        run_checks.verify()
    return planned


def autoencoders(*, datasets: Sequence[str], models: Sequence[str], bottlenecks: Mapping[str, Sequence[int]],
                 hidden: Mapping[str, int], train: dict, seed: int = 0, subset: int | None = None,
                 test_subset: int | str | None = None, keep_weights: Sequence[tuple[str, str, int]] = (),
                 require_beat_mean: bool = False, force: bool = False, workers: int = 1) -> AutoencoderStudy:
    """Chapter 4's runs: every (dataset, model, bottleneck), the linear baselines, in one call.

    ``bottlenecks[dataset]`` are the widths asked for; the CNN autoencoder gets the nearest its
    layout allows (:func:`kanmix.ae.cnn_bottleneck`), once per distinct width. ``hidden[dataset]``
    is the KAN and MLP autoencoders' hidden width. ``train`` overrides the paper's recipe
    (:data:`kanmix.ae.PAPER_RECIPE`). ``keep_weights`` names the ``(model, dataset, requested
    bottleneck)`` runs whose weights are kept beside their records. With ``require_beat_mean``
    a trained model that does not beat the mean-image predictor is an error, not a row: such a
    model is broken, and its numbers must not be shown as a result. Every run is built and
    checked before the first baseline is computed (:func:`autoencoders_plan`).
    """
    checks.integer("workers", workers)
    planned = autoencoders_plan(datasets=datasets, models=models, bottlenecks=bottlenecks, hidden=hidden, train=train,
                                seed=seed, subset=subset, test_subset=test_subset, keep_weights=keep_weights,
                                force=force)
    base_rows, records, mean_mse = [], [], {}
    for dataset in datasets:
        split = Split(dataset=dataset, subset=subset, test_subset=test_subset)
        baselines = ae.linear_baselines(split, [0, *bottlenecks[dataset]])
        records += baselines
        mean_mse[dataset] = baselines[0]["metrics"]["test_mse"]
        base_rows += [{"dataset": dataset, "method": r["config"]["method"], "components": r["config"]["components"],
                       **{k: r["metrics"][k] for k in ("test_mse", "psnr", "knn_accuracy")}, "hash": r["hash"]}
                      for r in baselines]
    ae_records = runner.record_many([cfg for _, cfg, _ in planned], workers=workers, force=force,
                                 keep_weights=[k for _, _, k in planned])
    rows = []
    for (requested, cfg, _), rec in zip(planned, ae_records):
        row = {**ae.row(rec), "requested": requested,
               "beats_mean": rec["metrics"]["test_mse"] < mean_mse[cfg.split.dataset]}
        if require_beat_mean and not row["beats_mean"]:
            raise ValueError(f"the {row['model']} autoencoder on {cfg.split.dataset} at bottleneck {cfg.bottleneck} has "
                             f"test MSE {rec['metrics']['test_mse']:.4f}, no better than predicting the mean image "
                             f"({mean_mse[cfg.split.dataset]:.4f}): a broken model, not a result (record {rec['hash']})")
        rows.append(row)
    records += ae_records
    curves = ae_records
    return AutoencoderStudy(table=pd.DataFrame(rows, columns=[*ae.COLUMNS, "requested", "beats_mean"]),
                            curves=ae.curves(curves), baselines=pd.DataFrame(base_rows), records=records)


# ----------------------------------------------------------------------------- from a chapter's parameters
# A chapter and the findings page resolve the same parameters (kanmix.book.plan) into the same
# study through these, so the page that summarises the book reads exactly the chapters' records.


def _chapter_values(params: Mapping, names: Sequence[str]) -> dict:
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"the chapter parameters lack {missing}")
    return {n: params[n] for n in names}


def _mixer_args(params: Mapping) -> dict:
    """:func:`mixers`' arguments of chapter 3's parameters (``profile`` and ``paper_epochs`` only caption)."""
    p = _chapter_values(params, ("datasets", "models", "model_kwargs", "folds", "subset", "seed", "epochs", "batch_size", "lr",
                       "weight_decay", "precision", "augment", "param_matched", "time_matched_epochs",
                       "headline_repeats", "headline_against", "efficiency_sizes", "efficiency_folds", "grid_variants",
                       "grid_handling",
                       "workers"))
    train = {k: p.pop(k) for k in ("epochs", "batch_size", "lr", "weight_decay", "precision", "augment")}
    return {**{k: v for k, v in p.items() if k != "param_matched"}, "train": train,
            "param_matched_to": "kan_mixer" if p["param_matched"] else None}


def mixers_from_chapter(params: Mapping, *, force: bool = False) -> MixerStudy:
    """:func:`mixers` of chapter 3's parameters (its parameters cell, as :func:`kanmix.book.plan` resolves it).

    Presentation-only parameters (``profile``, ``paper_epochs``) are ignored.
    """
    return mixers(**_mixer_args(params), force=force)


def mixers_plan_from_chapter(params: Mapping, *, check: bool = True) -> MixerPlan:
    """:func:`mixers_plan` of chapter 3's parameters: every run it would train, checked, none trained."""
    args = _mixer_args(params)
    checks.integer("workers", args.pop("workers"))
    return mixers_plan(**args, check=check)


def _ae_args(params: Mapping) -> dict:
    """:func:`autoencoders`' arguments of chapter 4's parameters (``keep_weights`` as dataset -> model -> bottleneck)."""
    p = _chapter_values(params, ("datasets", "models", "bottlenecks", "hidden", "epochs", "precision", "seed", "subset",
                       "test_subset", "keep_weights", "require_beat_mean", "workers"))
    named = p.pop("keep_weights")
    if not isinstance(named, Mapping) or not all(isinstance(chosen, Mapping) for chosen in named.values()):
        raise ParameterError(f"keep_weights={named!r} must map a dataset to {{model: bottleneck}}")
    keep = [(m, d, b) for d, chosen in named.items() for m, b in chosen.items()]
    train = {"epochs": p.pop("epochs"), "precision": p.pop("precision")}
    return {**p, "train": train, "keep_weights": keep}


def autoencoders_from_chapter(params: Mapping, *, force: bool = False) -> AutoencoderStudy:
    """:func:`autoencoders` of chapter 4's parameters (``keep_weights`` as dataset -> model -> bottleneck)."""
    return autoencoders(**_ae_args(params), force=force)


def parity_from_chapter(params: Mapping, *, force: bool = False) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`precision_parity` of chapter 2's parameters (``parity_*``)."""
    p = _chapter_values(params, ("dataset", "parity_models", "parity_folds", "parity_train", "parity_subset", "workers"))
    return precision_parity(dataset=p["dataset"], models=p["parity_models"], folds=p["parity_folds"],
                            train=p["parity_train"], subset=p["parity_subset"], workers=p["workers"], force=force)


def layer_run(params: Mapping) -> runner.Run:
    """Chapter 2's KAN classifier (784 -> ``hidden`` -> 10 on ``dataset``) of the chapter's parameters."""
    from kanmix.experiment import ClassificationRun

    p = _chapter_values(params, ("dataset", "subset", "seed", "hidden", "grid_size", "spline_order", "epochs", "precision"))
    return ClassificationRun.from_dict({
        "dataset": p["dataset"], "model": "kan", "subset": p["subset"], "seed": p["seed"],
        "model_kwargs": {"hidden": p["hidden"], "grid_size": p["grid_size"], "spline_order": p["spline_order"]},
        "train": {"epochs": p["epochs"], "precision": p["precision"]}})


# ----------------------------------------------------------------------------- a chapter's values, before it runs
# ``python -m kanmix.book run`` checks every parameter's name and type against the chapter's
# parameters cell, then calls check_chapter with the resolved values: each chapter builds the
# configs of all the runs it would make (the same functions it calls itself) and checks what the
# values must satisfy beyond their type, so that a chapter either runs or stops in one line
# before anything trains. A chapter without an entry here would be checked for types only; the
# book's tests require one for every chapter.


def _check_kan(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 1 trains nothing; its lists must not be empty, and every width, grid size and degree >= 1."""
    _positive_ints("grid_sizes", params["grid_sizes"])
    _positive_ints("orders", params["orders"])
    widths = params["widths"]
    if not isinstance(widths, list) or not widths or not all(
            isinstance(w, (list, tuple)) and len(w) == 2 and all(_is_int(v) and v >= 1 for v in w) for w in widths):
        raise ParameterError(f"widths={widths!r} must be a non-empty list of [in, out] pairs of integers >= 1")
    checks.integer("batch", params["batch"])


def _check_layer(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 2: its KAN (trained first, weights kept), the benchmark, and the precision-parity runs."""
    from kanmix.bench import kan as bench_kan

    hidden = params["hidden"]
    if not (isinstance(hidden, list) and len(hidden) == 1):
        raise ParameterError(f"hidden={hidden!r} must hold one width: the chapter reads a KAN of two layers "
                             "(pixels -> hidden -> classes)")
    cfg = layer_run(params)
    classes = cfg.split.info.num_classes
    if _is_int(hidden[0]) and not 1 <= params["n_edges"] <= hidden[0] * classes:
        raise ParameterError(f"n_edges={params['n_edges']} must be in 1..{hidden[0] * classes}, the number of edges "
                             f"of the second layer ({hidden[0]} -> {classes})")
    checks.integer("n_probe", params["n_probe"], 2)  # a grid update places its knots on at least 2 inputs
    if params["bench_json"]:
        path = Path(root or ".") / params["bench_json"]
        if not path.is_file():
            raise ParameterError(f"bench_json={params['bench_json']!r} is not a file; write one with "
                                 "`python -m kanmix.bench kan --json PATH`, or leave bench_json unset to measure here")
    else:
        shapes = params["bench_shapes"]
        if not isinstance(shapes, list) or not shapes or not all(
                isinstance(s, (list, tuple)) and len(s) == 3 and all(_is_int(v) and v >= 1 for v in s) for s in shapes):
            raise ParameterError(f"bench_shapes={shapes!r} must be a non-empty list of [rows, in, out] of integers >= 1")
        checks.integer("bench_repeats", params["bench_repeats"])
        dtypes = params["bench_dtypes"]
        if not dtypes or any(d not in bench_kan.DTYPES for d in dtypes):
            raise ParameterError(f"bench_dtypes={dtypes!r} must list some of {', '.join(bench_kan.DTYPES)}")
        _distinct("bench_dtypes", dtypes)
    checks.integer("parity_folds", params["parity_folds"], 2)
    with about("parity_subset"):
        Split(dataset=params["dataset"], size=32, subset=params["parity_subset"])
    with about("parity_train"):
        TrainConfig.from_dict(params["parity_train"])
    checks.integer("workers", params["workers"])
    run_checks = RunChecks()
    run_checks.add([cfg], model="hidden/grid_size/spline_order (the KAN)", keep_weights=True)
    run_checks.verify()
    parity_plan(dataset=params["dataset"], models=params["parity_models"], folds=params["parity_folds"],
                train=params["parity_train"], subset=params["parity_subset"], name="parity_models")


def _check_mixers(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 3: every run of its study; its paired tests need two models or more in the main CV."""
    plan = mixers_plan_from_chapter(params)
    labels = list(plan.specs[params["datasets"][0]])
    if len(labels) < 2:
        raise ParameterError(f"models={params['models']!r}: the chapter compares models fold by fold and needs two "
                             f"or more, counting the MLP-Mixers param_matched and time_matched_epochs add; got {labels}")


def _check_autoencoders(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 4: the sweep's runs; its tables name the autoencoders by their short names."""
    short = ("kan", "mlp", "cnn")
    odd = [m for m in params["models"] if m not in short]
    if odd:
        raise ParameterError(f"models: {odd[0]!r} is not one of this chapter's autoencoders {', '.join(short)}")
    args = _ae_args(params)
    checks.integer("workers", args.pop("workers"))
    args.pop("require_beat_mean")
    autoencoders_plan(**args)


def _check_splines(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 5: the mixers and the autoencoder it trains (weights kept), then what it measures on them."""
    from kanmix import interpret

    seeds = _positive_ints("seeds", params["seeds"], minimum=0)
    _distinct("seeds", seeds)
    if len(seeds) < 2:
        raise ParameterError(f"seeds={seeds!r} must hold at least 2 seeds: the chapter compares the seeds' maps")
    with about("train"):
        TrainConfig.from_dict(params["train"])
    Split(dataset=params["dataset"], size=32, subset=params["subset"])
    with about("ae_dataset/ae_subset/ae_bottleneck/ae_hidden/ae_train (the autoencoder)"), one_thread():
        runs = interpret.chapter_runs(params)
    for name in ("n_importance", "n_eval", "finetune_steps", "n_panels", "n_top", "workers"):
        checks.integer(name, params[name])
    from kanmix.linearize import ARMS

    arms = params["linearize_arms"]
    if not isinstance(arms, (list, tuple)) or any(a not in ARMS for a in arms):
        raise ParameterError(f"linearize_arms={arms!r} must list arms among {list(ARMS)}")
    _distinct("linearize_arms", list(arms))
    for keep in params["keep_fractions"]:
        if not 0 < keep <= 1:
            raise ParameterError(f"keep_fractions={params['keep_fractions']!r}: {keep!r} is not a fraction in (0, 1]")
    with about("finetune_lr"):  # the fine-tuning's options, as kanmix.interpret.prune_runs makes them
        TrainConfig.from_dict({"lr": params["finetune_lr"], "warmup": 0.0,
                               "batch_size": params["train"].get("batch_size", 128), "epochs": 1})
    run_checks = RunChecks()
    run_checks.add(runs.kan, model="mixer_kwargs", keep_weights=True)
    run_checks.add(runs.mlp, model="mlp_kwargs", keep_weights=True)
    run_checks.add([runs.ae], model="ae_bottleneck/ae_hidden", keep_weights=True)
    run_checks.verify()


def _check_findings(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """The findings page builds chapters 2-6's studies from their parameters under its profile: their checks."""
    from kanmix import book

    profile = params["profile"]
    read = {"02": "02_layer", "03": "03_kan_mixers", "04": "04_autoencoders", "05": "05_splines",
            "06": "06_frontier"}
    for number, values in book.chapter_parameters(profile, list(read)).items():
        try:
            check_chapter(read[number], values, root=root, checked=checked)
        except (ValueError, TypeError, LookupError, KanmixError) as err:
            raise ParameterError(f"{read[number]}'s parameters under profile {profile!r}, which this page reads: "
                                 f"{one_line(err)}") from None


# ----------------------------------------------------------------------------- the compute frontier (chapter 6)


@dataclass
class FrontierStudy:
    """What :func:`frontier` returns.

    - ``points``: one row per (configuration, seed), its folds averaged: dataset, family, size, dim,
      depth, epochs, seed, lr, params, flops (training FLOPs of one fold's run), train_seconds,
      val_accuracy, test_accuracy, folds;
    - ``sweep``: the learning-rate sweep in the same form, with ``chosen`` marking each family's lr;
    - ``lrs``: family -> the learning rate its points trained with;
    - ``missing``: planned runs not in the store (only with ``available_only``; seeds not counted);
    - ``records``: every record behind them, for provenance; ``sweep_records`` the sweep's;
    - ``timing``: :func:`frontier_timing`'s record; ``points.timed_seconds`` are from it.
    """

    points: pd.DataFrame
    sweep: pd.DataFrame
    lrs: dict[str, float]
    missing: int = 0
    records: list[dict] = field(default_factory=list)
    sweep_records: list[dict] = field(default_factory=list)
    timing: dict | None = None  # the side-by-side timing (frontier_timing), None until measured


_FRONTIER_COLUMNS = ["dataset", "family", "size", "dim", "depth", "epochs", "seed", "lr", "params", "n_train",
                     "flops", "train_seconds", "val_accuracy", "test_accuracy", "folds"]


def _frontier_rows(runs: Sequence[tuple[str, runner.Run]], recs: Sequence[dict]) -> pd.DataFrame:
    """One row per (family, configuration, seed) from its fold records, the folds averaged."""
    rows = []
    for (family, cfg), rec in zip(runs, recs):
        kw = cfg.model_kwargs
        rows.append({"dataset": cfg.split.dataset, "family": family, "size": frontier_mod.size_label(kw["dim"], kw["depth"]),
                     "dim": kw["dim"], "depth": kw["depth"], "epochs": cfg.train.epochs, "seed": cfg.seed,
                     "lr": cfg.train.lr, "params": rec["parameters"], "n_train": rec["n_train"],
                     "flops": float(rec.get("training_flops") or run_training_flops(cfg, rec["n_train"])),
                     "train_seconds": rec["train_seconds"], "val_accuracy": rec["metrics"]["val"]["accuracy"],
                     "test_accuracy": rec["metrics"]["test"]["accuracy"]})
    if not rows:
        return pd.DataFrame(columns=_FRONTIER_COLUMNS)
    df = pd.DataFrame(rows)
    keys = ["dataset", "family", "size", "dim", "depth", "epochs", "seed", "lr"]
    out = df.groupby(keys, sort=False, as_index=False).agg(
        params=("params", "first"), n_train=("n_train", "first"), flops=("flops", "mean"), train_seconds=("train_seconds", "mean"),
        val_accuracy=("val_accuracy", "mean"), test_accuracy=("test_accuracy", "mean"),
        folds=("val_accuracy", "size"))
    return out[_FRONTIER_COLUMNS]


def frontier(*, families: Mapping[str, Mapping], datasets: Sequence[str], epochs: Sequence[int],
             other_datasets_sizes: Mapping[str, Sequence], lr_sweep: Mapping, frontier_seeds: Sequence[int],
             seeded_points: int, folds: int, fold_runs: int, patch: int, train: Mapping, size: int | None = 32,
             subset: int | None = None, seed: int = 0, timing_steps: int = 10, available_only: bool = False,
             force: bool = False, workers: int = 1) -> FrontierStudy:
    """The compute-frontier campaign: every family at every size and length, in three steps.

    1. **The learning rate.** Each family named in ``lr_sweep["sizes"]`` trains that size for
       ``lr_sweep["epochs"]`` epochs at each of ``lr_sweep["lrs"]`` on the first dataset; the
       best mean validation accuracy picks the lr the family uses everywhere (a family with
       ``lr_from`` uses that family's).
    2. **The grid.** Every size of every family (:class:`kanmix.frontier.Family`) for each of
       ``epochs``, on the first dataset; on the others only the sizes ``other_datasets_sizes``
       lists for the family. Each is the first ``fold_runs`` folds of ``folds``, seed ``seed``.
    3. **Seeds.** The ``seeded_points`` cheapest points on each family's frontier on the first
       dataset (by training FLOPs, :func:`kanmix.frontier.envelope` of the seed-``seed`` points)
       train again with each seed of ``frontier_seeds``, so the frontier carries a noise band.

    ``train`` holds the shared training options (all but ``epochs`` and ``lr``). Every
    configuration is checked before the first run trains, and timed side by side
    (:func:`frontier_timing`, ``timing_steps`` batches per timed run). ``available_only`` trains nothing:
    the study reads the records that exist (a campaign under way) and counts the missing ones.
    """
    plan = frontier_plan(families=families, datasets=datasets, epochs=epochs,
                         other_datasets_sizes=other_datasets_sizes, lr_sweep=lr_sweep, folds=folds,
                         fold_runs=fold_runs, patch=patch, train=train, size=size, subset=subset, seed=seed)
    if not available_only:
        checks_ = RunChecks(force=force)
        plan.queue(checks_)
        checks_.verify()
    study = FrontierStudy(points=pd.DataFrame(columns=_FRONTIER_COLUMNS), sweep=pd.DataFrame(), lrs={})
    # Timed first, alone on the machine, before the campaign's runs share its cores.
    study.timing = frontier_timing(plan, steps=timing_steps, repeats=3, available_only=available_only)

    def records(runs: list[tuple[str, runner.Run]]) -> tuple[list, list[dict]]:
        if available_only:
            runs = [(f, c) for f, c in runs if runner.stored(c)]
        recs = runner.record_many([c for _, c in runs], workers=workers, force=force)
        study.records += recs
        return runs, recs

    sweep_runs = plan.sweep_runs()
    done, recs = records(sweep_runs)
    study.sweep_records = recs
    study.missing += len(sweep_runs) - len(done)
    study.sweep = _frontier_rows(done, recs)
    for label in plan.swept:
        by_lr = study.sweep[study.sweep.family == label].groupby("lr")["val_accuracy"].mean()
        if len(by_lr) == len(plan.lrs):  # the whole sweep is in: its best lr is the family's
            study.lrs[label] = float(by_lr.idxmax())
    for label, fam in plan.families.items():
        if fam.lr_from is not None and fam.lr_from in study.lrs:
            study.lrs[label] = study.lrs[fam.lr_from]
    study.sweep["chosen"] = [study.lrs.get(f) == lr for f, lr in zip(study.sweep.family, study.sweep.lr)]
    grid = plan.grid_runs(study.lrs)
    study.missing += plan.grid_size() - len(grid)  # families whose lr is not known yet
    done, recs = records(grid)
    study.missing += len(grid) - len(done)
    first = _frontier_rows(done, recs)
    study.points = first
    if plan.first_complete(first) or not available_only:
        on_frontier = frontier_mod.envelope(first[first.dataset == datasets[0]])  # sorted by FLOPs per family
        on_frontier = on_frontier.groupby("family", sort=False).head(seeded_points)
        keys = {(r.family, r.dim, r.depth, r.epochs) for r in on_frontier.itertuples()}
        extra = [(f, c) for s in frontier_seeds for f, c in plan.grid_runs(study.lrs, seed=s, datasets=datasets[:1])
                 if (f, c.model_kwargs["dim"], c.model_kwargs["depth"], c.train.epochs) in keys]
        done, recs = records(extra)
        study.points = pd.concat([first, _frontier_rows(done, recs)], ignore_index=True)
    study.points["timed_seconds"] = timed_seconds(study.points, study.timing)
    if study.timing is not None:
        study.records.append(study.timing)
    return study


@dataclass
class FrontierPlan:
    """The frontier study's configurations, before any run: the sweep's, and the grid's for given lrs."""

    families: dict[str, frontier_mod.Family]
    datasets: list[str]
    epochs: list[int]
    other_sizes: dict[str, list[tuple[int, int]]]
    lrs: list[float]
    sweep_epochs: int
    swept: dict[str, tuple[int, int]]
    folds: int
    fold_runs: int
    patch: int
    train: dict
    size: int | None
    subset: int | None
    seed: int

    def configs(self, family: str, dim: int, depth: int, dataset: str, epochs: int, lr: float,
                seed: int) -> list[runner.Run]:
        fam = self.families[family]
        return cv.fold_configs(fam.model, dataset, folds=self.folds, first_folds=self.fold_runs, size=self.size,
                               subset=self.subset, seed=seed, model_kwargs=fam.model_kwargs(dim, depth, self.patch),
                               train={**self.train, "epochs": epochs, "lr": lr})

    def points(self, datasets: Sequence[str] | None = None) -> list[tuple[str, int, int, str, int]]:
        """Every (family, dim, depth, dataset, epochs) of the grid."""
        return [(label, dim, depth, dataset, n) for dataset in (datasets or self.datasets)
                for label, fam in self.families.items() for dim, depth in fam.sizes
                if dataset == self.datasets[0] or (dim, depth) in self.other_sizes.get(label, ())
                for n in self.epochs]

    def sweep_runs(self) -> list[tuple[str, runner.Run]]:
        return [(label, cfg) for label, (dim, depth) in self.swept.items() for lr in self.lrs
                for cfg in self.configs(label, dim, depth, self.datasets[0], self.sweep_epochs, lr, self.seed)]

    def grid_runs(self, lrs: Mapping[str, float], *, seed: int | None = None,
                  datasets: Sequence[str] | None = None) -> list[tuple[str, runner.Run]]:
        """The grid's runs of the families whose lr is known (``lrs``)."""
        return [(label, cfg) for label, dim, depth, dataset, n in self.points(datasets) if label in lrs
                for cfg in self.configs(label, dim, depth, dataset, n, lrs[label],
                                        self.seed if seed is None else seed)]

    def grid_size(self) -> int:
        return len(self.points()) * self.fold_runs

    def first_complete(self, points: pd.DataFrame) -> bool:
        """Whether every point of the grid on the first dataset is in ``points``."""
        want = {(f, d, dp, n) for f, d, dp, ds, n in self.points(self.datasets[:1])}
        have = {(r.family, r.dim, r.depth, r.epochs) for r in points.itertuples() if r.dataset == self.datasets[0]}
        return want <= have

    def queue(self, checks_: RunChecks) -> None:
        """Queue every configuration that can be known before training (any lr: splits and models)."""
        checks_.add([c for _, c in self.sweep_runs()], split="datasets", model="lr_sweep")
        checks_.add([c for _, c in self.grid_runs({f: self.lrs[0] for f in self.families})], split="datasets",
                    model="families")


def frontier_plan(*, families: Mapping[str, Mapping], datasets: Sequence[str], epochs: Sequence[int],
                  other_datasets_sizes: Mapping[str, Sequence], lr_sweep: Mapping, folds: int, fold_runs: int,
                  patch: int, train: Mapping, size: int | None = 32, subset: int | None = None,
                  seed: int = 0) -> FrontierPlan:
    """The :class:`FrontierPlan` of :func:`frontier`'s arguments, every value checked (one line naming it)."""
    if not isinstance(families, Mapping) or len(families) < 2:
        raise ParameterError(f"families={families!r} must map at least two family labels to their specs")
    with about("families"):
        fams = {label: frontier_mod.Family.from_dict(label, spec) for label, spec in families.items()}
    if not isinstance(datasets, (list, tuple)) or not datasets:
        raise ParameterError(f"datasets={datasets!r} must be a non-empty list")
    _distinct("datasets", datasets)
    epochs = _positive_ints("epochs", epochs)
    _distinct("epochs", epochs)
    if not isinstance(lr_sweep, Mapping) or set(lr_sweep) != {"lrs", "epochs", "sizes"}:
        raise ParameterError(f"lr_sweep={lr_sweep!r} must have exactly the keys lrs, epochs and sizes")
    lrs = lr_sweep["lrs"]
    if not isinstance(lrs, (list, tuple)) or not lrs or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in lrs):
        raise ParameterError(f"lr_sweep.lrs={lrs!r} must be a non-empty list of positive numbers")
    _distinct("lr_sweep.lrs", list(lrs))
    sweep_epochs = _positive_ints("lr_sweep.epochs", [lr_sweep["epochs"]])[0]
    swept = {}
    for label, sz in dict(lr_sweep["sizes"]).items():
        if label not in fams:
            raise ParameterError(f"lr_sweep.sizes names {label!r}, which is not a family ({', '.join(fams)})")
        if not (isinstance(sz, (list, tuple)) and len(sz) == 2 and all(_is_int(v) and v >= 1 for v in sz)):
            raise ParameterError(f"lr_sweep.sizes[{label!r}]={sz!r} must be a [dim, depth] pair")
        swept[label] = tuple(sz)
    for label, fam in fams.items():
        if fam.lr_from is None and label not in swept:
            raise ParameterError(f"families[{label!r}] has no lr_sweep size and no lr_from: its lr would be unknown")
        if fam.lr_from is not None and fam.lr_from not in swept:
            raise ParameterError(f"families[{label!r}].lr_from={fam.lr_from!r} is not a family of lr_sweep.sizes")
    other = {}
    for label, sizes in dict(other_datasets_sizes).items():
        if label not in fams:
            raise ParameterError(f"other_datasets_sizes names {label!r}, which is not a family ({', '.join(fams)})")
        other[label] = [tuple(s) for s in sizes]
        stray = [s for s in other[label] if s not in fams[label].sizes]
        if stray:
            raise ParameterError(f"other_datasets_sizes[{label!r}] lists {list(stray[0])}, not one of the family's sizes")
    train = dict(train)
    if {"epochs", "lr"} & set(train):
        raise ParameterError("train must not set epochs or lr: the grid and the sweep set them")
    if not _is_int(fold_runs) or not 1 <= fold_runs <= (folds if _is_int(folds) else 0):
        raise ParameterError(f"fold_runs={fold_runs!r} must be an integer in 1..folds ({folds!r})")
    plan = FrontierPlan(fams, list(datasets), epochs, other, [float(v) for v in lrs], sweep_epochs, swept, folds,
                        fold_runs, patch, train, size, subset, seed)
    with about("datasets, families or patch"):  # configs check the split, the patch and the recipe
        plan.sweep_runs()
        plan.grid_runs({f: plan.lrs[0] for f in fams})
    return plan


def frontier_timing(plan: FrontierPlan, *, steps: int, repeats: int, threads: int = 1,
                    available_only: bool = False) -> dict | None:
    """Every configuration of the frontier timed side by side in one process: a ``bench_frontier`` record.

    A campaign's runs span sessions, and their training seconds depend on the machine each ran
    on and on what shared its cores; a seconds axis drawn from them mixes machines. Here every
    (family, size, dataset) trains ``steps`` batches of random images (augmented like the real
    runs, at the real batch size and precision) with ``threads`` threads, in turns, ``repeats``
    times; the best run gives its images per second (:func:`kanmix.bench.mixer.measure`). A
    point's training seconds are then its images over that rate, all measured in one sitting on
    one machine. Returns the record, or ``None`` when ``available_only`` and it was not measured.
    """
    from kanmix.bench.mixer import measure
    from kanmix.runtime import resolve_device

    archs = {}
    for family, dim, depth, dataset, _ in plan.points():
        split = Split(dataset=dataset, size=plan.size)
        archs.setdefault(f"{family} {frontier_mod.size_label(dim, depth)} {dataset}", {
            "family": family, "model": plan.families[family].model, "dataset": dataset, "in_shape": list(split.in_shape),
            "num_classes": split.info.num_classes, "model_kwargs": plan.families[family].model_kwargs(dim, depth, plan.patch)})
    train = TrainConfig.from_dict({**plan.train, "epochs": 1})
    cfg = {"kind": "bench_frontier", "archs": archs, "steps": steps, "repeats": repeats, "threads": threads,
           "batch_size": train.batch_size, "precision": train.precision, "augment": train.augment}
    if available_only and not results.record_path(cfg).exists():
        return None

    def measure_all() -> dict:
        import torch

        saved = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            models = {name: build_model(a["model"], in_shape=tuple(a["in_shape"]), num_classes=a["num_classes"],
                                        **a["model_kwargs"]) for name, a in archs.items()}
            rates = measure(models, resolve_device("cpu"), train.batch_size, steps, warmup=2, repeats=repeats,
                            precision=train.precision, in_shapes={n: a["in_shape"] for n, a in archs.items()},
                            augment=train.augment)
        finally:
            torch.set_num_threads(saved)
        return {"images_per_second": {name: r["images_per_second"] for name, r in rates.items()}}

    return results.cached_run(cfg, measure_all)


def timed_seconds(points: pd.DataFrame, timing: dict | None) -> pd.Series:
    """Each point's training seconds from :func:`frontier_timing`'s rates: ``n_train * epochs / rate``
    (NaN where the timing is missing)."""
    if timing is None:
        return pd.Series(math.nan, index=points.index)
    rates = timing["images_per_second"]
    return pd.Series([p.n_train * p.epochs / rates[f"{p.family} {p.size} {p.dataset}"]
                      if f"{p.family} {p.size} {p.dataset}" in rates else math.nan
                      for p in points.itertuples()], index=points.index)


def frontier_sizes(study: FrontierStudy) -> pd.DataFrame:
    """Each family's sizes with their parameters and training FLOPs per image (first dataset, from the points)."""
    pts = pd.concat([study.sweep, study.points], ignore_index=True)
    if pts.empty:
        return pd.DataFrame(columns=["family", "size", "params", "flops_per_image"])
    first = pts[pts.dataset == pts.dataset.iloc[0]]
    per_image = first.flops / (first.epochs * first.n_train)
    return first.assign(flops_per_image=per_image).groupby(["family", "size"], sort=False).agg(
        params=("params", "first"), flops_per_image=("flops_per_image", "first"))


def paper_frontier_marks(datasets: Sequence[str], *, paper_epochs: int, folds: int = 5) -> dict:
    """The paper's reported accuracies at the training FLOPs of its configuration, per dataset:
    ``{dataset: [(label, flops, accuracy), ...]}`` for :func:`kanmix.viz.plot_frontier`.

    The paper's mixers are :data:`kanmix.models.CONFIGS`' (patch 4, width 256, 8 blocks), trained for
    ``paper_epochs`` epochs on ``folds - 1`` of ``folds`` folds of the training split. The
    paper's MLP-Mixer's hidden widths are not given; the KAN-Mixer's are assumed.
    """
    from kanmix.models import config

    mixer = config("kan_mixer_paper")[1]
    marks = {}
    for dataset in datasets:
        split = Split(dataset=dataset, size=32, fold=Fold(folds=folds, fold=0))
        n = training_images(split) * paper_epochs
        out = []
        for label, acc in PAPER_ACCURACY.get(dataset, {}).items():
            model = {"KAN-Mixer": "kan_mixer", "MLP-Mixer": "mlp_mixer"}.get(label)
            if model is None:
                continue
            net = build_model(model, in_shape=split.in_shape, num_classes=split.info.num_classes, **mixer)
            out.append((label, float(training_flops(net, split.in_shape, n)), acc))
        if out:
            marks[dataset] = out
    return marks


def _frontier_args(params: Mapping) -> dict:
    """:func:`frontier`'s arguments of chapter 6's parameters (``profile`` and ``paper_epochs`` only caption)."""
    p = _chapter_values(params, ("families", "datasets", "other_datasets_sizes", "epochs", "lr_sweep", "frontier_seeds",
                       "seeded_points", "folds", "fold_runs", "patch", "subset", "batch_size", "weight_decay",
                       "precision", "augment", "timing_steps", "available_only", "seed", "workers"))
    train = {k: p.pop(k) for k in ("batch_size", "weight_decay", "precision", "augment")}
    return {**p, "train": train}


def frontier_from_chapter(params: Mapping, *, force: bool = False) -> FrontierStudy:
    """:func:`frontier` of chapter 6's parameters (its parameters cell, as :func:`kanmix.book.plan` resolves it)."""
    return frontier(**_frontier_args(params), force=force)


def _check_frontier(params: Mapping, root: Path | None = None, checked: set | None = None) -> None:
    """Chapter 6: the plan of its grid and sweep (every value, split and model), nothing trained."""
    args = _frontier_args(params)
    checks.integer("workers", args.pop("workers"))
    seeds = args.pop("frontier_seeds")
    if not isinstance(seeds, (list, tuple)) or not all(_is_int(v) and v >= 0 for v in seeds) \
            or args["seed"] in seeds:
        raise ParameterError(f"frontier_seeds={seeds!r} must be a list of seeds >= 0 other than seed={args['seed']!r}")
    _distinct("frontier_seeds", list(seeds))
    checks.integer("seeded_points", args.pop("seeded_points"), 0)
    checks.integer("timing_steps", args.pop("timing_steps"))
    args.pop("available_only")
    plan = frontier_plan(**args)
    if not params["available_only"]:
        checks_ = RunChecks()
        plan.queue(checks_)
        checks_.verify()


#: chapter stem -> its check of the resolved parameters (see :func:`check_chapter`).
CHAPTER_CHECKS: dict[str, Callable[[Mapping, Path | None, set | None], None]] = {
    "00_findings": _check_findings, "01_kan": _check_kan, "02_layer": _check_layer, "03_kan_mixers": _check_mixers,
    "04_autoencoders": _check_autoencoders, "05_splines": _check_splines, "06_frontier": _check_frontier}


def check_chapter(stem: str, params: Mapping, *, root: Path | None = None, checked: set | None = None) -> bool:
    """Build every run chapter ``stem`` would make from ``params`` (all its parameters, resolved) and check them.

    Nothing trains: configs are built (each validates itself), and for the runs not stored yet
    the data splits and models are checked (:class:`RunChecks`). Raises the first problem as one
    line naming the parameter (a :class:`ParameterError`, or the config's own ``ValueError``);
    ``root`` is where the chapter runs (relative paths). ``checked`` collects the chapters and
    values already checked, so that a page reading other chapters (the findings) does not check
    them twice in one book run. False when the chapter has no check.
    """
    check = CHAPTER_CHECKS.get(stem)
    if check is None:
        return False
    key = (stem, results.canonical_json(dict(params)))
    if checked is not None and key in checked:
        return True
    check(params, root, checked)
    if checked is not None:
        checked.add(key)
    return True
