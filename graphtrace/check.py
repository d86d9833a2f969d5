"""Checking: central finite differences, and the three-way comparison of path sum, backprop, numeric.

Finite differences use forward values only (never a local derivative), so they are an oracle
independent of both the path sum and backprop. For a leaf (input, param) the leaf is perturbed; for
an intermediate node its value is replaced and everything downstream re-evaluated. Near a kink
(relu at 0, abs at 0, a max/min tie) a finite difference straddles two slopes, so such entries are
marked and compared only between path sum and backprop.
"""

from __future__ import annotations

__all__ = ["check_work", "MAX_PATH_WORK", "MAX_NUMERIC_WORK", "NUMERIC_SEED", "numeric_gradient", "richardson", "numeric_gradients", "gradient_entries", "step_size", "relative_error",
           "near_kink", "GradientEntry", "CheckReport"]

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import compute as _compute
from .errors import LimitError, UsageError, env_limit
from .evaluate import Forward
from .graph import ComputationGraph, operands
from .i18n import _
from .ops import OPS


def step_size(x: float) -> float:
    """The finite-difference step for a value x: 1e-4·max(1, |x|).

    Richardson's extrapolation leaves a truncation error of order h⁴ (≈ 1e-17 relative at this
    step), so the step can be much larger than a plain central difference's ε^(1/3), which keeps
    the rounding error (≈ ε/h) small too.

    >>> step_size(0.0), round(step_size(100.0), 12)
    (0.0001, 0.01)
    """
    return 1e-4 * max(1.0, abs(float(x)))


def relative_error(a: float, b: float) -> float:
    """|a − b| / max(|a|, |b|, 1e-12), the house definition.

    >>> relative_error(1.0, 1.1) == abs(1.0 - 1.1) / 1.1
    True
    """
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def numeric_gradient(g: ComputationGraph, wrt: Any, forward: Forward,
                     values: Mapping[Any, Any] | None = None, *, h: float | None = None) -> float | None:
    """∂output/∂wrt by central differences D(h) = (f(x+h) − f(x−h)) / 2h, from forward values only.

    Richardson's extrapolation (4·D(h/2) − D(h)) / 3 cancels the h² error term, which would
    otherwise dominate wherever the step (scaled to |x|) is large, as for exp at x = 700. None when no step
    gives a finite difference (the output is not finite around ``wrt``).

    >>> from graphtrace import parse
    >>> from graphtrace.evaluate import evaluate
    >>> g = parse("x: input = 3\\ny = x*x").nx
    >>> round(numeric_gradient(g, "x", evaluate(g)), 6)
    6.0
    """
    x = float(forward.values[wrt])
    h = step_size(x) if h is None else h

    def output_at(point: float) -> float:
        return _compute.output_at(g, forward, wrt, point, values)

    # A step can leave the domain (log or sqrt just above 0) or overflow (exp near 709): then come
    # closer, halving h; if no step gives a finite difference there is no numeric answer (None).
    best: float | None = None
    refinements = 0
    f0 = float(forward.values[forward.output])
    for _attempt in range(64):
        if not h > 0 or x + h / 2.0 == x:  # the step underflowed (x near 5e-324): no difference
            return best
        wide = (output_at(x + h) - output_at(x - h)) / (2.0 * h)
        narrow = (output_at(x + h / 2.0) - output_at(x - h / 2.0)) / h
        d = richardson(wide, narrow)
        if not math.isfinite(d):
            # The step left the domain (log or sqrt just above 0) or overflowed: come closer.
            h = min(h, 1e-4 * abs(x)) / 2.0 if x != 0 else h / 2.0
            continue
        best = d
        if settled(wide, narrow, d, rounding_noise(f0, h)) or refinements == 3:
            return d
        # The two steps disagree: the function bends on the scale of h (sqrt near 0): shrink it.
        h /= 10.0
        refinements += 1
    return best


def settled(wide: float, narrow: float, d: float, noise: float) -> bool:
    """Whether D(h) and D(h/2) agree well enough that the extrapolated value can be trusted.

    Their difference estimates the h² error, and what Richardson leaves is of the order of its
    square; a difference within ``noise`` (the rounding error of the output, ≈ ε·|f|/h) says
    nothing about the step, and shrinking the step would only make it worse.
    """
    gap = abs(narrow - wide)
    return gap <= 1e-4 * abs(d) or gap <= noise


def rounding_noise(output: float, h: float) -> float:
    """The rounding error of a central difference of ``output`` with step ``h``, with a margin."""
    return 64.0 * 2.2e-16 * max(abs(output), 1e-300) / h


def richardson(wide: Any, narrow: Any) -> Any:
    """Central differences with steps h and h/2 combined so that their h² error terms cancel.

    >>> import math
    >>> d = richardson((math.exp(1.1) - math.exp(0.9)) / 0.2, (math.exp(1.05) - math.exp(0.95)) / 0.1)
    >>> abs(d - math.e) < 1e-5 < abs((math.exp(1.1) - math.exp(0.9)) / 0.2 - math.e)
    True
    """
    return (4.0 * narrow - wide) / 3.0


def numeric_gradients(g: ComputationGraph, wrt: Sequence[Any], forward: Forward,
                      values: Mapping[Any, Any] | None = None, *, limit: int | None = None) -> dict[Any, float | None]:
    """:func:`numeric_gradient` for many nodes at once: on one point of a wide graph every
    perturbed run is a column of one batched forward pass (chunked to ``limit`` bytes), same steps,
    same result (:func:`graphtrace.compute.perturbed_outputs`).

    >>> from graphtrace import parse
    >>> from graphtrace.evaluate import evaluate
    >>> g = parse("x: input = 3\\nw: param = 2\\ny = w*x*x").nx
    >>> {k: round(v, 6) for k, v in numeric_gradients(g, ["x", "w"], evaluate(g)).items()}
    {'x': 12.0, 'w': 9.0}
    """
    wrt = list(wrt)
    if not wrt:
        return {}
    steps = [step_size(forward.values[w]) for w in wrt]
    outs = _compute.perturbed_outputs(g, forward, wrt, steps, values, limit=limit)
    if outs is None:  # not one point of a wide graph: one node at a time
        return {w: numeric_gradient(g, w, forward, values) for w in wrt}
    halves = _compute.perturbed_outputs(g, forward, wrt, [h / 2.0 for h in steps], values, limit=limit)
    assert halves is not None  # same graph, same values: the same answer as for ``outs``
    result: dict[Any, float | None] = {}
    f0 = float(forward.values[forward.output])
    for k, w in enumerate(wrt):
        wide = float((outs[k, 0] - outs[k, 1]) / (2.0 * steps[k]))
        narrow = float((halves[k, 0] - halves[k, 1]) / steps[k])
        d = richardson(wide, narrow)
        if math.isfinite(d) and settled(wide, narrow, d, rounding_noise(f0, steps[k])):
            result[w] = d
        else:  # out of the domain, overflowed, or bending on the step's scale: alone, closer
            result[w] = numeric_gradient(g, w, forward, values)
    return result


MAX_PATH_WORK = 50_000_000_000
"""Most (nodes checked × graph edges) of path sums one check computes, unless
``GRAPHTRACE_MAX_PATH_WORK`` says otherwise: a forward sweep per node, about 0.5 ns per node·edge
here, so the default is half a minute (a 470-470-1 net with every param is four times that)."""

MAX_NUMERIC_WORK = 1_000_000_000
"""Most (nodes × graph edges) of finite differences one check computes, unless
``GRAPHTRACE_MAX_NUMERIC_WORK`` says otherwise (about 10–15 ns per node·edge here: 10–15 s).
Above it finite differences run on a seeded random sample of the nodes (``numeric_all`` for all)."""

NUMERIC_SEED = 0
"""The seed of the sample of nodes that get finite differences when there are too many."""


def check_work(n_nodes: int, n_edges: int, *, numeric_all: bool = False) -> int | None:
    """How many of ``n_nodes`` get finite differences (None: all), or a LimitError when even the
    path sums would take too long.

    >>> check_work(10, 100), check_work(100_000, 400_000)
    (None, 2500)
    """
    work = n_nodes * max(1, n_edges)
    limit = env_limit("GRAPHTRACE_MAX_PATH_WORK", MAX_PATH_WORK)
    if work > limit:
        raise LimitError(_("path sums for {nodes} nodes over {edges} edges ({work} node·edges, limit {limit}) "
                           "would take minutes").format(nodes=f"{n_nodes:,}", edges=f"{n_edges:,}",
                                                        work=f"{work:.3g}", limit=f"{limit:.3g}"),
                         hint=_("pass --wrt NAME for the gradients you want (each takes one forward sweep); "
                                "raise the limit with GRAPHTRACE_MAX_PATH_WORK"))
    numeric_limit = env_limit("GRAPHTRACE_MAX_NUMERIC_WORK", MAX_NUMERIC_WORK)
    if numeric_all or work <= numeric_limit:
        return None
    return max(1, numeric_limit // max(1, n_edges))


Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: called as long work advances (the CLI draws a bar)."""


def gradient_entries(g: ComputationGraph, forward: Forward, grads: Mapping[Any, Any], wrt: Sequence[Any],
                     values: Mapping[Any, Any] | None = None, *, numeric: bool = True,
                     numeric_sample: int | None = None, progress: Progress | None = None) -> dict[Any, GradientEntry]:
    """The three-way entry of every node in ``wrt``, with the path sums, path counts and kinks of
    all of them computed as columns of batched forward sweeps over the compiled graph.

    The path sums stay a forward dynamic program from each node (never backprop's sweep); a kink
    counts for a node when it lies on one of that node's paths to the output.
    """
    output = forward.output
    wrt = list(wrt)
    near = near_kink(g, forward, _compute.ancestors(g, output))
    totals: dict[Any, tuple[float, int, list[Any]]] = {}
    for start in range(0, len(wrt), _PROGRESS_STEP):
        totals.update(_compute.path_totals(g, forward, wrt[start:start + _PROGRESS_STEP], output, marked=near))
        if progress is not None:
            progress("path sums", min(len(wrt), start + _PROGRESS_STEP), len(wrt))
    numbers: dict[Any, float | None] = {}
    if numeric:
        chosen = wrt
        if numeric_sample is not None and numeric_sample < len(wrt):
            rng = np.random.default_rng(NUMERIC_SEED)
            picked = sorted(rng.choice(len(wrt), size=numeric_sample, replace=False).tolist())
            chosen = [wrt[i] for i in picked]
        for start in range(0, len(chosen), _PROGRESS_STEP):
            numbers.update(numeric_gradients(g, chosen[start:start + _PROGRESS_STEP], forward, values))
            if progress is not None:
                progress("finite differences", min(len(chosen), start + _PROGRESS_STEP), len(chosen))
    return {w: GradientEntry(name=w, paths=totals[w][0], backprop=float(grads[w]),
                             numeric=numbers.get(w), n_paths=totals[w][1], kinks=totals[w][2]) for w in wrt}


_PROGRESS_STEP = 2_048  # nodes per batch of path sums or finite differences between progress reports


def near_kink(g: ComputationGraph, forward: Forward, nodes: list[Any], *, scale: float = 1e-3) -> list[Any]:
    """The kink ops among ``nodes`` whose operands sit within ``scale`` of a kink (in the FD's reach)."""
    found = []
    for v in nodes:
        op = g.nodes[v].get("op")
        kink = OPS[op].kink if op is not None else None
        if kink is None:
            continue
        args = [forward.values[u] for u in operands(g, v)]
        if bool(np.any(kink(scale * max(1.0, *(abs(float(a)) for a in args)), *args))):
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
    numeric_sampled: int | None = None
    """How many entries got finite differences when they ran on a sample (None: every entry)."""

    def __post_init__(self) -> None:
        # a NaN tolerance would make every comparison false and break strict JSON
        if not (math.isfinite(self.tol) and self.tol >= 0):
            raise UsageError(_("the tolerance (--tol) must be a finite number ≥ 0, got {value}").format(value=self.tol))

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

    def _repr_html_(self) -> str:
        """Jupyter: the three answers side by side, one row per gradient (the first 50)."""
        from .text import html_table

        shown = list(self.entries.values())[:50]
        out = self.forward.output if self.forward is not None else "output"
        rows = [[str(e.name), e.paths, e.backprop, _("n/a") if e.numeric is None else e.numeric, e.n_paths,
                 e.rel_error, "✓" if e.ok(self.tol) else "✗"] for e in shown]
        verdict = _("ok") if self.ok else _("MISMATCH in {n}").format(n=len(self.failures))
        return html_table([_("wrt"), _("∂{output}/∂· paths").format(output=out), _("backprop"), _("numeric"),
                           _("paths #"), _("rel error"), ""], rows,
                          caption=_("gradient check, tol {tol}: {verdict}").format(tol=f"{self.tol:g}", verdict=verdict),
                          more=len(self.entries) - len(shown))
