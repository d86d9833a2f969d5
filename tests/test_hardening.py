"""Hardening II: every input, file name, environment and signal that once reached exit 70, an
unbounded run or a replaced input now gets a clear exit 2 (or 143/129), one test per class."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import xml.dom.minidom
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLES, run_cli, run_main

import graphtrace
from graphtrace import files, render
from graphtrace.errors import GraphtraceError, OutputError, UsageError

NEURON = (SAMPLES / "neuron.gt").read_text(encoding="utf-8")


def _clean_exit_2(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.strip()


# ---- inputs that reached exit 70 --------------------------------------------------------------
@pytest.mark.parametrize("digits", [400, 4000, 5000])
def test_a_huge_integer_literal_is_a_parse_error(digits: int) -> None:
    code, _, err = run_main(["grad", "-e", f"x: param = 2; y = x*{'1' * digits}"])
    _clean_exit_2(code, err)
    code, _, err = run_main(["grad", "-e", f"x: param = {'9' * digits}; y = x*2"])
    _clean_exit_2(code, err)


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux")
def test_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    script = os.fsencode(tmp_path) + b"/n\xff.gt"
    with open(script, "wb") as f:
        f.write(NEURON.encode("utf-8"))
    out = os.fsencode(tmp_path) + b"/o\xff.svg"
    for args in (["grad", os.fsdecode(script), "--json"], ["render", os.fsdecode(script), "-o", os.fsdecode(out)],
                 ["render", os.fsdecode(script), "-o", os.fsdecode(out)[:-4] + ".json"],
                 ["grad", os.fsdecode(script)[:-3] + "nope.gt"]):
        code, _, err = run_cli(args, cwd=tmp_path)
        assert code in (0, 2), err
        assert "internal error" not in err and "Traceback" not in err
    assert Path(os.fsdecode(out)).read_bytes().startswith(b"<?xml")
    doc = Path(os.fsdecode(out)[:-4] + ".json").read_text(encoding="utf-8")
    assert "n\ufffd.gt" in doc  # the undecodable byte is shown as U+FFFD, not crashed on


def test_tex_characters_in_a_file_name_reach_the_plot_title_as_text(tmp_path: Path) -> None:
    (tmp_path / "a$b^c_d.gt").write_text((SAMPLES / "triangle.gt").read_text(encoding="utf-8"), encoding="utf-8")
    assert run_main(["data", "triangle", "-n", "50", "-o", str(tmp_path / "t$^.csv")])[0] == 0
    code, _, err = run_main(["train", str(tmp_path / "a$b^c_d.gt"), "--data", str(tmp_path / "t$^.csv"),
                             "--epochs", "2", "--plot", str(tmp_path / "p.png")])
    assert code == 0, err
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("values", [("1e16", "1.0000000000000002e16"), ("1e300", "-1e300"), ("5e15", "5e15")])
def test_huge_data_values_give_a_plot_or_a_clear_error_before_any_file(tmp_path: Path, values) -> None:
    a, b = values
    (tmp_path / "d.csv").write_text(f"x1,x2,y\n{a},1,1\n{b},2,0\n{a},{b},1\n", encoding="utf-8")
    (tmp_path / "net.gt").write_text((SAMPLES / "triangle.gt").read_text(encoding="utf-8"), encoding="utf-8")
    code, _, err = run_main(["train", str(tmp_path / "net.gt"), "--data", str(tmp_path / "d.csv"),
                             "--epochs", "1", "-o", str(tmp_path / "out.gt"), "--plot", str(tmp_path / "p.png")])
    assert code in (0, 2), err
    assert "internal error" not in err
    if code == 2:  # all or nothing: the trained script is not written when the plot fails
        assert not (tmp_path / "out.gt").exists() and not (tmp_path / "p.png").exists()


def test_plot_errors_become_render_errors(monkeypatch, tmp_path: Path) -> None:
    from graphtrace import training
    from graphtrace.data import make_dataset
    from graphtrace.errors import RenderError

    def broken(*args, **kwargs):
        raise ValueError("Contour levels must be increasing")

    result = training.train(graphtrace.mlp([2, 1]), make_dataset("triangle", 20), epochs=1)
    monkeypatch.setattr(training, "_draw_training", broken)
    with pytest.raises(RenderError, match="cannot draw the training plot"):
        training.plot_training(result, make_dataset("triangle", 20))


def test_explore_with_a_very_long_file_name(tmp_path: Path) -> None:
    name = "n" * 240 + ".gt"
    (tmp_path / name).write_text(NEURON, encoding="utf-8")
    code, _, err = run_cli(["explore", name, "--no-open"], cwd=tmp_path)
    assert code == 0, err
    page = err.strip().rsplit(" ", 1)[-1]
    assert Path(page).exists()
    Path(page).unlink()
    code, _, err = run_cli(["explore", name, "--no-open", "-o", "n" * 245 + ".html"], cwd=tmp_path)
    assert code == 0, err  # a temporary name too long for the folder falls back to a short one
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "n" * 245 + ".html"])


def test_demo_into_a_file_or_below_one(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    for target in ("afile", "afile/sub"):
        code, _, err = run_main(["demo", "-o", str(tmp_path / target)])
        _clean_exit_2(code, err)
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "x"


def test_demo_into_a_read_only_folder(monkeypatch, tmp_path: Path) -> None:
    from graphtrace import demo

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "touch", refuse)  # root writes anywhere: the folder's answer is simulated
    with pytest.raises(OutputError, match="permission denied"):
        demo.run_demo(tmp_path / "ro")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["grad", "S", "--json"], ["grad", "S"], ["mlp", "2-3-1"], ["paths", "S", "--wrt", "α"]])
def test_stdout_on_a_full_disk(args: list[str]) -> None:
    args = [str(SAMPLES / "neuron.gt") if a == "S" else a for a in args]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "graphtrace", *args], stdout=full, stderr=subprocess.PIPE,
                              env=dict(os.environ, PYTHONIOENCODING="utf-8"), timeout=60)
    err = proc.stderr.decode("utf-8", "replace")
    _clean_exit_2(proc.returncode, err)
    assert "cannot write to standard output" in err and err.count("\n") <= 2


# ---- outputs never replace inputs ---------------------------------------------------------------
def test_outputs_that_are_inputs_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # undone after the test: later tests use paths relative to the checkout
    Path("x.gt").write_text((SAMPLES / "triangle.gt").read_text(encoding="utf-8"), encoding="utf-8")
    assert run_main(["data", "triangle", "-n", "30", "-o", "t.csv"])[0] == 0
    before = {p: Path(p).read_bytes() for p in ("x.gt", "t.csv")}
    os.symlink("x.gt", "link.gt")
    for args in (["explore", "x.gt", "-o", "x.gt", "--no-open"], ["render", "x.gt", "-o", "./x.gt"],
                 ["render", "link.gt", "-o", "x.gt"], ["render", "x.gt", "--data", "t.csv", "-o", "t.csv"],
                 ["train", "x.gt", "--data", "t.csv", "-o", "t.csv", "--epochs", "1"],
                 ["train", "x.gt", "--data", "t.csv", "-o", "x.gt", "--epochs", "1"]):
        code, _, err = run_main(args)
        _clean_exit_2(code, err)
        assert "input" in err, err
    assert {p: Path(p).read_bytes() for p in ("x.gt", "t.csv")} == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_output_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dot"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    code, _, err = run_main(["render", str(SAMPLES / "neuron.gt"), "-o", str(fifo)])
    out, _ = reader.communicate(timeout=30)
    assert code == 0, err
    assert out.startswith(b"// graphtrace")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO, not a regular file


def test_a_device_output_is_written_into(tmp_path: Path) -> None:
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    files.atomic_write("/dev/null", b"data")  # a character device: written into, not replaced
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_refuse_inputs_compares_files_not_spellings(tmp_path: Path) -> None:
    (tmp_path / "a.gt").write_text("x: input = 1", encoding="utf-8")
    with pytest.raises(OutputError):
        files.refuse_inputs(tmp_path / "." / "a.gt", tmp_path / "a.gt")
    files.refuse_inputs(tmp_path / "b.gt", tmp_path / "a.gt", "-", None)  # different files pass


# ---- signals ---------------------------------------------------------------------------------------
def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "graphtrace", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env=dict(os.environ, PYTHONIOENCODING="utf-8"))


def _slow_script(tmp_path: Path) -> None:
    lines = ["x: input = 0.5", "a0: param = 0.1"] + [f"a{i + 1} = sin(a{i}) + x" for i in range(90)]
    (tmp_path / "slow.gt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _children(pid: int) -> list[int]:
    found = []
    for st in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = st.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(st.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals and /proc")
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
@pytest.mark.parametrize("command", ["render", "explore"])
def test_sigterm_and_sighup_kill_graphviz_and_leave_nothing(tmp_path: Path, sig: int, code: int, command: str) -> None:
    _slow_script(tmp_path)
    args = (["render", "slow.gt", "-o", "slow.svg", "--timeout", "300"] if command == "render"
            else ["explore", "slow.gt", "--no-open", "-o", "slow.html"])
    proc = _start(args, tmp_path)
    deadline = time.monotonic() + 30
    while not (kids := _children(proc.pid)):  # wait for the layout to run
        assert time.monotonic() < deadline and proc.poll() is None, "no Graphviz child started"
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err.decode()
    assert b"terminated" in err and b"Traceback" not in err
    time.sleep(0.3)
    assert [k for k in kids if _alive(k)] == [], "Graphviz outlived graphtrace"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.gt"]


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")
def test_sigterm_during_training_leaves_no_file(tmp_path: Path) -> None:
    assert run_main(["mlp", "2-16-16-1", "-o", str(tmp_path / "net.gt")])[0] == 0
    assert run_main(["data", "triangle", "-o", str(tmp_path / "t.csv")])[0] == 0
    proc = _start(["train", "net.gt", "--data", "t.csv", "-o", "out.gt", "--epochs", "100000"], tmp_path)
    time.sleep(2.0)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.gt", "t.csv"]


# ---- text that reaches SVG, XML and HTML --------------------------------------------------------
def test_control_characters_in_comments_never_reach_svg(tmp_path: Path) -> None:
    script = "x: input = 1\ny = sin(x +  # a \x01\x0b comment\n  2) * 3\n"
    (tmp_path / "c.gt").write_text(script, encoding="utf-8")
    code, _, err = run_main(["render", str(tmp_path / "c.gt"), "-o", str(tmp_path / "c.svg")])
    assert code == 0, err
    xml.dom.minidom.parse(str(tmp_path / "c.svg"))  # well-formed XML
    dot = graphtrace.load(tmp_path / "c.gt").to_dot()
    assert "\x01" not in dot and "comment" not in dot  # the expression is shown without its comment
    assert "x + 2" in dot


def test_quote_drops_characters_xml_forbids() -> None:
    from graphtrace.dot import quote

    assert quote("a\x01b\x1fc\td") == '"abc\td"'


# ---- small ones ----------------------------------------------------------------------------------
def test_threshold_nan_is_refused(tmp_path: Path) -> None:
    assert run_main(["data", "triangle", "-n", "30", "-o", str(tmp_path / "t.csv")])[0] == 0
    code, _, err = run_main(["train", str(SAMPLES / "triangle.gt"), "--data", str(tmp_path / "t.csv"),
                             "--threshold", "nan"])
    _clean_exit_2(code, err)


def test_explore_has_the_force_its_hint_names(tmp_path: Path) -> None:
    lines = ["x: input = 0.5"] + [f"a{i} = x*{i + 2}" for i in range(3100)]
    (tmp_path / "wide.gt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run_main(["explore", str(tmp_path / "wide.gt"), "--no-open", "-o", str(tmp_path / "p.html")])
    _clean_exit_2(code, err)
    assert "--force" in err
    code, out, _ = run_main(["explore", "--help"])
    assert code == 0 and "--force" in out


def test_library_arguments_of_the_wrong_type_give_graphtrace_errors() -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    calls = [lambda: g.check(values={"x1": np.array([1.0, 2.0])}), lambda: g.forward(values=[1]),
             lambda: graphtrace.parse(3), lambda: graphtrace.load(3.5), lambda: g.check("α"),
             lambda: g.forward({"x1": "a"}), lambda: g.node([1]), lambda: g.paths("nope"),
             lambda: g.forward({"x1": np.ones((2, 2))})]
    for call in calls:
        with pytest.raises(GraphtraceError):
            call()


def test_backprop_takes_a_forward_positionally() -> None:
    g = graphtrace.load(SAMPLES / "neuron.gt")
    f = g.forward(values={"α": 0.1})
    assert g.backprop(f)["α"] == pytest.approx(-0.33181, abs=5e-6)
    assert g.backprop(f)["α"] == g.backprop(forward=f)["α"] == g.backprop({"α": 0.1})["α"]


# ---- limits that are new ---------------------------------------------------------------------------
def test_paths_top_is_bounded(monkeypatch) -> None:
    code, _, err = run_main(["paths", str(SAMPLES / "neuron.gt"), "--wrt", "α", "--top", "100000"])
    _clean_exit_2(code, err)
    assert "GRAPHTRACE_MAX_TOP" in err
    monkeypatch.setenv("GRAPHTRACE_MAX_TOP", "200000")
    assert run_main(["paths", str(SAMPLES / "neuron.gt"), "--wrt", "α", "--top", "100000"])[0] == 0


def test_layout_work_is_refused_before_graphviz(monkeypatch, tmp_path: Path) -> None:
    lines = ["x: input = 0.5", "a0: param = 0.1"] + [f"a{i + 1} = sin(a{i}) + x" for i in range(100)]
    (tmp_path / "c.gt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("GRAPHTRACE_MAX_LAYOUT_WORK", "1000")
    code, _, err = run_main(["render", str(tmp_path / "c.gt"), "-o", str(tmp_path / "c.svg")])
    _clean_exit_2(code, err)
    assert "GRAPHTRACE_MAX_LAYOUT_WORK" in err and not (tmp_path / "c.svg").exists()
    code, _, err = run_main(["render", str(tmp_path / "c.gt"), "-o", str(tmp_path / "c.dot")])
    assert code == 0, err  # DOT needs no layout


def test_graphviz_runs_under_a_memory_budget(monkeypatch, tmp_path: Path) -> None:
    lines = ["x: input = 0.5", "a0: param = 0.1"] + [f"a{i + 1} = sin(a{i}) + x" for i in range(300)]
    (tmp_path / "c.gt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("GRAPHTRACE_LAYOUT_MEMORY_MB", "60")
    code, _, err = run_main(["render", str(tmp_path / "c.gt"), "--no-edge-labels", "-o", str(tmp_path / "c.svg")])
    _clean_exit_2(code, err)
    assert "memory budget" in err and "GRAPHTRACE_LAYOUT_MEMORY_MB" in err
    assert render.memory_budget() == 60 * 2**20


def test_finite_differences_are_sampled_above_the_budget(monkeypatch) -> None:
    g = graphtrace.mlp([4, 8, 1], seed=1)
    monkeypatch.setenv("GRAPHTRACE_MAX_NUMERIC_WORK", str(10 * g.nx.number_of_edges()))
    report = g.check()
    assert report.numeric_sampled == 10
    numeric = [e for e in report.entries.values() if e.numeric is not None]
    assert len(numeric) == 10 and report.ok
    code, out, err = run_main(["grad", "-e", g.source.text, "--json"])
    import json

    doc = json.loads(out)
    assert doc["check"]["numeric_sample"] == {"sampled": 10, "of": len(g.params), "seed": 0}
    assert sum(v["numeric"] is not None for v in doc["gradients"].values()) == 10
    assert g.check(numeric_all=True).numeric_sampled is None
    monkeypatch.setenv("GRAPHTRACE_MAX_PATH_WORK", "100")
    with pytest.raises(GraphtraceError, match="GRAPHTRACE_MAX_PATH_WORK"):
        g.check()


def test_mlp_says_what_grad_will_do(monkeypatch) -> None:
    monkeypatch.setenv("GRAPHTRACE_MAX_NUMERIC_WORK", "1000")
    code, _, err = run_main(["mlp", "4-8-1", "-o", os.devnull])
    assert code == 0 and "seeded sample" in err
    monkeypatch.setenv("GRAPHTRACE_MAX_PATH_WORK", "1000")
    code, _, err = run_main(["mlp", "4-8-1", "-o", os.devnull])
    assert code == 0 and "--wrt" in err


def test_usage_errors_are_not_internal_errors() -> None:
    with pytest.raises(UsageError):
        graphtrace.parse("x: input = 1\ny = x").check(values=[1])


@pytest.mark.skipif(not os.path.islink("/dev/stdout"), reason="needs /dev/stdout as a link")
def test_dev_stdout_is_written_into_even_when_it_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "captured.gt"
    try:
        with open(target, "wb") as f:
            proc = subprocess.run([sys.executable, "-m", "graphtrace", "mlp", "2-1", "-o", "/dev/stdout"],
                                  stdout=f, stderr=subprocess.PIPE, timeout=60)
        assert proc.returncode == 0, proc.stderr.decode()
        assert target.read_text(encoding="utf-8").startswith("# Made by: graphtrace mlp 2-1")
        assert os.path.islink("/dev/stdout"), "the /dev/stdout link was replaced by a file"
    finally:
        if not os.path.islink("/dev/stdout") and os.access("/dev", os.W_OK):  # repair what a failure broke
            os.unlink("/dev/stdout")
            os.symlink("/proc/self/fd/1", "/dev/stdout")
