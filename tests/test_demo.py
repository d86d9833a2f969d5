"""`graphtrace demo`: every course section reproduced into a folder, with an index that links only to real files."""

from __future__ import annotations

import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import run_main

from graphtrace.demo import SECTIONS, run_demo, samples_dir


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value and not value.startswith("#"):
                self.links.append(value)


def test_every_course_section_has_a_demo_entry_in_order():
    assert [s.number for s in SECTIONS] == list(range(1, 14))  # the course's 12, then K classes
    for s in SECTIONS:
        assert (samples_dir() / s.sample).is_file(), s.sample
        if s.data:
            assert (samples_dir() / s.data).is_file(), s.data
        for _, sample, _ in s.train:
            assert (samples_dir() / sample).is_file(), sample


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    (out / "mine.txt").write_text("a file the demo did not create")
    # Sections that exercise every kind of step: diagrams with --wrt, training, extras.
    result = run_demo(out, backend="bundled", sections=(5, 7, 10, 12))
    assert result.index == out / "index.html"
    return out


def test_demo_writes_every_listed_file_and_an_index_that_links_to_them(demo_dir: Path):
    index = (demo_dir / "index.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(index)
    assert len(parser.links) > 20
    for link in parser.links:
        assert not re.match(r"[a-z]+://", link), f"index must work offline: {link}"
        assert (demo_dir / link).is_file(), f"index links to a missing file: {link}"
    readme = (demo_dir / "README.md").read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)]+)\)", readme):
        assert (demo_dir / link).is_file(), link


def test_demo_files_are_real_outputs(demo_dir: Path):
    neuron = demo_dir / "10-one-neuron-forward-and-backward"
    doc = json.loads((neuron / "grad.json").read_text(encoding="utf-8"))
    z = doc["values"]["z"]
    # The analytic gradient of the log loss through the sigmoid: (z − y)·x1.
    assert doc["gradients"]["α"]["backprop"] == pytest.approx((z - 1.0) * 1.0, rel=1e-12)
    assert doc["check"]["ok"] is True
    svg = (neuron / "paths.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert (neuron / "explorer.html").stat().st_size > 10_000
    png = (demo_dir / "12-weight-initialisation" / "training_1.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    graph_json = json.loads((demo_dir / "07-frameworks" / "graph.json").read_text(encoding="utf-8"))
    assert graph_json["nodes"] and graph_json["edges"]


def test_demo_states_the_symmetry_and_collapse_facts(demo_dir: Path):
    readme = (demo_dir / "README.md").read_text(encoding="utf-8")
    assert "still identical" in readme
    m = re.search(r"a = (\S+); the collapsed single layer: .* = (\S+)", readme)
    assert m is not None and float(m.group(1)) == pytest.approx(float(m.group(2)), rel=1e-12)


def test_demo_leaves_other_files_alone(demo_dir: Path):
    assert (demo_dir / "mine.txt").read_text() == "a file the demo did not create"


def test_demo_command_refuses_a_file_as_folder(tmp_path: Path):
    target = tmp_path / "taken"
    target.write_text("x")
    code, out, err = run_main(["demo", "-o", str(target), "--section", "9"])
    assert code == 2, err
    assert "is a file" in err and "Traceback" not in err
    assert target.read_text() == "x"


def test_demo_command_runs_one_section(tmp_path: Path):
    code, out, err = run_main(["demo", "-o", str(tmp_path / "d"), "--section", "9", "--backend", "bundled"])
    assert code == 0, err
    assert "wrote" in out and (tmp_path / "d" / "index.html").is_file()
    assert (tmp_path / "d" / "09-chain-rule-and-the-derivative-graph" / "paths.svg").is_file()


def test_the_wheel_ships_the_samples_and_the_explorer_assets(tmp_path: Path):
    """`graphtrace demo` must work from a non-editable install: the samples live inside the wheel."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 and ("Could not find" in r.stderr or "connection" in r.stderr.lower()):
        pytest.skip("cannot fetch the build backend: " + r.stderr[-200:])
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob("graphtrace_backprop-*.whl"))  # the distribution's name (issue 12)
    names = set(zipfile.ZipFile(wheel).namelist())
    for sample in sorted(p.name for p in (root / "samples").iterdir()):
        assert f"graphtrace/samples/{sample}" in names, sample
    assert "graphtrace/explorer_assets/explorer.js" in names
    assert "graphtrace/py.typed" in names


def test_the_multiclass_section(tmp_path: Path):
    """Issue 13: the demo's 13th section trains a softmax net on three blobs and reproduces
    micrograd's README example written with += and .relu()."""
    result = run_demo(tmp_path, backend="bundled", sections=(13,))
    notes = " ".join(result.notes[13])
    assert "g = 24.7041, ∂g/∂a = 138.8338 (24 paths), ∂g/∂b = 645.5773 (30 paths)" in notes
    acc = float(re.search(r"softmax net on three blobs: .*training accuracy ([\d.]+) %", notes).group(1))
    assert acc >= 95.0
    names = [name for name, _ in result.files[13]]
    for wanted in ("softmax.gt", "paths.txt", "explorer.html", "training.png", "multiclass_arrays.svg",
                   "micrograd_grad.txt"):
        assert any(n.endswith("/" + wanted) for n in names), wanted
    paths = json.loads((tmp_path / next(n for n in names if n.endswith("paths.json"))).read_text(encoding="utf-8"))
    assert paths["wrt"] == "W[2,0]" and paths["total"] != 0.0
