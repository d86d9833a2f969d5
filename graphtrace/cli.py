"""The command line: a flat click group over the library; the only place that prints or exits.

Exit codes are decided here and nowhere else: 0 success, 1 a gradient check found a mismatch,
2 bad input or usage (every ``GraphtraceError``), 130 interrupted. Data goes to stdout, messages to
stderr, and no traceback is shown unless ``--debug``.
"""

from __future__ import annotations

__all__ = ["main", "cli"]

import math
import sys
from collections.abc import Callable
from typing import Any

import click

from .errors import GraphtraceError, UsageError

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_INTERNAL = 0, 1, 2, 130, 70


# ---- output helpers ---------------------------------------------------------------------------
def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def warn(message: str) -> None:
    """A warning on stderr (plain text, so that names with brackets are never taken as markup)."""
    click.echo(f"warning: {message}", err=True)


def info(message: str) -> None:
    click.echo(message, err=True)


def print_json(doc: Any) -> None:
    from .report import dumps

    click.echo(dumps(doc))


# ---- shared options ---------------------------------------------------------------------------
def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """SOURCE (a path or '-') or -e SCRIPT, plus --output."""
    f = click.option("--output", "output", metavar="NAME", default=None,
                     help="The node to differentiate (default: the last assigned name).")(f)
    f = click.option("-e", "--expr", "inline", metavar="SCRIPT", default=None,
                     help="An inline script instead of a file (statements separated by newlines or ';').")(f)
    f = click.argument("source", required=False, metavar="SOURCE")(f)
    return f


def set_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--set", "assignments", metavar="NAME=VALUE", multiple=True,
                        help="Override an input or param for this run (repeatable).")(f)


def wrt_option(required: bool = False, multiple: bool = True) -> Callable[..., Any]:
    help_text = ("The node to differentiate with respect to (repeatable; default: every param)."
                 if multiple else "The node whose paths to the output are listed.")
    return click.option("--wrt", "wrt", metavar="NAME", multiple=multiple, required=required, help=help_text)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one strict JSON document.")(f)


def load_graph(source: str | None, inline: str | None, output: str | None = None) -> Any:
    """The Graph for SOURCE / -e SCRIPT, with --output applied."""
    from .api import Graph, load, parse

    if inline is not None and source is not None:
        raise UsageError("give either SOURCE or -e SCRIPT, not both")
    if inline is not None:
        g = parse(inline, name="<inline>")
    elif source is None:
        raise UsageError("missing SOURCE: a .gt file, '-' for standard input, or -e 'SCRIPT'")
    else:
        g = load(source)
    if output is not None:
        g = g.with_output(g.node(output, what="--output"))
    assert isinstance(g, Graph)
    for w in g.warnings():
        warn(w)
    return g


def parse_assignments(graph: Any, assignments: tuple[str, ...]) -> dict[str, float] | None:
    """--set NAME=VALUE pairs → values, validated against the graph."""
    if not assignments:
        return None
    values: dict[str, float] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            raise UsageError(f"--set expects NAME=VALUE, got '{item}'")
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(f"--set {name}: '{raw}' is not a number") from None
        if not math.isfinite(value):
            raise UsageError(f"--set {name}: the value must be finite, got '{raw}'")
        graph.node(name, what="--set")
        values[name] = value
    graph._values(values)
    return values


# ---- the group --------------------------------------------------------------------------------
class _Group(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in definition order: the course's order


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="graphtrace", message="graphtrace %(version)s")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """graphtrace: see and check backpropagation.

    Reads a small script (a neuron, an MLP, any scalar formula), builds its computation graph,
    and computes every gradient as the sum over paths, by backprop and by finite differences.

    \b
    Example:
      graphtrace grad samples/neuron.gt
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def command(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    return cli.command(name, **kwargs)


@command("grad")
@source_options
@wrt_option()
@set_option
@json_option
@click.option("--tol", default=1e-6, show_default=True, help="Tolerance of the three-way check.")
@click.option("--no-numeric", is_flag=True, help="Skip finite differences.")
def grad_cmd(source: str | None, inline: str | None, output: str | None, wrt: tuple[str, ...],
             assignments: tuple[str, ...], as_json: bool, tol: float, no_numeric: bool) -> None:
    """Every gradient three ways: sum over paths, backprop, finite differences.

    \b
    Examples:
      graphtrace grad samples/neuron.gt
      graphtrace grad samples/neuron.gt --wrt z --set x1=2 --json
      graphtrace grad -e 'x: input = 3; y = x*x'
    """
    from .report import grad_json, grad_table

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    targets = list(wrt) if wrt else None
    if targets is None and not g.params:
        warn("the script declares no param; showing the inputs' gradients (use --wrt NAME to choose)")
        targets = g.inputs
    report = g.check(targets, values, tol=tol, numeric=not no_numeric)
    if as_json:
        print_json(grad_json(g, report))
    else:
        _console().print(grad_table(g, report))


@command("check")
@source_options
@wrt_option()
@set_option
@json_option
@click.option("--tol", default=1e-6, show_default=True,
              help="Pass when the absolute or the relative error is within this.")
def check_cmd(source: str | None, inline: str | None, output: str | None, wrt: tuple[str, ...],
              assignments: tuple[str, ...], as_json: bool, tol: float) -> None:
    """Compare path sum, backprop and finite differences; exit 1 on a mismatch.

    \b
    Example:
      graphtrace check samples/neuron.gt --tol 1e-8
    """
    from .report import check_json, check_table

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    report = g.check(list(wrt) if wrt else (None if g.params else g.inputs), values, tol=tol)
    if as_json:
        print_json(check_json(g, report))
    else:
        _console().print(check_table(g, report))
        verdict = "ok" if report.ok else f"MISMATCH in {len(report.failures)} gradient(s)"
        info(f"{verdict}: max abs error {report.max_abs_error:.3g}, max rel error {report.max_rel_error:.3g}")
    if not report.ok:
        raise SystemExit(EXIT_MISMATCH)


@command("paths")
@source_options
@wrt_option(required=True, multiple=False)
@set_option
@json_option
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=0),
              help="How many paths to list, best |product| first.")
def paths_cmd(source: str | None, inline: str | None, output: str | None, wrt: str,
              assignments: tuple[str, ...], as_json: bool, top: int) -> None:
    """The paths from --wrt to the output: exact count, exact sum, the best ones listed.

    \b
    Example:
      graphtrace paths samples/product_rule.gt --wrt x
    """
    from .report import paths_json, paths_table

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    g.node(wrt, what="--wrt")
    fwd = g.forward(values)
    n = g.count_paths(wrt)
    total = float(g.sum_over_paths(wrt, forward=fwd))
    bp = float(g.backprop(forward=fwd)[wrt])
    best = g.paths(wrt, top=top, forward=fwd)
    if n == 0:
        warn(f"the output '{g.output}' does not depend on '{wrt}': no paths")
    if as_json:
        print_json(paths_json(g, wrt, n, total, bp, best))
    else:
        _console().print(paths_table(g, wrt, n, total, bp, best))


# ---- entry point ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Run the CLI and map every outcome to the contract's exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        rv = cli.main(args=args, prog_name="graphtrace", standalone_mode=False)
        code = rv if isinstance(rv, int) else EXIT_OK
    except GraphtraceError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        click.echo(f"error: {exc.render()}" if exc.location is None else exc.render(), err=True)
        code = EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = EXIT_BAD_INPUT
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as exc:  # a bug in graphtrace: say so plainly
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}\n"
                   "This is a bug in graphtrace; rerun with --debug for the traceback and report it.",
                   err=True)
        code = EXIT_INTERNAL
    sys.stdout.flush()
    sys.exit(code)

