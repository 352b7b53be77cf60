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
``<results_dir>/search.sqlite3`` beside the records; any SQLAlchemy database URL
(``postgresql://...``, ``mysql://...``) lets workers on several machines share one study.
Start each concurrent worker with its own ``worker`` number.

**Sampling.** Optuna's :class:`~optuna.samplers.RandomSampler`, seeded from
``(seed, worker, trials already in the study)``: a worker's sequence of trials is
reproducible, two workers draw different configurations, and resuming a study continues
with fresh draws rather than repeating the first ones.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import optuna
import pandas as pd

from kanmix import checks, cv, results, runner
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


class StorageError(KanmixError):
    """The study's database failed while the search used it (a damaged SQLite file, a lost server)."""


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


def open_storage(url: str | None = None) -> optuna.storages.RDBStorage:
    """An Optuna RDB storage for ``url`` (default :func:`default_storage`), checked by connecting.

    Raises ``ValueError`` naming the URL when it cannot be opened (bad scheme, missing
    driver, unreachable server, unwritable file).
    """
    import sqlalchemy.engine
    import sqlalchemy.exc

    url = url or default_storage()
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
            with lock:
                return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError) as err:
            # Another worker creating the same schema at this moment (a database server, or
            # SQLite without fcntl): the schema is there on the next try.
            last = err
            if not any(w in str(err) for w in ("already exists", "UNIQUE", "locked", "Duplicate")):
                break
            time.sleep(0.2 * (attempt + 1))
        except Exception as err:  # SQLAlchemy raises many kinds; all mean "cannot open"
            last = err
            break
    first = str(last).strip().splitlines()[0] if str(last).strip() else type(last).__name__
    raise ValueError(f"storage={url!r} cannot be opened ({first}); give a writable sqlite:///PATH "
                     "or a reachable database URL") from last


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


def prepare(dataset: str, *, folds: int = 3, space: Mapping | None = None, model: str = "kan_mixer",
            model_kwargs: Mapping | None = None, train: Mapping | None = None, size: int | None = None,
            subset: int | None = None, subset_seed: int = 0, test_subset: int | str | None = None, seed: int = 0,
            fold_seed: int = 0, progress: bool | None = None,
            device: str | None = None) -> tuple[dict[str, list | tuple], ClassificationRun]:
    """Validate a search before any trial: ``(space, config of the first fold of its first choices)``.

    The space loses the patch sizes that do not fit the image; the first fold's config (and its
    model, built once) checks everything fixed across trials. Raises ``ValueError`` naming what
    is wrong.
    """
    split = Split(dataset=dataset, size=size, subset=subset, subset_seed=subset_seed, test_subset=test_subset)
    space = check_space(DEFAULT_SPACE if space is None else space, split.in_shape[1])
    probe = trial_study({k: v[0] for k, v in space.items()}, model=model, model_kwargs=model_kwargs, train=train)
    first = cv.fold_configs(model, dataset, folds=folds, fold_seed=fold_seed, model_kwargs=probe["model_kwargs"],
                            train=runner.runtime_options(probe["train"], progress=progress, device=device),
                            size=size, subset=subset, subset_seed=subset_seed, test_subset=test_subset, seed=seed)[0]
    runner.check_model(first)  # e.g. a model that takes no patch/dim/depth
    return space, first


def search(dataset: str, *, trials: int, folds: int = 3, space: Mapping | None = None, model: str = "kan_mixer",
           model_kwargs: Mapping | None = None, train: Mapping | None = None, size: int | None = None,
           subset: int | None = None, subset_seed: int = 0, test_subset: int | str | None = None,
           seed: int = 0, fold_seed: int = 0, storage: str | None = None, name: str | None = None,
           worker: int = 0, total_trials: int | None = None, progress: bool | None = None,
           device: str | None = None, callbacks: Sequence[Callable] | None = None) -> optuna.Study:
    """Run ``trials`` random-search trials in this process and return the (shared) study.

    ``total_trials`` stops this worker once the study as a whole holds that many finished
    trials (useful with several workers). ``callbacks`` go to :meth:`optuna.Study.optimize`
    (called with ``(study, frozen_trial)`` after each trial). Everything is validated
    (:func:`prepare`), and the storage opened, before the first trial trains.
    """
    checks.integer("trials", trials)
    checks.integer("worker", worker, 0)
    space, first = prepare(dataset, folds=folds, space=space, model=model, model_kwargs=model_kwargs, train=train,
                           size=size, subset=subset, subset_seed=subset_seed, test_subset=test_subset, seed=seed,
                           fold_seed=fold_seed, progress=progress, device=device)
    # The resolved precision names the study too: fp32 and bf16 trials measure different things.
    fixed = {"size": size, "subset": subset, "subset_seed": subset_seed, "test_subset": test_subset,
             "seed": seed, "fold_seed": fold_seed, "train": {**(train or {}), "precision": first.train.precision},
             "model_kwargs": dict(model_kwargs or {})}
    name = name or study_name(dataset, model=model, folds=folds, space=space, **fixed)
    store = open_storage(storage)
    with _database_errors(storage):
        study = optuna.create_study(study_name=name, storage=store, direction="maximize", load_if_exists=True)
        existing = len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.RandomSampler(seed=derived_seed(seed, worker, existing))

    def objective(trial: optuna.Trial) -> float:
        params = sample(trial, space)
        spec = trial_study(params, model=model, model_kwargs=model_kwargs, train=train)
        labelled = cv.run_folds({"trial": {"model": model, "model_kwargs": spec["model_kwargs"]}}, dataset,
                                folds=folds, fold_seed=fold_seed, train=spec["train"], size=size, subset=subset,
                                subset_seed=subset_seed, test_subset=test_subset, seed=seed,
                                progress=progress, device=device)
        val = [rec["metrics"]["val"]["accuracy"] for _, rec in labelled]
        trial.set_user_attr("records", [rec["hash"] for _, rec in labelled])
        trial.set_user_attr("val_accuracy_folds", val)
        test = [rec["metrics"]["test"]["accuracy"] for _, rec in labelled]
        trial.set_user_attr("test_accuracy", statistics.fmean(test))
        trial.set_user_attr("params_count", labelled[0][1]["parameters"])
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("pid", os.getpid())
        return statistics.fmean(val)

    callbacks = list(callbacks or []) + ([optuna.study.MaxTrialsCallback(total_trials)] if total_trials else [])
    # A diverged configuration is a failed trial, not the end of the search.
    with _database_errors(storage):
        study.optimize(objective, n_trials=trials, callbacks=callbacks, catch=(FloatingPointError,))
    return study


@contextlib.contextmanager
def _database_errors(url: str | None):
    """Turn the database's own errors (a damaged file, a lost connection) into one :class:`StorageError` line."""
    import sqlalchemy.exc

    try:
        yield
    except sqlalchemy.exc.SQLAlchemyError as err:
        first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise StorageError(f"the study's database {url or default_storage()} failed ({first}); finished trials "
                           "and their run records are kept: repair or move the database and rerun") from None


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, val_accuracy (the objective), parameters, test accuracy, worker."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append({"trial": t.number, "state": t.state.name, "val_accuracy": t.value, **t.params,
                     "test_accuracy": t.user_attrs.get("test_accuracy"), "params": t.user_attrs.get("params_count"),
                     "worker": t.user_attrs.get("worker"), "records": len(t.user_attrs.get("records", []))})
    return pd.DataFrame(rows)
