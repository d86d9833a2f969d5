"""TikZ: a drawing and its Graphviz layout → LaTeX (a standalone picture, or a Beamer frame of steps).

Pure: it receives the drawing (:class:`graphtrace.dot.Drawing`, values, gradients and local
derivatives as the SVG shows them) and the layout Graphviz made of that drawing
(:class:`graphtrace.placement.Placement`: positions, sizes, curves and the colours Graphviz drew), and
writes text. Every node sits where Graphviz put it (1 pt = 1 TikZ unit), every edge follows
Graphviz's Bézier curve, and every number and name is written as math (``∂L/∂α`` as
``\\partial L/\\partial\\alpha``). All text from the user passes through :func:`latex_math` or
:func:`latex_text`, which escape what TeX treats specially (``a_b``, ``x#1``, ``50%``) and turn the
drawing's Unicode (Greek letters, subscripts, primes, ∂, ·, −) into TeX; a character the standard
fonts cannot show is written ``?`` and reported in :attr:`Picture.unsupported`.
The output compiles with ``pdflatex`` and the packages ``standalone`` (or ``beamer``), ``tikz``,
``xcolor`` and ``amsmath``. Cyrillic (a Russian drawing, ``--lang ru``, or a Cyrillic name) is
written as it is: then, and only then, the preamble also loads the T2A fonts and babel's Russian,
which TeX Live's cyrillic package and the cm-super fonts provide (Debian: ``texlive-lang-cyrillic``
and ``cm-super``); an English drawing's text is the same bytes as without them.
"""

from __future__ import annotations

__all__ = ["Picture", "latex_math", "latex_text", "to_tikz", "to_beamer"]

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .dot import Drawing
from .i18n import _, language
from .placement import Placement
from .steps import State, StepText, restyle

_GREEK = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ϵ": r"\epsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ϑ": r"\vartheta", "ι": r"\iota", "κ": r"\kappa",
    "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "ο": "o", "π": r"\pi", "ϖ": r"\varpi",
    "ρ": r"\rho", "ϱ": r"\varrho", "σ": r"\sigma", "ς": r"\varsigma", "τ": r"\tau", "υ": r"\upsilon",
    "φ": r"\varphi", "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega",
    "Α": "A", "Β": "B", "Γ": r"\Gamma", "Δ": r"\Delta", "Ε": "E", "Ζ": "Z", "Η": "H", "Θ": r"\Theta",
    "Ι": "I", "Κ": "K", "Λ": r"\Lambda", "Μ": "M", "Ν": "N", "Ξ": r"\Xi", "Ο": "O", "Π": r"\Pi",
    "Ρ": "P", "Σ": r"\Sigma", "Τ": "T", "Υ": r"\Upsilon", "Φ": r"\Phi", "Χ": "X", "Ψ": r"\Psi",
    "Ω": r"\Omega",
}
_SYMBOLS = {
    "∂": r"\partial", "·": r"\cdot", "⋅": r"\cdot", "∙": r"\cdot", "−": "-", "×": r"\times",
    "÷": r"\div", "√": r"\surd", "→": r"\to", "←": r"\leftarrow", "‖": r"\|", "…": r"\ldots",
    "≥": r"\geq", "≤": r"\leq", "±": r"\pm", "∞": r"\infty", "∑": r"\sum", "≈": r"\approx",
    "≠": r"\neq", "∈": r"\in", "∇": r"\nabla", "ℓ": r"\ell", "•": r"\bullet", "▶": r"\triangleright",
    "δ": r"\delta", "²": "^{2}", "³": "^{3}", "¹": "^{1}", "′": "'", "″": "''", "‴": "'''", "⁗": "''''",
    "⇥": r"\to",
}
_SUBSCRIPT = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎", "0123456789+-=()", strict=True))
_SUPERSCRIPT = dict(zip("⁰⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾", "0456789+-=()", strict=True))
# ASCII characters that TeX treats specially, as math and as text
_MATH_ASCII = {"#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", "_": r"\_", "{": r"\{", "}": r"\}",
               "~": r"\sim", "^": r"\hat{}", "\\": r"\backslash", "'": "'", '"': r"\text{''}",
               "*": r"\ast", "|": "|", "<": "<", ">": ">"}
_TEXT_ASCII = {"#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", "_": r"\_", "{": r"\{", "}": r"\}",
               "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
               "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", '"': "''"}
_NUMBER_E = re.compile(r"(\d(?:\.\d+)?)e([+-−]?)0*(\d+)")


_RUSSIAN_SIGNS = "«»—–„“”№"


def _cyrillic(c: str) -> bool:
    """A Cyrillic letter or a sign of Russian typography: printed by the T2A fonts, which the preamble
    loads when the text holds one (:func:`_packages`)."""
    return "\u0400" <= c <= "\u045f" or c in _RUSSIAN_SIGNS


def _latin(c: str) -> bool:
    """A letter that pdflatex prints with inputenc's UTF-8 and T1 fonts (Latin-1 and Latin Extended-A)."""
    return 0xC0 <= ord(c) <= 0x17F and unicodedata.category(c).startswith("L") and c not in "×÷"


def latex_math(text: str, unsupported: set[str] | None = None) -> str:
    """``text`` (a name, a number, a formula as the drawing writes it) as TeX math (without ``$``).

    Single letters are italic as in maths, longer names upright; Cyrillic words are text
    (``\\text{вес}``); TeX's special characters are escaped; a character no standard font has
    becomes ``?`` (and goes into ``unsupported``).

    >>> latex_math("∂L/∂(α·x₁) = −0.2497")
    '\\\\partial L/\\\\partial (\\\\alpha \\\\cdot x_{1})=-0.2497'
    >>> latex_math("hidden layer 1")
    '\\\\mathrm{hidden}\\\\ \\\\mathrm{layer}\\\\ 1'
    >>> latex_math("a_b"), latex_math("x#1"), latex_math("c′"), latex_math("1e−07")
    ('\\\\mathrm{a\\\\_b}', 'x\\\\#1', "c'", '1\\\\cdot 10^{-7}')
    >>> latex_math("скрытый слой 1"), latex_math("кросс-энтропия=0.5")
    ('\\\\text{скрытый}\\\\ \\\\text{слой}\\\\ 1', '\\\\text{кросс-энтропия}=0.5')
    """
    text = _NUMBER_E.sub(lambda m: f"{m.group(1)}·10^{{{'-' if m.group(2) in ('-', '−') else ''}{m.group(3)}}}",
                         text)
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c.isascii() and (c.isalpha() or (c == "_" and i + 1 < n and text[i + 1].isalnum())):
            j = i
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            if len(word) == 1:
                out.append(word)
            else:
                # letters then digits (x1, w12) stay italic with their digits; words go upright
                m = re.fullmatch(r"([A-Za-z])(\d+)", word)
                out.append(word if m else r"\mathrm{" + word.replace("_", r"\_") + "}")
            i = j
            continue
        if c == "^" and i + 1 < n and text[i + 1] == "{":  # a superscript this function wrote above
            j = text.index("}", i)
            out.append(text[i:j + 1])
            i = j + 1
            continue
        if c in _SUBSCRIPT or c in _SUPERSCRIPT:
            table, mark = (_SUBSCRIPT, "_") if c in _SUBSCRIPT else (_SUPERSCRIPT, "^")
            j = i
            run = []
            while j < n and (text[j] in table or (text[j] == "," and j + 1 < n and text[j + 1] in table)):
                run.append(table.get(text[j], ","))
                j += 1
            out.append(f"{mark}{{{''.join(run)}}}")
            i = j
            continue
        if c == " ":  # math spaces itself; only a space between two words is kept
            before = text[:i].rstrip()[-1:]
            after = text[i:].lstrip()[:1]
            if before.isalnum() and after.isalnum() and not (out and out[-1] == r"\ "):
                out.append(r"\ ")
        elif c.isascii():
            sym = _MATH_ASCII.get(c, c)
            out.append(sym + (" " if sym[0] == "\\" and sym[-1].isalpha() else ""))
        elif c in _GREEK:
            out.append(_GREEK[c] + " ")
        elif c in _SYMBOLS:
            sym = _SYMBOLS[c]
            out.append(sym + (" " if sym[-1].isalpha() else ""))
        elif _latin(c):
            out.append(r"\text{" + c + "}")
        elif _cyrillic(c):  # a word in one \text, a hyphen inside it too (in maths it would be a minus)
            j = i + 1
            while j < n and (_cyrillic(text[j]) or (text[j] == "-" and j + 1 < n and _cyrillic(text[j + 1]))):
                j += 1
            out.append(r"\text{" + text[i:j] + "}")
            i = j
            continue
        else:
            if unsupported is not None:
                unsupported.add(c)
            out.append("?")
        i += 1
    return "".join(out).strip()


def latex_text(text: str, unsupported: set[str] | None = None) -> str:
    """``text`` (a sentence) for TeX's text mode: specials escaped, symbols and Greek as inline math.

    >>> latex_text("∂L/∂z is now final: 100% of x_1's edges & more")
    "$\\\\partial$L/$\\\\partial$z is now final: 100\\\\% of x\\\\_1's edges \\\\& more"
    >>> latex_text("градиент «z» — 5%")
    'градиент «z» — 5\\\\%'
    """
    out: list[str] = []
    for c in text:
        if c.isascii():
            out.append(_TEXT_ASCII.get(c, c))
        elif _latin(c) or _cyrillic(c):
            out.append(c)
        elif c in _GREEK or c in _SYMBOLS or c in _SUBSCRIPT or c in _SUPERSCRIPT:
            out.append("$" + latex_math(c) + "$")
        elif c == "\u00a0":
            out.append("~")
        else:
            if unsupported is not None:
                unsupported.add(c)
            out.append("?")
    return "".join(out).replace("$$", "")


@dataclass
class Picture:
    """LaTeX text and what it could not show.

    Attributes:
        text: the document (or the picture's body).
        unsupported: characters written as ``?`` because the standard fonts have no glyph for them.
    """

    text: str
    unsupported: set[str] = field(default_factory=set)


class _Colours:
    """Colours by HTML code → xcolor names (``gt3d6fa3``), defined once in the preamble."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def __call__(self, value: str | None, default: str = "black") -> str:
        if not value:
            return default
        v = value.strip().lower()
        if v in ("none", "transparent"):
            return "none"
        named = {"black": "000000", "white": "ffffff", "red": "ff0000", "blue": "0000ff", "grey": "808080",
                 "gray": "808080"}
        if v in named:
            v = "#" + named[v]
        m = re.fullmatch(r"#([0-9a-f]{6})(?:[0-9a-f]{2})?", v)
        if m is None:
            return default
        name = "gt" + m.group(1)
        self.used[name] = m.group(1).upper()
        return name

    def preamble(self) -> str:
        return "".join(f"\\definecolor{{{name}}}{{HTML}}{{{code}}}\n" for name, code in sorted(self.used.items()))


def _pt(x: float) -> str:
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _node_options(attrs: Mapping[str, str], w: float, h: float, colour: _Colours) -> str:
    shape = attrs.get("shape", "ellipse")
    style = attrs.get("style", "")
    opts = ["ellipse" if shape in ("ellipse", "oval", "circle") else "rectangle",
            f"minimum width={_pt(w)}pt", f"minimum height={_pt(h)}pt", "inner sep=0pt", "outer sep=0pt"]
    if "rounded" in style:
        opts.append("rounded corners=5pt")
    if "dashed" in style:
        opts.append("dashed")
    if "filled" in style:
        opts.append(f"fill={colour(attrs.get('fillcolor'), 'white')}")
    opts.append(f"draw={colour(attrs.get('color'), 'black')}")
    opts.append(f"line width={_pt(float(attrs.get('penwidth', '1') or 1))}pt")
    if attrs.get("peripheries") == "2":
        opts.append("double, double distance=1.2pt")
    if attrs.get("fontcolor"):
        opts.append(f"text={colour(attrs.get('fontcolor'))}")
    return ", ".join(opts)


def _node_text(title: str, glyph: str, lines: Sequence[tuple[str, str]], colour: _Colours,
               unsupported: set[str]) -> str:
    # bold: \boldmath for the maths, \bfseries for a Cyrillic name's \text
    bold = r"{\boldmath\bfseries$" if any(map(_cyrillic, title)) else r"{\boldmath$"
    first = bold + latex_math(title, unsupported) + "$}"
    if glyph:
        first += r"\;{\color{" + colour("#666666") + "}$" + latex_math(glyph, unsupported) + "$}"
    rows = [first]
    for text, col in lines:
        if not text.strip():
            rows.append(r"\strut")
            continue
        body = "$" + latex_math(text, unsupported) + "$"
        rows.append(r"{\scriptsize" + (r"\color{" + colour(col) + "}" if col else "") + body + "}")
    return r"\\ ".join(rows)


def _curve(points: Sequence[tuple[float, float]]) -> str:
    """Graphviz's B-spline control points (3n + 1) as TikZ Bézier segments."""
    p = [f"({_pt(x)},{_pt(y)})" for x, y in points]
    parts = [p[0]]
    for k in range(1, len(p) - 2, 3):
        parts.append(f".. controls {p[k]} and {p[k + 1]} .. {p[k + 2]}")
    return " ".join(parts)


def _picture_body(drawing: Drawing, placement: Placement, colour: _Colours, unsupported: set[str],
                  extra: Mapping[str, Mapping[str, str]] | None = None) -> list[str]:
    """The ``\\node`` and ``\\draw`` commands of one drawing on ``placement`` (``extra``: a step's colours)."""
    extra = extra or {}
    out: list[str] = []
    for name, (bb, lp) in sorted(placement.clusters.items()):
        x0, y0, x1, y1 = (float(v) for v in bb.split(","))
        attrs = placement.cluster_attrs.get(name, {})
        out.append(rf"\draw[rounded corners=4pt, fill={colour(attrs.get('fillcolor'), 'white')}, "
                   rf"draw={colour(attrs.get('color'), 'gray')}] ({_pt(x0)},{_pt(y0)}) rectangle ({_pt(x1)},{_pt(y1)});")
        label = attrs.get("label")
        if lp and label:
            x, y = (float(v) for v in lp.split(",")[:2])
            out.append(rf"\node[font=\scriptsize, text={colour(attrs.get('fontcolor'), 'gray')}] at "
                       rf"({_pt(x)},{_pt(y)}) {{{latex_text(label, unsupported)}}};")
    for e in drawing.edges:
        curve = placement.edges.get(e.id)
        if curve is None or len(curve.points) < 4:
            continue
        attrs = dict(curve.attrs)
        attrs.update(extra.get(e.id, {}))
        opts = [f"draw={colour(attrs.get('color'), 'black')}",
                f"line width={_pt(float(attrs.get('penwidth', '1') or 1))}pt"]
        if "dashed" in attrs.get("style", ""):
            opts.append("dashed")
        size = 5 * float(attrs.get("arrowsize", "1") or 1) / 0.6
        tip = f"Stealth[length={_pt(size)}pt, width={_pt(size * 0.8)}pt]"
        path = _curve(curve.points)
        if curve.end is not None:
            path += f" -- ({_pt(curve.end[0])},{_pt(curve.end[1])})"
            opts.insert(0, f"-{{{tip}}}")
        if curve.start is not None:
            path = f"({_pt(curve.start[0])},{_pt(curve.start[1])}) -- " + path
            opts.insert(0, f"{{{tip}}}-" if curve.end is None else f"{{{tip}}}-{{{tip}}}")
            if curve.end is not None:
                opts.pop(1)
        out.append(rf"\draw[{', '.join(opts)}] {path};")
        if e.label and curve.label is not None and drawing.edge_labels:
            text_colour = colour(attrs.get("fontcolor"), "black")
            out.append(rf"\node[font=\scriptsize, text={text_colour}, inner sep=1pt] at "
                       rf"({_pt(curve.label[0])},{_pt(curve.label[1])}) {{${latex_math(e.label, unsupported)}$}};")
    for n in drawing.nodes:
        box = placement.nodes.get(n.id)
        if box is None:
            continue
        attrs = dict(box.attrs)
        attrs.update(extra.get(n.id, {}))
        node_opts = _node_options(attrs, box.w, box.h, colour)
        node_label = _node_text(n.title, n.glyph, n.lines, colour, unsupported)
        out.append(rf"\node[{node_opts}, align=center, font=\small] ({n.id}) at ({_pt(box.x)},{_pt(box.y)}) "
                   rf"{{{node_label}}};")
    return out


# Only what Debian's texlive-latex-base and texlive-pictures hold (texlive-pictures brings
# texlive-latex-recommended, with beamer and xcolor): the default fonts (vector Computer Modern,
# no font packages), geometry for a page the size of the picture instead of the standalone class.
_PACKAGES = (r"\usepackage[utf8]{inputenc}" "\n" r"\usepackage{amsmath}" "\n"
             r"\usepackage{tikz}" "\n" r"\usetikzlibrary{arrows.meta,shapes.geometric}" "\n")


def _packages(body: str) -> str:
    """The preamble's packages for a document whose text is ``body``: :data:`_PACKAGES`, and where
    ``body`` holds Cyrillic, before them the T2A font encoding and after inputenc babel's Russian
    (hyphenation; the main language is the drawing's), from Debian's texlive-lang-cyrillic, with
    vector fonts from cm-super. A comment line does not count: TeX skips it unread."""
    text = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("%"))
    if not any(map(_cyrillic, text)):
        return _PACKAGES
    languages = "russian" if language() == "ru" else "russian,english"
    return ("% " + _("Cyrillic letters: T2A fonts (Debian: texlive-lang-cyrillic, and cm-super for vector fonts)")
            + "\n" + r"\usepackage[T2A]{fontenc}" "\n"
            + _PACKAGES.replace("{inputenc}\n", "{inputenc}\n" + rf"\usepackage[{languages}]{{babel}}" "\n", 1))


def to_tikz(drawing: Drawing, placement: Placement, *, standalone: bool = True) -> Picture:
    """A TikZ picture of ``drawing`` laid out as ``placement``: a whole ``standalone`` document that
    ``pdflatex`` compiles, or (``standalone=False``) the ``tikzpicture`` alone, for ``\\input`` (a
    picture with Cyrillic then needs the document to load the T2A fonts, as :func:`_packages` does).
    """
    colour = _Colours()
    unsupported: set[str] = set()
    body = _picture_body(drawing, placement, colour, unsupported)
    x0, y0, x1, y1 = placement.bb
    picture = ["% " + _("graphtrace: {name}, view {view}, level {level}").format(
        name=drawing.name, view=drawing.view, level=drawing.level).replace("\n", " "),
        r"\begin{tikzpicture}[x=1pt, y=1pt]",
        rf"\useasboundingbox ({_pt(x0 - 4)},{_pt(y0 - 4)}) rectangle ({_pt(x1 + 4)},{_pt(y1 + 4)});",
        *body, r"\end{tikzpicture}"]
    if not standalone:
        return Picture(colour.preamble() + "\n".join(picture) + "\n", unsupported)
    # a page the picture's size (6 pt of margin around it)
    paper = (f"\\usepackage[paperwidth={_pt(x1 - x0 + 20)}pt, paperheight={_pt(y1 - y0 + 21)}pt, "
             "margin=6pt]{geometry}\n")
    text = (r"\documentclass{article}" "\n" + paper + _packages("\n".join(picture)) + colour.preamble()
            + r"\pagestyle{empty}\setlength{\topskip}{0pt}\setlength{\parindent}{0pt}" "\n"
            + r"\begin{document}" "\n" + "\n".join(picture) + "\n" + r"\end{document}" "\n")
    return Picture(text, unsupported)


def to_beamer(drawing: Drawing, placement: Placement, model: Mapping[str, Any],
              steps: Sequence[Mapping[str, Any]], states_: Sequence[State], texts: Sequence[StepText],
              numbers: Sequence[tuple[int, int]], *, title: str) -> Picture:
    """A Beamer document with one frame that walks through ``steps``, one overlay per step.

    Overlay k shows the drawing as it is after the k-th step (:func:`graphtrace.steps.restyle`) and
    that step's sentences below it; the picture is scaled to the slide, so nodes keep their places.
    """
    colour = _Colours()
    unsupported: set[str] = set()
    x0, y0, x1, y1 = placement.bb
    width, height = x1 - x0 + 8, y1 - y0 + 8
    # a 16:9 slide's text area is about 440 × 230 pt; the sentences take the lower third
    scale = min(1.0, 430 / width, 150 / height)
    picture = [rf"\begin{{tikzpicture}}[x=1pt, y=1pt, scale={scale:.4f}, every node/.style={{transform shape}}]",
               rf"\useasboundingbox ({_pt(x0 - 4)},{_pt(y0 - 4)}) rectangle ({_pt(x1 + 4)},{_pt(y1 + 4)});"]
    captions = []
    for k, (step, state, text, number) in enumerate(zip(steps, states_, texts, numbers, strict=True), 1):
        styled, extra = restyle(drawing, model, step, state)
        picture.append(rf"\only<{k}>{{%")
        picture += ["  " + line for line in _picture_body(styled, placement, colour, unsupported, extra)]
        picture.append("}")
        head = _("Step {k} of {n} · {phase}").format(k=number[0], n=number[1], phase=text.phase)
        rows = [r"\textbf{" + latex_text(head, unsupported) + "}"]
        for kind, line in text.lines:
            if kind == "formula":
                rows.append("$" + latex_math(line, unsupported).replace(r"\ ", " ") + "$")
            elif kind == "source":
                rows.append(r"{\color{gray}" + latex_text(line, unsupported) + "}")
            elif kind == "fanout":
                rows.append(r"{\color{" + colour("#e8590c") + "}" + latex_text(line, unsupported) + "}")
            else:
                rows.append(latex_text(line, unsupported))
        captions.append(rf"\only<{k}>{{" + r"\\ ".join(rows) + "}%")
    picture.append(r"\end{tikzpicture}")
    frame_title = latex_text(_("{title}: forward and backward, step by step").format(title=title), unsupported)
    body = "\n".join([frame_title, *picture, *captions])
    document = (r"\documentclass[aspectratio=169]{beamer}" "\n" + _packages(body) + colour.preamble()
            + r"\setbeamertemplate{navigation symbols}{}" "\n"
            + r"\begin{document}" "\n"
            + "% " + _("One frame, one overlay per step; copy the frame into a lecture's slides.") + "\n"
            + rf"\begin{{frame}}{{{frame_title}}}" "\n"
            + r"\centering" "\n" + "\n".join(picture) + "\n\n"
            + r"\vspace{4pt}\begin{minipage}[t][0.42\textheight][t]{\linewidth}\footnotesize" "\n"
            + "\n".join(captions) + "\n" + r"\end{minipage}" "\n"
            + r"\end{frame}" "\n" + r"\end{document}" "\n")
    return Picture(document, unsupported)
