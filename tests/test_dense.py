"""Dense blocks in the compiled engine (issue 17): layers of products that share their inputs run as
one matrix product, and every result still equals the reference evaluator and backprop.

Generated MLPs of several shapes, batched and one sample, through the fast gradient pass
(``gradient_totals``), the training step (``stepper``) and the lazy forward pass (exact: bit for
bit the plain evaluator); then hand-made graphs that look like blocks but are not (shared products,
unequal chains, weights reused across neurons, swapped operands, residual terms), and random
block-shaped scripts from hypothesis.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtrace
from graphtrace import compute
from graphtrace.backprop import backprop
from graphtrace.engine import compile_graph
from graphtrace.errors import EvaluationError
from graphtrace.evaluate import evaluate
from graphtrace.network import mlp_script

SHAPES = [("2-3-1", "relu", "mse"), ("2-16-16-1", "sigmoid", "bce"), ("3-4-5-2", "tanh", "mse"),
          ("8-8-3", "relu", "mse"), ("1-1", "sigmoid", "bce"), ("5-1-4", "tanh", "mse")]


def _close(a: np.ndarray | float, b: np.ndarray | float, rel: float = 1e-12) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.allclose(a, b, rtol=rel, atol=rel, equal_nan=True))


def _same(a: np.ndarray | float, b: np.ndarray | float) -> bool:
    """Bit for bit equal, a number broadcast against a batch (NaN equal to NaN)."""
    x, y = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return bool(np.array_equal(x, y, equal_nan=True))


def _reference(g: graphtrace.Graph, values: dict) -> tuple:
    fwd = evaluate(g.nx, values)
    return fwd, backprop(g.nx, fwd)


def _batch(g: graphtrace.Graph, n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {x: rng.uniform(-1.5, 1.5, n) for x in g.inputs}


def _check_totals(g: graphtrace.Graph, values: dict, wrt: list) -> graphtrace.engine.Run:
    prog = compile_graph(g.nx)
    run = prog.gradient_totals(values, wrt)
    fwd, grads = _reference(g, values)
    batch = max([np.size(v) for v in values.values()] or [1])
    # the sum over the batch of each sample's gradient (the reference keeps a number for a node
    # that no batched value reaches: the same for every sample)
    want = np.array([np.sum(np.broadcast_to(grads[w], (batch,))) for w in wrt])
    assert _close(run.totals, want), np.max(np.abs(run.totals - want))
    assert _close(run.value(g.output), fwd.values[g.output])
    return run


@pytest.mark.parametrize("shape,activation,loss", SHAPES)
def test_mlp_blocks_are_found_and_equal_backprop(shape: str, activation: str, loss: str) -> None:
    g = graphtrace.parse(mlp_script(shape, activation=activation, loss=loss, seed=3))
    sizes = [int(s) for s in shape.split("-")]
    fast = compile_graph(g.nx)._fast()
    # One block per layer of two inputs or more, (neurons, inputs), its bias folded in; a layer of
    # one neuron is a single exact dot product. (`w*x + b` is one add: no chain, no block.)
    layers = {(m, q) for m, q in zip(sizes[1:], sizes[:-1], strict=True) if q > 1}
    assert layers <= {b.W.shape for b in fast.blocks}
    assert all(b.fold for b in fast.blocks if b.W.shape in layers)
    for values in (_batch(g, 7), {x: float(v[0]) for x, v in _batch(g, 1, seed=5).items()}):
        run = _check_totals(g, values, list(g.params))
        fwd, grads = _reference(g, values)
        # Every node, edge and per-sample gradient, made on demand from the fast pass.
        assert run._V is None and run._L is None
        for v in fwd.order:
            assert _close(run.V[run.program.row(v)], fwd.values[v]), v
            assert _close(run.G[run.program.row(v)], grads[v]), v
        for e, x in run.locals().items():
            assert _close(x, fwd.locals[e]), e


@pytest.mark.parametrize("shape,activation,loss", SHAPES)
def test_forward_is_bit_for_bit_the_plain_evaluator(shape: str, activation: str, loss: str) -> None:
    g = graphtrace.parse(mlp_script(shape, activation=activation, loss=loss, seed=1))
    prog = compile_graph(g.nx)
    for values in (_batch(g, 5), _batch(g, 1), {}):
        plain = evaluate(g.nx, values)
        run = prog.forward(values)
        for v in plain.order:
            assert _same(run.value(v), plain.values[v]), v  # the rows U holds
            assert _same(run.V[prog.row(v)], plain.values[v]), v  # every node, made on demand


@pytest.mark.parametrize("shape,activation,loss", SHAPES)
def test_stepper_equals_the_mean_of_backprop(shape: str, activation: str, loss: str) -> None:
    g = graphtrace.parse(mlp_script(shape, activation=activation, loss=loss, seed=2))
    data = _batch(g, 9, seed=4)
    step = compute.stepper(g.nx, list(data), list(g.params), output=g.output)
    assert sorted(step.params) == sorted(g.params)
    P = np.array([g.nx.nodes[p]["value"] for p in step.params])
    X = np.stack([data[x] for x in step.inputs])
    loss_value, grads = step.step(X, P)
    fwd, ref = _reference(g, data)
    assert math.isclose(loss_value, float(np.mean(fwd.values[g.output])), rel_tol=1e-13)
    assert _close(grads, [np.mean(ref[p]) for p in step.params])
    # The same step again (buffers reused) gives the same numbers.
    again = step.step(X, P)
    assert again[0] == loss_value and np.array_equal(again[1], grads)
    assert _close(step.value(g.output, X, P), fwd.values[g.output])


def test_array_syntax_matmul_is_a_block() -> None:
    g = graphtrace.parse(mlp_script("3-5-4-2", activation="tanh", loss="mse", seed=0, form="array"))
    fast = compile_graph(g.nx)._fast()
    assert sorted(b.W.shape for b in fast.blocks) == [(2, 4), (4, 5), (5, 3)]
    _check_totals(g, _batch(g, 6), list(g.params))


# ---- graphs that look like blocks but are not ---------------------------------------------------------
LOOKALIKES = {
    # a product used twice: its chain is no block, the other chain of the layer is a lone dot product
    "shared product": """
x1: input = 0.3
x2: input = -0.7
x3: input = 1.3
a: param = 0.5
b: param = -0.2
c: param = 0.9
d: param = 0.4
p = a*x1
z1 = p + b*x2 + c*x3
z2 = c*x1 + d*x2 + a*x3
L = tanh(z1)*z2 + p*p
""",
    # chains of different lengths over the same inputs: two blocks, not one
    "unequal chains": """
x1: input = 0.3
x2: input = -0.7
x3: input = 1.1
w11: param = 0.5
w21: param = -0.2
w12: param = 0.9
w22: param = 0.4
w32: param = -0.6
w13: param = 0.1
w23: param = 0.2
b1: param = 0.05
b2: param = -0.1
z1 = w11*x1 + w21*x2 + b1
z2 = w12*x1 + w22*x2 + w32*x3 + b2
z3 = w13*x1 + w23*x2 + b1
L = sigmoid(z1) + sigmoid(z2)*z3
""",
    # the same weights (and bias) in several neurons: W has repeated leaves
    "reused weights": """
x1: input = 0.3
x2: input = -0.7
a: param = 0.5
b: param = -0.2
c: param = 0.9
z1 = a*x1 + b*x2 + c
z2 = a*x1 + a*x2 + c
z3 = b*x1 + a*x2 + c
L = z1*z2 - z3*z3
""",
    # operands swapped (x*w), mixed within a layer, and a product of an input with itself
    "swapped operands": """
x1: input = 0.3
x2: input = -0.7
w1: param = 0.5
w2: param = -0.2
v1: param = 0.9
v2: param = 0.4
z1 = x1*w1 + x2*w2
z2 = x1*v1 + x2*v2
z3 = w1*x1 + x2*v2
z4 = x1*x1 + x2*x2
L = z1*z2 + z3 + z4
""",
    # the bias first, a residual operand that is a computed node, an input added in the chain
    "other operands": """
x1: input = 0.3
x2: input = -0.7
w11: param = 0.5
w21: param = -0.2
w12: param = 0.9
w22: param = 0.4
b1: param = 0.05
b2: param = -0.1
h = tanh(x1 - x2)
z1 = b1 + w11*x1 + w21*x2 + h
z2 = b2 + w12*x1 + w22*x2 + h
y1 = w11*h + w21*x2 + x1
y2 = w12*h + w22*x2 + x2
L = z1*z2 + y1*y2
""",
    # weights that are computed, not leaves; inputs on the weight side of every product
    "not leaves": """
x1: input = 0.3
x2: input = -0.7
a: param = 0.5
b: param = -0.2
u = a*a
v = a*b
z1 = u*x1 + v*x2
z2 = v*x1 + u*x2
z3 = x1*x2 + x2*x1
L = z1*z2*z3
""",
}


@pytest.mark.parametrize("name", sorted(LOOKALIKES))
def test_lookalikes_equal_the_reference(name: str) -> None:
    g = graphtrace.parse(LOOKALIKES[name])
    wrt = list(g.params) + list(g.inputs)
    for values in ({}, _batch(g, 6)):
        run = _check_totals(g, values, wrt)
        fwd, grads = _reference(g, values)
        for v in fwd.order:
            assert _close(run.V[run.program.row(v)], fwd.values[v]), v
            assert _close(run.G[run.program.row(v)], grads[v]), v
        plain = evaluate(g.nx, values)
        exact = compile_graph(g.nx).forward(values)
        for v in plain.order:
            assert _same(exact.value(v), plain.values[v]), v


def test_lookalike_blocks_are_what_they_should_be() -> None:
    shapes = {n: sorted(b.W.shape for b in compile_graph(graphtrace.parse(t).nx)._fast().blocks)
              for n, t in LOOKALIKES.items()}
    assert shapes["shared product"] == [(1, 3)]  # z2 alone; z1's product p has two uses
    assert shapes["unequal chains"] == [(1, 3), (2, 2)]  # z1 and z3 (length 2), z2 (length 3)
    assert shapes["reused weights"] == [(3, 2)]
    assert shapes["not leaves"] == []  # u, v are computed; x1*x2 has no param or constant side


def test_batched_weights_take_the_level_by_level_pass() -> None:
    g = graphtrace.parse(mlp_script("2-3-2", activation="tanh", loss="mse", seed=0))
    values = {"x1": np.array([0.1, 0.2]), "x2": np.array([0.3, -0.4]), "w1_1_1": np.array([0.5, -0.5])}
    run = _check_totals(g, values, list(g.params))
    assert run._V is not None  # the fallback made every matrix
    plain = evaluate(g.nx, values)
    assert _close(compile_graph(g.nx).forward(values).value("L"), plain.values["L"])


def test_outputs_inside_a_block_fall_back() -> None:
    g = graphtrace.parse(mlp_script("2-3-1", activation="tanh", loss="mse", seed=0))
    prog = compile_graph(g.nx)
    inner = [prog.order[r] for b in prog._fast().blocks for r in b.products.ravel()][:2]
    inner += [prog.order[r] for b in prog._fast().blocks for r in b.members[:, 0]][:1]
    values = _batch(g, 4)
    for out in inner:
        run = prog.gradient_totals(values, list(g.params), output=out)
        fwd = evaluate(g.nx, values, output=out)
        grads = backprop(g.nx, fwd, output=out)
        assert _close(run.totals, [np.sum(grads[p]) for p in g.params])


def test_errors_are_the_plain_evaluators() -> None:
    # A value overflows inside a block; a local derivative is infinite on a side branch that the
    # output does not use (the evaluator checks every live edge); a log of a negative value.
    cases = [mlp_script("2-3-2", activation="tanh", loss="mse", seed=0).replace("w1_1_2: param = -0.3256",
                                                                                   "w1_1_2: param = 1e308"),
             "x: input = 0\nw: param = 2\nv: param = 3\ns = sqrt(x*w)\nz1 = w*x + v*x\nz2 = v*x + w*x\nL = z1*z2\n",
             "x: input = 1\nw: param = 2\nv: param = -3\nz1 = w*x + v*x\nz2 = v*x + w*x\nL = log(z1)*z2\n"]
    for text in cases:
        g = graphtrace.parse(text, name="t.gt")
        values = {"x1": 3.0, "x2": -1.0} if "x1" in g.inputs else {}
        with pytest.raises(EvaluationError) as plain:
            evaluate(g.nx, values, source_text=text)
        with pytest.raises(EvaluationError) as fast:
            compile_graph(g.nx).gradient_totals(values, list(g.params), source_text=text)
        assert str(fast.value) == str(plain.value)
        # The training step runs batches: the message names the sample, as the evaluator's does.
        batched = {x: np.full(2, values.get(x, g.nx.nodes[x]["value"])) for x in g.inputs}
        with pytest.raises(EvaluationError) as plain:
            evaluate(g.nx, batched, source_text=text)
        step = compile_graph(g.nx).stepper(list(batched), list(g.params), source_text=text)
        with pytest.raises(EvaluationError) as stepped:
            step.step(np.stack(list(batched.values())),
                      np.array([g.nx.nodes[p]["value"] for p in step.params]))
        assert str(stepped.value) == str(plain.value)


def test_mean_loss_and_gradients_takes_the_fast_pass() -> None:
    g = graphtrace.parse(mlp_script("2-4-1", activation="sigmoid", loss="bce", seed=0))
    values = dict(_batch(g, 8), **{p: float(g.nx.nodes[p]["value"]) for p in g.params})
    loss, grads = compute.mean_loss_and_gradients(g.nx, values, list(g.params))
    fwd, ref = _reference(g, values)
    assert math.isclose(loss, float(np.mean(fwd.values[g.output])), rel_tol=1e-13)
    assert _close(grads, [np.mean(ref[p]) for p in g.params])


# ---- random block-shaped scripts --------------------------------------------------------------------
@st.composite
def layered_scripts(draw: st.DrawFn) -> str:
    """Layers of sums of products over shared inputs, with random departures from a clean block:
    swapped operands, reused weights, computed or repeated inputs, skipped terms, extra operands."""
    n_in = draw(st.integers(1, 3))
    lines = [f"x{i}: input = {draw(st.floats(-2, 2)):.3f}" for i in range(n_in)]
    prev = [f"x{i}" for i in range(n_in)]
    params: list[str] = []
    for layer in range(draw(st.integers(1, 3))):
        width = draw(st.integers(1, 4))
        cur = []
        for j in range(width):
            terms = []
            for i, x in enumerate(prev):
                if draw(st.integers(0, 9)) == 0:
                    continue  # a missing term: a shorter chain
                if params and draw(st.integers(0, 5)) == 0:
                    w = draw(st.sampled_from(params))  # a reused weight
                else:
                    w = f"w{layer}_{i}_{j}"
                    lines.append(f"{w}: param = {draw(st.floats(-1, 1)):.3f}")
                    params.append(w)
                if draw(st.integers(0, 7)) == 0:
                    x = draw(st.sampled_from(prev))  # a repeated input
                terms.append(f"{x}*{w}" if draw(st.integers(0, 5)) == 0 else f"{w}*{x}")
            extra = draw(st.integers(0, 3))
            if extra == 1:
                b = f"b{layer}_{j}"
                lines.append(f"{b}: param = {draw(st.floats(-1, 1)):.3f}")
                terms.append(b)
            elif extra == 2:
                terms.insert(0, "0.5")
            elif extra == 3:
                terms.append(draw(st.sampled_from(prev)))
            if not terms:
                terms = [prev[0]]
            lines.append(f"z{layer}_{j} = " + " + ".join(terms))
            act = draw(st.sampled_from(["tanh", "sigmoid", "sin"]))
            lines.append(f"h{layer}_{j} = {act}(z{layer}_{j})")
            cur.append(f"h{layer}_{j}")
        prev = cur
    if not params:
        lines.append("w: param = 0.5")
        prev = [f"w*{prev[0]}"] + prev[1:]
    lines.append("L = " + " + ".join(f"{p}*{p}" for p in prev))
    return "\n".join(lines) + "\n"


@settings(max_examples=80, deadline=None)
@given(layered_scripts(), st.integers(1, 5))
def test_random_layered_scripts_equal_the_reference(text: str, batch: int) -> None:
    g = graphtrace.parse(text)
    wrt = list(g.params) + list(g.inputs)
    values = _batch(g, batch, seed=batch) if batch > 1 else {}
    run = _check_totals(g, values, wrt)
    fwd, grads = _reference(g, values)
    for v in fwd.order:
        assert _close(run.V[run.program.row(v)], fwd.values[v]), v
        assert _close(run.G[run.program.row(v)], grads[v]), v
    exact = compile_graph(g.nx).forward(values)
    for v in fwd.order:
        assert _same(exact.value(v), fwd.values[v]), v
    # The training step, twice (its matrices are reused), with the params moved in between.
    data = _batch(g, batch + 1, seed=7)
    step = compile_graph(g.nx).stepper(list(data), list(g.params))
    X = np.stack([data[x] for x in step.inputs]) if data else np.zeros((0, batch + 1))
    P = np.array([g.nx.nodes[p]["value"] for p in step.params])
    for shift in (0.0, 0.25):
        loss, grads = step.step(X, P + shift)
        moved = dict(data, **{p: float(v) + shift for p, v in zip(step.params, P, strict=True)})
        want, ref = _reference(g, moved)
        assert math.isclose(loss, float(np.mean(np.broadcast_to(want.values[g.output], (batch + 1,)))),
                            rel_tol=1e-12, abs_tol=1e-12)
        assert _close(grads, [np.mean(np.broadcast_to(ref[p], (batch + 1,))) for p in step.params])


@settings(max_examples=60, deadline=None)
@given(st.data(), st.integers(1, 4))
def test_random_scripts_through_the_fast_pass(data: st.DataObject, batch: int) -> None:
    from helpers import random_script

    class Picker:
        def int(self, lo: int, hi: int) -> int:
            return data.draw(st.integers(lo, hi))

        def float(self, lo: float, hi: float) -> float:
            return round(data.draw(st.floats(lo, hi, allow_nan=False)), 3)

    g = graphtrace.parse(random_script(Picker(), leaves=(1, 5), ops=(1, 16)))
    wrt = list(g.params) + list(g.inputs)
    values = _batch(g, batch, seed=batch) if batch > 1 else {}
    run = _check_totals(g, values, wrt)
    fwd, grads = _reference(g, values)
    for v in fwd.order:
        assert _close(run.G[run.program.row(v)], grads[v]), v


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_risky_scripts_raise_the_evaluators_errors(data: st.DataObject) -> None:
    from helpers import TEMPLATES, random_script

    risky = TEMPLATES + (("log({0})", 1), ("sqrt({0})", 1), ("exp(exp({0}))", 1), ("{0}**{1}", 2))

    class Picker:
        def int(self, lo: int, hi: int) -> int:
            return data.draw(st.integers(lo, hi))

        def float(self, lo: float, hi: float) -> float:
            return round(data.draw(st.floats(lo, hi, allow_nan=False)), 3)

    text = random_script(Picker(), leaves=(1, 4), ops=(1, 10), templates=risky)
    g = graphtrace.parse(text)
    try:
        fwd = evaluate(g.nx, source_text=text)
    except EvaluationError as exc:
        with pytest.raises(EvaluationError) as fast:
            compile_graph(g.nx).gradient_totals({}, list(g.params), source_text=text)
        assert str(fast.value) == str(exc)
        return
    run = compile_graph(g.nx).gradient_totals({}, list(g.params), source_text=text)
    grads = backprop(g.nx, fwd)
    assert _close(run.totals, [grads[p] for p in g.params])


def test_a_softmax_classifier_trains_on_its_lowered_copy() -> None:
    from graphtrace.network import mlp

    g = mlp([2, 5, 3], loss="ce", seed=0)
    rng = np.random.default_rng(0)
    data = {"x1": rng.uniform(-1, 1, 6), "x2": rng.uniform(-1, 1, 6), "y": rng.integers(0, 3, 6).astype(float)}
    step = compute.stepper(g.nx, list(data), list(g.params), output=g.output)
    X = np.stack([data[c] for c in step.inputs])
    P = np.array([g.nx.nodes[p]["value"] for p in step.params])
    loss, grads = step.step(X, P)
    fwd, ref = _reference(g, data)
    assert math.isclose(loss, float(np.mean(fwd.values[g.output])), rel_tol=1e-12)
    assert _close(grads, [np.mean(np.broadcast_to(ref[p], (6,))) for p in step.params], rel=1e-10)
    # A class index out of range: the reference's error, naming the script's node.
    data["y"][2] = 5.0
    with pytest.raises(EvaluationError) as plain:
        evaluate(g.nx, data)
    with pytest.raises(EvaluationError) as stepped:
        step.step(np.stack([data[c] for c in step.inputs]), P)
    assert str(stepped.value) == str(plain.value)
