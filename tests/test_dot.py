"""The pure drawing stage: golden DOT for every sample, ids, escaping, views, paths, levels, limits."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import networkx as nx
import pytest
from helpers import SAMPLES

import graphtrace
from graphtrace import dot
from graphtrace.errors import GraphError, LimitError, UsageError
from graphtrace.network import mlp, mlp_script

GOLDEN = Path(__file__).parent / "golden"
SAMPLE_FILES = sorted(SAMPLES.glob("*.gt"))


# ---- golden files -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_golden_dot(path: Path, update_golden: bool) -> None:
    text = graphtrace.load(path).to_dot()
    golden = GOLDEN / f"{path.stem}.dot"
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8", newline="\n")
    assert golden.exists(), f"no golden file {golden.name}: run pytest tests/test_dot.py --update-golden"
    assert text == golden.read_text(encoding="utf-8"), f"{golden.name} changed; review, then --update-golden"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.stem for p in SAMPLE_FILES])
def test_dot_is_byte_identical_across_runs(path: Path) -> None:
    g = graphtrace.load(path)
    options = {"view": "backward", "symbolic": True, "heat": True, "wrt": (g.inputs or g.params)[0]}
    first = graphtrace.load(path).to_dot(**options)
    second = graphtrace.load(path).to_dot(**options)
    assert first.encode("utf-8") == second.encode("utf-8")
    assert json.dumps(dot.to_json(graphtrace.load(path), **options)) == json.dumps(
        dot.to_json(graphtrace.load(path), **options))


def test_every_sample_has_a_golden_file() -> None:
    assert SAMPLE_FILES, "no samples found"
    missing = [p.stem for p in SAMPLE_FILES if not (GOLDEN / f"{p.stem}.dot").exists()]
    assert not missing, f"run --update-golden for {missing}"


# ---- ids --------------------------------------------------------------------------------------
def test_ids_follow_the_topological_order() -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    index = dot.node_index(g)
    assert index == {v: i for i, v in enumerate(g.order)}
    text = g.to_dot(show_consts=True)
    for v, i in index.items():
        assert re.search(rf'^  {re.escape(dot.quote(v))} \[id="n{i}",', text, re.M), v
    for u, v, slot in g.nx.edges(keys=True):
        assert f'id="e{index[u]}_{index[v]}_{slot}"' in text


def test_parallel_edges_get_distinct_ids() -> None:
    text = graphtrace.parse("x: input = 3\ny = x*x").to_dot()
    assert 'id="e0_1_0"' in text and 'id="e0_1_1"' in text


# ---- escaping ---------------------------------------------------------------------------------
EVIL = ['a"];evil[', "b<c>&d", "back\\slash", "new\nline", "q'uote"]


def _evil_graph() -> graphtrace.Graph:
    g = nx.MultiDiGraph()
    g.add_node(EVIL[0], kind="input", value=1.0, named=True)
    g.add_node(EVIL[1], kind="param", value=2.0, named=True)
    g.add_node(EVIL[2], kind="op", op="mul", named=True)
    g.add_node(EVIL[3], kind="op", op="sigmoid", named=True)
    g.add_node(EVIL[4], kind="op", op="add", named=True)
    g.add_edge(EVIL[0], EVIL[2], key=0)
    g.add_edge(EVIL[1], EVIL[2], key=1)
    g.add_edge(EVIL[2], EVIL[3], key=0)
    g.add_edge(EVIL[3], EVIL[4], key=0)
    g.add_edge(EVIL[0], EVIL[4], key=1)
    g.graph["output"] = EVIL[4]
    return graphtrace.Graph(g)


def _strings_balanced(line: str) -> bool:
    # Outside HTML labels, every '"' must open or close a string: drop escapes, count the rest.
    line = re.sub(r"label=<.*>(?=[,\]])", "label=<>", line)
    return line.replace("\\\\", "").replace('\\"', "").count('"') % 2 == 0


def test_quote_escapes_everything_that_could_break_out() -> None:
    assert dot.quote('a"];evil[') == '"a\\"];evil["'
    assert dot.quote("a\\") == '"a\\\\"'
    assert dot.quote("x\ny") == '"x\\ny"'
    assert dot.quote("<b>&", html_text=True) == "&lt;b&gt;&amp;"


@pytest.mark.parametrize("view", dot.VIEWS)
def test_hostile_names_stay_inside_their_strings(view: str) -> None:
    g = _evil_graph()
    text = g.to_dot(view=view, wrt=EVIL[1], symbolic=True)
    for line in text.splitlines():
        assert _strings_balanced(line), line
    assert '"a\\"];evil["' in text
    labels = re.findall(r"label=<(.*)>(?=[,\]])", text)
    assert labels and not any("<c>" in lab or "&d" in lab.replace("&amp;d", "") for lab in labels)
    assert "b&lt;c&gt;&amp;d" in text
    # Each node is declared exactly once, under its quoted name.
    for name in EVIL:
        assert len(re.findall(rf"^  {re.escape(dot.quote(name))} \[id=", text, re.M)) == 1


def test_hostile_names_parse_in_graphviz(tmp_path: Path) -> None:
    render = pytest.importorskip("graphtrace.render")
    g = _evil_graph()
    svg = render.layout(g.to_dot(wrt=EVIL[1]), "svg", backend="auto").decode("utf-8")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    groups = [e for e in root.iter("{http://www.w3.org/2000/svg}g") if e.get("class") == "node"]
    assert len(groups) == 5
    assert sorted(e.get("id") for e in groups) == sorted(f"n{i}" for i in range(5))


# ---- labels and views -------------------------------------------------------------------------
def test_display_names_use_unicode_subscripts() -> None:
    assert dot.display_name("w1_2") == "w₁,₂"
    assert dot.display_name("x1") == "x₁"
    assert dot.display_name("w11") == "w₁₁"
    assert dot.display_name("mean_sq") == "mean_sq"
    text = graphtrace.load(SAMPLES / "neuron.gt").to_dot()
    assert "x₁" in text and "<sub>" not in text.lower() and "<sup>" not in text.lower()


def test_constants_are_folded_into_their_consumer() -> None:
    g = graphtrace.parse("x: input = 3\na = 2*x\nb = 1 - x\nL = a + b")
    d = dot.draw(g)
    titles = [n.title for n in d.nodes]
    assert "const_1" not in [n.name for n in d.nodes]
    assert [n.glyph for n in d.nodes if n.name == "a"] == ["×2"]
    assert [n.glyph for n in d.nodes if n.name == "b"] == ["1 − x"]
    shown = dot.draw(g, show_consts=True)
    assert len(shown.nodes) == len(titles) + 2
    assert {n.kind for n in shown.nodes} >= {"const"}


def test_views() -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    forward = g.to_dot(view="forward")
    backward = g.to_dot(view="backward")
    both = g.to_dot()
    assert 'dir="back"' in backward and 'dir="back"' not in forward + both
    assert "∂L/∂z = −1.333" in backward and "∂L/∂z" not in forward
    assert "= 0.7503" in forward and "= 0.7503" not in backward
    assert "∂L/∂z = −1.333" in both and "= 0.7503" in both
    # Edge labels carry the local derivative in backward and both views only.
    edge = next(line for line in both.splitlines() if '"s" -> "z"' in line)
    assert 'label="0.1874"' in edge
    edge = next(line for line in forward.splitlines() if '"s" -> "z"' in line)
    assert "label=" not in edge


def test_symbolic_labels_use_the_scripts_names() -> None:
    text = graphtrace.load(SAMPLES / "neuron.gt").to_dot(view="backward", symbolic=True)
    assert 'label="∂z/∂s = σ(s)·(1−σ(s)) = 0.1874"' in text
    assert "1/z = 1.333" in text  # ∂log(z)/∂z for an unnamed log node
    assert "x₁ = 1" in text  # ∂(α·x₁)/∂α = x₁


def test_node_style_by_kind_and_legend() -> None:
    d = dot.draw(graphtrace.load(SAMPLES / "neuron.gt"), show_consts=True)
    kinds = {n.name: n.kind for n in d.nodes}
    assert kinds["x1"] == "input" and kinds["α"] == "param" and kinds["const_1"] == "const"
    assert kinds["z"] == "op" and kinds["L"] == "output"
    text = d.dot()
    for label in ("input (placeholder)", "param (variable)", "constant", "operation", "output"):
        assert label in text
    assert "input (placeholder)" not in graphtrace.load(SAMPLES / "neuron.gt").to_dot(legend=False)


# ---- paths ------------------------------------------------------------------------------------
def test_wrt_highlights_paths_and_sums_them() -> None:
    g = graphtrace.load(SAMPLES / "product_rule.gt")
    d = dot.draw(g, wrt="x")
    assert d.paths is not None and d.paths["n_paths"] == 2
    assert d.paths["total"] == pytest.approx(float(g.backprop()["x"]), rel=1e-12)
    text = d.dot()
    assert "sum over all 2 paths" in text
    assert dot._num(float(g.backprop()["x"])) in text
    on = [e for e in d.edges if e.on_path]
    assert len(on) == 4 and all('color="#c0392b"' in d._edge_stmt(e, {}) for e in on)


def test_wrt_off_the_output_draws_no_path() -> None:
    g = graphtrace.parse("a: param = 1\nb: param = 2\nL = b*b")
    d = dot.draw(g, wrt="a")
    assert d.paths["n_paths"] == 0 and not any(e.on_path for e in d.edges)
    with pytest.raises(GraphError):
        dot.draw(g, wrt="nope")


def test_heat_widens_edges_by_path_flow() -> None:
    g = graphtrace.load(SAMPLES / "linear_collapse.gt")
    d = dot.draw(g, wrt="x1", heat=True)
    flows = [e.flow for e in d.edges if e.flow is not None]
    assert flows and max(flows) == pytest.approx(1.0)
    widths = set(re.findall(r'penwidth="([\d.]+)"', d.dot()))
    assert len(widths) > 2
    plain = dot.draw(g, heat=True)  # no --wrt: by the gradient each edge carries
    assert any(e.flow for e in plain.edges)


# ---- networks ---------------------------------------------------------------------------------
def test_mlp_levels() -> None:
    g = mlp([2, 3, 1])
    scalar = dot.draw(g, level="scalar")
    assert [t for _, t in scalar.clusters] == ["input layer", "hidden layer 1", "output layer 2"]
    assert scalar.rankdir == "LR" and "subgraph \"cluster_1\"" in scalar.dot()
    assert all(n.cluster is None for n in scalar.nodes if n.name in ("L", "y"))
    neuron = dot.draw(g, level="neuron")
    assert sorted(n.title for n in neuron.nodes) == sorted(["x₁", "x₂", "h₁,₁", "h₁,₂", "h₁,₃", "o", "loss L"])
    h = next(n for n in neuron.nodes if n.name == "h1_1")
    assert h.value == pytest.approx(float(g.forward().values["h1_1"]))
    assert h.grad == pytest.approx(float(g.backprop()["h1_1"]))
    assert len(neuron.edges) == 2 * 3 + 3 + 1
    layer = dot.draw(g, level="layer")
    assert [n.title for n in layer.nodes] == ["input layer", "hidden layer 1", "output layer 2", "loss L"]
    assert dot.draw(g).level == "scalar"


def test_layers_are_inferred_from_names() -> None:
    g = graphtrace.parse(mlp_script([2, 2, 1]))
    assert not any("layer" in d for _, d in g.nx.nodes(data=True))
    d = dot.draw(g, level="neuron")
    assert len(d.nodes) == 2 + 2 + 1 + 1
    assert not any("layer" in d for _, d in g.nx.nodes(data=True))  # drawing never changes the graph


def test_auto_level_folds_big_networks() -> None:
    # issue 15: auto weighs legibility, not node counts only: 64 neurons in a column would be a
    # 90-inch strip, so 16-64-64-10 gets one node per layer (readable on a slide)
    g = mlp([16, 64, 64, 10], loss="mse")
    d = dot.draw(g)
    assert d.level == "layer"
    assert any("one node per neuron would be about" in note and "one node per layer" in note for note in d.notes)
    assert [n.title for n in d.nodes] == ["input layer", "hidden layer 1", "hidden layer 2", "output layer 3", "loss L"]
    assert dot.draw(mlp([2, 3, 1])).level == "scalar"  # small enough to draw every op
    assert dot.draw(graphtrace.load(SAMPLES / "circle_net.gt")).level == "neuron"  # every op: 57 × 24 in
    assert dot.draw(graphtrace.load(SAMPLES / "neuron.gt")).level == "scalar"  # not a network: no choice


def test_estimated_size_is_near_the_layout() -> None:
    render = pytest.importorskip("graphtrace.render")
    for g, level in ((graphtrace.load(SAMPLES / "triangle.gt"), "scalar"), (mlp([2, 16, 16, 1]), "neuron"),
                     (mlp([16, 64, 64, 10]), "layer")):
        d = dot.draw(g, level=level)
        (w, h), (real_w, real_h) = d.estimated_size(), render.layout_size(d.dot())
        assert 0.6 < w / real_w < 1.6 and 0.6 < h / real_h < 1.6, (level, (w, h), (real_w, real_h))


# ---- issue 15: networks drawn to teach --------------------------------------------------------
def _weights(d: dot.Drawing) -> dict[str, dot.DrawEdge]:
    return {str(e.weight): e for e in d.edges if e.weight is not None}


def test_neuron_level_carries_the_weights() -> None:
    g = graphtrace.load(SAMPLES / "triangle.gt")
    fwd, grads = g.forward(), g.backprop()
    d = dot.draw(g, level="neuron")
    weights = _weights(d)
    assert sorted(weights) == sorted(str(p) for p in g.params if str(p).startswith("w"))
    assert len(weights) == 9  # six first-layer weights and three output weights
    for name, e in weights.items():
        assert e.weight_value == pytest.approx(float(fwd.values[name]))
        assert e.weight_grad == pytest.approx(float(grads[name]))
        assert e.tail == ("x" + name.split("_")[1] if name.startswith("w1") else f"h1_{name.split('_')[1]}")
    text = d.dot()
    labels = re.findall(r'id="(e\d+_\d+_0)"[^\n]*label=<(.*)>\]$', text, re.M)
    assert len(labels) == 9
    w = weights["w1_1_1"]
    stmt = next(line for line in text.splitlines() if f'id="{w.id}"' in line)
    assert "4.472" in stmt and "0</font>" in stmt  # w (top) and ∂L/∂w (below)
    assert f'color="{dot.POSITIVE_COLOR}"' in stmt and f'color="{dot.NEGATIVE_COLOR}"' in next(
        line for line in text.splitlines() if f'id="{weights["w1_2_1"].id}"' in line)
    # width grows with |w|: the output weights (10) are the widest, the zero weight the thinnest
    width = {n: float(re.search(r'penwidth="([\d.]+)"', next(line for line in text.splitlines()
                                                          if f'id="{e.id}"' in line)).group(1)) for n, e in weights.items()}
    assert width["w2_1_1"] == max(width.values()) and width["w1_1_2"] == min(width.values()) == 0.8
    # forward shows the values only, backward the gradients only
    fwd_text, back_text = g.to_dot(level="neuron", view="forward"), g.to_dot(level="neuron", view="backward")
    assert "4.472" in fwd_text and "−8.354e−05" not in fwd_text.split("label=<<table")[0]
    w_back = next(line for line in back_text.splitlines() if f'id="{weights["w1_2_1"].id}"' in line)
    label = w_back.split("label=")[1]
    assert "4.177e−05" in label and "−2.236" not in label
    # biases on the neurons, the loss box says what it folds, one legend for the edges
    h1 = next(n for n in d.nodes if n.name == "h1_1")
    assert ("b = 5.59", "") in h1.lines and any(t.startswith("∂L/∂b = ") for t, _ in h1.lines)
    assert h1.glyph == "σ"
    loss = next(n for n in d.nodes if n.kind == "output")
    assert [t for t, _ in loss.lines][-2:] == ["L = −(y·log(o) + (1 − y)·log(1 − o))", "loss: 8 ops · target y"]
    assert "edge: one weight, labelled w (top), ∂L/∂w (below)" in text and "w &gt; 0" in text


def test_layer_level_carries_the_weight_matrices() -> None:
    g = mlp([2, 3, 1], seed=0)
    d = dot.draw(g, level="layer")
    first = next(e for e in d.edges if e.n_weights == 6)
    expected = math.sqrt(sum(float(g.nx.nodes[f"w1_{i}_{j}"]["value"]) ** 2 for i in (1, 2) for j in (1, 2, 3)))
    assert first.weight_value == pytest.approx(expected)
    assert "6 weights, ‖W‖ = " in d.dot() and "3 neurons, σ" in d.dot()


@pytest.mark.parametrize("name", ["triangle", "symmetry_zeros", "circle_net"])
@pytest.mark.parametrize("view", ["both", "backward"])
def test_units_in_index_order_top_to_bottom(name: str, view: str) -> None:
    g = graphtrace.load(SAMPLES / f"{name}.gt")
    d = dot.draw(g, level="neuron", view=view)
    for backend in _backends():
        pos = _positions(d.dot(), backend)
        for layer in sorted({n.cluster for n in d.nodes if n.cluster is not None}):
            units = [n.key for n in d.nodes if n.cluster == layer]
            tops = sorted(units, key=lambda v: -pos[v][1])
            assert tops == units, (backend, layer, tops)


def test_units_in_order_in_bigger_networks() -> None:
    for shape in ([3, 5, 4, 2], [2, 6, 1], [2, 16, 16, 1]):
        d = dot.draw(mlp(shape, seed=1), level="neuron")
        for backend in _backends():
            pos = _positions(d.dot(), backend)
            for layer in {n.cluster for n in d.nodes if n.cluster is not None}:
                units = [n.key for n in d.nodes if n.cluster == layer]
                assert sorted(units, key=lambda v: -pos[v][1]) == units, (shape, backend, layer)


def test_identical_units_are_said_and_their_weight_gradients_shown() -> None:
    """Course §12: the zeros net's backward drawing shows the three units' identical gradients."""
    g = graphtrace.load(SAMPLES / "symmetry_zeros.gt")
    d = dot.draw(g, level="neuron", view="backward")
    weights = _weights(d)
    out = [weights[f"w2_{j}_1"].weight_grad for j in (1, 2, 3)]
    assert out[0] == out[1] == out[2] == pytest.approx(-0.25)
    assert {weights[f"w1_{i}_{j}"].weight_grad for i in (1, 2) for j in (1, 2, 3)} == {0.0}
    text = d.dot()
    assert text.count(">−0.25</font>") == 3
    hidden = [n for n in d.nodes if n.name.startswith("h1_")]
    assert all(n.identical == 3 and ("3 identical units", dot._IDENTICAL_COLOR) in n.lines for n in hidden)
    assert "h₁,₁ = h₁,₂ = h₁,₃: identical units" in text
    assert any("identical" in note and "§12" in note for note in d.notes)
    # random weights: nothing identical
    assert not any(n.identical for n in dot.draw(graphtrace.load(SAMPLES / "symmetry_random.gt"), level="neuron").nodes)


def test_scalar_level_keeps_each_neuron_together() -> None:
    g = graphtrace.load(SAMPLES / "triangle.gt")
    d = dot.draw(g, level="scalar")
    text = d.dot()
    for j in (1, 2, 3):
        box = text.split(f'subgraph "cluster_1_{j}" {{')[1].split('\n    }')[0]
        for member in (f"w1_1_{j}", f"w1_2_{j}", f"b1_{j}", f"z1_{j}", f"h1_{j}"):
            assert f'"{member}" [id=' in box, (j, member)
        # each weight in a box of its own with the product it feeds, on one rank
        assert re.search(rf'\{{rank="same"; "w1_1_{j}"; "mul_\d+"\}}', box)
    for backend in _backends():
        pos = _positions(text, backend)
        assert sorted(["h1_1", "h1_2", "h1_3"], key=lambda v: -pos[v][1]) == ["h1_1", "h1_2", "h1_3"], backend
        assert pos["x1"][1] > pos["x2"][1], backend  # inputs in order
        for w in ("w1_1_1", "w1_2_1", "w1_1_3", "w2_1_1"):  # each weight next to its product
            mul = next(e.head for e in d.edges if e.tail == w)
            assert math.dist(pos[w], pos[mul]) < 1.2, (backend, w)


@pytest.mark.parametrize("view", ["backward", "both"])
def test_scalar_edge_labels_stay_next_to_their_edges(view: str) -> None:
    """Each local derivative is written beside its own edge, on both backends: within 0.65 inch
    of it and never clearly nearer another edge (the issue's floating labels were)."""
    for name in ("triangle", "neuron"):
        text = dot.draw(graphtrace.load(SAMPLES / f"{name}.gt"), level="scalar", view=view).dot()
        for backend in _backends():
            for label, own, other in _label_distances(text, backend):
                assert own <= 0.65 and own <= other + 0.1, (name, backend, label, own, other)


def _backends() -> list[str]:
    render = pytest.importorskip("graphtrace.render")
    names = [b.name for b in render.find_backends() if "plain" in b.formats or b.name == "bundled"]
    if not names:
        pytest.skip("no Graphviz backend")
    return names


def _plain(text: str, backend: str) -> list[list[str]]:
    import shlex

    from graphtrace.render import layout

    return [shlex.split(line) for line in layout(text, "plain", backend=backend).decode("utf-8").splitlines()]


def _positions(text: str, backend: str) -> dict[str, tuple[float, float]]:
    return {t[1]: (float(t[2]), float(t[3])) for t in _plain(text, backend) if t and t[0] == "node"}


def _label_distances(text: str, backend: str) -> list[tuple[str, float, float]]:
    """Per labelled edge: its label, the label's distance (inches) to its own edge's control
    polygon, and to the nearest other edge's."""
    def to_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        dx, dy = b[0] - a[0], b[1] - a[1]
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
        return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)

    edges, labels = [], []
    for t in _plain(text, backend):
        if not t or t[0] != "edge":
            continue
        n = int(t[3])
        edges.append([(float(t[4 + 2 * i]), float(t[5 + 2 * i])) for i in range(n)])
        rest = t[4 + 2 * n:]
        if len(rest) == 5:
            labels.append((rest[0], (float(rest[1]), float(rest[2])), len(edges) - 1))
    out = []
    for label, p, k in labels:
        dist = [min(to_segment(p, a, b) for a, b in zip(pts, pts[1:], strict=False)) for pts in edges]
        out.append((label, dist[k], min(d for j, d in enumerate(dist) if j != k)))
    assert out, "no edge labels"
    return out


def test_neuron_level_needs_a_network() -> None:
    with pytest.raises(UsageError, match="needs a network"):
        dot.draw(graphtrace.load(SAMPLES / "neuron.gt"), level="neuron")


# ---- guard rails ------------------------------------------------------------------------------
def _chain(n: int) -> graphtrace.Graph:
    return graphtrace.parse("x: input = 0.1\n" + "".join(f"v{i} = sin({'x' if i == 0 else f'v{i - 1}'})\n"
                                                        for i in range(n)))


def test_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    g = _chain(30)
    monkeypatch.setattr(dot, "EDGE_LABEL_LIMIT", 10)
    d = dot.draw(g)
    assert not d.edge_labels and any("edge labels dropped" in n for n in d.notes)
    assert "label=" not in "".join(line for line in d.dot().splitlines() if " -> " in line)
    assert dot.draw(g, edge_labels=True).edge_labels
    monkeypatch.setattr(dot, "FORCE_LIMIT", 20)
    with pytest.raises(LimitError, match="--force"):
        dot.draw(g)
    assert len(dot.draw(g, force=True).nodes) == 31
    monkeypatch.setattr(dot, "REFUSE_LIMIT", 25)
    with pytest.raises(LimitError, match="too many"):
        dot.draw(g, force=True)


def test_bad_options() -> None:
    g = graphtrace.parse("x: input = 1\ny = x*x")
    with pytest.raises(UsageError):
        dot.draw(g, view="sideways")
    with pytest.raises(UsageError):
        dot.draw(g, level="atom")


# ---- JSON -------------------------------------------------------------------------------------
def test_json_description() -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    doc = dot.to_json(g, wrt="α")
    z = next(n for n in doc["nodes"] if n["name"] == "z")
    assert z["id"] == f"n{dot.node_index(g)['z']}"
    assert z["value"] == pytest.approx(0.7502601055951177) and z["grad"] == pytest.approx(float(g.backprop()["z"]))
    edge = next(e for e in doc["edges"] if (e["tail"], e["head"]) == ("s", "z"))
    assert edge["local"] == pytest.approx(0.7502601055951177 * (1 - 0.7502601055951177))
    assert doc["paths"]["total"] == pytest.approx(float(g.backprop()["α"]))
    json.dumps(doc, allow_nan=False)


def test_values_override() -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    d = dot.draw(g, values={"x1": 2.0})
    x1 = next(n for n in d.nodes if n.name == "x1")
    assert x1.value == 2.0
