"""What a chapter imports to show its results: tables and numbered figures under captions that carry provenance.

Every table and figure of the book names the profile, the device(s) and the record hashes behind
it (:func:`provenance`), so a number on the page can be traced to the run that made it.
:func:`figure` glues a numbered figure (myst-nb) with its caption; :func:`table` renders a
DataFrame formatted for reading (:func:`kanmix.report.format_table`) in a box that scrolls when
it is wider than the page. The build tool is :mod:`kanmix.book`.
"""

from __future__ import annotations

from collections.abc import Iterable


def short_hash(record: dict) -> str:
    return str(record.get("hash", "?"))[:8]


def provenance(records: Iterable[dict], profile: str, *, source: str | None = None) -> str:
    """One line naming the profile, the device(s) and the record hashes behind a table or figure.

    ``source`` describes numbers that come from neither the results store nor this notebook's
    own computation (e.g. a benchmark's JSON file); it replaces the device part when there are
    no records.
    """
    from kanmix.report import distinct

    records = distinct(records)  # a record backing a table twice is named once
    if not records and source:
        return f"profile `{profile}` · {source}"
    if not records:  # computed in the notebook itself, on this machine
        from kanmix.provenance import device_name

        return f"profile `{profile}` · device {device_name()} · computed in this notebook (no stored run)"
    devices = sorted({r.get("provenance", {}).get("device", "?") for r in records})
    hashes = [short_hash(r) for r in records]
    shown = ", ".join(hashes[:6]) + (f" and {len(hashes) - 6} more" if len(hashes) > 6 else "")
    plural = "s" if len(hashes) != 1 else ""
    line = f"profile `{profile}` · device {' / '.join(devices)} · record{plural} {shown}"
    commits = sorted({str(r.get("provenance", {}).get("git", {}).get("commit") or "?")[:7] for r in records})
    line += f" · commit {', '.join(commits)}"
    unclean = [short_hash(r) for r in records if r.get("provenance", {}).get("git", {}).get("dirty") is not False]
    if unclean:
        line += (f" · ⚠ {len(unclean)} of {len(records)} made from a tree with uncommitted changes "
                 f"(or outside git): {', '.join(unclean[:4])}{' ...' if len(unclean) > 4 else ''}")
    return line


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
    The figure is also shown where it is made, for a reader running the notebook (the book's
    cell carries the ``remove-output`` tag), then closed.
    """
    import matplotlib.pyplot as plt
    from IPython.display import Markdown
    from myst_nb import glue

    glue(key, fig, display=True)
    glue(f"{key}_caption", Markdown(f"**{text}** <br><small>{provenance(records, profile, source=source)}</small>"),
         display=False)
    plt.close(fig)


#: The PNG text chunk in which :func:`figure_png` records the height of a figure's smallest text, in the PNG's own
#: pixels. tests/test_browser.py reads it to compute how large that text appears on the page.
SMALLEST_TEXT_KEY = "kanmix:smallest-text-px"


def figure_png(fig, *, dpi: float | None = None) -> bytes:
    """``fig`` as PNG bytes (tight bounding box, as the notebook's inline backend saves figures) that record the
    font size of its smallest visible text, in the PNG's pixels, under :data:`SMALLEST_TEXT_KEY`.

    A reader sees that text at ``size * displayed width / natural width`` CSS pixels; the browser test holds it to
    10 px at a desktop width. Not used by :func:`figure` yet: gluing ``IPython.display.Image(figure_png(fig))``
    instead of the Figure is how a chapter's figures would carry the number.
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
    return HTML(f'<div class="kanmix-table"><p class="kanmix-table-caption"><b>{text}</b><br><small>{note}</small></p>'
                f'<div class="kanmix-table-scroll">{shown.style.to_html()}</div></div>')

