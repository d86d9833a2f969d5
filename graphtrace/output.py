"""Output: choose a file format by extension and write a graph's drawing (or its explorer) there.

The one thin step after the pure ones, like the ``graphviz`` package keeps saving apart from DOT
building: ``.dot`` and ``.json`` are written without running Graphviz, images go through
:func:`graphtrace.render.render_bytes`, ``.html`` is the explorer's page; every file is written
atomically (:mod:`graphtrace.files`). Adding a format is one entry here.
"""

from __future__ import annotations

__all__ = ["FORMATS", "save", "format_of"]

import os
from typing import Any

from .dot import Drawing, draw
from .errors import UsageError
from .files import atomic_write
from .text import dumps

FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "dot", "json", "html")
"""Output formats by file extension: images through Graphviz, DOT and JSON written directly, and
HTML through the interactive explorer."""


def format_of(path: str | os.PathLike[str]) -> str:
    """The output format that ``path``'s extension names, or a UsageError naming the choices.

    >>> format_of("fig.SVG"), format_of("net.json")
    ('svg', 'json')
    """
    fmt = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(f"cannot write '{os.fspath(path)}': unknown output format "
                         f"'{'.' + fmt if fmt else '(no extension)'}'",
                         hint="use one of " + ", ".join("." + f for f in FORMATS))
    return fmt


def save(graph: Any, path: str | os.PathLike[str], *, backend: str = "auto", timeout: float | None = None,
         **options: Any) -> Drawing | None:
    """Draw ``graph`` into ``path``, the format chosen by its extension (see :data:`FORMATS`).

    Options are :func:`graphtrace.dot.to_dot`'s. Returns the drawing (None for ``.html``, which the
    explorer draws).

    >>> import tempfile, pathlib
    >>> from graphtrace import parse
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sq.dot"
    >>> save(parse("x: input = 3\\ny = x*x"), p).level
    'scalar'
    >>> p.read_text(encoding="utf-8").startswith("// graphtrace")
    True
    """
    fmt = format_of(path)
    if fmt == "html":
        from .explorer import write_html

        html_options = {k: v for k, v in options.items() if k != "wrt"}
        write_html(graph, path, wrt=options.get("wrt"), backend=backend, timeout=timeout, **html_options)
        return None
    drawing = draw(graph, **options)
    if fmt == "dot":
        data = drawing.dot().encode("utf-8")
    elif fmt == "json":
        data = (dumps(drawing.as_json()) + "\n").encode("utf-8")
    else:
        from .render import render_bytes

        data = render_bytes(drawing.dot(), fmt, backend=backend, timeout=timeout)
    atomic_write(path, data)
    return drawing
