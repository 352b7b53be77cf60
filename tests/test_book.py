"""The whole book, built the strict way: smoke-profile chapters executed by papermill, then
Jupyter Book in nitpicky, warnings-as-errors mode, in a scratch copy of the sources.

The built book is shared through the ``built_book`` fixture: under pytest-xdist the first worker
to need it builds it and the others wait on a file lock and reuse it (``tests/test_browser.py``
renders the same pages), so a test session executes the chapters once.
"""

from __future__ import annotations

import fcntl
import json
import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from kanmix import book
from kanmix.data import data_dir


def _shared_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    # Workers of one xdist session have sibling base temps; their parent is per-session.
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Root of a scratch copy of the book, executed (smoke) and built strictly; ``root/_build/html``."""
    shared = _shared_dir(tmp_path_factory)
    root = shared / "kanmix-book"
    status = shared / "kanmix-book.json"
    with open(shared / "kanmix-book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder; the others wait and reuse its result
        if not status.exists():
            # Executed chapters write their runs here, never into the committed results/; both paths
            # are made absolute because the chapters execute in the scratch copy.
            os.environ["KANMIX_RESULTS"] = str(Path(os.environ.get("KANMIX_RESULTS") or shared / "kanmix-results")
                                               .resolve())
            os.environ["KANMIX_DATA"] = str(data_dir().resolve())
            try:
                book.stage(root)
                timings = book.run("smoke", root=root, log=lambda *_: None)
                book.build(root, strict=True, quiet=True, log=lambda *_: None)
                result = {"ok": True, "timings": timings}
            except book.BookError as err:
                result = {"ok": False, "error": str(err)}
            status.write_text(json.dumps(result))
    result = json.loads(status.read_text())
    if not result["ok"]:
        pytest.fail(f"building the smoke book failed:\n{result['error']}", pytrace=False)
    return root


class _Page(HTMLParser):
    """Collects <img src> values and the classes of every element of one HTML page."""

    def __init__(self):
        super().__init__()
        self.images: list[str] = []
        self.classes: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src") or "")
        if attrs.get("class"):
            self.classes.append(attrs["class"])


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _pages(html: Path) -> list[Path]:
    return [html / "book" / f"{name}.html" for name in ["intro", *(c.stem for c in book.chapters()), "references"]]


def test_every_chapter_page_exists(built_book):
    html = built_book / "_build" / "html"
    for page in _pages(html):
        assert page.exists() and page.stat().st_size > 5000, f"missing or empty page {page}"
    assert (html / "index.html").exists()
    for ch in book.chapters():
        text = (html / "book" / f"{ch.stem}.html").read_text(encoding="utf-8")
        assert "What the numbers say" in text, f"{ch.stem} lacks its closing section"


def test_no_page_shows_an_error_output(built_book):
    for ch in book.chapters():
        nb = nbformat.read(built_book / "book" / f"{ch.stem}.ipynb", as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{ch.stem} has an error output: {errors[0].get('ename')}: {errors[0].get('evalue')}"
        assert nb.metadata["papermill"]["parameters"]["profile"] == "smoke"
    for page in _pages(built_book / "_build" / "html"):
        parsed = _parse(page)
        bad = [c for c in parsed.classes if "traceback" in c.split() or "output error" in c]
        assert not bad, f"{page.name} renders an error cell ({bad[0]})"
        assert "Traceback (most recent call last)" not in page.read_text(encoding="utf-8"), page.name


def test_mathjax_is_served_from_the_book_itself(built_book):
    static = built_book / "_build" / "html" / "_static" / "mathjax"
    assert (static / "tex-chtml.js").stat().st_size > 500_000
    fonts = list((static / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) >= 20  # tex-chtml.js loads these relative to itself
    for page in _pages(built_book / "_build" / "html"):
        text = page.read_text(encoding="utf-8")
        assert "cdn.jsdelivr.net" not in text, f"{page.name} still loads MathJax from a CDN"


def test_every_image_resolves(built_book):
    html = built_book / "_build" / "html"
    for page in _pages(html):
        images = _parse(page).images
        if page.stem.startswith(tuple("0123456789")):
            assert images, f"chapter page {page.name} has no figures"
        for src in images:
            assert src, f"{page.name} has an <img> without src"
            url = urlparse(src)
            if url.scheme == "data":
                continue
            assert not url.scheme, f"{page.name} loads an image from the network: {src}"
            target = (page.parent / unquote(url.path)).resolve()
            assert target.is_file() and target.stat().st_size > 0, f"{page.name}: <img src={src!r}> does not resolve"


def test_captions_carry_provenance(built_book):
    html = built_book / "_build" / "html"
    for ch in book.chapters():
        text = (html / "book" / f"{ch.stem}.html").read_text(encoding="utf-8")
        assert "profile" in text and "smoke" in text and "device" in text, f"{ch.stem} captions lack provenance"


def test_provenance_names_records_this_machine_or_an_outside_source():
    clean = {"commit": "89abcdef0123", "dirty": False}
    rec = {"hash": "0123456789abcdef", "provenance": {"device": "cuda: H100", "git": clean}}
    assert book.provenance([rec], "cpu") == "profile `cpu` · device cuda: H100 · record 01234567 · commit 89abcde"
    # A record made from a tree with uncommitted changes is flagged where every reader sees it.
    dirty = {"hash": "fedcba9876543210", "provenance": {"device": "cpu: EPYC", "git": {**clean, "dirty": True}}}
    line = book.provenance([rec, dirty], "cpu")
    assert "⚠ 1 of 2 made from a tree with uncommitted changes" in line and "fedcba98" in line.split("⚠")[1]
    assert "computed in this notebook" in book.provenance([], "smoke")
    outside = book.provenance([], "smoke", source="read from bench.json")
    assert outside == "profile `smoke` · read from bench.json" and "device" not in outside
    # Records, when there are any, are the provenance; a source does not override them.
    assert book.provenance([rec], "cpu", source="x") == book.provenance([rec], "cpu")
