"""The library's front door: a parsed script as a ``Graph`` with forward, backprop, paths and checks.

``Graph`` wraps the networkx graph (``g.nx``, public and unchanged by evaluation) with the script's
source and output; every method computes a fresh result object from it, so ``--set`` values,
finite differences and training re-evaluate without rebuilding anything. The maths methods ask
:mod:`graphtrace.compute`; the drawing conveniences (``to_dot``, ``render``, Jupyter's display)
hand computed results to the presentation modules below this one, which never import it back.
"""

from __future__ import annotations

__all__ = ["Graph", "Gradients", "load", "parse"]

import gc
import os
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from . import compute
from . import paths as _paths
from .check import CheckReport, gradient_entries, numeric_gradient
from .errors import GraphError
from .evaluate import Forward
from .graph import build_graph, topological_order
from .parse import Source, parse_program, read_source
from .results import Analysis, Gradients, PathsReport, analyse, paths_report
from .text import did_you_mean


class Graph:
    """A computation graph parsed from a script.

    Attributes:
        nx: the networkx MultiDiGraph (nodes: inputs, params, constants, ops; edges keyed by slot).
        source: the script (text and name), or None for graphs built by hand.
        output: the node whose derivatives are computed.

    >>> g = parse('''
    ... x1: input = 1.0
    ... w: param = 0.5
    ... L = (w*x1 - 2)**2
    ... ''')
    >>> g.output, g.params
    ('L', ['w'])
    >>> float(g.forward().value)
    2.25
    >>> float(g.backprop()["w"]), float(g.sum_over_paths("w")), g.count_paths("w")
    (-3.0, -3.0, 1)
    """

    def __init__(self, graph: nx.MultiDiGraph, source: Source | None = None, *, output: Any = None):
        self.nx = graph
        self.source = source
        out = graph.graph.get("output") if output is None else output
        if out not in graph:
            raise GraphError(self._unknown(out, "output"))
        self.output = out

    # ---- names --------------------------------------------------------------------------------
    @property
    def params(self) -> list[Any]:
        """The params, in source order."""
        return [v for v, d in self.nx.nodes(data=True) if d.get("kind") == "param"]

    @property
    def inputs(self) -> list[Any]:
        """The inputs (placeholders), in source order."""
        return [v for v, d in self.nx.nodes(data=True) if d.get("kind") == "input"]

    @property
    def names(self) -> list[Any]:
        """Every node the script named, in source order."""
        return [v for v, d in self.nx.nodes(data=True) if d.get("named")]

    @property
    def name(self) -> str:
        return self.source.name if self.source else "<graph>"

    def _unknown(self, name: Any, what: str) -> str:
        msg = f"{what} '{name}' is not a name in {self.name}"
        hint = did_you_mean(str(name), self.names, cutoff=0.5)
        return f"{msg} ({hint})" if hint else msg

    def node(self, name: Any, *, what: str = "name") -> Any:
        """Validate a node name given by a user (``--wrt``, ``--set``), with a "did you mean"."""
        if name not in self.nx:
            raise GraphError(self._unknown(name, what))
        return name

    def with_output(self, name: Any) -> Graph:
        """The same graph with another node as output."""
        return type(self)(self.nx, self.source, output=self.node(name, what="output"))

    @property
    def order(self) -> list[Any]:
        """A deterministic topological order of the nodes."""
        return topological_order(self.nx)

    def _values(self, values: Mapping[Any, Any] | None) -> Mapping[Any, Any] | None:
        if values:
            for k in values:
                if k not in self.nx:
                    raise GraphError(self._unknown(k, "--set"))
                kind = self.nx.nodes[k].get("kind")
                if kind not in ("input", "param"):
                    raise GraphError(f"--set '{k}': only inputs and params can be set; '{k}' is "
                                     f"{'computed' if kind == 'op' else 'a constant'}")
        return values

    # ---- the three answers --------------------------------------------------------------------
    def forward(self, values: Mapping[Any, Any] | None = None, *, with_locals: bool = True) -> Forward:
        """Every node's value and every edge's local derivative (``values`` override inputs/params)."""
        return compute.forward(self.nx, self._values(values), output=self.output, with_locals=with_locals,
                               source_text=self.source.text if self.source else None)

    def backprop(self, values: Mapping[Any, Any] | None = None, *, forward: Forward | None = None) -> Gradients:
        """∂output/∂node for every node, by reverse accumulation."""
        fwd = forward or self.forward(values)
        grads = Gradients(compute.gradients(self.nx, fwd, self.output))
        grads.output, grads.params = self.output, tuple(self.params)
        return grads

    def sum_over_paths(self, wrt: Any, values: Mapping[Any, Any] | None = None, *,
                       forward: Forward | None = None) -> Any:
        """∂output/∂wrt as the course's sum over all paths of edge-derivative products (exact DP)."""
        fwd = forward or self.forward(values)
        return compute.sum_over_paths(self.nx, fwd, self.node(wrt, what="--wrt"), self.output)

    def count_paths(self, wrt: Any) -> int:
        """The exact number of paths from ``wrt`` to the output."""
        return compute.count_paths(self.nx, self.node(wrt, what="--wrt"), self.output)

    def paths(self, wrt: Any, *, top: int = 10, values: Mapping[Any, Any] | None = None,
              forward: Forward | None = None) -> list[_paths.Path]:
        """The ``top`` paths from ``wrt`` to the output with the largest |product|, best first."""
        fwd = forward or self.forward(values)
        return compute.top_paths(self.nx, fwd, self.node(wrt, what="--wrt"), self.output, top=top)

    def paths_report(self, wrt: Any, *, top: int = 10, values: Mapping[Any, Any] | None = None,
                     forward: Forward | None = None) -> PathsReport:
        """Count, sum over all paths, backprop and the best paths of ``wrt`` in one result.

        >>> r = parse("x: input = 3\\nh = x*x").paths_report("x")
        >>> r.n_paths, r.total, r.backprop
        (2, 6.0, 6.0)
        """
        fwd = forward or self.forward(values)
        wrt = self.node(wrt, what="--wrt")
        return paths_report(self.nx, fwd, self.backprop(forward=fwd), wrt, output=self.output, top=top)

    def path_flows(self, wrt: Any, *, values: Mapping[Any, Any] | None = None,
                   forward: Forward | None = None) -> dict[tuple[Any, Any, int], float]:
        """Per edge, the summed product of the paths from ``wrt`` through it (for heat maps)."""
        fwd = forward or self.forward(values)
        return compute.path_flows(self.nx, fwd, self.node(wrt, what="--wrt"), self.output)

    def analyse(self, values: Mapping[Any, Any] | None = None, *, wrt: Any = None, heat: bool = False,
                top: int = 5) -> Analysis:
        """Everything a drawing shows, computed once: values, locals, gradients, paths, flows."""
        fwd = self.forward(values)
        if wrt is not None:
            wrt = self.node(wrt, what="--wrt")
        return analyse(self.nx, fwd, self.backprop(forward=fwd), wrt=wrt, heat=heat, top=top)

    def numeric(self, wrt: Any, values: Mapping[Any, Any] | None = None, *,
                forward: Forward | None = None) -> float | None:
        """∂output/∂wrt by central finite differences (forward values only; None: no finite step
        around the point stays inside the function's domain)."""
        fwd = forward or self.forward(values)
        return numeric_gradient(self.nx, self.node(wrt, what="--wrt"), fwd, self._values(values))

    def check(self, wrt: Iterable[Any] | None = None, values: Mapping[Any, Any] | None = None, *,
              tol: float = 1e-6, numeric: bool = True) -> CheckReport:
        """Compare path sum, backprop and finite differences for ``wrt`` (default: every param).

        >>> parse("a: param = 2\\nb: param = -1\\nL = sigmoid(a*b)").check().ok
        True
        """
        fwd = self.forward(values)
        grads = self.backprop(forward=fwd)
        targets = list(self.params if wrt is None else [self.node(w, what="--wrt") for w in wrt])
        # Path sums, counts and finite differences of all targets run as batched columns (check.py).
        entries = gradient_entries(self.nx, fwd, grads, targets, values, numeric=numeric)
        return CheckReport(entries, tol, fwd)

    def warnings(self) -> list[str]:
        """Questionable but valid things about the script (unused params, dead statements)."""
        up = set(compute.ancestors(self.nx, self.output))
        out = []
        for v in self.params:
            if v not in up:
                out.append(f"param '{v}' does not affect the output '{self.output}' (its gradient is 0)")
        return out

    # ---- drawing: graphtrace.dot builds the text, graphtrace.output writes files --------------
    def to_dot(self, **options: Any) -> str:
        """The DOT text of this graph's diagram; options as :func:`graphtrace.dot.to_dot`.

        >>> parse("x: input = 3\\ny = x*x").to_dot(view="backward").count(" -> ")
        2
        """
        from .dot import to_dot

        return to_dot(self, **options)

    def render(self, path: str | os.PathLike[str], *, backend: str = "auto", timeout: float | None = None,
               **options: Any) -> None:
        """Draw this graph into ``path`` (.svg .png .pdf .dot .json .html, by extension), atomically."""
        from .output import save

        save(self, path, backend=backend, timeout=timeout, **options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter's inline display: the diagram as SVG (either Graphviz backend), and the repr."""
        from .errors import GraphtraceError

        bundle = {"text/plain": repr(self)}
        try:
            from .render import layout

            bundle["image/svg+xml"] = layout(self.to_dot(), "svg", backend="auto").decode("utf-8")
        except (GraphtraceError, ImportError):  # no backend or too big: the text alone still shows
            pass
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        if exclude:
            bundle = {k: v for k, v in bundle.items() if k not in exclude}
        return bundle

    def __repr__(self) -> str:
        g = self.nx
        return (f"<graphtrace.Graph {self.name}: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges, "
                f"output {self.output!r}, params {self.params[:6]}{'...' if len(self.params) > 6 else ''}>")


def _build(source: Source, output: Any) -> Graph:
    # Parsing and graph building allocate many small objects and free none: the garbage collector
    # only slows them down (2–4× on big scripts), so it is paused meanwhile.
    enabled = gc.isenabled()
    gc.disable()
    try:
        program = parse_program(source)
        graph = build_graph(program)
    finally:
        if enabled:
            gc.enable()
    return Graph(graph, source, output=output)


def parse(text: str, *, name: str = "<inline>", output: Any = None) -> Graph:
    """Parse a script given as text.

    >>> parse("x: input = 2\\ny = x**3").backprop()["x"]
    12.0
    """
    return _build(read_source(text=text, name=name), output)


def load(path: str | os.PathLike[str], *, output: Any = None) -> Graph:
    """Load a script from a ``.gt`` file (``-`` reads standard input).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sq.gt"
    >>> _ = p.write_text("x: input = 3\\ny = x*x\\n")
    >>> load(p).forward().value
    9.0
    """
    return _build(read_source(path), output)
