"""Fixtures shared by the test files.

- ``store``: an empty results store of the test's own (``KANMIX_RESULTS``); a file whose every
  test needs one says ``pytestmark = pytest.mark.usefixtures("store")``.
- ``no_training`` / ``training_calls``: the runner's training step made to fail, or counted.
- ``synthetic``: learnable uint8 images made on the spot, for the tests of models and training
  whose point is not the content of a real dataset.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

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


def blobs(n: int, shape=(1, 28, 28), *, classes: int = 10, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images (n, C, H, W) uint8, labels (n,) int64)``: image ``i`` of class ``i % classes`` is a
    blob of its class's own place on a circle and brightness, over uniform noise. Balanced,
    learnable in a few steps (by position or by mean brightness), the same for the same arguments."""
    g = torch.Generator().manual_seed(seed)
    c, h, w = shape
    labels = torch.arange(n) % classes
    angle = 2 * math.pi * labels / classes
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    cx, cy = (0.5 * torch.cos(angle))[:, None, None], (0.5 * torch.sin(angle))[:, None, None]
    blob = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) * 8)
    noise = torch.rand(n, c, h, w, generator=g) * 0.6
    brightness = (0.2 + 0.4 * labels / max(1, classes - 1))[:, None, None, None]
    images = ((brightness * blob[:, None] + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    return images, labels


@pytest.fixture(scope="session")
def synthetic():
    """:func:`blobs`, the maker of synthetic labelled uint8 images."""
    return blobs
