"""Reporting: result objects → the contract's JSON documents and rich tables for people.

Each JSON shape is written by exactly one function here; numbers go through one formatter for
people (``fmt``) and stay exact (shortest round-trip repr) in JSON. JSON is strict (RFC 8259):
a non-finite number never reaches it (evaluation refuses them first; ``dumps`` double-checks).
"""

from __future__ import annotations

__all__ = ["fmt", "dumps", "grad_json", "paths_json", "check_json", "grad_table", "paths_table",
           "check_table", "json_number", "covered_arrays", "array_tables"]

import math
from typing import TYPE_CHECKING, Any

from .check import NUMERIC_SEED
from .i18n import _, ngettext
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
        inside = set(between(graph.core, forward.order, wrt, graph.output))
        for (u, v, _slot), x in forward.locals.items():
            if u in inside and v in inside and not np.all(np.isfinite(x)):
                args = [forward.values[a] for a in operands(graph.core, v)]
                raise nonfinite_error(graph.core, v, args, x, source_text=text, what="local")
    raise EvaluationError(_("{dd} is not a finite number at these values").format(dd=f"∂{graph.output}/∂{wrt}"),
                          location=location_of(graph.core, wrt, text),
                          hint=_("change the inputs with --set"))


def _check_entries(graph: Graph, report: CheckReport) -> None:
    for name, e in report.entries.items():
        nums = [e.paths, e.backprop] + ([] if e.numeric is None else [e.numeric])
        fourth = _fourth(e)
        nums += [] if fourth is None else [fourth[1]]
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
        fourth = _fourth(e)  # a fourth answer, e.g. torch.autograd's (graphtrace.trace.OracleEntry)
        if fourth is not None:
            entry[fourth[0]] = json_number(fourth[1])
        grads[str(name)] = entry
    doc = {
        "output": str(graph.output),
        "value": json_number(fwd.value),
        "values": _named_values(graph, fwd.values),
        "gradients": grads,
        "check": check_summary(report),
    }
    arrays = covered_arrays(graph, report)
    if arrays:  # every element of these arrays is in "gradients": the whole matrix, by backprop
        doc["arrays"] = {name: {"shape": a["shape"], "elements": a["elements"],
                                "backprop": _nested([json_number(report.entries[e].backprop) for e in a["elements"]],
                                                    a["shape"])}
                         for name, a in arrays.items()}
    return doc


def covered_arrays(graph: Graph, report: CheckReport) -> dict[str, dict[str, Any]]:
    """The script's arrays whose every element has an entry in ``report`` (``--wrt W``, or the
    params by default), in script order."""
    arrays = getattr(graph, "arrays", None) or {}
    return {name: a for name, a in arrays.items() if all(e in report.entries for e in a["elements"])}


def _nested(flat: list[Any], shape: list[int]) -> list[Any]:
    if len(shape) == 1:
        return flat
    n = shape[1]
    return [flat[i * n:(i + 1) * n] for i in range(shape[0])]


def check_summary(report: CheckReport) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "max_abs_error": json_number(report.max_abs_error),
        "max_rel_error": json_number(report.max_rel_error),
        "ok": report.ok,
        "tol": report.tol,
    }
    if report.numeric_sampled is not None:  # finite differences ran on a seeded sample
        doc["numeric_sample"] = {"sampled": report.numeric_sampled, "of": len(report.entries),
                                 "seed": NUMERIC_SEED}
    return doc


def _sample_note(report: CheckReport) -> str | None:
    if report.numeric_sampled is None:
        return None
    return _("finite differences on a seeded sample of {n} of {total} (— elsewhere); --numeric-all for every "
             "one").format(n=f"{report.numeric_sampled:,}", total=f"{len(report.entries):,}")


def check_json(graph: Graph, report: CheckReport) -> dict[str, Any]:
    """The ``check --json`` document: the summary plus each failing gradient."""
    _check_entries(graph, report)
    doc = {"output": str(graph.output), **check_summary(report)}
    doc["failures"] = [
        {"name": str(e.name), "paths": json_number(e.paths), "backprop": json_number(e.backprop),
         "numeric": None if e.numeric is None else json_number(e.numeric),
         **({f[0]: json_number(f[1])} if (f := _fourth(e)) is not None else {})}
        for e in report.failures
    ]
    return doc


def _fourth(e: Any) -> tuple[str, float] | None:
    """An entry's fourth answer (``("torch", value)``), when it carries one."""
    value = getattr(e, "oracle", None)
    return None if value is None else (str(getattr(e, "oracle_name", "oracle")), float(value))


def _oracle_name(report: CheckReport) -> str | None:
    """The name of a fourth answer some entries carry (``torch``), or None."""
    for e in report.entries.values():
        fourth = _fourth(e)
        if fourth is not None:
            return fourth[0]
    return None


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
    return shown, ngettext("{n} more row within tolerance; --json for all",
                           "{n} more rows within tolerance; --json for all", hidden).format(n=f"{hidden:,}")


def grad_table(graph: Graph, report: CheckReport, *, limit: int | None = TABLE_ROWS) -> Table:
    """A table for people: each gradient three ways, with the path count.

    With more than ``limit`` entries it shows the failures and the ``limit`` largest |gradient|
    rows, and says in its caption how many more are within tolerance (None: every row).
    """
    from rich.table import Table

    _check_entries(graph, report)
    names, caption = _shown(report, limit)
    note = _sample_note(report)
    if note:
        caption = f"{caption}\n{note}" if caption else note

    fwd = report.forward
    assert fwd is not None
    t = Table(title=f"{graph.output} = {fmt(fwd.value, 10)}   ({graph.name})", title_justify="left",
              caption=caption, caption_justify="left")
    t.add_column(_("wrt"))
    t.add_column(_("value"), justify="right")
    t.add_column(_("∂{output}/∂· paths").format(output=graph.output), justify="right")
    t.add_column(_("backprop"), justify="right")
    t.add_column(_("numeric"), justify="right")
    oracle = _oracle_name(report)
    if oracle is not None:
        t.add_column(oracle, justify="right")
    t.add_column(_("paths #"), justify="right")
    t.add_column("", justify="center")
    for name in names:
        e = report.entries[name]
        numeric = "—" if e.numeric is None else fmt(e.numeric, 10)
        if e.kinks:
            numeric += _(" (kink)")
        f = _fourth(e)
        extra = [] if oracle is None else ["—" if f is None else fmt(f[1], 10)]
        t.add_row(str(name), fmt(fwd.values[name], 6), fmt(e.paths, 10), fmt(e.backprop, 10), numeric,
                  *extra, f"{e.n_paths:,}", _mark(e.ok(report.tol)))
    return t


def array_tables(graph: Graph, report: CheckReport) -> list[Any]:
    """Each whole array's gradient as a matrix (backprop; the rows above give all three ways): a
    table, or for more than 8 columns plain rows that wrap."""
    from rich.table import Table
    from rich.text import Text

    tables: list[Any] = []
    for name, a in covered_arrays(graph, report).items():
        shape = a["shape"]
        rows = _nested([fmt(report.entries[e].backprop, 6) for e in a["elements"]], shape)
        words = f"{shape[0]}×{shape[1]}" if len(shape) == 2 else f"{shape[0]}"
        title = _("{dd} ({shape}, backprop)").format(dd=f"∂{graph.output}/∂{name}", shape=words)
        if shape[-1] > 8:
            lines = [rows] if len(shape) == 1 else rows
            width = max(len(x) for row in lines for x in row)
            text = "\n".join((f"[{i},·]  " if len(shape) == 2 else "  ") + " ".join(x.rjust(width) for x in row)
                             for i, row in enumerate(lines))
            tables.append(Text(f"{title}\n{text}"))
            continue
        t = Table(title=title, title_justify="left")
        if len(shape) == 1:
            for j in range(shape[0]):
                t.add_column(f"[{j}]", justify="right")
            t.add_row(*rows)
        else:
            t.add_column("", justify="right", style="dim")
            for j in range(shape[1]):
                t.add_column(f"[·,{j}]", justify="right")
            for i, row in enumerate(rows):
                t.add_row(f"[{i},·]", *row)
        tables.append(t)
    return tables


def check_table(graph: Graph, report: CheckReport, *, limit: int | None = TABLE_ROWS) -> Table:
    """The ``check`` table: errors per gradient against the tolerance (rows as :func:`grad_table`)."""
    from rich.table import Table

    _check_entries(graph, report)
    names, caption = _shown(report, limit)
    note = _sample_note(report)
    if note:
        caption = f"{caption}\n{note}" if caption else note
    t = Table(title=_("gradient check of {name}: tol {tol}").format(name=graph.name, tol=f"{report.tol:g}"),
              title_justify="left",
              caption=caption, caption_justify="left")
    oracle = _oracle_name(report)
    columns = [_("wrt"), _("backprop"), _("paths − backprop"), _("numeric − backprop")]
    columns += [] if oracle is None else [_("{oracle} − backprop").format(oracle=oracle)]
    for k, col in enumerate((*columns, _("rel error"), "")):
        t.add_column(col, justify="left" if k == 0 else "right")
    for name in names:
        e = report.entries[name]
        num = "—" if e.numeric is None else fmt(e.numeric - e.backprop, 3)
        if e.kinks:
            num += _(" (kink)")
        f = _fourth(e)
        extra = [] if oracle is None else ["—" if f is None else fmt(f[1] - e.backprop, 3)]
        t.add_row(str(name), fmt(e.backprop, 10), fmt(e.paths - e.backprop, 3), num, *extra,
                  fmt(e.rel_error, 3), _mark(e.ok(report.tol)))
    return t


def paths_table(graph: Graph, report: PathsReport) -> Table:
    """The best paths, their factors and products, and the exact total."""
    from rich.table import Table

    wrt, paths, n_paths = report.wrt, report.top, report.n_paths
    total, backprop = report.total, report.backprop
    _require_finite(graph, wrt, [total, backprop] + [p.product for p in paths])

    shown = len(paths)
    caption = ngettext("sum over all {n} path = {total}   backprop = {backprop}",
                       "sum over all {n} paths = {total}   backprop = {backprop}", n_paths).format(
        n=f"{n_paths:,}", total=fmt(total, 10), backprop=fmt(backprop, 10))
    # min_width keeps the caption (the point of the table) on one line under narrow tables.
    t = Table(title=ngettext("{dd}: {n} path, top {shown} by |product|", "{dd}: {n} paths, top {shown} by |product|",
                             n_paths).format(dd=f"∂{report.output}/∂{wrt}", n=f"{n_paths:,}", shown=shown),
              title_justify="left", caption=caption, caption_justify="left", min_width=len(caption))
    t.add_column("#", justify="right")
    t.add_column(_("path"))
    t.add_column(_("factors"))
    t.add_column(_("product"), justify="right")
    for i, p in enumerate(paths, 1):
        t.add_row(str(i), " → ".join(str(n) for n in p.nodes), " × ".join(fmt(f) for f in p.factors),
                  fmt(p.product, 6))
    return t
