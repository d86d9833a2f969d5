"""Parsing: script text → a flat list of node records in source (and so topological) order.

The parser walks Python's ``ast`` and accepts a whitelist of node types; it never evaluates,
executes or compiles anything. The walk is iterative, so long chains cost no Python recursion.
Invariants of the result: every record's operands appear earlier in the list; ids are the script's
names or generated ids (``mul_3``) numbered per op in source order and never equal to a user name.
"""

from __future__ import annotations

__all__ = ["Source", "NodeRecord", "ParsedScript", "read_source", "parse_program", "LIMITS", "CALLABLE",
           "METHODS", "shape_text", "element_suffix", "version_name", "refusal"]

import ast
import math
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from .errors import LimitError, Location, ParseError, env_limit
from .i18n import N_, _, ngettext
from .ops import BINARY, FUNCTIONS, OPS, REDUCTIONS, UNARY
from .text import char_column, did_you_mean, printable_path

KINDS = ("input", "param")


class _Limits:
    """Safety limits, read from the environment each time so tests and users can raise them."""

    @property
    def script_bytes(self) -> int:
        return env_limit("GRAPHTRACE_MAX_SCRIPT_BYTES", 10_000_000)

    @property
    def nodes(self) -> int:
        return env_limit("GRAPHTRACE_MAX_NODES", 1_000_000)


LIMITS = _Limits()


@dataclass(frozen=True)
class Source:
    """A script's text and the name used in messages (a path, ``<stdin>`` or ``<inline>``)."""

    text: str
    name: str = "<script>"

    def line(self, lineno: int) -> str | None:
        lines = self.text.split("\n")
        return lines[lineno - 1] if 0 < lineno <= len(lines) else None

    def location(self, lineno: int | None, col_bytes: int | None = None) -> Location:
        """A location from ast's 1-based line and 0-based UTF-8 byte column, as a 1-based char column."""
        if lineno is None:
            return Location(self.name)
        text = self.line(lineno)
        col = None
        if col_bytes is not None and text is not None:
            col = char_column(text, col_bytes)
        return Location(self.name, lineno, col, text)


class NodeRecord(NamedTuple):
    """One graph node as the parser sees it.

    A named tuple rather than a frozen dataclass: equally immutable, and made about 3× faster
    (a frozen dataclass sets every field through object.__setattr__), which counts at one record
    per node of a 100,000-line script.
    """

    id: str
    kind: str  # "input" | "param" | "const" | "op"
    op: str | None
    value: float | None
    named: bool
    line: int
    col: int  # 0-based UTF-8 byte offset, as ast gives it
    end_col: int
    operands: tuple[str, ...] = ()
    end_line: int = 0


@dataclass
class ParsedScript:
    """The parsed script: node records in topological order and the default output.

    ``statements`` maps every named version (``c``, ``c#2``) to the line of its statement;
    ``arrays`` maps every array (its versioned name) to its shape and its elements' node ids.
    """

    source: Source
    records: list[NodeRecord]
    output: str
    statements: dict[str, int] = field(default_factory=dict)
    arrays: dict[str, tuple[tuple[int, ...], list[str]]] = field(default_factory=dict)


def read_source(path: str | os.PathLike[str] | None = None, *, text: str | None = None,
                name: str | None = None, max_bytes: int | None = None) -> Source:
    """Read a script from a file, ``-`` (standard input) or a string, enforcing the size limit.

    The size limit is checked before the text is read (a 50 MB file costs nothing); a UTF-8 BOM
    and CRLF or CR line endings are accepted; invalid UTF-8 and binary files are refused.

    >>> read_source(text="\\ufeffx: input = 1\\r\\ny = x\\r\\n").text
    'x: input = 1\\ny = x\\n'
    """
    limit = LIMITS.script_bytes if max_bytes is None else max_bytes
    if text is not None:
        label = name or "<inline>"
        if len(text) > limit:
            raise _too_big(label, len(text.encode("utf-8", "surrogatepass")), limit)
        data = text.encode("utf-8", "surrogatepass")
    elif path is None or str(path) == "-":
        label = name or "<stdin>"
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise _too_big(label, None, limit)
    else:
        label = name or printable_path(path)
        p = Path(path)
        try:
            size = p.stat().st_size
            if size > limit:
                raise _too_big(label, size, limit)
            with open(p, "rb") as fh:
                data = fh.read(limit + 1)
        except IsADirectoryError:
            raise ParseError(_("'{path}' is a folder, not a script").format(path=label), location=Location(label)) from None
        except FileNotFoundError:
            raise ParseError(_("no such file '{path}'").format(path=label), location=Location(label)) from None
        except PermissionError:
            raise ParseError(_("cannot read '{path}': permission denied").format(path=label),
                             location=Location(label)) from None
        except OSError as exc:
            raise ParseError(_("cannot read '{path}': {reason}").format(path=label, reason=exc.strerror or exc),
                             location=Location(label)) from None
        if len(data) > limit:
            raise _too_big(label, None, limit)
    return Source(_decode(data, label), label)


def _too_big(label: str, size: int | None, limit: int) -> LimitError:
    message = (_("script is larger than the {limit}-byte limit ({size} bytes)") if size is not None
               else _("script is larger than the {limit}-byte limit"))
    return LimitError(
        message.format(limit=f"{limit:,}", size=f"{size or 0:,}"),
        location=Location(label),
        hint=_("raise it with the environment variable GRAPHTRACE_MAX_SCRIPT_BYTES if you trust the file"),
    )


def _decode(data: bytes, label: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ParseError(_("this is a binary file, not a graphtrace script (it contains a NUL byte)"),
                         location=Location(label, line))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ParseError(_("not valid UTF-8 (byte {byte})").format(byte=f"0x{data[exc.start]:02x}"),
                         location=Location(label, line, col),
                         hint=_("save the script as UTF-8")) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# What a user wrote, in words, for constructs outside the language, and whether the words are plural:
# every refusal reads "<words> is/are not part of the graphtrace language".
_FORBIDDEN: dict[str, tuple[str, bool]] = {
    "Attribute": (N_("attribute access (a.b)"), False),
    "Lambda": (N_("lambda functions"), True),
    "ListComp": (N_("list comprehensions"), True), "SetComp": (N_("set comprehensions"), True),
    "DictComp": (N_("dict comprehensions"), True), "GeneratorExp": (N_("generator expressions"), True),
    "Tuple": (N_("tuples"), True), "Set": (N_("sets"), True), "Dict": (N_("dicts"), True),
    "Compare": (N_("comparisons"), True), "BoolOp": (N_("the operators 'and' and 'or'"), True),
    "IfExp": (N_("conditional expressions (a if c else b)"), True),
    "JoinedStr": (N_("f-strings"), True), "FormattedValue": (N_("f-strings"), True),
    "Starred": (N_("starred arguments (*a)"), True),
    "NamedExpr": (N_("the walrus operator (:=)"), False), "Await": (N_("await expressions"), True),
    "Yield": (N_("yield expressions"), True), "YieldFrom": (N_("yield expressions"), True),
    "Slice": (N_("slices (a[i:j])"), True),
    "Import": (N_("import statements"), True), "ImportFrom": (N_("import statements"), True),
    "FunctionDef": (N_("function definitions"), True), "AsyncFunctionDef": (N_("function definitions"), True),
    "ClassDef": (N_("class definitions"), True), "Return": (N_("return statements"), True),
    "Delete": (N_("del statements"), True),
    "For": (N_("loops"), True), "AsyncFor": (N_("loops"), True), "While": (N_("loops"), True),
    "If": (N_("if statements"), True), "With": (N_("with statements"), True), "AsyncWith": (N_("with statements"), True),
    "Match": (N_("match statements"), True), "Raise": (N_("raise statements"), True),
    "Try": (N_("try statements"), True), "TryStar": (N_("try statements"), True),
    "Assert": (N_("assert statements"), True), "Global": (N_("global statements"), True),
    "Nonlocal": (N_("nonlocal statements"), True), "Pass": (N_("pass statements"), True),
    "Break": (N_("break statements"), True), "Continue": (N_("continue statements"), True),
    "TypeAlias": (N_("type aliases"), True),
}
_BINOP_TEXT = {"FloorDiv": "//", "Mod": "%", "MatMult": "@", "LShift": "<<", "RShift": ">>",
               "BitOr": "|", "BitXor": "^", "BitAnd": "&", "Add": "+", "Sub": "-", "Mult": "*",
               "Div": "/", "Pow": "**"}
_OPERATOR_HINTS = {
    "BitXor": N_("use ** for powers, e.g. x**2 (drawings write powers as ^)"),
    "FloorDiv": N_("use / for division"),
}


def _operator_hint(op_name: str) -> str | None:
    hint = _OPERATOR_HINTS.get(op_name)
    return _(hint) if hint else None


def _what(node: ast.AST) -> tuple[str, bool]:
    """What ``node`` is, in words, and whether the words are plural."""
    kind = type(node).__name__
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, str):
            return _("strings"), True
        if isinstance(v, bytes):
            return _("bytes literals"), True
        if isinstance(v, bool):
            return _("booleans (True, False)"), True
        if isinstance(v, complex):
            return _("complex numbers"), True
        if v is None:
            return "None", False
        if v is Ellipsis:
            return _("the ellipsis (...)"), False
    if isinstance(node, ast.BinOp):
        op = _BINOP_TEXT.get(type(node.op).__name__, type(node.op).__name__)
        return _("the operator '{operator}'").format(operator=op), False
    if isinstance(node, ast.UnaryOp):
        return _("the operator '{operator}'").format(operator="not" if isinstance(node.op, ast.Not) else "~"), False
    if kind in _FORBIDDEN:
        words, plural = _FORBIDDEN[kind]
        return _(words), plural
    return _("'{kind}' expressions").format(kind=kind), True


def refusal(node: ast.AST) -> str:
    """The sentence that refuses ``node``: "loops are not part of the graphtrace language".

    >>> refusal(ast.parse("global x").body[0]), refusal(ast.parse("a // b").body[0].value)
    ('global statements are not part of the graphtrace language', "the operator '//' is not part of the graphtrace language")
    """
    words, plural = _what(node)
    message = (_("{what} are not part of the graphtrace language") if plural
               else _("{what} is not part of the graphtrace language"))
    return message.format(what=words)


# ---- arrays ---------------------------------------------------------------------------------------
class Arr:
    """An array during parsing: its shape, (n,) or (m, n), and its elements' node ids, row-major."""

    __slots__ = ("shape", "ids")

    def __init__(self, shape: tuple[int, ...], ids: list[str]):
        self.shape = shape
        self.ids = ids


Value = str | Arr  # a scalar's node id, or an array


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape in words, for messages.

    >>> shape_text(()), shape_text((3,)), shape_text((3, 2))
    ('a scalar', 'a vector of 3', 'a 3×2 matrix')
    """
    if not shape:
        return _("a scalar")
    if len(shape) == 1:
        return _("a vector of {n}").format(n=shape[0])
    return _("a {rows}×{cols} matrix").format(rows=shape[0], cols=shape[1])


def element_suffix(shape: tuple[int, ...], k: int) -> str:
    """The index part of the name of element ``k`` (row-major) of an array: ``[2]``, ``[1,0]``."""
    if len(shape) == 1:
        return f"[{k}]"
    i, j = divmod(k, shape[1])
    return f"[{i},{j}]"


def version_name(name: str, n: int) -> str:
    """The id of version ``n`` of a name: ``c``, then ``c#2``, ``c#3`` (drawn c, c′, c″)."""
    return name if n == 1 else f"{name}#{n}"


_ADD, _MUL, _DIV = BINARY["Add"], BINARY["Mult"], BINARY["Div"]
_IDENTITY = UNARY["UAdd"]
# Functions a script may call: the registry's, the folds of binary ops over an array (sum, and
# max/min with one argument) and mean (a sum divided by the count).
_MEAN = "mean"
CALLABLE: tuple[str, ...] = tuple(dict.fromkeys([*FUNCTIONS, *REDUCTIONS, _MEAN]))
# The functions that take one argument, and so may also be called as methods: x.relu(), v.sum().
METHODS: tuple[str, ...] = tuple(
    f for f in CALLABLE
    if f in REDUCTIONS or f == _MEAN or (f in OPS and (OPS[f].arity == 1 or OPS[f].takes in ("all", "each"))))


def _arg_counts(name: str) -> tuple[int, ...]:
    op = OPS.get(name)
    if op is None:  # sum, mean
        return (1,)
    if op.takes == "class":
        return (2,)
    if op.variadic:
        return (1,)
    return (op.arity, 1) if op.reduction else (op.arity,)  # type: ignore[return-value]


def _function_hint(name: str, known: tuple[str, ...] = CALLABLE) -> str | None:
    """A did-you-mean for an unknown function: its case (ReLU), its glyph or Greek name (σ, ln).

    >>> _function_hint("ReLU"), _function_hint("σ"), _function_hint("ln"), _function_hint("sigmod")
    ("did you mean 'relu'?", "did you mean 'sigmoid'?", "did you mean 'log'?", "did you mean 'sigmoid'?")
    """
    low = name.casefold()
    for f in known:
        if f.casefold() == low:
            return _("did you mean '{name}'?").format(name=f)
    for op in OPS.values():
        if op.name in known and (op.glyph.casefold() == low or (low in ("sigma", "σ") and op.probability)):
            return _("did you mean '{name}'?").format(name=op.name)
    return did_you_mean(name, known) or (_("available functions: {names}").format(names=", ".join(known))
                                         if known is CALLABLE else None)


_Name, _BinOp, _Constant, _Call, _UnaryOp, _Subscript, _List, _MatMult = (
    ast.Name, ast.BinOp, ast.Constant, ast.Call, ast.UnaryOp, ast.Subscript, ast.List, ast.MatMult)
_SIGNS = (ast.USub, ast.UAdd)
# ast operator class → registry op name, for the operators of the language (@ is handled apart).
_BINARY_TYPES: dict[type, str | None] = {
    cls: BINARY.get(cls.__name__) for cls in ast.operator.__subclasses__()
    if cls.__name__ in BINARY or cls is ast.MatMult}


def _element_words(index: str, kind: str, name: str) -> str:
    return _("element {index} of {kind} '{name}'").format(index=index, kind=kind, name=name)


_FIRST_SCRIPT = "\n    x: input = 2.0\n    y = x*x"  # a script, the same in every language


class _Parser:
    def __init__(self, source: Source):
        self.source = source
        self.records: list[NodeRecord] = []
        self.env: dict[str, Value] = {}  # a user name → its latest version's value
        self.versions: dict[str, int] = {}  # a user name → how many versions it has
        self.defined: dict[str, int] = {}  # a user name → the line of its first definition
        self.declared: dict[str, str] = {}  # an input's or param's node id → its kind
        self.values: dict[str, float] = {}  # a declared scalar's id → its value (class indices)
        self.statements: dict[str, int] = {}  # every version's id → the line of its statement
        self.arrays: dict[str, tuple[tuple[int, ...], list[str]]] = {}
        self.taken: set[str] = set()  # user names, so that generated ids avoid them
        self.counters: dict[str, int] = {}
        self.max_nodes = LIMITS.nodes

    # ---- errors -------------------------------------------------------------------------------
    def error(self, message: str, node: ast.AST | None = None, *, line: int | None = None,
              col: int | None = None, hint: str | None = None) -> ParseError:
        if node is not None:
            line = getattr(node, "lineno", line)
            col = getattr(node, "col_offset", col)
        return ParseError(message, location=self.source.location(line, col), hint=hint)

    # ---- ids and records ----------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        while True:
            n = self.counters.get(prefix, 0) + 1
            self.counters[prefix] = n
            ident = f"{prefix}_{n}"
            if ident not in self.taken:
                return ident

    def add(self, rec: NodeRecord) -> str:
        if len(self.records) >= self.max_nodes:
            raise self._too_many(rec.line)
        self.records.append(rec)
        return rec.id

    def _too_many(self, line: int | None) -> LimitError:
        return LimitError(
            _("the script makes more than {most} graph nodes").format(most=f"{self.max_nodes:,}"),
            location=self.source.location(line),
            hint=_("raise the limit with the environment variable GRAPHTRACE_MAX_NODES"),
        )

    def reserve(self, count: int, node: ast.AST) -> None:
        """Refuse an array operation that would make too many nodes, before making any of them."""
        if len(self.records) + count > self.max_nodes:
            raise self._too_many(getattr(node, "lineno", None))

    # ---- statements ---------------------------------------------------------------------------
    def run(self) -> ParsedScript:
        src = self.source
        if not src.text.strip():
            raise ParseError(_("the script is empty"), location=Location(src.name),
                             hint=_("a script declares inputs and params and assigns at least one name, e.g.")
                                  + _FIRST_SCRIPT)
        tree = self.parse_ast()
        body = tree.body
        for stmt in body:  # first pass: the user's names, so generated ids never collide
            if isinstance(stmt, ast.Assign):
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        self.taken.add(t.id)
            elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name):
                self.taken.add(stmt.target.id)
        output = None
        last: ast.AST | None = None
        for stmt in body:
            if isinstance(stmt, ast.AnnAssign):
                self.declaration(stmt)
            elif isinstance(stmt, ast.Assign):
                output, last = self.assignment(stmt), stmt
            elif isinstance(stmt, ast.AugAssign):
                output, last = self.augmented(stmt), stmt
            elif isinstance(stmt, ast.Expr):
                if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                    raise self.error(_("strings are not part of the graphtrace language (use # comments)"), stmt)
                raise self.error(_("this expression is computed but never named"),
                                 stmt, hint=_("assign it to a name, e.g. `out = ...`"))
            else:
                raise self.error(refusal(stmt), stmt)
        if output is None:
            raise ParseError(
                _("the script assigns no name, so there is no output"),
                location=Location(src.name),
                hint=_("add an assignment such as `L = (y - z)**2`; the last assigned name is the output"),
            )
        if output in self.arrays:
            shape = self.arrays[output][0]
            base = output.split("#")[0]
            raise self.error(_("the output '{name}' is {shape}, but an output is one number").format(
                name=base, shape=shape_text(shape)), last,
                hint=_("end the script with a scalar, e.g. `out = sum({name})` or "
                       "`loss = cross_entropy({name}, y)`").format(name=base))
        return ParsedScript(src, self.records, output, dict(self.statements), dict(self.arrays))

    def parse_ast(self) -> ast.Module:
        text = self.source.text
        try:
            with warnings.catch_warnings():  # Python's SyntaxWarnings are noise for scripts
                warnings.simplefilter("ignore")
                return ast.parse(text, filename=self.source.name)
        except SyntaxError as exc:
            msg = exc.msg or "invalid syntax"
            if "too many nested parentheses" in msg:
                msg = _("expression nested too deeply (more than 200 levels of parentheses)")
                return self._raise(msg, exc.lineno, None, _("split it into named intermediate steps"))
            line = exc.lineno
            col = exc.offset
            loc_text = self.source.line(line) if line else None
            return self._raise_loc(_("syntax error: {reason}").format(reason=msg), Location(self.source.name, line, col, loc_text))
        except (RecursionError, MemoryError):
            line = self._deep_line()
            return self._raise(_("expression nested too deeply for the parser"), line, None,
                               _("split it into named intermediate steps, e.g. `s1 = a + b`, `s2 = s1 + c`"))
        except ValueError as exc:  # e.g. source code string cannot contain null bytes
            raise ParseError(str(exc), location=Location(self.source.name)) from None

    def _raise(self, msg: str, line: int | None, col: int | None, hint: str | None) -> ast.Module:
        raise ParseError(msg, location=self.source.location(line, col), hint=hint)

    def _raise_loc(self, msg: str, loc: Location) -> ast.Module:
        raise ParseError(msg, location=loc)

    def _deep_line(self) -> int | None:
        # Only on failure: find the first line that the parser cannot take on its own.
        for i, line in enumerate(self.source.text.split("\n"), 1):
            if len(line) < 500:
                continue
            try:
                ast.parse(line.strip())
            except (RecursionError, MemoryError):
                return i
            except SyntaxError:
                continue
        return None

    def check_name(self, name: str, node: ast.AST) -> None:
        if name in CALLABLE:
            raise self.error(_("'{name}' is a function name; choose another name for this value").format(name=name), node)
        if name in KINDS:
            raise self.error(_("'{name}' is a declaration kind; choose another name").format(name=name), node)

    def next_version(self, name: str) -> str:
        """The id the next assignment of ``name`` gets (committed by :meth:`commit`)."""
        return version_name(name, self.versions.get(name, 0) + 1)

    def commit(self, name: str, ident: str, value: Value, line: int) -> None:
        self.versions[name] = self.versions.get(name, 0) + 1
        self.defined.setdefault(name, line)
        self.env[name] = value
        self.statements[ident] = line
        if type(value) is Arr:
            self.arrays[ident] = (value.shape, value.ids)

    def declaration(self, stmt: ast.AnnAssign) -> None:
        target = stmt.target
        if not isinstance(target, ast.Name):
            raise self.error(_("a declaration names one value: `NAME: input = 1.0`"), target)
        ann = stmt.annotation
        if not isinstance(ann, ast.Name) or ann.id not in KINDS:
            shown = ann.id if isinstance(ann, ast.Name) else ast.unparse(ann)[:40]
            hint = did_you_mean(shown, KINDS) if isinstance(ann, ast.Name) else None
            raise self.error(_("unknown declaration kind '{kind}' (expected 'input' or 'param')").format(kind=shown), ann,
                             hint=hint)
        name, kind = target.id, ann.id
        if stmt.value is None:
            raise self.error(_("declaration of '{name}' needs a value").format(name=name),
                             stmt, hint=_("write `{example}`").format(example=f"{name}: {kind} = 1.0"))
        self.check_name(name, target)
        if name in self.env:
            raise self.error(_("'{name}' is already defined (on line {line}); an input or param is declared once, "
                               "before it is used").format(name=name, line=self.defined[name]), target,
                             hint=_("choose a new name, or assign a new version with `=`"))
        value: Value
        if isinstance(stmt.value, ast.List):
            value = self.leaf_array(stmt.value, name, kind)
        else:
            number = self._number(stmt.value, what=lambda: _("the value of {kind} '{name}'").format(kind=kind, name=name))
            self.add(NodeRecord(name, kind, None, number, True, stmt.lineno, target.col_offset,
                                target.end_col_offset or target.col_offset, (), stmt.lineno))
            self.declared[name] = kind
            self.values[name] = number
            value = name
        self.commit(name, name, value, stmt.lineno)

    def layout(self, node: ast.List) -> tuple[tuple[int, ...], list[ast.expr]]:
        """A list literal's shape and its elements, row-major: rectangular, at most two levels."""
        rows = node.elts
        if not rows:
            raise self.error(_("an empty list is not an array: give it at least one element"), node)
        if not isinstance(rows[0], ast.List):
            for e in rows:
                if isinstance(e, ast.List):
                    raise self.error(_("this list mixes numbers and lists: a vector holds numbers, a matrix "
                                       "holds rows of equal length"), e)
            return (len(rows),), list(rows)
        width = None
        flat: list[ast.expr] = []
        for i, row in enumerate(rows):
            if not isinstance(row, ast.List):
                raise self.error(_("this list mixes rows and numbers: every row of a matrix is a list"), row)
            if width is None:
                width = len(row.elts)
                if not width:
                    raise self.error(_("an empty row is not part of a matrix"), row)
            elif len(row.elts) != width:
                raise self.error(ngettext("ragged matrix: row {i} has {n} element, row 0 has {width}",
                                          "ragged matrix: row {i} has {n} elements, row 0 has {width}",
                                          len(row.elts)).format(i=i, n=len(row.elts), width=width), row,
                                 hint=_("every row of a matrix has the same length"))
            for e in row.elts:
                if isinstance(e, ast.List):
                    raise self.error(_("arrays have at most two dimensions (vectors and matrices)"), e)
            flat.extend(row.elts)
        return (len(rows), width or 0), flat

    def leaf_array(self, node: ast.List, name: str, kind: str) -> Arr:
        shape, elts = self.layout(node)
        self.reserve(len(elts), node)  # counted before any element is made
        ids = []
        for k, e in enumerate(elts):
            suffix = element_suffix(shape, k)
            number = self._number(e, what=partial(_element_words, suffix, kind, name))
            ident = name + suffix
            self.add(NodeRecord(ident, kind, None, number, True, e.lineno, e.col_offset,
                                e.end_col_offset or e.col_offset, (), e.end_lineno or e.lineno))
            self.declared[ident] = kind
            self.values[ident] = number
            ids.append(ident)
        return Arr(shape, ids)

    def _number(self, node: ast.expr, *, what: Callable[[], str]) -> float:
        """The literal number ``node`` holds; ``what`` names it in an error (made only then)."""
        sign = 1.0
        inner = node
        while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, (ast.USub, ast.UAdd)):
            if isinstance(inner.op, ast.USub):
                sign = -sign
            inner = inner.operand
        raw = inner.value if isinstance(inner, ast.Constant) else None
        if not isinstance(raw, (int, float)) or isinstance(raw, bool):
            raise self.error(_("{what} must be a number").format(what=what()), node,
                             hint=_("declared values are numbers; compute other values in assignments"))
        try:
            value = sign * float(raw)
        except OverflowError:  # an integer literal beyond float64's range (400 digits, say)
            value = math.inf
        if not math.isfinite(value):
            raise self.error(_("{what} is too large: beyond ±1.8e308, the largest float").format(what=what()), node)
        return value

    def assignment(self, stmt: ast.Assign) -> str:
        if len(stmt.targets) != 1:
            raise self.error(_("assign one name at a time (`a = b = ...` is not allowed)"), stmt)
        target = stmt.targets[0]
        if isinstance(target, ast.Subscript):
            raise self.error(_("an assignment names a whole value; one element of an array cannot be "
                               "assigned"), target, hint=_("build a new array instead, e.g. `v = [a, b, c]`"))
        if not isinstance(target, ast.Name):
            raise self.error(_("the left side must be a single name, not {what}").format(what=_what(target)[0]), target)
        self.check_name(target.id, target)
        ident = self.next_version(target.id)
        value = self.expression(stmt.value, ident)
        self.commit(target.id, ident, value, stmt.lineno)
        return ident

    def augmented(self, stmt: ast.AugAssign) -> str:
        """``c += e`` is ``c = c + e``: a new version of c, a node of its own (as in micrograd)."""
        target = stmt.target
        op_name = type(stmt.op).__name__
        symbol = _BINOP_TEXT.get(op_name, op_name) + "="
        if not isinstance(target, ast.Name):
            raise self.error(_("'{symbol}' needs a name on the left, not {what}").format(
                symbol=symbol, what=_what(target)[0]), target)
        if op_name not in BINARY and op_name != "MatMult":
            raise self.error(_("{what} is not part of the graphtrace language").format(
                what=_("the operator '{operator}'").format(operator=symbol)), stmt, hint=_operator_hint(op_name))
        name = target.id
        if name not in self.env:
            message = (_("'{name} {symbol} …' needs an earlier value of '{name}', but '{name}' is not defined "
                         "yet (it is assigned only later)") if name in self.taken
                       else _("'{name} {symbol} …' needs an earlier value of '{name}', but '{name}' is not "
                              "defined yet"))
            raise self.error(message.format(name=name, symbol=symbol), target,
                             hint=_("give it a first value, e.g. `{example}`").format(example=f"{name} = 0.0"))
        self.check_name(name, target)
        left = ast.Name(id=name, ctx=ast.Load())
        ast.copy_location(left, target)
        combined = ast.BinOp(left=left, op=stmt.op, right=stmt.value)
        ast.copy_location(combined, stmt)
        ident = self.next_version(name)
        value = self.expression(combined, ident)
        self.commit(name, ident, value, stmt.lineno)
        return ident

    # ---- expressions --------------------------------------------------------------------------
    def expression(self, root: ast.expr, name: str | None) -> Value:
        """Post-order walk with an explicit stack; the root's node (or each element of an array
        root) takes the assigned name, else an identity node carries it."""
        if isinstance(root, ast.List) and name is not None:
            return self.root_list(root, name)
        stack: list[tuple[ast.expr, Any]] = [(root, False)]
        results: list[Value] = []
        push, pop, put = stack.append, stack.pop, results.append
        # Dispatch on the exact node type (ast.parse makes no subclasses): a dict and `is`
        # instead of a chain of isinstance calls, 27 a line before (about a third of the walk).
        while stack:
            node, ready = pop()
            t = type(node)
            if not ready:
                if t is _Name:
                    put(self.reference(node))  # type: ignore[arg-type]
                elif t is _BinOp:
                    op_type = type(node.op)  # type: ignore[attr-defined]
                    if op_type not in _BINARY_TYPES:
                        raise self.error(refusal(node), node, hint=self._hint_for(node))
                    push((node, True))
                    push((node.right, False))  # type: ignore[attr-defined]
                    push((node.left, False))  # type: ignore[attr-defined]
                elif t is _Constant:
                    put(self.constant(node, name if node is root else None))  # type: ignore[arg-type]
                elif t is _Call:
                    receiver = self.check_call(node)  # type: ignore[arg-type]
                    push((node, True))
                    if receiver is not None:
                        push((receiver, False))
                    else:
                        for arg in reversed(node.args):  # type: ignore[attr-defined]
                            push((arg, False))
                elif t is _UnaryOp and type(node.op) in _SIGNS:  # type: ignore[attr-defined]
                    inner = node.operand  # type: ignore[attr-defined]
                    if type(inner) is _Constant and type(inner.value) in (int, float):
                        # -2.0 is one constant, not neg(2.0)
                        value = self._number(node, what=lambda: _("this number"))
                        put(self.const_record(value, node, name if node is root else None))
                    else:
                        push((node, True))
                        push((inner, False))
                elif t is _Subscript:
                    push((node, True))
                    push((node.value, False))  # type: ignore[attr-defined]
                elif t is _List:
                    shape, elts = self.layout(node)  # type: ignore[arg-type]
                    push((node, shape))
                    for e in reversed(elts):
                        push((e, False))
                else:
                    raise self.error(refusal(node), node, hint=self._hint_for(node))
            else:
                label = name if node is root else None
                if t is _BinOp:
                    right = results.pop()
                    left = results.pop()
                    op_type = type(node.op)  # type: ignore[attr-defined]
                    if op_type is _MatMult:
                        put(self.matmul(left, right, node, label))  # type: ignore[arg-type]
                    elif type(left) is str and type(right) is str:
                        put(self.op_node(_BINARY_TYPES[op_type], (left, right), node, label))  # type: ignore[arg-type]
                    else:
                        put(self.elementwise(_BINARY_TYPES[op_type], left, right, node, label))  # type: ignore[arg-type]
                elif t is _UnaryOp:
                    operand = results.pop()
                    put(self.apply(UNARY[type(node.op).__name__], operand, node, label))  # type: ignore[attr-defined]
                elif t is _Call:
                    func = node.func  # type: ignore[attr-defined]
                    if isinstance(func, ast.Attribute):
                        put(self.call(func.attr, [results.pop()], node, label))  # type: ignore[arg-type]
                    else:
                        assert isinstance(func, ast.Name)
                        n = len(node.args)  # type: ignore[attr-defined]
                        args = results[-n:]
                        del results[-n:]
                        put(self.call(func.id, args, node, label))  # type: ignore[arg-type]
                elif t is _Subscript:
                    put(self.subscript(results.pop(), node))  # type: ignore[arg-type]
                else:
                    assert t is _List
                    n = math.prod(ready)
                    items = results[-n:]
                    del results[-n:]
                    for item, e in zip(items, self.layout(node)[1], strict=True):  # type: ignore[arg-type]
                        if type(item) is Arr:
                            raise self.error(_("list elements are numbers, not {shape}").format(shape=shape_text(item.shape)), e)
                    put(Arr(ready, items))  # type: ignore[arg-type]
        return self.finish(results[-1], name, root)

    def finish(self, value: Value, name: str | None, node: ast.expr) -> Value:
        """Name an expression's result: identity nodes for the elements that are not yet named so
        (a reference ``s = a``, an element ``y = v[0]``, a row ``r = W[1]``)."""
        if name is None:
            return value
        if type(value) is str:
            return value if value == name else self.op_node(_IDENTITY, (value,), node, name)
        assert isinstance(value, Arr)
        shape = value.shape
        names = [name + element_suffix(shape, k) for k in range(len(value.ids))]
        if value.ids == names:
            return value
        self.reserve(len(names), node)
        ids = [i if i == n else self.op_node(_IDENTITY, (i,), node, n) for i, n in zip(value.ids, names, strict=True)]
        return Arr(shape, ids)

    def root_list(self, root: ast.List, name: str) -> Arr:
        """``v = [a*b, c]``: each element is its own expression, named ``v[0]``, ``v[1]``."""
        shape, elts = self.layout(root)
        self.reserve(len(elts), root)
        ids = []
        for k, e in enumerate(elts):
            item = self.expression(e, name + element_suffix(shape, k))
            if type(item) is Arr:
                raise self.error(_("list elements are numbers, not {shape}").format(shape=shape_text(item.shape)), e)
            ids.append(item)
        return Arr(shape, ids)  # type: ignore[arg-type]

    def _hint_for(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.BinOp):
            return _operator_hint(type(node.op).__name__)
        if isinstance(node, ast.Attribute):
            if node.attr in METHODS:
                return _("call it: `{call}`").format(call=f".{node.attr}()")
            return _("scripts are data, not Python programs: only numbers, names, lists, + - * / ** @, "
                     "the functions {names}, and method calls of the one-argument "
                     "ones such as x.relu()").format(names=", ".join(CALLABLE))
        return None

    def check_call(self, node: ast.Call) -> ast.expr | None:
        """Check a call's form before its arguments are walked; a method call's receiver, or None."""
        func = node.func
        if node.keywords:
            kw = node.keywords[0]
            shown = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "this function")
            raise self.error(_("keyword arguments are not allowed in {function}()").format(function=shown),
                             kw.value if kw.value is not None else node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error(_("starred arguments are not allowed"), arg)
        if isinstance(func, ast.Attribute):
            name = func.attr
            if name not in METHODS:
                if name in CALLABLE:
                    raise self.error(_("{name}() takes more than one argument, so it is not a method").format(
                        name=name), func, hint=_("write {name}(…) with its arguments").format(name=name))
                hint = _function_hint(name, METHODS)
                raise self.error(_("'.{name}()' is not a method graphtrace knows").format(name=name), func,
                                 hint=hint or _("method calls work for the one-argument functions: {names}").format(
                                     names=", ".join(METHODS)))
            if node.args:
                raise self.error(_(".{name}() takes no arguments when called as a method").format(name=name),
                                 node.args[0], hint=_("write {name}(x) or x.{name}()").format(name=name))
            return func.value
        if not isinstance(func, ast.Name):
            raise self.error(_("only functions can be called, not {what}").format(what=_what(func)[0]), func,
                             hint=_("available functions: {names}").format(names=", ".join(CALLABLE)))
        name = func.id
        if name not in CALLABLE:
            raise self.error(_("unknown function '{name}'").format(name=name), func, hint=_function_hint(name))
        counts = _arg_counts(name)
        if len(node.args) not in counts:
            want = counts[0]
            message = (ngettext("{name}() takes {n} argument, or one vector or matrix, got {got}",
                                "{name}() takes {n} arguments, or one vector or matrix, got {got}", want)
                       if len(counts) > 1 else
                       ngettext("{name}() takes {n} argument, got {got}", "{name}() takes {n} arguments, got {got}",
                                want))
            raise self.error(message.format(name=name, n=want, got=len(node.args)), node)
        return None

    def reference(self, node: ast.Name) -> Value:
        value = self.env.get(node.id)
        if value is not None:
            return value
        if node.id in CALLABLE:
            raise self.error(_("'{name}' is a function; call it, e.g. {name}(x)").format(name=node.id), node)
        if node.id in self.taken:
            raise self.error(_("'{name}' is used before it is assigned").format(name=node.id), node,
                             hint=_("define every name above the line that uses it"))
        candidates = list(self.env) + list(CALLABLE)
        raise self.error(_("undefined name '{name}'").format(name=node.id), node, hint=did_you_mean(node.id, candidates))

    def constant(self, node: ast.Constant, name: str | None) -> str:
        if type(node.value) not in (int, float):
            raise self.error(refusal(node), node)
        return self.const_record(self._number(node, what=lambda: _("this number")), node, name)

    def const_record(self, value: float, node: ast.expr, name: str | None) -> str:
        ident = name or self.fresh("const")
        return self.add(NodeRecord(ident, "const", None, value, name is not None, node.lineno,
                                   node.col_offset, node.end_col_offset or node.col_offset, (),
                                   node.end_lineno or node.lineno))

    def op_node(self, op: str, operands: tuple[str, ...], node: ast.expr, name: str | None) -> str:
        ident = name or self.fresh(op)
        return self.add(NodeRecord(ident, "op", op, None, name is not None, node.lineno,
                                   node.col_offset, node.end_col_offset or node.col_offset, operands,
                                   node.end_lineno or node.lineno))

    def part_node(self, op: str, operands: tuple[str, ...], node: ast.expr, name: str | None) -> str:
        """A node of an array operation's expansion (one product of ``W @ x``): located at the
        operation, with an empty span, since the source text is the whole operation, not this part."""
        ident = name or self.fresh(op)
        return self.add(NodeRecord(ident, "op", op, None, name is not None, node.lineno,
                                   node.col_offset, node.col_offset, operands, node.lineno))

    # ---- arrays: every operation expands into scalar nodes --------------------------------------
    def _labels(self, name: str | None, shape: tuple[int, ...], n: int) -> list[str | None]:
        if name is None:
            return [None] * n
        return [name + element_suffix(shape, k) for k in range(n)]

    def apply(self, op: str, a: Value, node: ast.expr, name: str | None) -> Value:
        """A unary op, elementwise on an array."""
        if type(a) is str:
            return self.op_node(op, (a,), node, name)
        assert isinstance(a, Arr)
        self.reserve(len(a.ids), node)
        labels = self._labels(name, a.shape, len(a.ids))
        return Arr(a.shape, [self.part_node(op, (x,), node, lab) for x, lab in zip(a.ids, labels, strict=True)])

    def elementwise(self, op: str, a: Value, b: Value, node: ast.expr, name: str | None) -> Value:
        """A binary op on arrays of one shape, or an array and a scalar (broadcast)."""
        if type(a) is str and type(b) is str:
            return self.op_node(op, (a, b), node, name)
        if type(a) is str:
            assert isinstance(b, Arr)
            shape, pairs = b.shape, [(a, y) for y in b.ids]
        elif type(b) is str:
            assert isinstance(a, Arr)
            shape, pairs = a.shape, [(x, b) for x in a.ids]
        else:
            assert isinstance(a, Arr) and isinstance(b, Arr)
            if a.shape != b.shape:
                message = (_(OPS[op].mismatch) if OPS[op].mismatch
                           else _("{op}() needs operands of one shape, got {a} and {b}").replace("{op}", op))
                raise self.error(message.format(a=shape_text(a.shape), b=shape_text(b.shape)), node,
                                 hint=_("an elementwise operation takes two arrays of one shape, or an array "
                                        "and a scalar; @ is the matrix product"))
            shape, pairs = a.shape, list(zip(a.ids, b.ids, strict=True))
        self.reserve(len(pairs), node)
        labels = self._labels(name, shape, len(pairs))
        return Arr(shape, [self.part_node(op, p, node, lab) for p, lab in zip(pairs, labels, strict=True)])

    def dot(self, xs: list[str], ys: list[str], node: ast.expr, name: str | None) -> str:
        """x·y as Python writes it: ((x0*y0 + x1*y1) + x2*y2) + …, a left-to-right sum."""
        last = len(xs) - 1
        acc = self.part_node(_MUL, (xs[0], ys[0]), node, name if last == 0 else None)
        for k in range(1, len(xs)):
            term = self.part_node(_MUL, (xs[k], ys[k]), node, None)
            acc = self.part_node(_ADD, (acc, term), node, name if k == last else None)
        return acc

    def matmul(self, a: Value, b: Value, node: ast.BinOp, name: str | None) -> Value:
        if type(a) is str or type(b) is str:
            side = node.left if type(a) is str else node.right
            raise self.error(_("@ multiplies vectors and matrices, and this operand is a scalar"), side,
                             hint=_("use * to multiply by a scalar"))
        assert isinstance(a, Arr) and isinstance(b, Arr)
        sa, sb = a.shape, b.shape
        inner_a = sa[-1]
        inner_b = sb[0]
        if inner_a != inner_b:
            left = (ngettext("{n} column on the left", "{n} columns on the left", inner_a) if len(sa) == 2
                    else ngettext("{n} element on the left", "{n} elements on the left", inner_a)).format(n=inner_a)
            right = (ngettext("{n} row on the right", "{n} rows on the right", inner_b) if len(sb) == 2
                     else ngettext("{n} element on the right", "{n} elements on the right", inner_b)).format(n=inner_b)
            raise self.error(_("cannot multiply {a} by {b}").format(a=shape_text(sa), b=shape_text(sb)), node,
                             hint=_("the inner sizes must agree, and here there are {left} and {right}").format(
                                 left=left, right=right))
        n = inner_a
        rows = [a.ids[i * n:(i + 1) * n] for i in range(sa[0])] if len(sa) == 2 else [a.ids]
        if len(sb) == 2:
            p = sb[1]
            cols = [b.ids[j::p] for j in range(p)]
        else:
            cols = [b.ids]
        out_shape = tuple(([sa[0]] if len(sa) == 2 else []) + ([sb[1]] if len(sb) == 2 else []))
        self.reserve(len(rows) * len(cols) * (2 * n - 1), node)
        if not out_shape:  # vector · vector
            return self.dot(rows[0], cols[0], node, name)
        labels = self._labels(name, out_shape, len(rows) * len(cols))
        ids = []
        for i, row in enumerate(rows):
            for j, col in enumerate(cols):
                ids.append(self.dot(row, col, node, labels[i * len(cols) + j]))
        return Arr(out_shape, ids)

    def subscript(self, value: Value, node: ast.Subscript) -> Value:
        target = node.value
        what = f"'{target.id}'" if isinstance(target, ast.Name) else _("this value")
        if type(value) is str:
            raise self.error(_("{what} is a scalar: only vectors and matrices can be indexed").format(what=what), node,
                             hint=_("declare an array with a list, e.g. `v: input = [1.0, 2.0]`"))
        assert isinstance(value, Arr)
        index = node.slice
        items = list(index.elts) if isinstance(index, ast.Tuple) else [index]
        shape = value.shape
        for item in items:
            if isinstance(item, ast.Slice):
                raise self.error(refusal(item), item, hint=_("pick elements one by one, e.g. v[0]"))
        if len(items) > len(shape):
            raise self.error(ngettext("{what} is {shape}: it takes {n} index, got {got}",
                                      "{what} is {shape}: it takes {n} indices, got {got}", len(shape)).format(
                what=what, shape=shape_text(shape), n=len(shape), got=len(items)), index)
        at = [self.index(item, size, what, shape) for item, size in zip(items, shape, strict=False)]
        if len(at) == len(shape):
            k = at[0] if len(at) == 1 else at[0] * shape[1] + at[1]
            return value.ids[k]
        n = shape[1]  # one index into a matrix: its row
        return Arr((n,), value.ids[at[0] * n:(at[0] + 1) * n])

    def index(self, item: ast.expr, size: int, what: str, shape: tuple[int, ...]) -> int:
        inner, sign = item, 1
        if isinstance(item, ast.UnaryOp) and isinstance(item.op, ast.USub):
            inner, sign = item.operand, -1
        raw = inner.value if isinstance(inner, ast.Constant) else None
        if type(raw) is not int:
            if isinstance(inner, ast.Name):
                raise self.error(_("an index is an integer literal such as v[0], not the name '{name}'").format(
                    name=inner.id), item, hint=_("arrays are expanded when the script is read, so every index "
                                                 "is a fixed number"))
            shown = repr(raw) if isinstance(raw, float) else None
            raise self.error(_("an index is an integer, not {value}").format(value=shown) if shown
                             else _("an index is an integer literal such as v[0] or W[1, 0]"), item)
        i = sign * raw
        if not -size <= i < size:
            raise self.error(_("index {i} is out of range for {what}, {shape}").format(i=i, what=what, shape=shape_text(shape)),
                             item, hint=_("indices run from 0 to {last}").format(last=size - 1))
        return i % size

    def fold(self, op: str, a: Arr, node: ast.expr, name: str | None) -> str:
        """A binary op folded over every element, left to right: ((a0 + a1) + a2) + …"""
        ids = a.ids
        self.reserve(len(ids), node)
        acc = ids[0]
        last = len(ids) - 1
        for k in range(1, len(ids)):
            acc = (self.op_node if k == last else self.part_node)(op, (acc, ids[k]), node, name if k == last else None)
        return acc

    def call(self, fn: str, args: list[Value], node: ast.Call, name: str | None) -> Value:
        op = OPS.get(fn)
        if op is not None and not op.variadic and not (op.reduction and len(args) == 1):
            if len(args) == 1:
                return self.apply(fn, args[0], node, name)
            return self.elementwise(fn, args[0], args[1], node, name)
        array = args[0]
        if type(array) is str:
            if op is not None and op.reduction:
                raise self.error(_("{name}() takes 2 arguments, or one vector or matrix, and this is one "
                                   "scalar").format(name=fn),
                                 node, hint=_("for two scalars write {name}(a, b)").format(name=fn))
            message = (_("{name}() takes a vector, and this is a scalar") if op is not None
                       else _("{name}() takes a vector or a matrix, and this is a scalar"))
            raise self.error(message.format(name=fn), node,
                             hint=_("declare a vector with a list, e.g. `v: input = [1.0, 2.0]`"))
        assert isinstance(array, Arr)
        if op is None or op.reduction:
            if fn == _MEAN:
                total = self.fold(_ADD, array, node, None)
                count = self.const_record(float(len(array.ids)), node, None)
                return self.op_node(_DIV, (total, count), node, name)
            return self.fold(REDUCTIONS[fn], array, node, name)
        if len(array.shape) != 1:
            raise self.error(_("{name}() takes a vector, not {shape}").format(name=fn, shape=shape_text(array.shape)),
                             node, hint=_("apply it to one row, e.g. {name}(W[0])").format(name=fn))
        ids = array.ids
        if op.takes == "each" and len(ids) ** 2 > self.max_nodes:  # K nodes of K operands each
            raise LimitError(_("{name}() of {shape} makes {edges} edges, more than the limit of {most} graph "
                               "nodes").format(name=fn, shape=shape_text(array.shape), edges=f"{len(ids) ** 2:,}",
                                               most=f"{self.max_nodes:,}"),
                             location=self.source.location(node.lineno, node.col_offset),
                             hint=_("raise the limit with the environment variable GRAPHTRACE_MAX_NODES"))
        if op.takes == "all":
            return self.op_node(fn, tuple(ids), node, name)
        if op.takes == "each":  # node i takes its own element first, then the others in turn
            self.reserve(len(ids), node)
            labels = self._labels(name, array.shape, len(ids))
            return Arr(array.shape, [self.part_node(fn, tuple(ids[i:] + ids[:i]), node, labels[i])
                                     for i in range(len(ids))])
        k = self.class_index(args[1], node.args[1], len(ids), fn)
        return self.op_node(fn, (*ids, k), node, name)

    def class_index(self, value: Value, arg: ast.expr, n: int, fn: str) -> str:
        """The class index of cross_entropy: an integer literal, or a scalar input holding one."""
        hint = _("the classes of {n} logits are 0 to {last}").format(n=n, last=n - 1)
        if type(value) is Arr:
            raise self.error(_("the class index of {name}() is one number, not {shape}").format(
                name=fn, shape=shape_text(value.shape)), arg,
                             hint=hint)
        assert isinstance(value, str)
        kind = self.declared.get(value)
        if isinstance(arg, ast.Constant) or (isinstance(arg, ast.UnaryOp) and isinstance(arg.operand, ast.Constant)):
            number = self._number(arg, what=lambda: _("the class index"))
            raw = arg.value if isinstance(arg, ast.Constant) else None
            if isinstance(raw, float) or number != int(number) or not 0 <= number < n:
                shown = repr(raw) if isinstance(raw, float) else f"{number:g}"
                raise self.error(_("the class index of {name}() is {value}; it must be an integer from 0 to "
                                   "{last}").format(name=fn, value=shown, last=n - 1), arg, hint=hint)
            return value
        if kind != "input":
            message = (_("the class index of {name}() is an integer literal or an input (a label), and this one "
                         "is a param") if kind == "param"
                       else _("the class index of {name}() is an integer literal or an input (a label), and this "
                              "one is computed"))
            raise self.error(message.format(name=fn), arg,
                             hint=_("declare it, e.g. `y: input = 0`; {hint}").format(hint=hint))
        number = self.values[value]
        if number != int(number) or not 0 <= number < n:
            raise self.error(_("the class index '{name}' is {value}, but the {n} logits have the classes "
                               "0 to {last}").format(name=value, value=f"{number:g}", n=n, last=n - 1), arg,
                             hint=_("declare it with a class, e.g. `{example}`").format(example=f"{value}: input = 0"))
        return value


def parse_program(source: Source) -> ParsedScript:
    """Parse a script into node records (no graph yet).

    >>> p = parse_program(Source("x: input = 3\\ny = x*x\\n"))
    >>> [(r.id, r.kind, r.op, r.operands) for r in p.records]
    [('x', 'input', None, ()), ('y', 'op', 'mul', ('x', 'x'))]
    >>> p = parse_program(Source("c: param = 1\\nc += c*2\\n"))
    >>> [(r.id, r.op, r.operands) for r in p.records], p.output
    ([('c', None, ()), ('const_1', None, ()), ('mul_1', 'mul', ('c', 'const_1')), ('c#2', 'add', ('c', 'mul_1'))], 'c#2')
    """
    return _Parser(source).run()
