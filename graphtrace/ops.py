"""The op registry: every operation's maths in one frozen record per op.

Each entry holds the forward function, one partial derivative per operand, a symbolic label per
operand (a template over the operands' display names), the glyph drawn in the node, a domain check
and a kink test. Partials receive the op's output first, so σ, tanh and exp reuse it (as HIPS
autograd does). Every function works elementwise on floats and on numpy arrays alike, so a batch
dimension costs nothing extra. No other module decides anything by an op's name.
"""

from __future__ import annotations

__all__ = ["Op", "OPS", "FUNCTIONS", "BINARY", "UNARY", "ACTIVATIONS", "JS_PRELUDE", "get_op"]

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = Any  # a float or a numpy array; every op is elementwise and broadcasts
# A partial may return a plain float where it is constant (add, sub, neg): broadcasting against a
# batch of gradients gives the right shape, and the scalar evaluator stays cheap.


@dataclass(frozen=True)
class Op:
    """One operation: how to compute it, differentiate it, check it and draw it.

    Attributes:
        name: registry name, as written in scripts (for functions) and in JSON.
        arity: number of operands.
        glyph: short symbol drawn inside an op node (``×``, ``σ``).
        forward: ``forward(*args) -> out``.
        partials: one ``partial(out, *args) -> ∂out/∂arg_i`` per operand.
        symbolic: one template per operand for the drawing, over ``{0}``, ``{1}`` (operand display
            names) and ``{out}`` (the node's own display name).
        infix: template to print the op as an expression (``{0} + {1}``), for labels and formulas.
        domain: ``domain(*args) -> bool mask`` of operands outside the op's domain, or None.
        domain_message: what the domain violation means, for the error message.
        kink: ``kink(h, *args) -> bool mask`` of operands within ``h`` of a point where the op is
            not differentiable (finite differences are unreliable there), or None.
        running: a numpy ufunc whose ``accumulate`` computes a left-to-right chain of this op
            (``((a + b) + c) + d``) in one call with every partial result, in the same order, or
            None. Set only on ops whose partials are all 1: the compiled engine then fuses such
            chains and passes the gradient down a chain unchanged.
        js: the forward as one JavaScript expression over ``a``, ``b`` (the explorer's page is
            generated from it, with the helpers of :data:`JS_PRELUDE`).
        js_partials: one JavaScript expression per operand over ``o`` (the output), ``a``, ``b``.
        syntax: the Python ``ast`` operator class that spells this op in scripts (``Add``,
            ``USub``), or None.
        function: scripts call it by name (``sigmoid(x)``); the contract's functions.
        commutative: ``f(a, b) = f(b, a)``: a drawing may fold a constant from either side.
        prefix: a prefix operator (``−a``): drawn as ``−(·)`` beside a named node.
        activation: offered as an MLP activation by ``graphtrace mlp``.
        linear: the identity map: a layer with this activation stays linear (course §5).
        probability: its values lie in (0, 1), so a prediction made by it is a probability
            (training thresholds it at 0.5).
        samples: argument tuples strictly inside the domain and away from kinks, for the tests
            that every op gets from the registry.
    """

    name: str
    arity: int
    glyph: str
    forward: Callable[..., Array]
    partials: tuple[Callable[..., Array], ...]
    symbolic: tuple[str, ...]
    infix: str
    domain: Callable[..., Array] | None = None
    domain_message: str = ""
    kink: Callable[..., Array] | None = None
    running: Any = None
    js: str = ""
    js_partials: tuple[str, ...] = ()
    syntax: str | None = None
    function: bool = False
    commutative: bool = False
    prefix: bool = False
    activation: bool = False
    linear: bool = False
    probability: bool = False
    samples: tuple[tuple[float, ...], ...] = ()


def _sigmoid(x: Array) -> Array:
    # 0.5·(1 + tanh(x/2)) equals 1/(1+e^-x) but never overflows for large negative x.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x: Array) -> Array:
    # log(1 + e^x) written to stay finite for large |x|.
    return np.logaddexp(0.0, x)


def _pow_exponent_partial(out: Array, a: Array, b: Array) -> Array:
    # ∂(a^b)/∂b = a^b·ln a, defined for a > 0; at a = 0 the limit is 0 (b > 0). For a < 0 it is not
    # real: NaN, which the evaluator reports only if the exponent depends on an input or param.
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(np.greater(a, 0), a, 1.0)
        return np.where(np.greater(a, 0), out * np.log(safe), np.where(np.equal(a, 0), 0.0, np.nan))


def _pow_base_partial(out: Array, a: Array, b: Array) -> Array:
    # ∂(a^b)/∂a = b·a^(b−1); written with power() rather than out/a so that a = 0 works.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.equal(b, 0), 0.0, b * np.power(a, b - 1.0))


def _near(h: float, x: Array, at: float = 0.0) -> Array:
    return np.abs(np.asarray(x) - at) <= h


# Sample points shared by ops with the same domain: inside it, away from kinks and ties.
_ANY = ((-2.5,), (-0.7,), (0.4,), (1.9,))
_ANY2 = ((-2.5, 1.5), (0.4, -1.2), (1.7, 0.6), (-0.3, -2.1))
_POSITIVE = ((0.2,), (0.9,), (2.5,), (4.0,))

_REGISTRY: tuple[Op, ...] = (
    # ---- operators ----------------------------------------------------------------------------
    Op("add", 2, "+", lambda a, b: a + b,
       (lambda o, a, b: 1.0, lambda o, a, b: 1.0),
       ("1", "1"), "{0} + {1}", running=np.add,
       js="a + b", js_partials=("1", "1"), syntax="Add", commutative=True, samples=_ANY2),
    Op("sub", 2, "−", lambda a, b: a - b,
       (lambda o, a, b: 1.0, lambda o, a, b: -1.0),
       ("1", "−1"), "{0} − {1}",
       js="a - b", js_partials=("1", "-1"), syntax="Sub", samples=_ANY2),
    Op("mul", 2, "×", lambda a, b: a * b,
       (lambda o, a, b: b, lambda o, a, b: a),
       ("{1}", "{0}"), "{0}·{1}",
       js="a * b", js_partials=("b", "a"), syntax="Mult", commutative=True, samples=_ANY2),
    # np.divide, not `/`: on Python floats `/` raises ZeroDivisionError where numpy gives ±inf/nan,
    # which the evaluator then reports as a domain error with the node's location.
    Op("div", 2, "÷", lambda a, b: np.divide(a, b),
       (lambda o, a, b: 1.0 / b,
        lambda o, a, b: -o / b),
       ("1/{1}", "−{0}/{1}²"), "{0}/{1}",
       domain=lambda a, b: np.equal(b, 0), domain_message="division by zero",
       js="a / b", js_partials=("1 / b", "-o / b"), syntax="Div",
       samples=((-2.5, 1.5), (0.4, -1.2), (1.7, 0.6), (-0.3, -2.1))),
    Op("pow", 2, "^", lambda a, b: np.power(np.asarray(a, dtype=float), b),
       (_pow_base_partial, _pow_exponent_partial),
       ("{1}·{0}^({1}−1)", "{0}^{1}·ln {0}"), "{0}^{1}",
       domain=lambda a, b: np.logical_or(
           np.logical_and(np.less(a, 0), np.not_equal(np.floor(b), b)),
           np.logical_and(np.equal(a, 0), np.less(b, 0))),
       domain_message="power undefined: negative base with a non-integer exponent, or 0 to a negative power",
       # a^b·ln a for a > 0; the limit 0 at a = 0; not real below 0 (as _pow_exponent_partial).
       js="power(a, b)",
       js_partials=("b === 0 ? 0 : b * power(a, b - 1)", "a > 0 ? o * Math.log(a) : (a === 0 ? 0 : NaN)"),
       syntax="Pow", samples=((0.5, 1.5), (1.3, -0.7), (2.2, 2.0), (0.9, -1.8))),
    Op("neg", 1, "−", lambda a: -a,
       (lambda o, a: -1.0,),
       ("−1",), "−{0}",
       js="-a", js_partials=("-1",), syntax="USub", prefix=True, samples=_ANY),
    Op("identity", 1, "=", lambda a: a * 1.0,
       (lambda o, a: 1.0,),
       ("1",), "{0}",
       js="a * 1.0", js_partials=("1",), syntax="UAdd", activation=True, linear=True, samples=_ANY),
    # ---- functions ----------------------------------------------------------------------------
    Op("sigmoid", 1, "σ", _sigmoid,
       (lambda o, a: o * (1.0 - o),),
       ("σ({0})·(1−σ({0}))",), "σ({0})",
       js="sigmoid(a)", js_partials=("o * (1 - o)",), function=True, activation=True,
       probability=True, samples=((-5.0,), (-0.7,), (0.4,), (5.5,))),
    Op("tanh", 1, "tanh", np.tanh,
       (lambda o, a: 1.0 - o * o,),
       ("1−tanh²({0})",), "tanh({0})",
       js="Math.tanh(a)", js_partials=("1 - o * o",), function=True, activation=True, samples=_ANY),
    # relu'(0) = 0 (the contract's convention): the partial is the indicator of a > 0.
    Op("relu", 1, "ReLU", lambda a: np.maximum(a, 0.0),
       (lambda o, a: np.greater(a, 0).astype(float),),
       ("[{0} > 0]",), "relu({0})",
       kink=lambda h, a: _near(h, a),
       js="isNaN(a) ? NaN : Math.max(a, 0)", js_partials=("a > 0 ? 1 : 0",), function=True,
       activation=True, samples=_ANY),
    Op("exp", 1, "exp", np.exp,
       (lambda o, a: o,),
       ("exp({0})",), "exp({0})",
       js="Math.exp(a)", js_partials=("o",), function=True, samples=_ANY),
    Op("log", 1, "ln", np.log,
       (lambda o, a: 1.0 / a,),
       ("1/{0}",), "log({0})",
       domain=lambda a: np.less_equal(a, 0), domain_message="log of a value ≤ 0",
       js="Math.log(a)", js_partials=("1 / a",), function=True, samples=_POSITIVE),
    Op("sqrt", 1, "√", np.sqrt,
       (lambda o, a: 0.5 / o,),
       ("1/(2√{0})",), "√{0}",
       domain=lambda a: np.less(a, 0), domain_message="square root of a negative value",
       js="Math.sqrt(a)", js_partials=("0.5 / o",), function=True, samples=_POSITIVE),
    # abs'(0) = 0 (the contract's convention): np.sign(0) is 0.
    Op("abs", 1, "|·|", np.abs,
       (lambda o, a: np.sign(a) * 1.0,),
       ("sign({0})",), "|{0}|",
       kink=lambda h, a: _near(h, a),
       js="Math.abs(a)", js_partials=("sign(a)",), function=True, samples=_ANY),
    Op("sin", 1, "sin", np.sin,
       (lambda o, a: np.cos(a),),
       ("cos({0})",), "sin({0})",
       js="Math.sin(a)", js_partials=("Math.cos(a)",), function=True, samples=_ANY),
    Op("cos", 1, "cos", np.cos,
       (lambda o, a: -np.sin(a),),
       ("−sin({0})",), "cos({0})",
       js="Math.cos(a)", js_partials=("-Math.sin(a)",), function=True, samples=_ANY),
    Op("softplus", 1, "softplus", _softplus,
       (lambda o, a: _sigmoid(a),),
       ("σ({0})",), "softplus({0})",
       js="softplus(a)", js_partials=("sigmoid(a)",), function=True,
       samples=((-5.0,), (-0.7,), (0.4,), (5.5,))),
    # On a tie the derivative goes to the first argument (the contract's convention): ≥ for max.
    Op("max", 2, "max", lambda a, b: np.maximum(a, b),
       (lambda o, a, b: np.greater_equal(a, b).astype(float),
        lambda o, a, b: np.less(a, b).astype(float)),
       ("[{0} ≥ {1}]", "[{0} < {1}]"), "max({0}, {1})",
       kink=lambda h, a, b: _near(h, np.asarray(a) - b),
       js="Math.max(a, b)", js_partials=("a >= b ? 1 : 0", "a < b ? 1 : 0"), function=True,
       commutative=True, samples=_ANY2),
    # ... and ≤ for min.
    Op("min", 2, "min", lambda a, b: np.minimum(a, b),
       (lambda o, a, b: np.less_equal(a, b).astype(float),
        lambda o, a, b: np.greater(a, b).astype(float)),
       ("[{0} ≤ {1}]", "[{0} > {1}]"), "min({0}, {1})",
       kink=lambda h, a, b: _near(h, np.asarray(a) - b),
       js="Math.min(a, b)", js_partials=("a <= b ? 1 : 0", "a > b ? 1 : 0"), function=True,
       commutative=True, samples=_ANY2),
    Op("tan", 1, "tan", np.tan,
       (lambda o, a: 1.0 + o * o,),
       ("1+tan²({0})",), "tan({0})",
       js="Math.tan(a)", js_partials=("1 + o * o",), function=True,
       samples=((-1.2,), (-0.4,), (0.3,), (1.1,))),
)

OPS: dict[str, Op] = {op.name: op for op in _REGISTRY}
"""Every op by registry name."""

FUNCTIONS: tuple[str, ...] = tuple(op.name for op in _REGISTRY if op.function)
"""The functions a script may call, in registry order."""

BINARY: dict[str, str] = {op.syntax: op.name for op in _REGISTRY if op.syntax and op.arity == 2}
"""Python ``ast`` binary operator class name → registry name (the parser's one mapping table)."""

UNARY: dict[str, str] = {op.syntax: op.name for op in _REGISTRY if op.syntax and op.arity == 1}
"""Python ``ast`` unary operator class name → registry name."""

ACTIVATIONS: tuple[str, ...] = tuple(op.name for op in _REGISTRY if op.activation)
"""The activations ``graphtrace mlp`` offers."""

JS_PRELUDE = """\
function sigmoid(x) { return 0.5 * (1.0 + Math.tanh(0.5 * x)); }
function softplus(x) { return isNaN(x) ? NaN : Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))); }
function sign(x) { return x > 0 ? 1 : (x < 0 ? -1 : (x === 0 ? 0 : NaN)); }
function power(a, b) { return a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b); }
"""
"""Helpers that the ops' JavaScript forms share, written once: σ as 0.5·(1 + tanh(x/2)) and softplus
as max(x, 0) + log1p(e^−|x|), exactly as the numpy forms above, and numpy's power (1^y = 1 for any y,
(−1)^±∞ = 1, where JavaScript's Math.pow gives NaN)."""


def get_op(name: str) -> Op:
    """The registry entry for ``name``.

    >>> get_op("sigmoid").glyph
    'σ'
    >>> float(get_op("mul").partials[0](6.0, 2.0, 3.0))  # ∂(a·b)/∂a = b
    3.0
    """
    return OPS[name]
