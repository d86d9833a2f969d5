"""micrograd's ``nn`` (Neuron, Layer, MLP) on traced Values: the micrograd shim's second half.

Same constructors, ``parameters()``, ``zero_grad()``, ``__call__`` and reprs as ``micrograd.nn``,
and the same initialisation: each Neuron draws ``random.uniform(-1, 1)`` once per input, in order,
and starts its bias at 0, so a program seeded with ``random.seed(...)`` gets micrograd's weights.
Beyond micrograd, every node a neuron makes carries ``layer``/``neuron`` attributes (and its
parameters and output a ``role``), so drawings can fold a traced network one node per neuron.
"""

from __future__ import annotations

__all__ = ["Module", "Neuron", "Layer", "MLP"]

import random
from typing import Any

from .trace import Module, Value, annotate


def _position(n: Any) -> tuple[int, int]:
    return getattr(n, "_gt_pos", None) or (1, 1)


def _place(n: Neuron, layer: int, index: int) -> None:
    """Tell a neuron where it sits (1-based layer and neuron), and mark its parameters."""
    n._gt_pos = (layer, index)
    for w in n.w:
        if isinstance(w, Value):
            w._attrs = {"layer": layer, "neuron": index, "role": "weight"}
    if isinstance(n.b, Value):
        n.b._attrs = {"layer": layer, "neuron": index, "role": "bias"}


class Neuron(Module):
    """micrograd's Neuron: ``sum(w_i·x_i) + b``, then ReLU unless ``nonlin=False``."""

    _gt_pos: tuple[int, int] | None = None  # (layer, neuron), 1-based, for drawings

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin
        _place(self, 1, 1)

    def __call__(self, x: Any) -> Any:
        layer, index = _position(self)
        if layer == 1:  # the network's inputs: layer 0, one "neuron" per feature
            for i, xi in enumerate(x):
                if isinstance(xi, Value) and xi._gt_op is None and xi._kind == "leaf" and not xi._attrs:
                    xi._attrs = {"layer": 0, "neuron": i + 1, "role": "input"}
        with annotate(layer=layer, neuron=index):
            act: Any = sum((wi * xi for wi, xi in zip(self.w, x, strict=False)), self.b)  # micrograd's zip
            out = act.relu() if self.nonlin else act
        if isinstance(out, Value) and out._gt_op is not None:
            out._attrs = {"layer": layer, "neuron": index, "role": "act"}
        return out

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """micrograd's Layer: ``nout`` neurons of ``nin`` inputs each."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]
        self._gt_place(1)

    def _gt_place(self, layer: int) -> None:
        for j, n in enumerate(self.neurons):
            if isinstance(n, Neuron):
                _place(n, layer, j + 1)

    def __call__(self, x: Any) -> Any:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """micrograd's MLP: ``MLP(nin, nouts)``, ReLU layers and a linear last layer."""

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Layer):
                layer._gt_place(i + 1)

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
