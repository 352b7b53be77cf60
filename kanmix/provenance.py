"""Where a result came from: the device, the code (git commit, dirty tree) and the library versions.

Every results-store record carries :func:`provenance`; the book's captions read it. Nothing here
may break a run: a missing git, an unreadable ``/proc/cpuinfo`` or an odd install only leaves a
field empty.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path


def device_name() -> str:
    """A human-readable name of the accelerator runs use: the CUDA GPU, else the CPU model."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:  # provenance must never break a run
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return "cpu: " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu: " + (platform.processor() or platform.machine())


def _git(*args: str) -> str | None:
    repo = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state() -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the kanmix checkout."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def library_versions() -> dict:
    """Versions of the libraries that decide the numbers."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for name in ("kanmix", "torch", "numpy", "scikit-learn", "scipy"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:  # e.g. kanmix run from a checkout without `pip install -e`
            versions[name] = __import__(name).__version__ if name == "kanmix" else None
    return versions


def _threads() -> int | None:
    """The CPU threads torch computes with: the numbers of a CPU run can depend on it (the order
    of a GEMM's sums does), and its times always do."""
    try:
        import torch

        return torch.get_num_threads()
    except Exception:  # provenance must never break a run
        return None


def _kan_compiled() -> bool | None:
    """Whether the KAN kernels ran compiled (:func:`kanmix.kan_fast.compiled`); ``None`` if unknown."""
    try:
        from kanmix import kan_fast

        return kan_fast.compiled()
    except Exception:  # provenance must never break a run
        return None


def provenance(wall_time_s: float) -> dict:
    """The provenance block of a record made in ``wall_time_s`` seconds, now."""
    return {
        "device": device_name(),
        "kan_compile": _kan_compiled(),
        "git": git_state(),
        "versions": library_versions(),
        "host": platform.node(),
        "threads": _threads(),
        # Up to this many runs trained side by side (kanmix.runner.record_many's workers): they share the
        # cores, so the training seconds of this record were measured in these conditions.
        "concurrent_runs": int(os.environ.get("KANMIX_CONCURRENT_RUNS") or 1),
        "wall_time_s": round(float(wall_time_s), 3),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
