"""Forward pass, the reference oracle: every node's value and every edge's local derivative ∂head/∂tail.

This is the plain evaluator: one loop over the topological order, an environment of values, and
the op registry; it is the reference that the batched engine (``engine.py``) is tested against.
Callers don't choose between the two: :mod:`graphtrace.compute` does.
Values are floats or numpy arrays (a batch dimension); nothing here mutates the graph.
"""

from __future__ import annotations

__all__ = ["Forward", "evaluate", "leaf_values", "nonfinite_error"]

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import graph as _graph
from .errors import EvaluationError, GraphError, Location
from .graph import ComputationGraph, operands, topological_order
from .i18n import _
from .ops import OPS
from .text import char_column

Edge = tuple[Any, Any, int]


@dataclass
class Forward:
    """Result of a forward pass.

    Attributes:
        values: node → value (float, or array for a batch).
        locals: edge ``(tail, head, slot)`` → local derivative ∂head/∂tail at these values.
        order: the topological order used.
        output: the output node.
    """

    values: dict[Any, Any]
    locals: dict[Edge, Any] = field(repr=False)
    order: list[Any] = field(repr=False)
    output: Any = None

    @property
    def value(self) -> Any:
        """The output's value."""
        return self.values[self.output]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={_short(v)}" for k, v in list(self.values.items())[:6])
        more = ", ..." if len(self.values) > 6 else ""
        return f"Forward(output={self.output!r}, value={_short(self.value)}, values={{{shown}{more}}})"

    def _repr_html_(self) -> str:
        """Jupyter: the output's value, then every node's value (the first 30)."""
        from .i18n import _
        from .text import html_table

        items = list(self.values.items())[:30]
        return html_table([_("node"), _("value")], [[str(k), _short(v)] for k, v in items],
                          caption=_("forward pass: {output} = {value}").format(output=self.output, value=_short(self.value)),
                          more=len(self.values) - len(items))


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray) and v.ndim > 0:
        return f"array(shape={v.shape})"
    return f"{float(v):.6g}"


def _finite(x: Any) -> bool:
    if isinstance(x, float):
        return math.isfinite(x)
    return bool(np.all(np.isfinite(x)))


def leaf_values(g: ComputationGraph, values: Mapping[Any, Any] | None = None) -> dict[Any, Any]:
    """The value of every input, param and constant: the graph's own, overridden by ``values``.

    Raises GraphError for a name in ``values`` that is not an input or param of the graph.
    """
    out = {v: d["value"] for v, d in g.nodes(data=True) if d.get("kind") != "op"}
    if values:
        for name, val in values.items():
            kind = g.nodes[name].get("kind") if name in g else None
            if kind not in ("input", "param", "const"):
                raise GraphError((_("cannot set '{name}': it is not a node of this graph") if kind is None else
                                  _("cannot set '{name}': it is computed, not an input or param")).format(name=name))
            out[name] = val
    return out


def location_of(g: ComputationGraph, v: Any, source_text: str | None = None) -> Location:
    """Where node ``v`` comes from in its script (for messages)."""
    d = g.nodes[v]
    line = d.get("line")
    text = None
    col = None
    if source_text is not None and line:
        lines = source_text.split("\n")
        if line <= len(lines):
            text = lines[line - 1]
            col = char_column(text, d.get("col", 0))
    return Location(g.graph.get("source", "<script>"), line, col, text)


def nonfinite_error(g: ComputationGraph, v: Any, args: list[Any], out: Any, *,
                    source_text: str | None = None, what: str = "value") -> EvaluationError:
    """An error naming the node whose value (or local derivative) is not finite, and why."""
    op = OPS[g.nodes[v]["op"]]
    arr = np.asarray(out, dtype=float)
    bad = np.flatnonzero(~np.isfinite(arr)) if arr.ndim else np.array([0])
    i = int(bad[0]) if bad.size else 0
    sample = _(" (sample {i})").format(i=i) if arr.ndim else ""

    def pick(x: Any) -> float:
        a = np.asarray(x, dtype=float)
        return float(a.reshape(-1)[i] if a.ndim else a)

    shown_args = ", ".join(f"{pick(a):.6g}" for a in args)
    shown_out = pick(out)
    reason = ""
    if op.domain is not None and bool(np.any(op.domain(*args))):
        reason = _(op.domain_message)
    elif what == "value" and math.isinf(shown_out):
        reason = _("overflow")
    elif what == "value":
        reason = _("undefined result")
    call = f"{op.name}({shown_args})"
    message = (_("{call} has a non-finite local derivative ({out}){sample} at node '{node}'") if what == "local"
               else _("{call} has a non-finite value ({out}){sample} at node '{node}'")).format(
        call=call, out=shown_out, sample=sample, node=v)
    if reason:
        message += f": {reason}"
    return EvaluationError(message, location=location_of(g, v, source_text),
                           hint=_("change the inputs with --set, or guard the expression (e.g. log(x + 1e-12))"))


def evaluate(g: ComputationGraph, values: Mapping[Any, Any] | None = None, *,
             output: Any = None, with_locals: bool = True, overrides: Mapping[Any, Any] | None = None,
             source_text: str | None = None, check: bool = True) -> Forward:
    """Run the forward pass: every node's value, then every edge's local derivative.

    Args:
        g: the computation graph.
        values: overrides for inputs and params (numbers or arrays of one batch size).
        output: the output node (default: the graph's ``output`` attribute).
        with_locals: also compute the local derivative of every edge.
        overrides: computed nodes whose value is replaced (finite differences of intermediates).
        source_text: the script's text, to quote the line in error messages.
        check: raise EvaluationError on a non-finite value or local derivative.

    >>> from graphtrace import parse
    >>> f = evaluate(parse("a: param = 3\\nb = a*a").nx)
    >>> float(f.values["b"]), [float(x) for x in f.locals.values()]
    (9.0, [3.0, 3.0])
    """
    order = topological_order(g)
    env = leaf_values(g, values)
    output = g.graph.get("output") if output is None else output
    if output not in g:
        raise GraphError(_("output '{name}' is not a node of the graph").format(name=output))
    nodes = g.nodes
    with np.errstate(all="ignore"):
        for v in order:
            d = nodes[v]
            if d.get("kind") != "op":
                continue
            if overrides is not None and v in overrides:
                env[v] = overrides[v]
                continue
            args = [env[u] for u in operands(g, v)]
            out = OPS[d["op"]].forward(*args)
            if isinstance(out, np.ndarray) and out.ndim == 0:
                out = float(out)
            if check and not _finite(out):
                raise nonfinite_error(g, v, args, out, source_text=source_text)
            env[v] = out
        loc: dict[Edge, Any] = {}
        if with_locals:
            live = None
            for v in order:
                d = nodes[v]
                if d.get("kind") != "op":
                    continue
                ops_of_v = operands(g, v)
                args = [env[u] for u in ops_of_v]
                op = OPS[d["op"]]
                out = env[v]
                for (slot, u), x in zip(enumerate(ops_of_v), op.partials_at(out, *args), strict=True):
                    if isinstance(x, np.ndarray) and x.ndim == 0:
                        x = float(x)
                    if check and not _finite(x):
                        live = _live(g) if live is None else live
                        if u in live:
                            raise nonfinite_error(g, v, args, x, source_text=source_text, what="local")
                    loc[(u, v, slot)] = x
    for v in order:  # numpy scalars → floats, so results print and serialise plainly
        x = env[v]
        if isinstance(x, np.generic):
            env[v] = float(x)
    return Forward(env, loc, order, output)


def _live(g: ComputationGraph) -> set[Any]:
    """Nodes that depend on an input or param: only their local derivatives matter."""
    seeds = [v for v, d in g.nodes(data=True) if d.get("kind") in ("input", "param")]
    live: set[Any] = set(seeds)
    for s in seeds:
        live |= _graph.descendants(g, s)
    return live
