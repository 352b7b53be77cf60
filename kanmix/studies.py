"""The book's studies, one call each: a chapter's parameters in, every run done (or read back), tidy tables out.

Each function plans all the runs of a chapter from the chapter's own parameters, runs the
missing ones through :func:`kanmix.runner.run` (so every number is a results-store record,
and a rerun trains nothing), and returns plain DataFrames the chapter shows. The chapters
stay thin and the plans are tested here, on tiny settings.

- :func:`mixers` (chapter 3): k-fold CV of the KAN-Mixer against the MLP-Mixer (as in the paper,
  parameter-matched and time-matched), MLP and KAN; repeated CV of the headline pair; data
  efficiency; the grid-range ablation.
- :func:`precision_parity` (chapter 2): the same CV in float32 and bf16.
- :func:`autoencoders` (chapter 4): the bottleneck sweep of KAN, MLP and CNN autoencoders with
  the mean-image and PCA baselines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from kanmix import ae, cv, data, runner
from kanmix.models import build_model, count_parameters, param_matched
from kanmix.splits import Split

#: The chapter-3 labels of the models (registry name -> label), in table order.
MIXER_LABELS = {"kan_mixer": "KAN-Mixer", "mlp_mixer": "MLP-Mixer", "mlp": "MLP", "kan": "KAN"}
PARAM_MATCHED = "MLP-Mixer (param-matched)"
TIME_MATCHED = "MLP-Mixer (time-matched)"
#: The KAN-Mixers paper's mean 5-fold accuracies (arXiv:2503.08939), per dataset: the numbers
#: chapter 3 and the findings page set ours beside.
PAPER_ACCURACY = {"fashion_mnist": {"KAN-Mixer": 0.9030, "MLP": 0.8920, "MLP-Mixer": 0.8770, "KAN": 0.8920},
                  "cifar10": {"KAN-Mixer": 0.6980}}


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
    records: list[dict] = field(default_factory=list)


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
                kan_overrides: Mapping | None = None) -> dict[str, dict]:
    """The chapter's models as :func:`kanmix.cv.plan` specs: label -> model, kwargs and training overrides.

    ``models`` are registry names with their ``model_kwargs``; ``kan_overrides`` (the chosen grid
    handling, see :func:`grid_ablation`) is merged into the KAN-Mixer's. ``param_matched_to`` (a
    registry name, the KAN-Mixer) adds an MLP-Mixer whose hidden widths are scaled to that
    model's parameter count (:func:`kanmix.models.param_matched`); ``time_matched_epochs`` adds
    the MLP-Mixer trained for that many epochs, chosen so its training time matches the KAN-Mixer's.
    """
    specs = {MIXER_LABELS.get(m, m): {"model": m, "model_kwargs": dict(model_kwargs[m])} for m in models}
    if "kan_mixer" in models:
        specs[MIXER_LABELS["kan_mixer"]] = with_overrides(specs[MIXER_LABELS["kan_mixer"]], kan_overrides)
    if param_matched_to is not None:
        split = Split(dataset=dataset, size=size)
        shape = {"in_shape": split.in_shape, "num_classes": split.info.num_classes}
        target = count_parameters(build_model(param_matched_to, **shape, **model_kwargs[param_matched_to]))
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


def efficiency_epochs(epochs: int, subset: int | None, full: int) -> int:
    """Epochs of a data-efficiency run on ``subset`` of ``full`` training images: ``epochs * sqrt(full / subset)``.

    A smaller set gets more epochs, between equal epochs (which starves it of steps) and equal
    steps (which would cost a full run for every size): the square root splits the difference,
    and the whole curve costs about one more full run.
    """
    if subset is None or subset >= full:
        return epochs
    return math.ceil(epochs * math.sqrt(full / subset))


def grid_ablation(*, dataset: str, model_kwargs: Mapping[str, dict], folds: int, train: dict,
                  variants: Mapping[str, dict], size: int | None = 32, subset: int | None = None, seed: int = 0,
                  force: bool = False, workers: int = 1) -> list[tuple[str, dict]]:
    """The KAN-Mixer with each grid handling of ``variants`` (label -> overrides of its ``model_kwargs``
    and ``train``), on fold 0 of ``folds`` of ``dataset``: ``[(label, record), ...]``.

    Run before the main study (it is cheap and decides how every KAN-Mixer handles its grid);
    the variant the chapter chooses is the main study's KAN-Mixer, so its fold 0 is one record.
    """
    base = {"model": "kan_mixer", "model_kwargs": dict(model_kwargs["kan_mixer"])}
    specs = {label: with_overrides(base, v) for label, v in variants.items()}
    return cv.run_folds(specs, dataset, force=force, first_folds=1, folds=folds, size=size, subset=subset, seed=seed,
                        train=dict(train), workers=workers)


def mixers(*, datasets: Sequence[str], models: Sequence[str], model_kwargs: Mapping[str, dict], folds: int,
           train: dict, size: int | None = 32, subset: int | None = None, seed: int = 0,
           param_matched_to: str | None = None, time_matched_epochs: int | None = None,
           headline_repeats: int = 1, efficiency_sizes: Sequence[int | None] = (), efficiency_folds: int = 1,
           grid_variants: Mapping[str, dict] | None = None, grid_handling: str | None = None,
           force: bool = False, workers: int = 1) -> MixerStudy:
    """Chapter 3's runs, in the order a reader needs them (see :class:`MixerStudy`).

    ``train`` holds the training options every model shares (epochs, lr, precision, augment,
    ...). ``grid_variants`` maps a label to overrides (``model_kwargs`` and/or ``train``) of the
    KAN-Mixer, compared first by :func:`grid_ablation` on the first dataset; ``grid_handling``
    names the one every KAN-Mixer of the study uses. The headline pair is the KAN-Mixer and the
    best MLP-Mixer variant of the main CV on the first dataset (by mean validation accuracy);
    with ``headline_repeats > 1`` both get that many repeats of the k-fold split (repeat 0 is
    the main CV). ``efficiency_sizes`` are training-set subsets (``None``: the whole split) on
    which the KAN-Mixer and MLP-Mixer run the first ``efficiency_folds`` folds, with
    :func:`efficiency_epochs`. ``workers`` trains that many runs at a time (:func:`kanmix.runner.run_many`).
    """
    grid_variants = dict(grid_variants or {})
    if grid_handling is not None and grid_handling not in grid_variants:
        raise ValueError(f"grid_handling={grid_handling!r} is not one of the grid variants {list(grid_variants)}")
    shared = {"folds": folds, "size": size, "subset": subset, "seed": seed, "train": dict(train)}
    study = MixerStudy(folds=pd.DataFrame(), curves=pd.DataFrame(), labelled={})
    if grid_variants:
        labelled = grid_ablation(dataset=datasets[0], model_kwargs=model_kwargs, variants=grid_variants,
                                 force=force, workers=workers, **shared)
        study.ablation, study.ablation_curves = cv.table(labelled), _curves(labelled)
        study.records += [rec for _, rec in labelled]
    kan_overrides = grid_variants.get(grid_handling) if grid_handling is not None else None
    specs_of = {d: mixer_specs(model_kwargs, d, models=models, size=size, param_matched_to=param_matched_to,
                               time_matched_epochs=time_matched_epochs, kan_overrides=kan_overrides)
                for d in datasets}
    tables, curves = [], []
    for dataset in datasets:
        labelled = cv.run_folds(specs_of[dataset], dataset, force=force, workers=workers, **shared)
        study.labelled[dataset] = labelled
        tables.append(cv.table(labelled))
        curves.append(_curves(labelled).assign(dataset=dataset))
        study.records += [rec for _, rec in labelled]
    study.folds, study.curves = pd.concat(tables, ignore_index=True), pd.concat(curves, ignore_index=True)
    first = datasets[0]
    main = study.folds[study.folds.dataset == first]
    kan, specs = MIXER_LABELS["kan_mixer"], specs_of[first]
    if kan in specs:
        mlp_variants = [label for label, s in specs.items() if s["model"] == "mlp_mixer"]
        if mlp_variants:
            means = main.groupby("model")["val_accuracy"].mean()
            best = max(mlp_variants, key=lambda label: means[label])
            study.headline_pair = (kan, best)
            pair = {label: specs[label] for label in study.headline_pair}
            labelled = cv.run_folds(pair, first, force=force, workers=workers, **{**shared, "repeats": headline_repeats})
            study.headline = cv.table(labelled)
            study.records += [rec for _, rec in labelled]
    if efficiency_sizes:
        full = data.info(first).train_size
        pair = {label: specs[label] for label in (kan, MIXER_LABELS["mlp_mixer"]) if label in specs}
        plans = {n: cv.plan(pair, first, force=force, first_folds=efficiency_folds, **{
            **shared, "subset": n, "train": {**train, "epochs": efficiency_epochs(train.get("epochs", 10), n, full)}})
            for n in efficiency_sizes}
        runner.run_many([cfg for runs in plans.values() for _, cfg in runs], workers=workers, force=force)
        rows = []
        for n, runs in plans.items():
            labelled = cv.run_plan(runs)  # reads the records just made
            rows.append(cv.table(labelled).assign(subset=n or full))
            study.records += [rec for _, rec in labelled]
        study.efficiency = pd.concat(rows, ignore_index=True)
    return study


def precision_parity(*, dataset: str, models: Mapping[str, dict], folds: int, train: dict, size: int | None = 32,
                     subset: int | None = None, seed: int = 0, precisions: Sequence[str] = ("fp32", "bf16"),
                     force: bool = False, workers: int = 1) -> tuple[pd.DataFrame, list[dict]]:
    """The same k-fold CV at each precision: one row per (model, precision, fold), and the records.

    ``models`` maps a label to ``{"model": name, "model_kwargs": {...}}``. Everything but the
    precision is shared, seeds and folds included, so the precisions are compared fold by fold.
    """
    rows, records = [], []
    for precision in precisions:
        labelled = cv.run_folds(models, dataset, force=force, folds=folds, size=size, subset=subset, seed=seed,
                                train={**train, "precision": precision}, workers=workers)
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
    model is broken, and its numbers must not be shown as a result.
    """
    planned, base_rows, records = [], [], []
    mean_mse = {}
    for dataset in datasets:
        split = Split(dataset=dataset, subset=subset, test_subset=test_subset)
        widths = list(bottlenecks[dataset])
        baselines = ae.linear_baselines(split, [0, *widths])
        records += baselines
        mean_mse[dataset] = baselines[0]["metrics"]["test_mse"]
        base_rows += [{"dataset": dataset, "method": r["config"]["method"], "components": r["config"]["components"],
                       **{k: r["metrics"][k] for k in ("test_mse", "psnr", "knn_accuracy")}, "hash": r["hash"]}
                      for r in baselines]
        for model in models:
            done = set()
            for requested in widths:
                cnn = ae.model_name(model) == "cnn_ae"
                width = ae.cnn_bottleneck(split, requested) if cnn else requested
                if width in done:
                    continue
                done.add(width)
                cfg = ae.ae_config(model, dataset, width, seed=seed, subset=subset, test_subset=test_subset,
                                   model_kwargs={} if cnn else {"hidden": hidden[dataset]}, **train)
                planned.append((requested, cfg, (model, dataset, requested) in keep_weights))
    ae_records = runner.run_many([cfg for _, cfg, _ in planned], workers=workers, force=force,
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


def _pick(params: Mapping, names: Sequence[str]) -> dict:
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"the chapter parameters lack {missing}")
    return {n: params[n] for n in names}


def mixers_from_chapter(params: Mapping, *, force: bool = False) -> MixerStudy:
    """:func:`mixers` of chapter 3's parameters (its parameters cell, as :func:`kanmix.book.plan` resolves it).

    Presentation-only parameters (``profile``, ``paper_epochs``) are ignored.
    """
    p = _pick(params, ("datasets", "models", "model_kwargs", "folds", "subset", "seed", "epochs", "batch_size", "lr",
                       "weight_decay", "precision", "augment", "param_matched", "time_matched_epochs",
                       "headline_repeats", "efficiency_sizes", "efficiency_folds", "grid_variants", "grid_handling",
                       "workers"))
    train = {k: p.pop(k) for k in ("epochs", "batch_size", "lr", "weight_decay", "precision", "augment")}
    return mixers(**{k: v for k, v in p.items() if k != "param_matched"}, train=train,
                  param_matched_to="kan_mixer" if p["param_matched"] else None, force=force)


def autoencoders_from_chapter(params: Mapping, *, force: bool = False) -> AutoencoderStudy:
    """:func:`autoencoders` of chapter 4's parameters (``keep_weights`` as dataset -> model -> bottleneck)."""
    p = _pick(params, ("datasets", "models", "bottlenecks", "hidden", "epochs", "precision", "seed", "subset",
                       "test_subset", "keep_weights", "require_beat_mean", "workers"))
    keep = [(m, d, b) for d, chosen in p.pop("keep_weights").items() for m, b in chosen.items()]
    train = {"epochs": p.pop("epochs"), "precision": p.pop("precision")}
    return autoencoders(**p, train=train, keep_weights=keep, force=force)


def parity_from_chapter(params: Mapping, *, force: bool = False) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`precision_parity` of chapter 2's parameters (``parity_*``)."""
    p = _pick(params, ("dataset", "parity_models", "parity_folds", "parity_train", "parity_subset", "workers"))
    return precision_parity(dataset=p["dataset"], models=p["parity_models"], folds=p["parity_folds"],
                            train=p["parity_train"], subset=p["parity_subset"], workers=p["workers"], force=force)
