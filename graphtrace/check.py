"""Checking: central finite differences, and the three-way comparison of path sum, backprop, numeric.

Finite differences use forward values only (never a local derivative), so they are an oracle
independent of both the path sum and backprop. For a leaf (input, param) the leaf is perturbed; for
an intermediate node its value is replaced and everything downstream re-evaluated. Near a kink
(relu at 0, abs at 0, a max/min tie) a finite difference straddles two slopes, so such entries are
marked and compared only between path sum and backprop.
"""

from __future__ import annotations

__all__ = ["numeric_gradient", "step_size", "relative_error", "near_kink", "GradientEntry", "CheckReport"]

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from .evaluate import Forward, evaluate
from .graph import operands
from .ops import OPS


def step_size(x: float) -> float:
    """The central-difference step for a value x: about ε^(1/3)·max(1, |x|), balancing truncation
    error (h²) against rounding error (ε/h).

    >>> step_size(0.0), step_size(100.0)
    (6e-06, 0.0006)
    """
    return 6e-6 * max(1.0, abs(float(x)))


def relative_error(a: float, b: float) -> float:
    """|a − b| / max(|a|, |b|, 1e-12), the house definition.

    >>> relative_error(1.0, 1.1) == 0.1 / 1.1
    True
    """
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def numeric_gradient(g: nx.MultiDiGraph, wrt: Any, forward: Forward,
                     values: Mapping[Any, Any] | None = None, *, h: float | None = None) -> float:
    """∂output/∂wrt by a central difference (f(x+h) − f(x−h)) / 2h, from forward values only.

    >>> from graphtrace import parse
    >>> from graphtrace.evaluate import evaluate
    >>> g = parse("x: input = 3\\ny = x*x").nx
    >>> round(numeric_gradient(g, "x", evaluate(g)), 6)
    6.0
    """
    x = float(forward.values[wrt])
    h = step_size(x) if h is None else h
    kind = g.nodes[wrt].get("kind")
    outs = []
    for sign in (1.0, -1.0):
        if kind == "op":
            f = evaluate(g, values, output=forward.output, with_locals=False, overrides={wrt: x + sign * h},
                         check=False)
        else:
            merged = dict(values or {})
            merged[wrt] = x + sign * h
            f = evaluate(g, merged, output=forward.output, with_locals=False, check=False)
        outs.append(float(f.values[forward.output]))
    return (outs[0] - outs[1]) / (2.0 * h)


def near_kink(g: nx.MultiDiGraph, forward: Forward, nodes: list[Any], *, scale: float = 1e-4) -> list[Any]:
    """The kink ops among ``nodes`` whose operands sit within ``scale`` of a kink (in the FD's reach)."""
    found = []
    for v in nodes:
        op = g.nodes[v].get("op")
        if op is None or OPS[op].kink is None:
            continue
        args = [forward.values[u] for u in operands(g, v)]
        if bool(np.any(OPS[op].kink(scale * max(1.0, *(abs(float(a)) for a in args)), *args))):
            found.append(v)
    return found


@dataclass
class GradientEntry:
    """∂output/∂node three ways, with the number of paths."""

    name: Any
    paths: float
    backprop: float
    numeric: float | None
    n_paths: int
    kinks: list[Any] = field(default_factory=list)

    @property
    def abs_error(self) -> float:
        errs = [abs(self.paths - self.backprop)]
        if self.numeric is not None and not self.kinks:
            errs.append(abs(self.numeric - self.backprop))
        return max(errs)

    @property
    def rel_error(self) -> float:
        errs = [relative_error(self.paths, self.backprop)]
        if self.numeric is not None and not self.kinks:
            errs.append(relative_error(self.numeric, self.backprop))
        return max(errs)

    def ok(self, tol: float) -> bool:
        """Passes when the absolute or the relative error is within ``tol``."""
        return self.abs_error <= tol or self.rel_error <= tol

    def __repr__(self) -> str:
        num = "n/a" if self.numeric is None else f"{self.numeric:.10g}"
        return (f"GradientEntry({self.name!r}: paths={self.paths:.10g}, backprop={self.backprop:.10g}, "
                f"numeric={num}, n_paths={self.n_paths})")


@dataclass
class CheckReport:
    """The three-way comparison for a set of nodes."""

    entries: dict[Any, GradientEntry]
    tol: float
    forward: Forward | None = field(default=None, repr=False)

    @property
    def max_abs_error(self) -> float:
        return max((e.abs_error for e in self.entries.values()), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((e.rel_error for e in self.entries.values()), default=0.0)

    @property
    def ok(self) -> bool:
        return all(e.ok(self.tol) for e in self.entries.values())

    @property
    def failures(self) -> list[GradientEntry]:
        return [e for e in self.entries.values() if not e.ok(self.tol)]

    def __repr__(self) -> str:
        verdict = "ok" if self.ok else f"{len(self.failures)} mismatch(es)"
        return (f"CheckReport({len(self.entries)} gradients, max_abs_error={self.max_abs_error:.3g}, "
                f"max_rel_error={self.max_rel_error:.3g}, tol={self.tol:g}: {verdict})")
