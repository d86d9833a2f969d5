"""Steps: the forward-then-backward walk the explorer steps through, with its sentences (one definition).

The explorer's page model carries the list that :func:`build_steps` makes, and the page only fills
it in; ``graphtrace steps``, the handouts and the Beamer overlays fill in the same list here
(:func:`show_step`). So the order and the words are written once, in this module.

A step is a JSON-ready dict: ``type`` (``start``, ``forward``, ``seed``, ``backward``, ``done``),
``node`` (a node index in topological order) or ``edge`` (an index into the model's edge list),
``phase`` (its heading) and ``lines``. A line is ``{"kind": KIND, "parts": [...]}`` with KIND one of
``formula``, ``text``, ``hint`` (about the page's own controls: slides leave it out), ``fanout``
(with a ``title``: the running sum where paths meet) and ``source`` (the script line of ``node``).
Parts are strings and number slots filled in when the step is shown, so the page can refill them
live as its sliders change the values: ``{"v": i}`` the value of node i, ``{"g": i}`` its gradient so
far, ``{"l": k}`` the local derivative of edge k, ``{"c": k}`` edge k's contribution (∂out/∂head ·
local), ``{"sum": i}`` the contributions to node i so far joined by ``+``; ``"p": 1`` puts a negative
number in parentheses.

Every sentence is one whole format string with named fields, so that it can be translated.
"""

from __future__ import annotations

__all__ = ["STEP_TYPES", "State", "StepText", "build_steps", "states", "show_step", "show_number",
           "step_count", "restyle", "CURRENT_COLOR", "BACK_COLOR", "USED_COLOR"]

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .i18n import _
from .text import fmt

if TYPE_CHECKING:
    from .dot import Drawing

STEP_TYPES: tuple[str, ...] = ("start", "forward", "seed", "backward", "done")
"""The kinds of step, in the order they first occur."""

_DONE_SHOWN = 6  # gradients listed by the last step; the page's results table has the rest
_SLOT = re.compile(r"\{(\d)\}")




Model = Mapping[str, Any]  # the explorer's page model (graphtrace.explorer.build_model), as plain data


def _atom(node: Mapping[str, Any]) -> str:
    return str(node.get("atom") or node["disp"])


def _dd(model: Model, i: int) -> str:
    nodes = model["nodes"]
    return f"∂{_atom(nodes[model['output']])}/∂{_atom(nodes[i])}"


def _infix(template: str, args: Sequence[Any]) -> list[Any]:
    """An op's infix template (``{0}·{1}``) over ``args`` (strings or number slots), as parts."""
    parts: list[Any] = []
    at = 0
    for m in _SLOT.finditer(template):
        if m.start() > at:
            parts.append(template[at:m.start()])
        k = int(m.group(1))
        parts.append(args[k] if k < len(args) else "undefined")  # as the page's replace() would
        at = m.end()
    if at < len(template):
        parts.append(template[at:])
    return parts


def _join(parts: list[Any]) -> list[Any]:
    """Adjacent strings merged, empty ones dropped: the same parts, shorter."""
    out: list[Any] = []
    for p in parts:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += p
                continue
        out.append(p)
    return out


def _line(kind: str, *parts: Any, title: Sequence[Any] | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"kind": kind, "parts": _join(list(parts))}
    if title is not None:
        line["title"] = _join(list(title))
    return line


def _operands(model: Model) -> tuple[list[list[int]], list[list[int]]]:
    """Per node, its in-edges by slot and its out-edges (indices into the model's edge list)."""
    n = len(model["nodes"])
    ins: list[list[int]] = [[] for _ in range(n)]
    outs: list[list[int]] = [[] for _ in range(n)]
    for k, e in enumerate(model["edges"]):
        ins[e["head"]].append(k)
        outs[e["tail"]].append(k)
    for lst in ins:
        lst.sort(key=lambda k: model["edges"][k]["slot"])
    return ins, outs


def step_count(model: Model, *, wrt: int | None = None) -> int:
    """How many steps :func:`build_steps` makes, without making them (cheap, for limits).

    >>> m = {"nodes": [{"kind": "param"}, {"kind": "op"}], "edges": [{"tail": 0, "head": 1, "slot": 0}],
    ...      "output": 1}
    >>> step_count(m)
    5
    """
    return len(_sequence(model, wrt))


def _sequence(model: Model, wrt: int | None) -> list[tuple[str, int | None]]:
    """The structure of the walk: (type, node or edge index) per step.

    A start step, one step per operation in topological order, the seed ∂out/∂out = 1, one step
    per edge of the backward sweep (heads in reverse topological order, operands by slot; edges from
    constants skipped; with ``wrt``, only the edges on its paths to the output), and done.
    """
    nodes, edges, out = model["nodes"], model["edges"], model["output"]
    ins = _operands(model)[0]
    to_out = [False] * len(nodes)
    to_out[out] = True
    for u in range(out, -1, -1):
        if to_out[u]:
            for k in ins[u]:
                to_out[edges[k]["tail"]] = True
    from_wrt: list[bool] | None = None
    if wrt is not None:
        from_wrt = [False] * len(nodes)
        from_wrt[wrt] = True
        for k in sorted(range(len(edges)), key=lambda k: edges[k]["head"]):
            if from_wrt[edges[k]["tail"]]:
                from_wrt[edges[k]["head"]] = True
    seq: list[tuple[str, int | None]] = [("start", None)]
    seq += [("forward", i) for i, nd in enumerate(nodes) if nd.get("kind") == "op"]
    seq.append(("seed", out))
    for v in range(out, -1, -1):
        if not to_out[v] or nodes[v].get("kind") != "op":
            continue
        for k in ins[v]:
            tail = edges[k]["tail"]
            if nodes[tail].get("kind") == "const":
                continue
            if from_wrt is not None and not (from_wrt[tail] and from_wrt[v]):
                continue
            seq.append(("backward", k))
    seq.append(("done", None))
    return seq


def build_steps(model: Model, *, wrt: int | None = None) -> list[dict[str, Any]]:
    """The explorer's step-through script for ``model``, with the sentences of every step.

    Args:
        model: the page model (``nodes`` with ``disp``, ``atom``, ``kind``, ``op``, ``named``, ``line``;
            ``edges`` with ``tail``, ``head``, ``slot``, ``symbolic``; ``ops`` with ``infix``; ``output``).
        wrt: a node index: the backward part keeps only the edges on its paths to the output.

    >>> m = {"nodes": [{"name": "a", "disp": "a", "kind": "param", "named": True},
    ...                {"name": "b", "disp": "b", "kind": "op", "op": "mul", "named": True}],
    ...      "edges": [{"tail": 0, "head": 1, "slot": 0, "symbolic": "a"},
    ...                {"tail": 0, "head": 1, "slot": 1, "symbolic": "a"}],
    ...      "ops": {"mul": {"infix": "{0}·{1}"}}, "output": 1, "lines": []}
    >>> [(s["type"], s.get("edge", s.get("node"))) for s in build_steps(m)]
    [('start', None), ('forward', 1), ('seed', 1), ('backward', 0), ('backward', 1), ('done', None)]
    >>> build_steps(m)[1]["lines"][0]["parts"]
    ['b = a·a = ', {'v': 0, 'p': 1}, '·', {'v': 0, 'p': 1}, ' = ', {'v': 1}]
    """
    nodes, edges, out = model["nodes"], model["edges"], model["output"]
    ins, outs = _operands(model)
    seq = _sequence(model, wrt)
    remaining = [0] * len(nodes)
    for kind, k in seq:
        if kind == "backward" and k is not None:
            remaining[edges[k]["tail"]] += 1
    seen = [0] * len(nodes)
    steps: list[dict[str, Any]] = []
    for kind, k in seq:
        if kind == "start":
            lines = [_line("text", _("Inputs and params are given; every other value is computed from "
                                     "them, one node at a time, in topological order."))]
            lines += [_line("formula", f"{nd['disp']} = ", {"v": i}) for i, nd in enumerate(nodes)
                      if nd.get("kind") in ("input", "param")]
            lines.append(_line("hint", _("Press → (or ▶ play) to compute the first node.")))
            steps.append({"type": "start", "phase": _("Forward pass"), "lines": lines})
        elif kind == "forward":
            assert k is not None
            nd = nodes[k]
            args = [edges[j]["tail"] for j in ins[k]]
            infix = model["ops"][nd["op"]]["infix"]
            parts: list[Any] = [f"{nd['disp']} = "]
            if nd.get("named"):
                parts += _infix(infix, [_atom(nodes[j]) for j in args]) + [" = "]
            parts += _infix(infix, [{"v": j, "p": 1} for j in args]) + [" = ", {"v": k}]
            lines = [_line("formula", *parts),
                     _line("text", _("The {op} node reads its operands' values (already computed: they come "
                                     "earlier in the order) and computes its own.").format(op=nd["op"]))]
            if nd.get("line"):
                lines.append({"kind": "source", "node": k, "parts": []})
            steps.append({"type": "forward", "node": k,
                          "phase": _("Forward pass · node {name}").format(name=nd["disp"]), "lines": lines})
        elif kind == "seed":
            lines = [_line("formula", f"{_dd(model, out)} = 1"),
                     _line("text", _("The backward pass starts at the output: its derivative with respect to "
                                     "itself is 1. Then every edge is walked backwards, from the output towards "
                                     "the inputs, multiplying by the edge's local derivative."))]
            steps.append({"type": "seed", "node": out, "phase": _("Backward pass · start"), "lines": lines})
        elif kind == "backward":
            assert k is not None
            e = edges[k]
            u, v = e["tail"], e["head"]
            seen[u] += 1
            tail, head = nodes[u]["disp"], nodes[v]["disp"]
            lines = [
                _line("formula", f"{_dd(model, u)} += {_dd(model, v)} · ∂{_atom(nodes[v])}/∂{_atom(nodes[u])}"),
                _line("formula", "= ", {"g": v, "p": 1}, f" · {e['symbolic']}"),
                _line("formula", "= ", {"g": v, "p": 1}, " · ", {"l": k, "p": 1}, " = ", {"c": k}),
            ]
            if seen[u] > 1:
                title = _("Paths meet at {name} (it feeds {n} edges): the contributions add up").format(
                    name=tail, n=len(outs[u]))
                lines.append(_line("fanout", f"{_dd(model, u)} = ", {"sum": u}, " = ", {"g": u}, title=[title]))
            if seen[u] == remaining[u]:
                text = _("{dd} is now final: every edge leaving {name} has been used.").format(
                    dd=_dd(model, u), name=tail)
            else:
                text = _("{dd} is not final yet: more edges leave {name}.").format(dd=_dd(model, u), name=tail)
            lines.append(_line("text", text))
            steps.append({"type": "backward", "edge": k, "node": u,
                          "phase": _("Backward pass · edge {tail} → {head}").format(tail=tail, head=head),
                          "lines": lines})
        else:
            params = [i for i, nd in enumerate(nodes) if nd.get("kind") == "param"]
            if params:
                lines = [_line("text", _("Forward and backward passes complete. The gradients of the params:"))]
            else:
                params = [i for i, nd in enumerate(nodes) if nd.get("kind") == "input"]
                lines = [_line("text", _("Forward and backward passes complete. The gradients of the inputs:"))]
            lines += [_line("formula", f"{_dd(model, i)} = ", {"g": i}) for i in params[:_DONE_SHOWN]]
            if len(params) > _DONE_SHOWN:
                lines.append(_line("hint", _("… and {n} more in the results table.").format(
                    n=len(params) - _DONE_SHOWN)))
            lines.append(_line("hint", _("Click any node to see every path from it to the output: the sum of "
                                         "the paths' products equals backprop's value.")))
            steps.append({"type": "done", "phase": _("Done"), "lines": lines})
    return steps


@dataclass
class State:
    """What is known after a step: computed values, gradients so far and their parts, final ones.

    Attributes:
        known: per node, whether its value is computed (inputs, params and constants always are).
        grad: per node, ∂out/∂node accumulated so far (None before any contribution).
        parts: per node, the contributions added so far, in order.
        final: per node, whether every backward step into its gradient has been taken.
        used: per edge, whether its backward step has been taken.
    """

    known: list[bool]
    grad: list[float | None]
    parts: list[list[float]]
    final: list[bool]
    used: list[bool]


def states(model: Model, steps: Sequence[Mapping[str, Any]], locals_: Sequence[float]) -> list[State]:
    """The state after each step (the page's ``stateAt``, for every step at once).

    ``locals_`` holds each edge's local derivative, in the model's edge order.

    >>> m = {"nodes": [{"kind": "param"}, {"kind": "op"}], "edges": [{"tail": 0, "head": 1, "slot": 0}],
    ...      "output": 1}
    >>> steps = [{"type": t, **x} for t, x in [("start", {}), ("forward", {"node": 1}),
    ...          ("seed", {"node": 1}), ("backward", {"edge": 0}), ("done", {})]]
    >>> [s.grad for s in states(m, steps, [3.0])]
    [[None, None], [None, None], [None, 1], [3.0, 1], [3.0, 1]]
    """
    nodes, edges = model["nodes"], model["edges"]
    n = len(nodes)
    known = [nd.get("kind") != "op" for nd in nodes]
    grad: list[float | None] = [None] * n
    parts: list[list[float]] = [[] for _ in range(n)]
    remaining = [0] * n
    used = [False] * len(edges)
    for s in steps:
        if s["type"] == "backward":
            remaining[edges[s["edge"]]["tail"]] += 1
    out = []
    for s in steps:
        t = s["type"]
        if t == "forward":
            known[s["node"]] = True
        elif t == "seed":
            grad[s["node"]] = 1
            parts[s["node"]].append(1)
        elif t == "backward":
            e = edges[s["edge"]]
            head = grad[e["head"]]
            c = (0.0 if head is None else head) * float(locals_[s["edge"]])
            tail = grad[e["tail"]]
            grad[e["tail"]] = c if tail is None else tail + c
            parts[e["tail"]].append(c)
            remaining[e["tail"]] -= 1
            used[s["edge"]] = True
        elif t == "done":
            grad = [0 if g is None else g for g in grad]
        final = [g is not None and r == 0 for g, r in zip(grad, remaining, strict=True)]
        out.append(State(list(known), list(grad), [list(p) for p in parts], final, list(used)))
    return out


def show_number(x: float | None, *, paren: bool = False) -> str:
    """A number as the explorer writes it: 4 significant digits, a typographic leading minus, ``?``
    for an unknown; with ``paren``, a negative number in parentheses.

    >>> show_number(-0.24973989), show_number(-2.0, paren=True), show_number(None), show_number(1e-7)
    ('−0.2497', '(−2)', '?', '1e-07')
    """
    if x is None:
        return "?"
    s = fmt(x)
    if s.startswith("-"):
        s = "−" + s[1:]
    return f"({s})" if paren and x < 0 else s


@dataclass
class StepText:
    """A step as text: its heading and its lines as (kind, text), hints for the page left out."""

    type: str
    phase: str
    lines: list[tuple[str, str]]


def show_step(model: Model, step: Mapping[str, Any], state: State, values: Sequence[float],
              locals_: Sequence[float], *, hints: bool = False) -> StepText:
    """Fill in one step's number slots with ``values`` and ``locals_`` and the state after it.

    A ``fanout`` line becomes two lines (its title, kind ``fanout``, then its sum, kind ``formula``);
    a ``source`` line is ``line N  TEXT`` from the model's script lines.
    """
    edges = model["edges"]

    def part(p: Any) -> str:
        if isinstance(p, str):
            return p
        paren = bool(p.get("p"))
        if "v" in p:
            return show_number(_float(values[p["v"]]), paren=paren)
        if "g" in p:
            return show_number(state.grad[p["g"]], paren=paren)
        if "l" in p:
            return show_number(_float(locals_[p["l"]]), paren=paren)
        if "c" in p:
            head = state.grad[edges[p["c"]]["head"]]
            c = None if head is None else head * _float(locals_[p["c"]])
            return show_number(c, paren=paren)
        if "sum" in p:
            return " + ".join(show_number(x, paren=True) for x in state.parts[p["sum"]])
        raise ValueError(f"unknown number slot {p!r}")

    lines: list[tuple[str, str]] = []
    for line in step["lines"]:
        kind = line["kind"]
        if kind == "hint" and not hints:
            continue
        if kind == "source":
            nd = model["nodes"][line["node"]]
            src = model["lines"][nd["line"] - 1] if nd.get("line") and nd["line"] <= len(model["lines"]) else None
            if src is not None:
                lines.append(("source", _("line {n}  {text}").format(n=nd["line"], text=src.strip())))
            continue
        if kind == "fanout":
            lines.append(("fanout", "".join(part(p) for p in line.get("title", []))))
            lines.append(("formula", "".join(part(p) for p in line["parts"])))
            continue
        lines.append((kind, "".join(part(p) for p in line["parts"])))
    return StepText(step["type"], step["phase"], lines)


# The page's colours (explorer.css): the current step, the gradient flowing back, edges used, and
# nodes whose value is not computed yet.
CURRENT_COLOR = "#d6336c"
BACK_COLOR = "#e8590c"
USED_COLOR = "#f0a070"
_PENDING = {"color": "#c9c9c9", "fillcolor": "#f7f7f7", "fontcolor": "#a6a6a6"}


def _num(x: float | None) -> str:
    # the drawing's number format (dot.py): 4 significant digits, every minus typographic
    return "?" if x is None else fmt(x).replace("-", "−")


def restyle(drawing: Drawing, model: Model, step: Mapping[str, Any],
            state: State) -> tuple[Drawing, dict[str, dict[str, str]]]:
    """The drawing as it looks after ``step`` (as the page paints it), and the Graphviz attributes,
    by DOT id, that colour it: values not computed yet are ``?``, gradients show what has been
    added up so far (nothing before the first contribution), local derivatives appear once their
    edge has been walked back; the current node and edge in the page's colours.
    """
    last = step["type"] == "done"
    colours: dict[str, dict[str, str]] = {}
    current = step.get("node")
    nodes = []
    for n in drawing.nodes:
        i = n.index
        lines = []
        for text, colour in n.lines:
            if text.startswith("= "):  # the value line
                lines.append((text if state.known[i] else "= ?", colour))
            elif " = " in text and colour:  # the gradient line: its number so far, or a blank line
                g = state.grad[i]
                shown = " " if g is None else f"{text.rsplit(' = ', 1)[0]} = {_num(g)}"
                lines.append((shown, colour))
            else:
                lines.append((text, colour))
        nodes.append(dataclasses.replace(n, lines=lines))
        attrs: dict[str, str] = {}
        if not state.known[i]:
            attrs.update(_PENDING)
        if i == current and step["type"] not in ("start", "done"):
            attrs.update(color=CURRENT_COLOR, penwidth="3.5")
        if attrs:
            colours[n.id] = attrs
    index_of = {(e["tail"], e["head"], e["slot"]): k for k, e in enumerate(model["edges"])}
    edges = []
    for e in drawing.edges:
        k = index_of.get(e.ids)
        used = k is not None and state.used[k]
        edges.append(dataclasses.replace(e, label=e.label if used or last else ""))
        if step["type"] == "forward" and e.ids[1] == step["node"]:
            colours[e.id] = {"color": CURRENT_COLOR, "penwidth": "2.5"}
        elif step["type"] == "backward" and k == step["edge"]:
            colours[e.id] = {"color": BACK_COLOR, "penwidth": "3.5", "style": "dashed", "fontcolor": BACK_COLOR}
        elif used:
            colours[e.id] = {"color": USED_COLOR, "penwidth": "1.8"}
    return dataclasses.replace(drawing, nodes=nodes, edges=edges), colours


def _float(x: Any) -> float:
    if x is None:  # a number the page model could not hold (not finite)
        return float("nan")
    try:
        return float(x)
    except TypeError:  # a batch of values: the mean, as the drawings show
        import numpy as np

        return float(np.mean(x))
    except ValueError:
        return float("nan")
