"""The house's rules, checked on the source: layers, no import circles, one op registry, one decider.

These read the package's own files with ``ast`` (nothing is imported or run), so a change that
breaks a rule fails here with the file and line, before anyone has to notice it in a picture.
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import networkx as nx
import pytest
from helpers import run_main

import graphtrace
from graphtrace.ops import FUNCTIONS, OPS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "graphtrace"

# Lowest first. A module may import modules of its own layer or of a lower one, never a higher one.
LAYERS: list[tuple[str, set[str]]] = [
    ("ground", {"errors", "ops", "text", "version", "i18n", "click_texts"}),
    ("core", {"parse", "graph", "evaluate", "backprop", "paths", "engine", "compute", "check", "results",
              "layers"}),
    ("input and output", {"data", "files", "render", "bundled", "placement", "pdf"}),
    ("presentation", {"dot", "report", "explorer", "steps", "tikz"}),
    ("output formats", {"output", "slides"}),
    ("library face", {"api", "__init__", "trace", "trace_nn", "trace_run", "torch_bridge"}),
    ("the course", {"network", "training", "quiz"}),
    ("commands", {"demo", "cli", "__main__"}),
]
RANK = {module: i for i, (_, modules) in enumerate(LAYERS) for module in modules}


def _modules() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PACKAGE.glob("*.py"))}


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every graphtrace module ``path`` imports (at any depth: lazy imports count too), with lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1 or base.startswith("graphtrace"):
                base = base.removeprefix("graphtrace").lstrip(".")
                if base:
                    found.append((base.split(".")[0], node.lineno))
                else:  # from . import x, y: each name may be a module
                    found.extend((a.name, node.lineno) for a in node.names if (PACKAGE / f"{a.name}.py").exists())
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("graphtrace."):
                    found.append((a.name.split(".")[1], node.lineno))
    return found


def test_every_module_has_a_layer() -> None:
    assert set(_modules()) == set(RANK), "add new modules to LAYERS here and to the README's design section"


def test_imports_never_run_up_the_layers() -> None:
    bad = []
    for name, path in _modules().items():
        for target, line in _imports(path):
            if target in RANK and RANK[target] > RANK[name]:
                bad.append(f"graphtrace/{name}.py:{line}: {name} ({LAYERS[RANK[name]][0]}) imports "
                           f"{target} ({LAYERS[RANK[target]][0]})")
    assert not bad, "\n".join(bad)


def test_no_import_circles() -> None:
    g = nx.DiGraph()
    for name, path in _modules().items():
        g.add_node(name)
        for target, _ in _imports(path):
            if target != name and target in RANK:
                g.add_edge(name, target)
    assert list(nx.simple_cycles(g)) == []


_OP_NAMES = set(OPS)


def _strings(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_strings(e) for e in node.elts)) if node.elts else set()
    return set()


def test_no_module_outside_the_registry_decides_by_an_op_name() -> None:
    bad = []
    for name, path in _modules().items():
        if name == "ops":
            continue
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            named = set().union(*(_strings(s) for s in sides)) & _OP_NAMES
            about_ops = any(re.search(r"\bop\b|\.name\b", ast.get_source_segment(source, s) or "") for s in sides)
            if named and about_ops:
                bad.append(f"graphtrace/{name}.py:{node.lineno}: {ast.get_source_segment(source, node)}")
    assert not bad, "make it a field of the op record:\n" + "\n".join(bad)


def test_the_readme_lists_exactly_the_registrys_functions() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("| function | value | local derivative |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(re.match(r"\| `(\w+)\(", line).group(1))
    assert rows == list(FUNCTIONS)


def test_one_module_decides_engine_or_reference() -> None:
    # Only compute.py compiles-or-not: nobody else reads the decision's inputs or calls the reference
    # evaluator, backprop or path program for a result (the reference modules and tests do).
    bad = []
    for name, path in _modules().items():
        if name in {"compute", "engine", "evaluate", "backprop", "paths"}:
            continue
        source = path.read_text(encoding="utf-8")
        for pattern in (r"\bWIDE\b", r"\.n_groups\b", r"from \.evaluate import .*\bevaluate\b",
                        r"from \.backprop import", r"\bcompile_graph\(", r"_paths\.(sum_over_paths|top_paths|count_paths)"):
            for m in re.finditer(pattern, source):
                line = source.count("\n", 0, m.start()) + 1
                bad.append(f"graphtrace/{name}.py:{line}: {m.group(0)}")
    assert not bad, "ask graphtrace.compute instead:\n" + "\n".join(bad)


# ---- tan: one record and one README row, working everywhere ------------------------------------------
TAN = "x: param = 0.3\nw: param = -1.2\nL = tan(w*x) + x*tan(x)"


def _tan_grads(x: float, w: float) -> dict[str, float]:
    sec2 = lambda t: 1 + math.tan(t) ** 2  # noqa: E731
    return {"x": w * sec2(w * x) + math.tan(x) + x * sec2(x), "w": x * sec2(w * x)}


def test_tan_in_grad_check_and_paths() -> None:
    code, out, err = run_main(["grad", "-e", TAN, "--json"])
    assert code == 0, err
    doc = json.loads(out)
    want = _tan_grads(0.3, -1.2)
    for name, g in doc["gradients"].items():
        assert g["paths"] == pytest.approx(want[name], rel=1e-12)
        assert g["backprop"] == pytest.approx(want[name], rel=1e-12)
        assert g["numeric"] == pytest.approx(want[name], rel=1e-8)
    assert doc["gradients"]["x"]["n_paths"] == 3
    assert run_main(["check", "-e", TAN])[0] == 0
    code, out, err = run_main(["paths", "-e", TAN, "--wrt", "x", "--json"])
    assert code == 0, err
    assert json.loads(out)["total"] == pytest.approx(want["x"], rel=1e-12)


def test_tan_in_drawings_and_the_explorer(tmp_path: Path) -> None:
    g = graphtrace.parse(TAN)
    text = g.to_dot(view="backward", symbolic=True)
    assert "tan" in text and "1+tan²" in text
    out = tmp_path / "tan.html"
    code, _, err = run_main(["render", "-e", TAN, "-o", str(out)])
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert '"tan": { f: function (a, b) { return Math.tan(a); }' in page
