"""Several processes sharing one results store: one trains, the others wait and reuse.

Each child is a real Python process (the store's lock is an OS file lock, so threads would
not show anything). The evidence is what the processes wrote, never how long they took: an
append-only log of who ran the training function, and the records each process got back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path


# One child: announce itself, then ask the store for a small training run. The run function
# first waits until all children have announced themselves, so the others are certainly asking
# for the same run while it trains (the race this guards against), then trains a tiny model
# through train.fit with a checkpoint folder, as the real runs do.
CHILD = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    import torch
    from kanmix import results, train

    work, n_children = Path(sys.argv[1]), int(sys.argv[2])
    (work / f"arrived-{os.getpid()}").touch()
    cfg = {"kind": "race", "what": "tiny mlp", "seed": 0}

    def run():
        deadline = time.monotonic() + 120
        while len(list(work.glob("arrived-*"))) < n_children and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(work / "trained.log", "a") as log:
            log.write(f"{os.getpid()}\\n")
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
        images = torch.randint(0, 256, (48, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        labels = torch.arange(48) % 3
        out = train.fit(model, images, labels, {"epochs": 3, "batch_size": 8, "device": "cpu", "progress": False,
                                               "checkpoint_every_s": 0.0},
                        checkpoint_dir=results.checkpoint_dir(cfg))
        return {"loss": out["history"][-1]["train_loss"], "pid": os.getpid()}

    record = results.cached_run(cfg, run)
    print(json.dumps({"pid": os.getpid(), "record": record}))
""")

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from kanmix import results

    with results.run_lock({"kind": "race", "what": "stale"}):
        Path(sys.argv[1]).touch()
        time.sleep(600)
""")


def _env(store: Path) -> dict:
    return {**os.environ, "KANMIX_RESULTS": str(store), "KANMIX_COMPILE": "0", "OMP_NUM_THREADS": "1"}


def test_three_processes_one_run_one_training(tmp_path):
    store, n = tmp_path / "store", 3
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(n)], env=_env(store),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    trained = (tmp_path / "trained.log").read_text().split()
    assert len(trained) == 1, f"the run trained {len(trained)} times"
    got = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    records = [g["record"] for g in got]
    assert all(r == records[0] for r in records)  # one record, the trainer's, read back by the others
    assert records[0]["pid"] == int(trained[0])
    assert not (store / ".checkpoints").exists() or not any((store / ".checkpoints").iterdir())
    assert len(list((store / "race").glob("*.json"))) == 1


def test_a_killed_lock_holder_does_not_block_the_next_process(tmp_path):
    store, ready = tmp_path / "store", tmp_path / "locked"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ready)], env=_env(store))
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline, "the lock holder did not start"
            time.sleep(0.05)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    # The same run in a fresh process: it must get the lock and finish, not wait forever.
    child = subprocess.run([sys.executable, "-c",
                            "from kanmix import results; "
                            "print(results.cached_run({'kind': 'race', 'what': 'stale'}, lambda: {'ok': 1})['ok'])"],
                           env=_env(store), capture_output=True, text=True, timeout=120)
    assert child.returncode == 0 and child.stdout.strip() == "1", child.stderr
    assert "waiting for another process" not in child.stderr
    assert (store / ".locks").is_dir()  # lock files live only there, which git ignores
    root = Path(__file__).resolve().parent.parent
    ignored = subprocess.run(["git", "check-ignore", "-q", "results/.locks/x.lock"], cwd=root)
    assert ignored.returncode == 0, "results/.locks is not ignored by git"
