"""Resource fuzz: pathological but small inputs, every command, under 2 GiB of address space.

Each case runs ``python -m graphtrace`` in a child process whose address space is capped at 2 GiB
(``RLIMIT_AS``) and whose time is capped too; the only outcomes allowed are exit 0 (or 1 for
``check``) or exit 2 with a message, never exit 70, a crash or a traceback, and nothing left in
the output folder but the files the command names. A process over the cap dies of MemoryError or a
signal, so passing here means the command stayed within it. The short run is part of the normal
suite; ``pytest -m slow tests/test_resources.py`` runs the issue's full-size cases.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

GIB = 2**30
TIME_LIMIT = 120  # seconds of wall time per case (each command bounds itself to about one minute)


def _limit(limit: int) -> None:  # in the child, before Python starts
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_capped(args: list[str], cwd: Path, *, memory: int = 2 * GIB, stdin: bytes = b"",
               extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHTRACE_")}
    env.update(extra_env or {})
    env["PYTHONIOENCODING"] = "utf-8"
    env["OPENBLAS_NUM_THREADS"] = "1"  # each BLAS thread reserves address space of its own
    return subprocess.run([sys.executable, "-m", "graphtrace", *args], cwd=cwd, input=stdin,
                          capture_output=True, timeout=TIME_LIMIT, env=env,
                          preexec_fn=lambda: _limit(memory))


def assert_bounded(result: subprocess.CompletedProcess[bytes], folder: Path, allowed: set[str],
                   *, ok: tuple[int, ...] = (0, 2)) -> None:
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode in ok, f"exit {result.returncode}\n{err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err, err[-2000:]
    if result.returncode == 2:
        assert err.strip(), "exit 2 without a message"
    left = {p.name for p in folder.iterdir()} - allowed
    assert not left, f"left behind: {sorted(left)}"


# ---- generators of pathological scripts ------------------------------------------------------------
def chain(n: int) -> str:
    """A chain fed by one input at every step: long edges from x across the whole drawing."""
    return "\n".join(["x: input = 0.5", "a0: param = 0.1", *(f"a{i + 1} = sin(a{i}) + x" for i in range(n))]) + "\n"


def ladder(n: int) -> str:
    """Each step uses the previous one twice: 2^n paths."""
    lines = ["x: param = 0.3"]
    prev = "x"
    for i in range(n):
        lines.append(f"s{i} = sin({prev}) + cos({prev})")
        prev = f"s{i}"
    return "\n".join(lines) + "\n"


def fan_out(n: int) -> str:
    """One param feeding n products summed in one line."""
    return "w: param = 0.5\n" + "L = " + " + ".join(f"w*{i % 7 + 1}" for i in range(n)) + "\n"


def deep_power(n: int) -> str:
    return "x: param = 1.0001\ny = " + "(" * n + "x" + "**1.0001)" * n + "\n"


def long_names(length: int) -> str:
    a, b = "a" * length, "b" * length
    return f"{a}: param = 0.5\n{b} = {a}*{a}\n"


CASES: dict[str, tuple[str, list[list[str]]]] = {
    # name: (script, [command arguments; S = the script's file, O = an output file])
    "chain": (chain(200), [["render", "S", "-o", "O.svg"], ["grad", "S", "--json"], ["paths", "S", "--wrt", "x", "--top", "50"]]),
    "ladder": (ladder(150), [["paths", "S", "--wrt", "x", "--top", "1000", "--json"],
                             ["paths", "S", "--wrt", "x", "--top", "100000"], ["check", "S"]]),
    "fan_out": (fan_out(1500), [["grad", "S", "--json"], ["render", "S", "-o", "O.png"]]),
    "deep_power": (deep_power(150), [["grad", "S"], ["render", "S", "-o", "O.dot"]]),
    "long_names": (long_names(240), [["explore", "S", "--no-open"], ["render", "S", "-o", "O.svg"]]),
}


def _expand(args: list[str], script: Path, out: Path) -> list[str]:
    return [str(script) if a == "S" else (str(out) + a[1:] if a.startswith("O.") else a) for a in args]


def _run_case(name: str, tmp_path: Path) -> None:
    script_text, commands = CASES[name]
    script = tmp_path / f"{name}.gt"
    script.write_text(script_text, encoding="utf-8")
    out = tmp_path / "out"
    for args in commands:
        full = _expand(args, script, out)
        allowed = {script.name} | {Path(a).name for a in full if a.startswith(str(out))}
        # the short run lowers the layout timeout (its bound, like memory's, is what is tested)
        result = run_capped(full, tmp_path, extra_env={"GRAPHTRACE_RENDER_TIMEOUT": "5"})
        assert_bounded(result, tmp_path, allowed, ok=(0, 1, 2) if args[0] == "check" else (0, 2))


@pytest.mark.parametrize("name", sorted(CASES))
def test_pathological_scripts_stay_bounded(name: str, tmp_path: Path) -> None:
    _run_case(name, tmp_path)


def test_big_csv_is_refused_early_and_data_n_matches_what_train_reads(tmp_path: Path) -> None:
    rows = 1_200_000  # just over the row limit: refused at row 1,000,001, never loaded whole
    (tmp_path / "big.csv").write_text("x1,x2,y\n" + "0.5,-0.25,1\n" * rows, encoding="utf-8")
    (tmp_path / "net.gt").write_text("x1: input = 0\nx2: input = 0\ny: input = 0\nw: param = 0.1\n"
                                     "L = (w*x1 + w*x2 - y)**2\n", encoding="utf-8")
    r = run_capped(["train", "net.gt", "--data", "big.csv", "--epochs", "1"], tmp_path, memory=GIB)
    assert_bounded(r, tmp_path, {"big.csv", "net.gt"})
    assert r.returncode == 2 and b"1,000,000 data rows" in r.stderr
    r = run_capped(["data", "triangle", "-n", "10000000", "-o", "t.csv"], tmp_path)
    assert_bounded(r, tmp_path, {"big.csv", "net.gt"})
    assert r.returncode == 2 and b"GRAPHTRACE_MAX_CSV_ROWS" in r.stderr


def test_random_small_scripts_under_the_cap(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("GRAPHTRACE_FUZZ_SEED", "0")))
    makers = [lambda k: chain(k), lambda k: ladder(k), lambda k: fan_out(10 * k), lambda k: deep_power(k)]
    commands = [["grad", "S", "--json"], ["paths", "S", "--top", "20", "--wrt", "x"], ["render", "S", "-o", "O.dot"]]
    for _ in range(int(os.environ.get("GRAPHTRACE_RESOURCE_EXAMPLES", "3"))):
        text = rng.choice(makers)(rng.randint(5, 120))
        script = tmp_path / "case.gt"
        script.write_text(text, encoding="utf-8")
        args = rng.choice(commands)
        full = _expand(args, script, tmp_path / "out")
        r = run_capped(full, tmp_path)
        allowed = {"case.gt", "out.dot"}
        assert_bounded(r, tmp_path, allowed)


# ---- the issue's full-size cases (minutes): pytest -m slow ---------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("args, script", [
    (["render", "S", "-o", "O.svg"], chain(1400)),
    (["render", "S", "-o", "O.svg", "--force"], chain(7000)),
    (["explore", "S", "--no-open", "-o", "O.html"], chain(1400)),
    (["paths", "S", "--wrt", "x", "--top", "10000", "--json"], ladder(500)),
    (["paths", "S", "--wrt", "x", "--top", "1000000", "--json"], ladder(500)),
], ids=["render-chain-1400", "render-chain-7000-force", "explore-chain-1400", "paths-top-10000",
        "paths-top-1000000"])
def test_issue_examples_stay_bounded(args: list[str], script: str, tmp_path: Path) -> None:
    path = tmp_path / "case.gt"
    path.write_text(script, encoding="utf-8")
    full = _expand(args, path, tmp_path / "out")
    r = run_capped(full, tmp_path)
    assert_bounded(r, tmp_path, {"case.gt"} | {Path(a).name for a in full if "out" in Path(a).name})


@pytest.mark.slow
def test_big_mlp_grad_is_bounded(tmp_path: Path) -> None:
    for shape in ("300-300-1", "470-470-1"):
        r = run_capped(["mlp", shape, "-o", "net.gt"], tmp_path)
        assert r.returncode == 0
        r = run_capped(["grad", "net.gt", "--json"], tmp_path)
        assert_bounded(r, tmp_path, {"net.gt"})
