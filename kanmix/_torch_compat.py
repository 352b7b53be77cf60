"""The private torch APIs kanmix leans on, in one guarded place that works or degrades on every torch it allows.

- :func:`version_counter`: a tensor's in-place write counter (``Tensor._version``), which lets
  :meth:`kanmix.kan.KANLinear.grid_for` cache what it derives from the grid until the grid changes.
  Without it the cache is keyed on a counter that never matches, so it is rebuilt every call: slower,
  never stale.
- :func:`mark_dynamic` and :func:`recompile_limit`: dynamo's ``maybe_mark_dynamic`` and its
  recompile limit (``recompile_limit``, called ``cache_size_limit`` before torch 2.6), used around
  the fused KAN kernels. Where either is missing the kernels compile per shape, or under the
  default limit, and still give the same numbers.
"""

from __future__ import annotations

import contextlib
import itertools

import torch

_never = itertools.count()  # distinct values: a cache keyed on them never hits


def version_counter(t: torch.Tensor) -> int:
    """``t._version`` (bumped by every in-place write), or a value that never repeats if torch has none."""
    version = getattr(t, "_version", None)
    return version if isinstance(version, int) else -1 - next(_never)


def mark_dynamic(t: torch.Tensor, dim: int) -> None:
    """Tell dynamo that ``t``'s size along ``dim`` varies (no-op where the hint does not exist)."""
    mark = getattr(getattr(torch, "_dynamo", None), "maybe_mark_dynamic", None)
    if mark is not None:
        mark(t, dim)


@contextlib.contextmanager
def recompile_limit(at_least: int):
    """Within the block, dynamo's recompile limit is at least ``at_least``; restored after."""
    config = getattr(getattr(torch, "_dynamo", None), "config", None)
    name = next((n for n in ("recompile_limit", "cache_size_limit") if hasattr(config, n)), None)
    if name is None:
        yield
        return
    saved = getattr(config, name)
    setattr(config, name, max(saved, at_least))
    try:
        yield
    finally:
        setattr(config, name, saved)
