"""Chapter 3's random search (:func:`search_study`): the KAN-Mixers paper chose its mixer (patch 4, width 256,
8 blocks) by a random search on CIFAR-10; this one runs at the book's scale, through the same runner and
executor as every other study, and reads what it found: the trials, the best configuration, each
hyper-parameter's importance, whether patch 4 wins, and the chosen configuration trained with the
chapter's full schedule."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from kanmix import checks, cv, results, runner
from kanmix import search as search_mod
from kanmix.studies._common import (
    MIXER_LABELS, ParameterError, RunChecks, _chapter_values, _distinct, _positive_ints, about, one_thread,
    with_overrides)
from kanmix.studies._mixers import runnable_grid_variants

#: The searched configuration's label in the tables.
SEARCHED = "KAN-Mixer (searched)"
#: The KAN-Mixer's arguments that follow its searched width (:func:`kanmix.search.trial_study` sets them from ``dim``).
_DERIVED = ("token_hidden", "channel_hidden")
#: A plan looks through at most this many draws per trial for its trials within the budget.
_DRAWS_PER_TRIAL = 50
#: Two one-fold scores with this sd each differ by more than ``_Z * sqrt(2) * sd`` by chance 5% of the time.
_Z = 1.96


@dataclass
class SearchPlan:
    """What :func:`search_study` trains, fixed before any of it does.

    Each trial is the KAN-Mixer with the drawn ``space`` settings (lists are choices, tuples
    log-uniform ranges) and the fixed ``model_kwargs``, trained ``epochs`` epochs on fold 0 of the
    ``folds``-fold partition of ``dataset`` (``subset`` images, ``seed``) and scored on that fold's
    held-out part. ``trials`` trials are trained; a draw whose training FLOPs per image pass
    ``max_flops`` (``max_cost`` times the ``reference_flops`` of the KAN-Mixer ``model_kwargs`` describes) is
    skipped untrained. The best configuration then trains on every fold, ``epochs`` epochs (its
    fold noise at the search's schedule) and ``final_epochs`` epochs (the chapter's schedule).
    """

    dataset: str
    space: dict
    trials: int
    epochs: int
    final_epochs: int
    folds: int
    model_kwargs: dict  # fixed in every trial: no searched setting, no width that follows dim
    train: dict  # every run's options but epochs, lr and weight decay
    subset: int | None
    seed: int
    max_cost: float | None
    reference_flops: int
    name: str  # the Optuna study's
    size: int | None = 32

    @property
    def max_flops(self) -> float | None:
        return None if self.max_cost is None else self.max_cost * self.reference_flops

    def search_args(self) -> dict:
        """:func:`kanmix.search.search`'s arguments for this plan (all but the trials, storage and workers)."""
        return {"folds": self.folds, "first_folds": 1, "space": self.space, "model": "kan_mixer",
                "model_kwargs": self.model_kwargs, "train": {**self.train, "epochs": self.epochs}, "size": self.size,
                "subset": self.subset, "seed": self.seed, "max_flops": self.max_flops}

    def configs(self, params: Mapping, *, epochs: int, first_folds: int | None = None) -> list[runner.Run]:
        """The configs of ``params`` (a trial's draws) on the partition's folds, each ``epochs`` epochs."""
        spec = search_mod.trial_study(params, model="kan_mixer", model_kwargs=self.model_kwargs,
                                      train={**self.train, "epochs": epochs})
        return cv.fold_configs("kan_mixer", self.dataset, folds=self.folds, first_folds=first_folds,
                               model_kwargs=spec["model_kwargs"], train=spec["train"], size=self.size,
                               subset=self.subset, seed=self.seed)

    def trial_run(self, params: Mapping) -> runner.Run:
        return self.configs(params, epochs=self.epochs, first_folds=1)[0]

    def noise_runs(self, params: Mapping) -> list[runner.Run]:
        """The other folds of a trial's configuration at the search's schedule: its noise over the folds."""
        return self.configs(params, epochs=self.epochs)[1:]

    def final_runs(self, params: Mapping) -> list[runner.Run]:
        """Every fold of a configuration at the chapter's schedule."""
        return self.configs(params, epochs=self.final_epochs)

    def draws(self) -> list[dict]:
        """The search's draws in order, until ``trials`` of them fit the budget: ``{"trial", <params>, "flops",
        "over_budget"}`` each (``flops``, training FLOPs per image, ``None`` without a budget). The sampler draws
        trial ``n`` from ``(seed, n)`` alone, so these are the draws a search of this plan makes (a trial retried
        after its worker died takes a new number)."""
        import optuna

        with search_mod.quiet_logs():
            study = optuna.create_study(direction="maximize", sampler=search_mod.TrialSeededSampler(self.seed))
        out, within, costs = [], 0, {}
        for n in range(self.trials * _DRAWS_PER_TRIAL):
            params = search_mod.sample(study.ask(), self.space)
            arch = tuple(params.get(k) for k in search_mod.MODEL_PARAMS)
            if self.max_flops is not None and arch not in costs:  # without a budget no draw is weighed
                with one_thread():
                    costs[arch] = search_mod.trial_flops(self.trial_run(params))
            over = self.max_flops is not None and costs[arch] > self.max_flops
            out.append({"trial": n, **params, "flops": costs.get(arch), "over_budget": over})
            within += not over
            if within == self.trials:
                return out
        raise ParameterError(f"search_max_cost={self.max_cost!r}: only {within} of {len(out)} draws of search_space "
                             f"fit the budget, short of search_trials={self.trials}")

    def planned_runs(self) -> int:
        """Runs of the whole plan: one per trial, the best's other folds at the search's schedule, and its folds
        at the chapter's."""
        return self.trials + (self.folds - 1) + self.folds


def search_plan(*, dataset: str, trials: int, space: Mapping, epochs: int, folds: int, final_epochs: int,
                train: Mapping, model_kwargs: Mapping, size: int | None = 32, subset: int | None = None,
                seed: int = 0, max_cost: float | None = None, check: bool = True) -> SearchPlan:
    """The :class:`SearchPlan` of :func:`search_study`'s arguments, every value checked (one line naming it);
    with ``check``, the split and the model of every planned trial that is not stored yet too. Nothing trains."""
    checks.integer("search_trials", trials)
    checks.integer("search_epochs", epochs)
    checks.integer("epochs", final_epochs)
    checks.integer("folds", folds, 2)
    if max_cost is not None and not (isinstance(max_cost, (int, float)) and not isinstance(max_cost, bool)
                                     and 0 < max_cost < math.inf):
        raise ParameterError(f"search_max_cost={max_cost!r} must be a positive number (a multiple of the KAN-Mixer's "
                             "training FLOPs per image), or None for no budget")
    if not isinstance(space, Mapping) or not space:
        raise ParameterError(f"search_space={space!r} must map searched settings to their choices")
    for name in search_mod.MODEL_PARAMS:
        if name in space:
            _positive_ints(f"search_space[{name!r}]", space[name])
            _distinct(f"search_space[{name!r}]", list(space[name]))
    derived = _DERIVED if "dim" in space else ()  # the widths that follow a searched dim
    fixed = {k: v for k, v in dict(model_kwargs).items() if k not in space and k not in derived}
    train = {k: v for k, v in dict(train).items() if k not in ("epochs", "lr", "weight_decay")}
    with about("search_dataset, subset, folds or model_kwargs['kan_mixer']"), one_thread():
        reference = cv.fold_configs("kan_mixer", dataset, folds=folds, first_folds=1, model_kwargs=dict(model_kwargs),
                                    train={**train, "epochs": epochs}, size=size, subset=subset, seed=seed)[0]
        reference_flops = search_mod.trial_flops(reference)
    args = {"folds": folds, "first_folds": 1, "space": dict(space), "model": "kan_mixer", "model_kwargs": fixed,
            "train": {**train, "epochs": epochs}, "size": size, "subset": subset, "seed": seed,
            "max_flops": None if max_cost is None else max_cost * reference_flops}
    with about("search_space, search_ranges or search_epochs"), one_thread():
        name = search_mod.default_name(dataset, **args)
        checked = search_mod.check_space(dict(space), reference.split.in_shape[1])
    plan = SearchPlan(dataset=dataset, space=checked, trials=trials, epochs=epochs, final_epochs=final_epochs,
                      folds=folds, model_kwargs=fixed, train=train, subset=subset, seed=seed, max_cost=max_cost,
                      reference_flops=reference_flops, name=name, size=size)
    if check:
        run_checks = RunChecks()
        run_checks.add([plan.trial_run(d) for d in plan.draws() if not d["over_budget"]],
                       split="subset/folds (the search's fold 0)", model="search_space")
        run_checks.verify()
    return plan


@dataclass
class SearchStudy:
    """What :func:`search_study` returns.

    - ``plan``: the :class:`SearchPlan`; ``source``: where the trials were read (``"search"``: the study's
      database, just run; ``"export"``: its committed export; ``None``: not run yet);
    - ``trials``: one row per trial of the study (:func:`kanmix.search.trials_table`, with ``cost``: its training
      FLOPs per image over the chapter's KAN-Mixer's, and ``note``: why a trial has no score);
    - ``best``: the best trial's row (``None`` before any trial is scored); ``importances``: each searched
      setting's importance to the held-out accuracy (Optuna's fANOVA, seeded; empty without two scores that differ);
    - ``by_patch``: per patch size, its scored and skipped trials and its best trial;
    - ``noise``: the best configuration at the search's schedule on every fold (``noise_sd``: the sd of its
      held-out accuracy over them); ``final``: on every fold at the chapter's schedule (:data:`kanmix.cv.COLUMNS`);
    - ``missing``: planned runs not in the results store (with ``available_only``); ``records``: the trials'
      records, ``final_records`` those of ``noise`` and ``final``.
    """

    plan: SearchPlan
    trials: pd.DataFrame
    source: str | None = None
    best: pd.Series | None = None
    importances: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    by_patch: pd.DataFrame = field(default_factory=pd.DataFrame)
    noise: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=cv.COLUMNS))
    noise_sd: float | None = None
    final: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=cv.COLUMNS))
    missing: int = 0
    records: list[dict] = field(default_factory=list)
    final_records: list[dict] = field(default_factory=list)

    @property
    def scored(self) -> pd.DataFrame:
        """The trials with a held-out accuracy."""
        return self.trials[self.trials.state == "COMPLETE"]

    @property
    def best_params(self) -> dict | None:
        if self.best is None:
            return None
        return {k: (int(self.best[k]) if k in search_mod.MODEL_PARAMS else float(self.best[k]))
                for k in self.plan.space}


def search_study(*, dataset: str, trials: int, space: Mapping, epochs: int, folds: int, final_epochs: int,
                 train: Mapping, model_kwargs: Mapping, size: int | None = 32, subset: int | None = None, seed: int = 0,
                 max_cost: float | None = None, storage: str | None = None, available_only: bool = False,
                 workers: int = 1, executor=None) -> SearchStudy:
    """The KAN-Mixers paper's random search at this scale, then its best configuration on every fold.

    1. **The search** (:func:`kanmix.search.search`): ``trials`` trials drawn from ``space`` (the
       KAN-Mixer ``model_kwargs`` describes, its other settings fixed), each trained ``epochs`` epochs on
       fold 0 of the ``folds``-fold partition and scored on that fold's held-out part; draws costing
       more than ``max_cost`` times that KAN-Mixer's training FLOPs per image are skipped untrained. The
       study lives in ``storage`` (default: SQLite beside the results) and is exported after every trial
       (:func:`kanmix.search.export_study`), the file to commit with the records.
    2. **Noise and the full schedule**: the best configuration on the other folds at ``epochs`` and on
       every fold at ``final_epochs``.

    ``train`` holds the runs' shared options (its ``epochs``, ``lr`` and ``weight_decay`` are the
    search's). Runs train ``workers`` at a time (trials too), or on ``executor``. ``available_only``
    trains nothing: the trials come from the export, the rest from the records that exist, and the
    missing runs are counted. Everything is checked before the first run trains (:func:`search_plan`).
    """
    checks.integer("workers", workers)
    if not isinstance(available_only, bool):
        raise ParameterError(f"search_available_only={available_only!r} must be true or false")
    plan = search_plan(dataset=dataset, trials=trials, space=space, epochs=epochs, folds=folds,
                       final_epochs=final_epochs, train=train, model_kwargs=model_kwargs, size=size, subset=subset,
                       seed=seed, max_cost=max_cost, check=not available_only)
    if available_only:
        path = search_mod.export_path(plan.name)
        study, source = (search_mod.load_export(path, name=plan.name), "export") if path.exists() else (None, None)
    else:
        def export(study, trial) -> None:  # after every trial: a campaign stopped midway has its export
            search_mod.export_study(study)

        with search_mod.quiet_logs():
            study = search_mod.search(dataset, trials=plan.trials * _DRAWS_PER_TRIAL, total_trials=plan.trials,
                                      storage=storage, name=plan.name, parallel=workers, executor=executor,
                                      callbacks=[export], **plan.search_args())
        search_mod.export_study(study)
        source = "search"
    return _read(plan, study, source, available_only=available_only, workers=workers, executor=executor)


def _read(plan: SearchPlan, study, source: str | None, *, available_only: bool, workers: int,
          executor) -> SearchStudy:
    """:class:`SearchStudy` of ``study`` (``None``: not run), training the best configuration's runs unless
    ``available_only``."""
    out = SearchStudy(plan=plan, trials=_trials_frame(plan, study), source=source)
    scored = out.scored
    out.missing = max(0, plan.trials - len(scored))
    for hashes in scored.records_hashes:
        for h in hashes:
            path = results.results_dir() / "classification" / f"{h}.json"
            if path.exists():
                out.records.append(results.read_record(path))
            else:
                out.missing += 1
    out.importances = search_importances(study, seed=plan.seed) if study is not None else out.importances
    out.by_patch = search_patch_table(out.trials) if "patch" in plan.space else out.by_patch
    if scored.empty:
        out.missing += plan.folds - 1 + plan.folds
        return out
    out.best = scored.loc[scored.val_accuracy.idxmax()]  # the first of equal best
    params = out.best_params
    noise, final = plan.noise_runs(params), plan.final_runs(params)
    if available_only:
        kept = [c for c in noise + final if runner.stored(c)]
        out.missing += len(noise) + len(final) - len(kept)
        noise, final = [c for c in noise if c in kept], [c for c in final if c in kept]
    labelled = cv.run_plan([(SEARCHED, c) for c in noise + final], workers=workers, executor=executor)
    out.final_records = [rec for _, rec in labelled]
    fold0 = [(SEARCHED, r) for r in out.records if r["hash"] in out.best.records_hashes]
    out.noise = cv.table(fold0 + labelled[:len(noise)])
    if len(out.noise) >= 2:
        out.noise_sd = float(out.noise.val_accuracy.std())
    out.final = cv.table(labelled[len(noise):])
    return out


def _trials_frame(plan: SearchPlan, study) -> pd.DataFrame:
    """:func:`kanmix.search.trials_table` of ``study`` with each trial's ``cost`` (its training FLOPs per image
    over the chapter's KAN-Mixer's), its ``note`` and its records' hashes (``records_hashes``)."""
    columns = ["trial", "state", "val_accuracy", *plan.space, "params", "flops", "train_seconds", "cost", "note",
               "records_hashes"]
    if study is None or not study.trials:
        return pd.DataFrame(columns=columns)
    table = search_mod.trials_table(study)
    trials = study.get_trials(deepcopy=False)
    attrs = {t.number: t.user_attrs for t in trials}
    # A trial whose worker was stopped is queued again with its parameters: ours name it, Optuna's retry too.
    retried = {t.user_attrs.get("retry_of") for t in trials} | {t.system_attrs.get("failed_trial") for t in trials}
    table["cost"] = table["flops"].astype(float) / plan.reference_flops
    table["note"] = [("over the budget" if "over_budget" in attrs[n] else "stopped, run again" if n in retried else
                      "diverged" if s == "FAIL" else "running" if s in ("RUNNING", "WAITING") else "")
                     for n, s in zip(table.trial, table.state)]
    table["records_hashes"] = [list(attrs[n].get("records", [])) for n in table.trial]
    return table.reindex(columns=columns)


def search_importances(study, *, seed: int = 0) -> pd.Series:
    """Each searched setting's importance to the held-out accuracy, largest first, summing to 1: Optuna's fANOVA
    (:class:`optuna.importance.FanovaImportanceEvaluator`, its forest seeded by ``seed``, so the same trials always
    give the same numbers). Empty unless two scored trials or more differ in their score."""
    import optuna

    none = pd.Series(dtype=float, name="importance")
    scored = [t.value for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if len(set(scored)) < 2:  # nothing to explain: under two trials, or all scored alike
        return none
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna calls parts of its importance evaluators experimental
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
    except RuntimeError as err:  # the forest found no variance to split (the settings do not vary)
        if "zero total variance" not in str(err):
            raise
        return none
    return pd.Series(found, dtype=float, name="importance").sort_values(ascending=False)


def search_patch_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Per patch size drawn: its ``scored`` trials, those ``skipped`` over the budget, and its best trial (``trial``,
    ``val_accuracy``, ``dim``, ``depth``); indexed by ``patch``, ascending."""
    rows = []
    for patch, g in trials.groupby("patch", sort=True):
        scored = g[g.state == "COMPLETE"]
        row = {"patch": int(patch), "scored": len(scored), "skipped": int((g.note == "over the budget").sum()),
               "trial": None, "val_accuracy": math.nan, "dim": None, "depth": None}
        if len(scored):
            best = scored.loc[scored.val_accuracy.idxmax()]
            row.update(trial=int(best.trial), val_accuracy=float(best.val_accuracy),
                       dim=int(best["dim"]) if "dim" in best else None, depth=int(best["depth"]) if "depth" in best
                       else None)
        rows.append(row)
    return pd.DataFrame(rows, columns=["patch", "scored", "skipped", "trial", "val_accuracy", "dim", "depth"]
                        ).set_index("patch")


@dataclass(frozen=True)
class PatchOutcome:
    """Whether ``patch`` wins the search: each patch size's best held-out accuracy (``scores``, its ``scored``
    trials), the margin of ``patch``'s best over the best other size, and the fold noise (``noise``: the sd of one
    configuration's held-out accuracy over the folds) with the ``band`` a difference of two one-fold scores must
    pass (``1.96 * sqrt(2) * noise``). ``verdict``: ``wins`` (best, beyond the band), ``ahead`` (best, within it),
    ``behind`` (not best, within it), ``beaten`` (not best, beyond it), ``open`` (no noise measured),
    ``alone`` (no other size scored) or ``untried`` (``patch`` not scored)."""

    patch: int
    scores: dict
    scored: dict
    noise: float | None

    @property
    def band(self) -> float | None:
        return None if self.noise is None else _Z * math.sqrt(2) * self.noise

    @property
    def rival(self) -> int | None:
        """The patch size with the best trial among the others."""
        others = {p: s for p, s in self.scores.items() if p != self.patch}
        return max(others, key=others.get) if others else None

    @property
    def margin(self) -> float | None:
        if self.patch not in self.scores or self.rival is None:
            return None
        return self.scores[self.patch] - self.scores[self.rival]

    @property
    def verdict(self) -> str:
        if self.patch not in self.scores:
            return "untried"
        if self.rival is None:
            return "alone"
        if self.band is None:
            return "open"
        if self.margin > 0:
            return "wins" if self.margin > self.band else "ahead"
        return "beaten" if -self.margin > self.band else "behind"


def patch_outcome(study: SearchStudy, patch: int = 4) -> PatchOutcome:
    """:class:`PatchOutcome` of ``study``: its patch sizes' best trials against the fold noise of its best one."""
    rows = study.by_patch[study.by_patch.scored > 0] if len(study.by_patch) else study.by_patch
    return PatchOutcome(patch=patch, scores={int(p): float(r.val_accuracy) for p, r in rows.iterrows()},
                        scored={int(p): int(r.scored) for p, r in rows.iterrows()}, noise=study.noise_sd)


# ----------------------------------------------------------------------------- chapter 3's tables of the search


def search_trials_table(study: SearchStudy) -> pd.DataFrame:
    """The trained trials, best first (a diverged one last): their settings, cost (training FLOPs per image, against
    the budget's reference) and held-out accuracy. Parameters and training time are the records'; the table keeps
    what the search drew and what it scored."""
    shown = study.trials[(study.trials.state == "COMPLETE") | (study.trials.note == "diverged")]
    cols = [*study.plan.space, "cost", "val_accuracy"]
    return shown.sort_values("val_accuracy", ascending=False, na_position="last").set_index("trial")[cols]


def search_best_table(study: SearchStudy, *, model_kwargs: Mapping, lr: float, weight_decay: float,
                      paper: bool = True) -> pd.DataFrame:
    """The best trial's configuration beside the chapter's KAN-Mixer (``model_kwargs``, ``lr``, ``weight_decay``)
    and, with ``paper``, the paper's (:data:`kanmix.models.CONFIGS`' ``kan_mixer_paper``, its learning rate and
    weight decay unstated): patch, width, blocks, lr, weight decay and parameters on the search's images."""
    from kanmix.models import config, parameter_count
    from kanmix.splits import Split

    split = Split(dataset=study.plan.dataset, size=study.plan.size)

    def count_(kwargs: Mapping) -> int:  # on the meta device: the paper's mixer costs nothing to count
        return parameter_count("kan_mixer", in_shape=split.in_shape, num_classes=split.info.num_classes, **kwargs)
    def row(label: str, kwargs: Mapping, lr_: float, wd: float, params: int) -> dict:
        return {"": label, **{k: kwargs.get(k) for k in search_mod.MODEL_PARAMS}, "lr": lr_, "weight_decay": wd,
                "params": params}

    rows = []
    if study.best is not None:
        b = study.best
        rows.append(row(f"best trial ({int(b.trial)})", {k: b.get(k) for k in search_mod.MODEL_PARAMS},
                        b.get("lr", lr), b.get("weight_decay", weight_decay), b["params"]))
    rows.append(row(f"this chapter's {MIXER_LABELS['kan_mixer']}", model_kwargs, lr, weight_decay,
                    count_(model_kwargs)))
    if paper:
        paper_kwargs = config("kan_mixer_paper")[1]
        rows.append(row("the paper's", paper_kwargs, math.nan, math.nan, count_(paper_kwargs)))
    return pd.DataFrame(rows).set_index("")


def _chapter_kan(study: SearchStudy, mixer_study) -> pd.DataFrame | None:
    """The fold rows of the chapter's KAN-Mixer (``mixer_study``: chapter 3's :class:`MixerStudy`) on the search's
    dataset and partition, or ``None``."""
    folds = getattr(mixer_study, "folds", None)
    if folds is None or folds.empty:
        return None
    kan = folds[(folds.dataset == study.plan.dataset) & (folds.model == MIXER_LABELS["kan_mixer"])
                & (folds.folds == study.plan.folds) & (folds.repeat == 0)]
    return kan if len(kan) else None


def search_final_table(study: SearchStudy, mixer_study=None) -> pd.DataFrame:
    """:func:`kanmix.cv.overview` of the searched configuration at the chapter's schedule, after the chapter's
    KAN-Mixer on the same folds when ``mixer_study`` (chapter 3's :class:`MixerStudy`) has them."""
    parts = [part for part in (_chapter_kan(study, mixer_study), study.final) if part is not None and len(part)]
    return cv.overview(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()


def search_final_records(study: SearchStudy, mixer_study=None) -> list[dict]:
    """The records behind :func:`search_final_table`: the searched configuration's and the chapter KAN-Mixer's."""
    kan = _chapter_kan(study, mixer_study)
    hashes = set(study.final.hash) | (set(kan.hash) if kan is not None else set())
    return [r for r in study.final_records + list(getattr(mixer_study, "records", [])) if r["hash"] in hashes]


def searched_against_chapter(study: SearchStudy, mixer_study=None):
    """The searched configuration minus the chapter's KAN-Mixer, fold by fold at the chapter's schedule
    (:func:`kanmix.stats.paired_comparison`), or ``None`` when they do not share two folds or more."""
    from kanmix import stats

    kan = _chapter_kan(study, mixer_study)
    if kan is None or study.final.empty:
        return None
    both = study.final.set_index("fold").val_accuracy.to_frame("a").join(
        kan.set_index("fold").val_accuracy.to_frame("b"), how="inner")
    if len(both) < 2:
        return None
    return stats.paired_comparison(both.a, both.b, folds=study.plan.folds)


# ----------------------------------------------------------------------------- from chapter 3's parameters


def _search_args(params: Mapping) -> dict:
    """:func:`search_study`'s arguments of chapter 3's parameters: the search's own (``search_*``) and the chapter's
    partition (``folds``, ``subset``, ``seed``), schedule (``epochs``) and KAN-Mixer (with its grid handling)."""
    p = _chapter_values(params, ("search_dataset", "search_trials", "search_epochs", "search_space", "search_ranges",
                                 "search_max_cost", "search_storage", "search_available_only", "folds", "subset",
                                 "seed", "epochs", "batch_size", "precision", "augment", "model_kwargs",
                                 "grid_variants", "grid_handling", "workers"))
    space, ranges = p["search_space"], p["search_ranges"]
    if not isinstance(space, Mapping) or not all(isinstance(v, list) for v in space.values()) \
            or set(space) - set(search_mod.MODEL_PARAMS):
        raise ParameterError(f"search_space={space!r} must map some of {', '.join(search_mod.MODEL_PARAMS)} to "
                             "lists of choices")
    if not isinstance(ranges, Mapping) or set(ranges) - set(search_mod.TRAIN_PARAMS) or not all(
            isinstance(v, (list, tuple)) and len(v) == 2 for v in ranges.values()):
        raise ParameterError(f"search_ranges={ranges!r} must map some of {', '.join(search_mod.TRAIN_PARAMS)} to "
                             "[low, high] log-uniform ranges")
    if not isinstance(p["model_kwargs"], Mapping) or not isinstance(p["model_kwargs"].get("kan_mixer"), Mapping):
        raise ParameterError("model_kwargs has no dict of arguments for 'kan_mixer', the search's model")
    variants = p["grid_variants"] if isinstance(p["grid_variants"], Mapping) else {}
    overrides = variants.get(p["grid_handling"]) if p["grid_handling"] is not None else None
    train = {"batch_size": p["batch_size"], "precision": p["precision"], "augment": p["augment"]}
    if overrides is not None:
        _, left_out = runnable_grid_variants({p["grid_handling"]: overrides}, {**train, "epochs": p["search_epochs"]})
        if left_out:
            raise ParameterError(f"search_epochs={p['search_epochs']!r}: the grid handling {p['grid_handling']!r} "
                                 f"cannot train in a trial: {left_out[p['grid_handling']]}")
    with about(f"grid_variants[{p['grid_handling']!r}]"):
        kan = with_overrides({"model": "kan_mixer", "model_kwargs": dict(p["model_kwargs"]["kan_mixer"])}, overrides)
    return {"dataset": p["search_dataset"], "trials": p["search_trials"], "epochs": p["search_epochs"],
            "space": {**{k: list(v) for k, v in space.items()}, **{k: tuple(v) for k, v in ranges.items()}},
            "folds": p["folds"], "final_epochs": p["epochs"], "train": {**train, **kan["train"]},
            "model_kwargs": kan["model_kwargs"], "subset": p["subset"], "seed": p["seed"],
            "max_cost": p["search_max_cost"], "storage": p["search_storage"],
            "available_only": p["search_available_only"], "workers": p["workers"]}


def search_from_chapter(params: Mapping, *, executor=None) -> SearchStudy:
    """:func:`search_study` of chapter 3's parameters (its parameters cell, as :func:`kanmix.book.plan` resolves it)."""
    return search_study(**_search_args(params), executor=executor)


def search_plan_from_chapter(params: Mapping, *, check: bool = True) -> SearchPlan:
    """:func:`search_plan` of chapter 3's parameters: every value checked and, with ``check``, every planned trial's
    split and model; nothing trains."""
    args = _search_args(params)
    checks.integer("workers", args.pop("workers"))
    available_only = args.pop("available_only")
    if not isinstance(available_only, bool):
        raise ParameterError(f"search_available_only={available_only!r} must be true or false")
    if args.pop("storage") is not None and not isinstance(params["search_storage"], str):
        raise ParameterError(f"search_storage={params['search_storage']!r} must be a database URL or None")
    return search_plan(**args, check=check)

