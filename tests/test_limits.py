"""Every safety limit from the CLI: its message, exit code 2, and how to raise it.

One test per limit (script size, node count, nesting depth, path enumeration, drawing size, PNG
pixels, layout time, CSV rows/columns/bytes, output folders, replace-only-on-success) plus the
non-finite numbers that must be reported with their node and line, never printed as NaN.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest
from helpers import assert_clean_error, mlp_script, run_cli, run_main, strict_json

import graphtrace
from graphtrace.data import make_dataset, write_csv
from graphtrace.errors import LimitError
from graphtrace.network import mlp_script as network_script
from graphtrace.paths import enumerate_paths


def chain(n: int) -> str:
    """A script of exactly n + 1 drawn nodes: x, then n sin nodes in a row."""
    return "x: input = 0.5\n" + "".join(f"a{i} = sin({'a' + str(i - 1) if i else 'x'})\n" for i in range(n))


# ---- script size --------------------------------------------------------------------------------
def test_50mb_script_is_refused_in_under_a_second(tmp_path):
    big = tmp_path / "big.gt"
    with open(big, "wb") as fh:  # sparse: 50 MB on paper, nothing written
        fh.write(b"x: input = 1\ny = x\n")
        fh.truncate(50 * 1024 * 1024)
    start = time.monotonic()
    code, out, err = run_cli(["grad", str(big)])
    elapsed = time.monotonic() - start
    assert_clean_error(code, out, err, where="larger than the 10,000,000-byte limit")
    assert "GRAPHTRACE_MAX_SCRIPT_BYTES" in err and str(big) in err
    assert elapsed < 5, f"took {elapsed:.1f} s: the file was read, not refused"


def test_script_size_limit_can_be_raised(tmp_path, monkeypatch):
    script = tmp_path / "s.gt"
    script.write_text("x: input = 2\n" + "# padding\n" * 30 + "y = x*x\n")
    monkeypatch.setenv("GRAPHTRACE_MAX_SCRIPT_BYTES", "100")
    for args in (["grad", str(script)], ["grad", "-e", script.read_text()]):
        code, out, err = run_main(args)
        assert_clean_error(code, out, err, where="100-byte limit")
        assert "GRAPHTRACE_MAX_SCRIPT_BYTES" in err
    code, out, err = run_main(["grad", "-"], input=script.read_bytes())
    assert_clean_error(code, out, err, where="GRAPHTRACE_MAX_SCRIPT_BYTES")
    monkeypatch.setenv("GRAPHTRACE_MAX_SCRIPT_BYTES", "1000")
    code, out, err = run_main(["grad", str(script), "--json"])
    assert code == 0, err
    assert strict_json(out)["value"] == 4.0


# ---- node count ---------------------------------------------------------------------------------
def test_node_limit_names_the_line_and_the_variable(tmp_path, monkeypatch):
    script = tmp_path / "chain.gt"
    script.write_text(chain(150))
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "100")
    code, out, err = run_main(["grad", str(script)])
    assert_clean_error(code, out, err, where="more than 100 graph nodes")
    assert f"{script}:101:" in err  # the line that makes node 101: x is on line 1, a99 on line 101
    assert "GRAPHTRACE_MAX_NODES" in err
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "1000")
    code, out, err = run_main(["grad", str(script), "--wrt", "x", "--json"])
    assert code == 0, err
    strict_json(out)


def test_mlp_refuses_a_huge_network_before_allocating_it(tmp_path):
    out_file = tmp_path / "net.gt"
    for shape, words in (("100000-100000-1", "1 to 1024 units"),
                         ("1024-1024-1024-1", "more than the limit of 1,000,000")):
        start = time.monotonic()
        code, out, err = run_main(["mlp", shape, "-o", str(out_file)])
        assert_clean_error(code, out, err, where=words)
        assert time.monotonic() - start < 5
        assert not out_file.exists()
    assert "GRAPHTRACE_MAX_NODES" in err


def test_mlp_node_limit_can_be_lowered_and_raised(monkeypatch):
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "30")
    code, out, err = run_main(["mlp", "2-3-1"])
    assert_clean_error(code, out, err, where="at least 43 graph nodes")
    assert "GRAPHTRACE_MAX_NODES" in err
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "60")
    code, out, err = run_main(["mlp", "2-3-1"])
    assert code == 0, err
    assert graphtrace.parse(out).output == "L"


def test_mlp_refuses_a_script_too_big_to_read_back(monkeypatch):
    monkeypatch.setenv("GRAPHTRACE_MAX_SCRIPT_BYTES", "2000")
    code, out, err = run_main(["mlp", "2-8-1"])
    assert_clean_error(code, out, err, where="2,000-byte limit")
    assert "GRAPHTRACE_MAX_SCRIPT_BYTES" in err


# ---- nesting depth ------------------------------------------------------------------------------
@pytest.mark.parametrize("expr, value", [
    ("(" * 10_000 + "x" + ")" * 10_000, 1.0),
    ("-" * 10_000 + "x", 1.0),  # an even number of minus signs
    (" + ".join(["x"] * 10_000), 10_000.0),
], ids=["parentheses", "unary-minus", "long-sum"])
def test_deep_nesting_is_a_clear_error_or_works(tmp_path, expr, value):
    script = tmp_path / "deep.gt"
    script.write_text(f"x: input = 1\ny = {expr}\n")
    code, out, err = run_cli(["grad", str(script), "--wrt", "x", "--json"])  # a subprocess: a crash shows
    if code == 0:  # a parser that copes is fine too, if it is right
        assert strict_json(out)["gradients"]["x"]["backprop"] == value
        return
    assert_clean_error(code, out, err, where=f"{script}:2")
    assert "nested too deeply" in err
    assert "named intermediate steps" in err  # how to get around it: the depth is Python's parser's


# ---- paths --------------------------------------------------------------------------------------
def test_enumerate_paths_bound_comes_from_the_environment(monkeypatch):
    g = graphtrace.parse("x: input = 2\na = x*x\nb = a*a\nc = b*b\n")  # 2·2·2 = 8 paths
    fwd = g.forward()
    monkeypatch.setenv("GRAPHTRACE_MAX_PATHS", "7")
    with pytest.raises(LimitError, match="8 paths") as info:
        enumerate_paths(g.nx, fwd, "x")
    assert "GRAPHTRACE_MAX_PATHS" in (info.value.hint or "")
    monkeypatch.setenv("GRAPHTRACE_MAX_PATHS", "8")
    assert len(enumerate_paths(g.nx, fwd, "x")) == 8
    monkeypatch.setenv("GRAPHTRACE_MAX_PATHS", "lots")
    with pytest.raises(graphtrace.GraphtraceError, match="GRAPHTRACE_MAX_PATHS"):
        enumerate_paths(g.nx, fwd, "x")
    monkeypatch.delenv("GRAPHTRACE_MAX_PATHS")
    assert len(enumerate_paths(g.nx, fwd, "x", max_paths=8)) == 8


def test_paths_command_has_no_bound_on_64_to_the_7_paths(tmp_path):
    net = tmp_path / "deep.gt"
    net.write_text(mlp_script([1] + [64] * 7 + [1]))
    code, out, err = run_main(["paths", str(net), "--wrt", "x0", "--top", "10", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["n_paths"] == 64**7
    assert len(doc["paths"]) == 10
    assert abs(doc["total"] - doc["backprop"]) <= 1e-9 * max(1.0, abs(doc["backprop"]))


# ---- drawing size -------------------------------------------------------------------------------
def test_scalar_drawing_over_force_limit_needs_force(tmp_path):
    from graphtrace.dot import FORCE_LIMIT

    script = tmp_path / "chain.gt"
    script.write_text(chain(FORCE_LIMIT + 10))
    out_file = tmp_path / "chain.dot"
    code, out, err = run_main(["render", str(script), "-o", str(out_file)])
    assert_clean_error(code, out, err, where="--force")
    assert f"{FORCE_LIMIT + 11:,} nodes" in err
    assert not out_file.exists()
    code, out, err = run_main(["render", str(script), "-o", str(out_file), "--force"])
    assert code == 0, err
    assert out_file.read_text().count("[id=\"n") >= FORCE_LIMIT


def test_scalar_drawing_over_refuse_limit_is_refused_and_the_limit_can_be_raised(tmp_path, monkeypatch):
    script = tmp_path / "chain.gt"
    script.write_text(chain(100))
    out_file = tmp_path / "chain.dot"
    monkeypatch.setenv("GRAPHTRACE_MAX_DRAW_NODES", "50")
    code, out, err = run_main(["render", str(script), "-o", str(out_file), "--force"])
    assert_clean_error(code, out, err, where="101 nodes are too many to draw one by one (limit 50)")
    assert "GRAPHTRACE_MAX_DRAW_NODES" in err
    assert not out_file.exists()
    monkeypatch.setenv("GRAPHTRACE_MAX_DRAW_NODES", "200")
    code, out, err = run_main(["render", str(script), "-o", str(out_file)])
    assert code == 0, err
    assert out_file.is_file()
    monkeypatch.setenv("GRAPHTRACE_MAX_DRAW_NODES", "-3")
    code, out, err = run_main(["render", str(script), "-o", str(out_file)])
    assert_clean_error(code, out, err, where="GRAPHTRACE_MAX_DRAW_NODES must be a positive integer")


def test_default_refuse_limit_even_with_force(tmp_path):
    from graphtrace.dot import REFUSE_LIMIT

    script = tmp_path / "chain.gt"
    script.write_text(chain(REFUSE_LIMIT))
    code, out, err = run_main(["render", str(script), "-o", str(tmp_path / "c.dot"), "--force"])
    assert_clean_error(code, out, err, where=f"(limit {REFUSE_LIMIT:,})")
    assert "--level neuron" in err


def _balanced_sum(n: int) -> str:
    lines = [f"x{i}: input = {i}" for i in range(n)]
    level, k = [f"x{i}" for i in range(n)], 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            k += 1
            lines.append(f"s{k} = {level[i]} + {level[i + 1]}")
            nxt.append(f"s{k}")
        level = nxt + level[len(level) - len(level) % 2:]
    return "\n".join(lines) + "\n"


def test_png_is_capped_in_pixels(tmp_path):
    from graphtrace.render import layout_size

    script = tmp_path / "wide.gt"
    script.write_text(_balanced_sum(300))  # 300 leaves side by side: a very long drawing
    dot_file = tmp_path / "wide.dot"
    assert run_main(["render", str(script), "-o", str(dot_file)])[0] == 0
    w_in, h_in = layout_size(dot_file.read_text(), backend="bundled")
    assert max(w_in, h_in) * 96 > 16384, "the drawing is not big enough to need the cap"
    png = tmp_path / "wide.png"
    code, out, err = run_main(["render", str(script), "-o", str(png), "--backend", "bundled"])
    assert code == 0, err
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    assert width <= 16384 and height <= 16384, (width, height)
    assert width * height <= 50_000_000, (width, height)


# ---- layout time --------------------------------------------------------------------------------
def test_layout_timeout(tmp_path, monkeypatch):
    out_file = tmp_path / "n.svg"
    neuron = str(Path(__file__).parent.parent / "samples" / "neuron.gt")
    monkeypatch.setenv("GRAPHTRACE_RENDER_TIMEOUT", "0.001")
    code, out, err = run_main(["render", neuron, "-o", str(out_file), "--backend", "bundled"])
    assert_clean_error(code, out, err, where="layout took longer than 0.001 s")
    assert "--timeout" in err and "GRAPHTRACE_RENDER_TIMEOUT" in err
    assert not out_file.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary file was left"
    # the flag wins over the variable
    code, out, err = run_main(["render", neuron, "-o", str(out_file), "--backend", "bundled", "--timeout", "60"])
    assert code == 0, err
    assert out_file.read_text().lstrip().startswith("<")


# ---- CSV ----------------------------------------------------------------------------------------
@pytest.fixture
def net_and_data(tmp_path):
    """A 2-1 network (inputs x1, x2, y) and 11 rows of matching data."""
    net = tmp_path / "net.gt"
    net.write_text(network_script([2, 1], seed=0))
    data = tmp_path / "d.csv"
    data.write_text(write_csv(make_dataset("gauss", 11, seed=0)))
    return net, data


def test_csv_row_limit(net_and_data, monkeypatch):
    net, data = net_and_data
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_ROWS", "10")
    code, out, err = run_main(["train", str(net), "--data", str(data), "--epochs", "1"])
    assert_clean_error(code, out, err, where="more than 10 data rows")
    assert f"{data}:12" in err and "GRAPHTRACE_MAX_CSV_ROWS" in err  # row 11 is on line 12
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_ROWS", "11")
    code, out, err = run_main(["train", str(net), "--data", str(data), "--epochs", "1"])
    assert code == 0, err


def test_csv_column_limit(net_and_data, monkeypatch):
    net, data = net_and_data
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_COLS", "2")
    code, out, err = run_main(["train", str(net), "--data", str(data), "--epochs", "1"])
    assert_clean_error(code, out, err, where=str(data))
    assert "GRAPHTRACE_MAX_CSV_COLS" in err
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_COLS", "3")
    assert run_main(["train", str(net), "--data", str(data), "--epochs", "1"])[0] == 0


def test_csv_size_limit(net_and_data, monkeypatch):
    net, data = net_and_data
    monkeypatch.setenv("GRAPHTRACE_MAX_CSV_BYTES", "100")
    code, out, err = run_main(["train", str(net), "--data", str(data), "--epochs", "1"])
    assert_clean_error(code, out, err, where="more than the limit of 100")
    assert "GRAPHTRACE_MAX_CSV_BYTES" in err


# ---- output files -------------------------------------------------------------------------------
def _outputs(tmp_path: Path, target: Path, net: Path, data: Path) -> list[list[str]]:
    neuron = str(Path(__file__).parent.parent / "samples" / "neuron.gt")
    return [["render", neuron, "-o", str(target.with_suffix(".dot"))],
            ["render", neuron, "-o", str(target.with_suffix(".svg")), "--backend", "bundled"],
            ["mlp", "2-3-1", "-o", str(target.with_suffix(".gt"))],
            ["data", "xor", "-o", str(target.with_suffix(".csv"))],
            ["train", str(net), "--data", str(data), "--epochs", "1", "-o", str(target.with_suffix(".gt"))]]


def test_output_into_a_missing_folder(tmp_path, net_and_data):
    net, data = net_and_data
    for args in _outputs(tmp_path, tmp_path / "missing" / "out", net, data):
        code, out, err = run_main(args)
        assert_clean_error(code, out, err, where="does not exist")
        assert "missing" in err
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_output_into_a_read_only_folder(tmp_path, net_and_data):
    net, data = net_and_data
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for args in _outputs(tmp_path, locked / "out", net, data):
            code, out, err = run_main(args)
            assert_clean_error(code, out, err, where="permission denied")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_existing_output_is_replaced_only_on_success(tmp_path, net_and_data):
    net, data = net_and_data
    old = "<svg>the previous drawing</svg>\n"
    target = tmp_path / "out.svg"
    target.write_text(old)
    code, out, err = run_main(["render", "-e", "x: input = 1\ny = nope(x)", "-o", str(target), "--backend", "bundled"])
    assert_clean_error(code, out, err, where="unknown function 'nope'")
    assert target.read_text() == old
    # a failure after the layout ran: the timeout
    code, out, err = run_cli(["render", "-e", "x: input = 1\ny = x*x", "-o", str(target), "--backend", "bundled",
                              "--timeout", "0.0001"])
    assert_clean_error(code, out, err, where="layout took longer")
    assert target.read_text() == old
    # train diverging keeps the old trained script
    trained = tmp_path / "trained.gt"
    trained.write_text("# the old one\n")
    code, out, err = run_main(["train", str(net), "--data", str(data), "--lr", "1e300", "-o", str(trained)])
    assert_clean_error(code, out, err)
    assert trained.read_text() == "# the old one\n"
    # and a success replaces it
    code, out, err = run_main(["render", "-e", "x: input = 1\ny = x*x", "-o", str(target), "--backend", "bundled"])
    assert code == 0, err
    assert target.read_text() != old and "<svg" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "net.gt", "out.svg", "trained.gt"]


# ---- non-finite numbers -------------------------------------------------------------------------
@pytest.mark.parametrize("script, setting, node", [
    ("x: param = 1\nq = exp(x)\nL = q*2", "x=1000", "'q'"),            # overflow
    ("x: param = 2\nd = x - 1\nq = d/d\nL = q + x", "x=1", "'q'"),     # 0/0
    ("x: param = 2\nq = log(x)\nL = q*x", "x=0", "'q'"),               # log(0)
])
@pytest.mark.parametrize("command", ["grad", "check", "paths", "render"])
def test_non_finite_values_name_the_node_and_line(tmp_path, script, setting, node, command):
    args = [command, "-e", script, "--set", setting]
    if command == "paths":
        args += ["--wrt", "x"]
    if command == "render":
        args += ["-o", str(tmp_path / "g.dot")]
    elif command != "check":
        args.append("--json")
    code, out, err = run_main(args)
    assert_clean_error(code, out, err, where=node)
    line = script.split("\n").index(next(s for s in script.split("\n") if s.startswith(node.strip("'") + " ="))) + 1
    assert f"<inline>:{line}:" in err, err
    assert "nan" not in out.lower()
    assert not (tmp_path / "g.dot").exists()


def test_training_divergence_names_the_epoch_and_batch(net_and_data):
    net, data = net_and_data
    code, out, err = run_main(["train", str(net), "--data", str(data), "--lr", "1e300", "--epochs", "5"])
    assert_clean_error(code, out, err, where="epoch ")
    assert "batch " in err and "smaller --lr" in err
    assert "nan" not in out.lower()
    code, out, err = run_main(["train", str(net), "--data", str(data), "--lr", "1e300", "--epochs", "5", "--json"])
    assert_clean_error(code, out, err, where="epoch ")


@pytest.mark.parametrize("variable", ["GRAPHTRACE_MAX_SCRIPT_BYTES", "GRAPHTRACE_MAX_NODES",
                                      "GRAPHTRACE_MAX_DRAW_NODES", "GRAPHTRACE_MAX_PATHS",
                                      "GRAPHTRACE_MAX_CSV_ROWS"])
def test_every_limit_variable_rejects_a_bad_value_the_same_way(variable, monkeypatch):
    from graphtrace.errors import UsageError, env_limit

    monkeypatch.setenv(variable, "lots")
    with pytest.raises(UsageError, match=f"{variable} must be a positive integer"):
        env_limit(variable, 10)
    monkeypatch.setenv(variable, "1e3")
    assert env_limit(variable, 10) == 1000


def test_a_bad_script_limit_variable_is_a_usage_error_not_ignored(monkeypatch):
    monkeypatch.setenv("GRAPHTRACE_MAX_NODES", "-5")
    code, out, err = run_main(["grad", "-e", "x: input = 1; y = x*x"])
    assert code == 2 and out == ""
    assert "GRAPHTRACE_MAX_NODES must be a positive integer" in err and "Traceback" not in err
