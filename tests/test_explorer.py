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
const C = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const cases = input.cases.map(function (c) {
  const m = C.compile(c.model);
  const over = {};
  Object.keys(c.over).forEach(function (k) { over[+k] = c.over[k]; });
  const fw = C.forward(m, over);
  const g = C.backward(m, fw);
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
process.stdout.write(JSON.stringify({ cases: cases, fmts: input.numbers.map(function (x) { return C.fmt(x); }), train: train }));
"""


def run_node(payload: dict) -> dict:
    proc = subprocess.run([NODE, "-e", NODE_RUNNER, str(JS)], input=json.dumps(payload).encode(),
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
        "w = exp(c) * sin(c) - cos(c) + tanh(c) + sigmoid(-c) + (+c) + max(c, a) + min(c, a)\n"
        "L = u * v - w", name="ops.gt"))
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
