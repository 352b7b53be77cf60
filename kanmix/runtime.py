"""Where and how a run executes: the device, the numeric precision, seeds and progress bars.

None of these choose *what* is computed, except the precision, which is why a run's config
holds the resolved precision (never ``"auto"``) and its hash changes with it.

Precision (``"fp32"``, ``"bf16"`` or ``"auto"``): ``bf16`` runs forward passes and losses under
``torch.autocast(device_type, dtype=torch.bfloat16)`` while weights and optimiser state stay
float32; ``fp32`` uses no autocast at all. ``auto`` is ``bf16`` on CUDA, and on a CPU whose bf16
matrix multiply is measured clearly faster than its fp32 one (:func:`cpu_bf16_is_faster`, a
short timed GEMM, once per process); otherwise ``fp32``. A CPU without bf16 units still runs
``bf16`` correctly, only slowly.
"""

from __future__ import annotations

import functools
import os
import sys
import time

import numpy as np
import torch

PRECISIONS = ("fp32", "bf16", "auto")
#: ``auto`` picks bf16 on a CPU only if its bf16 GEMM beats fp32 by this factor: CPUs with bf16
#: units measure 2-8x, CPUs without them well below 1x, so the decision does not flip with noise.
BF16_MARGIN = 1.5


def default_device() -> torch.device:
    """CUDA if available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or ``"auto"``: :func:`default_device`; ``"cuda"`` without a GPU is a ``ValueError``."""
    if device is None or device == "auto":
        return default_device()
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but no CUDA GPU is available; use device='cpu'")
    return device


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and numpy; call before building a model to fix its init."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def progress_enabled(progress: bool | None) -> bool:
    """An explicit choice wins; otherwise a bar only on an interactive terminal outside CI."""
    if progress is not None:
        return bool(progress)
    return not os.environ.get("CI") and sys.stderr.isatty()


# --------------------------------------------------------------------------- precision


def gemm_seconds(dtype: torch.dtype, n: int = 512, repeats: int = 7) -> float:
    """Best wall time of one ``(n, n) @ (n, n)`` matmul in ``dtype`` on one CPU thread.

    One thread measures what the core's instructions can do; with several, a busy machine's
    scheduler decides the time. The inputs come from a private generator, so the global RNG
    (and with it every seeded run) is left alone.
    """
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=g).to(dtype) for _ in range(2))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.mm(a, b)  # first call: allocation and kernel selection
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return best


@functools.cache
def cpu_bf16_is_faster() -> bool:
    """Whether this CPU multiplies bf16 matrices at least :data:`BF16_MARGIN` times faster than fp32.

    Measured once per process (a few milliseconds on a CPU with bf16 units).
    """
    return gemm_seconds(torch.float32) >= BF16_MARGIN * gemm_seconds(torch.bfloat16)


def resolve_precision(precision: str, device: str | torch.device | None = None) -> str:
    """``"fp32"`` or ``"bf16"``: ``precision`` itself, or what ``"auto"`` means on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if resolve_device(device).type == "cuda":
        return "bf16"
    return "bf16" if cpu_bf16_is_faster() else "fp32"


def autocast(device: torch.device, precision: str):
    """The context a forward pass and its loss run in: bf16 autocast, or none for fp32."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision={precision!r} must be resolved to fp32 or bf16 first (resolve_precision)")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
