"""Chapter 2's runs and tables: its KAN classifier (the spline share of its edges, its regulariser's terms),
the same CV in float32 and bf16 (:func:`precision_parity`, :func:`parity_table`), and chapter 4's KAN
autoencoder's seeds in both precisions (:func:`ae_precision_parity`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from kanmix import checks, cv, runner
from kanmix.studies._common import ParameterError, RunChecks, _chapter_values, _check_spec, _fold_runs

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
                     force: bool = False, workers: int = 1, executor=None) -> tuple[pd.DataFrame, list[dict]]:
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
        labelled = cv.run_plan(planned, force=force, workers=workers, executor=executor)
        rows.append(cv.table(labelled).assign(precision=precision))
        records += [rec for _, rec in labelled]
    return pd.concat(rows, ignore_index=True), records


def ae_parity_runs(ae_params: Mapping, *, dataset: str, bottleneck: int) -> list[runner.Run]:
    """Chapter 4's KAN autoencoder runs on ``dataset`` at ``bottleneck`` (``ae_params``: chapter 4's parameters),
    one per seed, at chapter 4's own epochs: the runs whose precision :func:`ae_precision_parity` varies."""
    from kanmix.studies._autoencoders import autoencoders_plan_from_chapter

    planned = autoencoders_plan_from_chapter(ae_params)
    epochs = ae_params["epochs"]
    runs = [p.cfg for p in planned if p.cfg.model == "kan_ae" and not p.variant and p.cfg.split.dataset == dataset
            and p.cfg.bottleneck == bottleneck and p.cfg.train.epochs == epochs]
    if not runs:
        raise ParameterError(f"parity_ae={{'dataset': {dataset!r}, 'bottleneck': {bottleneck!r}}}: chapter 4 has no "
                             "KAN autoencoder there; choose a dataset and bottleneck it runs")
    return runs


def ae_precision_parity(runs: Sequence[runner.Run], *, precisions: Sequence[str] = ("fp32", "bf16"),
                        available_only: bool = False, workers: int = 1, executor=None,
                        force: bool = False) -> tuple[pd.DataFrame, list[dict]]:
    """``runs`` (autoencoders, one per seed) at each precision, all else equal: one row per precision and seed
    with ``test_mse`` and ``train_seconds``, and the records. ``available_only`` trains nothing and leaves
    out what the store lacks (a campaign under way)."""
    twins = [type(c).from_dict({**c.to_dict(), "train": {**c.to_dict()["train"], "precision": p}})
             for p in precisions for c in runs]
    todo = [c for c in twins if not available_only or runner.stored(c)]
    records = runner.record_many(todo, workers=workers, force=force, executor=executor)
    rows = pd.DataFrame([{"precision": c.train.precision, "seed": c.seed, "test_mse": r["metrics"]["test_mse"],
                          "train_seconds": r["metrics"]["train_seconds"]} for c, r in zip(todo, records)],
                        columns=["precision", "seed", "test_mse", "train_seconds"])
    return rows, records


def kan_mixer_gaps(mixer_params: Mapping, dataset: str) -> dict[str, float] | None:
    """Chapter 3's gaps on ``dataset``: other model -> KAN-Mixer minus its mean held-out accuracy over the main
    CV's folds (``mixer_params``: chapter 3's parameters), read from the store; ``None`` while a run is missing.

    The sizes a bf16 effect would have to stay below for chapter 3's comparisons to stand: chapter 2
    sets them beside its parity intervals.
    """
    from kanmix import results
    from kanmix.studies._mixers import kan_mixer_against, mixers_plan_from_chapter

    plan = mixers_plan_from_chapter(mixer_params, check=False)
    labelled = [(label, results.load_record(cfg.to_dict())) for label, cfg in plan.main.get(dataset, [])]
    if not labelled or any(rec is None for _, rec in labelled):
        return None
    table = cv.table(labelled)
    if "KAN-Mixer" not in set(table.model):
        return None
    rows = kan_mixer_against(table, folds=mixer_params["folds"])  # the chapter's own KAN-Mixer-minus-other gaps
    return {r.model: float(r.diff) for r in rows.itertuples()}


def parity_from_chapter(params: Mapping, *, force: bool = False) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`precision_parity` of chapter 2's parameters (``parity_*``)."""
    p = _chapter_values(params, ("dataset", "parity_models", "parity_folds", "parity_train", "parity_subset", "workers"))
    return precision_parity(dataset=p["dataset"], models=p["parity_models"], folds=p["parity_folds"],
                            train=p["parity_train"], subset=p["parity_subset"], workers=p["workers"], force=force)


def _other_chapter(params: Mapping, number: str) -> dict:
    """Chapter ``number``'s parameters under the profile chapter 2 runs with (``params["profile"]``)."""
    from kanmix import book

    return book.chapter_parameters(params["profile"], [number])[number]


def ae_parity_from_chapter(params: Mapping, *, force: bool = False) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`ae_precision_parity` of chapter 2's parameters: chapter 4's KAN autoencoder named by ``parity_ae``
    (``{"dataset": ..., "bottleneck": ...}``), under the same profile, every seed in both precisions."""
    p = _chapter_values(params, ("profile", "parity_ae", "available_only", "workers"))
    spec = p["parity_ae"]
    if not isinstance(spec, Mapping) or set(spec) != {"dataset", "bottleneck"}:
        raise ParameterError(f"parity_ae={spec!r} must be {{'dataset': ..., 'bottleneck': ...}}")
    runs = ae_parity_runs(_other_chapter(params, "04"), **spec)
    return ae_precision_parity(runs, available_only=p["available_only"], workers=p["workers"], force=force)


def gaps_from_chapter(params: Mapping) -> dict[str, float] | None:
    """:func:`kan_mixer_gaps` of chapter 3 under chapter 2's profile, on chapter 2's dataset."""
    return kan_mixer_gaps(_other_chapter(params, "03"), _chapter_values(params, ("dataset",))["dataset"])


def layer_run(params: Mapping) -> runner.Run:
    """Chapter 2's KAN classifier (784 -> ``hidden`` -> 10 on ``dataset``) of the chapter's parameters."""
    from kanmix.experiment import ClassificationRun

    p = _chapter_values(params, ("dataset", "subset", "seed", "hidden", "grid_size", "spline_order", "epochs", "precision"))
    return ClassificationRun.from_dict({
        "dataset": p["dataset"], "model": "kan", "subset": p["subset"], "seed": p["seed"],
        "model_kwargs": {"hidden": p["hidden"], "grid_size": p["grid_size"], "spline_order": p["spline_order"]},
        "train": {"epochs": p["epochs"], "precision": p["precision"]}})


# ----------------------------------------------------------------------------- chapter 2's tables


def kan_layer_labels(n: int) -> list[str]:
    """What a reader calls the ``n`` layers of a KAN classifier: ``"layer 1 (pixels → hidden)"``, ``"layer 2 (hidden
    → hidden)"``, ..., ``"layer n (hidden → classes)"`` (one layer alone: ``"layer 1 (pixels → classes)"``)."""
    return [f"layer {i + 1} ({'pixels' if i == 0 else 'hidden'} → {'classes' if i == n - 1 else 'hidden'})"
            for i in range(n)]


def spline_share_table(edges: Mapping):
    """The median spline share of each layer's edges (rows, :func:`kan_layer_labels`) in each state (columns).

    ``edges`` maps a state (``"trained"``, ``"untrained"``) to :func:`kanmix.interpret.edge_table`
    of that model, whose edges are read in their layers' order.
    """
    import pandas as pd

    share = pd.DataFrame({state: t.groupby("layer", sort=False)["spline_share"].median() for state, t in edges.items()})
    share.index = kan_layer_labels(len(share))
    return share


def weighted_spline_share(edges: Mapping) -> dict[str, float]:
    """Per state of ``edges`` (as :func:`spline_share_table`'s), the edges' spline share weighted by their importance:
    the spline's share of the edges' magnitude, every layer together (an edge without a share counts as 0)."""
    import numpy as np

    return {state: float(np.average(t["spline_share"].fillna(0), weights=t["importance"]))
            for state, t in edges.items()}


def regulariser_table(models: Mapping, edges: Mapping):
    """The two terms of the KAN sparsity regulariser of every KAN layer, and how concentrated its edges' importance is.

    ``models`` maps a state to a model, ``edges`` the same states to its
    :func:`kanmix.interpret.edge_table`. One row per (layer, state), layers labelled by
    :func:`kan_layer_labels`: the L1 term (``regularization_loss(l1=1, entropy=0)``), the
    entropy term divided by its maximum ``log(in * out)``, and the share of the edge importance
    held by the top 10% of the layer's edges (:func:`kanmix.interpret.top_share`).
    """
    import numpy as np
    import pandas as pd
    import torch

    from kanmix.grids import kan_layers
    from kanmix.interpret import top_share

    layers = {state: kan_layers(m) for state, m in models.items()}
    names = list(next(iter(layers.values())))
    rows = []
    for label, name in zip(kan_layer_labels(len(names)), names):
        for state, lay in ((state, by_name[name]) for state, by_name in layers.items()):
            table = edges[state]
            with torch.no_grad():
                rows.append({"layer": label, "state": state,
                             "L1 term": float(lay.regularization_loss(l1=1.0, entropy=0.0)),
                             "normalised entropy": float(lay.regularization_loss(l1=0.0, entropy=1.0))
                             / float(np.log(lay.in_features * lay.out_features)),
                             "importance held by the top 10% of edges": top_share(
                                 table[table.layer == name]["importance"].to_numpy(), 0.1)})
    return pd.DataFrame(rows).set_index(["layer", "state"])


def parity_table(parity):
    """Per (model, precision) of :func:`precision_parity`'s rows, in their order: mean and sd of the
    held-out accuracy over the folds (``val_accuracy``, ``std``) and the mean training seconds per fold."""
    return parity.groupby(["model", "precision"], sort=False).agg(
        val_accuracy=("val_accuracy", "mean"), std=("val_accuracy", "std"), train_seconds=("train_seconds", "mean"))
