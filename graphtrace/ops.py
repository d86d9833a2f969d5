"""The op registry: every operation's maths in one frozen record per op.

Each entry holds the forward function, one partial derivative per operand, a symbolic label per
operand (a template over the operands' display names), the glyph drawn in the node, a domain check
and a kink test. Partials receive the op's output first, so σ, tanh and exp reuse it (as HIPS
autograd does). Every function works elementwise on floats and on numpy arrays alike, so a batch
dimension costs nothing extra. No other module decides anything by an op's name.
"""

from __future__ import annotations

__all__ = ["Op", "VARIADIC", "OPS", "FUNCTIONS", "BINARY", "UNARY", "ACTIVATIONS", "REDUCTIONS", "JS_PRELUDE", "get_op"]

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .i18n import N_

Array = Any  # a float or a numpy array; every op is elementwise and broadcasts
# A partial may return a plain float where it is constant (add, sub, neg): broadcasting against a
# batch of gradients gives the right shape, and the scalar evaluator stays cheap.


VARIADIC = 0
"""The arity of an op that takes any number of operands (at least one)."""


@dataclass(frozen=True)
class Op:
    """One operation: how to compute it, differentiate it, check it and draw it.

    Attributes:
        name: registry name, as written in scripts (for functions) and in JSON.
        arity: number of operands, or :data:`VARIADIC` (0) for a variadic op (softmax, logsumexp,
            cross_entropy: one node over every element of a vector, any number of operands). The
            compiled engine runs ops of one or two operands; :mod:`graphtrace.compute` sends graphs
            with a variadic op to the reference evaluator (and the engine, asked anyway, refuses
            them with a GraphError: no operand slot fits an arity of 0).
        glyph: short symbol drawn inside an op node (``×``, ``σ``).
        forward: ``forward(*args) -> out``.
        partials: one ``partial(out, *args) -> ∂out/∂arg_i`` per operand (empty for a variadic op).
        symbolic: one template per operand for the drawing, over ``{0}``, ``{1}`` (operand display
            names) and ``{out}`` (the node's own display name). A variadic op has two: the first
            operand's and every other operand's (or, with ``takes="class"``, the logits' and the
            class index's), with ``{j}`` for the operand itself and ``{k}`` for the last one.
        infix: template to print the op as an expression (``{0} + {1}``), for labels and formulas.
        domain: ``domain(*args) -> bool mask`` of operands outside the op's domain, or None.
        domain_message: what the domain violation means, for the error message.
        kink: ``kink(h, *args) -> bool mask`` of operands within ``h`` of a point where the op is
            not differentiable (finite differences are unreliable there), or None.
        running: a numpy ufunc whose ``accumulate`` computes a left-to-right chain of this op
            (``((a + b) + c) + d``) in one call with every partial result, in the same order, or
            None. Set only on ops whose partials are all 1: the compiled engine then fuses such
            chains and passes the gradient down a chain unchanged.
        product: the op is the product a·b, its partials the other operand (b, a): the compiled
            engine runs sums of such products that share operands (a layer of ``w*x`` feeding a
            ``running`` chain) as one matrix product.
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
        gradient: a variadic op's partials, all at once: ``gradient(out, *args) -> [∂out/∂arg_i]``.
        takes: how a variadic function takes a vector ``v`` of K elements: ``"all"`` one node over
            every element (logsumexp), ``"each"`` K nodes, node i taking ``v[i]`` first and then
            the others in turn (softmax), ``"class"`` one node over the K logits and, last, a class
            index (cross_entropy; the index is not differentiable: its partial is 0).
        reduction: the function that folds this binary op over an array (``sum`` for add).
        mismatch: the shape error of an elementwise binary op, over ``{a}`` and ``{b}`` (the
            operands' shapes in words).
        lowered: a variadic op written with ops of one or two operands, for the compiled engine:
            ``lowered(emit, const, args) -> node`` calls ``emit(op_name, *operands)`` and
            ``const(value)`` (each returns a new node) and gives the node of the same value, whose
            derivatives are the same too (training runs such graphs on the engine this way).
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
    product: bool = False
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
    gradient: Callable[..., list[Array]] | None = None
    takes: str | None = None
    reduction: str | None = None
    mismatch: str = ""
    lowered: Callable[..., Any] | None = None

    @property
    def variadic(self) -> bool:
        """Whether the op takes any number of operands (the compiled engine does not run it)."""
        return self.arity == VARIADIC

    def partials_at(self, out: Array, *args: Array) -> list[Array]:
        """Every operand's partial ∂out/∂arg_i at these values, in slot order.

        >>> [float(d) for d in get_op("mul").partials_at(6.0, 2.0, 3.0)]
        [3.0, 2.0]
        >>> [round(float(d), 6) for d in get_op("logsumexp").partials_at(np.log(2.0), 0.0, 0.0)]
        [0.5, 0.5]
        """
        if self.gradient is not None:
            return list(self.gradient(out, *args))
        return [p(out, *args) for p in self.partials]

    def index_slot(self, n_operands: int) -> int | None:
        """The slot that holds a class index (no derivative is reported for it), or None."""
        return n_operands - 1 if self.takes == "class" else None

    def symbolic_at(self, slot: int, names: list[str] | tuple[str, ...], out: str) -> str:
        """The symbolic local derivative of operand ``slot``, in the operands' display names.

        >>> get_op("mul").symbolic_at(0, ["a", "b"], "y")
        'b'
        >>> get_op("softmax").symbolic_at(1, ["u", "v"], "p")
        '−p·exp(v)/Σexp'
        """
        if not self.variadic:
            return self.symbolic[slot].format(*names, out=out)
        if self.takes == "class":
            template = self.symbolic[1 if slot == len(names) - 1 else 0]
        else:
            template = self.symbolic[0 if slot == 0 else 1]
        return template.format(*names, out=out, j=names[slot], k=names[-1])


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
    if type(b) is float and b != 0.0 and type(a) is np.ndarray and a.ndim:
        # A constant exponent on a batch (a training step's x**2): the same numbers, bit for bit
        # (a^1 is a), without the where and the errstate (6 of a 2-16-16-1 step's 68 µs).
        if b == 2.0:
            return 2.0 * a
        with np.errstate(divide="ignore", invalid="ignore"):
            return b * np.power(a, b - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.equal(b, 0), 0.0, b * np.power(a, b - 1.0))


def _near(h: float, x: Array, at: float = 0.0) -> Array:
    return np.abs(np.asarray(x) - at) <= h


def _stacked(args: tuple[Array, ...]) -> np.ndarray:
    """The operands of a variadic op as one array of shape (K, *batch)."""
    return np.stack(np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args)))


def _lse(x: np.ndarray) -> np.ndarray:
    # log Σ exp(x_i) over axis 0, shifted by the largest x_i so that nothing overflows.
    with np.errstate(all="ignore"):
        m = np.max(x, axis=0)
        shift = np.where(np.isfinite(m), m, 0.0)
        return shift + np.log(np.sum(np.exp(x - shift), axis=0))


def _logsumexp(*args: Array) -> Array:
    return _lse(_stacked(args))


def _logsumexp_partials(out: Array, *args: Array) -> list[Array]:
    # ∂lse/∂v_j = exp(v_j − lse) = softmax_j
    with np.errstate(all="ignore"):
        return [np.exp(np.asarray(a, dtype=float) - out) for a in args]


def _softmax(*args: Array) -> Array:
    # softmax of the first operand among all: exp(v_0 − lse(v)); node i of softmax(v) takes v_i first
    x = _stacked(args)
    with np.errstate(all="ignore"):
        return np.exp(x[0] - _lse(x))


def _softmax_partials(out: Array, *args: Array) -> list[Array]:
    # softmax′: ∂s_i/∂v_j = s_i(δ_ij − s_j): s_i(1 − s_i) for its own element, −s_i·s_j for the others
    x = _stacked(args)
    with np.errstate(all="ignore"):
        lse = _lse(x)
        return [out * (1.0 - out)] + [-out * np.exp(x[j] - lse) for j in range(1, len(args))]


def _log_softmax(*args: Array) -> Array:
    x = _stacked(args)
    return x[0] - _lse(x)


def _log_softmax_partials(out: Array, *args: Array) -> list[Array]:
    # ∂(v_i − lse)/∂v_j = δ_ij − softmax_j, and softmax_i = exp(out)
    x = _stacked(args)
    with np.errstate(all="ignore"):
        lse = _lse(x)
        return [1.0 - np.exp(out)] + [-np.exp(x[j] - lse) for j in range(1, len(args))]


def _class_of(k: Array, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A class index as integers, and where it is one: an integer from 0 to n − 1."""
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        valid = (k == np.floor(k)) & (k >= 0) & (k < n)
    return np.where(valid, k, 0).astype(np.int64), valid


def _cross_entropy(*args: Array) -> Array:
    # −log softmax(z)_k = lse(z) − z_k, for the logits z_0 … z_{K−1} and the class index k (last)
    x = _stacked(args)  # the index broadcast with the logits: a batch of labels, or of logits
    z = x[:-1]
    k, valid = _class_of(x[-1], len(args) - 1)
    picked = np.take_along_axis(z, k[None], axis=0)[0]
    with np.errstate(all="ignore"):
        return np.where(valid, _lse(z) - picked, np.nan)


def _cross_entropy_partials(out: Array, *args: Array) -> list[Array]:
    # ∂/∂z_j = softmax_j − [j = k]; the class index is a label, not a number to differentiate: 0
    x = _stacked(args)
    z = x[:-1]
    k, valid = _class_of(x[-1], len(args) - 1)
    with np.errstate(all="ignore"):
        lse = _lse(z)
        return [np.where(valid, np.exp(z[j] - lse) - np.equal(k, j), np.nan) for j in range(len(args) - 1)] + [0.0]


def _bad_class(*args: Array) -> Array:
    return ~_class_of(args[-1], len(args) - 1)[1]


# The same functions with ops of one or two operands (see Op.lowered): lse = m + log Σ exp(v_i − m)
# with m the largest v_i (its own derivative cancels: 1 − Σ softmax = 0), and the class index picked
# by the one-hot weights relu(1 − |k − i|), which are [k = i] for an integer k.
def _lse_lowered(emit: Callable[..., Any], const: Callable[[float], Any], args: list[Any]) -> Any:
    m = args[0]
    for a in args[1:]:
        m = emit("max", m, a)
    total = None
    for a in args:
        e = emit("exp", emit("sub", a, m))
        total = e if total is None else emit("add", total, e)
    return emit("add", m, emit("log", total))


def _softmax_lowered(emit: Callable[..., Any], const: Callable[[float], Any], args: list[Any]) -> Any:
    return emit("exp", emit("sub", args[0], _lse_lowered(emit, const, args)))


def _log_softmax_lowered(emit: Callable[..., Any], const: Callable[[float], Any], args: list[Any]) -> Any:
    return emit("sub", args[0], _lse_lowered(emit, const, args))


def _cross_entropy_lowered(emit: Callable[..., Any], const: Callable[[float], Any], args: list[Any]) -> Any:
    *z, k = args
    one = const(1.0)
    picked = None
    for i, zi in enumerate(z):
        hot = emit("relu", emit("sub", one, emit("abs", emit("sub", k, const(float(i))))))
        term = emit("mul", zi, hot)
        picked = term if picked is None else emit("add", picked, term)
    return emit("sub", _lse_lowered(emit, const, z), picked)


# Sample points shared by ops with the same domain: inside it, away from kinks and ties.
_ANY = ((-2.5,), (-0.7,), (0.4,), (1.9,))
_ANY2 = ((-2.5, 1.5), (0.4, -1.2), (1.7, 0.6), (-0.3, -2.1))
_POSITIVE = ((0.2,), (0.9,), (2.5,), (4.0,))

_REGISTRY: tuple[Op, ...] = (
    # ---- operators ----------------------------------------------------------------------------
    Op("add", 2, "+", lambda a, b: a + b,
       (lambda o, a, b: 1.0, lambda o, a, b: 1.0),
       ("1", "1"), "{0} + {1}", running=np.add,
       js="a + b", js_partials=("1", "1"), syntax="Add", commutative=True, samples=_ANY2,
       reduction="sum", mismatch=N_("cannot add {a} and {b}")),
    Op("sub", 2, "−", lambda a, b: a - b,
       (lambda o, a, b: 1.0, lambda o, a, b: -1.0),
       ("1", "−1"), "{0} − {1}",
       js="a - b", js_partials=("1", "-1"), syntax="Sub", samples=_ANY2,
       mismatch=N_("cannot subtract {b} from {a}")),
    Op("mul", 2, "×", lambda a, b: a * b,
       (lambda o, a, b: b, lambda o, a, b: a),
       ("{1}", "{0}"), "{0}·{1}",
       js="a * b", js_partials=("b", "a"), syntax="Mult", commutative=True, product=True, samples=_ANY2,
       mismatch=N_("cannot multiply {a} and {b} elementwise")),
    # np.divide, not `/`: on Python floats `/` raises ZeroDivisionError where numpy gives ±inf/nan,
    # which the evaluator then reports as a domain error with the node's location.
    Op("div", 2, "÷", lambda a, b: np.divide(a, b),
       (lambda o, a, b: 1.0 / b,
        lambda o, a, b: -o / b),
       ("1/{1}", "−{0}/{1}²"), "{0}/{1}",
       domain=lambda a, b: np.equal(b, 0), domain_message=N_("division by zero"),
       js="a / b", js_partials=("1 / b", "-o / b"), syntax="Div",
       samples=((-2.5, 1.5), (0.4, -1.2), (1.7, 0.6), (-0.3, -2.1)), mismatch=N_("cannot divide {a} by {b}")),
    Op("pow", 2, "^", lambda a, b: np.power(np.asarray(a, dtype=float), b),
       (_pow_base_partial, _pow_exponent_partial),
       ("{1}·{0}^({1}−1)", "{0}^{1}·ln {0}"), "{0}^{1}",
       domain=lambda a, b: np.logical_or(
           np.logical_and(np.less(a, 0), np.not_equal(np.floor(b), b)),
           np.logical_and(np.equal(a, 0), np.less(b, 0))),
       domain_message=N_("power undefined: negative base with a non-integer exponent, or 0 to a negative power"),
       # a^b·ln a for a > 0; the limit 0 at a = 0; not real below 0 (as _pow_exponent_partial).
       js="power(a, b)",
       js_partials=("b === 0 ? 0 : b * power(a, b - 1)", "a > 0 ? o * Math.log(a) : (a === 0 ? 0 : NaN)"),
       syntax="Pow", samples=((0.5, 1.5), (1.3, -0.7), (2.2, 2.0), (0.9, -1.8)),
       mismatch=N_("cannot raise {a} to the power of {b}")),
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
       domain=lambda a: np.less_equal(a, 0), domain_message=N_("log of a value ≤ 0"),
       js="Math.log(a)", js_partials=("1 / a",), function=True, samples=_POSITIVE),
    Op("sqrt", 1, "√", np.sqrt,
       (lambda o, a: 0.5 / o,),
       ("1/(2√{0})",), "√{0}",
       domain=lambda a: np.less(a, 0), domain_message=N_("square root of a negative value"),
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
       commutative=True, samples=_ANY2, reduction="max", mismatch=N_("max() of {a} and {b}: the shapes differ")),
    # ... and ≤ for min.
    Op("min", 2, "min", lambda a, b: np.minimum(a, b),
       (lambda o, a, b: np.less_equal(a, b).astype(float),
        lambda o, a, b: np.greater(a, b).astype(float)),
       ("[{0} ≤ {1}]", "[{0} > {1}]"), "min({0}, {1})",
       kink=lambda h, a, b: _near(h, np.asarray(a) - b),
       js="Math.min(a, b)", js_partials=("a <= b ? 1 : 0", "a > b ? 1 : 0"), function=True,
       commutative=True, samples=_ANY2, reduction="min", mismatch=N_("min() of {a} and {b}: the shapes differ")),
    Op("tan", 1, "tan", np.tan,
       (lambda o, a: 1.0 + o * o,),
       ("1+tan²({0})",), "tan({0})",
       js="Math.tan(a)", js_partials=("1 + o * o",), function=True,
       samples=((-1.2,), (-0.4,), (0.3,), (1.1,))),
    # ---- functions of a vector: one node per output element, over every element of the input ----
    Op("softmax", VARIADIC, "softmax", _softmax, (),
       ("{out}·(1−{out})", "−{out}·exp({j})/Σexp"), "softmax({0}, …)",
       js="Math.exp(args[0] - logsumexp(args))",
       js_partials=("j === 0 ? o * (1 - o) : -o * Math.exp(args[j] - logsumexp(args))",),
       function=True, gradient=_softmax_partials, takes="each", lowered=_softmax_lowered,
       samples=((0.3, -1.2, 2.0), (1.0, 0.5), (-0.4, 0.9, 0.1, -2.2), (3.0, -1.0, 0.0))),
    Op("log_softmax", VARIADIC, "log softmax", _log_softmax, (),
       ("1 − exp({out})", "−exp({j})/Σexp"), "log_softmax({0}, …)",
       js="args[0] - logsumexp(args)",
       js_partials=("j === 0 ? 1 - Math.exp(o) : -Math.exp(args[j] - logsumexp(args))",),
       function=True, gradient=_log_softmax_partials, takes="each", lowered=_log_softmax_lowered,
       samples=((0.3, -1.2, 2.0), (1.0, 0.5), (-0.4, 0.9, 0.1, -2.2), (3.0, -1.0, 0.0))),
    Op("logsumexp", VARIADIC, "lse", _logsumexp, (),
       ("exp({j} − {out})", "exp({j} − {out})"), "logsumexp({0}, …)",
       js="logsumexp(args)", js_partials=("Math.exp(args[j] - o)",),
       function=True, gradient=_logsumexp_partials, takes="all", lowered=_lse_lowered,
       samples=((0.3, -1.2, 2.0), (1.0, 0.5), (-0.4, 0.9, 0.1, -2.2), (40.0, 39.0, -5.0))),
    # The class index (the last operand) is an integer label: its partial is 0 and its gradient is
    # not reported; a value that is not an integer from 0 to K − 1 is a domain error.
    Op("cross_entropy", VARIADIC, "CE", _cross_entropy, (),
       ("softmax({j}) − [{j} is class {k}]", "none (a class index)"), "cross_entropy({0}, …)",
       domain=_bad_class, domain_message=N_("the class index is not an integer from 0 to K − 1 (K logits)"),
       js="crossEntropy(args)",
       js_partials=("j === args.length - 1 ? 0 : crossEntropyPartial(args, j)",),
       function=True, gradient=_cross_entropy_partials, takes="class", lowered=_cross_entropy_lowered,
       samples=((0.3, -1.2, 2.0, 1.0), (1.0, 0.5, 0.0), (-0.4, 0.9, 0.1, -2.2, 3.0), (3.0, -1.0, 0.0, 2.0))),
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

REDUCTIONS: dict[str, str] = {op.reduction: op.name for op in _REGISTRY if op.reduction}
"""Function name → the binary op it folds over an array, left to right (``sum`` → add)."""

JS_PRELUDE = """\
function sigmoid(x) { return 0.5 * (1.0 + Math.tanh(0.5 * x)); }
function softplus(x) { return isNaN(x) ? NaN : Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))); }
function sign(x) { return x > 0 ? 1 : (x < 0 ? -1 : (x === 0 ? 0 : NaN)); }
function power(a, b) { return a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b); }
function logsumexp(xs) {
  var m = -Infinity, s = 0, i;
  for (i = 0; i < xs.length; i++) { if (isNaN(xs[i])) { return NaN; } if (xs[i] > m) { m = xs[i]; } }
  if (!isFinite(m)) { m = 0; }
  for (i = 0; i < xs.length; i++) { s += Math.exp(xs[i] - m); }
  return m + Math.log(s);
}
function crossEntropy(xs) {
  var n = xs.length - 1, k = xs[n], z = xs.slice(0, n);
  return (k === Math.floor(k) && k >= 0 && k < n) ? logsumexp(z) - z[k] : NaN;
}
function crossEntropyPartial(xs, j) {
  var n = xs.length - 1, k = xs[n], z = xs.slice(0, n);
  return (k === Math.floor(k) && k >= 0 && k < n) ? Math.exp(z[j] - logsumexp(z)) - (j === k ? 1 : 0) : NaN;
}
"""
"""Helpers that the ops' JavaScript forms share, written once: σ as 0.5·(1 + tanh(x/2)) and softplus
as max(x, 0) + log1p(e^−|x|), exactly as the numpy forms above, and numpy's power (1^y = 1 for any y,
(−1)^±∞ = 1, where JavaScript's Math.pow gives NaN), and logsumexp shifted by the largest element
as :func:`_lse`. A variadic op's forms see its operands as the array ``args`` (and ``j``, the slot)."""


def get_op(name: str) -> Op:
    """The registry entry for ``name``.

    >>> get_op("sigmoid").glyph
    'σ'
    >>> float(get_op("mul").partials[0](6.0, 2.0, 3.0))  # ∂(a·b)/∂a = b
    3.0
    """
    return OPS[name]
