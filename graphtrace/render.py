"""Render stage: DOT text -> SVG/PNG/PDF/JSON bytes; the only module that runs Graphviz.

Two backends run the same ``dot`` command line: ``system`` is the Graphviz ``dot`` on PATH, and
``bundled`` is ``graphviz-pure`` from the pip package of that name (a Rust port of Graphviz
16.1 that writes svg, png, json and plain but not pdf). ``auto`` prefers the system one. The
environment variable ``GRAPHTRACE_BACKEND`` (auto, system or bundled) replaces ``auto``, so CI
can force one backend for a whole test run; ``GRAPHTRACE_RENDER_TIMEOUT`` (seconds) replaces
the default 60 s layout timeout. DOT is fed on stdin as UTF-8 and output read from stdout; a
timeout or Ctrl-C kills the child before the error propagates.
"""

from __future__ import annotations

__all__ = [
    "Backend",
    "FORMATS",
    "find_backends",
    "choose_backend",
    "layout",
    "layout_size",
    "png_dpi_for",
    "render_bytes",
    "doctor",
]

import atexit
import functools
import hashlib
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphtrace.errors import RenderError, UsageError, env_limit
from graphtrace.i18n import N_, _

FORMATS: tuple[str, ...] = ("svg", "png", "pdf", "json")
"""Formats :func:`layout` produces. DOT text needs no Graphviz: graphtrace writes it itself."""

BACKEND_NAMES = ("auto", "system", "bundled")
DEFAULT_TIMEOUT = 50.0
"""Seconds a layout may take: with parsing and drawing around it, a command stays within a minute."""
DEFAULT_MEMORY_MB = 2048
"""The address space a Graphviz child may use (MiB), unless ``GRAPHTRACE_LAYOUT_MEMORY_MB`` says
otherwise: Graphviz's memory grows with the drawing's long edges, and the timeout bounds time only."""
DEFAULT_DPI = 96.0  # Graphviz's own default for bitmap output
# Graphviz pads the drawing by 4 points on each side (the ``pad`` attribute's default).
_PAD_IN = 2 * 4 / 72
# Above this many attribute statements a PNG gets a layout_size pass before it is drawn.
_MEASURE_ABOVE = 200
# The PNG caps: a bigger image takes gigabytes to draw and most viewers refuse it anyway.
_MAX_PNG_SIDE = 16384
_MAX_PNG_PIXELS = 50_000_000

_INSTALL_SYSTEM = (
    "Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz"
)
_INSTALL_HINT = N_("pip install graphviz-pure, or install Graphviz ({system})")
_TIMEOUT_HINT = N_(
    "try a coarser --level (neuron or layer), --no-edge-labels, or write DOT with -o graph.dot "
    "and lay it out yourself; raise the limit with --timeout or GRAPHTRACE_RENDER_TIMEOUT"
)
_MEMORY_HINT = N_(
    "draw a coarser --level (neuron or layer), a part of the graph with --of NAME, or without "
    "edge labels (--no-edge-labels); raise the budget with GRAPHTRACE_LAYOUT_MEMORY_MB"
)


@dataclass(frozen=True)
class Backend:
    """A Graphviz program that works: its name (system or bundled), path, version, formats."""

    name: str
    executable: str
    version: str
    formats: tuple[str, ...]


def find_backends() -> list[Backend]:
    """The Graphviz backends that run on this machine, system first.

    Probed once per process (each program is run with ``-V`` and ``-T?``).

    Example:
        >>> all(b.name in ("system", "bundled") for b in find_backends())
        True
    """
    return list(_probe_all()[0])


def choose_backend(fmt: str, backend: str = "auto") -> Backend:
    """The backend that will write ``fmt``.

    Args:
        fmt: An output format from :data:`FORMATS` (or ``plain``).
        backend: ``auto``, ``system`` or ``bundled``; ``auto`` defers to
            ``GRAPHTRACE_BACKEND`` when set, else prefers the system Graphviz.

    Raises:
        RenderError: The format is unknown, or no installed backend can write it; the hint
            says what to install.
        UsageError: ``backend`` (or ``GRAPHTRACE_BACKEND``) is not a backend name.
    """
    if fmt not in FORMATS and fmt != "plain":
        hint = _("graphtrace writes .dot files itself, without Graphviz") if fmt == "dot" else None
        raise RenderError(
            _("cannot lay out format {format}; supported formats: {formats}").format(
                format=repr(fmt), formats=", ".join(FORMATS)), hint=hint
        )
    wanted = _requested_backend(backend)
    found = {b.name: b for b in find_backends()}
    names = ("system", "bundled") if wanted == "auto" else (wanted,)
    for name in names:
        if name in found and fmt in found[name].formats:
            return found[name]

    if fmt == "pdf" and "system" not in found:
        raise RenderError(
            _("PDF output needs the system Graphviz ('dot'), which is not installed"),
            hint=_("install it ({system}) or write .svg or .png instead").format(system=_INSTALL_SYSTEM),
        )
    if fmt == "pdf" and wanted == "bundled":
        raise RenderError(
            _("PDF output needs the system Graphviz ('dot'); the bundled graphviz-pure cannot write PDF"),
            hint=_("use the system or auto backend (unset GRAPHTRACE_BACKEND), or write .svg or .png"),
        )
    if wanted == "system" and "system" not in found:
        raise RenderError(
            _("the system Graphviz ('dot') is not installed or does not run"),
            hint=_("install it ({system}), or use the bundled backend").format(system=_INSTALL_SYSTEM),
        )
    if wanted == "bundled" and "bundled" not in found:
        raise RenderError(
            _("the bundled Graphviz ('graphviz-pure') is not installed or does not run"),
            hint="pip install graphviz-pure",
        )
    if not found:
        raise RenderError(_("no Graphviz found to lay out the graph"), hint=_install_hint())
    tried = ", ".join(f"{found[n].executable}" for n in names if n in found)
    raise RenderError(_("no Graphviz backend can write {format} (tried {tried})").format(format=repr(fmt), tried=tried),
                      hint=_install_hint())


def layout(
    dot_source: str,
    fmt: str,
    *,
    backend: str = "auto",
    timeout: float | None = None,
    dpi: float | None = None,
    pinned: bool = False,
) -> bytes:
    """Run Graphviz on ``dot_source`` and return the drawing in format ``fmt``.

    Args:
        dot_source: DOT text.
        fmt: One of :data:`FORMATS` (``plain`` also works).
        backend: ``auto``, ``system`` or ``bundled``.
        timeout: Seconds before the layout is killed; ``None`` means
            ``GRAPHTRACE_RENDER_TIMEOUT`` or 60.
        dpi: Resolution for png (passed as ``-Gdpi``; a ``dpi`` set in the DOT text itself
            may win with the system Graphviz); ignored for other formats.
        pinned: Every node and edge already has its position (``pos``, see
            :mod:`graphtrace.placement`): draw it there without laying it out (``neato -n2``).

    Raises:
        RenderError: No backend for the format, a timeout, or Graphviz failed (the message
            quotes Graphviz's own error).

    Example:
        >>> layout("digraph { a -> b }", "svg").lstrip().startswith(b"<?xml")
        True
    """
    chosen = choose_backend(fmt, backend)
    seconds = _resolve_timeout(timeout)
    cmd = [chosen.executable, f"-T{fmt}"]
    if pinned:
        cmd[1:1] = ["-Kneato", "-n2"]
    if dpi is not None and fmt == "png":
        cmd.append(f"-Gdpi={dpi:.6g}")
    memory = memory_budget()
    key = (hashlib.sha256(dot_source.encode("utf-8", "surrogatepass")).digest(), tuple(cmd), seconds, memory)
    done = _DRAWN.get(key)
    if done is not None:  # the same drawing again (the demo draws some views twice): Graphviz is deterministic
        _DRAWN.move_to_end(key)
        return done
    out = _run_layout(chosen, cmd, dot_source, fmt, seconds, memory)
    _DRAWN[key] = out
    global _DRAWN_BYTES
    _DRAWN_BYTES += len(out)
    while _DRAWN_BYTES > _DRAWN_LIMIT and _DRAWN:
        _DRAWN_BYTES -= len(_DRAWN.popitem(last=False)[1])
    return out


# Layouts already made in this process, newest last: (DOT digest, command, timeout, memory) →
# the drawing. Bounded in bytes; a drawing bigger than the bound is not kept.
_DRAWN: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_DRAWN_BYTES = 0
_DRAWN_LIMIT = 32 * 2**20


def _run_layout(chosen: Any, cmd: list[str], dot_source: str, fmt: str, seconds: float, memory: int) -> bytes:
    try:
        # Its own session (process group), so that it is killed whole; an address-space limit
        # set in the child before Graphviz starts, so that no drawing can take the machine.
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=functools.partial(_limit_memory, memory),
        )
    except OSError as exc:
        raise RenderError(_("cannot run {program}: {reason}").format(program=chosen.executable,
                                                                   reason=exc.strerror or exc)) from exc
    _CHILDREN.add(proc)
    try:
        limit = None if math.isinf(seconds) else seconds
        out, err = proc.communicate(dot_source.encode("utf-8"), timeout=limit)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise _timeout_error(seconds) from None
    except BaseException:
        _kill(proc)  # Ctrl-C or SIGTERM must not leave a layout running in the background
        raise
    finally:
        _CHILDREN.discard(proc)
    if proc.returncode != 0:
        if _out_of_memory(proc.returncode, err):
            raise RenderError(_("Graphviz ({backend}) ran out of its memory budget ({mib} MiB) laying out this "
                                "drawing").format(backend=chosen.name, mib=f"{memory // 2**20:,}"),
                              hint=_(_MEMORY_HINT))
        raise RenderError(
            _("Graphviz ({backend}, {program}) failed: {reason}").format(
                backend=chosen.name, program=chosen.executable, reason=_failure_reason(proc.returncode, err))
        )
    if not out:
        raise RenderError(_("Graphviz ({backend}) wrote no {format} output").format(backend=chosen.name, format=fmt))
    return out


def layout_size(
    dot_source: str, *, backend: str = "auto", timeout: float | None = None
) -> tuple[float, float]:
    """The drawing's width and height in inches, including Graphviz's default 4-point pad.

    Lays the graph out once with ``-Tplain`` (whose first line is ``graph scale width height``,
    the same in both backends) and applies the scale, so a ``size`` attribute is honoured.

    Example:
        >>> w, h = layout_size("digraph { a -> b }")
        >>> 0.5 < w < h < 3
        True
    """
    text = layout(dot_source, "plain", backend=backend, timeout=timeout).decode("utf-8", "replace")
    head = text.split("\n", 1)[0].split()
    try:
        if head[0] != "graph":
            raise ValueError(head[0])
        scale, width, height = (float(v) for v in head[1:4])
    except (IndexError, ValueError):
        raise RenderError(_("cannot read the layout size from Graphviz: {text}").format(text=repr(text[:80]))) from None
    return scale * width + _PAD_IN, scale * height + _PAD_IN


def png_dpi_for(
    width_in: float,
    height_in: float,
    *,
    max_side: int = 16384,
    max_pixels: int = 50_000_000,
    default_dpi: float = DEFAULT_DPI,
) -> float:
    """The largest dpi up to ``default_dpi`` that keeps a PNG within the size limits.

    Neither side exceeds ``max_side`` pixels and the total stays within ``max_pixels``, with
    a little slack for Graphviz rounding pixel counts up.

    Example:
        >>> png_dpi_for(5, 3)
        96.0
        >>> dpi = png_dpi_for(1000, 1000)
        >>> 1000 * dpi <= 16384 and (1000 * dpi) ** 2 <= 50_000_000
        True
        >>> round(png_dpi_for(400, 2), 2)  # a tall chain: the side limit binds
        40.95
    """
    if width_in <= 0 or height_in <= 0:
        return float(default_dpi)
    by_side = (max_side - 2) / max(width_in, height_in)
    by_area = math.sqrt(max_pixels / (width_in * height_in)) * 0.999
    return float(min(default_dpi, by_side, by_area))


def render_bytes(
    dot_source: str, fmt: str, *, backend: str = "auto", timeout: float | None = None,
    dpi: float | None = None,
) -> bytes:
    """Draw ``dot_source`` as ``fmt``, keeping PNGs within 16,384 pixels a side and 50 megapixels.

    For PNG graphs with more than 200 attribute statements (lines of DOT containing ``[``:
    nodes and edges, so it over-counts, erring towards measuring), the graph is first laid out
    with :func:`layout_size` to pick a dpi with :func:`png_dpi_for`; small graphs are drawn at
    Graphviz's default dpi in one pass. Every PNG is then measured (its IHDR header): one that
    is still too big (a long chain of wide labels, or Graphviz rounding) is drawn again smaller.
    The timeout covers all passes. ``dpi`` asks for another resolution than Graphviz's 96 (a
    ``--fit`` target's: 300 for A4), still within the limits.

    Example:
        >>> render_bytes("digraph { a -> b }", "png")[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    if fmt != "png":
        return layout(dot_source, fmt, backend=backend, timeout=timeout)
    chosen = choose_backend(fmt, backend).name  # every pass on the same program
    seconds = _resolve_timeout(timeout)
    start = time.monotonic()
    wanted = DEFAULT_DPI if dpi is None else float(dpi)
    dpi = wanted
    if sum("[" in line for line in dot_source.splitlines()) > _MEASURE_ABOVE or wanted > DEFAULT_DPI:
        width, height = layout_size(dot_source, backend=chosen, timeout=seconds)
        dpi = png_dpi_for(width, height, max_side=_MAX_PNG_SIDE, max_pixels=_MAX_PNG_PIXELS, default_dpi=wanted)
    for _attempt in range(3):
        remaining = seconds - (time.monotonic() - start)
        if remaining <= 0:
            raise _timeout_error(seconds)
        out = layout(dot_source, fmt, backend=chosen, timeout=remaining, dpi=dpi if dpi != DEFAULT_DPI else None)
        over = _png_overshoot(out)
        if over <= 1.0:
            return out
        # Graphviz rounds node and label sizes to whole pixels, so a drawing does not shrink
        # exactly in proportion to the dpi: aim a little under the limit.
        dpi = dpi / over * 0.98
    raise RenderError(_("cannot fit the PNG within {side} pixels a side and {pixels} pixels in all").format(
                          side=f"{_MAX_PNG_SIDE:,}", pixels=f"{_MAX_PNG_PIXELS:,}"),
                      hint=_("write .svg (no size limit) or draw a coarser --level"))


def _png_overshoot(data: bytes) -> float:
    """How many times too big a PNG is (<= 1 when within the limits; 0 if it has no IHDR)."""
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return 0.0
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return max(width / _MAX_PNG_SIDE, height / _MAX_PNG_SIDE, math.sqrt(width * height / _MAX_PNG_PIXELS))


def doctor() -> dict[str, Any]:
    """What Graphviz graphtrace can use, as plain data for the CLI to show.

    Returns:
        ``backends``: name, executable, version and formats of each backend that runs;
        ``problems``: programs found that do not run; ``env``: the GRAPHTRACE_* settings;
        ``auto``: the backend ``auto`` picks for SVG (or None); ``formats``: for svg, png and
        pdf, the backend that would write it, or the error saying why none can.

    Example:
        >>> sorted(doctor())
        ['auto', 'backends', 'env', 'formats', 'problems']
    """
    backends, problems = _probe_all()
    formats: dict[str, dict[str, str | None]] = {}
    for fmt in ("svg", "png", "pdf"):
        try:
            formats[fmt] = {"backend": choose_backend(fmt).name, "error": None}
        except (RenderError, UsageError) as exc:
            formats[fmt] = {"backend": None, "error": str(exc)}
    return {
        "backends": [
            {
                "name": b.name,
                "executable": b.executable,
                "version": b.version,
                "formats": list(b.formats),
            }
            for b in backends
        ],
        "problems": [_problem_text(p) for p in problems],
        "env": {
            key: os.environ.get(key) for key in ("GRAPHTRACE_BACKEND", "GRAPHTRACE_RENDER_TIMEOUT")
        },
        "auto": formats["svg"]["backend"],
        "formats": formats,
    }


@functools.lru_cache(maxsize=1)
def _probe_all() -> tuple[tuple[Backend, ...], tuple[tuple[str, dict[str, Any]], ...]]:
    """Backends that run, and a problem for each program found that does not (a message and its
    fields: cached, so :func:`doctor` says it in the language in force when it is called)."""
    backends: list[Backend] = []
    problems: list[tuple[str, dict[str, Any]]] = []
    for name, exe in (("system", shutil.which("dot")), ("bundled", _bundled_executable())):
        if exe is None:
            continue
        probed = _probe(name, exe)
        if isinstance(probed, Backend):
            backends.append(probed)
        else:
            problems.append(probed)
    return tuple(backends), tuple(problems)


def _bundled_executable() -> str | None:
    """graphviz-pure: next to this Python's scripts first, so no activated venv is needed."""
    exe_name = "graphviz-pure.exe" if sys.platform == "win32" else "graphviz-pure"
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder, exe_name) if folder else ""
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("graphviz-pure")


def _problem_text(problem: tuple[str, dict[str, Any]]) -> str:
    """A probe's problem as a sentence in the current language."""
    message, fields = problem
    fields = dict(fields)
    if "code" in fields:  # -V printed nothing: its exit status says what happened
        fields["output"] = _("exit status {number}").format(number=fields.pop("code"))
    return _(message).format(**fields)


def _probe(name: str, exe: str) -> Backend | tuple[str, dict[str, Any]]:
    """Run ``exe -V`` and ``exe -T?``; both print to stderr (``-T?`` exits 1 by design)."""
    try:
        version_run = subprocess.run([exe, "-V"], capture_output=True, timeout=20)
        formats_run = subprocess.run([exe, "-T?"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return N_("{program} does not run: {reason}"), {"program": exe, "reason": str(exc)}
    banner = (version_run.stderr + version_run.stdout).decode("utf-8", "replace")
    match = re.search(r"version\s+(\S+)", banner)
    if version_run.returncode != 0 or match is None:
        output = banner.strip()[:200]
        return N_("{program} -V failed: {output}"), ({"program": exe, "output": output} if output
                                                     else {"program": exe, "code": version_run.returncode})
    listing = formats_run.stderr.decode("utf-8", "replace")
    _, sep, names = listing.partition("Use one of:")
    formats = tuple(sorted({f.split(":")[0] for f in names.split()})) if sep else ()
    if not formats:  # an unexpected listing: assume what each backend is documented to write
        formats = (
            ("json", "pdf", "plain", "png", "svg")
            if name == "system"
            else ("json", "plain", "png", "svg")
        )
    return Backend(name=name, executable=exe, version=match.group(1), formats=formats)


def _requested_backend(backend: str) -> str:
    wanted = backend
    if backend == "auto":
        wanted = os.environ.get("GRAPHTRACE_BACKEND", "").strip().lower() or "auto"
        if wanted not in BACKEND_NAMES:
            raise UsageError(
                _("GRAPHTRACE_BACKEND={value} is not a backend; use auto, system or bundled").format(value=repr(wanted))
            )
    elif backend not in BACKEND_NAMES:
        raise UsageError(_("unknown backend {backend}; use auto, system or bundled").format(backend=repr(backend)))
    return wanted


def _resolve_timeout(timeout: float | None) -> float:
    if timeout is None:
        raw = os.environ.get("GRAPHTRACE_RENDER_TIMEOUT", "").strip()
        if not raw:
            return DEFAULT_TIMEOUT
        try:
            timeout = float(raw)
        except ValueError:
            raise UsageError(
                _("GRAPHTRACE_RENDER_TIMEOUT={value} is not a number of seconds").format(value=repr(raw))
            ) from None
    if not timeout > 0:  # also rejects NaN; inf means no limit
        raise UsageError(_("the render timeout must be a positive number of seconds, not {timeout}").format(timeout=timeout))
    return float(timeout)


def _timeout_error(seconds: float) -> RenderError:
    return RenderError(_("layout took longer than {seconds} s").format(seconds=f"{seconds:g}"), hint=_(_TIMEOUT_HINT))


def _install_hint() -> str:
    return _(_INSTALL_HINT).format(system=_INSTALL_SYSTEM)


def memory_budget() -> int:
    """Bytes of address space a Graphviz child may use: ``GRAPHTRACE_LAYOUT_MEMORY_MB`` or 2 GiB.

    >>> import os
    >>> "GRAPHTRACE_LAYOUT_MEMORY_MB" in os.environ or memory_budget() == 2 * 2**30
    True
    """
    return env_limit("GRAPHTRACE_LAYOUT_MEMORY_MB", DEFAULT_MEMORY_MB) * 2**20


def _limit_memory(limit: int) -> None:  # runs in the child, between fork and exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _out_of_memory(returncode: int, stderr: bytes) -> bool:
    text = stderr.decode("utf-8", "replace").lower()
    return ("memory" in text or "alloc" in text or "resource temporarily unavailable" in text
            or returncode in (-signal.SIGABRT, -signal.SIGSEGV,
                                                                   -signal.SIGKILL, -signal.SIGBUS))


_CHILDREN: set[subprocess.Popen[bytes]] = set()
"""Graphviz processes still running: killed when graphtrace exits, whatever the reason."""


@atexit.register
def kill_children() -> None:
    """Kill every Graphviz child still running (at exit, and from the CLI's signal handling)."""
    for proc in list(_CHILDREN):
        _kill(proc)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it started
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass
    try:
        proc.communicate(timeout=5)  # reap it and close the pipes
    except (subprocess.TimeoutExpired, OSError):
        pass


def _failure_reason(returncode: int, stderr: bytes) -> str:
    """Graphviz's error lines, preferring them over the warnings that often precede them."""
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    shown = (errors or lines)[:5]
    if shown:
        return "; ".join(shown)
    if returncode < 0:
        return _("killed by signal {number}").format(number=-returncode)
    return _("exit status {number}").format(number=returncode)
