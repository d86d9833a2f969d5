"""Graph building: parsed node records → the computation graph (structure only), and networkx's face.

Invariants: one node per input, param, constant and operation; an edge per operand, keyed by its
argument slot, so ``x*x`` gives two parallel edges and two distinct paths. Node insertion order is a
topological order (the parser guarantees operands come first). Evaluation never mutates the graph.

The graph is stored the way networkx stores a MultiDiGraph (``_node``, ``_succ``, ``_pred``: dicts
of dicts, the edge key being the argument slot) but without networkx: :class:`ComputationGraph`
offers the read API graphtrace's maths needs, so ``grad``, ``check``, ``paths`` and ``train`` never
import networkx (0.1–0.15 s of every start). :meth:`ComputationGraph.to_networkx` gives the public
networkx graph on first use (``Graph.nx``): a real ``MultiDiGraph`` over *the same dicts*, made in
constant time, so a value changed or an edge added through networkx is seen by graphtrace (and an
added or removed node or edge bumps ``version``, which tells compiled forms to rebuild).
"""

from __future__ import annotations

__all__ = ["ComputationGraph", "build_graph", "topological_order", "operands", "ancestors", "descendants",
           "as_graph", "is_acyclic"]

import gc
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import GraphError
from .i18n import _
from .parse import NodeRecord, ParsedScript

_TRACE_FILL = False


class _NodeView:
    """``g.nodes`` as networkx has it: ``g.nodes[v]`` (the attributes), ``g.nodes(data=True)``,
    iteration, ``len`` and ``in``."""

    __slots__ = ("_node",)

    def __init__(self, node: dict[Any, dict[str, Any]]):
        self._node = node

    def __getitem__(self, v: Any) -> Any:  # the attribute dict (untyped, as networkx's)
        return self._node[v]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._node)

    def __len__(self) -> int:
        return len(self._node)

    def __contains__(self, v: Any) -> bool:
        return v in self._node

    def __call__(self, data: bool | str = False, default: Any = None) -> Iterable[Any]:
        if data is False:
            return iter(self._node)
        if data is True:
            return iter(self._node.items())
        return ((v, d.get(data, default)) for v, d in self._node.items())


class ComputationGraph:
    """A directed multigraph in networkx's layout, without networkx.

    ``g.nodes[v]`` is node ``v``'s attribute dict, ``g.pred[v]`` maps each operand ``u`` to the
    slots it fills (``{slot: edge attributes}``), ``g.succ[u]`` the same from the other end; the
    node order is insertion order. ``version`` grows with every node or edge added or removed, so
    compiled forms (the topological order, the engine's arrays) know when to rebuild; changing a
    leaf's ``value`` attribute needs no rebuild: values are read at evaluation time.

    >>> g = ComputationGraph(output="y")
    >>> g.add_node("x", kind="input", value=2.0); g.add_node("y", kind="op", op="mul")
    >>> g.add_edge("x", "y", key=0), g.add_edge("x", "y", key=1)
    (0, 1)
    >>> list(g), g.number_of_edges(), operands(g, "y"), g.nodes["x"]["value"]
    (['x', 'y'], 2, ['x', 'x'], 2.0)
    """

    def __init__(self, **graph_attrs: Any):
        self.graph: dict[str, Any] = dict(graph_attrs)
        self._node: dict[Any, dict[str, Any]] = {}
        self._succ: dict[Any, dict[Any, dict[Any, dict[str, Any]]]] = {}
        self._pred: dict[Any, dict[Any, dict[Any, dict[str, Any]]]] = {}
        self.version: int | None = 0
        self._counted: tuple[int | None, int] = (None, 0)  # (version, number of edges)
        self._nx: Any = None
        self._records: list[NodeRecord] | None = None  # the parser's, in node order (build_graph)
        self._arrays: dict[str, tuple[tuple[int, ...], list[str]]] | None = None

    @classmethod
    def adopt(cls, graph: Any) -> ComputationGraph:
        """A ComputationGraph over a networkx graph's own dicts (nothing copied): how graphtrace
        reads a graph built by hand. It has no ``version`` (networkx does not count changes), so
        compiled forms of it are not cached."""
        core = cls.__new__(cls)
        core.graph, core._node, core._succ, core._pred = graph.graph, graph._node, graph._succ, graph._pred
        core.version, core._counted, core._nx, core._records, core._arrays = None, (None, 0), graph, None, None
        return core

    def __getattr__(self, name: str) -> Any:
        # Only for attributes not set: the adjacency dicts of a graph built from records.
        if name in ("_node", "_succ", "_pred") and "_records" in self.__dict__:
            if _TRACE_FILL:
                import traceback
                traceback.print_stack(limit=8)
            enabled = gc.isenabled()
            gc.disable()  # many small dicts, none freed: the collector would only slow this down
            try:
                (_fill_nodes if name == "_node" else _fill_edges)(self)
            finally:
                if enabled:
                    gc.enable()
            return self.__dict__[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def records(self) -> list[NodeRecord] | None:
        """The parser's node records, one per node in node order, while the graph's structure is
        as parsed (None after a node or edge was added or removed, or for a graph not built from
        a script): the engine takes operands from them. Attributes (a node's ``op``, ``value``)
        may have changed since: read those from the dicts once they exist."""
        if self._records is not None and self.version == self.graph.get("built_version"):
            return self._records
        return None

    # ---- reading (networkx's names and meanings) -----------------------------------------------
    @property
    def nodes(self) -> _NodeView:
        view = self.__dict__.get("_nodes_view")
        if view is None or view._node is not self._node:
            view = self.__dict__["_nodes_view"] = _NodeView(self._node)
        return view

    @property
    def pred(self) -> dict[Any, dict[Any, dict[Any, dict[str, Any]]]]:
        return self._pred

    @property
    def succ(self) -> dict[Any, dict[Any, dict[Any, dict[str, Any]]]]:
        return self._succ

    adj = succ

    def __iter__(self) -> Iterator[Any]:
        if "_node" not in self.__dict__ and self._records is not None:
            return (r.id for r in self._records)
        return iter(self._node)

    def __len__(self) -> int:
        if "_node" not in self.__dict__ and self._records is not None:
            return len(self._records)
        return len(self._node)

    def __contains__(self, v: Any) -> bool:
        try:
            if "_node" not in self.__dict__ and self._records is not None:
                return v in self.row_of()
            return v in self._node
        except TypeError:  # an unhashable name is in no graph
            return False

    def op_names(self) -> frozenset[str]:
        """The registry names of the ops the graph uses (made once per structure version)."""
        cached = self.__dict__.get("_op_names")
        if cached is None or cached[0] != self.version or self.version is None:
            records = self.records() if "_node" not in self.__dict__ else None  # the dicts may say otherwise
            names = (frozenset(r.op for r in records if r.op is not None) if records is not None else
                     frozenset(d["op"] for d in self._node.values() if d.get("kind") == "op"))
            cached = self._op_names = (self.version, names)
        return cached[1]

    def row_of(self) -> dict[Any, int]:
        """Node → its position in node order (made once per structure version)."""
        cached = self.__dict__.get("_rows")
        if cached is None or cached[0] != self.version or self.version is None:
            records = self.records()
            rows = ({r.id: i for i, r in enumerate(records)} if records is not None else
                    {v: i for i, v in enumerate(self._node)})
            cached = self._rows = (self.version, rows)
        return cached[1]

    def __getitem__(self, u: Any) -> dict[Any, dict[Any, dict[str, Any]]]:
        return self._succ[u]

    def predecessors(self, v: Any) -> Iterator[Any]:
        return iter(self._pred[v])

    def successors(self, u: Any) -> Iterator[Any]:
        return iter(self._succ[u])

    def has_edge(self, u: Any, v: Any, key: Any = None) -> bool:
        keys = self._succ.get(u, {}).get(v)
        return keys is not None and (key is None or key in keys)

    def number_of_nodes(self) -> int:
        return len(self._node)

    def number_of_edges(self) -> int:
        version, n = self._counted
        if version is None or version != self.version:
            n = sum(len(keys) for into in self._pred.values() for keys in into.values())
            self._counted = (self.version, n)
        return n

    def is_directed(self) -> bool:
        return True

    def is_multigraph(self) -> bool:
        return True

    # ---- building ------------------------------------------------------------------------------
    def _changed(self) -> None:
        if self.version is not None:
            self.version += 1

    def add_node(self, v: Any, **attr: Any) -> None:
        self._changed()
        if v not in self._node:
            self._node[v] = attr
            self._succ[v] = {}
            self._pred[v] = {}
        else:
            self._node[v].update(attr)

    def add_edge(self, u: Any, v: Any, key: Any = None, **attr: Any) -> Any:
        for w in (u, v):
            if w not in self._node:
                self.add_node(w)
        self._changed()
        keys = self._succ[u].get(v)
        if keys is None:
            keys = self._succ[u][v] = self._pred[v][u] = {}
        if key is None:
            key = len(keys)
            while key in keys:
                key += 1
        keys.setdefault(key, {}).update(attr)
        return key

    def copy(self) -> ComputationGraph:
        """A copy with its own dicts (attributes copied one level), in the same node order, so it
        stays topologically ordered if this one is."""
        dup = ComputationGraph(**self.graph)
        dup._node = {v: dict(d) for v, d in self._node.items()}
        dup._succ = {u: {v: {k: dict(e) for k, e in keys.items()} for v, keys in out.items()}
                     for u, out in self._succ.items()}
        dup._pred = {v: {u: dup._succ[u][v] for u in into} for v, into in self._pred.items()}
        if self.graph.get("built_version") == self.version and self.version is not None:
            dup.graph["built_version"] = dup.version
        else:
            dup.graph.pop("built_version", None)
        dup._records = self._records if self.records() is not None else None
        return dup

    # ---- networkx ------------------------------------------------------------------------------
    def to_networkx(self) -> Any:
        """The networkx ``MultiDiGraph`` over this graph's own dicts (made once, in constant time).

        >>> from graphtrace import parse
        >>> G = parse("x: input = 2\\ny = x*x").nx
        >>> type(G).__mro__[1].__name__, sorted(G.in_edges("y", keys=True))
        ('MultiDiGraph', [('x', 'y', 0), ('x', 'y', 1)])
        """
        if self._nx is None:
            self._nx = _networkx_face(self)
        return self._nx

    def __repr__(self) -> str:
        return f"<ComputationGraph: {self.number_of_nodes()} nodes, {self.number_of_edges()} edges>"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_nx"] = None  # the networkx face is made again on first use
        state.pop("_graphtrace_program", None)  # and the compiled form
        return state


_FACE: Any = None


def _networkx_face(core: ComputationGraph) -> Any:
    global _FACE
    if _FACE is None:
        _FACE = _face_class()
    face = _FACE()
    face.graph, face._node, face._pred = core.graph, core._node, core._pred
    face._adj = face._succ = core._succ
    face.core = core
    return face


def _face_class() -> Any:
    """networkx's MultiDiGraph that keeps graphtrace's ComputationGraph in step (imported only
    when the public graph is asked for)."""
    import networkx as nx

    class NetworkxGraph(nx.MultiDiGraph):
        """graphtrace's graph as a networkx MultiDiGraph: the same dicts as ``self.core`` (a
        :class:`ComputationGraph`); adding or removing a node or edge bumps ``version``."""

        core: ComputationGraph

        def __init__(self, incoming_graph_data: Any = None, multigraph_input: Any = None, **attr: Any):
            super().__init__(incoming_graph_data, multigraph_input, **attr)
            core = ComputationGraph.adopt(self)  # a graph networkx makes (copy, subgraph): its own core
            core.version = 0
            self.core = core

        @property
        def version(self) -> int | None:
            return self.core.version

        def _bump(self) -> None:
            self.core._changed()

        def add_node(self, node_for_adding: Any, **attr: Any) -> None:
            self._bump()
            super().add_node(node_for_adding, **attr)

        def add_nodes_from(self, nodes_for_adding: Any, **attr: Any) -> None:
            self._bump()
            super().add_nodes_from(nodes_for_adding, **attr)

        def remove_node(self, n: Any) -> None:
            self._bump()
            super().remove_node(n)

        def remove_nodes_from(self, nodes: Any) -> None:
            self._bump()
            super().remove_nodes_from(nodes)

        def add_edge(self, u_for_edge: Any, v_for_edge: Any, key: Any = None, **attr: Any) -> Any:
            self._bump()
            return super().add_edge(u_for_edge, v_for_edge, key, **attr)

        def add_edges_from(self, ebunch_to_add: Any, **attr: Any) -> Any:
            self._bump()
            return super().add_edges_from(ebunch_to_add, **attr)

        def remove_edge(self, u: Any, v: Any, key: Any = None) -> None:
            self._bump()
            super().remove_edge(u, v, key)

        def remove_edges_from(self, ebunch: Any) -> None:
            self._bump()
            super().remove_edges_from(ebunch)

        def clear(self) -> None:
            self._bump()
            super().clear()

        def clear_edges(self) -> None:
            self._bump()
            super().clear_edges()

        def copy(self, as_view: bool = False) -> Any:
            """A copy that keeps the node order, and so stays topologically ordered if this one is."""
            if as_view:
                return super().copy(as_view=True)
            return self.core.copy().to_networkx()

    NetworkxGraph.__module__ = __name__
    NetworkxGraph.__qualname__ = "NetworkxGraph"
    return NetworkxGraph


def __getattr__(name: str) -> Any:
    """``graphtrace.graph.NetworkxGraph``, made on first use (it imports networkx): so that a
    pickled face unpickles."""
    global _FACE
    if name == "NetworkxGraph":
        if _FACE is None:
            _FACE = _face_class()
        return _FACE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def as_graph(g: Any) -> ComputationGraph:
    """The :class:`ComputationGraph` behind ``g``: itself, the core of graphtrace's networkx face,
    or one adopted over a networkx graph built by hand (sharing its dicts)."""
    if isinstance(g, ComputationGraph):
        return g
    core = getattr(g, "core", None)
    if isinstance(core, ComputationGraph):
        return core
    if hasattr(g, "_node") and hasattr(g, "_pred") and hasattr(g, "_succ"):
        return ComputationGraph.adopt(g)
    raise GraphError(_not_a_graph(g))


def _not_a_graph(g: Any) -> str:
    from .i18n import _

    return _("expected a computation graph (graphtrace's, or a networkx MultiDiGraph), not {kind}").format(
        kind=type(g).__name__)


def build_graph(program: ParsedScript) -> ComputationGraph:
    """Turn parsed records into the computation graph.

    Node attributes: ``kind`` (input, param, const, op), ``op`` (registry name or None), ``value``
    (leaves only), ``named`` (the script named it), ``line``, ``col`` (1-based line, 0-based UTF-8
    byte column), ``end_col``; an array's elements (``W[1,0]``) add ``array`` (its name) and
    ``index`` (a tuple, zero-based). Edge attribute: none; the edge key is the argument slot.
    Graph attributes: ``output``, ``source`` (the script's name), ``topological`` (True: insertion
    order is topological), ``arrays`` (only when the script has arrays: name → ``shape`` and
    ``elements``, the element ids row-major).

    The attribute and adjacency dicts are filled from the records on first use (``_fill_nodes``,
    ``_fill_edges``): a command that only compiles and runs the graph (``grad --json --wrt w``)
    never builds the adjacency.
    """
    g = ComputationGraph(output=program.output, source=program.source.name, topological=True)
    for name in ("_node", "_succ", "_pred"):
        del g.__dict__[name]  # made by _fill on first use
    g._records = program.records
    g._arrays = program.arrays
    if program.arrays:
        g.graph["arrays"] = {name: {"shape": list(shape), "elements": list(ids)}
                             for name, (shape, ids) in program.arrays.items()}
    g._changed()
    g._counted = (g.version, sum(len(r.operands) for r in program.records))
    g.graph["built_version"] = g.version  # insertion order stays topological until a change
    return g


def _fill_nodes(g: ComputationGraph) -> None:
    """The node attribute dicts of a graph built from records."""
    node = {r.id: _attrs(r) for r in g._records or ()}
    # Arrays are scalar nodes too: each element knows its array and its index (zero-based).
    for name, (shape, ids) in (g._arrays or {}).items():
        width = shape[-1]
        for k, v in enumerate(ids):
            d = node[v]
            if "array" not in d:  # an element shared with an earlier array keeps its first
                d["array"] = name
                d["index"] = (k,) if len(shape) == 1 else divmod(k, width)
    g.__dict__["_node"] = node


def _fill_edges(g: ComputationGraph) -> None:
    """The adjacency dicts of a graph built from records, exactly as networkx lays them out."""
    # The parser already guarantees fresh ids and operands defined earlier, so the dicts are
    # filled directly: succ[u][v] and pred[v][u] are one key dict {slot: edge data}.
    succ: dict[Any, dict[Any, dict[Any, dict[str, Any]]]] = {}
    pred: dict[Any, dict[Any, dict[Any, dict[str, Any]]]] = {}
    for r in g._records or ():
        v = r.id
        succ[v] = {}
        into: dict[Any, dict[Any, dict[str, Any]]] = {}
        pred[v] = into
        for slot, u in enumerate(r.operands):
            keys = into.get(u)
            if keys is None:
                keys = into[u] = succ[u][v] = {}
            keys[slot] = {}
    g.__dict__.update(_succ=succ, _pred=pred)


def _attrs(r: NodeRecord) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": r.kind, "line": r.line, "col": r.col, "end_col": r.end_col}
    if r.op is not None:
        d["op"] = r.op
    if r.value is not None:
        d["value"] = r.value
    if r.named:
        d["named"] = True
    if r.end_line and r.end_line != r.line:  # an expression over several lines
        d["end_line"] = r.end_line
    return d


def topological_order(g: Any) -> list[Any]:
    """Nodes in a deterministic topological order: insertion order for graphs graphtrace built.

    >>> from graphtrace import parse
    >>> topological_order(parse("x: input = 1\\ny = x + 1").nx)
    ['x', 'const_1', 'y']
    """
    if g.graph.get("topological") and getattr(g, "version", None) == g.graph.get("built_version"):
        return list(g)
    order = _kahn(as_graph(g))
    if order is None:
        raise GraphError(_("the graph has a cycle; a computation graph must be acyclic"))
    return order


def _kahn(g: ComputationGraph) -> list[Any] | None:
    """A topological order, or None when ``g`` has a cycle. Of the nodes ready at each step the
    one inserted first goes first, so a graph inserted in a topological order keeps it."""
    import heapq

    pred, succ = g._pred, g._succ
    rank = {v: i for i, v in enumerate(pred)}
    waiting = {v: len(into) for v, into in pred.items()}
    ready = [rank[v] for v, k in waiting.items() if k == 0]
    nodes = list(pred)
    order: list[Any] = []
    while ready:
        u = nodes[heapq.heappop(ready)]
        order.append(u)
        for v in succ[u]:
            waiting[v] -= 1
            if waiting[v] == 0:
                heapq.heappush(ready, rank[v])
    return order if len(order) == len(pred) else None


def is_acyclic(g: Any) -> bool:
    """Whether ``g`` has no directed cycle."""
    return _kahn(as_graph(g)) is not None


def _reach(adjacency: dict[Any, dict[Any, Any]], start: Any) -> set[Any]:
    seen: set[Any] = set()
    todo = [start]
    while todo:
        for w in adjacency[todo.pop()]:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def ancestors(g: Any, v: Any) -> set[Any]:
    """Every node ``v`` depends on (``v`` itself excluded), as ``networkx.ancestors``."""
    if v not in g:
        raise GraphError(_("'{name}' is not a node of the graph").format(name=v))
    return _reach(as_graph(g)._pred, v) - {v}


def descendants(g: Any, v: Any) -> set[Any]:
    """Every node that depends on ``v`` (``v`` itself excluded), as ``networkx.descendants``."""
    if v not in g:
        raise GraphError(_("'{name}' is not a node of the graph").format(name=v))
    return _reach(as_graph(g)._succ, v) - {v}


def operands(g: Any, v: Any) -> list[Any]:
    """The operands of node ``v`` in argument-slot order (a node may appear twice: ``x*x``)."""
    if type(g) is ComputationGraph and "_pred" not in g.__dict__:
        records = g.records()
        if records is not None:  # the adjacency is not made yet: the parser's record says it
            return list(records[g.row_of()[v]].operands)
    pairs = [(key, u) for u, keys in g.pred[v].items() for key in keys]
    pairs.sort(key=lambda p: p[0])
    return [u for _, u in pairs]
