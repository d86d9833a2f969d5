"""Paths: exact path counts, the course's sum over paths, the best paths, and per-edge path flow.

The course (§9) defines ∂a/∂b as the sum, over every path from b to a, of the product of the local
derivatives on its edges. Enumerating paths is exponential, so every function here is a dynamic
program over the DAG that sweeps *forward* from ``wrt`` (each node holding the sum over the paths
from ``wrt`` to it), sharing no code with backprop's reverse sweep. Parallel edges (``x*x``) are
distinct paths. Counts are exact Python ints, however large.
"""

from __future__ import annotations

__all__ = [
    "Path",
    "count_paths",
    "sum_over_paths",
    "top_paths",
    "enumerate_paths",
    "max_paths_limit",
    "DEFAULT_MAX_PATHS",
    "path_flows",
    "between",
]

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from . import graph as _graph
from .errors import GraphError, LimitError, env_limit
from .evaluate import Forward
from .graph import ComputationGraph
from .i18n import _


@dataclass(frozen=True)
class Path:
    """One path from ``wrt`` to the output: its nodes, the local derivative on each edge, their product."""

    nodes: tuple[Any, ...]
    factors: tuple[float, ...]
    product: float
    slots: tuple[int, ...] = ()

    def __repr__(self) -> str:
        chain = " → ".join(str(n) for n in self.nodes)
        return f"Path({chain}: product={self.product:.6g})"


def between(g: ComputationGraph, order: list[Any], wrt: Any, output: Any) -> list[Any]:
    """Nodes on some path from ``wrt`` to ``output``, in topological order (empty if none)."""
    if wrt not in g:
        raise GraphError(_("'{name}' is not a node of the graph").format(name=wrt))
    if wrt == output:
        return [wrt]
    down = _graph.descendants(g, wrt)
    if output not in down:
        return []
    up = _graph.ancestors(g, output)
    keep = (down & up) | {wrt, output}
    return [v for v in order if v in keep]


def _in_edges(g: ComputationGraph, v: Any, inside: set[Any] | dict[Any, Any]) -> Iterator[tuple[Any, int]]:
    for u, keys in g.pred[v].items():
        if u in inside:
            for slot in keys:
                yield u, slot


def count_paths(g: ComputationGraph, wrt: Any, output: Any, order: list[Any]) -> int:
    """The exact number of paths from ``wrt`` to ``output`` (a Python int; 1 when wrt is the output).

    >>> from graphtrace import parse
    >>> g = parse("x: input = 2\\nh = x*x + x").nx
    >>> count_paths(g, "x", "h", list(g))
    3
    """
    nodes = between(g, order, wrt, output)
    if not nodes:
        return 0
    count: dict[Any, int] = {wrt: 1}
    for v in nodes[1:]:
        count[v] = sum(count[u] for u, _ in _in_edges(g, v, count))
    return count[output]


def sum_over_paths(g: ComputationGraph, forward: Forward, wrt: Any, output: Any | None = None) -> Any:
    """Σ over all paths from ``wrt`` to the output of the product of edge derivatives, exactly.

    Each node holds the sum of products of the paths from ``wrt`` to it; a node's sum is the sum,
    over its in-edges, of the tail's sum times the edge's local derivative.

    >>> from graphtrace import parse
    >>> from graphtrace.evaluate import evaluate
    >>> g = parse("x: input = 3\\nh = x*x").nx
    >>> float(sum_over_paths(g, evaluate(g), "x"))  # two paths, each with product 3
    6.0
    """
    output = forward.output if output is None else output
    nodes = between(g, forward.order, wrt, output)
    if not nodes:
        return 0.0
    local = forward.locals
    acc: dict[Any, Any] = {wrt: 1.0}
    for v in nodes[1:]:
        total: Any = 0.0
        for u, slot in _in_edges(g, v, acc):
            total = total + acc[u] * local[(u, v, slot)]
        acc[v] = total
    return acc[output]


def top_paths(g: ComputationGraph, forward: Forward, wrt: Any, output: Any | None = None, *,
              top: int = 10) -> list[Path]:
    """The ``top`` paths with the largest |product|, best first, by a k-best dynamic program.

    Each node keeps its k best partial paths from ``wrt`` (|product| is a product of |factors|, so
    the k best paths into a node extend only the k best into its predecessors). Cost is about
    edges × k, whatever the number of paths. Ties keep a deterministic order (source order).
    """
    output = forward.output if output is None else output
    if top <= 0:
        return []
    nodes = between(g, forward.order, wrt, output)
    if not nodes:
        return []
    local = forward.locals
    # An entry is (|product|, product, back-pointer); a back-pointer is (previous entry, edge).
    best: dict[Any, list[tuple[float, float, Any]]] = {wrt: [(1.0, 1.0, None)]}
    for v in nodes[1:]:
        cands = []
        for u, slot in _in_edges(g, v, best):
            f = float(local[(u, v, slot)])
            af = abs(f)
            for entry in best[u]:
                cands.append((entry[0] * af, entry[1] * f, (entry, (u, slot, f))))
        best[v] = heapq.nlargest(top, cands, key=lambda c: c[0])
    return [_unwind(e, output) for e in best[output]]


def _unwind(entry: tuple[float, float, Any], output: Any) -> Path:
    nodes = [output]
    factors: list[float] = []
    slots: list[int] = []
    product = entry[1]
    while entry[2] is not None:
        entry, (u, slot, f) = entry[2]
        nodes.append(u)
        factors.append(f)
        slots.append(slot)
    nodes.reverse()
    factors.reverse()
    slots.reverse()
    return Path(tuple(nodes), tuple(factors), product, tuple(slots))


DEFAULT_MAX_PATHS = 100_000
"""How many paths :func:`enumerate_paths` lists at most, unless ``GRAPHTRACE_MAX_PATHS`` says otherwise."""


def max_paths_limit() -> int:
    """The bound of :func:`enumerate_paths`: ``GRAPHTRACE_MAX_PATHS`` if set, else 100,000.

    Read at each call, so a user (or a test) can raise it without reimporting anything.

    Raises:
        UsageError: the variable is set but is not a positive integer.

    Example:
        >>> import os
        >>> "GRAPHTRACE_MAX_PATHS" in os.environ or max_paths_limit() == 100_000
        True
    """
    return env_limit("GRAPHTRACE_MAX_PATHS", DEFAULT_MAX_PATHS)


def enumerate_paths(g: ComputationGraph, forward: Forward, wrt: Any, output: Any | None = None, *,
                    max_paths: int | None = None) -> list[Path]:
    """Every path from ``wrt`` to the output, explicitly, in depth-first source order.

    Refuses (LimitError) when there are more than ``max_paths`` (default: :func:`max_paths_limit`,
    the environment variable ``GRAPHTRACE_MAX_PATHS`` or 100,000): use :func:`top_paths` then,
    whose cost does not grow with the number of paths.

    >>> from graphtrace import parse
    >>> g = parse("x: input = 3\\nh = x*x")
    >>> [p.product for p in enumerate_paths(g.nx, g.forward(), "x")]
    [3.0, 3.0]
    """
    output = forward.output if output is None else output
    bound = max_paths_limit() if max_paths is None else max_paths
    n = count_paths(g, wrt, output, forward.order)
    if n > bound:
        raise LimitError(
            _("{n} paths lead from '{wrt}' to '{output}', more than the {bound} that are listed explicitly").format(
                n=f"{n:,}", wrt=wrt, output=output, bound=f"{bound:,}"),
            hint=_("list the best ones with --top K (count and total stay exact); raise the bound with "
                   "the environment variable GRAPHTRACE_MAX_PATHS"),
        )
    nodes = set(between(g, forward.order, wrt, output))
    local = forward.locals
    result: list[Path] = []
    # Iterative depth-first search over successors in (node order, slot) order.
    rank = {v: i for i, v in enumerate(forward.order)}
    stack: list[tuple[Any, tuple[Any, ...], tuple[float, ...], tuple[int, ...]]] = [(wrt, (wrt,), (), ())]
    while stack:
        v, path, factors, slots = stack.pop()
        if v == output:
            result.append(Path(path, factors, math.prod(factors) if factors else 1.0, slots))
            continue
        nxt = sorted(((rank[w], slot, w) for w, keys in g.succ[v].items() if w in nodes for slot in keys),
                     reverse=True)
        for _rank, slot, w in nxt:
            f = float(local[(v, w, slot)])
            stack.append((w, path + (w,), factors + (f,), slots + (slot,)))
    return result


def path_flows(g: ComputationGraph, forward: Forward, wrt: Any,
               output: Any | None = None) -> dict[tuple[Any, Any, int], float]:
    """For every edge on a path from ``wrt`` to the output: the summed product of the paths through it.

    flow(u→v) = (Σ paths wrt→u) · local(u→v) · (Σ paths v→output); the flows into the output add
    up to the full path sum. Used for heat maps.
    """
    output = forward.output if output is None else output
    nodes = between(g, forward.order, wrt, output)
    if not nodes:
        return {}
    inside = set(nodes)
    local = forward.locals
    head: dict[Any, float] = {wrt: 1.0}
    for v in nodes[1:]:
        head[v] = sum(head[u] * float(local[(u, v, s)]) for u, s in _in_edges(g, v, head))
    tail: dict[Any, float] = {output: 1.0}
    for v in reversed(nodes[:-1]):
        tail[v] = sum(float(local[(v, w, s)]) * tail[w]
                      for w, keys in g.succ[v].items() if w in inside for s in keys)
    flows = {}
    for v in nodes[1:]:
        for u, s in _in_edges(g, v, inside):
            flows[(u, v, s)] = head[u] * float(local[(u, v, s)]) * tail[v]
    return flows
