"""Results: what the core computes for the layers above it (reports, drawings, the explorer).

A :class:`PathsReport` is the course's §9 answer for one node (exact path count, the sum over every
path, backprop's value and the best paths), built by :func:`paths_report` alone, whether the ``paths``
command, the demo or a drawing shows it. An :class:`Analysis` is everything a drawing shows (values,
local derivatives, gradients, the paths report, heat flows), computed before drawing starts:
drawing turns results into text and never runs a pass itself.
"""

from __future__ import annotations

__all__ = ["Gradients", "PathsReport", "Paths", "Analysis", "paths_report", "analyse"]

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import compute
from .evaluate import Forward
from .graph import ComputationGraph
from .paths import Path


class Gradients(dict):
    """∂output/∂node for every node (a dict); ``repr`` shows the params'."""

    output: Any = None
    params: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        shown = ", ".join(f"{p}={_float(self[p]):.6g}" for p in self.params[:8])
        more = ", ..." if len(self.params) > 8 else ""
        return f"Gradients(d{self.output}/d: {shown}{more})"

    def _repr_html_(self) -> str:
        """Jupyter: ∂output/∂param for every param (the first 50; without params, the first 50 nodes)."""
        from .i18n import _
        from .text import html_table

        keys = list(self.params) or list(self)
        shown = keys[:50]
        return html_table([_("node"), f"∂{self.output}/∂·"], [[str(k), _float(self[k])] for k in shown],
                          caption=_("gradients of {output} (backprop)").format(output=self.output),
                          more=len(keys) - len(shown))


@dataclass
class PathsReport:
    """∂output/∂wrt as the course's sum over paths, beside backprop, with the best paths.

    Attributes:
        output, wrt: the two ends.
        n_paths: the exact number of paths (a Python int, however large).
        total: the sum over all paths of the products of local derivatives.
        backprop: ∂output/∂wrt by reverse accumulation, for comparison.
        top: the best paths by |product|, best first.
        nodes: every node on some path from wrt to output, in topological order.
    """

    output: Any
    wrt: Any
    n_paths: int
    total: float
    backprop: float
    top: list[Path]
    nodes: list[Any] = field(default_factory=list, repr=False)

    def __repr__(self) -> str:
        return (f"PathsReport(∂{self.output}/∂{self.wrt}: {self.n_paths:,} paths, total={self.total:.10g}, "
                f"backprop={self.backprop:.10g}, top {len(self.top)})")

    def _repr_html_(self) -> str:
        """Jupyter: the best paths with their factors and products, then the sum and backprop."""
        from .i18n import ngettext

        return _paths_html(self.top, self.output, self.wrt,
                           ngettext("{dd}: {n} path, sum over all = {total}, backprop = {backprop}",
                                    "{dd}: {n} paths, sum over all = {total}, backprop = {backprop}", self.n_paths).format(
                               dd=f"∂{self.output}/∂{self.wrt}", n=f"{self.n_paths:,}", total=f"{self.total:.10g}",
                               backprop=f"{self.backprop:.10g}"))


class Paths(list):  # type: ignore[type-arg]
    """The best paths from ``wrt`` to ``output`` (a list of :class:`~graphtrace.paths.Path`),
    shown in Jupyter as a table."""

    output: Any = None
    wrt: Any = None

    def _repr_html_(self) -> str:
        from .i18n import _

        return _paths_html(self, self.output, self.wrt, _("the {n} best paths from {wrt} to {output}").format(
            n=len(self), wrt=self.wrt, output=self.output))


def _paths_html(paths: list[Path], output: Any, wrt: Any, caption: str) -> str:
    from .text import fmt, html_table

    def short(items: list[str]) -> str:
        return " ".join(items[:8] + ["…"] + items[-4:]) if len(items) > 12 else " ".join(items)

    rows = [[i, short([str(p.nodes[0])] + [f"→ {v}" for v in p.nodes[1:]]),
             short([fmt(f) if k == 0 else f"× {fmt(f)}" for k, f in enumerate(p.factors)]), p.product]
            for i, p in enumerate(paths[:30], 1)]
    from .i18n import _

    return html_table(["#", _("path"), _("factors"), _("product")], rows, caption=caption, more=len(paths) - len(rows))


def paths_report(g: ComputationGraph, fwd: Forward, grads: Mapping[Any, Any], wrt: Any, *,
                 output: Any = None, top: int = 10) -> PathsReport:
    """The paths report of ``wrt``: one function for the command, the demo and every drawing.

    >>> from graphtrace import parse
    >>> g = parse("x: input = 3\\nh = x*x")
    >>> fwd = g.forward()
    >>> r = paths_report(g.nx, fwd, g.backprop(forward=fwd), "x")
    >>> r.n_paths, r.total, r.backprop, [p.product for p in r.top]
    (2, 6.0, 6.0, [3.0, 3.0])
    """
    output = fwd.output if output is None else output
    return PathsReport(
        output=output, wrt=wrt,
        n_paths=compute.count_paths(g, wrt, output),
        total=_float(compute.sum_over_paths(g, fwd, wrt, output)),
        backprop=_float(grads[wrt]),
        top=compute.top_paths(g, fwd, wrt, output, top=top),
        nodes=compute.between(g, wrt, output),
    )


@dataclass
class Analysis:
    """Everything a drawing of one graph shows, computed once.

    Attributes:
        forward: every node's value and every edge's local derivative.
        grads: ∂output/∂node for every node.
        paths: the paths report of ``wrt`` (None without ``wrt``).
        flows: per edge, |path flow| from ``wrt`` or, without it, the |gradient| it carries back
            (None unless a heat map was asked for).
    """

    forward: Forward
    grads: Mapping[Any, Any]
    paths: PathsReport | None = None
    flows: dict[tuple[Any, Any, int], float] | None = None

    @property
    def on_path(self) -> set[Any]:
        """The nodes on some path from ``wrt`` to the output (empty without ``wrt``)."""
        return set(self.paths.nodes) if self.paths is not None else set()


def analyse(g: ComputationGraph, fwd: Forward, grads: Mapping[Any, Any], *, wrt: Any = None,
            heat: bool = False, top: int = 5) -> Analysis:
    """The analysis a drawing needs: the paths report of ``wrt`` and, for a heat map, the flows."""
    report = paths_report(g, fwd, grads, wrt, top=top) if wrt is not None else None
    flows = None
    if heat:
        if wrt is not None:
            flows = {k: abs(v) for k, v in compute.path_flows(g, fwd, wrt, fwd.output).items()}
        else:  # without wrt: the gradient each edge carries back, |∂L/∂head · local|
            flows = {k: abs(_float(grads[k[1]]) * _float(loc)) for k, loc in fwd.locals.items()}
    return Analysis(fwd, grads, report, flows)


def _float(x: Any) -> float:
    try:
        return float(x)
    except TypeError:  # a batch of values: its mean
        import numpy as np

        return float(np.mean(x))
