"""Tracing real code (issue 14): micrograd-compatible Values, the micrograd shim, numpy object arrays,
``graphtrace trace``, ``--to-script``, the PyTorch bridge and its fourth column, bounds and errors.

Oracles, each independent of the code under test: plain-Python float arithmetic and central
differences written here, numpy matrix calculus, the real micrograd (a test-only dependency;
skipped when absent) and torch.autograd (optional; skipped when absent).
"""

from __future__ import annotations

import json
import math
import random
import runpy
import sys

import numpy as np
import pytest
from helpers import SAMPLES, run_main, strict_json

import graphtrace
from graphtrace import trace
from graphtrace.errors import EvaluationError, GraphError, LimitError
from graphtrace.ops import OPS
from graphtrace.trace import Value, graph, to_script
from graphtrace.trace_run import micrograd_shim, run_program, traced_output

README = SAMPLES / "micrograd_readme.py"
DEMO = SAMPLES / "micrograd_demo.py"
TORCH_SAMPLE = SAMPLES / "torch_mlp.py"


def _real_micrograd():
    return pytest.importorskip("micrograd.engine")


def _readme_float(a: float, b: float) -> float:
    """micrograd's README example in plain floats (the forward pass only)."""
    relu = lambda v: max(v, 0.0)  # noqa: E731
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + relu(b + a)
    d += 3 * d + relu(b - a)
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


def _central(f, x: float, h: float = 1e-6) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


# ---- the Value: micrograd's API ----------------------------------------------------------------------
def test_readme_example_in_the_library_matches_plain_floats_and_differences():
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    assert g.data == pytest.approx(_readme_float(-4.0, 2.0), rel=1e-15)
    assert f"{g.data:.4f}" == "24.7041"
    g.backward()
    assert f"{a.grad:.4f}" == "138.8338" and f"{b.grad:.4f}" == "645.5773"
    assert a.grad == pytest.approx(_central(lambda x: _readme_float(x, 2.0), -4.0), rel=1e-7)
    assert b.grad == pytest.approx(_central(lambda x: _readme_float(-4.0, x), 2.0), rel=1e-7)
    assert g.grad == 1


def test_readme_example_equals_the_real_micrograd():
    engine = _real_micrograd()
    out = {}
    for V in (Value, engine.Value):
        a, b = V(-4.0), V(2.0)
        c = a + b
        d = a * b + b**3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        e = c - d
        f = e**2
        g = f / 2.0
        g += 10.0 / f
        g.backward()
        out[V] = (g.data, a.grad, b.grad)
    ours, theirs = out[Value], out[engine.Value]
    for x, y in zip(ours, theirs, strict=True):
        assert x == pytest.approx(y, rel=1e-12, abs=1e-12)


_MATH = {"tanh": math.tanh, "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "sin": math.sin,
         "cos": math.cos, "tan": math.tan, "abs": abs, "relu": lambda x: max(x, 0.0),
         "sigmoid": lambda x: 1.0 / (1.0 + math.exp(-x)), "softplus": lambda x: math.log1p(math.exp(x))}
UNARY_FUNCTIONS = [op for op in OPS.values() if op.function and op.arity == 1]


def test_every_unary_function_of_the_registry_is_a_method_and_has_a_reference_here():
    assert {op.name for op in UNARY_FUNCTIONS} == set(_MATH)


@pytest.mark.parametrize("op", UNARY_FUNCTIONS, ids=lambda op: op.name)
def test_unary_methods_values_and_gradients(op):
    ref = _MATH[op.name]
    for (x,) in op.samples:
        v = Value(x)
        out = getattr(v, op.name)()
        assert out.data == pytest.approx(ref(x), rel=1e-12)
        out.backward()
        assert v.grad == pytest.approx(_central(ref, x), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("expr, ref", [
    (lambda x: 2 - x, lambda x: 2 - x),
    (lambda x: 2 / x, lambda x: 2 / x),
    (lambda x: x / 4, lambda x: x / 4),
    (lambda x: 2 ** x, lambda x: 2 ** x),
    (lambda x: x ** 3, lambda x: x ** 3),
    (lambda x: x ** x, lambda x: x ** x),
    (lambda x: -x * 3 + 1, lambda x: -x * 3 + 1),
    (lambda x: sum([x, x * x, 1.5]), lambda x: x + x * x + 1.5),
    (lambda x: np.float64(2.0) * x + np.int64(3), lambda x: 2.0 * x + 3),
    (lambda x: +x, lambda x: x),
    (lambda x: abs(x - 5), lambda x: abs(x - 5)),
], ids=["rsub", "rdiv", "div", "rpow", "pow", "pow_both", "neg", "sum_from_0", "numpy_scalars", "pos", "abs"])
def test_numbers_on_either_side(expr, ref):
    x0 = 1.3
    v = Value(x0)
    out = expr(v)
    assert isinstance(out, Value)
    assert out.data == pytest.approx(ref(x0), rel=1e-14)
    out.backward()
    assert v.grad == pytest.approx(_central(ref, x0), rel=1e-7)


def test_backward_accumulates_like_micrograd_and_zero_grad_resets():
    from graphtrace.trace_nn import Neuron

    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()
    assert x.grad == 12.0  # two calls, 6 each, as micrograd's += does
    n = Neuron(2)
    out = n([Value(1.0), Value(2.0)])
    out.backward()
    n.zero_grad()
    assert all(p.grad == 0 for p in n.parameters())


def test_repr_and_micrograd_attributes():
    a = Value(2.0)
    b = a * a
    assert repr(a) == "Value(data=2.0, grad=0)"
    assert b._prev == {a} and b._op == OPS["mul"].glyph and a._op == ""


def test_x_times_x_gives_two_edges_and_two_paths():
    x = Value(3.0, label="x")
    g = graph(x * x)
    assert g.count_paths("x") == 2
    assert g.nx.number_of_edges() == 2


def test_a_leaf_changed_between_steps_enters_each_graph_with_the_value_it_had():
    w = Value(2.0, label="w")
    first = w * 3
    w.data = 5.0
    second = w * 3
    assert graph(first).nx.nodes["w"]["value"] == 2.0
    assert graph(second).nx.nodes["w"]["value"] == 5.0
    assert float(graph(first).forward().value) == 6.0


def test_params_are_module_parameters_when_a_module_is_built_else_every_explicit_value():
    from graphtrace.trace_nn import Neuron

    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    g = graph(a * b + 1)
    assert g.params == ["a", "b"] and g.inputs == []
    assert [v for v, d in g.nx.nodes(data=True) if d["kind"] == "const"] == ["const_1"]
    n = Neuron(2, nonlin=False)
    x = [Value(1.0), Value(-1.0)]
    out = n(x)
    g = graph(out)
    assert set(g.params) == {"w[0]", "w[1]", "b"}
    assert len(g.inputs) == 2


def test_labels_win_and_generated_ids_are_deterministic():
    def build():
        a = Value(1.5, label="alpha")
        b = Value(-2.0)
        return graph((a * b).tanh() + a)
    g1, g2 = build(), build()
    assert list(g1.nx.nodes) == list(g2.nx.nodes)
    assert list(g1.nx.nodes) == ["alpha", "param_1", "mul_1", "tanh_1", "add_1"]
    assert g1.to_dot() == g2.to_dot()


def test_graph_of_a_leaf_is_refused():
    with pytest.raises(GraphError, match="leaf"):
        graph(Value(1.0))


def test_values_refuse_non_numbers_and_domain_errors():
    with pytest.raises(TypeError, match="real number"):
        Value("abc")
    with pytest.raises(TypeError, match="array of Values"):
        Value(np.array([1.0, 2.0]))
    with pytest.raises(EvaluationError, match="log"):
        Value(-1.0).log()
    with pytest.raises(EvaluationError, match="division by zero"):
        Value(1.0) / 0


def test_micrograd_style_manual_nodes_map_onto_the_registry():
    a, b = Value(2.0), Value(3.0)
    s = Value(a.data + b.data, (a, b), "+")
    t = Value(math.tanh(s.data), (s,), "tanh")
    p = Value(t.data**2, (t,), "**2")
    g = graph(p)
    assert [d.get("op") for _, d in g.nx.nodes(data=True) if d["kind"] == "op"] == ["add", "tanh", "pow"]
    p.backward()
    assert a.grad == pytest.approx(2 * math.tanh(5) * (1 - math.tanh(5) ** 2), rel=1e-12)
    with pytest.raises(TypeError, match="cannot trace"):
        Value(1.0, (a,), "mystery")


# ---- numpy object arrays -------------------------------------------------------------------------------
def test_numpy_object_arrays_matmul_sum_and_elementwise():
    rng = np.random.default_rng(0)
    xw = rng.normal(size=3)
    Ww = rng.normal(size=(3, 2))
    x = np.array([Value(v) for v in xw])
    W = np.array([[Value(v) for v in row] for row in Ww], dtype=object)
    h = x @ W  # numpy calls the Values' * and + element by element
    assert h.dtype == object and h.shape == (2,)
    out = sum(trace.tanh(h))  # sum() starts from 0: __radd__
    out.backward()
    ref_h = xw @ Ww
    assert out.data == pytest.approx(np.tanh(ref_h).sum(), rel=1e-14)
    want_W = np.outer(xw, 1 - np.tanh(ref_h) ** 2)  # ∂/∂W_ij Σ_j tanh(x·W_j) = x_i (1 − tanh²)
    got_W = np.array([[v.grad for v in row] for row in W])
    assert np.allclose(got_W, want_W, rtol=1e-12, atol=1e-14)
    assert np.allclose([v.grad for v in x], Ww @ (1 - np.tanh(ref_h) ** 2), rtol=1e-12)
    # numpy's own ufuncs call the methods on object arrays
    e = np.exp(np.array([Value(0.5), Value(1.0)]))
    assert [v.data for v in e] == pytest.approx([math.exp(0.5), math.e])
    # a float array on one side: constants
    c = np.array([1.0, 2.0]) @ np.array([Value(3.0), Value(4.0)])
    assert c.data == 11.0


# ---- the micrograd shim ----------------------------------------------------------------------------------
def test_shim_resolves_micrograd_to_graphtrace_and_restores_afterwards():
    with micrograd_shim():
        from micrograd.engine import Value as ShimValue
        from micrograd.nn import MLP, Layer, Neuron  # noqa: F401
        assert ShimValue is Value
        assert MLP.__module__ == "graphtrace.trace_nn"
    assert "micrograd.engine" not in sys.modules or sys.modules["micrograd.engine"].Value is not Value


def test_mlp_draws_micrograds_weights_in_micrograds_order():
    from graphtrace.trace_nn import MLP

    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    random.seed(1337)
    expected = []
    for nin, nout in ((2, 16), (16, 16), (16, 1)):
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0]
    assert [p.data for p in model.parameters()] == expected
    assert len(model.parameters()) == 337
    assert repr(model).startswith("MLP of [Layer of [ReLUNeuron(2)")
    assert repr(model.layers[-1]) == "Layer of [LinearNeuron(16)]"


def test_mlp_equals_real_micrograd_on_a_seeded_network():
    nn = pytest.importorskip("micrograd.nn")
    from graphtrace.trace_nn import MLP

    random.seed(7)
    theirs = nn.MLP(3, [4, 2])
    random.seed(7)
    ours = MLP(3, [4, 2])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    x = [0.5, -1.0, 2.0]
    outs = []
    for model, V in ((ours, Value), (theirs, sys.modules["micrograd.engine"].Value)):
        y = model([V(v) for v in x])
        loss = sum((yi - t) ** 2 for yi, t in zip(y, [1.0, -1.0], strict=True))
        loss.backward()
        outs.append([p.grad for p in model.parameters()])
    assert np.allclose(outs[0], outs[1], rtol=1e-12, atol=1e-15)


# ---- programs: graphtrace trace --------------------------------------------------------------------------
def test_cli_readme_example_prints_micrograds_output_the_table_and_writes_the_explorer(tmp_path):
    page = tmp_path / "readme.html"
    code, out, err = run_main(["trace", str(README), "-o", str(page)])
    assert code == 0, err
    assert out.startswith("24.7041\n138.8338\n645.5773\n"), out
    assert "g#2 = 24.70408163" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert set(rows) == {"a", "b"}
    assert "138.8338192" in rows["a"] and "645.5772595" in rows["b"] and "✓" in rows["a"]
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") or "<html" in html[:200]
    for name in ('"name": "a"', '"name": "c#2"', '"name": "g#2"'):
        assert name.replace(" ", "") in html.replace(" ", "")


def test_cli_json_follows_the_contract_and_sends_the_programs_prints_to_stderr():
    code, out, err = run_main(["trace", str(README), "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert {"output", "value", "values", "gradients", "check"} <= set(doc)
    assert doc["output"] == "g#2" and doc["check"]["ok"]
    assert doc["value"] == pytest.approx(_readme_float(-4.0, 2.0), rel=1e-15)
    assert set(doc["values"]) >= {"a", "b", "c", "c#2", "c#3", "d#3", "e", "f", "g", "g#2"}
    for name, x0, fn in (("a", -4.0, lambda x: _readme_float(x, 2.0)), ("b", 2.0, lambda x: _readme_float(-4.0, x))):
        e = doc["gradients"][name]
        assert e["backprop"] == pytest.approx(_central(fn, x0), rel=1e-7)
        assert e["paths"] == pytest.approx(e["backprop"], rel=1e-12)
    assert "24.7041" in err


def test_cli_paths_check_and_output(tmp_path):
    code, out, err = run_main(["trace", str(README), "--paths", "a", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["wrt"] == "a" and doc["total"] == pytest.approx(doc["backprop"], rel=1e-12)
    assert doc["total"] == pytest.approx(_central(lambda x: _readme_float(x, 2.0), -4.0), rel=1e-7)
    code, out, err = run_main(["trace", str(README), "--check"])
    assert code == 0, err
    assert "ok:" in err
    code, out, err = run_main(["trace", str(README), "--output", "f", "--json"])
    assert code == 0, err
    assert strict_json(out)["value"] == 49.0
    code, out, err = run_main(["trace", str(README), "--output", "c#2", "--json"])
    assert code == 0, err
    assert strict_json(out)["output"] == "c#2"


def test_cli_output_errors():
    code, out, err = run_main(["trace", str(README), "--output", "gg"])
    assert code == 2 and "'gg'" in err and "did you mean" in err and "Traceback" not in err
    code, out, err = run_main(["trace", str(README), "--output", "a"])
    assert code == 2 and "leaf" in err


def test_default_output_is_the_backward_value_else_the_last_module_level_value(tmp_path):
    p = tmp_path / "p.py"
    p.write_text("from micrograd.engine import Value\nx = Value(2.0)\nloss = x * x\nloss.backward()\n"
                 "other = x + 1\n", encoding="utf-8")
    assert traced_output(run_program(p)).output == "loss"
    p.write_text("from micrograd.engine import Value\nx = Value(2.0)\nloss = x * x\nother = x + 1\n",
                 encoding="utf-8")
    assert traced_output(run_program(p)).output == "other"


def test_variable_names_in_functions_lists_and_arrays(tmp_path):
    p = tmp_path / "names.py"
    p.write_text(
        "import numpy as np\nfrom micrograd.engine import Value\n"
        "xs = [Value(1.0), Value(2.0)]\nW = np.array([[Value(0.5), Value(-1.0)], [Value(2.0), Value(0.1)]])\n"
        "def f(v):\n    h = v @ W\n    s = h[0] * h[1]\n    return s\n"
        "out = f(np.array(xs))\nout = out + 1\n", encoding="utf-8")
    g = traced_output(run_program(p))
    # A Value keeps the first name it gets: f's result is `s`, so `out` goes to `out + 1`.
    assert g.output == "out"
    assert {"xs[0]", "xs[1]", "W[0,0]", "W[1,1]", "s", "out"} <= set(g.names)
    assert set(g.params) == {"xs[0]", "xs[1]", "W[0,0]", "W[0,1]", "W[1,0]", "W[1,1]"}
    line = g.nx.nodes["s"]["line"]
    assert p.read_text().splitlines()[line - 1].strip() == "s = h[0] * h[1]"


def test_program_errors_are_the_programs_with_its_traceback(tmp_path):
    p = tmp_path / "boom.py"
    p.write_text("from micrograd.engine import Value\n\ndef f(x):\n    return x / 0.0\n\ny = f(1.0)\n", encoding="utf-8")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2, err
    assert "the program raised ZeroDivisionError" in err
    assert 'line 6, in <module>' in err and 'line 4, in f' in err and "return x / 0.0" in err
    assert "graphtrace/" not in err and "internal error" not in err
    p.write_text("x = (\n", encoding="utf-8")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2 and "syntax error" in err and "internal error" not in err
    p.write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2 and "exited with status 3" in err
    p.write_text("from micrograd.engine import Value\nv = Value('x') * 2\n", encoding="utf-8")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2 and "TypeError" in err and "internal error" not in err
    code, out, err = run_main(["trace", str(tmp_path / "missing.py")])
    assert code == 2 and "no such file" in err


def test_no_value_found_is_reported(tmp_path):
    p = tmp_path / "none.py"
    p.write_text("x = 1 + 2\nprint(x)\n", encoding="utf-8")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2 and "made no Value" in err
    p.write_text("from micrograd.engine import Value\ndef main():\n    y = Value(2.0) * 3\nmain()\n", encoding="utf-8")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2 and "no Value to trace" in err and "--of" in err


def test_too_many_nodes_is_refused_as_the_graph_grows(tmp_path, monkeypatch):
    p = tmp_path / "big.py"
    p.write_text("from micrograd.engine import Value\nx = Value(1.0)\nacc = x\n"
                 "for i in range(100000):\n    acc = acc * 1.0001\nprint('finished the loop')\n", encoding="utf-8")
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "5000")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2, err
    assert "5,000" in err and "GRAPHTRACE_MAX_NODES" in err
    assert "finished the loop" not in out  # refused while the loop ran, not afterwards
    assert ":5:" in err  # the line that made the Value


def test_too_many_values_in_the_library(monkeypatch):
    # The limit is read again every 1,024 Values: a lowered limit is met within that many.
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", str(trace._LIVE[0] + 50))
    held = []
    with pytest.raises(LimitError, match="GRAPHTRACE_MAX_NODES"):
        for _ in range(5000):
            held.append(Value(1.0))
    assert len(held) <= 50 + 1024
    held.clear()
    monkeypatch.delenv("GRAPHTRACE_MAX_NODES")
    for _ in range(2048):  # the default limit comes back
        Value(1.0)
    assert (Value(1.0) * 2).data == 2.0


def test_trace_help_says_it_runs_the_program():
    code, out, err = run_main(["trace", "--help"])
    assert code == 0, err
    text = " ".join(out.split())
    assert "EXECUTES PROGRAM.py as Python" in text and "scripts are never run" in text


def test_traced_runs_are_deterministic():
    docs = [run_main(["trace", str(README), "--json"])[1] for _ in range(2)]
    assert docs[0] == docs[1]
    r = run_program(README, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert traced_output(r).to_dot() == traced_output(run_program(README, stdout=open("/dev/null", "w"))).to_dot()  # noqa: SIM115


# ---- to_script ------------------------------------------------------------------------------------------------
def _same_gradients(g, h, tol=1e-12):
    gb, hb = g.backprop(), h.backprop()
    assert len(g.params) == len(h.params)
    for p, q in zip(g.params, h.params, strict=True):
        assert float(hb[q]) == pytest.approx(float(gb[p]), rel=tol, abs=tol)
    assert float(h.forward().value) == pytest.approx(float(g.forward().value), rel=tol)


def test_to_script_round_trips_the_readme_example(tmp_path):
    out = tmp_path / "readme.gt"
    code, _, err = run_main(["trace", str(README), "--to-script", "-o", str(out)])
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert "c_2 = c + (c + 1.0)  # c#2" in text
    h = graphtrace.load(out)
    g = traced_output(run_program(README, stdout=open("/dev/null", "w")))  # noqa: SIM115
    _same_gradients(g, h)
    assert h.output == "g_2"
    # and the script runs through the ordinary commands
    code, gout, err = run_main(["grad", str(out), "--json"])
    assert code == 0, err
    assert strict_json(gout)["gradients"]["a"]["backprop"] == pytest.approx(138.83381924198252, rel=1e-12)


def test_to_script_names_reserved_words_and_non_finite_constants():
    a = Value(1.0, label="exp")
    b = Value(2.0, label="input")
    c = Value(0.5, label="x y[0]")
    g = graph((a * b + c).exp())
    text = to_script(g)
    assert "exp_: param = 1.0  # exp" in text and "input_: param = 2.0  # input" in text
    assert "x_y_0: param = 0.5  # x y[0]" in text
    _same_gradients(g, graphtrace.parse(text))
    with pytest.raises(GraphError, match="finite"):
        to_script(graph(Value(1.0) * float("inf")))


# ---- micrograd's demo: one step, against the real micrograd -----------------------------------------------
@pytest.fixture(scope="module")
def demo_real():
    _real_micrograd()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        ns = runpy.run_path(str(DEMO), run_name="__main__")
    return ns


def test_demo_step_gradients_equal_real_micrograds(demo_real):
    import contextlib
    import io

    buf = io.StringIO()
    run = run_program(DEMO, stdout=buf)
    ours = [p.grad for p in run.globals["model"].parameters()]
    theirs = [p.grad for p in demo_real["model"].parameters()]
    assert len(ours) == len(theirs) == 337
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) <= 1e-12
    assert run.globals["total_loss"].data == demo_real["total_loss"].data  # the same forward, bit for bit
    assert "step 0 loss 0.8958441028683222, accuracy 50.0%" in buf.getvalue()
    with contextlib.redirect_stdout(io.StringIO()):
        g = traced_output(run)
    assert g.output == "total_loss" and len(g.params) == 337
    assert g.params[0] == "layers[0].neurons[0].w[0]"
    assert "layers[2].neurons[0].b" in g.params


def test_demo_to_script_round_trips(demo_real, tmp_path):
    out = tmp_path / "demo.gt"
    code, _, err = run_main(["trace", str(DEMO), "--to-script", "-o", str(out)])
    assert code == 0, err
    h = graphtrace.load(out)
    assert len(h.params) == 337
    grads = h.backprop()
    theirs = [p.grad for p in demo_real["model"].parameters()]
    ours = [float(grads[p]) for p in h.params]
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert float(h.forward().value) == pytest.approx(0.8958441028683222, rel=1e-14)


# ---- the PyTorch bridge ------------------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _mlp_case(torch):
    import torch.nn.functional as F

    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 3)).double()
    X = torch.randn(4, 2, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 2])
    return model, X, y, (lambda X, y: F.cross_entropy(model(X), y))


def test_from_torch_tanh_mlp_cross_entropy_equals_autograd():
    torch = _torch()
    model, X, y, loss = _mlp_case(torch)
    g = graphtrace.from_torch(loss, X, y)
    out = loss(X, y)
    grads = torch.autograd.grad(out, list(model.parameters()))
    bp = g.backprop()
    n = 0
    for (name, p), gr in zip(model.named_parameters(), grads, strict=True):
        for idx in np.ndindex(*p.shape):
            node = f"model.{name}[{','.join(map(str, idx))}]"
            assert float(bp[node]) == pytest.approx(float(gr[idx]), rel=1e-10, abs=1e-12)
            n += 1
    assert n == len(g.params) == 21
    assert float(g.forward().value) == pytest.approx(out.item(), rel=1e-14)
    assert set(g.inputs) == {f"X[{i},{j}]" for i in range(4) for j in range(2)}
    report = g.check()
    assert report.ok
    assert all(e.oracle is not None for e in report.entries.values())
    assert max(abs(e.oracle - e.backprop) for e in report.entries.values()) <= 1e-10
    arrays = g.nx.graph.get("arrays")
    if arrays is not None:  # the script language's array records (issue 13), when present
        assert tuple(arrays["model.0.weight"]["shape"]) == (3, 2)
        assert arrays["model.0.weight"]["elements"][:2] == ["model.0.weight[0,0]", "model.0.weight[0,1]"]
        assert tuple(arrays["linear1"]["shape"]) == (4, 3)
    assert g.nx.nodes["model.0.weight[1,0]"]["array"] == "model.0.weight"
    assert g.nx.nodes["model.0.weight[1,0]"]["index"] == (1, 0)


def test_from_torch_module_names_and_requires_grad_inputs():
    torch = _torch()
    net = torch.nn.Linear(2, 1).double()
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    g = graphtrace.from_torch(lambda x: net(x).sum(), x, names=["inp"], output_name="L")
    assert g.output == "L"
    assert set(g.params) == {"net.weight[0,0]", "net.weight[0,1]", "net.bias[0]", "inp[0,0]", "inp[0,1]"}
    g2 = graphtrace.from_torch(net, torch.tensor([1.0, 2.0], dtype=torch.float64))
    # a module's inputs are named after forward()'s parameters (nn.Linear.forward(self, input))
    assert set(g2.params) == {"weight[0,0]", "weight[0,1]", "bias[0]"} and g2.inputs == ["input[0]", "input[1]"]


def test_the_fourth_column_is_compared_like_the_others():
    torch = _torch()
    _, X, y, loss = _mlp_case(torch)
    g = graphtrace.from_torch(loss, X, y)
    first = g.params[0]
    g.nx.graph["oracle"]["grads"][first] += 1e-3  # a torch gradient that disagrees must fail the check
    report = g.check()
    assert not report.ok and [e.name for e in report.failures] == [first]


def test_cli_trace_of_a_torch_program_has_four_columns():
    _torch()
    code, out, err = run_main(["trace", str(TORCH_SAMPLE), "--check"])
    assert code == 0, err
    assert "torch −" in out and "numeric −" in out
    code, out, err = run_main(["trace", str(TORCH_SAMPLE), "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["output"] == "L"
    for e in doc["gradients"].values():
        assert e["torch"] == pytest.approx(e["backprop"], rel=1e-10, abs=1e-12)
    code, out, err = run_main(["trace", str(TORCH_SAMPLE)])
    header = "".join(line for line in out.splitlines() if line.startswith("┃"))
    assert code == 0 and "torch" in header and "numeric" in header


def test_unsupported_torch_op_is_named():
    torch = _torch()
    import torch.nn.functional as F

    W = torch.ones(2, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(graphtrace.GraphtraceError, match="torch.nn.functional.gelu is not supported"):
        graphtrace.from_torch(lambda W: F.gelu(W).sum(), W)
    with pytest.raises(graphtrace.GraphtraceError, match="one number"):
        graphtrace.from_torch(lambda W: W * 2, W)


def test_cli_unsupported_torch_op_is_exit_2(tmp_path):
    _torch()
    p = tmp_path / "t.py"
    p.write_text("import torch, graphtrace\nW = torch.ones(2, dtype=torch.float64, requires_grad=True)\n"
                 "g = graphtrace.from_torch(lambda W: torch.erf(W).sum(), W)\n", encoding="utf-8")
    code, out, err = run_main(["trace", str(p)])
    assert code == 2 and "torch.erf is not supported" in err and "internal error" not in err


def test_torch_drawing_folds_tensors_at_level_array(tmp_path):
    torch = _torch()
    from graphtrace import dot

    if "array" not in dot.LEVELS:
        pytest.skip("--level array comes with the script language's arrays (issue 13)")
    _, X, y, loss = _mlp_case(torch)
    g = graphtrace.from_torch(loss, X, y)
    text = g.to_dot(level="array")
    scalar = g.to_dot(level="scalar", force=True)
    assert text.count("->") < scalar.count("->")
    assert "model.0.weight" in text


def test_torch_graph_to_script_round_trips():
    torch = _torch()
    _, X, y, loss = _mlp_case(torch)
    g = graphtrace.from_torch(loss, X, y)
    _same_gradients(g, graphtrace.parse(to_script(g)))


def test_torch_float32_is_noted():
    torch = _torch()
    W = torch.ones(2, requires_grad=True)
    g = graphtrace.from_torch(lambda W: (W * W).sum(), W)
    assert any("float64" in w for w in g.warnings())


def test_readme_sample_is_micrograds_readme_example_verbatim():
    text = README.read_text(encoding="utf-8")
    assert text.startswith("from micrograd.engine import Value\n")
    assert "print(f'{g.data:.4f}') # prints 24.7041" in text


def test_json_of_a_traced_graph_is_strict():
    code, out, err = run_main(["trace", str(README), "--check", "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] is True and doc["failures"] == []
