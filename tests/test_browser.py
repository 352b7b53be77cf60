"""The built book in a real browser: headless Debian Chromium renders the intro and every chapter.

Screenshots must not be blank, and on chapter 5 the cells tagged ``spline-figure`` must hold
images the browser actually decoded. The book is the one ``tests/test_book.py`` builds (its
``built_book`` fixture is shared, so the chapters execute once per session).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kanmix import book
from test_book import built_book  # noqa: F401  (the shared, session-scoped fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian `chromium` is not installed (`apt-get install -y chromium`; .ci/run does it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

# Runs in the copied chapter-5 page: keep only the spline figures and report what loaded.
PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.querySelectorAll(".tag_spline-figure img")];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
  const status = document.createElement("pre");
  status.id = "kanmix-probe";
  status.textContent = `found=${imgs.length} decoded=${ok.length} ` +
    ok.map(i => `${i.naturalWidth}x${i.naturalHeight}`).join(",");
  document.body.replaceChildren(status, ...ok.map(i => {
    const c = i.cloneNode(); c.style.cssText = "display:block;width:1200px;margin:8px"; return c; }));
  document.body.style.background = "white";
});
</script>"""


def _chromium(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=timeout)


def _screenshot(page: Path, out: Path, height: int = 1600) -> np.ndarray:
    done = _chromium(f"--screenshot={out}", f"--window-size=1280,{height}", "--virtual-time-budget=5000",
                     page.as_uri())
    assert out.exists(), f"chromium wrote no screenshot of {page.name}: {done.stderr[-2000:]}"
    return np.asarray(Image.open(out).convert("RGB")).astype(np.int16)


def _ink(pixels: np.ndarray) -> float:
    """Fraction of pixels that are not (near) the page background."""
    background = np.median(pixels.reshape(-1, 3), axis=0)
    return float((np.abs(pixels - background).sum(-1) > 60).mean())


def _colour(pixels: np.ndarray) -> float:
    """Fraction of coloured (not grey) pixels: plotted curves, not text."""
    return float((pixels.max(-1) - pixels.min(-1) > 40).mean())


@pytest.fixture(scope="module")
def shots(built_book, tmp_path_factory) -> dict[str, np.ndarray]:  # noqa: F811
    html = built_book / "_build" / "html" / "book"
    out = tmp_path_factory.mktemp("screenshots")
    names = ["intro", *(c.stem for c in book.chapters())]
    return {name: _screenshot(html / f"{name}.html", out / f"{name}.png") for name in names}


def test_pages_render_non_blank(shots):
    for name, pixels in shots.items():
        assert pixels.shape[0] >= 1600 and pixels.shape[1] >= 1280, name
        assert pixels.std() > 10, f"{name}: the screenshot is a flat colour"
        assert _ink(pixels) > 0.02, f"{name}: the screenshot is almost empty ({_ink(pixels):.3f} ink)"


def test_chapter_titles_render(built_book):  # noqa: F811
    html = built_book / "_build" / "html" / "book"
    for ch in book.chapters():
        dom = _chromium("--dump-dom", "--virtual-time-budget=3000", (html / f"{ch.stem}.html").as_uri()).stdout
        assert re.search(r"<h1>[^<]+", dom), f"{ch.stem}: no rendered <h1> in the browser's DOM"


def test_spline_figures_present_on_chapter_5(built_book, tmp_path):  # noqa: F811
    [ch5] = [c for c in book.chapters() if c.number == "05"]
    page = built_book / "_build" / "html" / "book" / f"{ch5.stem}.html"
    probe = page.with_name(f"{ch5.stem}.probe.html")  # beside the page so relative image paths hold
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium("--dump-dom", "--virtual-time-budget=5000", probe.as_uri()).stdout
    found = re.search(r"found=(\d+) decoded=(\d+) ([\dx,]*)", dom)
    assert found, f"the probe did not run on {page.name}"
    n_found, n_decoded = int(found[1]), int(found[2])
    assert n_found >= 2, f"chapter 5 should show spline figures of a KAN-Mixer and a KAN autoencoder, found {n_found}"
    assert n_decoded == n_found, f"only {n_decoded} of {n_found} spline figures decoded in the browser"
    for size in found[3].split(","):
        w, h = map(int, size.split("x"))
        assert w >= 300 and h >= 200, f"a spline figure is only {size} pixels"
    pixels = _screenshot(probe, tmp_path / "ch5-splines.png", height=2400)
    # Line art on white: a few percent of the screenshot is ink, a fraction of that is the curves' colour.
    assert _ink(pixels) > 0.01 and _colour(pixels) > 0.001, (
        f"the rendered spline figures look empty (ink {_ink(pixels):.3f}, colour {_colour(pixels):.4f})")


def test_math_renders_offline_with_the_vendored_mathjax(built_book):  # noqa: F811
    # The test machine reaches no CDN, so typeset math proves the book's own MathJax copy loaded.
    [ch1] = [c for c in book.chapters() if c.number == "01"]
    page = built_book / "_build" / "html" / "book" / f"{ch1.stem}.html"
    assert "_static/mathjax/tex-chtml.js" in page.read_text(encoding="utf-8")
    dom = _chromium("--dump-dom", "--virtual-time-budget=10000", page.as_uri()).stdout
    typeset = dom.count("<mjx-container")
    assert typeset >= 5, f"{page.name}: MathJax typeset {typeset} formulas in the browser"
    assert "<mjx-merror" not in dom, f"{page.name}: MathJax reported a TeX error"
