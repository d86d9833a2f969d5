"""Tests for graphtrace.render: backend discovery and choice, layout, timeouts, PNG size caps.

Tests that need a backend skip when none is installed; tests of the system Graphviz carry the
``requires_dot`` marker and skip without ``dot``. Choice logic is tested on fake backends.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from graphtrace import render
from graphtrace.errors import RenderError, UsageError
from graphtrace.render import (
    Backend,
    choose_backend,
    doctor,
    find_backends,
    layout,
    layout_size,
    png_dpi_for,
    render_bytes,
)

TINY = 'digraph { a [label="x"]; b [label="σ"]; a -> b [label="∂b/∂a"]; }\n'
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

HAS_DOT = shutil.which("dot") is not None
requires_dot = pytest.mark.skipif(not HAS_DOT, reason="the system Graphviz 'dot' is not installed")
HAS_BUNDLED = render._bundled_executable() is not None
requires_bundled = pytest.mark.skipif(not HAS_BUNDLED, reason="graphviz-pure is not installed")
requires_any = pytest.mark.skipif(not (HAS_DOT or HAS_BUNDLED), reason="no Graphviz installed")

FAKE_SYSTEM = Backend("system", "/usr/bin/dot", "2.43.0", ("json", "pdf", "plain", "png", "svg"))
FAKE_BUNDLED = Backend(
    "bundled", "/venv/bin/graphviz-pure", "0.2.2", ("json", "plain", "png", "svg")
)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def chain_with_labels(n: int) -> str:
    """A graph whose layout takes a while: labelled edges make Graphviz's layout slow."""
    lines = ["digraph {"]
    lines += [f'  n{i} [label="node {i}"];' for i in range(n)]
    lines += [
        f'  n{i} -> n{i + j} [label="e{i}_{j}"];' for i in range(n) for j in (1, 7, 31) if i + j < n
    ]
    return "\n".join(lines + ["}"]) + "\n"


@pytest.fixture(autouse=True)
def fresh_probe():
    """Each test sees the current PATH; no test leaks a patched probe result."""
    render._probe_all.cache_clear()
    yield
    render._probe_all.cache_clear()


@pytest.fixture
def fake_backends(monkeypatch: pytest.MonkeyPatch):
    """Replace discovery with a chosen list of fake backends; the env var is cleared."""
    monkeypatch.delenv("GRAPHTRACE_BACKEND", raising=False)

    def install(*backends: Backend) -> None:
        monkeypatch.setattr(render, "find_backends", lambda: list(backends))

    return install


# --- discovery ---------------------------------------------------------------------------------


@requires_bundled
def test_bundled_backend_found() -> None:
    bundled = [b for b in find_backends() if b.name == "bundled"]
    assert len(bundled) == 1
    b = bundled[0]
    assert os.path.isabs(b.executable) and os.access(b.executable, os.X_OK)
    assert b.version[0].isdigit() and "." in b.version
    assert {"svg", "png", "json", "plain"} <= set(b.formats)
    assert "pdf" not in b.formats


def test_find_backends_system_first_and_cached() -> None:
    found = find_backends()
    names = [b.name for b in found]
    assert names == sorted(names, key=("system", "bundled").index)
    assert find_backends() == found
    found.clear()  # callers get a copy: the cache is not mutated
    assert find_backends() == render.find_backends()


@requires_bundled
@pytest.mark.skipif(sys.platform == "win32", reason="shell script stand-in for dot")
def test_system_dot_is_probed_from_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in 'dot' that prints a real Graphviz banner and otherwise runs graphviz-pure.
    bundled = render._bundled_executable()
    fake = tmp_path / "dot"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-V" ]; then echo "dot - graphviz version 2.43.0 (0)" >&2; exit 0; fi\n'
        'if [ "$1" = "-T?" ]; then echo \'Format: "?" not recognized. Use one of: '
        "bmp canon dot json pdf plain png svg svgz' >&2; exit 1; fi\n"
        f'exec "{bundled}" "$@"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("GRAPHTRACE_BACKEND", raising=False)
    found = find_backends()
    assert [b.name for b in found] == ["system", "bundled"]
    assert found[0].version == "2.43.0"
    assert found[0].executable == str(fake)
    assert "pdf" in found[0].formats
    assert choose_backend("svg").name == "system"
    assert b"<svg" in layout(TINY, "svg")
    monkeypatch.setenv("GRAPHTRACE_BACKEND", "bundled")
    assert choose_backend("svg").name == "bundled"


@pytest.mark.skipif(sys.platform == "win32", reason="shell script stand-in")
def test_broken_program_is_reported_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'dot: error while loading shared libraries' >&2\nexit 127\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    assert "system" not in [b.name for b in find_backends()]
    assert any("shared libraries" in p for p in doctor()["problems"])


# --- choosing ----------------------------------------------------------------------------------


def test_auto_prefers_system(fake_backends) -> None:
    fake_backends(FAKE_SYSTEM, FAKE_BUNDLED)
    assert choose_backend("svg") is FAKE_SYSTEM
    assert choose_backend("pdf") is FAKE_SYSTEM
    assert choose_backend("png", "bundled") is FAKE_BUNDLED


def test_auto_falls_back_to_bundled(fake_backends) -> None:
    fake_backends(FAKE_BUNDLED)
    assert choose_backend("svg") is FAKE_BUNDLED
    assert choose_backend("png") is FAKE_BUNDLED


def test_env_var_forces_backend(fake_backends, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_backends(FAKE_SYSTEM, FAKE_BUNDLED)
    monkeypatch.setenv("GRAPHTRACE_BACKEND", "bundled")
    assert choose_backend("svg") is FAKE_BUNDLED
    assert choose_backend("svg", "system") is FAKE_SYSTEM  # an explicit choice wins
    with pytest.raises(RenderError) as info:
        choose_backend("pdf")
    assert "graphviz-pure cannot write PDF" in str(info.value)
    monkeypatch.setenv("GRAPHTRACE_BACKEND", " System ")
    assert choose_backend("svg") is FAKE_SYSTEM


def test_bad_backend_names(fake_backends, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_backends(FAKE_BUNDLED)
    with pytest.raises(UsageError, match="unknown backend 'cairo'"):
        choose_backend("svg", "cairo")
    monkeypatch.setenv("GRAPHTRACE_BACKEND", "dot")
    with pytest.raises(UsageError, match="GRAPHTRACE_BACKEND='dot'"):
        choose_backend("svg")


def test_pdf_with_bundled_only(fake_backends) -> None:
    fake_backends(FAKE_BUNDLED)
    with pytest.raises(RenderError) as info:
        choose_backend("pdf")
    text = str(info.value)
    assert info.value.message.startswith("PDF output needs the system Graphviz ('dot')")
    assert "sudo apt-get install graphviz" in text
    assert "brew install graphviz" in text and "conda install graphviz" in text
    assert ".svg or .png" in text


@requires_bundled
def test_pdf_forced_bundled_real() -> None:
    with pytest.raises(RenderError) as info:
        layout(TINY, "pdf", backend="bundled")
    # Without dot the hint says how to install it; with dot it says how to use it.
    assert ("apt-get install graphviz" if not HAS_DOT else "system") in str(info.value)


def test_no_backend_at_all(fake_backends) -> None:
    fake_backends()
    with pytest.raises(RenderError) as info:
        choose_backend("svg")
    assert "pip install graphviz-pure" in str(info.value)
    with pytest.raises(RenderError, match="pip install graphviz-pure"):
        choose_backend("png", "bundled")
    with pytest.raises(RenderError, match="apt-get install graphviz"):
        choose_backend("svg", "system")


@pytest.mark.parametrize("fmt", ["gif", "PDF", "", "xdot"])
def test_unknown_format(fake_backends, fmt: str) -> None:
    fake_backends(FAKE_SYSTEM, FAKE_BUNDLED)
    with pytest.raises(RenderError) as info:
        choose_backend(fmt)
    assert "supported formats: svg, png, pdf, json" in str(info.value)


def test_dot_format_needs_no_graphviz(fake_backends) -> None:
    fake_backends(FAKE_SYSTEM)
    with pytest.raises(RenderError) as info:
        layout(TINY, "dot")
    assert info.value.hint and "without Graphviz" in info.value.hint


# --- layout ------------------------------------------------------------------------------------


@requires_any
def test_svg_is_xml() -> None:
    start = time.perf_counter()
    data = layout(TINY, "svg")
    assert time.perf_counter() - start < 10
    root = ET.fromstring(data)
    assert root.tag.rsplit("}", 1)[-1] == "svg"
    assert "∂b/∂a" in data.decode("utf-8")  # UTF-8 labels survive the round trip


@requires_any
def test_png_magic_and_size() -> None:
    width, height = png_size(layout(TINY, "png"))
    assert width > 0 and height > 0
    assert height > width  # a -> b is drawn top to bottom


@requires_any
def test_png_dpi_scales_pixels() -> None:
    w96, h96 = png_size(layout(TINY, "png", dpi=96))
    w192, h192 = png_size(layout(TINY, "png", dpi=192))
    assert abs(w192 - 2 * w96) <= 2 and abs(h192 - 2 * h96) <= 2


@requires_any
def test_json_output() -> None:
    doc = json.loads(layout(TINY, "json"))
    assert {o["name"] for o in doc["objects"]} == {"a", "b"}


@requires_any
def test_layout_size_matches_png_pixels() -> None:
    width_in, height_in = layout_size(TINY)
    width_px, height_px = png_size(layout(TINY, "png"))
    assert abs(width_in * 96 - width_px) <= 2
    assert abs(height_in * 96 - height_px) <= 2


@requires_any
def test_bad_dot_is_render_error() -> None:
    with pytest.raises(RenderError) as info:
        layout("digraph { a -> ", "svg")
    assert not isinstance(info.value, subprocess.CalledProcessError)
    assert "syntax error" in info.value.message.lower()
    assert "Graphviz" in info.value.message


@requires_any
def test_timeout_kills_and_explains(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc)
        return proc

    find_backends()  # probe first, so only the layout's own process is recorded
    monkeypatch.setattr(render.subprocess, "Popen", recording_popen)
    start = time.perf_counter()
    with pytest.raises(RenderError) as info:
        layout(chain_with_labels(60), "svg", timeout=0.01)
    assert time.perf_counter() - start < 10
    assert info.value.message == "layout took longer than 0.01 s"
    assert "--level" in str(info.value) and "GRAPHTRACE_RENDER_TIMEOUT" in str(info.value)
    assert len(started) == 1 and started[0].returncode is not None  # killed and reaped


@requires_any
def test_timeout_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHTRACE_RENDER_TIMEOUT", "0.01")
    with pytest.raises(RenderError, match="longer than 0.01 s"):
        layout(chain_with_labels(60), "svg")
    with pytest.raises(RenderError, match="longer than 0.01 s"):
        render_bytes(chain_with_labels(60), "svg")


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan"])
def test_bad_timeout(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("GRAPHTRACE_RENDER_TIMEOUT", value)
    with pytest.raises(UsageError):
        render._resolve_timeout(None)


def test_timeout_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHTRACE_RENDER_TIMEOUT", raising=False)
    assert render._resolve_timeout(None) == render.DEFAULT_TIMEOUT == 50.0
    assert render._resolve_timeout(2) == 2.0


@requires_any
def test_keyboard_interrupt_kills_child(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []

    class InterruptedPopen(subprocess.Popen):
        interrupted = False

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

        def communicate(self, *args, **kwargs):
            if not InterruptedPopen.interrupted:
                InterruptedPopen.interrupted = True
                raise KeyboardInterrupt
            return super().communicate(*args, **kwargs)

    find_backends()  # probe first, so the interrupt hits the layout, not the probe
    monkeypatch.setattr(render.subprocess, "Popen", InterruptedPopen)
    with pytest.raises(KeyboardInterrupt):
        layout(chain_with_labels(60), "svg")
    assert len(started) == 1
    assert started[0].returncode is not None and started[0].returncode < 0  # killed, reaped


def test_missing_executable_is_render_error(fake_backends, tmp_path: Path) -> None:
    fake_backends(Backend("bundled", str(tmp_path / "gone"), "0.2.2", ("svg",)))
    with pytest.raises(RenderError, match="cannot run"):
        layout(TINY, "svg")


# --- PNG size caps -----------------------------------------------------------------------------


def test_png_dpi_small_graph_keeps_default() -> None:
    assert png_dpi_for(5, 3) == 96.0
    assert png_dpi_for(5, 3, default_dpi=72) == 72.0
    assert png_dpi_for(0, 3) == 96.0


@pytest.mark.parametrize(
    "width, height",
    [(1000, 1000), (400, 2), (2, 400), (170.7, 170.7), (80, 80), (10_000, 0.5), (77.7, 900.1)],
)
def test_png_dpi_caps(width: float, height: float) -> None:
    dpi = png_dpi_for(width, height)
    assert 0 < dpi <= 96
    # Graphviz may round each side up by a pixel.
    w_px, h_px = width * dpi + 1, height * dpi + 1
    assert w_px <= 16384 and h_px <= 16384
    assert w_px * h_px <= 50_000_000


def test_png_dpi_custom_limits() -> None:
    assert png_dpi_for(10, 10, max_side=500) == pytest.approx(49.8)
    assert png_dpi_for(10, 10, max_pixels=10_000) == pytest.approx(9.99)


@requires_any
def test_render_bytes_caps_wide_png() -> None:
    # 260 nodes side by side: about 390 inches wide, 37000 px at 96 dpi.
    src = "digraph {\n" + "".join(f'  n{i} [label="node {i}"];\n' for i in range(260)) + "}\n"
    width_in, _ = layout_size(src)
    assert width_in * 96 > 16384
    width, height = png_size(render_bytes(src, "png"))
    assert 10_000 < width <= 16384
    assert width * height <= 50_000_000


@requires_any
def test_render_bytes_small_graph() -> None:
    assert png_size(render_bytes(TINY, "png")) == png_size(layout(TINY, "png"))
    assert ET.fromstring(render_bytes(TINY, "svg")).tag.endswith("svg")


# --- doctor ------------------------------------------------------------------------------------


@requires_any
def test_doctor_lists_backends() -> None:
    report = doctor()
    json.dumps(report)  # plain data, ready for --json
    assert len(report["backends"]) >= 1
    assert {"name", "executable", "version", "formats"} <= set(report["backends"][0])
    assert report["auto"] in ("system", "bundled")
    assert set(report["formats"]) == {"svg", "png", "pdf"}
    assert report["formats"]["svg"]["backend"] is not None
    pdf = report["formats"]["pdf"]
    assert (pdf["backend"] is None) == (pdf["error"] is not None)


def test_doctor_without_graphviz(fake_backends) -> None:
    fake_backends()
    report = doctor()
    assert report["auto"] is None
    assert "pip install graphviz-pure" in report["formats"]["svg"]["error"]


# --- the system Graphviz -----------------------------------------------------------------------


@pytest.mark.requires_dot
@requires_dot
def test_system_backend_version() -> None:
    system = [b for b in find_backends() if b.name == "system"]
    assert system and system[0].version[0].isdigit()
    assert system[0].executable == shutil.which("dot")


@pytest.mark.requires_dot
@requires_dot
@pytest.mark.parametrize("fmt, magic", [("svg", b"<"), ("png", PNG_MAGIC), ("pdf", b"%PDF")])
def test_system_backend_formats(fmt: str, magic: bytes) -> None:
    assert layout(TINY, fmt, backend="system").lstrip()[: len(magic)] == magic


@pytest.mark.requires_dot
@requires_dot
def test_system_backend_bad_dot() -> None:
    with pytest.raises(RenderError, match="system"):
        layout("digraph { a -> ", "svg", backend="system")


def test_the_same_drawing_is_laid_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphviz is deterministic: a DOT text drawn again in the same format (the demo draws some
    views twice) comes from the process's memo, not from a second Graphviz run; another format,
    another text or another limit runs Graphviz again."""
    runs: list[list[str]] = []
    real = subprocess.Popen

    def counting(cmd, *args, **kwargs):
        if any(a.startswith("-T") and a != "-T?" for a in cmd[1:]):  # a layout, not a backend probe
            runs.append(list(cmd))
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(render.subprocess, "Popen", counting)
    monkeypatch.setattr(render, "_DRAWN", type(render._DRAWN)())
    monkeypatch.setattr(render, "_DRAWN_BYTES", 0)
    dot = 'digraph { memo_test_a -> memo_test_b [label="once"] }'
    first = layout(dot, "svg")
    assert layout(dot, "svg") == first and len(runs) == 1
    layout(dot, "plain")
    layout(dot.replace("once", "twice"), "svg")
    layout(dot, "svg", timeout=30)
    assert len(runs) == 4
    monkeypatch.setattr(render, "_DRAWN_LIMIT", 10)  # a drawing bigger than the bound is not kept
    layout(dot.replace("once", "thrice"), "svg")
    layout(dot.replace("once", "thrice"), "svg")
    assert len(runs) == 6 and render._DRAWN_BYTES <= 10
