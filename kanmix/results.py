"""The results store: one small JSON record per run, keyed by the hash of its config.

A run is identified by a plain JSON-able config dict. Its record lives at
``results_dir() / <kind> / <hash>.json`` where ``kind = cfg.get("kind", "run")`` and
``hash = config_hash(cfg)``. Records are committed to git, so a long study can be
resumed on another machine (a GPU box's runs are reused by a CPU box building the book),
and re-running an experiment whose record exists costs nothing.

Hashing uses canonical JSON (sorted keys, no whitespace). Integers and floats stay
distinct (``1`` and ``1.0`` hash differently), so write a config the same way each time.

Records are tied to the numerics that made them: a record's key (:func:`run_hash`) is the
hash of its config *and* of :data:`NUMERICS`, the version of everything in the code that
decides the numbers (layer, models, training loop, augmentation, data preparation). Bumping
it orphans every stored record, so the next run recomputes instead of serving numbers the
current code would not produce. ``tests/test_numerics.py`` guards it: it fingerprints a few
training steps of every model family and fails until the version is bumped whenever they move.

Several processes may share one store (notebooks, Optuna workers, cluster jobs): a run holds
a per-run file lock (:func:`run_lock`, the ``filelock`` package, an OS lock that dies with its
holder) while it trains, so a second process asking for the same run waits and then reads the
first one's record instead of training it again or touching its checkpoint.

Files are written atomically by :mod:`kanmix.io`; each record's provenance (device, git state,
library versions) comes from :mod:`kanmix.provenance`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kanmix.errors import KanmixError
from kanmix.io import atomic_write_bytes, atomic_write_json, json_default
from kanmix.provenance import provenance

#: The version of the numerics: bump it in the same commit as any change that moves the numbers
#: of a run (and update the fingerprints in tests/test_numerics.py); every record carries it and
#: its key includes it, so older records stop being found.
NUMERICS = "1"
RESERVED_KEYS = ("config", "hash", "kind", "numerics", "provenance")
#: Checkpoints stored beside records are committed, so they must stay small.
MAX_ARTIFACT_BYTES = 20 * 1024 * 1024


def results_dir() -> Path:
    """The store's root: ``$KANMIX_RESULTS`` if set, else ``./results``."""
    return Path(os.environ.get("KANMIX_RESULTS") or "results")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text for ``obj`` (sorted keys, compact, no NaN)."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False, default=json_default)
    except ValueError as err:  # NaN / inf
        raise ValueError(f"config is not canonical JSON ({err}); replace NaN/inf by None or a string") from err


def config_hash(cfg: dict) -> str:
    """First 16 hex digits of the SHA-256 of the canonical JSON of ``cfg``."""
    if not isinstance(cfg, dict):
        raise TypeError(f"cfg must be a dict, got {type(cfg).__name__}")
    return hashlib.sha256(canonical_json(cfg).encode()).hexdigest()[:16]


class RecordError(KanmixError):
    """A stored record or checkpoint cannot be read; the message names the file and the fix."""


def run_hash(cfg: dict) -> str:
    """The key of ``cfg``'s record: :func:`config_hash` of the config together with :data:`NUMERICS`."""
    return config_hash({"config": cfg, "numerics": NUMERICS})


def record_path(cfg: dict) -> Path:
    """Where the record for ``cfg`` lives (whether or not it exists yet)."""
    kind = str(cfg.get("kind", "run"))
    if not kind or "/" in kind or kind.startswith("."):
        raise ValueError(f"cfg['kind']={kind!r} must be a plain directory name")
    return results_dir() / kind / f"{run_hash(cfg)}.json"


def checkpoint_dir(cfg: dict) -> Path:
    """Where the training checkpoint of ``cfg`` lives while it runs, so a killed run resumes (not committed)."""
    return results_dir() / ".checkpoints" / run_hash(cfg)


@contextlib.contextmanager
def run_lock(cfg: dict, *, log=None):
    """Hold the store's lock on ``cfg``'s run for the ``with`` block; wait while another process holds it.

    An OS file lock (``filelock.FileLock``, ``flock`` on Unix) in ``results_dir()/.locks``:
    the kernel releases it when its holder exits, however it exits (``kill -9`` included), so a
    dead holder never blocks the next process. The lock files stay there, empty; git ignores
    the folder and the book never reads it. ``log`` (default: a line on stderr) is told once
    when the lock is busy.
    """
    from filelock import FileLock, Timeout

    path = results_dir() / ".locks" / f"{run_hash(cfg)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        (log or _stderr)(f"kanmix: waiting for another process that is running {record_path(cfg)} ...")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def artifact_path(cfg: dict, suffix: str) -> Path:
    """A file beside the record, e.g. ``artifact_path(cfg, "safetensors")`` or ``"ckpt"`` dirs."""
    path = record_path(cfg)
    return path.with_name(f"{path.stem}.{suffix.lstrip('.')}")


#: Set to "1", a missing record is an error instead of being computed (:func:`read_only`).
READ_ONLY = "KANMIX_READ_ONLY"


@contextlib.contextmanager
def read_only(enabled: bool = True):
    """Within the block (and in the processes it starts), a run without a record is an error, not computed.

    For pages that summarise runs made elsewhere (the book's findings page): if their configs
    ever drifted from the chapters', they would fail at once instead of silently training for
    hours. ``enabled=False`` makes it a no-op, so callers can pass a flag through.
    """
    saved = os.environ.get(READ_ONLY)
    if enabled:
        os.environ[READ_ONLY] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(READ_ONLY, None)
        else:
            os.environ[READ_ONLY] = saved


def read_record(path: Path) -> dict:
    """The record stored at ``path``; a file that is not a readable record raises :class:`RecordError`."""
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"cannot read the record {path} ({type(err).__name__}: {err}); "
                          "delete it, or rerun with --force, to compute it again") from None
    if not isinstance(record, dict) or not {"config", "hash", "provenance"} <= set(record):
        raise RecordError(f"{path} is not a kanmix record (no config, hash or provenance); "
                          "delete it, or rerun with --force, to compute it again")
    return record


def load_record(cfg: dict) -> dict | None:
    """The stored record for ``cfg``, or ``None`` when it has not been run (with the current numerics)."""
    path = record_path(cfg)
    return read_record(path) if path.exists() else None


def iter_records(kind: str | None = None, *, numerics: str | None = "current") -> Iterator[dict]:
    """Every stored record (of one ``kind`` if given) made with ``numerics``, in path order.

    ``numerics`` is a version string, ``"current"`` (:data:`NUMERICS`, the default) or ``None`` for any.
    """
    numerics = NUMERICS if numerics == "current" else numerics
    root = results_dir()
    pattern = f"{kind}/*.json" if kind else "*/*.json"
    for path in sorted(root.glob(pattern)):
        record = read_record(path)
        if numerics is None or record.get("numerics") == numerics:
            yield record


# ----------------------------------------------------------------------------- the cache

def cached_run(cfg: dict, fn: Callable[[], dict], *, force: bool = False, needs_weights: bool = False) -> dict:
    """Return the record for ``cfg``, running ``fn()`` only when there is none (or ``force``).

    ``fn()`` returns a dict (metrics, curves, ...); its keys go into the record at the top
    level next to ``config``, ``hash``, ``kind``, ``numerics`` and ``provenance`` (which it must
    not use). If ``fn`` raises, nothing is written, so the next call retries (and a training run
    resumes from its :func:`checkpoint_dir`). ``needs_weights``: a stored record without weights
    beside it (:func:`has_weights`) does not count, so ``fn`` runs again to save them. Once the
    record exists, the run's checkpoint folder has served its purpose and is removed.

    ``fn`` runs under :func:`run_lock`: a concurrent call for the same ``cfg`` waits for it
    and returns its record. A stored record that cannot be read raises :class:`RecordError`
    (one line naming the file), unless ``force`` replaces it.
    """
    path = record_path(cfg)  # validates cfg before any work is done
    cfg = json.loads(canonical_json(cfg))  # store exactly what was hashed

    def stored() -> dict | None:
        if force or not path.exists() or (needs_weights and not has_weights(cfg)):
            return None
        record = read_record(path)
        shutil.rmtree(checkpoint_dir(cfg), ignore_errors=True)
        return record

    record = stored()
    if record is not None:
        return record
    if os.environ.get(READ_ONLY) == "1":
        raise RecordError(f"no record {path} for this {cfg.get('kind', 'run')} run, and the store is read-only here "
                          f"({READ_ONLY}=1): run the chapter that computes it first")
    with run_lock(cfg):
        if not force:  # another process may have finished this run while we waited for the lock
            record = stored()
            if record is not None:
                return record
        start = time.perf_counter()
        out = fn()
        wall = time.perf_counter() - start
        if not isinstance(out, dict):
            raise TypeError(f"the run function must return a dict, got {type(out).__name__}")
        clash = sorted(set(out) & set(RESERVED_KEYS))
        if clash:
            raise ValueError(f"the run function returned reserved record keys {clash}; rename them")
        record = {"config": cfg, "hash": run_hash(cfg), "kind": str(cfg.get("kind", "run")), "numerics": NUMERICS,
                  **out, "provenance": provenance(wall)}
        _check_finite(record)
        atomic_write_json(path, record)
        shutil.rmtree(checkpoint_dir(cfg), ignore_errors=True)
    return json.loads(json.dumps(record, default=json_default))


def _check_finite(obj: Any, where: str = "record") -> None:
    # JSON has no NaN; fail with the key path instead of a bare "Out of range float" error.
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where} is {obj}; a record must hold finite numbers (use None for 'missing')")
    if isinstance(obj, dict):
        for k, v in obj.items():
            _check_finite(v, f"{where}[{k!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_finite(v, f"{where}[{i}]")


# ----------------------------------------------------------------------------- small checkpoints

def check_weights_fit(model) -> None:
    """Raise before training, not after, if ``model``'s weights could not be kept beside a record."""
    size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    if size > MAX_ARTIFACT_BYTES:
        raise ValueError(f"keep_weights: the model's weights are {size / 2**20:.1f} MB, over the "
                         f"{MAX_ARTIFACT_BYTES // 2**20} MB kept beside records; use a smaller model")


def save_weights(cfg: dict, state_dict: dict, *, name: str = "model") -> Path:
    """Store a small safetensors checkpoint beside the record of ``cfg`` (at most 20 MB)."""
    from safetensors.torch import save

    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    data = save(tensors)
    if len(data) > MAX_ARTIFACT_BYTES:
        raise ValueError(f"checkpoint is {len(data) / 2**20:.1f} MB; results/ only keeps checkpoints "
                         f"up to {MAX_ARTIFACT_BYTES // 2**20} MB (store a smaller model)")
    path = artifact_path(cfg, f"{name}.safetensors")
    atomic_write_bytes(path, data)
    return path


def has_weights(cfg: dict, *, name: str = "model") -> bool:
    """Whether :func:`save_weights` stored weights for ``cfg`` (without reading them)."""
    return artifact_path(cfg, f"{name}.safetensors").exists()


def load_weights(cfg: dict, *, name: str = "model") -> dict | None:
    """The safetensors checkpoint stored by :func:`save_weights`, or ``None``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = artifact_path(cfg, f"{name}.safetensors")
    if not path.exists():
        return None
    try:
        return load_file(path)
    except (OSError, SafetensorError) as err:
        raise RecordError(f"cannot read the weights {path} ({err}); delete them, or rerun with --force, "
                          "to train the model again") from None
