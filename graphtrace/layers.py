"""Network structure: which node of a graph is which layer, neuron, weight and prediction.

Networks made by :func:`graphtrace.mlp` carry ``layer``/``neuron``/``role`` node attributes;
:func:`annotate_mlp` infers the same attributes from the MLP names (``w{l}_{i}_{j}``, ``b{l}_{j}``,
``z{l}_{j}``, ``h{l}_{j}``, ``o``, ``y``, ``L``), so a saved, edited or trained script is still grouped
by layer. Drawings, the explorer and training read structure from here; none of it computes a
value beyond reading the params, so it sits in the core beside the graph.
"""

from __future__ import annotations

__all__ = ["annotate_mlp", "layer_weights", "prediction_node", "symmetric_units", "hidden_units_identical",
           "class_scores", "TARGET"]

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import GraphError
from .i18n import _

TARGET = "y"
"""The name of the target input in data sets and generated networks."""
_PREDICT_NAMES = ("o",)

_NAME_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"w(\d+)_(\d+)_(\d+)"), "weight"),
    (re.compile(r"b(\d+)_(\d+)"), "bias"),
    (re.compile(r"z(\d+)_(\d+)"), "sum"),
    (re.compile(r"h(\d+)_(\d+)"), "act"),
)


def annotate_mlp(graph: Any) -> bool:
    """Set ``layer``, ``neuron`` and ``role`` node attributes from the MLP naming scheme.

    Named nodes get all three (weights and biases take the layer and neuron they feed); unnamed
    nodes (the products and partial sums inside ``z{l}_{j} = ...``) get the layer and neuron of
    the named node on the same script line, so a drawing can box each neuron. The output layer is
    the largest layer number; ``o``/``o_k`` are its activations, ``y``/``y_k`` its targets and
    ``L``/``L_k`` its loss. Returns whether the graph follows the scheme (it has at least one
    ``w{l}_{i}_{j}`` weight); otherwise nothing is set.

    Example:
        >>> from graphtrace import parse
        >>> g = parse("x1: input = 1\\nw1_1_1: param = 2\\nz1_1 = w1_1_1*x1\\no = sigmoid(z1_1)")
        >>> annotate_mlp(g), g.nx.nodes["o"]["layer"], g.nx.nodes["x1"]["role"]
        (True, 1, 'input')

    Networks in array form (``W1``, ``b1``, ``h1 = act(W1 @ x + b1)``, as ``graphtrace mlp --form
    array`` writes them) are annotated too: ``W1[j,i]``, ``b1[j]`` and ``h1[j]`` belong to neuron
    j + 1 of layer 1, and each unnamed part of a layer's line to the neuron its value flows into.
    """
    if _annotate_arrays(graph):
        return True
    nodes = graph.core.nodes
    found: dict[Any, tuple[int | None, int | None, str]] = {}
    for v in graph.names:
        s = str(v)
        for pattern, role in _NAME_PATTERNS:
            m = pattern.fullmatch(s)
            if m:
                layer = int(m.group(1))
                neuron = int(m.group(m.lastindex or 2))
                found[v] = (layer, neuron, role)
                break
    if not any(role == "weight" for _, _, role in found.values()):
        return False
    out_layer = max(layer for layer, _, _ in found.values() if layer is not None)
    for v in graph.names:
        s = str(v)
        kind = nodes[v].get("kind")
        if v in found:
            continue
        if (m := re.fullmatch(r"x(\d+)", s)) and kind == "input":
            found[v] = (0, int(m.group(1)), "input")
        elif s == "o" or re.fullmatch(r"o_(\d+)", s):
            found[v] = (out_layer, int(s[2:]) if "_" in s else 1, "act")
        elif (s == "y" or re.fullmatch(r"y_(\d+)", s)) and kind == "input":
            found[v] = (out_layer, int(s[2:]) if "_" in s else 1, "target")
        elif s == "L" or re.fullmatch(r"L_(\d+)", s):
            found[v] = (out_layer, int(s[2:]) if "_" in s else None, "loss")
    by_line: dict[int, tuple[int | None, int | None]] = {}
    for v, (layer_of, neuron_of, role) in found.items():
        if not role:
            continue
        d = nodes[v]
        d["layer"] = layer_of
        if neuron_of is not None:
            d["neuron"] = neuron_of
        d["role"] = role
        if d.get("kind") == "op" and d.get("line") is not None:
            by_line[d["line"]] = (layer_of, neuron_of)
    for _node, d in graph.core.nodes(data=True):
        if d.get("named") or d.get("line") not in by_line:
            continue
        line_layer, line_neuron = by_line[d["line"]]
        d["layer"] = line_layer
        if line_neuron is not None:
            d["neuron"] = line_neuron
    return True


def _annotate_arrays(graph: Any) -> bool:
    """:func:`annotate_mlp` for a network in array form; False (nothing set) for other graphs."""
    arrays = getattr(graph, "arrays", None) or {}
    g = graph.core
    nodes = g.nodes
    weights = {int(m.group(1)): a for name, a in arrays.items()
               if (m := re.fullmatch(r"W(\d+)", name)) and nodes[a["elements"][0]].get("kind") == "param"}
    if not weights or sorted(weights) != list(range(1, len(weights) + 1)):
        return False
    out_layer = len(weights)
    found: dict[Any, tuple[int, int | None, str]] = {}

    def mark(name: str, layer: int, role: str) -> None:
        a = arrays.get(name)
        if a is not None:
            for k, e in enumerate(a["elements"]):
                found.setdefault(e, (layer, k + 1, role))
        elif name in g:
            found.setdefault(name, (layer, 1, role))

    for layer, a in weights.items():
        for k, e in enumerate(a["elements"]):
            found[e] = (layer, k // a["shape"][1] + 1 if len(a["shape"]) == 2 else 1, "weight")
        mark(f"b{layer}", layer, "bias")
        mark(f"h{layer}", layer, "act")
    for name in ("z", "o"):
        mark(name, out_layer, "act")
    mark("x", 0, "input")
    for v in graph.inputs:
        if m := re.fullmatch(r"x(\d+)", str(v)):
            found[v] = (0, int(m.group(1)), "input")
        elif str(v) == TARGET or str(v).startswith(TARGET + "["):
            found[v] = (out_layer, None, "target")
    if "L" in g:
        found["L"] = (out_layer, None, "loss")
    for v, (layer, neuron, role) in found.items():
        d = nodes[v]
        d["layer"] = layer
        if neuron is not None:
            d["neuron"] = neuron
        d["role"] = role
    # An unnamed part of a layer (a product of W1 @ x, a partial sum) belongs to the neuron its
    # value flows into on the same line: in reverse order, each takes its first such successor's.
    for v in reversed(graph.order):
        d = nodes[v]
        if d.get("named") or "layer" in d or d.get("kind") not in ("op", "const"):
            continue
        for w in g.succ[v]:
            dw = nodes[w]
            if "layer" in dw and dw.get("line") == d.get("line") and dw.get("role") not in ("loss", "target"):
                d["layer"] = dw["layer"]
                if "neuron" in dw:
                    d["neuron"] = dw["neuron"]
                break
    return True


def _value_of(graph: Any, name: str, values: Mapping[Any, Any] | None) -> float:
    if values is not None and name in values:
        return float(values[name])
    return float(graph.core.nodes[name]["value"])


def layer_weights(graph: Any, values: Mapping[Any, Any] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weights of a network named like :func:`mlp`'s: per layer ``(W, b)``, ``W[i-1, j-1] = w{l}_{i}_{j}``.

    ``values`` (e.g. trained params) override the values in the graph.

    Raises:
        GraphError: the graph has no ``w1_..`` weights, or a layer misses a weight or bias.

    Example:
        >>> from graphtrace import mlp
        >>> [w.shape for w, b in layer_weights(mlp([2, 3, 1]))]
        [(2, 3), (3, 1)]
    """
    array_form = _array_layers(graph, values)
    if array_form:
        return array_form
    weights: dict[tuple[int, int, int], str] = {}
    biases: dict[tuple[int, int], str] = {}
    for v in graph.params:
        s = str(v)
        if m := re.fullmatch(r"w(\d+)_(\d+)_(\d+)", s):
            weights[(int(m.group(1)), int(m.group(2)), int(m.group(3)))] = s
        elif m := re.fullmatch(r"b(\d+)_(\d+)", s):
            biases[(int(m.group(1)), int(m.group(2)))] = s
    if not weights:
        raise GraphError(_("{graph} has no weights named {pattern} (is it made by `graphtrace mlp`?)").format(
            graph=graph.name, pattern="w{layer}_{input}_{neuron}"))
    out = []
    n_layers = max(k[0] for k in weights)
    for layer in range(1, n_layers + 1):
        keys = [k for k in weights if k[0] == layer]
        if not keys:
            raise GraphError(_("{graph}: layer {layer} has no weights").format(graph=graph.name, layer=layer))
        fan_in = max(k[1] for k in keys)
        fan_out = max(k[2] for k in keys)
        w = np.zeros((fan_in, fan_out))
        b = np.zeros(fan_out)
        for i in range(1, fan_in + 1):
            for j in range(1, fan_out + 1):
                name = weights.get((layer, i, j))
                if name is None:
                    raise GraphError(_("{graph}: missing weight {name}").format(graph=graph.name, name=f"w{layer}_{i}_{j}"))
                w[i - 1, j - 1] = _value_of(graph, name, values)
        for j in range(1, fan_out + 1):
            name = biases.get((layer, j))
            if name is None:
                raise GraphError(_("{graph}: missing bias {name}").format(graph=graph.name, name=f"b{layer}_{j}"))
            b[j - 1] = _value_of(graph, name, values)
        out.append((w, b))
    return out


def _array_layers(graph: Any, values: Mapping[Any, Any] | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """The layers of a network in array form (``W1``, ``b1``, … params: W{l}[j, i] from unit i to
    neuron j), as :func:`layer_weights` gives them; [] for other graphs."""
    arrays = getattr(graph, "arrays", None) or {}
    nodes = graph.core.nodes
    found: dict[int, np.ndarray] = {}
    biases: dict[int, np.ndarray] = {}
    for name, a in arrays.items():
        m = re.fullmatch(r"([Wb])(\d+)", name)
        if not m or nodes[a["elements"][0]].get("kind") != "param":
            continue
        flat = np.array([_value_of(graph, e, values) for e in a["elements"]])
        if m.group(1) == "W":
            found[int(m.group(2))] = flat.reshape(a["shape"]).T if len(a["shape"]) == 2 else flat[:, None]
        else:
            biases[int(m.group(2))] = flat
    for name in graph.params:  # a single output's bias is a scalar: b2
        m = re.fullmatch(r"b(\d+)", str(name))
        if m and int(m.group(1)) not in biases:
            biases[int(m.group(1))] = np.array([_value_of(graph, str(name), values)])
    if not found or sorted(found) != list(range(1, len(found) + 1)):
        return []
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for layer in range(1, len(found) + 1):
        w = found[layer]
        b = biases.get(layer)
        if b is None or b.shape != (w.shape[1],) or (layer > 1 and out[-1][0].shape[1] != w.shape[0]):
            return []
        out.append((w, b))
    return out


def class_scores(graph: Any) -> tuple[list[Any], Any] | None:
    """The logits and the class index of the cross_entropy node the output depends on, or None.

    A multiclass classifier's prediction is the class with the largest logit; its target is the
    class-index input (``y``).

    Example:
        >>> from graphtrace import parse
        >>> class_scores(parse("z: param = [0.5, 1.0, -1.0]\\ny: input = 2\\nL = cross_entropy(z, y)"))
        (['z[0]', 'z[1]', 'z[2]'], 'y')
    """
    from .graph import ancestors, operands
    from .ops import OPS

    g = graph.core
    up = ancestors(g, graph.output) | {graph.output}
    found = None
    for v in graph.order:
        d = g.nodes[v]
        if v in up and d.get("kind") == "op":
            args = operands(g, v)
            slot = OPS[d["op"]].index_slot(len(args))
            if slot is not None and g.nodes[args[slot]].get("kind") == "input":
                found = (args[:slot], args[slot])
    return found


def prediction_node(graph: Any, name: str | None = None) -> str | None:
    """The node whose value is the model's prediction (used for accuracy and decision boundaries).

    The rule: ``name`` when given; else a node named ``o`` (every generated net has one); else the
    last named computed node, in source order, that the output depends on and that does not depend
    on the target ``y`` (``a`` in the triangle sample, ``z`` in the one-neuron sample). None when
    there is no such node.

    Example:
        >>> from graphtrace import parse
        >>> prediction_node(parse("x: input = 1\\nw: param = 2\\ny: input = 1\\n"
        ...                       "p = sigmoid(w*x)\\nL = -(y*log(p) + (1 - y)*log(1 - p))"))
        'p'
    """
    from .graph import ancestors, descendants

    if name is not None:
        return str(graph.node(name, what="--predict"))
    for n in _PREDICT_NAMES:
        if n in graph.core and n != graph.output:
            return n
    up = ancestors(graph.core, graph.output)
    tainted = descendants(graph.core, TARGET) if TARGET in graph.core else set()
    best = None
    for v in graph.names:
        d = graph.core.nodes[v]
        if d.get("kind") == "op" and v in up and v not in tainted:
            best = v
    return None if best is None else str(best)


def symmetric_units(graph: Any, values: Mapping[str, float] | None = None, *,
                    tol: float = 0.0) -> list[tuple[int, list[int]]]:
    """Groups of hidden neurons that are wired alike and hold equal values (course §12).

    Two neurons of hidden layer l are symmetric when their incoming weights, biases and outgoing
    weights agree within ``tol``: gradient descent then gives them identical updates forever.
    Works on networks named like :func:`graphtrace.mlp` (``w{l}_{i}_{j}``, ``b{l}_{j}``); returns
    ``[(layer, [neuron, ...]), ...]`` with groups of two or more, or ``[]`` for other graphs.

    Example:
        >>> from graphtrace.network import mlp
        >>> symmetric_units(mlp([2, 3, 1], init="zeros"))
        [(1, [1, 2, 3])]
        >>> symmetric_units(mlp([2, 3, 1], init="random"))
        []
    """
    try:
        layers = layer_weights(graph, values)
    except GraphError:
        return []
    groups = []
    for index in range(len(layers) - 1):
        w_in, b_in = layers[index]
        w_out = layers[index + 1][0]
        if w_out.shape[0] != w_in.shape[1]:
            continue
        sig = [np.concatenate([w_in[:, j], [b_in[j]], w_out[j, :]]) for j in range(w_in.shape[1])]
        taken = [False] * len(sig)
        for j in range(len(sig)):
            if taken[j]:
                continue
            group = [j + 1]
            for k in range(j + 1, len(sig)):
                if not taken[k] and np.all(np.abs(sig[j] - sig[k]) <= tol):
                    taken[k] = True
                    group.append(k + 1)
            if len(group) > 1:
                groups.append((index + 1, group))
    return groups


def hidden_units_identical(graph: Any, values: Mapping[str, float] | None = None, *,
                           tol: float = 1e-12) -> bool:
    """Whether, in every hidden layer, all neurons are identical within ``tol`` (course §12).

    Example:
        >>> from graphtrace.network import mlp
        >>> hidden_units_identical(mlp([2, 3, 1], init="zeros")), hidden_units_identical(mlp([2, 3, 1]))
        (True, False)
    """
    try:
        layers = layer_weights(graph, values)
    except GraphError:
        return False
    if len(layers) < 2:
        return False
    groups = dict(symmetric_units(graph, values, tol=tol))
    return all(len(groups.get(i, [])) == layers[i - 1][0].shape[1] or layers[i - 1][0].shape[1] == 1
               for i in range(1, len(layers)))
