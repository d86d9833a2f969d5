"""`graphtrace render` and `graphtrace doctor`: formats, backends, paths table, big networks, errors."""

from __future__ import annotations

import json
import re
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import SAMPLES, assert_clean_error, run_cli, run_main

import graphtrace
from graphtrace import dot
from graphtrace.network import mlp_script

render = pytest.importorskip("graphtrace.render")

NEURON = str(SAMPLES / "neuron.gt")
SVG_NS = "{http://www.w3.org/2000/svg}"
requires_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs the system Graphviz 'dot'")


def _node_groups(svg: bytes | str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter(f"{SVG_NS}g") if e.get("class") == "node"]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _ok(code: int, out: str, err: str) -> None:
    assert code == 0, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"


def _triangle(tmp_path: Path) -> tuple[str, str]:
    """The triangle net (samples/triangle.gt, or a generated 2-3-1 MLP) and a first-layer weight."""
    sample = SAMPLES / "triangle.gt"
    if sample.exists():
        g = graphtrace.load(sample)
        first = [p for p in g.params if str(p).startswith("w1_")] or g.params
        grads = g.backprop()
        return str(sample), str(max(first, key=lambda p: abs(float(grads[p]))))  # a non-zero sum
    path = tmp_path / "triangle.gt"
    path.write_text(mlp_script([2, 3, 1]), encoding="utf-8")
    return str(path), "w1_1_1"


# ---- formats ----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["auto", "bundled"])
def test_svg_parses_with_one_group_per_node(tmp_path: Path, backend: str) -> None:
    out = tmp_path / "n.svg"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--backend", backend]))
    groups = _node_groups(out.read_bytes())
    drawn = dot.draw(graphtrace.load(NEURON))
    assert len(groups) == len(drawn.nodes)
    assert {g.get("id") for g in groups} == {n.id for n in drawn.nodes}


@pytest.mark.parametrize("backend", ["auto", "bundled"])
def test_png_has_magic_bytes_and_dimensions(tmp_path: Path, backend: str) -> None:
    out = tmp_path / "n.png"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--view", "backward", "--wrt", "α", "--symbolic",
                   "--backend", backend]))
    width, height = _png_size(out.read_bytes())
    assert 200 < width <= 16384 and 100 < height <= 16384


def test_pdf_with_the_bundled_backend_fails_with_an_install_hint(tmp_path: Path) -> None:
    out = tmp_path / "n.pdf"
    code, stdout, err = run_main(["render", NEURON, "-o", str(out), "--backend", "bundled"])
    assert_clean_error(code, stdout, err)
    assert "pdf" in err.lower() and ("install" in err.lower() or "graphviz" in err.lower()), err
    assert not out.exists()


@requires_dot
@pytest.mark.requires_dot
def test_pdf_with_system_graphviz(tmp_path: Path) -> None:
    out = tmp_path / "n.pdf"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--backend", "system"]))
    assert out.read_bytes()[:5] == b"%PDF-"


@requires_dot
@pytest.mark.requires_dot
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_system_backend(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"n.{fmt}"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--backend", "system"]))
    data = out.read_bytes()
    if fmt == "svg":
        assert len(_node_groups(data)) == len(dot.draw(graphtrace.load(NEURON)).nodes)
    else:
        _png_size(data)


def test_dot_output_needs_no_graphviz(tmp_path: Path) -> None:
    out = tmp_path / "n.dot"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--view", "backward"]))
    assert out.read_text(encoding="utf-8") == graphtrace.load(NEURON).to_dot(view="backward")


def test_json_output(tmp_path: Path) -> None:
    out = tmp_path / "n.json"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--wrt", "β"]))
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["view"] == "both" and doc["wrt"] == "β" and doc["level"] == "scalar"
    assert {"id", "name", "value", "grad"} <= set(doc["nodes"][0])
    assert all("local" in e for e in doc["edges"])
    assert out.read_text(encoding="utf-8") == (tmp_path / "n.json").read_text(encoding="utf-8")


def test_unknown_extension_lists_the_formats(tmp_path: Path) -> None:
    code, out, err = run_main(["render", NEURON, "-o", str(tmp_path / "n.gif")])
    assert_clean_error(code, out, err)
    for ext in (".svg", ".png", ".pdf", ".dot", ".json"):
        assert ext in err


def test_set_and_options_reach_the_drawing(tmp_path: Path) -> None:
    out = tmp_path / "n.dot"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--set", "x1=2", "--show-consts", "--no-edge-labels",
                   "--no-legend", "--heat", "--wrt", "α"]))
    text = out.read_text(encoding="utf-8")
    assert '"const_1" [' in text and "= 2</font>" in text
    assert "input (placeholder)" not in text
    assert not re.search(r' -> .*label="', text)


# ---- paths table == grad ----------------------------------------------------------------------
def test_path_table_sum_equals_grad(tmp_path: Path) -> None:
    source, weight = _triangle(tmp_path)
    out = tmp_path / "p.svg"
    _ok(*run_main(["render", source, "--wrt", weight, "-o", str(out)]))
    code, stdout, err = run_main(["grad", source, "--wrt", weight, "--json"])
    _ok(code, stdout, err)
    grad = json.loads(stdout)["gradients"][weight]["backprop"]
    texts = [t.text or "" for t in ET.fromstring(out.read_bytes()).iter(f"{SVG_NS}text")]
    i = next(i for i, t in enumerate(texts) if t.startswith("sum over all"))
    assert grad != 0 and texts[i + 1] == dot._num(grad), (texts[i:i + 2], grad)
    assert dot.display_name(weight) in " ".join(texts)


# ---- big networks -----------------------------------------------------------------------------
def test_big_mlp_renders_at_an_automatic_level(tmp_path: Path) -> None:
    script = tmp_path / "net.gt"
    script.write_text(mlp_script([16, 64, 64, 10], loss="mse"), encoding="utf-8")
    out = tmp_path / "net.svg"
    code, stdout, err = run_cli(["render", str(script), "-o", str(out)])
    _ok(code, stdout, err)
    # issue 15: one node per neuron would be 64 nodes tall, so auto draws one node per layer
    assert "level auto" in err and "one node per layer" in err, err
    assert len(_node_groups(out.read_bytes())) == 4 + 1


def test_force_is_needed_for_huge_scalar_drawings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dot, "FORCE_LIMIT", 10)
    out = tmp_path / "n.svg"
    code, stdout, err = run_main(["render", NEURON, "-o", str(out)])
    assert_clean_error(code, stdout, err, where="--force")
    assert not out.exists()
    _ok(*run_main(["render", NEURON, "-o", str(out), "--force"]))
    assert out.exists()


# ---- escaping through Graphviz ----------------------------------------------------------------
def test_hostile_names_render(tmp_path: Path) -> None:
    from test_dot import EVIL, _evil_graph

    g = _evil_graph()
    out = tmp_path / "evil.svg"
    g.render(out, wrt=EVIL[1], symbolic=True)
    assert len(_node_groups(out.read_bytes())) == len(EVIL)


# ---- library and doctor -----------------------------------------------------------------------
def test_graph_render_and_mimebundle(tmp_path: Path) -> None:
    g = graphtrace.load(NEURON)
    g.render(tmp_path / "n.png", view="forward")
    _png_size((tmp_path / "n.png").read_bytes())
    bundle = g._repr_mimebundle_()
    assert bundle["text/plain"].startswith("<graphtrace.Graph")
    assert len(_node_groups(bundle["image/svg+xml"])) == len(dot.draw(g).nodes)
    assert set(g._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}


def test_doctor(tmp_path: Path) -> None:
    code, out, err = run_main(["doctor"])
    _ok(code, out, err)
    assert "bundled" in out.lower() or "graphviz-pure" in out.lower(), out
    code, out, err = run_main(["doctor", "--json"])
    _ok(code, out, err)
    assert isinstance(json.loads(out), dict)


def test_cli_choices_match_the_library() -> None:
    from graphtrace import cli

    assert cli._VIEWS == dot.VIEWS and cli._LEVELS == dot.LEVELS


def test_render_help_has_an_example() -> None:
    code, out, err = run_main(["render", "--help"])
    _ok(code, out, err)
    assert "graphtrace render sample:neuron" in out


def test_html_goes_to_the_explorer(tmp_path: Path) -> None:
    pytest.importorskip("graphtrace.explorer")
    out = tmp_path / "n.html"
    _ok(*run_main(["render", NEURON, "-o", str(out), "--wrt", "α"]))
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and 'id="n0"' in page


def test_render_html_with_data_has_the_training_view(tmp_path: Path):
    page = tmp_path / "train.html"
    code, out, err = run_main(["render", str(SAMPLES / "symmetry_random.gt"), "--data",
                               str(SAMPLES / "triangle.csv"), "-o", str(page), "--backend", "bundled"])
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    model = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert model["data"] is not None, "the page has no training data"
    assert len(model["data"]["rows"]) == 200 and model["data"]["n_total"] == 200


def test_render_data_needs_an_html_page(tmp_path: Path):
    out_file = tmp_path / "n.svg"
    code, out, err = run_main(["render", str(SAMPLES / "symmetry_random.gt"), "--data",
                               str(SAMPLES / "triangle.csv"), "-o", str(out_file)])
    assert code == 2 and "PAGE.html" in err and "Traceback" not in err
    assert not out_file.exists()
