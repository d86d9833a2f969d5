"""Fuzzing every command: random bytes, random Unicode, mutated samples, CSVs and hostile options.

The only allowed outcomes: success (exit 0, or 1 from ``check``), or exit 2 with a message on
stderr, nothing on stdout and no traceback; never exit 70 (an internal error). When a command
fails, its ``-o`` file does not exist afterwards, or keeps the content it had before, and no
temporary file is left behind. The short run is part of the normal suite; the long one is marked
slow and sized by GRAPHTRACE_FUZZ_EXAMPLES (default 100,000 inputs in total, split across the
commands: half to grad/check/paths/render-to-DOT, the rest to mlp, data, train and render-to-SVG):

    GRAPHTRACE_FUZZ_EXAMPLES=100000 pytest -m slow tests/test_fuzz.py -s -p no:cacheprovider

(-s shows the count of inputs tried per command; GRAPHTRACE_FUZZ_COMMANDS=grad,check,paths
narrows the commands fuzzed; GRAPHTRACE_FUZZ_REPORT=FILE.json also writes the counts there.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from helpers import SAMPLES, run_main, strict_json
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from graphtrace.cli import cli
from graphtrace.data import make_dataset, write_csv
from graphtrace.network import mlp_script

SHORT = 150
SHORT_SVG = 30  # each one runs Graphviz
LONG = int(os.environ.get("GRAPHTRACE_FUZZ_EXAMPLES", "100000"))
# The long run's share of GRAPHTRACE_FUZZ_EXAMPLES per test; the shares add up to 1.
LONG_SHARES = {"script": 0.50, "mlp": 0.15, "data": 0.15, "train": 0.19, "render-svg": 0.01}
TRIED: Counter[str] = Counter()  # inputs run per command, reported by the long run
OUTCOMES: Counter[tuple[str, int]] = Counter()  # (command, exit code): how many inputs got through

BASES = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.gt"))] + [
    "x: input = 2\ny = x*x\n",
    "w: param = 0.5\nb: param = -1\nx: input = 3\nL = relu(w*x + b)**2 + abs(b) + max(w, b)\n",
    "a: param = 1\nz = sqrt(a) + log(a) + 1/a + a**0.5 + exp(a) + softplus(a) + tanh(a) + min(a, 2)\n",
]
NAMES = ["x", "x1", "x2", "y", "w", "b", "a", "α", "β", "z", "L", "s", "h", "f", "g", "nope", "",
         "o", "h1_1", "w1_1_1", "z1_1"]
SET_VALUES = ["0", "-0", "-1", "1", "1e308", "-1e308", "1e-308", "5e-324", "-5e-324", "1e400", "nan",
              "-nan", "inf", "-inf", "Infinity", "NaN", "", "abc", "0x10", "1_000", "1e", "--1", " 2 ",
              "710", "-710", "1e16", "1e-16", "3.0"]
PIECES = list("()+-*/=:#\n\r\t .,;'\"[]{}\\@!^%~<>&|") + ["**", "0", "1", "2", "1e400", "α", "β", "x",
                                                     "y", "sigmoid(", "log(", "max(", "input", "param",
                                                     "\x00", "\ufeff", "\u202e", "𝑥", "__import__"]
# Numbers as a user might type them, hostile ones included; click or graphtrace must refuse the bad.
NUMBER_TEXT = ["0", "-0", "1", "-1", "2", "3", "0.5", "1e-300", "5e-324", "1e308", "-1e308", "1e400", "nan",
               "-nan", "inf", "-inf", "abc", "", " ", "1_0", "0x10", "1e", "²", "٣", "10000000000000000000000"]


def _text_mutations(draw, text: str, pieces: list[str], steps: tuple[int, int] = (1, 6)) -> str:
    for _ in range(draw(st.integers(*steps))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        piece = draw(st.sampled_from(pieces) | st.characters())
        if kind == "insert":
            text = text[:pos] + piece + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 20)):]
        elif kind == "replace":
            text = text[:pos] + piece + text[pos + 1:]
        else:
            end = min(len(text), pos + draw(st.integers(1, 40)))
            text = text[:end] + text[pos:end] + text[end:]
    return text


def _sometimes(draw, good, bad, odds: int = 4):
    """A value from ``good``, or one time in ``odds`` a hostile one from ``bad``.

    Mostly-valid input gets deep into a command; a hostile value in every option would stop
    almost every run at the first check.
    """
    # the last choice is the rare one: hypothesis favours small integers, so 0 must be the good one
    return draw(bad) if draw(st.integers(0, odds - 1)) == odds - 1 else draw(good)


def _declared(text: str) -> tuple[list[str], list[str]]:
    """A script's (leaf names, all names), read loosely from its lines."""
    leaves, names = [], []
    for line in text.split("\n"):
        m = re.match(r"\s*(\w+)\s*(:\s*(input|param))?\s*=", line)
        if m:
            names.append(m.group(1))
            if m.group(2):
                leaves.append(m.group(1))
    return leaves, names


@st.composite
def mutated_scripts(draw, bases: list[str] | None = None):
    return _text_mutations(draw, draw(st.sampled_from(bases or BASES)), PIECES)


set_values = st.sampled_from(SET_VALUES) | st.floats().map(repr) | st.text(max_size=8)
set_items = st.builds(lambda n, v, sep: f"{n}{sep}{v}", st.sampled_from(NAMES), set_values,
                      st.sampled_from(["=", "=", "=", ":", "=="]))
good_set_values = st.floats(-5, 5).map(lambda v: f"{v:.3g}") | st.sampled_from(["0", "1", "-1", "0.5", "1e-8", "30"])

scripts = st.one_of(
    st.binary(max_size=400).map(lambda b: ("bytes", b)),
    st.text(max_size=300).map(lambda t: ("text", t)),
    mutated_scripts().map(lambda t: ("text", t)),
    st.sampled_from(BASES).map(lambda t: ("text", t)),
)


@st.composite
def weighted_scripts(draw) -> tuple[str, str | bytes, list[str], list[str]]:
    """(kind, payload, leaf names, names): half the time a sample as it is, else broken or random."""
    choice = draw(st.integers(0, 7))  # 0 to 3: a sample as it is (hypothesis favours small choices)
    if choice == 7:
        return "bytes", draw(st.binary(max_size=400)), [], []
    if choice == 6:
        return "text", draw(st.text(max_size=300)), [], []
    text = draw(st.sampled_from(BASES))
    if choice >= 4:
        text = _text_mutations(draw, text, PIECES, (1, 6 if choice == 5 else 1))
    return "text", text, *_declared(text)


@pytest.fixture(scope="module")
def workdir():
    d = Path(tempfile.mkdtemp(prefix="gt-fuzz-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _wanted(name: str) -> bool:
    # GRAPHTRACE_FUZZ_COMMANDS=grad,check narrows a run to some commands
    chosen = os.environ.get("GRAPHTRACE_FUZZ_COMMANDS")
    return not chosen or name in chosen.split(",")


def _commands() -> list[str]:
    names = [c for c in ("grad", "check", "paths", "render") if c in cli.commands and _wanted(c)]
    return names or ["grad"]


def _source_args(draw, workdir: Path, command: str, kind: str, payload: str | bytes) -> tuple[list[str], bytes | None]:
    how = draw(st.sampled_from(["file", "stdin", "inline"]))
    note(f"script ({how}) = {payload[:2000]!r}")
    if how == "file":
        path = workdir / "fuzz.gt"
        path.write_bytes(payload if kind == "bytes" else payload.encode("utf-8", "surrogatepass"))
        return [command, str(path)], None
    if how == "stdin":
        return [command, "-"], payload if kind == "bytes" else payload.encode("utf-8", "surrogatepass")
    text = payload.decode("utf-8", "replace") if kind == "bytes" else payload
    return [command, "-e", text], None


def _script_options(draw, command: str, leaves: list[str], names: list[str]) -> list[str]:
    """--wrt, --set and --output: mostly names the script has, sometimes anything."""
    args: list[str] = []
    any_name = st.sampled_from(NAMES) | st.text(max_size=6)
    if command == "paths" or draw(st.booleans()):
        args += ["--wrt", _sometimes(draw, st.sampled_from(names), any_name) if names else draw(any_name)]
    for _ in range(draw(st.integers(0, 3))):
        if leaves and draw(st.integers(0, 3)):
            args += ["--set", f"{draw(st.sampled_from(leaves))}={_sometimes(draw, good_set_values, set_values)}"]
        else:
            args += ["--set", draw(set_items)]
    if names and draw(st.integers(0, 5)) == 0:
        args += ["--output", _sometimes(draw, st.sampled_from(names), any_name)]
    return args


def _render_options(draw) -> list[str]:
    args: list[str] = []
    if draw(st.booleans()):
        args += ["--view", _sometimes(draw, st.sampled_from(["forward", "backward", "both"]),
                                      st.sampled_from(["sideways", ""]), 8)]
    if draw(st.integers(0, 3)) == 0:
        args += ["--level", draw(st.sampled_from(["scalar", "neuron", "layer", "auto"]))]
    for flag in ("--symbolic", "--heat", "--show-consts", "--no-edge-labels", "--no-legend", "--force"):
        if draw(st.integers(0, 3)) == 0:
            args.append(flag)
    if draw(st.integers(0, 3)) == 0:
        args += ["--top", _sometimes(draw, st.sampled_from(["0", "1", "5"]), st.sampled_from(["-1", "x", ""]))]
    return args


@st.composite
def invocations(draw, workdir: Path):
    kind, payload, leaves, names = draw(weighted_scripts())
    command = draw(st.sampled_from(_commands()))
    args, stdin = _source_args(draw, workdir, command, kind, payload)
    args += _script_options(draw, command, leaves, names)
    if command == "render":
        args += ["-o", str(workdir / _sometimes(draw, st.sampled_from(["out.dot", "out.json"]),
                                                st.sampled_from(["out.txt", "missing/out.dot", "out"])))]
        args += _render_options(draw)
    elif draw(st.booleans()):
        args.append("--json")
    if command == "paths" and draw(st.booleans()):
        args += ["--top", draw(st.sampled_from(["0", "1", "3", "-1", "x", "1000000"]))]
    if command == "check" and draw(st.booleans()):
        args += ["--tol", draw(st.sampled_from(["0", "1e-12", "1", "nan", "-1", "abc"]))]
    return args, stdin


@st.composite
def svg_invocations(draw, workdir: Path):
    kind, payload, leaves, names = draw(weighted_scripts())
    args, stdin = _source_args(draw, workdir, "render", kind, payload)
    args += _script_options(draw, "render", leaves, names)
    args += ["-o", str(workdir / "out.svg"), "--backend", "bundled"] + _render_options(draw)
    return args, stdin


# ---- mlp --------------------------------------------------------------------------------------
# Layer sizes: mostly small (fast), sometimes absurd; a huge network must be refused by a limit
# before anything is allocated (1024-1024 is about 3 million nodes).
bad_layer_sizes = st.sampled_from(
    ["0", "1024", "1025", "4096", "100000", "1000000000", "10" * 15, "-1", "", " 2", "2 ", "x", "1.5",
     "1e3", "²", "٣", "+3", "0x2", "２"])


@st.composite
def mlp_shapes(draw) -> str:
    choice = 9 - draw(st.integers(0, 9))  # 3 to 9: a good shape (hypothesis favours small draws)
    if choice == 0:
        return draw(st.text(max_size=20))
    if choice == 1:
        return draw(st.sampled_from(["100000-100000-1", "1024-1024-1024-1", "1024-1024", "2-3-1", "-".join(["2"] * 40),
                                     "2,3,1", "2--1", "-2-1", "2-", "", "1", "1024-1", "1-1024-1"]))
    layer = st.integers(1, 6).map(str)
    if choice == 2:
        layer = layer | bad_layer_sizes
    parts = draw(st.lists(layer, min_size=2 if choice > 2 else 0, max_size=5))
    return draw(st.sampled_from(["-", "-", "-", ","])).join(parts)


@st.composite
def mlp_invocations(draw, workdir: Path):
    args = ["mlp", draw(mlp_shapes())]
    if draw(st.booleans()):
        args += ["--activation", _sometimes(draw, st.sampled_from(["sigmoid", "tanh", "relu", "identity"]),
                                            st.sampled_from(["softmax", "", "SIGMOID", "exp"]) | st.text(max_size=8))]
    if draw(st.booleans()):
        args += ["--loss", _sometimes(draw, st.sampled_from(["bce", "mse"]),
                                      st.sampled_from(["mae", "", "BCE"]) | st.text(max_size=5))]
    if draw(st.booleans()):
        args += ["--init", _sometimes(draw, st.sampled_from(["random", "zeros", "xavier", "he"]),
                                      st.sampled_from(["ones", ""]) | st.text(max_size=6))]
    if draw(st.booleans()):
        args += ["--seed", _sometimes(draw, st.integers(0, 2**70).map(str),
                                      st.sampled_from(["-1", str(10**30), "x", "nan", "1.5", ""]))]
    if draw(st.booleans()):
        args += ["-o", str(workdir / _sometimes(draw, st.just("net.gt"), st.sampled_from(["missing/net.gt", "."])))]
    return args, None


# ---- data -------------------------------------------------------------------------------------
@st.composite
def data_invocations(draw, workdir: Path):
    args = ["data", _sometimes(draw, st.sampled_from(["triangle", "circle", "xor", "gauss"]),
                               st.sampled_from(["Triangle", "spiral", "", "-"]) | st.text(max_size=10))]
    if draw(st.integers(0, 3)):
        args += ["-n", _sometimes(draw, st.integers(1, 300).map(str),
                                  st.sampled_from(["0", "-1", "10000001", str(10**30), "x", "1e3", "nan", "", "2.5"])
                                  | st.integers(-5, 0).map(str))]
    if draw(st.booleans()):
        args += ["--seed", _sometimes(draw, st.integers(0, 2**70).map(str),
                                      st.sampled_from(["-1", str(10**40), "x", "nan"]))]
    if draw(st.booleans()):
        args += ["--noise", _sometimes(draw, st.floats(0, 1).map(repr) | st.sampled_from(["0", "1", "1e-300", "5e-324"]),
                                       st.sampled_from(["1.0001", "-0.1", "nan", "inf", "-inf", "x", "-0"])
                                       | st.floats().map(repr))]
    if draw(st.booleans()):
        args += ["-o", str(workdir / _sometimes(draw, st.just("data.csv"), st.sampled_from(["missing/d.csv", "."])))]
    return args, None


# ---- train ------------------------------------------------------------------------------------
TRAIN_SCRIPTS = [
    (SAMPLES / "neuron.gt").read_text(encoding="utf-8"),
    (SAMPLES / "symmetry_random.gt").read_text(encoding="utf-8"),
    mlp_script([2, 2, 1], seed=1),
    mlp_script([2, 1], loss="mse", activation="tanh", seed=2),
    mlp_script([2, 2, 1], init="zeros"),
    "x1: input = 1\nx2: input = 1\ny: input = 1\nw: param = 0.1\nL = (w*x1 + x2 - y)**2\n",
    "x1: input = 1\nx2: input = 1\ny: input = 1\nw: param = 0.1\nL = log(w*x1) + exp(x2*w) + y/w\n",
]
TRAIN_CSV = write_csv(make_dataset("triangle", 12, seed=0))
CSV_PIECES = [",", "\n", "\r\n", "#", '"', " ", "nan", "inf", "-inf", "NaN", "1e400", "", "abc", "x1", "x2", "y",
              "y,y", "0", "1", "-1", "\x00", "\ufeff", "1_0", "0x1", "1e-400", "\t", ";"]


@st.composite
def csv_texts(draw) -> bytes:
    choice = 17 - draw(st.integers(0, 17))  # 10 to 17: the clean CSV (hypothesis favours small draws)
    text = TRAIN_CSV
    if choice == 0:
        return draw(st.binary(max_size=300))
    if choice == 1:
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    if choice == 2:  # another header
        header = draw(st.sampled_from(["x1,x2", "x1,x2,y,z", "a,b,c", "x1,x1,y", "x1,,y", "y,x2,x1", "x1 x2 y",
                                       "1,2,3", "α,x2,y"]) | st.text(max_size=12))
        text = header + "\n" + text.split("\n", 1)[1]
    elif choice == 3:  # a bad cell
        lines = text.split("\n")
        row = draw(st.integers(1, len(lines) - 2))
        cells = lines[row].split(",")
        cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(CSV_PIECES) | st.text(max_size=6))
        lines[row] = ",".join(cells)
        text = "\n".join(lines)
    elif choice == 4:  # an extra or a missing column
        lines = text.split("\n")
        extra = draw(st.booleans())
        text = "\n".join((line + ",1" if extra else line.rsplit(",", 1)[0]) if line else line for line in lines)
    elif choice == 5:  # rows of the wrong length
        lines = text.split("\n")
        row = draw(st.integers(1, len(lines) - 2))
        lines[row] = draw(st.sampled_from(["1", "1,2", "1,2,3,4", "", ",,", "# 1,2,3"]))
        text = "\n".join(lines)
    elif choice == 6:  # labels that are not 0/1, or huge features
        text = text.replace(",1\n", "," + draw(st.sampled_from(["-1", "2", "0.5", "1e300", "-1e300"])) + "\n")
    elif choice == 7:  # header only, or nothing
        text = draw(st.sampled_from(["x1,x2,y\n", "", "\n\n", "# only a comment\n", "\ufeffx1,x2,y\n1,2,1\n"]))
    elif choice == 8:
        text = _text_mutations(draw, text, CSV_PIECES)
    elif choice == 9:  # extreme but valid numbers
        text = "x1,x2,y\n" + "\n".join(f"{draw(st.floats(allow_nan=False, allow_infinity=False))!r},"
                                       f"{draw(st.floats(-1e6, 1e6))!r},{draw(st.integers(0, 1))}"
                                       for _ in range(draw(st.integers(1, 5)))) + "\n"
    return text.encode("utf-8", "surrogatepass")


@st.composite
def train_invocations(draw, workdir: Path):
    script = draw(st.sampled_from(TRAIN_SCRIPTS))
    if draw(st.integers(0, 4)) == 0:
        script = _text_mutations(draw, script, PIECES, (1, 3))
    args, stdin = _source_args(draw, workdir, "train", "text", script)
    csv = workdir / "train.csv"
    csv.write_bytes(draw(csv_texts()))
    note(f"csv = {csv.read_bytes()[:2000]!r}")
    args += ["--data", str(csv)]
    # Few epochs keep a run fast; large values are accepted (test_limits runs one), not generated.
    args += ["--epochs", _sometimes(draw, st.sampled_from(["0", "1", "2", "3"]),
                                    st.sampled_from(["-1", "x", "1e3", "nan", ""]), 8)]
    if draw(st.booleans()):
        args += ["--lr", _sometimes(draw, st.sampled_from(["1e-300", "0.1", "1", "5", "1e3", "1e10", "1e308", "5e-324"])
                                    | st.floats(1e-6, 10).map(repr),
                                    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e400", "x", ""])
                                    | st.floats().map(repr))]
    if draw(st.booleans()):
        args += ["--batch", _sometimes(draw, st.sampled_from(["1", "3", "12", "13", str(10**9), str(10**30)]),
                                       st.sampled_from(["0", "-1", "nan", "x", "inf", "2.5"]))]
    if draw(st.integers(0, 3)) == 0:
        args += ["--seed", _sometimes(draw, st.sampled_from(["0", "1", str(2**64)]), st.sampled_from(["-1", "x"]))]
    _, names = _declared(script)
    if names and draw(st.integers(0, 3)) == 0:
        args += ["--predict", _sometimes(draw, st.sampled_from(names), st.sampled_from(NAMES), 2)]
    if draw(st.integers(0, 3)) == 0:
        args += ["--threshold", _sometimes(draw, st.sampled_from(["0.5", "0", "-1"]), st.sampled_from(["nan", "inf", "x"]))]
    if names and draw(st.integers(0, 5)) == 0:
        args += ["--output", _sometimes(draw, st.sampled_from(names), st.sampled_from(NAMES), 2)]
    if draw(st.booleans()):
        args += ["-o", str(workdir / _sometimes(draw, st.just("trained.gt"), st.sampled_from(["missing/t.gt", "."])))]
        if draw(st.booleans()):
            args += ["--save-every", _sometimes(draw, st.sampled_from(["1", "2"]), st.sampled_from(["0", "-1", "x"]))]
    elif draw(st.integers(0, 7)) == 7:
        args += ["--save-every", "1"]
    if draw(st.booleans()):
        args.append("--json")
    return args, stdin


# ---- the oracle -------------------------------------------------------------------------------
PREVIOUS = b"previous content: must survive a failed run\n"


def _out_path(args: list[str]) -> Path | None:
    for flag in ("-o", "--out"):
        if flag in args[1:]:
            i = args.index(flag, 1)
            if i + 1 < len(args):
                return Path(args[i + 1])
    return None


def check_outcome(args: list[str], stdin: bytes | None, *, existed: bool | None = None, label: str | None = None) -> None:
    """Run one command and check the allowed outcomes (see the module docstring).

    ``existed``: None leaves the -o target as it is; True writes PREVIOUS there first; False
    removes it first.
    """
    out_path = _out_path(args)
    if out_path is not None and not out_path.is_absolute():
        out_path = None  # a random word taken as a file name: not one of the targets checked here
    if out_path is not None and existed is not None and out_path.parent.is_dir() and not out_path.is_dir():
        if existed:
            out_path.write_bytes(PREVIOUS)
        elif out_path.exists():
            out_path.unlink()
    TRIED[label or args[0]] += 1
    code, out, err = run_main(args, input=stdin)
    OUTCOMES[(label or args[0], code)] += 1
    note(f"args={args!r}\nexit={code}\nstdout={out[:500]!r}\nstderr={err[:500]!r}")
    assert "Traceback" not in err and "Traceback" not in out
    assert "internal error" not in err
    allowed = (0, 1, 2) if args[0] == "check" else (0, 2)
    assert code in allowed
    if code == 2:
        assert err.strip(), "exit 2 without a message"
        assert out == "", "exit 2 with output on stdout"
    elif "--json" in args:
        strict_json(out)
    if out_path is not None and existed is not None and out_path.parent.is_dir() and not out_path.is_dir():
        if code == 0:
            assert out_path.is_file(), f"exit 0 but {out_path} was not written"
            assert out_path.read_bytes() != PREVIOUS or existed is False
        elif "--save-every" in args and out_path.is_file() and out_path.read_bytes() != PREVIOUS:
            # a checkpoint from an epoch before the failure: complete, so it parses
            from graphtrace import load

            assert load(out_path).params, "a checkpoint without params"
        elif existed:
            assert out_path.read_bytes() == PREVIOUS, "a failed run changed the existing output"
        else:
            assert not out_path.exists(), "a failed run left an output file"
        leftovers = [p.name for p in out_path.parent.iterdir() if p.name.endswith(".tmp") or ".tmp." in p.name]
        assert not leftovers, f"temporary files left behind: {leftovers}"


def _fuzz(workdir: Path, examples: int, strategy, label: str | None = None) -> None:
    if examples <= 0:
        return

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(st.data(), st.booleans())
    def run(data, existed):
        args, stdin = data.draw(strategy(workdir))
        check_outcome(args, stdin, existed=existed, label=label)

    # A random positional such as '-o' makes click take the next word as a file name: whatever
    # a run writes by a relative path lands in the fuzz folder, never in the project.
    here = os.getcwd()
    os.chdir(workdir)
    try:
        run()
    finally:
        os.chdir(here)


# ---- the short run: part of the normal suite ----------------------------------------------------
def test_fuzz_commands_short(workdir):
    _fuzz(workdir, SHORT, invocations)


def test_fuzz_mlp_short(workdir):
    _fuzz(workdir, SHORT, mlp_invocations)


def test_fuzz_data_short(workdir):
    _fuzz(workdir, SHORT, data_invocations)


def test_fuzz_train_short(workdir):
    _fuzz(workdir, SHORT, train_invocations)


def test_fuzz_render_svg_short(workdir):
    _fuzz(workdir, SHORT_SVG, svg_invocations, "render-svg")


@settings(max_examples=SHORT, deadline=None, database=None)
@given(st.lists(set_items, min_size=1, max_size=4), st.sampled_from(["grad", "check", "paths"]))
def test_fuzz_set_values_on_the_neuron(items, command):
    args = [command, str(SAMPLES / "neuron.gt"), "--json"]
    if command == "paths":
        args += ["--wrt", "α"]
    for item in items:
        args += ["--set", item]
    check_outcome(args, None)


@settings(max_examples=SHORT, deadline=None, database=None)
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes_on_stdin(data):
    check_outcome(["grad", "-", "--json"], data)


@settings(max_examples=1, deadline=None, database=None)
@given(st.just(None))
def test_oracle_catches_a_half_written_file(_):
    # The oracle itself must be able to fail: a failed run that leaves its -o file is caught.
    target = Path(tempfile.mkdtemp(prefix="gt-oracle-")) / "out.dot"

    def broken(args, input=None):
        target.write_text("half")
        return 2, "", "error: boom"

    saved = globals()["run_main"]
    globals()["run_main"] = broken
    try:
        with pytest.raises(AssertionError, match="left an output file"):
            check_outcome(["render", "-e", "x", "-o", str(target)], None, existed=False)
    finally:
        globals()["run_main"] = saved
        shutil.rmtree(target.parent, ignore_errors=True)


# ---- the long run: pytest -m slow tests/test_fuzz.py ------------------------------------------
def _report() -> None:
    counts = dict(sorted(TRIED.items()))
    exits = {f"{command} exit {code}": n for (command, code), n in sorted(OUTCOMES.items())}
    print(f"\nfuzz inputs tried per command: {counts}; total {sum(counts.values()):,}; exit codes: {exits}")
    path = os.environ.get("GRAPHTRACE_FUZZ_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"tried": counts, "exits": exits}) + "\n")


def _long(workdir: Path, share: str, strategy, label: str | None = None) -> None:
    TRIED.clear()
    OUTCOMES.clear()
    _fuzz(workdir, round(LONG * LONG_SHARES[share]), strategy, label)
    _report()


@pytest.mark.slow
def test_fuzz_commands_long(workdir):
    _long(workdir, "script", invocations)


@pytest.mark.slow
@pytest.mark.skipif(not _wanted("mlp"), reason="GRAPHTRACE_FUZZ_COMMANDS leaves out mlp")
def test_fuzz_mlp_long(workdir):
    _long(workdir, "mlp", mlp_invocations)


@pytest.mark.slow
@pytest.mark.skipif(not _wanted("data"), reason="GRAPHTRACE_FUZZ_COMMANDS leaves out data")
def test_fuzz_data_long(workdir):
    _long(workdir, "data", data_invocations)


@pytest.mark.slow
@pytest.mark.skipif(not _wanted("train"), reason="GRAPHTRACE_FUZZ_COMMANDS leaves out train")
def test_fuzz_train_long(workdir):
    _long(workdir, "train", train_invocations)


@pytest.mark.slow
@pytest.mark.skipif(not _wanted("render"), reason="GRAPHTRACE_FUZZ_COMMANDS leaves out render")
def test_fuzz_render_svg_long(workdir):
    _long(workdir, "render-svg", svg_invocations, "render-svg")
