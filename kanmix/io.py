"""Files that are never half-written, and the hash that proves a file is the one expected.

Every write goes to a temporary file (or folder) beside its target and is renamed into place
only when complete, so a kill or a full disk leaves the previous version, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for what sneaks into metric dicts: numpy/torch scalars and arrays, sets, paths."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable; convert it to a plain type first")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    """Pretty, key-sorted JSON written atomically (diffs of committed records stay readable)."""
    text = json.dumps(obj, sort_keys=True, indent=1, allow_nan=False, default=json_default) + "\n"
    atomic_write_bytes(path, text.encode())


def atomic_replace_dir(target: Path, fill: Callable[[Path], None]) -> None:
    """Replace the folder ``target`` by one that ``fill(staging)`` writes into an empty staging folder.

    The staging folder is a fresh sibling of ``target``; only when ``fill`` has finished is the
    old ``target`` moved aside and the new one renamed into place, so an interrupted or failed
    ``fill`` leaves the previous ``target`` (if any) untouched and nothing half-written behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
    old = target.with_name(f".{target.name}.old")
    try:
        fill(staging)
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of the file at ``path``, read in 4 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()
