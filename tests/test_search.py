import json
import os
import subprocess
import sys

import pytest

from kanmix import results, runtime, search

# A KAN-Mixer small enough to train in a blink: 4 or 16 tokens of width 4 or 8, one block.
TINY = {"space": {"patch": [7, 14], "dim": [4, 8], "depth": [1], "lr": (1e-3, 1e-2), "weight_decay": (1e-5, 1e-3)},
        "folds": 2, "subset": 20, "test_subset": 10, "train": {"epochs": 1, "batch_size": 10},
        "progress": False, "device": "cpu"}

WORKER = """
import json, sys
from kanmix import search
from tests.test_search import TINY
study = search.search("mnist", trials=2, storage=sys.argv[1], name="shared", worker=int(sys.argv[2]), **TINY)
print(json.dumps([t.number for t in study.get_trials() if t.user_attrs.get("worker") == int(sys.argv[2])]))
"""


pytestmark = pytest.mark.usefixtures("store")


@pytest.mark.slow  # two fresh interpreters importing torch: ~15 s of CPU in all
def test_two_worker_processes_share_one_sqlite_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.sqlite3'}"
    env = {**os.environ, "KANMIX_COMPILE": "0", "PYTHONPATH": os.getcwd()}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, url, str(w)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in (0, 1)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    mine = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert len(mine[0]) == len(mine[1]) == 2 and not set(mine[0]) & set(mine[1])

    study = search.optuna.load_study(study_name="shared", storage=search.open_storage(url))
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(4))  # none lost, none duplicated
    assert all(t.state.name == "COMPLETE" for t in trials)
    assert sorted(mine[0] + mine[1]) == list(range(4))
    # The two workers drew different configurations.
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) > 1
    # Each trial is backed by one results-store record per fold, and its value is their mean.
    for t in trials:
        recs = [json.loads((tmp_path / "results" / "classification" / f"{h}.json").read_text())
                for h in t.user_attrs["records"]]
        assert len(recs) == 2
        assert t.value == pytest.approx(sum(r["metrics"]["val"]["accuracy"] for r in recs) / 2)
        assert recs[0]["config"]["model_kwargs"]["patch"] == t.params["patch"]
        assert recs[0]["config"]["train"]["lr"] == t.params["lr"]


def _score_by_lr(models, dataset, **kw):
    """A stand-in for the cross-validation of a trial: it scores the trial by its learning rate."""
    rec = {"hash": "x", "parameters": 1, "metrics": {"val": {"accuracy": kw["train"]["lr"]}, "test": {"accuracy": 0.0}}}
    return [("trial", rec)]


def test_search_is_reproducible_and_resumes_with_fresh_draws(tmp_path, monkeypatch, no_training):
    # Only check sampling here: the cross-validation is replaced by a stub that scores the params.
    monkeypatch.setattr(search.cv, "run_folds", _score_by_lr)
    a = search.search("mnist", trials=3, storage=f"sqlite:///{tmp_path / 'a.db'}", name="s", **TINY)
    b = search.search("mnist", trials=3, storage=f"sqlite:///{tmp_path / 'b.db'}", name="s", **TINY)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    more = search.search("mnist", trials=2, storage=f"sqlite:///{tmp_path / 'a.db'}", name="s", **TINY)
    lrs = [t.params["lr"] for t in more.trials]
    assert len(lrs) == 5 and len(set(lrs)) == 5  # resuming does not replay the first draws
    table = search.trials_table(more)
    assert list(table.trial) == list(range(5)) and (table.val_accuracy == table.lr).all()


def test_default_storage_lives_beside_the_results(store):
    assert search.default_storage() == f"sqlite:///{(store / 'search.sqlite3').resolve()}"
    assert results.results_dir() == store


def test_bad_arguments_fail_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="cannot be opened"):
        search.open_storage(f"sqlite:///{blocker / 'db.sqlite3'}")
    with pytest.raises(ValueError, match="cannot be opened"):
        search.open_storage("nosuchdialect://host/db")
    with pytest.raises(ValueError, match="no patch size"):
        search.search("mnist", trials=1, **TINY | {"space": {"patch": [5]}})
    with pytest.raises(ValueError, match="unknown search parameter"):
        search.search("mnist", trials=1, **TINY | {"space": {"width": [5]}})
    with pytest.raises(ValueError, match="folds=1"):
        search.search("mnist", trials=1, **TINY | {"folds": 1})
    with pytest.raises(ValueError, match="precision='half'"):
        search.search("mnist", trials=1, **TINY | {"train": {"precision": "half"}})


def test_the_study_name_follows_the_resolved_precision(tmp_path, monkeypatch, no_training):
    monkeypatch.setattr(search.cv, "run_folds", _score_by_lr)
    names = {}
    for fast, precision in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(runtime, "cpu_bf16_is_faster", lambda: fast)
        names[precision] = search.search("mnist", trials=1, storage=f"sqlite:///{tmp_path / 's.db'}", **TINY).study_name
    assert names["bf16"] != names["fp32"]  # fp32 and bf16 trials never mix in one study
