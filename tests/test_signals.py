"""Ctrl-C during a long training or render: exit 130, a one-line message, no partial file.

Each test starts ``python -m graphtrace`` in its own process group, waits until the work is under
way, sends SIGINT and checks the exit code, stderr, the output file and the folder (no temporary
files left), and that no Graphviz child outlives the command.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import run_cli

import graphtrace

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _start(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.Popen([sys.executable, "-m", "graphtrace", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _interrupt(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """SIGINT to the graphtrace process only (not its Graphviz child), then its outcome."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("graphtrace did not stop within 30 s of SIGINT") from None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _group_is_gone(pgid: int, wait: float = 5.0) -> bool:
    """Whether every process of the group (graphtrace and any Graphviz it started) has exited."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        time.sleep(0.05)
    return False


def _children(pid: int) -> list[int]:
    """The ids of the running children of ``pid`` (Linux /proc; empty elsewhere)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.fixture(scope="module")
def training_setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signals")
    for args in (["mlp", "2-16-16-1", "--seed", "0", "-o", "net.gt"],
                 ["data", "triangle", "-n", "200", "--seed", "0", "-o", "t.csv"]):
        code, _, err = run_cli(args, cwd=folder)
        assert code == 0, err
    return folder


def _wait_for_training(proc: subprocess.Popen[bytes], checkpoint: Path | None) -> None:
    # No progress bar without a terminal: wait for the first checkpoint, or give it 2 s.
    deadline = time.monotonic() + (30 if checkpoint is not None else 2.0)
    while time.monotonic() < deadline:
        assert proc.poll() is None, "training ended before it was interrupted"
        if checkpoint is not None and checkpoint.exists():
            time.sleep(0.3)  # well into the following epochs
            return
        time.sleep(0.05)
    assert checkpoint is None, "no checkpoint was written within 30 s"


def test_ctrl_c_during_training_leaves_no_file(training_setup):
    folder = training_setup
    out = folder / "out.gt"
    proc = _start(["train", "net.gt", "--data", "t.csv", "-o", "out.gt", "--epochs", "100000"], folder)
    _wait_for_training(proc, None)
    code, stdout, stderr = _interrupt(proc)
    assert code == 130, f"exit {code}\n{stderr}"
    assert "interrupted" in stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert stdout == ""
    assert not out.exists()
    assert _leftovers(folder, {"net.gt", "t.csv"}) == []
    assert _group_is_gone(proc.pid)


def test_ctrl_c_with_checkpoints_keeps_the_last_complete_one(training_setup):
    folder = training_setup
    out = folder / "ckpt.gt"
    proc = _start(["train", "net.gt", "--data", "t.csv", "-o", "ckpt.gt", "--epochs", "100000",
                   "--save-every", "1"], folder)
    _wait_for_training(proc, out)
    code, _, stderr = _interrupt(proc)
    assert code == 130, f"exit {code}\n{stderr}"
    assert "interrupted" in stderr and "Traceback" not in stderr
    trained = graphtrace.load(out)  # a complete script, written atomically
    initial = graphtrace.load(folder / "net.gt")
    assert trained.params == initial.params
    moved = [p for p in trained.params if trained.nx.nodes[p]["value"] != initial.nx.nodes[p]["value"]]
    assert moved, "the checkpoint holds the initial params, not trained ones"
    assert _leftovers(folder, {"net.gt", "t.csv", "ckpt.gt"}) == []


def _tangle(n: int, seed: int = 0) -> str:
    """A random DAG of n products: many crossings, so Graphviz takes minutes to lay it out."""
    rng = random.Random(seed)
    lines, names = ["x0: input = 0.5", "x1: input = 0.3"], ["x0", "x1"]
    for i in range(n):
        a = names[rng.randrange(len(names))]
        b = names[max(0, len(names) - 1 - rng.randrange(min(len(names), 30)))]
        lines.append(f"n{i} = {a} * {b}")
        names.append(f"n{i}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_ctrl_c_during_a_long_render_kills_graphviz_and_leaves_no_file(tmp_path, fmt):
    (tmp_path / "tangle.gt").write_text(_tangle(2900))
    target = tmp_path / f"tangle.{fmt}"
    target_old = b"the previous drawing\n"
    target.write_bytes(target_old)
    proc = _start(["render", "tangle.gt", "-o", target.name, "--force", "--backend", "bundled",
                   "--timeout", "600"], tmp_path)
    # The CLI says "rendering ..." once a render has taken a second; on Linux, also wait for the
    # Graphviz child itself, so the interrupt lands while it runs.
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    seen = b""
    deadline = time.monotonic() + 60
    while b"rendering" not in seen or (Path("/proc").is_dir() and not _children(proc.pid)):
        assert time.monotonic() < deadline, f"no Graphviz run within 60 s: {seen!r}"
        assert proc.poll() is None, f"render ended early: {seen!r}"
        seen += proc.stderr.read() or b""
        time.sleep(0.05)
    time.sleep(0.5)
    os.set_blocking(proc.stderr.fileno(), True)
    code, stdout, stderr = _interrupt(proc)
    stderr = seen.decode("utf-8", "replace") + stderr
    assert code == 130, f"exit {code}\n{stderr}"
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert target.read_bytes() == target_old, "the old drawing was replaced by a partial one"
    assert _leftovers(tmp_path, {"tangle.gt", target.name}) == []
    assert _group_is_gone(proc.pid), "Graphviz is still running after the interrupt"
