"""Runs on a Ray cluster: the ``ray`` executor of :func:`kanmix.runner.record_many`.

:class:`RayExecutor` makes each missing run one Ray task with its resources declared (one GPU per
run where the cluster has GPUs, else a share of a node's CPUs) and ``max_retries``, so a task
whose node dies is started again on another node. The task trains the run
(:func:`kanmix.runner.train_and_score`) and sends its record (:func:`kanmix.results.make_record`,
with the provenance of the machine that trained it) and, if asked, its weights back to the
calling process, which checks and writes them to its results store
(:func:`kanmix.results.store_record`). Nothing else of the store is written by the cluster.

**Checkpoints.** The task checkpoints into the calling process's store (``<store>/.checkpoints``,
and takes the run's lock in ``<store>/.locks``) when the node sees that folder, at the same path or
at ``store=``: on a shared filesystem, a task retried on another node resumes from the last
checkpoint of the one that died. A node that does not see the store checkpoints into its own
temporary folder, so a retry there starts the run over (still correct, only slower).

**What each node needs:** the same kanmix (a record made by other numerics is refused), its
dependencies, and the datasets (``python -m kanmix data fetch``, or ``KANMIX_DATA`` on the shared
filesystem). The calling process's ``KANMIX_COMPILE`` travels with each task, as it can move the
last bits of a number; every other setting is the node's.

Ray is imported only here, and only when a :class:`RayExecutor` is used; the address comes from
``address=``, else ``$KANMIX_RAY_ADDRESS``, else Ray's own ``RAY_ADDRESS``, else Ray starts a
single-node cluster on this machine.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kanmix import checks, results
from kanmix.errors import KanmixError

#: The address of the Ray cluster (``host:port`` of its head, or ``ray://host:10001``).
ADDRESS = "KANMIX_RAY_ADDRESS"
#: Environment variables of the calling process that every task gets.
FORWARDED = ("KANMIX_COMPILE",)
#: A task's system failures Ray retries (a node or worker process that died) before giving up.
MAX_RETRIES = 3


class ClusterError(KanmixError):
    """Ray is missing, the cluster cannot be reached, or a run was lost more often than it is retried."""


@dataclass
class RayExecutor:
    """Train runs as Ray tasks (see the module docstring).

    ``address``: the cluster (default ``$KANMIX_RAY_ADDRESS``, then Ray's ``RAY_ADDRESS``, then a
    new single-node cluster here). ``gpus_per_run``: GPUs each run reserves (default 1 where the
    cluster has GPUs, else 0). ``cpus_per_run``: CPUs each run reserves and trains with (its torch
    threads; default 1). ``max_retries``: how often a run whose node or worker died is started
    again. ``store``: the results store's folder as the nodes see it (default this process's,
    absolute), where their checkpoints go.
    """

    address: str | None = None
    gpus_per_run: float | None = None
    cpus_per_run: float | None = None
    max_retries: int = MAX_RETRIES
    store: str | None = None

    def __post_init__(self):
        for name in ("gpus_per_run", "cpus_per_run"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}={value!r} must be a number >= 0")
        checks.integer("max_retries", self.max_retries, 0)

    def connect(self):
        """The ``ray`` module, connected to the cluster (an existing connection is reused)."""
        try:
            import ray
        except ImportError:
            raise ClusterError("executor='ray' needs Ray: pip install -c constraints.txt -e '.[cluster]'") from None
        if not ray.is_initialized():
            address = self.address or os.environ.get(ADDRESS) or None
            try:
                ray.init(address=address, logging_level="WARNING", log_to_driver=True)
            except Exception as err:  # Ray raises ConnectionError, RuntimeError, ValueError ...
                where = f"at {address}" if address else "(RAY_ADDRESS, or a new one on this machine)"
                raise ClusterError(f"cannot connect to the Ray cluster {where}: {_first_line(err)}; start it with "
                                   f"`ray start --head` and give its address ({ADDRESS})") from None
        return ray

    def resources(self, ray) -> dict:
        """The resources each run's task reserves on the connected cluster."""
        gpus = self.gpus_per_run
        if gpus is None:
            gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        return {"num_cpus": 1 if self.cpus_per_run is None else self.cpus_per_run, "num_gpus": gpus}

    def train(self, todo: Sequence[tuple], *, force: bool = False) -> None:
        """Train each ``(run config, keep_weights)`` of ``todo`` on the cluster and store its record.

        Every run is waited for; the finished ones are stored even when another fails, then the
        first failure is raised: the run's own error, or :class:`ClusterError` for a run lost
        more than ``max_retries`` times.
        """
        if not todo:
            return
        for folder in {results.record_path(cfg.to_dict()).parent for cfg, _ in todo}:
            results.check_writable(folder)  # a read-only store fails before anything trains
        for cfg, _ in todo:
            if force:  # here, not in the task: a retried task must resume, not start over
                results.discard_checkpoint(cfg.to_dict())
        ray = self.connect()
        resources = self.resources(ray)
        store = self.store or str(results.results_dir().resolve())
        env = {k: os.environ[k] for k in FORWARDED if k in os.environ}
        task = ray.remote(_train).options(**resources, max_retries=self.max_retries, retry_exceptions=False,
                                          runtime_env={"env_vars": env} if env else None)
        print(f"kanmix: {len(todo)} run(s) on the Ray cluster ({_describe(ray)}), each with {_plural(resources)}",
              file=sys.stderr, flush=True)
        pending = {task.remote(cfg, keep, store, resources): (cfg, keep) for cfg, keep in todo}
        failure = None
        while pending:
            (ready,), _ = ray.wait(list(pending), num_returns=1)
            cfg, keep = pending.pop(ready)
            try:
                record, weights = self._result(ray, ready, cfg)
                if weights is not None:  # first: a record without its weights would be trained again
                    results.save_weights(cfg.to_dict(), weights)
                results.store_record(cfg.to_dict(), record)
            except Exception as err:
                failure = failure or err
        if failure is not None:
            raise failure

    def _result(self, ray, ref, cfg):
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as err:  # the run's own error: raised as the local pool would
            cause = getattr(err, "cause", None)
            raise (cause if isinstance(cause, BaseException) else err) from None
        except ray.exceptions.RayError as err:  # a node or worker died more often than it is retried
            raise ClusterError(f"the run {results.record_path(cfg.to_dict())} was lost on the Ray cluster "
                               f"{self.max_retries + 1} time(s) ({type(err).__name__}: {_first_line(err)}); rerun "
                               "to resume it from its last checkpoint") from None


def _train(cfg, keep_weights: bool, store: str, resources: dict):
    """The task: train ``cfg`` on this node; returns ``(record, weights or None)``, writing no record."""
    import torch

    from kanmix import runner

    torch.set_num_threads(max(1, int(resources["num_cpus"])))
    os.environ[runner.CONCURRENT_RUNS] = str(_runs_per_node(resources))
    os.environ["KANMIX_RESULTS"] = _checkpoint_store(store)
    key = cfg.to_dict()
    with results.run_lock(key):  # no other process trains from this checkpoint meanwhile
        start = time.perf_counter()
        out, model = runner.train_and_score(cfg, keep_weights=keep_weights)
        record = results.make_record(key, out, time.perf_counter() - start)
    if os.environ["KANMIX_RESULTS"] != store:
        results.discard_checkpoint(key)  # a node's own folder: nobody else resumes from it
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()} if keep_weights else None
    return record, weights


def _checkpoint_store(store: str) -> str:
    """``store`` if this node can write there (a shared filesystem), else a folder of its own."""
    if os.path.isdir(store) and os.access(store, os.W_OK | os.X_OK):
        return store
    own = Path(tempfile.gettempdir()) / "kanmix-ray-store"
    print(f"kanmix: this node does not see the results store {store}; its checkpoints stay in {own}, so a run "
          "retried on another node starts over", file=sys.stderr, flush=True)
    return str(own)


def _runs_per_node(resources: dict) -> int:
    """How many runs of these resources fit side by side on this task's node (its record's provenance says it)."""
    import ray

    try:
        here = ray.get_runtime_context().get_node_id()
        node = next(n for n in ray.nodes() if n["NodeID"] == here)["Resources"]
    except Exception:  # provenance must never break a run
        return 1
    fits = [node.get(name, 0) / resources[key] for name, key in (("CPU", "num_cpus"), ("GPU", "num_gpus"))
            if resources[key]]
    return max(1, int(min(fits))) if fits else 1


def _describe(ray) -> str:
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    total = ray.cluster_resources()
    return f"{len(nodes)} node(s), {total.get('CPU', 0):g} CPU(s), {total.get('GPU', 0):g} GPU(s)"


def _plural(resources: dict) -> str:
    return f"{resources['num_cpus']:g} CPU(s) and {resources['num_gpus']:g} GPU(s)"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
