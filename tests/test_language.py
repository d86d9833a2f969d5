"""The language people already write (issue 13): new versions of names and ``+=``, method calls,
vectors and matrices with ``@``, softmax and cross-entropy; with every bad input a located error."""

from __future__ import annotations

import ast
import json
import math
import re
import time

import numpy as np
import pytest
from helpers import SAMPLES, assert_clean_error, run_main, strict_json

import graphtrace
from graphtrace import compute, parse
from graphtrace.errors import GraphError, GraphtraceError, LimitError, ParseError
from graphtrace.ops import FUNCTIONS, OPS
from graphtrace.parse import _FORBIDDEN, METHODS, refusal

LOC = re.compile(r"^bad\.gt:(\d+):(\d+): ", re.M)


def parse_error(text: str, cls: type[GraphtraceError] = ParseError) -> str:
    with pytest.raises(cls) as ei:
        graphtrace.parse(text, name="bad.gt")
    return str(ei.value)


def located(msg: str, line: int, col: int | None = None) -> str:
    m = LOC.match(msg)
    assert m, msg
    assert int(m.group(1)) == line, msg
    if col is not None:
        assert int(m.group(2)) == col, msg
        body = msg.split("\n")
        assert body[2].index("^") == body[1].index(body[1].lstrip()) + col - 1, msg
    return msg


# ---- new versions of a name ----------------------------------------------------------------------
def test_reassignment_makes_a_new_version_that_later_uses_see():
    g = parse("x: input = 2\nc = x + 1\nc = c * c\nd = c + x\nc = d - 1")
    assert [v for v in g.nx if not v.startswith("const")][:2] == ["x", "c"]
    assert {"c", "c#2", "c#3", "d"} <= set(g.nx)
    assert g.output == "c#3"  # the last version of the last assigned name
    f = g.forward()
    assert f.values["c"] == 3.0 and f.values["c#2"] == 9.0 and f.values["d"] == 11.0 and f.value == 10.0
    assert ("c", "c#2", 0) in g.nx.edges(keys=True) and ("c#2", "d", 0) in g.nx.edges(keys=True)
    assert g.nx.graph.get("arrays") is None


@pytest.mark.parametrize("op, expected", [("+=", 2 + 5), ("-=", 2 - 5), ("*=", 2 * 5), ("/=", 2 / 5),
                                          ("**=", 2 ** 5)])
def test_augmented_assignment(op, expected):
    g = parse(f"a: param = 2\nb: input = 5\na {op} b")
    assert g.output == "a#2"
    assert g.forward().value == pytest.approx(expected)
    assert g.check().ok


def test_plus_equals_is_two_nodes_as_in_micrograd():
    g = parse("c: param = 1\nc += c + 1")
    ops = [(v, d.get("op")) for v, d in g.nx.nodes(data=True) if d["kind"] == "op"]
    assert ops == [("add_1", "add"), ("c#2", "add")]
    assert g.count_paths("c") == 2 and g.backprop()["c"] == 2.0


def test_micrograd_readme_example_written_as_micrograd_writes_it():
    # micrograd's published numbers (github.com/karpathy/micrograd README): an independent check
    code, out, err = run_main(["grad", str(SAMPLES / "micrograd.gt"), "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["output"] == "g#2"
    assert f"{doc['value']:.4f}" == "24.7041"
    a, b = doc["gradients"]["a"], doc["gradients"]["b"]
    assert f"{a['backprop']:.4f}" == "138.8338" and f"{b['backprop']:.4f}" == "645.5773"
    for e in (a, b):
        assert e["paths"] == pytest.approx(e["backprop"], rel=1e-12)
        assert e["numeric"] == pytest.approx(e["backprop"], rel=1e-7)
    assert (a["n_paths"], b["n_paths"]) == (24, 30)
    assert {"c", "c#2", "c#3", "d#3", "g#2"} <= set(doc["values"])
    code_lines = [ln for ln in (SAMPLES / "micrograd.gt").read_text(encoding="utf-8").splitlines()
                  if ln and not ln.startswith("#")]
    assert sum(ln.count("+=") for ln in code_lines) == 5 and sum(ln.count(".relu()") for ln in code_lines) == 2


def test_versions_in_json_wrt_set_and_drawings():
    text = "x: param = 3\nc = x * 2\nc += 1\nL = c * c"
    code, out, err = run_main(["grad", "-e", text, "--wrt", "c#2", "--wrt", "c", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert set(doc["gradients"]) == {"c#2", "c"} and doc["gradients"]["c#2"]["backprop"] == 14.0
    code, out, err = run_main(["grad", "-e", text, "--set", "x=1", "--json"])
    assert code == 0 and strict_json(out)["value"] == 9.0
    code, out, err = run_main(["grad", "-e", text, "--set", "c#2=1"])
    assert_clean_error(code, out, err, where="c#2")
    dot = parse(text).to_dot(view="both")
    assert "c′" in dot and "c#2" in dot  # drawn c′, named c#2 in the tooltip
    from graphtrace.dot import display_name
    from graphtrace.explorer import build_model

    assert [display_name(n) for n in ("c", "c#2", "c#3", "w1#2", "h#2[1]")] == ["c", "c′", "c″", "w₁′", "h′[1]"]
    disp = {n["name"]: n["disp"] for n in build_model(parse(text))["nodes"]}
    assert disp["c#2"] == "c′"


def test_declarations_stay_unique_and_augmented_needs_an_earlier_value():
    located(parse_error("x: input = 1\nx: param = 2\ny = x"), 2, 1)
    msg = located(parse_error("x: input = 1\nz += x"), 2, 1)
    assert "'z += …' needs an earlier value of 'z'" in msg and "not defined yet" in msg
    assert "only later" in parse_error("x: input = 1\nz += x\nz = x")
    assert "'//=' is not part of the graphtrace language" in located(parse_error("x: input = 1\nx //= 2"), 2, 1)
    assert "needs a name" in parse_error("x: input = [1, 2]\nx[0] += 1")
    assert "one element of an array cannot be assigned" in parse_error("x: input = [1, 2]\nx[0] = 1\ny = x")


# ---- method calls --------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [f for f in FUNCTIONS if OPS[f].arity == 1])
def test_every_unary_function_as_a_method(fn):
    a = parse(f"x: param = 0.7\ny = {fn}(x) + 1")
    b = parse(f"x: param = 0.7\ny = x.{fn}() + 1")
    assert list(a.nx.nodes(data="op")) == list(b.nx.nodes(data="op"))
    assert a.forward().value == b.forward().value and a.backprop()["x"] == b.backprop()["x"]


def test_method_calls_on_expressions_and_arrays():
    g = parse("a: param = -4\nb: param = 2\nd = (b + a).relu() + (b - a).relu()")
    assert g.forward().value == 6.0
    g = parse("v: param = [1.0, -2.0, 3.0]\nL = v.relu().sum() + v.softmax()[0] + v.logsumexp() + v.mean()")
    want = 4.0 + math.exp(1) / (math.exp(1) + math.exp(-2) + math.exp(3)) \
        + math.log(math.exp(1) + math.exp(-2) + math.exp(3)) + 2 / 3
    assert g.forward().value == pytest.approx(want, rel=1e-12)
    assert g.check().ok
    assert set(METHODS) >= {f for f in FUNCTIONS if OPS[f].arity == 1} | {"sum", "mean", "softmax"}


@pytest.mark.parametrize("text, col, words", [
    ("x: input = 1\ny = x.foo()", 5, "'.foo()' is not a method graphtrace knows"),
    ("x: input = 1\ny = x.cross_entropy()", 5, "not a method"),
    ("x: input = 1\ny = x.relu(2)", 12, "takes no arguments"),
    ("x: input = 1\ny = x.relu", 5, "attribute access (a.b) is not part of the graphtrace language"),
    ("x: input = 1\ny = x.real", 5, "attribute access"),
    ("x: input = 1\ny = x.max()", 5, "takes 2 arguments"),
    ("x: input = 1\ny = x.sum()", 5, "this is a scalar"),
])
def test_method_calls_that_are_not_one_argument_functions(text, col, words):
    msg = located(parse_error(text), 2, col)
    assert words in msg, msg


def test_method_hints():
    assert "call it: `.relu()`" in parse_error("x: input = 1\ny = x.relu")
    assert "did you mean 'relu'?" in parse_error("x: input = 1\ny = x.Relu()")
    assert "method calls work for the one-argument functions" in parse_error("x: input = 1\ny = x.zzz()")


# ---- messages ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(_FORBIDDEN))
def test_every_refusal_reads_as_a_sentence(kind):
    words, plural = _FORBIDDEN[kind]
    node = getattr(ast, kind, None)
    sentence = refusal(node()) if node is not None and kind not in ("Constant", "BinOp", "UnaryOp") else \
        f"{words} {'are' if plural else 'is'} not part of the graphtrace language"
    assert re.fullmatch(r"(the |'|[a-z]).* (is|are) not part of the graphtrace language", sentence), sentence
    assert ": " not in words and "exactly once" not in sentence
    assert sentence.endswith(" not part of the graphtrace language")


@pytest.mark.parametrize("text, words", [
    ("x: input = 1\nglobal x", "global statements are not part of"),
    ("x: input = 1\ny = x // 2", "the operator '//' is not part of"),
    ("x: input = 1\ny = not x", "the operator 'not' is not part of"),
    ("x: input = 1\ny = None", "None is not part of"),
    ("x: input = 1\ny = x if x else x", "conditional expressions (a if c else b) are not part of"),
    ("x: input = 1\npass", "pass statements are not part of"),
    ("x: input = 1\ny = (x, x)", "tuples are not part of"),
])
def test_refusals_in_context(text, words):
    assert words in parse_error(text)


def test_caret_hint_says_use_double_star():
    msg = located(parse_error("x: input = 3\ny = x ^ 2"), 2, 5)
    assert "the operator '^' is not part of the graphtrace language" in msg and "use ** for powers" in msg


@pytest.mark.parametrize("name, want", [("ReLU", "relu"), ("Sigmoid", "sigmoid"), ("TANH", "tanh"),
                                        ("σ", "sigmoid"), ("ln", "log"), ("Softmax", "softmax"),
                                        ("sigmod", "sigmoid"), ("summ", "sum")])
def test_function_did_you_mean_ignores_case_and_knows_greek_and_glyphs(name, want):
    msg = located(parse_error(f"x: input = 1\nv: input = [1, 2]\ny = {name}(x)"), 3, 5)
    assert f"unknown function '{name}'" in msg and f"did you mean '{want}'?" in msg


def test_wrt_did_you_mean_knows_greek_names():
    code, out, err = run_main(["grad", str(SAMPLES / "neuron.gt"), "--wrt", "alpha"])
    assert_clean_error(code, out, err, where="did you mean 'α'?")
    code, out, err = run_main(["grad", "-e", "Alpha: param = 1\nL = Alpha*2", "--wrt", "alpha"])
    assert_clean_error(code, out, err, where="did you mean 'Alpha'?")


# ---- arrays --------------------------------------------------------------------------------------
def test_array_declarations_expand_into_named_element_nodes():
    g = parse("x: input = [1.0, -2.0]\nW: param = [[0.1, 0.2], [0.3, -0.1], [0.0, 0.5]]\nL = sum(W @ x)")
    assert g.inputs == ["x[0]", "x[1]"]
    assert g.params == ["W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]", "W[2,0]", "W[2,1]"]
    d = g.nx.nodes["W[1,0]"]
    assert (d["array"], d["index"], d["value"], d["kind"]) == ("W", (1, 0), 0.3, "param")
    assert g.nx.nodes["x[1]"]["index"] == (1,)
    assert g.arrays["W"] == {"shape": [3, 2], "elements": g.params}
    assert g.forward().value == pytest.approx(float(np.sum(np.array([[0.1, 0.2], [0.3, -0.1], [0, 0.5]])
                                                           @ np.array([1.0, -2.0]))))


@pytest.mark.parametrize("left, right", [((3, 2), (2,)), ((4,), (4,)), ((2, 3), (3, 2)), ((3,), (3, 2))])
def test_matmul_shapes_against_numpy(left, right):
    rng = np.random.default_rng(sum(left) + 7 * sum(right))
    a, b = rng.uniform(-1, 1, left), rng.uniform(-1, 1, right)

    def lit(x):
        return json.dumps(np.round(x, 6).tolist())

    a, b = np.round(a, 6), np.round(b, 6)
    g = parse(f"A: param = {lit(a)}\nB: param = {lit(b)}\nP = A @ B\nL = sum(P * P)"
              if (a @ b).ndim else f"A: param = {lit(a)}\nB: param = {lit(b)}\nL = A @ B")
    want = a @ b
    assert g.forward().value == pytest.approx(float(np.sum(want * want)) if want.ndim else float(want), rel=1e-12)
    if want.ndim:
        assert g.arrays["P"]["shape"] == list(want.shape)
    assert g.check().ok


def test_elementwise_broadcasting_functions_indexing_and_lists():
    g = parse("v: param = [1.0, 2.0, 3.0]\nW: param = [[1, 2], [3, 4]]\ns: param = 0.5\n"
              "u = 2 * v - s\nw = v ** 2 / (1 + v)\nr = W[1]\nq = [v[0], W[0, 1] * s, -v[-1]]\n"
              "L = sum(u) + mean(w) + max(v) + min(q) + r @ [1, 1] + sum(tanh(v))")
    v = np.array([1.0, 2.0, 3.0])
    want = np.sum(2 * v - 0.5) + np.mean(v**2 / (1 + v)) + 3 + min(1.0, 1.0, -3.0) + 7 + np.sum(np.tanh(v))
    assert g.forward().value == pytest.approx(want, rel=1e-12)
    assert g.arrays["q"]["elements"] == ["q[0]", "q[1]", "q[2]"] and g.arrays["r"]["shape"] == [2]
    assert g.check().ok


def test_constant_arrays_and_new_versions_of_arrays():
    g = parse("c = [1.0, 2.0]\nx: param = [0.5, -0.5]\nh = x * c\nh = h + 1\nL = sum(h)")
    assert g.nx.nodes["c[1]"]["kind"] == "const" and g.nx.nodes["c[1]"]["named"]
    assert "h#2[0]" in g.nx and g.arrays["h#2"]["shape"] == [2] and g.nx.nodes["h#2[1]"]["array"] == "h#2"
    assert g.forward().value == pytest.approx(0.5 + 1 - 1 + 1)


def test_still_a_scalar_graph_with_a_local_derivative_on_every_edge():
    g = parse("W: param = [[1.0, 2.0], [3.0, 4.0]]\nx: input = [0.5, -1.0]\nL = sum(W @ x)")
    f = g.forward()
    assert all(OPS[d["op"]].arity in (1, 2) for _, d in g.nx.nodes(data=True) if d["kind"] == "op")
    assert len(f.locals) == g.nx.number_of_edges()
    assert g.backprop()["W[1,0]"] == 0.5 and g.count_paths("W[1,0]") == 1


# ---- softmax, log_softmax, logsumexp, cross_entropy ----------------------------------------------
def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_vector_functions_against_numpy_and_their_nodes():
    z = np.array([0.3, -1.2, 2.0, 0.5])
    g = parse(f"z: param = {json.dumps(z.tolist())}\np = softmax(z)\nq = log_softmax(z)\n"
              "a = logsumexp(z)\nb = cross_entropy(z, 2)\nL = p[0] + q[1] + a + b")
    f = g.forward()
    s = _softmax(z)
    for i in range(4):
        assert f.values[f"p[{i}]"] == pytest.approx(s[i], rel=1e-14)
        assert f.values[f"q[{i}]"] == pytest.approx(math.log(s[i]), rel=1e-14)
    assert f.values["a"] == pytest.approx(math.log(np.exp(z).sum()), rel=1e-14)
    assert f.values["b"] == pytest.approx(-math.log(s[2]), rel=1e-14)
    # softmax: one node per element, over every element, its own first
    assert [u for u, _, _ in sorted(g.nx.in_edges("p[2]", keys=True), key=lambda e: e[2])] == \
        ["z[2]", "z[3]", "z[0]", "z[1]"]
    # softmax′ = p_i(δ_ij − p_j) on the edges
    assert f.locals[("z[2]", "p[2]", 0)] == pytest.approx(s[2] * (1 - s[2]), rel=1e-13)
    assert f.locals[("z[0]", "p[2]", 2)] == pytest.approx(-s[2] * s[0], rel=1e-13)
    assert g.check().ok


def test_large_logits_do_not_overflow():
    g = parse("z: param = [1000.0, 999.0, -5.0]\nk: input = 1\nL = cross_entropy(z, k) + logsumexp(z) + softmax(z)[0]")
    f = g.forward()
    assert math.isfinite(f.value) and g.check().ok


@pytest.mark.parametrize("seed", range(6))
def test_softmax_cross_entropy_gradients_three_ways_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    W, x, b = rng.normal(size=(k, 3)), rng.normal(size=3), rng.normal(size=k)
    label = int(rng.integers(0, k))

    def lit(a):
        return json.dumps(a.tolist())

    g = parse(f"W: param = {lit(W)}\nx: input = {lit(x)}\nb: param = {lit(b)}\ny: input = {label}\n"
              f"z = W @ x + b\nL = cross_entropy(z, y) + 0.3 * sum(log_softmax(z) * softmax(z)) + logsumexp(z)")
    report = g.check(tol=1e-7)
    assert report.ok, report
    assert all(e.numeric is not None for e in report.entries.values())


@pytest.mark.parametrize("seed", range(4))
def test_softmax_cross_entropy_gradients_agree_with_pytorch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    k = int(rng.integers(2, 6))
    W, x, b = rng.normal(size=(k, 3)), rng.normal(size=3), rng.normal(size=k)
    label = int(rng.integers(0, k))
    g = parse(f"W: param = {json.dumps(W.tolist())}\nx: input = {json.dumps(x.tolist())}\n"
              f"b: param = {json.dumps(b.tolist())}\ny: input = {label}\nz = W @ x + b\n"
              "L = cross_entropy(z, y) + 0.3 * sum(log_softmax(z) * softmax(z)) + logsumexp(z)")
    grads = g.backprop()
    tW = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    z = tW @ torch.tensor(x, dtype=torch.float64) + tb
    loss = (torch.nn.functional.cross_entropy(z[None], torch.tensor([label]))
            + 0.3 * (torch.log_softmax(z, 0) * torch.softmax(z, 0)).sum() + torch.logsumexp(z, 0))
    loss.backward()
    assert g.forward().value == pytest.approx(loss.item(), rel=1e-12)
    for i in range(k):
        assert grads[f"b[{i}]"] == pytest.approx(tb.grad[i].item(), rel=1e-10, abs=1e-13)
        for j in range(3):
            assert grads[f"W[{i},{j}]"] == pytest.approx(tW.grad[i, j].item(), rel=1e-10, abs=1e-13)


def test_the_class_index_is_a_label_not_differentiated():
    text = "z: param = [0.2, -0.4, 1.0]\ny: input = 1\nL = cross_entropy(z, y)"
    g = parse(text)
    assert g.label_only("y") and not g.label_only("z[0]")
    code, out, err = run_main(["grad", "-e", text, "--wrt", "y"])
    assert_clean_error(code, out, err, where="is a class index")
    code, out, err = run_main(["grad", "-e", "z: input = [0.2, -0.4, 1.0]\ny: input = 1\nL = cross_entropy(z, y)",
                               "--json"])
    assert code == 0, err  # no param: the inputs are shown, and the label among them is left out
    assert set(strict_json(out)["gradients"]) == {"z[0]", "z[1]", "z[2]"}
    # --set to a value that is no class: a domain error naming the node, not a traceback
    code, out, err = run_main(["grad", "-e", text, "--set", "y=3"])
    assert_clean_error(code, out, err, where="class index")


# ---- --wrt an array: the whole gradient matrix ---------------------------------------------------
TRIANGLE_NAMES = {**{f"W1[{j - 1},{i - 1}]": f"w1_{i}_{j}" for j in (1, 2, 3) for i in (1, 2)},
                  **{f"b1[{j - 1}]": f"b1_{j}" for j in (1, 2, 3)},
                  **{f"W2[{j - 1}]": f"w2_{j}_1" for j in (1, 2, 3)}, "b2": "b2_1"}


def test_array_triangle_equals_the_scalar_triangle():
    scalar = graphtrace.load(SAMPLES / "triangle.gt")
    array = graphtrace.load(SAMPLES / "triangle_array.gt")
    assert len(array.params) == len(scalar.params) == len(TRIANGLE_NAMES)
    for values in (None, {"x1": 1.5, "x2": 0.3}, {"x1": -2.0, "x2": -2.2, "y": 0.0}):
        fs, fa = scalar.forward(values), array.forward(values)
        assert abs(fs.value - fa.value) <= 1e-12
        gs, ga = scalar.backprop(forward=fs), array.backprop(forward=fa)
        for a, s in TRIANGLE_NAMES.items():
            assert abs(ga[a] - gs[s]) <= 1e-12, (a, s)
            assert abs(array.sum_over_paths(a, forward=fa) - scalar.sum_over_paths(s, forward=fs)) <= 1e-12
            assert array.count_paths(a) == scalar.count_paths(s)


def test_wrt_an_array_prints_the_matrix_and_json_keeps_the_contract():
    code, out, err = run_main(["grad", str(SAMPLES / "triangle_array.gt"), "--wrt", "W1", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    names = [f"W1[{i},{j}]" for i in range(3) for j in range(2)]
    assert list(doc["gradients"]) == names  # one entry per element, the contract's shape
    arr = doc["arrays"]["W1"]
    assert arr["shape"] == [3, 2] and arr["elements"] == names
    assert [x for row in arr["backprop"] for x in row] == [doc["gradients"][n]["backprop"] for n in names]
    code, out, err = run_main(["grad", str(SAMPLES / "triangle_array.gt"), "--wrt", "W1"])
    assert code == 0, err
    assert "∂L/∂W1 (3×2, backprop)" in out and "[2,·]" in out
    code, out, err = run_main(["paths", str(SAMPLES / "triangle_array.gt"), "--wrt", "W1"])
    assert_clean_error(code, out, err, where="is a 3×2 matrix")
    code, out, err = run_main(["paths", str(SAMPLES / "triangle_array.gt"), "--wrt", "W1[2,1]", "--json"])
    assert code == 0, err
    assert strict_json(out)["n_paths"] == 2


def test_default_gradients_cover_whole_param_arrays():
    code, out, err = run_main(["grad", str(SAMPLES / "softmax.gt"), "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert set(doc["arrays"]) == {"W", "b"} and doc["check"]["ok"]


# ---- every bad input: a located ParseError (exit 2), never a traceback ---------------------------
BAD = [
    # shape mismatches
    ("x: input = [1, 2]\nW: param = [[1, 2], [3, 4], [5, 6]]\ny = W @ [1, 2, 3]\nL = sum(y)", 3, 5,
     "cannot multiply a 3×2 matrix by a vector of 3"),
    ("x: input = [1, 2]\nL = sum(x + [1, 2, 3])", 2, 9, "cannot add a vector of 2 and a vector of 3"),
    ("x: input = [1, 2]\nL = sum(x - [[1, 2]])", 2, 9, "cannot subtract a 1×2 matrix from a vector of 2"),
    ("x: input = [1, 2]\nL = sum(x * [1, 2, 3])", 2, 9, "cannot multiply a vector of 2 and a vector of 3 elementwise"),
    ("x: input = [1, 2]\nL = sum(x / [1, 2, 3])", 2, 9, "cannot divide"),
    ("x: input = [1, 2]\nL = sum(x ** [1, 2, 3])", 2, 9, "cannot raise"),
    ("x: input = [1, 2]\nL = sum(max(x, [1, 2, 3]))", 2, 9, "max() of a vector of 2 and a vector of 3"),
    ("x: input = [1, 2]\nL = x @ 2", 2, 9, "@ multiplies vectors and matrices"),
    ("x: input = [1, 2]\nW: input = [[1, 2]]\nL = sum(W @ W)", 3, 9, "cannot multiply a 1×2 matrix by a 1×2 matrix"),
    ("W: input = [[1, 2], [3, 4]]\nL = sum(softmax(W))", 2, 9, "softmax() takes a vector, not a 2×2 matrix"),
    ("x: input = 1\nL = sum(x)", 2, 5, "sum() takes a vector or a matrix, and this is a scalar"),
    ("x: input = 1\nL = softmax(x)", 2, 5, "softmax() takes a vector"),
    ("x: input = [1, 2]\nL = [x, x]", 2, 6, "list elements are numbers, not a vector of 2"),
    ("x: input = [1, 2]\nL = sum([x, 1])", 2, 10, "list elements are numbers"),
    ("x: input = [1, 2]\nL = softmax(x)", 2, 1, "the output 'L' is a vector of 2"),
    # ragged and malformed lists
    ("x: input = [[1, 2], [3]]\nL = 1", 1, 21, "ragged matrix: row 1 has 1 element, row 0 has 2"),
    ("x: input = [1, [2]]\nL = 1", 1, 16, "mixes numbers and lists"),
    ("x: input = [[1], 2]\nL = 1", 1, 18, "mixes rows and numbers"),
    ("x: input = [[[1]]]\nL = 1", 1, 14, "at most two dimensions"),
    ("x: input = []\nL = 1", 1, 12, "an empty list"),
    ("x: input = [[]]\nL = 1", 1, 13, "an empty row"),
    ("x: input = [1, 'a']\nL = 1", 1, 16, "must be a number"),
    ("x: input = [1, y]\nL = 1", 1, 16, "must be a number"),
    ("y: input = 1\nL = sum([[y, y], [y]])", 2, 18, "ragged matrix"),
    # indices
    ("x: input = [1, 2]\nL = x[2]", 2, 7, "index 2 is out of range for 'x', a vector of 2"),
    ("x: input = [1, 2]\nL = x[-3]", 2, 7, "out of range"),
    ("W: input = [[1, 2]]\nL = W[0, 5]", 2, 10, "index 5 is out of range for 'W', a 1×2 matrix"),
    ("x: input = [1, 2]\nL = x[1.0]", 2, 7, "an index is an integer, not 1.0"),
    ("x: input = [1, 2]\ni: input = 0\nL = x[i]", 3, 7, "not the name 'i'"),
    ("x: input = [1, 2]\nL = x[True]", 2, 7, "an index is an integer"),
    ("x: input = [1, 2]\nL = x[0:1]", 2, 7, "slices (a[i:j]) are not part of the graphtrace language"),
    ("x: input = [1, 2]\nL = x[0, 1]", 2, 7, "it takes 1 index, got 2"),
    ("x: input = 1\nL = x[0]", 2, 5, "'x' is a scalar: only vectors and matrices can be indexed"),
    # augmented assignment on an undefined name
    ("x: input = 1\nc += x", 2, 1, "'c += …' needs an earlier value of 'c'"),
    ("x: input = 1\nc *= x\nc = 1", 2, 1, "assigned only later"),
    # method calls that are not one-argument functions
    ("x: input = 1\nL = x.foo()", 2, 5, "'.foo()' is not a method graphtrace knows"),
    ("x: input = 1\nL = x.cross_entropy()", 2, 5, "not a method"),
    # class indices
    ("z: input = [1, 2, 3]\nL = cross_entropy(z, 3)", 2, 22, "it must be an integer from 0 to 2"),
    ("z: input = [1, 2, 3]\nL = cross_entropy(z, 1.0)", 2, 22, "is 1.0; it must be an integer"),
    ("z: input = [1, 2, 3]\nL = cross_entropy(z, -1)", 2, 22, "must be an integer from 0 to 2"),
    ("z: input = [1, 2, 3]\ny: input = 3\nL = cross_entropy(z, y)", 3, 22, "the class index 'y' is 3"),
    ("z: input = [1, 2, 3]\ny: input = 0.5\nL = cross_entropy(z, y)", 3, 22, "the class index 'y' is 0.5"),
    ("z: input = [1, 2, 3]\ny: param = 1\nL = cross_entropy(z, y)", 3, 22, "this one is a param"),
    ("z: input = [1, 2, 3]\nL = cross_entropy(z, z[0] * 1)", 2, 22, "this one is computed"),
    ("z: input = [1, 2, 3]\nL = cross_entropy(z, z)", 2, 22, "is one number, not a vector of 3"),
    ("z: input = [1, 2, 3]\nL = cross_entropy(z)", 2, 5, "takes 2 arguments"),
    # names of functions
    ("sum = 1\nL = sum", 1, 1, "'sum' is a function name"),
    ("x: input = [1, 2]\nmean: input = 1\nL = 1", 2, 1, "'mean' is a function name"),
]


@pytest.mark.parametrize("text, line, col, words", BAD)
def test_bad_input_is_a_located_parse_error(text, line, col, words):
    msg = located(parse_error(text), line, col)
    assert words in msg, msg


@pytest.mark.parametrize("text", [b[0] for b in BAD[::4]])
def test_bad_input_exits_2_from_the_command_line(text):
    code, out, err = run_main(["grad", "-e", text])
    assert_clean_error(code, out, err, where="<inline>:")


# ---- bounds and speed ----------------------------------------------------------------------------
def test_array_literals_count_against_the_node_limit_before_expanding(monkeypatch):
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "50")
    rows = ", ".join("[" + ", ".join(["1.0"] * 10) + "]" for _ in range(10))
    with pytest.raises(LimitError, match="more than 50 graph nodes") as ei:
        graphtrace.parse(f"W: param = [{rows}]\nL = sum(W)")
    assert "GRAPHTRACE_MAX_NODES" in str(ei.value)
    code, out, err = run_main(["grad", "-e", f"W: param = [{rows}]\nL = sum(W)"])
    assert code == 2 and "Traceback" not in err and "GRAPHTRACE_MAX_NODES" in err
    # an expansion too: a 1000×1000 product is refused before any of its nodes is made
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "5000")
    big = "[" + ", ".join(["0.5"] * 1000) + "]"
    start = time.perf_counter()
    with pytest.raises(LimitError):
        graphtrace.parse(f"x: input = {big}\ny: input = {big}\nL = x @ y + sum(x * y) + sum(x + y) + sum(x / y)")
    assert time.perf_counter() - start < 2.0
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "200000")
    rows = ", ".join("[" + ", ".join(["0.5"] * 300) + "]" for _ in range(300))
    start = time.perf_counter()
    with pytest.raises(LimitError):  # 300·300 outputs × (2·300 − 1) nodes: refused before the first
        graphtrace.parse(f"A: param = [{rows}]\nB: param = [{rows}]\nL = sum(A @ B)")
    assert time.perf_counter() - start < 5.0
    with pytest.raises(LimitError, match="edges"):  # softmax of K makes K² edges
        graphtrace.parse(f"x: input = {'[' + ', '.join(['0.5'] * 600) + ']'}\nL = sum(softmax(x))")


def _chain(n: int) -> str:
    lines = ["x: input = 0.5", "w: param = 0.999"]
    for i in range(n):
        prev = "x" if i == 0 else f"s{i - 1}"
        lines.append(f"s{i} = w*{prev} + x" if i % 2 else f"s{i} = sin({prev})*w")
    return "\n".join(lines) + f"\nL = s{n - 1}\n"


def _net(n: int) -> str:
    rng = np.random.default_rng(0)
    W = json.dumps(np.round(rng.uniform(-1, 1, (n, n)), 3).tolist())
    return f"x: input = {json.dumps([0.5] * n)}\nW: param = {W}\nV: param = {W}\nh = tanh(W @ x)\nL = sum(V @ h)\n"


def test_parsing_arrays_is_not_slower_per_edge_than_scalar_scripts():
    texts = {"scalar": _chain(15_000), "array": _net(80)}  # ≈ 52,000 and 51,000 edges
    best = {k: math.inf for k in texts}
    edges = {}
    for _ in range(3):  # interleaved, best of three: other processes slow both alike
        for kind, text in texts.items():
            start = time.perf_counter()
            g = graphtrace.parse(text)
            best[kind] = min(best[kind], time.perf_counter() - start)
            edges[kind] = g.nx.number_of_edges()
    scalar, array = (best[k] / edges[k] for k in ("scalar", "array"))
    assert array <= scalar, (array * 1e6, scalar * 1e6)  # typically ≈ 0.6×


# ---- the compute path: variadic ops run on the reference oracles, never compiled -----------------
def test_graphs_with_variadic_ops_never_reach_the_compiled_engine(monkeypatch):
    from graphtrace import engine

    g = graphtrace.load(SAMPLES / "softmax.gt")
    assert not compute.compilable(g.nx) and compute.compilable(graphtrace.load(SAMPLES / "neuron.gt").nx)
    with pytest.raises(GraphError, match="operand slot"):  # asked anyway, the engine refuses cleanly
        engine.compile_graph(g.nx)
    original = compute.compile_graph

    def guarded(graph):
        assert compute.compilable(graph), "compute compiled a graph with a variadic op"
        return original(graph)

    monkeypatch.setattr(compute, "compile_graph", guarded)
    assert not compute.uses_engine(g.nx) and not compute.uses_engine(g.nx, {"x1": np.array([1.0, 2.0])})
    report = g.check()
    assert report.ok
    assert g.count_paths("W[0,0]") == 1 and g.count_paths("W[2,0]") == 1 and g.paths("W[0,0]", top=2)
    g.analyse(wrt="W[2,1]", heat=True)
    batch = g.forward({"x1": np.array([1.0, 2.0, 3.0]), "x2": np.array([0.0, 1.0, -1.0])})
    assert np.shape(batch.value) == (3,)


def test_training_a_variadic_graph_runs_a_lowered_copy_with_the_same_numbers():
    from graphtrace.backprop import backprop
    from graphtrace.data import make_dataset
    from graphtrace.evaluate import evaluate
    from graphtrace.network import mlp

    g = mlp([2, 5, 4], loss="ce", seed=3)
    values = dict(make_dataset("blobs", 40, seed=1, classes=4).as_dict())
    loss, means = compute.mean_loss_and_gradients(g.nx, values, g.params, output="L")
    fwd = evaluate(g.nx, values)
    grads = backprop(g.nx, fwd)
    assert loss == pytest.approx(float(np.mean(fwd.values["L"])), rel=1e-13)
    for p, m in zip(g.params, means, strict=True):
        assert m == pytest.approx(float(np.mean(grads[p])), rel=1e-10, abs=1e-15), p
    low = compute.lowered(g.nx)
    assert compute.compilable(low) and low is compute.lowered(g.nx)  # cached
    # a label outside the classes goes to the reference, whose error names the script's line
    values["y"] = values["y"].copy()
    values["y"][0] = 7
    with pytest.raises(graphtrace.EvaluationError, match="class index"):
        compute.mean_loss_and_gradients(g.nx, values, g.params, output="L")
