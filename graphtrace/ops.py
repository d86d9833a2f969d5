"""The op registry: every operation's maths in one frozen record per op.

Each entry holds the forward function, one partial derivative per operand, a symbolic label per
operand (a template over the operands' display names), the glyph drawn in the node, a domain check
and a kink test. Partials receive the op's output first, so σ, tanh and exp reuse it (as HIPS
autograd does). Every function works elementwise on floats and on numpy arrays alike, so a batch
dimension costs nothing extra. No other module decides anything by an op's name.
"""

from __future__ import annotations

__all__ = ["Op", "OPS", "FUNCTIONS", "BINARY", "UNARY", "get_op"]

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


_REGISTRY: tuple[Op, ...] = (
    # ---- operators ----------------------------------------------------------------------------
    Op("add", 2, "+", lambda a, b: a + b,
       (lambda o, a, b: 1.0, lambda o, a, b: 1.0),
       ("1", "1"), "{0} + {1}", running=np.add),
    Op("sub", 2, "−", lambda a, b: a - b,
       (lambda o, a, b: 1.0, lambda o, a, b: -1.0),
       ("1", "−1"), "{0} − {1}"),
    Op("mul", 2, "×", lambda a, b: a * b,
       (lambda o, a, b: b, lambda o, a, b: a),
       ("{1}", "{0}"), "{0}·{1}"),
    # np.divide, not `/`: on Python floats `/` raises ZeroDivisionError where numpy gives ±inf/nan,
    # which the evaluator then reports as a domain error with the node's location.
    Op("div", 2, "÷", lambda a, b: np.divide(a, b),
       (lambda o, a, b: 1.0 / b,
        lambda o, a, b: -o / b),
       ("1/{1}", "−{0}/{1}²"), "{0}/{1}",
       domain=lambda a, b: np.equal(b, 0), domain_message="division by zero"),
    Op("pow", 2, "^", lambda a, b: np.power(np.asarray(a, dtype=float), b),
       (_pow_base_partial, _pow_exponent_partial),
       ("{1}·{0}^({1}−1)", "{0}^{1}·ln {0}"), "{0}^{1}",
       domain=lambda a, b: np.logical_or(
           np.logical_and(np.less(a, 0), np.not_equal(np.floor(b), b)),
           np.logical_and(np.equal(a, 0), np.less(b, 0))),
       domain_message="power undefined: negative base with a non-integer exponent, or 0 to a negative power"),
    Op("neg", 1, "−", lambda a: -a,
       (lambda o, a: -1.0,),
       ("−1",), "−{0}"),
    Op("identity", 1, "=", lambda a: a * 1.0,
       (lambda o, a: 1.0,),
       ("1",), "{0}"),
    # ---- functions ----------------------------------------------------------------------------
    Op("sigmoid", 1, "σ", _sigmoid,
       (lambda o, a: o * (1.0 - o),),
       ("σ({0})·(1−σ({0}))",), "σ({0})"),
    Op("tanh", 1, "tanh", np.tanh,
       (lambda o, a: 1.0 - o * o,),
       ("1−tanh²({0})",), "tanh({0})"),
    # relu'(0) = 0 (the contract's convention): the partial is the indicator of a > 0.
    Op("relu", 1, "ReLU", lambda a: np.maximum(a, 0.0),
       (lambda o, a: np.greater(a, 0).astype(float),),
       ("[{0} > 0]",), "relu({0})",
       kink=lambda h, a: _near(h, a)),
    Op("exp", 1, "exp", np.exp,
       (lambda o, a: o,),
       ("exp({0})",), "exp({0})"),
    Op("log", 1, "ln", np.log,
       (lambda o, a: 1.0 / a,),
       ("1/{0}",), "log({0})",
       domain=lambda a: np.less_equal(a, 0), domain_message="log of a value ≤ 0"),
    Op("sqrt", 1, "√", np.sqrt,
       (lambda o, a: 0.5 / o,),
       ("1/(2√{0})",), "√{0}",
       domain=lambda a: np.less(a, 0), domain_message="square root of a negative value"),
    # abs'(0) = 0 (the contract's convention): np.sign(0) is 0.
    Op("abs", 1, "|·|", np.abs,
       (lambda o, a: np.sign(a) * 1.0,),
       ("sign({0})",), "|{0}|",
       kink=lambda h, a: _near(h, a)),
    Op("sin", 1, "sin", np.sin,
       (lambda o, a: np.cos(a),),
       ("cos({0})",), "sin({0})"),
    Op("cos", 1, "cos", np.cos,
       (lambda o, a: -np.sin(a),),
       ("−sin({0})",), "cos({0})"),
    Op("softplus", 1, "softplus", _softplus,
       (lambda o, a: _sigmoid(a),),
       ("σ({0})",), "softplus({0})"),
    # On a tie the derivative goes to the first argument (the contract's convention): ≥ for max.
    Op("max", 2, "max", lambda a, b: np.maximum(a, b),
       (lambda o, a, b: np.greater_equal(a, b).astype(float),
        lambda o, a, b: np.less(a, b).astype(float)),
       ("[{0} ≥ {1}]", "[{0} < {1}]"), "max({0}, {1})",
       kink=lambda h, a, b: _near(h, np.asarray(a) - b)),
    # ... and ≤ for min.
    Op("min", 2, "min", lambda a, b: np.minimum(a, b),
       (lambda o, a, b: np.less_equal(a, b).astype(float),
        lambda o, a, b: np.greater(a, b).astype(float)),
       ("[{0} ≤ {1}]", "[{0} > {1}]"), "min({0}, {1})",
       kink=lambda h, a, b: _near(h, np.asarray(a) - b)),
)

OPS: dict[str, Op] = {op.name: op for op in _REGISTRY}
"""Every op by registry name."""

FUNCTIONS: tuple[str, ...] = (
    "sigmoid", "tanh", "relu", "exp", "log", "sqrt", "abs", "sin", "cos", "softplus", "max", "min",
)
"""The functions a script may call, in the contract's order."""

BINARY: dict[str, str] = {"Add": "add", "Sub": "sub", "Mult": "mul", "Div": "div", "Pow": "pow"}
"""Python ``ast`` binary operator class name → registry name (the parser's one mapping table)."""

UNARY: dict[str, str] = {"USub": "neg", "UAdd": "identity"}
"""Python ``ast`` unary operator class name → registry name."""


def get_op(name: str) -> Op:
    """The registry entry for ``name``.

    >>> get_op("sigmoid").glyph
    'σ'
    >>> float(get_op("mul").partials[0](6.0, 2.0, 3.0))  # ∂(a·b)/∂a = b
    3.0
    """
    return OPS[name]
