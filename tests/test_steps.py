"""`graphtrace steps`: the explorer's steps as frames, GIF, animated PNG/SVG and a PDF handout.

The step list and its sentences are defined once (graphtrace/steps.py); the page's JavaScript fills
in the same list, and a test runs it under node and compares every line with Python's. Frame
counts are checked against counts made here from the graph itself, positions across frames against
each other, and numbers against `grad --json`.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import SAMPLES, RandomPicker, assert_clean_error, random_script, run_main

import graphtrace
from graphtrace import explorer
from graphtrace.steps import show_number, show_step, states

NEURON = SAMPLES / "neuron.gt"
JS = Path(explorer.__file__).parent / "explorer_assets" / "explorer.js"
NODE = shutil.which("node")
PDFINFO = shutil.which("pdfinfo")
PDFTOTEXT = shutil.which("pdftotext")
SYSTEM_DOT = shutil.which("dot")


def neuron_counts() -> tuple[int, int]:
    """(operations, backward edges) of the neuron, counted from the graph: the explorer makes a
    start step, one per operation, the seed, one per edge whose tail is not a constant, and done."""
    g = graphtrace.load(NEURON)
    ops = sum(1 for _, d in g.nx.nodes(data=True) if d["kind"] == "op")
    back = sum(1 for u, _v, _k in g.nx.edges(keys=True) if g.nx.nodes[u]["kind"] != "const")
    return ops, back


def test_the_neuron_has_32_steps_after_the_start() -> None:
    ops, back = neuron_counts()
    model = explorer.build_model(graphtrace.load(NEURON))
    assert len(model["steps"]) == 1 + ops + 1 + back + 1 == 33  # the page counts "step 0 / 32" … "32 / 32"
    assert [s["type"] for s in model["steps"]][:2] == ["start", "forward"]
    assert model["steps"][-1]["type"] == "done"


# ---- one definition: the page fills in the same sentences --------------------------------------------
NODE_RUNNER = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const C = require(process.argv[1])(new Function(input.ops + "\nreturn GRAPHTRACE_OPS;")());
const out = input.cases.map(function (c) {
  const m = C.compile(c.model);
  const fw = { values: c.values, locals: c.locals, bad: null };  // Python's numbers: the same doubles
  const steps = C.buildSteps(m);
  return steps.map(function (s, k) {
    const st = C.stateAt(m, steps, fw, k);
    const lines = [s.phase];
    s.lines.forEach(function (l) {
      if (l.kind === "source") { return; }
      if (l.title) { lines.push(C.fillParts(m, l.title, st, fw)); }
      lines.push(C.fillParts(m, l.parts, st, fw));
    });
    return lines;
  });
});
process.stdout.write(JSON.stringify(out));
"""


def _cases() -> list[graphtrace.Graph]:
    pick = RandomPicker(random.Random(16))
    graphs = [graphtrace.load(p) for p in sorted(SAMPLES.glob("*.gt")) if p.stat().st_size < 4000]
    graphs += [graphtrace.parse(random_script(pick, ops=(2, 12)), name=f"r{i}.gt") for i in range(25)]
    return graphs


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_the_page_and_python_write_the_same_words_at_every_step() -> None:
    graphs = _cases()
    cases, expected = [], []
    for g in graphs:
        results = g.analyse()
        model = explorer.build_model(g, results)
        order = list(results.forward.order)
        values = [float(results.forward.values[v]) for v in order]
        locals_ = [float(results.forward.locals[(order[e["tail"]], order[e["head"]], e["slot"])])
                   for e in model["edges"]]
        if not all(map(lambda x: x == x and abs(x) != float("inf"), values + locals_)):
            continue
        cases.append({"model": model, "values": values, "locals": locals_})
        sts = states(model, model["steps"], locals_)
        texts = []
        for step, st in zip(model["steps"], sts, strict=True):
            t = show_step(model, step, st, values, locals_, hints=True)
            texts.append([t.phase] + [line for kind, line in t.lines if kind != "source"])
        expected.append((g.name, texts))
    assert len(cases) > 20
    payload = {"ops": explorer.ops_script(), "cases": cases}
    proc = subprocess.run([NODE, "-e", NODE_RUNNER, str(JS)], input=json.dumps(payload).encode(),
                          capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    got = json.loads(proc.stdout)
    for (name, want), have in zip(expected, got, strict=True):
        assert have == want, name


def test_the_sentences_hold_the_engines_numbers() -> None:
    """The last step lists ∂L/∂α and ∂L/∂β as `grad --json` gives them (an independent run)."""
    code, out, err = run_main(["grad", str(NEURON), "--json"])
    assert code == 0, err
    grads = json.loads(out)["gradients"]
    g = graphtrace.load(NEURON)
    results = g.analyse()
    model = explorer.build_model(g, results)
    order = list(results.forward.order)
    values = [results.forward.values[v] for v in order]
    locals_ = [results.forward.locals[(order[e["tail"]], order[e["head"]], e["slot"])] for e in model["edges"]]
    last = show_step(model, model["steps"][-1], states(model, model["steps"], locals_)[-1], values, locals_)
    shown = [line for kind, line in last.lines if kind == "formula"]
    assert shown == [f"∂L/∂α = {show_number(grads['α']['backprop'])}", f"∂L/∂β = {show_number(grads['β']['backprop'])}"]
    assert show_number(-0.2497398944) == "−0.2497"


# ---- frames ------------------------------------------------------------------------------------------
def _svg_node_shapes(svg: str) -> dict[str, str]:
    """Each drawn node's shape (ellipse, polygon or path, with its coordinates), by DOT id."""
    shapes = {}
    for m in re.finditer(r'<g id="(n\d+)" class="node">(.*?)</g>', svg, re.S):
        shape = re.search(r"<(ellipse|polygon|path)\b([^>]*)>", m.group(2))
        assert shape, m.group(1)
        coords = re.sub(r'\s(fill|stroke|stroke-width|stroke-dasharray)="[^"]*"', "", shape.group(2))
        shapes[m.group(1)] = shape.group(1) + coords
    return shapes


@pytest.fixture(scope="module")
def neuron_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("steps") / "neuron-steps"
    code, _, err = run_main(["steps", str(NEURON), "-o", str(out)])
    assert code == 0, err
    assert "32 frames" in err
    return out


def test_a_folder_has_one_svg_per_step_and_steps_md(neuron_folder: Path) -> None:
    ops, back = neuron_counts()
    files = sorted(p.name for p in neuron_folder.iterdir())
    n = ops + 1 + back + 1
    assert files == [f"step-{k:03d}.svg" for k in range(1, n + 1)] + ["steps.md"]
    md = (neuron_folder / "steps.md").read_text(encoding="utf-8")
    assert md.count("\n## Step ") == n
    assert "## Step 32 of 32: Done" in md and "![step 1](step-001.svg)" in md
    assert "Inputs and params are given" in md  # the start, which has no frame, opens the file


def test_nodes_stay_where_the_one_layout_put_them(neuron_folder: Path) -> None:
    frames = [p.read_text(encoding="utf-8") for p in sorted(neuron_folder.glob("step-*.svg"))]
    first = _svg_node_shapes(frames[0])
    g = graphtrace.load(NEURON)
    drawn = sum(1 for _, d in g.nx.nodes(data=True) if d["kind"] != "const")
    assert len(first) == drawn
    sizes = {re.search(r'<svg width="([^"]+)" height="([^"]+)"', f).groups() for f in frames}
    assert len(sizes) == 1, sizes
    for k, svg in enumerate(frames[1:], 2):
        assert _svg_node_shapes(svg) == first, f"a node moved in frame {k}"
    # the frames differ in what they show: the value of z is "?" until its forward step
    z_step = [str(v) for v in g.order if g.nx.nodes[v]["kind"] == "op"].index("z") + 1
    z = [str(v) for v in g.order].index("z")

    def z_text(svg: str) -> str:
        return re.search(rf'<g id="n{z}" class="node">(.*?)</g>', svg, re.S).group(1)

    assert "= ?" in z_text(frames[z_step - 2]) and "= 0.7503" in z_text(frames[z_step - 1])


def test_the_gif_and_the_animated_png_have_one_frame_per_step(tmp_path: Path) -> None:
    from PIL import Image

    ops, back = neuron_counts()
    for name in ("n.gif", "n.png"):
        code, _, err = run_main(["steps", str(NEURON), "-o", str(tmp_path / name), "--delay", "500"])
        assert code == 0, err
        with Image.open(tmp_path / name) as im:
            assert im.n_frames == ops + 1 + back + 1 == 32
            assert im.info.get("duration") == 500


def test_the_animated_svg_is_one_document_with_every_step(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    out = tmp_path / "n.svg"
    code, _, err = run_main(["steps", str(NEURON), "-o", str(out), "--only", "forward"])
    assert code == 0, err
    root = ET.fromstring(out.read_bytes())
    groups = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "gt-step"]
    ops, _ = neuron_counts()
    assert len(groups) == ops
    assert [g.get("visibility") for g in groups] == ["visible"] + ["hidden"] * (ops - 1)
    assert all(g.find("{http://www.w3.org/2000/svg}animate") is not None for g in groups)
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids)), "ids repeat across frames"


@pytest.mark.skipif(PDFINFO is None or PDFTOTEXT is None, reason="poppler-utils not installed")
@pytest.mark.parametrize("backend", ["auto", "bundled"])
def test_the_pdf_handout_has_one_page_per_step(tmp_path: Path, backend: str) -> None:
    if backend == "auto" and SYSTEM_DOT is None:
        pytest.skip("no system Graphviz: no vector pages")
    out = tmp_path / "n.pdf"
    code, _, err = run_main(["steps", str(NEURON), "-o", str(out), "--backend", backend])
    assert code == 0, err
    info = subprocess.run([PDFINFO, str(out)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+32$", info, re.M), info
    if backend == "auto":
        assert "vector" in err
        text = subprocess.run([PDFTOTEXT, "-f", "32", "-l", "32", str(out), "-"], capture_output=True,
                              text=True, check=True).stdout
        assert "Step 32 of 32" in text and "−0.2497" in text  # ∂L/∂α on the last page, as text
    else:
        assert "as pictures" in err


def test_only_and_wrt_choose_the_steps(tmp_path: Path) -> None:
    import networkx as nx

    g = graphtrace.load(NEURON)
    ops, back = neuron_counts()
    code, _, err = run_main(["steps", str(NEURON), "-o", str(tmp_path / "f"), "--only", "forward"])
    assert code == 0, err
    assert len(list((tmp_path / "f").glob("step-*.svg"))) == ops
    code, _, err = run_main(["steps", str(NEURON), "-o", str(tmp_path / "b"), "--only", "backward", "--wrt", "α"])
    assert code == 0, err
    # the edges on α's paths to L, counted with networkx
    on = nx.descendants(g.nx, "α") | {"α"}
    on &= nx.ancestors(g.nx, "L") | {"L"}
    on_edges = sum(1 for u, v in g.nx.edges() if u in on and v in on)
    assert len(list((tmp_path / "b").glob("step-*.svg"))) == 1 + on_edges + 1
    md = (tmp_path / "b" / "steps.md").read_text(encoding="utf-8")
    assert "β" not in md.split("## Step")[-2]  # no step walks an edge off α's paths


def test_same_input_same_bytes(tmp_path: Path) -> None:
    for name in ("a.svg", "b.svg", "a.pdf", "b.pdf"):
        if name.endswith(".pdf") and SYSTEM_DOT is None:
            continue
        code, _, err = run_main(["steps", str(NEURON), "-o", str(tmp_path / name), "--only", "backward"])
        assert code == 0, err
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    if SYSTEM_DOT is not None:
        assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_a_folder_keeps_its_other_files(tmp_path: Path) -> None:
    out = tmp_path / "deck"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "step-099.svg").write_text("old", encoding="utf-8")
    code, _, err = run_main(["steps", str(NEURON), "-o", str(out), "--only", "forward", "--format", "png"])
    assert code == 0, err
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "step-099.svg").read_text(encoding="utf-8") == "old"
    assert "older step files" in err
    assert (out / "step-001.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, where", [
    (["-o", "x.txt"], "unknown output format '.txt'"),
    (["-o", "x.gif", "--wrt", "nope"], "nope"),
    (["-o", "x.gif", "--only", "sideways"], "sideways"),
    (["-o", "x.gif", "--delay", "5"], "--delay"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], where: str, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["steps", str(NEURON), *args])
    assert_clean_error(code, out, err, where=where)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_over_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "deck"
    target.write_text("a file", encoding="utf-8")
    code, out, err = run_main(["steps", str(NEURON), "-o", str(target)])
    assert_clean_error(code, out, err, where="not a folder")
    assert target.read_text(encoding="utf-8") == "a file"


def test_too_many_steps_are_refused(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GRAPHTRACE_MAX_FRAMES", "10")
    code, out, err = run_main(["steps", str(NEURON), "-o", str(tmp_path / "n.gif")])
    assert_clean_error(code, out, err, where="--only forward")
    assert not (tmp_path / "n.gif").exists()
