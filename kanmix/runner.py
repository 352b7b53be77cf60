"""One run of any study: build -> fit -> evaluate -> record, as one results-store record.

A study describes its runs with a typed config, a subclass of :class:`Run`:
:class:`kanmix.experiment.ClassificationRun` and :class:`kanmix.ae.AutoencoderRun`. A config
validates itself once, when it is made, and :meth:`Run.to_dict` turns it into the plain dict
that the results store hashes and keeps in the record. Its parts:

- ``split``: a :class:`kanmix.splits.Split` (which images, which fold);
- ``model`` and ``model_kwargs``: a :func:`kanmix.models.build_model` name and its arguments,
  which the model checks itself when it is built (:func:`check_model` builds it once, so a bad
  width fails before anything trains);
- ``train``: a :class:`kanmix.train.TrainConfig`; its ``seed`` is the run's seed (model init,
  shuffling, augmentation, dropout) and sits at the top level of the dict, its runtime options
  (device, progress bar, checkpoint cadence) are left out of the dict, so a record made on a
  GPU is reused on a CPU and vice versa. The precision is in: ``auto`` is resolved first.

:func:`record` trains the config's model on its split (or returns the stored record); the study
supplies only what differs, as two methods: :meth:`Run.build_model` and :meth:`Run.score`
(classification metrics, or MSE/PSNR/KNN). An interrupted run resumes from its training
checkpoint (``results_dir()/.checkpoints/<hash>``), deleted once the record is written.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import ClassVar

from torch import nn

from kanmix import checks, results
from kanmix.grids import grid_update_hook
from kanmix.runtime import seed_everything
from kanmix.splits import KEYS as SPLIT_KEYS
from kanmix.splits import Split, load_split
from kanmix.train import Objective, TrainConfig, fit


@dataclass(frozen=True, kw_only=True)
class Run:
    """What every study's run config holds (see the module docstring); subclasses add their own fields.

    ``train=None`` means the study's defaults (:attr:`TRAIN_DEFAULTS` over TrainConfig's).
    """

    KIND: ClassVar[str]  # the record's kind: its folder in the results store
    OBJECTIVE: ClassVar[Objective]  # what kanmix.train.fit minimises
    CURVE_ON: ClassVar[str]  # which set the per-epoch curve is evaluated on: "val" or "test"
    TRAIN_DEFAULTS: ClassVar[dict] = {}

    split: Split
    model: str
    model_kwargs: dict = field(default_factory=dict)
    train: TrainConfig | None = None

    def __post_init__(self):
        if not isinstance(self.split, Split):
            raise TypeError(f"split must be a kanmix.splits.Split, got {type(self.split).__name__}")
        if not isinstance(self.model_kwargs, dict):
            raise ValueError(f"model_kwargs must be a dict, got {self.model_kwargs!r}")
        for name, value in self.model_kwargs.items():  # the record's key is JSON, which has no NaN
            for v in value if isinstance(value, (list, tuple)) else [value]:
                checks.finite(name, v)
        if self.train is None:
            object.__setattr__(self, "train", TrainConfig(**self.TRAIN_DEFAULTS))
        elif not isinstance(self.train, TrainConfig):
            raise TypeError(f"train must be a kanmix.train.TrainConfig, got {type(self.train).__name__}")

    @property
    def seed(self) -> int:
        return self.train.seed

    @classmethod
    def from_dict(cls, d: dict) -> Run:
        """The config of a plain dict: split keys and ``seed`` at the top level, ``train`` a dict of options.

        The inverse of :meth:`to_dict`; ``train`` may also hold runtime options (``device``,
        ``progress``, ``checkpoint_every_s``), and omitted keys take their defaults.
        """
        if not isinstance(d, dict):
            raise TypeError(f"a run config must be a dict, got {type(d).__name__}")
        d = copy.deepcopy(d)
        kind = d.pop("kind", cls.KIND)
        if kind != cls.KIND:
            raise ValueError(f"kind={kind!r}; this is a {cls.__name__} config (kind={cls.KIND!r})")
        allowed = set(SPLIT_KEYS) | {f.name for f in fields(cls)} - {"split"} | {"seed"}
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
        if "model" not in d:
            raise ValueError("a run config needs 'model'")
        train = dict(d.pop("train", None) or {})
        if "seed" in train:
            raise ValueError("put the seed at the top level of the config ('seed'), not in 'train'")
        train = TrainConfig.from_dict({**cls.TRAIN_DEFAULTS, **train, "seed": d.pop("seed", 0)})
        split = Split.from_dict({k: d.pop(k) for k in SPLIT_KEYS if k in d})
        return cls(split=split, train=train, **d)

    def to_dict(self) -> dict:
        """The canonical dict: what the results store hashes (equal runs give equal dicts)."""
        out = {"kind": self.KIND}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "split":
                out.update(value.to_dict())
            elif f.name == "train":
                out["train"] = value.result_options()
                out["seed"] = out["train"].pop("seed")
            else:
                out[f.name] = copy.deepcopy(value)
        return out

    def build_model(self) -> nn.Module:
        """The study's untrained model (unseeded: :func:`build` seeds it)."""
        raise NotImplementedError

    def epoch_metrics(self, data: tuple) -> Callable[[nn.Module], dict] | None:
        """What to measure on the model after every epoch, besides the loss (``None``: nothing).

        ``data`` is :func:`kanmix.splits.load_split` of the split; the result goes to
        :func:`kanmix.train.fit` as ``epoch_metrics`` and its dicts into the history rows.
        """
        return None

    def score(self, model: nn.Module, data: tuple, fitted: dict) -> dict:
        """The record's contents (metrics, curves, sizes) of a trained ``model``.

        ``data`` is :func:`kanmix.splits.load_split` of the split, ``fitted`` what
        :func:`kanmix.train.fit` returned.
        """
        raise NotImplementedError


def runtime_options(train: dict | None, *, progress: bool | None = None, device: str | None = None) -> dict:
    """The ``train`` options of a config dict with ``progress`` and ``device`` set where given."""
    given = {k: v for k, v in (("progress", progress), ("device", device)) if v is not None}
    return {**(train or {}), **given}


def build(cfg: Run) -> nn.Module:
    """The untrained model of ``cfg``, initialised from its seed."""
    seed_everything(cfg.seed)
    return cfg.build_model()


def check_model(cfg: Run, *, keep_weights: bool = False) -> None:
    """Build ``cfg``'s model once, so bad architecture arguments fail now with the model's own message
    (and, with ``keep_weights``, a model too large to keep beside its record fails now, not after training)."""
    model = cfg.build_model()
    if keep_weights:
        results.check_weights_fit(model)


def stored(cfg: Run) -> bool:
    """Whether the results store holds ``cfg``'s record."""
    return results.record_path(cfg.to_dict()).exists()


def record(cfg: Run, *, force: bool = False, keep_weights: bool = False,
        on_epoch: Callable[[dict], None] | None = None) -> dict:
    """Train and score ``cfg``'s model, or return its stored record (``force`` retrains).

    ``keep_weights`` stores the trained weights beside the record (safetensors, at most 20 MB,
    checked before training) and retrains if an existing record lacks them. ``on_epoch(row)``
    is called after each epoch (see :func:`kanmix.train.fit`).
    """
    key = cfg.to_dict()

    def run() -> dict:
        out, model = train_and_score(cfg, keep_weights=keep_weights, on_epoch=on_epoch)
        if keep_weights:
            results.save_weights(key, model.state_dict())
        return out

    return results.cached_run(key, run, force=force, needs_weights=keep_weights)


def train_and_score(cfg: Run, *, keep_weights: bool = False,
                    on_epoch: Callable[[dict], None] | None = None) -> tuple[dict, nn.Module]:
    """Train ``cfg``'s model (resuming from its checkpoint in the store) and score it:
    ``(the record's contents, the trained model)``. Writes no record: :func:`record` does, and a
    cluster worker (:mod:`kanmix.cluster`) sends both back to the process that does."""
    model = build(cfg)  # first, so bad model arguments fail before data loads
    if keep_weights:
        results.check_weights_fit(model)
    data = load_split(cfg.split)
    curve_on = {"val": data[1], "test": data[2]}[cfg.CURVE_ON]
    hook = grid_update_hook(data[0][0], cfg.train.grid_updates) if cfg.train.grid_updates else None
    fitted = fit(model, *data[0], cfg.train, objective=cfg.OBJECTIVE, val=curve_on,
                 checkpoint_dir=results.checkpoint_dir(cfg.to_dict()), on_epoch=on_epoch,
                 epoch_metrics=cfg.epoch_metrics(data), after_epoch=hook)
    return cfg.score(model, data, fitted), model


def load_trained(cfg: Run, *, device=None) -> nn.Module | None:
    """The trained model of ``cfg`` (in eval mode, on ``device``, default CPU) from the weights
    stored by ``record(cfg, keep_weights=True)``, or ``None`` if none were kept."""
    state = results.load_weights(cfg.to_dict())
    if state is None:
        return None
    model = build(cfg)
    model.load_state_dict(state)
    return model.to(device or "cpu").eval()


#: Set in record_many's worker processes to how many runs train side by side: a record's training
#: seconds depend on it, so its provenance says it (:func:`kanmix.provenance.provenance`).
CONCURRENT_RUNS = "KANMIX_CONCURRENT_RUNS"


def _worker_init(threads: int, concurrent: int) -> None:
    import os

    import torch

    torch.set_num_threads(threads)
    os.environ[CONCURRENT_RUNS] = str(concurrent)


#: The executor :func:`record_many` uses when given none: ``local`` (the default) or ``ray``.
EXECUTOR = "KANMIX_EXECUTOR"


def executor_of(executor=None):
    """The executor object of ``executor`` (``None``: ``$KANMIX_EXECUTOR``, default ``local``), or
    ``None`` for the local process pool, which needs no object. ``"ray"`` is a
    :class:`kanmix.cluster.RayExecutor` with its defaults; any object with a ``train(todo, *, force)``
    method (a :class:`~kanmix.cluster.RayExecutor` made with other settings) is used as it is.
    Ray is imported only when it is used."""
    import os

    if executor is None:
        executor = os.environ.get(EXECUTOR) or "local"
    if isinstance(executor, str):
        if executor == "local":
            return None
        if executor == "ray":
            from kanmix.cluster import RayExecutor

            return RayExecutor()
        raise ValueError(f"executor={executor!r}; choose local or ray (or pass an executor object)")
    if not callable(getattr(executor, "train", None)):
        raise TypeError(f"executor={executor!r} has no train(todo, *, force) method")
    return executor


def record_many(cfgs: Sequence[Run], *, workers: int = 1, force: bool = False,
             keep_weights: bool | Sequence[bool] = False, executor=None) -> list[dict]:
    """The records of ``cfgs``, in order, training the missing runs ``workers`` at a time.

    With ``workers > 1`` the runs that are not stored yet go to that many worker processes
    (spawned, each with an equal share of this process's CPU threads), then every record is
    read back here. On a CPU this uses the cores better than one run with all the threads: a
    small model's many short kernels spend much of their time waiting for each other's threads.
    Every run is seeded on its own, so which worker trains it changes nothing but the order of
    float sums inside a CPU GEMM, which can follow the thread count; each record's provenance
    notes its threads. ``keep_weights`` is one flag for all runs or one per run.

    ``executor`` (see :func:`executor_of`) trains the missing runs elsewhere instead: ``"ray"``
    makes each one a task of a Ray cluster (:class:`kanmix.cluster.RayExecutor`; ``workers`` is
    then unused, the cluster's resources decide how many run at once) and writes the records
    they send back to this process's store.
    """
    import os

    checks.integer("workers", workers)
    keep = [keep_weights] * len(cfgs) if isinstance(keep_weights, bool) else list(keep_weights)
    if len(keep) != len(cfgs):
        raise ValueError(f"keep_weights has {len(keep)} flags for {len(cfgs)} runs")
    remote = executor_of(executor)
    hashes = [results.run_hash(cfg.to_dict()) for cfg in cfgs]
    todo, seen = [], set()
    for cfg, k, h in zip(cfgs, keep, hashes):
        key = cfg.to_dict()
        missing = force or not results.record_path(key).exists() or (k and not results.has_weights(key))
        if missing and h not in seen:
            seen.add(h)
            todo.append((cfg, k))
    done = set()  # forced runs already retrained: read, not trained again
    if os.environ.get(results.READ_ONLY) == "1":
        pass  # nothing trains: the loop below names the first missing record
    elif remote is not None and todo:
        remote.train(todo, force=force)
        done = seen
    elif workers > 1 and len(todo) > 1:
        _train_in_processes(todo, workers=workers, force=force)
        done = seen
    out = []
    for cfg, k, h in zip(cfgs, keep, hashes):
        out.append(record(cfg, force=force and h not in done, keep_weights=k))
        done.add(h)
    return out


def _train_in_processes(todo: Sequence[tuple[Run, bool]], *, workers: int, force: bool) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import torch

    threads = max(1, torch.get_num_threads() // workers)
    concurrent = min(workers, len(todo))
    with ProcessPoolExecutor(max_workers=concurrent, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_worker_init, initargs=(threads, concurrent)) as pool:
        for future in [pool.submit(record, cfg, force=force, keep_weights=k) for cfg, k in todo]:
            future.result()  # a worker's error is raised here
