import json

import numpy as np
import pytest
import torch

from kanmix import results


pytestmark = pytest.mark.usefixtures("store")


def test_results_dir_follows_env(store, monkeypatch):
    assert results.results_dir() == store
    monkeypatch.delenv("KANMIX_RESULTS")
    assert str(results.results_dir()) == "results"


def test_config_hash_is_canonical():
    a = {"model": "kan", "train": {"lr": 0.001, "epochs": 2}, "seed": 0}
    b = {"seed": 0, "train": {"epochs": 2, "lr": 1e-3}, "model": "kan"}
    assert results.config_hash(a) == results.config_hash(b)
    assert len(results.config_hash(a)) == 16
    assert results.config_hash(a) != results.config_hash({**a, "seed": 1})
    # tuples and lists are the same JSON
    assert results.config_hash({"x": (1, 2)}) == results.config_hash({"x": [1, 2]})
    with pytest.raises(ValueError, match="NaN"):
        results.config_hash({"lr": float("nan")})
    with pytest.raises(TypeError):
        results.config_hash([1, 2])


def test_cached_run_runs_once_then_reuses(store):
    calls = []

    def fn():
        calls.append(1)
        return {"metrics": {"accuracy": np.float32(0.5)}, "curve": np.arange(3)}

    cfg = {"kind": "demo", "model": "mlp", "seed": 0}
    rec = results.cached_run(cfg, fn)
    assert calls == [1]
    assert rec["config"] == cfg and rec["hash"] == results.run_hash(cfg) != results.config_hash(cfg)
    assert rec["numerics"] == results.NUMERICS
    assert rec["metrics"]["accuracy"] == 0.5 and rec["curve"] == [0, 1, 2]
    prov = rec["provenance"]
    assert {"device", "git", "versions", "wall_time_s", "date"} <= set(prov)
    assert prov["versions"]["torch"] == torch.__version__
    assert set(prov["git"]) == {"commit", "dirty"}
    path = store / "demo" / f"{rec['hash']}.json"
    assert json.loads(path.read_text()) == rec
    assert not list(store.rglob("*.tmp"))

    again = results.cached_run(cfg, fn)
    assert calls == [1] and again == rec
    forced = results.cached_run(cfg, fn, force=True)
    assert calls == [1, 1] and forced["provenance"]["date"] >= rec["provenance"]["date"]
    assert results.load_record(cfg) == forced
    assert list(results.iter_records("demo")) == [forced]


def test_failed_run_writes_nothing(store):
    def boom():
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        results.cached_run({"kind": "demo"}, boom)
    assert results.load_record({"kind": "demo"}) is None


def test_bad_run_outputs_are_rejected():
    with pytest.raises(ValueError, match="reserved"):
        results.cached_run({"a": 1}, lambda: {"config": 1})
    with pytest.raises(ValueError, match=r"\['loss'\]"):
        results.cached_run({"a": 2}, lambda: {"loss": float("inf")})
    with pytest.raises(TypeError, match="dict"):
        results.cached_run({"a": 3}, lambda: [1])
    with pytest.raises(ValueError, match="kind"):
        results.record_path({"kind": "../x"})


def test_weights_beside_record(store):
    cfg = {"kind": "demo", "m": 1}
    sd = {"w": torch.randn(3, 4), "b": torch.zeros(4)}
    path = results.save_weights(cfg, sd)
    assert path.parent == results.record_path(cfg).parent and path.name.endswith(".model.safetensors")
    back = results.load_weights(cfg)
    assert torch.equal(back["w"], sd["w"]) and torch.equal(back["b"], sd["b"])
    assert results.load_weights({"kind": "demo", "m": 2}) is None
    with pytest.raises(ValueError, match="20 MB"):
        results.save_weights(cfg, {"big": torch.zeros(6 * 2**20)})  # 24 MB of float32


def test_a_numerics_bump_orphans_every_record(store, monkeypatch):
    cfg = {"kind": "demo", "seed": 0}
    old = results.cached_run(cfg, lambda: {"score": 1})
    monkeypatch.setattr(results, "NUMERICS", results.NUMERICS + "-next")
    assert results.load_record(cfg) is None  # the new key does not find the old record
    assert list(results.iter_records("demo")) == []  # nor does the default listing
    assert list(results.iter_records("demo", numerics=None)) == [old]
    new = results.cached_run(cfg, lambda: {"score": 2})
    assert new["score"] == 2 and new["numerics"].endswith("-next") and new["hash"] != old["hash"]


@pytest.mark.parametrize("damage", [lambda t: t[: len(t) // 2], lambda t: "[1, 2]", lambda t: ""])
def test_a_damaged_record_is_one_line_naming_the_file_and_force_replaces_it(store, damage):
    cfg = {"kind": "demo", "seed": 1}
    results.cached_run(cfg, lambda: {"score": 1})
    path = results.record_path(cfg)
    path.write_text(damage(path.read_text()))
    for read in (lambda: results.cached_run(cfg, lambda: {"score": 2}), lambda: results.load_record(cfg)):
        with pytest.raises(results.RecordError) as err:
            read()
        message = str(err.value)
        assert str(path) in message and "--force" in message and "delete it" in message
        assert "\n" not in message
    assert results.cached_run(cfg, lambda: {"score": 3}, force=True)["score"] == 3
    assert results.load_record(cfg)["score"] == 3


def test_damaged_weights_are_one_line_naming_the_file(store):
    cfg = {"kind": "demo", "m": 3}
    path = results.save_weights(cfg, {"w": torch.ones(4)})
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(results.RecordError, match=f"cannot read the weights {path}"):
        results.load_weights(cfg)


def test_the_run_lock_is_taken_while_the_run_function_works(store):
    from filelock import FileLock, Timeout

    cfg = {"kind": "demo", "seed": 2}
    lock_file = store / ".locks" / f"{results.run_hash(cfg)}.lock"
    seen = []

    def fn():
        with pytest.raises(Timeout):  # another process would have to wait here
            FileLock(lock_file).acquire(timeout=0)
        seen.append(True)
        return {"score": 1}

    results.cached_run(cfg, fn)
    assert seen == [True]
    FileLock(lock_file).acquire(timeout=0)  # and it is free again afterwards


def test_read_only_reads_stored_records_and_refuses_to_compute(store):
    cfg = {"kind": "demo", "seed": 9}
    results.cached_run(cfg, lambda: {"score": 1})
    with results.read_only():
        assert results.cached_run(cfg, lambda: {"score": 2})["score"] == 1
        with pytest.raises(results.RecordError, match="read-only"):
            results.cached_run({"kind": "demo", "seed": 10}, lambda: {"score": 3})
    assert results.cached_run({"kind": "demo", "seed": 10}, lambda: {"score": 3})["score"] == 3  # restored
    with results.read_only(False):
        results.cached_run({"kind": "demo", "seed": 11}, lambda: {"score": 4})
