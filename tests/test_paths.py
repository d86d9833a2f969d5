"""Paths: exact counts, the path sum, the best paths and flows, against brute-force enumeration."""

from __future__ import annotations

import math
import random

import networkx as nx
import pytest
from helpers import SAMPLES, RandomPicker, central_difference, mlp_script, random_script

import graphtrace
from graphtrace import paths as P
from graphtrace.errors import LimitError


def brute_paths(g: graphtrace.Graph, wrt, forward=None):
    """Every path wrt → output by plain DFS over the multigraph: [(nodes, slots, product)]."""
    fwd = forward or g.forward()
    out = []

    def walk(v, nodes, slots, prod):
        if v == g.output:
            out.append((tuple(nodes), tuple(slots), prod))
            return
        for _, w, k in g.nx.out_edges(v, keys=True):
            walk(w, nodes + [w], slots + [k], prod * float(fwd.locals[(v, w, k)]))

    walk(wrt, [wrt], [], 1.0)
    return out


# ---- small shapes worked by hand ---------------------------------------------------------------
@pytest.mark.parametrize(
    "expr, n",
    [("x*x", 2), ("x*x*x", 3), ("x*x + x", 3), ("(x + x)*(x + x)", 4), ("sin(x)*exp(x)", 2),
     ("x + 1", 1), ("x**x", 2), ("max(x, x)", 2)],
)
def test_count_by_hand(expr, n):
    g = graphtrace.parse(f"x: input = 0.7\ny = {expr}")
    assert g.count_paths("x") == n
    assert len(brute_paths(g, "x")) == n


def test_x_times_x_two_paths_with_equal_products():
    g = graphtrace.parse("x: input = 3\ny = x*x")
    best = g.paths("x")
    assert len(best) == 2
    assert sorted(p.slots for p in best) == [(0,), (1,)]
    assert [p.product for p in best] == [3.0, 3.0]
    assert float(g.sum_over_paths("x")) == 6.0


def test_no_path_and_self():
    g = graphtrace.parse("a: param = 1\nb: param = 2\nc = a*2\nL = b + 1")
    assert g.count_paths("a") == 0
    assert float(g.sum_over_paths("a")) == 0.0
    assert g.paths("a") == []
    assert g.path_flows("a") == {}
    assert g.count_paths("L") == 1
    assert float(g.sum_over_paths("L")) == 1.0


def test_product_rule_sample_two_paths():
    g = graphtrace.load(SAMPLES / "product_rule.gt")
    x = g.nx.nodes["x"]["value"]
    assert g.count_paths("x") == 2
    expected = math.cos(x) * math.exp(x) + math.sin(x) * math.exp(x)
    assert float(g.sum_over_paths("x")) == pytest.approx(expected, rel=1e-14)
    assert float(g.backprop()["x"]) == pytest.approx(expected, rel=1e-14)
    products = sorted(p.product for p in g.paths("x"))
    assert products == pytest.approx(sorted([math.cos(x) * math.exp(x), math.sin(x) * math.exp(x)]), rel=1e-14)


# ---- against brute force on random small graphs -------------------------------------------------
SEEDS = range(40)


@pytest.mark.parametrize("seed", SEEDS)
def test_dp_matches_brute_force(seed):
    g = graphtrace.parse(random_script(RandomPicker(random.Random(seed))))
    fwd = g.forward()
    for wrt in list(g.nx.nodes):
        brute = brute_paths(g, wrt, fwd)
        assert g.count_paths(wrt) == len(brute)
        nx_count = sum(1 for _ in nx.all_simple_edge_paths(g.nx, wrt, g.output)) if wrt != g.output else 1
        assert len(brute) == nx_count
        listed = P.enumerate_paths(g.nx, fwd, wrt, g.output)
        assert sorted((p.nodes, p.slots) for p in listed) == sorted((n, s) for n, s, _ in brute)
        for p in listed:
            assert p.product == pytest.approx(math.prod(p.factors), rel=1e-15, nan_ok=True)
        total = math.fsum(p for _, _, p in brute)
        got = float(g.sum_over_paths(wrt, forward=fwd))
        if math.isnan(total):  # an undefined local out of a constant (∂(x**2)/∂2 at x < 0)
            assert math.isnan(got) and g.nx.nodes[wrt]["kind"] != "param"
            continue
        assert got == pytest.approx(total, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_top_paths_are_the_k_largest(seed):
    g = graphtrace.parse(random_script(RandomPicker(random.Random(1000 + seed)), ops=(3, 10)))
    fwd = g.forward()
    for wrt in g.params + g.inputs:
        brute = brute_paths(g, wrt, fwd)
        mags = sorted((abs(p) for _, _, p in brute), reverse=True)
        for k in (1, 3, 10):
            best = g.paths(wrt, top=k, forward=fwd)
            assert len(best) == min(k, len(brute))
            got = [abs(p.product) for p in best]
            assert got == sorted(got, reverse=True)
            assert got == pytest.approx(mags[:k], rel=1e-12, abs=1e-300)
            for p in best:  # each listed path is real and its numbers are consistent
                assert (p.nodes, p.slots) in {(n, s) for n, s, _ in brute}
                assert p.product == pytest.approx(math.prod(p.factors), rel=1e-12)
                assert p.nodes[0] == wrt and p.nodes[-1] == g.output
        # deterministic, ties included
        again = g.paths(wrt, top=10, forward=g.forward())
        assert [(p.nodes, p.slots, p.product) for p in again] == \
            [(p.nodes, p.slots, p.product) for p in g.paths(wrt, top=10, forward=fwd)]


@pytest.mark.parametrize("seed", SEEDS)
def test_flows_match_brute_force(seed):
    g = graphtrace.parse(random_script(RandomPicker(random.Random(2000 + seed))))
    fwd = g.forward()
    for wrt in g.params + g.inputs:
        flows = g.path_flows(wrt, forward=fwd)
        brute = brute_paths(g, wrt, fwd)
        total = math.fsum(p for _, _, p in brute)
        # flow of an edge = the sum of the products of the paths through it
        expected: dict = {}
        for nodes, slots, prod in brute:
            for u, v, k in zip(nodes, nodes[1:], slots, strict=False):
                expected[(u, v, k)] = expected.get((u, v, k), 0.0) + prod
        assert set(flows) == set(expected)
        for e, f in flows.items():
            assert f == pytest.approx(expected[e], rel=1e-9, abs=1e-12), e
        into_output = math.fsum(f for (u, v, k), f in flows.items() if v == g.output)
        assert into_output == pytest.approx(total, rel=1e-9, abs=1e-12)


def test_enumeration_refuses_beyond_its_bound():
    g = graphtrace.parse("x: input = 1\na = x*x\nb = a*a\nc = b*b")  # 8 paths
    fwd = g.forward()
    assert len(P.enumerate_paths(g.nx, fwd, "x", max_paths=8)) == 8
    with pytest.raises(LimitError) as ei:
        P.enumerate_paths(g.nx, fwd, "x", max_paths=7)
    assert "8" in str(ei.value) and "--top" in str(ei.value)


def test_top_zero_and_negative():
    g = graphtrace.parse("x: input = 1\ny = x*x")
    assert g.paths("x", top=0) == []


# ---- layered networks --------------------------------------------------------------------------
@pytest.mark.parametrize("widths", [[2, 3, 1], [2, 3, 4, 1], [3, 4, 5, 2, 1], [2, 2, 2, 2, 2, 1]])
def test_mlp_path_counts_are_products_of_widths(widths):
    g = graphtrace.parse(mlp_script(widths))
    fwd = g.forward()
    grads = g.backprop(forward=fwd)
    later = math.prod(widths[2:])
    for layer in range(1, len(widths)):
        expect = math.prod(widths[layer + 1:])
        w = f"w{layer}_0_0"
        assert g.count_paths(w) == expect, (layer, w)
        assert g.count_paths(f"b{layer}_0") == expect
        assert float(g.sum_over_paths(w, forward=fwd)) == pytest.approx(float(grads[w]), rel=1e-10, abs=1e-15)
    assert g.count_paths("x0") == widths[1] * later
    if later <= 1000:
        assert len(brute_paths(g, "w1_0_0", fwd)) == later


def test_mlp_gradient_matches_independent_finite_differences():
    g = graphtrace.parse(mlp_script([3, 4, 3, 1], seed=3))
    fwd = g.forward()
    grads = g.backprop(forward=fwd)
    for w in ["w1_0_0", "w1_2_3", "b2_1", "w3_2_0", "b3_0"]:
        x0 = g.nx.nodes[w]["value"]
        fd = central_difference(lambda t, w=w: float(g.forward({w: t}, with_locals=False).value), x0)
        assert float(g.sum_over_paths(w, forward=fwd)) == pytest.approx(fd, rel=1e-7, abs=1e-12)
        assert float(grads[w]) == pytest.approx(fd, rel=1e-7, abs=1e-12)


def test_64_wide_layers_give_64_to_the_7_paths_exactly():
    # a layered DAG built directly with networkx: 1 source, 8 layers of 64, 1 sink
    g = nx.MultiDiGraph()
    g.add_node("w")
    layers = [[f"h{i}_{j}" for j in range(64)] for i in range(8)]
    g.add_nodes_from(layers[0] + [n for layer in layers[1:] for n in layer] + ["L"])
    g.add_edge("w", layers[0][0], key=0)
    for a, b in zip(layers, layers[1:], strict=False):
        for v in b:
            for i, u in enumerate(a):
                g.add_edge(u, v, key=i)
    for i, u in enumerate(layers[-1]):
        g.add_edge(u, "L", key=i)
    order = list(nx.topological_sort(g))
    n = P.count_paths(g, "w", "L", order)
    assert isinstance(n, int)
    assert n == 64 ** 7 == 4_398_046_511_104
    assert P.count_paths(g, layers[0][5], "L", order) == 64 ** 7
    assert P.count_paths(g, layers[6][0], "L", order) == 64


def test_astronomical_counts_stay_exact_ints():
    # a chain of 80 squarings: 2**80 paths, far beyond float precision
    lines = ["x: input = 1.0", "s0 = x*x"] + [f"s{i} = s{i - 1}*s{i - 1}" for i in range(1, 80)]
    g = graphtrace.parse("\n".join(lines))
    assert g.count_paths("x") == 2 ** 80
    assert float(g.sum_over_paths("x")) == pytest.approx(2.0 ** 80, rel=1e-12)  # d(x^(2^80))/dx at 1
    best = g.paths("x", top=3)
    assert len(best) == 3
    assert all(p.product == 1.0 for p in best)
