"""Explorer: a graph and its results → one self-contained interactive HTML page.

The page inlines the Graphviz SVG (laid out once; the script restyles it by the shared ids
``n<i>`` and ``e<i>_<j>_<slot>``, so nodes never move), a JSON model of the graph, and plain
JavaScript and CSS from ``explorer_assets/``. The page's op table is generated from the registry's
JavaScript forms (:func:`ops_script`), so sliders, step-through and training recompute in the page
with the same maths; a test checks that it agrees with the Python engine to 1e-9. Every string that reaches the page is escaped: the JSON model with
``\\u003c``-style escapes (a name containing ``</script>`` cannot end its script element), the HTML
around it with :func:`html.escape`.
"""

from __future__ import annotations

__all__ = ["build_model", "build_html", "write_html", "Page", "embed_json", "asset_text", "ops_script",
           "MAX_DATA_ROWS", "PAGE_TEXTS", "page_texts"]

import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import DataError, GraphError, LimitError, UsageError
from .graph import operands
from .i18n import N_, _, language
from .layers import class_scores, prediction_node
from .ops import JS_PRELUDE, OPS
from .steps import build_steps
from .text import fmt, parenthesise, primed, source_span, xml_safe

if TYPE_CHECKING:
    from .data import Dataset
    from .results import Analysis

Graph = Any  # the library's Graph (graphtrace.api): used by its attributes, never imported here

MAX_DATA_ROWS = 2000
"""Most data rows embedded in a training page (more only make the page heavier, not clearer)."""

_MAX_EXPR = 120  # longer expressions are not highlighted in the source line (the page stays small)


def asset_text(name: str) -> str:
    """The text of one of the page's assets (``explorer.js``, ``explorer.css``), from package data.

    >>> "GraphtraceCore" in asset_text("explorer.js")
    True
    """
    from importlib.resources import files

    return files("graphtrace").joinpath("explorer_assets").joinpath(name).read_text(encoding="utf-8")


def ops_script(names: Iterable[str] | None = None) -> str:
    """The page's op table as JavaScript, generated from the registry's ``js`` forms.

    Defines the global ``GRAPHTRACE_OPS`` that ``explorer.js`` computes with: per op (all of them,
    or those in ``names``; always in registry order, so the text is deterministic)
    ``name: { f: function (a, b) {...}, d: [function (o, a, b) {...}, ...] }`` (a variadic op:
    ``f`` over ``arguments`` and one ``dv: function (o, args, j)``), with the shared
    helpers of :data:`graphtrace.ops.JS_PRELUDE` in scope and kept out of the global namespace.

    >>> print(ops_script(["mul"]).splitlines()[-3])
        "mul": { f: function (a, b) { return a * b; }, d: [function (o, a, b) { return b; }, function (o, a, b) { return a; }] }
    """
    wanted = set(OPS) if names is None else set(names)
    unknown = sorted(wanted - set(OPS))
    if unknown:
        raise GraphError(_("no such op: {ops}").format(ops=", ".join(unknown)))
    entries = []
    for op in OPS.values():
        if op.name not in wanted:
            continue
        if not op.js.strip() or len(op.js_partials) != (op.arity or 1) or not all(d.strip() for d in op.js_partials):
            raise GraphError(_("op '{op}' has no JavaScript form (js and one js_partials entry per operand)").format(
                op=op.name))
        if op.variadic:  # its forms read the operands as the array args, and dv the slot j
            entries.append(f"    {json.dumps(op.name)}: {{ f: function () {{ var args = "
                           f"Array.prototype.slice.call(arguments); return {op.js}; }}, "
                           f"dv: function (o, args, j) {{ return {op.js_partials[0]}; }} }}")
            continue
        partials = ", ".join(f"function (o, a, b) {{ return {d}; }}" for d in op.js_partials)
        entries.append(f"    {json.dumps(op.name)}: {{ f: function (a, b) {{ return {op.js}; }}, d: [{partials}] }}")
    prelude = "".join(f"  {ln}\n" for ln in JS_PRELUDE.strip("\n").split("\n"))
    return ("var GRAPHTRACE_OPS = (function () {\n  \"use strict\";\n" + prelude + "  return {\n"
            + ",\n".join(entries) + "\n  };\n})();\n")


def embed_json(doc: Any) -> str:
    """Strict JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` (and the JavaScript line separators) are written as ``\\u`` escapes, so
    no name can close the element or open a comment; JSON.parse reads them back unchanged.

    >>> embed_json({"name": "</script>"})
    '{"name":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return text


def _number(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _title(graph: Graph) -> str:
    """The page's title: the script's file name (a page that is emailed should not show a home
    folder)."""
    return os.path.basename(graph.name) or graph.name


def _encoded_lines(graph: Graph) -> list[bytes]:
    """The script's lines as UTF-8 bytes (node columns are byte offsets), split once."""
    if graph.source is None:
        return []
    return [ln.rstrip("\r").encode("utf-8") for ln in graph.source.text.split("\n")]


def _source_slice(lines: list[bytes], d: Mapping[str, Any]) -> str | None:
    """The text of a node's expression in the script."""
    line = d.get("line")
    if not line or line > len(lines):
        return None
    return source_span(lines[line - 1], d.get("col", 0), d.get("end_col", 0))


def _display_names(graph: Graph, order: list[Any], lines: list[bytes]) -> dict[Any, str]:
    """How each node is written in formulas: its name, its number, or its expression's text."""
    g = graph.core
    out: dict[Any, str] = {}
    for v in order:
        d = g.nodes[v]
        if d.get("named"):
            out[v] = primed(str(v))  # c#2 is written c′, as in the drawing
        elif d.get("kind") == "const":
            out[v] = fmt(d["value"])
        else:
            text = _source_slice(lines, d)
            if text is None:  # graphs built by hand: the op's infix over its operands' names
                args = [parenthesise(out[u]) for u in operands(g, v)]
                text = OPS[d["op"]].infix.format(*args) if d.get("kind") == "op" else str(v)
            # the page writes products with a centred dot and powers with ^, as the drawing does
            text = " ".join(text.replace("**", "^").replace("*", "·").split()).replace(" - ", " − ")
            out[v] = text if len(text) <= 40 else str(v)
    return out


def _data_model(graph: Graph, data: Dataset, index: dict[Any, int]) -> dict[str, Any]:
    """The training view's data: rows, which inputs they feed, and the node the boundary shows."""
    g = graph.core
    inputs = {str(v): v for v in graph.inputs}
    columns = list(data.columns)
    missing = [c for c in columns if c not in inputs]
    if missing:
        raise DataError(_("{data}: column '{column}' is not an input of {graph}; the inputs are {inputs}").format(
                            data=data.name, column=missing[0], graph=graph.name,
                            inputs=", ".join(inputs) or _("(none)")),
                        hint=_("name the CSV columns after the script's inputs (x1, x2, ..., y)"))
    features = [inputs[c] for c in data.feature_names]
    target = inputs.get("y") if "y" in columns else None
    scores = class_scores(graph)
    classes = None
    if scores is not None and str(scores[1]) in columns:  # K classes: the largest logit's class
        target = scores[1]
        features = [inputs[c] for c in columns if c != str(scores[1])]
        classes = [index[s] for s in scores[0]]
    if len(features) == 0:
        raise DataError(_("{data}: no feature column to train on").format(data=data.name))
    rows = data.values[:MAX_DATA_ROWS]
    predict = prediction_node(graph) if scores is None or classes is None else scores[0][0]
    predict = graph.output if predict is None else predict
    extra: dict[str, Any] = {}
    if classes is not None:
        from .dot import CLASS_COLORS

        extra = {"classes": classes, "class_colors": [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(len(classes))]}
    return {**extra,
        "name": data.name,
        "columns": [index[inputs[c]] for c in columns],
        "column_names": columns,
        "rows": [[float(x) for x in row] for row in rows],
        "n_total": len(data),
        "features": [index[f] for f in features],
        "target": None if target is None else index[target],
        "predict": index[predict],
        "predict_op": g.nodes[predict].get("op"),
    }


def _train_spec(graph: Graph, index: dict[Any, int]) -> dict[str, Any] | None:
    """What the page needs to train on a CSV dropped onto it (or picked): the inputs by name, the
    prediction node, and for a softmax classifier its logits and class-index input; None when the
    script has no param to train. The page checks a dropped file as :func:`_data_model` and
    :func:`graphtrace.data.read_csv` do, with the same messages."""
    if not graph.params:
        return None
    from .dot import CLASS_COLORS, NEGATIVE_COLOR, POSITIVE_COLOR

    scores = class_scores(graph)
    predict = prediction_node(graph) if scores is None else scores[0][0]
    predict = graph.output if predict is None else predict
    spec: dict[str, Any] = {
        "graph": _title(graph),
        "inputs": {str(v): index[v] for v in graph.inputs},
        "predict": index[predict],
        "predict_op": graph.core.nodes[predict].get("op"),
        "colors": {"positive": POSITIVE_COLOR, "negative": NEGATIVE_COLOR},
    }
    if scores is not None:
        spec["classes"] = [index[v] for v in scores[0]]
        spec["class_target"] = str(scores[1])
        spec["class_colors"] = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(len(scores[0]))]
    return spec


def _train_start(train: Mapping[str, float] | None) -> dict[str, float]:
    """The training view's starting learning rate and batch size (``{"lr": 0.03, "batch": 10}``);
    the page's defaults (0.5, 10) otherwise."""
    if not train:
        return {}
    unknown = sorted(set(train) - {"lr", "batch"})
    if unknown:
        raise UsageError(_("train takes 'lr' and 'batch', not {names}").format(names=", ".join(map(repr, unknown))))
    return {k: float(v) if k == "lr" else int(v) for k, v in train.items()}


def build_model(graph: Graph, results: Analysis | None = None, *, values: Mapping[Any, float] | None = None,
                data: Dataset | None = None, wrt: Any = None,
                train: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The JSON model the page runs on: nodes in topological order, edges, values and gradients.

    Args:
        graph: the parsed graph.
        results: its computed values and gradients (default: ``graph.analyse(values)``).
        values: overrides for inputs and params (as ``--set``), when ``results`` is not given.
        data: a data set whose columns are inputs of the graph: adds the training view.
        wrt: a node whose paths to the output are shown when the page opens.

    >>> from graphtrace import parse
    >>> m = build_model(parse("a: param = 3\\nb = a*a"))
    >>> [n["name"] for n in m["nodes"]], [n["value"] for n in m["nodes"]], m["grads"]
    (['a', 'b'], [3.0, 9.0], [6.0, 1.0])
    >>> [(e["tail"], e["head"], e["slot"], e["symbolic"]) for e in m["edges"]]
    [(0, 1, 0, 'a'), (0, 1, 1, 'a')]
    """
    g = graph.core
    if results is None:
        results = graph.analyse(values)
    fwd, grads = results.forward, results.grads
    order = list(fwd.order)
    index = {v: i for i, v in enumerate(order)}
    encoded = _encoded_lines(graph)
    disp = _display_names(graph, order, encoded)
    # The script's lines, once: nodes refer to them by number (a long line has many nodes).
    lines = [ln.rstrip("\r") for ln in graph.source.text.split("\n")] if graph.source is not None else []
    nodes = []
    for v in order:
        d = g.nodes[v]
        line = d.get("line")
        expr = _source_slice(encoded, d)
        node = {
            "name": str(v),
            "kind": d.get("kind"),
            "value": _number(fwd.values[v]),
            "disp": disp[v],
            "atom": parenthesise(disp[v]) if parenthesise(disp[v]) != disp[v] else None,
            # optional keys are left out when empty: a big network's page stays small
            "named": bool(d.get("named")) or None,
            "op": d.get("op"),
            "expr": expr if expr is not None and len(expr) <= _MAX_EXPR else None,
            "line": line if line and line <= len(lines) else None,
            "role": d.get("role"),
        }
        nodes.append({k: x for k, x in node.items() if x is not None or k == "value"})
    edges = []
    for i, v in enumerate(order):
        d = g.nodes[v]
        if d.get("kind") != "op":
            continue
        args = operands(g, v)
        names = [parenthesise(disp[u]) for u in args]
        op = OPS[d["op"]]
        for slot, u in enumerate(args):
            local = fwd.locals[(u, v, slot)]
            edges.append({
                "tail": index[u],
                "head": i,
                "slot": slot,
                "symbolic": op.symbolic_at(slot, names, parenthesise(disp[v])),
                "local": _number(local),
            })
    used = sorted({n["op"] for n in nodes if "op" in n})
    ops = {name: {"glyph": OPS[name].glyph, "infix": OPS[name].infix, "symbolic": list(OPS[name].symbolic),
                  "arity": OPS[name].arity} for name in used}
    if wrt is not None:
        wrt = graph.node(wrt, what="--wrt")
    model: dict[str, Any] = {
        "format": "graphtrace-explorer/1",
        "title": _title(graph),
        "output": index[graph.output],
        "nodes": nodes,
        "edges": edges,
        "ops": ops,
        "lines": lines,
        "grads": [_number(grads[v]) for v in order],
        "wrt": None if wrt is None else index[wrt],
        "data": None if data is None else {**_data_model(graph, data, index), **_train_start(train)},
    }
    spec = _train_spec(graph, index)
    if spec is not None:
        model["trainable"] = spec
    # The step-through script and its sentences: one definition (graphtrace.steps) for the page,
    # `graphtrace steps` and the Beamer overlays; the page fills in its number slots live.
    model["steps"] = build_steps(model)
    return model


_VIEW_ORDER = ("scalar", "array", "neuron", "layer")
_VIEW_WORDS = {"scalar": N_("ops"), "array": N_("arrays"), "neuron": N_("neurons"), "layer": N_("layers")}
MAX_VIEW_NODES = 3_000
"""A finer view than the one the page opens with is added only up to this many drawn nodes (the
page stays small and quick to lay out); the opening view is always there."""


def _views(graph: Graph, model: Mapping[str, Any], *, values: Mapping[Any, float] | None, backend: str,
           timeout: float | None, dot_options: Mapping[str, Any],
           training: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
    """The drawings the page can switch between (fold and unfold): the one ``--level`` names (or
    ``auto`` chooses) first, then every other level of the graph (every op; one node per neuron,
    per layer; per array) small enough to lay out. Returns the views' JSON maps, in the order of
    the page's buttons (finest first), and their SVG texts.

    A folded view's map says which nodes of the model each drawn node stands for (``members``;
    the node's SVG id is its representative's ``n<i>``), which bias it shows, and per drawn edge
    its SVG id, the model edges it stands for and the weight it shows, so the page can step,
    select, colour and train on any view.
    """
    from .dot import candidate_levels, check_layout_work, draw, with_layers

    options = dict(dot_options)
    options.setdefault("view", "both")
    asked = options.pop("level", "auto")
    options.pop("rankdir", None)
    graph = with_layers(graph)  # once, for every view
    results = graph.analyse(values)
    if asked == "auto" and training and "neuron" in candidate_levels(graph):
        probe = draw(graph, results, level="auto", **options)
        # Training a network reads best one node per neuron, each weight an edge coloured by its
        # sign (TensorFlow Playground's picture), when auto would draw every op.
        asked = "neuron" if probe.level == "scalar" else "auto"
    first = draw(graph, results, level=asked, **options)
    drawings = {first.level: first}
    if asked == "auto" or first.level != "scalar":
        for lv in candidate_levels(graph, show_consts=options.get("show_consts", False)):
            if lv in drawings:
                continue
            try:
                d = draw(graph, results, level=lv, **options)
                check_layout_work(d)
            except LimitError:
                continue
            if len(d.nodes) <= MAX_VIEW_NODES:
                drawings[lv] = d
    check_layout_work(first)
    index = {str(v): i for i, v in enumerate(graph.order)}
    edge_index = {(e["tail"], e["head"], e["slot"]): k for k, e in enumerate(model["edges"])}
    maps, svgs = [], []
    for lv in sorted(drawings, key=lambda x: (x != first.level, _VIEW_ORDER.index(x))):
        d = drawings[lv]
        svgs.append(_svg_text(d, backend=backend, timeout=timeout))
        view: dict[str, Any] = {"level": lv, "label": _(_VIEW_WORDS[lv]), "rankdir": d.rankdir}
        if lv != "scalar":
            view["nodes"] = [{"id": n.index, "members": [index[str(v)] for v in n.members],
                              **({"bias": index[str(b)]} if (b := _bias_of(graph, n.members)) is not None else {})}
                             for n in d.nodes]
            view["edges"] = [{"id": e.id, "members": [edge_index[(index[str(u)], index[str(v)], slot)]
                                                      for u, v, slot in e.members],
                              **({"weight": index[str(e.weight)]} if e.weight is not None else {})}
                             for e in d.edges]
        maps.append(view)
    order = [v["level"] for v in maps]
    # The buttons read finest first; the page opens with the first SVG (the chosen level).
    buttons = sorted(range(len(maps)), key=lambda k: _VIEW_ORDER.index(order[k]))
    for rank, k in enumerate(buttons):
        maps[k]["button"] = rank
    return maps, svgs


def _bias_of(graph: Graph, members: list[Any]) -> Any:
    attrs = graph.core.nodes
    found = [v for v in members if attrs[v].get("role") == "bias"] if len(members) > 1 else []
    return found[0] if len(found) == 1 else None


def _svg_text(drawing: Any, *, backend: str, timeout: float | None) -> str:
    """A drawing laid out by Graphviz as inline SVG: no XML prolog, DOCTYPE, comments or titles."""
    from .render import layout

    svg = layout(drawing.dot(), "svg", backend=backend, timeout=timeout).decode("utf-8")
    start = svg.find("<svg")
    if start < 0:
        raise GraphError(_("the layout program returned no SVG"))
    svg = svg[start:]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<title>.*?</title>\n?", "", svg, flags=re.S)
    # xlink:href targets (from URL attributes) are never wanted in an offline page.
    svg = re.sub(r'\s(?:xlink:)?href="[^"]*"', "", svg)
    return svg


# The page's own words, by their place in _PAGE (the template reads {t[key]}), translated when a
# page is built.
_PAGE_WORDS = {
    "legend": N_("legend"), "current": N_("current step"), "back": N_("gradient flowing back"),
    "path": N_("path to the output"), "stepping": N_("step-through"),
    "reset": N_("reset"), "reset_title": N_("reset (r)"), "prev": N_("prev"), "prev_title": N_("previous step (←)"),
    "play": N_("play"), "play_title": N_("play / pause (space)"), "next": N_("next"),
    "next_title": N_("next step (→)"), "end": N_("end"), "end_title": N_("show everything (e)"),
    "zoom": N_("zoom"), "zoom_out": N_("zoom out (−)"), "zoom_in": N_("zoom in (+)"), "fit": N_("fit"),
    "fit_title": N_("fit the whole drawing (0)"), "natural": N_("natural size, or back to fit (z)"),
    "fold": N_("fold or unfold"),
    "keys": N_("keys: ← → space r · + − 0 z zoom · drag, wheel, shift+arrows pan and zoom · click a node for "
               "its paths · double-click folds or unfolds"),
    "step": N_("Step"), "paths": N_("Paths"), "click_node": N_("Click a node to list every path from it to the output."),
    "values": N_("Values"), "restore": N_("restore"), "results": N_("Results"), "node": N_("node"),
    "value": N_("value"), "training": N_("Training"),
    "own_data": N_("train on your own data: a CSV file whose columns are the script's inputs"),
    "your_data": N_("your data…"),
    "drop": N_("Drop a CSV file onto the page (or pick one) to train this network on it: one column per input of "
               "the script, named like them."),
}

PAGE_TEXTS: tuple[str, ...] = (
    N_("weight {name} = {value}"), N_("click it for its paths; double-click a neuron to unfold it"),
    N_("{n} edges of the graph"), N_("double-click a node to unfold it"), N_("every op (unfold everything)"),
    N_("one node per neuron"), N_("one node per layer"), N_("one node per array"), N_("fit"),
    N_("local derivative of {op}, operand {k}"), N_("line {n}"),
    N_("Warning: {name} is not a finite number with these values (outside the domain of {op})."),
    N_("step {k} / {n}"), N_("Click a node to list every path from it to the output."), N_("sum over {n} path"),
    N_("sum over {n} paths"), N_("The output does not depend on {name}: no paths, gradient 0."), N_("path"),
    N_("factors (local derivatives)"), N_("product"), N_("sum over all {n} paths (forward DP)"),
    N_("backprop {dd}"), N_("equal"), N_("differs"),
    N_("Listing the first {k} of {n} paths; the sum above covers all of them."),
    N_("The first {k} of {n} inputs and params."), N_("play"), N_("pause"), N_("learning rate"), N_("batch"),
    N_("steps/s"), N_("train"), N_("one step"), N_("reset weights"),
    N_("Gradient descent on {rows} of {total} rows of {name}: each step averages the gradients of one batch (in "
       "one vectorised pass) and moves every param against it. Edge colour: the weight's sign (blue +, orange −, "
       "as in the diagrams); width: its size."),
    N_("Gradient descent on {rows} rows of {name}: each step averages the gradients of one batch (in one "
       "vectorised pass) and moves every param against it. Edge colour: the weight's sign (blue +, orange −, as "
       "in the diagrams); width: its size."),
    N_("loss over the whole data set"),
    N_("the class of the largest of {k} logits over the plane ({classes} in the points' colours; paler where two "
       "logits are close); click a point to trace it in the graph"),
    N_("class {c}"),
    N_("prediction {name} over the plane (blue 1, orange 0); click a point to trace it in the graph"),
    N_("step {k} · loss {loss}"), N_("accuracy {a}%"), N_("step {k}"),
    N_("{title} declares no param: there is nothing to train"),
    # a dropped CSV's errors: read_csv's and _data_model's own msgids (graphtrace.data, above)
    N_("empty cell"), N_("non-finite value {cell}"), N_("{cell} is not a number"),
    N_("{n} columns, more than the limit of {limit}"), N_("set {variable} to raise the limit"),
    N_("column {k} has an empty name"), N_("column {k}: {name} is not a valid column name"),
    N_("the first line that is not blank or a comment must name the columns, e.g. x1,x2,y"),
    N_("names use letters, digits and _, and do not start with a digit"),
    N_("column {k}: '{name}' is a Python keyword and cannot be an input name"),
    N_("column {k}: '{name}' is not in normal form; write it as '{normal}'"),
    N_("duplicate column name '{name}' (columns {first} and {k})"),
    N_("binary content (a NUL byte); a CSV file must be text"),
    N_("more than {most} data rows (the limit); row {row} is here"),
    N_("more than {most} numbers ({columns} columns × {rows} rows, the limit); row {row} is here"),
    N_("expected {n} cells ({columns}), found {found}"), N_("column {column}: {problem}"),
    N_("cells must be plain decimal numbers such as 3, -0.25 or 1.5e-3"),
    N_("no header: the file has no lines except blanks and comments"),
    N_("the first line must name the columns, e.g. x1,x2,y"), N_("no data rows after the header"),
    N_("{data}: column '{column}' is not an input of {graph}; the inputs are {inputs}"), N_("(none)"),
    N_("name the CSV columns after the script's inputs (x1, x2, ..., y)"),
    N_("{data}: no feature column to train on"),
)
"""The English texts explorer.js shows through ``say(text, args)``: the page model's ``ui`` maps each
to its translation (a test keeps this list and the script's ``say`` calls equal)."""


def page_texts() -> dict[str, str]:
    """The ``ui`` map of a page in the current language: each of :data:`PAGE_TEXTS` that the
    catalog translates (empty in English: the script falls back to its own words)."""
    if language() == "en":
        return {}
    return {text: _(text) for text in PAGE_TEXTS if _(text) != text}


_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="graphtrace {version}">
<title>{title} · graphtrace explorer</title>
<style>
{css}
</style>
</head>
<body data-phase="start" data-step="0">
<header class="gt-header">
  <div class="gt-brand">graphtrace <span>explorer</span></div>
  <h1>{title}</h1>
  <div class="gt-legend" aria-label="{t[legend]}">
    <span class="gt-key gt-key-current">{t[current]}</span>
    <span class="gt-key gt-key-back">{t[back]}</span>
    <span class="gt-key gt-key-path">{t[path]}</span>
  </div>
</header>
<main class="gt-main">
  <section class="gt-graph-pane">
    <div class="gt-controls" role="toolbar" aria-label="{t[stepping]}">
      <button type="button" id="gt-reset" title="{t[reset_title]}">&#x27F2; {t[reset]}</button>
      <button type="button" id="gt-prev" title="{t[prev_title]}">&#x25C0; {t[prev]}</button>
      <button type="button" id="gt-play" title="{t[play_title]}">&#x25B6; {t[play]}</button>
      <button type="button" id="gt-next" title="{t[next_title]}">{t[next]} &#x25B6;</button>
      <button type="button" id="gt-end" title="{t[end_title]}">{t[end]} &#x21E5;</button>
      <span id="gt-counter" class="gt-counter"></span>
      <span class="gt-zoombar" role="group" aria-label="{t[zoom]}">
        <button type="button" id="gt-zoom-out" title="{t[zoom_out]}">&#x2212;</button>
        <button type="button" id="gt-zoom-in" title="{t[zoom_in]}">+</button>
        <button type="button" id="gt-fit" title="{t[fit_title]}">{t[fit]}</button>
        <button type="button" id="gt-zoom" title="{t[natural]}">1:1</button>
      </span>
      <span id="gt-levels" class="gt-levels" role="group" aria-label="{t[fold]}"></span>
      <span class="gt-keys">{t[keys]}</span>
    </div>
    <div id="gt-svg" class="gt-svg">
{svg}
    </div>
    <div id="gt-tooltip" class="gt-tooltip" role="tooltip" hidden></div>
    <div id="gt-callout" class="gt-callout" hidden></div>
  </section>
  <aside class="gt-side">
    <div class="gt-card gt-explain-card">
      <h2 id="gt-phase">{t[step]}</h2>
      <div id="gt-explain" class="gt-explain" aria-live="polite"></div>
    </div>
    <div class="gt-card" id="gt-paths-card">
      <h2>{t[paths]}</h2>
      <div id="gt-paths" class="gt-paths"><p class="gt-muted">{t[click_node]}</p></div>
    </div>
    <div class="gt-stack">
      <div class="gt-card">
        <h2>{t[values]} <button type="button" id="gt-restore" class="gt-small">{t[restore]}</button></h2>
        <div id="gt-inputs" class="gt-inputs"></div>
      </div>
      <div class="gt-card">
        <h2>{t[results]}</h2>
        <div class="gt-results-box"><table id="gt-results" class="gt-results"><thead><tr><th>{t[node]}</th><th>{t[value]}</th><th>&#x2202;{output}/&#x2202;{t[node]}</th></tr></thead><tbody></tbody></table></div>
      </div>
    </div>
    <div class="gt-card" id="gt-train-card" hidden>
      <h2>{t[training]} <label class="gt-small gt-file" title="{t[own_data]}">{t[your_data]}<input type="file" id="gt-csv" accept=".csv,text/csv,text/plain"></label></h2>
      <div id="gt-data-error" class="gt-data-error" role="alert" hidden></div>
      <div id="gt-train"><p class="gt-muted gt-drop-hint">{t[drop]}</p></div>
    </div>
  </aside>
</main>
<footer class="gt-footer">{footer}</footer>
{model}
<script>
{js}
</script>
</body>
</html>
"""


def build_html(graph: Graph, *, values: Mapping[Any, float] | None = None, data: Dataset | None = None,
               wrt: Any = None, backend: str = "auto", timeout: float | None = None,
               train: Mapping[str, float] | None = None, **dot_options: Any) -> str:
    """The explorer page for ``graph`` as one self-contained HTML document.

    Args:
        graph: the parsed graph.
        results: its computed values and gradients (default: ``graph.analyse(values)``).
        values: overrides for inputs and params (as ``--set``), when ``results`` is not given.
        data: a data set for the training view (its columns name inputs of the graph).
        train: the training view's starting ``lr`` and ``batch`` (default 0.5 and 10).
        wrt: a node whose paths to the output are highlighted when the page opens.
        backend: the Graphviz backend for the one layout (``auto``, ``system``, ``bundled``).
        timeout: layout timeout in seconds (default: the renderer's).
        **dot_options: passed to ``graphtrace.dot.to_dot`` (the page defaults to ``view="both"``).

    >>> from graphtrace import parse
    >>> page = build_html(parse("x: input = 2\\ny = x*x"))
    >>> page.startswith("<!DOCTYPE html>"), page.count("<script"), 'id="n0"' in page
    (True, 2, True)
    """
    from .version import __version__

    model = build_model(graph, values=values, data=data, wrt=wrt, train=train)
    views, svgs = _views(graph, model, values=values, backend=backend, timeout=timeout, dot_options=dot_options,
                         training=data is not None)
    model["views"] = views
    ui = page_texts()
    if ui:
        model["ui"] = ui
    # The opening view inline; the others wait in inert templates (their ids stay out of the DOM
    # until the page switches to them, so every id in the document is unique).
    svg = svgs[0] + "".join(f'\n<template id="gt-view-{k}">{text}</template>' for k, text in enumerate(svgs) if k)
    # The generated op table first: explorer.js reads it as GRAPHTRACE_OPS (one script element).
    js = ops_script(model["ops"]) + asset_text("explorer.js")
    css = asset_text("explorer.css")
    if "</script" in js.lower() or "<!--" in js:
        raise GraphError(_("explorer.js must not contain '</script' or '<!--'"))
    title = html.escape(xml_safe(_title(graph)))
    footer = html.escape(_("Made by graphtrace {version} from {file}. Works offline: everything is in this file.")).format(
        version=html.escape(__version__), file=f"<code>{title}</code>")
    return _PAGE.format(
        lang=language(),
        t={key: html.escape(_(text)) for key, text in _PAGE_WORDS.items()},
        footer=footer,
        version=html.escape(__version__),
        title=html.escape(xml_safe(_title(graph))),
        output=html.escape(xml_safe(str(graph.output))),
        css=css,
        svg=svg,
        model=model_element(model),
        js=js,
    )


PACK_OVER = 1_000_000
"""A page model longer than this (characters of JSON) is embedded gzip-compressed, in base64: a
16-64-64-10 network's 21.6 MB model (its 35,056 steps) becomes 2.8 MB. The page unpacks it with the
browser's DecompressionStream (Chrome and Edge 80, Firefox 113, Safari 16.4 and later)."""


def model_element(model: Mapping[str, Any], *, pack_over: int | None = None) -> str:
    """The ``<script>`` element that carries the page model: JSON (``id="gt-model"``), or, past
    ``pack_over`` characters (default :data:`PACK_OVER`), the same JSON gzip-compressed and in
    base64 (``id="gt-model-gz"``), with the page's words for a browser that cannot unpack it.
    Deterministic: the gzip header carries no time.

    >>> model_element({"a": 1})
    '<script type="application/json" id="gt-model">{"a":1}</script>'
    >>> model_element({"a": 1}, pack_over=2).startswith('<script type="application/gzip+base64" id="gt-model-gz"')
    True
    """
    import base64
    import gzip

    text = embed_json(model)
    limit = PACK_OVER if pack_over is None else pack_over
    if len(text) <= limit:
        return f'<script type="application/json" id="gt-model">{text}</script>'
    packed = base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")
    old = html.escape(_("This page's data is compressed, and this browser cannot unpack it (it lacks "
                        "DecompressionStream): open the page in a current Chrome, Edge, Firefox or Safari."))
    damaged = html.escape(_("This page's data is damaged and cannot be read; write the page again."))
    return (f'<script type="application/gzip+base64" id="gt-model-gz" data-old-browser="{old}" '
            f'data-damaged="{damaged}">{packed}</script>')


def read_model(page: str) -> dict[str, Any]:
    """The model of an explorer page's HTML, packed or not (for tests and tools that read pages).

    >>> sorted(read_model(build_html(__import__("graphtrace").parse("x: input = 2\\ny = x*x"))))[:3]
    ['data', 'edges', 'format']
    """
    import base64
    import gzip
    import re

    found = re.search(r'id="gt-model">(.*?)</script>', page, re.S)
    if found:
        return dict(json.loads(found.group(1)))
    found = re.search(r'id="gt-model-gz"[^>]*>(.*?)</script>', page, re.S)
    if not found:
        raise GraphError(_("this is not an explorer page: it holds no model"))
    return dict(json.loads(gzip.decompress(base64.b64decode(found.group(1))).decode("utf-8")))


def write_html(graph: Graph, path: str | os.PathLike[str], *, values: Mapping[Any, float] | None = None,
               data: Dataset | None = None, wrt: Any = None, backend: str = "auto",
               timeout: float | None = None, train: Mapping[str, float] | None = None,
               **dot_options: Any) -> None:
    """Write the explorer page for ``graph`` to ``path`` atomically (see :func:`build_html`).

    >>> import tempfile, pathlib
    >>> from graphtrace import parse
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.html"
    >>> write_html(parse("x: input = 2\\ny = x*x"), p)
    >>> p.read_text(encoding="utf-8").count('type="application/json"')
    1
    """
    page = build_html(graph, values=values, data=data, wrt=wrt, backend=backend, timeout=timeout, train=train,
                      **dot_options)
    from .files import atomic_write

    atomic_write(path, page.encode("utf-8"))


class Page:
    """An explorer page held in memory: Jupyter, VS Code and Colab show it inline (an ``<iframe>``
    whose ``srcdoc`` is the page, sandboxed to run its own scripts and nothing else);
    :meth:`save` writes it to a file.

    >>> from graphtrace import parse
    >>> page = Page(build_html(parse("x: input = 2\\ny = x*x")), title="y")
    >>> frame = page._repr_html_()
    >>> frame.startswith("<iframe") and 'sandbox="allow-scripts"' in frame and "srcdoc=" in frame
    True
    """

    def __init__(self, html_text: str, *, title: str = "graphtrace explorer", height: int = 640):
        self.html = html_text
        self.title = title
        self.height = height

    def _repr_html_(self) -> str:
        # srcdoc holds the whole page, attribute-escaped; the sandbox lets its scripts run in an
        # opaque origin: no access to the notebook, its cookies or its kernel.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                f'title="{html.escape(self.title, quote=True)}" '
                f'style="width:100%;height:{int(self.height)}px;border:1px solid #ddd;border-radius:4px">'
                "</iframe>")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the page to ``path`` (atomically), to open in a browser or send."""
        from .files import atomic_write

        atomic_write(path, self.html.encode("utf-8"))

    def __repr__(self) -> str:
        return f"<graphtrace explorer page {self.title!r}: {len(self.html):,} characters>"
