"""Random search over KAN-Mixer hyper-parameters with Optuna, as the KAN-Mixers paper did.

Each trial samples a patch size, a width ``dim``, a ``depth``, a learning rate and a weight
decay (:data:`DEFAULT_SPACE`), runs stratified k-fold cross-validation of that configuration
on the training split (:func:`kanmix.cv.run_folds`) and returns the **mean validation
accuracy over the folds**. Every fold is a results-store record, so a trial whose
configuration was already run costs nothing, and each trial lists its records' hashes in
its ``user_attrs``. The official test split is scored by every fold too (``test_accuracy``
in the user attributes) but never used for selection.

The token and channel hidden widths follow ``dim`` with the ratios of
:class:`kanmix.models.Mixer` (``token_hidden = dim // 2``, ``channel_hidden = dim``) unless
fixed through ``model_kwargs``.

**Storage.** The study lives in an Optuna RDB storage: by default the SQLite file
``<results_dir>/search.sqlite3`` beside the records; a database server's URL lets workers on
several machines share one study: ``postgresql://user@host/db`` (driven by psycopg 3, from the
``cluster`` extra: ``pip install -e .[cluster]``) or any SQLAlchemy URL. Each worker sends a
heartbeat while its trial runs (every ``heartbeat`` seconds): a trial whose worker died (silent
for three heartbeats) is marked failed by the next worker that starts a trial, and retried with
the same parameters (so its finished folds are reused, and its unfinished fold resumes from its
checkpoint when the workers share the results store).

**Sampling.** Random: the parameters of trial ``n`` are drawn from ``(seed, n)`` alone
(:class:`TrialSeededSampler`). The database gives every trial of a study its own number, so no
two trials share their draws, whichever worker runs them and whatever its ``worker`` number
(only a retried trial repeats the parameters of the one it replaces); a study rerun with the
same seed draws the same trials, and a resumed one continues with fresh draws rather than
repeating the first ones. ``worker`` only labels a worker's trials.

**A budget.** ``first_folds`` scores each trial on the first folds of its ``folds``-fold
partition only (one fold: one run a trial); ``max_flops`` skips, untrained, every draw whose
model costs more training FLOPs per image (:func:`trial_flops`): it becomes a ``PRUNED`` trial
whose ``over_budget`` user attribute gives its cost. ``parallel`` asks that many trials at a
time and trains their runs together (:func:`kanmix.runner.record_many`: local processes, or
the ``executor``); a draw is still trial ``n``'s, so a study drawn ``parallel`` at a time holds
the trials of one drawn alone.

**An export.** :func:`export_study` writes a study's trials to a JSON file with a checksum
(``<results_dir>/search/<study name>/trials.json``, :func:`export_path`), small enough to commit beside
the run records; :func:`load_export` reads it back, checked, as an in-memory study, so a clone
without the database has the same trials (and the same importances) to show.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import optuna
import pandas as pd

from kanmix import checks, cv, io, results, runner
from kanmix.errors import KanmixError
from kanmix.experiment import ClassificationRun
from kanmix.folds import derived_seed
from kanmix.splits import Split

#: name -> choices (a list: categorical) or ``(low, high)`` (a tuple: log-uniform float).
#: ``patch`` keeps only the sizes that divide the image side.
DEFAULT_SPACE: dict[str, list | tuple] = {
    "patch": [2, 4, 7, 8],
    "dim": [64, 128, 256],
    "depth": [2, 4, 6, 8],
    "lr": (1e-4, 1e-2),
    "weight_decay": (1e-6, 1e-1),
}
MODEL_PARAMS = ("patch", "dim", "depth")
TRAIN_PARAMS = ("lr", "weight_decay")
DEFAULT_STORAGE_NAME = "search.sqlite3"
#: Seconds between a worker's signs of life while its trial runs; three missed, the trial is failed and retried.
HEARTBEAT = 60
#: How often a trial whose worker died is retried before it stays failed.
MAX_RETRY = 3


class StorageError(KanmixError):
    """The study's database failed while the search used it (a damaged SQLite file, a lost server)."""


class ExportError(KanmixError, ValueError):
    """A study export that cannot be read, is damaged or was edited (:func:`load_export`)."""


def default_storage() -> str:
    """``sqlite:///<results_dir>/search.sqlite3`` (an absolute path, quoted: a ``?`` or ``%`` in the
    store's path must stay part of the path, not become URL options)."""
    from sqlalchemy.engine import URL

    path = (results.results_dir() / DEFAULT_STORAGE_NAME).resolve()
    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def _schema_lock(path: Path):
    """An exclusive lock beside a SQLite file while Optuna creates its schema.

    Two workers opening a fresh database at once would both run ``CREATE TABLE`` and one
    would fail ("table ... already exists"); the lock makes them take turns. Where ``fcntl``
    is missing (Windows) the retry loop in :func:`open_storage` has to do.
    """
    try:
        import fcntl
    except ImportError:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def held():
        with open(path.with_name(path.name + ".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    return held()


def database_url(url: str) -> str:
    """``url`` as SQLAlchemy opens it: a PostgreSQL URL (``postgresql://``, ``postgres://``) names
    its driver, psycopg 3 (``postgresql+psycopg://``); any other URL is left as it is."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url


def shown(url: str | None) -> str:
    """``url`` (default :func:`default_storage`) as messages show it: without its password."""
    from sqlalchemy.engine import make_url

    url = url or default_storage()
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: nothing to hide
        return url


def open_storage(url: str | None = None, *, heartbeat: int | None = HEARTBEAT) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage for ``url`` (default :func:`default_storage`), checked by connecting.

    ``heartbeat``: seconds between the heartbeats of a running trial (``None``: none); a trial
    silent for three of them is failed and retried, up to :data:`MAX_RETRY` times, by the next
    worker that starts a trial. Raises ``ValueError`` naming the URL (not its password) when it
    cannot be opened (bad scheme, missing driver, unreachable server, unwritable file).
    """
    import importlib.util
    import warnings

    import sqlalchemy.engine
    import sqlalchemy.exc

    url = url or default_storage()
    target = database_url(url)
    if target.startswith("postgresql+psycopg:") and importlib.util.find_spec("psycopg") is None:
        raise ValueError(f"storage={shown(url)!r} needs the PostgreSQL driver psycopg: "
                         "pip install -c constraints.txt -e '.[cluster]'")
    alive = {}
    if heartbeat is not None:
        checks.integer("heartbeat", heartbeat)
        with warnings.catch_warnings():  # Optuna calls the retry "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
        alive = {"heartbeat_interval": heartbeat, "grace_period": 3 * heartbeat,
                 "heartbeat_stale_trial_callback": retry}
    last: Exception | None = None
    for attempt in range(5):
        try:
            kwargs, lock = {}, contextlib.nullcontext()
            if url.startswith("sqlite:"):
                path = sqlalchemy.engine.make_url(url).database  # None or "" for an in-memory database
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                    lock = _schema_lock(Path(path))
                # Concurrent workers on one SQLite file wait for each other's writes instead of failing.
                kwargs = {"connect_args": {"timeout": 60}}
            else:  # a server: a connection that died while a long trial ran is replaced, not used
                kwargs = {"pool_pre_ping": True}
                if target.startswith("postgresql+psycopg:"):
                    kwargs["connect_args"] = {"connect_timeout": 20}
            with lock, warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(target, engine_kwargs=kwargs, **alive)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError) as err:
            # Another worker creating the same schema at this moment (a database server, or
            # SQLite without fcntl): the schema is there on the next try.
            last = err
            if not any(w in str(err).lower() for w in ("already exists", "unique", "locked", "duplicate")):
                break
            time.sleep(0.2 * (attempt + 1))
        except Exception as err:  # SQLAlchemy raises many kinds; all mean "cannot open"
            last = err
            break
    first = str(last).strip().splitlines()[0] if str(last).strip() else type(last).__name__
    raise ValueError(f"storage={shown(url)!r} cannot be opened ({first}); give a writable sqlite:///PATH "
                     "or a reachable database URL") from last


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """Random sampling in which trial ``n`` draws its parameters from ``(seed, n, parameter name)`` alone.

    The trial number is the study's (the database hands out each number once), so two workers
    never share their draws, even when they were given the same ``worker`` number and seed.
    """

    def __init__(self, seed: int = 0):
        self.seed = seed

    def infer_relative_search_space(self, study, trial) -> dict:
        return {}

    def sample_relative(self, study, trial, search_space) -> dict:
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution):
        import zlib

        stream = derived_seed(self.seed, trial.number, zlib.crc32(param_name.encode()))
        return optuna.samplers.RandomSampler(seed=stream).sample_independent(study, trial, param_name,
                                                                             param_distribution)


def check_space(space: Mapping[str, list | tuple], image_side: int) -> dict[str, list | tuple]:
    """Validate a search space and drop patch sizes that do not divide ``image_side``."""
    unknown = sorted(set(space) - set(MODEL_PARAMS) - set(TRAIN_PARAMS))
    if unknown:
        raise ValueError(f"unknown search parameter(s) {unknown}; allowed: {', '.join(MODEL_PARAMS + TRAIN_PARAMS)}")
    out = {}
    for name, dom in space.items():
        if isinstance(dom, tuple):
            if name not in TRAIN_PARAMS or len(dom) != 2 or not 0 < dom[0] <= dom[1]:
                raise ValueError(f"{name}={dom!r}: a (low, high) log range with 0 < low <= high "
                                 f"is for {', '.join(TRAIN_PARAMS)}")
            out[name] = (float(dom[0]), float(dom[1]))
        elif isinstance(dom, list) and dom:
            out[name] = list(dom)
        else:
            raise ValueError(f"{name}={dom!r} must be a non-empty list of choices or a (low, high) tuple")
    if "patch" in out:
        fits = [p for p in out["patch"] if isinstance(p, int) and p > 0 and image_side % p == 0]
        if not fits:
            raise ValueError(f"patch={out['patch']}: no patch size divides the {image_side}x{image_side} image")
        out["patch"] = fits
    return out


def sample(trial: optuna.Trial, space: Mapping[str, list | tuple]) -> dict:
    """Draw one configuration from ``space`` through ``trial`` (so Optuna records it)."""
    params = {}
    for name, dom in space.items():
        if isinstance(dom, tuple):
            params[name] = trial.suggest_float(name, dom[0], dom[1], log=True)
        else:
            params[name] = trial.suggest_categorical(name, dom)
    return params


def trial_study(params: Mapping, *, model: str = "kan_mixer", model_kwargs: Mapping | None = None,
                train: Mapping | None = None) -> dict:
    """The cross-validation spec of one trial's parameters: ``{"model", "model_kwargs", "train"}``."""
    kwargs = dict(model_kwargs or {})
    for name in MODEL_PARAMS:
        if name in params:
            kwargs[name] = params[name]
    if "dim" in params:  # keep Mixer's documented width ratios unless fixed by the caller
        kwargs.setdefault("token_hidden", max(1, params["dim"] // 2))
        kwargs.setdefault("channel_hidden", params["dim"])
    train = {**(train or {}), **{k: params[k] for k in TRAIN_PARAMS if k in params}}
    return {"model": model, "model_kwargs": kwargs, "train": train}


def study_name(dataset: str, *, model: str = "kan_mixer", folds: int, space: Mapping, **fixed) -> str:
    """A name that changes whenever the search would measure something else."""
    key = results.config_hash({"dataset": dataset, "model": model, "folds": folds,
                               "space": {k: list(v) for k, v in space.items()}, **fixed})
    return f"{model}-{dataset}-{key[:8]}"


def trial_flops(cfg: ClassificationRun) -> int:
    """Training FLOPs per training image of ``cfg``'s model: forward and backward, one image
    (:func:`kanmix.flops.training_flops`); what ``max_flops`` of :func:`search` caps."""
    from kanmix.flops import training_flops

    return int(training_flops(cfg.build_model(), cfg.split.in_shape, 1))


def prepare(dataset: str, *, folds: int = 3, first_folds: int | None = None, space: Mapping | None = None,
            model: str = "kan_mixer", model_kwargs: Mapping | None = None, train: Mapping | None = None,
            size: int | None = None, subset: int | None = None, subset_seed: int = 0,
            test_subset: int | str | None = None, seed: int = 0, fold_seed: int = 0, progress: bool | None = None,
            device: str | None = None) -> tuple[dict[str, list | tuple], ClassificationRun]:
    """Validate a search before any trial: ``(space, config of the first fold of its first choices)``.

    The space loses the patch sizes that do not fit the image; the first fold's config (and its
    model, built once) checks everything fixed across trials. Raises ``ValueError`` naming what
    is wrong.
    """
    split = Split(dataset=dataset, size=size, subset=subset, subset_seed=subset_seed, test_subset=test_subset)
    space = check_space(DEFAULT_SPACE if space is None else space, split.in_shape[1])
    probe = trial_study({k: v[0] for k, v in space.items()}, model=model, model_kwargs=model_kwargs, train=train)
    first = cv.fold_configs(model, dataset, folds=folds, first_folds=first_folds, fold_seed=fold_seed,
                            model_kwargs=probe["model_kwargs"],
                            train=runner.runtime_options(probe["train"], progress=progress, device=device),
                            size=size, subset=subset, subset_seed=subset_seed, test_subset=test_subset, seed=seed)[0]
    runner.check_model(first)  # e.g. a model that takes no patch/dim/depth
    return space, first


def _default_name(dataset: str, space: Mapping, first: ClassificationRun, *, model: str, folds: int,
                  first_folds: int | None, model_kwargs: Mapping | None, train: Mapping | None, size: int | None,
                  subset: int | None, subset_seed: int, test_subset, seed: int, fold_seed: int,
                  max_flops: float | None) -> str:
    # The resolved precision names the study too: fp32 and bf16 trials measure different things.
    fixed = {"size": size, "subset": subset, "subset_seed": subset_seed, "test_subset": test_subset,
             "seed": seed, "fold_seed": fold_seed, "train": {**(train or {}), "precision": first.train.precision},
             "model_kwargs": dict(model_kwargs or {})}
    # A budget measures something else too (a study without one keeps the name it always had).
    fixed.update({k: v for k, v in (("first_folds", first_folds), ("max_flops", max_flops)) if v is not None})
    return study_name(dataset, model=model, folds=folds, space=space, **fixed)


def default_name(dataset: str, *, folds: int = 3, first_folds: int | None = None, space: Mapping | None = None,
                 model: str = "kan_mixer", model_kwargs: Mapping | None = None, train: Mapping | None = None,
                 size: int | None = None, subset: int | None = None, subset_seed: int = 0,
                 test_subset: int | str | None = None, seed: int = 0, fold_seed: int = 0,
                 max_flops: float | None = None) -> str:
    """The name :func:`search` gives the study of these arguments when it is given none (validated by
    :func:`prepare`, so nothing trains): where its trials are, and its export (:func:`export_path`)."""
    space, first = prepare(dataset, folds=folds, first_folds=first_folds, space=space, model=model,
                           model_kwargs=model_kwargs, train=train, size=size, subset=subset, subset_seed=subset_seed,
                           test_subset=test_subset, seed=seed, fold_seed=fold_seed)
    return _default_name(dataset, space, first, model=model, folds=folds, first_folds=first_folds,
                         model_kwargs=model_kwargs, train=train, size=size, subset=subset, subset_seed=subset_seed,
                         test_subset=test_subset, seed=seed, fold_seed=fold_seed, max_flops=max_flops)


def search(dataset: str, *, trials: int, folds: int = 3, first_folds: int | None = None, space: Mapping | None = None,
           model: str = "kan_mixer", model_kwargs: Mapping | None = None, train: Mapping | None = None,
           size: int | None = None, subset: int | None = None, subset_seed: int = 0,
           test_subset: int | str | None = None, seed: int = 0, fold_seed: int = 0, storage: str | None = None,
           name: str | None = None, worker: int = 0, total_trials: int | None = None, progress: bool | None = None,
           device: str | None = None, callbacks: Sequence[Callable] | None = None,
           heartbeat: int | None = HEARTBEAT, executor=None, parallel: int = 1,
           max_flops: float | None = None) -> optuna.Study:
    """Run ``trials`` random-search trials in this process and return the (shared) study.

    ``total_trials`` stops this worker once the study as a whole holds that many finished
    trials (useful with several workers). ``callbacks`` go to :meth:`optuna.Study.optimize`
    (called with ``(study, frozen_trial)`` after each trial). ``heartbeat`` goes to
    :func:`open_storage`; ``executor`` (``"ray"``: a Ray cluster) trains each trial's folds
    (:func:`kanmix.cv.run_plan`). ``first_folds`` scores each trial on the first that many of
    its ``folds`` folds; ``max_flops`` skips the draws that cost more training FLOPs per image
    (:func:`trial_flops`) untrained; ``parallel`` trains that many trials at a time (see the
    module's docstring). Everything is validated (:func:`prepare`), and the storage opened,
    before the first trial trains.
    """
    checks.integer("trials", trials)
    checks.integer("worker", worker, 0)
    checks.integer("parallel", parallel)
    if max_flops is not None and not (isinstance(max_flops, (int, float)) and 0 < max_flops < float("inf")):
        raise ValueError(f"max_flops={max_flops!r} must be a positive number of training FLOPs per image")
    space, first = prepare(dataset, folds=folds, first_folds=first_folds, space=space, model=model,
                           model_kwargs=model_kwargs, train=train, size=size, subset=subset, subset_seed=subset_seed,
                           test_subset=test_subset, seed=seed, fold_seed=fold_seed, progress=progress, device=device)
    name = name or _default_name(dataset, space, first, model=model, folds=folds, first_folds=first_folds,
                                 model_kwargs=model_kwargs, train=train, size=size, subset=subset,
                                 subset_seed=subset_seed, test_subset=test_subset, seed=seed, fold_seed=fold_seed,
                                 max_flops=max_flops)
    executor = runner.executor_of(executor)
    store = open_storage(storage, heartbeat=heartbeat)
    with _database_errors(storage):
        study = optuna.create_study(study_name=name, storage=store, direction="maximize", load_if_exists=True,
                                    sampler=TrialSeededSampler(seed))
    shared = {"folds": folds, "first_folds": first_folds, "fold_seed": fold_seed, "size": size, "subset": subset,
              "subset_seed": subset_seed, "test_subset": test_subset, "seed": seed}

    def draw(trial: optuna.Trial) -> dict:
        """Label the trial, draw its parameters and weigh its model; an over-budget draw is pruned here."""
        trial.set_user_attr("worker", worker)  # first: a trial whose worker dies says whose it was
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("host", platform.node())
        params = sample(trial, space)
        spec = trial_study(params, model=model, model_kwargs=model_kwargs, train=train)
        cost = trial_flops(cv.fold_configs(model, dataset, model_kwargs=spec["model_kwargs"], train=spec["train"],
                                           **{**shared, "first_folds": 1})[0])
        trial.set_user_attr("flops", cost)
        if max_flops is not None and cost > max_flops:
            trial.set_user_attr("over_budget", cost)
            raise optuna.TrialPruned(f"{cost:.3g} training FLOPs per image, over max_flops={max_flops:.3g}")
        return params

    def runs(params: Mapping) -> list[ClassificationRun]:
        spec = trial_study(params, model=model, model_kwargs=model_kwargs, train=train)
        return cv.fold_configs(model, dataset, model_kwargs=spec["model_kwargs"],
                               train=runner.runtime_options(spec["train"], progress=progress, device=device), **shared)

    def evaluate(trial: optuna.Trial, params: Mapping) -> float:
        spec = trial_study(params, model=model, model_kwargs=model_kwargs, train=train)
        labelled = cv.run_folds({"trial": {"model": model, "model_kwargs": spec["model_kwargs"]}}, dataset,
                                train=spec["train"], progress=progress, device=device, executor=executor, **shared)
        val = [rec["metrics"]["val"]["accuracy"] for _, rec in labelled]
        trial.set_user_attr("records", [rec["hash"] for _, rec in labelled])
        trial.set_user_attr("val_accuracy_folds", val)
        test = [rec["metrics"]["test"]["accuracy"] for _, rec in labelled]
        trial.set_user_attr("test_accuracy", statistics.fmean(test))
        trial.set_user_attr("params_count", labelled[0][1]["parameters"])
        trial.set_user_attr("train_seconds", sum(rec.get("train_seconds", 0.0) for _, rec in labelled))
        return statistics.fmean(val)

    with _database_errors(storage):
        if total_trials is not None and len(study.get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))) >= total_trials:
            return study  # the study is complete: nothing to draw (optimize would run one trial more)
        if parallel > 1:
            _batches(study, store, trials=trials, parallel=parallel, total_trials=total_trials, draw=draw, runs=runs,
                     evaluate=evaluate, executor=executor, callbacks=list(callbacks or []))
        else:
            callbacks = list(callbacks or []) + ([optuna.study.MaxTrialsCallback(total_trials)] if total_trials else [])
            # A diverged configuration is a failed trial, not the end of the search.
            study.optimize(lambda trial: evaluate(trial, draw(trial)), n_trials=trials, callbacks=callbacks,
                           catch=(FloatingPointError,))
    return study


def _batches(study: optuna.Study, store, *, trials: int, parallel: int, total_trials: int | None, draw, runs, evaluate,
             executor, callbacks: list) -> None:
    """:func:`search`'s trials ``parallel`` at a time: ask a batch (pruning the draws over the budget), train
    all its runs at once (:func:`kanmix.runner.record_many`), then score each trial from its records.

    A trial of a batch sends heartbeats while the batch runs, as :meth:`optuna.Study.optimize`'s
    would; a batch whose process died leaves stale trials that the next batch (of any worker)
    fails, and Optuna's retry re-queues with their parameters (their finished runs are reused).
    """
    complete = (optuna.trial.TrialState.COMPLETE,)
    asked = 0
    while asked < trials:
        with warnings.catch_warnings():  # Optuna calls the stale-trial check experimental, and asks for optimize
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used with Study.optimize")
            optuna.storages.fail_stale_trials(study)
            wanted = parallel if total_trials is None else min(parallel, total_trials - len(study.get_trials(
                deepcopy=False, states=complete)))
            if wanted <= 0:
                return
            batch = []
            while len(batch) < wanted and asked < trials:
                trial, asked = study.ask(), asked + 1
                try:
                    batch.append((trial, draw(trial)))
                except optuna.TrialPruned:
                    frozen = study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    for callback in callbacks:
                        callback(study, frozen)
        untold = list(batch)
        try:
            with _heartbeats(store, [trial._trial_id for trial, _ in batch]):
                try:
                    runner.record_many([cfg for _, params in batch for cfg in runs(params)], workers=parallel,
                                       executor=executor)
                except FloatingPointError:
                    pass  # the diverged run trains again, alone, as its trial is scored: that trial fails
                for trial, params in batch:
                    try:
                        frozen = study.tell(trial, evaluate(trial, params))
                    except FloatingPointError:
                        frozen = study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    untold.pop(0)
                    for callback in callbacks:
                        callback(study, frozen)
        except BaseException:
            # Interrupted (or failed otherwise): the batch's open trials fail and are queued again with their
            # parameters, so a rerun trains them first, reusing their finished runs and checkpoints.
            for trial, params in untold:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                study.enqueue_trial(params, user_attrs={"retry_of": trial.number})
            raise


@contextlib.contextmanager
def _heartbeats(store, trial_ids: Sequence[int]):
    """Within the block, a heartbeat for each of ``trial_ids`` every heartbeat interval of ``store`` (none without)."""
    interval = store.get_heartbeat_interval() if hasattr(store, "get_heartbeat_interval") else None
    if not interval or not trial_ids:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            for trial_id in trial_ids:
                store.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def _database_errors(url: str | None):
    """Turn the database's own errors (a damaged file, a lost connection) into one :class:`StorageError` line."""
    import sqlalchemy.exc

    try:
        yield
    except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError) as err:
        if isinstance(err, optuna.exceptions.StorageInternalError):  # Optuna's wrapper of the database's error
            err = err.__cause__ or err
        first = (str(getattr(err, "orig", None) or err).strip() or type(err).__name__).splitlines()[0]
        raise StorageError(f"the study's database {shown(url)} failed ({first}); finished trials "
                           "and their run records are kept: repair or move the database and rerun") from None


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, val_accuracy (the objective), parameters, test accuracy, worker,
    the model's training FLOPs per image (``flops``) and the trial's training seconds (its folds summed)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append({"trial": t.number, "state": t.state.name, "val_accuracy": t.value, **t.params,
                     "test_accuracy": t.user_attrs.get("test_accuracy"), "params": t.user_attrs.get("params_count"),
                     "worker": t.user_attrs.get("worker"), "records": len(t.user_attrs.get("records", [])),
                     "flops": t.user_attrs.get("flops"), "train_seconds": t.user_attrs.get("train_seconds")})
    return pd.DataFrame(rows)


@contextlib.contextmanager
def quiet_logs():
    """Within the block, Optuna logs warnings only (not a line per trial or study); its level is restored after."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


# ----------------------------------------------------------------------------- a study's export
#: The version of :func:`export_study`'s file layout; :func:`load_export` reads this one only.
EXPORT_FORMAT = 1


def export_path(name: str) -> Path:
    """Where a study's export lives: ``<results_dir>/search/<name>/trials.json``, beside the run records it cites
    (a folder deeper than theirs, ``<kind>/<hash>.json``, so that no listing of the records takes it for one)."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"study name {name!r} must be a plain file name")
    return results.results_dir() / "search" / name / "trials.json"


def export_study(study: optuna.Study, path: Path | None = None) -> Path:
    """Write ``study``'s trials (number, state, value, parameters with their distributions, user and system
    attributes) to ``path`` (default :func:`export_path`) as JSON with a checksum, atomically; returns the path."""
    # Parameters as [name, value] pairs: their order (the space's) survives the key-sorted JSON.
    trials = [{"number": t.number, "state": t.state.name, "value": t.value, "params": list(t.params.items()),
               "distributions": {k: optuna.distributions.distribution_to_json(d) for k, d in t.distributions.items()},
               "user_attrs": t.user_attrs, "system_attrs": t.system_attrs} for t in study.get_trials(deepcopy=False)]
    payload = {"format": EXPORT_FORMAT, "study_name": study.study_name, "direction": study.direction.name.lower(),
               "trials": trials}
    payload = json.loads(results.canonical_json(payload))  # what is checked on reading: JSON's own values
    payload["checksum"] = results.record_checksum(payload)
    path = Path(path) if path is not None else export_path(study.study_name)
    io.atomic_write_json(path, payload)
    return path


def load_export(path: Path, *, name: str | None = None) -> optuna.Study:
    """The study exported to ``path`` (:func:`export_study`), in memory, its trials numbered as they were.

    Refuses, with one :class:`ExportError` line naming the file, an export that cannot be read, whose
    checksum disagrees with its contents (damaged or edited), of another layout, or of another study
    than ``name``.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ExportError(f"{path}: not a readable study export ({' '.join(str(err).split())})") from None
    if not isinstance(payload, dict) or payload.get("format") != EXPORT_FORMAT:
        raise ExportError(f"{path}: not a study export of format {EXPORT_FORMAT}")
    if payload.get("checksum") != results.record_checksum(payload):
        raise ExportError(f"{path}: its checksum does not match its contents (damaged or edited); "
                          "export the study again from its database")
    if name is not None and payload.get("study_name") != name:
        raise ExportError(f"{path}: holds study {payload.get('study_name')!r}, not {name!r}")
    try:
        with quiet_logs():  # no "a new study created in memory" on every read
            study = optuna.create_study(study_name=payload["study_name"], direction=payload["direction"])
        for i, t in enumerate(payload["trials"]):
            if t["number"] != i:
                raise ValueError(f"trial {t['number']} stands at place {i}")
            params = dict(t["params"])
            dists = {k: optuna.distributions.json_to_distribution(t["distributions"][k]) for k in params}
            study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState[t["state"]], value=t["value"],
                                                      params=params, distributions=dists,
                                                      user_attrs=t["user_attrs"], system_attrs=t["system_attrs"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ExportError(f"{path}: a malformed study export ({type(err).__name__}: {err})") from None
    return study
