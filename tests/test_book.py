"""The whole book, built the strict way from smoke-profile chapters (``bookutil.built_book``):
pages, error outputs, images, provenance; and the chapter list read from ``_toc.yml``.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from bookutil import PROFILE, built_book, stage, take_executed  # noqa: F401  (built_book: the shared, session-scoped fixture)
from kanmix import book, page


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
        closing = "The findings" if ch.stem in book.SUMMARIES else "What the numbers say"
        assert closing in text, f"{ch.stem} lacks its closing section"


def _error_outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if o.get("output_type") == "error"]


def test_no_page_shows_an_error_output(built_book):
    for ch in book.chapters():
        nb = nbformat.read(built_book / "book" / f"{ch.stem}.ipynb", as_version=4)
        errors = _error_outputs(nb)
        assert not errors, f"{ch.stem} has an error output: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    assert set(book.executed_profiles(built_book / "book", built_book).values()) == {PROFILE}
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
        if page.stem.startswith(tuple("0123456789")) and page.stem not in book.SUMMARIES:
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
        assert "profile" in text and PROFILE in text and "device" in text, f"{ch.stem} captions lack provenance"


def test_provenance_names_records_this_machine_or_an_outside_source(monkeypatch):
    monkeypatch.setattr(page, "_SEEN", {})
    clean = {"commit": "89abcdef0123", "dirty": False}
    rec = {"hash": "0123456789abcdef", "kind": "classification",
           "provenance": {"device": "cuda: H100", "git": clean, "wall_time_s": 1800.0}}
    assert page.provenance([rec], "cpu") == "profile `cpu` · device cuda: H100 · 1 record"
    # A record made from a tree with uncommitted changes is flagged where every reader sees it.
    dirty = {"hash": "fedcba9876543210", "kind": "ae",
             "provenance": {"device": "cpu: EPYC", "git": {**clean, "dirty": True}, "wall_time_s": 3600.0}}
    line = page.provenance([rec, dirty], "cpu")
    assert line.startswith("profile `cpu` · device cpu: EPYC / cuda: H100 · 2 records")
    assert "⚠ 1 of 2 made from a tree with uncommitted changes" in line and "fedcba98" not in line  # hashes: at the end
    assert "computed in this notebook" in page.provenance([], "smoke")
    outside = page.provenance([], "smoke", source="read from bench.json")
    assert outside == "profile `smoke` · read from bench.json" and "device" not in outside
    # A record that backs a table twice is counted once.
    assert page.provenance([rec, dirty, rec], "cpu") == line
    # Records, when there are any, are the provenance; a source does not override them.
    assert page.provenance([rec], "cpu", source="x") == page.provenance([rec], "cpu")
    # The chapter's end lists every record the lines named: per kind, commits and wall time, then the hashes.
    html = page.provenance_table("cpu").data
    assert "<td" in html and "classification" in html and "ae" in html and "89abcde" in html
    assert "0.5" in html and "1" in html  # hours of wall time: 1,800 s and 3,600 s
    assert html.index("<details>") < html.index("01234567") and "fedcba98" in html


def test_an_empty_provenance_table_says_so(monkeypatch):
    monkeypatch.setattr(page, "_SEEN", {})
    assert "nothing on this page comes from the results store" in page.provenance_table("smoke").data


def _toc_book(tmp_path: Path, toc: str, sources: list[str]) -> Path:
    """A scratch book root with the given _toc.yml and empty chapter sources notebooks/NAME.py."""
    (tmp_path / "_toc.yml").write_text(toc)
    (tmp_path / "notebooks").mkdir()
    for name in sources:
        (tmp_path / "notebooks" / f"{name}.py").write_text("")
    return tmp_path


def test_chapters_are_the_toc_entries_with_a_source_in_toc_order(tmp_path):
    toc = """format: jb-book
root: book/intro
parts:
  - caption: Studies
    chapters:
      - file: book/03_mixers
        sections:
          - file: book/02_layer
      - file: book/notes
  - caption: Basics
    chapters:
      - file: book/01_kan
"""
    # 09_draft has a source but is not in the toc: Jupyter Book would not show it, so it is no chapter.
    root = _toc_book(tmp_path, toc, ["01_kan", "02_layer", "03_mixers", "09_draft"])
    assert [c.stem for c in book.chapters(root)] == ["03_mixers", "02_layer", "01_kan"]
    assert [c.number for c in book.chapters(root)] == ["03", "02", "01"]


def _toc_parts() -> list[tuple[bool, list[str]]]:
    """The real ``_toc.yml``'s parts: (numbered, files in order), as Jupyter Book reads them."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    site = parse_toc_yaml(book.ROOT / "_toc.yml")
    return [(bool(t.numbered), t.files()) for t in site[site.root.docname].subtrees]


def test_the_toc_numbers_the_chapters_and_not_the_summary_or_the_references():
    # Sphinx numbers each numbered part from 1 in toc order; the summary before the chapters and the references
    # after them stay unnumbered (tests/test_browser.py checks the rendered titles on the probe book).
    parts = _toc_parts()
    numbered = [f for on, files in parts if on for f in files]
    assert numbered == [f"book/{c.stem}" for c in book.chapters() if c.stem not in book.SUMMARIES]
    unnumbered = {f for on, files in parts if not on for f in files}
    assert unnumbered == {f"book/{s}" for s in book.SUMMARIES} | {"book/references"}


def test_the_number_a_reader_sees_is_the_chapter_file_number():
    # The prose says "chapter 6" of 06_frontier: the toc lists the chapters in file order, so the build's numbers agree.
    numbered = [f for on, files in _toc_parts() if on for f in files]
    shown = {Path(f).name: i for i, f in enumerate(numbered, start=1)}
    assert {name: int(name.split("_")[0]) for name in shown} == shown


def test_a_toc_without_chapters_or_in_the_wrong_place_fails_naming_it(tmp_path):
    root = _toc_book(tmp_path, "format: jb-book\nroot: book/intro\nchapters:\n  - file: chapters/01_kan\n", ["01_kan"])
    with pytest.raises(book.BookError, match="must be listed as book/01_kan"):
        book.chapters(root)
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/references\n")
    with pytest.raises(book.BookError, match="lists no chapter"):
        book.chapters(root)
    (root / "_toc.yml").write_text("format: jb-book\nchapters: [\n")
    with pytest.raises(book.BookError, match="cannot read the chapter list"):
        book.chapters(root)


def test_every_chapter_source_is_in_the_toc():
    # A notebook left out of _toc.yml would silently never be executed, tested or published.
    listed = {c.source.name for c in book.chapters()}
    sources = {p.name for p in (book.ROOT / "notebooks").glob("*.py")}
    assert sources == listed, f"notebooks/ sources missing from _toc.yml: {sorted(sources - listed)}"


def _mark_executed(nb) -> None:
    """Give every code cell an execution count, as a kernel run would."""
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = i + 1


def test_take_executed_copies_only_executed_chapters(tmp_path):
    root = stage(tmp_path / "root")
    assert (root / "_toc.yml").is_file() and (root / "book" / "_static_src" / "kanmix.css").is_file()
    assert not list((root / "book").glob("*.ipynb")), "stage copies sources, never executed notebooks"
    done = tmp_path / "nbmake"
    written = book.convert(done)  # as nbmake sees them before it runs them
    with pytest.raises(book.BookError, match="never ran"):
        take_executed(done, root)
    for path in written:
        nb = nbformat.read(path, as_version=4)
        _mark_executed(nb)
        nbformat.write(nb, path)
    written[-1].unlink()
    with pytest.raises(book.BookError, match=f"{written[-1].name} is missing"):
        take_executed(done, root)
    nbformat.write(nb, written[-1])
    take_executed(done, root)
    assert sorted(p.name for p in (root / "book").glob("*.ipynb")) == sorted(p.name for p in written)
    # nbmake records no parameters: an executed copy ran its defaults, which its parameters cell names.
    assert set(book.executed_profiles(root / "book", root).values()) == {"smoke"}
    nb.metadata["papermill"] = {"parameters": {"profile": "cpu"}}
    nbformat.write(nb, root / "book" / written[-1].name)
    assert book.executed_profiles(root / "book", root)[written[-1].stem] == "cpu"


def test_error_outputs_are_found():
    # The check the built book relies on must see an error cell when there is one.
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0"), nbformat.v4.new_code_cell("1")])
    error = nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])
    nb.cells[0].outputs = [error]
    assert [o["ename"] for o in _error_outputs(nb)] == ["ZeroDivisionError"]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text="a warning")]
    assert not _error_outputs(nb)


def test_table_puts_the_caption_above_a_scroll_box():
    import pandas as pd

    df = pd.DataFrame({"params": [1004745], "psnr": [12.5697]}, index=pd.Index(["kan"], name="model"))
    html = page.table(df, "Table 9.1 — a sweep", [], "smoke", names={"psnr": "PSNR"}, units={"psnr": "dB"}).data
    assert html.startswith('<div class="kanmix-table"><p class="kanmix-table-caption"><b>Table 9.1 — a sweep</b>')
    caption, scroll = html.split('<div class="kanmix-table-scroll">')
    assert "<table" not in caption and "computed in this notebook" in caption
    assert "1,004,745" in scroll and "12.57" in scroll and "PSNR (dB)" in scroll and "12.5697" not in scroll
    long = pd.DataFrame({"x": range(page.FOLD_ROWS + 1)})
    folded = page.table(long, "Many rows", [], "smoke").data
    assert f"<details><summary>Show the {page.FOLD_ROWS + 1} rows</summary>" in folded
    assert "<details>" not in page.table(long.head(page.FOLD_ROWS), "Few rows", [], "smoke").data
    # The styles that make the box scroll ship with the book.
    config = (book.ROOT / "_config.yml").read_text()
    assert "book/_static_src" in config and "kanmix.css" in config
    assert ".kanmix-table-scroll {" in (book.ROOT / "book" / "_static_src" / "kanmix.css").read_text()


def test_every_chapter_named_by_number_in_prose_becomes_a_link():
    from types import SimpleNamespace

    from docutils import nodes

    from kanmix import bookext

    docs = ["book/intro", "book/00_findings", "book/03_kan_mixers", "book/06_frontier", "book/references"]
    assert bookext.chapter_docs(docs) == {"3": "book/03_kan_mixers", "6": "book/06_frontier"}
    app = SimpleNamespace(env=SimpleNamespace(found_docs=set(docs)),
                          builder=SimpleNamespace(get_relative_uri=lambda a, b: f"{b.split('/')[1]}.html"))
    para = nodes.paragraph("", "", nodes.Text("As chapter 3 shows, and Chapter 6 too (chapter 9 does not exist)."))
    code = nodes.paragraph("", "", nodes.literal("", "chapter 3"))
    doc = nodes.document(None, None)
    doc += [para, code, nodes.title("", "chapter 6")]
    bookext._link_chapters(app, doc, "book/00_findings")
    links = [(r.astext(), r["refuri"]) for r in para.findall(nodes.reference)]
    assert links == [("chapter 3", "03_kan_mixers.html"), ("Chapter 6", "06_frontier.html")]
    assert para.astext() == "As chapter 3 shows, and Chapter 6 too (chapter 9 does not exist)."  # the text is kept
    assert not list(code.findall(nodes.reference)) and not list(doc[2].findall(nodes.reference))
    own = nodes.paragraph("", "", nodes.Text("See chapter 3."))
    bookext._link_chapters(app, own, "book/03_kan_mixers")  # a chapter does not link to itself
    assert not list(own.findall(nodes.reference))


def test_only_the_code_that_teaches_stays_on_the_page():
    from nbformat import v4

    nb = v4.new_notebook(cells=[
        v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
        v4.new_code_cell("profile = 'cpu'", metadata={"tags": ["injected-parameters"]}),
        v4.new_code_cell("study = studies.mixers_from_chapter(globals())", metadata={"tags": ["show-input"]}),
        v4.new_code_cell("fig = viz.plot(study)", metadata={"tags": ["hide-input"]}),
        v4.new_code_cell("import pandas as pd"),
        v4.new_markdown_cell("prose")])
    assert book.code_on_the_page(nb)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags[:5] == [["parameters", "remove-input"], ["injected-parameters", "remove-input"], ["show-input"],
                        ["hide-input"], ["remove-input"]]
    assert not book.code_on_the_page(nb)  # a second pass changes nothing


def test_chapter_lines_count_non_blank_code_and_prose(tmp_path):
    source = tmp_path / "07_x.py"
    source.write_text('# %% [markdown]\n# # Title\n#\n# Prose.\n\n# %% tags=["parameters"]\nprofile = "smoke"\n\n'
                      "# %%\nimport os\n\nx = 1\n\n# %% [raw]\n# raw\n")
    assert book.Chapter(source).lines() == {"code": 3, "markdown": 2}


def test_every_chapter_has_fewer_code_lines_than_prose_lines():
    # The notebooks are papers with code where it teaches, not scripts with comments (QuantEcon's lectures).
    heavy = {ch.stem: ch.lines() for ch in book.chapters() if ch.lines()["code"] >= ch.lines()["markdown"]}
    assert not heavy, heavy


def test_every_chapter_shows_its_study_call():
    # The one call that reruns a chapter's study is on the page; everything else in code is removed by the build.
    for ch in book.chapters():
        source = ch.source.read_text()
        shown = [part.split("# %%")[0] for part in source.split('# %% tags=["show-input"]\n')[1:]]
        if ch.number in ("02", "03", "04", "05", "06"):
            assert any("studies." in cell and "(globals())" in cell for cell in shown), ch.stem


def test_the_intro_opens_with_the_findings_page_s_findings(tmp_path):
    import nbformat
    from nbformat import v4

    (tmp_path / "book").mkdir()
    # As glue(key, Markdown(...), display=False) stores it: the mime type carries papermill's prefix.
    prefix = "application/papermill.record/"
    out = v4.new_output("display_data", data={f"{prefix}text/markdown": "- **A finding** (chapter 3).",
                                              f"{prefix}text/plain": "x"},
                        metadata={"scrapbook": {"name": book.FINDINGS_KEY, "mime_prefix": prefix}})
    nb = v4.new_notebook(cells=[v4.new_code_cell("glue(...)", outputs=[out], execution_count=1)])
    nbformat.write(nb, tmp_path / "book" / "00_findings.ipynb")
    assert book.write_findings(tmp_path).read_text() == "- **A finding** (chapter 3)."
    nbformat.write(v4.new_notebook(cells=[v4.new_code_cell("1", execution_count=1)]),
                   tmp_path / "book" / "00_findings.ipynb")
    with pytest.raises(book.BookError, match="holds no 'headline_findings'"):
        book.write_findings(tmp_path)
    intro = (book.ROOT / "book" / "intro.md").read_text()
    assert intro.index("{include} _generated/findings.md") < intro.index("## ")  # before any section
