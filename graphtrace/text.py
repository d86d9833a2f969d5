"""Text for people: the one number formatter, strict JSON, source spans, "did you mean", parentheses.

Every helper here was once written in two or three modules (parser, evaluator, drawing, explorer,
data reader); each now exists once. Nothing here knows about graphs: it sits on the ground floor
beside ``errors`` and ``ops``, and any layer may use it.
"""

from __future__ import annotations

__all__ = ["fmt", "json_number", "dumps", "char_column", "source_span", "did_you_mean", "parenthesise",
           "xml_safe", "split_version", "primed", "html_table"]

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from .i18n import _


def fmt(x: Any, digits: int = 4) -> str:
    """One number formatter for people: ``digits`` significant digits, no noise.

    >>> fmt(0.23500001), fmt(-1e-7), fmt(12345.678), fmt(2.0), fmt(-0.0)
    ('0.235', '-1e-07', '1.235e+04', '2', '0')
    """
    x = float(x)
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def json_number(x: Any) -> float:
    """A float for JSON; non-finite numbers are an error (strict JSON)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"non-finite number {x} cannot be written as strict JSON")
    return x


def dumps(doc: Any) -> str:
    """Strict, deterministic JSON: key order as built, ``ensure_ascii=False`` so α stays α."""
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2)


def char_column(line: str, col_bytes: int) -> int:
    """The 1-based character column of a 0-based UTF-8 byte column (``ast`` counts bytes).

    >>> char_column("α = β*x", 5)  # β starts at byte 5 (α is two bytes): character 5, 1-based
    5
    """
    return len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace")) + 1


def source_span(line: str | bytes, col: int | None, end: int | None) -> str | None:
    """The text between two UTF-8 byte columns of one line, or None when they don't fit it.

    >>> source_span("z = σ(s) + 1", 4, 9)
    'σ(s)'
    """
    raw = line.encode("utf-8") if isinstance(line, str) else line
    raw = raw.rstrip(b"\r")
    if col is None or end is None or not 0 <= col < end <= len(raw):
        return None
    return raw[col:end].decode("utf-8", "replace")


_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "zeta": "ζ", "eta": "η",
          "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ",
          "omicron": "ο", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "φ",
          "chi": "χ", "psi": "ψ", "omega": "ω"}


def _spellings(word: str) -> set[str]:
    """``word`` folded to lower case, with a Greek letter's name and the letter itself swapped."""
    low = word.casefold()
    out = {low}
    for latin, letter in _GREEK.items():
        if low.startswith(latin):
            out.add(letter + low[len(latin):])
        if low.startswith(letter):
            out.add(latin + low[len(letter):])
    return out


def expression_text(lines: list[str], line: int | None, col: int | None, end_line: int | None,
                    end_col: int | None) -> str | None:
    """The source of an expression that may span lines (``end_line``), without its comments and
    line breaks, or None when the positions don't fit the text. Scripts hold no strings, so every
    ``#`` starts a comment.

    >>> expression_text(["y = sin(x +  # first", "  2) * 3"], 1, 4, 2, 4)
    'sin(x + 2)'
    """
    if not line or col is None or end_col is None:
        return None
    last = end_line or line
    if not 0 < line <= last <= len(lines):
        return None
    if last == line:
        return source_span(lines[line - 1], col, end_col)
    parts = [lines[line - 1].encode("utf-8")[col:].decode("utf-8", "replace")]
    parts += lines[line:last - 1]
    parts.append(lines[last - 1].encode("utf-8")[:end_col].decode("utf-8", "replace"))
    text = " ".join(p.split("#", 1)[0] for p in parts)
    return " ".join(text.split()) or None


def did_you_mean(word: str, candidates: Iterable[Any], *, cutoff: float = 0.6) -> str | None:
    """``did you mean 'x'?`` for the closest candidate, or None: the same word in another case or
    with a Greek letter spelled out (``alpha`` for ``α``) first, then the closest spelling.

    >>> did_you_mean("sigmod", ["sigmoid", "tanh"]), did_you_mean("ReLU", ["relu"]), did_you_mean("alpha1", ["α1"])
    ("did you mean 'sigmoid'?", "did you mean 'relu'?", "did you mean 'α1'?")
    """
    import difflib  # only on an error: not worth its import time at every start

    names = [str(c) for c in candidates]
    forms = _spellings(str(word))
    for c in names:
        if c != word and c.casefold() in forms:
            return _("did you mean '{name}'?").format(name=c)
    close = difflib.get_close_matches(str(word), names, n=1, cutoff=cutoff)
    return _("did you mean '{name}'?").format(name=close[0]) if close else None


_VERSION = re.compile(r"(.*?)#(\d+)(\[[\d,]+\])?")
_PRIMES = {2: "′", 3: "″", 4: "‴", 5: "⁗"}
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def split_version(name: str) -> tuple[str, int, str]:
    """A node id's user name, version and element index: ``h#2[0]`` → ``('h', 2, '[0]')``.

    >>> split_version("c"), split_version("c#3"), split_version("W[1,0]")
    (('c', 1, ''), ('c', 3, ''), ('W[1,0]', 1, ''))
    """
    m = _VERSION.fullmatch(name)
    if m is None:
        return name, 1, ""
    return m.group(1), int(m.group(2)), m.group(3) or ""


def primed(name: str) -> str:
    """A versioned name as drawn: the second version of ``c`` (``c#2``) is ``c′``, the third ``c″``.

    >>> primed("c"), primed("c#2"), primed("c#3"), primed("h#2[0]"), primed("c#7")
    ('c', 'c′', 'c″', 'h′[0]', 'c⁽⁷⁾')
    """
    base, n, index = split_version(name)
    if n == 1:
        return name
    return base + (_PRIMES.get(n) or f"⁽{str(n).translate(_SUPERSCRIPT)}⁾") + index


_OPERATOR_CHARS = frozenset(" +-−·*/^×÷")
_CALL = re.compile(r"[^\W\d]\w*\((.*)\)")


def parenthesise(s: str) -> str:
    """``s`` in parentheses unless it is a name, a number or one whole call such as ``log(z)``.

    >>> parenthesise("x₁"), parenthesise("a + b"), parenthesise("σ(s + 1)"), parenthesise("f(a) + g(b)")
    ('x₁', '(a + b)', 'σ(s + 1)', '(f(a) + g(b))')
    """
    if not any(c in _OPERATOR_CHARS for c in s):
        return s
    call = _CALL.fullmatch(s)
    if call and _balanced(call.group(1)):
        return s
    return f"({s})"


def _balanced(inner: str) -> bool:
    depth = 0
    for c in inner:
        depth += (c == "(") - (c == ")")
        if depth < 0:
            return False
    return depth == 0


# XML 1.0 allows tab, newline, carriage return and everything from U+0020 on except the surrogates
# and U+FFFE/U+FFFF; anything else makes an SVG or XHTML document not well-formed.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML forbids (control characters, lone surrogates).

    >>> xml_safe("a\\x01b\\tc")
    'ab\\tc'
    """
    return _XML_FORBIDDEN.sub("", text)


def html_table(headers: Iterable[Any], rows: Iterable[Iterable[Any]], *, caption: str | None = None,
               more: int = 0) -> str:
    """A small HTML table for Jupyter's ``_repr_html_``: every cell escaped, numbers right-aligned,
    and ``more`` rows left out said in a last line.

    >>> html_table(["wrt", "grad"], [["α", -0.25], ["<b>", 1]], caption="∂L/∂·")
    '<table><caption>∂L/∂·</caption><tr><th>wrt</th><th>grad</th></tr><tr><td>α</td><td style="text-align:right">-0.25</td></tr><tr><td>&lt;b&gt;</td><td style="text-align:right">1</td></tr></table>'
    """
    import html

    def cell(x: Any) -> str:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return f'<td style="text-align:right">{html.escape(fmt(x, 10) if isinstance(x, float) else str(x))}</td>'
        return f"<td>{html.escape(printable(str(x)))}</td>"

    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(printable(caption))}</caption>")
    out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in headers) + "</tr>")
    width = 0
    for row in rows:
        cells = [cell(x) for x in row]
        width = max(width, len(cells))
        out.append("<tr>" + "".join(cells) + "</tr>")
    if more:
        out.append(f'<tr><td colspan="{max(width, 1)}">' + html.escape(_("… {n} more").format(n=f"{more:,}")) + "</td></tr>")
    out.append("</table>")
    return "".join(out)


def printable(text: str) -> str:
    """``text`` with the bytes a file name could not decode (surrogate escapes) shown as U+FFFD, so
    that it can be printed, drawn and written as UTF-8.

    >>> printable("n\\udcff.gt")
    'n\\ufffd.gt'
    """
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def printable_path(path: Any) -> str:
    """A file name for messages and outputs (:func:`printable` of its text)."""
    import os

    return printable(os.fsdecode(path))
