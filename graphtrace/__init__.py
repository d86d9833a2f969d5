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

import sys as _sys
from importlib import import_module as _import_module
from types import ModuleType as _ModuleType
from typing import Any as _Any

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
    "Value",
    "from_torch",
    "GraphtraceError",
    "ParseError",
    "GraphError",
    "EvaluationError",
    "DataError",
    "RenderError",
    "LimitError",
]

# Names imported on first use: `graphtrace --version`, `--help` and shell completion import
# neither numpy nor networkx, and `graphtrace grad` does not load the drawing, training and
# reporting code it never runs.
_LAZY = {
    "Graph": "api",
    "Gradients": "api",
    "load": "api",
    "parse": "api",
    "Forward": "evaluate",
    "Path": "paths",
    "CheckReport": "check",
    "GradientEntry": "check",
    "OPS": "ops",
    "to_dot": "dot",
    "mlp": "network",  # graphtrace.mlp([2, 3, 1]) and graphtrace.train(net, data) are functions;
    "train": "training",  # their modules have other names, so importing one never shadows them
    "Value": "trace",  # micrograd-compatible traced Values (graphtrace.trace.graph(value) for the graph)
    "from_torch": "torch_bridge",  # PyTorch is imported only when from_torch is called
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


class _Package(_ModuleType):
    """The package, with one rule: the function ``graphtrace.parse`` is never replaced by the
    submodule of the same name, which Python's import system binds on the package when
    ``graphtrace.parse`` (the module) is first imported (``sys.modules`` keeps the module)."""

    def __setattr__(self, name: str, value: _Any) -> None:
        if name == "parse" and isinstance(value, _ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
