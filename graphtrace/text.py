"""Text for people: the one number formatter, strict JSON, source spans, "did you mean", parentheses.

Every helper here was once written in two or three modules (parser, evaluator, drawing, explorer,
data reader); each now exists once. Nothing here knows about graphs: it sits on the ground floor
beside ``errors`` and ``ops``, and any layer may use it.
"""

from __future__ import annotations

__all__ = ["fmt", "json_number", "dumps", "char_column", "source_span", "did_you_mean", "parenthesise",
           "xml_safe"]

import json
import math
import re
from collections.abc import Iterable
from typing import Any


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


def did_you_mean(word: str, candidates: Iterable[Any], *, cutoff: float = 0.6) -> str | None:
    """``did you mean 'x'?`` for the closest candidate, or None.

    >>> did_you_mean("sigmod", ["sigmoid", "tanh"])
    "did you mean 'sigmoid'?"
    """
    import difflib  # only on an error: not worth its import time at every start

    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=cutoff)
    return f"did you mean '{close[0]}'?" if close else None


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
