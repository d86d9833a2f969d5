"""Output stage: write result files atomically, so a failure never leaves a half-written file.

Invariant: the target path holds either its old content or the complete new content, never a
mix. Data goes to a temporary file in the target's own folder (so the final rename stays on one
file system and is atomic), is flushed to disk, then renamed onto the target with ``os.replace``.
On any failure, KeyboardInterrupt included, the temporary file is removed and an existing
target is left untouched. A symlink at the target is replaced by a regular file. A special file at
the target (a FIFO, a character device, ``/dev/stdout``) is written into, never replaced: its
reader is waiting on it. An output that is one of the command's inputs is refused
(:func:`refuse_inputs`).
"""

from __future__ import annotations

__all__ = ["atomic_write", "atomic_path", "refuse_inputs"]

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator

from graphtrace.errors import OutputError
from graphtrace.i18n import _

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
    if _is_special(target):
        _write_into(target, payload)
        return
    folder, name = _check_folder(target)
    mode = _target_mode(target)
    with _signals_deferred():  # Ctrl-C or SIGTERM mid-write: the write ends or is undone, then the signal acts
        fd, tmp = _temporary(target, folder, name, ".tmp")
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
    if _is_special(target):
        raise OutputError(_("cannot write {path}: it is not a regular file").format(path=_shown(target)),
                          hint=_("write to a file, then copy it where it should go"))
    folder, name = _check_folder(target)
    mode = _target_mode(target)
    extension = os.path.splitext(name)[1]
    with _signals_deferred():
        fd, tmp = _temporary(target, folder, name, ".tmp" + extension)
        os.close(fd)
    try:
        yield tmp
    except BaseException:
        # The block's own errors pass through unchanged: they are about the tool, not the file.
        _remove_quietly(tmp)
        raise
    with _signals_deferred():
        if not os.path.isfile(tmp):
            raise OutputError(_("cannot write {path}: the temporary file {tmp} was not written").format(
                path=repr(target), tmp=repr(tmp)))
        _commit(tmp, target, folder, mode)


def refuse_inputs(output: str | os.PathLike[str] | None, *inputs: str | os.PathLike[str] | None,
                  option: str = "-o") -> None:
    """Refuse an output file that is one of the command's inputs (the script, the data file).

    The same file under another name (a link, ``./``, another spelling of the path) counts too.
    Special files (``-o /dev/stdout`` while reading ``-``) are not compared.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> (folder / "x.gt").write_text("x: input = 1")
        12
        >>> try:
        ...     refuse_inputs(folder / "sub" / ".." / "x.gt", folder / "x.gt")
        ... except OutputError as err:
        ...     print(str(err).split(":")[0])
        -o x.gt would replace an input of this command
    """
    if output is None:
        return
    out = os.fspath(output)
    if _is_special(out):
        return
    for given in inputs:
        if given is None or os.fspath(given) == "-":
            continue
        src = os.fspath(given)
        try:
            same = os.path.samefile(out, src)
        except OSError:
            same = os.path.realpath(out) == os.path.realpath(src)
        if same:
            raise OutputError(_("{option} {name} would replace an input of this command: {input}").format(
                option=option, name=_shown(os.path.basename(out)), input=_shown(src)),
                hint=_("write the output to another file"))


def _shown(path: str) -> str:
    from .text import printable

    return printable(path)


def _is_special(target: str) -> bool:
    """An existing target that is neither a regular file nor a folder (FIFO, device, socket), or a
    name for a stream such as ``/dev/stdout`` (a link into /proc: replacing it would replace the
    link in /dev, not write the stream)."""
    try:
        st = os.stat(target)
    except OSError:
        return False
    if os.path.abspath(target).startswith(("/dev/", "/proc/")):
        return True  # /dev/stdout, /proc/self/fd/1: streams, whatever they point at now
    return not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode))


def _write_into(target: str, payload: bytes) -> None:
    """Write into a special file in place (a FIFO's reader, a terminal, /dev/null)."""
    try:
        with open(target, "wb") as f:
            f.write(payload)
    except OSError as exc:
        raise _output_error(target, os.path.dirname(target) or ".", exc) from exc


_NAME_MAX = 255  # bytes in one file name on the common file systems


def _temporary(target: str, folder: str, name: str, suffix: str) -> tuple[int, str]:
    """A new temporary file next to ``target``: ``.NAME.<random>.tmp``, or a short ``.gt-<random>.tmp``
    when the target's name is too long to carry (a 245-character name has no room left)."""
    prefix = "." + name + "."
    if len(os.fsencode(prefix + suffix)) + 8 > _NAME_MAX:
        prefix = ".gt-"
    try:
        return tempfile.mkstemp(dir=folder, prefix=prefix, suffix=suffix)
    except OSError as exc:
        raise _output_error(target, folder, exc) from exc


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
        raise OutputError(_("cannot write {path}: it is a folder, not a file").format(path=repr(target)))
    if not os.path.isdir(folder):
        raise OutputError(_("cannot write {path}: folder {folder} does not exist").format(
            path=repr(target), folder=repr(folder)))
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
        return OutputError(_("cannot write {path}: folder {folder} does not exist").format(
            path=repr(target), folder=repr(folder)))
    if exc.errno in (errno.EACCES, errno.EPERM):
        return OutputError(
            _("cannot write {path}: permission denied").format(path=repr(target)),
            hint=_("choose a folder you can write to, or check the permissions of {folder}").format(folder=repr(folder)),
        )
    reason = exc.strerror or str(exc)
    return OutputError(_("cannot write {path}: {reason}").format(path=repr(target), reason=reason[:1].lower() + reason[1:]))


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP for the few instructions that create, fill and rename a
    temporary file, so that a signal never leaves one behind; a signal that came meanwhile is
    delivered again at the end, to the handler that was there before (main thread only: other
    threads cannot take signals)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                previous[sig] = signal.signal(sig, lambda number, _frame: came.append(number))
            except (ValueError, OSError):  # not settable here: leave it as it is
                pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if came:
            signal.raise_signal(came[0])


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
