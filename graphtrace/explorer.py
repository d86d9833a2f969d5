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

__all__ = ["build_model", "build_html", "write_html", "embed_json", "asset_text", "ops_script",
           "MAX_DATA_ROWS"]

import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import DataError, GraphError
from .graph import operands
from .layers import prediction_node
from .ops import JS_PRELUDE, OPS
from .text import fmt, parenthesise, source_span

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
    ``name: { f: function (a, b) {...}, d: [function (o, a, b) {...}, ...] }``, with the shared
    helpers of :data:`graphtrace.ops.JS_PRELUDE` in scope and kept out of the global namespace.

    >>> print(ops_script(["mul"]).splitlines()[-3])
        "mul": { f: function (a, b) { return a * b; }, d: [function (o, a, b) { return b; }, function (o, a, b) { return a; }] }
    """
    wanted = set(OPS) if names is None else set(names)
    unknown = sorted(wanted - set(OPS))
    if unknown:
        raise GraphError(f"no such op: {', '.join(unknown)}")
    entries = []
    for op in OPS.values():
        if op.name not in wanted:
            continue
        if not op.js.strip() or len(op.js_partials) != op.arity or not all(d.strip() for d in op.js_partials):
            raise GraphError(f"op '{op.name}' has no JavaScript form (js and one js_partials entry per operand)")
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
    g = graph.nx
    out: dict[Any, str] = {}
    for v in order:
        d = g.nodes[v]
        if d.get("named"):
            out[v] = str(v)
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
    g = graph.nx
    inputs = {str(v): v for v in graph.inputs}
    columns = list(data.columns)
    missing = [c for c in columns if c not in inputs]
    if missing:
        raise DataError(f"{data.name}: column '{missing[0]}' is not an input of {graph.name}; "
                        f"the inputs are {', '.join(inputs) or '(none)'}",
                        hint="name the CSV columns after the script's inputs (x1, x2, ..., y)")
    features = [inputs[c] for c in data.feature_names]
    target = inputs.get("y") if "y" in columns else None
    if len(features) == 0:
        raise DataError(f"{data.name}: no feature column to train on")
    rows = data.values[:MAX_DATA_ROWS]
    predict = prediction_node(graph)
    predict = graph.output if predict is None else predict
    return {
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


def build_model(graph: Graph, results: Analysis | None = None, *, values: Mapping[Any, float] | None = None,
                data: Dataset | None = None, wrt: Any = None) -> dict[str, Any]:
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
    g = graph.nx
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
                "symbolic": op.symbolic[slot].format(*names, out=parenthesise(disp[v])),
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
        "data": None if data is None else _data_model(graph, data, index),
    }
    return model


def _svg(graph: Graph, *, values: Mapping[Any, float] | None, backend: str, timeout: float | None,
         dot_options: Mapping[str, Any]) -> str:
    """The Graphviz drawing as inline SVG: no XML prolog, DOCTYPE, comments or titles."""
    from .dot import to_dot
    from .render import layout

    options = dict(dot_options)
    options.setdefault("view", "both")
    text = to_dot(graph, values=values, **options)
    svg = layout(text, "svg", backend=backend, timeout=timeout).decode("utf-8")
    start = svg.find("<svg")
    if start < 0:
        raise GraphError("the layout program returned no SVG")
    svg = svg[start:]
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r"<title>.*?</title>\n?", "", svg, flags=re.S)
    # xlink:href targets (from URL attributes) are never wanted in an offline page.
    svg = re.sub(r'\s(?:xlink:)?href="[^"]*"', "", svg)
    return svg


_PAGE = """<!DOCTYPE html>
<html lang="en">
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
  <div class="gt-legend" aria-label="legend">
    <span class="gt-key gt-key-current">current step</span>
    <span class="gt-key gt-key-back">gradient flowing back</span>
    <span class="gt-key gt-key-path">path to the output</span>
  </div>
</header>
<main class="gt-main">
  <section class="gt-graph-pane">
    <div class="gt-controls" role="toolbar" aria-label="step-through">
      <button type="button" id="gt-reset" title="reset (r)">&#x27F2; reset</button>
      <button type="button" id="gt-prev" title="previous step (&#x2190;)">&#x25C0; prev</button>
      <button type="button" id="gt-play" title="play / pause (space)">&#x25B6; play</button>
      <button type="button" id="gt-next" title="next step (&#x2192;)">next &#x25B6;</button>
      <button type="button" id="gt-end" title="show everything (e)">end &#x21E5;</button>
      <button type="button" id="gt-zoom" title="fit the drawing to the window, or show it at full size (z)">full size</button>
      <span id="gt-counter" class="gt-counter"></span>
      <span class="gt-keys">keys: &#x2190; &#x2192; space r z &middot; click a node for its paths &middot; hover an edge</span>
    </div>
    <div id="gt-svg" class="gt-svg">
{svg}
    </div>
    <div id="gt-tooltip" class="gt-tooltip" role="tooltip" hidden></div>
    <div id="gt-callout" class="gt-callout" hidden></div>
  </section>
  <aside class="gt-side">
    <div class="gt-card gt-explain-card">
      <h2 id="gt-phase">Step</h2>
      <div id="gt-explain" class="gt-explain" aria-live="polite"></div>
    </div>
    <div class="gt-card" id="gt-paths-card">
      <h2>Paths</h2>
      <div id="gt-paths" class="gt-paths"><p class="gt-muted">Click a node to list every path from it to the output.</p></div>
    </div>
    <div class="gt-stack">
      <div class="gt-card">
        <h2>Values <button type="button" id="gt-restore" class="gt-small">restore</button></h2>
        <div id="gt-inputs" class="gt-inputs"></div>
      </div>
      <div class="gt-card">
        <h2>Results</h2>
        <div class="gt-results-box"><table id="gt-results" class="gt-results"><thead><tr><th>node</th><th>value</th><th>&#x2202;{output}/&#x2202;node</th></tr></thead><tbody></tbody></table></div>
      </div>
    </div>
    <div class="gt-card" id="gt-train-card" hidden>
      <h2>Training</h2>
      <div id="gt-train"></div>
    </div>
  </aside>
</main>
<footer class="gt-footer">Made by graphtrace {version} from <code>{title}</code>. Works offline: everything is in this file.</footer>
<script type="application/json" id="gt-model">{model}</script>
<script>
{js}
</script>
</body>
</html>
"""


def build_html(graph: Graph, *, values: Mapping[Any, float] | None = None, data: Dataset | None = None,
               wrt: Any = None, backend: str = "auto", timeout: float | None = None,
               **dot_options: Any) -> str:
    """The explorer page for ``graph`` as one self-contained HTML document.

    Args:
        graph: the parsed graph.
        results: its computed values and gradients (default: ``graph.analyse(values)``).
        values: overrides for inputs and params (as ``--set``), when ``results`` is not given.
        data: a data set for the training view (its columns name inputs of the graph).
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

    model = build_model(graph, values=values, data=data, wrt=wrt)
    svg = _svg(graph, values=values, backend=backend, timeout=timeout, dot_options=dot_options)
    # The generated op table first: explorer.js reads it as GRAPHTRACE_OPS (one script element).
    js = ops_script(model["ops"]) + asset_text("explorer.js")
    css = asset_text("explorer.css")
    if "</script" in js.lower() or "<!--" in js:
        raise GraphError("explorer.js must not contain '</script' or '<!--'")
    return _PAGE.format(
        version=html.escape(__version__),
        title=html.escape(_title(graph)),
        output=html.escape(str(graph.output)),
        css=css,
        svg=svg,
        model=embed_json(model),
        js=js,
    )


def write_html(graph: Graph, path: str | os.PathLike[str], *, values: Mapping[Any, float] | None = None,
               data: Dataset | None = None, wrt: Any = None, backend: str = "auto",
               timeout: float | None = None, **dot_options: Any) -> None:
    """Write the explorer page for ``graph`` to ``path`` atomically (see :func:`build_html`).

    >>> import tempfile, pathlib
    >>> from graphtrace import parse
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.html"
    >>> write_html(parse("x: input = 2\\ny = x*x"), p)
    >>> p.read_text(encoding="utf-8").count('type="application/json"')
    1
    """
    page = build_html(graph, values=values, data=data, wrt=wrt, backend=backend, timeout=timeout,
                      **dot_options)
    from .files import atomic_write

    atomic_write(path, page.encode("utf-8"))
