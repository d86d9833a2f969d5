"""The command line: outputs, JSON shapes, options, exit codes and every bad input."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from helpers import SAMPLES, assert_clean_error, mlp_script, run_cli, run_main, strict_json

import graphtrace
from graphtrace.cli import cli
from graphtrace.ops import OPS

NEURON = str(SAMPLES / "neuron.gt")
PRODUCT = str(SAMPLES / "product_rule.gt")


def neuron_expected(x1=1.0, x2=-2.0, a=0.5, b=-0.3, y=1.0):
    z = 1 / (1 + math.exp(-(a * x1 + b * x2)))
    return z, (z - y) * x1, (z - y) * x2


# ---- help ------------------------------------------------------------------------------------------
def test_group_help_and_version():
    code, out, err = run_main(["--help"])
    assert code == 0, err
    for name in ("grad", "check", "paths"):
        assert name in out
    code, out, _ = run_main(["--version"])
    assert code == 0 and graphtrace.__version__ in out


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_help_has_an_example(name):
    code, out, err = run_main([name, "--help"])
    assert code == 0, err
    assert "Example" in out, out
    assert f"graphtrace {name}" in out, out


# ---- grad ------------------------------------------------------------------------------------------
GRAD_KEYS = {"output", "value", "values", "gradients", "check"}


def test_grad_json_matches_contract_and_analytic_values():
    code, out, err = run_main(["grad", NEURON, "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert GRAD_KEYS <= set(doc)
    assert doc["output"] == "L"
    z, da, db = neuron_expected()
    assert doc["values"]["z"] == pytest.approx(z, rel=1e-12)
    assert set(doc["values"]) == {"x1", "x2", "α", "β", "y", "s", "z", "L"}
    assert doc["value"] == doc["values"]["L"]
    assert set(doc["gradients"]) == {"α", "β"}  # every param by default
    for name, expected in (("α", da), ("β", db)):
        e = doc["gradients"][name]
        assert {"paths", "backprop", "numeric", "n_paths"} <= set(e)
        assert isinstance(e["n_paths"], int) and e["n_paths"] == 2
        for k in ("paths", "backprop", "numeric"):
            assert e[k] == pytest.approx(expected, rel=1e-6), k
        assert e["paths"] == pytest.approx(e["backprop"], rel=1e-12)
    assert {"max_abs_error", "max_rel_error", "ok"} <= set(doc["check"])
    assert doc["check"]["ok"] is True
    assert "α" in out  # ensure_ascii=False: names are written as they are


@pytest.mark.parametrize("x1, x2, a, b, y", [(2.0, 0.5, -1.0, 0.3, 0.0), (-1.0, 3.0, 0.25, -0.75, 1.0)])
def test_grad_set_changes_the_point(x1, x2, a, b, y):
    args = ["grad", NEURON, "--json"]
    for k, v in (("x1", x1), ("x2", x2), ("α", a), ("β", b), ("y", y)):
        args += ["--set", f"{k}={v}"]
    code, out, err = run_main(args)
    assert code == 0, err
    doc = strict_json(out)
    _, da, db = neuron_expected(x1, x2, a, b, y)
    assert doc["gradients"]["α"]["backprop"] == pytest.approx(da, rel=1e-10)
    assert doc["gradients"]["β"]["paths"] == pytest.approx(db, rel=1e-10)
    assert doc["values"]["x1"] == x1


def test_grad_wrt_intermediates_and_inputs():
    code, out, err = run_main(["grad", NEURON, "--json", "--wrt", "z", "--wrt", "x1", "--wrt", "s"])
    assert code == 0, err
    doc = strict_json(out)
    assert list(doc["gradients"]) == ["z", "x1", "s"]
    z, _, _ = neuron_expected()
    # ∂L/∂z = −1/z for y = 1; ∂L/∂s = z − y; ∂L/∂x1 = (z − y)·α
    assert doc["gradients"]["z"]["backprop"] == pytest.approx(-1 / z, rel=1e-10)
    assert doc["gradients"]["z"]["numeric"] == pytest.approx(-1 / z, rel=1e-6)
    assert doc["gradients"]["s"]["paths"] == pytest.approx(z - 1, rel=1e-10)
    assert doc["gradients"]["x1"]["numeric"] == pytest.approx((z - 1) * 0.5, rel=1e-6)


def test_grad_output_option():
    code, out, err = run_main(["grad", NEURON, "--json", "--output", "s", "--wrt", "α"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["output"] == "s"
    assert doc["gradients"]["α"]["backprop"] == pytest.approx(1.0)  # ∂s/∂α = x1


def test_grad_human_table():
    code, out, err = run_main(["grad", NEURON])
    assert code == 0, err
    _, da, db = neuron_expected()
    assert "α" in out and "β" in out
    assert f"{da:.6f}"[:7] in out
    assert "Traceback" not in err


def test_grad_inline_and_stdin_agree():
    script = "x: param = 3\ny = x*x*x"
    a = run_main(["grad", "-e", script, "--json"])
    b = run_main(["grad", "-", "--json"], input=script)
    c = run_main(["grad", "-e", "x: param = 3; y = x*x*x", "--json"])
    assert a[0] == b[0] == c[0] == 0, (a, b, c)
    assert strict_json(a[1])["gradients"]["x"]["backprop"] == 27.0
    assert a[1] == b[1] == c[1]


def test_grad_without_params_uses_inputs_and_says_so():
    code, out, err = run_main(["grad", "-e", "x: input = 2\ny = x*x", "--json"])
    assert code == 0
    assert strict_json(out)["gradients"]["x"]["backprop"] == 4.0
    assert "declares no param" in err and "named leaves" in err


def test_named_constants_are_leaves_like_micrograds():
    # micrograd's `a = Value(-4.0); b = Value(2.0); c = a*b`: ∂c/∂a = b = 2, ∂c/∂b = a = -4
    code, out, err = run_main(["grad", "-e", "a = -4.0; b = 2.0; c = a*b", "--json"])
    assert code == 0, err
    grads = strict_json(out)["gradients"]
    assert list(grads) == ["a", "b"]
    for name, expected in (("a", 2.0), ("b", -4.0)):
        assert grads[name]["paths"] == expected and grads[name]["backprop"] == expected
        assert abs(grads[name]["numeric"] - expected) < 1e-8
    assert "named leaves" in err and "does not exist" not in err
    code, out, err = run_main(["grad", "-e", "a = -4.0; b = 2.0; c = a*b"])
    assert code == 0 and "│ a " in out and "│ b " in out, out + err
    # an unnamed literal is no leaf: `3` in c = a*3 is folded, as before
    code, out, err = run_main(["grad", "-e", "a = -4.0; c = a*3", "--json"])
    assert code == 0 and list(strict_json(out)["gradients"]) == ["a"]
    # with a param declared, only params are reported by default
    code, out, err = run_main(["grad", "-e", "w: param = 1.5; k = 2.0; c = w*k", "--json"])
    assert code == 0 and list(strict_json(out)["gradients"]) == ["w"] and "named leaves" not in err


def test_grad_warns_on_unused_param():
    code, out, err = run_main(["grad", "-e", "a: param = 1\nb: param = 2\ny = a*3"])
    assert code == 0
    assert "'b'" in err and "warning" in err


def test_output_is_deterministic():
    a = run_main(["grad", NEURON, "--json"])
    b = run_main(["grad", NEURON, "--json"])
    assert a == b


def test_subprocess_entry_point():
    code, out, err = run_cli(["grad", NEURON, "--json"])
    assert code == 0, err
    assert strict_json(out)["output"] == "L"
    code, out, err = run_cli(["grad", "-", "--json"], input="w: param = 2\nL = w**3")
    assert code == 0, err
    assert strict_json(out)["gradients"]["w"]["backprop"] == 12.0


# ---- check -----------------------------------------------------------------------------------------
def test_check_ok_exit_0():
    code, out, err = run_main(["check", NEURON, "--tol", "1e-8"])
    assert code == 0, out + err
    assert "ok" in err


def test_check_json():
    code, out, err = run_main(["check", NEURON, "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["ok"] is True
    assert doc["max_abs_error"] < 1e-6


def test_check_mismatch_exit_1(monkeypatch):
    # a wrong partial for sin: path sum and backprop follow it, finite differences do not
    wrong = dataclasses.replace(OPS["sin"], partials=(lambda o, a: 1.01 * np.cos(a),))
    monkeypatch.setitem(OPS, "sin", wrong)
    code, out, err = run_main(["check", PRODUCT])
    assert code == 1, out + err
    assert "MISMATCH" in err
    code, out, err = run_main(["check", PRODUCT, "--json"])
    assert code == 1
    doc = strict_json(out)
    assert doc["ok"] is False and doc["failures"][0]["name"] == "x"
    # grad reports the check but does not fail
    code, out, err = run_main(["grad", PRODUCT, "--json"])
    assert code == 0
    assert strict_json(out)["check"]["ok"] is False


def test_check_tol_zero_can_fail():
    # finite differences are never exact for exp: a zero tolerance must report a mismatch
    code, out, err = run_main(["check", "-e", "x: param = 0.3\ny = exp(sin(x))*x", "--tol", "0"])
    assert code == 1, out + err


def test_check_loose_tol_passes():
    code, _, err = run_main(["check", "-e", "x: param = 0.3\ny = exp(sin(x))*x", "--tol", "1e-3"])
    assert code == 0, err


# ---- paths -----------------------------------------------------------------------------------------
def test_paths_json_contract():
    code, out, err = run_main(["paths", PRODUCT, "--wrt", "x", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert {"output", "wrt", "n_paths", "total", "paths"} <= set(doc)
    assert doc["output"] == "h" and doc["wrt"] == "x" and doc["n_paths"] == 2
    x = 0.5
    f1, f2 = math.cos(x) * math.exp(x), math.sin(x) * math.exp(x)
    assert doc["total"] == pytest.approx(f1 + f2, rel=1e-14)
    assert [p["nodes"] for p in doc["paths"]] == [["x", "f", "h"], ["x", "g", "h"]]  # |product| descending
    for p in doc["paths"]:
        assert set(p) >= {"nodes", "factors", "product"}
        assert len(p["factors"]) == len(p["nodes"]) - 1
        assert p["product"] == pytest.approx(math.prod(p["factors"]), rel=1e-14)
    assert doc["paths"][0]["product"] == pytest.approx(f1, rel=1e-14)


def test_paths_top_and_generated_ids():
    script = "x: param = 1.1\na = x*x\nb = a*a\nL = b*b + x"  # 8 + 1 paths
    code, out, err = run_main(["paths", "-e", script, "--wrt", "x", "--top", "3", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["n_paths"] == 9
    assert len(doc["paths"]) == 3
    mags = [abs(p["product"]) for p in doc["paths"]]
    assert mags == sorted(mags, reverse=True)
    assert doc["total"] == pytest.approx(8 * 1.1 ** 7 + 1, rel=1e-12)
    assert any(n.startswith("mul_") for p in doc["paths"] for n in p["nodes"])
    code, out, _ = run_main(["paths", "-e", script, "--wrt", "x", "--top", "0", "--json"])
    assert strict_json(out)["paths"] == []


def test_paths_human():
    code, out, err = run_main(["paths", PRODUCT, "--wrt", "x"])
    assert code == 0, err
    assert "2 paths" in out
    assert "x → f → h" in out


def test_paths_default_top_is_10():
    lines = ["x: param = 1.0", "s0 = x*x"] + [f"s{i} = s{i - 1}*s{i - 1}" for i in range(1, 6)]
    code, out, err = run_main(["paths", "-e", "\n".join(lines), "--wrt", "x", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["n_paths"] == 64 and len(doc["paths"]) == 10


def test_paths_unrelated_node_warns():
    code, out, err = run_main(["paths", "-e", "a: param = 1\nb: param = 1\nL = a*2", "--wrt", "b", "--json"])
    assert code == 0
    doc = strict_json(out)
    assert doc["n_paths"] == 0 and doc["total"] == 0.0 and doc["paths"] == []
    assert "warning" in err


def test_paths_exact_count_on_a_wide_deep_mlp(tmp_path):
    # the acceptance network: 4-64×8-1 sigmoid MLP with loss 0.5*(y - o)**2 (~30k params)
    p = tmp_path / "deep.gt"
    p.write_text(mlp_script([4] + [64] * 8 + [1]))
    code, out, err = run_main(["paths", str(p), "--wrt", "w1_0_0", "--json", "--top", "3"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["n_paths"] == 64 ** 7 == 4_398_046_511_104
    assert len(doc["paths"]) == 3
    assert "n_paths\": 4398046511104" in out  # an exact JSON integer, not a float
    # the path sum over 4.4e12 paths equals backprop's gradient (reported alongside)
    assert doc["total"] == pytest.approx(doc["backprop"], rel=1e-9, abs=1e-300)
    assert doc["total"] != 0.0


# ---- strict JSON -----------------------------------------------------------------------------------
def test_strict_json_helper_rejects_nan():
    with pytest.raises(ValueError):
        strict_json('{"a": NaN}')
    with pytest.raises(ValueError):
        strict_json('{"a": -Infinity}')


@pytest.mark.parametrize(
    "args",
    [["grad", "-e", "x: param = 1e-7\ny = log(x)", "--json"],
     ["grad", "-e", "x: param = 1e-300\ny = sqrt(x)", "--json"],
     ["grad", "-e", "x: param = 709\ny = exp(x)", "--json"],
     ["grad", "-e", "x: param = -2\nk = 2\ny = x**k", "--wrt", "k", "--json"],
     ["paths", "-e", "x: param = -2\nk = 2\ny = x**k", "--wrt", "k", "--json"],
     ["check", "-e", "x: param = 1e-7\ny = log(x)", "--json"]],
)
def test_json_never_contains_nan(args):
    code, out, err = run_main(args)
    assert code in (0, 1, 2), err
    assert "internal error" not in err and "Traceback" not in err, err
    if code == 2:
        assert_clean_error(code, out, err)
    else:
        doc = strict_json(out)
        assert "NaN" not in out and "Infinity" not in out
        if args[0] == "grad":
            for e in doc["gradients"].values():
                assert e["numeric"] is None or math.isfinite(e["numeric"])


def test_near_domain_edge_numeric_is_accurate():
    # the finite difference must not step out of log's domain, nor be wildly off near it
    code, out, err = run_main(["grad", "-e", "x: param = 1e-7\ny = log(x)", "--json"])
    assert code == 0, err
    e = strict_json(out)["gradients"]["x"]
    assert e["backprop"] == pytest.approx(1e7, rel=1e-12)
    assert e["numeric"] is None or e["numeric"] == pytest.approx(1e7, rel=1e-4)


# ---- bad input: exit 2, a located message, nothing on stdout, no traceback -----------------------
BAD_SCRIPTS = [
    ("syntax", "x: input = 1\ny = (x + \n", ":2:"),
    ("undefined", "alpha: param = 1\ny = alpah*2", ":2:5:"),
    ("augmented-undefined", "x: input = 1\ny = x\nz += x", ":3:1:"),
    ("unknown-function", "x: input = 1\ny = sigmod(x)", ":2:5:"),
    ("arity", "x: input = 1\ny = max(x)", ":2:5:"),
    ("attribute", "x: input = 1\ny = x.real", ":2:5:"),
    ("subscript", "x: input = 1\ny = x[0]", ":2:5:"),
    ("string", "x: input = 1\ny = 'a'", ":2:5:"),
    ("lambda", "x: input = 1\ny = (lambda t: t)(x)", ":2:"),
    ("comprehension", "x: input = 1\ny = [t for t in [x]]", ":2:5:"),
    ("import", "import os\nx: input = 1\ny = x", ":1:1:"),
    ("dunder-import", "x: input = 1\ny = __import__('os').system('echo pwned')", ":2:5:"),
    ("keyword", "x: input = 1\ny = max(x, b=x)", ":2:"),
    ("kind", "x: inptu = 1\ny = x", ":1:4:"),
    ("no-value", "x: input\ny = x", ":1:1:"),
    ("non-numeric", "x: input = 'a'\ny = x", ":1:12:"),
    ("non-finite", "x: input = 1e400\ny = x", ":1:12:"),
    ("empty", "", None),
    ("only-comments", "# nothing\n# here\n", None),
    ("no-assignment", "x: input = 1\n", None),
    ("deep-parens", "x: input = 1\ny = " + "(" * 10_000 + "x" + ")" * 10_000, ":2"),
    ("deep-minus", "x: input = 1\ny = " + "-" * 10_000 + "x", ":2"),
    ("long-sum", "x: input = 1\ny = " + "+".join(["x"] * 10_000), ":2"),
    ("deep-calls", "x: input = 1\ny = " + "sin(" * 10_000 + "x" + ")" * 10_000, ":2"),
]


@pytest.mark.parametrize("name, text, where", BAD_SCRIPTS, ids=[b[0] for b in BAD_SCRIPTS])
@pytest.mark.parametrize("command", ["grad", "check", "paths"])
def test_bad_scripts_exit_2(tmp_path, name, text, where, command):
    p = tmp_path / "bad.gt"
    p.write_text(text, encoding="utf-8")
    args = [command, str(p)] + (["--wrt", "x"] if command == "paths" else [])
    code, out, err = run_main(args)
    assert_clean_error(code, out, err, where=str(p) + (where or ":"))
    if where and where.count(":") == 3:
        assert "^" in err  # a caret under the column


def test_bad_script_via_subprocess_shows_no_traceback(tmp_path):
    target = tmp_path / "pwned"
    code, out, err = run_cli(["grad", "-e", f"x: input = 1\ny = __import__('os').system('touch {target}')"])
    assert_clean_error(code, out, err, where="<inline>:2:5:")
    assert not target.exists()
    code, out, err = run_cli(["grad", "-"], input="x: input = 1\ny = sigmod(x)")
    assert_clean_error(code, out, err, where="<stdin>:2:5:")
    assert "did you mean 'sigmoid'?" in err


@pytest.mark.parametrize(
    "extra, words",
    [(["--set", "x1"], "NAME=VALUE"), (["--set", "=1"], "NAME=VALUE"), (["--set", "x1=abc"], "not a number"),
     (["--set", "x1=nan"], "finite"), (["--set", "x1=inf"], "finite"), (["--set", "xx=1"], "xx"),
     (["--set", "s=1"], "computed"), (["--wrt", "nope"], "nope"), (["--output", "LL"], "did you mean 'L'"),
     (["--tol", "abc"], "--tol"), (["--tol", "nan"], "--tol"), (["--tol", "-1"], "--tol"), (["-e", "x: input = 1\ny = x"], "not both")],
)
def test_bad_options_exit_2(extra, words):
    code, out, err = run_main(["grad", NEURON] + extra)
    assert_clean_error(code, out, err, where=words)


def test_missing_source_and_file(tmp_path):
    assert_clean_error(*run_main(["grad"]), where="SOURCE")
    assert_clean_error(*run_main(["grad", str(tmp_path / "nope.gt")]), where="no such file")
    assert_clean_error(*run_main(["paths", NEURON]), where="--wrt")
    assert_clean_error(*run_main(["paths", NEURON, "--wrt", "α", "--top", "-1"]), where="--top")
    assert_clean_error(*run_main(["frobnicate"]), where="frobnicate")


def test_invalid_utf8_and_binary(tmp_path):
    p = tmp_path / "latin1.gt"
    p.write_bytes("x: input = 1\ny = x # caf\xe9\n".encode("latin-1"))
    assert_clean_error(*run_main(["grad", str(p)]), where=f"{p}:2:")
    b = tmp_path / "blob.gt"
    b.write_bytes(bytes(range(256)))
    assert_clean_error(*run_main(["grad", str(b)]), where=str(b))
    assert_clean_error(*run_main(["grad", "-"], input=b"\xff\xfe\x00binary"), where="<stdin>")


def test_50mb_script_refused(tmp_path):
    p = tmp_path / "huge.gt"
    with open(p, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    code, out, err = run_main(["grad", str(p)])
    assert_clean_error(code, out, err, where=str(p))
    assert "limit" in err


def test_50mb_stdin_refused():
    data = b"x: input = 1\n" + b"#" * (50 * 1024 * 1024) + b"\ny = x\n"
    code, out, err = run_cli(["grad", "-"], input=data)
    assert_clean_error(code, out, err, where="limit")


@pytest.mark.parametrize(
    "script, extra, node, line",
    [("x: param = 1\ny = log(x)", ["--set", "x=-1"], "'y'", ":2:5:"),
     ("x: param = 1\nd = x - 1\ny = 1/d", [], "'y'", ":3:5:"),
     ("x: param = 1000\nq = exp(x)\ny = q*2", [], "'q'", ":2:5:"),
     ("x: param = 4\ny = sqrt(x)", ["--set", "x=-4"], "'y'", ":2:5:"),
     ("w: param = 2\nz = sigmoid(w*100)\nL = -log(1 - z)", [], "'log_1'", ":3:")],
)
@pytest.mark.parametrize("command", ["grad", "check", "paths"])
def test_runtime_domain_errors_exit_2(script, extra, node, line, command):
    wrt = ["--wrt", script.split(":")[0]] if command == "paths" else []
    code, out, err = run_main([command, "-e", script] + extra + wrt)
    assert_clean_error(code, out, err, where=node)
    assert "<inline>" + line in err, err


def test_debug_flag_shows_traceback():
    code, out, err = run_cli(["--debug", "grad", "-e", "x: input = 1\ny = sigmod(x)"])
    assert code == 2
    assert "Traceback" in err


@pytest.mark.parametrize("script, analytic", [
    ("x: param = 700\ny = exp(x)", math.exp(700)),          # a large argument: a big |x|-scaled step
    ("x: param = 1e-3\ny = sqrt(x)", 0.5 / math.sqrt(1e-3)),  # close to the edge of the domain
    ("x: param = 50\ny = sin(x)*x", math.cos(50) * 50 + math.sin(50)),
])
def test_check_passes_where_a_plain_central_difference_is_too_coarse(script, analytic):
    code, out, err = run_main(["grad", "-e", script, "--json"])
    assert code == 0, err
    entry = strict_json(out)["gradients"]["x"]
    assert entry["backprop"] == pytest.approx(analytic, rel=1e-12)
    assert entry["numeric"] == pytest.approx(analytic, rel=1e-7)
    code, out, err = run_main(["check", "-e", script])
    assert code == 0, err
