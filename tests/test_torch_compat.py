"""The guarded private torch APIs: they work on this torch, and degrade safely where they are missing."""

import types

import torch

from kanmix import _torch_compat as compat


def test_version_counter_follows_in_place_writes():
    t = torch.zeros(3)
    before = compat.version_counter(t)
    t.add_(1)
    assert compat.version_counter(t) > before
    # Without a counter (an old or future torch), every call differs: a cache keyed on it never goes stale.
    bare = types.SimpleNamespace()
    assert compat.version_counter(bare) != compat.version_counter(bare)


def test_recompile_limit_is_raised_then_restored(monkeypatch):
    config = torch._dynamo.config
    saved = config.recompile_limit
    with compat.recompile_limit(saved + 50):
        assert config.recompile_limit == saved + 50
    assert config.recompile_limit == saved
    with compat.recompile_limit(1):  # never lowered
        assert config.recompile_limit == saved
    # A torch without either setting: the block still runs.
    monkeypatch.setattr(torch, "_dynamo", types.SimpleNamespace(config=types.SimpleNamespace()))
    with compat.recompile_limit(64):
        ran = True
    assert ran
    compat.mark_dynamic(torch.zeros(2), 0)  # no maybe_mark_dynamic: a no-op, not an error
