"""The pure drawing stage: golden DOT for every sample, ids, escaping, views, paths, levels, limits."""

from __future__ import annotations

import json
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
    options = {"view": "backward", "symbolic": True, "heat": True, "wrt": graphtrace.load(path).inputs[0]}
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
    g = mlp([16, 64, 64, 10], loss="mse")
    d = dot.draw(g)
    assert d.level == "neuron"
    assert any("neuron" in note for note in d.notes)
    assert len(d.nodes) == 16 + 64 + 64 + 10 + 1


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
