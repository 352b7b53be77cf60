"""Chapter 6's study: the compute frontier of KAN-Mixers and MLP-Mixers (:func:`frontier`),
its plan, its side-by-side timing and its learning-rate sweep."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from kanmix import cv, data, results, runner
from kanmix import frontier as frontier_mod
from kanmix.models import build_model
from kanmix.flops import run_training_flops, training_flops, training_images
from kanmix.splits import Fold, Split
from kanmix.train import TrainConfig
from kanmix.studies._common import (
    PAPER_ACCURACY, ParameterError, RunChecks, _chapter_values, _distinct, _is_int, _positive_ints, about)

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
             force: bool = False, workers: int = 1, executor=None) -> FrontierStudy:
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
        recs = runner.record_many([c for _, c in runs], workers=workers, force=force, executor=executor)
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




# ----------------------------------------------------------------------------- chapter 6's tables, from the study


def seconds_column(study: FrontierStudy) -> str:
    """The column of the seconds axis: one side-by-side timing of every size on one machine when it exists
    (``timed_seconds``); else the runs' own ``train_seconds``, which may come from several machines."""
    return "timed_seconds" if study.timing is not None else "train_seconds"


def frontier_comparisons(study: FrontierStudy, families: Sequence[str], datasets: Sequence[str], *,
                         paper: Mapping | None = None) -> tuple[dict, dict]:
    """The first of ``families`` against the second on each dataset (:func:`kanmix.frontier.compare`): by training
    FLOPs, with the paper's budget (``paper``, :func:`paper_frontier_marks`) as the target, and by training seconds."""
    kan, mlp = list(families)[:2]
    by_flops = {d: frontier_mod.compare(study.points, kan, mlp, d,
                                        target=(paper or {}).get(d, [(None, None, None)])[0][1]) for d in datasets}
    by_time = {d: frontier_mod.compare(study.points, kan, mlp, d, x=seconds_column(study)) for d in datasets}
    return by_flops, by_time


class FrontierReading(NamedTuple):
    """How chapter 6 reads its study, and the findings page with it (:func:`frontier_reading`).

    - ``families``: the family labels in the chapter's order (the first two are compared, all are drawn);
    - ``titles``: dataset -> its title, in the chapter's order of datasets;
    - ``paper``: :func:`paper_frontier_marks`, the paper's accuracies at its training FLOPs;
    - ``by_flops``, ``by_time``: dataset -> :func:`kanmix.frontier.compare` of the first two families
      (:func:`frontier_comparisons`), by training FLOPs (the paper's budget as target) and by training seconds.
    """

    families: list[str]
    titles: dict[str, str]
    paper: dict
    by_flops: dict
    by_time: dict


def frontier_reading(study: FrontierStudy, families: Sequence[str], datasets: Sequence[str], *,
                     paper_epochs: int) -> FrontierReading:
    """:class:`FrontierReading` of ``study``: chapter 6's ``families`` and ``datasets``, the paper's marks at
    ``paper_epochs`` epochs, and the two families' comparisons on every dataset."""
    paper = paper_frontier_marks(datasets, paper_epochs=paper_epochs)
    by_flops, by_time = frontier_comparisons(study, families, datasets, paper=paper)
    return FrontierReading(list(families), {d: data.info(d).title for d in datasets}, paper, by_flops, by_time)


def sweep_table(study: FrontierStudy) -> pd.DataFrame:
    """Fold-0 validation accuracy of the learning-rate sweep: one row per (family, size), one column per lr."""
    return study.sweep.pivot_table(index=["family", "size"], columns="lr", values="val_accuracy")


def points_table(study: FrontierStudy) -> pd.DataFrame:
    """Every point of the frontier, seeds averaged, by (dataset title, family, size, epochs): training compute in
    TFLOP (``tflops``) and seconds, accuracies, seeds (each size's parameters are :func:`frontier_sizes`')."""
    points = study.points.assign(dataset=study.points.dataset.map(lambda d: data.info(d).title),
                                 tflops=study.points.flops / 1e12)
    return points.groupby(["dataset", "family", "size", "epochs"], sort=False).agg(
        tflops=("tflops", "first"), seconds=(seconds_column(study), "mean"),
        val_accuracy=("val_accuracy", "mean"), test_accuracy=("test_accuracy", "mean"), seeds=("seed", "count"))


def longer_training_table(study: FrontierStudy, datasets: Sequence[str]) -> pd.DataFrame:
    """:func:`kanmix.frontier.longer_training` of every dataset, indexed by (dataset title, family, size)."""
    parts = [frontier_mod.longer_training(study.points, d).assign(dataset=data.info(d).title) for d in datasets]
    # A dataset with no size at two lengths adds an empty frame, whose object columns the concatenation would keep.
    table = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else pd.DataFrame()
    return table.set_index(["dataset", "family", "size"]) if len(table) else table
