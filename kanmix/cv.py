"""Stratified (repeated) k-fold cross-validation of classifiers over the official training split.

Each fold of each model is one :class:`kanmix.experiment.ClassificationRun`, trained by
:func:`kanmix.runner.record` on the
other folds, scored on its held-out fold (``val_*``) and on the official test split
(``test_*``), and stored as a results-store record. A study is therefore resumable for free:
finished folds are read back, a fold killed mid-training resumes from its checkpoint, and
only missing folds train. Every model of a study sees the same folds (same ``fold_seed``),
so their scores are paired fold by fold, as :mod:`kanmix.stats` needs. ``repeats`` > 1
reshuffles the folds (repeated k-fold, e.g. 5x2): more pairs, and with them exact Wilcoxon
p-values below the 0.0625 floor that five folds impose (see :mod:`kanmix.stats`).

:func:`cross_validate` returns a tidy DataFrame, one row per (model, repeat, fold) with
accuracy, macro precision/recall/F1 and confusion matrices on both evaluation sets, train
seconds, images/s and parameter count; :func:`curves` gives the per-epoch curves and
:func:`summary` the per-model mean, standard deviation and 95% confidence interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import pandas as pd
from tqdm import tqdm

from kanmix import checks, runner, stats
from kanmix.experiment import ClassificationRun
from kanmix.runtime import progress_enabled
from kanmix.splits import Fold

SPLIT_METRICS = ("accuracy", "precision", "recall", "f1")
#: The numeric per-fold columns :func:`summary` aggregates by default.
SUMMARY_METRICS = tuple(f"{s}_{m}" for s in ("val", "test") for m in SPLIT_METRICS) + (
    "train_seconds", "images_per_second")
COLUMNS = ["model", "dataset", "repeat", "fold", "folds", "seed",
           *(f"{s}_{m}" for s in ("val", "test") for m in SPLIT_METRICS),
           "train_seconds", "images_per_second", "params", "n_train", "n_val", "n_test", "epochs",
           "val_confusion", "test_confusion", "hash"]


def _model_specs(models: Sequence[str] | Mapping[str, dict], model_kwargs: dict | None) -> dict[str, dict]:
    # label -> {"model": registry name, "model_kwargs": {...}, "train": {...}}; labels tell apart
    # two configurations of one architecture (e.g. two MLP-Mixer widths, or one trained longer)
    # in the tables. A spec's "train" options override the study's shared ones for that model.
    if isinstance(models, str):
        models = [models]
    if isinstance(models, Mapping):
        specs = {}
        for label, spec in models.items():
            if not isinstance(spec, Mapping) or "model" not in spec or set(spec) - {"model", "model_kwargs", "train"}:
                raise ValueError(f"models[{label!r}]={spec!r} must be a dict with 'model' and optional "
                                 "'model_kwargs' and 'train'")
            specs[label] = {"model": spec["model"], "model_kwargs": dict(spec.get("model_kwargs") or {}),
                            "train": dict(spec.get("train") or {})}
        return specs
    if len(set(models)) != len(models):
        raise ValueError(f"models={list(models)} lists a model twice; use a dict of labels to compare configurations")
    return {m: {"model": m, "model_kwargs": dict(model_kwargs or {}), "train": {}} for m in models}


def fold_configs(model: str, dataset: str, *, folds: int = 5, repeats: int = 1, fold_seed: int = 0,
                 first_folds: int | None = None, model_kwargs: dict | None = None,
                 **config) -> list[ClassificationRun]:
    """The configs of every fold of one model, ordered by (repeat, fold).

    ``first_folds`` keeps only the first that many folds of each repeat (a cheaper study on the
    same partition: its folds are those of the full study). ``config`` holds the other keys of
    a classification config dict (``size``, ``train``, ``seed``, ``subset``, ``subset_seed``,
    ``test_subset``); see :mod:`kanmix.experiment`.
    """
    checks.integer("repeats", repeats)
    first = Fold(folds=folds, fold=0, seed=fold_seed)  # checks folds and fold_seed once
    if first_folds is not None and not 1 <= checks.integer("first_folds", first_folds) <= folds:
        raise ValueError(f"first_folds={first_folds} must be in 1..{folds}")
    base = ClassificationRun.from_dict({**config, "dataset": dataset, "model": model,
                                        "model_kwargs": dict(model_kwargs or {})})
    return [replace(base, split=replace(base.split, fold=replace(first, fold=f, repeat=r)))
            for r in range(repeats) for f in range(first_folds or folds)]


def plan(models: Sequence[str] | Mapping[str, dict], dataset: str, *, folds: int = 5, repeats: int = 1,
         fold_seed: int = 0, first_folds: int | None = None, model_kwargs: dict | None = None,
         force: bool = False, **config) -> list[tuple[str, ClassificationRun]]:
    """Every run of a study as ``[(label, config), ...]``, validated, in running order.

    ``models`` is a list of :func:`kanmix.models.build_model` names (sharing ``model_kwargs``)
    or a dict ``label -> {"model": name, "model_kwargs": {...}, "train": {...}}`` (``train``
    overrides the shared training options for that model, e.g. more epochs). The order is
    fold by fold (all models on fold 0, then fold 1, ...), so a study stopped early still
    holds paired folds. Each model that still has folds to train is built once here, so a
    bad width fails before anything trains.
    """
    specs = _model_specs(models, model_kwargs)
    shared_train = dict(config.pop("train", None) or {})
    by_model = {label: fold_configs(spec["model"], dataset, folds=folds, repeats=repeats, fold_seed=fold_seed,
                                    first_folds=first_folds, model_kwargs=spec["model_kwargs"],
                                    train={**shared_train, **spec["train"]}, **config)
                for label, spec in specs.items()}
    for cfgs in by_model.values():
        if force or not all(runner.stored(c) for c in cfgs):
            runner.check_model(cfgs[0])
    runs = len(next(iter(by_model.values())))
    return [(label, cfgs[i]) for i in range(runs) for label, cfgs in by_model.items()]


def run_plan(runs: Sequence[tuple[str, ClassificationRun]], *, force: bool = False,
             on_record: Callable[[str, dict], None] | None = None, workers: int = 1,
             executor=None) -> list[tuple[str, dict]]:
    """Run (or read back) each ``(label, config)`` of :func:`plan`; returns ``[(label, record), ...]``.

    ``workers > 1`` trains the missing runs that many at a time, ``executor="ray"`` (or an
    executor object) on a Ray cluster (:func:`kanmix.runner.record_many`).
    ``on_record(label, record)`` is called after each run. A bar counts the runs when the
    configs ask for progress bars.
    """
    executor = runner.executor_of(executor)
    if workers > 1 or executor is not None:
        runner.record_many([cfg for _, cfg in runs], workers=workers, force=force, executor=executor)
        force = False  # trained: the loop below reads the records back in order
    out = []
    show = bool(runs) and progress_enabled(runs[0][1].train.progress)
    bar = tqdm(runs, desc="cv", unit="fold", disable=not show or len(runs) < 2)
    for label, cfg in bar:
        bar.set_postfix(model=label, repeat=cfg.split.fold.repeat, fold=cfg.split.fold.fold, refresh=False)
        rec = runner.record(cfg, force=force)
        out.append((label, rec))
        if on_record is not None:
            on_record(label, rec)
    return out


def run_folds(models: Sequence[str] | Mapping[str, dict], dataset: str, *, force: bool = False,
              progress: bool | None = None, device: str | None = None,
              on_record: Callable[[str, dict], None] | None = None, workers: int = 1, executor=None,
              **study) -> list[tuple[str, dict]]:
    """:func:`plan` then :func:`run_plan`: every fold of every model, as ``[(label, record), ...]``.

    ``study`` holds ``folds``, ``repeats``, ``fold_seed``, ``model_kwargs`` and the keys of a
    classification config (``size``, ``train``, ``seed``, ``subset``, ``subset_seed``,
    ``test_subset``; see :mod:`kanmix.experiment`). ``progress`` and ``device`` go to every
    run's training options; ``workers`` and ``executor`` to :func:`run_plan`.
    """
    study["train"] = runner.runtime_options(study.get("train"), progress=progress, device=device)
    runs = plan(models, dataset, force=force, **study)
    return run_plan(runs, force=force, on_record=on_record, workers=workers, executor=executor)


def row(record: dict, label: str | None = None) -> dict:
    """One tidy row (the :data:`COLUMNS`) of a k-fold classification record."""
    cfg, m = record["config"], record["metrics"]
    if cfg.get("fold") is None:
        raise ValueError(f"record {record['hash']} is not a k-fold run (its config has no 'fold')")
    r = {"model": label or cfg["model"], "dataset": cfg["dataset"], "repeat": cfg["fold"]["repeat"],
         "fold": cfg["fold"]["fold"], "folds": cfg["fold"]["folds"], "seed": cfg["seed"]}
    for split in ("val", "test"):
        for k in SPLIT_METRICS:
            r[f"{split}_{k}"] = m[split][k]
    r.update(train_seconds=record["train_seconds"], images_per_second=record["images_per_second"],
             params=record["parameters"], n_train=record["n_train"], n_val=record["n_val"],
             n_test=record["n_test"], epochs=cfg["train"]["epochs"], val_confusion=m["val"]["confusion"],
             test_confusion=m["test"]["confusion"], hash=record["hash"])
    return r


def table(labelled_records: Sequence[tuple[str, dict]]) -> pd.DataFrame:
    """Tidy per-fold DataFrame of ``[(label, record), ...]`` (as returned by :func:`run_folds`)."""
    return pd.DataFrame([row(rec, label) for label, rec in labelled_records], columns=COLUMNS)


def cross_validate(models: Sequence[str] | Mapping[str, dict], dataset: str, **kwargs) -> pd.DataFrame:
    """:func:`run_folds` then :func:`table`: one row per (model, repeat, fold)."""
    return table(run_folds(models, dataset, **kwargs))


def curves(labelled_records: Sequence[tuple[str, dict]]) -> pd.DataFrame:
    """Per-epoch training curves in long form: model, repeat, fold, then the history's columns
    (epoch, lr, train_loss, train_accuracy, val_loss, val_accuracy)."""
    rows = []
    for label, rec in labelled_records:
        fold = rec["config"]["fold"]
        for point in rec["history"]:
            rows.append({"model": label, "repeat": fold["repeat"], "fold": fold["fold"], **point})
    return pd.DataFrame(rows)


def summary(folds_table: pd.DataFrame, metrics: Sequence[str] = SUMMARY_METRICS, *,
            corrected: bool = True) -> pd.DataFrame:
    """Per-model mean, standard deviation and 95% CI of each metric over the folds (long form).

    Columns: model, metric, n, mean, std, ci_low, ci_high. With ``corrected`` (default) the
    interval is the Nadeau-Bengio corrected one (:func:`kanmix.stats.mean_ci` with
    ``n_test/n_train = 1/(k-1)``), because fold scores share most of their training data
    and a plain t-interval would be too narrow. That correction is derived for held-out-fold
    (``val_*``) scores; it is applied to ``test_*`` scores as a heuristic (all folds there
    share one test set too, so even the corrected interval may be optimistic). Other
    columns (timings) get the ordinary t-interval, as does everything with ``corrected=False``.
    """
    if folds_table.empty:
        raise ValueError("the folds table is empty; run some folds first")
    rows = []
    for model, group in folds_table.groupby("model", sort=False):
        ks = group["folds"].unique()
        if len(ks) != 1:
            raise ValueError(f"model {model!r} mixes studies with folds={sorted(ks)}; summarise them separately")
        ratio = stats.kfold_test_train_ratio(int(ks[0])) if corrected else 0.0
        for metric in metrics:
            values = group[metric].dropna().to_numpy(dtype=float)
            if len(values) == 0:
                continue
            score = metric.startswith(("val_", "test_"))
            mean, sd, lo, hi = stats.mean_ci(values, test_train_ratio=ratio if score else 0.0)
            rows.append({"model": model, "metric": metric, "n": len(values), "mean": mean, "std": sd,
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["model", "metric", "n", "mean", "std", "ci_low", "ci_high"])


def overview(folds_table: pd.DataFrame, metric: str = "val_accuracy") -> pd.DataFrame:
    """One row per model: what it cost and what it scored, the chapter's main table.

    Columns: ``params``, ``epochs``, ``train_seconds`` (mean per fold), ``<metric>`` mean with its
    Nadeau-Bengio corrected 95% interval (``ci_low``, ``ci_high``), ``std`` over the folds,
    ``test_accuracy`` (mean), and ``per_minute``: the mean metric per minute of training, the
    cost-benefit number the papers leave out. Models keep their order of appearance.
    """
    summ = summary(folds_table, [metric]).set_index("model")
    by = folds_table.groupby("model", sort=False)
    out = pd.DataFrame({"params": by["params"].first(), "epochs": by["epochs"].first(),
                        "train_seconds": by["train_seconds"].mean()})
    out[metric] = summ["mean"]
    out["ci_low"], out["ci_high"], out["std"] = summ["ci_low"], summ["ci_high"], summ["std"]
    out["test_accuracy"] = by["test_accuracy"].mean()
    out["per_minute"] = out[metric] / (out["train_seconds"] / 60)
    return out
