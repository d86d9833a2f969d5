"""graphtrace: see and check backpropagation.

Read a small script, build its computation graph (a networkx DAG), run the forward pass, put the
local derivative on every edge, and compute ∂L/∂w as the course's sum over paths, by backprop and
by finite differences.

>>> import graphtrace
>>> g = graphtrace.parse("w: param = 2\\nx: input = 3\\nL = (w*x)**2")
>>> float(g.backprop()["w"]), float(g.sum_over_paths("w")), g.count_paths("w")
(36.0, 36.0, 1)
"""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import Any as _Any

from .api import Gradients, Graph, load, parse
from .errors import (
    DataError,
    EvaluationError,
    GraphError,
    GraphtraceError,
    LimitError,
    ParseError,
    RenderError,
)
from .version import __version__

__all__ = [
    "__version__",
    "Graph",
    "Gradients",
    "Forward",
    "Path",
    "CheckReport",
    "GradientEntry",
    "OPS",
    "load",
    "parse",
    "to_dot",
    "mlp",
    "train",
    "GraphtraceError",
    "ParseError",
    "GraphError",
    "EvaluationError",
    "DataError",
    "RenderError",
    "LimitError",
]

# Names imported on first use: `graphtrace grad` starts in a fraction of a second only if it does
# not load the drawing, training and reporting code it never runs.
_LAZY = {
    "Forward": "evaluate",
    "Path": "paths",
    "CheckReport": "check",
    "GradientEntry": "check",
    "OPS": "ops",
    "to_dot": "dot",
    "mlp": "network",  # graphtrace.mlp([2, 3, 1]) and graphtrace.train(net, data) are functions;
    "train": "training",  # their modules have other names, so importing one never shadows them
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graphtrace' has no attribute {name!r}")
    value = getattr(_import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
