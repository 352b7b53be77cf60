"""The probe book: a few pages built the way the real book is (its ``_config.yml``, its styles in
``book/_static_src``, its Sphinx extension ``kanmix.bookext``, its offline MathJax, a ``_toc.yml`` shaped like
the real one) but from sources written here, so the browser checks can be tried in seconds, without executed
chapters.

- ``book/probe_good.ipynb`` passes every check: a marked first finding at the top, inline math short and long,
  chapter 1's Cox–de Boor display equation (wider than the column), a glued figure with a caption in the
  chapters' format (:func:`kanmix.page.figure`) whose PNG records its smallest text (:func:`kanmix.page.figure_png`),
  tables that fit, and a code cell shown below the finding.
- ``book/probe_small_text.ipynb``: the same, but its figure is drawn so wide that its text shrinks below 10 px.
- ``DEFECTS``: snippets of HTML that ``tests/test_browser.py`` injects into copies of the built
  ``probe_good.html``, each something one check must catch (the pattern of its ``PROBE``).

The notebooks are written as Jupyter would save them after a run (outputs, glue metadata); nothing executes.
"""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
from pathlib import Path

import nbformat

from kanmix import book, page

TOC = """format: jb-book
root: book/probe_intro
parts:
  - chapters:
      - file: book/probe_summary
  - numbered: true
    chapters:
      - file: book/probe_good
      - file: book/probe_small_text
  - chapters:
      - file: book/probe_references
"""

FIGURE_TEXT = "A probe figure: two sine curves and their sum"
CAPTION = (f"**{FIGURE_TEXT}** <br><small>profile `smoke` · device cpu: probe · computed in this notebook "
           "(no stored run)</small>")

# How a page marks its first finding for the browser checks: MyST's (docutils') container directive gives the
# block the class kanmix-finding. A cell's computed Markdown can emit the same directive (nb_render_markdown_format
# is myst).
FINDING = """```{container} kanmix-finding
**The first finding.** Written where a reader sees it before anything else: the probe passes.
```"""

MATH = r"""## Math

Short inline math such as $x^2$ and $\phi_{q,p}$ sits in the text, and so does a longer formula that still
fits a phone's column, such as chapter 1's $2 \cdot \text{rows} \cdot \text{in} \cdot \text{out} \cdot (G+k+1)$,
with no scrollbar of its own. Chapter 1's Cox–de Boor recursion is wider than the column, so it scrolls in its
own box:

$$
B_{j,0}(x) = \mathbb{1}[t_j \le x < t_{j+1}], \qquad
B_{j,p}(x) = \frac{x - t_j}{t_{j+p} - t_j}\, B_{j,p-1}(x)
           + \frac{t_{j+p+1} - x}{t_{j+p+1} - t_{j+1}}\, B_{j+1,p-1}(x).
$$

and the theorem's formula fits:

$$
f(x_1, \dots, x_n) \;=\; \sum_{q=0}^{2n} \Phi_q\!\left( \sum_{p=1}^{n} \phi_{q,p}(x_p) \right).
$$
"""

TABLES = """## Tables

| model | accuracy | parameters |
|---|---|---|
| KAN-Mixer | 0.9030 | 1,234,567 |
| MLP-Mixer | 0.8990 | 1,111,111 |
"""

KANMIX_TABLE = ('<div class="kanmix-table"><p class="kanmix-table-caption"><b>A table as kanmix.page.table '
                'draws it</b><br><small>profile smoke</small></p><div class="kanmix-table-scroll"><table>'
                '<thead><tr><th>model</th><th class="col_heading">accuracy</th></tr></thead><tbody>'
                '<tr><td>KAN</td><td>0.8800</td></tr><tr><td>MLP</td><td>0.8700</td></tr></tbody></table></div></div>')


def _figure(width_in: float, height_in: float, dpi: float, fontsize: float) -> bytes:
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    ax = fig.subplots()
    x = np.linspace(0, 2 * np.pi, 200)
    for y, label in ((np.sin(x), "sin"), (np.sin(2 * x), "sin 2x"), (np.sin(x) + np.sin(2 * x), "sum")):
        ax.plot(x, y, label=label)
    ax.set_xlabel("x", fontsize=fontsize)
    ax.set_ylabel("y", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    ax.legend(fontsize=fontsize)
    return page.figure_png(fig, dpi=dpi)


def _notebook(title: str, label: str, png: bytes) -> nbformat.NotebookNode:
    """A chapter-like notebook as papermill leaves it: the figure glued by a hidden cell, placed by glue:figure."""
    v4 = nbformat.v4
    glued = v4.new_code_cell("page.figure('probe', fig, ...)", execution_count=1,
                             metadata={"tags": ["remove-input", "remove-output"]})
    glued.outputs = [
        v4.new_output("display_data", data={"image/png": base64.b64encode(png).decode(), "text/plain": "<Figure>"},
                      metadata={"scrapbook": {"name": "probe", "mime_prefix": ""}}),
        v4.new_output("display_data",
                      data={"application/papermill.record/text/markdown": CAPTION,
                            "application/papermill.record/text/plain": "<IPython.core.display.Markdown object>"},
                      metadata={"scrapbook": {"name": "probe_caption",
                                              "mime_prefix": "application/papermill.record/"}}),
    ]
    shown = v4.new_code_cell("x = 1  # a code cell a reader sees, below the first finding", execution_count=2)
    table = v4.new_code_cell("display(page.table(...))", execution_count=3, metadata={"tags": ["remove-input"]})
    table.outputs = [v4.new_output("display_data", data={"text/html": KANMIX_TABLE, "text/plain": "<HTML>"})]
    cells = [
        v4.new_markdown_cell(f"# {title}\n\n{FINDING}"),
        v4.new_markdown_cell(MATH),
        glued,
        v4.new_markdown_cell(f'```{{glue:figure}} probe\n:name: "fig-{label}"\n\n{{glue:md}}`probe_caption`\n```'),
        v4.new_markdown_cell(TABLES),
        table,
        shown,
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": book.KERNEL, "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_sources(root: Path) -> Path:
    """The probe book's sources under ``root`` (config, toc, styles, MathJax, pages); returns ``root``."""
    root = Path(root)
    (root / "book").mkdir(parents=True, exist_ok=True)
    shutil.copy2(book.ROOT / "_config.yml", root / "_config.yml")
    (root / "_toc.yml").write_text(TOC)
    shutil.copytree(book.ROOT / "book" / "_static_src", root / "book" / "_static_src", dirs_exist_ok=True)
    book.vendor_mathjax(root)  # from the checkout's cache: no network once `make book` or a test has run
    pages = root / "book"
    (pages / "probe_intro.md").write_text("# The probe book\n\nPages that show the browser checks can pass and fail.\n")
    (pages / "probe_summary.md").write_text(f"# Probe summary\n\n{FINDING}\n\nAn unnumbered page before the "
                                            "chapters.\n")
    (pages / "probe_references.md").write_text("# Probe references\n\nAn unnumbered page after the chapters.\n")
    # 6.4 x 3.2 in at 100 dpi: 10 pt text is 13.9 px in a PNG narrower than the column, so shown at that size.
    nbformat.write(_notebook("A probe chapter that passes", "good", _figure(6.4, 3.2, 100, 10)),
                   pages / "probe_good.ipynb")
    # 16 x 4 in at 100 dpi, 8 pt text: 11 px in a 1600 px PNG that the column shrinks to under half.
    nbformat.write(_notebook("A probe chapter with small figure text", "small-text", _figure(16, 4, 100, 8)),
                   pages / "probe_small_text.ipynb")
    return root


def build(root: Path) -> Path:
    """Write the probe book under ``root`` and build it the strict way (as the book test builds the real one);
    returns the HTML directory. Raises :class:`kanmix.book.BookError` with Sphinx's warnings when it fails."""
    write_sources(root)
    cmd = [*book.jupyter_book_command(), "build", str(root), "--builder", "html", "-W", "-n", "--keep-going", "--all"]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).splitlines()
        flagged = [ln for ln in lines if "WARNING" in ln or "ERROR" in ln or "Error" in ln]
        raise book.BookError("the probe book's build failed:\n" + "\n".join(flagged[-40:] or lines[-40:]))
    return root / "_build" / "html"


def _tiny_png() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 40, 40)).save(out, format="png")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


TINY_PNG = _tiny_png()  # a small red image that loads anywhere

#: Injected after the title of a copy of probe_good.html (or, for "end", before the article closes): each page is
#: one or more defects that a check must report. Ids name what each check should find.
DEFECTS = {
    "_probe_defects": ("title",
        # (a) inline math in a box that scrolls: the rule kanmix.css used to give every inline formula
        '<p>Inline math in a scrolling box: <span id="probe-inline-scroll" class="math notranslate nohighlight" '
        r'style="display: inline-flex; overflow-x: auto; overflow-y: hidden">\(a^2 + b^2 = c^2\)</span></p>'
        # inline math wider than a phone's column (chapter 1's, 413 px): it shows, spilling past the column
        '<p>The shape <span id="probe-inline-wide" class="math notranslate nohighlight">'
        r'\((\text{rows}, \text{in}\cdot(G+k+1)) \times (\text{in}\cdot(G+k+1), \text{out})\)</span>.</p>'
        # (b) alt text that is a file path, and none at all; (c) neither image is inside a link
        f'<figure id="probe-figure"><img id="probe-path-alt" src="{TINY_PNG}" alt="../_images/figure_1.png">'
        '<figcaption>A figure whose image is neither described nor linked</figcaption></figure>'
        f'<p><img id="probe-no-alt" src="{TINY_PNG}" alt=""></p>'
        # tables: one wider than the column (it scrolls in its own box, so no page overflow), one with a hidden column
        '<div class="kanmix-table-scroll"><table id="probe-wide-table"><tr>'
        + "".join(f"<td>column_{i}_of_a_wide_table</td>" for i in range(30)) + "</tr></table></div>"
        '<table id="probe-hidden-column"><tr><td>shown</td><td style="display: none">hidden</td></tr></table>'),
    "_probe_long": ("end", '<div id="probe-long" style="height: 12000px">a page far too long to read</div>'),
    "_probe_low_finding": ("title", '<div id="probe-spacer" style="height: 1000px">a screen of preamble</div>'),
    "_probe_code_first": ("title",
        '<div class="cell docutils container" id="probe-code"><div class="cell_input docutils container">'
        '<div class="highlight-ipython3 notranslate"><div class="highlight"><pre>import kanmix</pre></div></div>'
        '</div></div>'),
}


def inject(page: Path, name: str) -> Path:
    """A copy of the built ``page`` named ``name + ".html"`` beside it, with ``DEFECTS[name]`` injected."""
    where, html = DEFECTS[name]
    text = page.read_text(encoding="utf-8")
    article = text.index('<article class="bd-article"')
    if where == "title":
        at = text.index("</h1>", article) + len("</h1>")
    else:
        at = text.index("</article>", article)
    target = page.with_name(f"{name}.html")
    target.write_text(text[:at] + html + text[at:], encoding="utf-8")
    return target
