"""Fixtures shared by the test files.

- ``store``: an empty results store of the test's own (``KANMIX_RESULTS``); a file whose every
  test needs one says ``pytestmark = pytest.mark.usefixtures("store")``.
- ``no_training`` / ``training_calls``: the runner's training step made to fail, or counted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kanmix import runner


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """An empty results store for this test: ``KANMIX_RESULTS=<tmp>/results``."""
    path = tmp_path / "results"
    monkeypatch.setenv("KANMIX_RESULTS", str(path))
    return path


@pytest.fixture
def no_training(monkeypatch):
    """Any training through the runner fails the test (for checks that must come first)."""
    def boom(*args, **kwargs):
        raise AssertionError("trained before rejecting a bad argument")

    monkeypatch.setattr(runner, "fit", boom)


@pytest.fixture
def training_calls(monkeypatch) -> list:
    """A list that gets one entry per training run the runner starts (which still trains)."""
    calls, real_fit = [], runner.fit

    def counted(*args, **kwargs):
        calls.append(1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(runner, "fit", counted)
    return calls
