"""Parsing: script text → a flat list of node records in source (and so topological) order.

The parser walks Python's ``ast`` and accepts a whitelist of node types; it never evaluates,
executes or compiles anything. The walk is iterative, so long chains cost no Python recursion.
Invariants of the result: every record's operands appear earlier in the list; ids are the script's
names or generated ids (``mul_3``) numbered per op in source order and never equal to a user name.
"""

from __future__ import annotations

__all__ = ["Source", "NodeRecord", "ParsedScript", "read_source", "parse_program", "LIMITS"]

import ast
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .errors import LimitError, Location, ParseError, env_limit
from .ops import BINARY, FUNCTIONS, OPS, UNARY
from .text import char_column, did_you_mean

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
    """The parsed script: node records in topological order and the default output."""

    source: Source
    records: list[NodeRecord]
    output: str
    statements: dict[str, int] = field(default_factory=dict)  # name → line of its statement


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
        label = name or str(path)
        p = Path(path)
        try:
            size = p.stat().st_size
            if size > limit:
                raise _too_big(label, size, limit)
            with open(p, "rb") as fh:
                data = fh.read(limit + 1)
        except IsADirectoryError:
            raise ParseError(f"'{label}' is a folder, not a script", location=Location(label)) from None
        except FileNotFoundError:
            raise ParseError(f"no such file '{label}'", location=Location(label)) from None
        except PermissionError:
            raise ParseError(f"cannot read '{label}': permission denied", location=Location(label)) from None
        except OSError as exc:
            raise ParseError(f"cannot read '{label}': {exc.strerror or exc}", location=Location(label)) from None
        if len(data) > limit:
            raise _too_big(label, None, limit)
    return Source(_decode(data, label), label)


def _too_big(label: str, size: int | None, limit: int) -> LimitError:
    got = f" ({size:,} bytes)" if size is not None else ""
    return LimitError(
        f"script is larger than the {limit:,}-byte limit{got}",
        location=Location(label),
        hint="raise it with the environment variable GRAPHTRACE_MAX_SCRIPT_BYTES if you trust the file",
    )


def _decode(data: bytes, label: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise ParseError("this is a binary file, not a graphtrace script (it contains a NUL byte)",
                         location=Location(label, line))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ParseError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                         location=Location(label, line, col),
                         hint="save the script as UTF-8") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


# What a user wrote, in words, for constructs outside the language.
_FORBIDDEN = {
    "Attribute": "attribute access (a.b)",
    "Subscript": "subscripts (a[i])",
    "Lambda": "lambda functions",
    "ListComp": "list comprehensions", "SetComp": "set comprehensions",
    "DictComp": "dict comprehensions", "GeneratorExp": "generator expressions",
    "List": "lists", "Tuple": "tuples", "Set": "sets", "Dict": "dicts",
    "Compare": "comparisons", "BoolOp": "'and'/'or'", "IfExp": "conditional expressions",
    "JoinedStr": "f-strings", "FormattedValue": "f-strings", "Starred": "starred arguments",
    "NamedExpr": "the walrus operator (:=)", "Await": "await", "Yield": "yield",
    "YieldFrom": "yield", "Slice": "slices",
    "Import": "import statements", "ImportFrom": "import statements",
    "FunctionDef": "function definitions", "AsyncFunctionDef": "function definitions",
    "ClassDef": "class definitions", "Return": "return", "Delete": "del",
    "AugAssign": "augmented assignment (+=): a name is assigned exactly once",
    "For": "loops", "AsyncFor": "loops", "While": "loops", "If": "if statements",
    "With": "with statements", "AsyncWith": "with statements", "Match": "match statements",
    "Raise": "raise", "Try": "try statements", "TryStar": "try statements", "Assert": "assert",
    "Global": "global", "Nonlocal": "nonlocal", "Pass": "pass", "Break": "break",
    "Continue": "continue",
}
_BINOP_TEXT = {"FloorDiv": "//", "Mod": "%", "MatMult": "@", "LShift": "<<", "RShift": ">>",
               "BitOr": "|", "BitXor": "^", "BitAnd": "&"}


def _what(node: ast.AST) -> str:
    kind = type(node).__name__
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, str):
            return "strings"
        if isinstance(v, bytes):
            return "bytes literals"
        if isinstance(v, bool):
            return "booleans (True/False)"
        if isinstance(v, complex):
            return "complex numbers"
        if v is None:
            return "None"
        if v is Ellipsis:
            return "'...'"
    if isinstance(node, ast.BinOp):
        return f"the operator '{_BINOP_TEXT.get(type(node.op).__name__, type(node.op).__name__)}'"
    if isinstance(node, ast.UnaryOp):
        return "'not'" if isinstance(node.op, ast.Not) else "the operator '~'"
    return _FORBIDDEN.get(kind, f"'{kind}' expressions")


class _Parser:
    def __init__(self, source: Source):
        self.source = source
        self.records: list[NodeRecord] = []
        self.defined: dict[str, int] = {}  # name → line where it was defined
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
            raise LimitError(
                f"the script makes more than {self.max_nodes:,} graph nodes",
                location=self.source.location(rec.line),
                hint="raise the limit with the environment variable GRAPHTRACE_MAX_NODES",
            )
        self.records.append(rec)
        return rec.id

    # ---- statements ---------------------------------------------------------------------------
    def run(self) -> ParsedScript:
        src = self.source
        if not src.text.strip():
            raise ParseError("the script is empty", location=Location(src.name),
                             hint="a script declares inputs and params and assigns at least one name, e.g.\n"
                                  "    x: input = 2.0\n    y = x*x")
        tree = self.parse_ast()
        body = tree.body
        for stmt in body:  # first pass: the user's names, so generated ids never collide
            if isinstance(stmt, ast.Assign):
                for t in stmt.targets:
                    if isinstance(t, ast.Name):
                        self.taken.add(t.id)
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                self.taken.add(stmt.target.id)
        output = None
        for stmt in body:
            if isinstance(stmt, ast.AnnAssign):
                self.declaration(stmt)
            elif isinstance(stmt, ast.Assign):
                output = self.assignment(stmt)
            elif isinstance(stmt, ast.Expr):
                if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                    raise self.error("strings are not part of the graphtrace language (use # comments)", stmt)
                raise self.error("this expression is computed but never named",
                                 stmt, hint="assign it to a name, e.g. `out = ...`")
            else:
                raise self.error(f"{_what(stmt)} are not part of the graphtrace language", stmt)
        if output is None:
            raise ParseError(
                "the script assigns no name, so there is no output",
                location=Location(src.name),
                hint="add an assignment such as `L = (y - z)**2`; the last assigned name is the output",
            )
        return ParsedScript(src, self.records, output, dict(self.defined))

    def parse_ast(self) -> ast.Module:
        text = self.source.text
        try:
            with warnings.catch_warnings():  # Python's SyntaxWarnings are noise for scripts
                warnings.simplefilter("ignore")
                return ast.parse(text, filename=self.source.name)
        except SyntaxError as exc:
            msg = exc.msg or "invalid syntax"
            if "too many nested parentheses" in msg:
                msg = "expression nested too deeply (more than 200 levels of parentheses)"
                return self._raise(msg, exc.lineno, None, "split it into named intermediate steps")
            line = exc.lineno
            col = exc.offset
            loc_text = self.source.line(line) if line else None
            return self._raise_loc(f"syntax error: {msg}", Location(self.source.name, line, col, loc_text))
        except (RecursionError, MemoryError):
            line = self._deep_line()
            return self._raise("expression nested too deeply for the parser", line, None,
                               "split it into named intermediate steps, e.g. `s1 = a + b`, `s2 = s1 + c`")
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

    def define(self, name: str, node: ast.Name) -> None:
        if name in FUNCTIONS:
            raise self.error(f"'{name}' is a function name; choose another name for this value", node)
        if name in KINDS:
            raise self.error(f"'{name}' is a declaration kind; choose another name", node)
        if name in self.defined:
            raise self.error(f"name '{name}' is assigned twice (first on line {self.defined[name]})",
                             node, hint="every name is assigned exactly once; pick a new name")
        self.defined[name] = node.lineno

    def declaration(self, stmt: ast.AnnAssign) -> None:
        target = stmt.target
        if not isinstance(target, ast.Name):
            raise self.error("a declaration names one value: `NAME: input = 1.0`", target)
        ann = stmt.annotation
        if not isinstance(ann, ast.Name) or ann.id not in KINDS:
            shown = ann.id if isinstance(ann, ast.Name) else ast.unparse(ann)[:40]
            hint = did_you_mean(shown, KINDS) if isinstance(ann, ast.Name) else None
            raise self.error(f"unknown declaration kind '{shown}' (expected 'input' or 'param')", ann,
                             hint=hint)
        if stmt.value is None:
            raise self.error(f"declaration of '{target.id}' needs a value",
                             stmt, hint=f"write `{target.id}: {ann.id} = 1.0`")
        value = self._number(stmt.value, what=f"the value of {ann.id} '{target.id}'")
        self.define(target.id, target)
        self.add(NodeRecord(target.id, ann.id, None, value, True, stmt.lineno, target.col_offset,
                            target.end_col_offset or target.col_offset, (), stmt.lineno))

    def _number(self, node: ast.expr, *, what: str) -> float:
        sign = 1.0
        inner = node
        while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, (ast.USub, ast.UAdd)):
            if isinstance(inner.op, ast.USub):
                sign = -sign
            inner = inner.operand
        raw = inner.value if isinstance(inner, ast.Constant) else None
        if not isinstance(raw, (int, float)) or isinstance(raw, bool):
            raise self.error(f"{what} must be a number", node,
                             hint="declared values are numbers; compute other values in assignments")
        value = sign * float(raw) if abs(raw) < 1e400 else math.inf
        if not math.isfinite(value):
            raise self.error(f"{what} is not a finite number", node)
        return value

    def assignment(self, stmt: ast.Assign) -> str:
        if len(stmt.targets) != 1:
            raise self.error("assign one name at a time (`a = b = ...` is not allowed)", stmt)
        target = stmt.targets[0]
        if not isinstance(target, ast.Name):
            raise self.error(f"the left side must be a single name, not {_what(target)}", target)
        self.expression(stmt.value, target.id)
        self.define(target.id, target)
        return target.id

    # ---- expressions --------------------------------------------------------------------------
    def expression(self, root: ast.expr, name: str) -> str:
        """Post-order walk with an explicit stack; the root's node takes the assigned name."""
        stack: list[tuple[ast.expr, bool]] = [(root, False)]
        results: list[str] = []
        while stack:
            node, ready = stack.pop()
            if not ready:
                if isinstance(node, ast.Constant):
                    results.append(self.constant(node, name if node is root else None))
                elif isinstance(node, ast.Name):
                    ref = self.reference(node)
                    if node is root:  # `s = a`: an identity node carries the new name
                        results.append(self.op_node("identity", (ref,), node, name))
                    else:
                        results.append(ref)
                elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                    inner = node.operand
                    if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
                        # -2.0 is one constant, not neg(2.0)
                        value = self._number(node, what="this number")
                        results.append(self.const_record(value, node, name if node is root else None))
                    else:
                        stack.append((node, True))
                        stack.append((inner, False))
                elif isinstance(node, ast.BinOp) and type(node.op).__name__ in BINARY:
                    stack.append((node, True))
                    stack.append((node.right, False))
                    stack.append((node.left, False))
                elif isinstance(node, ast.Call):
                    self.check_call(node)
                    stack.append((node, True))
                    for arg in reversed(node.args):
                        stack.append((arg, False))
                else:
                    raise self.error(f"{_what(node)} are not part of the graphtrace language", node,
                                     hint=self._hint_for(node))
            else:
                label = name if node is root else None
                if isinstance(node, ast.UnaryOp):
                    operand = results.pop()
                    results.append(self.op_node(UNARY[type(node.op).__name__], (operand,), node, label))
                elif isinstance(node, ast.BinOp):
                    right = results.pop()
                    left = results.pop()
                    results.append(self.op_node(BINARY[type(node.op).__name__], (left, right), node, label))
                else:
                    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    n = len(node.args)
                    args = tuple(results[-n:])
                    del results[-n:]
                    results.append(self.op_node(node.func.id, args, node, label))
        return results[-1]

    def _hint_for(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Attribute) or isinstance(node, ast.Subscript):
            return "scripts are data, not Python programs: only numbers, names, + - * / ** and " \
                   "the functions " + ", ".join(FUNCTIONS)
        return None

    def check_call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, ast.Name):
            raise self.error(f"only functions can be called, not {_what(func)}", func,
                             hint="available functions: " + ", ".join(FUNCTIONS))
        if func.id not in FUNCTIONS:
            hint = did_you_mean(func.id, FUNCTIONS) or ("available functions: " + ", ".join(FUNCTIONS))
            raise self.error(f"unknown function '{func.id}'", func, hint=hint)
        if node.keywords:
            raise self.error(f"keyword arguments are not allowed in {func.id}()", node.keywords[0].value
                             if node.keywords[0].value is not None else node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.error("starred arguments are not allowed", arg)
        arity = OPS[func.id].arity
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            raise self.error(f"{func.id}() takes {arity} {plural}, got {len(node.args)}", node)

    def reference(self, node: ast.Name) -> str:
        if node.id in self.defined:
            return node.id
        if node.id in FUNCTIONS:
            raise self.error(f"'{node.id}' is a function; call it, e.g. {node.id}(x)", node)
        if node.id in self.taken:
            raise self.error(f"'{node.id}' is used before it is assigned", node,
                             hint="define every name above the line that uses it")
        candidates = list(self.defined) + list(FUNCTIONS)
        raise self.error(f"undefined name '{node.id}'", node, hint=did_you_mean(node.id, candidates))

    def constant(self, node: ast.Constant, name: str | None) -> str:
        if type(node.value) not in (int, float):
            raise self.error(f"{_what(node)} are not part of the graphtrace language", node)
        return self.const_record(self._number(node, what="this number"), node, name)

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


def parse_program(source: Source) -> ParsedScript:
    """Parse a script into node records (no graph yet).

    >>> p = parse_program(Source("x: input = 3\\ny = x*x\\n"))
    >>> [(r.id, r.kind, r.op, r.operands) for r in p.records]
    [('x', 'input', None, ()), ('y', 'op', 'mul', ('x', 'x'))]
    """
    return _Parser(source).run()
