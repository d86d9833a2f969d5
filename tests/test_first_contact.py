"""First contact (issue 12): what a newcomer meets in the first ten minutes after a plain install.

Every `--help` example runs from an empty folder; the bundled samples are reachable as
``sample:NAME``; `--version`, `--help` and completion start without numpy or networkx; constants
draw no false alarms; named constants are leaves; `--of` cannot be mistaken for `-o`; the demo
teaches with path tables that carry a gradient and writes no absolute folder; the library's
results show as HTML in Jupyter and export to networkx.
"""

from __future__ import annotations

import io
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import webbrowser
from pathlib import Path

import networkx as nx
import pytest
from helpers import ROOT, SAMPLES, assert_clean_error, run_main, strict_json

import graphtrace
from graphtrace import bundled
from graphtrace.cli import cli

# ---- every --help example, from an empty folder --------------------------------------------------


def _examples(help_text: str) -> list[str]:
    """The example command lines of a help text (the indented `graphtrace …` lines after
    'Example:' or 'Examples:')."""
    lines = help_text.splitlines()
    out: list[str] = []
    inside = False
    for line in lines:
        stripped = line.strip()
        if stripped in ("Example:", "Examples:"):
            inside = True
            continue
        if inside and stripped.startswith("graphtrace "):
            out.append(stripped)
        elif inside and stripped:
            inside = False
    return out


COMMANDS = sorted(cli.commands)


def test_every_command_has_examples() -> None:
    assert _examples(cli.help or ""), "the group's help has no example"
    for name in COMMANDS:
        assert _examples(cli.commands[name].help or ""), f"`graphtrace {name} --help` has no example"


def _run_example(line: str) -> None:
    for part in line.split("&&"):
        args = shlex.split(part, comments=True)  # an example may end in "# what it does"
        assert args[0] == "graphtrace", line
        code, out, err = run_main(args[1:])
        assert code == 0, f"`{line}` failed with exit {code}:\n{err}"


def _torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def empty_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setattr(webbrowser, "open", lambda *a, **k: True)  # `explore` opens no browser here
    monkeypatch.setenv("GRAPHTRACE_BACKEND", os.environ.get("GRAPHTRACE_BACKEND", "auto"))
    return folder


def test_the_groups_help_examples_run_from_an_empty_folder(empty_folder: Path) -> None:
    for line in _examples(cli.help or ""):
        _run_example(line)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_help_example_runs_from_an_empty_folder(name: str, empty_folder: Path) -> None:
    examples = _examples(cli.commands[name].help or "")
    assert examples
    for line in examples:
        if "torch_mlp" in line and not _torch():
            continue  # the optional extra; its own tests skip the same way
        _run_example(line)
    if name == "demo":
        _check_demo(empty_folder / "graphtrace-demo", forbidden=[empty_folder])


# ---- the demo: relative names, path tables that teach, each section's own explorer ---------------
def _check_demo(out: Path, forbidden: list[Path]) -> None:
    assert (out / "index.html").is_file()
    folders = {str(p) for p in forbidden}
    folders |= {str(ROOT), str(bundled.samples_dir()), str(Path(graphtrace.__file__).parent),
                os.path.realpath(tempfile.gettempdir()) + os.sep, tempfile.gettempdir() + os.sep,
                str(Path.home()) + os.sep}
    for f in sorted(out.rglob("*")):
        if not f.is_file():
            continue
        data = f.read_bytes()
        for folder in folders:
            assert folder.encode() not in data, f"{f.relative_to(out)} names the folder {folder}"
        assert b"site-packages" not in data, f"{f.relative_to(out)} names the install folder"
    tables = sorted(out.glob("*/paths.txt"))
    assert len(tables) == 13
    for table in tables:
        text = table.read_text(encoding="utf-8")
        total = float(re.search(r"sum over all [\d,]+ paths? = (\S+)", text).group(1))
        assert total != 0 or re.search(r"so ∂\S+ = 0 here", text), f"{table}: a zero sum without a reason"
        rows = re.findall(r"│ (\d+) │.*│\s+(\S+) │", text)
        for number, product in rows:
            if float(product.replace("−", "-")) == 0:
                assert f"path {number} (" in text and "contributes 0" in text, f"{table}: path {number} is 0, unexplained"
    # §3, §4 and §11 tabulate w1_2_1 (x2 = −0.5), not w1_1_1 (every path 0 at x1 = 0)
    for section in ("03-", "04-", "11-"):
        (table,) = out.glob(f"{section}*/paths.txt")
        assert "∂L/∂w1_2_1" in table.read_text(encoding="utf-8")
    # each explorer is the section's own net, training at the section's learning rate
    title = {p.parent.name[:3]: re.search(r"<title>([^<]*) ·", p.read_text(encoding="utf-8")).group(1)
             for p in out.glob("*/explorer.html")}
    assert title["03-"] == "triangle.gt" and title["12-"] == "symmetry_zeros.gt" and title["08-"] == "circle_net.gt"
    (page,) = out.glob("08-*/explorer.html")
    assert re.search(r'"lr":0\.03\b', page.read_text(encoding="utf-8"))
    assert "(triangle.gt)" in next(out.glob("03-*/grad.txt")).read_text(encoding="utf-8")


# ---- start-up: no numpy, no networkx for --version, --help, completion -----------------------------
def _imported(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    full = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "graphtrace", *args], capture_output=True,
                          cwd=ROOT, env=full, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    names = set()
    for line in proc.stderr.decode("utf-8", "replace").splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "graphtrace.cli" in names  # the measurement saw graphtrace start
    return names


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["grad", "--help"], ["render", "--help"]])
def test_version_help_and_completion_import_neither_numpy_nor_networkx(args: list[str]) -> None:
    heavy = sorted(n for n in _imported(args) if n.split(".")[0] in ("numpy", "networkx", "rich", "matplotlib"))
    assert not heavy, f"graphtrace {' '.join(args)} imported {heavy[:5]}"


def test_completion_imports_neither_numpy_nor_networkx() -> None:
    env = {"_GRAPHTRACE_COMPLETE": "bash_complete", "COMP_WORDS": "graphtrace grad sample:neuron --wrt ",
           "COMP_CWORD": "4"}
    names = _imported([], env)
    assert not [n for n in names if n.split(".")[0] in ("numpy", "networkx")]


def test_version_does_not_need_the_installed_distributions_metadata() -> None:
    code, out, err = run_main(["--version"])
    assert code == 0 and out.strip() == f"graphtrace {graphtrace.__version__}"


# ---- shell completion ---------------------------------------------------------------------------
def _complete(monkeypatch: pytest.MonkeyPatch, words: str, shell: str = "bash") -> list[str]:
    parts = words.split(" ")
    monkeypatch.setenv("_GRAPHTRACE_COMPLETE", f"{shell}_complete")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(parts) - 1))
    code, out, err = run_main([])
    assert code == 0, err
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]


def test_wrt_completes_the_scripts_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _complete(monkeypatch, "graphtrace grad sample:neuron --wrt ") == ["x1", "x2", "α", "β", "y", "s", "z", "L"]
    assert _complete(monkeypatch, "graphtrace grad sample:neuron --wrt x") == ["x1", "x2"]
    assert _complete(monkeypatch, "graphtrace render sample:neuron -o n.svg --of ") == \
        ["x1", "x2", "α", "β", "y", "s", "z", "L"]
    assert _complete(monkeypatch, "graphtrace grad sample:neuron --set ") == ["x1=", "x2=", "α=", "β=", "y="]
    path = SAMPLES / "product_rule.gt"
    assert _complete(monkeypatch, f"graphtrace paths {path} --wrt ") == ["x", "f", "g", "h"]
    # bash splits sample:neuron at the colon
    assert _complete(monkeypatch, "graphtrace grad sample : neuron --wrt ")[:2] == ["x1", "x2"]
    # a broken or missing script completes nothing, with no error
    assert _complete(monkeypatch, "graphtrace grad nowhere.gt --wrt ") == []


def test_sources_complete_sample_names(monkeypatch: pytest.MonkeyPatch) -> None:
    got = _complete(monkeypatch, "graphtrace grad sample:ne")
    assert got == ["sample:neuron"]
    got = _complete(monkeypatch, "graphtrace train sample:neuron --data sample:t")
    assert got == ["sample:triangle"]
    assert _complete(monkeypatch, "graphtrace grad sample : ne") == ["neuron"]  # bash's split words


# ---- samples -------------------------------------------------------------------------------------
def test_the_sample_table_lists_exactly_the_bundled_files() -> None:
    on_disk = {p.name for p in SAMPLES.iterdir() if p.is_file() and p.name != "README.md"}
    assert set(bundled.SAMPLES) == on_disk


def test_samples_lists_one_line_each() -> None:
    code, out, err = run_main(["samples"])
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == len(bundled.SAMPLES)
    assert any(line.startswith("neuron.gt ") and "§10" in line for line in lines)
    assert "sample:NAME" in err


def test_samples_prints_and_copies(tmp_path: Path) -> None:
    code, out, err = run_main(["samples", "neuron"])
    assert code == 0 and out == (SAMPLES / "neuron.gt").read_text(encoding="utf-8")
    code, out, err = run_main(["samples", "neuron", "triangle", "-o", str(tmp_path / "c")])
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["neuron.gt", "triangle.csv", "triangle.gt"]
    assert (tmp_path / "c" / "triangle.csv").read_bytes() == (SAMPLES / "triangle.csv").read_bytes()
    # an edited copy is never replaced without --force; an identical one is fine
    (tmp_path / "c" / "neuron.gt").write_text("# mine\n", encoding="utf-8")
    code, out, err = run_main(["samples", "neuron", "-o", str(tmp_path / "c")])
    assert_clean_error(code, out, err, where="differs from the sample")
    assert (tmp_path / "c" / "neuron.gt").read_text(encoding="utf-8") == "# mine\n"
    code, out, err = run_main(["samples", "triangle", "-o", str(tmp_path / "c")])
    assert code == 0, err
    code, out, err = run_main(["samples", "--all", "-o", str(tmp_path / "all")])
    assert code == 0, err
    assert len(list((tmp_path / "all").iterdir())) == len(bundled.SAMPLES)


@pytest.mark.parametrize("args, where", [
    (["samples", "nuron"], "did you mean 'neuron'"),
    (["samples", "triangle"], "name one file"),
    (["samples", "-o", "x"], "name the samples"),
    (["samples", "neuron", "--all", "-o", "x"], "not both"),
    (["grad", "sample:nuron"], "did you mean 'neuron'"),
    (["grad", "sample:triangle.csv"], "no sample script named 'triangle.csv'"),
    (["train", "sample:neuron", "--data", "sample:nope"], "no sample data set named 'nope'"),
])
def test_sample_errors_are_clean(args: list[str], where: str) -> None:
    code, out, err = run_main(args)
    assert_clean_error(code, out, err, where=where)


def test_sample_names_work_as_source_and_data(tmp_path: Path) -> None:
    code, out, err = run_main(["grad", "sample:neuron", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    z = 1 / (1 + math.exp(-(0.5 * 1.0 + (-0.3) * (-2.0))))
    assert doc["gradients"]["α"]["backprop"] == pytest.approx((z - 1) * 1.0, rel=1e-12)
    code, out, err = run_main(["grad", "sample:neuron.gt"])
    assert code == 0 and "(sample:neuron)" not in out and "(sample:neuron.gt)" in out, out
    page = tmp_path / "t.html"
    code, out, err = run_main(["render", "sample:triangle", "--data", "sample:triangle.csv", "-o", str(page)])
    assert code == 0, err
    text = page.read_text(encoding="utf-8")
    assert "sample:triangle.csv" in text and str(SAMPLES) not in text
    code, out, err = run_main(["train", "sample:symmetry_random", "--data", "sample:triangle", "--epochs", "2",
                               "--json"])
    assert code == 0, err
    assert strict_json(out)["samples"] == 200
    assert graphtrace.load("sample:neuron").name == "sample:neuron"


# ---- --of, not to be confused with -o --------------------------------------------------------------
def test_of_names_the_node_and_output_still_works_with_a_note() -> None:
    code, out, err = run_main(["grad", "sample:neuron", "--of", "z", "--wrt", "α", "--json"])
    assert code == 0, err
    assert strict_json(out)["output"] == "z" and "note" not in err
    code, out2, err = run_main(["grad", "sample:neuron", "--output", "z", "--wrt", "α", "--json"])
    assert code == 0 and out2 == out
    assert "--output is now --of" in err


@pytest.mark.parametrize("args", [["render", "sample:neuron", "--output", "n.svg"],
                                  ["render", "sample:neuron", "--of", "n.svg"],
                                  ["grad", "sample:neuron", "--output", "out/n.png"]])
def test_a_file_name_given_as_the_node_gets_the_o_hint(args: list[str]) -> None:
    code, out, err = run_main(args)
    assert code == 2 and "Traceback" not in err, err
    assert "looks like a file name" in err and "Missing option" not in err
    if args[0] == "render":
        assert "-o n.svg" in err


def test_wrt_did_you_mean_is_case_insensitive_and_knows_greek() -> None:
    for given, meant in (("alpha", "α"), ("Alpha", "α"), ("BETA", "β"), ("l", "L"), ("X1", "x1")):
        code, out, err = run_main(["grad", "sample:neuron", "--wrt", given])
        assert_clean_error(code, out, err, where=f"did you mean '{meant}'")
    code, out, err = run_main(["grad", "sample:neuron", "--of", "zz"])
    assert_clean_error(code, out, err, where="did you mean 'z'")


# ---- gradients for what the user can change ---------------------------------------------------------
def test_a_squared_negative_base_raises_no_alarm(tmp_path: Path) -> None:
    for ext in ("svg", "dot", "json"):
        out_file = tmp_path / f"y.{ext}"
        code, out, err = run_main(["render", "-e", "x: param = -3; y = x**2", "-o", str(out_file)])
        assert code == 0, err
        assert "nan" not in err and "not finite" not in err and "warning" not in err, err
        assert "nan" not in out_file.read_text(encoding="utf-8").lower().replace("nanmean", "")
    # the squared error of a prediction above its target, the case that hit every MSE net
    code, out, err = run_main(["render", "-e", "o: param = 2; y: input = 1; L = 0.5*(y - o)**2", "-o",
                               str(tmp_path / "mse.dot")])
    assert code == 0 and "warning" not in err, err


def test_show_consts_draws_undefined_with_its_reason(tmp_path: Path) -> None:
    dot = tmp_path / "y.dot"
    code, out, err = run_main(["render", "-e", "x: param = -3; y = x**2", "--show-consts", "-o", str(dot)])
    assert code == 0, err
    text = dot.read_text(encoding="utf-8")
    assert 'label="undefined"' in text and "nan" not in text
    assert "x^2·ln x is not a real number at x = −3" in text
    assert "undefined" in err and "warning" not in err
    code, out, err = run_main(["render", "-e", "x: param = -3; y = x**2", "--show-consts", "-o",
                               str(tmp_path / "y.json")])
    assert code == 0, err
    doc = strict_json((tmp_path / "y.json").read_text(encoding="utf-8"))
    (edge,) = [e for e in doc["edges"] if e["tail"] == "const_1"]
    assert edge["local"] is None and "not a real number" in edge["undefined"]


def test_a_named_constant_exponent_is_a_leaf_whose_undefined_gradient_is_said_so(tmp_path: Path) -> None:
    dot = tmp_path / "k.dot"
    code, out, err = run_main(["render", "-e", "x: param = -3; k = 2; y = x**k", "-o", str(dot)])
    assert code == 0 and "warning" not in err, err
    text = dot.read_text(encoding="utf-8")
    assert "∂y/∂k undefined" in text and "nan" not in text
    assert "x^k·ln x is not a real number at x = −3, k = 2" in text


def test_named_constants_are_drawn_as_leaves_with_their_gradients(tmp_path: Path) -> None:
    dot = tmp_path / "c.dot"
    code, out, err = run_main(["render", "-e", "a = -4.0; b = 2.0; c = a*b", "-o", str(dot)])
    assert code == 0, err
    text = dot.read_text(encoding="utf-8")
    assert re.search(r'^  "a" \[.*∂c/∂a = 2<', text, re.M) and re.search(r'^  "b" \[.*∂c/∂b = −4<', text, re.M)
    assert '"a" -> "c"' in text and '"b" -> "c"' in text


def test_grad_reports_named_leaves_when_there_is_no_param() -> None:
    code, out, err = run_main(["grad", "-e", "a = -4.0; b = 2.0; c = a*b"])
    assert code == 0, err
    rows = {m.group(1): float(m.group(2)) for m in re.finditer(r"│ (\w+)\s+│\s+\S+\s+│\s+(\S+)\s+│", out)}
    assert rows == {"a": 2.0, "b": -4.0}
    assert "named leaves" in err and "inputs that" not in err
    code, out, err = run_main(["check", "-e", "a = -4.0; b = 2.0; c = a*b", "--json"])
    assert code == 0, err
    # a named constant whose gradient is not a number here (∂(x^k)/∂k = x^k·ln x, x < 0) is left out,
    # and the note says so; x's gradient, 2x = −6, is reported
    code, out, err = run_main(["grad", "-e", "x = -3; k = 2; y = x**k", "--json"])
    assert code == 0, err
    assert list(strict_json(out)["gradients"]) == ["x"] and strict_json(out)["gradients"]["x"]["backprop"] == -6.0
    assert "left out: k" in err
    code, out, err = run_main(["grad", "-e", "a = -4.0; c = a*2", "--set", "a=1"])
    assert_clean_error(code, out, err, where="named constant")


# ---- the library ----------------------------------------------------------------------------------
def test_the_readme_library_example_runs_and_prints_the_gradient_at_alpha_0_1(monkeypatch) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("## The library"):].split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    z = 1 / (1 + math.exp(-(0.1 * 1.0 + (-0.3) * (-2.0))))  # σ(α·x1 + β·x2) at α = 0.1
    assert out.getvalue().splitlines()[0] == f"{(z - 1.0) * 1.0:.5f}" == "-0.33181"


def test_backprop_and_check_take_a_forward_positionally() -> None:
    g = graphtrace.load("sample:neuron")
    f = g.forward(values={"α": 0.1})
    z = 1 / (1 + math.exp(-0.7))
    assert g.backprop(f)["α"] == pytest.approx(z - 1.0, rel=1e-12)
    report = g.check(f)
    assert report.ok and report.entries["α"].backprop == pytest.approx(z - 1.0, rel=1e-12)
    assert g.check(["β"], f).entries["β"].backprop == pytest.approx((z - 1.0) * -2.0, rel=1e-12)
    assert g.check(forward=f).entries["α"].numeric == pytest.approx(z - 1.0, rel=1e-8)
    with pytest.raises(graphtrace.GraphtraceError, match="not both"):
        g.check(None, {"α": 0.2}, forward=f)


def test_results_have_short_reprs_and_html_tables() -> None:
    g = graphtrace.load("sample:neuron")
    f = g.forward()
    objs = [f, g.backprop(f), g.paths("α"), g.paths_report("α"), g.check()]
    for obj in objs:
        assert len(repr(obj)) < 500, type(obj).__name__
        page = obj._repr_html_()
        assert page.startswith("<table>") and page.endswith("</table>"), type(obj).__name__
    assert "α" in objs[1]._repr_html_() and "-0.2497398944" in objs[1]._repr_html_()
    assert "mul_1" in objs[2]._repr_html_() and "0.1874" in objs[2]._repr_html_()
    assert "✓" in objs[4]._repr_html_()
    net = graphtrace.mlp([2, 3, 1], seed=0)
    from graphtrace.data import make_dataset

    result = graphtrace.train(net, make_dataset("triangle", 50, seed=0), epochs=3)
    assert len(repr(result)) < 300 and "TrainResult" in repr(result)


def test_html_escapes_names() -> None:
    from graphtrace.text import html_table

    assert "<script>" not in html_table(["a"], [["<script>"]])


def test_to_networkx_carries_values_gradients_and_local_derivatives(tmp_path: Path) -> None:
    g = graphtrace.load("sample:neuron")
    h = g.to_networkx()
    assert h is not g.nx and h.number_of_edges() == g.nx.number_of_edges()
    z = 1 / (1 + math.exp(-1.1))  # s = α·x1 + β·x2 = 0.5·1 + (−0.3)·(−2)
    assert h.nodes["z"]["value"] == pytest.approx(z, rel=1e-12)
    assert h.nodes["α"]["grad"] == pytest.approx(z - 1.0, rel=1e-12)
    assert h.edges["s", "z", 0]["local"] == pytest.approx(z * (1 - z), rel=1e-12)
    assert h.edges["s", "z", 0]["symbolic"] == "σ(s)·(1−σ(s))"
    assert h.graph["output"] == "L"
    path = tmp_path / "n.graphml"
    nx.write_graphml(h, path)
    back = nx.read_graphml(path)
    assert float(back.nodes["α"]["grad"]) == pytest.approx(z - 1.0, rel=1e-12)
    square = graphtrace.parse("x: input = 3\ny = x*x").to_networkx(multigraph=False)
    assert square.edges["x", "y"]["local"] == 6.0 and square.edges["x", "y"]["count"] == 2
    tex = nx.to_latex(graphtrace.load("sample:product_rule").to_networkx(multigraph=False))
    assert r"\begin{tikzpicture}" in tex and "node (x){x}" in tex
    # values are honoured, and the graph itself is unchanged
    assert g.to_networkx({"α": 0.1}).nodes["α"]["value"] == 0.1
    assert "grad" not in g.nx.nodes["α"]


def test_render_and_to_dot_take_typed_keywords(tmp_path: Path) -> None:
    g = graphtrace.load("sample:neuron")
    with pytest.raises(TypeError, match="veiw"):
        g.render(tmp_path / "n.svg", veiw="backward")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="symbollic"):
        g.to_dot(symbollic=True)  # type: ignore[call-arg]
    assert g.to_dot(view="backward", wrt="α", symbolic=True).count("->") > 5
    g2 = graphtrace.load("sample:triangle")
    g2.render(tmp_path / "t.html", data="sample:triangle.csv")
    assert "triangle.csv" in (tmp_path / "t.html").read_text(encoding="utf-8")
    with pytest.raises(graphtrace.GraphtraceError, match="explorer page"):
        g2.render(tmp_path / "t.svg", data="sample:triangle.csv")


def test_explore_returns_a_page_that_jupyter_shows_in_a_sandboxed_iframe(tmp_path: Path) -> None:
    page = graphtrace.load("sample:neuron").explore(wrt="α")
    frame = page._repr_html_()
    assert frame.startswith("<iframe") and 'sandbox="allow-scripts"' in frame
    assert "allow-same-origin" not in frame
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame).group(1)
    import html

    assert html.unescape(srcdoc) == page.html and page.html.startswith("<!DOCTYPE html>")
    page.save(tmp_path / "n.html")
    assert (tmp_path / "n.html").read_text(encoding="utf-8") == page.html
    assert len(repr(page)) < 200
