"""Quiz: worksheets from a graph (values, local derivatives, gradients, path products to fill in),
one variant per student, an answer key, and grading with a diagnosis of wrong gradients.

A quiz is built from a graph and a seed: the cells to blank are chosen once for the class (same
questions, numbered 1…N), and each student's variant gives the inputs and params other values drawn
from the seed, so no two students copy one answer. The key (``--key key.json``) holds every
student's values and answers, and for each gradient question what is needed to say what went wrong:
the products of its paths and, per edge on them, the sum of the products of the paths through it.
:func:`grade` marks answers right within a tolerance and, for a wrong gradient, names the likely
mistake when one explanation fits and no other does: a missed path, a path counted twice, only one
path counted, a flipped sign, or one local derivative with the wrong sign.

Formats (documented in the README): the key and the sheet are JSON (``graphtrace-quiz-key/1``,
``graphtrace-quiz-sheet/1``); answers are JSON (``graphtrace-quiz-answers/1``) or CSV with a
``student`` column and one column per question number.
"""

from __future__ import annotations

__all__ = ["ASK", "Quiz", "Question", "make_quiz", "random_script", "key_document", "sheet_document",
           "read_answers", "read_key", "grade", "Grade", "write_sheet"]

import csv
import dataclasses
import html
import io
import json
import math
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import compute
from .api import Graph, parse
from .dot import Drawing, display_name, draw
from .errors import DataError, EvaluationError, GraphtraceError, UsageError
from .files import atomic_write
from .i18n import _, language
from .ops import OPS
from .text import dumps, fmt, parenthesise

ASK: tuple[str, ...] = ("values", "locals", "grads", "paths")
"""What a quiz can ask for: operation values, local derivatives on edges, gradients ∂L/∂node,
and the products of the paths from each param to the output."""

KEY_FORMAT = "graphtrace-quiz-key/1"
SHEET_FORMAT = "graphtrace-quiz-sheet/1"
ANSWERS_FORMAT = "graphtrace-quiz-answers/1"
REL_TOL = 0.01
ABS_TOL = 0.001
MAX_PATHS_ASKED = 8  # paths of one param listed as questions; more would be a chore, not an exercise
_MAX_EXPLAINED_PATHS = 64
_AST_SYMBOLS = {"Add": "+", "Sub": "-", "Mult": "*", "Div": "/", "Pow": "**"}


@dataclass(frozen=True)
class Question:
    """One cell to fill in: ``kind`` (value, local, grad, path) and what it is about."""

    id: int
    kind: str
    node: Any = None
    edge: tuple[Any, Any, int] | None = None
    path: tuple[Any, ...] | None = None
    index: int | None = None  # a path's place among its wrt's paths (x*x has two with the same nodes)

    def as_json(self, names: Mapping[Any, str] | None = None, output: Any = None) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "kind": self.kind, "text": self.text(names, output)}
        if self.node is not None:
            d["node"] = str(self.node)
        if self.edge is not None:
            d["tail"], d["head"], d["slot"] = str(self.edge[0]), str(self.edge[1]), self.edge[2]
        if self.path is not None:
            d["path"] = [str(v) for v in self.path]
        return d

    def text(self, names: Mapping[Any, str] | None = None, output: Any = None) -> str:
        """The question in words, nodes named as the explorer names them (``α·x1``, ``log(z)``)."""
        def name(v: Any) -> str:
            return names.get(v, display_name(v)) if names else display_name(v)

        if self.kind == "value":
            return _("the value of {node}").format(node=name(self.node))
        if self.kind == "local":
            assert self.edge is not None
            return _("the local derivative ∂{head}/∂{tail}").format(head=parenthesise(name(self.edge[1])),
                                                                     tail=parenthesise(name(self.edge[0])))
        if self.kind == "grad":
            return _("the gradient ∂{out}/∂{node}").format(out=name(output) if output is not None else "L",
                                                           node=parenthesise(name(self.node)))
        assert self.path is not None
        return _("the product of the local derivatives along the path {path}").format(
            path=" → ".join(name(v) for v in self.path))


@dataclass
class Variant:
    """One student's version: the values given, and the key (answers and what explains them)."""

    student: str
    values: dict[str, float]
    answers: dict[int, float]
    explain: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Quiz:
    """A worksheet for a class: the graph, the questions, one variant per student."""

    graph: Graph
    questions: list[Question]
    variants: list[Variant]
    seed: int
    ask: tuple[str, ...]
    blank: float
    names: dict[Any, str] = field(default_factory=dict)

    def text(self, q: Question) -> str:
        return q.text(self.names, self.graph.output)


def _drawn_name(g: Any, v: Any) -> bool:
    return g.nodes[v].get("kind") != "const"


def _candidates(graph: Graph, ask: Sequence[str], fwd: Any) -> list[Question]:
    """Every cell the quiz could blank, in the graph's order (numbered later)."""
    g = graph.core
    order = graph.order
    out: list[Question] = []
    if "values" in ask:
        out += [Question(0, "value", node=v) for v in order if g.nodes[v].get("kind") == "op"]
    if "locals" in ask:
        for (u, v, k) in fwd.locals:
            if _drawn_name(g, u):
                out.append(Question(0, "local", edge=(u, v, k)))
    if "grads" in ask:
        out += [Question(0, "grad", node=v) for v in order if _drawn_name(g, v) and v != graph.output]
    if "paths" in ask:
        from .paths import enumerate_paths

        for p in graph.params or graph.inputs:
            if compute.count_paths(g, p, graph.output) > MAX_PATHS_ASKED:
                continue
            for i, path in enumerate(enumerate_paths(g, fwd, p, graph.output, max_paths=MAX_PATHS_ASKED)):
                out.append(Question(0, "path", path=tuple(path.nodes), node=p, index=i))
    return out


def _label_like(value: float) -> bool:
    return float(value).is_integer() and value in (0.0, 1.0)


def _variant_values(graph: Graph, rng: random.Random, first: bool) -> dict[Any, float]:
    """The inputs' and params' values for one student: the script's own for the first, then drawn
    (one decimal, in −2…2) for every leaf except 0/1 labels; retried until every value is finite."""
    leaves = [v for v in graph.order if graph.core.nodes[v].get("kind") in ("input", "param")]
    base = {v: float(graph.core.nodes[v]["value"]) for v in leaves}
    if first:
        return base
    for _try in range(200):
        values = {v: (x if _label_like(x) else round(rng.uniform(-2, 2), 1) or 0.5) for v, x in base.items()}
        try:
            fwd = graph.forward(values)
        except (EvaluationError, GraphtraceError):
            continue
        if all(math.isfinite(float(x)) for x in fwd.values.values()):
            return values
    return base


def _explain(graph: Graph, fwd: Any, grads: Mapping[Any, Any], node: Any) -> dict[str, Any]:
    """What explains ∂out/∂node: its paths' products (when few) and, per edge on its paths, the local
    derivative and the sum of the products of the paths through that edge."""
    g = graph.core
    out = graph.output
    info: dict[str, Any] = {}
    n = compute.count_paths(g, node, out)
    if 0 < n <= _MAX_EXPLAINED_PATHS:
        from .paths import enumerate_paths

        info["paths"] = [{"nodes": [str(v) for v in p.nodes], "product": float(p.product)}
                         for p in enumerate_paths(g, fwd, node, out, max_paths=_MAX_EXPLAINED_PATHS)]
    on = set(compute.between(g, node, out))
    edges = []
    for (u, v, k), local in fwd.locals.items():
        if u in on and v in on:
            to_tail = float(compute.sum_over_paths(g, fwd, node, u)) if u != node else 1.0
            through = to_tail * float(local) * float(grads[v])
            edges.append({"tail": str(u), "head": str(v), "slot": k, "local": float(local), "through": through})
    info["edges"] = edges
    return info


def make_quiz(graph: Graph, *, ask: Sequence[str] = ASK, blank: float = 0.5, seed: int = 0,
              students: int = 1) -> Quiz:
    """A quiz for ``graph``: the cells of the kinds in ``ask``, a ``blank`` share of them chosen
    (seeded) as questions, and ``students`` variants (the first with the script's own values).

    >>> from graphtrace import parse
    >>> q = make_quiz(parse("w: param = 2\\nx: input = 3\\nL = w*x"), ask=["grads"], blank=1, students=2)
    >>> [(x.kind, str(x.node)) for x in q.questions], [v.answers[1] for v in q.variants][:1]
    ([('grad', 'w'), ('grad', 'x')], [3.0])
    """
    bad = [a for a in ask if a not in ASK]
    if bad or not ask:
        raise UsageError(_("--ask {what}: choose from {choices}").format(what=",".join(bad) or _("(nothing)"),
                                                                          choices=", ".join(ASK)))
    if not 0 < blank <= 1:
        raise UsageError(_("--blank {blank}: give a share of the cells between 0 (excluded) and 1").format(blank=blank))
    if not 1 <= students <= 1000:
        raise UsageError(_("--students {n}: give between 1 and 1000").format(n=students))
    if len(graph.order) > 400:
        raise UsageError(_("{n} nodes are too many for a worksheet (at most 400)").format(n=len(graph.order)),
                         hint=_("draw a part with --of NAME, or generate a small one with --random"))
    rng = random.Random(f"graphtrace-quiz:{seed}")
    fwd0 = graph.forward()
    cells = _candidates(graph, ask, fwd0)
    if not cells:
        raise UsageError(_("this graph has nothing of the kinds asked for ({ask})").format(ask=",".join(ask)))
    n = max(1, round(blank * len(cells)))
    chosen = sorted(rng.sample(range(len(cells)), n))
    questions = [dataclasses.replace(cells[i], id=k) for k, i in enumerate(chosen, 1)]
    variants = []
    width = max(2, len(str(students)))
    for s in range(students):
        values = _variant_values(graph, random.Random(f"graphtrace-quiz:{seed}:{s}"), s == 0)
        fwd = graph.forward(values)
        grads = graph.backprop(forward=fwd)
        answers: dict[int, float] = {}
        explain: dict[int, dict[str, Any]] = {}
        for q in questions:
            if q.kind == "value":
                answers[q.id] = float(fwd.values[q.node])
            elif q.kind == "local":
                assert q.edge is not None  # a local question names its edge
                answers[q.id] = float(fwd.locals[q.edge])
            elif q.kind == "grad":
                answers[q.id] = float(grads[q.node])
                explain[q.id] = _explain(graph, fwd, grads, q.node)
            else:
                from .paths import enumerate_paths

                assert q.index is not None
                listed = enumerate_paths(graph.core, fwd, q.node, graph.output, max_paths=MAX_PATHS_ASKED)
                answers[q.id] = float(listed[q.index].product)
        variants.append(Variant(f"s{s + 1:0{width}d}", {str(k): float(x) for k, x in values.items()}, answers, explain))
    from .explorer import build_model

    model = build_model(graph, graph.analyse())
    names = {v: model["nodes"][i]["disp"] for i, v in enumerate(graph.order)}
    return Quiz(graph, questions, variants, seed, tuple(ask), blank, names)


def random_script(*, ops: Sequence[str] = ("add", "mul", "sigmoid", "tanh"), depth: int = 3, seed: int = 0) -> str:
    """A fresh small expression for practice: a tree of ``depth`` levels of ``ops`` over the leaves
    w1, w2 (params) and x1, x2 (inputs), those it uses declared, seeded, whose value is finite.

    >>> print(random_script(ops=["add", "mul"], depth=2, seed=1).splitlines()[-1])
    L = (w1 * w1) + (w1 + x2)
    """
    unknown = [o for o in ops if o not in OPS]
    if unknown:
        raise UsageError(_("--ops: unknown op '{op}'").format(op=unknown[0]), hint=", ".join(OPS))
    usable = [OPS[o] for o in ops if OPS[o].arity in (1, 2) and (OPS[o].function or OPS[o].syntax in _AST_SYMBOLS
                                                                 or OPS[o].prefix)]
    if not usable:
        raise UsageError(_("--ops: none of these ops can build an expression: {ops}").format(ops=",".join(ops)))
    if not 1 <= depth <= 5:
        raise UsageError(_("--depth {depth}: give between 1 and 5").format(depth=depth))
    rng = random.Random(f"graphtrace-quiz-random:{seed}")
    leaves = ["w1", "w2", "x1", "x2"]

    def expr(d: int) -> str:
        if d == 0:
            return rng.choice(leaves)
        op = rng.choice(usable)
        args = [expr(d - 1 if i == 0 or rng.random() < 0.7 else 0) for i in range(op.arity)]
        if op.function:
            return f"{op.name}({', '.join(args)})"
        if op.arity == 1:
            return f"-{_wrap(args[0])}"
        return f"{_wrap(args[0])} {_AST_SYMBOLS[str(op.syntax)]} {_wrap(args[1])}"

    for _try in range(200):
        body = expr(depth)
        used = [v for v in leaves if re.search(rf"\b{v}\b", body)]
        if not any(v.startswith("w") for v in used):
            continue
        text = "".join(f"{v}: {'param' if v.startswith('w') else 'input'} = {round(rng.uniform(-2, 2), 1) or 0.5}\n"
                       for v in used) + f"L = {body}\n"
        try:
            g = parse(text, name="random.gt")
            fwd = g.forward()
        except GraphtraceError:
            continue
        if all(math.isfinite(float(x)) for x in fwd.values.values()) and g.params:
            return text
    raise UsageError(_("could not build a finite expression from these ops"), hint=_("add ops such as add or mul"))


def _wrap(s: str) -> str:
    return parenthesise(s.replace("*", "·")).replace("·", "*")


# ---- documents ----------------------------------------------------------------------------------
def key_document(quiz: Quiz) -> dict[str, Any]:
    """The answer key as JSON: questions, and per student the values given, the answers, and what
    explains each gradient (for :func:`grade`'s diagnosis)."""
    g = quiz.graph
    return {
        "format": KEY_FORMAT,
        "title": os.path.basename(g.name),
        "output": str(g.output),
        "script": g.source.text if g.source is not None else None,
        "seed": quiz.seed, "ask": list(quiz.ask), "blank": quiz.blank,
        "tolerance": {"rel": REL_TOL, "abs": ABS_TOL},
        "questions": [q.as_json(quiz.names, g.output) for q in quiz.questions],
        "names": {str(k): v for k, v in quiz.names.items()},
        "students": [{"student": v.student, "values": v.values,
                      "answers": {str(k): x for k, x in v.answers.items()},
                      "explain": {str(k): e for k, e in v.explain.items()}} for v in quiz.variants],
    }


def sheet_document(quiz: Quiz) -> dict[str, Any]:
    """The worksheet as JSON: the questions and each student's given values, no answers."""
    return {"format": SHEET_FORMAT, "title": os.path.basename(quiz.graph.name), "output": str(quiz.graph.output),
            "questions": [q.as_json(quiz.names, quiz.graph.output) for q in quiz.questions],
            "students": [{"student": v.student, "values": v.values} for v in quiz.variants]}


def read_key(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an answer key written by ``graphtrace quiz --key``."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as exc:
        raise DataError(_("cannot read the key {path}: {why}").format(path=os.fspath(path), why=exc.strerror)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(_("{path} is not a JSON answer key: {why}").format(path=os.fspath(path), why=exc)) from None
    if not isinstance(doc, dict) or doc.get("format") != KEY_FORMAT:
        raise DataError(_("{path} is not an answer key (its \"format\" is not {fmt})").format(
            path=os.fspath(path), fmt=KEY_FORMAT))
    return doc


def _number(raw: Any, where: str) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise DataError(_("{where}: '{raw}' is not a number").format(where=where, raw=raw))
    try:
        x = float(str(raw).strip().replace("−", "-").replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise DataError(_("{where}: '{raw}' is not a number").format(where=where, raw=raw)) from None
    if not math.isfinite(x):
        raise DataError(_("{where}: '{raw}' is not a finite number").format(where=where, raw=raw))
    return x


def read_answers(path: str | os.PathLike[str]) -> dict[str, dict[str, float | None]]:
    """Students' answers by student and question number, from JSON or CSV (see the README).

    JSON: ``{"format": "graphtrace-quiz-answers/1", "students": [{"student": "s01", "answers":
    {"1": 0.75, …}}, …]}`` (an answer key is read the same way). CSV: a header ``student,1,2,…`` and
    one row per student; an empty cell is no answer; ``−`` and a decimal comma are accepted.
    """
    p = os.fspath(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except OSError as exc:
        raise DataError(_("cannot read the answers {path}: {why}").format(path=p, why=exc.strerror)) from None
    except UnicodeDecodeError:
        raise DataError(_("{path} is not UTF-8 text").format(path=p)) from None
    out: dict[str, dict[str, float | None]] = {}
    if p.lower().endswith(".json"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(_("{path}:{line}: not JSON: {why}").format(path=p, line=exc.lineno, why=exc.msg)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("students"), list):
            raise DataError(_("{path}: expected {{\"students\": [{{\"student\": …, \"answers\": {{…}}}}]}}").format(path=p))
        for i, entry in enumerate(doc["students"], 1):
            if not isinstance(entry, dict) or "student" not in entry or not isinstance(entry.get("answers"), dict):
                raise DataError(_("{path}: student entry {i} needs \"student\" and \"answers\"").format(path=p, i=i))
            name = str(entry["student"])
            out[name] = {str(k): _number(v, f"{p}: {name}, question {k}") for k, v in entry["answers"].items()}
        return out
    if not p.lower().endswith(".csv"):
        raise UsageError(_("answers must be a .json or .csv file, not {path}").format(path=p))
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not rows[0] or rows[0][0].strip().lower() != "student":
        raise DataError(_("{path}:1: the first column must be 'student', then one column per question number").format(path=p))
    header = [h.strip() for h in rows[0]]
    for r, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        name = row[0].strip()
        if not name:
            raise DataError(_("{path}:{line}: no student name").format(path=p, line=r))
        out[name] = {header[c]: _number(row[c], f"{p}:{r}: question {header[c]}") for c in range(1, min(len(row), len(header)))}
    return out


# ---- grading -------------------------------------------------------------------------------------
@dataclass
class Mark:
    """One answer marked: right or wrong, the key's value, and for a wrong one the likely mistake."""

    question: int
    given: float | None
    expected: float
    right: bool
    diagnosis: str | None = None


@dataclass
class Grade:
    """One student's marks and score."""

    student: str
    marks: list[Mark]

    @property
    def score(self) -> int:
        return sum(m.right for m in self.marks)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / len(self.marks) if self.marks else 0.0


def _close(a: float, b: float, tol: Mapping[str, float]) -> bool:
    return abs(a - b) <= max(float(tol.get("abs", ABS_TOL)), float(tol.get("rel", REL_TOL)) * abs(b))


def diagnose(given: float, expected: float, explain: Mapping[str, Any], tol: Mapping[str, float],
             names: Mapping[str, str] | None = None) -> str | None:
    """The likely mistake behind a wrong gradient, when exactly one explanation fits.

    >>> ex = {"paths": [{"nodes": ["a", "b", "L"], "product": 2.0}, {"nodes": ["a", "L"], "product": 3.0}]}
    >>> diagnose(3.0, 5.0, ex, {"rel": 0.01, "abs": 0.001})
    'missed the path a → b → L (product 2)'
    """
    def arrow(nodes: Sequence[str]) -> str:
        return " → ".join((names or {}).get(v, display_name(v)) for v in nodes)

    def name(v: str) -> str:
        return parenthesise((names or {}).get(v, display_name(v)))

    found: list[str] = []
    flipped = abs(expected) > 0 and _close(given, -expected, tol)
    if flipped:
        found.append(_("the sign is flipped"))
    paths = explain.get("paths") or []
    for p in paths:
        prod = float(p["product"])
        if abs(prod) > 0 and _close(given, expected - prod, tol):
            found.append(_("missed the path {path} (product {p})").format(path=arrow(p["nodes"]), p=fmt(prod)))
        if abs(prod) > 0 and _close(given, expected + prod, tol):
            found.append(_("counted the path {path} twice (product {p})").format(path=arrow(p["nodes"]), p=fmt(prod)))
    if len(paths) > 2:  # with two paths, counting only one is missing the other (said above)
        for p in paths:
            if _close(given, float(p["product"]), tol) and not _close(given, expected, tol):
                found.append(_("counted only the path {path}").format(path=arrow(p["nodes"])))
    for e in explain.get("edges") or []:
        through = float(e["through"])
        if flipped and _close(through, expected, tol):
            continue  # every path crosses this edge: its sign and the whole sign look the same
        if abs(through) > 0 and _close(given, expected - 2 * through, tol):
            found.append(_("the local derivative ∂{head}/∂{tail} has the wrong sign").format(
                head=name(e["head"]), tail=name(e["tail"])))
    unique = list(dict.fromkeys(found))
    return unique[0] if len(unique) == 1 else None


def grade(key: Mapping[str, Any], answers: Mapping[str, Mapping[str, float | None]]) -> list[Grade]:
    """Mark every student's answers against the key (within its tolerance), in the answers' order.

    Raises:
        DataError: a student of the answers is not in the key.
    """
    tol = key.get("tolerance") or {"rel": REL_TOL, "abs": ABS_TOL}
    by_student = {str(s["student"]): s for s in key.get("students", [])}
    kinds = {str(q["id"]): q["kind"] for q in key.get("questions", [])}
    grades = []
    for name, given in answers.items():
        if name not in by_student:
            raise DataError(_("student '{name}' is not in the key (it has {some})").format(
                name=name, some=", ".join(list(by_student)[:5]) + (", …" if len(by_student) > 5 else "")))
        entry = by_student[name]
        unknown = [q for q in given if q not in kinds]
        if unknown:
            raise DataError(_("student '{name}': there is no question {q} in the key").format(name=name, q=unknown[0]))
        marks = []
        for qid, kind in kinds.items():
            expected = float(entry["answers"][qid])
            a = given.get(qid)
            right = a is not None and _close(a, expected, tol)
            why = None
            if not right and a is not None:
                if kind == "grad":
                    why = diagnose(a, expected, entry.get("explain", {}).get(qid, {}), tol, key.get("names"))
                elif abs(expected) > 0 and _close(a, -expected, tol):
                    why = _("the sign is flipped")
            marks.append(Mark(int(qid), a, expected, right, why))
        grades.append(Grade(name, marks))
    return grades


# ---- worksheets ------------------------------------------------------------------------------------
def _blank_drawing(quiz: Quiz, variant: Variant, base_options: Mapping[str, Any]) -> Drawing:
    """The drawing of a student's variant with the questions' cells replaced by their numbers."""
    g = quiz.graph
    results = g.analyse({k: v for k, v in variant.values.items()})
    drawing = draw(g, results, level="scalar", legend=False, **base_options)
    by_node: dict[Any, Any] = {}
    by_edge: dict[Any, Any] = {}
    for q in quiz.questions:
        if q.kind in ("value", "grad"):
            by_node.setdefault(q.node, {})[q.kind] = q.id
        elif q.kind == "local":
            assert q.edge is not None
            by_edge[q.edge] = q.id
    nodes = []
    for n in drawing.nodes:
        asked = by_node.get(n.key, {})
        lines = []
        for text, colour in n.lines:
            if text.startswith("= ") and "value" in asked:
                lines.append((f"= [{asked['value']}]", colour))
            elif " = " in text and colour and "grad" in asked:
                lines.append((f"{text.rsplit(' = ', 1)[0]} = [{asked['grad']}]", colour))
            else:
                lines.append((text, colour))
        nodes.append(dataclasses.replace(n, lines=lines))
    edges = []
    for e in drawing.edges:
        qid = by_edge.get(e.members[0]) if len(e.members) == 1 else None
        edges.append(dataclasses.replace(e, label=f"[{qid}]" if qid is not None else e.label))
    return dataclasses.replace(drawing, nodes=nodes, edges=edges)


def _view_options(ask: Sequence[str]) -> dict[str, Any]:
    # values are always shown; local derivatives when anything backward is asked; gradients when asked
    if "grads" in ask:
        return {"view": "both"}
    if "locals" in ask or "paths" in ask:
        return {"view": "both"}
    return {"view": "forward"}


def _given_line(variant: Variant) -> str:
    return ", ".join(f"{display_name(k)} = {fmt(v)}" for k, v in variant.values.items())


def _rows(quiz: Quiz, variant: Variant) -> list[tuple[str, str]]:
    title = _("Worksheet {student}: {title}").format(student=variant.student, title=os.path.basename(quiz.graph.name))
    rows = [("phase", title), ("text", _("Given: {values}").format(values=_given_line(variant))),
            ("text", _("Fill in each numbered cell (4 significant digits):"))]
    rows += [("formula", f"[{q.id}]  {quiz.text(q)} = ________") for q in quiz.questions]
    return rows


def write_sheet(quiz: Quiz, out: str | os.PathLike[str], *, backend: str = "auto",
                timeout: float | None = None) -> str | None:
    """Write the worksheet (one section or page per student) by ``out``'s extension: .html, .md,
    .pdf or .json. Returns a note (for a PDF: whether its pages are vector or pictures)."""
    from .render import layout
    from .slides import captioned_pages, pdf_document

    path = os.fspath(out)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".json":
        atomic_write(path, dumps(sheet_document(quiz)) + "\n")
        return None
    if ext == ".md":
        parts = [f"# {_('Worksheet: {title}').format(title=os.path.basename(quiz.graph.name))}", ""]
        if quiz.graph.source is not None:
            parts += ["```python", quiz.graph.source.text.strip(), "```", ""]
        for v in quiz.variants:
            parts += [f"## {v.student}", "", _("Given: {values}").format(values=_given_line(v)), "",
                      "| # | " + _("question") + " | " + _("answer") + " |", "|---|---|---|"]
            parts += [f"| {q.id} | {quiz.text(q)} | |" for q in quiz.questions]
            parts.append("")
        atomic_write(path, "\n".join(parts))
        return None
    if ext not in (".html", ".pdf"):
        raise UsageError(_("cannot write a worksheet to '{path}': use .html, .md, .pdf or .json").format(path=path))
    options = _view_options(quiz.ask)
    base = draw(quiz.graph, quiz.graph.analyse(), level="scalar", legend=False, **options)
    drawings: list[tuple[Any, dict[str, Any]]] = [(_blank_drawing(quiz, v, options), {}) for v in quiz.variants]
    if ext == ".pdf":
        sheets = [_rows(quiz, v) for v in quiz.variants]
        dots, _placement, size = captioned_pages(base, drawings, sheets, backend=backend, timeout=timeout)
        data, pages, note = pdf_document(dots, size, backend=backend, timeout=timeout)
        atomic_write(path, data)
        return note or _("{n} pages, {kind}").format(n=len(dots), kind=pages)
    svgs = [layout(d.dot(), "svg", backend=backend, timeout=timeout).decode("utf-8") for d, _c in drawings]
    title = html.escape(_("Worksheet: {title}").format(title=os.path.basename(quiz.graph.name)))
    body = []
    for v, svg in zip(quiz.variants, svgs, strict=True):
        svg = svg[svg.find("<svg"):]
        rows = "".join(f"<tr><td>[{q.id}]</td><td>{html.escape(quiz.text(q))}</td><td class=\"blank\"></td></tr>"
                       for q in quiz.questions)
        body.append(f'<section class="sheet"><h2>{html.escape(v.student)}</h2>'
                    f"<p>{html.escape(_('Given: {values}').format(values=_given_line(v)))}</p>"
                    f'<div class="drawing">{svg}</div><table><thead><tr><th>#</th><th>{html.escape(_("question"))}'
                    f'</th><th>{html.escape(_("answer"))}</th></tr></thead><tbody>{rows}</tbody></table></section>')
    page = (f"<!DOCTYPE html>\n<html lang=\"{language()}\"><head><meta charset=\"utf-8\"><title>" + title + "</title><style>"
            "body{font:14px/1.4 system-ui,sans-serif;margin:24px}section.sheet{page-break-after:always;margin-bottom:40px}"
            ".drawing svg{max-width:100%;height:auto}table{border-collapse:collapse}td,th{border:1px solid #999;"
            "padding:4px 8px;text-align:left}td.blank{width:10em}</style></head><body><h1>" + title + "</h1>"
            + "".join(body) + "</body></html>\n")
    atomic_write(path, page)
    return None
