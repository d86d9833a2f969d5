"""The demo: every section of the course reproduced into one folder, drawn, checked and indexed.

``run_demo`` writes, per course section, the script it uses, forward and backward diagrams, the
gradient table, the path listing, training plots where the section trains, and an interactive
explorer page; then an ``index.html`` (opens from disk, no server) and a ``README.md``. Every file
is written atomically and only files the demo names are written: nothing else in the folder is
touched or deleted. The samples ship inside the package, so this works from any folder.
"""

from __future__ import annotations

__all__ = ["Section", "SECTIONS", "samples_dir", "run_demo", "DemoResult"]

import html
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import GraphtraceError


def samples_dir() -> Path:
    """The course samples: inside the installed package (wheel), else the source tree's samples/.

    >>> (samples_dir() / "neuron.gt").is_file()
    True
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / "samples", here.parent / "samples"):
        if (candidate / "neuron.gt").is_file():
            return candidate
    raise GraphtraceError("the course samples are missing from this installation",
                          hint="reinstall graphtrace (pip install graphtrace)")


@dataclass(frozen=True)
class Section:
    """One course section: what it shows and how the demo reproduces it."""

    number: int
    title: str
    text: str
    sample: str
    wrt: str | None = None
    level: str = "auto"
    symbolic: bool = False
    train: tuple[tuple[str, str, dict[str, Any]], ...] = ()  # (label, sample, options)
    data: str | None = None  # CSV in samples/ used by the training runs and the explorer
    extra: str | None = None  # name of an extra step (see _EXTRAS)

    @property
    def slug(self) -> str:
        words = "".join(c if c.isalnum() else "-" for c in self.title.lower()).split("-")
        return f"{self.number:02d}-" + "-".join(w for w in words if w)[:40]


SECTIONS: tuple[Section, ...] = (
    Section(1, "Linear classifier",
            "The sign of w0 + w1·x1 + w2·x2 separates two classes by a line; (w1, w2) is its normal.",
            "linear_classifier.gt", data="gauss.csv",
            train=(("linear classifier on two gaussians", "linear_classifier.gt", {"threshold": 0.0}),)),
    Section(2, "Logistic regression",
            "The same linear combination through the sigmoid: a confidence P(y = 1), trained with log loss.",
            "logistic_regression.gt", data="gauss.csv",
            train=(("logistic regression on two gaussians", "logistic_regression.gt", {}),)),
    Section(3, "The triangle problem",
            "Three logistic regressions, one per side of the triangle, and a fourth on their outputs: a "
            "2-3-1 network. The hand-picked weights cut out the triangle; a trained 2-3-1 net finds the "
            "same three sides.",
            "triangle.gt", level="neuron", data="triangle.csv",
            train=(("a 2-3-1 sigmoid net from random weights", "symmetry_random.gt", {}),)),
    Section(4, "Computation graph",
            "Every composition of functions is a DAG: a node per computed value, an edge u → v when v "
            "needs u. This is the triangle network drawn one operation per node.",
            "triangle.gt", level="scalar"),
    Section(5, "Why nonlinearities",
            "Without an activation, two linear layers collapse into one linear model: a = collapsed, "
            "and a trained identity-activation net draws a straight boundary, like one logistic "
            "regression.",
            "linear_collapse.gt", wrt="w11", data="triangle.csv",
            train=(("2-3-1 with identity activations", "linear_collapse_net.gt", {}),),
            extra="collapse"),
    Section(6, "MLP vocabulary",
            "Dense (fully connected) layers, neurons per layer, an activation: the 2-4-2-1 tanh network "
            "drawn one node per neuron and one node per layer.",
            "circle_net.gt", level="neuron", extra="levels"),
    Section(7, "Frameworks",
            "A framework holds the computation as a graph of operations; graphtrace's is a networkx "
            "MultiDiGraph, exported here as JSON and DOT.",
            "neuron.gt", extra="export"),
    Section(8, "Training by gradient descent",
            "TensorFlow Playground's circle with a 4-2 tanh network, learning rate 0.03, batch 10.",
            "circle_net.gt", level="neuron", data="circle.csv",
            train=(("2-4-2-1 tanh on the circle", "circle_net.gt", {"lr": 0.03, "batch": 10}),)),
    Section(9, "Chain rule and the derivative graph",
            "∂h/∂x as the sum over paths of the products of edge derivatives: h = f·g has two paths, "
            "which is the product rule.",
            "product_rule.gt", wrt="x", symbolic=True),
    Section(10, "One neuron, forward and backward",
            "Inputs x1, x2, weights α, β, sigmoid and log loss; ∂L/∂α follows the reversed edges from "
            "L back to α.",
            "neuron.gt", wrt="α", symbolic=True),
    Section(11, "Backpropagation",
            "Backprop computes every gradient in two passes; the path sum visits each path. They agree "
            "(and with finite differences) on the triangle network.",
            "triangle.gt", wrt="w1_1_1", level="neuron"),
    Section(12, "Weight initialisation",
            "Started at zeros, hidden units wired alike get identical updates forever (symmetry); "
            "random weights break it.",
            "symmetry_zeros.gt", level="neuron", data="triangle.csv",
            train=(("2-3-1 started at zeros", "symmetry_zeros.gt", {}),
                   ("2-3-1 started at random weights", "symmetry_random.gt", {})),
            extra="symmetry"),
)
"""The course, section by section (COURSE.md)."""


@dataclass
class DemoResult:
    """What the demo wrote: files per section (relative to the folder) and notes."""

    folder: Path
    files: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # section → (file, caption)
    notes: dict[int, list[str]] = field(default_factory=dict)
    index: Path | None = None

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.files.values()) + 2


def _table_text(table: Any) -> str:
    from rich.console import Console

    console = Console(file=io.StringIO(), width=120, record=True, color_system=None)
    console.print(table)
    return console.export_text()


class _Writer:
    def __init__(self, folder: Path, result: DemoResult, section: Section):
        self.folder = folder
        self.result = result
        self.section = section
        (folder / section.slug).mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / self.section.slug / name

    def add(self, name: str, caption: str) -> None:
        self.result.files.setdefault(self.section.number, []).append((f"{self.section.slug}/{name}", caption))

    def note(self, text: str) -> None:
        self.result.notes.setdefault(self.section.number, []).append(text)

    def write(self, name: str, data: str | bytes, caption: str) -> None:
        from .files import atomic_write

        atomic_write(self.path(name), data)
        self.add(name, caption)


def _section(w: _Writer, samples: Path, backend: str) -> None:
    from . import output
    from .api import load
    from .data import read_csv
    from .report import dumps, grad_json, grad_table, paths_json, paths_table

    s = w.section
    graph = load(samples / s.sample)
    w.write(s.sample, (samples / s.sample).read_text(encoding="utf-8"), "the script")

    views = (("forward", "forward pass: values"), ("backward", "backward pass: ∂L/∂node, local derivatives"))
    for view, caption in views:
        drawing = output.save(graph, w.path(f"{view}.svg"), view=view, level=s.level, symbolic=s.symbolic,
                           backend=backend)
        w.add(f"{view}.svg", caption + (f" ({drawing.level} level)" if drawing is not None else ""))
    if s.wrt is not None:
        output.save(graph, w.path("paths.svg"), view="backward", wrt=s.wrt, level=s.level,
                 symbolic=s.symbolic, backend=backend)
        w.add("paths.svg", f"every path from {s.wrt} to {graph.output}, with the path table")

    report = graph.check()
    w.write("grad.txt", _table_text(grad_table(graph, report)), "gradients three ways (path sum, backprop, numeric)")
    w.write("grad.json", dumps(grad_json(graph, report)) + "\n", "the same as JSON (graphtrace grad --json)")
    w.note(f"gradient check: max relative error {report.max_rel_error:.2g} → {'ok' if report.ok else 'MISMATCH'}")

    wrt = s.wrt or (graph.params[0] if graph.params else None)
    if wrt is not None:
        paths = graph.paths_report(wrt, top=10)
        w.write("paths.txt", _table_text(paths_table(graph, paths)),
                f"the paths from {wrt} to {graph.output} (graphtrace paths)")
        w.write("paths.json", dumps(paths_json(graph, paths)) + "\n",
                "the same as JSON (graphtrace paths --json)")

    data = read_csv(samples / s.data) if s.data else None
    from .explorer import write_html

    explore_graph = graph
    if s.train and data is not None:
        explore_graph = load(samples / s.train[-1][1])
    write_html(explore_graph, w.path("explorer.html"), data=data, backend=backend)
    w.add("explorer.html", "interactive explorer: step through the passes, click a node for its paths"
          + (", train live" if data is not None else ""))

    for i, (label, sample, options) in enumerate(s.train, 1):
        _train(w, samples, i, label, sample, options, data)

    if s.extra:
        _EXTRAS[s.extra](w, samples, backend)


def _train(w: _Writer, samples: Path, i: int, label: str, sample: str, options: dict[str, Any],
           data: Any) -> None:
    from .api import load
    from .training import plot_training, train

    graph = load(samples / sample)
    result = train(graph, data, seed=0, **options)
    suffix = "" if len(w.section.train) == 1 else f"_{i}"
    w.write(f"training{suffix}.png", plot_training(result, data, title=label),
            f"training: {label} (loss curve and decision boundary)")
    w.write(f"trained{suffix}.gt", result.script, f"the trained script: {label}")
    acc = "n/a" if result.accuracy is None else f"{100 * result.accuracy:.1f} %"
    w.note(f"{label}: final loss {result.loss:.4g}, training accuracy {acc} "
           f"({result.epochs} epochs, lr {result.lr}, batch {result.batch}, {result.seconds:.1f} s)")
    for message in result.warnings:
        w.note(f"warning: {message}")
    if w.section.extra == "symmetry" and i == 1:
        from .training import hidden_units_identical

        same = hidden_units_identical(result.graph)
        w.note(f"after training from zeros, the hidden units are {'still identical' if same else 'different'} "
               "(weights equal within 1e-12)")


def _collapse(w: _Writer, samples: Path, backend: str) -> None:
    from .api import load

    g = load(samples / "linear_collapse.gt")
    v = g.forward().values
    w.note(f"two linear layers: a = {float(v['a']):.6g}; the collapsed single layer: "
           f"(w1·w11 + w2·w12)·x1 + (w1·w21 + w2·w22)·x2 = {float(v['collapsed']):.6g}")


def _levels(w: _Writer, samples: Path, backend: str) -> None:
    from . import output
    from .api import load

    g = load(samples / w.section.sample)
    for level in ("scalar", "layer"):
        output.save(g, w.path(f"level_{level}.svg"), view="forward", level=level, backend=backend)
        w.add(f"level_{level}.svg", f"the same network, --level {level}")


def _export(w: _Writer, samples: Path, backend: str) -> None:
    from . import output
    from .api import load

    g = load(samples / w.section.sample)
    output.save(g, w.path("graph.json"))
    w.add("graph.json", "the graph of operations as JSON (graphtrace render -o graph.json)")
    output.save(g, w.path("graph.dot"))
    w.add("graph.dot", "the same as Graphviz DOT (graphtrace render -o graph.dot)")


def _symmetry(w: _Writer, samples: Path, backend: str) -> None:
    w.note("compare training_1.png (zeros: the three hidden units move together, one line) with "
           "training_2.png (random: three sides of the triangle)")


_EXTRAS: dict[str, Callable[[_Writer, Path, str], None]] = {
    "collapse": _collapse, "levels": _levels, "export": _export, "symmetry": _symmetry,
}


def run_demo(folder: str | os.PathLike[str] = "graphtrace-demo", *, backend: str = "auto",
             sections: tuple[int, ...] | None = None,
             progress: Callable[[Section, int, int], None] | None = None) -> DemoResult:
    """Reproduce every course section into ``folder`` and write its index.

    Args:
        folder: where to write (created if missing; existing files the demo does not name are left
            alone).
        backend: the Graphviz backend (``auto``, ``system``, ``bundled``).
        sections: only these section numbers (default: all).
        progress: called before each section with (section, position, total).
    """
    from .files import atomic_write

    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise GraphtraceError(f"cannot write the demo into '{out}': it is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    samples = samples_dir()
    result = DemoResult(out)
    chosen = [s for s in SECTIONS if sections is None or s.number in sections]
    for k, section in enumerate(chosen):
        if progress is not None:
            progress(section, k, len(chosen))
        _section(_Writer(out, result, section), samples, backend)
    atomic_write(out / "index.html", _index_html(result, chosen))
    atomic_write(out / "README.md", _readme(result, chosen))
    result.index = out / "index.html"
    return result


def _index_html(result: DemoResult, sections: list[Section]) -> str:
    from .version import __version__

    e = html.escape
    parts = [
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>graphtrace demo: the course, section by section</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "h2{border-top:1px solid #ddd;padding-top:1em}figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}"
        "code{background:#f4f4f4;padding:0 .2em}ul.files li{margin:.1em 0}.note{color:#555}</style></head><body>",
        "<h1>graphtrace demo</h1>",
        f"<p>Every section of the course reproduced by graphtrace {e(__version__)}: the script, its "
        "forward and backward diagrams, the gradients three ways (sum over paths, backprop, finite "
        "differences), the paths, training runs and an interactive explorer page. Regenerate with "
        "<code>graphtrace demo</code>.</p><ol>",
    ]
    for s in sections:
        parts.append(f'<li><a href="#s{s.number}">§{s.number} {e(s.title)}</a></li>')
    parts.append("</ol>")
    for s in sections:
        parts.append(f'<h2 id="s{s.number}">§{s.number} {e(s.title)}</h2><p>{e(s.text)}</p>')
        for note in result.notes.get(s.number, []):
            parts.append(f'<p class="note">{e(note)}</p>')
        files = result.files.get(s.number, [])
        for name, caption in files:
            if name.endswith((".svg", ".png")):
                parts.append(f'<figure><a href="{e(name)}"><img src="{e(name)}" alt="{e(caption)}" '
                             f'loading="lazy"></a><figcaption>{e(caption)}</figcaption></figure>')
        parts.append('<ul class="files">')
        for name, caption in files:
            parts.append(f'<li><a href="{e(name)}">{e(name)}</a>: {e(caption)}</li>')
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _readme(result: DemoResult, sections: list[Section]) -> str:
    lines = ["# graphtrace demo", "",
             "Every section of the course, reproduced by `graphtrace demo`. Open `index.html` in a "
             "browser for the pictures.", ""]
    for s in sections:
        lines += [f"## §{s.number} {s.title}", "", s.text, ""]
        lines += [f"- {note}" for note in result.notes.get(s.number, [])]
        if result.notes.get(s.number):
            lines.append("")
        lines += [f"- [`{name}`]({name}): {caption}" for name, caption in result.files.get(s.number, [])]
        lines.append("")
    return "\n".join(lines)
