"""Shared test helpers: run the CLI (in a subprocess or in-process), strict JSON, finite differences."""

from __future__ import annotations

import io
import json
import math
import os
import random
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

__all__ = ["ROOT", "SAMPLES", "run_cli", "run_main", "strict_json", "central_difference",
           "assert_clean_error"]


def run_cli(args: Sequence[str], input: str | bytes | None = None, *, cwd: str | os.PathLike[str] | None = None,
            env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str, str]:
    """Run ``python -m graphtrace ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    data = input.encode("utf-8") if isinstance(input, str) else input
    full_env = dict(os.environ)
    full_env["PYTHONIOENCODING"] = "utf-8"
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, "-m", "graphtrace", *args], input=data, capture_output=True,
                          cwd=cwd, env=full_env, timeout=timeout)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def run_main(args: Sequence[str], input: str | bytes | None = None) -> tuple[int, str, str]:
    """Run ``graphtrace.cli.main(ARGS)`` in-process (fast): (exit code, stdout, stderr).

    Standard input is replaced by ``input`` (text or bytes) for the duration of the call;
    stdout and stderr are captured without pytest's capsys, so hypothesis tests can use it.
    """
    from graphtrace.cli import main

    data = input.encode("utf-8") if isinstance(input, str) else (input or b"")
    out = io.BytesIO()
    err = io.BytesIO()
    fake_in = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    fake_out = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    fake_err = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = fake_in, fake_out, fake_err
    code = 0
    try:
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        fake_out.flush()
        fake_err.flush()
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace")


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-strict JSON constant {name}")


def strict_json(text: str) -> object:
    """Parse JSON, refusing NaN, Infinity and -Infinity (RFC 8259)."""
    return json.loads(text, parse_constant=_reject_constant)


def central_difference(f: Callable[[float], float], x: float, h: float | None = None) -> float:
    """An independent central difference (f(x+h) − f(x−h)) / 2h with a Richardson step.

    Uses two step sizes and Richardson extrapolation, so the estimate is accurate to ~1e-9
    relative on smooth functions: a separate oracle, not graphtrace's own ``numeric_gradient``.
    """
    h = (1e-3 * max(1.0, abs(x))) if h is None else h
    d1 = (f(x + h) - f(x - h)) / (2 * h)
    d2 = (f(x + h / 2) - f(x - h / 2)) / h
    return (4 * d2 - d1) / 3


def assert_clean_error(code: int, out: str, err: str, *, where: str | None = None) -> None:
    """Exit 2, nothing on stdout, a message on stderr, no traceback; ``where`` appears in stderr."""
    assert code == 2, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert out == "", f"stdout not empty:\n{out}"
    assert err.strip(), "no message on stderr"
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    if where is not None:
        assert where in err, f"{where!r} not in stderr:\n{err}"


def isclose(a: float, b: float, rel: float, abs_: float = 0.0) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# ---- random scripts -------------------------------------------------------------------------------
# Domain-safe forms over earlier names: every one is defined for all real operands, so a random
# script never fails evaluation; shared subexpressions come from reusing earlier names.
TEMPLATES: tuple[tuple[str, int], ...] = (
    ("{0} + {1}", 2), ("{0} - {1}", 2), ("{0} * {1}", 2), ("{0} * {0}", 1),
    ("{0} / ({1}*{1} + 1)", 2), ("-{0}", 1), ("sigmoid({0})", 1), ("tanh({0})", 1),
    ("sin({0})", 1), ("cos({0})", 1), ("exp(tanh({0}))", 1), ("log({0}*{0} + 1)", 1),
    ("sqrt({0}*{0} + 1)", 1), ("({0}*{0} + 1)**tanh({1})", 2), ("softplus({0})", 1),
    ("relu({0})", 1), ("abs({0})", 1), ("max({0}, {1})", 2), ("min({0}, {1})", 2),
    ("{0}**2", 1), ("{0}**3 / ({0}*{0} + 1)", 1), ("({0} + {1}) * {0}", 2),
)
KINK_FUNCTIONS = ("relu", "abs", "max", "min")


class RandomPicker:
    """Choices from a seeded ``random.Random``."""

    def __init__(self, rng) -> None:
        self.rng = rng

    def int(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def float(self, lo: float, hi: float) -> float:
        return round(self.rng.uniform(lo, hi), 3)


def random_script(pick, *, leaves: tuple[int, int] = (1, 4), ops: tuple[int, int] = (1, 8),
                  templates: tuple[tuple[str, int], ...] = TEMPLATES) -> str:
    """A random valid script: declared leaves, then assignments over earlier names."""
    names: list[str] = []
    lines: list[str] = []
    for i in range(pick.int(*leaves)):
        kind = "param" if pick.int(0, 1) else "input"
        name = f"v{i}"
        lines.append(f"{name}: {kind} = {pick.float(-2.0, 2.0)}")
        names.append(name)
    if not any(line.split(":")[1].strip().startswith("param") for line in lines):
        lines[0] = lines[0].replace(": input", ": param")
    for j in range(pick.int(*ops)):
        tpl, arity = templates[pick.int(0, len(templates) - 1)]
        # prefer recent names so chains get deep, but any earlier name may be shared
        args = [names[max(0, len(names) - 1 - pick.int(0, len(names) - 1))] for _ in range(arity)]
        name = f"n{j}"
        lines.append(f"{name} = " + tpl.format(*args))
        names.append(name)
    # the output mixes the last value with two random earlier ones, so most leaves reach it
    a, b = names[pick.int(0, len(names) - 1)], names[pick.int(0, len(names) - 1)]
    lines.append(f"L = {names[-1]} + {a} * {b}")
    return "\n".join(lines) + "\n"


def mlp_script(widths: list[int], *, seed: int = 0, activation: str = "sigmoid") -> str:
    """A dense MLP script: inputs x*, weights w_l_i_j, biases b_l_j, loss 0.5*(y - o)**2."""
    rng = random.Random(seed)
    lines = [f"x{i}: input = {rng.uniform(-1, 1):.3f}" for i in range(widths[0])]
    lines.append("y: input = 0.5")
    prev = [f"x{i}" for i in range(widths[0])]
    for layer in range(1, len(widths)):
        cur = []
        for j in range(widths[layer]):
            for i in range(len(prev)):
                lines.append(f"w{layer}_{i}_{j}: param = {rng.uniform(-1, 1):.3f}")
            lines.append(f"b{layer}_{j}: param = {rng.uniform(-0.5, 0.5):.3f}")
            terms = " + ".join(f"w{layer}_{i}_{j}*{p}" for i, p in enumerate(prev))
            lines.append(f"s{layer}_{j} = {terms} + b{layer}_{j}")
            lines.append(f"a{layer}_{j} = {activation}(s{layer}_{j})")
            cur.append(f"a{layer}_{j}")
        prev = cur
    assert len(prev) == 1
    lines.append(f"L = 0.5*(y - {prev[0]})**2")
    return "\n".join(lines) + "\n"


# ---- random scripts with arrays, reassignment and method calls ------------------------------------
VECTOR_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("{0} * {s}", 1), ("{0} + {1}", 2), ("{0} - {1}", 2), ("{0} * {1}", 2), ("{0}.tanh()", 1),
    ("sigmoid({0})", 1), ("softmax({0})", 1), ("log_softmax({0}) * 0.5", 1), ("M @ {0}", 1),
    ("{0} / ({1} * {1} + 1)", 2), ("[{0}[1], {s}, {0}[0]]", 1), ("{0}.relu() + {0}.exp() * 0.1", 1),
)
SCALAR_TEMPLATES: tuple[tuple[str, int], ...] = (
    ("sum({0})", 1), ("mean({0}) * {s}", 1), ("{0} @ {1}", 2), ("logsumexp({0})", 1), ("max({0})", 1),
    ("cross_entropy({0}, k)", 1), ("{0}[2] * {0}[0]", 1), ("{0}.sum() + {s}.sigmoid()", 1),
)


def random_array_script(pick, *, ops: tuple[int, int] = (1, 7)) -> str:
    """A random valid script over vectors of 3: array declarations, @, elementwise ops, reductions,
    softmax and cross_entropy, method calls and new versions of names (``+=``, ``=`` again)."""
    lines = [f"v: param = [{pick.float(-2, 2)}, {pick.float(-2, 2)}, {pick.float(-2, 2)}]",
             "M: param = [" + ", ".join("[" + ", ".join(str(pick.float(-1, 1)) for _ in range(3)) + "]"
                                        for _ in range(3)) + "]",
             f"s: param = {pick.float(-2, 2)}",
             f"k: input = {pick.int(0, 2)}"]
    vectors, scalars = ["v"], ["s"]
    for j in range(pick.int(*ops)):
        kind = pick.int(0, 2)
        if kind == 2 and j > 0:  # a new version of an existing name: `u += ...` or `u = ...`
            name = vectors[pick.int(0, len(vectors) - 1)]
            tpl, arity = VECTOR_TEMPLATES[pick.int(0, len(VECTOR_TEMPLATES) - 1)]
            args = [vectors[pick.int(0, len(vectors) - 1)] for _ in range(arity)]
            op = ("+=", "-=", "*=", "=")[pick.int(0, 3)]
            lines.append(f"{name} {op} " + tpl.format(*args, s=scalars[pick.int(0, len(scalars) - 1)]))
            continue
        templates, pool = (VECTOR_TEMPLATES, vectors) if kind == 0 else (SCALAR_TEMPLATES, scalars)
        tpl, arity = templates[pick.int(0, len(templates) - 1)]
        args = [vectors[max(0, len(vectors) - 1 - pick.int(0, len(vectors) - 1))] for _ in range(arity)]
        name = f"u{j}" if kind == 0 else f"t{j}"
        lines.append(f"{name} = " + tpl.format(*args, s=scalars[pick.int(0, len(scalars) - 1)]))
        pool.append(name)
    lines.append(f"L = sum({vectors[-1]} * {vectors[0]}) + {scalars[-1]} * {scalars[0]}")
    return "\n".join(lines) + "\n"
