"""PDF pages: join single-page PDF files (Graphviz's, one per frame or sheet) into one document.

Graphviz writes one PDF per graph. A handout needs them as the pages of one file, still vector.
This reads the classic cross-reference table that Graphviz's cairo writer produces, renumbers every
object of every file into one sequence, and writes one page tree over all the pages, dropping the
files' own catalogs, page trees and info dictionaries (so the result carries no creation date and
the same frames give the same bytes). Stream data is copied byte for byte; only the dictionaries
before it are renumbered. A file it cannot read (an encrypted one, or one with cross-reference
streams) raises :class:`~graphtrace.errors.RenderError`, so a caller can fall back to raster pages.
"""

from __future__ import annotations

__all__ = ["join_pdfs", "split_documents"]

import re
from collections.abc import Sequence

from .errors import RenderError
from .i18n import _

_REF = re.compile(rb"(\d+)\s+(\d+)\s+R\b")
_OBJ = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj\b")
_TYPE = re.compile(rb"/Type\s*/(Catalog|Pages|Page)\b")
_PARENT = re.compile(rb"/Parent\s+\d+\s+\d+\s+R")


def split_documents(data: bytes, magic: bytes) -> list[bytes]:
    """Split the output of a Graphviz run over several graphs (documents one after another) at
    each occurrence of ``magic`` at a document's start (``%PDF-``, ``<?xml``, the PNG signature).

    >>> split_documents(b"%PDF-a%PDF-b", b"%PDF-")
    [b'%PDF-a', b'%PDF-b']
    """
    starts = [m.start() for m in re.finditer(re.escape(magic), data)]
    if not starts or starts[0] != 0:
        raise RenderError(_("Graphviz wrote output that does not start as expected"))
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)], strict=True)]


def _objects(doc: bytes) -> tuple[dict[int, bytes], bytes]:
    """The in-use objects of one PDF by number (their text from ``N G obj`` to ``endobj``) and the
    trailer dictionary."""
    at = doc.rfind(b"startxref")
    if at < 0:
        raise RenderError(_("cannot join PDF pages: no cross-reference table"))
    try:
        xref_at = int(doc[at + 9:].split()[0])
    except (ValueError, IndexError):
        raise RenderError(_("cannot join PDF pages: a bad startxref")) from None
    if not doc.startswith(b"xref", xref_at):
        raise RenderError(_("cannot join PDF pages: cross-reference streams are not supported"))
    trailer_at = doc.find(b"trailer", xref_at)
    if trailer_at < 0:
        raise RenderError(_("cannot join PDF pages: no trailer"))
    tokens = doc[xref_at + 4:trailer_at].split()
    offsets: dict[int, int] = {}
    i = 0
    try:
        while i < len(tokens):
            first, count = int(tokens[i]), int(tokens[i + 1])
            i += 2
            for n in range(count):
                off, _gen, use = int(tokens[i]), int(tokens[i + 1]), tokens[i + 2]
                i += 3
                if use == b"n":
                    offsets[first + n] = off
    except (ValueError, IndexError):
        raise RenderError(_("cannot join PDF pages: a bad cross-reference table")) from None
    ordered = sorted(set(offsets.values()) | {xref_at})
    following = {a: b for a, b in zip(ordered, ordered[1:], strict=False)}
    objects: dict[int, bytes] = {}
    for num, off in offsets.items():
        chunk = doc[off:following.get(off, xref_at)]
        end = chunk.rfind(b"endobj")
        m = _OBJ.match(chunk)
        if end < 0 or m is None or int(m.group(1)) != num:
            raise RenderError(_("cannot join PDF pages: object {number} is not where the table says").format(
                number=num))
        objects[num] = chunk[m.end():end]
    trailer = doc[trailer_at:at]
    return objects, trailer


def _renumber(body: bytes, mapping: dict[int, int]) -> bytes:
    """References in the dictionary part of an object body renumbered (stream data untouched)."""
    at = body.find(b"stream")
    head, tail = (body, b"") if at < 0 else (body[:at], body[at:])

    def swap(m: re.Match[bytes]) -> bytes:
        new = mapping.get(int(m.group(1)))
        return m.group(0) if new is None else b"%d 0 R" % new

    return _REF.sub(swap, head) + tail


def join_pdfs(documents: Sequence[bytes]) -> bytes:
    """One PDF whose pages are the pages of ``documents``, in order.

    Raises:
        RenderError: a document is not a PDF this can read.
    """
    if not documents:
        raise RenderError(_("no pages to write"))
    version = re.match(rb"%PDF-(\d\.\d)", documents[0])
    out = bytearray(b"%PDF-" + (version.group(1) if version else b"1.5") + b"\n%\xb5\xed\xae\xfb\n")
    offsets: list[int] = []
    pages: list[int] = []
    bodies: list[bytes] = []
    next_num = 1
    for doc in documents:
        if not doc.startswith(b"%PDF-"):
            raise RenderError(_("cannot join PDF pages: a page is not a PDF"))
        objects, trailer = _objects(doc)
        info = re.search(rb"/Info\s+(\d+)\s+\d+\s+R", trailer)
        dropped = {int(info.group(1))} if info else set()
        kinds = {}
        for num, body in objects.items():
            t = _TYPE.search(body.split(b"stream", 1)[0])
            if t:
                kinds[num] = t.group(1)
                if t.group(1) in (b"Catalog", b"Pages"):
                    dropped.add(num)
        mapping = {}
        for num in sorted(objects):
            if num not in dropped:
                mapping[num] = next_num
                next_num += 1
        for num in sorted(mapping):
            bodies.append(_renumber(objects[num], mapping))
            if kinds.get(num) == b"Page":
                pages.append(mapping[num])
    if not pages:
        raise RenderError(_("cannot join PDF pages: the documents have no pages"))
    tree = next_num
    catalog = next_num + 1
    parent = b"/Parent %d 0 R" % tree
    for num, body in enumerate(bodies, 1):
        if num in pages:
            body = _PARENT.sub(parent, body)
        offsets.append(len(out))
        out += b"%d 0 obj" % num + body + b"endobj\n"
    kids = b" ".join(b"%d 0 R" % p for p in pages)
    offsets.append(len(out))
    out += b"%d 0 obj\n<< /Type /Pages /Kids [ %s ] /Count %d >>\nendobj\n" % (tree, kids, len(pages))
    offsets.append(len(out))
    out += b"%d 0 obj\n<< /Type /Catalog /Pages %d 0 R >>\nendobj\n" % (catalog, tree)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, catalog, xref)
    return bytes(out)
