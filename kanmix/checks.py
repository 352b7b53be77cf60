"""Argument checks shared by the library's entry points, so every one rejects bad values alike,
and the declaration of a config field that the command line reads its flag from."""

from __future__ import annotations

import dataclasses
import math


def integer(name: str, value, minimum: int = 1) -> int:
    """``value`` if it is an ``int`` (not a bool) of at least ``minimum``, else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name}={value!r} must be {need}")
    return value


def fraction(name: str, value) -> float:
    """``value`` if it is a number in ``[0, 1)`` (a dropout rate), else a ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"{name}={value!r} must be in [0, 1)")
    return value


def finite(name: str, value) -> None:
    """A ``ValueError`` naming ``name`` if ``value`` is a NaN or an infinity (``None`` and non-numbers pass:
    the caller checks types and ranges; this check exists because every range test is false for NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a finite number")


def option(default, help: str, **cli):
    """A dataclass field with a default and the help of its command-line flag.

    ``cli`` may add ``parse`` (flag text -> value, when the type is not plain), ``choices`` and
    ``metavar``; :func:`kanmix.cli._args.add_config_args` builds the flag from them.
    """
    return dataclasses.field(default=default, metadata={"help": help, **cli})
