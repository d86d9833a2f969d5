"""The compiled engine against the plain evaluator: values, locals, gradients, errors, batches,
batched finite differences and batched path sums, on random scripts and every sample."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from helpers import SAMPLES, TEMPLATES, RandomPicker, random_script
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtrace
from graphtrace import compute, paths
from graphtrace.backprop import backprop
from graphtrace.check import numeric_gradient, numeric_gradients
from graphtrace.compute import engine_forward
from graphtrace.engine import compile_graph
from graphtrace.errors import EvaluationError, GraphError
from graphtrace.evaluate import evaluate

# Templates that can leave an op's domain or overflow: both evaluators must then raise the same error.
RISKY = TEMPLATES + (("log({0})", 1), ("sqrt({0})", 1), ("exp(exp({0}))", 1),
                     ("{0}**{1}", 2))


@pytest.fixture(autouse=True)
def engine_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small graphs normally take the plain evaluator (compute.WIDE); here every graph is compiled."""
    monkeypatch.setattr("graphtrace.compute.WIDE", 0)


class DrawPicker:
    """random_script's picker backed by hypothesis' data.draw (shrinks well)."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def int(self, lo: int, hi: int) -> int:
        return self.data.draw(st.integers(lo, hi))

    def float(self, lo: float, hi: float) -> float:
        return round(self.data.draw(st.floats(lo, hi, allow_nan=False)), 3)


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def assert_same(g: graphtrace.Graph) -> None:
    """Engine == plain evaluator and plain backprop on every node and edge (or the same error)."""
    try:
        plain = evaluate(g.nx, source_text=g.source.text)
    except EvaluationError as exc:
        with pytest.raises(EvaluationError) as caught:
            engine_forward(g.nx, source_text=g.source.text)
        assert str(caught.value) == str(exc)
        return
    fast = engine_forward(g.nx, source_text=g.source.text)
    assert fast.order == plain.order
    for v in plain.order:
        assert close(fast.values[v], plain.values[v]), (v, fast.values[v], plain.values[v])
    assert fast.locals.keys() == plain.locals.keys()
    for e, x in plain.locals.items():
        assert close(fast.locals[e], x), (e, fast.locals[e], x)
    want = backprop(g.nx, plain)
    got = g.backprop(forward=fast)
    for v in plain.order:
        assert close(float(got[v]), float(want[v])), (v, got[v], want[v])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_engine_equals_plain_evaluator_on_random_scripts(data: st.DataObject) -> None:
    text = random_script(DrawPicker(data), leaves=(1, 5), ops=(1, 14))
    assert_same(graphtrace.parse(text))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_engine_raises_the_plain_evaluators_errors(data: st.DataObject) -> None:
    text = random_script(DrawPicker(data), leaves=(1, 4), ops=(1, 10), templates=RISKY)
    assert_same(graphtrace.parse(text))


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.gt")), ids=lambda p: p.name)
def test_engine_equals_plain_evaluator_on_samples(path) -> None:
    g = graphtrace.load(path)
    if not compute.compilable(g.nx):  # softmax & co: the engine runs their lowered copy (training)
        g = type(g)(compute.lowered(g.nx), g.source)
    assert_same(g)


def test_bigger_random_scripts_with_shared_subexpressions() -> None:
    rng = random.Random(7)
    for _ in range(5):
        assert_same(graphtrace.parse(random_script(RandomPicker(rng), leaves=(5, 12), ops=(60, 120))))


def test_nonfinite_value_and_local_errors_match() -> None:
    for text in ("x: input = 0\ny = log(x)\n", "x: input = 0\ny = sqrt(x) + x\n",
                 "x: input = 800\nz = exp(x) - exp(x)\n", "x: input = -1\nc = x**0.5\n"):
        g = graphtrace.parse(text, name="t.gt")
        with pytest.raises(EvaluationError) as plain:
            evaluate(g.nx, source_text=text)
        with pytest.raises(EvaluationError) as fast:
            engine_forward(g.nx, source_text=text)
        assert str(fast.value) == str(plain.value)


def test_batch_equals_separate_runs() -> None:
    g = graphtrace.parse(random_script(RandomPicker(random.Random(3)), leaves=(4, 4), ops=(30, 30)))
    prog = compile_graph(g.nx)
    leaves = [v for v in g.nx if g.nx.nodes[v]["kind"] in ("input", "param")]
    rng = np.random.default_rng(0)
    batch = {v: rng.uniform(-2, 2, size=7) for v in leaves}
    run = prog.forward_backward(batch)
    assert run.batch == 7 and not run.scalar
    for i in range(7):
        one = prog.forward_backward({v: float(x[i]) for v, x in batch.items()})
        plain = evaluate(g.nx, {v: float(x[i]) for v, x in batch.items()})
        grads = backprop(g.nx, plain)
        for v in prog.order:
            assert close(float(run.value(v)[i]), one.value(v))
            assert close(float(run.value(v)[i]), float(plain.values[v]))
            assert close(float(run.grad(v)[i]), float(grads[v]))


def test_batch_through_graph_forward_and_backprop() -> None:
    g = graphtrace.parse("x: input = 1\nw: param = 2\nL = (w*x - 1)**2")
    f = engine_forward(g.nx, {"x": np.array([1.0, 2.0, 3.0])})
    assert f.value.tolist() == [1.0, 9.0, 25.0]
    assert g.backprop(forward=f)["w"].tolist() == [2.0, 12.0, 30.0]  # 2(wx−1)·x


def test_scalar_inputs_broadcast_and_batch_size_is_checked() -> None:
    prog = compile_graph(graphtrace.parse("a: input = 1\nb: input = 2\nc = a*b").nx)
    assert prog.forward({"a": [1.0, 2.0]}).value("c").tolist() == [2.0, 4.0]
    assert prog.forward(batch=3).value("c").tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(GraphError):
        prog.forward({"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]})
    with pytest.raises(GraphError):
        prog.forward({"c": 1.0})


def test_compile_cache_is_invalidated_when_the_graph_changes() -> None:
    g = graphtrace.parse("x: input = 2\ny = x*x")
    p1 = compile_graph(g.nx)
    assert compile_graph(g.nx) is p1
    g.nx.add_node("z", kind="op", op="neg")
    g.nx.add_edge("y", "z", key=0)
    p2 = compile_graph(g.nx)
    assert p2 is not p1 and p2.n_nodes == p1.n_nodes + 1
    assert p2.forward().value("z") == -4.0
    # A value change needs no recompiling: it is read at every pass.
    g.nx.nodes["x"]["value"] = 3.0
    assert compile_graph(g.nx) is p2 and p2.forward().value("z") == -9.0


def test_plain_networkx_graph_compiles() -> None:
    import networkx as nx

    g = nx.MultiDiGraph(output="y")
    g.add_node("x", kind="input", value=3.0)
    g.add_node("y", kind="op", op="mul")
    g.add_edge("x", "y", key=0)
    g.add_edge("x", "y", key=1)
    run = compile_graph(g).forward_backward()
    assert run.value("y") == 9.0 and run.grad("x") == 6.0


def _random_graph(seed: int, ops: int = 40) -> graphtrace.Graph:
    return graphtrace.parse(random_script(RandomPicker(random.Random(seed)), leaves=(3, 6), ops=(ops, ops)))


@pytest.mark.parametrize("seed", range(6))
def test_batched_finite_differences_equal_one_at_a_time(seed: int) -> None:
    g = _random_graph(seed)
    fwd = evaluate(g.nx)
    wrt = [v for v in g.nx if g.nx.nodes[v]["kind"] != "const"]  # leaves and intermediates
    many = numeric_gradients(g.nx, wrt, fwd, limit=4096)  # a tiny bound: many chunks
    for w in wrt:
        # Same steps, same runs; vectorized and scalar numpy kernels may differ in the last bit of
        # a value, which the division by 2h magnifies to about ε·|L|/h ≈ 1e-11.
        one = numeric_gradient(g.nx, w, fwd)
        assert math.isclose(many[w], one, rel_tol=1e-8, abs_tol=1e-9), (w, many[w], one)


@pytest.mark.parametrize("seed", range(6))
def test_batched_path_sums_and_counts_equal_the_reference(seed: int) -> None:
    g = _random_graph(seed)
    fwd = engine_forward(g.nx)
    prog = compile_graph(g.nx)
    wrt = [v for v in prog.order if prog.live[prog.index[v]]]
    sums, counts, _, _ = prog.path_totals(fwd.run.L, [prog.index[w] for w in wrt], g.output, limit=2048)
    for w, s, c in zip(wrt, sums, counts, strict=True):
        assert c == paths.count_paths(g.nx, w, g.output, fwd.order), w
        ref = float(paths.sum_over_paths(g.nx, fwd, w, g.output))
        assert math.isclose(s, ref, rel_tol=1e-10, abs_tol=1e-12), (w, s, ref)


def test_counts_beyond_float_precision_stay_exact() -> None:
    lines = ["x: input = 1", "a0 = x + x"] + [f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 70)]
    lines.append("L = a69 * 1")
    g = graphtrace.parse("\n".join(lines))
    report = g.check(["x", "a3"], numeric=False)
    assert report.entries["x"].n_paths == 2**70 == paths.count_paths(g.nx, "x", "L", g.order)
    assert report.entries["a3"].n_paths == 2**66


def test_check_report_equals_per_node_reference() -> None:
    g = _random_graph(11, ops=60)
    wrt = [v for v in g.nx if g.nx.nodes[v]["kind"] in ("input", "param")] + ["n5", "n20"]
    report = g.check(wrt)
    plain = evaluate(g.nx)
    for w in wrt:
        e = report.entries[w]
        between = paths.between(g.nx, plain.order, w, g.output)
        from graphtrace.check import near_kink

        assert e.n_paths == paths.count_paths(g.nx, w, g.output, plain.order)
        assert math.isclose(e.paths, float(paths.sum_over_paths(g.nx, plain, w)), rel_tol=1e-10, abs_tol=1e-12)
        assert e.numeric == pytest.approx(numeric_gradient(g.nx, w, plain), rel=1e-8, abs=1e-9)
        assert e.kinks == near_kink(g.nx, plain, between)


def test_kinks_are_found_through_chains() -> None:
    g = graphtrace.parse("w: param = 0\nx: input = 1\na = relu(w*x)\nb = a + x\nL = b*b")
    assert g.check().entries["w"].kinks == ["a"]


def test_thin_graphs_take_the_plain_evaluator_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("graphtrace.compute.WIDE", 4)
    g = graphtrace.parse("x: input = 2\ny = sin(x)\nz = y*y")
    assert not compute.uses_engine(g.nx)
    assert not hasattr(g.forward(), "run")
    monkeypatch.setattr("graphtrace.compute.WIDE", 0)
    g = graphtrace.parse("x: input = 2\ny = sin(x)\nz = y*y")
    assert g.forward().run is not None


def test_add_chains_are_fused_and_equal_the_plain_evaluator_bit_for_bit() -> None:
    # z = a*x + b*x + c + d + x: one chain of adds, with x used inside and outside the chain.
    text = ("x: input = 0.3\na: param = 0.1\nb: param = 0.7\nc: param = 1e-17\nd: param = 3\n"
            "z = a*x + b*x + c + d + x\nt = z + z\nL = t*t + z")
    g = graphtrace.parse(text)
    prog = compile_graph(g.nx)
    chains = [st for steps in prog.fused() for st in steps if st.chain]
    assert [st.members.shape for st in chains] == [(1, 4)]  # t = z + z and the last add stay plain
    assert len(prog.fused()) < prog.n_levels
    plain = evaluate(g.nx)
    run = prog.forward_backward()
    for v in prog.order:
        assert run.value(v) == plain.values[v], v  # same additions in the same order
    want = backprop(g.nx, plain)
    for v in prog.order:
        assert close(run.grad(v), float(want[v])), v


def test_gradients_with_respect_to_an_output_inside_a_chain() -> None:
    g = graphtrace.parse("x: input = 2\nw: param = 3\ns = w*x + x + w + 1\nL = s*s")
    prog = compile_graph(g.nx)
    run = prog.forward_backward()
    plain = evaluate(g.nx)
    links = [prog.order[r] for steps in prog.fused() for st in steps if st.chain for r in st.members.ravel()]
    assert len(links) == 3 and links[-1] == "s"
    for inner in links[:2]:  # the output is a link in the middle of the fused chain
        G = prog.backward_matrix(run.L, inner)
        want = backprop(g.nx, plain, output=inner)
        for v in prog.order:
            assert close(float(G[prog.index[v], 0]), float(want[v])), (inner, v)
        assert G[prog.index["s"], 0] == 0.0 and G[prog.index[inner], 0] == 1.0


def test_reused_buffers_never_overwrite_a_result_someone_keeps() -> None:
    g = graphtrace.parse("x: input = 1\nw: param = 2\nL = (w*x - 1)**2")
    prog = compile_graph(g.nx)
    first = prog.forward_backward({"x": np.array([1.0, 2.0])})
    kept_v, kept_g = first.value("L").copy(), first.grad("w").copy()
    view = first.G[prog.index["w"]]  # a view keeps the buffer alive too
    for _ in range(3):
        prog.forward_backward({"x": np.array([5.0, 6.0])})
    assert first.value("L").tolist() == kept_v.tolist() and first.grad("w").tolist() == kept_g.tolist()
    assert view.tolist() == kept_g.tolist()
    del first
    runs = [prog.forward_backward({"x": np.array([float(i), 1.0])}) for i in range(4)]
    assert [r.value("L").tolist()[0] for r in runs] == [1.0, 1.0, 9.0, 25.0]
