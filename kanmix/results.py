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
import tempfile
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
RESERVED_KEYS = ("checksum", "config", "hash", "kind", "numerics", "provenance")
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


def run_hash(cfg: dict, numerics: str | None = None) -> str:
    """The key of ``cfg``'s record: :func:`config_hash` of the config together with ``numerics``
    (by default :data:`NUMERICS`, the version of the code running now)."""
    return config_hash({"config": cfg, "numerics": NUMERICS if numerics is None else numerics})


def record_checksum(record: dict) -> str:
    """The SHA-256 of ``record``'s canonical JSON without its ``checksum`` key: what a record stores as
    ``checksum``, so that a record edited or damaged after it was written is refused on every read."""
    return hashlib.sha256(canonical_json({k: v for k, v in record.items() if k != "checksum"}).encode()).hexdigest()


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
    """The record stored at ``path``, checked; a file that is not an intact record raises :class:`RecordError`.

    Nothing stored is trusted unchecked: the file's name, the ``hash`` it stores and the hash of
    the ``config`` it stores (with its ``numerics``) must agree, its folder must be its ``kind``,
    and its contents must match their ``checksum``. So a record edited by hand, copied under
    another name or damaged on disk is refused with one line naming it, instead of being served
    as the run its name promises. Bumping :data:`NUMERICS` is the one way to retire records.
    """
    path = Path(path)
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordError(f"cannot read the record {path} ({type(err).__name__}: {err}); {_FIX}") from None
    check_record(record, path)
    return record


_FIX = "delete it, or rerun with --force, to compute it again"


def check_record(record: Any, path: Path) -> None:
    """Raise :class:`RecordError` unless ``record`` is an intact record to be stored at ``path``:
    the checks of :func:`read_record`, also made on a record that arrives from another machine
    (a cluster worker) before it is written (:func:`store_record`)."""
    path, fix = Path(path), _FIX
    if not isinstance(record, dict) or not {"config", "hash", "kind", "numerics", "provenance"} <= set(record):
        raise RecordError(f"{path} is not a kanmix record (no config, hash, kind, numerics or provenance); {fix}")
    if not isinstance(record["config"], dict) or not isinstance(record["numerics"], str):
        raise RecordError(f"{path} is not a kanmix record (its config or numerics has the wrong type); {fix}")
    if record["hash"] != path.stem:
        raise RecordError(f"the record {path} holds the hash {record['hash']!r}, not its file name's: it was "
                          f"copied or renamed; move it back to {record['hash']}.json, or delete it")
    expected = run_hash(record["config"], record["numerics"])
    if expected != record["hash"] or record["kind"] != str(record["config"].get("kind", "run")) \
            or path.parent.name != record["kind"]:
        raise RecordError(f"the config stored in {path} does not hash to its name (it hashes to {expected}, "
                          f"kind {record['config'].get('kind', 'run')!r}): it was edited; restore it "
                          f"(`git checkout -- {path}`) or {fix}")
    if record.get("checksum") != record_checksum(record):
        why = "has no checksum (it was written before records carried one)" if "checksum" not in record \
            else "does not match its checksum: it was edited or damaged after it was written"
        raise RecordError(f"the record {path} {why}; restore it (`git checkout -- {path}`) or {fix}")


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
    level next to ``config``, ``hash``, ``kind``, ``numerics``, ``provenance`` and ``checksum``
    (which it must not use). If ``fn`` raises, nothing is written, so the next call retries (and a
    training run resumes from its :func:`checkpoint_dir`). ``needs_weights``: a stored record
    without weights beside it (:func:`has_weights`) does not count, so ``fn`` runs again to save
    them. Once the record exists, the run's checkpoint has served its purpose and is removed;
    ``force`` removes it first, so a forced run starts clean.

    The store must be writable before ``fn`` starts (:func:`check_writable`), so a read-only or
    missing folder costs one line, not a training run. If the finished record cannot be
    written (a full disk), it is kept in the system's temporary folder and the error says where.

    ``fn`` runs under :func:`run_lock`: a concurrent call for the same ``cfg`` waits for it
    and returns its record. A stored record that fails its checks raises :class:`RecordError`
    (one line naming the file), unless ``force`` replaces it.
    """
    path = record_path(cfg)  # validates cfg before any work is done
    cfg = json.loads(canonical_json(cfg))  # store exactly what was hashed

    def stored() -> dict | None:
        if force or not path.exists() or (needs_weights and not has_weights(cfg)):
            return None
        record = read_record(path)
        discard_checkpoint(cfg)
        return record

    record = stored()
    if record is not None:
        return record
    if os.environ.get(READ_ONLY) == "1":
        raise RecordError(f"no record {path} for this {cfg.get('kind', 'run')} run, and the store is read-only here "
                          f"({READ_ONLY}=1): run the chapter that computes it first")
    check_writable(path.parent)
    with run_lock(cfg):
        if not force:  # another process may have finished this run while we waited for the lock
            record = stored()
            if record is not None:
                return record
        else:
            discard_checkpoint(cfg)
        start = time.perf_counter()
        out = fn()
        record = make_record(cfg, out, time.perf_counter() - start)
        _write_record(path, record)
        discard_checkpoint(cfg)
    return record


def make_record(cfg: dict, out: dict, wall_time_s: float) -> dict:
    """The record of ``cfg`` whose run function returned ``out`` in ``wall_time_s`` seconds, with this
    process's provenance and its checksum: what :func:`cached_run` writes, and what a cluster worker
    sends back to the process that stores it (:func:`store_record`)."""
    if not isinstance(out, dict):
        raise TypeError(f"the run function must return a dict, got {type(out).__name__}")
    clash = sorted(set(out) & set(RESERVED_KEYS))
    if clash:
        raise ValueError(f"the run function returned reserved record keys {clash}; rename them")
    cfg = json.loads(canonical_json(cfg))  # store exactly what was hashed
    record = {"config": cfg, "hash": run_hash(cfg), "kind": str(cfg.get("kind", "run")), "numerics": NUMERICS,
              **out, "provenance": provenance(wall_time_s)}
    _check_finite(record)
    record = json.loads(json.dumps(record, default=json_default))  # plain JSON types: what a read returns
    record["checksum"] = record_checksum(record)
    return record


def _write_record(path: Path, record: dict) -> None:
    try:
        atomic_write_json(path, record)
    except OSError as err:
        raise RecordError(f"cannot write the record {path} ({err.strerror or err}); "
                          f"{rescue(f'{path.parent.name}-{path.name}', record)}") from None


def store_record(cfg: dict, record: dict) -> dict:
    """Write ``record``, made for ``cfg`` by another process (:func:`make_record` on a cluster worker),
    to the store, and remove the run's checkpoint; returns the record.

    The record passes :func:`read_record`'s checks first, and must have been made for ``cfg`` by
    code of the same :data:`NUMERICS`: a worker running other code is refused in one line.
    """
    path = record_path(cfg)
    cfg = json.loads(canonical_json(cfg))
    if not isinstance(record, dict) or record.get("config") != cfg or record.get("numerics") != NUMERICS:
        made = record.get("numerics") if isinstance(record, dict) else None
        raise RecordError(f"the record returned for {path} was made for another config or numerics version "
                          f"({made!r}, here {NUMERICS!r}): every machine must run the same kanmix")
    check_record(record, path)
    check_writable(path.parent)
    with run_lock(cfg):
        _write_record(path, record)
        discard_checkpoint(cfg)
    return record


def check_writable(folder: Path) -> None:
    """Raise :class:`RecordError` unless a file can be created in ``folder`` (made if missing) and in
    the store's lock folder: a read-only, immutable or missing store fails here, before any training."""
    for where in (Path(folder), results_dir() / ".locks"):
        try:
            where.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=where, prefix=".write-test-"):
                pass
        except OSError as err:
            raise RecordError(f"the results store cannot be written at {where} ({err.strerror or err}); make it "
                              f"writable, or point KANMIX_RESULTS at a writable folder") from None


def rescue(name: str, obj: Any) -> str:
    """Keep ``obj`` (a record dict, or ``bytes``) that could not be written to the store in the system's
    temporary folder; returns the sentence that says where it is (or that it could not be kept)."""
    folder = Path(tempfile.gettempdir()) / "kanmix-rescued"
    target = folder / name
    try:
        if isinstance(obj, bytes):
            atomic_write_bytes(target, obj)
        else:
            atomic_write_json(target, obj)
    except OSError as err:
        return f"it could not be kept elsewhere either ({err.strerror or err})"
    return f"it is kept at {target}: free space, then move it to the store"


def discard_checkpoint(cfg: dict) -> None:
    """Remove the training checkpoint of ``cfg``; a checkpoint set aside as unreadable
    (``*.unreadable``, see :mod:`kanmix.train`) is kept for inspection, with its folder."""
    folder = checkpoint_dir(cfg)
    if not folder.is_dir():
        return
    kept = False
    for path in folder.iterdir():
        if path.name.endswith(".unreadable"):
            kept = True
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    if not kept:
        with contextlib.suppress(OSError):
            folder.rmdir()


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

class WeightsTooLarge(KanmixError, ValueError):
    """A model whose weights are over :data:`MAX_ARTIFACT_BYTES`, asked to keep them beside its record."""


def check_weights_fit(model) -> None:
    """Raise :class:`WeightsTooLarge` before training, not after, if ``model``'s weights could not be
    kept beside a record."""
    size = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    if size > MAX_ARTIFACT_BYTES:
        raise WeightsTooLarge(f"keep_weights: the model's weights are {size / 2**20:.1f} MB, over the "
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
    try:
        atomic_write_bytes(path, data)
    except OSError as err:
        raise RecordError(f"cannot write the trained weights {path} ({err.strerror or err}); "
                          f"{rescue(path.name, data)}") from None
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
