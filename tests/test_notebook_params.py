"""Chapter parameters: every profile fits every chapter, and bad parameters fail before a kernel runs."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest

from kanmix import book


def _chapter(tmp_path: Path, params_src: str, body: str = "print(epochs)") -> Path:
    """A one-chapter book under tmp_path with the given parameters cell; returns the root."""
    src = f'# %% [markdown]\n# # A chapter\n\n# %% tags=["parameters"]\n{params_src}\n\n# %%\n{body}\n'
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "07_demo.py").write_text(src)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/07_demo\n")
    (tmp_path / "book" / "params").mkdir(parents=True)
    (tmp_path / "book" / "params" / "smoke.yaml").write_text("{}\n")
    return tmp_path


PARAMS = """profile = "smoke"
epochs = 1
lr: float = 1e-3
datasets = ["fashion_mnist", "cifar10"]
bottlenecks = [8, 16]
augment = False
seed = None"""


def test_every_profile_fits_every_chapter():
    # The committed profiles must only name parameters the chapters declare, with the right types.
    for profile in book.PROFILES:
        jobs = book.plan(profile)
        assert [c.stem for c, _ in jobs] == [c.stem for c in book.chapters()]
        for ch, params in jobs:
            assert params["profile"] == profile, ch.stem


def test_smoke_profile_is_the_notebook_defaults():
    for ch, params in book.plan("smoke"):
        assert params == {"profile": "smoke"}, f"{ch.stem}: smoke must not override defaults, got {params}"


def test_every_chapter_has_small_literal_defaults():
    for ch in book.chapters():
        declared = book.parameters(ch.read())
        assert declared["profile"].default == "smoke", ch.stem


def test_cli_values_are_coerced_to_the_declared_types(tmp_path):
    root = _chapter(tmp_path, PARAMS)
    extra = [("epochs", "5"), ("lr", "3e-4"), ("datasets", "['mnist']"), ("augment", "true"), ("seed", "7"),
             ("bottlenecks", "[4, 32]")]
    [(ch, params)] = book.plan("smoke", ["07"], extra, root=root)
    assert params == {"profile": "smoke", "epochs": 5, "lr": 3e-4, "datasets": ["mnist"], "augment": True,
                      "seed": 7, "bottlenecks": [4, 32]}
    assert isinstance(params["lr"], float)
    # An int given for a float parameter is widened, not rejected.
    [(_, params)] = book.plan("smoke", ["7"], [("lr", "1")], root=root)
    assert params["lr"] == 1.0 and isinstance(params["lr"], float)


@pytest.mark.parametrize("name, value, words", [
    ("epoch", "5", ["unknown parameter 'epoch'", "did you mean 'epochs'", "-p"]),
    ("epochs", "5.5", ["'epochs'", "must be int", "5.5"]),
    ("epochs", "five", ["'epochs'", "must be int", "five"]),
    ("augment", "1", ["'augment'", "must be bool"]),
    ("bottlenecks", "[8, 'x']", ["'bottlenecks'", "must be"]),
    ("datasets", "mnist", ["'datasets'", "must be list"]),
])
def test_bad_cli_parameter_fails_naming_it(tmp_path, name, value, words):
    root = _chapter(tmp_path, PARAMS)
    with pytest.raises(book.BookError) as err:
        book.plan("smoke", ["07"], [(name, value)], root=root)
    for word in words:
        assert word in str(err.value), str(err.value)
    assert "07_demo" in str(err.value)


def test_bad_profile_file_fails_naming_file_and_parameter(tmp_path):
    root = _chapter(tmp_path, PARAMS)
    (root / "book" / "params" / "cpu.yaml").write_text("07_demo:\n  epochs: 2.5\n")
    with pytest.raises(book.BookError, match=r"'epochs' \(from book/params/cpu.yaml\) must be int"):
        book.plan("cpu", root=root)
    (root / "book" / "params" / "cpu.yaml").write_text("'08':\n  epochs: 2\n")
    with pytest.raises(book.BookError, match="names no chapter '08'"):
        book.plan("cpu", root=root)
    with pytest.raises(book.BookError, match="no profile 'gpu'"):
        book.plan("gpu", root=root)


def test_run_fails_fast_before_any_kernel(tmp_path, monkeypatch, capsys):
    import papermill

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for a run with a bad parameter")

    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)
    root = _chapter(tmp_path, PARAMS)
    monkeypatch.setattr(book, "ROOT", root)
    with pytest.raises(book.BookError, match="unknown parameter 'epochz'"):
        book.run("smoke", ["07"], [("epochz", "3")], root=root)
    # The real CLI with the real chapters: exit status 2 and the name on stderr.
    monkeypatch.undo()
    monkeypatch.setattr(papermill, "execute_notebook", no_kernel)
    assert book.main(["run", "--profile", "smoke", "--only", "01", "-p", "grid_sise", "4"]) == 2
    assert "unknown parameter 'grid_sise'" in capsys.readouterr().err


def test_overrides_need_one_chapter_and_a_known_chapter(tmp_path):
    root = _chapter(tmp_path, PARAMS)
    with pytest.raises(book.BookError, match="--only"):
        book.plan("smoke", [], [("epochs", "2")], root=root)
    with pytest.raises(book.BookError, match="no chapter '9'"):
        book.plan("smoke", ["9"], root=root)


def test_parameters_cell_must_be_literal_assignments(tmp_path):
    root = _chapter(tmp_path, 'profile = "smoke"\nepochs = int("3")')
    with pytest.raises(book.BookError, match="'epochs' is not a literal"):
        book.plan("smoke", root=root)
    (root / "notebooks" / "07_demo.py").write_text('# %%\nprofile = "smoke"\n')
    with pytest.raises(book.BookError, match="exactly one code cell tagged 'parameters'"):
        book.plan("smoke", root=root)


def test_convert_writes_notebooks_that_keep_the_parameters_tag(tmp_path):
    out = tmp_path / "nb"
    (out).mkdir()
    (out / "99_stale.ipynb").write_text("{}")
    written = book.convert(out)
    assert [p.name for p in written] == [f"{c.stem}.ipynb" for c in book.chapters()]
    assert not (out / "99_stale.ipynb").exists()
    for path in written:
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and 'profile = "smoke"' in tagged[0].source
    assert not list(out.glob(".*.tmp")), "atomic writes leave no temp files"


def test_papermill_unknown_parameter_warning_is_dropped_but_others_kept():
    # papermill cannot parse `subset: int | None = ...` and calls such parameters unknown; run()
    # has validated them itself, so only that one warning is filtered out of papermill's log.
    def record(msg):
        return logging.LogRecord("papermill", logging.WARNING, __file__, 1, msg, None, None)

    assert not book._drop_unknown_parameter_warnings(record("Passed unknown parameter: subset"))
    assert book._drop_unknown_parameter_warnings(record("Input notebook does not contain a cell with tag 'parameters'"))


def _fake_mathjax(workdir, *_args, **_kwargs):
    es5 = Path(workdir) / "package" / "es5"
    (es5 / "output" / "chtml" / "fonts" / "woff-v2").mkdir(parents=True)
    (es5 / "tex-chtml.js").write_text("/* mathjax */")
    (es5 / "output" / "chtml" / "fonts" / "woff-v2" / "MathJax_Main-Regular.woff").write_bytes(b"font")
    (es5 / "tex-svg.js").write_text("/* not needed */")
    return Path(workdir) / "package"


def test_vendor_mathjax_fetches_once_and_copies_only_what_the_book_loads(tmp_path, monkeypatch):
    from kanmix import fetch

    calls = []
    monkeypatch.setattr(fetch, "npm_pack", lambda spec, workdir, *a, **k: calls.append(spec) or _fake_mathjax(workdir))
    target = book.vendor_mathjax(tmp_path / "a", cache=tmp_path / "cache")
    assert (target / "tex-chtml.js").read_text() == "/* mathjax */"
    assert (target / "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()
    assert not (target / "tex-svg.js").exists()
    book.vendor_mathjax(tmp_path / "b", cache=tmp_path / "cache")  # a second book root: from the cache
    assert calls == [book.MATHJAX]
    assert not list(tmp_path.rglob("*.partial*"))


def test_vendor_mathjax_failure_names_the_fix_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    from kanmix import data, fetch

    def no_npm(*_a, **_k):
        raise data.DataError("`npm` is not installed, and it is needed to fetch npm package mathjax@3.2.2")

    monkeypatch.setattr(fetch, "npm_pack", no_npm)
    with pytest.raises(book.BookError, match="npm.*not installed.*MathJax"):
        book.vendor_mathjax(tmp_path / "root", cache=tmp_path / "cache")
    assert not (tmp_path / "root").exists() and not list(tmp_path.rglob("tex-chtml.js"))


def test_list_elements_may_be_none_only_when_the_annotation_says_so():
    declared = book.parameters(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "sizes: list[int | None] = [100]\nwidths = [8]", metadata={"tags": ["parameters"]})]))
    ok = book.check_parameters("ch", declared, {"sizes": ([1250, None], None, "test")})
    assert ok == {"sizes": [1250, None]}
    with pytest.raises(book.BookError, match="'widths'.*must be list"):
        book.check_parameters("ch", declared, {"widths": ([8, None], None, "test")})


def test_chapter_parameters_are_the_defaults_with_the_profiles_overrides():
    got = book.chapter_parameters("cpu", ["03"])["03"]
    declared = book.parameters(book.select(book.chapters(), ["03"])[0].read())
    assert set(got) == set(declared)  # every parameter, not only the overridden ones
    assert got["profile"] == "cpu" and got["folds"] == 5 and got["subset"] is None  # from cpu.yaml
    assert got["grid_variants"] == declared["grid_variants"].default  # a default the profile keeps
