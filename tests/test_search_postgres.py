"""The random search shared through a real PostgreSQL server, started here in a temporary folder.

Worker processes are the command line (``python -m kanmix search``): two of them share one study
without a lost or duplicated trial, and a study whose worker is killed mid-trial is finished by a
later worker that retries the killed trial. Where no PostgreSQL server (Debian's ``postgresql``)
or no psycopg is installed, or the server cannot start, the tests are skipped and say why.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kanmix import search

#: Two tiny KAN-Mixers on a few hundred MNIST images: a trial (two folds) takes about a second.
SPACE = ["--patch", "7", "14", "--dim", "4", "8", "--depth", "1", "--lr-range", "1e-3", "1e-2",
         "--wd-range", "1e-5", "1e-3"]
TINY = [*SPACE, "--dataset", "mnist", "--folds", "2", "--subset", "400", "--test-subset", "10", "--batch-size", "20",
        "--precision", "fp32", "--device", "cpu", "--no-progress", "--study-name", "shared", "--heartbeat", "1"]

pytestmark = pytest.mark.usefixtures("store")


def _server_binaries() -> Path | None:
    """The folder of PostgreSQL's ``initdb`` and ``pg_ctl``: on PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A PostgreSQL server of its own in ``root`` on ``port``; ``url(db)`` makes database ``db`` and names it."""

    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root, self.port = bindir, root, _free_port()
        # The server refuses to run as root: there it runs as nobody, who owns its folder.
        self.user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self.user:
            if not shutil.which("runuser"):
                pytest.skip("PostgreSQL refuses to run as root, and runuser is missing to run it as nobody")
            nobody = pwd.getpwnam("nobody")
            os.chown(root, nobody.pw_uid, nobody.pw_gid)

    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self.user, str(self.bindir / tool), *args], capture_output=True, text=True,
                              timeout=timeout)

    def start(self) -> None:
        data = self.root / "data"
        done = self._run("initdb", "-D", str(data), "-A", "trust", "-U", "kanmix", "-E", "UTF8", "--no-sync")
        if done.returncode:
            pytest.skip(f"initdb failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}")
        options = f"-p {self.port} -k {self.root} -h 127.0.0.1 -F -c max_connections=40"
        done = self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "log"), "-w", "-t", "60", "-o", options,
                         "start")
        if done.returncode:
            log = (self.root / "log").read_text()[-500:] if (self.root / "log").exists() else done.stderr
            pytest.skip(f"the PostgreSQL server does not start here: {log.strip()}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", timeout=60)

    def url(self, db: str, *, password: str = "") -> str:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=kanmix dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{db}"')
        secret = f":{password}" if password else ""
        return f"postgresql://kanmix{secret}@127.0.0.1:{self.port}/{db}"  # plain postgresql://: rewritten for psycopg

    def drop(self, db: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=kanmix dbname=postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE "{db}" WITH (FORCE)')  # its open connections are cut


@pytest.fixture(scope="module")
def postgres():
    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install -c constraints.txt -e '.[cluster]'")
    bindir = _server_binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL server here (initdb, pg_ctl): apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="kanmix-pg-"))  # short: the server's socket lives in it
    server = Postgres(bindir, root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def worker(url: str, number: int, *args: str) -> subprocess.Popen:
    """``python -m kanmix search`` on ``url``'s study ``shared``, one thread, in its own process."""
    env = {**os.environ, "KANMIX_COMPILE": "0", "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    return subprocess.Popen([sys.executable, "-m", "kanmix", "search", *TINY, "--storage", url, "--worker",
                             str(number), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(*procs: subprocess.Popen) -> None:
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]


def trials(storage) -> list:
    """The trials of the study ``shared`` in ``storage`` (none before a worker made it)."""
    try:
        return search.optuna.load_study(study_name="shared", storage=storage).get_trials()
    except KeyError:  # no such study yet
        return []


def params_key(t) -> str:
    return json.dumps(t.params, sort_keys=True)


@pytest.mark.slow  # two fresh interpreters importing torch
def test_two_workers_share_one_postgres_study_without_losing_or_repeating_a_trial(postgres, store):
    url = postgres.url("shared")
    # The same --worker number on purpose: the trial number Optuna hands out keeps the draws apart.
    finish(*(worker(url, 0, "--trials", "2", "--epochs", "1") for _ in range(2)))
    done = trials(search.open_storage(url, heartbeat=None))
    assert sorted(t.number for t in done) == [0, 1, 2, 3]  # none lost, none duplicated
    assert all(t.state.name == "COMPLETE" for t in done)
    assert len({params_key(t) for t in done}) == 4  # four different draws
    by_pid = {}
    for t in done:
        by_pid.setdefault(t.user_attrs["pid"], []).append(t.number)
    assert sorted(len(v) for v in by_pid.values()) == [2, 2]  # each process ran its two trials
    for t in done:  # each backed by its folds' records in the shared store
        assert all((store / "classification" / f"{h}.json").exists() for h in t.user_attrs["records"])


def kill_mid_trial(url: str, storage):
    """Start a worker and kill it (SIGKILL) while a trial of its own runs; returns that trial."""
    for _ in range(3):  # a kill that lands between two trials (a few ms in seconds) is tried again
        proc = worker(url, 1, "--trials", "50", "--epochs", "4")
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            running = [t for t in trials(storage) if t.state.name == "RUNNING" and t.user_attrs.get("pid") == proc.pid]
            if running and time.time() - running[0].datetime_start.timestamp() > 0.3:
                proc.send_signal(signal.SIGKILL)  # no goodbye: its trial stays RUNNING, its heartbeat stops
                proc.wait(30)
                victim = [t for t in trials(storage) if t.state.name == "RUNNING"]
                if victim:
                    return victim[0]
        if proc.poll() is None:
            proc.kill()
        assert proc.wait(30) == -signal.SIGKILL, proc.communicate()[1][-3000:]
    pytest.fail("no kill landed inside a trial in 3 tries")


@pytest.mark.slow  # three fresh interpreters importing torch
def test_a_study_resumes_after_its_worker_is_killed_mid_trial(postgres, store):
    url = postgres.url("killed")
    storage = search.open_storage(url, heartbeat=None)
    victim = kill_mid_trial(url, storage)
    before = [t for t in trials(storage) if t.state.name == "COMPLETE"]
    time.sleep(3.5)  # three heartbeats (1 s) missed: the trial is stale for the next worker, however fast it starts

    # A later worker (the same number again) fails the silent trial, retries it and completes the budget.
    budget = len(before) + 2
    finish(worker(url, 1, "--trials", "10", "--total-trials", str(budget), "--epochs", "4"))
    done = trials(storage)
    states = {t.number: t.state.name for t in done}
    assert states[victim.number] == "FAIL"
    complete = [t for t in done if t.state.name == "COMPLETE"]
    assert len(complete) == budget and set(states.values()) == {"COMPLETE", "FAIL"}  # nothing left running
    retried = [t for t in complete if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retried) == 1 and retried[0].params == victim.params  # the killed trial, run again
    assert len({params_key(t) for t in complete}) == len(complete)  # no configuration twice


def test_a_postgres_url_names_its_driver_and_a_lost_database_is_one_line(postgres, capsys):
    from kanmix.cli import main as kanmix

    assert search.database_url("postgresql://u@h/db") == search.database_url("postgres://u@h/db") \
        == "postgresql+psycopg://u@h/db"
    assert search.database_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    url = postgres.url("lost", password="hunter2")
    study = search.optuna.create_study(study_name="s", storage=search.open_storage(url, heartbeat=None))
    postgres.drop("lost")  # the server is up, the study's database is gone
    with pytest.raises(search.StorageError, match=r"failed \(.+\); finished trials and their run records are kept") \
            as err:
        with search._database_errors(url):
            study.ask()
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
    # A database that is not there is refused before anything trains, naming the flag and not the password.
    with pytest.raises(SystemExit) as code:
        kanmix(["search", *TINY, "--epochs", "1", "--trials", "1", "--storage", url])
    line = capsys.readouterr().err.strip()
    assert code.value.code == 2 and len(line.splitlines()) == 1, line
    assert "argument --storage: storage=" in line and "cannot be opened" in line and "hunter2" not in line
