"""The built book the book and browser tests share: smoke-profile chapters, built the strict way
(Jupyter Book in nitpicky, warnings-as-errors mode) in a scratch copy of the sources.

Each chapter is executed once per ``make test``: nbmake executes the converted chapters with their
own (smoke) defaults and writes them back (``--overwrite``), and ``make test`` then points
``$KANMIX_EXECUTED_CHAPTERS`` at them, so the book is built from the very notebooks nbmake
checked. Without that variable (``pytest tests/test_book.py`` on its own) the fixture executes
the chapters itself with papermill's smoke profile, which equals the defaults
(``tests/test_notebook_params.py`` checks that).

Under pytest-xdist the first worker to need the book builds it; the others wait on a file lock
and reuse its result.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from kanmix import book
from kanmix.data import data_dir

EXECUTED = "KANMIX_EXECUTED_CHAPTERS"
#: The profile the chapters were executed with: ``smoke`` under ``make test``; ``make check-book`` holds the same
#: tests against the book ``make book`` executed and names its profile here.
PROFILE = os.environ.get("KANMIX_BOOK_PROFILE", "smoke")


def stage(dest: Path, root: Path = book.ROOT) -> Path:
    """Copy the book's sources (config, toc, ``book/`` without executed notebooks, ``notebooks/``) to ``dest``.

    Lets a test build the whole book in a scratch directory without touching the checkout's
    executed notebooks or ``_build``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, dest / name)
    skip = shutil.ignore_patterns("*.ipynb", ".partial", "__pycache__", ".ipynb_checkpoints")
    shutil.copytree(root / "book", dest / "book", dirs_exist_ok=True, ignore=skip)
    shutil.copytree(root / "notebooks", dest / "notebooks", dirs_exist_ok=True, ignore=skip)
    return dest


def take_executed(executed: Path, root: Path) -> None:
    """Copy the chapters nbmake executed in ``executed`` to ``root/book``, where the build reads them.

    Raises :class:`kanmix.book.BookError` when a chapter is missing or was never executed (a
    code cell without an execution count), so the book is never built from bare sources.
    """
    for ch in book.chapters(root):
        src = Path(executed) / f"{ch.stem}.ipynb"
        if not src.is_file():
            raise book.BookError(f"{src} is missing: `make test` executes the chapters with "
                                 f"`pytest --nbmake --overwrite` before the book tests (${EXECUTED} points there)")
        nb = nbformat.read(src, as_version=4)
        if any(c.cell_type == "code" and c.source.strip() and c.get("execution_count") is None for c in nb.cells):
            raise book.BookError(f"{src} has cells that never ran: execute it first "
                                 f"(`pytest --nbmake --overwrite {src}`)")
        shutil.copy2(src, root / "book" / src.name)


def once(tmp_path_factory, name: str, compute) -> dict:
    """``compute()``'s JSON-able result, computed once per test session and shared by all xdist workers.

    The first worker to ask runs ``compute`` under a file lock; the others wait for it and read
    its result from a file. A :class:`kanmix.book.BookError` from ``compute`` fails every test
    that asked, with its message.
    """
    base = tmp_path_factory.getbasetemp()
    # Workers of one xdist session have sibling base temps; their parent is per-session.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    status = shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker computes; the others wait and reuse its result
        if not status.exists():
            try:
                result = {"ok": True, "value": compute(shared)}
            except book.BookError as err:
                result = {"ok": False, "error": str(err)}
            status.write_text(json.dumps(result))
    result = json.loads(status.read_text())
    if not result["ok"]:
        pytest.fail(f"{name} failed:\n{result['error']}", pytrace=False)
    return result["value"]


def _build_book(shared: Path) -> str:
    root = stage(shared / "kanmix-book")
    if os.environ.get(EXECUTED):
        take_executed(Path(os.environ[EXECUTED]), root)
    else:
        # Executed chapters write their runs here, never into the committed results/; both paths
        # are made absolute because the chapters execute in the scratch copy.
        os.environ["KANMIX_RESULTS"] = str(Path(os.environ.get("KANMIX_RESULTS") or shared / "kanmix-results").resolve())
        os.environ["KANMIX_DATA"] = str(data_dir().resolve())
        book.run("smoke", root=root, log=lambda *_: None)
    book.build(root, strict=True, quiet=True, log=lambda *_: None)
    return str(root)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Root of a scratch copy of the book with executed (smoke) chapters in ``root/book`` and the
    strict build in ``root/_build/html``."""
    return Path(once(tmp_path_factory, "kanmix-book", _build_book))
