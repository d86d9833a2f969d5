"""Slides: the explorer's steps as pictures (frames, GIF, animated PNG or SVG, a PDF handout) and LaTeX.

The graph is laid out once (Graphviz ``-Tjson``, read by :mod:`graphtrace.placement`); every frame
is the same drawing restyled for its step (values not yet computed shown as ``?``, gradients as far
as they are known, the current node and edge coloured as the page colours them) with every node and
edge pinned where that one layout put them, plus the step's sentences (:mod:`graphtrace.steps`)
in a box of fixed size below. So nodes never move from frame to frame, and all frames have the same
size. One Graphviz run draws all the frames of one format. Pillow (which matplotlib already needs)
joins PNG frames into a GIF or an animated PNG; PDF pages are Graphviz's own vector pages joined by
:mod:`graphtrace.pdf`, or, without the system Graphviz (the bundled one writes no PDF), PNG pages.
:func:`write_tex` puts the same layout and steps into LaTeX (:mod:`graphtrace.tikz`).
"""

from __future__ import annotations

__all__ = ["KINDS", "MAX_FRAMES", "Frames", "StepsResult", "StepSequence", "kind_of", "step_sequence",
           "build_frames", "write_steps", "steps_markdown", "write_tex", "captioned_pages", "draw_pages",
           "pdf_document"]

import io
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .dot import Drawing, check_layout_work, draw, quote
from .errors import LimitError, RenderError, UsageError, env_limit
from .explorer import build_model
from .files import atomic_write
from .i18n import _
from .pdf import join_pdfs, split_documents
from .placement import Placement, pin, read_layout
from .render import choose_backend, layout, png_dpi_for
from .results import Analysis
from .steps import BACK_COLOR, State, StepText, build_steps, restyle, show_step, states

KINDS: tuple[str, ...] = ("folder", "gif", "apng", "svg", "pdf")
"""What ``graphtrace steps -o OUT`` writes, by OUT's extension: none (a folder), ``.gif``, ``.png``
(animated PNG), ``.svg`` (animated SVG), ``.pdf`` (a handout)."""

MAX_FRAMES = 600
"""The most frames one run draws, unless ``GRAPHTRACE_MAX_FRAMES`` says otherwise."""

_GAP = 14.0  # points between the graph and the caption
_FRAME_DPI = 96.0
_FRAME_MAX_SIDE = 4096
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


_CAPTION_STYLE = {"phase": ("<b>", "</b>", "13", "#1d2330"), "formula": ("", "", "12", "#1d2330"),
                  "text": ("", "", "11", "#444444"), "fanout": ("<b>", "</b>", "11", BACK_COLOR),
                  "source": ("", "", "10", "#5f6b7a"), "hint": ("", "", "10", "#777777")}


def kind_of(out: str | os.PathLike[str]) -> str:
    """What OUT's extension asks ``steps`` to write (see :data:`KINDS`).

    >>> kind_of("n.gif"), kind_of("n.png"), kind_of("n.SVG"), kind_of("n.pdf"), kind_of("frames")
    ('gif', 'apng', 'svg', 'pdf', 'folder')
    """
    ext = os.path.splitext(os.fspath(out).rstrip("/\\"))[1].lower()
    if not ext or os.path.isdir(out):
        return "folder"
    kinds = {".gif": "gif", ".png": "apng", ".svg": "svg", ".pdf": "pdf"}
    if ext not in kinds:
        raise UsageError(_("cannot write steps to '{out}': unknown output format '{ext}'").format(
            out=os.fspath(out), ext=ext),
            hint=_("use a folder name (no extension), .gif, .png (animated), .svg (animated) or .pdf"))
    return kinds[ext]


@dataclass
class Frames:
    """The frames of one step sequence, before any picture is drawn.

    Attributes:
        dots: one pinned DOT text per frame.
        texts: each frame's step as text (heading and lines).
        numbers: each frame's step number in the whole sequence (1-based) and the sequence's length.
        placement: the one layout every frame uses.
        size: a frame's width and height in points.
        intro: the start (step 0: the inputs and params, nothing computed yet), which has no frame.
    """

    dots: list[str]
    texts: list[StepText]
    numbers: list[tuple[int, int]]
    placement: Placement
    size: tuple[float, float]
    intro: StepText | None = None
    title: str = ""


@dataclass
class StepsResult:
    """What :func:`write_steps` wrote: the path, the kind, how many frames and files, and for a PDF
    whether its pages are vector (``"vector"``) or pictures (``"raster"``) and why."""

    path: str
    kind: str
    frames: int
    files: list[str] = field(default_factory=list)
    pages: str | None = None
    note: str | None = None


def _caption_rows(text: StepText, number: tuple[int, int]) -> list[tuple[str, str]]:
    head = _("Step {k} of {n} · {phase}").format(k=number[0], n=number[1], phase=text.phase)
    return [("phase", head)] + list(text.lines)


def _caption_label(rows: Sequence[tuple[str, str]], n_rows: int, width: float | None) -> str:
    cells = []
    for kind, line in rows:
        start, end, size, colour = _CAPTION_STYLE.get(kind, _CAPTION_STYLE["text"])
        body = quote(line, html_text=True) or " "
        cells.append(f'<tr><td align="left" balign="left"><font point-size="{size}" color="{colour}">'
                     f"{start}{body}{end}</font></td></tr>")
    cells += ['<tr><td><font point-size="12"> </font></td></tr>'] * (n_rows - len(rows))
    w = f' width="{int(math.ceil(width))}"' if width else ""
    return f'<table border="0" cellspacing="0" cellpadding="1"{w}>' + "".join(cells) + "</table>"


def _with_caption(dot_text: str, label: str, placement: Placement, cap_w: float, cap_h: float) -> str:
    """The frame's DOT with the caption pinned below the graph and two invisible corners that fix
    the frame's size (``neato -n2`` sizes the picture by what it holds)."""
    x0, y0, x1, y1 = placement.bb
    cx = x0 + cap_w / 2
    cy = y0 - _GAP - cap_h / 2
    bottom = y0 - _GAP - cap_h
    right = x0 + max(cap_w, x1 - x0)
    stmts = [
        f'  "gt-caption" [shape="plain", pos="{cx:.2f},{cy:.2f}!", width="{cap_w / 72:.4f}", '
        f'height="{cap_h / 72:.4f}", fixedsize="true", label=<{label}>]',
        f'  "gt-corner-1" [shape="point", style="invis", width="0", height="0", pos="{x0:.2f},{y1:.2f}!"]',
        f'  "gt-corner-2" [shape="point", style="invis", width="0", height="0", pos="{right:.2f},{bottom:.2f}!"]',
    ]
    body = dot_text.rstrip()
    if not body.endswith("}"):
        raise RenderError(_("a drawing's DOT text does not end with '{brace}'").format(brace="}"))
    return body[:-1] + "\n".join(stmts) + "\n}\n"


@dataclass
class StepSequence:
    """The steps one run shows, with everything needed to draw them.

    Attributes:
        model: the explorer's page model (node and edge indices, display names).
        steps: the chosen steps, in order; ``states``, ``texts`` and ``numbers`` go with them
            (the state after each step, its sentences, and its number in the whole walk with the
            walk's length, as the page counts them).
        intro: the start (step 0: the inputs and params, nothing computed yet), which has no frame.
    """

    model: dict[str, Any]
    steps: list[dict[str, Any]]
    states: list[State]
    texts: list[StepText]
    numbers: list[tuple[int, int]]
    intro: StepText


def step_sequence(graph: Any, results: Analysis, *, wrt: Any = None, only: str | None = None) -> StepSequence:
    """The explorer's steps for ``graph`` (its page's own list), as chosen by ``wrt`` and ``only``.

    Args:
        graph: the parsed graph.
        results: its computed values and gradients.
        wrt: keep only the backward steps on this node's paths to the output.
        only: ``forward`` (the forward steps) or ``backward`` (the seed, the backward steps and
            done), or None for every step after the start.
    """
    if only not in (None, "forward", "backward"):
        raise UsageError(_("unknown --only '{only}'; choose forward or backward").format(only=only))
    model = build_model(graph, results)
    order = list(results.forward.order)
    index = {v: i for i, v in enumerate(order)}
    steps = model["steps"]
    if wrt is not None:
        steps = build_steps(model, wrt=index[wrt])
    locals_ = [results.forward.locals[(order[e["tail"]], order[e["head"]], e["slot"])] for e in model["edges"]]
    values_ = [results.forward.values[v] for v in order]
    all_states = states(model, steps, locals_)
    # The explorer counts "step 0 / N" (the start, nothing computed yet) to "step N / N": a frame
    # per step 1 … N, numbered as the page numbers them; the start's sentences open steps.md.
    chosen = [k for k, s in enumerate(steps)
              if (only is None and s["type"] != "start")
              or (only == "forward" and s["type"] == "forward")
              or (only == "backward" and s["type"] in ("seed", "backward", "done"))]
    limit = env_limit("GRAPHTRACE_MAX_FRAMES", MAX_FRAMES)
    if len(chosen) > limit:
        raise LimitError(_("{n} steps are too many frames to draw (limit {limit})").format(
            n=f"{len(chosen):,}", limit=f"{limit:,}"),
            hint=_("draw a part: --only forward, --only backward, --wrt NAME for one param's paths, "
                   "or --of NAME; raise the limit with GRAPHTRACE_MAX_FRAMES"))
    return StepSequence(
        model, [steps[k] for k in chosen], [all_states[k] for k in chosen],
        [show_step(model, steps[k], all_states[k], values_, locals_) for k in chosen],
        [(k, len(steps) - 1) for k in chosen],
        show_step(model, steps[0], all_states[0], values_, locals_))


def build_frames(graph: Any, results: Analysis | None = None, *, values: Mapping[Any, Any] | None = None,
                 wrt: Any = None, only: str | None = None, backend: str = "auto",
                 timeout: float | None = None) -> Frames:
    """The pinned DOT of every frame of the explorer's steps for ``graph`` (one Graphviz layout).

    Args:
        graph: the parsed graph.
        results: its computed values and gradients (default: ``graph.analyse(values)``).
        values: overrides for inputs and params (as ``--set``), when ``results`` is not given.
        wrt, only: which steps (see :func:`step_sequence`).
        backend, timeout: for the layouts (see :func:`graphtrace.render.layout`).
    """
    if results is None:
        results = graph.analyse(values)
    seq = step_sequence(graph, results, wrt=wrt, only=only)
    if not seq.steps:
        raise UsageError(_("there are no steps to draw"))
    drawing = draw(graph, results, view="both", level="scalar", legend=False)
    rows = [_caption_rows(t, n) for t, n in zip(seq.texts, seq.numbers, strict=True)]
    styled = [restyle(drawing, seq.model, step, state) for step, state in zip(seq.steps, seq.states, strict=True)]
    dots, placement, size = captioned_pages(drawing, styled, rows, backend=backend, timeout=timeout)
    return Frames(dots, seq.texts, seq.numbers, placement, size, seq.intro, title=os.path.basename(graph.name))


def captioned_pages(base: Drawing, pages: Sequence[tuple[Drawing, Mapping[str, Mapping[str, str]]]],
                    rows: Sequence[Sequence[tuple[str, str]]], *, backend: str = "auto",
                    timeout: float | None = None) -> tuple[list[str], Placement, tuple[float, float]]:
    """Pinned DOT texts of pages that are variants of ``base`` (same nodes and edges, other texts and
    colours: ``pages`` holds each variant with its attributes by DOT id), each with its caption rows
    (kind, text) in a box below the picture. ``base`` is laid out once and every page uses that
    layout; the caption box fits the largest caption, so every page has the same size.
    """
    check_layout_work(base)
    placement = read_layout(layout(base.dot(), "json", backend=backend, timeout=timeout))
    n_rows = max(len(r) for r in rows)
    # The captions' size: measured by Graphviz once (every caption, each a node), so the box fits
    # the widest and every frame is the same size.
    probe = ["digraph captions {", '  node [shape="plain", fontname="Helvetica"]']
    probe += [f'  c{i} [id="n{i}", label=<{_caption_label(r, n_rows, None)}>]' for i, r in enumerate(rows)]
    probe.append("}")
    measured = read_layout(layout("\n".join(probe), "json", backend=backend, timeout=timeout))
    if len(measured.nodes) != len(rows):
        raise RenderError(_("Graphviz did not measure every caption"))
    cap_w = max(max(b.w for b in measured.nodes.values()), placement.width)
    cap_h = max(b.h for b in measured.nodes.values())
    dots = []
    for (drawing, colours), r in zip(pages, rows, strict=True):
        extra = {i: ", ".join(f"{a}={quote(v)}" for a, v in attrs.items()) for i, attrs in colours.items()}
        text = pin(drawing.dot(), placement, extra=extra)
        dots.append(_with_caption(text, _caption_label(r, n_rows, cap_w), placement, cap_w, cap_h))
    return dots, placement, (cap_w, placement.height + _GAP + cap_h)


def _draw_all(frames: Frames, fmt_: str, backend: str, timeout: float | None) -> list[bytes]:
    """Every frame drawn as ``fmt_`` by one Graphviz run (the frames as consecutive graphs)."""
    return draw_pages(frames.dots, frames.size, fmt_, backend=backend, timeout=timeout)


def draw_pages(dots: Sequence[str], size: tuple[float, float], fmt_: str, *, backend: str = "auto",
               timeout: float | None = None) -> list[bytes]:
    """Pinned pages (:func:`captioned_pages`) drawn as ``fmt_`` (svg, png or pdf) by one Graphviz run."""
    source = "".join(dots)
    dpi = None
    if fmt_ == "png":
        w, h = size[0] / 72 + 0.4, size[1] / 72 + 0.4
        dpi = png_dpi_for(w, h, max_side=_FRAME_MAX_SIDE, default_dpi=_FRAME_DPI)
    seconds = None if timeout is None else timeout * max(1, len(dots)) ** 0.5
    data = layout(source, fmt_, backend=backend, timeout=seconds, dpi=dpi, pinned=True)
    magic = {"svg": b"<?xml", "png": _PNG_MAGIC, "pdf": b"%PDF-"}[fmt_]
    pictures = split_documents(data, magic)
    if len(pictures) != len(dots):
        raise RenderError(_("Graphviz drew {drawn} frames instead of {frames}").format(drawn=len(pictures),
                                                                                 frames=len(dots)))
    return pictures


def _images(pngs: Sequence[bytes]) -> list[Any]:
    from PIL import Image

    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    w = max(im.width for im in images)
    h = max(im.height for im in images)
    out = []
    for im in images:  # Graphviz rounds sizes: pad any frame a pixel short to the common size
        if im.size != (w, h):
            canvas = Image.new("RGB", (w, h), "white")
            canvas.paste(im, (0, 0))
            im = canvas
        out.append(im)
    return out


def _gif(pngs: Sequence[bytes], delay: int) -> bytes:
    images = [im.quantize(colors=256, method=2, dither=0) for im in _images(pngs)]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=delay, loop=0,
                   disposal=1)
    return buf.getvalue()


def _apng(pngs: Sequence[bytes], delay: int) -> bytes:
    images = _images(pngs)
    buf = io.BytesIO()
    images[0].save(buf, format="PNG", save_all=True, append_images=images[1:], duration=delay, loop=0)
    return buf.getvalue()


def _raster_pdf(pngs: Sequence[bytes], dpi: float) -> bytes:
    images = _images(pngs)
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=dpi)
    # Pillow writes the time into the info dictionary: drop it, so a run gives the same bytes.
    return re.sub(rb"/(CreationDate|ModDate) \(D:[^)]*\)", b"", buf.getvalue())


def pdf_document(dots: Sequence[str], size: tuple[float, float], *, backend: str = "auto",
                 timeout: float | None = None) -> tuple[bytes, str, str | None]:
    """Pinned pages as one PDF: vector pages from the system Graphviz, joined; else (no system
    Graphviz: the bundled one writes no PDF) PNG pages. Returns the bytes, ``"vector"`` or
    ``"raster"``, and a note saying why the pages are pictures."""
    try:
        choose_backend("pdf", backend)
        return join_pdfs(draw_pages(dots, size, "pdf", backend=backend, timeout=timeout)), "vector", None
    except RenderError as exc:
        note = _("raster pages ({reason})").format(reason=str(exc).split("\n")[0])
        pngs = draw_pages(dots, size, "png", backend=backend, timeout=timeout)
        return _raster_pdf(pngs, _FRAME_DPI), "raster", note


_SVG_START = re.compile(r"<svg\b[^>]*>", re.S)


def _animated_svg(svgs: Sequence[bytes], delay: int, title: str) -> bytes:
    """One SVG: each frame a group shown in turn by SMIL (the first frame is what a still viewer shows)."""
    n = len(svgs)
    total = n * delay / 1000
    head = None
    groups = []
    for k, raw in enumerate(svgs):
        text = raw.decode("utf-8")
        m = _SVG_START.search(text)
        end = text.rfind("</svg>")
        if m is None or end < 0:
            raise RenderError(_("Graphviz wrote an SVG frame without an <svg> element"))
        if head is None:
            head = m.group(0)
        body = text[m.end():end]
        body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
        body = re.sub(r'\bid="', f'id="f{k + 1}-', body)
        if n == 1:
            anim = ""
        elif k == 0:
            anim = (f'<animate attributeName="visibility" values="visible;hidden" keyTimes="0;{1 / n:.6f}" '
                    f'dur="{total:g}s" calcMode="discrete" repeatCount="indefinite"/>')
        elif k == n - 1:
            anim = (f'<animate attributeName="visibility" values="hidden;visible" keyTimes="0;{k / n:.6f}" '
                    f'dur="{total:g}s" calcMode="discrete" repeatCount="indefinite"/>')
        else:
            anim = (f'<animate attributeName="visibility" values="hidden;visible;hidden" '
                    f'keyTimes="0;{k / n:.6f};{(k + 1) / n:.6f}" dur="{total:g}s" calcMode="discrete" '
                    f'repeatCount="indefinite"/>')
        shown = "visible" if k == 0 else "hidden"
        groups.append(f'<g id="step-{k + 1:03d}" class="gt-step" visibility="{shown}">{anim}{body}</g>\n')
    assert head is not None
    out = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + head + "\n"
           + f"<title>{quote(title, html_text=True)}</title>\n" + "".join(groups) + "</svg>\n")
    return out.encode("utf-8")


def steps_markdown(frames: Frames, names: Sequence[str], title: str) -> str:
    """``steps.md``: each step's heading, its picture and its sentences."""
    out = [f"# {title}", ""]
    if frames.intro is not None:
        out += [f"## {frames.intro.phase}", ""]
        for _kind, line in frames.intro.lines:
            out += [line, ""]
    for text, number, name in zip(frames.texts, frames.numbers, names, strict=True):
        out += [_("## Step {k} of {n}: {phase}").format(k=number[0], n=number[1], phase=text.phase), "",
                "![" + _("step {k}").format(k=number[0]) + f"]({name})", ""]
        for kind, line in text.lines:
            if kind == "formula":
                out.append(f"    {line}")
            elif kind == "source":
                out.append(f"`{line}`")
            else:
                out.append(line)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_steps(graph: Any, out: str | os.PathLike[str], *, results: Analysis | None = None,
                values: Mapping[Any, Any] | None = None, wrt: Any = None, only: str | None = None,
                frame_format: str = "svg", delay: int = 900, backend: str = "auto",
                timeout: float | None = None, progress: Callable[[str], None] | None = None) -> StepsResult:
    """Draw the explorer's steps for ``graph`` into ``out`` (a folder, .gif, .png, .svg or .pdf).

    Everything is drawn in memory first; files are written (each atomically) only when every
    frame is ready, and a folder's other files are left alone.

    Args:
        graph: the parsed graph.
        out: where to write; the kind comes from the extension (:func:`kind_of`).
        results, values, wrt, only, backend, timeout: as for :func:`build_frames`.
        frame_format: ``svg`` or ``png``: the pictures of a folder.
        delay: milliseconds per frame of an animation.
        progress: called with a short message before each slow part.
    """
    kind = kind_of(out)
    if frame_format not in ("svg", "png"):
        raise UsageError(_("unknown frame format '{format}'; choose svg or png").format(format=frame_format))
    if not 20 <= delay <= 60_000:
        raise UsageError(_("--delay {delay}: give milliseconds between 20 and 60000").format(delay=delay))
    target = os.fspath(out)
    if kind == "folder" and os.path.exists(target) and not os.path.isdir(target):
        raise UsageError(_("cannot write steps into '{target}': it is a file, not a folder").format(target=target))
    frames = build_frames(graph, results, values=values, wrt=wrt, only=only, backend=backend, timeout=timeout)
    if progress:
        progress(_("drawing {n} frames …").format(n=len(frames.dots)))
    n = len(frames.dots)
    title = frames.title or "graph"
    if kind == "folder":
        pictures = _draw_all(frames, frame_format, backend, timeout)
        names = [f"step-{k + 1:03d}.{frame_format}" for k in range(n)]
        md = steps_markdown(frames, names, _("{title}: forward and backward, step by step").format(title=title))
        os.makedirs(target, exist_ok=True)
        for name, data in zip(names, pictures, strict=True):
            atomic_write(os.path.join(target, name), data)
        atomic_write(os.path.join(target, "steps.md"), md)
        stale = sorted(f for f in os.listdir(target)
                       if re.fullmatch(r"step-\d{3,}\.(svg|png)", f) and f not in names)
        note = None
        if stale:
            note = _("{n} older step files in {folder} were not written by this run and are left as they "
                     "were (first: {first})").format(n=len(stale), folder=target, first=stale[0])
        return StepsResult(target, kind, n, names + ["steps.md"], note=note)
    if kind in ("gif", "apng"):
        pngs = _draw_all(frames, "png", backend, timeout)
        data = _gif(pngs, delay) if kind == "gif" else _apng(pngs, delay)
        atomic_write(target, data)
        return StepsResult(target, kind, n, [target])
    if kind == "svg":
        data = _animated_svg(_draw_all(frames, "svg", backend, timeout), delay,
                             _("{title}: forward and backward, step by step").format(title=title))
        atomic_write(target, data)
        return StepsResult(target, kind, n, [target])
    data, pages, note = pdf_document(frames.dots, frames.size, backend=backend, timeout=timeout)
    atomic_write(target, data)
    return StepsResult(target, kind, n, [target], pages=pages, note=note)


def write_tex(graph: Any, path: str | os.PathLike[str], *, beamer: bool = False, backend: str = "auto",
              timeout: float | None = None, **options: Any) -> Any:
    """Write ``graph`` as LaTeX: a standalone TikZ picture on Graphviz's layout of its drawing, or
    (``beamer``) a Beamer document whose one frame walks through the explorer's steps, one overlay
    per step. Options are :func:`graphtrace.dot.to_dot`'s (the legend and the path table stay out:
    LaTeX has captions for that). Returns the drawing, whose notes say what could not be written.
    """
    from .tikz import to_beamer, to_tikz

    if beamer:
        if options.get("level", "auto") not in ("auto", "scalar"):
            raise UsageError(_("--beamer walks through every operation: use --level scalar (the default)"))
        options["level"] = "scalar"
    options["legend"] = False
    values = options.get("values")
    wrt = options.get("wrt")
    results = graph.analyse(values, wrt=wrt, heat=options.get("heat", False), top=options.get("top", 5))
    drawing = draw(graph, results, **{k: v for k, v in options.items() if k != "values"})
    check_layout_work(drawing)
    placement = read_layout(layout(drawing.dot(), "json", backend=backend, timeout=timeout))
    if beamer:
        node = graph.node(wrt, what="--wrt") if wrt is not None else None
        seq = step_sequence(graph, results, wrt=node)
        picture = to_beamer(drawing, placement, seq.model, seq.steps, seq.states, seq.texts, seq.numbers,
                            title=os.path.basename(graph.name) or "graph")
    else:
        picture = to_tikz(drawing, placement)
    if picture.unsupported:
        shown = " ".join(sorted(picture.unsupported))
        drawing.notes.append(_("{n} characters that LaTeX's standard fonts cannot print were written as ?: "
                               "{chars}").format(n=len(picture.unsupported), chars=shown))
    atomic_write(path, picture.text)
    return drawing
