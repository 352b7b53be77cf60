"""The built book as a reader sees it: Selenium drives Debian's headless Chromium (``chromium-driver``)
over every chapter page at a desktop (1280×900) and a phone (412×915) viewport.

On every page, at both sizes:
- nothing in the content column is wider than the column, unless it sits in a box that scrolls
  (a wide table scrolls inside its own box; it is never cut off, and the page never scrolls sideways);
- every formula is typeset by the book's own MathJax: no raw ``$``, ``\\(`` or ``\\[`` left in the
  text, no MathJax error node, every ``.math`` element holds a typeset formula;
- every image has loaded (``naturalWidth > 0``), the title renders, and the screenshot is not blank;
- no inline formula sits in a box that scrolls (a scrollbar of its own wherever scrollbars always
  show) or cuts it off; display formulas scroll in their own box (the width check above);
- every image has alt text that is not a file path (``kanmix.bookext`` gives a figure's image its
  caption), and every image in the column is a link to its own full-size file.
The search page finds the KAN-Mixers chapter for "Mixer", and chapter 5's spline figures decode
to plotted curves.

A probe page (a chapter with an unwrapped wide table, raw ``$`` text, a broken image, a scrolling
inline formula and an image described by its path injected) shows that each check fails when it
should. The browser visits every page once per session (the ``reader_view`` fixture, shared by
xdist workers); the tests only read what it saw.

The probe book (``tests/probebook.py``, the ``probe_view`` fixture) is a few pages built the real
book's way in seconds, without executed chapters: one passes every check, the others each fail the
checks they name. It also holds the checks the real book will meet after the chapters' rewrite
(figure text at least 10 px, tables that fit the column, pages at most 11,000 px, the first
finding on the first screen with no code above it); for now they apply to the probe pages only.
``pytest tests/test_browser.py -k probe`` runs just the probe book's tests.
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from PIL import Image

import probebook
from bookutil import built_book, once  # noqa: F401  (built_book: the shared, session-scoped fixture)
from kanmix import book, page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None


def _why_no_browser() -> str | None:
    if webdriver is None:
        return "selenium is not installed (`pip install -c constraints.txt -e '.[dev]'`; `make test` does it)"
    if CHROMIUM is None or CHROMEDRIVER is None:
        return ("Debian's `chromium` and `chromium-driver` are not installed "
                "(`apt-get install -y chromium chromium-driver` as root; .ci/run does it)")
    return None


pytestmark = pytest.mark.skipif(_why_no_browser() is not None, reason=_why_no_browser() or "")

VIEWPORTS = {"desktop": (1280, 900), "phone": (412, 915)}
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--allow-file-access-from-files"]

# Resolves once the page has loaded and MathJax (when the page has it) has typeset everything.
SETTLE = """
const done = arguments[arguments.length - 1];
const typeset = () => (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
const go = () => typeset().then(() => done("ok"), e => done("MathJax failed: " + e));
if (document.readyState === "complete") go(); else window.addEventListener("load", go);
"""

# What a reader would notice on the page, as JSON. "Too wide" means an element reaching past the
# content column with no scrolling box between it and the column: clipped or overflowing the page.
INSPECT = r"""
const column = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
const outer = column.getBoundingClientRect(), pad = getComputedStyle(column);  // the column is its content box
const box = {left: outer.left + parseFloat(pad.paddingLeft), right: outer.right - parseFloat(pad.paddingRight)};
const describe = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
  (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
const scrolls = el => {
  for (let a = el.parentElement; a && a !== column; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX;
    if (o === "auto" || o === "scroll") return true;
  }
  return false;
};
const tooWide = [];
for (const el of column.querySelectorAll("*")) {
  if (el.closest("mjx-assistive-mml")) continue;  // MathJax's invisible copy for screen readers
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
  if ((r.right > box.right + 1 || r.left < box.left - 1) && !scrolls(el)) {
    if (tooWide.some(outer => outer.contains(el))) continue;  // report the outermost only
    tooWide.push(el);
  }
}
const raw = [];
const walker = document.createTreeWalker(column, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (n.parentElement.closest("pre, code, script, style, textarea, .highlight, mjx-container")) continue;
  if (/\$|\\\(|\\\[/.test(n.data)) raw.push(n.data.trim().slice(0, 80));
}
const maths = [...column.querySelectorAll(".math")];
const images = [...document.images];
const h1 = column.querySelector("h1");
const label = el => el.id ? "#" + el.id
  : el.tagName === "IMG" ? "img " + (el.getAttribute("src") || "").split("/").pop().slice(0, 60) : describe(el);
// Inline math that scrolls (a box with overflow auto or scroll: a scrollbar wherever scrollbars always show) or
// that cuts its formula off (overflow hidden on a box narrower than the formula).
const scrollable = v => v === "auto" || v === "scroll";
const inlineMath = [];
for (const m of column.querySelectorAll("span.math")) {
  for (const el of [m, m.querySelector("mjx-container")].filter(Boolean)) {
    const s = getComputedStyle(el);
    const why = scrollable(s.overflowX) || scrollable(s.overflowY) ? `overflow ${s.overflowX} / ${s.overflowY}`
      : s.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1
        ? `cut: ${el.scrollWidth} px in ${el.clientWidth} px` : "";
    if (why) {
      inlineMath.push(`${m.id ? "#" + m.id : m.textContent.trim().slice(0, 40)} (${describe(el)}): ${why}`);
      break;
    }
  }
}
// Alt text: present, and not a file path (docutils writes the image's path when the source gives none).
const pathLike = (alt, src) => !alt || alt === src || /\.(png|jpe?g|gif|svg|webp|pdf)$/i.test(alt)
  || (/[\/\\]/.test(alt) && !/\s/.test(alt));
const badAlt = images.filter(i => pathLike((i.getAttribute("alt") || "").trim(), i.getAttribute("src")))
  .map(i => `${label(i)} alt=${JSON.stringify(i.getAttribute("alt"))}`);
// Every image in the column opens at full size: it sits in a link to its own file.
const file = u => { const x = new URL(u, location.href); return x.protocol + x.pathname; };
const contentImages = [...column.querySelectorAll("img")];
const unlinked = contentImages.filter(i => {
  const a = i.closest("a[href]");
  return !a || file(a.href) !== file(i.currentSrc || i.src);
}).map(i => label(i));
const figures = contentImages.filter(i => i.complete && i.naturalWidth > 0).map(i => ({
  label: label(i), src: i.currentSrc || i.src, shown: i.getBoundingClientRect().width, natural: i.naturalWidth}));
// Tables that do not fit the column (wider than it, or scrolling in a box) or hide cells.
const tables = [];
for (const t of column.querySelectorAll("table")) {
  const r = t.getBoundingClientRect(), problems = [];
  if (r.left < box.left - 1 || r.right > box.right + 1) {
    problems.push(`${Math.round(r.width)} px wide in a ${Math.round(box.right - box.left)} px column`);
  }
  for (let a = t.parentElement; a && a !== column; a = a.parentElement) {
    if (scrollable(getComputedStyle(a).overflowX) && a.scrollWidth > a.clientWidth + 1) {
      problems.push(`scrolls in ${describe(a)}`);
      break;
    }
  }
  const hidden = [...t.querySelectorAll("th, td")].filter(c => {
    const cs = getComputedStyle(c), cr = c.getBoundingClientRect();
    return cs.display === "none" || cs.visibility !== "visible" || cr.width === 0 || cr.height === 0; });
  if (hidden.length) problems.push(`${hidden.length} hidden cell(s)`);
  if (problems.length) tables.push(`${label(t)}: ${problems.join("; ")}`);
}
// The first finding (the first element marked .kanmix-finding) and the code cells a reader meets before it.
const finding = column.querySelector(".kanmix-finding");
const top = el => el.getBoundingClientRect().top + window.scrollY;
const findingTop = finding ? top(finding) : null;
const codeFirst = finding === null ? [] : [...column.querySelectorAll(".cell_input, details.above-input > summary")]
  .filter(c => c.getBoundingClientRect().height > 0 && top(c) < findingTop)
  .map(c => `${label(c.closest(".cell") || c)} at ${Math.round(top(c))} px`);
return {
  pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth, column: Math.round(box.right - box.left),
  tooWide: tooWide.map(el => describe(el) + " " + Math.round(el.getBoundingClientRect().width) + "px"),
  rawMath: raw,
  mathErrors: column.querySelectorAll("mjx-merror, [data-mjx-error]").length,
  untypeset: maths.filter(m => !m.querySelector("mjx-container")).map(m => m.textContent.trim().slice(0, 60)),
  typeset: column.querySelectorAll("mjx-container").length,
  images: images.length,
  brokenImages: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src")),
  title: h1 ? h1.textContent.trim() : "",
  inlineMath, badAlt, unlinked, figures, tables,
  pageHeight: document.documentElement.scrollHeight,
  findingTop: findingTop === null ? null : Math.round(findingTop), codeFirst,
};
"""

# Injected into the probe page: each piece is something one check above must catch.
PROBE = ('<table id="probe-wide"><tr>' + "".join(f"<td>column_{i}_of_a_wide_table</td>" for i in range(40))
         + "</tr></table><p>raw dollar math $x^2$ left untypeset</p>"
         + '<img id="probe-broken" src="does-not-exist.png" alt="">'
         # inline math in a box that scrolls (what kanmix.css once gave every inline formula)
         + '<p><span id="probe-inline-scroll" class="math notranslate nohighlight" '
           r'style="display: inline-flex; overflow-x: auto; overflow-y: hidden">\(a^2 + b^2 = c^2\)</span></p>'
         # a figure whose image is described by its file path and opens nowhere
         + f'<figure><img id="probe-path-alt" src="{probebook.TINY_PNG}" alt="../_images/figure_1.png"></figure>')

# The checks of figures, tables, page length and the first finding. They hold the probe book's pages only for
# now: the real book will be held to them too after the chapters' rewrite (the publication pass), which gives
# every figure its smallest text size (kanmix.page.figure_png) and marks each page's first finding.
MIN_FIGURE_TEXT_PX = 10  # at the desktop width
MAX_PAGE_HEIGHT_PX = 11_000  # at the desktop width
MAX_FINDING_TOP_PX = 900  # the first finding starts on the first desktop screen


def figure_text_problems(seen: dict) -> list[str]:
    """Figures whose smallest text a reader sees below :data:`MIN_FIGURE_TEXT_PX`, or whose PNG does not say."""
    out = []
    for fig in seen["figureText"]:
        if fig["px"] is None:
            out.append(f"{fig['label']}: its PNG records no smallest text size ({page.SMALLEST_TEXT_KEY})")
        elif fig["px"] < MIN_FIGURE_TEXT_PX:
            out.append(f"{fig['label']}: smallest text {fig['px']:.1f} px on the page "
                       f"({fig['recorded']:.1f} px in a {fig['natural']} px wide PNG shown {fig['shown']:.0f} px wide)")
    return out


def table_problems(seen: dict) -> list[str]:
    """Tables wider than the content column (or scrolling in their box), or with hidden cells."""
    return list(seen["tables"])


def length_problems(seen: dict) -> list[str]:
    height = seen["pageHeight"]
    return [f"the page is {height} px long (at most {MAX_PAGE_HEIGHT_PX})"] if height > MAX_PAGE_HEIGHT_PX else []


def finding_problems(seen: dict) -> list[str]:
    top = seen["findingTop"]
    if top is None:
        return ["no element marked .kanmix-finding"]
    return [f"the first finding starts at {top} px (above {MAX_FINDING_TOP_PX} px)"] if top > MAX_FINDING_TOP_PX else []


def code_first_problems(seen: dict) -> list[str]:
    return [f"code before the first finding: {c}" for c in seen["codeFirst"]]


LATER_CHECKS = {"figure text": figure_text_problems, "tables": table_problems, "length": length_problems,
                "finding": finding_problems, "code first": code_first_problems}


def _screenshot_stats(png: bytes) -> dict:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
    background = np.median(pixels.reshape(-1, 3), axis=0)
    return {"std": float(pixels.std()),
            "ink": float((np.abs(pixels - background).sum(-1) > 60).mean()),  # not (near) the background
            "colour": float((pixels.max(-1) - pixels.min(-1) > 40).mean()),  # coloured, not grey: curves
            "size": list(pixels.shape[1::-1])}


def _browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    # An explicit chromedriver: Selenium Manager would try to download one, and no machine here reaches the web.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    return driver


def _visit(driver, url: str, viewport: str) -> None:
    width, height = VIEWPORTS[viewport]
    # Exact CSS viewports (a window size would include the browser's frame); "mobile" makes the
    # page's viewport meta tag apply, as on a phone.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": viewport == "phone"})
    driver.get(url)
    settled = driver.execute_async_script(SETTLE)
    if settled != "ok":
        raise book.BookError(f"{url} at {viewport}: {settled}")


def _search(driver, html: Path, viewport: str) -> list[str]:
    """The result links of the built-in search page for "Mixer"."""
    _visit(driver, (html / "search.html").as_uri() + "?q=Mixer", viewport)
    summary = "#search-results .search-summary"
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        f"const s = document.querySelector('{summary}'); return s && s.textContent.trim().length > 0;"))
    return driver.execute_script("return [...document.querySelectorAll('#search-results li a')]"
                                 ".map(a => a.getAttribute('href'));")


def _spline_figures(driver, page: Path) -> list[dict]:
    """Chapter 5's edge-panel figures (``fig-ch5-edges-*``) as the browser decoded and drew them."""
    _visit(driver, page.as_uri(), "desktop")
    out = []
    for img in driver.find_elements("css selector", "figure[id^=\"fig-ch5-edges\"] img"):
        size = driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight];", img)
        out.append({"natural": size, **_screenshot_stats(base64.b64decode(img.screenshot_as_base64))})
    return out


def _png(src: str) -> bytes | None:
    """The bytes of an image the page loaded from a file or a data: URI (None for anything else)."""
    url = urlparse(src)
    if url.scheme == "data":
        return base64.b64decode(src.split(",", 1)[1]) if ";base64," in src.split(",", 1)[0] else None
    if url.scheme == "file" and Path(unquote(url.path)).is_file():
        return Path(unquote(url.path)).read_bytes()
    return None


def _figure_text(figures: list[dict]) -> list[dict]:
    """Each image's smallest text as shown: the size its PNG records (:func:`kanmix.page.figure_png`, in the PNG's
    pixels) times the displayed width over the natural width; ``px`` is None when the PNG records none."""
    out = []
    for fig in figures:
        data = _png(fig["src"])
        try:
            recorded = Image.open(io.BytesIO(data)).text.get(page.SMALLEST_TEXT_KEY) if data else None
        except (OSError, ValueError):  # not a PNG (an SVG, say): no record
            recorded = None
        recorded = float(recorded) if recorded else None
        px = recorded * fig["shown"] / fig["natural"] if recorded else None
        out.append({"label": fig["label"], "shown": fig["shown"], "natural": fig["natural"], "recorded": recorded,
                    "px": px})
    return out


def _see(driver, path: Path, viewport: str, shot: Path) -> dict:
    """INSPECT's report of one page at one viewport, with its figures' text sizes and its screenshot's statistics
    (the screenshot itself is kept as ``shot``)."""
    _visit(driver, path.as_uri(), viewport)
    report = driver.execute_script(INSPECT)
    report["figureText"] = _figure_text(report.pop("figures"))
    png = driver.get_screenshot_as_png()
    shot.write_bytes(png)
    return {**report, "shot": _screenshot_stats(png)}


def _look(html: Path, shots: Path) -> dict:
    pages = {name: html / "book" / f"{name}.html" for name in ["intro", *(c.stem for c in book.chapters())]}
    [ch5] = [c.stem for c in book.chapters() if c.number == "05"]
    probe = html / "book" / "_probe.html"  # beside the chapters, so its relative links resolve alike
    text = pages[ch5].read_text(encoding="utf-8")
    title = text.index("</h1>", text.index('<article class="bd-article"'))  # the chapter's title, in the column
    probe.write_text(text[:title] + "</h1>" + PROBE + text[title + len("</h1>"):], encoding="utf-8")
    driver = _browser()
    try:
        seen: dict = {"pages": {}, "search": {}}
        for viewport in VIEWPORTS:
            for name, path in {**pages, "_probe": probe}.items():
                seen["pages"][f"{name} @ {viewport}"] = _see(driver, path, viewport, shots / f"{name}-{viewport}.png")
            seen["search"][viewport] = _search(driver, html, viewport)
        seen["splines"] = _spline_figures(driver, pages[ch5])
    finally:
        driver.quit()
        probe.unlink()
    return seen


@pytest.fixture(scope="module")
def reader_view(built_book, tmp_path_factory) -> dict:  # noqa: F811
    """What the browser saw: ``pages["NAME @ VIEWPORT"]`` (INSPECT's report plus screenshot
    statistics), ``search[VIEWPORT]`` (result links) and ``splines`` (chapter 5's figures).
    Screenshots are kept as ``<session tmp>/screenshots/NAME-VIEWPORT.png`` for a look by eye."""
    def look(shared: Path) -> dict:
        shots = shared / "screenshots"
        shots.mkdir(exist_ok=True)
        return _look(built_book / "_build" / "html", shots)

    return once(tmp_path_factory, "kanmix-reader-view", look)


def _book_pages(seen: dict) -> dict:
    pages = {k: v for k, v in seen["pages"].items() if not k.startswith("_probe")}
    assert len(pages) == len(VIEWPORTS) * (1 + len(book.chapters())), sorted(pages)
    return pages


def test_nothing_is_wider_than_the_column_and_tables_scroll_in_their_own_box(reader_view):
    for name, seen in _book_pages(reader_view).items():
        width = VIEWPORTS[name.split(" @ ")[1]][0]
        # Against the requested width: a phone browser widens its viewport to fit a page that overflows.
        assert seen["pageWidth"] <= width and seen["viewport"] == width, (
            f"{name}: the page scrolls sideways ({seen['pageWidth']} px wide in a {width} px viewport)")
        assert not seen["tooWide"], f"{name}: wider than the {seen['column']} px content column and not " \
                                    f"in a scrolling box: {seen['tooWide'][:5]}"


def test_every_formula_is_typeset(reader_view):
    for name, seen in _book_pages(reader_view).items():
        assert not seen["rawMath"], f"{name}: raw TeX left in the text: {seen['rawMath'][:3]}"
        assert not seen["untypeset"], f"{name}: formulas MathJax did not typeset: {seen['untypeset'][:3]}"
        assert seen["mathErrors"] == 0, f"{name}: {seen['mathErrors']} MathJax error node(s)"
    # The test machines reach no CDN: typeset formulas prove the book's own MathJax copy loaded.
    [ch1] = [c.stem for c in book.chapters() if c.number == "01"]
    assert reader_view["pages"][f"{ch1} @ desktop"]["typeset"] >= 5


def test_every_image_loads_and_every_page_renders(reader_view):
    chapters = {c.stem for c in book.chapters()} - set(book.SUMMARIES)  # a summary page may have no figure
    for name, seen in _book_pages(reader_view).items():
        assert not seen["brokenImages"], f"{name}: images the browser could not load: {seen['brokenImages']}"
        if name.split(" @ ")[0] in chapters:
            assert seen["images"] > 0, f"{name}: a chapter without figures"
        assert seen["title"], f"{name}: no rendered <h1>"
        shot = seen["shot"]
        assert shot["size"] == list(VIEWPORTS[name.split(" @ ")[1]]), f"{name}: screenshot is {shot['size']}"
        assert shot["std"] > 10 and shot["ink"] > 0.02, f"{name}: the screenshot is (almost) blank: {shot}"


def test_no_inline_formula_scrolls(reader_view):
    for name, seen in _book_pages(reader_view).items():
        assert not seen["inlineMath"], f"{name}: inline formulas that scroll or are cut: {seen['inlineMath'][:3]}"


def test_every_image_has_alt_text_from_its_caption(reader_view):
    for name, seen in _book_pages(reader_view).items():
        assert not seen["badAlt"], f"{name}: images without alt text, or with a file path for it: {seen['badAlt'][:3]}"


def test_every_figure_opens_at_full_size(reader_view):
    for name, seen in _book_pages(reader_view).items():
        assert not seen["unlinked"], f"{name}: images that are no link to their full-size file: {seen['unlinked'][:3]}"


def test_search_finds_the_kan_mixers_chapter(reader_view):
    [ch3] = [c.stem for c in book.chapters() if c.number == "03"]
    for viewport, links in reader_view["search"].items():
        assert any(f"{ch3}.html" in link for link in links), f"search for 'Mixer' at {viewport} found {links}"


def test_spline_figures_of_chapter_5_are_drawn(reader_view):
    figures = reader_view["splines"]
    assert len(figures) >= 2, f"chapter 5 should show spline figures of a KAN-Mixer and a KAN autoencoder: {figures}"
    for fig in figures:
        width, height = fig["natural"]
        assert width >= 300 and height >= 200, f"a spline figure decoded to only {width}x{height} pixels"
        # Line art on white: a few percent of the figure is ink, a fraction of that the curves' colour.
        assert fig["ink"] > 0.01 and fig["colour"] > 0.001, f"a spline figure looks empty: {fig}"


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_checks_catch_a_wide_table_raw_math_and_a_broken_image(reader_view, viewport):
    # The probe is a chapter page with each defect injected; a check that passes it is no check.
    seen = reader_view["pages"][f"_probe @ {viewport}"]
    assert seen["pageWidth"] > VIEWPORTS[viewport][0], "the unwrapped wide table does not widen the page"
    assert any(w.startswith("table#probe-wide") for w in seen["tooWide"]), seen["tooWide"]
    assert any("$x^2$" in r for r in seen["rawMath"]), seen["rawMath"]
    assert seen["brokenImages"] == ["does-not-exist.png"], seen["brokenImages"]
    assert [m for m in seen["inlineMath"] if m.startswith("#probe-inline-scroll")], seen["inlineMath"]
    assert {"#probe-path-alt", "#probe-broken"} <= {a.split(" alt=")[0] for a in seen["badAlt"]}, seen["badAlt"]
    assert {"#probe-path-alt", "#probe-broken"} <= set(seen["unlinked"]), seen["unlinked"]


# ----------------------------------------------------------------------------- the probe book
# tests/probebook.py builds a few pages the real book's way in seconds, without executed chapters: probe_good
# passes every check, and each other probe fails the checks it names. `pytest tests/test_browser.py -k probe`
# runs only these.

PROBE_PAGES = ("probe_good", "probe_small_text", "probe_summary")


def _look_probes(html: Path, shots: Path) -> dict:
    pages = {name: html / "book" / f"{name}.html" for name in PROBE_PAGES}
    for name in probebook.DEFECTS:  # copies of probe_good with defects injected, beside it
        pages[name] = probebook.inject(pages["probe_good"], name)
    titles = {name: _article_title(pages[name]) for name in PROBE_PAGES}
    driver = _browser()
    try:
        seen = {f"{name} @ {viewport}": _see(driver, path, viewport, shots / f"{name}-{viewport}.png")
                for viewport in VIEWPORTS for name, path in pages.items()}
    finally:
        driver.quit()
    return {"pages": seen, "titles": titles, "html": str(html)}


def _article_title(path: Path) -> str:
    """The text of the page's <h1> as Sphinx wrote it (with its section number, when it has one)."""
    text = path.read_text(encoding="utf-8")
    start = text.index(">", text.index("<h1", text.index('<article class="bd-article"'))) + 1
    h1 = text[start:text.index("</h1>", start)]
    while "<" in h1:  # drop the tags (the section number's span, the headerlink)
        a = h1.index("<")
        h1 = h1[:a] + h1[h1.index(">", a) + 1:]
    return h1.replace("#", "").strip()


@pytest.fixture(scope="module")
def probe_view(tmp_path_factory) -> dict:
    """What the browser saw on the probe book's pages: ``pages["NAME @ VIEWPORT"]`` as in :func:`reader_view`,
    ``titles[NAME]`` and ``html`` (the built probe book). Screenshots are kept as
    ``<session tmp>/probe-screenshots/NAME-VIEWPORT.png``."""
    def look(shared: Path) -> dict:
        shots = shared / "probe-screenshots"
        shots.mkdir(exist_ok=True)
        return _look_probes(probebook.build(shared / "kanmix-probe-book"), shots)

    return once(tmp_path_factory, "kanmix-probe-view", look)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_probe_good_passes_every_check(probe_view, viewport):
    seen = probe_view["pages"][f"probe_good @ {viewport}"]
    assert seen["pageWidth"] <= VIEWPORTS[viewport][0] and not seen["tooWide"], seen["tooWide"]
    assert not seen["rawMath"] and not seen["untypeset"] and seen["mathErrors"] == 0
    assert seen["typeset"] >= 5 and seen["images"] == 1 and not seen["brokenImages"]
    assert not seen["inlineMath"], seen["inlineMath"]
    assert not seen["badAlt"], seen["badAlt"]
    assert not seen["unlinked"], seen["unlinked"]
    if viewport == "desktop":
        for check, problems in LATER_CHECKS.items():
            assert not problems(seen), f"{check}: {problems(seen)}"


def test_probe_figures_are_described_by_their_captions_and_link_to_their_files(probe_view):
    html = Path(probe_view["html"])
    text = (html / "book" / "probe_good.html").read_text(encoding="utf-8")
    figure = text[text.index('<figure'):text.index("</figure>")]
    # The caption's first part, without its provenance line, is the image's alt text.
    assert f'alt="{probebook.FIGURE_TEXT}"' in figure, figure
    href = figure.split('href="', 1)[1].split('"', 1)[0]
    src = figure.split('src="', 1)[1].split('"', 1)[0]
    assert href == src and href.startswith("../_images/") and (html / "book" / href).resolve().is_file()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_probe_the_inline_math_check_catches_a_formula_that_scrolls(probe_view, viewport):
    seen = probe_view["pages"][f"_probe_defects @ {viewport}"]
    assert [m for m in seen["inlineMath"] if m.startswith("#probe-inline-scroll")], seen["inlineMath"]
    if viewport == "phone":  # an inline formula too wide for a phone spills past the column, in plain sight
        assert any(w.startswith("span#probe-inline-wide") for w in seen["tooWide"]), seen["tooWide"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_probe_the_alt_and_link_checks_catch_paths_missing_alt_and_unlinked_images(probe_view, viewport):
    seen = probe_view["pages"][f"_probe_defects @ {viewport}"]
    assert {a.split(" alt=")[0] for a in seen["badAlt"]} == {"#probe-path-alt", "#probe-no-alt"}, seen["badAlt"]
    assert set(seen["unlinked"]) == {"#probe-path-alt", "#probe-no-alt"}, seen["unlinked"]


def test_probe_the_figure_text_check_catches_small_text(probe_view):
    good = probe_view["pages"]["probe_good @ desktop"]["figureText"]
    assert len(good) == 1 and good[0]["px"] >= MIN_FIGURE_TEXT_PX, good
    seen = probe_view["pages"]["probe_small_text @ desktop"]
    problems = figure_text_problems(seen)
    assert len(problems) == 1 and "smallest text" in problems[0], problems
    # A PNG that records nothing is reported too, rather than passed.
    unrecorded = figure_text_problems(probe_view["pages"]["_probe_defects @ desktop"])
    assert any("records no smallest text" in p for p in unrecorded), "an image without a record passed"


def test_probe_the_table_check_catches_a_wide_table_and_a_hidden_column(probe_view):
    problems = table_problems(probe_view["pages"]["_probe_defects @ desktop"])
    assert {p.split(":")[0] for p in problems} == {"#probe-wide-table", "#probe-hidden-column"}, problems
    assert any("hidden cell" in p for p in problems) and any("px wide in a" in p for p in problems), problems


def test_probe_the_length_check_catches_a_long_page(probe_view):
    assert length_problems(probe_view["pages"]["_probe_long @ desktop"])
    assert not finding_problems(probe_view["pages"]["_probe_long @ desktop"])  # the finding is still on top


def test_probe_the_finding_check_catches_a_finding_below_the_first_screen(probe_view):
    seen = probe_view["pages"]["_probe_low_finding @ desktop"]
    assert finding_problems(seen) and not length_problems(seen), (finding_problems(seen), seen["pageHeight"])
    # A page that marks no finding fails the check rather than passing it.
    assert finding_problems({"findingTop": None}) == ["no element marked .kanmix-finding"]


def test_probe_the_code_first_check_catches_code_above_the_finding(probe_view):
    seen = probe_view["pages"]["_probe_code_first @ desktop"]
    assert [p for p in code_first_problems(seen) if "#probe-code" in p], seen["codeFirst"]
    assert not finding_problems(seen)
    # probe_good shows a code cell too, below its finding: not reported.
    assert not code_first_problems(probe_view["pages"]["probe_good @ desktop"])


def test_probe_chapters_are_numbered_in_toc_order_and_the_summary_is_not(probe_view):
    titles = probe_view["titles"]
    assert titles["probe_good"] == "1. A probe chapter that passes", titles
    assert titles["probe_small_text"] == "2. A probe chapter with small figure text", titles
    assert titles["probe_summary"] == "Probe summary", titles
