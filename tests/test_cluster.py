"""Runs on a real Ray cluster of several nodes on this machine (``ray.cluster_utils.Cluster``).

A head without CPUs and one-CPU worker nodes, each a raylet of its own: runs trained there come
back as records identical to the same runs trained here (but for where, when and how fast), and a
run whose node is killed mid-training is retried on another node and resumes from its checkpoint
in the shared store. Where Ray cannot start, the tests that need it are skipped and say why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
import torch

from kanmix import results, runner
from kanmix.data import DataError
from kanmix.experiment import ClassificationRun

#: A tiny KAN-Mixer on 150 training images: a fraction of a second per run.
TINY = {"dataset": "fashion_mnist", "model": "kan_mixer",
        "model_kwargs": {"patch": 14, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8, "grid_size": 3},
        "train": {"epochs": 2, "batch_size": 50, "lr": 3e-3, "precision": "fp32"}, "subset": 200,
        "fold": {"folds": 4, "fold": 1}}
#: Fields of a record that say where, when and how fast it was trained, and whether it was resumed:
#: everything else must be the same wherever a run trains.
CIRCUMSTANCES = {"provenance", "checksum", "train_seconds", "images_per_second", "resumed_from_epoch"}
#: Nodes that stop answering are declared dead in about a second, not the default half a minute.
FAST_DEATH = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 300, "health_check_failure_threshold": 3}

pytestmark = pytest.mark.usefixtures("store")


def tiny(seed: int = 0, subset: int = 200, **train) -> ClassificationRun:
    return ClassificationRun.from_dict({**TINY, "seed": seed, "subset": subset, "train": {**TINY["train"], **train}})


@pytest.fixture(scope="module")
def cluster():
    """A Ray cluster on localhost: a head that runs nothing and one-CPU worker nodes (see :func:`workers`)."""
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -c constraints.txt -e '.[cluster]'")
    from ray.cluster_utils import Cluster

    try:
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "_system_config": FAST_DEATH})
        ray.init(address=c.address, logging_level="WARNING")
    except Exception as err:  # no shared memory, no free ports, a sandbox without /proc ...
        pytest.skip(f"a local Ray cluster cannot start here ({type(err).__name__}: {err})")
    yield c
    ray.shutdown()
    c.shutdown()


def workers(cluster, n: int) -> list:
    """Exactly ``n`` one-CPU worker nodes in ``cluster`` (added or removed), once Ray sees them all."""
    import ray

    nodes = list(cluster.worker_nodes)
    for node in nodes[n:]:
        cluster.remove_node(node)
    for _ in range(n - len(nodes)):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    deadline = time.monotonic() + 60
    while ray.cluster_resources().get("CPU", 0) != n and time.monotonic() < deadline:
        time.sleep(0.2)
    return list(cluster.worker_nodes)


def local_records(cfgs, store, **kw) -> list[dict]:
    """The same runs trained here, in a store of their own, with one thread as a one-CPU task has."""
    threads, saved = torch.get_num_threads(), os.environ["KANMIX_RESULTS"]
    os.environ["KANMIX_RESULTS"] = str(store)
    torch.set_num_threads(1)
    try:
        return runner.record_many(cfgs, **kw)
    finally:
        torch.set_num_threads(threads)
        os.environ["KANMIX_RESULTS"] = saved


def assert_same_run(remote: dict, here: dict) -> None:
    assert {k: v for k, v in remote.items() if k not in CIRCUMSTANCES} == \
        {k: v for k, v in here.items() if k not in CIRCUMSTANCES}
    assert remote["provenance"]["threads"] == here["provenance"]["threads"] == 1


@pytest.mark.slow  # a Ray cluster of three raylets, and the runs trained twice
def test_a_two_node_cluster_trains_runs_whose_records_equal_local_ones(cluster, store, tmp_path):
    from kanmix.cluster import RayExecutor

    workers(cluster, 2)
    executor = RayExecutor(address=cluster.address)
    cfgs = [tiny(seed) for seed in range(4)]
    keep = [True, False, False, False]
    remote = runner.record_many(cfgs, executor=executor, keep_weights=keep)
    assert [r["config"]["seed"] for r in remote] == [0, 1, 2, 3]
    for cfg, rec in zip(cfgs, remote):  # written here, intact, checkpoints gone
        assert results.read_record(results.record_path(cfg.to_dict())) == rec
        assert not results.checkpoint_dir(cfg.to_dict()).exists()
        assert rec["provenance"]["concurrent_runs"] == 1  # one one-CPU run per one-CPU node
    assert results.has_weights(cfgs[0].to_dict()) and not results.has_weights(cfgs[1].to_dict())

    here = local_records(cfgs, tmp_path / "local", keep_weights=keep)
    for r, h in zip(remote, here):
        assert_same_run(r, h)
    assert runner.load_trained(cfgs[0]).state_dict().keys()
    ours = results.load_weights(cfgs[0].to_dict())
    os.environ["KANMIX_RESULTS"], saved = str(tmp_path / "local"), os.environ["KANMIX_RESULTS"]
    try:
        theirs = results.load_weights(cfgs[0].to_dict())
    finally:
        os.environ["KANMIX_RESULTS"] = saved
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)

    # Stored runs are read back, not sent to the cluster again.
    again = runner.record_many(cfgs, executor=executor)
    assert again == remote


def test_a_runs_own_error_on_a_node_is_raised_here_as_it_is(cluster, store):
    from kanmix.cluster import RayExecutor

    workers(cluster, 1)
    no_data = ClassificationRun.from_dict({**TINY, "dataset": "svhn", "fold": None,
                                           "model_kwargs": {**TINY["model_kwargs"], "patch": 16}})  # SVHN is on no node here
    with pytest.raises(DataError, match="train_32x32.mat"):
        runner.record_many([no_data, tiny(5)], executor=RayExecutor(address=cluster.address))
    assert runner.stored(tiny(5)) and not runner.stored(no_data)  # the run that could train was kept


@pytest.mark.slow  # a node killed and another started mid-run
def test_a_run_whose_node_dies_is_retried_elsewhere_and_resumes_from_its_checkpoint(cluster, store, tmp_path):
    from kanmix.cluster import RayExecutor

    (first,) = workers(cluster, 1)
    # Long enough (a few seconds) to be killed mid-run; checkpointed every 0.2 s inside an epoch.
    cfg = tiny(7, subset=2000, epochs=6, checkpoint_every_s=0.2)
    checkpoint = results.checkpoint_dir(cfg.to_dict()) / "last.pt"
    out: dict = {}

    def train():
        try:
            out["record"] = runner.record_many([cfg], executor=RayExecutor(address=cluster.address))[0]
        except BaseException as err:  # handed to the test's thread
            out["error"] = err

    thread = threading.Thread(target=train, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpoint.exists() and thread.is_alive(), out.get("error") or "no checkpoint within 120 s"
    cluster.remove_node(first, allow_graceful=False)  # the node dies mid-run, its raylet and workers with it
    cluster.add_node(num_cpus=1)  # the only place the retried task can go
    thread.join(240)
    assert not thread.is_alive(), "the retried run did not finish within 240 s"
    if "error" in out:
        raise out["error"]
    rec = out["record"]
    assert rec["resumed_from_epoch"] is not None and 0 < rec["resumed_from_epoch"] < 6  # resumed, not restarted
    assert results.read_record(results.record_path(cfg.to_dict())) == rec
    assert not checkpoint.parent.exists()
    # Resumed from a checkpoint on another node, the run is still the run trained here in one go.
    (here,) = local_records([cfg], tmp_path / "local")
    assert here["resumed_from_epoch"] is None
    assert_same_run(rec, here)


@pytest.mark.slow  # a fresh interpreter importing torch
def test_the_default_executor_never_imports_ray(store):
    code = ("import json, sys\n"
            "from kanmix import runner\n"
            "from kanmix.experiment import ClassificationRun\n"
            f"cfg = ClassificationRun.from_dict(json.loads({json.dumps(json.dumps({**TINY, 'seed': 9}))}))\n"
            "rec = runner.record_many([cfg])[0]\n"
            "print(json.dumps([rec['config']['seed'], 'ray' in sys.modules]))\n")
    env = {**os.environ, "KANMIX_COMPILE": "0"}
    env.pop(runner.EXECUTOR, None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [9, False]
    assert runner.stored(tiny(9))


def test_executors_are_named_or_objects():
    assert runner.executor_of(None) is None and runner.executor_of("local") is None
    with pytest.raises(ValueError, match="executor='slurm'; choose local or ray"):
        runner.executor_of("slurm")
    with pytest.raises(TypeError, match="no train"):
        runner.executor_of(object())

    class Counting:
        def __init__(self):
            self.todo = []

        def train(self, todo, *, force):
            self.todo += todo
            for cfg, keep in todo:
                runner.record(cfg, force=force, keep_weights=keep)

    counting = Counting()
    cfgs = [tiny(11), tiny(11), tiny(12)]
    recs = runner.record_many(cfgs, executor=counting)
    assert [c.seed for c, _ in counting.todo] == [11, 12] and recs[0] == recs[1]  # each missing run once
    runner.record_many(cfgs, executor=counting)
    assert len(counting.todo) == 2  # nothing missing: the executor is not asked


def test_a_record_from_elsewhere_is_checked_before_it_is_stored(store):
    from kanmix.cluster import RayExecutor

    cfg = tiny(13).to_dict()
    good = results.make_record(cfg, {"metrics": {"val": 0.5}}, 1.0)
    for bad, match in [({**good, "numerics": "0"}, "another config or numerics"),
                       ({**good, "config": {**cfg, "seed": 14}}, "another config or numerics"),
                       ({**good, "metrics": {"val": 0.9}}, "does not match its checksum")]:
        with pytest.raises(results.RecordError, match=match):
            results.store_record(cfg, bad)
        assert not results.record_path(cfg).exists()
    assert results.store_record(cfg, good) == results.load_record(cfg) == good
    with pytest.raises(ValueError, match="cpus_per_run=-1 must be a number >= 0"):
        RayExecutor(cpus_per_run=-1)


@pytest.mark.slow  # a chapter-3 study on the cluster, then again here
def test_a_chapter_study_sent_through_the_environment_equals_the_same_study_trained_here(cluster, store, tmp_path,
                                                                                          monkeypatch):
    from kanmix import book, studies

    workers(cluster, 2)
    kwargs = {"patch": 8, "dim": 8, "depth": 1, "token_hidden": 4, "channel_hidden": 8}
    study = dict(datasets=["fashion_mnist"], models=["kan_mixer", "mlp_mixer"], folds=2, subset=200,
                 model_kwargs={"kan_mixer": {**kwargs, "grid_size": 3}, "mlp_mixer": kwargs},
                 train={"epochs": 1, "batch_size": 50, "precision": "fp32", "progress": False})
    # The book's `run --ray-address` route: the choice travels to the chapters' kernels in the environment.
    monkeypatch.delenv(runner.EXECUTOR, raising=False)
    book._executor_environment(None, cluster.address)
    try:
        remote = studies.mixers(**study).records
    finally:
        os.environ.pop(runner.EXECUTOR, None)
        os.environ.pop("KANMIX_RAY_ADDRESS", None)
    assert len(remote) == 4 and all(r["provenance"]["concurrent_runs"] == 1 for r in remote)
    monkeypatch.setenv("KANMIX_RESULTS", str(tmp_path / "local"))
    torch.set_num_threads(1)  # as a one-CPU task trains
    here = studies.mixers(**study).records
    for r, h in zip(remote, here):
        assert_same_run(r, h)
