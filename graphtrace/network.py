"""Networks: multilayer perceptrons written out as scripts, one scalar node per operation.

:func:`mlp_script` writes the contract ``.gt`` text of an MLP; :func:`mlp` parses that text (the
script is the single source of truth) and sets the ``layer``/``neuron``/``role`` node attributes
that the renderer groups by. Names follow one scheme, with units counted from 1 like ``x1, x2``:

- ``x{i}`` input i (layer 0); ``y`` the target (``y_{k}`` for several outputs);
- ``w{l}_{i}_{j}`` the weight of layer l from unit i of layer l-1 to neuron j of layer l;
- ``b{l}_{j}`` bias, ``z{l}_{j}`` weighted sum (pre-activation), ``h{l}_{j}`` hidden activation;
- ``o`` the output unit (``o_{k}`` for several), ``L`` the loss (``L_{k}`` per output, then summed).

:func:`annotate_mlp` infers the attributes from these names, so a generated script that was saved,
edited or trained and loaded again is still grouped by layer. :func:`layer_weights` and
:func:`collapse_linear` read the weights back as matrices (course §5: identity activations
collapse into one linear model).
"""

from __future__ import annotations

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "LOSSES",
    "FORMS",
    "LinearModel",
    "mlp",
    "mlp_script",
    "parse_shape",
    "annotate_mlp",
    "layer_weights",
    "collapse_linear",
]

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .api import Graph, parse
from .errors import GraphError, LimitError, UsageError
from .i18n import _
from .layers import annotate_mlp, layer_weights
from .ops import ACTIVATIONS, OPS
from .parse import LIMITS

LOSSES: tuple[str, ...] = ("bce", "mse", "ce")
INITS: tuple[str, ...] = ("random", "zeros", "xavier", "he")
FORMS: tuple[str, ...] = ("scalar", "array")
"""How a network is written: one line per weight (``w1_2_3``), or a few lines of vectors and
matrices (``h1 = sigmoid(W1 @ x + b1)``); the default is ``array`` for ``ce``, else ``scalar``."""

# Layer sizes are capped so that a typo such as 2-3000-1 can't build a million-node script.
_MAX_UNITS = 1024
_MAX_LAYERS = 32


def parse_shape(shape: str | Sequence[int]) -> list[int]:
    """Layer sizes from ``"2-3-1"`` (or a list of ints), inputs first, outputs last.

    Raises:
        UsageError: fewer than two layers, a size that is not a positive integer, or too big.
        LimitError: the network would have more graph nodes than ``GRAPHTRACE_MAX_NODES`` allows.

    Example:
        >>> parse_shape("2-3-1"), parse_shape([2, 1])
        ([2, 3, 1], [2, 1])
    """
    if isinstance(shape, str):
        parts = shape.strip().replace(",", "-").split("-")
        sizes = []
        for p in parts:
            p = p.strip()
            if not (p.isascii() and p.isdigit()):  # str.isdigit also accepts '²', which int() refuses
                raise UsageError(_("bad SHAPE '{shape}': expected layer sizes joined by '-', e.g. 2-3-1").format(
                    shape=shape))
            sizes.append(int(p))
    else:
        sizes = [int(s) for s in shape]
    if len(sizes) < 2:
        raise UsageError(_("bad SHAPE '{shape}': give at least an input and an output size, e.g. 2-1").format(
            shape=shape))
    if len(sizes) > _MAX_LAYERS:
        raise UsageError(_("bad SHAPE '{shape}': at most {layers} layers").format(shape=shape, layers=_MAX_LAYERS))
    for s in sizes:
        if not 1 <= s <= _MAX_UNITS:
            raise UsageError(_("bad SHAPE '{shape}': every layer needs 1 to {units} units, got {size}").format(
                shape=shape, units=_MAX_UNITS, size=s))
    # Checked before any text is made: 1024-1024-1024-1 would be a 100 MB script of 6 million nodes.
    nodes = _min_nodes(sizes)
    if nodes > LIMITS.nodes:
        raise LimitError(_("a {shape} network makes at least {nodes} graph nodes, more than the limit of "
                           "{limit}").format(shape="-".join(map(str, sizes)), nodes=f"{nodes:,}",
                                             limit=f"{LIMITS.nodes:,}"),
                         hint=_("choose smaller layers, or raise the limit with the environment variable "
                                "GRAPHTRACE_MAX_NODES"))
    return sizes


def _min_nodes(sizes: list[int]) -> int:
    # Per neuron: fan_in weights, fan_in products, fan_in additions (the bias included), the bias
    # and the activation; then the inputs, and per output at least a target and a 5-node loss.
    return sizes[0] + sum(b * (3 * a + 2) for a, b in zip(sizes[:-1], sizes[1:], strict=True)) + 6 * sizes[-1]


def _init_values(sizes: list[int], init: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer l = 1..: (W of shape (fan_in, fan_out), b of shape (fan_out,))."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        if init == "zeros":
            w = np.zeros((fan_in, fan_out))
        elif init == "xavier":  # Glorot & Bengio (2010), uniform
            a = math.sqrt(6.0 / (fan_in + fan_out))
            w = rng.uniform(-a, a, size=(fan_in, fan_out))
        elif init == "he":  # He et al. (2015), normal: keeps relu activations' variance
            w = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        else:  # "random": uniform in ±1/√fan_in, wide enough to break symmetry and train the triangle
            a = 1.0 / math.sqrt(fan_in)
            w = rng.uniform(-a, a, size=(fan_in, fan_out))
        layers.append((w, np.zeros(fan_out)))
    return layers


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _num(x: float) -> str:
    # Four decimals read well in a generated script; the parsed graph holds exactly these values.
    v = round(float(x), 4) + 0.0  # + 0.0 turns -0.0 into 0.0
    return repr(v)


def mlp_script(shape: str | Sequence[int], *, activation: str = "sigmoid", loss: str = "bce",
               init: str = "random", seed: int = 0, command: str | None = None, form: str | None = None) -> str:
    """The ``.gt`` script of an MLP with the given layer sizes (see the module docstring for names).

    Hidden layers use ``activation``; ``loss="bce"`` puts a sigmoid on the output and uses log loss,
    ``loss="mse"`` keeps the output linear and uses ``0.5*(y - o)**2``, ``loss="ce"`` makes the
    outputs the logits of a softmax over the classes, with ``cross_entropy(z, y)`` for a class
    index ``y``. Several bce/mse outputs add up their losses. Weights come from ``init`` with
    ``numpy.random.default_rng(seed)``, rounded to 4 decimals; biases start at 0. ``form="array"``
    writes each layer as one matrix ``W{l}`` (one row per neuron: ``W1[j, i]`` is the scalar
    form's ``w1_{i+1}_{j+1}``), ``b{l}`` and ``h{l} = act(W{l} @ h{l-1} + b{l})``.

    Args:
        shape: ``"2-3-1"`` or ``[2, 3, 1]``.
        activation: one of :data:`ACTIVATIONS` (hidden layers).
        loss: ``"bce"`` or ``"mse"``.
        init: one of :data:`INITS`.
        seed: the seed of the weights.
        command: the command line shown in the header (default: the equivalent ``graphtrace mlp``).

    Raises:
        UsageError: a bad shape, activation, loss or init.
        LimitError: the network is bigger than ``GRAPHTRACE_MAX_NODES`` or its script than
            ``GRAPHTRACE_MAX_SCRIPT_BYTES`` allows.

    Example:
        >>> text = mlp_script([1, 1], init="zeros")
        >>> print(text.split("# output layer")[1].strip())  # doctest: +NORMALIZE_WHITESPACE
        1: 1 sigmoid unit, log loss
        w1_1_1: param = 0.0
        b1_1: param = 0.0
        z1_1 = w1_1_1*x1 + b1_1
        o = sigmoid(z1_1)
        <BLANKLINE>
        # target and loss
        y: input = 1.0
        L = -(y*log(o) + (1 - y)*log(1 - o))    # log loss (binary cross-entropy)
    """
    sizes = parse_shape(shape)
    if activation not in ACTIVATIONS:
        raise UsageError(_("unknown activation '{activation}'; choose one of {names}").format(
            activation=activation, names=", ".join(ACTIVATIONS)))
    if loss not in LOSSES:
        raise UsageError(_("unknown loss '{loss}'; choose one of {names}").format(loss=loss, names=", ".join(LOSSES)))
    if init not in INITS:
        raise UsageError(_("unknown init '{init}'; choose one of {names}").format(init=init, names=", ".join(INITS)))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(_("seed must be a non-negative integer, got {seed}").format(seed=repr(seed)))
    if form is None:
        form = "array" if loss == "ce" else "scalar"
    if form not in FORMS:
        raise UsageError(_("unknown form '{form}'; choose one of {names}").format(form=form, names=", ".join(FORMS)))
    if loss == "ce" and sizes[-1] < 2:
        raise UsageError(_("--loss ce needs at least 2 classes (outputs), got {outputs}").format(outputs=sizes[-1]),
                         hint=_("for two classes with one output use --loss bce"))
    shape_text = "-".join(map(str, sizes))
    if command is None:
        command = f"graphtrace mlp {shape_text} --activation {activation} --loss {loss} --init {init} --seed {seed}"
        if form != ("array" if loss == "ce" else "scalar"):
            command += f" --form {form}"
    if form == "array":
        return _checked(_array_script(sizes, activation, loss, _init_values(sizes, init, seed), command), shape_text)
    n_layers = len(sizes) - 1
    outputs = sizes[-1]
    out_act = "sigmoid" if loss == "bce" else "identity"
    loss_text = {"bce": "log loss (binary cross-entropy)", "mse": "squared error 0.5*(y - o)**2",
                 "ce": "softmax cross-entropy over the outputs (logits)"}[loss]
    lines = [
        f"# Made by: {command}",
        f"# A {shape_text} multilayer perceptron (course §3, §6): {_count(sizes[0], 'input')}, "
        + (f"{_count(n_layers - 1, 'hidden layer')} of {activation} neurons, " if n_layers > 1 else "no hidden layer, ")
        + f"{_count(outputs, out_act + ' output')}, {loss_text}.",
        "# Names: w{l}_{i}_{j} = weight of layer l from unit i of layer l-1 to neuron j; b{l}_{j} = bias;",
        "#        z{l}_{j} = weighted sum; h{l}_{j} = activation; o = output; y = target; L = loss.",
        "# Units count from 1, like the inputs x1, x2, ...",
        "",
        "# inputs (layer 0): one sample; `graphtrace train` feeds the data set's columns instead",
    ]
    prev = []
    for i in range(1, sizes[0] + 1):
        value = (-0.5) ** (i - 1)  # a sample point that makes every input gradient non-zero
        lines.append(f"x{i}: input = {_num(value)}")
        prev.append(f"x{i}")
    params = _init_values(sizes, init, seed)
    out_names = ["o"] if outputs == 1 else [f"o_{k}" for k in range(1, outputs + 1)]
    for layer, (w, b) in enumerate(params, start=1):
        last = layer == n_layers
        act = out_act if last else activation
        n = w.shape[1]
        lines.append("")
        if last:
            what = {"bce": "log loss", "mse": "squared error", "ce": "the logits of a softmax"}[loss]
            lines.append(f"# output layer {layer}: {n} {act} unit{'s' if n > 1 else ''}, {what}")
        else:
            lines.append(f"# hidden layer {layer}: {n} {act} neuron{'s' if n > 1 else ''}")
        current = []
        for j in range(1, n + 1):
            if j > 1:
                lines.append("")
            for i in range(1, len(prev) + 1):
                lines.append(f"w{layer}_{i}_{j}: param = {_num(w[i - 1, j - 1])}")
            lines.append(f"b{layer}_{j}: param = {_num(b[j - 1])}")
            terms = " + ".join(f"w{layer}_{i}_{j}*{u}" for i, u in enumerate(prev, start=1))
            lines.append(f"z{layer}_{j} = {terms} + b{layer}_{j}")
            name = out_names[j - 1] if last else f"h{layer}_{j}"
            if act == "identity":
                lines.append(f"{name} = z{layer}_{j}    # identity activation: no nonlinearity")
            else:
                lines.append(f"{name} = {act}(z{layer}_{j})")
            current.append(name)
        prev = current
    lines.append("")
    lines.append("# target and loss")
    if loss == "ce":
        lines.append(f"y: input = 0    # the class index, 0 to {outputs - 1}")
        lines.append(f"L = cross_entropy([{', '.join(out_names)}], y)    # −log softmax(o)[y]")
        return _checked("\n".join(lines) + "\n", shape_text)
    targets = ["y"] if outputs == 1 else [f"y_{k}" for k in range(1, outputs + 1)]
    for t in targets:
        lines.append(f"{t}: input = 1.0")
    for k, (t, o) in enumerate(zip(targets, out_names, strict=True), start=1):
        name = "L" if outputs == 1 else f"L_{k}"
        if loss == "bce":
            lines.append(f"{name} = -({t}*log({o}) + (1 - {t})*log(1 - {o}))    # log loss (binary cross-entropy)")
        else:
            lines.append(f"{name} = 0.5*({t} - {o})**2    # squared error")
    if outputs > 1:
        lines.append("L = " + " + ".join(f"L_{k}" for k in range(1, outputs + 1)) + "    # the total loss")
    return _checked("\n".join(lines) + "\n", shape_text)


def _vector(values: np.ndarray) -> str:
    return "[" + ", ".join(_num(v) for v in values) + "]"


def _array_script(sizes: list[int], activation: str, loss: str, params: list[tuple[np.ndarray, np.ndarray]],
                  command: str) -> str:
    """An MLP in array form: a matrix and a bias vector per layer, one line per layer."""
    shape_text = "-".join(map(str, sizes))
    n_layers = len(sizes) - 1
    outputs = sizes[-1]
    out_act = {"bce": "sigmoid", "mse": "identity", "ce": "identity"}[loss]
    loss_text = {"bce": "log loss (binary cross-entropy)", "mse": "squared error 0.5*(y - o)**2",
                 "ce": "softmax cross-entropy"}[loss]
    what = (f"{_count(outputs, 'logit')} (one per class)" if loss == "ce"
            else _count(outputs, out_act + " output"))
    lines = [
        f"# Made by: {command}",
        f"# A {shape_text} multilayer perceptron in array form (course §3, §6): {_count(sizes[0], 'input')}, "
        + (f"{_count(n_layers - 1, 'hidden layer')} of {activation} neurons, " if n_layers > 1 else "no hidden layer, ")
        + f"{what}, {loss_text}.",
        "# Names: W{l} = the weights of layer l, one row per neuron (W1[j, i] from input i to neuron j);",
        "#        b{l} = biases; h{l} = activations; " + ("z = logits; y = the class index; " if loss == "ce"
                                                        else "o = output; y = target; ") + "L = loss.",
        "# Each array is expanded into scalar nodes named W1[0,1], h1[2], ... (indices count from 0).",
        "",
        "# inputs (layer 0): one sample; `graphtrace train` feeds the data set's columns instead",
    ]
    names = [f"x{i}" for i in range(1, sizes[0] + 1)]
    for i, name in enumerate(names):
        lines.append(f"{name}: input = {_num((-0.5) ** i)}")
    lines.append(f"x = [{', '.join(names)}]")
    prev = "x"
    for layer, (w, b) in enumerate(params, start=1):
        last = layer == n_layers
        act = out_act if last else activation
        n = w.shape[1]
        lines.append("")
        if last and loss == "ce":
            lines.append(f"# output layer {layer}: {_count(n, 'logit')}, one per class")
        elif last:
            lines.append(f"# output layer {layer}: {n} {act} unit{'s' if n > 1 else ''}")
        else:
            lines.append(f"# hidden layer {layer}: {n} {act} neuron{'s' if n > 1 else ''}")
        single = last and n == 1 and loss != "ce"  # one output: a weight vector, a scalar output
        if single:
            lines.append(f"W{layer}: param = {_vector(w[:, 0])}")
            lines.append(f"b{layer}: param = {_num(b[0])}")
        else:
            rows = ",\n    ".join(_vector(w[:, j]) for j in range(n))
            lines.append(f"W{layer}: param = [{rows}]")
            lines.append(f"b{layer}: param = {_vector(b)}")
        name = ("z" if loss == "ce" else "o") if last else f"h{layer}"
        pre = f"W{layer} @ {prev} + b{layer}"
        lines.append(f"{name} = {pre}" if act == "identity" else f"{name} = {act}({pre})")
        prev = name
    lines.append("")
    lines.append("# target and loss")
    if loss == "ce":
        lines.append(f"y: input = 0    # the class index, 0 to {outputs - 1}")
        lines.append("L = cross_entropy(z, y)    # −log softmax(z)[y]")
    elif outputs == 1:
        lines.append("y: input = 1.0")
        lines.append("L = -(y*log(o) + (1 - y)*log(1 - o))    # log loss" if loss == "bce"
                     else "L = 0.5*(y - o)**2    # squared error")
    else:
        lines.append(f"y: input = {_vector(np.ones(outputs))}")
        lines.append("L = -sum(y*log(o) + (1 - y)*log(1 - o))    # log loss, summed over the outputs"
                     if loss == "bce" else "L = 0.5*sum((y - o)**2)    # squared error, summed")
    return "\n".join(lines) + "\n"


def _checked(text: str, shape_text: str) -> str:
    size = len(text.encode("utf-8"))
    if size > LIMITS.script_bytes:  # a script that graphtrace would refuse to read back is no use
        raise LimitError(_("the {shape} network's script would be {size} bytes, more than the {limit}-byte "
                           "limit on scripts").format(shape=shape_text, size=f"{size:,}",
                                                      limit=f"{LIMITS.script_bytes:,}"),
                         hint=_("choose smaller layers, or raise the limit with the environment variable "
                                "GRAPHTRACE_MAX_SCRIPT_BYTES"))
    return text


def mlp(shape: str | Sequence[int], *, activation: str = "sigmoid", loss: str = "bce",
        init: str = "random", seed: int = 0, name: str | None = None, form: str | None = None) -> Graph:
    """An MLP as a :class:`~graphtrace.Graph`: :func:`mlp_script` parsed, then annotated.

    Example:
        >>> g = mlp([2, 3, 1], seed=0)
        >>> g.output, len(g.params), g.inputs
        ('L', 13, ['x1', 'x2', 'y'])
        >>> g.nx.nodes["w1_2_3"]["layer"], g.nx.nodes["w1_2_3"]["neuron"], g.nx.nodes["h1_3"]["role"]
        (1, 3, 'act')
    """
    sizes = parse_shape(shape)
    text = mlp_script(sizes, activation=activation, loss=loss, init=init, seed=seed, form=form)
    g = parse(text, name=name or f"mlp-{'-'.join(map(str, sizes))}.gt")
    annotate_mlp(g)
    return g


@dataclass(frozen=True)
class LinearModel:
    """One linear layer ``z = x @ weights + bias`` (``weights`` shape (inputs, outputs))."""

    weights: np.ndarray
    bias: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The pre-activation outputs for samples ``x`` of shape (n, inputs)."""
        return np.asarray(x, dtype=float) @ self.weights + self.bias


def collapse_linear(graph: Graph, values: Mapping[Any, Any] | None = None) -> LinearModel:
    """Multiply out a network whose hidden activations are all identity (course §5).

    ``z_out = ((x W1 + b1) W2 + b2) ... = x (W1 W2 ...) + (b1 W2 ... + b2 ...)``: one linear model
    however many layers. The network's output is its output activation (sigmoid for bce, identity
    for mse) of this ``z_out``.

    Raises:
        GraphError: a hidden activation is not the identity (``h{l}_{j} = z{l}_{j}``).

    Example:
        >>> g = mlp([2, 3, 1], activation="identity", loss="mse", seed=1)
        >>> model = collapse_linear(g)
        >>> x = {"x1": 0.5, "x2": -1.0}
        >>> bool(abs(model([[0.5, -1.0]])[0, 0] - g.forward(x).values["o"]) < 1e-12)
        True
    """
    layers = layer_weights(graph, values)
    for v, d in graph.core.nodes(data=True):
        if re.fullmatch(r"h\d+_\d+", str(v)) and d.get("kind") == "op" and not OPS[d["op"]].linear:
            raise GraphError(_("{graph}: hidden unit '{node}' applies {op}, not the identity; only linear "
                               "layers collapse into one").format(graph=graph.name, node=v, op=d.get("op")))
    w_total = np.eye(layers[0][0].shape[0])
    b_total = np.zeros(layers[0][0].shape[0])
    for w, b in layers:
        w_total = w_total @ w
        b_total = b_total @ w + b
    return LinearModel(w_total, b_total)
