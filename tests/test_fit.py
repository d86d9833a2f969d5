"""Slide-shaped output (issue 15): ``render --fit slide|a4`` picks level, rank direction and size so
that the page is the target's shape and its smallest text stays legible, measured on the result."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import SAMPLES, run_main

import graphtrace
from graphtrace import output
from graphtrace.network import mlp_script

render = pytest.importorskip("graphtrace.render")
SVG = "{http://www.w3.org/2000/svg}"


def _backends() -> list[str]:
    names = [b.name for b in render.find_backends()]
    if not names:
        pytest.skip("no Graphviz backend")
    return names


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def smallest_text_px(svg: bytes, page_width_px: float) -> float:
    """The smallest text of an SVG, in pixels when the SVG is shown ``page_width_px`` wide: each
    <text>'s font size times the drawing's scale (Graphviz's transform on the graph group) times
    the pixels per SVG unit. Independent of graphtrace's own measurement (it reads the picture)."""
    root = ET.fromstring(svg)
    view = [float(v) for v in root.get("viewBox", "").split()]
    graph = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "graph")
    m = re.search(r"scale\(([\d.]+)", graph.get("transform", ""))
    scale = float(m.group(1)) if m else 1.0
    sizes = [float(t.get("font-size")) for t in root.iter(f"{SVG}text") if t.get("font-size")]
    assert sizes, "no text in the SVG"
    return min(sizes) * scale * page_width_px / view[2]


def _net(tmp_path: Path, shape: str) -> Path:
    path = tmp_path / f"net{shape}.gt"
    path.write_text(mlp_script([int(s) for s in shape.split("-")], seed=0), encoding="utf-8")
    return path


@pytest.mark.parametrize("shape", ["2-3-1", "2-16-16-1", "16-64-64-10"])
def test_fit_slide_gives_a_16_by_9_picture_with_legible_text(tmp_path: Path, shape: str) -> None:
    script = _net(tmp_path, shape)
    backends = _backends() if shape == "2-3-1" else _backends()[:1]
    for backend in backends:
        png, svg = tmp_path / f"s-{backend}.png", tmp_path / f"s-{backend}.svg"
        for out in (png, svg):
            code, stdout, err = run_main(["render", str(script), "--fit", "slide", "--backend", backend, "-o", str(out)])
            assert code == 0, err
            assert "fit slide:" in err and "1920×1080 px" in err, err
        assert _png_size(png.read_bytes()) == (1920, 1080), backend
        root = ET.fromstring(svg.read_bytes())
        assert (root.get("width"), root.get("height")) == ("1440pt", "810pt")  # 20 × 11.25 in: 16:9
        px = smallest_text_px(svg.read_bytes(), 1920)
        print(f"{shape} on {backend}: smallest text {px:.1f} px at 1920×1080")
        assert px >= 12.0, (shape, backend, px)


def test_fit_chooses_the_finest_legible_level() -> None:
    fit = output.fit_drawing(graphtrace.load(SAMPLES / "triangle.gt"), "slide")
    assert fit.drawing.level == "neuron" and fit.legible and fit.min_text_px >= 12  # every op would be 6 px
    assert fit.drawing.page["size"] == "20.0000,11.2500!"
    big = graphtrace.parse(mlp_script([16, 64, 64, 10], seed=0))
    assert output.fit_drawing(big, "slide").drawing.level == "layer"
    # a level the user names is kept, and the note says when it cannot be legible
    forced = output.fit_drawing(graphtrace.load(SAMPLES / "triangle.gt"), "slide", level="scalar")
    assert forced.drawing.level == "scalar" and not forced.legible
    assert any(n.startswith("warning: on the slide its smallest text is") for n in forced.drawing.notes)


def test_fit_a4_turns_the_page_when_that_reads_better(tmp_path: Path) -> None:
    out = tmp_path / "a4.png"
    code, stdout, err = run_main(["render", str(SAMPLES / "triangle.gt"), "--fit", "a4", "-o", str(out)])
    assert code == 0, err
    w, h = _png_size(out.read_bytes())
    assert w > h  # the 2-3-1 net is wide: landscape
    # A4 (11.69 × 8.27 in) at 300 dpi, to Graphviz's rounding of sizes at that resolution
    assert abs(w - 3507) <= 0.005 * 3507 and abs(h - 2481) <= 0.005 * 2481, (w, h)
    assert "fit a4: neuron level" in err, err


def test_fit_refuses_what_it_cannot_size(tmp_path: Path) -> None:
    for out in ("x.json", "x.html"):
        code, stdout, err = run_main(["render", str(SAMPLES / "neuron.gt"), "--fit", "slide", "-o", str(tmp_path / out)])
        assert code == 2 and "--fit" in err and stdout == "", err
        assert not (tmp_path / out).exists()
    code, stdout, err = run_main(["render", str(SAMPLES / "neuron.gt"), "--fit", "poster", "-o", str(tmp_path / "x.png")])
    assert code == 2 and "poster" in err, err


def test_fit_writes_the_page_into_dot(tmp_path: Path) -> None:
    out = tmp_path / "slide.dot"
    code, stdout, err = run_main(["render", str(SAMPLES / "triangle.gt"), "--fit", "slide", "-o", str(out)])
    assert code == 0, err
    text = out.read_text(encoding="utf-8")
    assert 'size="20.0000,11.2500!"' in text and re.search(r'pad="[\d.]+,[\d.]+"', text)
    assert "level neuron" in text.splitlines()[0]
