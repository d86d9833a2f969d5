"""Errors: one exception hierarchy, each error carrying its source location when there is one.

Only the CLI maps these to exit codes (2 for every ``GraphtraceError``); library code raises them.
Messages read like a compiler's: ``file:line:col: problem``, then the source line and a caret.
"""

from __future__ import annotations

__all__ = [
    "GraphtraceError",
    "ParseError",
    "GraphError",
    "EvaluationError",
    "DataError",
    "RenderError",
    "LimitError",
    "UsageError",
    "OutputError",
    "ProgramError",
    "Location",
    "env_limit",
]

import math
import os
from dataclasses import dataclass

from graphtrace.i18n import _


@dataclass(frozen=True)
class Location:
    """Where in a script something is: file name, 1-based line, 1-based column, the line's text."""

    file: str = "<script>"
    line: int | None = None
    col: int | None = None
    text: str | None = None

    def prefix(self) -> str:
        if self.line is None:
            return f"{self.file}: "
        if self.col is None:
            return f"{self.file}:{self.line}: "
        return f"{self.file}:{self.line}:{self.col}: "


class GraphtraceError(Exception):
    """Base class: bad input or a problem the user can fix. The CLI exits 2 on it."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """The full message: ``file:line:col: message``, the source line with a caret, the hint."""
        loc = self.location
        out = (loc.prefix() if loc else "") + self.message
        if loc is not None and loc.text is not None and loc.line is not None:
            text = loc.text.rstrip("\r\n")
            if len(text) > 200:  # keep the caret honest on huge lines: show a window around it
                start = max(0, (loc.col or 1) - 80)
                shown = text[start : start + 160]
                caret_col = (loc.col or 1) - start
            else:
                shown, caret_col = text, (loc.col or 1)
            out += f"\n    {shown}"
            if loc.col is not None:
                out += "\n    " + " " * (caret_col - 1) + "^"
        if self.hint:
            out += f"\n{self.hint}"
        return out


class ParseError(GraphtraceError):
    """The script is not valid graphtrace: syntax, unknown names, forbidden constructs."""


class GraphError(GraphtraceError):
    """The graph or a request about it is inconsistent (unknown --wrt, --of, --set name)."""


class EvaluationError(GraphtraceError):
    """A number went wrong while evaluating: log of a negative, division by zero, overflow."""


class DataError(GraphtraceError):
    """A data file (CSV) is malformed or does not fit the script."""


class RenderError(GraphtraceError):
    """Drawing failed: no Graphviz backend for the format, layout timeout, size limits."""


class LimitError(GraphtraceError):
    """A safety limit was reached (script size, node count, path enumeration, render size)."""


class UsageError(GraphtraceError):
    """A command-line option has a bad value."""


class OutputError(GraphtraceError):
    """An output file cannot be written: missing folder, permission denied, disk full."""


class ProgramError(GraphtraceError):
    """A Python program run by ``graphtrace trace`` failed: it raised, exited with an error status,
    or made no Value to trace. The message carries the program's own traceback."""


def env_limit(name: str, default: int) -> int:
    """A safety limit: the environment variable ``name`` when set, else ``default``.

    Read at each call, so a user (or a test) can raise a limit for one run. Every limit variable
    of graphtrace goes through here, so each accepts the same forms (``5000``, ``1e6``).

    Raises:
        UsageError: the variable is set but is not a positive integer.

    >>> env_limit("GRAPHTRACE_DOCTEST_UNSET_LIMIT", 7)
    7
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer() and value >= 1):
        raise UsageError(_("{name} must be a positive integer, got {value}").format(name=name, value=repr(raw)))
    return int(value)
