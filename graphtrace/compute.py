"""The one compute path: values, gradients, path sums and finite-difference runs, engine or reference.

Every caller (the library's ``Graph``, ``grad``/``check``/``paths``, drawings, the explorer's data,
training, prediction, the demo) asks this module; it alone decides whether the compiled engine
(:mod:`graphtrace.engine`) or the reference oracles (:mod:`graphtrace.evaluate`,
:mod:`graphtrace.backprop`, :mod:`graphtrace.paths`) run. The rule (:func:`uses_engine`): values
of more than one dimension, and graphs with a variadic op (softmax, logsumexp, cross_entropy: the
engine compiles ops of one or two operands), go to the reference oracles; a batch goes to the
engine; a single point goes to the engine when the graph is wide enough for its grouped numpy
calls to pay off (:data:`WIDE`), else to the plain loop, which is faster on thin chains.

Both answer alike to rounding; the engine is tested against the reference oracles, which stay
separate code (a path sum here is a forward sweep, never backprop's reverse sweep).
"""

from __future__ import annotations

__all__ = ["WIDE", "uses_engine", "forward", "engine_forward", "gradients", "count_paths",
           "sum_over_paths", "top_paths", "top_limit", "MAX_TOP", "path_flows", "path_totals", "ancestors",
           "perturbed_outputs", "output_at", "mean_loss_and_gradients", "stepper", "CompiledForward"]

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import graph as _graph
from . import paths as _reference_paths
from .backprop import backprop as _reference_backprop
from .engine import CompiledGraph, Run, compile_graph
from .errors import EvaluationError, GraphError, LimitError, env_limit
from .evaluate import Forward
from .evaluate import evaluate as _reference_evaluate
from .graph import ComputationGraph, as_graph, operands, topological_order
from .i18n import _
from .ops import OPS, UNARY

_IDENTITY = UNARY["UAdd"]

WIDE = 4
"""Average nodes per (level, op) group from which the engine beats the plain evaluator on one
point: each group costs a few numpy calls (~5 µs each) whatever its size, a node of the plain loop
about 1 µs."""

_EXACT = 2.0**53  # float64 holds every integer below this exactly


@dataclass(repr=False)
class CompiledForward(Forward):
    """A :class:`~graphtrace.evaluate.Forward` made by the engine; ``run`` keeps its matrices."""

    run: Run | None = field(default=None, repr=False)


def _batched(values: Mapping[Any, Any] | None) -> bool:
    return any(np.ndim(v) == 1 for v in (values or {}).values())


def _engine_takes(values: Mapping[Any, Any] | None) -> bool:
    return all(np.ndim(v) <= 1 for v in (values or {}).values())


def _wide(prog: CompiledGraph) -> bool:
    return prog.n_groups == 0 or prog.n_ops >= WIDE * prog.n_groups


def compilable(g: ComputationGraph) -> bool:
    """Whether the engine can compile ``g``: no variadic op (scanned once per graph version).

    >>> from graphtrace import parse
    >>> compilable(parse("x: input = 2\\ny = x*x").nx), compilable(parse("v: input = [1, 2]\\ny = logsumexp(v)").nx)
    (True, False)
    """
    return not any(OPS[name].variadic for name in as_graph(g).op_names())


def takes_classes(g: ComputationGraph) -> bool:
    """Whether some op of ``g`` takes a class index (cross_entropy's label)."""
    return any(OPS[name].takes == "class" for name in as_graph(g).op_names())


def _order(g: ComputationGraph) -> list[Any]:
    return compile_graph(g).order if compilable(g) else topological_order(g)


def lowered(g: ComputationGraph) -> ComputationGraph:
    """``g`` with every variadic op written with ops of one or two operands (``Op.lowered``), for
    the engine: the same nodes keep their ids and values (leaves share their attributes), new ones
    are named ``<node>/<op>_<n>``. Cached on ``g`` per structure version. Training only: the three
    answers always run on the graph as written.

    >>> from graphtrace import parse
    >>> g = parse("v: param = [1.0, 2.0]\\nL = logsumexp(v)").nx
    >>> sorted(d.get("op", "") for _, d in lowered(g).nodes(data=True) if d.get("kind") == "op")
    ['add', 'add', 'exp', 'exp', 'identity', 'log', 'max', 'sub', 'sub']
    """
    version = getattr(g, "version", None)
    cached = g.graph.get("_lowered")
    if cached is not None and cached[0] == version:
        return cached[1]
    low = ComputationGraph()
    low.graph.update({k: v for k, v in g.graph.items() if not k.startswith("_")})
    counter = [0]

    def node(name: Any, attrs: dict[str, Any], args: list[Any]) -> Any:
        low.add_node(name)
        low._node[name] = attrs  # the same attribute dict: a leaf's value stays shared
        for slot, u in enumerate(args):
            low.add_edge(u, name, key=slot)
        return name

    for v in topological_order(g):
        d = g.nodes[v]
        op = OPS[d["op"]] if d.get("kind") == "op" else None
        args = operands(g, v) if op is not None else []
        if op is None or not op.variadic:
            node(v, d, args)
            continue
        assert op.lowered is not None

        def emit(name: str, *ins: Any, v: Any = v, d: dict[str, Any] = d) -> Any:
            counter[0] += 1
            return node(f"{v}/{name}_{counter[0]}", {"kind": "op", "op": name, "line": d.get("line")}, list(ins))

        def const(value: float, v: Any = v) -> Any:
            counter[0] += 1
            return node(f"{v}/const_{counter[0]}", {"kind": "const", "value": value}, [])

        last = op.lowered(emit, const, list(args))
        node(v, {**d, "op": _IDENTITY}, [last])  # the node itself: the identity of its value
    low.graph["topological"] = True
    low.graph["built_version"] = low.version
    g.graph["_lowered"] = (version, low)
    return low


def _labels_valid(g: ComputationGraph, values: Mapping[Any, Any]) -> bool:
    """Whether every class index (cross_entropy's last operand) is a leaf that holds a valid class."""
    for v, d in g.nodes(data=True):
        op = OPS[d["op"]] if d.get("kind") == "op" else None
        if op is None or op.domain is None or not op.variadic:
            continue
        args = operands(g, v)
        if g.nodes[args[-1]].get("kind") == "op":
            return False
        k = values.get(args[-1], g.nodes[args[-1]].get("value"))
        if bool(np.any(op.domain(*([0.0] * (len(args) - 1)), k))):
            return False
    return True


def uses_engine(g: ComputationGraph, values: Mapping[Any, Any] | None = None) -> bool:
    """Whether the compiled engine runs ``g`` at ``values`` (else the reference evaluator does).

    >>> from graphtrace import parse
    >>> g = parse("x: input = 2\\ny = x*x").nx
    >>> uses_engine(g), uses_engine(g, {"x": [1.0, 2.0]}), uses_engine(g, {"x": [[1.0]]})
    (False, True, False)
    """
    if not _engine_takes(values) or not compilable(g):
        return False
    return _batched(values) or _wide(compile_graph(g))


# ---- values and local derivatives ----------------------------------------------------------------
def forward(g: ComputationGraph, values: Mapping[Any, Any] | None = None, *, output: Any = None,
            with_locals: bool = True, source_text: str | None = None, check: bool = True) -> Forward:
    """Every node's value and (``with_locals``) every edge's local derivative.

    ``check`` refuses a non-finite value or local derivative with the node's line (prediction on
    a grid turns it off: a far-away point may saturate the loss).

    >>> from graphtrace import parse
    >>> f = forward(parse("a: param = 3\\nb = a*a").nx)
    >>> f.values["b"], list(f.locals.values())
    (9.0, [3.0, 3.0])
    """
    output = _output(g, output)
    if not uses_engine(g, values):
        return _reference_evaluate(g, values, output=output, with_locals=with_locals,
                                   source_text=source_text, check=check)
    return engine_forward(g, values, output=output, with_locals=with_locals, source_text=source_text,
                          check=check)


def engine_forward(g: ComputationGraph, values: Mapping[Any, Any] | None = None, *, output: Any = None,
                   with_locals: bool = True, source_text: str | None = None,
                   check: bool = True) -> CompiledForward:
    """:func:`forward` by the compiled engine, whatever the graph's shape (tests compare the two)."""
    output = _output(g, output)
    prog = compile_graph(g)
    run = prog.forward(values, check=check, source_text=source_text)
    run.output = output
    loc: Mapping[tuple[Any, Any, int], Any] = {}
    if with_locals:
        run.L = prog.locals_matrix(run.V, check=check, source_text=source_text, scalar=run.scalar)
        loc = _EdgeLocals(run)
    return CompiledForward(run.values(), loc, list(prog.order), output, run)  # type: ignore[arg-type]


class _EdgeLocals(Mapping[tuple[Any, Any, int], Any]):
    """``Forward.locals`` of an engine run: (tail, head, slot) → local derivative, the dict made
    on first use (the engine's sweeps read the matrix; drawings and listings read this)."""

    def __init__(self, run: Run):
        self._run = run
        self._made: dict[tuple[Any, Any, int], Any] | None = None

    def _dict(self) -> dict[tuple[Any, Any, int], Any]:
        if self._made is None:
            self._made = self._run.locals()
        return self._made

    def __getitem__(self, key: tuple[Any, Any, int]) -> Any:
        return self._dict()[key]

    def __iter__(self) -> Iterator[tuple[Any, Any, int]]:
        return iter(self._dict())

    def __len__(self) -> int:
        return self._run.program.n_edges

    def __repr__(self) -> str:
        return repr(self._dict())


def _output(g: ComputationGraph, output: Any) -> Any:
    output = g.graph.get("output") if output is None else output
    if output not in g:
        raise GraphError(_("output '{name}' is not a node of the graph").format(name=output))
    return output


def _run_of(g: ComputationGraph, fwd: Forward) -> Run | None:
    """The engine run behind ``fwd`` when it holds this graph's local derivatives, else None."""
    run = getattr(fwd, "run", None)
    if run is None or run.L is None or run.program is not compile_graph(g):
        return None
    return run


def _scalar_locals(g: ComputationGraph, fwd: Forward) -> np.ndarray | None:
    run = _run_of(g, fwd)
    return run.L if run is not None and run.scalar else None


# ---- gradients -----------------------------------------------------------------------------------
def gradients(g: ComputationGraph, fwd: Forward, output: Any = None) -> dict[Any, Any]:
    """∂output/∂node for every node, by reverse accumulation (the engine's sweep when ``fwd``
    came from the engine, else the reference backprop)."""
    output = fwd.output if output is None else output
    run = _run_of(g, fwd)
    if run is None or run.L is None or fwd.output != output:
        return _reference_backprop(g, fwd, output=output)
    G = run.program.backward_matrix(run.L, output)
    rows = G[:, 0].tolist() if run.scalar else list(G)
    return dict(zip(run.program.order, rows, strict=True))


def mean_loss_and_gradients(g: ComputationGraph, values: Mapping[Any, Any], params: Sequence[Any], *,
                            output: Any = None, source_text: str | None = None) -> tuple[float, list[float]]:
    """The mean output over a batch and the mean ∂output/∂param of each of ``params``: one
    forward and one backward pass (the engine's, batched; a graph compiled once per training run).

    >>> from graphtrace import parse
    >>> g = parse("x: input = 1\\nw: param = 3\\nL = (w*x)**2").nx
    >>> mean_loss_and_gradients(g, {"x": np.array([1.0, 2.0])}, ["w"])  # mean of 9, 36; of 6, 24
    (22.5, [15.0])
    """
    output = _output(g, output)
    if not compilable(g):
        # The engine runs the lowered graph (same values and gradients); a class index outside its
        # range, or a non-finite value, goes to the reference, whose error names the script's node.
        if _labels_valid(g, values):
            try:
                run = compile_graph(lowered(g)).forward_backward(values, output=output)
            except EvaluationError:
                run = None
            if run is not None and run.G is not None:
                rows = [run.program.row(p) for p in params]
                return float(run.V[run.program.row(output)].mean()), run.G[rows].mean(axis=1).tolist()
        fwd = _reference_evaluate(g, values, output=output, source_text=source_text)
        grads = _reference_backprop(g, fwd, output=output)
        return float(np.mean(fwd.values[output])), [float(np.mean(grads[p])) for p in params]
    run = compile_graph(g).gradient_totals(values, params, output=output, source_text=source_text)
    assert run.totals is not None  # gradient_totals always sums the gradients of ``params``
    return float(np.mean(run.value(output))), (run.totals / run.batch).tolist()


class _ValuesStepper:
    """:func:`stepper` for a graph the engine does not compile: :func:`mean_loss_and_gradients` on
    dictionaries, one per step."""

    def __init__(self, g: ComputationGraph, inputs: Sequence[Any], params: Sequence[Any], output: Any,
                 source_text: str | None):
        self.g, self.output, self.source_text = g, output, source_text
        self.inputs, self.params = list(inputs), list(params)

    def _values(self, X: np.ndarray, P: np.ndarray) -> dict[Any, Any]:
        values: dict[Any, Any] = dict(zip(self.inputs, X, strict=True))
        values.update(zip(self.params, P.tolist(), strict=True))
        return values

    def step(self, X: np.ndarray, P: np.ndarray, *, check: bool = True) -> tuple[float, np.ndarray]:
        loss, grads = mean_loss_and_gradients(self.g, self._values(X, P), self.params, output=self.output,
                                              source_text=self.source_text)
        return loss, np.asarray(grads, dtype=float)

    def value(self, node: Any, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        fwd = forward(self.g, self._values(X, P), output=self.output, with_locals=False, check=False)
        return np.broadcast_to(np.asarray(fwd.values[node], dtype=float), (X.shape[1],)).copy()


class _LoweredStepper(_ValuesStepper):
    """:func:`stepper` for a graph with a variadic op: the engine's step on its lowered copy (see
    :func:`lowered`) while every class index is valid and every value finite; else the reference's
    step, whose error names the script's node (as :func:`mean_loss_and_gradients` decides)."""

    def __init__(self, g: ComputationGraph, inputs: Sequence[Any], params: Sequence[Any], output: Any,
                 source_text: str | None):
        super().__init__(g, inputs, params, output, source_text)
        self.fast = compile_graph(lowered(g)).stepper(inputs, params, output=output)
        self.params = list(self.fast.params)  # the vector's order
        # The class indices, found once (cross_entropy's last operand): (op, leaf, operands).
        self.labels: list[tuple[Any, Any, int]] = []
        self.plain: dict[Any, bool] = {}  # node → no variadic op at or before it
        self.usable = True
        for v, d in g.nodes(data=True):
            op = OPS[d["op"]] if d.get("kind") == "op" else None
            if op is None or op.domain is None or not op.variadic:
                continue
            args = operands(g, v)
            self.usable = self.usable and g.nodes[args[-1]].get("kind") != "op"
            self.labels.append((op, args[-1], len(args)))

    def _valid(self, X: np.ndarray) -> bool:
        for op, leaf, n in self.labels:
            k = X[self.inputs.index(leaf)] if leaf in self.inputs else self.g.nodes[leaf].get("value")
            if bool(np.any(op.domain(*([0.0] * (n - 1)), k))):
                return False
        return True

    def value(self, node: Any, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        # A node before every variadic op (a logit) is the same node in the lowered copy: the
        # engine's forward pass gives it (per-epoch accuracy: 1.8 s → 0.05 s for the 2-16-3 net).
        plain = self.plain.get(node)
        if plain is None:
            nodes = self.g.nodes
            plain = self.plain[node] = not any(nodes[v].get("kind") == "op" and OPS[nodes[v]["op"]].variadic
                                               for v in [node, *ancestors(self.g, node)])
        if self.usable and plain:
            return self.fast.value(node, X, P)
        return super().value(node, X, P)

    def step(self, X: np.ndarray, P: np.ndarray, *, check: bool = True) -> tuple[float, np.ndarray]:
        if self.usable and self._valid(X):
            try:
                return self.fast.step(X, P, check=check)
            except EvaluationError:
                pass  # the reference's step raises the error, naming the script's node
        return super().step(X, P, check=check)


def stepper(g: ComputationGraph, inputs: Sequence[Any], params: Sequence[Any], *, output: Any = None,
            source_text: str | None = None) -> Any:
    """A training step made once: ``step(X, P)`` gives the mean output over the batch ``X`` (one row
    per input, one column per sample) and the mean ∂output/∂param for the params ``P``, a vector in
    the order of ``stepper.params``; ``value(node, X, P)`` gives a node's values. The engine's
    (:class:`~graphtrace.engine.Stepper`: dense blocks, no dictionary per step) when the graph
    compiles, or on its lowered copy when it holds a variadic op (softmax cross-entropy).

    >>> from graphtrace import parse
    >>> st = stepper(parse("x: input = 1\\nw: param = 3\\nL = (w*x)**2").nx, ["x"], ["w"])
    >>> st.step(np.array([[1.0, 2.0]]), np.array([3.0]))[1].tolist()
    [15.0]
    """
    output = _output(g, output)
    if compilable(g):
        return compile_graph(g).stepper(inputs, params, output=output, source_text=source_text)
    return _LoweredStepper(g, inputs, params, output, source_text)


# ---- paths ---------------------------------------------------------------------------------------
def count_paths(g: ComputationGraph, wrt: Any, output: Any) -> int:
    """The exact number of paths from ``wrt`` to ``output`` (a Python int, however large).

    >>> from graphtrace import parse
    >>> count_paths(parse("x: input = 2\\nh = x*x + x").nx, "x", "h")
    3
    """
    if not uses_engine(g):
        return _reference_paths.count_paths(g, wrt, output, _order(g))
    prog = compile_graph(g)
    rows = [prog.row(wrt)]
    n = float(prog.tangents(None, rows, output)[0])
    return int(n) if n < _EXACT / 2 else prog.exact_counts(rows, output)[0]


def sum_over_paths(g: ComputationGraph, fwd: Forward, wrt: Any, output: Any = None) -> Any:
    """The course's sum over all paths from ``wrt`` of the products of local derivatives: a forward
    dynamic program (the engine's vectorised sweep, or the reference one for batched values and
    nodes no input or param feeds)."""
    output = fwd.output if output is None else output
    L = _scalar_locals(g, fwd)  # None unless the engine ran (so the graph compiles)
    prog = compile_graph(g) if L is not None else None
    if prog is None or not prog.live[prog.row(wrt)]:
        return _reference_paths.sum_over_paths(g, fwd, wrt, output)
    return float(prog.tangents(L, [prog.row(wrt)], output)[0])


_TOP_CELLS = 50_000_000  # k-best DP cells (top × nodes) above which the engine's tables get too big

MAX_TOP = 1_000
"""The most paths ``top_paths`` lists, unless ``GRAPHTRACE_MAX_TOP`` says otherwise: its dynamic
program keeps ``top`` partial paths at every node (a 500-step ladder at top 10,000 took 4 GB)."""


def top_limit() -> int:
    """How many paths :func:`top_paths` may list: ``GRAPHTRACE_MAX_TOP`` or :data:`MAX_TOP`."""
    return env_limit("GRAPHTRACE_MAX_TOP", MAX_TOP)


def top_paths(g: ComputationGraph, fwd: Forward, wrt: Any, output: Any = None, *,
              top: int = 10) -> list[_reference_paths.Path]:
    """The ``top`` paths from ``wrt`` with the largest |product|, best first (a k-best DP)."""
    limit = top_limit()
    if top > limit:
        raise LimitError(_("--top {top} asks for more paths than graphtrace lists ({limit})").format(
                             top=f"{top:,}", limit=f"{limit:,}"),
                         hint=_("the count and the sum over all paths are exact whatever --top is; "
                                "raise the limit with GRAPHTRACE_MAX_TOP"))
    output = fwd.output if output is None else output
    L = _scalar_locals(g, fwd)
    prog = compile_graph(g) if L is not None else None
    if L is None or prog is None or not prog.live[prog.row(wrt)] or top * prog.n_nodes > _TOP_CELLS:
        return _reference_paths.top_paths(g, fwd, wrt, output, top=top)
    order = prog.order
    found = []
    for edges, product in prog.best_paths(L, wrt, output, top):
        nodes = [wrt] + [order[int(prog.head[e])] for e in edges]
        found.append(_reference_paths.Path(tuple(nodes), tuple(float(L[e, 0]) for e in edges), product,
                                           tuple(int(prog.slot[e]) for e in edges)))
    return found


def path_flows(g: ComputationGraph, fwd: Forward, wrt: Any, output: Any = None) -> dict[tuple[Any, Any, int], float]:
    """Per edge, the summed product of the paths from ``wrt`` through it (for heat maps)."""
    return _reference_paths.path_flows(g, fwd, wrt, output)


def between(g: ComputationGraph, wrt: Any, output: Any) -> list[Any]:
    """The nodes on some path from ``wrt`` to ``output``, in topological order."""
    return _reference_paths.between(g, _order(g), wrt, output)


def ancestors(g: ComputationGraph, output: Any) -> list[Any]:
    """``output`` and every node it depends on, in topological order."""
    if uses_engine(g):
        prog = compile_graph(g)
        mask = prog.ancestors(output)
        return [v for v, m in zip(prog.order, mask.tolist(), strict=True) if m]
    up = _graph.ancestors(g, output)
    return [v for v in _order(g) if v in up or v == output]


def path_totals(g: ComputationGraph, fwd: Forward, wrt: Sequence[Any], output: Any, *,
                marked: Sequence[Any] = ()) -> dict[Any, tuple[float, int, list[Any]]]:
    """For each node of ``wrt``: its sum over paths, its exact path count, and which of the
    ``marked`` nodes lie on one of its paths to ``output`` (check marks kinks this way).

    On one point the engine computes every column in batched forward sweeps; batched values and
    nodes no input or param feeds take the reference functions, one node at a time.
    """
    L = _scalar_locals(g, fwd)
    prog = compile_graph(g) if L is not None else None
    fast = [w for w in wrt if prog is not None and prog.live[prog.row(w)]]
    result: dict[Any, tuple[float, int, list[Any]]] = {}
    if fast:
        assert L is not None and prog is not None
        rows = [prog.row(w) for w in fast]
        sums, counts, chains, ends = prog.path_totals(L, rows, output)
        marked_rows = [prog.index[v] for v in marked]
        distinct = sorted({e for e in ends if e >= 0})
        hits = prog.reach(distinct, marked_rows) if marked_rows else None
        at = {e: i for i, e in enumerate(distinct)}
        for k, w in enumerate(fast):
            found: set[int] = set()
            if marked_rows and ends[k] >= 0:
                assert hits is not None
                found = set(chains[k]) & set(marked_rows)
                found |= {r for r, hit in zip(marked_rows, hits[at[ends[k]]], strict=True) if hit}
            result[w] = (float(sums[k]), counts[k], [v for v, r in zip(marked, marked_rows, strict=True)
                                                     if r in found])
    for w in wrt:
        if w in result:
            continue
        on = set(_reference_paths.between(g, fwd.order, w, output))
        result[w] = (float(_reference_paths.sum_over_paths(g, fwd, w, output)),
                     _reference_paths.count_paths(g, w, output, fwd.order),
                     [v for v in marked if v in on])
    return result


# ---- finite differences: forward runs only ---------------------------------------------------------
def output_at(g: ComputationGraph, fwd: Forward, wrt: Any, point: float,
              values: Mapping[Any, Any] | None = None) -> float:
    """The output's value with node ``wrt`` set to ``point`` (a leaf is set before the pass; an
    intermediate node's value is replaced and everything downstream re-evaluated)."""
    if g.nodes[wrt].get("kind") == "op":
        f = _reference_evaluate(g, values, output=fwd.output, with_locals=False, overrides={wrt: point},
                                check=False)
    else:
        merged = dict(values or {})
        merged[wrt] = point
        f = _reference_evaluate(g, merged, output=fwd.output, with_locals=False, check=False)
    return float(f.values[fwd.output])


def _one_point(fwd: Forward) -> bool:
    """Whether every value of ``fwd`` is one number (not a batch)."""
    return not any(not isinstance(x, (float, int)) and np.ndim(x) != 0 for x in fwd.values.values())


def perturbed_outputs(g: ComputationGraph, fwd: Forward, wrt: Sequence[Any], steps: Sequence[float],
                      values: Mapping[Any, Any] | None = None, *, limit: int | None = None) -> np.ndarray | None:
    """Output values with ``wrt[k]`` shifted by ``+steps[k]`` (column 0) and ``-steps[k]`` (column 1):
    columns of batched engine passes, chunked to ``limit`` bytes. None when these values are not
    one point of a wide graph: the caller then takes :func:`output_at` node by node."""
    if not _one_point(fwd) or not uses_engine(g):
        return None
    prog = compile_graph(g)
    base = np.fromiter((fwd.values[v] for v in prog.order), dtype=float, count=prog.n_nodes)[:, None]
    return prog.perturbed_outputs(base, [prog.row(w) for w in wrt], steps, fwd.output, limit=limit)
