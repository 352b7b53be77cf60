"""The book's own Sphinx extension (``_config.yml``: ``sphinx: extra_extensions``): figures a reader can open and
that a screen reader can describe.

Three changes to every page's document tree, made when Sphinx has resolved it (``doctree-resolved``, after myst-nb
has pasted the glued figures and their captions) and before it is written:

- **alt text from the caption.** An image inside a figure gets the figure's caption as its ``alt`` text
  (:func:`caption_alt`); docutils would otherwise write the image's file path there. An ``alt`` the source gave
  on purpose is kept.
- **chapters by number are links.** Every "chapter N" in a page's prose, typed or computed from the records,
  links to chapter N (:func:`chapter_docs` finds it by its file name), except in code, math, headings, links
  and on chapter N's own page.
- **full size on a click.** In HTML, every local image that is not a link already is wrapped in a link to its
  own file in ``_images/`` (what Sphinx itself does for scaled images, ``html_scaled_image_link``), so a
  figure shrunk to the content column opens at full size. Plain links: no script, works offline.

``tests/test_browser.py`` checks both in the built book, with probe pages that show the checks can fail.
"""

from __future__ import annotations

import posixpath
import re

from docutils import nodes

_BREAK = re.compile(r"^\s*<br\s*/?>\s*$", re.IGNORECASE)


def caption_alt(caption: nodes.Element) -> str:
    """The caption's text as alt text: what the figure shows, without its provenance.

    The book's captions (:func:`kanmix.page.figure`) are ``**what it shows** <br><small>provenance</small>``;
    the alt text is the text before the first ``<br>`` (raw HTML itself never counts), or the whole caption's
    text when that is empty. Whitespace is collapsed.
    """
    def text(children) -> str:
        return " ".join(" ".join(c.astext() for c in children if not isinstance(c, nodes.raw)).split())

    head = []
    for child in caption.children:
        if isinstance(child, nodes.raw) and _BREAK.match(child.astext()):
            break
        head.append(child)
    return text(head) or text(caption.children)


def _alt_from_captions(doctree: nodes.document) -> None:
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        alt = caption_alt(captions[0])
        if not alt:
            continue
        for image in figure.findall(nodes.image):
            if not image.get("alt") or image.get("alt") == image.get("uri"):
                image["alt"] = alt


def _image_file(builder, image: nodes.image) -> str | None:
    """The source path (a key of ``env.images``) the builder will copy to ``_images/`` for ``image``."""
    candidates = image.get("candidates", {})
    if "?" in candidates:  # a remote image: nothing to link to here
        return None
    uri = candidates.get("*")
    if uri is None:  # several formats (image.*): the one the builder picks, as Builder.post_process_images
        uri = next((candidates[t] for t in builder.supported_image_types if t in candidates), None)
    return uri if uri in builder.env.images else None


def _link_full_size(app, doctree: nodes.document, docname: str) -> None:
    from sphinx.util.osutil import relative_uri

    builder = app.builder
    imgpath = relative_uri(builder.get_target_uri(docname), builder.imagedir)
    for image in list(doctree.findall(nodes.image)):
        if isinstance(image.parent, nodes.reference):
            continue  # already a link (an image with :target:)
        source = _image_file(builder, image)
        if source is None:
            continue
        link = nodes.reference("", "", internal=True, classes=["kanmix-full-size"],
                               refuri=posixpath.join(imgpath, builder.env.images[source][1]))
        image.replace_self(link)
        link.append(image)


#: "chapter 3", "Chapters 4": a chapter named by its number in prose, typed or computed.
_CHAPTER = re.compile(r"\b([Cc]hapters?) ([1-9])\b")
#: Where a mention is left as it is: already a link, code, math, or a heading.
_NO_LINK = (nodes.reference, nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.title,
            nodes.raw, nodes.caption)


def chapter_docs(docnames) -> dict[str, str]:
    """Chapter number -> its document (``"3" -> "book/03_kan_mixers"``), from the numbered file names."""
    found = {}
    for doc in docnames:
        m = re.fullmatch(r"book/0?([1-9])_\w+", doc)
        if m:
            found[m.group(1)] = doc
    return found


def _link_chapters(app, doctree: nodes.document, docname: str) -> None:
    """Every "chapter N" in the page's prose becomes a link to chapter N (not on chapter N's own page)."""
    targets = chapter_docs(app.env.found_docs)
    for text in list(doctree.findall(nodes.Text)):
        parent = text.parent
        if parent is None or any(isinstance(a, _NO_LINK) for a in _ancestors(text)):
            continue
        pieces, last, source = [], 0, text.astext()
        for m in _CHAPTER.finditer(source):
            target = targets.get(m.group(2))
            if target is None or target == docname:
                continue
            pieces += [nodes.Text(source[last:m.start()]),
                       nodes.reference("", m.group(0), internal=True,
                                       refuri=app.builder.get_relative_uri(docname, target))]
            last = m.end()
        if pieces:
            pieces.append(nodes.Text(source[last:]))
            parent.replace(text, [p for p in pieces if not (isinstance(p, nodes.Text) and not p.astext())])


def _ancestors(node: nodes.Node):
    while node.parent is not None:
        node = node.parent
        yield node


def _resolved(app, doctree: nodes.document, docname: str) -> None:
    _alt_from_captions(doctree)
    if app.builder.format == "html" and hasattr(app.builder, "imagedir"):
        _link_full_size(app, doctree, docname)
        _link_chapters(app, doctree, docname)


def setup(app):
    app.connect("doctree-resolved", _resolved)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
