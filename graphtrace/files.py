"""Output stage: write result files atomically, so a failure never leaves a half-written file.

Invariant: the target path holds either its old content or the complete new content, never a
mix. Data goes to a temporary file in the target's own folder (so the final rename stays on one
file system and is atomic), is flushed to disk, then renamed onto the target with ``os.replace``.
On any failure, KeyboardInterrupt included, the temporary file is removed and an existing
target is left untouched. A symlink at the target is replaced by a regular file.
"""

from __future__ import annotations

__all__ = ["atomic_write", "atomic_path"]

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator

from graphtrace.errors import OutputError

_NEW_FILE_MODE = 0o644


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str, *, encoding: str = "utf-8"
) -> None:
    """Write ``data`` to ``path`` atomically.

    An existing file keeps its permission bits; a new file gets 0o644 minus the umask.

    Args:
        path: The file to create or replace.
        data: The content; text is encoded with ``encoding``.
        encoding: The encoding used when ``data`` is text.

    Raises:
        OutputError: The folder does not exist, is not writable, or the write failed.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     target = pathlib.Path(folder) / "graph.dot"
        ...     atomic_write(target, "digraph { a -> b }\\n")
        ...     target.read_text()
        'digraph { a -> b }\\n'
    """
    target = os.fspath(path)
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    folder, name = _check_folder(target)
    mode = _target_mode(target)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + name + ".", suffix=".tmp")
    except OSError as exc:
        raise _output_error(target, folder, exc) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as exc:
        _remove_quietly(tmp)
        if isinstance(exc, OSError):
            raise _output_error(target, folder, exc) from exc
        raise
    _commit(tmp, target, folder, mode)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    For tools that write files themselves (Graphviz ``-o``, matplotlib ``savefig``). The
    temporary name ends with the target's own extension, because such tools often pick the
    format from it. If the block raises, the temporary file is removed and ``path`` is left
    untouched.

    Args:
        path: The file to create or replace.

    Yields:
        The temporary path to write to (an empty file already exists there).

    Raises:
        OutputError: The folder does not exist or is not writable, or the block did not
            leave a file at the temporary path.

    Example:
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     target = pathlib.Path(folder) / "plot.txt"
        ...     with atomic_path(target) as tmp:
        ...         _ = pathlib.Path(tmp).write_text("drawn")
        ...     target.read_text()
        'drawn'
    """
    target = os.fspath(path)
    folder, name = _check_folder(target)
    mode = _target_mode(target)
    extension = os.path.splitext(name)[1]
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + name + ".", suffix=".tmp" + extension)
    except OSError as exc:
        raise _output_error(target, folder, exc) from exc
    os.close(fd)
    try:
        yield tmp
    except BaseException:
        # The block's own errors pass through unchanged: they are about the tool, not the file.
        _remove_quietly(tmp)
        raise
    if not os.path.isfile(tmp):
        raise OutputError(f"cannot write {target!r}: the temporary file {tmp!r} was not written")
    _commit(tmp, target, folder, mode)


def _commit(tmp: str, target: str, folder: str, mode: int) -> None:
    """Give the finished temporary file its mode and rename it onto ``target``; on failure remove it.

    mkstemp creates files 0o600, and a tool writing through ``atomic_path`` may recreate the
    file with its own mode, so the mode is set here, just before the rename.
    """
    try:
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        _remove_quietly(tmp)
        if isinstance(exc, OSError):
            raise _output_error(target, folder, exc) from exc
        raise
    _sync_folder(folder)


def _check_folder(target: str) -> tuple[str, str]:
    """The target's folder and file name, after checking the folder exists."""
    folder, name = os.path.split(target)
    folder = folder or "."
    if not name or os.path.isdir(target):
        raise OutputError(f"cannot write {target!r}: it is a folder, not a file")
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {target!r}: folder {folder!r} does not exist")
    return folder, name


def _target_mode(target: str) -> int:
    """The permission bits to give the new file: the existing file's, else 0o644 minus umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        pass
    # Python cannot read the umask without setting it; the window is a few instructions wide.
    umask = os.umask(0)
    os.umask(umask)
    return _NEW_FILE_MODE & ~umask


def _output_error(target: str, folder: str, exc: OSError) -> OutputError:
    if exc.errno == errno.ENOENT and not os.path.isdir(folder):
        return OutputError(f"cannot write {target!r}: folder {folder!r} does not exist")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return OutputError(
            f"cannot write {target!r}: permission denied",
            hint=f"choose a folder you can write to, or check the permissions of {folder!r}",
        )
    reason = exc.strerror or str(exc)
    return OutputError(f"cannot write {target!r}: {reason[:1].lower()}{reason[1:]}")


def _remove_quietly(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _sync_folder(folder: str) -> None:
    """Flush the rename itself to disk; best effort, since not every platform can open folders."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
