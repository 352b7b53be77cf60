import json

import numpy as np
import pytest
import torch

from kanmix import results


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("KANMIX_RESULTS", str(tmp_path / "res"))
    return tmp_path / "res"


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
    assert rec["config"] == cfg and rec["hash"] == results.config_hash(cfg)
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
