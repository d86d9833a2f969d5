"""Placement: a Graphviz layout read back as data (node boxes, edge splines, label points), by id.

Graphviz lays a drawing out once (``-Tjson``); what it decided is read here, keyed by the DOT/SVG
ids the drawings share (``n<i>`` for nodes, ``e<i>_<j>_<slot>`` for edges, cluster names for
layers). Two uses: :func:`pin` writes the positions back into DOT text, so every frame of a step
sequence is drawn on the same layout (Graphviz's ``neato -n2`` draws without laying out again), and
the TikZ writer places its nodes and curves where Graphviz put them. Coordinates are Graphviz's
points (1/72 inch), y pointing up.
"""

from __future__ import annotations

__all__ = ["NodeBox", "EdgeCurve", "Placement", "read_layout", "pin"]

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import RenderError
from .i18n import _

_STYLE_KEYS = ("shape", "style", "color", "fillcolor", "fontcolor", "penwidth", "peripheries", "dir",
               "arrowsize", "label")
_ID = re.compile(r'\bid="((?:n\d+|e\d+_\d+_\d+))"')
_CLUSTER = re.compile(r'^(\s*)subgraph "(cluster_[^"]*)" \{\s*$')


@dataclass(frozen=True)
class NodeBox:
    """Where a node was put: its centre (x, y) and its size (w, h), in points."""

    x: float
    y: float
    w: float
    h: float
    pos: str  # Graphviz's own texts, written back unchanged so nothing is rounded twice
    width: str
    height: str
    attrs: dict[str, str] = field(default_factory=dict, compare=False)  # shape, colours, style, …


@dataclass(frozen=True)
class EdgeCurve:
    """An edge's B-spline (control points, 3n + 1 of them), its arrow's tip, its label's centre."""

    points: list[tuple[float, float]]
    start: tuple[float, float] | None
    end: tuple[float, float] | None
    label: tuple[float, float] | None
    pos: str
    lp: str | None
    attrs: dict[str, str] = field(default_factory=dict, compare=False)  # colour, width, style, dir, …


@dataclass
class Placement:
    """A layout: the bounding box (x0, y0, x1, y1) and every node, edge and cluster by id."""

    bb: tuple[float, float, float, float]
    nodes: dict[str, NodeBox] = field(default_factory=dict)
    edges: dict[str, EdgeCurve] = field(default_factory=dict)
    clusters: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # name → (bb, lp)
    cluster_attrs: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.bb[2] - self.bb[0]

    @property
    def height(self) -> float:
        return self.bb[3] - self.bb[1]


def _point(text: str) -> tuple[float, float]:
    x, y = text.split(",")[:2]
    return float(x), float(y)


def _spline(pos: str) -> tuple[list[tuple[float, float]], tuple[float, float] | None, tuple[float, float] | None]:
    """Graphviz's ``pos`` of an edge: optional ``s,x,y`` and ``e,x,y`` arrow tips, then the points
    (the first spline only: graphtrace draws no edge that Graphviz splits)."""
    start = end = None
    points: list[tuple[float, float]] = []
    for item in pos.split(";")[0].split():
        if item.startswith("e,"):
            end = _point(item[2:])
        elif item.startswith("s,"):
            start = _point(item[2:])
        else:
            points.append(_point(item))
    return points, start, end


def read_layout(data: bytes | str) -> Placement:
    """Read Graphviz's ``-Tjson`` output (of one graph) into a :class:`Placement`.

    >>> doc = ('{"bb": "0,0,100,50", "objects": [{"_gvid": 0, "name": "a", "id": "n0", "pos": "27,18",'
    ...        ' "width": "0.75", "height": "0.5"}], "edges": [{"_gvid": 0, "tail": 0, "head": 0,'
    ...        ' "id": "e0_0_0", "pos": "e,27,36 27,18 27,20 27,30 27,34", "lp": "30,27"}]}')
    >>> p = read_layout(doc)
    >>> p.nodes["n0"].w, p.edges["e0_0_0"].end, p.edges["e0_0_0"].label, p.width
    (54.0, (27.0, 36.0), (30.0, 27.0), 100.0)
    """
    try:
        doc: dict[str, Any] = json.loads(data)
        x0, y0, x1, y1 = (float(v) for v in str(doc["bb"]).split(","))
    except (ValueError, KeyError, TypeError) as exc:
        raise RenderError(_("cannot read Graphviz's layout: {reason}").format(reason=exc)) from None
    placement = Placement((x0, y0, x1, y1))
    for obj in doc.get("objects", []):
        name = str(obj.get("name", ""))
        if name.startswith("cluster") and "bb" in obj:
            placement.clusters[name] = (str(obj["bb"]), obj.get("lp"))
            placement.cluster_attrs[name] = {k: str(obj[k]) for k in _STYLE_KEYS if k in obj}
            continue
        ident = obj.get("id")
        if not ident or "pos" not in obj:
            continue
        x, y = _point(obj["pos"])
        w, h = float(obj["width"]) * 72, float(obj["height"]) * 72
        attrs = {k: str(obj[k]) for k in _STYLE_KEYS if k in obj}
        placement.nodes[str(ident)] = NodeBox(x, y, w, h, str(obj["pos"]), str(obj["width"]), str(obj["height"]),
                                              attrs)
    for edge in doc.get("edges", []):
        ident = edge.get("id")
        if not ident or "pos" not in edge:
            continue
        points, start, end = _spline(str(edge["pos"]))
        lp = edge.get("lp")
        placement.edges[str(ident)] = EdgeCurve(points, start, end, _point(lp) if lp else None,
                                                str(edge["pos"]), str(lp) if lp else None,
                                                {k: str(edge[k]) for k in _STYLE_KEYS if k in edge})
    return placement


def pin(dot_text: str, placement: Placement, *, extra: Mapping[str, str] | None = None) -> str:
    """``dot_text`` (a graphtrace drawing's DOT) with every node, edge and cluster pinned where
    ``placement`` put it, for ``neato -n2``: the same picture, not laid out again.

    Nodes keep their size whatever their label now says (``fixedsize``); attributes are added at
    the end of each statement's list, so they win over earlier ones, and so do ``extra``'s (DOT
    attribute text by id: a frame's colours).

    >>> p = read_layout('{"bb": "0,0,60,40", "objects": [{"name": "a", "id": "n0", "pos": "30,20",'
    ...                 ' "width": "0.8", "height": "0.5"}]}')
    >>> print(pin('digraph {\\n  "a" [id="n0", label="a"]\\n}', p))
    digraph {
      "a" [id="n0", label="a", pos="30,20!", width="0.8", height="0.5", fixedsize="true"]
    }
    """
    out = []
    for line in dot_text.split("\n"):
        m = _ID.search(line)
        cluster = _CLUSTER.match(line)
        if m and line.rstrip().endswith("]"):
            ident = m.group(1)
            more = ""
            if ident in placement.nodes:
                b = placement.nodes[ident]
                more = f'pos="{b.pos}!", width="{b.width}", height="{b.height}", fixedsize="true"'
            elif ident in placement.edges:
                c = placement.edges[ident]
                more = f'pos="{c.pos}"' + (f', lp="{c.lp}"' if c.lp else "")
            if extra and ident in extra:
                more = f"{more}, {extra[ident]}" if more else extra[ident]
            if more:
                body = line.rstrip()
                line = f"{body[:-1]}, {more}]"
        out.append(line)
        if cluster and cluster.group(2) in placement.clusters:
            bb, lp = placement.clusters[cluster.group(2)]
            out.append(f'{cluster.group(1)}  graph [bb="{bb}"' + (f', lp="{lp}"' if lp else "") + "]")
    return "\n".join(out)
