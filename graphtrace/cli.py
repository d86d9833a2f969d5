"""The command line: a flat click group over the library; the only place that prints or exits.

Exit codes are decided here and nowhere else: 0 success, 1 a gradient check found a mismatch,
2 bad input or usage (every ``GraphtraceError``), 130 interrupted. Data goes to stdout, messages to
stderr, and no traceback is shown unless ``--debug``.
"""

from __future__ import annotations

__all__ = ["main", "cli"]

import math
import sys
import warnings
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
class _CommandGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in definition order: the course's order


@click.group(cls=_CommandGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    report = g.paths_report(wrt, top=top, values=values)
    if report.n_paths == 0:
        warn(f"the output '{g.output}' does not depend on '{wrt}': no paths")
    if as_json:
        print_json(paths_json(g, report))
    else:
        _console().print(paths_table(g, report))


# The same tuples as graphtrace.dot.VIEWS / LEVELS (a test keeps them equal): written out here so
# that importing the CLI does not import the drawing code.
_VIEWS = ("forward", "backward", "both")
_LEVELS = ("scalar", "neuron", "layer", "auto")


@command("render")
@source_options
@click.option("-o", "--out", "out", metavar="FILE", required=True,
              help="The file to write; its extension picks the format: "
                   ".svg .png .pdf (images), .dot (Graphviz text), .json (the drawn graph), .html (explorer).")
@wrt_option(multiple=False)
@set_option
@click.option("--view", type=click.Choice(_VIEWS), default="both", show_default=True,
              help="forward: values; backward: gradients, arrows from the output back; both: everything.")
@click.option("--symbolic", is_flag=True, help="Write each local derivative's formula too (∂z/∂s = σ(s)·(1−σ(s)) = 0.235).")
@click.option("--show-consts", is_flag=True, help="Draw constants as nodes (default: folded into their consumer, ×2).")
@click.option("--heat", is_flag=True, help="Colour and widen edges by |path flow| (from --wrt; else by the gradient they carry).")
@click.option("--level", type=click.Choice(_LEVELS), default="auto", show_default=True,
              help="Networks: every op (scalar), one node per neuron, one per layer, or chosen by size.")
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help="Graphviz: the system 'dot', the bundled graphviz-pure, or system when present.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds the layout may take (default 60, or GRAPHTRACE_RENDER_TIMEOUT).")
@click.option("--force", is_flag=True, help="Draw more than 3,000 nodes one by one anyway.")
@click.option("--no-edge-labels", is_flag=True, help="Leave the local derivatives off the edges.")
@click.option("--no-legend", is_flag=True, help="Leave out the legend of node kinds.")
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=0),
              help="How many paths the --wrt table lists.")
@click.option("--data", "data_path", metavar="CSV", default=None,
              help="With -o PAGE.html: a data set to train on live in the explorer page.")
def render_cmd(source: str | None, inline: str | None, output: str | None, out: str, wrt: str | None,
               assignments: tuple[str, ...], view: str, symbolic: bool, show_consts: bool, heat: bool,
               level: str, backend: str, timeout: float | None, force: bool, no_edge_labels: bool,
               no_legend: bool, top: int, data_path: str | None) -> None:
    """Draw the graph with values, local derivatives and gradients (SVG, PNG, PDF, DOT, JSON).

    Works without a system Graphviz (the bundled graphviz-pure draws SVG and PNG; PDF needs the
    system 'dot'). See docs/diagrams.md.

    \b
    Examples:
      graphtrace render samples/neuron.gt -o neuron.svg
      graphtrace render samples/neuron.gt --view backward --wrt α --symbolic -o neuron.png
      graphtrace mlp 16-64-64-10 -o net.gt && graphtrace render net.gt -o net.svg
      graphtrace render samples/symmetry_random.gt --data samples/triangle.csv -o train.html
    """
    import threading
    import time

    from .output import format_of, save

    ext = format_of(out)

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    if wrt is not None:
        g.node(wrt, what="--wrt")
    options: dict[str, Any] = dict(view=view, wrt=wrt, symbolic=symbolic, show_consts=show_consts, heat=heat,
                                   level=level, values=values, edge_labels=False if no_edge_labels else None,
                                   force=force, top=top, legend=not no_legend)
    if data_path is not None:
        if ext != "html":
            raise UsageError("--data is for the explorer page: write -o PAGE.html")
        from .data import read_csv

        options["data"] = read_csv(data_path)
    start = time.monotonic()
    # A progress line only for renders that take over a second: quick ones stay quiet.
    timer = threading.Timer(1.0, info, args=(f"rendering {out} …",))
    timer.daemon = True
    timer.start()
    try:
        drawing = save(g, out, backend=backend, timeout=timeout, **options)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    if drawing is None:
        info(f"wrote {out}")
        return
    for note in drawing.notes:
        info(note)
    took = f" in {elapsed:.1f} s" if elapsed >= 1.0 else ""
    info(f"wrote {out}: {drawing.level} level, {len(drawing.nodes):,} nodes, {len(drawing.edges):,} edges{took}")


@command("doctor")
@json_option
def doctor_cmd(as_json: bool) -> None:
    """Which Graphviz backends, versions and output formats this machine has.

    \b
    Example:
      graphtrace doctor
    """
    from .render import doctor

    report = doctor()
    if as_json:
        print_json(report)
        return
    click.echo("backends:")
    for b in report.get("backends", []):
        click.echo(f"  {b.get('name')}: {b.get('version')} ({b.get('executable')}); "
                   f"formats {', '.join(b.get('formats', []))}")
    if not report.get("backends"):
        click.echo("  none found")
    for problem in report.get("problems", []):
        click.echo(f"  problem: {problem}")
    click.echo(f"auto picks: {report.get('auto') or 'nothing'}")
    click.echo("formats:")
    for fmt, entry in report.get("formats", {}).items():
        error = "; ".join(line.strip() for line in str(entry.get("error") or "").splitlines() if line.strip())
        click.echo(f"  {fmt}: {entry.get('backend') or 'unavailable: ' + error}")
    click.echo("  dot, json: always (written without Graphviz)")
    for key, value in report.get("env", {}).items():
        if value is not None:
            click.echo(f"{key}={value}")


@command("explore")
@source_options
@set_option
@click.option("--data", "data_path", metavar="CSV", default=None,
              help="A data set whose columns are inputs of the script: adds the training view.")
@click.option("--wrt", "wrt", metavar="NAME", default=None, help="Show this node's paths to the output first.")
@click.option("-o", "--out", "out", metavar="FILE.html", default=None,
              help="Where to write the page (default: a new temporary file).")
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help="Graphviz for the one layout: the system 'dot', the bundled graphviz-pure, or either.")
@click.option("--no-open", is_flag=True, help="Write the page but do not open a browser.")
def explore_cmd(source: str | None, inline: str | None, output: str | None, assignments: tuple[str, ...],
                data_path: str | None, wrt: str | None, out: str | None, backend: str, no_open: bool) -> None:
    """Open the interactive explorer: step through forward and backward, click paths, edit values, train.

    Writes one self-contained HTML page (works offline) and opens it in the browser; the page's
    path is printed on stderr.

    \b
    Examples:
      graphtrace explore samples/neuron.gt
      graphtrace mlp 2-3-1 -o net.gt && graphtrace data triangle -o t.csv
      graphtrace explore net.gt --data t.csv
    """
    import os
    import tempfile
    import webbrowser
    from pathlib import Path

    from .explorer import write_html

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    if wrt is not None:
        g.node(wrt, what="--wrt")
    data = None
    if data_path is not None:
        from .data import read_csv

        data = read_csv(data_path)
    if out is None:
        stem = Path(g.name).stem if g.source is not None and g.name not in ("-", "<inline>") else "graph"
        fd, out = tempfile.mkstemp(prefix=f"graphtrace-{stem}-", suffix=".html")
        os.close(fd)
        try:
            write_html(g, out, values=values, data=data, wrt=wrt, backend=backend)
        except BaseException:
            os.unlink(out)
            raise
    else:
        write_html(g, out, values=values, data=data, wrt=wrt, backend=backend)
    info(f"wrote explorer page {out}")
    if not no_open:
        webbrowser.open(Path(out).resolve().as_uri())


@command("mlp")
@click.argument("shape", metavar="SHAPE")
@click.option("--activation", default="sigmoid", show_default=True, metavar="NAME",
              help="Hidden layers' activation: sigmoid, tanh, relu or identity.")
@click.option("--loss", default="bce", show_default=True, metavar="NAME",
              help="bce: sigmoid output and log loss; mse: linear output and 0.5*(y - o)**2.")
@click.option("--init", default="random", show_default=True, metavar="NAME",
              help="Initial weights: random (uniform ±1/√fan_in), zeros, xavier or he; biases start at 0.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of the initial weights.")
@click.option("-o", "--out", "out", metavar="FILE.gt", default=None, help="Write the script here (default: stdout).")
def mlp_cmd(shape: str, activation: str, loss: str, init: str, seed: int, out: str | None) -> None:
    """Write the script of a multilayer perceptron: SHAPE is the layer sizes, e.g. 2-3-1.

    One scalar node per operation; names show layer and neuron: w1_2_3 is the weight of layer 1
    from input x2 to neuron 3, b1_3 its bias, z1_3 the weighted sum, h1_3 the activation; o is the
    output, y the target, L the loss.

    \b
    Examples:
      graphtrace mlp 2-3-1 --seed 0 -o net.gt
      graphtrace mlp 2-3-1 --init zeros -o symmetry_zeros.gt
      graphtrace mlp 2-4-2-1 --activation tanh
    """
    from .network import mlp_script, parse_shape

    sizes = parse_shape(shape)
    text = mlp_script(sizes, activation=activation, loss=loss, init=init, seed=seed)
    if out is None:
        click.echo(text, nl=False)
        return
    from .files import atomic_write

    atomic_write(out, text)
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    info(f"wrote {out}: a {'-'.join(map(str, sizes))} network with {n_params} params")


@command("data")
@click.argument("name", metavar="NAME")
@click.option("-n", "n", default=200, show_default=True, type=int, help="Number of samples.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the samples.")
@click.option("--noise", default=0.0, show_default=True, type=float,
              help="Gaussian noise on the features, as a fraction of the data set's half-width (0 to 1).")
@click.option("-o", "--out", "out", metavar="FILE.csv", default=None, help="Write the CSV here (default: stdout).")
def data_cmd(name: str, n: int, seed: int, noise: float, out: str | None) -> None:
    """Write a toy data set as CSV (x1,x2,y; labels 0/1): triangle, circle, xor or gauss.

    \b
    Examples:
      graphtrace data triangle -n 200 --seed 0 -o triangle.csv
      graphtrace data circle -n 500 --noise 0.05 -o circle.csv
    """
    from .data import make_dataset, write_csv

    text = write_csv(make_dataset(name, n, seed=seed, noise=noise))
    if out is None:
        click.echo(text, nl=False)
        return
    from .files import atomic_write

    atomic_write(out, text)
    info(f"wrote {out}: {n} samples of '{name}'")


@command("train")
@source_options
@click.option("--data", "data_path", metavar="FILE.csv", required=True,
              help="Training data: one column per input of the script (header names = input names).")
@click.option("--lr", type=float, default=None, help="Learning rate (default 0.5).")
@click.option("--epochs", type=click.IntRange(min=0), default=None, help="Passes over the data (default 300).")
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Samples per gradient step (default 10).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the shuffling.")
@click.option("--predict", "predict_name", metavar="NAME", default=None,
              help="The prediction node for accuracy and plots (default: o, else the last named node "
                   "that does not depend on y).")
@click.option("--threshold", type=float, default=None,
              help="Count a sample positive when the prediction is ≥ this (default 0.5; 0 for ±1 labels).")
@click.option("-o", "--out", "out", metavar="TRAINED.gt", default=None,
              help="Write the script with the trained param values (comments and layout kept).")
@click.option("--plot", "plot", metavar="OUT.png|svg", default=None,
              help="Draw the loss curve and, for two features, the decision boundary.")
@click.option("--save-every", "save_every", type=click.IntRange(min=1), default=None, metavar="N",
              help="Also write -o every N epochs (a checkpoint).")
@json_option
def train_cmd(source: str | None, inline: str | None, output: str | None, data_path: str, lr: float | None,
              epochs: int | None, batch: int | None, seed: int, predict_name: str | None, out: str | None,
              plot: str | None, save_every: int | None, as_json: bool, threshold: float | None) -> None:
    """Mini-batch gradient descent on the script's params; the script is the per-sample loss.

    Each batch is one evaluation of the graph with arrays as input values. Prints the final loss
    and the training accuracy (for a 0/1 or ±1 target y).

    \b
    Examples:
      graphtrace mlp 2-3-1 --seed 0 -o net.gt
      graphtrace data triangle -n 200 --seed 0 -o triangle.csv
      graphtrace train net.gt --data triangle.csv --seed 0 -o trained.gt --plot trained.png
    """
    import os

    from . import training
    from .data import read_csv
    from .files import atomic_write

    plot_fmt = None
    if plot is not None:
        plot_fmt = os.path.splitext(plot)[1].lower().lstrip(".")
        if plot_fmt not in ("png", "svg"):
            raise UsageError(f"--plot '{plot}': the file must end in .png or .svg")
    if save_every is not None and out is None:
        raise UsageError("--save-every needs -o TRAINED.gt to know where to write")
    g = load_graph(source, inline, output)
    dataset = read_csv(data_path)
    lr = training.DEFAULT_LR if lr is None else lr
    epochs = training.DEFAULT_EPOCHS if epochs is None else epochs
    batch = training.DEFAULT_BATCH if batch is None else batch
    text = g.source.text if g.source is not None else ""

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = _console(stderr=True)
    with Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("train", total=max(1, epochs), status="")

        def progress(p: Any) -> None:
            if p.epoch_done:
                bar.update(task, completed=p.epoch, status=f"epoch {p.epoch}/{p.epochs} loss {p.loss:.4g}")
                if save_every is not None and out is not None and p.epoch % save_every == 0:
                    atomic_write(out, training.substitute_params(text, g, p.params))

        result = training.train(g, dataset, lr=lr, epochs=epochs, batch=batch, seed=seed,
                                callback=progress, predict_name=predict_name, threshold=threshold)
    for w in result.warnings:
        if w not in g.warnings():  # load_graph already showed the script's own warnings
            warn(w)
    if out is not None:
        atomic_write(out, result.script)
        info(f"wrote {out}")
    if plot is not None and plot_fmt is not None:
        atomic_write(plot, training.plot_training(result, dataset, fmt=plot_fmt,
                                                  title=f"{g.name} on {dataset.name}"))
        info(f"wrote {plot}")
    if as_json:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        print_json({"loss": finite(result.loss), "accuracy": result.accuracy, "predict": result.predict,
                    "epochs": result.epochs, "lr": result.lr, "batch": result.batch, "seed": result.seed,
                    "samples": len(dataset), "history": [finite(h) for h in result.history],
                    "accuracy_history": result.accuracy_history, "params": result.params,
                    "warnings": result.warnings})
        return
    acc = ""
    if result.accuracy is not None:
        right = round(result.accuracy * len(dataset))
        acc = f", accuracy {100 * result.accuracy:.1f} % ({right}/{len(dataset)}, prediction '{result.predict}')"
    click.echo(f"final loss {result.loss:.4g}{acc}")
    info(f"{result.epochs} epochs of {len(dataset)} samples, lr {result.lr:g}, batch {result.batch}, "
         f"seed {result.seed}: {result.seconds:.1f} s")


@command("demo")
@click.option("-o", "--out", "out", metavar="DIR", default="graphtrace-demo", show_default=True,
              help="The folder to write into (created if missing; other files in it are left alone).")
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help="The Graphviz backend for the diagrams.")
@click.option("--section", "sections", type=click.IntRange(1, 12), multiple=True,
              help="Only this course section (repeatable; default: all twelve).")
def demo_cmd(out: str, backend: str, sections: tuple[int, ...]) -> None:
    """Reproduce every section of the course into a folder, with an index.html to open.

    Per section: the script, forward and backward diagrams, the gradient table, the paths,
    training plots where it trains, and an interactive explorer page.

    \b
    Examples:
      graphtrace demo
      graphtrace demo -o course --section 10 --section 12
    """
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .demo import run_demo

    start = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("demo", total=len(sections) or 12)

        def progress(section: Any, k: int, total: int) -> None:
            bar.update(task, completed=k, description=f"§{section.number} {section.title}")

        result = run_demo(out, backend=backend, sections=sections or None, progress=progress)
        bar.update(task, completed=len(sections) or 12)
    for number, notes in sorted(result.notes.items()):
        for note in notes:
            info(f"§{number}: {note}")
    click.echo(f"wrote {result.count} files into {out}/ in {time.monotonic() - start:.1f} s; "
               f"open {result.index}")


# ---- entry point ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Run the CLI and map every outcome to the contract's exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        with warnings.catch_warnings():
            # numpy's overflow warnings are noise here: graphtrace checks every result itself and
            # reports a non-finite one with its node and line.
            if not debug:
                warnings.simplefilter("ignore", RuntimeWarning)
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

