"""Argument checks shared by the library's entry points, so every one rejects bad values alike."""

from __future__ import annotations


def integer(name: str, value, minimum: int = 1) -> int:
    """``value`` if it is an ``int`` (not a bool) of at least ``minimum``, else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name}={value!r} must be {need}")
    return value
