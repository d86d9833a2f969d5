"""Scale: the issue's acceptance checks on big generated networks (correctness, not timing)."""

from __future__ import annotations

import json
import math
import tracemalloc

import pytest
from helpers import run_main

import graphtrace
from graphtrace import paths
from graphtrace.evaluate import evaluate
from graphtrace.network import mlp_script


@pytest.fixture(scope="module")
def deep_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The 4-64×8-1 sigmoid MLP with loss 0.5*(y - o)**2 (about 29,000 params)."""
    path = tmp_path_factory.mktemp("scale") / "deep.gt"
    path.write_text(mlp_script("4-" + "-".join(["64"] * 8) + "-1", activation="sigmoid", loss="mse"),
                    encoding="utf-8")
    return str(path)


def test_paths_on_a_64_wide_8_layer_net_counts_64_to_the_7(deep_script: str) -> None:
    code, out, err = run_main(["paths", deep_script, "--wrt", "w1_1_1", "--json"])
    assert code == 0, err
    doc = json.loads(out)
    assert doc["n_paths"] == 64**7 == 4_398_046_511_104
    assert math.isclose(doc["total"], doc["backprop"], rel_tol=1e-9, abs_tol=1e-15)
    assert len(doc["paths"]) == 10
    products = [abs(p["product"]) for p in doc["paths"]]
    assert products == sorted(products, reverse=True)
    for p in doc["paths"]:  # every listed path is a real path: one factor per edge, product of them
        assert len(p["factors"]) == len(p["nodes"]) - 1
        assert math.isclose(math.prod(p["factors"]), p["product"], rel_tol=1e-12)


def test_count_sum_and_top_paths_on_a_10_layer_net_equal_the_reference() -> None:
    g = graphtrace.parse(mlp_script("4-" + "-".join(["32"] * 10) + "-1", activation="sigmoid", loss="mse"))
    fwd = g.forward()
    plain = evaluate(g.nx)
    wrt = "w1_2_3"
    n = g.count_paths(wrt)
    assert n == 32**9 == paths.count_paths(g.nx, wrt, g.output, plain.order)
    assert math.isclose(g.sum_over_paths(wrt, forward=fwd), float(paths.sum_over_paths(g.nx, plain, wrt)),
                        rel_tol=1e-10)
    assert g.paths(wrt, top=10, forward=fwd) == paths.top_paths(g.nx, plain, wrt, top=10)
    assert math.isclose(g.sum_over_paths(wrt, forward=fwd), float(g.backprop(forward=fwd)[wrt]), rel_tol=1e-9)


def test_grad_json_on_the_8970_param_net() -> None:
    text = mlp_script("64-64-64-10", activation="sigmoid", loss="mse")
    g = graphtrace.parse(text, name="c.gt")
    assert len(g.params) == 8970
    report = g.check()
    assert report.ok, report
    plain = evaluate(g.nx)
    for w in ("w1_1_1", "w2_5_7", "b3_10"):
        e = report.entries[w]
        assert e.n_paths == paths.count_paths(g.nx, w, g.output, plain.order)
        assert math.isclose(e.paths, e.backprop, rel_tol=1e-9, abs_tol=1e-15)


def _chain(lines: int) -> str:
    out = ["x: input = 0.5", "w: param = 0.999"]
    out += [f"s{i} = w*{'x' if i == 0 else f's{i - 1}'} + x" for i in range(lines - 3)]
    out.append(f"L = s{lines - 4}*s{lines - 4}")
    return "\n".join(out) + "\n"


def _bytes_per_edge(text: str) -> tuple[float, graphtrace.Graph]:
    tracemalloc.start()
    try:
        g = graphtrace.parse(text, name="chain.gt")
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return used / g.nx.number_of_edges(), g


def test_a_long_chain_parses_within_a_kib_per_edge_and_checks_without_recursion() -> None:
    per_edge, g = _bytes_per_edge(_chain(10_000))
    assert g.nx.number_of_edges() == 4 * 9_997 + 2
    assert per_edge <= 1024, f"{per_edge:.0f} bytes per edge"
    entry = g.check(["w"]).entries["w"]
    assert entry.n_paths == 2 * 9_997  # w feeds every link of the chain; L = s*s doubles
    assert math.isclose(entry.paths, entry.backprop, rel_tol=1e-9)


@pytest.mark.slow
def test_a_100000_line_script_parses_within_a_kib_per_edge() -> None:
    per_edge, g = _bytes_per_edge(_chain(100_000))
    assert g.nx.number_of_edges() == 4 * 99_997 + 2
    assert per_edge <= 1024, f"{per_edge:.0f} bytes per edge"


@pytest.fixture(scope="module")
def mid_net(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-16-16-1 ReLU net: 337 params, more than a table for people shows."""
    path = tmp_path_factory.mktemp("tables") / "mid.gt"
    path.write_text(mlp_script("2-16-16-1", activation="relu", loss="mse", init="xavier"), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", ["grad", "check"])
def test_tables_for_people_show_the_largest_gradients_and_count_the_rest(mid_net: str, command: str) -> None:
    code, out, err = run_main([command, mid_net])
    assert code == 0, err
    g = graphtrace.load(mid_net)
    report = g.check()
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    rows = [r for r in rows if r and r != "wrt"]
    assert len(rows) == 30
    biggest = sorted(report.entries, key=lambda n: -abs(report.entries[n].backprop))[:30]
    assert sorted(rows) == sorted(biggest)
    assert rows == [n for n in report.entries if n in set(rows)]  # in source order
    assert f"{len(report.entries) - 30:,} more rows within tolerance; --json for all" in out


def test_tables_always_show_failures_and_small_reports_in_full() -> None:
    from graphtrace.report import check_table, grad_table

    g = graphtrace.parse(mlp_script("2-3-1", activation="relu", loss="mse", init="xavier"))
    report = g.check()
    small = min(report.entries, key=lambda n: abs(report.entries[n].backprop))
    report.entries[small].numeric = report.entries[small].backprop + 1.0  # a failing row
    for make in (grad_table, check_table):
        full = make(g, report, limit=None)
        assert full.row_count == len(report.entries) and full.caption is None
        cut = make(g, report, limit=2)
        assert cut.row_count == 3  # the failure and the 2 largest |gradient| rows
        assert small in cut.columns[0]._cells
        assert cut.caption == f"{len(report.entries) - 3} more rows within tolerance; --json for all"
