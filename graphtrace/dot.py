"""Drawing: a graph and its results (values, local derivatives, gradients, paths) → DOT text.

Pure and deterministic: no Graphviz run here (``render.py`` does that), no sets iterated for
output, no ``id()``; the same script gives byte-identical DOT. Every text that reaches DOT goes
through :func:`quote`. DOT/SVG ids follow one convention shared with the explorer: node
``id="n<i>"`` where ``i`` is the node's index in the topological order (:func:`node_index`), edge
``id="e<i>_<j>_<slot>"``; a folded node (a neuron, a layer) takes the ids of its representative
(its activation), and an edge between folded nodes uses slot 0.
"""

from __future__ import annotations

__all__ = [
    "VIEWS",
    "LEVELS",
    "EDGE_LABEL_LIMIT",
    "FORCE_LIMIT",
    "REFUSE_LIMIT",
    "refuse_limit",
    "Drawing",
    "DrawNode",
    "DrawEdge",
    "quote",
    "display_name",
    "node_index",
    "draw",
    "to_dot",
    "to_json",
]

import html
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import LimitError, UsageError, env_limit
from .graph import operands
from .layers import annotate_mlp
from .ops import OPS
from .text import fmt, json_number, parenthesise, source_span

if TYPE_CHECKING:
    from .results import Analysis

Graph = Any  # the library's Graph (graphtrace.api): used by its attributes, never imported here

VIEWS: tuple[str, ...] = ("forward", "backward", "both")
"""``forward``: values, data direction; ``backward``: gradients, reversed edges; ``both``: all."""

LEVELS: tuple[str, ...] = ("scalar", "neuron", "layer", "auto")
"""How much a network is folded: every op, one node per neuron, one node per layer, or chosen."""

EDGE_LABEL_LIMIT = 2_000
"""Above this many drawn edges, edge labels are dropped unless asked for explicitly."""

FORCE_LIMIT = 3_000
"""Above this many drawn nodes a scalar drawing needs ``force=True``."""

REFUSE_LIMIT = 15_000
"""Above this many drawn nodes a scalar drawing is refused: fold it with a coarser level.

The environment variable ``GRAPHTRACE_MAX_DRAW_NODES`` replaces it (see :func:`refuse_limit`)."""


def refuse_limit() -> int:
    """The most nodes a scalar drawing may have: ``GRAPHTRACE_MAX_DRAW_NODES`` if set, else :data:`REFUSE_LIMIT`.

    Read at each call, so a user can raise it for one run; ``--force`` is still needed above
    :data:`FORCE_LIMIT`.

    Raises:
        UsageError: the variable is set but is not a positive integer.

    Example:
        >>> import os
        >>> "GRAPHTRACE_MAX_DRAW_NODES" in os.environ or refuse_limit() == REFUSE_LIMIT
        True
    """
    return env_limit("GRAPHTRACE_MAX_DRAW_NODES", REFUSE_LIMIT)


AUTO_SCALAR_NODES = 1_000
AUTO_NEURONS = 300

# Colours by kind: placeholders blue, variables orange (they are what training changes),
# constants grey, ops white, the output red; a highlighted path is drawn in one strong red.
_STYLE: dict[str, dict[str, str]] = {
    "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ddeaf7", "color": "#3d6fa3"},
    "param": {"shape": "box", "style": "filled", "fillcolor": "#fde3c0", "color": "#b86e00"},
    "const": {"shape": "box", "style": "dashed,filled", "fillcolor": "#f2f2f2", "color": "#999999",
              "fontsize": "9"},
    "op": {"shape": "ellipse", "style": "filled", "fillcolor": "#ffffff", "color": "#555555"},
    "output": {"shape": "ellipse", "style": "filled", "fillcolor": "#f9d3cf", "color": "#a93226",
               "peripheries": "2"},
    "neuron": {"shape": "ellipse", "style": "filled", "fillcolor": "#e3f4ea", "color": "#2e7d4f"},
    "layer": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f4ea", "color": "#2e7d4f"},
}
_KIND_NAMES = {"input": "input (placeholder)", "param": "param (variable)", "const": "constant",
               "op": "operation", "output": "output", "neuron": "neuron", "layer": "layer"}
_PATH_COLOR = "#c0392b"
_DIM_COLOR = "#b8b8b8"
_EDGE_COLOR = "#555555"
_GRAD_COLOR = "#a93226"
# Heat: light to dark red in fixed steps, so the colours are the same on every run and backend.
_HEAT = ("#f5cbc6", "#eba39b", "#e07b70", "#cc4b3f", "#a93226", "#7b1f17")
_MAX_TEXT = 14
_MAX_PATH_NODES = 12
_MAX_GRAD_NAME = 9


# ---- text -------------------------------------------------------------------------------------
def quote(text: Any, *, html_text: bool = False) -> str:
    """The one escaping function for text that reaches DOT.

    Plain mode gives a double-quoted DOT string (backslash, quote and newline escaped, so a name
    like ``a"];evil[`` stays one string); ``html_text=True`` gives text for inside an HTML-like
    label (``&``, ``<``, ``>``, quotes escaped).

    >>> print(quote('a"];evil['))
    "a\\"];evil["
    >>> quote("x<y & z", html_text=True)
    'x&lt;y &amp; z'
    >>> print(quote("two\\nlines \\\\ end"))
    "two\\nlines \\\\ end"
    """
    s = str(text)
    if html_text:
        return html.escape(s, quote=True)
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{s}"'


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_NAME_WITH_INDEX = re.compile(r"([^\W\d_]+)_?(\d+(?:_\d+)*)")
_IDENT_WITH_INDEX = re.compile(r"(?<![\w.])([^\W\d_]+)_?(\d+(?:_\d+)*)(?![\w(])")


def _subscript(m: re.Match[str]) -> str:
    return m.group(1) + m.group(2).translate(_SUB).replace("_", ",")


def display_name(name: Any) -> str:
    """A node name as drawn: trailing indices as Unicode subscripts (the same on every backend).

    >>> display_name("x1"), display_name("w1_0_2"), display_name("L_3"), display_name("α"), display_name("my_var")
    ('x₁', 'w₁,₀,₂', 'L₃', 'α', 'my_var')
    """
    s = str(name)
    m = _NAME_WITH_INDEX.fullmatch(s)
    return _subscript(m) if m else s


def _pretty_expr(text: str) -> str:
    # Source text as drawn: products as ·, powers as ^, minus signs as −, indexed names subscripted.
    t = " ".join(text.split())
    t = t.replace("**", "^").replace("*", "·").replace("-", "−")
    return _IDENT_WITH_INDEX.sub(_subscript, t)


def _truncate(s: str, limit: int = _MAX_TEXT) -> str:
    if len(s) <= limit:
        return s
    cut = s[: limit - 1].rstrip() + "…"
    return cut + ")" * max(0, cut.count("(") - cut.count(")"))  # keep parentheses balanced


def _num(x: Any) -> str:
    # report.fmt (4 significant digits) with a typographic minus.
    return fmt(_float(x)).replace("-", "−")


def _float(x: Any) -> float:
    try:
        return float(x)
    except TypeError:  # a batch of values: draw the mean
        import numpy as np

        return float(np.mean(x))


def _json_or_null(x: Any) -> float | None:
    """A float for strict JSON, or None (null) when it is not finite."""
    x = _float(x)
    return json_number(x) if math.isfinite(x) else None


def node_index(graph: Any) -> dict[Any, int]:
    """Each node's index in the topological order: the ``i`` of its DOT/SVG id ``n<i>``.

    >>> from graphtrace import parse
    >>> node_index(parse("x: input = 1\\ny = x*x"))
    {'x': 0, 'y': 1}
    """
    return {v: i for i, v in enumerate(graph.order)}


# ---- the drawing model ------------------------------------------------------------------------
@dataclass
class DrawNode:
    """One drawn node: a graph node, or a folded group (neuron, layer, loss) of them."""

    key: Any
    index: int
    kind: str
    title: str
    name: str
    members: list[Any]
    value: float | None = None
    grad: float | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)  # (text, colour or "")
    tooltip: str = ""
    cluster: Any = None
    on_path: bool = False
    is_wrt: bool = False
    glyph: str = ""  # the op drawn beside a named node's title

    @property
    def id(self) -> str:
        return f"n{self.index}"


@dataclass
class DrawEdge:
    """One drawn edge ``tail → head`` (data direction) and the graph edges it stands for."""

    tail: Any
    head: Any
    ids: tuple[int, int, int]
    members: list[tuple[Any, Any, int]]
    local: float | None = None
    label: str = ""
    on_path: bool = False
    flow: float | None = None

    @property
    def id(self) -> str:
        return "e{}_{}_{}".format(*self.ids)


@dataclass
class Drawing:
    """Everything a diagram shows, before it becomes DOT text (:meth:`dot`) or JSON (:meth:`as_json`)."""

    name: str
    output: Any
    view: str
    level: str
    nodes: list[DrawNode]
    edges: list[DrawEdge]
    clusters: list[tuple[Any, str]]
    rankdir: str = "LR"
    wrt: Any = None
    paths: dict[str, Any] | None = None
    legend: bool = True
    edge_labels: bool = True
    notes: list[str] = field(default_factory=list)

    # ---- DOT ----
    def dot(self) -> str:
        """The DOT text (deterministic: same drawing, same bytes)."""
        out = [f"// graphtrace: {self.name}, view {self.view}, level {self.level}".replace("\n", " "),
               "digraph graphtrace {"]
        gattrs = {"rankdir": self.rankdir, "fontname": "Helvetica", "fontsize": "10",
                  "nodesep": "0.25", "ranksep": "0.4",
                  "bgcolor": "white", "pad": "0.2"}
        label = self._graph_label()
        out.append("  graph [" + _attrs(gattrs) + (f", label=<{label}>, labelloc=\"b\", labeljust=\"l\""
                                                   if label else "") + "]")
        out.append('  node [fontname="Helvetica", fontsize="11", margin="0.06,0.03", penwidth="1.2"]')
        out.append(f'  edge [fontname="Helvetica", fontsize="9", color="{_EDGE_COLOR}", '
                   'fontcolor="#333333", arrowsize="0.6"]')
        by_cluster: dict[Any, list[DrawNode]] = {}
        for n in self.nodes:
            by_cluster.setdefault(n.cluster, []).append(n)
        for key, title in self.clusters:
            members = by_cluster.get(key, [])
            if not members:
                continue
            out.append(f"  subgraph {quote(f'cluster_{key}')} {{")
            out.append("    graph [" + _attrs({"label": title, "style": "rounded,filled",
                                                "fillcolor": "#f7f9fb", "color": "#c9d3dd",
                                                "fontcolor": "#555555"}) + "]")
            out.extend("    " + self._node_stmt(n) for n in members)
            out.append("  }")
        out.extend("  " + self._node_stmt(n) for n in by_cluster.get(None, []))
        cluster = {n.key: n.cluster for n in self.nodes}
        out.extend("  " + self._edge_stmt(e, cluster) for e in self.edges)
        out.append("}")
        return "\n".join(out) + "\n"

    def _node_stmt(self, n: DrawNode) -> str:
        style = dict(_STYLE[n.kind])
        if n.on_path and self.wrt is not None:
            style["color"] = _PATH_COLOR
            style["penwidth"] = "3" if n.is_wrt else "2.2"
        rows = [f"<b>{quote(n.title, html_text=True)}</b>"]
        if n.glyph:
            rows[0] += f'  <font color="#666666">{quote(n.glyph, html_text=True)}</font>'

        for text, colour in n.lines:
            t = quote(text, html_text=True)
            rows.append(f'<font point-size="9" color="{colour}">{t}</font>' if colour
                        else f'<font point-size="9">{t}</font>')
        label = "<br/>".join(rows)
        attrs = {"id": n.id, **style, "tooltip": n.tooltip or n.name}
        return f"{quote(n.key)} [{_attrs(attrs)}, label=<{label}>]"

    def _edge_stmt(self, e: DrawEdge, cluster: Mapping[Any, Any]) -> str:
        attrs: dict[str, str] = {"id": e.id}
        a, b = cluster.get(e.tail), cluster.get(e.head)
        if self.level == "scalar" and a is not None and b is not None and a != b:
            # A rank of room between layers, so that a layer's weights (placed one rank before
            # their products) never share a rank with the previous layer: layers sit side by side.
            attrs["minlen"] = "2"
        if self.view == "backward":
            attrs["dir"] = "back"  # same layout as the forward drawing, arrows from the output back
        if e.label and self.edge_labels:
            attrs["label"] = e.label
        if self.wrt is not None:
            if e.on_path:
                attrs["color"] = _PATH_COLOR
                attrs["penwidth"] = "2.2"
            else:
                attrs["color"] = _DIM_COLOR
        if e.flow is not None:
            attrs["color"], attrs["penwidth"] = _heat(e.flow)
        if len(e.members) > 1 or self.level != "scalar":
            attrs["arrowsize"] = "0.4"
            if self.wrt is None and e.flow is None:
                attrs["color"] = "#9aa5b1"
        tip = f"{e.members[0][0]} → {e.members[0][1]}"
        if e.local is not None:
            tip += f": local {_num(e.local)}"
        if e.flow is not None:
            tip += f", path flow {_num(e.flow)}"
        attrs["tooltip"] = tip
        return f"{quote(e.tail)} -> {quote(e.head)} [{_attrs(attrs)}]"

    def _graph_label(self) -> str:
        parts = []
        if self.paths is not None:
            parts.append(_paths_table(self.paths))
        if self.legend:
            parts.append(_legend_table(self))
        if not parts:
            return ""
        rows = "".join(f'<tr><td align="left">{p}</td></tr>' for p in parts)
        return f'<table border="0" cellborder="0" cellspacing="6">{rows}</table>'

    # ---- JSON ----
    def as_json(self) -> dict[str, Any]:
        """A JSON description of the drawn graph: nodes with value and grad, edges with local.

        A number that is not finite (an overflowed gradient, a local derivative undefined at these
        values, such as ∂(a**b)/∂b for a < 0) is ``null``: the JSON stays strict.
        """
        nodes = []
        for n in self.nodes:
            d: dict[str, Any] = {"id": n.id, "name": str(n.name), "label": n.title, "kind": n.kind}
            if n.glyph:
                d["op"] = n.glyph
            if n.value is not None:
                d["value"] = _json_or_null(n.value)
            if n.grad is not None:
                d["grad"] = _json_or_null(n.grad)
            if len(n.members) > 1 or n.kind in ("neuron", "layer"):
                d["members"] = [str(m) for m in n.members]
            if n.cluster is not None:
                d["cluster"] = str(n.cluster)
            if self.wrt is not None:
                d["on_path"] = n.on_path
            nodes.append(d)
        edges = []
        for e in self.edges:
            d = {"id": e.id, "tail": str(e.tail), "head": str(e.head)}
            if len(e.members) == 1:
                d["slot"] = e.members[0][2]
            else:
                d["count"] = len(e.members)
            if e.local is not None:
                d["local"] = _json_or_null(e.local)
            if e.label:
                d["label"] = e.label
            if self.wrt is not None:
                d["on_path"] = e.on_path
            if e.flow is not None:
                d["flow"] = _json_or_null(e.flow)
            edges.append(d)
        doc: dict[str, Any] = {"graph": self.name, "output": str(self.output), "view": self.view,
                               "level": self.level, "wrt": None if self.wrt is None else str(self.wrt),
                               "nodes": nodes, "edges": edges}
        if self.paths is not None:
            p = self.paths
            doc["paths"] = {
                "n_paths": p["n_paths"], "total": _json_or_null(p["total"]),
                "backprop": _json_or_null(p["backprop"]),
                "top": [{"nodes": [str(v) for v in q.nodes], "factors": [_json_or_null(f) for f in q.factors],
                         "product": _json_or_null(q.product)} for q in p["top"]],
            }
        return doc


def _attrs(d: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={quote(v)}" for k, v in d.items())


def _heat(flow: float) -> tuple[str, str]:
    # flow here is already |flow| / max |flow| in [0, 1].
    step = min(len(_HEAT) - 1, int(flow * len(_HEAT)))
    return _HEAT[step], f"{1 + 5 * flow:.2f}"


def _paths_table(p: dict[str, Any]) -> str:
    q = quote
    disp = p["display"]
    n, shown = p["n_paths"], len(p["top"])
    head = (f"∂{disp(p['output'])}/∂{disp(p['wrt'])}: {n:,} path{'s' if n != 1 else ''}"
            + (f", top {shown} by |product|" if shown < n else ""))
    rows = [f'<tr><td colspan="4" align="left"><b>{q(head, html_text=True)}</b></td></tr>',
            '<tr><td><b>#</b></td><td><b>path</b></td><td><b>factors (local derivatives)</b></td>'
            '<td><b>product</b></td></tr>']
    for i, path in enumerate(p["top"], 1):
        names = [p["short"](v) for v in path.nodes]
        if len(names) > _MAX_PATH_NODES:
            names = names[:5] + ["…"] + names[-5:]
        factors = [_num(f) for f in path.factors]
        if len(factors) > _MAX_PATH_NODES:
            factors = factors[:5] + ["…"] + factors[-5:]
        rows.append(f'<tr><td>{i}</td><td align="left">{q(" → ".join(names), html_text=True)}</td>'
                    f'<td align="left">{q(" × ".join(factors) or "1", html_text=True)}</td>'
                    f'<td align="right">{q(_num(path.product), html_text=True)}</td></tr>')
    total = f"sum over all {n:,} path{'s' if n != 1 else ''} = ∂{disp(p['output'])}/∂{disp(p['wrt'])}"
    rows.append(f'<tr><td colspan="3" align="right"><b>{q(total, html_text=True)}</b></td>'
                f'<td align="right"><b>{q(_num(p["total"]), html_text=True)}</b></td></tr>')
    rows.append(f'<tr><td colspan="3" align="right">backprop</td>'
                f'<td align="right">{q(_num(p["backprop"]), html_text=True)}</td></tr>')
    return ('<table border="0" cellborder="1" cellspacing="0" cellpadding="3" color="#999999">'
            + "".join(rows) + "</table>")


def _legend_table(d: Drawing) -> str:
    kinds = []
    for n in d.nodes:
        if n.kind not in kinds:
            kinds.append(n.kind)
    order = ["input", "param", "const", "op", "neuron", "layer", "output"]
    cells = []
    for k in order:
        if k in kinds:
            s = _STYLE[k]
            cells.append(f'<td bgcolor="{s["fillcolor"]}" border="1" color="{s["color"]}">'
                         f'{quote(_KIND_NAMES[k], html_text=True)}</td>')
    out = d.output
    notes = []
    if d.view in ("forward", "both") and d.level != "layer":
        notes.append("= value")
    if d.view in ("backward", "both"):
        notes.append(f"∂{display_name(out)}/∂node = grad")
        if d.edge_labels and d.level == "scalar":
            notes.append("edge label: local derivative ∂head/∂tail")
    if d.view == "backward":
        notes.append("arrows point from the output back")
    if d.wrt is not None:
        notes.append(f"red: the paths from {display_name(d.wrt)}")
    note = quote("   ·   ".join(notes), html_text=True)
    # Graphviz rejects an empty <font> element, so the notes cell exists only when there are notes.
    tail = f'<td><font point-size="9">{note}</font></td>' if note else ""
    return ('<table border="0" cellborder="0" cellspacing="3" cellpadding="3"><tr>'
            + "".join(cells) + tail + "</tr></table>")


# ---- building the drawing ---------------------------------------------------------------------
class _Names:
    """Display names: the script's names with subscripts, else the source expression, else the glyph."""

    def __init__(self, graph: Graph, show_consts: bool = False):
        self.g = graph.nx
        self.show_consts = show_consts
        self.lines = graph.source.text.split("\n") if graph.source is not None else None
        self.cache: dict[Any, str] = {}

    def expr(self, v: Any) -> str | None:
        d = self.g.nodes[v]
        line = d.get("line")
        if self.lines is None or not line or line > len(self.lines):
            return None
        raw = source_span(self.lines[line - 1], d.get("col"), d.get("end_col"))
        return _pretty_expr(raw) if raw and raw.strip() else None

    def full(self, v: Any) -> str:
        d = self.g.nodes[v]
        if d.get("kind") == "const":
            return _num(d.get("value", 0.0))
        if d.get("named") or d.get("kind") != "op":
            return display_name(v)
        return self.expr(v) or display_name(v)

    def __call__(self, v: Any) -> str:
        """Short display name (truncated expression for unnamed nodes)."""
        if v not in self.cache:
            self.cache[v] = _truncate(self.full(v))
        return self.cache[v]

    def glyph(self, v: Any) -> str:
        """What the path table shows for ``v``: its name, or its drawn title (``×``, ``1 − z``) when unnamed."""
        d = self.g.nodes[v]
        if d.get("kind") == "op" and not d.get("named"):
            return _op_title(self.g, v, self, self.show_consts)[0]
        return self(v)


def _op_title(g: Any, v: Any, names: _Names, show_consts: bool) -> tuple[str, str]:
    """An op node's title and glyph: its name and op, with constant operands folded in (``×2``, ``1 − y``)."""
    d = g.nodes[v]
    op = OPS[d["op"]]
    ops = operands(g, v)
    consts = [g.nodes[u].get("kind") == "const" for u in ops]
    glyph = op.glyph
    if not show_consts and any(consts):
        if op.arity == 2 and all(consts):
            glyph = op.infix.format(*(names(u) for u in ops)).replace("·", "×")
        elif op.arity == 2 and consts[1] or (consts[0] and op.commutative and op.syntax):
            # an operator with a constant (×2, +1; a commutative one takes it from either side)
            c = ops[1] if consts[1] else ops[0]
            glyph = f"{op.glyph}{names(c)}"
        elif op.arity == 2:
            glyph = op.infix.format(names(ops[0]), parenthesise(names(ops[1]))).replace("·", "×")
        else:  # a function of a constant: name the constant inside
            glyph = op.infix.format(*(names(u) for u in ops))
    if d.get("named"):
        if op.prefix and glyph == op.glyph:
            glyph = f"{op.glyph}(·)"
        return display_name(v), glyph
    return glyph, ""


def _is_named(g: Any, v: Any) -> bool:
    return bool(g.nodes[v].get("named")) or g.nodes[v].get("kind") in ("input", "param")


def _groups(graph: Graph, level: str, index: dict[Any, int]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Layer of every node (for clusters), and its group key at ``level`` (None: drawn alone)."""
    attrs = graph.nx.nodes
    layer_of = {v: attrs[v]["layer"] for v in index if "layer" in attrs[v]}
    loss_lines = {attrs[v].get("line") for v in layer_of if attrs[v].get("role") in ("loss", "target")}
    group: dict[Any, Any] = {}
    cluster_of: dict[Any, Any] = {}
    for v in index:
        d = attrs[v]
        in_net = (v in layer_of and d.get("role") not in ("loss", "target")
                  and d.get("line") not in loss_lines)
        if in_net:
            cluster_of[v] = layer_of[v]
        if level in ("neuron", "layer"):
            if in_net and level == "layer":
                group[v] = ("layer", d["layer"])
            elif in_net and "neuron" in d:
                group[v] = ("neuron", d["layer"], d["neuron"])
            else:  # the loss and the targets: one node beside the network
                group[v] = ("loss",)
    return cluster_of, group


def _layer_titles(layers: list[Any]) -> list[tuple[Any, str]]:
    out = []
    for layer in layers:
        if layer == 0:
            out.append((layer, "input layer"))
        elif layer == layers[-1]:
            out.append((layer, f"output layer {layer}"))
        else:
            out.append((layer, f"hidden layer {layer}"))
    return out


def _with_layers(graph: Graph) -> Graph:
    """``graph``, or an annotated copy when its layers can be inferred from MLP names.

    Drawing never changes the user's graph, so the layer/neuron/role attributes that
    :func:`graphtrace.layers.annotate_mlp` infers from names like ``w1_2_3`` go onto a copy.
    """
    if any("layer" in d for _, d in graph.nx.nodes(data=True)):
        return graph
    if not any(re.fullmatch(r"w\d+_\d+_\d+", str(v)) for v in graph.names):
        return graph
    copy = type(graph)(graph.nx.copy(), graph.source, output=graph.output)
    return copy if annotate_mlp(copy) else graph


def _is_layered(graph: Graph) -> bool:
    g = graph.nx
    if any("layer" in d for _, d in g.nodes(data=True)):
        return True
    return any(re.fullmatch(r"w\d+_\d+_\d+", str(v)) for v in graph.names)


def draw(graph: Any, results: Analysis | None = None, *, view: str = "both", wrt: Any = None,
         symbolic: bool = False, show_consts: bool = False, heat: bool = False, level: str = "auto",
         values: Mapping[Any, Any] | None = None, edge_labels: bool | None = None,
         force: bool = False, top: int = 5, legend: bool = True) -> Drawing:
    """Build the drawing model of ``graph`` from computed ``results`` (see :func:`to_dot` for the options).

    ``results`` is the graph's :class:`~graphtrace.results.Analysis` (values, local derivatives,
    gradients, the paths report of ``wrt`` and the heat flows); without it the graph is asked for
    one (``graph.analyse(values, wrt=wrt, heat=heat, top=top)``). Drawing computes nothing itself.

    >>> from graphtrace import parse
    >>> d = draw(parse("w: param = 2\\nx: input = 3\\nL = (w*x)**2"), wrt="w")
    >>> [n.title + n.glyph for n in d.nodes], d.paths["n_paths"], d.level
    (['w', 'x', '×', 'L^2'], 1, 'scalar')
    """
    graph = _with_layers(graph)
    if view not in VIEWS:
        raise UsageError(f"unknown view '{view}'; choose one of {', '.join(VIEWS)}")
    if level not in LEVELS:
        raise UsageError(f"unknown level '{level}'; choose one of {', '.join(LEVELS)}")
    if results is None:
        results = graph.analyse(values, wrt=wrt, heat=heat, top=top)
    wrt = results.paths.wrt if results.paths is not None else None
    g = graph.nx
    order = graph.order
    index = {v: i for i, v in enumerate(order)}
    fwd = results.forward
    grads = results.grads
    names = _Names(graph, show_consts)
    notes: list[str] = []
    if view in ("backward", "both"):
        # Overflowed or undefined gradients are drawn as inf/nan: say so, with the first one's line.
        bad = [v for v in order if not math.isfinite(_float(grads[v]))]
        if bad:
            line = g.nodes[bad[0]].get("line")
            notes.append(f"warning: {len(bad):,} gradient(s) are not finite numbers at these values, first "
                         f"∂{graph.output}/∂{bad[0]} = {_float(grads[bad[0]])}"
                         + (f" (line {line})" if line else "") + "; change the inputs with --set")

    drawn_scalar = [v for v in order if show_consts or g.nodes[v].get("kind") != "const"]
    layered = _is_layered(graph)
    chosen = level
    if level == "auto":
        chosen = "scalar"
        if len(drawn_scalar) > AUTO_SCALAR_NODES and layered:
            _, neuron_groups = _groups(graph, "neuron", index)
            n_neurons = len({k for k in neuron_groups.values() if k[0] == "neuron"})
            chosen = "neuron" if n_neurons <= AUTO_NEURONS else "layer"
            notes.append(f"level auto: {len(drawn_scalar):,} nodes is too many to draw one by one; "
                         f"drawing {'one node per neuron' if chosen == 'neuron' else 'one node per layer'} "
                         f"(--level {chosen}; {n_neurons:,} neurons)")
    if chosen in ("neuron", "layer") and not layered:
        raise UsageError(f"--level {chosen} needs a network: nodes with a 'layer' attribute "
                         "(graphtrace mlp) or names like w1_2_3, h1_2")
    layer_of, group = _groups(graph, chosen, index)

    if chosen == "scalar":
        n = len(drawn_scalar)
        refuse = refuse_limit()
        if n > refuse:
            raise LimitError(f"{n:,} nodes are too many to draw one by one (limit {refuse:,})",
                             hint="draw a network with --level neuron or --level layer; "
                                  "for other graphs draw a part of it with --output NAME; "
                                  "raise the limit with the environment variable GRAPHTRACE_MAX_DRAW_NODES "
                                  "(and pass --force)")
        if n > FORCE_LIMIT and not force:
            raise LimitError(f"{n:,} nodes make an unreadable drawing and a slow layout "
                             f"(more than {FORCE_LIMIT:,})",
                             hint="use --level neuron or --level layer for a network, or --force to draw "
                                  "every node anyway")

    on_path = results.on_path
    flows = results.flows or {}

    show_value = view in ("forward", "both")
    show_grad = view in ("backward", "both")
    out_name = display_name(graph.output)

    def grad_line(v: Any) -> tuple[str, str]:
        label = names.full(v)
        if len(label) > _MAX_GRAD_NAME:  # a long expression: the node's title already says what it is
            return (f"grad = {_num(grads[v])}", _GRAD_COLOR)
        return (f"∂{out_name}/∂{parenthesise(label)} = {_num(grads[v])}", _GRAD_COLOR)

    nodes: list[DrawNode] = []
    edges: list[DrawEdge] = []
    clusters: list[tuple[Any, str]] = []
    rankdir = "LR"
    if chosen == "scalar":
        for v in drawn_scalar:
            d = g.nodes[v]
            kind = "output" if v == graph.output else d.get("kind", "op")
            glyph = ""
            if d.get("kind") == "op":
                title, glyph = _op_title(g, v, names, show_consts)
            else:
                title = names(v)
            lines = []
            if show_value and d.get("kind") != "const":
                lines.append((f"= {_num(fwd.values[v])}", ""))
            if show_grad and d.get("kind") != "const":
                lines.append(grad_line(v))
            tip = str(v)
            full = names.full(v)
            if full != tip:
                tip += f": {full}"
            if d.get("line"):
                tip += f" (line {d['line']})"
            nodes.append(DrawNode(v, index[v], kind, title, str(v), [v], _float(fwd.values[v]),
                                  _float(grads[v]), lines, tip, cluster=layer_of.get(v),
                                  on_path=v in on_path, is_wrt=v == wrt, glyph=glyph))
        drawn = set(drawn_scalar)
        for v in order:
            if v not in drawn or g.nodes[v].get("kind") != "op":
                continue
            for slot, u in enumerate(operands(g, v)):
                if u not in drawn:
                    continue
                local = fwd.locals.get((u, v, slot))
                label = ""
                if view != "forward" and local is not None:
                    # The number alone (the legend says it is ∂head/∂tail); --symbolic adds the
                    # formula in the script's names, and ∂head/∂tail itself when both are named.
                    label = _num(local)
                    if symbolic:
                        head = names(v)
                        formula = OPS[g.nodes[v]["op"]].symbolic[slot].format(
                            *(parenthesise(names(w)) for w in operands(g, v)), out=parenthesise(head))
                        if formula != label:
                            label = f"{formula} = {label}"
                        if _is_named(g, u) and _is_named(g, v):
                            label = f"∂{parenthesise(head)}/∂{parenthesise(names(u))} = {label}"
                edges.append(DrawEdge(u, v, (index[u], index[v], slot), [(u, v, slot)],
                                      None if local is None else _float(local), label,
                                      on_path=u in on_path and v in on_path,
                                      flow=flows.get((u, v, slot))))
    else:
        nodes, edges = _folded(graph, chosen, group, index, order, fwd, grads, names, on_path, flows,
                               show_value, show_grad, wrt)
        layer_of = {n.key: n.cluster for n in nodes}

    if layer_of:
        clusters = _layer_titles(sorted({c for c in layer_of.values() if c is not None}))

    if flows:
        top_flow = max((e.flow for e in edges if e.flow is not None and math.isfinite(e.flow)), default=0.0)
        for e in edges:
            if e.flow is None:
                continue
            if math.isnan(e.flow):  # 0·∞ after an overflow: no flow to show
                e.flow = 0.0
            elif math.isinf(e.flow):  # overflowed: the strongest there is
                e.flow = 1.0
            else:
                e.flow = e.flow / top_flow if top_flow > 0 else 0.0

    if edge_labels is None:
        edge_labels = True
        if chosen == "scalar" and len(edges) > EDGE_LABEL_LIMIT:
            edge_labels = False
            notes.append(f"edge labels dropped: {len(edges):,} edges (more than {EDGE_LABEL_LIMIT:,})")
    paths = None
    if results.paths is not None:
        p = results.paths
        paths = {"output": p.output, "wrt": p.wrt, "n_paths": p.n_paths, "total": p.total,
                 "backprop": p.backprop, "top": p.top, "display": display_name, "short": names.glyph}
    # The script's file name without its folder: the same script gives the same DOT wherever it lies.
    return Drawing(os.path.basename(graph.name), graph.output, view, chosen, nodes, edges, clusters, rankdir, wrt, paths,
                   legend, edge_labels, notes)


def _folded(graph: Graph, level: str, group: dict[Any, Any], index: dict[Any, int], order: list[Any],
            fwd: Any, grads: Any, names: _Names, on_path: set[Any],
            flows: dict[tuple[Any, Any, int], float], show_value: bool, show_grad: bool,
            wrt: Any) -> tuple[list[DrawNode], list[DrawEdge]]:
    """Nodes and edges with each neuron (or layer) folded into one node."""
    g = graph.nx
    attrs = g.nodes
    members: dict[Any, list[Any]] = {}
    for v in order:
        members.setdefault(group[v], []).append(v)
    out_name = display_name(graph.output)
    rep: dict[Any, Any] = {}
    for key, ms in members.items():
        acts = [v for v in ms if attrs[v].get("role") in ("act", "input")]
        if key == ("loss",):
            rep[key] = graph.output if graph.output in ms else ms[-1]
        else:
            rep[key] = acts[-1] if acts else ms[-1]
    nodes = []
    layers: dict[Any, Any] = {}
    layer_titles = dict(_layer_titles([k[1] for k in members if k[0] == "layer"]))
    for key in sorted(members, key=lambda k: index[rep[k]]):
        ms = members[key]
        r = rep[key]
        lines: list[tuple[str, str]] = []
        if key == ("loss",):
            kind, title, cluster = "output", f"loss {out_name}", None
            if show_value:
                lines.append((f"= {_num(fwd.values[r])}", ""))
            lines.append((f"{len(ms):,} nodes", "#777777"))
        elif key[0] == "neuron":
            cluster = key[1]
            is_input = attrs[r].get("kind") == "input"
            kind = "input" if is_input else "neuron"
            title = names(r) if attrs[r].get("named") else f"neuron {key[1]},{key[2]}"
            if show_value:
                lines.append((f"= {_num(fwd.values[r])}", ""))
            if show_grad:
                lines.append((f"∂{out_name}/∂{parenthesise(names(r))} = {_num(grads[r])}", _GRAD_COLOR))
        else:
            layer = key[1]
            cluster = None
            kind = "layer"
            n_units = len({attrs[v].get("neuron") for v in ms if "neuron" in attrs[v]})
            params = [v for v in ms if attrs[v].get("kind") == "param"]
            title = layer_titles.get(layer, f"layer {layer}")
            unit = "input" if layer == 0 else "neuron"
            lines.append((f"{n_units:,} {unit}{'s' if n_units != 1 else ''}", ""))
            if params:
                lines.append((f"{len(params):,} params", ""))
                if show_grad:
                    norm = math.sqrt(sum(_float(grads[p]) ** 2 for p in params))
                    lines.append((f"‖∂{out_name}/∂w‖ = {_num(norm)}", _GRAD_COLOR))
        layers[key] = cluster
        nodes.append(DrawNode(r, index[r], kind, title, str(r), ms, _float(fwd.values[r]),
                              _float(grads[r]), lines, f"{title}: {len(ms):,} graph nodes",
                              cluster=cluster, on_path=any(v in on_path for v in ms),
                              is_wrt=wrt in ms if wrt is not None else False))
    edge_map: dict[tuple[Any, Any], DrawEdge] = {}
    for v in order:
        for slot, u in enumerate(operands(g, v)):
            a, b = group[u], group[v]
            if a == b:
                continue
            e = edge_map.get((a, b))
            if e is None:
                ra, rb = rep[a], rep[b]
                e = DrawEdge(ra, rb, (index[ra], index[rb], 0), [])
                edge_map[(a, b)] = e
            e.members.append((u, v, slot))
            if u in on_path and v in on_path:
                e.on_path = True
            if (u, v, slot) in flows:
                e.flow = (e.flow or 0.0) + flows[(u, v, slot)]
    edges = sorted(edge_map.values(), key=lambda e: (e.ids[1], e.ids[0]))
    return nodes, edges


def to_dot(graph: Any, *, view: str = "both", wrt: Any = None, symbolic: bool = False,
           show_consts: bool = False, heat: bool = False, level: str = "auto",
           values: Mapping[Any, Any] | None = None, edge_labels: bool | None = None,
           force: bool = False, top: int = 5, legend: bool = True) -> str:
    """The DOT text of a diagram of ``graph`` with its values, local derivatives and gradients.

    Args:
        graph: a :class:`~graphtrace.Graph`.
        view: ``forward`` (values, data direction), ``backward`` (gradients ∂L/∂node, arrows from
            the output back, every edge labelled ∂head/∂tail) or ``both`` (everything).
        wrt: highlight every path from this node to the output and add the path table.
        symbolic: write each local derivative's formula in the script's names too.
        show_consts: draw constants as nodes instead of folding them into their consumer's label.
        heat: colour and widen edges by |path flow| (from ``wrt``; without it, by the gradient
            each edge carries back).
        level: ``scalar``, ``neuron``, ``layer`` or ``auto`` (networks only fold).
        values: overrides for inputs and params (like ``--set``).
        edge_labels: force edge labels on or off (default: on, off above 2,000 edges).
        force: draw more than 3,000 nodes one by one.
        top: how many paths the path table lists.
        legend: add the legend of node kinds.

    >>> from graphtrace import parse
    >>> text = to_dot(parse("x: input = 3\\ny = x*x"), view="backward", symbolic=True)
    >>> '"x" -> "y"' in text, 'id="e0_1_1"' in text, "∂y/∂x = x = 3" in text
    (True, True, True)
    """
    return draw(graph, view=view, wrt=wrt, symbolic=symbolic, show_consts=show_consts, heat=heat,
                level=level, values=values, edge_labels=edge_labels, force=force, top=top,
                legend=legend).dot()


def to_json(graph: Any, **options: Any) -> dict[str, Any]:
    """The drawn graph as a JSON-ready dict (same options as :func:`to_dot`).

    >>> from graphtrace import parse
    >>> doc = to_json(parse("x: input = 3\\ny = x*x"))
    >>> [n["value"] for n in doc["nodes"]], [e["local"] for e in doc["edges"]]
    ([3.0, 9.0], [3.0, 3.0])
    """
    return draw(graph, **options).as_json()
