"""The library's front door: a parsed script as a ``Graph`` with forward, backprop, paths and checks.

``Graph`` wraps the computation graph (``g.core``, networkx's layout without networkx; ``g.nx``,
the public networkx graph over the same data, made on first use; neither changed by evaluation)
with the script's source and output; every method computes a fresh result object from it, so ``--set`` values,
finite differences and training re-evaluate without rebuilding anything. The maths methods ask
:mod:`graphtrace.compute`; the drawing conveniences (``to_dot``, ``render``, Jupyter's display)
hand computed results to the presentation modules below this one, which never import it back.
"""

from __future__ import annotations

__all__ = ["Graph", "Gradients", "load", "parse"]

import gc
import os
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np

from . import compute
from . import paths as _paths
from .check import CheckReport, Progress, check_work, gradient_entries, numeric_gradient
from .errors import GraphError, UsageError
from .evaluate import Forward
from .graph import as_graph, build_graph, operands, topological_order
from .i18n import _
from .ops import OPS
from .parse import Source, parse_program, read_source
from .results import Analysis, Gradients, Paths, PathsReport, analyse, paths_report
from .text import did_you_mean

# The drawing options' choices, as types: a misspelt view or level is caught by a type checker.
View = Literal["forward", "backward", "both"]
Level = Literal["scalar", "neuron", "layer", "array", "auto"]
Backend = Literal["auto", "system", "bundled"]
Fit = Literal["slide", "a4"]
RankDir = Literal["LR", "TB"]


class Graph:
    """A computation graph parsed from a script.

    Attributes:
        nx: the networkx MultiDiGraph (nodes: inputs, params, constants, ops; edges keyed by slot),
            made on first use.
        core: the same graph without networkx (:class:`graphtrace.graph.ComputationGraph`): what
            the maths reads, so that a command that draws nothing never imports networkx.
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

    def __init__(self, graph: Any, source: Source | None = None, *, output: Any = None):
        self.core = as_graph(graph)
        self.source = source
        out = self.core.graph.get("output") if output is None else output
        if out not in self.core:
            raise GraphError(self._unknown(out, "output"))
        self.output = out

    @property
    def nx(self) -> Any:
        """The networkx MultiDiGraph (made on first use, over the same data as :attr:`core`: a
        change made through it is seen by every method)."""
        return self.core.to_networkx()

    # ---- names --------------------------------------------------------------------------------
    @property
    def params(self) -> list[Any]:
        """The params, in source order."""
        return [v for v, d in self.core.nodes(data=True) if d.get("kind") == "param"]

    @property
    def inputs(self) -> list[Any]:
        """The inputs (placeholders), in source order."""
        return [v for v, d in self.core.nodes(data=True) if d.get("kind") == "input"]

    @property
    def leaves(self) -> list[Any]:
        """The named leaves, in source order: inputs, params and named constants (``a = -4.0``,
        a leaf as micrograd's ``Value(-4.0)`` is); a script without params reports these.

        >>> parse("a = -4.0; b = 2.0; x: input = 1; c = a*b*x + 3").leaves
        ['a', 'b', 'x']
        """
        return [v for v, d in self.core.nodes(data=True)
                if d.get("kind") in ("input", "param") or (d.get("kind") == "const" and d.get("named"))]

    def default_wrt(self, values: Mapping[Any, Any] | None = None) -> list[Any]:
        """What ``grad`` and ``check`` report without ``--wrt``: every param or, in a script that
        declares none, every named leaf but a class index and a named constant whose gradient is
        not a number at these values (the 2 of ``k = 2; y = x**k`` at x < 0): neither is defined.

        >>> parse("a = -4.0; b = 2.0; c = a*b").default_wrt(), parse("x = -3; k = 2; y = x**k").default_wrt()
        (['a', 'b'], ['x'])
        """
        if self.params:
            return self.params
        leaves = [v for v in self.leaves if not self.label_only(v)]
        if any(self.core.nodes[v].get("kind") == "const" for v in leaves):
            grads = self.backprop(values)
            leaves = [v for v in leaves if self.core.nodes[v].get("kind") != "const"
                      or bool(np.all(np.isfinite(grads[v])))]
        return leaves

    @property
    def names(self) -> list[Any]:
        """Every node the script named, in source order."""
        return [v for v, d in self.core.nodes(data=True) if d.get("named")]

    @property
    def name(self) -> str:
        return self.source.name if self.source else "<graph>"

    @property
    def arrays(self) -> dict[str, dict[str, Any]]:
        """The script's arrays: name (``W``, or ``h#2`` for a second version) → ``shape`` and
        ``elements`` (the element node ids ``W[0,0]``, ``W[0,1]``, …, row-major)."""
        return self.core.graph.get("arrays", {})

    def expand(self, names: Iterable[Any], *, what: str = "--wrt") -> list[Any]:
        """Node names with each array name replaced by its elements, validated.

        >>> parse("W: param = [[1, 2], [3, 4]]\\nL = sum(W)").expand(["W"])
        ['W[0,0]', 'W[0,1]', 'W[1,0]', 'W[1,1]']
        """
        out: list[Any] = []
        for n in names:
            if n not in self.core and n in self.arrays:
                out.extend(self.arrays[n]["elements"])
            else:
                out.append(self.node(n, what=what))
        return out

    def label_only(self, v: Any) -> bool:
        """Whether node ``v`` feeds the graph only as a class index (cross_entropy's label): no
        derivative with respect to it is defined or reported."""
        g = self.core
        if not compute.takes_classes(g):
            return False
        found = False
        for w, keys in g.succ[v].items():
            op = OPS[g.nodes[w]["op"]]
            index = op.index_slot(sum(len(k) for k in g.pred[w].values()))
            if any(slot != index for slot in keys):
                return False
            found = True
        return found

    def _unknown(self, name: Any, what: str) -> str:
        msg = _("{what} '{name}' is not a name in {script}").format(what=what, name=name, script=self.name)
        hint = did_you_mean(str(name), [*self.names, *self.arrays], cutoff=0.5)
        return f"{msg} ({hint})" if hint else msg

    def node(self, name: Any, *, what: str = "name") -> Any:
        """Validate a node name given by a user (``--wrt``, ``--set``), with a "did you mean"."""
        try:
            hash(name)
        except TypeError:  # an unhashable name (a list, a dict) is no node either
            raise GraphError(_("{what} must be a node's name, not {kind}").format(what=what, kind=type(name).__name__)) from None
        if name not in self.core:
            if name in self.arrays:
                from .parse import shape_text

                a = self.arrays[name]
                raise GraphError(_("{what} '{name}' is {shape}, and this needs one number: name an element, "
                                   "e.g. '{element}'").format(what=what, name=name, shape=shape_text(tuple(a["shape"])),
                                                              element=a["elements"][0]))
            raise GraphError(self._unknown(name, what))
        return name

    def with_output(self, name: Any) -> Graph:
        """The same graph with another node as output."""
        return type(self)(self.core, self.source, output=self.node(name, what="output"))

    @property
    def order(self) -> list[Any]:
        """A deterministic topological order of the nodes."""
        return topological_order(self.core)

    def _values(self, values: Mapping[Any, Any] | None) -> Mapping[Any, Any] | None:
        """Check values given by a user or a caller: names of inputs or params, numbers or 1-D arrays."""
        if values is None:
            return None
        if not isinstance(values, Mapping):
            raise UsageError(_("values must be a mapping of input or param names to numbers, not {kind}").format(
                kind=type(values).__name__))
        for k, v in values.items():
            if k not in self.core:
                raise GraphError(self._unknown(k, "--set"))
            kind = self.core.nodes[k].get("kind")
            if kind not in ("input", "param"):
                named = kind == "const" and self.core.nodes[k].get("named")
                message = (_("--set '{name}': only inputs and params can be set; '{name}' is computed")
                           if kind == "op" else
                           _("--set '{name}': only inputs and params can be set; '{name}' is a named constant")
                           if named else
                           _("--set '{name}': only inputs and params can be set; '{name}' is a constant"))
                raise GraphError(message.format(name=k),
                                 hint=_("declare it '{name}: param = …' (or input) to set it").format(name=k)
                                 if named else None)
            try:
                arr = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                raise UsageError(_("the value of '{name}' must be a number or an array of numbers, not {kind}").format(
                    name=k, kind=type(v).__name__)) from None
            if arr.ndim > 1:
                raise UsageError(_("the value of '{name}' must be a number or a 1-D batch, got shape {shape}").format(
                    name=k, shape=arr.shape))
        return values

    def _one_point(self, values: Mapping[Any, Any] | None, what: str) -> None:
        if values and any(np.ndim(v) > 0 for v in values.values()):
            raise UsageError(_("{what} compares gradients at one point: give numbers, not arrays "
                               "(forward() and backprop() take a batch)").format(what=what))

    # ---- the three answers --------------------------------------------------------------------
    def forward(self, values: Mapping[Any, Any] | None = None, *, with_locals: bool = True) -> Forward:
        """Every node's value and every edge's local derivative (``values`` override inputs/params)."""
        return compute.forward(self.core, self._values(values), output=self.output, with_locals=with_locals,
                               source_text=self.source.text if self.source else None)

    def backprop(self, values: Mapping[Any, Any] | Forward | None = None, *,
                 forward: Forward | None = None) -> Gradients:
        """∂output/∂node for every node, by reverse accumulation.

        Takes the values to evaluate at, or the result of :meth:`forward` (``g.backprop(f)``).

        >>> g = parse("a: param = 0.5\\nL = a*a")
        >>> f = g.forward(values={"a": 0.1})
        >>> g.backprop(f)["a"], g.backprop(forward=f)["a"]
        (0.2, 0.2)
        """
        if isinstance(values, Forward):
            values, forward = None, values
        fwd = forward or self.forward(values)
        grads = Gradients(compute.gradients(self.core, fwd, self.output))
        grads.output, grads.params = self.output, tuple(self.params)
        return grads

    def sum_over_paths(self, wrt: Any, values: Mapping[Any, Any] | None = None, *,
                       forward: Forward | None = None) -> Any:
        """∂output/∂wrt as the course's sum over all paths of edge-derivative products (exact DP)."""
        fwd = forward or self.forward(values)
        return compute.sum_over_paths(self.core, fwd, self.node(wrt, what="--wrt"), self.output)

    def count_paths(self, wrt: Any) -> int:
        """The exact number of paths from ``wrt`` to the output."""
        return compute.count_paths(self.core, self.node(wrt, what="--wrt"), self.output)

    def paths(self, wrt: Any, *, top: int = 10, values: Mapping[Any, Any] | None = None,
              forward: Forward | None = None) -> list[_paths.Path]:
        """The ``top`` paths from ``wrt`` to the output with the largest |product|, best first
        (a list; Jupyter shows it as a table)."""
        fwd = forward or self.forward(values)
        found = Paths(compute.top_paths(self.core, fwd, self.node(wrt, what="--wrt"), self.output, top=top))
        found.output, found.wrt = self.output, wrt
        return found

    def paths_report(self, wrt: Any, *, top: int = 10, values: Mapping[Any, Any] | None = None,
                     forward: Forward | None = None) -> PathsReport:
        """Count, sum over all paths, backprop and the best paths of ``wrt`` in one result.

        >>> r = parse("x: input = 3\\nh = x*x").paths_report("x")
        >>> r.n_paths, r.total, r.backprop
        (2, 6.0, 6.0)
        """
        fwd = forward or self.forward(values)
        wrt = self.node(wrt, what="--wrt")
        return paths_report(self.core, fwd, self.backprop(forward=fwd), wrt, output=self.output, top=top)

    def path_flows(self, wrt: Any, *, values: Mapping[Any, Any] | None = None,
                   forward: Forward | None = None) -> dict[tuple[Any, Any, int], float]:
        """Per edge, the summed product of the paths from ``wrt`` through it (for heat maps)."""
        fwd = forward or self.forward(values)
        return compute.path_flows(self.core, fwd, self.node(wrt, what="--wrt"), self.output)

    def analyse(self, values: Mapping[Any, Any] | None = None, *, wrt: Any = None, heat: bool = False,
                top: int = 5) -> Analysis:
        """Everything a drawing shows, computed once: values, locals, gradients, paths, flows."""
        fwd = self.forward(values)
        if wrt is not None:
            wrt = self.node(wrt, what="--wrt")
        return analyse(self.core, fwd, self.backprop(forward=fwd), wrt=wrt, heat=heat, top=top)

    def numeric(self, wrt: Any, values: Mapping[Any, Any] | None = None, *,
                forward: Forward | None = None) -> float | None:
        """∂output/∂wrt by central finite differences (forward values only; None: no finite step
        around the point stays inside the function's domain)."""
        fwd = forward or self.forward(values)
        return numeric_gradient(self.core, self.node(wrt, what="--wrt"), fwd, self._values(values))

    def check(self, wrt: Iterable[Any] | Forward | None = None, values: Mapping[Any, Any] | Forward | None = None,
              *, forward: Forward | None = None, tol: float = 1e-6, numeric: bool = True,
              numeric_all: bool = False, progress: Progress | None = None) -> CheckReport:
        """Compare path sum, backprop and finite differences for ``wrt`` (default: every param, or
        the named leaves of a script without params), at ``values`` or at the point of a
        :meth:`forward` result (``g.check(f)``, ``g.check(["α"], f)`` or ``forward=f``).

        Bounded: path sums over more than ``GRAPHTRACE_MAX_PATH_WORK`` node·edges are refused; finite
        differences beyond ``GRAPHTRACE_MAX_NUMERIC_WORK`` run on a seeded sample of the nodes (the
        report says how many) unless ``numeric_all``. ``progress(what, done, total)`` hears how
        long work advances.

        >>> g = parse("a: param = 2\\nb: param = -1\\nL = sigmoid(a*b)")
        >>> g.check().ok, g.check(g.forward(values={"a": 0.5})).entries["a"].backprop == g.check(values={"a": 0.5}).entries["a"].backprop
        (True, True)
        """
        if isinstance(wrt, Forward):
            wrt, forward = None, wrt
        if isinstance(values, Forward):
            values, forward = None, values
        if forward is not None:
            if values is not None:
                raise UsageError(_("give values or a Forward to check at, not both"))
            # the point the forward pass was taken at: its inputs' and params' values
            values = {v: forward.values[v] for v in self.core
                      if self.core.nodes[v].get("kind") in ("input", "param") and v in forward.values}
        self._one_point(self._values(values), "check")
        if isinstance(wrt, (str, bytes)):
            raise UsageError(_("wrt must be a list of names, e.g. check(['w']), not one string"))
        targets = list(self.default_wrt(values) if wrt is None else self.expand(wrt))
        # A class index (cross_entropy's label) has no derivative: never reported; asked for alone,
        # an error that says why.
        labels = [t for t in targets if self.label_only(t)]
        if labels and len(labels) == len(targets) and wrt is not None:
            raise GraphError(_("{dd} is not defined: '{name}' is a class index (a label that cross_entropy "
                               "picks a logit with), not a number to differentiate").format(
                dd=f"∂{self.output}/∂{labels[0]}", name=labels[0]))
        targets = [t for t in targets if t not in labels]
        sample = check_work(len(targets), self.core.number_of_edges(), numeric_all=numeric_all)  # before any work
        fwd = self.forward(values)
        grads = self.backprop(forward=fwd)
        # Path sums, counts and finite differences of all targets run as batched columns (check.py).
        entries = gradient_entries(self.core, fwd, grads, targets, values, numeric=numeric,
                                   numeric_sample=sample, progress=progress)
        sampled = sample if numeric and sample is not None and sample < len(targets) else None
        return CheckReport(entries, tol, fwd, numeric_sampled=sampled)

    def warnings(self) -> list[str]:
        """Questionable but valid things about the script (unused params, dead statements)."""
        up = set(compute.ancestors(self.core, self.output))
        out = []
        for v in self.params:
            if v not in up:
                out.append(_("param '{name}' does not affect the output '{output}' (its gradient is 0)").format(
                    name=v, output=self.output))
        return out

    # ---- drawing: graphtrace.dot builds the text, graphtrace.output writes files --------------
    def to_dot(self, *, view: View = "both", wrt: Any = None, symbolic: bool = False, show_consts: bool = False,
               heat: bool = False, level: Level = "auto", values: Mapping[Any, Any] | None = None,
               edge_labels: bool | None = None, force: bool = False, top: int = 5, legend: bool = True,
               rankdir: RankDir = "LR") -> str:
        """The DOT text of this graph's diagram (the options as :func:`graphtrace.dot.to_dot`).

        >>> parse("x: input = 3\\ny = x*x").to_dot(view="backward").count(" -> ")
        2
        """
        from .dot import to_dot

        return to_dot(self, view=view, wrt=wrt, symbolic=symbolic, show_consts=show_consts, heat=heat,
                      level=level, values=values, edge_labels=edge_labels, force=force, top=top, legend=legend,
                      rankdir=rankdir)

    def render(self, path: str | os.PathLike[str], *, view: View = "both", wrt: Any = None, symbolic: bool = False,
               show_consts: bool = False, heat: bool = False, level: Level = "auto",
               values: Mapping[Any, Any] | None = None, edge_labels: bool | None = None, force: bool = False,
               top: int = 5, legend: bool = True, data: Any = None, backend: Backend = "auto",
               timeout: float | None = None, fit: Fit | None = None) -> None:
        """Draw this graph into ``path`` (.svg .png .pdf .dot .json .html, by extension), atomically.

        The drawing options are :meth:`to_dot`'s; ``data`` (a ``Dataset``, a CSV path or
        ``sample:NAME.csv``) adds the training view to an ``.html`` explorer page; ``fit`` ("slide":
        16:9, 1920×1080 px; "a4": a handout page) chooses the level (unless ``level`` is given) and
        the rank direction so that the smallest text stays legible on that page, and sizes the
        picture to it.
        """
        from .output import format_of, save

        options: dict[str, Any] = dict(view=view, wrt=wrt, symbolic=symbolic, show_consts=show_consts,
                                       heat=heat, level=level, values=values, edge_labels=edge_labels,
                                       force=force, top=top, legend=legend)
        if data is not None:
            if format_of(path) != "html":
                raise UsageError(_("data is for the explorer page: render to a .html file"))
            options["data"] = _dataset(data)
        save(self, path, backend=backend, timeout=timeout, fit=fit, **options)

    def explore(self, values: Mapping[Any, Any] | None = None, *, data: Any = None, wrt: Any = None,
                height: int = 640, backend: Backend = "auto") -> Any:
        """The interactive explorer page: shown inline in Jupyter, VS Code and Colab (a sandboxed
        iframe), written to a file with ``.save("page.html")``. ``data`` (a ``Dataset``, a CSV path
        or ``sample:NAME.csv``) adds the training view.

        >>> page = parse("x: input = 2\\ny = x*x").explore()
        >>> page.html.startswith("<!DOCTYPE html>"), "srcdoc=" in page._repr_html_()
        (True, True)
        """
        from .explorer import Page, build_html

        if wrt is not None:
            wrt = self.node(wrt, what="wrt")
        page = build_html(self, values=self._values(values), data=None if data is None else _dataset(data),
                          wrt=wrt, backend=backend)
        return Page(page, title=os.path.basename(self.name), height=height)

    def to_networkx(self, values: Mapping[Any, Any] | None = None, *,
                    multigraph: bool = True) -> Any:
        """A copy of the graph whose nodes carry ``value`` and ``grad`` (∂output/∂node) and whose
        edges carry ``local`` (∂head/∂tail at these values) and ``symbolic`` (its formula in the
        script's names), for networkx's own tools: ``nx.write_graphml``, ``nx.to_latex``, queries.

        Every attribute is a number, a string or a bool (GraphML's types); a node's ``node_label``
        (also ``label``, what GraphML viewers show) and ``pos`` (``"(column, row)"`` in TikZ's
        form, one column per depth) and an edge's ``edge_label`` are what ``nx.to_latex`` draws. The graph attribute ``output`` names the output. ``multigraph=False``
        gives a DiGraph (``nx.to_latex`` takes no multigraph): the parallel edges of ``x*x`` become
        one, whose ``local`` is their sum (the total ∂head/∂tail), ``count`` says how many.

        >>> h = parse("x: input = 3\\ny = x*x").to_networkx()
        >>> h.nodes["x"]["value"], h.nodes["x"]["grad"], h.edges["x", "y", 0]["local"], h.edges["x", "y", 1]["symbolic"]
        (3.0, 6.0, 3.0, 'x')
        >>> d = parse("x: input = 3\\ny = x*x").to_networkx(multigraph=False)
        >>> d.edges["x", "y"]["local"], d.edges["x", "y"]["symbolic"], d.edges["x", "y"]["count"]
        (6.0, 'x + x', 2)
        """
        from .text import fmt, parenthesise, primed

        fwd = self.forward(values)
        grads = self.backprop(forward=fwd)
        g = self.core
        import networkx as nx

        out: nx.MultiDiGraph | nx.DiGraph = nx.MultiDiGraph() if multigraph else nx.DiGraph()
        out.graph.update({"output": str(self.output), "name": self.name})

        def simple(x: Any) -> Any:
            return x if isinstance(x, (bool, int, float, str)) else str(x)

        def number(x: Any) -> float:
            try:
                return float(x)
            except TypeError:  # a batch: its mean, as the drawings show
                return float(np.mean(x))

        label: dict[Any, str] = {}
        for v in fwd.order:
            d = g.nodes[v]
            if d.get("named") or d.get("kind") in ("input", "param"):
                label[v] = primed(str(v))
            elif d.get("kind") == "const":
                label[v] = fmt(d.get("value", 0.0))
            else:
                label[v] = OPS[d["op"]].glyph
        depth: dict[Any, int] = {}
        rows: dict[int, int] = {}
        for v in fwd.order:
            depth[v] = max((depth[u] + 1 for u in g.predecessors(v)), default=0)
            rows[depth[v]] = rows.get(depth[v], 0) + 1
            attrs = {k: simple(x) for k, x in g.nodes[v].items() if x is not None}
            attrs.update(value=number(fwd.values[v]), grad=number(grads[v]), label=label[v],
                         node_label=label[v], pos=f"({2 * depth[v]}, {-rows[depth[v]]})")
            out.add_node(v, **attrs)
        for v in fwd.order:
            if g.nodes[v].get("kind") != "op":
                continue
            args = [parenthesise(label[u]) for u in operands(g, v)]
            for slot, u in enumerate(operands(g, v)):
                local = number(fwd.locals[(u, v, slot)])
                symbolic = OPS[g.nodes[v]["op"]].symbolic_at(slot, args, parenthesise(label[v]))
                if multigraph:
                    out.add_edge(u, v, key=slot, slot=slot, local=local, edge_label=fmt(local), symbolic=symbolic)
                elif out.has_edge(u, v):  # x*x: the total derivative through both slots
                    e = out.edges[u, v]
                    e.update(local=e["local"] + local, symbolic=f"{e['symbolic']} + {symbolic}",
                             count=e["count"] + 1, edge_label=fmt(e["local"] + local))
                else:
                    out.add_edge(u, v, local=local, edge_label=fmt(local), symbolic=symbolic, count=1)
        return out

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
        g = self.core
        return (f"<graphtrace.Graph {self.name}: {g.number_of_nodes()} nodes, {g.number_of_edges()} edges, "
                f"output {self.output!r}, params {self.params[:6]}{'...' if len(self.params) > 6 else ''}>")


def _dataset(data: Any) -> Any:
    """A data set given to the library: a ``Dataset``, or a CSV path (``sample:NAME.csv`` too)."""
    from .data import Dataset, read_csv

    if isinstance(data, Dataset):
        return data
    if not isinstance(data, (str, os.PathLike)):
        raise UsageError(_("data must be a Dataset or a CSV file's path, not {kind}").format(kind=type(data).__name__))
    if isinstance(data, str) and data.startswith("sample:"):
        from .bundled import resolve

        return read_csv(resolve(data, kinds=(".csv",)), name=data)
    return read_csv(data)


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
    if not isinstance(text, str):
        raise UsageError(_("parse takes the script as text (a str), not {kind}; load(path) reads a file").format(
            kind=type(text).__name__))
    return _build(read_source(text=text, name=name), output)


def load(path: str | os.PathLike[str], *, output: Any = None, name: str | None = None) -> Graph:
    """Load a script from a ``.gt`` file (``-`` reads standard input); ``sample:NAME`` loads a
    bundled sample (``graphtrace samples`` lists them). ``name`` is what messages and drawings
    call the script (default: the path as given).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sq.gt"
    >>> _ = p.write_text("x: input = 3\\ny = x*x\\n")
    >>> load(p).forward().value
    9.0
    """
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(_("load takes a file path, not {kind}; parse(text) reads a script").format(kind=type(path).__name__))
    if isinstance(path, str) and path.startswith("sample:"):
        from .bundled import resolve

        name = name or path
        path = resolve(path)
    return _build(read_source(path, name=name), output)
