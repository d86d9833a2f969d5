"""The op registry: every partial against finite differences, domains, kinks and labels."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import central_difference

import graphtrace
from graphtrace.ops import BINARY, FUNCTIONS, OPS, UNARY

ALL_OPS = sorted(OPS)


def _points(name: str, rng: np.random.Generator, n: int = 6) -> list[tuple[float, ...]]:
    """The registry's sample points for ``name``, plus small seeded jitters of them (a jitter of
    ±1 % stays inside the domain and away from kinks and ties, which the samples keep clear of)."""
    op = OPS[name]
    samples = list(op.samples)
    jittered = [tuple(float(a) * (1 + rng.uniform(-0.01, 0.01)) if i != op.index_slot(len(p)) else a
                      for i, a in enumerate(p)) for p in samples]
    return (samples + jittered)[: max(n, len(samples))]


@pytest.mark.parametrize("name", ALL_OPS)
def test_every_op_has_samples_inside_its_domain(name):
    op = OPS[name]
    assert len(op.samples) >= 3
    for args in op.samples:
        assert len(args) == op.arity or (op.variadic and len(args) >= 2)
        assert math.isfinite(float(op.forward(*args)))
        if op.domain is not None:
            assert not bool(np.any(op.domain(*args))), args
        if op.kink is not None:
            assert not bool(np.any(op.kink(0.05, *args))), args


def test_every_op_is_reachable_from_the_language():
    reachable = set(FUNCTIONS) | set(BINARY.values()) | set(UNARY.values())
    assert reachable == set(OPS)
    # the contract's functions, at least
    assert set(FUNCTIONS) >= {"sigmoid", "tanh", "relu", "exp", "log", "sqrt", "abs", "sin", "cos",
                              "softplus", "max", "min"}


@pytest.mark.parametrize("name", ALL_OPS)
def test_record_is_consistent(name):
    op = OPS[name]
    assert op.name == name
    assert op.glyph
    if op.variadic:  # softmax, logsumexp, cross_entropy: every partial at once, two label templates
        assert op.partials == () and op.gradient is not None and op.function
        assert len(op.symbolic) == 2 and op.takes in ("all", "each", "class")
        return
    assert op.arity in (1, 2)
    assert len(op.partials) == op.arity
    assert len(op.symbolic) == op.arity


@pytest.mark.parametrize("name", ALL_OPS)
def test_partials_match_finite_differences(name):
    op = OPS[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for point in _points(name, rng):
        args = [float(a) for a in point]
        out = float(op.forward(*args))
        assert math.isfinite(out)
        for i, partial in enumerate(op.partials_at(out, *args)):
            if i == op.index_slot(len(args)):  # a class index: its partial is 0 by definition
                assert float(partial) == 0.0
                continue

            def f(t: float, i: int = i, args: list[float] = args) -> float:
                moved = list(args)
                moved[i] = t
                return float(op.forward(*moved))

            expected = central_difference(f, args[i])
            got = float(partial)
            assert math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9), (name, i, args, got, expected)


@pytest.mark.parametrize("name", ALL_OPS)
def test_forward_and_partials_broadcast_over_a_batch(name):
    op = OPS[name]
    rng = np.random.default_rng(7)
    points = _points(name, rng, 12)
    points = [p for p in points if len(p) == len(points[0])][:5]  # variadic samples vary in length
    n = len(points)
    cols = [np.array([p[i] for p in points], dtype=float) for i in range(len(points[0]))]
    out = np.asarray(op.forward(*cols))
    assert out.shape == (n,)
    batches = op.partials_at(out, *cols)
    for j, p in enumerate(points):
        scalar_out = float(op.forward(*p))
        assert out[j] == pytest.approx(scalar_out, rel=1e-12, abs=1e-15)
        for batch, single in zip(batches, op.partials_at(scalar_out, *p), strict=True):
            batch = np.broadcast_to(np.asarray(batch, dtype=float), (n,))
            assert batch[j] == pytest.approx(float(single), rel=1e-12, abs=1e-15)


# ---- analytic values worked by hand --------------------------------------------------------------
@pytest.mark.parametrize(
    "name, args, value, grads",
    [
        ("mul", (3.0, -2.0), -6.0, (-2.0, 3.0)),
        ("div", (3.0, 2.0), 1.5, (0.5, -0.75)),  # d(a/b)/db = -a/b²
        ("pow", (2.0, 3.0), 8.0, (12.0, 8.0 * math.log(2.0))),
        ("sigmoid", (0.0,), 0.5, (0.25,)),
        ("tanh", (0.0,), 0.0, (1.0,)),
        ("exp", (1.0,), math.e, (math.e,)),
        ("log", (2.0,), math.log(2.0), (0.5,)),
        ("sqrt", (4.0,), 2.0, (0.25,)),
        ("softplus", (0.0,), math.log(2.0), (0.5,)),
        ("sin", (0.0,), 0.0, (1.0,)),
        ("cos", (0.0,), 1.0, (0.0,)),
        ("neg", (2.5,), -2.5, (-1.0,)),
        ("sub", (1.0, 4.0), -3.0, (1.0, -1.0)),
        ("tan", (math.pi / 4,), 1.0, (2.0,)),  # tan' = 1 + tan² = 2 at π/4
    ],
)
def test_hand_worked_values(name, args, value, grads):
    op = OPS[name]
    out = float(op.forward(*args))
    assert out == pytest.approx(value, rel=1e-12, abs=1e-15)
    got = tuple(float(p(out, *args)) for p in op.partials)
    assert got == pytest.approx(grads, rel=1e-12, abs=1e-15)


# ---- kinks -----------------------------------------------------------------------------------------
def _partials(name, *args):
    op = OPS[name]
    out = op.forward(*args)
    return tuple(float(p(out, *args)) for p in op.partials)


def test_relu_derivative_at_zero_is_zero():
    assert _partials("relu", 0.0) == (0.0,)
    assert _partials("relu", 1e-300) == (1.0,)
    assert _partials("relu", -1e-300) == (0.0,)


def test_abs_derivative_at_zero_is_zero():
    assert _partials("abs", 0.0) == (0.0,)
    assert _partials("abs", -0.5) == (-1.0,)
    assert _partials("abs", 0.5) == (1.0,)


@pytest.mark.parametrize("name", ["max", "min"])
def test_tie_goes_to_first_argument(name):
    assert _partials(name, 1.5, 1.5) == (1.0, 0.0)
    assert _partials(name, -2.0, -2.0) == (1.0, 0.0)


def test_max_min_pick_the_right_argument_off_tie():
    assert _partials("max", 2.0, 1.0) == (1.0, 0.0)
    assert _partials("max", 1.0, 2.0) == (0.0, 1.0)
    assert _partials("min", 2.0, 1.0) == (0.0, 1.0)
    assert _partials("min", 1.0, 2.0) == (1.0, 0.0)


@pytest.mark.parametrize("name", ["relu", "abs", "max", "min"])
def test_kink_ops_declare_a_kink_test(name):
    op = OPS[name]
    assert op.kink is not None
    at_kink = (0.0,) if op.arity == 1 else (1.0, 1.0)
    away = (1.0,) if op.arity == 1 else (1.0, 2.0)
    assert bool(np.any(op.kink(1e-6, *at_kink)))
    assert not bool(np.any(op.kink(1e-6, *away)))


def test_kink_conventions_through_the_graph():
    g = graphtrace.parse("a: param = 0\nb: param = 3\nc: param = 3\nL = relu(a) + abs(a) + max(b, c) + min(c, b)")
    grads = g.backprop()
    assert float(grads["a"]) == 0.0
    # tie: max's first argument is b, min's first argument is c
    assert float(grads["b"]) == 1.0
    assert float(grads["c"]) == 1.0
    assert float(g.sum_over_paths("b")) == 1.0
    assert float(g.sum_over_paths("c")) == 1.0


# ---- numerical stability ---------------------------------------------------------------------------
@pytest.mark.parametrize("x, expected", [(1000.0, 1.0), (-1000.0, 0.0), (745.0, 1.0), (-745.0, 0.0)])
def test_sigmoid_is_stable_at_extremes(x, expected):
    op = OPS["sigmoid"]
    with np.errstate(all="raise"):
        out = float(op.forward(x))
        d = float(op.partials[0](out, x))
    assert out == pytest.approx(expected, abs=1e-300)
    assert math.isfinite(d) and d == pytest.approx(0.0, abs=1e-300)


def test_sigmoid_stable_through_the_graph():
    for s in ("1000", "-1000"):
        g = graphtrace.parse(f"s: param = {s}\nz = sigmoid(s)")
        assert math.isfinite(float(g.forward().value))
        assert float(g.backprop()["s"]) == pytest.approx(0.0, abs=1e-300)


@pytest.mark.parametrize("x", [1000.0, -1000.0])
def test_softplus_is_stable_at_extremes(x):
    op = OPS["softplus"]
    with np.errstate(over="raise"):
        out = float(op.forward(x))
        d = float(op.partials[0](out, x))
    assert out == pytest.approx(max(x, 0.0))
    assert d == pytest.approx(1.0 if x > 0 else 0.0)


# ---- pow -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", [(-2.0, 3.0), (-3.0, 2.0), (-1.5, 4.0), (-2.0, -1.0), (-0.5, 5.0)])
def test_pow_negative_base_integer_exponent(a, b):
    op = OPS["pow"]
    out = float(op.forward(a, b))
    assert out == pytest.approx(a**b, rel=1e-12)
    assert float(op.partials[0](out, a, b)) == pytest.approx(b * a ** (b - 1), rel=1e-12)
    assert not bool(np.any(op.domain(a, b)))


def test_pow_negative_base_in_a_script():
    g = graphtrace.parse("x: param = -2\ny = x**3")
    assert float(g.forward().value) == -8.0
    assert float(g.backprop()["x"]) == pytest.approx(12.0)
    assert g.check().ok


def test_pow_at_zero_base():
    g = graphtrace.parse("x: param = 0\ny = x**2")
    assert float(g.backprop()["x"]) == 0.0


def test_pow_domain():
    dom = OPS["pow"].domain
    assert bool(dom(-2.0, 0.5))
    assert bool(dom(0.0, -1.0))
    assert not bool(dom(2.0, 0.5))
    assert not bool(dom(0.0, 2.0))


@pytest.mark.parametrize(
    "name, bad, good",
    [("log", [(0.0,), (-1.0,)], [(1e-300,), (2.0,)]),
     ("sqrt", [(-1e-9,), (-4.0,)], [(0.0,), (4.0,)]),
     ("div", [(1.0, 0.0), (0.0, 0.0)], [(1.0, 1e-300), (0.0, -2.0)])],
)
def test_domains(name, bad, good):
    op = OPS[name]
    assert op.domain is not None and op.domain_message
    for args in bad:
        assert bool(np.any(op.domain(*args))), args
    for args in good:
        assert not bool(np.any(op.domain(*args))), args


# ---- symbolic labels -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_OPS)
def test_symbolic_templates_format_with_operand_names(name):
    op = OPS[name]
    names = ("alpha", "beta", "gamma")[: op.arity or 3]
    for slot in range(len(names)):
        text = op.symbolic_at(slot, names, "out")
        assert "{" not in text and "}" not in text
    infix = op.infix.format(*names, out="out")
    for n in names[:1] if op.variadic else names:  # a variadic op's infix shows its first operand
        assert n in infix


@pytest.mark.parametrize(
    "name, names, expected",
    [
        ("sigmoid", ("s",), ("σ(s)·(1−σ(s))",)),
        ("mul", ("a", "b"), ("b", "a")),
        ("log", ("z",), ("1/z",)),
        ("add", ("a", "b"), ("1", "1")),
    ],
)
def test_symbolic_labels_read_in_user_names(name, names, expected):
    assert tuple(t.format(*names, out="o") for t in OPS[name].symbolic) == expected


@pytest.mark.parametrize("name", ALL_OPS)
def test_symbolic_partials_mention_an_operand_or_are_constants(name):
    op = OPS[name]
    if op.variadic:
        pytest.skip("a variadic op's labels name its operands (tested in test_arrays.py)")
    names = ("ALPHA", "BETA")[: op.arity]
    for tpl, partial in zip(op.symbolic, op.partials, strict=True):
        text = tpl.format(*names, out="OUT")
        if any(n in text for n in names) or "OUT" in text:
            continue
        # a label without an operand is the number the partial always gives
        value = float(text.replace("−", "-"))
        for args in op.samples:
            assert float(partial(float(op.forward(*args)), *args)) == value, (name, text, args)


@pytest.mark.parametrize("b", [2.0, 3.0, 0.5, -1.0, 1.0, -2.5, 0.0])
def test_the_pow_partial_shortcut_for_a_constant_exponent_is_bit_for_bit(b: float) -> None:
    """A training step passes the constant exponent as a float and the base as a batch: the
    shortcut must give the general formula's numbers exactly (zeros' signs, inf, NaN included)."""
    from graphtrace.ops import _pow_base_partial

    rng = np.random.default_rng(1)
    a = np.concatenate([rng.normal(size=200) * 10, [0.0, -0.0, np.inf, -np.inf, np.nan, 1e308, -1e-308]])[None, :]
    with np.errstate(all="ignore"):
        general = np.where(np.equal(b, 0), 0.0, b * np.power(a, b - 1.0))
        fast = _pow_base_partial(None, a, b)
    assert fast.shape == general.shape and fast.dtype == general.dtype
    assert np.array_equal(fast, general, equal_nan=True) and np.array_equal(np.signbit(fast), np.signbit(general))
