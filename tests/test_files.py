"""Tests for graphtrace.files: atomic writes leave either the old file or the new one, never debris."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from graphtrace import files
from graphtrace.errors import GraphtraceError, OutputError
from graphtrace.files import atomic_path, atomic_write


def _leftovers(folder: Path) -> list[str]:
    """Temporary files atomic_write/atomic_path may have left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# --- atomic_write ------------------------------------------------------------------------------


def test_creates_text_and_bytes(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.dot", "digraph { ∂ -> σ }\n")
    atomic_write(str(tmp_path / "b.png"), b"\x89PNG\r\n")
    assert (tmp_path / "a.dot").read_text(encoding="utf-8") == "digraph { ∂ -> σ }\n"
    assert (tmp_path / "b.png").read_bytes() == b"\x89PNG\r\n"
    assert _leftovers(tmp_path) == []


def test_encoding_option(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.txt", "é", encoding="latin-1")
    assert (tmp_path / "a.txt").read_bytes() == b"\xe9"


def test_relative_path_in_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    atomic_write("graph.svg", "<svg/>")
    assert (tmp_path / "graph.svg").read_text() == "<svg/>"


def test_replaces_existing(tmp_path: Path) -> None:
    target = tmp_path / "g.svg"
    target.write_text("old")
    atomic_write(target, "new")
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_new_file_mode_is_644_minus_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "a.svg", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a.svg") == 0o640


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_new_file_mode_default_umask(tmp_path: Path, umask_022: None) -> None:
    atomic_write(tmp_path / "a.svg", "x")
    assert _mode(tmp_path / "a.svg") == 0o644  # not mkstemp's 0o600


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o755, 0o664])
def test_existing_mode_preserved(tmp_path: Path, umask_022: None, mode: int) -> None:
    target = tmp_path / "a.svg"
    target.write_text("old")
    target.chmod(mode)
    atomic_write(target, "new")
    assert _mode(target) == mode
    assert target.read_text() == "new"


def test_replace_failure_keeps_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "g.svg"
    target.write_text("original")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OutputError) as info:
        atomic_write(target, "new content")
    assert "cannot write" in str(info.value) and "input/output error" in str(info.value)
    assert target.read_text() == "original"
    assert _leftovers(tmp_path) == []


def test_interrupt_mid_write_keeps_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "g.svg"
    target.write_text("original")

    def interrupted_fsync(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", interrupted_fsync)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, "x" * 1_000_000)
    assert target.read_text() == "original"
    assert _leftovers(tmp_path) == []


def test_failure_for_new_file_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", no_space)
    with pytest.raises(OutputError, match="no space left on device"):
        atomic_write(tmp_path / "new.svg", "data")
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError) as info:
        atomic_write(os.path.join("out", "x.svg"), "data")
    out = os.path.join("out", "x.svg")
    assert info.value.message == f"cannot write {out!r}: folder 'out' does not exist"
    assert isinstance(info.value, GraphtraceError)
    assert list(tmp_path.iterdir()) == []


def test_target_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "dir.svg").mkdir()
    with pytest.raises(OutputError, match="it is a folder"):
        atomic_write(tmp_path / "dir.svg", "data")


def test_permission_denied_message_simulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Works as root too, where a chmod 0o555 folder is still writable.
    def denied(**kwargs: object) -> tuple[int, str]:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", denied)
    target = tmp_path / "x.svg"
    with pytest.raises(OutputError) as info:
        atomic_write(target, "data")
    assert info.value.message == f"cannot write {str(target)!r}: permission denied"
    assert info.value.hint


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0,
    reason="root ignores folder permissions; Windows has no POSIX modes",
)
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "g.svg").write_text("original")
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            atomic_write(folder / "g.svg", "new")
        assert (folder / "g.svg").read_text() == "original"
        assert _leftovers(folder) == []
    finally:
        folder.chmod(0o755)


# --- atomic_path -------------------------------------------------------------------------------


def test_atomic_path_renames_on_success(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert Path(tmp).parent == tmp_path
        assert tmp.endswith(".png")  # tools that pick the format from the extension still work
        assert Path(tmp).name.startswith(".plot.png.")
        assert target.read_bytes() == b"old"  # untouched until the block finishes
        Path(tmp).write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_atomic_path_mode(tmp_path: Path, umask_022: None) -> None:
    with atomic_path(tmp_path / "new.svg") as tmp:
        Path(tmp).write_text("x")
    assert _mode(tmp_path / "new.svg") == 0o644


def test_atomic_path_failure_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="tool crashed"):
        with atomic_path(target) as tmp:
            Path(tmp).write_bytes(b"half")
            raise RuntimeError("tool crashed")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_path_block_oserror_passes_through(tmp_path: Path) -> None:
    # An error of the tool itself is not reworded as if the output file were at fault.
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "x.svg"):
            open(tmp_path / "missing-input.dot").close()
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_interrupt(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "x.svg") as tmp:
            Path(tmp).write_text("half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_tool_removed_file(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="was not written"):
        with atomic_path(tmp_path / "x.svg") as tmp:
            os.unlink(tmp)
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        with atomic_path(tmp_path / "nope" / "x.svg"):
            pass  # pragma: no cover


def _bundled() -> str | None:
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder, "graphviz-pure")
        if os.path.isfile(candidate):
            return candidate
    return shutil.which("graphviz-pure")


@pytest.mark.skipif(_bundled() is None, reason="graphviz-pure is not installed")
def test_atomic_path_with_graphviz_writing_the_file(tmp_path: Path) -> None:
    exe = _bundled()
    assert exe is not None
    target = tmp_path / "g.svg"
    with atomic_path(target) as tmp:
        subprocess.run(
            [exe, "-Tsvg", "-o", tmp], input=b"digraph { a -> b }", check=True, timeout=60
        )
    assert b"<svg" in target.read_bytes()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_during_an_atomic_write_leaves_no_temporary_file(tmp_path: Path, signame: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C (or SIGTERM) while the temporary file is being filled: the write finishes and is
    renamed, then the signal acts; nothing half-written is left in the folder."""
    import signal

    sig = getattr(signal, signame)
    real_fsync = os.fsync

    def fsync_then_signal(fd: int) -> None:
        os.kill(os.getpid(), sig)  # arrives mid-write, between the data and the rename
        real_fsync(fd)

    class Stop(Exception):
        pass

    def stop(_number: int, _frame: object) -> None:
        raise Stop

    previous = signal.signal(sig, stop)
    try:
        monkeypatch.setattr(files.os, "fsync", fsync_then_signal)
        with pytest.raises(Stop):
            atomic_write(tmp_path / "ckpt.gt", "x: input = 1\ny = x*x\n")
        monkeypatch.setattr(files.os, "fsync", real_fsync)
    finally:
        signal.signal(sig, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.gt"]
    assert (tmp_path / "ckpt.gt").read_text(encoding="utf-8") == "x: input = 1\ny = x*x\n"
    assert signal.getsignal(sig) is previous
