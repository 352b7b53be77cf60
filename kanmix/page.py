"""What a chapter imports to show its results: tables and numbered figures under captions that carry provenance.

Every table and figure of the book names the profile, the device(s) and how many records are behind
it (:func:`provenance`), and the chapter ends with :func:`provenance_table`, which lists those records
(kinds, commits, wall time, hashes), so a number on the page can be traced to the run that made it.
:func:`figure` glues a numbered figure (myst-nb) with its caption; :func:`table` renders a
DataFrame formatted for reading (:func:`kanmix.report.format_table`) in a box that scrolls when
it is wider than the page. The build tool is :mod:`kanmix.book`.
"""

from __future__ import annotations

from collections.abc import Iterable


def short_hash(record: dict) -> str:
    return str(record.get("hash", "?"))[:8]


#: Every record a chapter's tables and figures named so far, each once, in first-seen order: what
#: :func:`provenance_table` lists at the chapter's end. A chapter runs in its own kernel, so this is one chapter's.
_SEEN: dict[str, dict] = {}


def _unclean(record: dict) -> bool:
    """Made from a tree with uncommitted changes, or outside git."""
    return record.get("provenance", {}).get("git", {}).get("dirty") is not False


def provenance(records: Iterable[dict], profile: str, *, source: str | None = None) -> str:
    """One short line under a table or figure: the profile, the device(s) and how many records it rests on.

    The records themselves (hashes, commits, wall time) are listed once, at the chapter's end, by
    :func:`provenance_table`, which gathers every record a line names. ``source`` describes numbers
    that come from neither the results store nor this notebook's own computation (e.g. a
    benchmark's JSON file); it replaces the device part when there are no records. A record made
    from a tree with uncommitted changes is flagged here, where every reader sees it.
    """
    from kanmix.report import count, distinct

    records = distinct(records)  # a record backing a table twice is counted once
    for r in records:
        _SEEN.setdefault(str(r.get("hash", id(r))), r)
    if not records and source:
        return f"profile `{profile}` · {source}"
    if not records:  # computed in the notebook itself, on this machine
        from kanmix.provenance import device_name

        return f"profile `{profile}` · device {device_name()} · computed in this notebook (no stored run)"
    devices = sorted({r.get("provenance", {}).get("device", "?") for r in records})
    line = f"profile `{profile}` · device {' / '.join(devices)} · {count(len(records), 'record')}"
    unclean = sum(_unclean(r) for r in records)
    if unclean:
        line += f" · ⚠ {unclean} of {len(records)} made from a tree with uncommitted changes (or outside git)"
    return line


def provenance_table(profile: str):
    """The chapter's provenance, for its end: per kind of record that its tables and figures named
    (:func:`provenance`), how many, on which device(s), from which commit(s), their wall time in all,
    and how many were made from a tree with uncommitted changes; then every record's hash, folded."""
    from IPython.display import HTML

    import pandas as pd

    from kanmix.report import format_table, listing

    records = list(_SEEN.values())
    if not records:
        return HTML(f"<p><small>Profile {profile}: nothing on this page comes from the results store.</small></p>")
    rows = {}
    for r in records:
        p = r.get("provenance", {})
        row = rows.setdefault(r.get("kind", "?"), {"records": 0, "devices": set(), "commits": set(), "wall": 0.0,
                                                  "uncommitted": 0})
        row["records"] += 1
        row["devices"].add(p.get("device", "?"))
        row["commits"].add(str(p.get("git", {}).get("commit") or "?")[:7])
        row["wall"] += float(p.get("wall_time_s") or 0.0)
        row["uncommitted"] += _unclean(r)
    df = pd.DataFrame([{"kind": kind, "records": v["records"], "device": listing(sorted(v["devices"])),
                        "commits": listing(sorted(v["commits"])), "wall time (h)": v["wall"] / 3600,
                        "uncommitted": v["uncommitted"]} for kind, v in rows.items()]).set_index("kind")
    hashes = ", ".join(short_hash(r) for r in records)
    return HTML(f'<div class="kanmix-table"><p class="kanmix-table-caption"><b>Provenance of this page (profile '
                f"{profile}): the records behind its tables and figures</b></p>"
                f'<div class="kanmix-table-scroll">{format_table(df, precision=3).style.to_html()}</div>'
                f"<details><summary>The {len(records):,} records' hashes (file names under results/&lt;kind&gt;/)"
                f"</summary><p><small>{hashes}</small></p></details></div>")


def findings(sentences: Iterable[str], *, key: str | None = None, show: bool = True):
    """Show a page's findings as one marked block (``kanmix-finding``, what the browser checks look for at the
    top of a page): a bulleted list of ``sentences``; with ``key``, also glued (Markdown) for another page to
    include (:func:`kanmix.book.write_findings`) or for the same page to show above the cell that computes them.

    A chapter states its finding first although its study runs further down: the finding is glued here with
    ``show=False`` and pasted by the chapter's first Markdown cell::

        ```{glue:md} KEY
        :format: myst
        ```
    """
    from IPython.display import Markdown, display
    from myst_nb import glue

    text = "```{container} kanmix-finding\n" + "\n".join(f"- {s}" for s in sentences) + "\n```"
    if key is not None:
        glue(key, Markdown(text), display=False)
    elif not show:
        raise ValueError("findings(show=False) needs a key to paste the findings by")
    if show:
        display(Markdown(text))


def caption(text: str, records: Iterable[dict], profile: str, *, source: str | None = None):
    """A Markdown caption to display under a figure or table: ``text`` plus its provenance."""
    from IPython.display import Markdown

    return Markdown(f"**{text}** <br><small>{provenance(records, profile, source=source)}</small>")


def figure(key: str, fig, text: str, records: Iterable[dict], profile: str, *, source: str | None = None):
    """Hand ``fig`` to the book as a numbered figure whose caption carries its provenance.

    Glues the figure as ``key`` and its caption (``text`` plus :func:`provenance`) as
    ``key + "_caption"`` (myst-nb's ``glue``); a Markdown cell places them with::

        ```{glue:figure} key
        :name: "fig-key"

        {glue:md}`key_caption`
        ```

    and prose links to it with ``{numref}`fig-key```, so the number is the book's, not typed.
    The figure is glued as a PNG at :data:`FIGURE_DPI` (:func:`figure_png`, which records its smallest
    text), so a figure drawn at most :data:`COLUMN_INCHES` wide shows at its natural size in the book's
    column and its text at the size it was drawn. It is also shown where it is made, for a reader running
    the notebook (the book's cell carries the ``remove-output`` tag), then closed.
    """
    import matplotlib.pyplot as plt
    from IPython.display import Image, Markdown
    from myst_nb import glue

    glue(key, Image(figure_png(fig, dpi=FIGURE_DPI)), display=True)
    glue(f"{key}_caption", Markdown(f"**{text}** <br><small>{provenance(records, profile, source=source)}</small>"),
         display=False)
    plt.close(fig)


#: Pixels per inch of the book's figures: one PNG pixel per CSS pixel, so a figure at most COLUMN_INCHES wide is
#: shown unscaled in the content column (688 px at a 1280 px window) and its text at its drawn size (9 pt: 12.5 px).
FIGURE_DPI = 100
COLUMN_INCHES = 6.88

#: The PNG text chunk in which :func:`figure_png` records the height of a figure's smallest text, in the PNG's own
#: pixels. tests/test_browser.py reads it to compute how large that text appears on the page.
SMALLEST_TEXT_KEY = "kanmix:smallest-text-px"


def figure_png(fig, *, dpi: float | None = None) -> bytes:
    """``fig`` as PNG bytes (tight bounding box, as the notebook's inline backend saves figures) that record the
    font size of its smallest visible text, in the PNG's pixels, under :data:`SMALLEST_TEXT_KEY`.

    A reader sees that text at ``size * displayed width / natural width`` CSS pixels; the browser test holds it to
    10 px at a desktop width. :func:`figure` glues every chapter figure this way.
    """
    import io

    from matplotlib.text import Text

    dpi = float(dpi or fig.dpi)
    fig.draw_without_rendering()  # lays the figure out, so its tick labels exist and have a place
    inside = fig.bbox
    sizes = [t.get_fontsize() for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and t.get_window_extent().overlaps(inside)]
    metadata = {SMALLEST_TEXT_KEY: f"{min(sizes) * dpi / 72:.2f}"} if sizes else {}
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, bbox_inches="tight", metadata=metadata)
    return out.getvalue()


def table(df, text: str, records: Iterable[dict], profile: str, *, precision: int = 4,
          names: dict | None = None, units: dict | None = None, percent: Iterable[str] = (),
          source: str | None = None):
    """A pandas DataFrame formatted for reading, under a caption that carries its provenance.

    The cells and headers are :func:`kanmix.report.format_table`'s (``precision`` significant
    digits for measurements, thousands separators for counts, the fractions in the ``percent``
    columns as percentages, ``names``/``units`` for the headers). The HTML is
    ``<div class="kanmix-table">`` holding the caption and then the table in a
    ``<div class="kanmix-table-scroll">``: with ``book/_static_src/kanmix.css`` the caption wraps
    inside the content column and a table wider than the column scrolls in its own box instead
    of being cut off.
    """
    from IPython.display import HTML

    from kanmix.report import format_table

    shown = format_table(df, names=names, units=units, precision=precision, percent=percent)
    note = provenance(records, profile, source=source).replace("`", "")
    body = f'<div class="kanmix-table-scroll">{shown.style.to_html()}</div>'
    if len(df) > FOLD_ROWS:  # a long table is there to be looked up, not read through: folded under its caption
        body = f"<details><summary>Show the {len(df):,} rows</summary>{body}</details>"
    return HTML(f'<div class="kanmix-table"><p class="kanmix-table-caption"><b>{text}</b><br><small>{note}</small></p>'
                f"{body}</div>")


#: Tables longer than this many rows are folded under their caption (:func:`table`).
FOLD_ROWS = 15
