"""The explorer page without a browser: self-contained HTML, the JSON model, escaping, size, and
the page's JavaScript maths (run under node) against the Python engine."""

from __future__ import annotations

import html
import json
import math
import random
import re
import shutil
import subprocess
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from helpers import SAMPLES, RandomPicker, random_script, run_main

import graphtrace
from graphtrace import explorer
from graphtrace.api import Graph
from graphtrace.report import fmt

SAMPLE_FILES = sorted(SAMPLES.glob("*.gt"))
JS = Path(explorer.__file__).parent / "explorer_assets" / "explorer.js"
NODE = shutil.which("node")


def model_of(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="gt-model">(.*?)</script>', page, re.S)
    assert m, "no JSON model in the page"
    return json.loads(m.group(1))


def close(a: float | None, b: float, tol: float = 1e-9) -> bool:
    if a is None or b != b:  # JSON writes JavaScript's NaN as null: both sides must be NaN
        return a is None and b != b
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def neuron_page() -> str:
    return explorer.build_html(graphtrace.load(SAMPLES / "neuron.gt"))


# ---- the page --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_every_sample_page_is_self_contained_and_small(path: Path) -> None:
    page = explorer.build_html(graphtrace.load(path))
    size = len(page.encode("utf-8"))
    assert size < 3_000_000, f"{path.name}: {size:,} bytes"
    assert not re.search(r'(?:src|href)\s*=\s*["\']?\s*(?:https?:)?//', page, re.I), "an external reference"
    assert not re.search(r"<script[^>]*\bsrc\b", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<svg" in page and "<?xml" not in page and "<!DOCTYPE svg" not in page
    model = model_of(page)
    g = graphtrace.load(path)
    assert [n["name"] for n in model["nodes"]] == [str(v) for v in g.order]
    for i, _v in enumerate(g.order):  # every drawn node carries the shared id
        if g.nx.nodes[g.order[i]]["kind"] != "const":
            assert f'id="n{i}"' in page


def test_model_values_grads_and_locals_equal_the_engine(neuron_page: str) -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    fwd = g.forward()
    grads = g.backprop(forward=fwd)
    model = model_of(neuron_page)
    for i, (node, v) in enumerate(zip(model["nodes"], g.order, strict=True)):
        assert node["value"] == float(fwd.values[v]), v
        assert model["grads"][i] == float(grads[v]), v
    assert model["output"] == g.order.index("L")
    edges = {(e["tail"], e["head"], e["slot"]): e for e in model["edges"]}
    assert len(edges) == g.nx.number_of_edges()
    for (u, v, k), local in fwd.locals.items():
        e = edges[(g.order.index(u), g.order.index(v), k)]
        assert e["local"] == float(local)
    # the symbolic local derivative comes from the registry, in the script's names
    s_to_z = edges[(g.order.index("s"), g.order.index("z"), 0)]
    assert s_to_z["symbolic"] == "σ(s)·(1−σ(s))"
    # the drawing prints the numbers the page looks for (report.fmt, equal to the page's fmt)
    assert f"= {fmt(fwd.values['z'])}<" in neuron_page
    assert model["nodes"][g.order.index("z")]["named"] is True and "named" not in model["nodes"][g.order.index("const_1")]


def test_set_values_and_wrt_reach_the_model() -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    model = explorer.build_model(g, values={"α": 2.0}, wrt="α")
    alpha = g.order.index("α")
    assert model["nodes"][alpha]["value"] == 2.0
    assert model["wrt"] == alpha
    assert model["grads"][alpha] == float(g.backprop({"α": 2.0})["α"])
    with pytest.raises(graphtrace.GraphError):
        explorer.build_model(g, wrt="nope")


def test_hostile_names_cannot_break_out_of_the_page() -> None:
    evil = "a</script><script>alert(1)</script>"
    comment = "b<!--x"
    g = nx.MultiDiGraph(output="out", source="<b>evil</b>.gt")
    g.add_node(evil, kind="param", value=2.0, named=True)
    g.add_node(comment, kind="input", value=3.0, named=True)
    g.add_node("out", kind="op", op="mul", named=True)
    g.add_edge(evil, "out", key=0)
    g.add_edge(comment, "out", key=1)
    graph = Graph(g)
    page = explorer.build_html(graph)
    assert page.count("<script") == 2, "a name opened a script element"
    assert "alert(1)</script>" not in page
    assert "<!--x" not in page
    model = model_of(page)
    assert [n["name"] for n in model["nodes"]] == [evil, comment, "out"]
    assert model["grads"][0] == 3.0
    assert f"<h1>{html.escape(graph.name)}</h1>" in page


def test_embed_json_escapes_markup_and_round_trips() -> None:
    doc = {"s": "</script><!-- & \u2028 >"}
    text = explorer.embed_json(doc)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == doc


def test_data_adds_the_training_view() -> None:
    from graphtrace.data import make_dataset
    from graphtrace.network import mlp

    g = mlp([2, 3, 1], seed=0)
    data = make_dataset("triangle", 60, seed=1)
    model = explorer.build_model(g, data=data)
    d = model["data"]
    assert len(d["rows"]) == 60 and d["column_names"] == ["x1", "x2", "y"]
    assert [model["nodes"][i]["name"] for i in d["columns"]] == ["x1", "x2", "y"]
    assert model["nodes"][d["predict"]]["name"] == "o"
    page = explorer.build_html(g, data=data)
    assert len(page.encode()) < 3_000_000
    bad = make_dataset("triangle", 5).__class__(("x1", "q", "y"), np.zeros((2, 3)))
    with pytest.raises(graphtrace.DataError, match="'q' is not an input"):
        explorer.build_model(g, data=bad)


def test_write_html_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "n.html"
    explorer.write_html(graphtrace.load(SAMPLES / "neuron.gt"), out, wrt="β")
    page = out.read_text(encoding="utf-8")
    assert model_of(page)["wrt"] == graphtrace.load(SAMPLES / "neuron.gt").order.index("β")


def test_explore_command_writes_a_page_and_prints_its_path(tmp_path: Path) -> None:
    code, out, err = run_main(["explore", str(SAMPLES / "neuron.gt"), "--no-open", "--set", "α=1"])
    assert code == 0, err
    path = Path(err.strip().splitlines()[-1].split()[-1])
    assert path.exists() and path.suffix == ".html", err
    model = model_of(path.read_text(encoding="utf-8"))
    assert model["nodes"][graphtrace.load(SAMPLES / "neuron.gt").order.index("α")]["value"] == 1.0
    path.unlink()


def test_explore_command_with_data(tmp_path: Path) -> None:
    from graphtrace.data import make_dataset, write_csv
    from graphtrace.network import mlp_script

    net = tmp_path / "net.gt"
    net.write_text(mlp_script([2, 3, 1], seed=0), encoding="utf-8")
    csv = tmp_path / "t.csv"
    csv.write_text(write_csv(make_dataset("triangle", 40)), encoding="utf-8")
    code, out, err = run_main(["explore", str(net), "--data", str(csv), "--no-open"])
    assert code == 0, err
    path = Path(err.strip().splitlines()[-1].split()[-1])
    assert len(model_of(path.read_text(encoding="utf-8"))["data"]["rows"]) == 40
    path.unlink()


def test_explore_command_reports_bad_input() -> None:
    code, out, err = run_main(["explore", "-e", "x: input = 1\ny = log(x - 1)", "--no-open"])
    assert code == 2 and "log" in err and out == ""


# ---- the page's JavaScript maths under node ----------------------------------------------------
NODE_RUNNER = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
// the page's generated op table, then the core built on it (as the page inlines them)
const C = require(process.argv[1])(new Function(input.ops + "\nreturn GRAPHTRACE_OPS;")());
const cases = input.cases.map(function (c) {
  const m = C.compile(c.model);
  const over = {};
  Object.keys(c.over).forEach(function (k) { over[+k] = c.over[k]; });
  const fw = C.forwardPass(m, over);
  const g = C.backwardPass(m, fw);
  const paths = c.wrt.map(function (w) { const p = C.pathSum(m, fw, w); return [p.count.toString(), p.sum]; });
  const listed = c.wrt.map(function (w) { return C.enumeratePaths(m, fw, w, 1000).paths.length; });
  return { values: fw.values, locals: fw.locals, grads: g, paths: paths, listed: listed,
           steps: C.buildSteps(m).length };
});
const train = input.train ? (function (t) {
  const m = C.compile(t.model), over = {};
  const r = C.trainStep(m, over, t.model.data, t.batch, t.lr, t.params);
  return { loss: r.loss, grads: r.grads, params: t.params.map(function (p) { return over[p]; }) };
})(input.train) : null;
process.stdout.write(JSON.stringify({ cases: cases, fmts: input.numbers.map(function (x) { return C.formatNumber(x); }), train: train }));
"""


def run_node(payload: dict, runner: str = NODE_RUNNER) -> dict:
    payload = {"ops": explorer.ops_script(), **payload}
    proc = subprocess.run([NODE, "-e", runner, str(JS)], input=json.dumps(payload).encode(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def _graphs() -> list[Graph]:
    pick = RandomPicker(random.Random(7))
    graphs = [graphtrace.load(p) for p in SAMPLE_FILES]
    graphs += [graphtrace.parse(random_script(pick, ops=(3, 14)), name=f"random{i}.gt") for i in range(40)]
    # every op of the registry, at and off its kinks (relu'(0) = 0, abs'(0) = 0, ties → first)
    graphs.append(graphtrace.parse(
        "a: param = 0\nb: param = 0\nc: param = 1.5\n"
        "u = relu(a) + abs(b) + max(a, b) + min(a, b) + relu(c) + abs(-c)\n"
        "v = c / (a + 2) + (c ** 2.5) + c ** a + softplus(c) + softplus(-40) + sqrt(c) + log(c)\n"
        "w = exp(c) * sin(c) - cos(c) + tanh(c) + sigmoid(-c) + (+c) + max(c, a) + min(c, a) + tan(c)\n"
        "L = u * v - w", name="ops.gt"))
    # the variadic ops: one node per element, over every element
    graphs.append(graphtrace.parse(
        "v: param = [0.3, -1.2, 2.0]\nk: input = 1\np = softmax(v)\nq = log_softmax(v * 2)\n"
        "L = cross_entropy(v, k) + logsumexp(v) + p[0]*q[2] + sum(p * v) + cross_entropy(q, 2)",
        name="vector_ops.gt"))
    assert {OP for g in graphs for OP in (d.get("op") for _, d in g.nx.nodes(data=True))} >= set(graphtrace.OPS)
    return graphs


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_javascript_core_equals_the_python_engine() -> None:
    rng = random.Random(3)
    graphs = _graphs()
    cases, expected = [], []
    for g in graphs:
        index = {v: i for i, v in enumerate(g.order)}
        for trial in range(2):
            values = {} if trial == 0 else {p: round(rng.uniform(-2, 2), 3) for p in g.params}
            try:
                fwd = g.forward(values)
            except graphtrace.EvaluationError:
                continue
            grads = g.backprop(forward=fwd)
            model = explorer.build_model(g)
            wrt = [index[p] for p in g.params]
            cases.append({"model": model, "over": {str(index[k]): v for k, v in values.items()}, "wrt": wrt})
            expected.append((g, fwd, grads, index))
    numbers = [0.0, -0.0, 1.0, -2.0, 0.1, 1 / 3, 12345.678, 9999.5, 0.00012345, -1e-7, 2.5e-5, 1e300, 123.45678]
    numbers += [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(300)]
    result = run_node({"cases": cases, "numbers": numbers})
    assert len(result["cases"]) == len(expected) > 60
    for got, (g, fwd, grads, index) in zip(result["cases"], expected, strict=True):
        for v, i in index.items():
            assert close(got["values"][i], float(fwd.values[v])), (g.name, v, got["values"][i], fwd.values[v])
            assert close(got["grads"][i], float(grads[v])), (g.name, v, got["grads"][i], grads[v])
        for k, e in enumerate(explorer.build_model(g)["edges"]):
            local = float(fwd.locals[(g.order[e["tail"]], g.order[e["head"]], e["slot"])])
            assert close(got["locals"][k], local), (g.name, e)
        for (count, total), listed, p in zip(got["paths"], got["listed"], g.params, strict=True):
            assert int(count) == g.count_paths(p), (g.name, p)
            assert close(total, float(g.sum_over_paths(p, forward=fwd))), (g.name, p)
            assert listed == min(1000, g.count_paths(p))
    for x, s in zip(numbers, result["fmts"], strict=True):
        # JavaScript rounds exact decimal ties up, Python to even: skip those rare ties
        if float(f"{x:.3e}") != x:
            assert s == fmt(x), (x, s, fmt(x))


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_javascript_training_step_equals_the_python_mean_gradient() -> None:
    from graphtrace.data import make_dataset
    from graphtrace.network import mlp

    g = mlp([2, 3, 1], seed=2)
    data = make_dataset("triangle", 30, seed=4)
    model = explorer.build_model(g, data=data)
    index = {v: i for i, v in enumerate(g.order)}
    batch = [3, 7, 8, 20, 29]
    params = [index[p] for p in g.params]
    result = run_node({"cases": [], "numbers": [], "train": {"model": model, "batch": batch, "lr": 0.5, "params": params}})
    cols = data.as_dict()
    values = {c: cols[c][batch] for c in data.columns}
    fwd = g.forward(values)
    grads = g.backprop(forward=fwd)
    assert close(result["train"]["loss"], float(np.mean(fwd.values["L"])))
    for q, p in enumerate(g.params):
        mean = float(np.mean(grads[p]))
        assert close(result["train"]["grads"][q], mean), p
        assert close(result["train"]["params"][q], g.nx.nodes[p]["value"] - 0.5 * mean), p
    assert all(math.isfinite(x) for x in result["train"]["grads"])


# ---- the page's op table is generated from the registry -------------------------------------------
OPS_RUNNER = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const C = require(process.argv[1])(new Function(input.ops + "\nreturn GRAPHTRACE_OPS;")());
// JSON has no NaN or infinities: numbers travel as strings ("NaN", "-Infinity", "-0.0") both ways
function enc(x) { return typeof x === "number" ? String(x) : "not a number: " + String(x); }
process.stdout.write(JSON.stringify(input.cases.map(function (c) {
  const op = C.OPS[c.op], args = c.args.map(Number), out = op.f.apply(null, args);
  if (op.dv) { return [enc(out)].concat(args.map(function (_, j) { return enc(op.dv(out, args, j)); })); }
  return [enc(out)].concat(op.d.map(function (d) { return enc(d.apply(null, [out].concat(args))); }));
})));
"""

INF, NAN = math.inf, math.nan
# Kinks, ties, domain edges and overflow, beside each op's own samples (op.samples).
EDGE_POINTS: dict[str, tuple[tuple[float, ...], ...]] = {
    "relu": ((0.0,), (-0.0,), (1e-300,), (-1e-300,)),
    "abs": ((0.0,), (-0.0,), (1e-300,), (-1e-300,)),
    "max": ((0.0, 0.0), (1.5, 1.5), (-2.0, -2.0), (0.0, -0.0), (-800.0, 800.0)),
    "min": ((0.0, 0.0), (1.5, 1.5), (-2.0, -2.0), (0.0, -0.0), (-800.0, 800.0)),
    "pow": ((0.0, 2.0), (0.0, 0.5), (0.0, 0.0), (2.0, 0.0), (-2.0, 3.0), (-2.0, 2.0), (-2.0, 0.5),
            (-1.5, -2.0), (0.0, -1.0), (1e-300, 2.0), (3.0, 700.0), (0.5, -800.0), (NAN, 0.0),
            (1.0, INF), (1.0, -INF), (-1.0, INF), (-1.0, -INF), (0.5, INF), (2.0, -INF)),
    "div": ((1.0, 0.0), (-1.0, 0.0), (0.0, 0.0), (1e300, 1e-300)),
    "sigmoid": ((0.0,), (40.0,), (-40.0,), (700.0,), (-700.0,), (800.0,), (-800.0,)),
    "softplus": ((0.0,), (40.0,), (-40.0,), (700.0,), (-700.0,), (800.0,), (-800.0,)),
    "exp": ((0.0,), (700.0,), (-700.0,), (800.0,), (-800.0,)),
    "tanh": ((0.0,), (20.0,), (-20.0,), (800.0,), (-800.0,)),
    "log": ((1.0,), (0.0,), (-1.0,), (1e-300,), (1e300,)),
    "sqrt": ((0.0,), (1e-300,), (-1.0,), (1e300,)),
    "tan": ((0.0,), (1.5,), (-1.5,)),
}
# Every op also sees these: non-finite operands must come out the same on both sides.
UNARY_EDGES = ((NAN,), (INF,), (-INF,), (-800.0,), (800.0,))
BINARY_EDGES = ((NAN, 1.0), (1.0, NAN), (INF, 2.0), (-INF, 2.0), (2.0, INF))
# Variadic ops (the last operand is a class index for cross_entropy): overflow-safe shifts, ties
VARIADIC_EDGES = ((800.0, -800.0, 1.0), (1000.0, 1000.0, 0.0), (-800.0, -800.0, 1.0), (0.0, 0.0, 0.0),
                  (1.0, 2.0, 0.5), (1.0, 2.0, 5.0), (1.0, 2.0, -1.0))


def _op_cases() -> list[tuple[str, tuple[float, ...]]]:
    cases: dict[tuple[str, str], tuple[str, tuple[float, ...]]] = {}
    for op in graphtrace.OPS.values():
        generic = UNARY_EDGES if op.arity == 1 else VARIADIC_EDGES if op.variadic else BINARY_EDGES
        for args in (*op.samples, *EDGE_POINTS.get(op.name, ()), *generic):
            assert len(args) == op.arity or op.variadic, (op.name, args)
            cases.setdefault((op.name, repr(args)), (op.name, tuple(float(x) for x in args)))
    return list(cases.values())


def _js_number(x: float) -> str:
    """``x`` as a string that JavaScript's Number() reads back exactly."""
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity") if math.isinf(x) else repr(x)


def same(a: float, b: float, tol: float = 1e-9) -> bool:
    """Equal to ``tol`` relative; NaN equals NaN, an infinity only the same infinity."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(abs(a), abs(b))


def test_every_registry_op_has_a_javascript_form() -> None:
    for op in graphtrace.OPS.values():
        assert op.js.strip(), f"{op.name}: no js forward"
        arity = op.arity or 1  # a variadic op has one js partial over (o, args, j)
        assert len(op.js_partials) == arity, f"{op.name}: {len(op.js_partials)} js partials for {op.arity} operands"
        assert all(d.strip() for d in op.js_partials), op.name
        assert op.samples, f"{op.name}: no sample points"
    script = explorer.ops_script()
    for op in graphtrace.OPS.values():
        if op.variadic:
            assert (f"{json.dumps(op.name)}: {{ f: function () {{ var args = Array.prototype.slice.call(arguments); "
                    f"return {op.js}; }}, dv: function (o, args, j) {{ return {op.js_partials[0]}; }} }}") in script
        else:
            assert f"{json.dumps(op.name)}: {{ f: function (a, b) {{ return {op.js}; }}" in script, op.name


def test_ops_script_is_deterministic_in_registry_order_and_refuses_missing_forms(monkeypatch) -> None:
    import dataclasses

    script = explorer.ops_script()
    assert script == explorer.ops_script()
    assert script.startswith("var GRAPHTRACE_OPS = (function () {")
    assert graphtrace.ops.JS_PRELUDE.strip().split("\n")[0] in script
    keys = re.findall(r'^ {4}"(\w+)": \{ f:', script, re.M)
    assert keys == list(graphtrace.OPS)
    # a subset keeps registry order, whatever order it is asked in
    assert re.findall(r'^ {4}"(\w+)": \{ f:', explorer.ops_script(["tanh", "add"]), re.M) == ["add", "tanh"]
    with pytest.raises(graphtrace.GraphError, match="no such op"):
        explorer.ops_script(["nope"])
    # a new op without a JavaScript form cannot reach a page
    monkeypatch.setitem(explorer.OPS, "cube", dataclasses.replace(graphtrace.OPS["tanh"], name="cube", js=""))
    with pytest.raises(graphtrace.GraphError, match="'cube' has no JavaScript form"):
        explorer.ops_script()
    monkeypatch.setitem(explorer.OPS, "cube", dataclasses.replace(graphtrace.OPS["mul"], name="cube", js_partials=("b",)))
    with pytest.raises(graphtrace.GraphError, match="'cube' has no JavaScript form"):
        explorer.ops_script(["cube"])


def test_the_page_inlines_the_generated_table_before_the_core(neuron_page: str) -> None:
    model = model_of(neuron_page)
    table = explorer.ops_script(model["ops"])
    script = neuron_page.split("<script>\n", 1)[1].split("</script>", 1)[0]
    assert script.startswith(table) and script[len(table):].startswith(JS.read_text(encoding="utf-8"))
    assert set(re.findall(r'^ {4}"(\w+)": \{ f:', table, re.M)) == set(model["ops"])


def test_explorer_js_holds_no_op_maths() -> None:
    text = JS.read_text(encoding="utf-8")
    for pattern in (r"Math\.(?:tanh|log|log1p|exp|expm1|sin|cos|tan|sqrt|pow)\s*\(",
                    r"\bo\s*\*\s*\(\s*1\s*-\s*o\s*\)", r"\b1\s*[-+]\s*o\s*\*\s*o\b", r"-\s*o\s*/\s*b\b",
                    r"\b0\.5\s*/\s*o\b", r"\bfunction\s+(?:sigmoid|softplus|sign)\b", r"\bvar\s+OPS\b",
                    r"\bf\s*:\s*(?:function\b|Math\.)"):
        assert not re.search(pattern, text), f"explorer.js has hand-written op maths: {pattern}"
    for op in graphtrace.OPS.values():
        assert not re.search(rf"[\"']?\b{op.name}\b[\"']?\s*:\s*\{{", text), f"explorer.js has an entry for {op.name}"
        for form in (op.js, *op.js_partials):
            if "(" in form:  # the short ones (a + b, o, 1) are everyday JavaScript
                assert form not in text, (op.name, form)


def _js_op_mismatches(cases: list[tuple[str, tuple[float, ...]]]) -> list[str]:
    """Each op's JavaScript forward and partials (under node) against op.forward and op.partials."""
    got = run_node({"cases": [{"op": name, "args": [_js_number(x) for x in args]} for name, args in cases]},
                   OPS_RUNNER)
    assert len(got) == len(cases)
    bad = []
    for (name, args), row in zip(cases, got, strict=True):
        op = graphtrace.OPS[name]
        with np.errstate(all="ignore"):  # numpy scalars, as the engine evaluates: 1/0 is inf, not an error
            x = [np.float64(a) for a in args]
            out = np.float64(op.forward(*x))
            want = [float(out)] + [float(d) for d in op.partials_at(out, *x)]
        if not all(re.fullmatch(r"-?(?:NaN|Infinity|[0-9.e+-]+)", x) for x in row):
            bad.append(f"{name}{args}: js gave {row}")
            continue
        js = [float(x) for x in row]
        for what, w, j in zip(["forward", *(f"∂/∂arg{i}" for i in range(len(args)))], want, js, strict=True):
            if not same(j, w):
                bad.append(f"{name}{args} {what}: js {j!r}, python {w!r}")
    return bad


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_javascript_ops_equal_the_registry_at_samples_kinks_and_extremes() -> None:
    cases = _op_cases()
    assert {name for name, _ in cases} == set(graphtrace.OPS) and len(cases) > 200
    bad = _js_op_mismatches(cases)
    assert not bad, "\n".join(bad)


# ---- issue 15: views, your own data ------------------------------------------------------------
def test_page_offers_every_view_of_a_network() -> None:
    g = graphtrace.load(SAMPLES / "triangle.gt")
    page = explorer.build_html(g)
    model = model_of(page)
    views = model["views"]
    assert [v["level"] for v in views] == ["scalar", "neuron", "layer"]  # the opening one first
    assert [v["button"] for v in views] == [0, 1, 2]
    # the other views wait in templates: every id of theirs is in the page, none twice in the DOM
    assert page.count('<template id="gt-view-') == 2
    live = page.split("<template")[0]
    assert live.count('id="n9"') == 1
    neuron = views[1]
    order = [str(v) for v in g.order]
    h1 = next(n for n in neuron["nodes"] if n["id"] == order.index("h1_1"))
    assert sorted(order[i] for i in h1["members"]) == sorted(["w1_1_1", "w1_2_1", "b1_1", "mul_1", "mul_2", "add_1",
                                                              "z1_1", "h1_1"])
    assert order[h1["bias"]] == "b1_1"
    weights = {order[e["weight"]]: e for e in neuron["edges"] if "weight" in e}
    assert len(weights) == 9
    edge = weights["w1_1_1"]
    assert edge["id"] == f"e{order.index('x1')}_{order.index('h1_1')}_0"
    assert [(model["edges"][k]["tail"], model["edges"][k]["head"]) for k in edge["members"]] == [
        (order.index("x1"), order.index("mul_1"))]
    # a script that is not a network has one view and no buttons' worth of choice
    assert [v["level"] for v in model_of(explorer.build_html(graphtrace.load(SAMPLES / "neuron.gt")))["views"]] == ["scalar"]


def test_a_training_page_opens_one_node_per_neuron() -> None:
    from graphtrace.data import make_dataset

    g = graphtrace.load(SAMPLES / "symmetry_random.gt")
    model = model_of(explorer.build_html(g, data=make_dataset("triangle", 30, seed=0)))
    assert model["views"][0]["level"] == "neuron"
    assert model["trainable"]["inputs"] == {"x1": 0, "x2": 1, "y": [str(v) for v in g.order].index("y")}
    assert model["trainable"]["colors"] == {"positive": "#2166ac", "negative": "#e0701b"}


CSV_RUNNER = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const C = require(process.argv[1])(new Function(input.ops + "\nreturn GRAPHTRACE_OPS;")());
const out = input.cases.map(function (c) {
  try { return { ok: C.dataFromCsv(c.text, c.name, input.spec, input.ui) }; }
  catch (e) { if (!e.graphtrace) { throw e; } return { error: e.message }; }
});
process.stdout.write(JSON.stringify(out));
"""

BAD_CSVS = [
    "x1,x2,y\n1,abc,0\n", "x1,x2,y\n1,2\n", "x1,x2,y\n1,,0\n", "x1,x2,y\n1,nan,0\n", "x1,x2,y\n1,1e400,0\n",
    "x1,x2,y\n1,1_000,0\n", "", "# only a comment\n\n", "x1,x2,y\n", "x1,,y\n1,2,3\n", "x1,2x,y\n1,2,3\n",
    "1,2,3\n4,5,6\n", "x1,class,y\n1,2,3\n", "x1,x1,y\n1,2,3\n", "x1,x2,z\n1,2,3\n", "y\n1\n",
    "x1,x2,y\n1,\"2\",0\n3,4,five\n", "\ufeffx1,x2,y\r\n1,2,0\r\n3,x,1\r\n", "x1,x2,y\n1,2,0\x00\n",
    "x1,x2,y\n1,2,0\n" + "1," + "9" * 60 + "z,0\n",
]


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_page_reads_a_csv_as_the_command_line_does(tmp_path: Path) -> None:
    """A CSV dropped onto the page is checked with the same messages as `graphtrace render --data`
    (read_csv, then the explorer's column check), and a good one gives the same training data."""
    from graphtrace.data import read_csv
    from graphtrace.errors import GraphtraceError

    g = graphtrace.parse((SAMPLES / "symmetry_random.gt").read_text(encoding="utf-8"), name="net.gt")
    model = explorer.build_model(g)
    cases = [{"text": text, "name": "mine.csv"} for text in BAD_CSVS]
    good = (SAMPLES / "triangle.csv").read_text(encoding="utf-8")
    cases.append({"text": good, "name": "mine.csv"})
    payload = {"ops": explorer.ops_script(), "cases": cases, "spec": model["trainable"]}
    proc = subprocess.run([NODE, "-e", CSV_RUNNER, str(JS)], input=json.dumps(payload).encode(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    got = json.loads(proc.stdout)
    for case, result in zip(cases, got, strict=True):
        try:
            data = read_csv(text=case["text"], name="mine.csv")
            expected = explorer.build_model(g, data=data)["data"]
        except GraphtraceError as exc:
            assert result.get("error") == str(exc), (case["text"][:40], result, str(exc))
            continue
        assert "ok" in result, (case["text"][:40], result)
        for key in ("columns", "column_names", "rows", "n_total", "features", "target", "predict"):
            assert result["ok"][key] == expected[key], key
    assert sum("error" in r for r in got) == len(BAD_CSVS)


def test_a_russian_page_reads_a_csv_in_russian() -> None:
    """On a Russian page a dropped CSV's errors are the command line's Russian ones: the model's ui
    carries read_csv's translated messages and the page's reader gives the same text as read_csv."""
    from graphtrace.data import read_csv
    from graphtrace.errors import GraphtraceError
    from graphtrace.i18n import use_language

    g = graphtrace.parse((SAMPLES / "symmetry_random.gt").read_text(encoding="utf-8"), name="net.gt")
    with use_language("ru"):
        model = model_of(explorer.build_html(g))
    assert model["ui"]["{cell} is not a number"] == "{cell} не является числом"
    assert model["ui"]["no data rows after the header"] == "после заголовка нет строк данных"
    if NODE is None:
        pytest.skip("node is not on PATH")
    cases = [{"text": text, "name": "mine.csv"} for text in BAD_CSVS]
    payload = {"ops": explorer.ops_script(), "cases": cases, "spec": model["trainable"], "ui": model["ui"]}
    proc = subprocess.run([NODE, "-e", CSV_RUNNER, str(JS)], input=json.dumps(payload).encode(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    got = json.loads(proc.stdout)
    with use_language("ru"):
        for case, result in zip(cases, got, strict=True):
            with pytest.raises(GraphtraceError) as exc:
                explorer.build_model(g, data=read_csv(text=case["text"], name="mine.csv"))
            assert result.get("error") == str(exc.value), (case["text"][:40], result, str(exc.value))
    assert "mine.csv:2: столбец x2: 'abc' не является числом" in got[0]["error"]


def test_a_big_page_packs_its_model_and_reads_back_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past PACK_OVER characters the model travels gzip-compressed in base64: the same JSON back,
    the same bytes on every build (no time in the gzip header), and much smaller."""
    import graphtrace
    from graphtrace import explorer

    g = graphtrace.parse(explorer_mlp_text())
    plain = explorer.build_html(g)
    model = explorer.read_model(plain)
    assert 'id="gt-model">' in plain
    monkeypatch.setattr(explorer, "PACK_OVER", 10_000)
    packed = explorer.build_html(g)
    assert 'id="gt-model-gz"' in packed and 'id="gt-model">' not in packed
    assert explorer.read_model(packed) == model
    assert explorer.build_html(g) == packed  # deterministic
    assert len(explorer.model_element(model, pack_over=0)) < len(explorer.embed_json(model)) / 3
    assert 'data-old-browser="' in packed and "DecompressionStream" in packed
    with graphtrace.i18n.use_language("ru"):
        russian = explorer.build_html(g)
    assert "браузер" in html.unescape(re.search(r'data-old-browser="([^"]*)"', russian).group(1))


def explorer_mlp_text() -> str:
    from graphtrace.network import mlp_script

    return mlp_script("3-8-8-2", activation="relu", loss="mse", seed=0)
