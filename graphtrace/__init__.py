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

__version__ = "0.1.0"

from .api import Gradients, Graph, load, parse
from .check import CheckReport, GradientEntry
from .dot import to_dot
from .errors import (
    DataError,
    EvaluationError,
    GraphError,
    GraphtraceError,
    LimitError,
    ParseError,
    RenderError,
)
from .evaluate import Forward
from .ops import OPS
from .paths import Path

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
    "GraphtraceError",
    "ParseError",
    "GraphError",
    "EvaluationError",
    "DataError",
    "RenderError",
    "LimitError",
]
