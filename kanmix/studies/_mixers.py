"""Chapter 3's study: k-fold CV of the KAN-Mixer against its baselines, the headline pair's
repeated CV, data efficiency and the grid ablation (:func:`mixers`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kanmix import checks, cv, data, runner, stats
from kanmix.models import CLASSIFIERS, param_matched
from kanmix.splits import Split
from kanmix.train import TrainConfig
from kanmix.studies._common import (
    MIXER_LABELS, PARAM_MATCHED, ParameterError, RunChecks, TIME_MATCHED, _DEFAULT_EPOCHS, _chapter_values,
    _count_parameters, _distinct, _fold_runs, _is_int, about, with_overrides)

@dataclass
class MixerStudy:
    """What :func:`mixers` returns: tidy tables, each with a ``dataset`` column where it has several.

    - ``folds``: one row per (dataset, model, fold) of the main CV (:data:`kanmix.cv.COLUMNS`);
    - ``curves``: per-epoch rows of the main CV (``outside_grid`` is the mean over a model's KAN layers);
    - ``labelled``: dataset -> ``[(label, record), ...]`` of the main CV, for captions;
    - ``headline``: the repeated CV of ``headline_pair`` on the first dataset (all repeats);
    - ``efficiency``: one row per (train size, model, fold) of the data-efficiency runs, compared on
      ``efficiency_metric``;
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
    efficiency_metric: str = "val_accuracy"  # test_accuracy when every size is scored on the whole test split
    efficiency_missing: int = 0  # planned data-efficiency runs not in the store (efficiency_available_only)
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


def kan_mixer_against_each(study: MixerStudy, *, folds: int, kan: str = "KAN-Mixer") -> dict[str, pd.DataFrame]:
    """Dataset -> :func:`kan_mixer_against` of its main CV, in the study's order: what the findings of chapter 3
    and of the findings page read (:func:`kanmix.report.mixers_finding`)."""
    return {d: kan_mixer_against(study.folds[study.folds.dataset == d], folds=folds, kan=kan)
            for d in dict.fromkeys(study.folds.dataset)}


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


def _curves(labelled: Sequence[tuple[str, dict]]) -> pd.DataFrame:
    """:func:`kanmix.cv.curves` with ``outside_grid`` reduced to its mean over the KAN layers."""
    df = cv.curves(labelled)
    if "outside_grid" in df:
        df["outside_grid"] = [sum(v.values()) / len(v) if isinstance(v, dict) and v else math.nan
                              for v in df["outside_grid"]]
    return df


#: The models of the data-efficiency curve unless a chapter names others (those of them it has).
EFFICIENCY_MODELS = ("KAN-Mixer", "MLP-Mixer")


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
                efficiency_models: Sequence[str] | None = None, efficiency_full_test: bool = False,
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
                efficiency_folds=efficiency_folds,
                efficiency_models=None if efficiency_models is None else list(efficiency_models),
                efficiency_full_test=bool(efficiency_full_test), variants=kept, left_out=left_out,
                grid_handling=grid_handling)
    run_checks = RunChecks(force=force) if check else None
    if param_matched_to is not None:  # every other run first: the matched widths need the KAN-Mixer built
        # The first pass has no matched MLP-Mixer yet, so its data-efficiency curve leaves it out too.
        unmatched = None if efficiency_models is None else [m for m in efficiency_models if m != PARAM_MATCHED]
        first = _plan_mixers(**{**args, "headline_against": None, "efficiency_models": unmatched,
                                "efficiency_sizes": args["efficiency_sizes"] if unmatched != [] else []},
                             param_matched_to=None)
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
                 time_matched_epochs, headline_repeats, headline_against, efficiency_sizes, efficiency_folds,
                 efficiency_models, efficiency_full_test, variants,
                 left_out, grid_handling, count=None) -> MixerPlan:
    """:func:`mixers_plan`'s configs of arguments it has checked one by one."""
    shared = {"folds": folds, "size": size, "subset": subset, "seed": seed}
    first, kan = datasets[0], MIXER_LABELS["kan_mixer"]
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
        if efficiency_models is None:  # the KAN-Mixer and the MLP-Mixer, those the chapter has
            efficiency_models = [label for label in EFFICIENCY_MODELS if label in specs]
            if not efficiency_models:
                raise ParameterError(f"efficiency_sizes={efficiency_sizes!r}: the data-efficiency runs are the "
                                     "KAN-Mixer's and the MLP-Mixer's, and models has neither")
        missing = [label for label in efficiency_models if label not in specs]
        if missing or not efficiency_models:
            raise ParameterError(f"efficiency_models={list(efficiency_models)!r} must name models of the chapter's "
                                 f"cross-validation, {list(specs)}")
        full = data.info(first).train_size
        for n in efficiency_sizes:
            with about(f"efficiency_sizes={efficiency_sizes!r}"):
                Split(dataset=first, size=size, subset=n)  # before its epochs are worked out from it
                # Each model's own epochs (the time-matched MLP-Mixer's are its own) scaled to the subset.
                runs = []
                for label in efficiency_models:
                    own = (specs[label].get("train") or {}).get("epochs")
                    epochs = efficiency_epochs(own or train.get("epochs", _DEFAULT_EPOCHS), n, full)
                    spec = with_overrides(specs[label], {"train": {"epochs": epochs}}) if own else specs[label]
                    # The whole training split is scored on the whole test split anyway: no key, same record.
                    test = {"test_subset": "all"} if efficiency_full_test and n is not None else {}
                    runs.append(_fold_runs({label: spec}, first, train={**train, "epochs": epochs},
                                           first_folds=efficiency_folds, **{**shared, "subset": n, **test}))
                plan.efficiency[n] = [run for fold in zip(*runs) for run in fold]  # fold by fold, as _fold_runs
    return plan


def mixers(*, datasets: Sequence[str], models: Sequence[str], model_kwargs: Mapping[str, dict], folds: int,
           train: dict, size: int | None = 32, subset: int | None = None, seed: int = 0,
           param_matched_to: str | None = None, time_matched_epochs: int | None = None,
           headline_repeats: int = 1, headline_against: str | None = None,
           efficiency_sizes: Sequence[int | None] = (), efficiency_folds: int = 1,
           efficiency_models: Sequence[str] | None = None, efficiency_full_test: bool = False,
           efficiency_available_only: bool = False,
           grid_variants: Mapping[str, dict] | None = None, grid_handling: str | None = None,
           force: bool = False, workers: int = 1, executor=None) -> MixerStudy:
    """Chapter 3's runs, in the order a reader needs them (see :class:`MixerStudy`).

    ``train`` holds the training options every model shares (epochs, lr, precision, augment,
    ...). ``grid_variants`` maps a label to overrides (``model_kwargs`` and/or ``train``) of the
    KAN-Mixer, compared first on fold 0 of the first dataset (a variant the epochs cannot train
    is left out: :func:`runnable_grid_variants`); ``grid_handling`` names the one every KAN-Mixer
    of the study uses, so its fold 0 is one record. The headline pair is the KAN-Mixer and the
    MLP-Mixer named by ``headline_against``, fixed before any run (a pair picked after looking at
    the results would need its p-value corrected for the picking); with ``headline_repeats > 1``
    both get that many repeats of the k-fold split on the first dataset (repeat 0 is the main CV). ``efficiency_sizes`` are training-set subsets (``None``: the whole split) on
    which ``efficiency_models`` (labels of the main CV; ``None``: :data:`EFFICIENCY_MODELS`) run the first ``efficiency_folds`` folds, each
    with its own epochs scaled by :func:`efficiency_epochs`; ``efficiency_full_test`` scores every size
    on the whole test split (else on a test subset of the training subset's fraction);
    ``efficiency_available_only`` trains none of them and shows the sizes whose runs are all stored (a
    campaign under way; :attr:`MixerStudy.efficiency_missing` counts the rest). ``workers`` trains that
    many runs at a time (:func:`kanmix.runner.record_many`); ``executor``
    (``None``: ``$KANMIX_EXECUTOR``, else this machine) sends them to a Ray cluster instead (``"ray"``).
    Every run is built and checked before the first trains (:func:`mixers_plan`).
    """
    checks.integer("workers", workers)
    if not isinstance(efficiency_available_only, bool):
        raise ParameterError(f"efficiency_available_only={efficiency_available_only!r} must be true or false")
    plan = mixers_plan(datasets=datasets, models=models, model_kwargs=model_kwargs, folds=folds, train=train, size=size,
                       subset=subset, seed=seed, param_matched_to=param_matched_to,
                       time_matched_epochs=time_matched_epochs, headline_repeats=headline_repeats,
                       headline_against=headline_against, efficiency_sizes=efficiency_sizes,
                       efficiency_folds=efficiency_folds, efficiency_models=efficiency_models,
                       efficiency_full_test=efficiency_full_test, grid_variants=grid_variants, grid_handling=grid_handling,
                       force=force)
    study = MixerStudy(folds=pd.DataFrame(), curves=pd.DataFrame(), labelled={}, left_out=dict(plan.left_out))
    if plan.ablation:
        labelled = cv.run_plan(plan.ablation, force=force, workers=workers, executor=executor)
        study.ablation, study.ablation_curves = cv.table(labelled), _curves(labelled)
        study.records += [rec for _, rec in labelled]
    tables, curves = [], []
    for dataset in datasets:
        labelled = cv.run_plan(plan.main[dataset], force=force, workers=workers, executor=executor)
        study.labelled[dataset] = labelled
        tables.append(cv.table(labelled))
        curves.append(_curves(labelled).assign(dataset=dataset))
        study.records += [rec for _, rec in labelled]
    study.folds, study.curves = pd.concat(tables, ignore_index=True), pd.concat(curves, ignore_index=True)
    first = datasets[0]
    if plan.headline:
        (against,) = plan.headline
        study.headline_pair = (MIXER_LABELS["kan_mixer"], against)
        labelled = cv.run_plan(plan.headline[against], force=force, workers=workers, executor=executor)
        study.headline = cv.table(labelled)
        study.records += [rec for _, rec in labelled]
    if plan.efficiency:
        planned = [cfg for runs in plan.efficiency.values() for _, cfg in runs]
        todo = [cfg for cfg in planned if not efficiency_available_only or runner.stored(cfg)]
        study.efficiency_missing = len(planned) - len(todo)
        runner.record_many(todo, workers=workers, force=force, executor=executor)
        rows = []
        for n, runs in plan.efficiency.items():
            if not all(runner.stored(cfg) for _, cfg in runs):
                continue  # a size is shown with every model and fold, or not at all (a campaign under way)
            labelled = cv.run_plan(runs)  # reads the records just made
            rows.append(cv.table(labelled).assign(subset=n or data.info(first).train_size))
            study.records += [rec for _, rec in labelled]
        study.efficiency = pd.concat(rows, ignore_index=True) if rows else None
        study.efficiency_metric = "test_accuracy" if efficiency_full_test else "val_accuracy"
    return study


def _mixer_args(params: Mapping) -> dict:
    """:func:`mixers`' arguments of chapter 3's parameters (``profile`` and ``paper_epochs`` only caption)."""
    p = _chapter_values(params, ("datasets", "models", "model_kwargs", "folds", "subset", "seed", "epochs", "batch_size", "lr",
                       "weight_decay", "precision", "augment", "param_matched", "time_matched_epochs",
                       "headline_repeats", "headline_against", "efficiency_sizes", "efficiency_folds",
                       "efficiency_models", "efficiency_full_test", "efficiency_available_only", "grid_variants",
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
    args.pop("efficiency_available_only")  # what the study reads, not what it plans
    return mixers_plan(**args, check=check)


# ----------------------------------------------------------------------------- chapter 3's tables, from the study


def summaries(study: MixerStudy) -> dict[str, pd.DataFrame]:
    """Dataset -> :func:`kanmix.cv.overview` of its main CV (one row per model), in the study's order."""
    return {d: cv.overview(study.folds[study.folds.dataset == d]) for d in dict.fromkeys(study.folds.dataset)}


def records_of(study: MixerStudy, table: pd.DataFrame) -> list[dict]:
    """The study's records behind ``table``'s rows (its ``hash`` column), for a caption's provenance."""
    wanted = set(table["hash"])
    return [r for r in study.records if r["hash"] in wanted]


def ablation_table(study: MixerStudy) -> pd.DataFrame:
    """One row per grid handling: held-out and test accuracy, and the share of the KAN layers' inputs outside
    their grids after the last epoch (mean over layers). No time column: the ablation is about accuracy
    and coverage, and its runs may have shared the cores with other work."""
    abl = study.ablation.set_index("model")
    last = study.ablation_curves.sort_values("epoch").groupby("model", sort=False).last()
    return pd.DataFrame({"val_accuracy": abl["val_accuracy"], "test_accuracy": abl["test_accuracy"],
                         "outside_grid": last["outside_grid"].reindex(abl.index)})


def shown_overview(overview: pd.DataFrame, paper: Mapping[str, float] | None = None) -> pd.DataFrame:
    """:func:`kanmix.cv.overview`'s table (one row per model) as a page shows it, narrow enough for the column:
    ``params``, ``train_seconds`` (per fold), ``val_accuracy`` (a fraction) with its corrected 95% interval as one
    text cell ``ci`` in percent (:func:`kanmix.report.interval_cell`), ``test_accuracy`` and, with ``paper``
    (model -> the paper's accuracy), ``paper`` (NaN where it reports none). Left out: the epochs (the protocol's,
    but for the time-matched model, whose label says so), the sd over folds (the interval is the spread a reader
    needs) and the accuracy per training minute (the cost figure shows accuracy against time)."""
    from kanmix.report import interval_cell

    out = overview[["params", "train_seconds", "val_accuracy"]].copy()
    out["ci"] = [interval_cell(100 * lo, 100 * hi) for lo, hi in zip(overview.ci_low, overview.ci_high)]
    out["test_accuracy"] = overview["test_accuracy"]
    if paper is not None:
        out["paper"] = [paper.get(label, np.nan) for label in out.index]
    return out


def overview_beside_paper(study: MixerStudy, paper: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Every dataset's main CV by (dataset title, model): parameters, training seconds per fold and mean held-out
    accuracy, beside the paper's (``paper``: dataset -> model -> accuracy; NaN where it reports none)."""
    parts = [shown_overview(s, paper.get(d, {}))[["params", "train_seconds", "val_accuracy", "paper"]].assign(
        dataset=data.info(d).title) for d, s in summaries(study).items()]
    return pd.concat(parts).reset_index().set_index(["dataset", "model"])


def pairs_table(study: MixerStudy, dataset: str, *, folds: int) -> pd.DataFrame:
    """Every pair of ``dataset``'s main CV (a − b), indexed by (a, b): the mean difference of held-out accuracy in
    points (``diff``) with its corrected 95% interval as one text cell (``ci``), the effect size ``d_z``, and the
    p-values the chapter reads, each Holm-adjusted over the pairs: the corrected t-test's (``p_nb_holm``) and the
    exact Wilcoxon test's (``p_wilcoxon_holm``; its floor is the section's table of floors)."""
    from kanmix.report import interval_cell

    pairs = stats.all_pairs(study.folds[study.folds.dataset == dataset], metric="val_accuracy", folds=folds)
    out = pairs[["a", "b"]].assign(diff=100 * pairs.mean_diff, ci=[interval_cell(100 * lo, 100 * hi, precision=2)
                                                                  for lo, hi in zip(pairs.ci_low, pairs.ci_high)])
    return out.assign(d_z=pairs.d_z, p_nb_holm=pairs.p_nb_holm,
                      p_wilcoxon_holm=pairs.p_wilcoxon_holm).set_index(["a", "b"])


def efficiency_table(study: MixerStudy) -> pd.DataFrame:
    """The efficiency metric (mean and sd over folds) per training-set size and model, with the epochs each trained
    and its folds: indexed by (n_train, model), one column each, so the table stays narrow however many models."""
    metric, eff = study.efficiency_metric, study.efficiency
    spread = {"sd": (metric, "std")} if eff.groupby(["n_train", "model"]).fold.count().min() > 1 else {}
    return eff.groupby(["n_train", "model"], sort=False).agg(
        epochs=("epochs", "first"), **{metric: (metric, "mean")}, **spread, folds=("fold", "count")).sort_index(
        level="n_train", sort_remaining=False)


def wilcoxon_floors(n_models: int, folds: Sequence[int] = (5, 6, 8, 10, 15)) -> pd.DataFrame:
    """The smallest two- and one-sided p an exact Wilcoxon test can give with each number of paired folds, and
    the two-sided floor after Holm's correction over the pairs of ``n_models`` models (no data can do better)."""
    pairs = n_models * (n_models - 1) // 2
    floors = pd.DataFrame({"paired folds": list(folds)})
    floors["two-sided floor"] = floors["paired folds"].map(stats.wilcoxon_floor)
    floors["one-sided floor"] = floors["two-sided floor"] / 2
    floors[f"two-sided floor, Holm over {pairs} pairs"] = (floors["two-sided floor"] * pairs).clip(upper=1)
    return floors.set_index("paired folds")


@dataclass(frozen=True)
class HeadlineTest:
    """The headline pair tested over one set of folds: ``res`` (:class:`kanmix.stats.PairedComparison`),
    the smallest difference the corrected test detects with 80% power at 0.05 (``mdd``), and, for the
    main CV only (``repeated`` False), its Holm-adjusted p over the ``pairs`` pairs of that CV."""
    label: str
    repeated: bool
    res: object
    mdd: float
    p_holm: float | None = None
    pairs: int | None = None


def headline_tests(study: MixerStudy, *, folds: int, repeats: int) -> list[HeadlineTest]:
    """The headline pair over the main CV's folds, then over all ``repeats`` repeats of the split."""
    if study.headline_pair is None:
        return []
    first = study.folds.dataset.iloc[0]
    against = kan_mixer_against(study.folds[study.folds.dataset == first], folds=folds).set_index("model")
    b = study.headline_pair[1]
    tests = []
    for label, repeated in (("the main 5-fold CV" if folds == 5 else f"the main {folds}-fold CV", False),
                            (f"{repeats} repeats of the {folds}-fold split", True)):
        res = headline_comparison(study, folds, repeats=repeated)
        mdd = stats.minimum_detectable_difference(res.sd_diff, res.n, test_train_ratio=res.test_train_ratio)
        tests.append(HeadlineTest(label, repeated, res, mdd,
                                  None if repeated else float(against.loc[b, "p_holm"]),
                                  None if repeated else int(against.loc[b, "pairs"])))
    return tests


def paper_parameters(dataset: str) -> int:
    """The parameters of the KAN-Mixers paper's configuration (``kan_mixer_paper``) on ``dataset``'s images."""
    from kanmix.models import config

    return _count_parameters("kan_mixer", config("kan_mixer_paper")[1], Split(dataset=dataset, size=32).in_shape,
                             data.info(dataset).num_classes)


def deviations(*, model_kwargs: Mapping[str, dict], dataset: str, lr: float, precision: str,
               augment: Mapping) -> pd.DataFrame:
    """What chapter 3 does differently from the KAN-Mixers paper, and why: one row per setting."""
    from kanmix.models import config
    from kanmix.report import plain  # settings as given, never "1e-05"

    paper = config("kan_mixer_paper")[1]
    kmx, mlp = model_kwargs["kan_mixer"], model_kwargs["mlp_mixer"]
    ours_params = _count_parameters("kan_mixer", kmx, Split(dataset=dataset, size=32).in_shape,
                                    data.info(dataset).num_classes)
    paper_params = paper_parameters(dataset)
    clip = TrainConfig().grad_clip
    rows = [
        ("mixer size", f"patch {paper['patch']}, width {paper['dim']}, {paper['depth']} blocks ({paper_params:,} "
         "parameters)", f"patch {kmx['patch']}, width {kmx['dim']}, {kmx['depth']} blocks ({ours_params:,})",
         "the budget of this machine; chapter 6 measures how the comparison moves with size"),
        ("learning rate", "not stated per model", f"{plain(lr)} for every model, untuned",
         "one recipe for all; chapter 6 tests one learning rate per family with a sweep"),
        ("dropout", "used", f"{plain(mlp.get('dropout', 0))} in every mixer",
         "no model is regularised differently from another"),
        ("MLP-Mixer channel expansion", "4 in the standard MLP-Mixer",
         f"{plain(round(mlp['channel_hidden'] / mlp['dim'], 4))} (the KAN-Mixer's widths)",
         "the same widths as the KAN-Mixer; chapter 6 adds the standard form"),
        ("gradient clipping", "not stated", f"norm {plain(clip)}" if clip else "none", "the same for every model"),
        ("precision", "not stated", precision, "bf16 is several times faster on this CPU; chapter 2 tests whether it "
         "changes accuracy and how it shifts the time-matched comparison"),
        ("rotation range", "not stated", f"±{plain(augment['rotate'])}°", "an assumption"),
    ]
    return pd.DataFrame(rows, columns=["setting", "the paper", "here", "why"]).set_index("setting")
