"""`render -o fig.tex`: a TikZ picture on Graphviz's layout, and `--beamer`: one overlay per step.

The compile tests run pdflatex (skipped where it is absent) and read the PDF back with pdftotext;
positions are compared with Graphviz's own layout of the same DOT, colours with the SVG's. The Russian
ones also need TeX Live's Cyrillic (T2A fonts, babel's Russian: Debian's texlive-lang-cyrillic) and
the cm-super fonts (vector T2A fonts, which pdftotext reads back).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import SAMPLES, assert_clean_error, run_main

import graphtrace
from graphtrace.output import FORMATS
from graphtrace.tikz import latex_math, latex_text

NEURON = SAMPLES / "neuron.gt"
PDFLATEX = shutil.which("pdflatex")
PDFTOTEXT = shutil.which("pdftotext")
PDFINFO = shutil.which("pdfinfo")
DOT = shutil.which("dot")
needs_tex = pytest.mark.skipif(PDFLATEX is None or PDFTOTEXT is None, reason="pdflatex or pdftotext not installed")


def _kpsewhich(*names: str) -> bool:
    found = shutil.which("kpsewhich")
    if found is None:
        return False
    proc = subprocess.run([found, *names], capture_output=True, text=True, timeout=60)
    return len(proc.stdout.split()) == len(names)


needs_cyrillic_tex = pytest.mark.skipif(
    PDFLATEX is None or PDFTOTEXT is None or not _kpsewhich("t2aenc.def", "russianb.ldf", "sfrm0800.pfb"),
    reason="pdflatex, pdftotext, TeX Live's Cyrillic (texlive-lang-cyrillic) or cm-super not installed")


def compile_tex(tex: Path) -> Path:
    proc = subprocess.run([PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tex.parent,
                          capture_output=True, timeout=300)
    log = tex.with_suffix(".log")
    assert proc.returncode == 0, log.read_text(encoding="latin-1")[-3000:] if log.exists() else proc.stdout[-3000:]
    return tex.with_suffix(".pdf")


def pdf_text(pdf: Path, *pages: str) -> str:
    return subprocess.run([PDFTOTEXT, *pages, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_tex_is_an_output_format() -> None:
    assert "tex" in FORMATS


@needs_tex
def test_the_neuron_compiles_and_shows_its_numbers(tmp_path: Path) -> None:
    tex = tmp_path / "n.tex"
    code, _, err = run_main(["render", str(NEURON), "-o", str(tex)])
    assert code == 0, err
    text = pdf_text(compile_tex(tex))
    code, out, err = run_main(["grad", str(NEURON), "--json", "--wrt", "z", "--wrt", "α"])
    doc = json.loads(out)
    # values, gradients and local derivatives, as the drawing rounds them (4 digits)
    for shown in ("0.7503", "0.2873", "0.2497", "0.1874", "1.333", "4.004"):
        assert shown in text, shown
    assert f"{doc['values']['z']:.4g}" in text
    assert f"{abs(doc['gradients']['α']['backprop']):.4g}" in text


@needs_tex
def test_the_beamer_frame_has_one_overlay_per_step(tmp_path: Path) -> None:
    tex = tmp_path / "b.tex"
    code, _, err = run_main(["render", str(NEURON), "--beamer", "-o", str(tex)])
    assert code == 0, err
    source = tex.read_text(encoding="utf-8")
    assert source.count(r"\begin{frame}") == 1
    assert len(set(re.findall(r"\\only<(\d+)>", source))) == 32
    pdf = compile_tex(tex)
    info = subprocess.run([PDFINFO, str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+32$", info, re.M), info
    assert "Step 1 of 32" in pdf_text(pdf, "-f", "1", "-l", "1")
    last = pdf_text(pdf, "-f", "32", "-l", "32")
    assert "Step 32 of 32" in last and "0.2497" in last and "0.4995" in last


@pytest.mark.parametrize("text, want", [
    ("α", r"\alpha"), ("a_b", r"\mathrm{a\_b}"), ("x#1", r"x\#1"), ("c′", "c'"), ("x₁", "x_{1}"),
    ("w₁,₀,₂", "w_{1,0,2}"), ("50%", r"50\%"), ("{a}", r"\{a\}"), ("a\\b", r"a\backslash b"),
    ("$x", r"\$x"), ("a&b", r"a\&b"), ("~", r"\sim"), ("2^3", r"2\hat{}3"),
])
def test_math_escapes(text: str, want: str) -> None:
    assert latex_math(text) == want


def test_text_escapes_and_unsupported_characters() -> None:
    bad: set[str] = set()
    assert latex_text("x_1 & 100% #1 {a} ~ ^ \\", bad) == r"x\_1 \& 100\% \#1 \{a\} \textasciitilde{} \textasciicircum{} \textbackslash{}"
    assert latex_text("café α", bad) == r"café $\alpha$"
    assert latex_math("вес", bad) == r"\text{вес}" and latex_text("вес «α»", bad) == r"вес «$\alpha$»" and not bad
    assert latex_math("x字", bad) == "x?" and bad == {"字"}


@needs_tex
def test_hostile_and_unicode_names_compile(tmp_path: Path) -> None:
    import networkx as nx

    from graphtrace.api import Graph

    g = nx.MultiDiGraph()
    evil = "x#1 {evil} \\end{document} % $"
    g.add_node(evil, kind="param", value=2.0, named=True)
    g.add_node("a_b", kind="input", value=3.0, named=True)
    g.add_node("α", kind="param", value=0.5, named=True)
    g.add_node("字", kind="param", value=1.5, named=True)
    g.add_node("out", kind="op", op="mul", named=True)
    g.add_node("L", kind="op", op="add", named=True)
    g.add_edge(evil, "out", key=0)
    g.add_edge("a_b", "out", key=1)
    g.add_edge("out", "L", key=0)
    g.add_edge("α", "L", key=1)
    g.add_node("L2", kind="op", op="mul", named=True)
    g.add_edge("L", "L2", key=0)
    g.add_edge("字", "L2", key=1)
    graph = Graph(g, output="L2")
    tex = tmp_path / "evil.tex"
    drawing = graphtrace.output.save(graph, tex)
    assert any("?" in n and "字" in n for n in drawing.notes)  # a letter the fonts lack is reported
    text = pdf_text(compile_tex(tex))
    assert "6" in text and "0.5" in text  # out = 2·3 and α


def test_nodes_sit_where_graphviz_put_them(tmp_path: Path) -> None:
    """Every \\node of the .tex is at the position Graphviz gives the same DOT (laid out here)."""
    from graphtrace.render import layout

    tex, dot = tmp_path / "n.tex", tmp_path / "n.dot"
    assert run_main(["render", str(NEURON), "-o", str(tex)])[0] == 0
    assert run_main(["render", str(NEURON), "--no-legend", "-o", str(dot)])[0] == 0
    doc = json.loads(layout(dot.read_text(encoding="utf-8"), "json"))
    want = {o["id"]: tuple(float(v) for v in o["pos"].split(",")) for o in doc["objects"] if "id" in o}
    got = {m.group(1): (float(m.group(2)), float(m.group(3)))
           for m in re.finditer(r"\((n\d+)\) at \(([-\d.]+),([-\d.]+)\)", tex.read_text(encoding="utf-8"))}
    assert got.keys() == want.keys()
    for k, (x, y) in want.items():
        assert abs(got[k][0] - x) < 0.01 and abs(got[k][1] - y) < 0.01, k


def test_the_colours_are_the_svgs(tmp_path: Path) -> None:
    tex, svg = tmp_path / "n.tex", tmp_path / "n.svg"
    assert run_main(["render", str(NEURON), "-o", str(tex)])[0] == 0
    assert run_main(["render", str(NEURON), "--no-legend", "-o", str(svg)])[0] == 0
    defined = set(re.findall(r"\\definecolor\{gt\w+\}\{HTML\}\{([0-9A-F]{6})\}", tex.read_text(encoding="utf-8")))
    in_svg = {c.upper() for c in re.findall(r'(?:fill|stroke)="#([0-9a-fA-F]{6})"', svg.read_text(encoding="utf-8"))}
    in_svg.discard("FFFFFF")
    assert in_svg <= defined, in_svg - defined


@pytest.mark.parametrize("args, where", [
    (["-o", "n.svg", "--beamer"], "--beamer"),
    (["-o", "n.tex", "--beamer", "--level", "layer"], "--level"),
])
def test_bad_tex_options_exit_2(tmp_path: Path, args: list[str], where: str, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(["render", str(NEURON), *args])
    assert_clean_error(code, out, err, where=where)
    assert list(tmp_path.iterdir()) == []


# ---- Russian: Cyrillic in the T2A fonts, English untouched ------------------------------------------
_CYRILLIC_PREAMBLE = (r"\usepackage[T2A]{fontenc}", r"\usepackage[russian]{babel}")


@pytest.mark.parametrize("beamer", [False, True])
def test_english_tex_loads_no_cyrillic_fonts(tmp_path: Path, beamer: bool) -> None:
    """An English drawing has no Cyrillic: its preamble is the one base TeX Live compiles (no T2A)."""
    tex = tmp_path / "n.tex"
    assert run_main(["render", str(NEURON), "-o", str(tex), *(["--beamer"] if beamer else [])])[0] == 0
    source = tex.read_text(encoding="utf-8")
    assert "T2A" not in source and "babel" not in source
    assert not re.search("[\u0400-\u045f]", source)


@pytest.mark.parametrize("beamer", [False, True])
def test_russian_tex_writes_cyrillic_with_its_fonts(tmp_path: Path, beamer: bool) -> None:
    tex = tmp_path / "n.tex"
    code, _, err = run_main(["render", str(NEURON), "-o", str(tex), "--lang", "ru", *(["--beamer"] if beamer else [])])
    assert code == 0, err
    assert "?:" not in err and "LaTeX" not in err, err  # no note about letters written as ?
    source = tex.read_text(encoding="utf-8")
    for line in _CYRILLIC_PREAMBLE:
        assert line in source
    assert source.index(r"\usepackage[T2A]{fontenc}") < source.index(r"\begin{document}")
    assert r"\text{градиент}" in source and "$????" not in source


def test_a_cyrillic_name_in_an_english_drawing_keeps_english_the_main_language() -> None:
    from graphtrace.api import parse

    drawing_tex = _tex_of(parse("вес: param = 2\nL = вес*вес"))
    assert r"\usepackage[russian,english]{babel}" in drawing_tex and r"\text{вес}" in drawing_tex


def _tex_of(graph: object) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "g.tex"
        graphtrace.output.save(graph, path)
        return path.read_text(encoding="utf-8")


@needs_cyrillic_tex
def test_the_russian_neuron_compiles_with_cyrillic(tmp_path: Path) -> None:
    tex = tmp_path / "n.tex"
    assert run_main(["render", str(NEURON), "-o", str(tex), "--lang", "ru"])[0] == 0
    text = pdf_text(compile_tex(tex))
    assert text.count("градиент") >= 3, text  # the op nodes' gradient lines
    for shown in ("0.7503", "0.2873", "0.2497"):
        assert shown in text, shown


@needs_cyrillic_tex
def test_the_russian_beamer_frame_compiles_with_cyrillic(tmp_path: Path) -> None:
    tex = tmp_path / "b.tex"
    assert run_main(["render", str(NEURON), "--beamer", "-o", str(tex), "--lang", "ru"])[0] == 0
    pdf = compile_tex(tex)
    first = pdf_text(pdf, "-f", "1", "-l", "1")
    assert "Шаг 1 из 32" in first and "прямой и обратный проход, шаг за шагом" in first, first
    last = pdf_text(pdf, "-f", "32", "-l", "32")
    assert "Шаг 32 из 32" in last and "Градиенты переменных" in last and "0.4995" in last, last


@needs_cyrillic_tex
def test_a_russian_network_drawing_compiles_with_bold_cyrillic_titles(tmp_path: Path) -> None:
    tex = tmp_path / "m.tex"
    assert run_main(["render", "sample:multiclass", "--level", "layer", "-o", str(tex), "--lang", "ru"])[0] == 0
    assert r"{\boldmath\bfseries$\text{скрытый}" in tex.read_text(encoding="utf-8")
    text = pdf_text(compile_tex(tex))
    assert "скрытый слой 1" in text and "функция потерь" in text, text
