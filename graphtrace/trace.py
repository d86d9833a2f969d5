"""Tracing: micrograd-compatible ``Value`` objects that record every operation as a graph node.

The library face for real code: arithmetic on :class:`Value` (``+ - * / **``, unary ``-``, and
every function of the op registry as a method: ``.relu()``, ``.tanh()``, ``.exp()``, …) computes
the number, as micrograd does, and records the operation. :func:`graph` turns the recorded
operations behind a Value into an ordinary :class:`graphtrace.Graph`, so gradients three ways,
paths, drawings and the explorer work on it unchanged; ``Value.backward()`` fills ``.grad`` like
micrograd's, computed by graphtrace's backprop on that graph.

Invariants: a Value made by an operation keeps its operands in argument order (``x*x`` keeps x
twice: two edges, two paths), its op record from :mod:`graphtrace.ops` (the only source of the
maths) and the operand values it was computed from, so a leaf whose ``.data`` changes later (a
training step) enters each graph with the value that graph used. Creation order is a topological
order; node ids are names or generated ids in creation order, never ``id()``. The number of live
Values is bounded by the node limit (``GRAPHTRACE_MAX_NODES``) as they are made, not afterwards.
"""

from __future__ import annotations

__all__ = ["Value", "Module", "graph", "to_script", "TracedGraph", "OracleEntry", "relu", "sigmoid", "tanh", "exp",
           "log", "sqrt", "sin", "cos", "tan", "softplus"]

import ast
import gc
import keyword
import math
import numbers
import re
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .api import Graph
from .check import CheckReport, GradientEntry, relative_error
from .errors import EvaluationError, GraphError, LimitError
from .graph import build_graph, operands
from .i18n import _
from .ops import BINARY, FUNCTIONS, OPS, UNARY, Op
from .parse import LIMITS, NodeRecord, ParsedScript, Source


# ---- the recorder's state -------------------------------------------------------------------------
class _State:
    """What a trace remembers besides the Values themselves (one per traced program; see trace_run)."""

    def __init__(self, program: str | None = None, source: Source | None = None) -> None:
        self.program = program  # the file whose lines locate operations (None: __main__'s file)
        self.source = source
        self.versions: dict[str, int] = {}  # name → how many Values it has named (c, c#2, c#3)
        self.containers: dict[str, Any] = {}  # name → the list/array it names now (for versions)
        self.modules: list[weakref.ref[Any]] = []  # micrograd-style modules, in creation order
        self.backward: Value | None = None  # the last Value .backward() was called on
        self.last: Any = None  # the last Value (or Graph) assigned at module level
        self.attrs: dict[str, Any] | None = None  # node attributes for Values made now (layer, neuron)


_STATE = _State()
_LIVE = [0]  # Values alive in this process (the node limit bounds it)
_SEQ = [0]  # Values made in this process: their creation order (never reset, so always topological)
_LIMIT = [LIMITS.nodes]
_POSITIONS: dict[Any, list[Any]] = {}  # code object → its instructions' source positions


def _new_state(program: str | None = None, source: Source | None = None) -> _State:
    """Start a fresh trace (names, versions, modules); returns the previous state to restore."""
    global _STATE
    old = _STATE
    _STATE = _State(program, source)
    _LIMIT[0] = LIMITS.nodes
    return old


def _restore_state(state: _State) -> None:
    global _STATE
    _STATE = state


@contextmanager
def _using(state: _State) -> Iterator[None]:
    """Make ``state`` the current trace for the block (graphs of a finished program run)."""
    global _STATE
    saved = _STATE
    _STATE = state
    try:
        yield
    finally:
        _STATE = saved


@contextmanager
def annotate(**attrs: Any) -> Iterator[None]:
    """Give every Value made inside the block these node attributes (``layer``, ``neuron``, ``array``).

    >>> with annotate(layer=1, neuron=2):
    ...     v = Value(1.0) * 2
    >>> v._attrs["layer"], v._attrs["neuron"]
    (1, 2)
    """
    saved = _STATE.attrs
    _STATE.attrs = {**(saved or {}), **attrs}
    try:
        yield
    finally:
        _STATE.attrs = saved


def _too_many() -> LimitError:
    where = _where()
    loc = None
    if where is not None and _STATE.source is not None:
        loc = _STATE.source.location(where[0])
    return LimitError(_("the traced program holds more than {limit} Values (graph nodes)").format(
                          limit=f"{_LIMIT[0]:,}"),
                      location=loc,
                      hint=_("trace a smaller computation (one training step, fewer samples), or raise the "
                             "limit with the environment variable GRAPHTRACE_MAX_NODES"))


def _where(depth: int = 1) -> tuple[int, int, int] | None:
    """The program line (and, when the operation is written right there, its columns) of the caller.

    Only a program run by ``graphtrace trace`` has locations. Frames of this module are skipped;
    frames of other code (the micrograd shim's modules, numpy's Python code, the program's own
    helper modules) are skipped too, but then the operation is not written on the program's line
    itself: it is located at the line that called that code, without a column span, so drawings
    do not title it with that line's text.
    """
    program = _STATE.program
    if program is None:
        return None
    try:
        f: Any = sys._getframe(depth)
    except ValueError:
        return None
    direct = True
    while f is not None:
        name = f.f_code.co_filename
        if name == program:
            break
        if name != _THIS_FILE:
            direct = False
        f = f.f_back
    if f is None:
        return None
    line = f.f_lineno or 0
    if line <= 0:
        return None
    if not direct:
        return (line, 0, 0)
    code = f.f_code
    pos = _POSITIONS.get(code)
    if pos is None:
        pos = list(code.co_positions()) if hasattr(code, "co_positions") else []
        _POSITIONS[code] = pos
    i = f.f_lasti // 2
    if 0 <= i < len(pos):
        start, end_line, col, end_col = pos[i]
        if start == line and end_line == line and col is not None and end_col is not None:
            return (line, col, end_col)
    return (line, 0, 0)


_THIS_FILE = _where.__code__.co_filename


# ---- numbers ------------------------------------------------------------------------------------
def _number(x: Any) -> Any:
    """``x`` as a plain real number, or None when it is not one (a Value, an array, a string)."""
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, np.ndarray):
        if x.ndim == 0 and x.dtype.kind in "biuf":
            return x.item()
        return None
    if isinstance(x, (np.integer, np.floating, np.bool_)):
        return x.item()
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def _plain(out: Any) -> Any:
    # the registry's numpy forms give numpy scalars; Values hold plain Python numbers
    if isinstance(out, (np.generic, np.ndarray)):
        return out.item()
    return out


# ---- the Value ----------------------------------------------------------------------------------
class Value:
    """A number that records the operations made with it (micrograd's ``Value``, traced).

    ``Value(data)``; ``.data``, ``.grad``; ``+ - * / **`` with numbers on either side, unary ``-``;
    ``.relu()``, ``.tanh()``, ``.exp()``, ``.log()``, ``.sigmoid()`` and every other function of the
    op registry as a method; ``.backward()``; ``.graph()`` for the graphtrace graph.
    ``label=`` names the node (micrograd's lecture code does the same); otherwise names come from
    the program's variables when traced by ``graphtrace trace``.

    >>> a = Value(-4.0, label="a"); b = Value(2.0, label="b")
    >>> g = (a * b + b**3).relu()
    >>> g.data
    0.0
    >>> c = a * b - a
    >>> c.backward(); (a.grad, b.grad)
    (1.0, -4.0)
    """

    __slots__ = ("data", "grad", "label", "_gt_op", "_args", "_vals", "_seq", "_loc", "_name", "_attrs",
                 "_kind", "__dict__", "__weakref__")

    def __init__(self, data: Any, _children: Iterable[Value] = (), _op: str = "", label: str = "") -> None:
        self._seq = -1
        if _LIVE[0] >= _LIMIT[0] or not _SEQ[0] & 1023:
            _check_limit()
        x = _number(data)
        if x is None:
            raise TypeError(f"Value(data) takes a real number, got {type(data).__name__} {_short(data)}"
                            + ("; for arrays make an array of Values: np.array([Value(x) for x in ...])"
                               if isinstance(data, (np.ndarray, list, tuple)) else ""))
        st = _STATE
        _LIVE[0] += 1
        self._seq = _SEQ[0]
        _SEQ[0] += 1
        self.data = data if isinstance(data, (int, float, np.generic)) else x
        self.grad: Any = 0
        self.label = label
        self._gt_op: Op | None = None
        self._args: tuple[Value, ...] = ()
        self._vals: tuple[Any, ...] = ()
        self._loc = None
        self._name: str | None = None
        self._attrs = st.attrs
        self._kind = "leaf"
        children = tuple(_children)
        if children or _op:
            _adopt(self, children, _op)
        else:
            self._loc = _where()

    def __del__(self) -> None:
        try:
            if self._seq >= 0:
                _LIVE[0] -= 1
        except Exception:  # interpreter shutdown: nothing left to count
            pass

    # ---- micrograd's attributes ---------------------------------------------------------------
    @property
    def _prev(self) -> set[Value]:
        """The operands (micrograd keeps a set; graphtrace keeps them in order in ``_args``)."""
        return set(self._args)

    @property
    def _op(self) -> str:
        """The operation's glyph (``+``, ``×``, ``ReLU``), '' for a leaf, as micrograd's ``_op``."""
        return self._gt_op.glyph if self._gt_op is not None else ""

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # ---- graph and gradients ------------------------------------------------------------------
    def graph(self, **options: Any) -> TracedGraph:
        """The graphtrace :class:`~graphtrace.Graph` of this Value (see :func:`graph`)."""
        return graph(self, **options)

    def backward(self) -> None:
        """Fill ``.grad`` of every Value this one depends on with ∂self/∂value, as micrograd does.

        Gradients accumulate (``+=``) like micrograd's, so call ``zero_grad()`` between steps;
        this Value's own ``.grad`` is set to 1. They are computed by graphtrace's backprop on
        :func:`graph` of this Value.
        """
        _STATE.backward = self
        if self._gt_op is None:
            self.grad = 1
            return
        g = graph(self)
        grads = g.backprop()
        for node, owner in g._owners.items():
            if owner is not self:
                owner.grad += float(grads[node])
        self.grad = 1

    # ---- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other: Any) -> Any:
        return _binary("Add", self, other)

    def __radd__(self, other: Any) -> Any:
        return _binary("Add", other, self)

    def __sub__(self, other: Any) -> Any:
        return _binary("Sub", self, other)

    def __rsub__(self, other: Any) -> Any:
        return _binary("Sub", other, self)

    def __mul__(self, other: Any) -> Any:
        return _binary("Mult", self, other)

    def __rmul__(self, other: Any) -> Any:
        return _binary("Mult", other, self)

    def __truediv__(self, other: Any) -> Any:
        return _binary("Div", self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _binary("Div", other, self)

    def __pow__(self, other: Any) -> Any:
        return _binary("Pow", self, other)

    def __rpow__(self, other: Any) -> Any:
        return _binary("Pow", other, self)

    def __neg__(self) -> Value:
        return _apply(OPS[UNARY["USub"]], (self,))

    def __pos__(self) -> Value:
        return _apply(OPS[UNARY["UAdd"]], (self,))

    def __abs__(self) -> Value:
        return _apply(OPS["abs"], (self,))


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _method(op: Op) -> Callable[..., Value]:
    if op.arity == 1:
        def unary(self: Value) -> Value:
            return _apply(op, (self,))
        unary.__name__ = op.name
        unary.__doc__ = f"{op.infix.format('self')} (the registry's '{op.name}', traced)."
        return unary

    def binary(self: Value, other: Any) -> Value:
        v = _lift(other)
        if v is None:
            raise TypeError(f"{op.name}() takes a Value or a number, got {type(other).__name__}")
        return _apply(op, (self, v))
    binary.__name__ = op.name
    binary.__doc__ = f"{op.infix.format('self', 'other')} (the registry's '{op.name}', traced)."
    return binary


# Every function of the registry is a method: v.relu(), v.tanh(), v.sigmoid(), v.max(w), ...
for _op_record in OPS.values():
    if _op_record.function and _op_record.arity in (1, 2) and not hasattr(Value, _op_record.name):
        setattr(Value, _op_record.name, _method(_op_record))


def _lift(x: Any) -> Value | None:
    """``x`` as a Value: itself, or a constant made from a number (None for anything else)."""
    if isinstance(x, Value):
        return x
    n = _number(x)
    if n is None:
        return None
    c = Value.__new__(Value)
    _init_const(c, n)
    return c


def _check_limit() -> None:
    """Refuse one more Value over the node limit (read from the environment again every 1,024
    Values, at each traced program's start and at each graph)."""
    _LIMIT[0] = LIMITS.nodes
    if _LIVE[0] >= _LIMIT[0]:
        raise _too_many()


def _init_const(c: Value, n: Any) -> None:
    if _LIVE[0] >= _LIMIT[0] or not _SEQ[0] & 1023:
        c._seq = -1
        _check_limit()
    st = _STATE
    _LIVE[0] += 1
    c._seq = _SEQ[0]
    _SEQ[0] += 1
    c.data = n
    c.grad = 0
    c.label = ""
    c._gt_op = None
    c._args = ()
    c._vals = ()
    c._loc = None
    c._name = None
    c._attrs = st.attrs
    c._kind = "const"


def _binary(syntax: str, a: Any, b: Any) -> Any:
    x, y = _lift(a), _lift(b)
    if x is None or y is None:
        return NotImplemented  # an array: numpy applies the operator to each element
    return _apply(OPS[BINARY[syntax]], (x, y))


def _apply(op: Op, args: tuple[Value, ...]) -> Value:
    """Compute ``op`` on the operands' data with the registry's forward and record it."""
    vals = tuple(a.data for a in args)
    if op.domain is not None:
        with np.errstate(all="ignore"):
            bad = bool(np.any(op.domain(*vals)))
        if bad:
            where = _where()
            loc = None
            if where is not None and _STATE.source is not None:
                loc = _STATE.source.location(where[0], where[1] if where[2] else None)
            shown = ", ".join(repr(v) for v in vals)
            raise EvaluationError(f"{_(op.domain_message)}: {op.name}({shown})", location=loc)
    with np.errstate(all="ignore"):
        out = _plain(op.forward(*vals))
    v = Value.__new__(Value)
    _init_const(v, out)
    v._kind = "op"
    v._gt_op = op
    v._args = args
    v._vals = vals
    v._loc = where = _where()
    if where is not None:
        for a in args:  # a number used here: its constant sits on this line
            if a._kind == "const" and a._loc is None:
                a._loc = (where[0], 0, 0)
    return v


def _adopt(v: Value, children: tuple[Value, ...], op_text: str) -> None:
    """A Value made micrograd's way, ``Value(data, (a, b), '+')``: map the op onto the registry.

    Accepted: a registry name (``'tanh'``, ``'ReLU'``), a Python operator (``'+'``, ``'*'``) and
    micrograd's powers (``'**2'``); the data given is kept. Anything else cannot be traced.
    """
    op = None
    operands_ = children
    text = op_text.strip()
    arity = len(children)
    if text.lower() in OPS and OPS[text.lower()].arity == arity:
        op = OPS[text.lower()]
    elif arity == 1 and (m := re.fullmatch(r"\*\*\s*(.+)", text)):
        exponent = _number(_literal(m.group(1)))
        if exponent is not None:
            op = OPS[BINARY["Pow"]]
            c = _lift(exponent)
            assert c is not None
            operands_ = (children[0], c)
            v._seq = _SEQ[0]  # the exponent's constant was made after v: keep operands first
            _SEQ[0] += 1
    elif arity == 2:
        try:
            node = ast.parse(f"a {text} b", mode="eval").body
        except SyntaxError:
            node = None
        if isinstance(node, ast.BinOp) and type(node.op).__name__ in BINARY:
            op = OPS[BINARY[type(node.op).__name__]]
    elif arity == 1:
        try:
            node = ast.parse(f"{text}a", mode="eval").body
        except SyntaxError:
            node = None
        if isinstance(node, ast.UnaryOp) and type(node.op).__name__ in UNARY:
            op = OPS[UNARY[type(node.op).__name__]]
    if op is None or not all(isinstance(c, Value) for c in children):
        raise TypeError(f"Value(..., _op={op_text!r}) with {arity} operand(s): graphtrace records "
                        "operations itself and cannot trace this one; use the Value's operators and "
                        f"methods ({', '.join(FUNCTIONS)})")
    v._kind = "op"
    v._gt_op = op
    v._args = operands_
    v._vals = tuple(a.data for a in operands_)
    v._loc = _where()


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _elementwise(op: Op) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        if isinstance(x, np.ndarray):
            return np.frompyfunc(lambda e: _apply(op, (_lift_checked(e),)), 1, 1)(x)
        if isinstance(x, (list, tuple)):
            return type(x)(f(e) for e in x)
        return _apply(op, (_lift_checked(x),))
    f.__name__ = op.name
    f.__doc__ = (f"{op.infix.format('x')} of a Value or a number, elementwise over numpy arrays and lists "
                 f"(the registry's '{op.name}', traced).")
    return f


def _lift_checked(x: Any) -> Value:
    v = _lift(x)
    if v is None:
        raise TypeError(f"expected a Value or a number, got {type(x).__name__}")
    return v


relu = _elementwise(OPS["relu"])
sigmoid = _elementwise(OPS["sigmoid"])
tanh = _elementwise(OPS["tanh"])
exp = _elementwise(OPS["exp"])
log = _elementwise(OPS["log"])
sqrt = _elementwise(OPS["sqrt"])
sin = _elementwise(OPS["sin"])
cos = _elementwise(OPS["cos"])
tan = _elementwise(OPS["tan"])
softplus = _elementwise(OPS["softplus"])


# ---- naming -------------------------------------------------------------------------------------
def _bind_name(v: Value, base: str) -> None:
    """Name ``v`` after a variable it was assigned to: the first Value a name holds is ``c``,
    the next ones ``c#2``, ``c#3`` (the language's scheme for reassignment)."""
    if v._name is not None:
        return
    n = _STATE.versions.get(base, 0) + 1
    _STATE.versions[base] = n
    v._name = base if n == 1 else f"{base}#{n}"


_MAX_NAMED_ELEMENTS = 1_000_000


def bind(name: str, obj: Any, top: bool = False) -> None:
    """Called after every assignment in a traced program: name the Values it holds.

    A Value gets the variable's name; a list, tuple or numpy object array of Values names its
    elements ``xs[0]``, ``W[1,0]`` (lists of lists: ``xs[0][1]``); a module gets a name for its
    parameters' prefix. ``top``: the assignment is at module level (the default output is the last
    Value assigned there).
    """
    if isinstance(obj, Value):
        _bind_name(obj, name)
        if top:
            _STATE.last = obj
        return
    if isinstance(obj, Graph):
        if top:
            _STATE.last = obj
        return
    if isinstance(obj, (list, tuple)) or (isinstance(obj, np.ndarray) and obj.dtype == object):
        if not _holds_values(obj):
            return
        known = _STATE.containers.get(name)
        if known is None or known[0] is not obj:
            n = _STATE.versions.get(name, 0) + 1
            _STATE.versions[name] = n
            _STATE.containers[name] = (obj, name if n == 1 else f"{name}#{n}")
        base = _STATE.containers[name][1]
        budget = [_MAX_NAMED_ELEMENTS]
        _name_elements(obj, base, budget)
        return
    if isinstance(obj, Module) and getattr(obj, "_gt_name", None) is None:
        try:
            setattr(obj, "_gt_name", name)  # noqa: B010 (a user's module class may have __slots__)
        except AttributeError:  # a module with __slots__: it keeps no name
            pass


def _holds_values(obj: Any) -> bool:
    if isinstance(obj, np.ndarray):
        return obj.size > 0 and any(isinstance(e, Value) for e in obj.flat[:64])
    for e in obj[:64]:
        if isinstance(e, Value):
            return True
        if isinstance(e, (list, tuple)) and e and _holds_values(e):
            return True
    return False


def _name_elements(obj: Any, base: str, budget: list[int]) -> None:
    if isinstance(obj, np.ndarray):
        for idx in np.ndindex(obj.shape):
            if budget[0] <= 0:
                return
            e = obj[idx]
            if isinstance(e, Value) and e._name is None:
                budget[0] -= 1
                e._name = f"{base}[{','.join(str(i) for i in idx)}]"
        return
    for i, e in enumerate(obj):
        if budget[0] <= 0:
            return
        if isinstance(e, Value):
            budget[0] -= 1
            if e._name is None:
                e._name = f"{base}[{i}]"
        elif isinstance(e, (list, tuple)):
            _name_elements(e, f"{base}[{i}]", budget)
        elif isinstance(e, np.ndarray) and e.dtype == object:
            _name_elements(e, f"{base}[{i}]", budget)


class Module:
    """micrograd's ``Module``: ``parameters()`` and ``zero_grad()``; the base of Neuron, Layer, MLP.

    Every module made (a subclass too, without calling this ``__init__``) is remembered weakly,
    so that :func:`graph` knows which leaves are parameters.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__new__(cls)
        _STATE.modules.append(weakref.ref(obj))
        return obj

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:
        return []


def _module_params(leaves: set[Value]) -> tuple[set[Value], dict[Value, str]]:
    """The parameters of the live modules (micrograd's ``parameters()``), and their path names.

    Names are attribute paths from the outermost module: ``layers[0].neurons[3].w[1]``; with
    several outermost modules each path starts with the module's variable name (``model.``).
    """
    modules = [m for m in (r() for r in _STATE.modules) if m is not None]
    params: set[Value] = set()
    for m in modules:
        try:
            found = m.parameters()
        except Exception as exc:  # the program's own method failed
            raise GraphError(_("{module}.parameters() raised {error}: {reason}").format(
                module=type(m).__name__, error=type(exc).__name__, reason=exc)) from None
        for p in found or ():
            if isinstance(p, Value):
                params.add(p)
    if not params & leaves:
        return set(), {}
    inner: set[int] = set()
    paths_of: list[tuple[Any, dict[Value, str]]] = []
    for m in modules:
        paths: dict[Value, str] = {}
        _walk(m, "", paths, inner, m, depth=0)
        paths_of.append((m, paths))
    tops = [(m, p) for m, p in paths_of if id(m) not in inner and any(v in leaves for v in p)]
    names: dict[Value, str] = {}
    for k, (m, paths) in enumerate(tops, 1):
        prefix = ""
        if len(tops) > 1:
            prefix = (getattr(m, "_gt_name", None) or f"module{k}") + "."
        for v, path in paths.items():
            if v in params and v not in names:
                names[v] = prefix + path
    return params & leaves, names


def _walk(obj: Any, path: str, out: dict[Value, str], inner: set[int], root: Any, depth: int) -> None:
    if depth > 12:
        return
    if isinstance(obj, Value):
        out.setdefault(obj, path)
        return
    if isinstance(obj, Module):
        if obj is not root:
            inner.add(id(obj))  # only to tell outer modules from inner ones; never shown
        try:
            items = list(vars(obj).items())
        except TypeError:
            return
        for key, sub in items:
            if key.startswith("_"):
                continue
            _walk(sub, f"{path}.{key}" if path else key, out, inner, root, depth + 1)
        return
    if isinstance(obj, (list, tuple)) and len(obj) <= 100_000:
        for i, sub in enumerate(obj):
            _walk(sub, f"{path}[{i}]", out, inner, root, depth + 1)
        return
    if isinstance(obj, np.ndarray) and obj.dtype == object and obj.size <= 100_000:
        for idx in np.ndindex(obj.shape):
            _walk(obj[idx], f"{path}[{','.join(map(str, idx))}]", out, inner, root, depth + 1)


# ---- the graph ----------------------------------------------------------------------------------
@dataclass(repr=False)
class OracleEntry(GradientEntry):
    """A gradient entry with a fourth, outside answer (PyTorch's autograd), compared like the others."""

    oracle: float | None = None
    oracle_name: str = "torch"

    @property
    def abs_error(self) -> float:
        errs = [GradientEntry.abs_error.fget(self)]  # type: ignore[attr-defined]
        if self.oracle is not None:
            errs.append(abs(self.oracle - self.backprop))
        return max(errs)

    @property
    def rel_error(self) -> float:
        errs = [GradientEntry.rel_error.fget(self)]  # type: ignore[attr-defined]
        if self.oracle is not None:
            errs.append(relative_error(self.oracle, self.backprop))
        return max(errs)


class TracedGraph(Graph):
    """A :class:`~graphtrace.Graph` recorded from running code.

    It behaves like any graph; when the code came from PyTorch (:func:`graphtrace.from_torch`) its
    :meth:`check` compares a fourth answer, torch.autograd's gradient, with the other three.
    """

    _owners: dict[Any, Value]

    def __init__(self, graph: Any, source: Source | None = None, *, output: Any = None):
        super().__init__(graph, source, output=output)
        self._owners = {}

    def warnings(self) -> list[str]:
        """As :meth:`graphtrace.Graph.warnings`, plus what the tracer noted (float32 tensors)."""
        return super().warnings() + [_(str(n)) for n in self.core.graph.get("notes", ())]

    @property
    def oracle(self) -> dict[str, Any] | None:
        """The outside gradients recorded with the graph (``name``, ``output``, ``grads``), or None."""
        found = self.core.graph.get("oracle")
        return found if isinstance(found, dict) else None

    def check(self, wrt: Any = None, values: Any = None, **options: Any) -> CheckReport:  # type: ignore[override]
        """As :meth:`graphtrace.Graph.check`, plus the outside oracle's gradient where there is one."""
        report = super().check(wrt, values, **options)
        oracle = self.oracle
        if oracle is None or oracle.get("output") != self.output or values:
            return report
        grads = oracle.get("grads", {})
        entries: dict[Any, GradientEntry] = {k: OracleEntry(e.name, e.paths, e.backprop, e.numeric, e.n_paths, e.kinks,
                                  oracle=grads.get(k), oracle_name=str(oracle.get("name", "oracle")))
                   for k, e in report.entries.items()}
        return CheckReport(entries, report.tol, report.forward)


def _leaf_key(v: Value, data: Any) -> tuple[Value, Any]:
    x = _number(data)
    if x is None:
        return (v, repr(data))
    x = float(x)
    return (v, "nan" if x != x else x)


def graph(value: Value, *, params: Iterable[Value] | None = None, output_name: str | None = None,
          arrays: Mapping[str, tuple[tuple[int, ...], list[Value]]] | None = None) -> TracedGraph:
    """The graphtrace graph of everything ``value`` was computed from.

    Nodes: every operation (its registry op), every number used as an operand (a constant),
    and every leaf ``Value(...)``: a param when it is one of the ``parameters()`` of a
    micrograd-style module the program built, an input otherwise; when no module's parameter is
    among the leaves, every leaf ``Value(...)`` is a param. ``params`` overrides that choice.
    ``arrays`` (name → shape and element Values, row-major) records tensors as the script
    language records arrays (each element gets ``array`` and ``index``).

    Names: ``label=`` when given, else a module parameter's attribute path
    (``layers[0].neurons[3].w[1]``), else the variable it was assigned to in a traced program
    (``c``, ``c#2`` after reassignment, ``xs[0]``), else a generated id in creation order
    (``mul_3``, ``const_2``, ``param_1``, ``input_1``).

    Raises:
        GraphError: ``value`` is a leaf (no operation made it) or a leaf holds no number.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> g = graph(a * b + a)
    >>> g.params, g.output
    (['a', 'b'], 'add_1')
    >>> float(g.backprop()["a"]), g.count_paths("a")
    (-2.0, 2)
    """
    if not isinstance(value, Value):
        raise GraphError(_("graphtrace.trace.graph() takes a Value, got {type}").format(type=type(value).__name__))
    if value._gt_op is None:
        raise GraphError(_("{value} is a leaf: no operation made it, so there is no graph to trace").format(
                             value=repr(value)),
                         hint=_("trace a Value computed from others, e.g. the loss"))
    _LIMIT[0] = LIMITS.nodes
    # Building allocates many small objects and frees none: the collector only slows it (as api._build).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _graph(value, params, output_name, arrays)
    finally:
        if enabled:
            gc.enable()


def _graph(value: Value, params: Iterable[Value] | None, output_name: str | None,
           arrays: Mapping[str, tuple[tuple[int, ...], list[Value]]] | None) -> TracedGraph:
    # Collect the ancestors: op Values by identity, leaves by (Value, the value each use saw).
    nodes: dict[Any, Value] = {value: value}
    args_of: dict[Value, list[Any]] = {}
    stack: list[Value] = [value]
    leaf_uses: list[Any] = []
    while stack:
        v = stack.pop()
        keys_here = []
        for a, data in zip(v._args, v._vals, strict=True):
            if a._gt_op is None:
                key: Any = _leaf_key(a, data)
                if key not in nodes:
                    nodes[key] = a
                    leaf_uses.append(key)
            else:
                key = a
                if a not in nodes:
                    nodes[a] = a
                    stack.append(a)
            keys_here.append(key)
        args_of[v] = keys_here
    keys = sorted(nodes, key=lambda k: (nodes[k]._seq, _version_rank(k)))
    # Which leaves are params.
    leaves = {nodes[k] for k in leaf_uses}
    explicit = {v for v in leaves if v._kind == "leaf"}
    if params is not None:
        param_set = set(params) & leaves
        path_names: dict[Value, str] = {}
    else:
        param_set, path_names = _module_params(explicit)
        if not param_set:
            param_set = explicit
    # Names: label, module path, variable name; then generated ids that avoid every chosen name.
    chosen: dict[Any, str | None] = {}
    for k in keys:
        v = nodes[k]
        name = v.label if isinstance(v.label, str) and v.label else None
        if name is None:
            name = path_names.get(v) or v._name
        if k is value and output_name:
            name = output_name
        chosen[k] = name
    ids: dict[Any, str] = {}
    taken: set[str] = set()
    for k in keys:
        name = chosen[k]
        if name is None:
            continue
        if name in taken:
            n = 2
            while f"{name}#{n}" in taken:
                n += 1
            name = f"{name}#{n}"
        taken.add(name)
        ids[k] = name
    counters: dict[str, int] = {}
    for k in keys:
        if k in ids:
            continue
        v = nodes[k]
        if v._gt_op is not None:
            prefix = v._gt_op.name
        elif v._kind == "const":
            prefix = "const"
        else:
            prefix = "param" if v in param_set else "input"
        while True:
            n = counters.get(prefix, 0) + 1
            counters[prefix] = n
            ident = f"{prefix}_{n}"
            if ident not in taken:
                break
        taken.add(ident)
        ids[k] = ident
    # Node records, as the parser makes them.
    records: list[NodeRecord] = []
    key_of: dict[Value, Any] = {}
    for k in keys:
        v = nodes[k]
        loc = v._loc or (None, 0, 0)
        line, col, end = loc
        named = chosen[k] is not None
        if v._gt_op is not None:
            ops = tuple([ids[a] for a in args_of[v]])
            # line None: no location (a graph traced outside a program run)
            records.append(NodeRecord(ids[k], "op", v._gt_op.name, None, named, line, col, end, ops,  # type: ignore[arg-type]
                                      line or 0))
            key_of[v] = k
        else:
            x = float(k[1]) if isinstance(k[1], float) or k[1] == "nan" else None
            if x is None:
                raise GraphError(_("the leaf {name} holds {value}, not a number").format(
                    name=ids[k], value=_short(v.data)))
            kind = "const" if v._kind == "const" else ("param" if v in param_set else "input")
            records.append(NodeRecord(ids[k], kind, None, x, named, line, col, end, (), line or 0))  # type: ignore[arg-type]
    source = _STATE.source
    if source is None:
        source = Source("", "<trace>")
    program = ParsedScript(source, records, ids[value])
    if arrays and "arrays" in getattr(ParsedScript, "__dataclass_fields__", {}):
        id_of: dict[Value, str] = {}
        for k in keys:
            id_of.setdefault(nodes[k], ids[k])
        found: dict[str, tuple[tuple[int, ...], list[str]]] = {}
        for name, (shape, elements) in arrays.items():
            members = [id_of[v] for v in elements if v in id_of]
            if 1 <= len(shape) <= 2 and members and len(members) == len(elements):
                found[name] = (tuple(shape), members)
        program.arrays = found  # type: ignore[attr-defined]
    g = build_graph(program)
    recorded = set(getattr(program, "arrays", {}) or {}) if arrays else None
    for k in keys:
        attrs = nodes[k]._attrs
        if attrs:
            if recorded is not None and attrs.get("array") not in recorded:
                # a tensor the arrays record cannot hold (0-d, more than 2-d): its nodes stay loose
                attrs = {a: x for a, x in attrs.items() if a not in ("array", "index")}
            g.nodes[ids[k]].update(attrs)
    traced = TracedGraph(g, source if source.text else None)
    owners: dict[Any, Value] = {}
    for k in keys:
        owners[ids[k]] = nodes[k]
    traced._owners = owners
    return traced


def _version_rank(key: Any) -> Any:
    # Two versions of one leaf (its .data changed between uses) keep a fixed order: by value.
    if isinstance(key, tuple):
        x = key[1]
        return (0, x) if isinstance(x, float) else (1, str(x))
    return (0, 0.0)


# ---- graphs as scripts --------------------------------------------------------------------------
_RESERVED = set(FUNCTIONS) | {"input", "param"}
_INLINE_OPS = 12  # an unnamed operation used once is written inside its consumer, up to this size


def _identifier(name: str, taken: set[str]) -> str:
    s = re.sub(r"\W+", "_", str(name)).strip("_") or "v"
    if s[0].isdigit():
        s = "v_" + s
    if keyword.iskeyword(s) or s in _RESERVED:
        s += "_"
    base, n = s, 2
    while s in taken:
        s = f"{base}_{n}"
        n += 1
    taken.add(s)
    return s


def _constant(x: float) -> ast.expr:
    if not math.isfinite(x):
        raise GraphError(_("a constant is {value}: a script can hold finite numbers only").format(value=x))
    if x < 0 or (x == 0 and math.copysign(1.0, x) < 0):
        return ast.UnaryOp(ast.USub(), ast.Constant(-x))
    return ast.Constant(x)


def to_script(graph: Graph, *, title: str | None = None) -> str:
    """The graph as a ``.gt`` script: one declaration per input and param, one assignment per
    named operation, unnamed operations used once written inside their consumer.

    Names that are not identifiers (``layers[0].w[1]``, ``c#2``) become identifiers
    (``layers_0_w_1``, ``c_2``), with the original name in a comment. Only what the output depends
    on is written, and the output's statement comes last, so it stays the script's output.
    Parsing the script back gives the same graph structure, values and gradients.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> print(to_script(graph((a * b + 1).tanh())), end="")
    a: param = 2.0
    b: param = -3.0
    tanh_1 = tanh(a * b + 1.0)
    >>> from graphtrace import parse
    >>> round(float(parse(to_script(graph((a * b + 1).tanh()))).backprop()["a"]), 7)  # b·(1 − tanh²(ab + 1))
    -0.0005447
    """
    g = graph.core
    output = graph.output
    order = graph.order
    keep = set(_ancestors(g, output)) | {output}
    order = [v for v in order if v in keep]
    uses: dict[Any, int] = {v: 0 for v in order}
    for v in order:
        for u in operands(g, v):
            uses[u] += 1
    taken: set[str] = set()
    ident: dict[Any, str] = {}
    attrs = g.nodes
    for v in order:
        d = attrs[v]
        if d.get("kind") in ("input", "param") or d.get("named") or v == output:
            ident[v] = _identifier(str(v), taken)
    exprs: dict[Any, ast.expr] = {}
    sizes: dict[Any, int] = {}
    lines: list[str] = []
    if title:
        lines.extend(f"# {ln}" for ln in title.splitlines())
    for v in order:
        d = attrs[v]
        kind = d.get("kind")
        note = f"  # {v}" if v in ident and ident[v] != str(v) else ""
        if kind in ("input", "param"):
            x = float(d["value"])
            if not math.isfinite(x):
                raise GraphError(_("'{name}' is {value}: a script can hold finite numbers only").format(
                    name=v, value=x))
            lines.append(f"{ident[v]}: {kind} = {x!r}{note}")
            exprs[v] = ast.Name(ident[v])
            sizes[v] = 0
            continue
        if kind == "const":
            exprs[v] = _constant(float(d["value"]))
            sizes[v] = 0
            continue
        op = OPS[d["op"]]
        args = [exprs[u] for u in operands(g, v)]
        if op.syntax and op.arity == 2:
            expr: ast.expr = ast.BinOp(args[0], getattr(ast, op.syntax)(), args[1])
        elif op.syntax and op.arity == 1:
            expr = ast.UnaryOp(getattr(ast, op.syntax)(), args[0])
        elif op.function and op.arity is not None:
            expr = ast.Call(ast.Name(op.name), args, [])
        else:
            raise GraphError(_("the op '{op}' has no spelling in the script language").format(op=op.name))
        size = 1 + sum(sizes[u] for u in operands(g, v))
        if v not in ident and uses[v] == 1 and size <= _INLINE_OPS:
            exprs[v] = expr
            sizes[v] = size
            continue
        if v not in ident:
            ident[v] = _identifier(str(v), taken)
            note = ""
        lines.append(f"{ident[v]} = {ast.unparse(expr)}{note}")
        exprs[v] = ast.Name(ident[v])
        sizes[v] = 0
    return "\n".join(lines) + "\n"


def _ancestors(g: Any, v: Any) -> list[Any]:
    seen = {v}
    stack = [v]
    while stack:
        for u in g.pred[stack.pop()]:
            if u not in seen:
                seen.add(u)
                stack.append(u)
    return list(seen)
