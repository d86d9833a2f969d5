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

from .bundled import samples_dir
from .i18n import N_, _, language, use_language
from .text import printable_path, xml_safe


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
    Section(1, N_("Linear classifier"),
            N_("The sign of w0 + w1·x1 + w2·x2 separates two classes by a line; (w1, w2) is its normal."),
            "linear_classifier.gt", data="gauss.csv",
            train=((N_("linear classifier on two gaussians"), "linear_classifier.gt", {"threshold": 0.0}),)),
    Section(2, N_("Logistic regression"),
            N_("The same linear combination through the sigmoid: a confidence P(y = 1), trained with log loss."),
            "logistic_regression.gt", data="gauss.csv",
            train=((N_("logistic regression on two gaussians"), "logistic_regression.gt", {}),)),
    Section(3, N_("The triangle problem"),
            N_("Three logistic regressions, one per side of the triangle, and a fourth on their outputs: a "
            "2-3-1 network. The hand-picked weights cut out the triangle; a trained 2-3-1 net finds the "
            "same three sides."),
            "triangle.gt", level="neuron", data="triangle.csv",
            train=((N_("a 2-3-1 sigmoid net from random weights"), "symmetry_random.gt", {}),)),
    Section(4, N_("Computation graph"),
            N_("Every composition of functions is a DAG: a node per computed value, an edge u → v when v "
            "needs u. This is the triangle network drawn one operation per node."),
            "triangle.gt", level="scalar"),
    Section(5, N_("Why nonlinearities"),
            N_("Without an activation, two linear layers collapse into one linear model: a = collapsed, "
            "and a trained identity-activation net draws a straight boundary, like one logistic "
            "regression."),
            "linear_collapse.gt", wrt="w11", data="triangle.csv",
            train=((N_("2-3-1 with identity activations"), "linear_collapse_net.gt", {}),),
            extra="collapse"),
    Section(6, N_("MLP vocabulary"),
            N_("Dense (fully connected) layers, neurons per layer, an activation: the 2-4-2-1 tanh network "
            "drawn one node per neuron and one node per layer."),
            "circle_net.gt", level="neuron", extra="levels"),
    Section(7, N_("Frameworks"),
            N_("A framework holds the computation as a graph of operations; graphtrace's is a networkx "
            "MultiDiGraph, exported here as JSON and DOT."),
            "neuron.gt", extra="export"),
    Section(8, N_("Training by gradient descent"),
            N_("TensorFlow Playground's circle with a 4-2 tanh network, learning rate 0.03, batch 10."),
            "circle_net.gt", level="neuron", data="circle.csv",
            train=((N_("2-4-2-1 tanh on the circle"), "circle_net.gt", {"lr": 0.03, "batch": 10}),)),
    Section(9, N_("Chain rule and the derivative graph"),
            N_("∂h/∂x as the sum over paths of the products of edge derivatives: h = f·g has two paths, "
            "which is the product rule."),
            "product_rule.gt", wrt="x", symbolic=True),
    Section(10, N_("One neuron, forward and backward"),
            N_("Inputs x1, x2, weights α, β, sigmoid and log loss; ∂L/∂α follows the reversed edges from "
            "L back to α."),
            "neuron.gt", wrt="α", symbolic=True),
    Section(11, N_("Backpropagation"),
            N_("Backprop computes every gradient in two passes; the path sum visits each path. They agree "
            "(and with finite differences) on the triangle network."),
            "triangle.gt", wrt="w1_2_1", level="neuron"),
    Section(12, N_("Weight initialisation"),
            N_("Started at zeros, hidden units wired alike get identical updates forever (symmetry); "
            "random weights break it."),
            "symmetry_zeros.gt", level="neuron", data="triangle.csv",
            train=((N_("2-3-1 started at zeros"), "symmetry_zeros.gt", {}),
                   (N_("2-3-1 started at random weights"), "symmetry_random.gt", {})),
            extra="symmetry"),
    Section(13, N_("Beyond the course: K classes with softmax"),
            N_("K classes need K scores (logits); softmax turns them into probabilities and the loss of a "
            "sample of class y is cross_entropy(z, y) = −log p[y]. Written with vectors and matrices "
            "(z = W @ x + b) the script stays short and still expands into scalar nodes, so every edge "
            "keeps its local derivative: softmax′ = p_i(δ_ij − p_j) on the edges z → p. A 2-16-3 net "
            "(graphtrace mlp 2-16-3 --loss ce) trains on three blobs; micrograd's README example, with "
            "its += and .relu(), gives micrograd's numbers."),
            "softmax.gt", wrt="W[2,0]", symbolic=True, data="blobs.csv",
            train=((N_("a 2-16-3 softmax net on three blobs"), "multiclass.gt", {}),), extra="language"),
)
"""The course, section by section (COURSE.md), then what graphtrace adds beyond it."""


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
    # Named as the copy written beside the outputs: no file the demo writes names the install folder.
    graph = load(samples / s.sample, name=s.sample)
    w.write(s.sample, (samples / s.sample).read_text(encoding="utf-8"), _("the script"))

    views = (("forward", _("forward pass: values")), ("backward", _("backward pass: ∂L/∂node, local derivatives")))
    for view, caption in views:
        drawing = output.save(graph, w.path(f"{view}.svg"), view=view, level=s.level, symbolic=s.symbolic,
                           backend=backend)
        w.add(f"{view}.svg", caption + (_(" ({level} level)").format(level=drawing.level) if drawing is not None else ""))
    if s.wrt is not None:
        output.save(graph, w.path("paths.svg"), view="backward", wrt=s.wrt, level=s.level,
                 symbolic=s.symbolic, backend=backend)
        w.add("paths.svg", _("every path from {wrt} to {output}, with the path table").format(wrt=s.wrt, output=graph.output))

    report = graph.check()
    w.write("grad.txt", _table_text(grad_table(graph, report)), _("gradients three ways (path sum, backprop, numeric)"))
    w.write("grad.json", dumps(grad_json(graph, report)) + "\n", _("the same as JSON (graphtrace grad --json)"))
    w.note(_("gradient check: max relative error {error} → {verdict}").format(
        error=f"{report.max_rel_error:.2g}", verdict=_("ok") if report.ok else _("MISMATCH")))

    wrt = s.wrt or _telling_param(graph)
    if wrt is not None:
        paths = graph.paths_report(wrt, top=10)
        why = _zero_paths(graph, paths)
        for line in why:
            w.note(line)
        w.write("paths.txt", _table_text(paths_table(graph, paths)) + "".join(f"\n{line}" for line in why)
                + ("\n" if why else ""), _("the paths from {wrt} to {output} (graphtrace paths)").format(
                    wrt=wrt, output=graph.output))
        w.write("paths.json", dumps(paths_json(graph, paths)) + "\n",
                _("the same as JSON (graphtrace paths --json)"))

    data = read_csv(samples / s.data, name=s.data) if s.data else None
    from .explorer import write_html

    # The section's own net, the one its diagrams show, training (where it does) at the section's
    # learning rate and batch; a script the data does not fit (§13's softmax.gt has no input y)
    # gives its place to the section's first trained net.
    explore_graph, explore_sample = graph, s.sample
    if data is not None and not set(data.columns) <= {str(v) for v in graph.inputs}:
        if s.train:
            explore_sample = s.train[0][1]
            explore_graph = load(samples / explore_sample, name=explore_sample)
        else:
            data = None
    start = next(({k: v for k, v in o.items() if k in ("lr", "batch")} for _, f, o in s.train
                  if f == explore_sample), None)
    write_html(explore_graph, w.path("explorer.html"), data=data, backend=backend, train=start)
    w.add("explorer.html", _("interactive explorer: step through the passes, click a node for its paths, "
                             "train live") if data is not None else
          _("interactive explorer: step through the passes, click a node for its paths"))



def _train(targets: list[tuple[_Writer, int, str]], samples: Path, sample: str, options: dict[str, Any],
           data: Any) -> None:
    """One training run, reported in each section that shows it (§3 and §12 train the same net
    with the same options: trained once, plotted under each section's label)."""
    from .api import load
    from .training import train

    graph = load(samples / sample, name=sample)
    result = train(graph, data, seed=0, **options)
    for w, i, label in targets:
        _report_training(w, i, label, result, data)


def _report_training(w: _Writer, i: int, label: str, result: Any, data: Any) -> None:
    from .training import plot_training

    suffix = "" if len(w.section.train) == 1 else f"_{i}"
    label = _(label)
    w.write(f"training{suffix}.png", plot_training(result, data, title=label),
            _("training: {label} (loss curve and decision boundary)").format(label=label))
    w.write(f"trained{suffix}.gt", result.script, _("the trained script: {label}").format(label=label))
    acc = _("n/a") if result.accuracy is None else f"{100 * result.accuracy:.1f} %"
    w.note(_("{label}: final loss {loss}, training accuracy {accuracy} ({epochs} epochs, lr {lr}, batch {batch}, "
             "{seconds} s)").format(label=label, loss=f"{result.loss:.4g}", accuracy=acc, epochs=result.epochs,
                                    lr=result.lr, batch=result.batch, seconds=f"{result.seconds:.1f}"))
    for message in result.warnings:
        w.note(_("warning: {message}").format(message=message))
    if w.section.extra == "symmetry" and i == 1:
        from .training import hidden_units_identical

        same = hidden_units_identical(result.graph)
        w.note(_("after training from zeros, the hidden units are still identical (weights equal within 1e-12)")
               if same else _("after training from zeros, the hidden units are different (weights equal within 1e-12)"))


def _telling_param(graph: Any) -> Any:
    """The param whose path table teaches most: one with a non-zero gradient, on the longest
    paths (a first-layer weight: the chain rule through every layer), the largest |gradient|
    among those; a param whose every path is 0 (``w1_1_1`` at ``x1 = 0``) shows nothing."""
    grads = graph.backprop()
    best, key = (graph.params[0] if graph.params else None), None
    for p in graph.params:
        g = abs(float(grads[p]))
        if not g > 0:
            continue
        top = graph.paths(p, top=1)
        k = (len(top[0].nodes) if top else 0, g)
        if key is None or k > key:
            best, key = p, k
    return best


def _zero_paths(graph: Any, report: Any) -> list[str]:
    """Why a path in the table contributes 0: the first factor on it that is 0, with its formula
    (``path 2 contributes 0: its factor ∂mul_4/∂log_2 = 1 − y is 0 here``), and why the sum is 0
    when it is; empty when every listed path carries something."""
    from .graph import operands
    from .ops import OPS
    from .text import expression_text, fmt, parenthesise

    g = graph.core
    fwd = graph.forward()
    lines = graph.source.text.split("\n") if graph.source is not None else []

    def name(v: Any) -> str:
        d = g.nodes[v]
        if d.get("named") or d.get("kind") in ("input", "param"):
            return str(v)
        if d.get("kind") == "const":
            return fmt(d.get("value", 0.0))
        text = expression_text(lines, d.get("line"), d.get("col"), d.get("end_line"), d.get("end_col"))
        if not text or len(text) > 40:
            return str(v)
        return " ".join(text.replace("**", "^").replace("*", "·").split()).replace(" - ", " − ")

    out = []
    for i, path in enumerate(report.top, 1):
        if path.product != 0:
            continue
        k = next((k for k, f in enumerate(path.factors) if f == 0), None)
        if k is None:  # an underflow of small factors, not a zero factor
            out.append(_("path {i} contributes {product}: its factors are too small to show").format(
                i=i, product=f"{path.product:g}"))
            continue
        u, v = path.nodes[k], path.nodes[k + 1]
        slot = path.slots[k] if path.slots else operands(g, v).index(u)
        args = [parenthesise(name(w)) for w in operands(g, v)]
        formula = OPS[g.nodes[v]["op"]].symbolic_at(slot, args, parenthesise(name(v)))
        values = ", ".join(f"{name(w)} = {fmt(float(fwd.values[w]))}" for w in dict.fromkeys(operands(g, v))
                           if g.nodes[w].get("kind") != "const")
        out.append(_("path {i} ({start} → …) contributes 0: its factor {factor} = {formula} is 0 here "
                     "({values})").format(i=i, start=" → ".join(map(str, path.nodes[:2])),
                                          factor=f"∂{parenthesise(name(v))}/∂{parenthesise(name(u))}",
                                          formula=formula, values=values))
    if out and report.total == 0:
        out.append(_("so ∂{output}/∂{wrt} = 0 here: at this point, changing {wrt} does not change the "
                     "output").format(output=report.output, wrt=report.wrt))
    return out


def _collapse(w: _Writer, samples: Path, backend: str) -> None:
    from .api import load

    g = load(samples / "linear_collapse.gt", name="linear_collapse.gt")
    v = g.forward().values
    w.note(_("two linear layers: a = {a}; the collapsed single layer: "
             "(w1·w11 + w2·w12)·x1 + (w1·w21 + w2·w22)·x2 = {collapsed}").format(
                 a=f"{float(v['a']):.6g}", collapsed=f"{float(v['collapsed']):.6g}"))


def _levels(w: _Writer, samples: Path, backend: str) -> None:
    from . import output
    from .api import load

    g = load(samples / w.section.sample, name=w.section.sample)
    for level in ("scalar", "layer"):
        output.save(g, w.path(f"level_{level}.svg"), view="forward", level=level, backend=backend)
        w.add(f"level_{level}.svg", _("the same network, --level {level}").format(level=level))


def _export(w: _Writer, samples: Path, backend: str) -> None:
    from . import output
    from .api import load

    g = load(samples / w.section.sample, name=w.section.sample)
    output.save(g, w.path("graph.json"))
    w.add("graph.json", _("the graph of operations as JSON (graphtrace render -o graph.json)"))
    output.save(g, w.path("graph.dot"))
    w.add("graph.dot", _("the same as Graphviz DOT (graphtrace render -o graph.dot)"))


def _language(w: _Writer, samples: Path, backend: str) -> None:
    from . import output
    from .api import load
    from .report import grad_table

    g = load(samples / "multiclass.gt", name="multiclass.gt")
    output.save(g, w.path("multiclass_arrays.svg"), view="forward", level="array", backend=backend)
    w.add("multiclass_arrays.svg", _("the 2-16-3 net with each vector and matrix folded into one node (--level array)"))
    m = load(samples / "micrograd.gt", name="micrograd.gt")
    report = m.check()
    w.write("micrograd.gt", (samples / "micrograd.gt").read_text(encoding="utf-8"),
            _("micrograd's README example as written there: += and .relu()"))
    w.write("micrograd_grad.txt", _table_text(grad_table(m, report)), _("its gradients three ways"))
    a, b = report.entries["a"], report.entries["b"]
    assert report.forward is not None
    w.note(_("micrograd's README example: g = {g}, ∂g/∂a = {da} ({na} paths), ∂g/∂b = {db} ({nb} paths), "
             "as micrograd prints").format(g=f"{float(report.forward.value):.4f}", da=f"{a.backprop:.4f}",
                                          na=a.n_paths, db=f"{b.backprop:.4f}", nb=b.n_paths))


def _symmetry(w: _Writer, samples: Path, backend: str) -> None:
    w.note(_("compare training_1.png (zeros: the three hidden units move together, one line) with "
             "training_2.png (random: three sides of the triangle)"))


_EXTRAS: dict[str, Callable[[_Writer, Path, str], None]] = {
    "collapse": _collapse, "levels": _levels, "export": _export, "symmetry": _symmetry, "language": _language,
}


def run_demo(folder: str | os.PathLike[str] = "graphtrace-demo", *, backend: str = "auto",
             sections: tuple[int, ...] | None = None,
             progress: Callable[[Section, int, int], None] | None = None,
             lang: str | None = None, jobs: int | None = None) -> DemoResult:
    """Reproduce every course section into ``folder`` and write its index.

    Args:
        folder: where to write (created if missing; existing files the demo does not name are left
            alone).
        backend: the Graphviz backend (``auto``, ``system``, ``bundled``).
        sections: only these section numbers (default: all).
        progress: called before each section with (section, position, total).
        lang: the language of every page, caption and note (``ru``, ``en``; default: the current
            one, see :mod:`graphtrace.i18n`). File names, scripts and JSON are the same in each.
        jobs: worker processes (default: the cores this process may use); 1 runs everything in
            this process. The files, captions and notes are the same for any number.
    """
    with use_language(lang):
        return _run_demo(folder, backend=backend, sections=sections, progress=progress, jobs=jobs)


def _run_demo(folder: str | os.PathLike[str], *, backend: str, sections: tuple[int, ...] | None,
              progress: Callable[[Section, int, int], None] | None, jobs: int | None = None) -> DemoResult:
    from .errors import OutputError
    from .files import atomic_write

    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise OutputError(_("cannot write the demo into '{path}': it is a file, not a folder").format(
            path=printable_path(out)))
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".graphtrace-write-test"
        probe.touch()  # a read-only folder fails here, before any section runs
        probe.unlink()
    except OSError as exc:
        raise OutputError(_("cannot write the demo into '{path}': {reason}").format(
                              path=printable_path(out), reason=(exc.strerror or str(exc)).lower()),
                          hint=_("choose a folder you can write to with -o DIR")) from None
    samples = samples_dir()
    result = DemoResult(out)
    chosen = [s for s in SECTIONS if sections is None or s.number in sections]
    plan = _plan(chosen)
    if jobs is None:
        jobs = _cores()
    parts = (_run_here if jobs <= 1 or len(plan) <= 1 else _run_pool)(
        plan, chosen, out, samples, backend, progress, max(1, min(jobs, len(plan))))
    for s in chosen:  # the serial run's order, whatever order the work finished in
        for key in sorted(k for k in parts if k[0] == s.number):
            files, notes = parts[key]
            if files:
                result.files.setdefault(s.number, []).extend(files)
            if notes:
                result.notes.setdefault(s.number, []).extend(notes)
    atomic_write(out / "index.html", _index_html(result, chosen))
    atomic_write(out / "README.md", _readme(result, chosen))
    result.index = out / "index.html"
    return result


# ---- the work, in parts that run in parallel processes -----------------------------------------
# A part is one section's drawings, tables and explorer page (slot 0), one training run (slot i,
# reported in every section that trains the same net the same way) or a section's extra step (the
# last slot). Each part writes its own files (atomically) and returns its captions and notes keyed
# by (section, slot); the parent puts them back in the serial order, so index.html, README.md and
# the notes do not depend on which part finished first.

Key = tuple[int, int]
Part = tuple[str, tuple[Any, ...]]  # ("section", (number,)), ("train", ((number, i), ...)), ("extra", (number,))

# Rough seconds of each part (measured on 2 cores), so the pool starts the longest first.
_COST = {"section": 1.0, "train": 2.0, "extra": 0.5}


def _plan(chosen: list[Section]) -> list[Part]:
    parts: list[Part] = []
    trains: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
    for s in chosen:
        parts.append(("section", (s.number,)))
        for i, (_label, sample, options) in enumerate(s.train, 1):
            trains.setdefault((sample, s.data, tuple(sorted(options.items()))), []).append((s.number, i))
        if s.extra:
            parts.append(("extra", (s.number,)))
    parts += [("train", tuple(runs)) for runs in trains.values()]
    return parts


def _slot(s: Section, kind: str, i: int = 0) -> Key:
    return (s.number, {"section": 0, "train": i, "extra": len(s.train) + 1}[kind])


def _do(part: Part, folder: Path, samples: Path, backend: str, lang: str | None = None) -> dict[Key, Any]:
    """Run one part; its files (relative names, captions) and notes by (section, slot)."""
    by_number = {s.number: s for s in SECTIONS}
    kind, what = part
    out: dict[Key, Any] = {}

    def writer(s: Section, key: Key) -> _Writer:
        r = DemoResult(folder)
        out[key] = r
        return _Writer(folder, r, s)

    with use_language(lang):
        if kind == "section":
            s = by_number[what[0]]
            _section(writer(s, _slot(s, kind)), samples, backend)
        elif kind == "extra":
            s = by_number[what[0]]
            _EXTRAS[s.extra or ""](writer(s, _slot(s, kind)), samples, backend)
        else:
            from .data import read_csv

            first = by_number[what[0][0]]
            _label, sample, options = first.train[what[0][1] - 1]
            data = read_csv(samples / first.data, name=first.data) if first.data else None
            targets = []
            for number, i in what:
                s = by_number[number]
                targets.append((writer(s, _slot(s, kind, i)), i, s.train[i - 1][0]))
            _train(targets, samples, sample, options, data)
    return {k: (r.files.get(k[0], []), r.notes.get(k[0], [])) for k, r in out.items()}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _run_here(plan: list[Part], chosen: list[Section], folder: Path, samples: Path, backend: str,
              progress: Callable[[Section, int, int], None] | None, jobs: int) -> dict[Key, Any]:
    """Every part in this process, section by section (``jobs=1``, or one part)."""
    parts: dict[Key, Any] = {}
    for k, s in enumerate(chosen):
        if progress is not None:
            progress(s, k, len(chosen))
        for part in plan:
            if part[0] == "train":
                if part[1][0][0] == s.number:  # a shared run goes with the first section that shows it
                    parts.update(_do(part, folder, samples, backend))
            elif part[1][0] == s.number:
                parts.update(_do(part, folder, samples, backend))
    return parts


def _serves(part: Part) -> set[int]:
    """The sections a part writes into."""
    return {n for n, _i in part[1]} if part[0] == "train" else {part[1][0]}


def _cost(part: Part) -> float:
    kind, what = part
    return _COST[kind] * (len(what) if kind == "train" else 1)


class _Stopped(BaseException):
    """A worker was told to stop (SIGTERM from the parent): unwinds its part like Ctrl-C, so no
    temporary file or Graphviz child is left."""


_busy = False


def _worker_start() -> None:
    import signal

    # Ctrl-C reaches the whole process group; the parent alone decides, and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _worker_signal)


def _worker_signal(signum: int, frame: Any) -> None:
    if _busy:
        raise _Stopped(signum)
    os._exit(128 + signum)  # idle between parts: nothing to clean up


def _work(part: Part, folder: Path, samples: Path, backend: str, lang: str) -> dict[Key, Any]:
    global _busy
    _busy = True
    try:
        return _do(part, folder, samples, backend, lang)
    finally:
        _busy = False


def _run_pool(plan: list[Part], chosen: list[Section], folder: Path, samples: Path, backend: str,
              progress: Callable[[Section, int, int], None] | None, jobs: int) -> dict[Key, Any]:
    """The parts in ``jobs`` worker processes, the longest first. On an error, Ctrl-C or SIGTERM
    the workers are stopped and waited for (each removes its temporary files) before it goes on up."""
    import concurrent.futures as cf
    import multiprocessing as mp

    # fork: the workers start with the modules already imported (a fresh interpreter would
    # import numpy, networkx and matplotlib again in each)
    context = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    left = {s.number: sum(1 for p in plan if s.number in _serves(p)) for s in chosen}
    parts: dict[Key, Any] = {}

    def report() -> None:
        if progress is None:
            return
        done = [s for s in chosen if not left[s.number]]
        running = next((s for s in chosen if left[s.number]), chosen[-1])
        progress(running, len(done), len(chosen))

    report()
    pool = cf.ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_start)
    try:
        pending = {pool.submit(_work, part, folder, samples, backend, language()): part
                   for part in sorted(plan, key=_cost, reverse=True)}
        for future in cf.as_completed(pending):
            parts.update(future.result())
            for number in _serves(pending[future]):
                left[number] -= 1
            report()
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()
    return parts


def _stop(pool: Any) -> None:
    """Stop the workers this pool started (by their ids) and wait for them to finish unwinding."""
    for future_process in list(getattr(pool, "_processes", {}).values()):
        if future_process.is_alive():
            future_process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def _index_html(result: DemoResult, sections: list[Section]) -> str:
    from .version import __version__

    def e(text: str) -> str:
        return html.escape(xml_safe(text))

    parts = [
        f"<!doctype html>\n<html lang=\"{language()}\"><head><meta charset=\"utf-8\">",
        "<title>" + e(_("graphtrace demo: the course, section by section")) + "</title>",
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
        "h2{border-top:1px solid #ddd;padding-top:1em}figure{margin:1em 0}img{max-width:100%;border:1px solid #eee}"
        "code{background:#f4f4f4;padding:0 .2em}ul.files li{margin:.1em 0}.note{color:#555}</style></head><body>",
        "<h1>" + e(_("graphtrace demo")) + "</h1>",
        "<p>" + e(_("Every section of the course reproduced by graphtrace {version}: the script, its forward "
                    "and backward diagrams, the gradients three ways (sum over paths, backprop, finite "
                    "differences), the paths, training runs and an interactive explorer page. Regenerate "
                    "with {command}.")).format(version=e(__version__), command=f"<code>{e(_demo_command())}</code>")
        + "</p><ol>",
    ]
    for s in sections:
        parts.append(f'<li><a href="#s{s.number}">§{s.number} {e(_(s.title))}</a></li>')
    parts.append("</ol>")
    for s in sections:
        parts.append(f'<h2 id="s{s.number}">§{s.number} {e(_(s.title))}</h2><p>{e(_(s.text))}</p>')
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


def _demo_command() -> str:
    """The command that writes this demo again, in its language."""
    return "graphtrace demo" + (f" --lang {language()}" if language() != "en" else "")


def _readme(result: DemoResult, sections: list[Section]) -> str:
    lines = ["# " + _("graphtrace demo"), "",
             _("Every section of the course, reproduced by `{command}`. Open `index.html` in a browser for "
               "the pictures.").format(command=_demo_command()), ""]
    for s in sections:
        lines += [f"## §{s.number} {_(s.title)}", "", _(s.text), ""]
        lines += [f"- {note}" for note in result.notes.get(s.number, [])]
        if result.notes.get(s.number):
            lines.append("")
        lines += [f"- [`{name}`]({name}): {caption}" for name, caption in result.files.get(s.number, [])]
        lines.append("")
    return "\n".join(lines)
