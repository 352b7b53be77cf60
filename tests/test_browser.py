"""The built book as a reader sees it: Selenium drives Debian's headless Chromium (``chromium-driver``)
over every chapter page at a desktop (1280×900) and a phone (412×915) viewport.

On every page, at both sizes:
- nothing in the content column is wider than the column, unless it sits in a box that scrolls
  (a wide table scrolls inside its own box; it is never cut off, and the page never scrolls sideways);
- every formula is typeset by the book's own MathJax: no raw ``$``, ``\\(`` or ``\\[`` left in the
  text, no MathJax error node, every ``.math`` element holds a typeset formula;
- every image has loaded (``naturalWidth > 0``), the title renders, and the screenshot is not blank.
The search page finds the KAN-Mixers chapter for "Mixer", and chapter 5's spline figures decode
to plotted curves.

A probe page (a chapter with an unwrapped wide table, raw ``$`` text and a broken image injected)
shows that each check fails when it should. The browser visits every page once per session (the
``reader_view`` fixture, shared by xdist workers); the tests only read what it saw.
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bookutil import built_book, once  # noqa: F401  (built_book: the shared, session-scoped fixture)
from kanmix import book

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
};
"""

# Injected into the probe page: each piece is something one check above must catch.
PROBE = ('<table id="probe-wide"><tr>' + "".join(f"<td>column_{i}_of_a_wide_table</td>" for i in range(40))
         + "</tr></table><p>raw dollar math $x^2$ left untypeset</p>"
         + '<img id="probe-broken" src="does-not-exist.png" alt="">')


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
            for name, page in {**pages, "_probe": probe}.items():
                _visit(driver, page.as_uri(), viewport)
                report = driver.execute_script(INSPECT)
                png = driver.get_screenshot_as_png()
                (shots / f"{name}-{viewport}.png").write_bytes(png)
                seen["pages"][f"{name} @ {viewport}"] = {**report, "shot": _screenshot_stats(png)}
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
