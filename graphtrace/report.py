"""Reporting: result objects → the contract's JSON documents and rich tables for people.

Each JSON shape is written by exactly one function here; numbers go through one formatter for
people (``fmt``) and stay exact (shortest round-trip repr) in JSON. JSON is strict (RFC 8259):
a non-finite number never reaches it (evaluation refuses them first; ``dumps`` double-checks).
"""

from __future__ import annotations

__all__ = ["fmt", "dumps", "grad_json", "paths_json", "check_json", "grad_table", "paths_table",
           "check_table", "json_number"]

import math
from typing import TYPE_CHECKING, Any

from .text import dumps, fmt, json_number

if TYPE_CHECKING:  # rich is imported only when a table is built
    from rich.table import Table

    from .check import CheckReport
    from .results import PathsReport

Graph = Any  # the library's Graph (graphtrace.api): used by its attributes, never imported here


def _named_values(graph: Graph, values: dict[Any, Any]) -> dict[str, float]:
    return {str(v): json_number(values[v]) for v in graph.names if v in values}


def _require_finite(graph: Graph, wrt: Any, numbers: list[Any], forward: Any = None) -> None:
    """Refuse a non-finite gradient with the node and line that caused it (never print NaN).

    A local derivative can be undefined on an edge the evaluator does not check (one that leaves a
    constant, e.g. ∂(x**k)/∂k for x < 0): name that edge's head when there is one.
    """
    if all(math.isfinite(float(x)) for x in numbers):
        return
    import numpy as np

    from .errors import EvaluationError
    from .evaluate import location_of, nonfinite_error
    from .graph import operands
    from .paths import between

    text = graph.source.text if graph.source else None
    if forward is not None:
        inside = set(between(graph.nx, forward.order, wrt, graph.output))
        for (u, v, _slot), x in forward.locals.items():
            if u in inside and v in inside and not np.all(np.isfinite(x)):
                args = [forward.values[a] for a in operands(graph.nx, v)]
                raise nonfinite_error(graph.nx, v, args, x, source_text=text, what="local")
    raise EvaluationError(f"∂{graph.output}/∂{wrt} is not a finite number at these values",
                          location=location_of(graph.nx, wrt, text),
                          hint="change the inputs with --set")


def _check_entries(graph: Graph, report: CheckReport) -> None:
    for name, e in report.entries.items():
        nums = [e.paths, e.backprop] + ([] if e.numeric is None else [e.numeric])
        _require_finite(graph, name, nums, report.forward)


def grad_json(graph: Graph, report: CheckReport) -> dict[str, Any]:
    """The ``grad --json`` document (CONTRACT §2)."""
    fwd = report.forward
    assert fwd is not None
    _check_entries(graph, report)
    grads = {}
    for name, e in report.entries.items():
        entry: dict[str, Any] = {
            "paths": json_number(e.paths),
            "backprop": json_number(e.backprop),
            "numeric": None if e.numeric is None else json_number(e.numeric),
            "n_paths": e.n_paths,
        }
        if e.kinks:
            entry["near_kink"] = [str(k) for k in e.kinks]
        grads[str(name)] = entry
    return {
        "output": str(graph.output),
        "value": json_number(fwd.value),
        "values": _named_values(graph, fwd.values),
        "gradients": grads,
        "check": check_summary(report),
    }


def check_summary(report: CheckReport) -> dict[str, Any]:
    return {
        "max_abs_error": json_number(report.max_abs_error),
        "max_rel_error": json_number(report.max_rel_error),
        "ok": report.ok,
        "tol": report.tol,
    }


def check_json(graph: Graph, report: CheckReport) -> dict[str, Any]:
    """The ``check --json`` document: the summary plus each failing gradient."""
    _check_entries(graph, report)
    doc = {"output": str(graph.output), **check_summary(report)}
    doc["failures"] = [
        {"name": str(e.name), "paths": json_number(e.paths), "backprop": json_number(e.backprop),
         "numeric": None if e.numeric is None else json_number(e.numeric)}
        for e in report.failures
    ]
    return doc


def paths_json(graph: Graph, report: PathsReport) -> dict[str, Any]:
    """The ``paths --json`` document (CONTRACT §2)."""
    wrt, paths = report.wrt, report.top
    _require_finite(graph, wrt, [report.total, report.backprop] + [p.product for p in paths])
    return {
        "output": str(report.output),
        "wrt": str(wrt),
        "n_paths": report.n_paths,
        "total": json_number(report.total),
        "backprop": json_number(report.backprop),
        "paths": [
            {"nodes": [str(n) for n in p.nodes], "factors": [json_number(f) for f in p.factors],
             "product": json_number(p.product)}
            for p in paths
        ],
    }


def _mark(ok: bool) -> str:
    return "[green]✓[/]" if ok else "[bold red]✗[/]"


TABLE_ROWS = 30
"""Rows a table for people shows beyond the failures; the rest is summed up in the caption."""


def _shown(report: CheckReport, limit: int | None) -> tuple[list[Any], str | None]:
    """The entries a table shows (in report order) and its caption, or None when all are shown.

    A net of thousands of params makes a table nobody reads (and rich takes seconds to lay it
    out): every failure is shown, then the ``limit`` largest |gradient| (backprop), the rest
    counted in the caption.

    >>> from graphtrace import parse
    >>> r = parse("a: param = 1\\nb: param = 2\\nc: param = 3\\nL = a + 2*b + 3*c").check()
    >>> _shown(r, 1)
    (['c'], '2 more rows within tolerance; --json for all')
    """
    names = list(report.entries)
    if limit is None or len(names) <= limit:
        return names, None
    entries = report.entries
    fail = {n for n in names if not entries[n].ok(report.tol)}

    def size(k: int) -> tuple[float, int]:
        g = abs(float(entries[names[k]].backprop))
        return (-g if g == g else -math.inf, k)  # NaN first: it is a failure worth seeing anyway

    rest = sorted((k for k, n in enumerate(names) if n not in fail), key=size)[:limit]
    keep = set(rest) | {k for k, n in enumerate(names) if n in fail}
    shown = [n for k, n in enumerate(names) if k in keep]
    hidden = len(names) - len(shown)
    if hidden == 0:
        return shown, None
    return shown, f"{hidden:,} more row{'s' if hidden != 1 else ''} within tolerance; --json for all"


def grad_table(graph: Graph, report: CheckReport, *, limit: int | None = TABLE_ROWS) -> Table:
    """A table for people: each gradient three ways, with the path count.

    With more than ``limit`` entries it shows the failures and the ``limit`` largest |gradient|
    rows, and says in its caption how many more are within tolerance (None: every row).
    """
    from rich.table import Table

    _check_entries(graph, report)
    names, caption = _shown(report, limit)

    fwd = report.forward
    assert fwd is not None
    t = Table(title=f"{graph.output} = {fmt(fwd.value, 10)}   ({graph.name})", title_justify="left",
              caption=caption, caption_justify="left")
    t.add_column("wrt")
    t.add_column("value", justify="right")
    t.add_column(f"∂{graph.output}/∂· paths", justify="right")
    t.add_column("backprop", justify="right")
    t.add_column("numeric", justify="right")
    t.add_column("paths #", justify="right")
    t.add_column("", justify="center")
    for name in names:
        e = report.entries[name]
        numeric = "—" if e.numeric is None else fmt(e.numeric, 10)
        if e.kinks:
            numeric += " (kink)"
        t.add_row(str(name), fmt(fwd.values[name], 6), fmt(e.paths, 10), fmt(e.backprop, 10), numeric,
                  f"{e.n_paths:,}", _mark(e.ok(report.tol)))
    return t


def check_table(graph: Graph, report: CheckReport, *, limit: int | None = TABLE_ROWS) -> Table:
    """The ``check`` table: errors per gradient against the tolerance (rows as :func:`grad_table`)."""
    from rich.table import Table

    _check_entries(graph, report)
    names, caption = _shown(report, limit)
    t = Table(title=f"gradient check of {graph.name}: tol {report.tol:g}", title_justify="left",
              caption=caption, caption_justify="left")
    for col in ("wrt", "backprop", "paths − backprop", "numeric − backprop", "rel error", ""):
        t.add_column(col, justify="left" if col == "wrt" else "right")
    for name in names:
        e = report.entries[name]
        num = "—" if e.numeric is None else fmt(e.numeric - e.backprop, 3)
        if e.kinks:
            num += " (kink)"
        t.add_row(str(name), fmt(e.backprop, 10), fmt(e.paths - e.backprop, 3), num, fmt(e.rel_error, 3),
                  _mark(e.ok(report.tol)))
    return t


def paths_table(graph: Graph, report: PathsReport) -> Table:
    """The best paths, their factors and products, and the exact total."""
    from rich.table import Table

    wrt, paths, n_paths = report.wrt, report.top, report.n_paths
    total, backprop = report.total, report.backprop
    _require_finite(graph, wrt, [total, backprop] + [p.product for p in paths])

    shown = len(paths)
    caption = f"sum over all {n_paths:,} paths = {fmt(total, 10)}   backprop = {fmt(backprop, 10)}"
    # min_width keeps the caption (the point of the table) on one line under narrow tables.
    t = Table(title=f"∂{report.output}/∂{wrt}: {n_paths:,} path{'s' if n_paths != 1 else ''}, "
                    f"top {shown} by |product|", title_justify="left",
              caption=caption, caption_justify="left", min_width=len(caption))
    t.add_column("#", justify="right")
    t.add_column("path")
    t.add_column("factors")
    t.add_column("product", justify="right")
    for i, p in enumerate(paths, 1):
        t.add_row(str(i), " → ".join(str(n) for n in p.nodes), " × ".join(fmt(f) for f in p.factors),
                  fmt(p.product, 6))
    return t
