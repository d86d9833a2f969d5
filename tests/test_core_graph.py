"""The computation graph without networkx (graph.ComputationGraph) and networkx's face of it.

What is checked: the maths commands never import networkx; ``g.nx`` is a real MultiDiGraph over the
same data (a change made through it is seen by graphtrace, a structural one recompiles); the
engine compiled from the parser's records equals the engine compiled from the dicts; the graph
algorithms graphtrace now does itself agree with networkx's on random graphs.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest
from helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

import graphtrace
from graphtrace.engine import CompiledGraph, compile_graph
from graphtrace.errors import GraphError
from graphtrace.graph import (
    ComputationGraph,
    ancestors,
    as_graph,
    descendants,
    is_acyclic,
    topological_order,
)


def _imported(args: list[str]) -> set[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "graphtrace", *args], capture_output=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.decode("utf-8", "replace").splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    assert "graphtrace.cli" in names and "numpy" in names  # the measurement saw the maths run
    return names


@pytest.mark.parametrize("args", [
    ["grad", "sample:neuron", "--json"],
    ["grad", "sample:triangle"],
    ["check", "sample:neuron"],
    ["paths", "sample:neuron", "--wrt", "α", "--json"],
    ["grad", "sample:multiclass", "--json"],
    ["mlp", "2-3-1"],
    ["train", "sample:triangle", "--data", "sample:triangle.csv", "--epochs", "2", "-o", "{tmp}/t.gt"],
])
def test_the_maths_commands_do_not_import_networkx(args: list[str], tmp_path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert not [n for n in _imported(args) if n.split(".")[0] == "networkx"]


def test_the_networkx_face_shares_the_data() -> None:
    g = graphtrace.parse("x: input = 2\nw: param = 3\ny = w*x*x")
    assert "networkx" not in type(g.core).__module__
    G = g.nx
    assert isinstance(G, nx.MultiDiGraph) and G is g.nx  # made once
    assert G.number_of_edges() == 4 and sorted(G.in_edges("x")) == []
    assert float(g.forward().value) == 12.0
    G.nodes["w"]["value"] = 5.0  # a value changed through networkx: seen at the next pass
    assert float(g.forward().value) == 20.0
    before = compile_graph(g.core)
    assert compile_graph(G) is before  # one compiled form for both faces
    # A structural change through networkx bumps the version: the graph is compiled again.
    G.add_node("z", kind="input", value=1.0)
    assert compile_graph(g.core) is not before
    assert g.core.version == G.version and "z" in g.core and "z" in g.params + g.inputs


def test_a_graph_built_by_hand_in_networkx() -> None:
    G = nx.MultiDiGraph(output="y")
    G.add_node("y", kind="op", op="mul")  # inserted before its operands: order is not topological
    G.add_node("a", kind="param", value=3.0)
    G.add_node("b", kind="input", value=4.0)
    G.add_edge("a", "y", key=0)
    G.add_edge("b", "y", key=1)
    g = graphtrace.Graph(G)
    assert g.nx is G  # the user's own graph stays the public one
    assert topological_order(G) in (["a", "b", "y"], ["b", "a", "y"])
    assert float(g.backprop()["a"]) == 4.0 and float(g.sum_over_paths("a")) == 4.0
    G.add_edge("y", "a", key=9)
    assert not is_acyclic(G)
    with pytest.raises(GraphError, match="cycle"):
        topological_order(G)


def test_the_engine_compiled_from_records_equals_the_engine_compiled_from_dicts() -> None:
    from helpers import mlp_script

    for text in (mlp_script([3, 5, 4, 1]), graphtrace.load("sample:triangle").source.text):
        g = graphtrace.parse(text)
        assert g.core.records() is not None and "_pred" not in g.core.__dict__
        from_records = CompiledGraph(g.core)
        from_dicts = CompiledGraph(ComputationGraph.adopt(g.nx))  # the same dicts, no records
        assert from_dicts.graph.records() is None
        for name in ("tail", "head", "slot", "level", "live", "leaves"):
            assert np.array_equal(getattr(from_records, name), getattr(from_dicts, name)), name
        assert from_records.order == from_dicts.order
        a = from_records.forward_backward(output=g.output)
        b = from_dicts.forward_backward(output=g.output)
        assert np.array_equal(a.V, b.V) and np.array_equal(a.G, b.G, equal_nan=True)


def test_records_are_dropped_after_a_change() -> None:
    g = graphtrace.parse("x: input = 2\ny = x*x")
    assert g.core.records() is not None
    g.core.add_node("extra", kind="const", value=1.0)
    assert g.core.records() is None
    assert list(g.core) == ["x", "y", "extra"] and len(g.core) == 3


def test_the_dicts_are_made_only_when_asked_for() -> None:
    from helpers import mlp_script

    g = graphtrace.parse(mlp_script([4, 16, 16, 1]))  # wide enough for the engine
    assert "_pred" not in g.core.__dict__ and "_node" not in g.core.__dict__
    assert "L" in g.core and len(g.core) == len(g.core.records())  # from the records
    assert "_node" not in g.core.__dict__
    fwd = g.forward()
    assert getattr(fwd, "run", None) is not None  # the engine ran
    grads = g.backprop(forward=fwd)
    assert "_pred" not in g.core.__dict__  # compiled and run from the records
    assert float(g.sum_over_paths("w1_0_0", forward=fwd)) == pytest.approx(float(grads["w1_0_0"]), rel=1e-12)
    assert len(list(g.core.predecessors("a3_0"))) == 1 and "_pred" in g.core.__dict__
    assert set(g.core.succ["x0"]) == set(g.nx.succ["x0"])


def test_pickling_keeps_the_graph_and_its_face() -> None:
    g = graphtrace.load("sample:neuron")
    g.nx  # noqa: B018  the face exists before pickling
    h = pickle.loads(pickle.dumps(g))
    assert float(h.backprop()["α"]) == float(g.backprop()["α"])
    G = pickle.loads(pickle.dumps(g.nx))
    assert isinstance(G, nx.MultiDiGraph) and G.number_of_edges() == g.nx.number_of_edges()
    assert as_graph(G).nodes["α"] == g.core.nodes["α"]


def test_copy_keeps_order_and_independence() -> None:
    g = graphtrace.load("sample:triangle")
    dup = g.core.copy()
    assert list(dup) == list(g.core) and topological_order(dup) == list(g.core)
    dup.nodes[next(iter(dup))]["value"] = 123.0
    assert g.core.nodes[next(iter(g.core))].get("value") != 123.0
    G2 = g.nx.copy()
    assert isinstance(G2, nx.MultiDiGraph) and list(G2) == list(g.nx) and G2.core is not g.core


@st.composite
def _dags(draw: st.DrawFn) -> list[tuple[int, int]]:
    n = draw(st.integers(1, 14))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))
    return [(min(u, v), max(u, v)) for u, v in edges if u != v] + [(i, i) for i in range(n)]


@settings(max_examples=80, deadline=None)
@given(_dags(), st.randoms(use_true_random=False))
def test_graph_algorithms_agree_with_networkx(spec: list[tuple[int, int]], rnd) -> None:
    nodes = sorted({u for u, _ in spec})
    rnd.shuffle(nodes)  # insertion order is not topological
    G = nx.MultiDiGraph()
    G.add_nodes_from(nodes)
    G.add_edges_from((u, v) for u, v in spec if u != v)
    core = ComputationGraph.adopt(G)
    order = topological_order(G)
    position = {v: i for i, v in enumerate(order)}
    assert sorted(order) == sorted(nodes) and all(position[u] < position[v] for u, v, _ in G.edges(keys=True))
    for v in nodes:
        assert ancestors(core, v) == nx.ancestors(G, v)
        assert descendants(core, v) == nx.descendants(G, v)
    assert core.number_of_edges() == G.number_of_edges()
    assert is_acyclic(core)


def test_an_op_changed_in_place_is_what_a_fresh_compile_reads() -> None:
    """The records give the structure; an op changed in the attribute dicts wins over the record."""
    from helpers import mlp_script

    g = graphtrace.parse(mlp_script([3, 8, 8, 1]))
    before = float(g.forward().value)
    dup = graphtrace.Graph(g.core.copy(), g.source, output=g.output)
    target = next(v for v in dup.core if dup.core.nodes[v].get("op") == "sigmoid")
    dup.core.nodes[target]["op"] = "tanh"
    assert dup.core.records() is not None  # the structure is as parsed
    engine = CompiledGraph(dup.core).forward_backward(output=dup.output)
    from graphtrace.evaluate import evaluate

    reference = evaluate(dup.core)
    assert float(reference.value) != before
    assert float(engine.value(dup.output)) == pytest.approx(float(reference.value), rel=1e-12)
    from graphtrace import compute

    assert "tanh" in dup.core.op_names() and compute.compilable(dup.core)
