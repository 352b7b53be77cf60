"""The book's machinery: jupytext chapters -> papermill-executed notebooks -> Jupyter Book HTML.

The chapters are the entries ``book/NN_name`` of ``_toc.yml`` whose jupytext percent sources
``notebooks/NN_name.py`` exist: the toc says which and in what order. Each declares its knobs
in a cell tagged ``parameters`` whose defaults are the ``smoke`` profile (small enough for CI).
A profile file ``book/params/<profile>.yaml`` maps chapter keys to overrides::

    03_kan_mixers:        # or just "03"
      epochs: 3
      datasets: [fashion_mnist, cifar10]

Commands (``python -m kanmix.book COMMAND``)::

    convert --out DIR                       sources -> .ipynb (for nbmake), parameters untouched
    run --profile P [--only NB ...] [-p NAME VALUE ...]
                                            execute chapters with papermill into book/NN_name.ipynb
    check --profile P [--only NB ...] [-p NAME VALUE ...]
                                            what `run` checks first (names, types, values); runs nothing
    build [--strict]                        Jupyter Book 1.x (execution off) -> _build/html
    params [NB ...]                         list each chapter's parameters and defaults

Every parameter (profile file or ``-p``) is checked against the chapter's parameters cell
before any kernel starts: an unknown name or a value of the wrong type stops the run with a
message naming the chapter, the parameter and where the value came from. Then the values
themselves: each chapter's resolved parameters go through its check
(:func:`kanmix.studies.check_chapter`), which builds the configs of every run the chapter
would make and checks what they need (data splits, models), so a value that the type check
accepts but no run can take stops the run in one line, before anything trains. The name
``profile`` is injected into every chapter so captions can say which profile produced them.

The helpers chapters use to caption their tables and figures live in :mod:`kanmix.page`; this
module is the build tool.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kanmix.errors import KanmixError

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("smoke", "cpu", "paper")
KERNEL = "python3"
#: Pages that summarise what the chapters computed: executed after them (see :func:`run`).
SUMMARIES = ("00_findings",)


class BookError(KanmixError, RuntimeError):
    """A chapter, profile or parameter problem; the message says what and how to fix it."""


# ----------------------------------------------------------------------------- chapters

@dataclass(frozen=True)
class Chapter:
    source: Path  # notebooks/NN_name.py

    @property
    def stem(self) -> str:  # "03_kan_mixers"
        return self.source.stem

    @property
    def number(self) -> str:  # "03"
        return self.stem.split("_", 1)[0]

    def lines(self) -> dict[str, int]:
        """Non-blank source lines per cell type, ``{"code": n, "markdown": m}``: a chapter reads as prose with
        code where it teaches, so its code lines stay below its prose lines (tests/test_book.py holds every
        chapter to it); a raw cell counts as neither."""
        counts = {"code": 0, "markdown": 0}
        for cell in self.read().cells:
            if cell.cell_type in counts:
                counts[cell.cell_type] += sum(1 for line in cell.source.splitlines() if line.strip())
        return counts

    def read(self):
        """The chapter as an ``nbformat`` notebook with the book's kernel set."""
        import jupytext

        nb = jupytext.read(self.source, fmt="py:percent")
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
        nb.metadata.setdefault("language_info", {"name": "python"})
        nb.metadata.pop("jupytext", None)  # the executed copies are plain notebooks
        return nb


def chapters(root: Path = ROOT) -> list[Chapter]:
    """The book's executed chapters, in the order ``root/_toc.yml`` lists them.

    Jupyter Book's own table of contents is the chapter list: an entry ``book/NAME`` is a
    chapter when ``notebooks/NAME.py`` exists (``run`` writes its executed copy to
    ``book/NAME.ipynb``, where the toc expects it); entries without a source (``book/intro``)
    are plain pages. The toc is read with the parser Jupyter Book itself uses.
    """
    import yaml
    from sphinx_external_toc.parsing import MalformedError, parse_toc_yaml

    toc = root / "_toc.yml"
    try:
        site = parse_toc_yaml(toc)
    except (OSError, yaml.YAMLError, MalformedError) as err:
        raise BookError(f"cannot read the chapter list from {toc}: {err}") from None

    def walk(docname: str):  # depth first: the reading order of the book
        yield docname
        for child in site[docname].child_files():
            yield from walk(child)

    found = []
    for docname in walk(site.root.docname):
        source = root / "notebooks" / f"{Path(docname).name}.py"
        if not source.is_file():
            continue
        if Path(docname).parent != Path("book"):
            raise BookError(f"{toc}: chapter {docname!r} must be listed as book/{source.stem}, "
                            "where `python -m kanmix.book run` writes the executed notebook")
        found.append(Chapter(source))
    if not found:
        raise BookError(f"{toc} lists no chapter: expected entries book/NAME with a source notebooks/NAME.py")
    return found


def select(all_chapters: Sequence[Chapter], only: Iterable[str] | None) -> list[Chapter]:
    """Chapters named by number (``3``, ``03``) or stem (``03_kan_mixers``); all when ``only`` is empty."""
    only = [str(o) for o in (only or [])]
    if not only:
        return list(all_chapters)
    picked = []
    for key in only:
        match = [c for c in all_chapters if key in (c.stem, c.number) or (key.isdigit() and int(key) == int(c.number))]
        if not match:
            names = ", ".join(c.stem for c in all_chapters)
            raise BookError(f"no chapter {key!r}; choose a number or one of: {names}")
        picked += [c for c in match if c not in picked]
    return picked


# ----------------------------------------------------------------------------- parameters

@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    also: tuple[str, ...] = ()  # further types an annotation admits, e.g. `int | str | None` -> ("str", "None")

    @property
    def kind(self) -> str:
        return _kind(self.default)


def _kind(value: Any) -> str:
    if value is None:
        return "any"
    if isinstance(value, bool):
        return "bool"
    for t in (int, float, str, list, dict):
        if isinstance(value, t):
            return t.__name__
    if isinstance(value, tuple):
        return "list"
    return type(value).__name__


_EXEMPLARS = {"int": 0, "float": 0.0, "str": "", "bool": False, "list": [], "dict": {}}


def parameters(nb) -> dict[str, Param]:
    """The names and literal defaults of the notebook's ``parameters`` cell.

    Only plain ``name = literal`` (or ``name: type = literal``) statements count; anything
    else in that cell is an error, because papermill could not override it faithfully. The
    default's type is the parameter's type; an annotation mentioning ``None``
    (``subset: int | None = 600``) also admits ``None``.
    """
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise BookError(f"expected exactly one code cell tagged 'parameters', found {len(cells)}; "
                        "add `# %% tags=[\"parameters\"]` above the defaults")
    tree = ast.parse(cells[0].source)
    params: dict[str, Param] = {}
    for stmt in tree.body:
        also: tuple[str, ...] = ()
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring-like comment string
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            name, value = stmt.target.id, stmt.value
            also = tuple(sorted({n.id if isinstance(n, ast.Name) else "None" for n in ast.walk(stmt.annotation)
                                 if isinstance(n, ast.Name) or (isinstance(n, ast.Constant) and n.value is None)}))
        else:
            raise BookError(f"parameters cell line {stmt.lineno}: only `name = literal` assignments are allowed")
        try:
            params[name] = Param(name, ast.literal_eval(value), also)
        except ValueError as err:
            raise BookError(f"parameters cell: default of {name!r} is not a literal ({err})") from err
    return params


def parse_cli_value(text: str) -> Any:
    """A ``-p NAME VALUE`` string as a Python literal when it is one (``5``, ``1e-3``, ``[8, 16]``), else text."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _coerce(value: Any, default: Any, *, raw: str | None, none_ok: bool = False) -> Any:
    """``value`` converted to the type of ``default``; raises TypeError when it does not fit.

    ``none_ok``: a list's elements may also be ``None`` (an annotation such as
    ``sizes: list[int | None] = [100]`` names None).
    """
    kind = _kind(default)
    if kind == "any":
        return list(value) if isinstance(value, tuple) else value
    if kind == "str":
        if raw is not None:  # from the command line every value is text
            return raw
        if isinstance(value, str):
            return value
    elif kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind == "list":
        if isinstance(value, (list, tuple)):
            value = list(value)
            if default:  # elements follow the type of the default's first element
                return [None if v is None and none_ok else _coerce(v, default[0], raw=None) for v in value]
            return value
    elif kind == "dict":
        if isinstance(value, dict):
            return value
    raise TypeError(kind)


def check_parameters(chapter: str, declared: dict[str, Param], given: dict[str, tuple[Any, str | None, str]]) -> dict:
    """Validate and coerce ``given`` (name -> (value, raw CLI text or None, origin)) against ``declared``.

    Returns the papermill parameters. Raises :class:`BookError` naming the first bad parameter.
    """
    out = {}
    for name, (value, raw, origin) in given.items():
        if name not in declared:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BookError(f"{chapter}: unknown parameter {name!r} (from {origin}){hint} "
                            f"It declares: {', '.join(declared)}")
        param = declared[name]
        if value is None and "None" in param.also:
            out[name] = None
            continue
        # The default's own type first, then any other type its annotation names.
        exemplars = [param.default] + [_EXEMPLARS[k] for k in param.also if k in _EXEMPLARS and k != param.kind]
        for exemplar in exemplars:
            try:
                out[name] = _coerce(value, exemplar, raw=raw, none_ok="None" in param.also)
                break
            except TypeError:
                continue
        else:
            kinds = " or ".join(dict.fromkeys([param.kind, *param.also]))
            raise BookError(f"{chapter}: parameter {name!r} (from {origin}) must be {kinds} like its default "
                            f"{param.default!r}, got {value!r} ({type(value).__name__})")
    return out


def load_profile(profile: str, root: Path = ROOT) -> dict[str, dict]:
    """``book/params/<profile>.yaml`` as {chapter key: {name: value}} (empty for an empty file)."""
    import yaml

    path = root / "book" / "params" / f"{profile}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (root / "book" / "params").glob("*.yaml"))
        raise BookError(f"no profile {profile!r}: {path} does not exist; choose one of {known}")
    with open(path) as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) or v is None for v in data.values()):
        raise BookError(f"{path}: expected a mapping of chapter -> {{parameter: value}}")
    return {str(k).zfill(2) if str(k).isdigit() else str(k): dict(v or {}) for k, v in data.items()}


def plan(profile: str, only: Iterable[str] | None = None, extra: Sequence[tuple[str, str]] = (),
         root: Path = ROOT) -> list[tuple[Chapter, dict]]:
    """The chapters to run and their checked parameters; raises before anything executes."""
    every = chapters(root)
    picked = select(every, only)
    prof = load_profile(profile, root)
    keys = {c.stem for c in every} | {c.number for c in every}
    # Keys starting with "_" hold YAML anchors that several chapters share; they are no chapter.
    stray = sorted(k for k in set(prof) - keys if not k.startswith("_"))
    if stray:
        raise BookError(f"book/params/{profile}.yaml names no chapter {stray[0]!r}; "
                        f"use a chapter number or one of: {', '.join(c.stem for c in every)}")
    if extra and (not only or len(picked) != 1):
        raise BookError("-p overrides apply to one chapter: add --only NB (e.g. --only 03)")
    out = []
    for ch in picked:
        declared = parameters(ch.read())
        if "profile" not in declared:
            raise BookError(f"{ch.stem}: its parameters cell must declare `profile = \"smoke\"` "
                            "(the book injects the profile name so captions can cite it)")
        given: dict[str, tuple[Any, str | None, str]] = {"profile": (profile, None, "--profile")}
        for key in (ch.number, ch.stem):
            for name, value in prof.get(key, {}).items():
                given[name] = (value, None, f"book/params/{profile}.yaml")
        for name, raw in extra:
            given[name] = (parse_cli_value(raw), raw, "-p")
        out.append((ch, check_parameters(ch.stem, declared, given)))
    return out


def resolved(ch: Chapter, given: dict) -> dict:
    """All of ``ch``'s parameters: its cell's defaults with ``given`` (checked overrides) over them."""
    return {**{name: p.default for name, p in parameters(ch.read()).items()}, **given}


def check_values(jobs: Sequence[tuple[Chapter, dict]], root: Path = ROOT) -> None:
    """Each job's resolved parameters through its chapter's own check; raises :class:`BookError` in one line.

    :func:`kanmix.studies.check_chapter` builds the configs of every run the chapter would make
    from those values (nothing trains) and checks the data splits and models of the runs the
    results store does not hold yet, so a value its type admits but no run can take is reported
    here, naming the chapter and the parameter, instead of failing a kernel hours in.
    """
    from kanmix import studies
    from kanmix.errors import KanmixError

    checked: set = set()  # a summary page checks the chapters it reads: once each, after them
    for ch, given in sorted(jobs, key=lambda job: job[0].stem in SUMMARIES):
        try:
            studies.check_chapter(ch.stem, resolved(ch, given), root=root, checked=checked)
        except (ValueError, TypeError, LookupError, KanmixError) as err:
            raise BookError(f"{ch.stem}: {studies.one_line(err)}") from None


def chapter_parameters(profile: str, only: Iterable[str], root: Path = ROOT) -> dict[str, dict]:
    """Every parameter of the chapters ``only`` under ``profile``: the cell's defaults with the profile's
    overrides, checked as :func:`plan` checks them, keyed by chapter number.

    What a chapter executed with this profile sees; a page that summarises the chapters builds
    their studies from it, so it reads the very runs they made.
    """
    return {ch.number: resolved(ch, given) for ch, given in plan(profile, only, root=root)}


# ----------------------------------------------------------------------------- commands

def _atomic_write_notebook(nb, path: Path) -> None:
    import nbformat

    from kanmix.io import atomic_write_bytes

    atomic_write_bytes(path, nbformat.writes(nb).encode("utf-8"))


def convert(out: Path, root: Path = ROOT) -> list[Path]:
    """Write every chapter as ``out/NN_name.ipynb`` with its own defaults (what nbmake executes)."""
    out = Path(out)
    written = []
    for ch in chapters(root):
        nb = ch.read()
        parameters(nb)  # a malformed parameters cell fails here, not in CI's kernel
        path = out / f"{ch.stem}.ipynb"
        _atomic_write_notebook(nb, path)
        written.append(path)
    for stale in set(out.glob("[0-9][0-9]_*.ipynb")) - set(written):
        stale.unlink()  # a renamed chapter must not linger in the nbmake run
    return written


def run(profile: str, only: Iterable[str] | None = None, extra: Sequence[tuple[str, str]] = (), *,
        root: Path = ROOT, out_dir: Path | None = None, log=print) -> dict[str, float]:
    """Execute chapters with papermill into ``out_dir`` (default ``root/book``); returns seconds per chapter.

    All parameters are checked first, names and types (:func:`plan`), then values
    (:func:`check_values`). Each notebook executes in a scratch file and replaces
    ``out_dir/NN_name.ipynb`` only when it finished; a failed one is kept as
    ``build/failed/NN_name.ipynb`` (under ``root``) for inspection and the previous good copy stays.
    Summary pages (:data:`SUMMARIES`) come first in the book but run last: they read what the
    chapters computed.
    """
    jobs = plan(profile, only, extra, root)  # raises before any kernel starts
    check_values(jobs, root)  # the values too: every run's config is built, nothing trains
    jobs.sort(key=lambda job: job[0].stem in SUMMARIES)  # stable: the chapters keep their order
    out_dir = Path(out_dir or root / "book")
    # The kernels import the kanmix that runs the book, also when ``root`` is a scratch copy.
    package_parent = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    if package_parent not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, path) if p)
    scratch = out_dir / ".partial"
    scratch.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    # papermill's own parameter inference cannot read annotated parameters such as
    # `subset: int | None = 600` and warns that they are unknown; plan() has already checked
    # every parameter against the cell itself, so those warnings would only mislead.
    papermill_log = logging.getLogger("papermill")
    papermill_log.addFilter(_drop_unknown_parameter_warnings)
    try:
        _execute(jobs, root, out_dir, scratch, timings, log)
    finally:
        papermill_log.removeFilter(_drop_unknown_parameter_warnings)
    shutil.rmtree(scratch, ignore_errors=True)
    log("[book] wall time per chapter: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + f"; total {sum(timings.values()):.1f} s")
    return timings


def _drop_unknown_parameter_warnings(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Passed unknown parameter:")


def _execute(jobs, root: Path, out_dir: Path, scratch: Path, timings: dict[str, float], log) -> None:
    """Run each ``(chapter, parameters)`` job through papermill; see :func:`run`."""
    import papermill

    for ch, params in jobs:
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        log(f"[book] {ch.stem}: {shown}")
        tmp = scratch / f"{ch.stem}.ipynb"
        start = time.perf_counter()
        try:
            papermill.execute_notebook(ch.read(), str(tmp), parameters=params, kernel_name=KERNEL,
                                       cwd=str(root), progress_bar=False)
        except papermill.PapermillExecutionError as err:
            failed = root / "build" / "failed" / f"{ch.stem}.ipynb"
            failed.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(tmp, failed)
            raise BookError(f"{ch.stem} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
                            f"the executed notebook with the traceback is {failed}") from None
        os.replace(tmp, out_dir / f"{ch.stem}.ipynb")
        timings[ch.stem] = time.perf_counter() - start
        log(f"[book] {ch.stem}: done in {timings[ch.stem]:.1f} s -> {out_dir / (ch.stem + '.ipynb')}")


def executed_profiles(book_dir: Path, root: Path = ROOT) -> dict[str, str | None]:
    """Which profile each executed notebook in ``book_dir`` was run with (None when missing).

    papermill records its parameters in the notebook's metadata; a notebook executed as it
    stands (nbmake, as ``make test`` does) ran its own defaults, so its parameters cell says.
    """
    import nbformat

    out = {}
    for ch in chapters(root):
        path = Path(book_dir) / f"{ch.stem}.ipynb"
        if not path.exists():
            out[ch.stem] = None
            continue
        nb = nbformat.read(path, as_version=4)
        injected = nb.metadata.get("papermill", {}).get("parameters", {})
        out[ch.stem] = injected.get("profile") or str(parameters(nb)["profile"].default)
    return out


def jupyter_book_command() -> list[str]:
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("jupyter-book")
    if not found:
        raise BookError("jupyter-book is not installed; run `make venv` (it installs the [book] extra)")
    return [found]


MATHJAX = "mathjax@3.2.2"
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"  # the npm tarball
# What the book loads: the TeX-to-HTML bundle and the web fonts it fetches relative to itself.
_MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2")


def vendor_mathjax(root: Path = ROOT, cache: Path | None = None) -> Path:
    """Put MathJax into ``root/_static/mathjax`` so the book's math renders without a network.

    Sphinx would load MathJax from a CDN; ``_config.yml`` points ``mathjax_path`` here instead.
    The npm tarball is fetched once (checksum-checked) into ``cache`` (default
    ``ROOT/build/cache``) and copied from there. Both copies go through a staging folder, so an
    interrupted fetch never leaves a half-written MathJax behind. Returns the folder.
    """
    from kanmix import fetch
    from kanmix.data import DataError
    from kanmix.io import atomic_replace_dir

    target = root / "_static" / "mathjax"
    if (target / "tex-chtml.js").is_file():
        return target
    source = Path(cache or ROOT / "build" / "cache") / MATHJAX.replace("@", "-")
    if not (source / "tex-chtml.js").is_file():
        with tempfile.TemporaryDirectory(prefix="kanmix-mathjax-") as tmp:
            try:
                es5 = fetch.npm_pack(MATHJAX, Path(tmp), f"npm package {MATHJAX} (the book's math)",
                                     sha256=MATHJAX_SHA256) / "es5"
            except DataError as err:
                raise BookError(f"{err}. The book needs MathJax to show its math offline.") from None
            atomic_replace_dir(source, lambda staging: [_copy(es5 / f, staging / f) for f in _MATHJAX_FILES])
    atomic_replace_dir(target, lambda staging: shutil.copytree(source, staging, dirs_exist_ok=True))
    return target


def _copy(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest)


#: The tags that decide a code cell's input on the page: shown (``show-input``: the code teaches, e.g. the one
#: study call that reruns a chapter), folded (``hide-input``) or removed (``remove-input``, ``remove-cell``).
SHOWN, DECIDED = "show-input", {"show-input", "hide-input", "remove-input", "remove-cell"}


def code_on_the_page(nb) -> bool:
    """Remove from the page the input of every code cell whose tags do not decide it (:data:`DECIDED`): the
    parameters, papermill's injected values, imports, plotting and sentence-building stay in the notebook
    (a reader rerunning it sees them) but not on the page. Returns whether a tag was added."""
    changed = False
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if cell.cell_type == "code" and not DECIDED & set(tags):
            tags.append("remove-input")
            changed = True
    return changed


#: The glue key under which the findings page stores its headline findings (Markdown), and where the build
#: writes them for the intro to include (``{include} _generated/findings.md``): both pages open with the same
#: findings, computed once, from the records.
FINDINGS_KEY, FINDINGS_FILE = "headline_findings", Path("book") / "_generated" / "findings.md"


def glued_markdown(nb, key: str) -> str | None:
    """The Markdown a notebook glued under ``key`` (``myst_nb.glue``), or ``None``."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            book_keeping = out.get("metadata", {}).get("scrapbook", {})
            if book_keeping.get("name") == key:  # glue(..., display=False) prefixes the mime type
                text = out.get("data", {}).get(book_keeping.get("mime_prefix", "") + "text/markdown")
                return "".join(text) if isinstance(text, list) else text
    return None


def write_findings(root: Path = ROOT) -> Path:
    """Copy the executed findings page's headline findings to :data:`FINDINGS_FILE` for the intro; a findings
    page that glued none (run before this existed, or failed) is an error naming what to run."""
    import nbformat

    from kanmix.io import atomic_write_bytes

    executed = root / "book" / f"{SUMMARIES[0]}.ipynb"
    text = glued_markdown(nbformat.read(executed, as_version=4), FINDINGS_KEY)
    if not text:
        raise BookError(f"{executed} holds no {FINDINGS_KEY!r}: rerun it (`python -m kanmix.book run --only 00`)")
    path = root / FINDINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, text.encode())
    return path


def build(root: Path = ROOT, *, strict: bool = False, out: Path | None = None, quiet: bool = False,
          log=print) -> Path:
    """Build the HTML book from the executed notebooks in ``root/book``; returns the html directory.

    ``strict`` is nitpicky, warnings-as-errors mode (what the book test uses); ``quiet``
    captures Sphinx's log and puts its warnings into the error instead.
    """
    profiles = executed_profiles(root / "book", root)
    missing = [k for k, v in profiles.items() if v is None]
    if missing:
        raise BookError(f"chapters not executed yet: {', '.join(missing)}; run "
                        "`python -m kanmix.book run --profile cpu` (or `make book`) first")
    mixed = sorted(set(profiles.values()))
    if len(mixed) > 1:
        log(f"[book] note: chapters come from different profiles: {profiles}")
    import nbformat

    for ch in chapters(root):
        executed = root / "book" / f"{ch.stem}.ipynb"
        nb = nbformat.read(executed, as_version=4)
        if code_on_the_page(nb):
            _atomic_write_notebook(nb, executed)
    write_findings(root)
    vendor_mathjax(root)
    cmd = [*jupyter_book_command(), "build", str(root), "--builder", "html"]
    if out is not None:
        cmd += ["--path-output", str(out)]
    if strict:
        cmd += ["-W", "-n", "--keep-going", "--all"]
    log("[book] " + " ".join(cmd))
    done = subprocess.run(cmd, cwd=root, capture_output=quiet, text=True)
    if done.returncode != 0:
        detail = ""
        if quiet:  # show the warnings that failed a strict build, not the whole log
            lines = (done.stdout + done.stderr).splitlines()
            flagged = [ln for ln in lines if "WARNING" in ln or "ERROR" in ln or "Error" in ln]
            detail = "\n" + "\n".join(flagged[-40:] or lines[-40:])
        raise BookError(f"jupyter-book build failed (exit {done.returncode}){detail or '; see the log above'}")
    return Path(out or root) / "_build" / "html"


# ----------------------------------------------------------------------------- CLI

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kanmix.book", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("convert", help="jupytext sources -> .ipynb with default parameters (for nbmake)")
    c.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run", help="execute chapters with papermill into book/")
    r.add_argument("--profile", default="cpu", help="book/params/<profile>.yaml (smoke, cpu, paper)")
    r.add_argument("--only", nargs="*", default=[], metavar="NB", help="chapter numbers or names, e.g. 03")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override one parameter of the chapter named by --only")
    r.add_argument("--out-dir", type=Path, default=None, help="where executed notebooks go (default book/)")
    r.add_argument("--executor", choices=["local", "ray"], default=None,
                   help="where the chapters' missing runs train: this machine, or a Ray cluster (pip install -e "
                        "'.[cluster]'); default $KANMIX_EXECUTOR, else local")
    r.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                   help="the Ray cluster's head (implies --executor ray); default $KANMIX_RAY_ADDRESS")
    k = sub.add_parser("check", help="check the parameters as `run` does first, run nothing")
    k.add_argument("--profile", default="cpu", help="book/params/<profile>.yaml (smoke, cpu, paper)")
    k.add_argument("--only", nargs="*", default=[], metavar="NB", help="chapter numbers or names, e.g. 03")
    k.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override one parameter of the chapter named by --only")
    b = sub.add_parser("build", help="Jupyter Book build of the executed notebooks -> _build/html")
    b.add_argument("--strict", action="store_true", help="nitpicky, warnings are errors")
    s = sub.add_parser("params", help="list chapters' parameters and defaults")
    s.add_argument("only", nargs="*", metavar="NB")
    return p


def _executor_environment(executor: str | None, ray_address: str | None) -> None:
    """Where the chapters' runs train, for their kernels: papermill's kernels are processes of their own, so the
    choice travels in the environment every study reads (:func:`kanmix.runner.executor_of`)."""
    from kanmix import cluster, runner

    if ray_address is not None:
        if executor == "local":
            raise BookError("--ray-address is for --executor ray, not local")
        executor = "ray"
        os.environ[cluster.ADDRESS] = ray_address
    if executor is not None:
        os.environ[runner.EXECUTOR] = executor


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "convert":
            for path in convert(args.out):
                print(f"[book] wrote {path}")
        elif args.command == "run":
            _executor_environment(args.executor, args.ray_address)
            run(args.profile, args.only, [tuple(p) for p in args.parameter], out_dir=args.out_dir)
        elif args.command == "check":
            jobs = plan(args.profile, args.only, [tuple(p) for p in args.parameter])
            check_values(jobs)
            print(f"[book] parameters of {', '.join(ch.stem for ch, _ in jobs)} are fine under profile {args.profile}")
        elif args.command == "build":
            html = build(strict=args.strict)
            print(f"[book] open {html / 'index.html'}")
        elif args.command == "params":
            for ch in select(chapters(), args.only):
                print(ch.stem)
                for prm in parameters(ch.read()).values():
                    print(f"  {prm.name:<18} {prm.kind:<6} {prm.default!r}")
    except BookError as err:
        print(f"kanmix.book: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
