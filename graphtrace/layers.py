"""Network structure: which node of a graph is which layer, neuron, weight and prediction.

Networks made by :func:`graphtrace.mlp` carry ``layer``/``neuron``/``role`` node attributes;
:func:`annotate_mlp` infers the same attributes from the MLP names (``w{l}_{i}_{j}``, ``b{l}_{j}``,
``z{l}_{j}``, ``h{l}_{j}``, ``o``, ``y``, ``L``), so a saved, edited or trained script is still grouped
by layer. Drawings, the explorer and training read structure from here; none of it computes a
value beyond reading the params, so it sits in the core beside the graph.
"""

from __future__ import annotations

__all__ = ["annotate_mlp", "layer_weights", "prediction_node", "symmetric_units", "hidden_units_identical",
           "TARGET"]

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import GraphError

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
    """
    nodes = graph.nx.nodes
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
    for _, d in graph.nx.nodes(data=True):
        if d.get("named") or d.get("line") not in by_line:
            continue
        line_layer, line_neuron = by_line[d["line"]]
        d["layer"] = line_layer
        if line_neuron is not None:
            d["neuron"] = line_neuron
    return True


def _value_of(graph: Any, name: str, values: Mapping[Any, Any] | None) -> float:
    if values is not None and name in values:
        return float(values[name])
    return float(graph.nx.nodes[name]["value"])


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
    weights: dict[tuple[int, int, int], str] = {}
    biases: dict[tuple[int, int], str] = {}
    for v in graph.params:
        s = str(v)
        if m := re.fullmatch(r"w(\d+)_(\d+)_(\d+)", s):
            weights[(int(m.group(1)), int(m.group(2)), int(m.group(3)))] = s
        elif m := re.fullmatch(r"b(\d+)_(\d+)", s):
            biases[(int(m.group(1)), int(m.group(2)))] = s
    if not weights:
        raise GraphError(f"{graph.name} has no weights named w{{layer}}_{{input}}_{{neuron}} (is it made by `graphtrace mlp`?)")
    out = []
    n_layers = max(k[0] for k in weights)
    for layer in range(1, n_layers + 1):
        keys = [k for k in weights if k[0] == layer]
        if not keys:
            raise GraphError(f"{graph.name}: layer {layer} has no weights")
        fan_in = max(k[1] for k in keys)
        fan_out = max(k[2] for k in keys)
        w = np.zeros((fan_in, fan_out))
        b = np.zeros(fan_out)
        for i in range(1, fan_in + 1):
            for j in range(1, fan_out + 1):
                name = weights.get((layer, i, j))
                if name is None:
                    raise GraphError(f"{graph.name}: missing weight w{layer}_{i}_{j}")
                w[i - 1, j - 1] = _value_of(graph, name, values)
        for j in range(1, fan_out + 1):
            name = biases.get((layer, j))
            if name is None:
                raise GraphError(f"{graph.name}: missing bias b{layer}_{j}")
            b[j - 1] = _value_of(graph, name, values)
        out.append((w, b))
    return out


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
    import networkx as nx

    if name is not None:
        return str(graph.node(name, what="--predict"))
    for n in _PREDICT_NAMES:
        if n in graph.nx and n != graph.output:
            return n
    up = nx.ancestors(graph.nx, graph.output)
    tainted = nx.descendants(graph.nx, TARGET) if TARGET in graph.nx else set()
    best = None
    for v in graph.names:
        d = graph.nx.nodes[v]
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
