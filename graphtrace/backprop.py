"""Backprop: reverse accumulation of ∂output/∂node over the forward pass's local derivatives.

One sweep in reverse topological order: each node passes its gradient times the local derivative
to every operand, so gradients meet and add up at fan-out nodes (shared path prefixes are reused,
course §11). Independent of the path sum in ``paths.py``, which sweeps forward from one node.
"""

from __future__ import annotations

__all__ = ["backprop"]

from typing import Any

from .evaluate import Forward
from .graph import ComputationGraph


def backprop(g: ComputationGraph, forward: Forward, *, output: Any = None) -> dict[Any, Any]:
    """∂output/∂node for every node of the graph (0.0 for nodes the output does not depend on).

    >>> from graphtrace import parse
    >>> from graphtrace.evaluate import evaluate
    >>> g = parse("x: input = 3\\ny = x*x").nx
    >>> float(backprop(g, evaluate(g))["x"])  # d(x²)/dx = 2x: two paths of 3 each
    6.0
    """
    output = forward.output if output is None else output
    local = forward.locals
    grads: dict[Any, Any] = {output: 1.0}
    pred = g.pred
    for v in reversed(forward.order):
        gv = grads.get(v)
        if gv is None:
            continue
        for u, keys in pred[v].items():
            for slot in keys:
                contribution = gv * local[(u, v, slot)]
                grads[u] = grads[u] + contribution if u in grads else contribution
    return {v: grads.get(v, 0.0) for v in forward.order}
