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
    "RANKDIRS",
    "WEIGHT_LABEL_LIMIT",
    "LEVELS",
    "CLASS_COLORS",
    "POSITIVE_COLOR",
    "NEGATIVE_COLOR",
    "ZERO_COLOR",
    "sign_color",
    "EDGE_LABEL_LIMIT",
    "FORCE_LIMIT",
    "REFUSE_LIMIT",
    "refuse_limit",
    "MAX_LAYOUT_WORK",
    "check_layout_work",
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
from .i18n import N_, _, ngettext
from .layers import annotate_mlp
from .ops import OPS
from .text import (
    expression_text,
    fmt,
    json_number,
    parenthesise,
    primed,
    split_version,
    xml_safe,
)

if TYPE_CHECKING:
    from .results import Analysis

Graph = Any  # the library's Graph (graphtrace.api): used by its attributes, never imported here

RANKDIRS: tuple[str, ...] = ("LR", "TB")
"""Rank directions: inputs on the left (the default) or at the top."""

VIEWS: tuple[str, ...] = ("forward", "backward", "both")
"""``forward``: values, data direction; ``backward``: gradients, reversed edges; ``both``: all."""

LEVELS: tuple[str, ...] = ("scalar", "neuron", "layer", "array", "auto")
"""How much a network is folded: every op, one node per neuron, one node per layer, one node per
array (a vector or matrix of the script, with the ops that compute it), or chosen."""

_LEVEL_WORDS = {"scalar": N_("every op"), "neuron": N_("one node per neuron"), "layer": N_("one node per layer"),
                "array": N_("one node per array")}

EDGE_LABEL_LIMIT = 2_000
"""Above this many drawn edges, edge labels are dropped unless asked for explicitly."""

WEIGHT_LABEL_LIMIT = 64
"""Above this many weight edges a neuron-level drawing leaves their numbers off (unless asked
for): width and colour still show each weight, and a slide could not hold the numbers anyway."""

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


MAX_LAYOUT_WORK = 300_000
"""The most virtual nodes (edge segments that cross a rank) a drawing may give Graphviz, unless
``GRAPHTRACE_MAX_LAYOUT_WORK`` says otherwise. Graphviz splits every edge that spans k ranks into k
pieces and keeps them all in memory: measured at about 3.5 KB each, a 1,500-step chain fed by one
input (2.25 million pieces) takes 8 GB. Refusing before layout costs a millisecond."""


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
    "layer": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f4ea", "color": "#2e7d4f",
              "margin": "0.16,0.08"},
    "array": {"shape": "box3d", "style": "filled", "fillcolor": "#ffffff", "color": "#555555"},
}
_KIND_NAMES = {"input": N_("input (placeholder)"), "param": N_("param (variable)"), "const": N_("constant"),
               "op": N_("operation"), "output": N_("output"), "neuron": N_("neuron"), "layer": N_("layer"),
               "array": N_("array (folded)")}
POSITIVE_COLOR = "#2166ac"
"""Blue: a positive weight or gradient, the class y = 1 (TensorFlow Playground's convention)."""
NEGATIVE_COLOR = "#e0701b"
"""Orange: a negative weight or gradient, the class y = 0."""
ZERO_COLOR = "#9aa5b1"
"""Grey: a weight or gradient that is exactly 0."""
CLASS_COLORS: tuple[str, ...] = (NEGATIVE_COLOR, POSITIVE_COLOR, "#1b9e77", "#7570b3", "#e7298a", "#66a61e",
                                 "#e6ab02", "#a6761d", "#666666", "#17becf")
"""Colours of the classes 0, 1, 2, … in training plots, the explorer's map and its points: one
convention with the signs of weights in diagrams (class 1 and + blue, class 0 and − orange)."""
_PATH_COLOR = "#c0392b"
_DIM_COLOR = "#b8b8b8"
_EDGE_COLOR = "#555555"
_GRAD_COLOR = "#a93226"
_IDENTICAL_COLOR = "#7b3294"
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
    s = xml_safe(str(text))  # control characters would make the SVG not well-formed XML
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
    >>> display_name("c#2"), display_name("w1#3"), display_name("W[1,0]")
    ('c′', 'w₁″', 'W[1,0]')
    """
    s = str(name)
    base, version, index = split_version(s)
    m = _NAME_WITH_INDEX.fullmatch(base)
    shown = _subscript(m) if m else base
    return primed(f"{shown}#{version}{index}") if version > 1 else shown


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
    identical: int = 0  # how many units of its layer are identical to it (course §12), or 0
    subcluster: Any = None  # scalar level: the neuron whose weights, products and sum it belongs to

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
    weight: Any = None  # a folded edge that is one weight: the param node
    weight_value: float | None = None  # that weight's value, or ‖W‖ of a layer's weights
    weight_grad: float | None = None  # ∂L/∂w, or ‖∂L/∂W‖
    n_weights: int = 0  # how many weights the edge stands for
    strength: float | None = None  # |the shown quantity| / the largest on the drawing: the width
    sign: int = 0  # the shown quantity's sign: the colour (0: none, or a layer's matrix)
    head_label: bool = False  # scalar level: the label sits at the head end (the edge enters a cluster)
    undefined: str | None = None  # --show-consts: why a constant's local derivative is not a number

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
    page: dict[str, str] = field(default_factory=dict)  # graph attributes a fit adds: size, pad, ratio

    def layout_work(self) -> int:
        """The virtual nodes Graphviz will make: Σ over edges of (rank span − 1), ranks by the
        longest path from the sources (dot's own first ranking), and each edge label one more.

        >>> from graphtrace import parse
        >>> draw(parse("x: input = 1\\na = sin(x) + x\\nb = sin(a) + x")).layout_work()  # x→b spans 4 ranks
        10
        """
        rank = {n.key: 0 for n in self.nodes}
        position = {n.key: i for i, n in enumerate(self.nodes)}
        edges = sorted(self.edges, key=lambda e: (position.get(e.head, 0), position.get(e.tail, 0)))
        for e in edges:  # nodes are in topological order, so one pass in head order ranks them all
            rank[e.head] = max(rank[e.head], rank[e.tail] + 1)
        labels = sum(1 for e in self.edges if e.label) if self.edge_labels else 0
        return sum(max(0, rank[e.head] - rank[e.tail] - 1) for e in self.edges) + labels

    def estimated_size(self) -> tuple[float, float]:
        """A quick guess of the laid-out drawing's width and height in inches, without Graphviz.

        Each node is sized from its text (Helvetica's mean glyph width, its lines' heights), ranks
        are the longest path from the sources (dot's own), each rank is as deep as its widest node
        and as long as its nodes side by side, and an edge label doubles the rank gap. Good to
        about a third: enough to choose a level, never to promise a size (``--fit`` lays it out).

        >>> from graphtrace import parse
        >>> w, h = draw(parse("x: input = 1\\ny = sin(x)")).estimated_size()
        >>> 1 < w < 4 and 0.3 < h < 2
        True
        """
        size: dict[Any, tuple[float, float]] = {}
        for n in self.nodes:
            chars = max([len(n.title) + len(n.glyph) + 2 * bool(n.glyph)] + [len(t) for t, _ in n.lines])
            w = chars * 0.56 * 10 / 72 + 0.2
            h = (13 + 11 * len(n.lines)) / 72 + 0.1
            if _STYLE[n.kind]["shape"] == "ellipse":
                w, h = w * 1.3, h * 1.3
            size[n.key] = (w, h) if self.rankdir == "LR" else (h, w)  # (along the ranks, across them)
        rank = {n.key: 0 for n in self.nodes}
        position = {n.key: i for i, n in enumerate(self.nodes)}
        for e in sorted(self.edges, key=lambda e: (position.get(e.head, 0), position.get(e.tail, 0))):
            if e.tail in rank and e.head in rank:
                rank[e.head] = max(rank[e.head], rank[e.tail] + 1)
        depth: dict[int, float] = {}
        breadth: dict[int, float] = {}
        for n in self.nodes:
            r = rank[n.key]
            depth[r] = max(depth.get(r, 0.0), size[n.key][0])
            breadth[r] = breadth.get(r, 0.0) + size[n.key][1] + 0.25
        labelled = self.edge_labels and any(e.label or e.weight is not None or e.n_weights for e in self.edges)
        gap = 0.4 + (0.6 if labelled else 0.0)
        along = sum(depth.values()) + gap * max(0, len(depth) - 1)
        across = max(breadth.values(), default=0.0)
        if self.legend:
            across += 0.5
        return (along, across) if self.rankdir == "LR" else (across, along)

    # ---- DOT ----
    def dot(self) -> str:
        """The DOT text (deterministic: same drawing, same bytes)."""
        out = [f"// graphtrace: {self.name}, view {self.view}, level {self.level}".replace("\n", " "),
               "digraph graphtrace {"]
        gattrs = {"rankdir": self.rankdir, "fontname": "Helvetica", "fontsize": "10",
                  "nodesep": "0.25", "ranksep": "0.4",
                  "bgcolor": "white", "pad": "0.2"}
        gattrs.update(self.page)
        if self.level in ("neuron", "layer", "scalar") and any(n.cluster is not None for n in self.nodes):
            # A network: each node's edges keep the order they are written in (units by index), so
            # Graphviz cannot flip a layer upside down (every order crosses a full layer equally).
            gattrs["ordering"] = "out"
        label = self._graph_label()
        out.append("  graph [" + _attrs(gattrs) + (f", label=<{label}>, labelloc=\"b\", labeljust=\"l\""
                                                   if label else "") + "]")
        out.append('  node [fontname="Helvetica", fontsize="11", margin="0.06,0.03", penwidth="1.2"]')
        out.append(f'  edge [fontname="Helvetica", fontsize="9", color="{_EDGE_COLOR}", '
                   'fontcolor="#333333", arrowsize="0.6"]')
        by_cluster: dict[Any, list[DrawNode]] = {}
        for n in self.nodes:
            by_cluster.setdefault(n.cluster, []).append(n)
        if self.level == "neuron":
            out.extend(self._columns(by_cluster))
            by_cluster = {None: by_cluster.get(None, [])}
        for key, title in self.clusters:
            members = by_cluster.get(key, [])
            if not members:
                continue
            out.append(f"  subgraph {quote(f'cluster_{key}')} {{")
            out.append("    graph [" + _attrs({"label": title, "style": "rounded,filled",
                                                "fillcolor": "#f7f9fb", "color": "#c9d3dd",
                                                "fontcolor": "#555555"}) + "]")
            boxes: dict[Any, list[DrawNode]] = {}
            for n in members:
                boxes.setdefault(n.subcluster, []).append(n)
            out.extend("    " + self._node_stmt(n) for n in boxes.pop(None, []))
            # Scalar level: one box per neuron (its weights, products, sums and activation kept
            # together), in the neurons' order.
            for box in sorted(boxes, key=lambda b: b[1]):
                out.append(f"    subgraph {quote(f'cluster_{key}_{box[1]}')} {{")
                out.append("      graph [" + _attrs({"label": box[2], "style": "rounded,dashed",
                                                      "color": "#b7c2ce", "fontcolor": "#7a8794",
                                                      "labeljust": "r"}) + "]")
                out.extend("      " + self._node_stmt(n) for n in boxes[box])
                # Each weight and bias beside the op it feeds (same rank: above it), so that a
                # layer's params never need a rank of their own between two layers.
                # Each pair in an invisible box of its own: both backends then keep the two together.
                for k, (param, op) in enumerate(self._param_pairs(boxes[box]), 1):
                    out.append(f"      subgraph {quote(f'cluster_{key}_{box[1]}_{k}')} "
                               f'{{ graph [style="invis", margin="0"]; {{rank="same"; {quote(param)}; {quote(op)}}} }}')
                out.append("    }")
            out.append("  }")
        out.extend("  " + self._node_stmt(n) for n in by_cluster.get(None, []))
        cluster = {n.key: n.cluster for n in self.nodes}
        out.extend("  " + self._edge_stmt(e, cluster) for e in self.edges)
        out.append("}")
        return "\n".join(out) + "\n"

    def _columns(self, by_cluster: Mapping[Any, list[DrawNode]]) -> list[str]:
        """Neuron level: each layer a column headed by its title, its units in index order top to
        bottom. A chain of invisible edges within one rank fixes the order; Graphviz keeps such a
        chain only outside clusters (inside them it reorders it like any other), so the layers are
        columns with a header, not boxes."""
        out = []
        for key, title in self.clusters:
            members = by_cluster.get(key, [])
            if not members:
                continue
            head = f"layer {key}"
            out.append(f"  {quote(head)} [" + _attrs({"id": f"layer{key}", "label": title, "shape": "plaintext", "fontcolor": "#555555",
                                                        "fontsize": "11", "margin": "0", "tooltip": title}) + "]")
            out.extend("  " + self._node_stmt(n) for n in members)
            chain = " -> ".join(quote(k) for k in [head] + [n.key for n in members])
            out.append(f'  {{rank="same"; {chain} [style="invis"]}}')
        return out

    def _param_pairs(self, box: list[DrawNode]) -> list[tuple[Any, Any]]:
        """The (param, op) pairs of a neuron's box where the param feeds exactly that one op."""
        inside = {n.key for n in box}
        heads: dict[Any, list[Any]] = {}
        for e in self.edges:
            if e.tail in inside:
                heads.setdefault(e.tail, []).append(e.head)
        return [(n.key, heads[n.key][0]) for n in box
                if n.kind == "param" and len(heads.get(n.key, [])) == 1 and heads[n.key][0] in inside]

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
        if self.view == "backward":
            attrs["dir"] = "back"  # same layout as the forward drawing, arrows from the output back
        html_label = self._weight_label(e) if self.edge_labels else ""
        if e.label and self.edge_labels and not html_label:
            attrs["headlabel" if e.head_label else "label"] = e.label
            if e.head_label:  # beside the arrowhead: inside the head's cluster, next to its own edge
                attrs.update(labeldistance="2.2", labelangle="-20", labelfontsize="9", labelfontcolor="#333333")
        if e.weight is not None or e.n_weights:
            attrs["color"] = sign_color(e.sign) if e.weight is not None else "#8d99a6"
            attrs["penwidth"] = f"{0.8 + 3.2 * (e.strength or 0.0):.2f}"
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
            if self.wrt is None and e.flow is None and e.weight is None and not e.n_weights:
                attrs["color"] = "#9aa5b1"
        tip = f"{e.members[0][0]} → {e.members[0][1]}"
        if e.weight is not None:
            tip = _("weight {name}: {tail} → {head}").format(name=e.weight, tail=e.tail, head=e.head)
            if e.weight_value is not None:
                tip += _(", value {value}").format(value=_num(e.weight_value))
            if e.weight_grad is not None:
                tip += f", ∂{self.output}/∂{e.weight} = {_num(e.weight_grad)}"
        elif e.n_weights:
            tip = ngettext("{n} weight: {tail} → {head}", "{n} weights: {tail} → {head}", e.n_weights).format(
                n=f"{e.n_weights:,}", tail=e.tail, head=e.head)
        if e.undefined is not None:
            tip += _(": local undefined, {why}").format(why=e.undefined)
        elif e.local is not None:
            tip += _(": local {value}").format(value=_num(e.local))
        if e.flow is not None:
            tip += _(", path flow {value}").format(value=_num(e.flow))
        attrs["tooltip"] = tip
        label = f", label=<{html_label}>" if html_label else ""
        return f"{quote(e.tail)} -> {quote(e.head)} [{_attrs(attrs)}{label}]"

    def _weight_label(self, e: DrawEdge) -> str:
        """The HTML label of a weight edge (neuron level) or a layer's weights (layer level):
        the value above, ∂L/∂w below in the gradients' colour (CS231n's circuits)."""
        rows: list[str] = []
        out = display_name(self.output)
        if e.weight is not None:
            if self.view != "backward" and e.weight_value is not None:
                # in the edge's colour: a label is read with its own edge where edges cross
                colour = sign_color(e.weight_value) if self.wrt is None and e.flow is None else "#333333"
                rows.append(f'<font color="{colour}">{quote(_num(e.weight_value), html_text=True)}</font>')
            if self.view != "forward" and e.weight_grad is not None:
                rows.append(f'<font color="{_GRAD_COLOR}">{quote(_num(e.weight_grad), html_text=True)}</font>')
        elif e.n_weights:
            if self.view != "backward" and e.weight_value is not None:
                rows.append(quote(ngettext("{n} weight, ‖W‖ = {norm}", "{n} weights, ‖W‖ = {norm}", e.n_weights).format(
                    n=f"{e.n_weights:,}", norm=_num(e.weight_value)), html_text=True))
            if self.view != "forward" and e.weight_grad is not None:
                rows.append(f'<font color="{_GRAD_COLOR}">'
                            f'{quote(f"‖∂{out}/∂W‖ = {_num(e.weight_grad)}", html_text=True)}</font>')
        if not rows:
            return ""
        # A borderless table with padding: the text keeps a little distance from its own edge line.
        return ('<table border="0" cellborder="0" cellspacing="0" cellpadding="1"><tr><td>'
                + "<br/>".join(rows) + "</td></tr></table>")

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
            if e.undefined is not None:
                d["undefined"] = e.undefined
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


def check_layout_work(drawing: Drawing) -> None:
    """Refuse, before Graphviz runs, a drawing whose layout would take gigabytes (see :data:`MAX_LAYOUT_WORK`)."""
    work = drawing.layout_work()
    limit = env_limit("GRAPHTRACE_MAX_LAYOUT_WORK", MAX_LAYOUT_WORK)
    if work > limit:
        raise LimitError(_("this drawing gives Graphviz {work} edge pieces to place (limit {limit}): its long "
                           "edges would take gigabytes to lay out").format(work=f"{work:,}", limit=f"{limit:,}"),
                         hint=_("draw a part of it with --of NAME, a network with --level neuron or layer, or "
                                "write .dot/.json (no layout); raise the limit with GRAPHTRACE_MAX_LAYOUT_WORK"))


def _attrs(d: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={quote(v)}" for k, v in d.items())


def sign_color(x: float) -> str:
    """The colour of a signed quantity (a weight, a gradient): blue +, orange −, grey 0.

    >>> sign_color(2.5) == POSITIVE_COLOR, sign_color(-1) == NEGATIVE_COLOR, sign_color(0.0) == ZERO_COLOR
    (True, True, True)
    """
    return POSITIVE_COLOR if x > 0 else NEGATIVE_COLOR if x < 0 else ZERO_COLOR


def _heat(flow: float) -> tuple[str, str]:
    # flow here is already |flow| / max |flow| in [0, 1].
    step = min(len(_HEAT) - 1, int(flow * len(_HEAT)))
    return _HEAT[step], f"{1 + 5 * flow:.2f}"


def _paths_table(p: dict[str, Any]) -> str:
    q = quote
    disp = p["display"]
    n, shown = p["n_paths"], len(p["top"])
    dd = f"∂{disp(p['output'])}/∂{disp(p['wrt'])}"
    head = (ngettext("{dd}: {n} path", "{dd}: {n} paths", n).format(dd=dd, n=f"{n:,}")
            + (_(", top {shown} by |product|").format(shown=shown) if shown < n else ""))
    rows = [f'<tr><td colspan="4" align="left"><b>{q(head, html_text=True)}</b></td></tr>',
            f'<tr><td><b>#</b></td><td><b>{q(_("path"), html_text=True)}</b></td>'
            f'<td><b>{q(_("factors (local derivatives)"), html_text=True)}</b></td>'
            f'<td><b>{q(_("product"), html_text=True)}</b></td></tr>']
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
    total = ngettext("sum over all {n} path = {dd}", "sum over all {n} paths = {dd}", n).format(n=f"{n:,}", dd=dd)
    rows.append(f'<tr><td colspan="3" align="right"><b>{q(total, html_text=True)}</b></td>'
                f'<td align="right"><b>{q(_num(p["total"]), html_text=True)}</b></td></tr>')
    rows.append(f'<tr><td colspan="3" align="right">{q(_("backprop"), html_text=True)}</td>'
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
                         f'{quote(_(_KIND_NAMES[k]), html_text=True)}</td>')
    out = d.output
    notes = []
    if d.view in ("forward", "both") and d.level != "layer":
        notes.append(_("= value"))
    if d.view in ("backward", "both"):
        notes.append(_("∂{output}/∂node = grad").format(output=display_name(out)))
        if d.edge_labels and d.level == "scalar":
            notes.append(_("edge label: local derivative ∂head/∂tail"))
    if d.view == "backward":
        notes.append(_("arrows point from the output back"))
    if d.wrt is not None:
        notes.append(_("red: the paths from {wrt}").format(wrt=display_name(d.wrt)))
    q = "∂L/∂w".replace("L", display_name(out), 1)
    if any(e.weight is not None for e in d.edges):
        shown = "w" if d.view == "forward" else q if d.view == "backward" else f"w (top), {q} (below)"
        sized = q if d.view == "backward" else "w"
        for sign, colour in (("> 0", POSITIVE_COLOR), ("< 0", NEGATIVE_COLOR)):
            cells.append(f'<td><font color="{colour}">▬▬ {quote(f"{sized} {sign}", html_text=True)}</font></td>')
        notes.insert(0, _("edge: one weight, labelled {shown}; the wider, the larger |{sized}|").format(
                            shown=shown, sized=sized)
                        if d.edge_labels else
                        _("edge: one weight; the wider, the larger |{sized}|").format(sized=sized))
        if any(v.startswith(("b = ", f"∂{display_name(out)}/∂b")) for n in d.nodes for v, _ in n.lines):
            notes.insert(1, _("b: the neuron's bias"))
    elif any(e.n_weights for e in d.edges):
        notes.insert(0, _("edge: a layer's weights W; the wider, the larger {norm}").format(
                        norm="‖∂L/∂W‖".replace("L", display_name(out), 1) if d.view == "backward" else "‖W‖"))
    note = quote("   ·   ".join(notes), html_text=True)
    # Graphviz rejects an empty <font> element, so the notes cell exists only when there are notes.
    tail = f'<td><font point-size="9">{note}</font></td>' if note else ""
    return ('<table border="0" cellborder="0" cellspacing="3" cellpadding="3"><tr>'
            + "".join(cells) + tail + "</tr></table>")


# ---- building the drawing ---------------------------------------------------------------------
class _Names:
    """Display names: the script's names with subscripts, else the source expression, else the glyph."""

    def __init__(self, graph: Graph, show_consts: bool = False):
        self.g = graph.core
        self.show_consts = show_consts
        self.lines = graph.source.text.split("\n") if graph.source is not None else None
        self.cache: dict[Any, str] = {}

    def expr(self, v: Any) -> str | None:
        d = self.g.nodes[v]
        if self.lines is None:
            return None
        raw = expression_text(self.lines, d.get("line"), d.get("col"), d.get("end_line"), d.get("end_col"))
        return _pretty_expr(raw) if raw and raw.strip() else None

    def full(self, v: Any) -> str:
        d = self.g.nodes[v]
        if d.get("kind") == "const" and not d.get("named"):
            return _num(d.get("value", 0.0))
        if d.get("named") or d.get("kind") != "op":
            return display_name(v)
        return self.expr(v) or self.infix(v) or display_name(v)

    def infix(self, v: Any) -> str | None:
        """A part of an array operation (its source is the whole ``W @ x``): the op over its
        operands' names, ``W[0,1]·x[1]`` (operands not yet named by this drawing: by their ids)."""
        ops = operands(self.g, v)
        args = [parenthesise(self.cache[u] if u in self.cache else self.full(u) if self.g.nodes[u].get("named")
                             or self.g.nodes[u].get("kind") != "op" else display_name(u)) for u in ops]
        return OPS[self.g.nodes[v]["op"]].infix.format(*args) if args else None

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
    consts = [_folded_const(g, u) for u in ops]
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


def _folded_const(g: Any, v: Any) -> bool:
    """An unnamed constant (a literal such as the 2 of ``x**2``): folded into its consumer's label
    unless --show-consts, and nothing is said about derivatives with respect to it. A named one
    (``a = -4.0``) is a leaf like micrograd's, drawn with its gradient."""
    return g.nodes[v].get("kind") == "const" and not g.nodes[v].get("named")


def _undefined(graph: Any, names: Any, fwd: Any, u: Any, v: Any, slot: int) -> str:
    """Why the local derivative ∂v/∂u (slot ``slot``) is not a number: its formula and the
    operands' values, e.g. ``∂y/∂2 = x^2·ln x is not a real number at x = −3``."""
    g = graph.core
    ops = operands(g, v)
    formula = OPS[g.nodes[v]["op"]].symbolic_at(slot, [parenthesise(names(w)) for w in ops],
                                                parenthesise(names(v)))
    at = ", ".join(f"{names(w)} = {_num(fwd.values[w])}" for w in dict.fromkeys(ops) if not _folded_const(g, w))
    derivative = f"∂{parenthesise(names(v))}/∂{parenthesise(names(u))}"
    if at:
        return _("{derivative} = {formula} is not a real number at {at}").format(derivative=derivative,
                                                                               formula=formula, at=at)
    return _("{derivative} = {formula} is not a real number").format(derivative=derivative, formula=formula)


def _is_named(g: Any, v: Any) -> bool:
    return bool(g.nodes[v].get("named")) or g.nodes[v].get("kind") in ("input", "param")


def _array_groups(graph: Graph, index: dict[Any, int]) -> dict[Any, Any]:
    """Each node's group at ``--level array``: its array (``("array", "W")``), else the named value
    its script line computes (the unnamed ops of ``h = sigmoid(W @ x + b)`` fold into h), else itself."""
    attrs = graph.core.nodes
    line_key: dict[Any, Any] = {}
    for v in index:
        d = attrs[v]
        if d.get("named") and d.get("kind") == "op":
            line_key[d.get("line")] = ("array", d["array"]) if "array" in d else ("node", v)
    group = {}
    for v in index:
        d = attrs[v]
        if "array" in d:
            group[v] = ("array", d["array"])
        elif not d.get("named") and d.get("kind") in ("op", "const") and d.get("line") in line_key:
            group[v] = line_key[d["line"]]
        else:
            group[v] = ("node", v)
    return group


def _groups(graph: Graph, level: str, index: dict[Any, int]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Layer of every node (for clusters), and its group key at ``level`` (None: drawn alone)."""
    attrs = graph.core.nodes
    if level == "array":
        return {}, _array_groups(graph, index)
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


def _neuron_boxes(g: Any, layer_of: Mapping[Any, Any]) -> dict[Any, tuple[Any, int, str]]:
    """Scalar level: the box of each neuron's weights, products, sums and activation, as
    ``(layer, neuron, title)`` per node (a neuron with one node, such as an input, gets no box)."""
    attrs = g.nodes
    titles: dict[tuple[Any, int], str] = {}
    count: dict[tuple[Any, int], int] = {}
    for v, layer in layer_of.items():
        if "neuron" in attrs[v]:
            key = (layer, attrs[v]["neuron"])
            count[key] = count.get(key, 0) + 1
            if attrs[v].get("role") == "act":
                titles[key] = display_name(v)
    return {v: (layer, attrs[v]["neuron"], titles.get((layer, attrs[v]["neuron"]), f"neuron {attrs[v]['neuron']}"))
            for v, layer in layer_of.items() if "neuron" in attrs[v] and count[(layer, attrs[v]["neuron"])] > 1}


def _layer_titles(layers: list[Any]) -> list[tuple[Any, str]]:
    out = []
    for layer in layers:
        if layer == 0:
            out.append((layer, _("input layer")))
        elif layer == layers[-1]:
            out.append((layer, _("output layer {layer}").format(layer=layer)))
        else:
            out.append((layer, _("hidden layer {layer}").format(layer=layer)))
    return out


def with_layers(graph: Graph) -> Graph:
    """``graph`` with its network structure (layer, neuron, role) known: itself, or an annotated copy
    (see :func:`_with_layers`). Callers that draw one graph many times annotate it once."""
    return _with_layers(graph)


def _with_layers(graph: Graph) -> Graph:
    """``graph``, or an annotated copy when its layers can be inferred from MLP names.

    Drawing never changes the user's graph, so the layer/neuron/role attributes that
    :func:`graphtrace.layers.annotate_mlp` infers from names like ``w1_2_3`` go onto a copy.
    """
    if any("layer" in d for _, d in graph.core.nodes(data=True)):
        return graph
    if not (any(re.fullmatch(r"w\d+_\d+_\d+", str(v)) for v in graph.names)
            or any(re.fullmatch(r"W\d+", str(a)) for a in graph.arrays)):
        return graph
    copy = type(graph)(graph.core.copy(), graph.source, output=graph.output)
    return copy if annotate_mlp(copy) else graph


def _is_layered(graph: Graph) -> bool:
    g = graph.core
    if any("layer" in d for _, d in g.nodes(data=True)):
        return True
    return (any(re.fullmatch(r"w\d+_\d+_\d+", str(v)) for v in graph.names)
            or any(re.fullmatch(r"W\d+", str(a)) for a in graph.arrays))


def draw(graph: Any, results: Analysis | None = None, *, view: str = "both", wrt: Any = None,
         symbolic: bool = False, show_consts: bool = False, heat: bool = False, level: str = "auto",
         values: Mapping[Any, Any] | None = None, edge_labels: bool | None = None,
         force: bool = False, top: int = 5, legend: bool = True, rankdir: str = "LR") -> Drawing:
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
        raise UsageError(_("unknown view '{view}'; choose one of {names}").format(view=view, names=", ".join(VIEWS)))
    if rankdir not in RANKDIRS:
        raise UsageError(_("unknown rank direction '{rankdir}'; choose one of {names}").format(
            rankdir=rankdir, names=", ".join(RANKDIRS)))
    if level not in LEVELS:
        raise UsageError(_("unknown level '{level}'; choose one of {names}").format(level=level, names=", ".join(LEVELS)))
    if results is None:
        results = graph.analyse(values, wrt=wrt, heat=heat, top=top)
    wrt = results.paths.wrt if results.paths is not None else None
    g = graph.core
    order = graph.order
    index = {v: i for i, v in enumerate(order)}
    fwd = results.forward
    grads = results.grads
    names = _Names(graph, show_consts)
    notes: list[str] = []
    if view in ("backward", "both"):
        # Overflowed or undefined gradients are drawn as inf/nan: say so, with the first one's line.
        # Constants are not asked about: a literal exponent's ∂(x^2)/∂2 = x²·ln x is nan for any
        # x < 0, and no one changes the 2 (--show-consts draws it, labelled "undefined").
        bad = [v for v in order if g.nodes[v].get("kind") != "const" and not math.isfinite(_float(grads[v]))]
        if bad:
            line = g.nodes[bad[0]].get("line")
            notes.append(_("warning: {n} gradient(s) are not finite numbers at these values, first {first}; "
                           "change the inputs with --set").format(
                n=f"{len(bad):,}", first=f"∂{graph.output}/∂{bad[0]} = {_float(grads[bad[0]])}"
                + (_(" (line {line})").format(line=line) if line else "")))

    drawn_scalar = [v for v in order if show_consts or not _folded_const(g, v)]
    layered = _is_layered(graph)
    chosen = level
    if level == "auto":
        candidates = auto_levels(graph, len(drawn_scalar), layered, index)
        if len(candidates) > 1:
            options = dict(view=view, symbolic=symbolic, show_consts=show_consts, heat=heat, values=values,
                           edge_labels=edge_labels, force=force, top=top, legend=legend, rankdir=rankdir)
            return _auto_drawing(graph, results, candidates, len(drawn_scalar), notes, options)
        chosen = candidates[0]
        if chosen != "scalar":
            notes.append(_("level auto: {n} nodes is too many to draw one by one; drawing {what} (--level {level})")
                         .format(n=f"{len(drawn_scalar):,}", what=_(_LEVEL_WORDS[chosen]), level=chosen))
    if chosen == "array" and not graph.arrays:
        raise UsageError(_("--level array needs a script with vectors or matrices (e.g. `W: param = [[1, 2]]`)"))
    if chosen in ("neuron", "layer") and not layered:
        raise UsageError(_("--level {level} needs a network: nodes with a 'layer' attribute (graphtrace mlp) or "
                           "names like w1_2_3, h1_2 (or W1, b1, h1 in array form)").format(level=chosen)
                         + (_("; this script's arrays fold with --level array") if graph.arrays else ""))
    layer_of, group = _groups(graph, chosen, index)

    if chosen == "scalar":
        n = len(drawn_scalar)
        refuse = refuse_limit()
        if n > refuse:
            raise LimitError(_("{n} nodes are too many to draw one by one (limit {limit})").format(
                                 n=f"{n:,}", limit=f"{refuse:,}"),
                             hint=_("draw a network with --level neuron or --level layer; for other graphs draw a "
                                    "part of it with --of NAME; raise the limit with the environment variable "
                                    "GRAPHTRACE_MAX_DRAW_NODES (and pass --force)"))
        if n > FORCE_LIMIT and not force:
            raise LimitError(_("{n} nodes make an unreadable drawing and a slow layout (more than {limit})").format(
                                 n=f"{n:,}", limit=f"{FORCE_LIMIT:,}"),
                             hint=_("use --level neuron or --level layer for a network, or --force to draw every "
                                    "node anyway"))

    on_path = results.on_path
    flows = results.flows or {}

    show_value = view in ("forward", "both")
    show_grad = view in ("backward", "both")
    out_name = display_name(graph.output)

    def grad_line(v: Any) -> tuple[str, str]:
        label = names.full(v)
        if len(label) > _MAX_GRAD_NAME:  # a long expression: the node's title already says what it is
            return (_("grad = {value}").format(value=_num(grads[v])), _GRAD_COLOR)
        return (f"∂{out_name}/∂{parenthesise(label)} = {_num(grads[v])}", _GRAD_COLOR)

    nodes: list[DrawNode] = []
    edges: list[DrawEdge] = []
    clusters: list[tuple[Any, str]] = []
    if chosen == "scalar":
        neuron_of = _neuron_boxes(g, layer_of) if layer_of else {}
        for v in drawn_scalar:
            d = g.nodes[v]
            kind = "output" if v == graph.output else d.get("kind", "op")
            glyph = ""
            if d.get("kind") == "op":
                title, glyph = _op_title(g, v, names, show_consts)
            else:
                title = names(v)
            lines = []
            if show_value and not _folded_const(g, v):
                lines.append((f"= {_num(fwd.values[v])}", ""))
            if show_grad and not _folded_const(g, v):
                lines.append(grad_line(v) if math.isfinite(_float(grads[v])) or d.get("kind") != "const"
                             else (_("{gradient} undefined").format(gradient=f"∂{out_name}/∂{parenthesise(names(v))}"),
                                   _GRAD_COLOR))
            tip = str(v)
            full = names.full(v)
            if full != tip:
                tip += f": {full}"
            if d.get("line"):
                tip += f" (line {d['line']})"
            nodes.append(DrawNode(v, index[v], kind, title, str(v), [v], _float(fwd.values[v]),
                                  _float(grads[v]), lines, tip, cluster=layer_of.get(v),
                                  on_path=v in on_path, is_wrt=v == wrt, glyph=glyph,
                                  subcluster=neuron_of.get(v)))
        drawn = set(drawn_scalar)
        for v in order:
            if v not in drawn or g.nodes[v].get("kind") != "op":
                continue
            for slot, u in enumerate(operands(g, v)):
                if u not in drawn:
                    continue
                local = fwd.locals.get((u, v, slot))
                label = ""
                undefined = None
                if local is not None and g.nodes[u].get("kind") == "const" and math.isnan(_float(local)):
                    undefined = _undefined(graph, names, fwd, u, v, slot)
                if view != "forward" and undefined is not None:
                    label = _("undefined")  # the tooltip says why
                elif view != "forward" and local is not None:
                    # The number alone (the legend says it is ∂head/∂tail); --symbolic adds the
                    # formula in the script's names, and ∂head/∂tail itself when both are named.
                    label = _num(local)
                    if symbolic:
                        head = names(v)
                        formula = OPS[g.nodes[v]["op"]].symbolic_at(
                            slot, [parenthesise(names(w)) for w in operands(g, v)], parenthesise(head))
                        if formula != label:
                            label = f"{formula} = {label}"
                        if _is_named(g, u) and _is_named(g, v):
                            label = f"∂{parenthesise(head)}/∂{parenthesise(names(u))} = {label}"
                edges.append(DrawEdge(u, v, (index[u], index[v], slot), [(u, v, slot)],
                                      None if local is None else _float(local), label,
                                      on_path=u in on_path and v in on_path,
                                      flow=flows.get((u, v, slot)), undefined=undefined))
    else:
        nodes, edges = _folded(graph, chosen, group, index, order, fwd, grads, names, on_path, flows,
                               show_value, show_grad, wrt)
        layer_of = {n.key: n.cluster for n in nodes}

    undefined_edges = [e for e in edges if e.undefined is not None]
    if undefined_edges:  # only with --show-consts: constants are drawn because someone asked
        notes.append(_("{n} local derivative(s) with respect to constants drawn as 'undefined': first {first}")
                     .format(n=f"{len(undefined_edges):,}", first=undefined_edges[0].undefined))
    if layer_of:
        clusters = _layer_titles(sorted({c for c in layer_of.values() if c is not None}))
        same: dict[Any, list[str]] = {}
        for unit in nodes:
            if unit.identical:
                same.setdefault(unit.cluster, []).append(unit.title)
        clusters = [(c, t + "\n" + _("{units}: identical units").format(units=" = ".join(same[c])) if c in same else t)
                    for c, t in clusters]
        for titles in same.values():
            notes.append(_("{units} are identical (the same weights in and out, the same gradients): "
                           "gradient descent keeps them so (course §12)").format(units=", ".join(titles)))

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
            notes.append(_("edge labels dropped: {n} edges (more than {limit})").format(
                n=f"{len(edges):,}", limit=f"{EDGE_LABEL_LIMIT:,}"))
        n_weights = sum(1 for e in edges if e.weight is not None)
        if chosen == "neuron" and n_weights > WEIGHT_LABEL_LIMIT:
            edge_labels = False
            notes.append(_("weight labels dropped: {n} weights (more than {limit}); their width and colour "
                           "still show them").format(n=f"{n_weights:,}", limit=f"{WEIGHT_LABEL_LIMIT:,}"))
    paths = None
    if results.paths is not None:
        p = results.paths
        paths = {"output": p.output, "wrt": p.wrt, "n_paths": p.n_paths, "total": p.total,
                 "backprop": p.backprop, "top": p.top, "display": display_name, "short": names.glyph}
    # The script's file name without its folder: the same script gives the same DOT wherever it lies.
    return Drawing(os.path.basename(graph.name), graph.output, view, chosen, nodes, edges, clusters, rankdir, wrt, paths,
                   legend, edge_labels, notes)


AUTO_MAX_SIZE = (50.0, 17.0)
"""The largest drawing ``--level auto`` draws, in inches along and across the ranks (about 2.5
screens of 1920 px along, 1.5 of 1080 px across, at the natural size where 9-point text is 12 px):
beyond it a coarser level is easier to read than a finer one is to scroll."""


def candidate_levels(graph: Any, *, show_consts: bool = False) -> list[str]:
    """The levels ``--level auto`` chooses among for ``graph``, finest first (see :func:`auto_levels`).

    >>> from graphtrace.network import mlp
    >>> candidate_levels(mlp([2, 3, 1]))
    ['scalar', 'neuron', 'layer']
    """
    graph = _with_layers(graph)
    drawn = [v for v in graph.order if show_consts or not _folded_const(graph.core, v)]
    return auto_levels(graph, len(drawn), _is_layered(graph), {v: i for i, v in enumerate(graph.order)})


def auto_levels(graph: Any, n_scalar: int, layered: bool, index: Mapping[Any, int]) -> list[str]:
    """The levels ``--level auto`` may draw ``graph`` at, finest first (at least one).

    Every op while there are at most :data:`AUTO_SCALAR_NODES`; a network also one node per neuron
    (at most :data:`AUTO_NEURONS`) and one per layer; a script with arrays one node per array.
    """
    out = ["scalar"] if n_scalar <= AUTO_SCALAR_NODES else []
    if layered:
        _, neuron_groups = _groups(graph, "neuron", dict(index))
        if len({k for k in neuron_groups.values() if k[0] == "neuron"}) <= AUTO_NEURONS:
            out.append("neuron")
        out.append("layer")
    elif graph.arrays:
        out.append("array")
    return out or ["scalar"]


def _auto_drawing(graph: Graph, results: Any, candidates: list[str], n_scalar: int, notes: list[str],
                  options: dict[str, Any]) -> Drawing:
    """``--level auto``: the finest level whose drawing is legible (:data:`AUTO_MAX_SIZE` at the
    natural size, estimated by :meth:`Drawing.estimated_size`), else the coarsest."""
    words = {lv: _(w) for lv, w in _LEVEL_WORDS.items()}
    tried: list[str] = []
    for k, lv in enumerate(candidates):
        d = draw(graph, results, level=lv, **options)
        along, across = d.estimated_size()
        if d.rankdir != "LR":
            along, across = across, along
        if (along <= AUTO_MAX_SIZE[0] and across <= AUTO_MAX_SIZE[1]) or k == len(candidates) - 1:
            if tried or lv != candidates[0]:
                skipped = "; ".join(tried) if tried else _("{n} nodes are too many to draw one by one").format(
                    n=f"{n_scalar:,}")
                d.notes.insert(0, _("level auto: {skipped}; drawing {what} (--level {level})").format(
                    skipped=skipped, what=words[lv], level=lv))
            d.notes[:0] = [n for n in notes if n not in d.notes]
            return d
        tried.append(_("{what} would be about {along} × {across} in, too big to read").format(
            what=words[lv], along=f"{along:.0f}", across=f"{across:.0f}"))
    raise AssertionError("unreachable: the last candidate is always drawn")


def _folded(graph: Graph, level: str, group: dict[Any, Any], index: dict[Any, int], order: list[Any],
            fwd: Any, grads: Any, names: _Names, on_path: set[Any],
            flows: dict[tuple[Any, Any, int], float], show_value: bool, show_grad: bool,
            wrt: Any) -> tuple[list[DrawNode], list[DrawEdge]]:
    """Nodes and edges with each neuron (or layer) folded into one node."""
    g = graph.core
    attrs = g.nodes
    members: dict[Any, list[Any]] = {}
    for v in order:
        members.setdefault(group[v], []).append(v)
    out_name = display_name(graph.output)
    rep: dict[Any, Any] = {}
    for key, ms in members.items():
        acts = [v for v in ms if attrs[v].get("role") in ("act", "input")]
        if key[0] == "node":
            rep[key] = key[1]
        elif key[0] == "array":
            last = graph.arrays[key[1]]["elements"][-1]
            rep[key] = last if last in ms else ms[-1]
        elif key == ("loss",):
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
        if key[0] in ("node", "array"):
            kind, title, cluster = _folded_value(graph, key, ms, r, fwd, grads, names, lines, show_value, show_grad)
        elif key == ("loss",):
            kind, title, cluster = "output", _("loss {name}").format(name=out_name), None
            if show_value:
                lines.append((f"= {_num(fwd.values[r])}", ""))
            lines.extend(_loss_lines(graph, ms, r, names))
        elif key[0] == "neuron":
            cluster = key[1]
            is_input = attrs[r].get("kind") == "input"
            kind = "input" if is_input else "neuron"
            title = names(r) if attrs[r].get("named") else f"neuron {key[1]},{key[2]}"
            glyph = _activation_glyph(attrs, r)
            bias = next((v for v in ms if attrs[v].get("role") == "bias"), None)
            if show_value:
                lines.append((f"= {_num(fwd.values[r])}", ""))
                if bias is not None:
                    lines.append((f"b = {_num(fwd.values[bias])}", ""))
            if show_grad:
                lines.append((f"∂{out_name}/∂{parenthesise(names(r))} = {_num(grads[r])}", _GRAD_COLOR))
                if bias is not None:
                    lines.append((f"∂{out_name}/∂b = {_num(grads[bias])}", _GRAD_COLOR))
        else:
            layer = key[1]
            cluster = None
            kind = "layer"
            n_units = len({attrs[v].get("neuron") for v in ms if "neuron" in attrs[v]})
            params = [v for v in ms if attrs[v].get("kind") == "param"]
            biases = [v for v in ms if attrs[v].get("role") == "bias"]
            title = layer_titles.get(layer, _("layer {layer}").format(layer=layer))
            act = _activation_glyph(attrs, next((v for v in ms if attrs[v].get("role") == "act"), None))
            units = (ngettext("{n} input", "{n} inputs", n_units) if layer == 0
                     else ngettext("{n} neuron", "{n} neurons", n_units)).format(n=f"{n_units:,}")
            lines.append((units + (f", {act}" if act else ""), ""))
            if params:
                lines.append((ngettext("{n} param", "{n} params", len(params)).format(n=f"{len(params):,}"), ""))
                if biases and show_value:
                    norm = math.sqrt(sum(_float(fwd.values[b]) ** 2 for b in biases))
                    lines.append((f"‖b‖ = {_num(norm)}", ""))
                if show_grad:
                    norm = math.sqrt(sum(_float(grads[p]) ** 2 for p in params))
                    lines.append((f"‖∂{out_name}/∂w‖ = {_num(norm)}", _GRAD_COLOR))
            glyph = ""
        layers[key] = cluster
        nodes.append(DrawNode(r, index[r], kind, title, str(r), ms, _float(fwd.values[r]),
                              _float(grads[r]), lines,
                              ngettext("{title}: {n} graph node", "{title}: {n} graph nodes", len(ms)).format(
                                  title=title, n=f"{len(ms):,}"),
                              cluster=cluster, on_path=any(v in on_path for v in ms),
                              is_wrt=wrt in ms if wrt is not None else False,
                              glyph=glyph if key[0] == "neuron" and kind == "neuron" else ""))
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
    if level in ("neuron", "layer"):
        _weigh_edges(g, level, edge_map, fwd, grads, show_value)
        if level == "neuron":
            _mark_identical(nodes, list(edge_map.values()), attrs, fwd, grads)
        # Units in index order, top to bottom: nodes by (layer, unit) and each node's edges in that
        # order too, so that Graphviz (with ordering=out) keeps them so; the loss comes last.
        place = {k: (k[1], k[2] if k[0] == "neuron" else 0) if k[0] in ("neuron", "layer") else (math.inf, 0)
                 for k in members}
        position = {rep[k]: (place[k], index[rep[k]]) for k in members}
        nodes.sort(key=lambda n: position[n.key])
        edges = sorted(edge_map.values(), key=lambda e: (position[e.tail], position[e.head]))
    else:
        edges = sorted(edge_map.values(), key=lambda e: (e.ids[1], e.ids[0]))
    return nodes, edges


def _activation_glyph(attrs: Any, v: Any) -> str:
    """The glyph of a neuron's activation (σ, tanh, ReLU), or "" for an input or a linear unit."""
    if v is None or attrs[v].get("kind") != "op":
        return ""
    op = OPS[attrs[v]["op"]]
    return op.glyph if op.activation else ""


def _loss_lines(graph: Graph, members: list[Any], rep: Any, names: _Names) -> list[tuple[str, str]]:
    """What a folded loss box folds: its formula (the loss line of the script) and how many ops and
    targets are inside ("loss: 11 ops · target y")."""
    attrs = graph.core.nodes
    out: list[tuple[str, str]] = []
    formula = names.expr(rep) if attrs[rep].get("kind") == "op" else None
    if formula and len(formula) <= 44:
        out.append((f"{display_name(rep)} = {formula}", "#555555"))
    n_ops = sum(1 for v in members if attrs[v].get("kind") == "op")
    targets = [display_name(v) for v in members if attrs[v].get("kind") == "input"]
    words = ngettext("loss: {n} op", "loss: {n} ops", n_ops).format(n=f"{n_ops:,}")
    if targets:
        shown = ", ".join(targets[:3]) + (f", … ({len(targets):,})" if len(targets) > 3 else "")
        words += " · " + (_("targets {names}") if len(targets) > 1 else _("target {names}")).format(names=shown)
    out.append((words, "#777777"))
    return out


def _weigh_edges(g: Any, level: str, edge_map: Mapping[tuple[Any, Any], DrawEdge], fwd: Any, grads: Any,
                 show_value: bool) -> None:
    """Give the folded edges their weights: at the neuron level the one weight w that multiplies
    the tail's value inside the head (its value and ∂L/∂w), at the layer level all of them (‖W‖ and
    ‖∂L/∂W‖); and the width and colour of what the view shows (the value, or ∂L/∂w when only
    gradients are drawn)."""
    attrs = g.nodes
    for e in edge_map.values():
        found: list[Any] = []
        for u, v, _slot in e.members:
            for w in operands(g, v):
                if w != u and attrs[w].get("role") == "weight" and w not in found:
                    found.append(w)
        if level == "neuron" and len(found) == 1:
            e.weight = found[0]
            e.weight_value = _float(fwd.values[e.weight])
            e.weight_grad = _float(grads[e.weight])
            e.n_weights = 1
        elif level == "layer" and found:
            e.n_weights = len(found)
            e.weight_value = math.sqrt(sum(_float(fwd.values[w]) ** 2 for w in found))
            e.weight_grad = math.sqrt(sum(_float(grads[w]) ** 2 for w in found))
    weighted = [(e, (e.weight_value if show_value else e.weight_grad) or 0.0)
                for e in edge_map.values() if e.n_weights]
    top = max((abs(q) for _, q in weighted if math.isfinite(q)), default=0.0)
    for e, q in weighted:
        e.sign = 0 if not math.isfinite(q) else (q > 0) - (q < 0)
        e.strength = 1.0 if not math.isfinite(q) else (abs(q) / top if top > 0 else 0.0)


def _mark_identical(nodes: list[DrawNode], edges: list[DrawEdge], attrs: Any, fwd: Any, grads: Any) -> None:
    """Course §12: units of one layer with the same weights in, bias, weights out and the same
    gradients of them are identical, and gradient descent keeps them so; say it on each of them."""

    def same(x: Any) -> float:
        return float(f"{_float(x):.12g}")  # equal to 12 digits: the same unit, whatever the rounding

    sig: dict[Any, list[Any]] = {n.key: [] for n in nodes if n.kind == "neuron"}
    for e in edges:
        if e.weight is None:
            continue
        if e.head in sig:
            sig[e.head].append(("in", e.tail, same(e.weight_value), same(e.weight_grad)))
        if e.tail in sig:
            sig[e.tail].append(("out", e.head, same(e.weight_value), same(e.weight_grad)))
    groups: dict[Any, list[DrawNode]] = {}
    for n in nodes:
        if n.key not in sig or not sig[n.key]:
            continue
        bias = [(same(fwd.values[v]), same(grads[v])) for v in n.members if attrs[v].get("role") == "bias"]
        key = (n.cluster, tuple(sig[n.key]), tuple(bias), same(n.value), same(n.grad))
        groups.setdefault(key, []).append(n)
    for group in groups.values():
        if len(group) > 1:
            for n in group:
                n.identical = len(group)
                n.lines.append((ngettext("{n} identical unit", "{n} identical units", len(group)).format(n=len(group)),
                                _IDENTICAL_COLOR))


def _folded_value(graph: Graph, key: Any, members: list[Any], rep: Any, fwd: Any, grads: Any, names: _Names,
                  lines: list[tuple[str, str]], show_value: bool, show_grad: bool) -> tuple[str, str, Any]:
    """Kind and title of a node at ``--level array`` (one value, or a folded array), filling ``lines``."""
    attrs = graph.core.nodes
    out_name = display_name(graph.output)
    if key[0] == "node":
        v = key[1]
        kind = "output" if v == graph.output else attrs[v].get("kind", "op")
        if show_value:
            lines.append((f"= {_num(fwd.values[v])}", ""))
        if show_grad and attrs[v].get("kind") != "const":
            lines.append((f"∂{out_name}/∂{parenthesise(names(v))} = {_num(grads[v])}", _GRAD_COLOR))
        if len(members) > 1:
            lines.append((f"{len(members):,} nodes", "#777777"))
        return kind, names(v), None
    a = graph.arrays[key[1]]
    elements = a["elements"]
    shape = a["shape"]
    kinds = {attrs[e].get("kind") for e in elements}
    kind = kinds.pop() if len(kinds) == 1 and kinds <= {"input", "param", "const"} else "array"
    words = f"{shape[0]}×{shape[1]}" if len(shape) == 2 else f"{shape[0]}"
    title = f"{display_name(key[1])} [{words}]"
    if show_value:
        shown = [_num(fwd.values[e]) for e in elements[:4]]
        lines.append(("= [" + ", ".join(shown) + (", …]" if len(elements) > 4 else "]"), ""))
    if show_grad:
        norm = math.sqrt(sum(_float(grads[e]) ** 2 for e in elements))
        lines.append((f"‖∂{out_name}/∂{display_name(key[1])}‖ = {_num(norm)}", _GRAD_COLOR))
    return kind, title, None


def to_dot(graph: Any, *, view: str = "both", wrt: Any = None, symbolic: bool = False,
           show_consts: bool = False, heat: bool = False, level: str = "auto",
           values: Mapping[Any, Any] | None = None, edge_labels: bool | None = None,
           force: bool = False, top: int = 5, legend: bool = True, rankdir: str = "LR") -> str:
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
        level: ``scalar``, ``neuron``, ``layer``, ``array`` or ``auto`` (networks fold by neuron or
            layer, scripts with vectors and matrices by array).
        values: overrides for inputs and params (like ``--set``).
        edge_labels: force edge labels on or off (default: on, off above 2,000 edges).
        force: draw more than 3,000 nodes one by one.
        top: how many paths the path table lists.
        legend: add the legend of node kinds.
        rankdir: ``LR`` (inputs on the left, the default) or ``TB`` (inputs at the top).

    >>> from graphtrace import parse
    >>> text = to_dot(parse("x: input = 3\\ny = x*x"), view="backward", symbolic=True)
    >>> '"x" -> "y"' in text, 'id="e0_1_1"' in text, "∂y/∂x = x = 3" in text
    (True, True, True)
    """
    return draw(graph, view=view, wrt=wrt, symbolic=symbolic, show_consts=show_consts, heat=heat,
                level=level, values=values, edge_labels=edge_labels, force=force, top=top,
                legend=legend, rankdir=rankdir).dot()


def to_json(graph: Any, **options: Any) -> dict[str, Any]:
    """The drawn graph as a JSON-ready dict (same options as :func:`to_dot`).

    >>> from graphtrace import parse
    >>> doc = to_json(parse("x: input = 3\\ny = x*x"))
    >>> [n["value"] for n in doc["nodes"]], [e["local"] for e in doc["edges"]]
    ([3.0, 9.0], [3.0, 3.0])
    """
    return draw(graph, **options).as_json()
