"""Output: choose a file format by extension and write a graph's drawing (or its explorer) there.

The one thin step after the pure ones, like the ``graphviz`` package keeps saving apart from DOT
building: ``.dot`` and ``.json`` are written without running Graphviz, images go through
:func:`graphtrace.render.render_bytes`, ``.html`` is the explorer's page; every file is written
atomically (:mod:`graphtrace.files`). Adding a format is one entry here.
"""

from __future__ import annotations

__all__ = ["FORMATS", "FITS", "Target", "Fit", "save", "format_of", "fit_drawing", "measure"]

import json
import os
from dataclasses import dataclass
from typing import Any

from .dot import Drawing, check_layout_work, draw
from .errors import UsageError
from .files import atomic_write
from .i18n import _
from .text import dumps

FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "dot", "json", "html", "tex")
"""Output formats by file extension: images through Graphviz, DOT and JSON written directly,
HTML through the interactive explorer, and LaTeX (a TikZ picture on Graphviz's layout, or with
``beamer=True`` a Beamer frame of the steps: :func:`graphtrace.slides.write_tex`)."""


_XDOT_FONT = "F"  # Graphviz's xdot drawing command that sets the font (and its size) of the text after it


def format_of(path: str | os.PathLike[str]) -> str:
    """The output format that ``path``'s extension names, or a UsageError naming the choices.

    >>> format_of("fig.SVG"), format_of("net.json")
    ('svg', 'json')
    """
    fmt = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(_("cannot write '{path}': unknown output format '{ext}'").format(
                             path=os.fspath(path), ext="." + fmt if fmt else _("(no extension)")),
                         hint=_("use one of {formats}").format(formats=", ".join("." + f for f in FORMATS)))
    return fmt


@dataclass(frozen=True)
class Target:
    """A page a drawing is fitted to: its size, the resolution of a PNG of it, the smallest text
    that stays legible on it, and a margin.

    ``slide``: 16:9 at 1920×1080 px, where the smallest text must be 12 px high (9 points at
    96 dpi); ``a4``: a handout page, portrait or landscape, printed text at least 7 points.
    """

    name: str
    width_in: float
    height_in: float
    dpi: float
    min_text_pt: float
    margin_in: float
    turns: bool  # may be used on its side (a sheet of paper), not a screen

    def px(self, points: float, scale: float = 1.0) -> float:
        """``points`` of text drawn at ``scale`` on this page, in pixels at its resolution."""
        return points / 72 * scale * self.dpi


FITS: dict[str, Target] = {
    "slide": Target("slide", 20.0, 11.25, 96.0, 9.0, 0.25, False),
    "a4": Target("a4", 8.27, 11.69, 300.0, 7.0, 0.4, True),
}
"""The pages ``--fit`` knows: a 16:9 slide (1920×1080 px) and an A4 handout."""

_MAX_SCALE = 2.0  # a small drawing is enlarged at most this much: a slide is not a poster
_RANKDIRS = ("LR", "TB")


@dataclass
class Fit:
    """What :func:`fit_drawing` chose: the drawing (with its page attributes set), the page's
    orientation, the scale and the smallest text on the page (points and pixels)."""

    drawing: Drawing
    target: Target
    width_in: float
    height_in: float
    scale: float
    min_text_pt: float
    min_text_px: float
    legible: bool
    laid_out: tuple[float, float] = (0.0, 0.0)  # the drawing's own size in inches, before scaling

    def note(self) -> str:
        w_px, h_px = round(self.width_in * self.target.dpi), round(self.height_in * self.target.dpi)
        return _("fit {target}: {level} level, rankdir {rankdir}, {w}×{h} px; smallest text {smallest} px (at least "
                 "{wanted} px wanted)").format(target=self.target.name, level=self.drawing.level,
                                               rankdir=self.drawing.rankdir, w=w_px, h=h_px,
                                               smallest=f"{self.min_text_px:.1f}",
                                               wanted=f"{self.target.px(self.target.min_text_pt):.0f}")


def measure(dot_text: str, *, backend: str = "auto", timeout: float | None = None) -> tuple[float, float, float]:
    """Lay ``dot_text`` out once (Graphviz ``-Tjson``) and read back the drawing's width and height
    in inches (its bounding box, without the pad) and its smallest font size in points.

    >>> w, h, smallest = measure('digraph { a [fontsize=9] ; a -> b }')
    >>> 0.5 < w < h < 3, smallest
    (True, 9.0)
    """
    from .render import layout

    doc = json.loads(layout(dot_text, "json", backend=backend, timeout=timeout).decode("utf-8"))
    x0, y0, x1, y1 = (float(v) for v in str(doc["bb"]).split(","))
    sizes: list[float] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            for key, value in obj.items():
                if key.startswith("_") and key.endswith("draw_") and isinstance(value, list):
                    sizes.extend(float(cmd["size"]) for cmd in value
                                 if isinstance(cmd, dict) and cmd.get("op") == _XDOT_FONT)
                else:
                    walk(value)
        elif isinstance(obj, list):
            for item in obj:
                walk(item)

    walk(doc)
    return (x1 - x0) / 72, (y1 - y0) / 72, min(sizes, default=14.0)


def fit_drawing(graph: Any, target: Target | str, *, backend: str = "auto", timeout: float | None = None,
                **options: Any) -> Fit:
    """Choose the level and rank direction that fit ``graph`` onto ``target`` with its smallest text
    legible, and size the drawing to fill the page (16:9 for a slide; portrait or landscape A4).

    Levels are tried finest first (every op, one node per neuron, per layer; or per array), each in
    both rank directions, laid out by Graphviz and measured (:func:`measure`); the first level
    whose smallest text reaches the target's minimum wins, in the direction that makes its text
    larger (on a slide a long chain of layers reads better top to bottom, a wide layer left to right). A level the
    user named (``level=``) is the only one tried. When nothing reaches the minimum, the most
    legible candidate is drawn and :attr:`Fit.legible` is False (the note says how small).

    The drawing gets ``size`` (the page, with ``!``: a small drawing is enlarged, up to 2×) and ``pad``
    (the margins that centre it at the chosen scale): the picture is exactly the page.
    """
    from .dot import candidate_levels, with_layers

    if isinstance(target, str):
        if target not in FITS:
            raise UsageError(_("unknown --fit '{target}'; choose one of {names}").format(target=target, names=", ".join(FITS)))
        target = FITS[target]
    level = options.pop("level", "auto")
    options.pop("rankdir", None)
    graph = with_layers(graph)  # once: every candidate drawing reads the same annotated copy
    results = graph.analyse(options.get("values"), wrt=options.get("wrt"), heat=options.get("heat", False),
                            top=options.get("top", 5))
    levels = candidate_levels(graph, show_consts=options.get("show_consts", False)) if level == "auto" else [level]
    pages = [(target.width_in, target.height_in)]
    if target.turns:
        pages.append((target.height_in, target.width_in))
    best: Fit | None = None
    for lv in levels:
        found: Fit | None = None
        for rankdir in _RANKDIRS:
            d = draw(graph, results, level=lv, rankdir=rankdir, **options)
            for page in pages:
                guess = _scale(d.estimated_size(), page, target)
                if 9.0 * guess < 0.5 * target.min_text_pt and lv != levels[-1]:
                    continue  # hopeless even if the guess is off by half: no layout needed
                check_layout_work(d)
                w, h, smallest = measure(d.dot(), backend=backend, timeout=timeout)
                scale = _scale((w, h), page, target)
                text = smallest * scale
                fit = Fit(d, target, page[0], page[1], scale, text, target.px(text),
                          text >= target.min_text_pt - 1e-9, (w, h))
                if found is None or (fit.legible, fit.min_text_pt) > (found.legible, found.min_text_pt):
                    found = fit
        if found is not None and (best is None or (found.legible, found.min_text_pt) > (best.legible, best.min_text_pt)):
            best = found
        if best is not None and best.legible:
            break
    if best is None:
        raise UsageError(_("nothing to fit onto the {target}").format(target=target.name))
    d = best.drawing
    w, h = best.laid_out
    # Graphviz scales the drawing and its pad together until they fill ``size``: with this pad (in
    # the drawing's own inches) the scale is exactly ``best.scale`` and the page exactly the target's.
    d.page = {"size": f"{best.width_in:.4f},{best.height_in:.4f}!",
              "pad": f"{(best.width_in / best.scale - w) / 2:.4f},{(best.height_in / best.scale - h) / 2:.4f}"}
    d.notes.append(best.note())
    if not best.legible:
        d.notes.append(_("warning: on the {target} its smallest text is {smallest} px, under the {wanted} px that "
                         "stay legible; draw a part of it with --of NAME").format(
            target=target.name, smallest=f"{best.min_text_px:.1f}", wanted=f"{target.px(target.min_text_pt):.0f}"))
    return best


def _scale(size: tuple[float, float], page: tuple[float, float], target: Target) -> float:
    w, h = size
    usable_w, usable_h = page[0] - 2 * target.margin_in, page[1] - 2 * target.margin_in
    if w <= 0 or h <= 0:
        return 1.0
    return min(usable_w / w, usable_h / h, _MAX_SCALE)


def save(graph: Any, path: str | os.PathLike[str], *, backend: str = "auto", timeout: float | None = None,
         fit: str | None = None, **options: Any) -> Drawing | None:
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
    beamer = options.pop("beamer", False)
    if beamer and fmt != "tex":
        raise UsageError(_("--beamer writes a LaTeX Beamer frame: give -o FILE.tex"))
    if fmt == "tex":
        if fit is not None:
            raise UsageError(_("--fit sizes a picture for a page; a .tex picture is scaled in LaTeX"))
        from .slides import write_tex

        return write_tex(graph, path, beamer=beamer, backend=backend, timeout=timeout, **options)
    if fit is not None:
        if fmt in ("html", "json"):
            raise UsageError(_("--fit sizes a picture for a page: write .svg, .png, .pdf or .dot, not .{format}").format(
                format=fmt))
        fitted = fit_drawing(graph, fit, backend=backend, timeout=timeout, **options)
        drawing = fitted.drawing
        if fmt == "dot":
            data = drawing.dot().encode("utf-8")
        else:
            from .render import render_bytes

            data = render_bytes(drawing.dot(), fmt, backend=backend, timeout=timeout,
                                dpi=fitted.target.dpi if fmt == "png" else None)
        atomic_write(path, data)
        return drawing
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

        check_layout_work(drawing)
        data = render_bytes(drawing.dot(), fmt, backend=backend, timeout=timeout)
    atomic_write(path, data)
    return drawing
