"""Packaging: the wheel and the sdist build, pass `twine check`, and hold what a plain install needs.

The wheel carries every module, the explorer's assets and the course's samples (``sample:NAME``
reads them); the sdist carries the docs the README links to. Unpacked on its own (as a plain
install puts it), the wheel runs `graphtrace samples` and `graphtrace grad sample:neuron` from an
empty folder.
"""

from __future__ import annotations

import email
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT

from graphtrace.bundled import SAMPLES

pytest.importorskip("build")
pytest.importorskip("hatchling")

DIST_NAME = "graphtrace-backprop"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "-o", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _one(folder: Path, pattern: str) -> Path:
    (found,) = sorted(folder.glob(pattern))
    return found


def test_the_wheel_holds_the_modules_assets_samples_and_the_new_name(dist: Path) -> None:
    wheel = _one(dist, "graphtrace_backprop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {f"graphtrace/{p.name}" for p in (ROOT / "graphtrace").glob("*.py")}
    assert modules <= names, sorted(modules - names)
    assets = {f"graphtrace/explorer_assets/{p.name}" for p in (ROOT / "graphtrace" / "explorer_assets").iterdir()
              if p.is_file()}
    assert assets and assets <= names, sorted(assets - names)
    assert "graphtrace/py.typed" in names
    # The compiled Russian catalog: `--lang ru` reads it with the standard library's gettext.
    assert "graphtrace/locale/ru/LC_MESSAGES/graphtrace.mo" in names
    assert {f"graphtrace/samples/{f}" for f in SAMPLES} <= names
    info = next(n for n in names if n.endswith(".dist-info/METADATA"))
    meta = email.message_from_bytes(zipfile.ZipFile(wheel).read(info))
    assert meta["Name"] == DIST_NAME
    assert "example.invalid" not in str(meta) and not any("placeholder" in v for v in meta.values())
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "graphtrace = graphtrace.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
    assert not any(n.startswith(("tests/", "graphtrace/tests")) for n in names)


def test_the_sdist_holds_the_docs_samples_and_tests(dist: Path) -> None:
    sdist = _one(dist, "graphtrace_backprop-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    docs = {str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*") if p.is_file()}
    assert "docs/diagrams.md" in docs and docs <= names, sorted(docs - names)
    for required in ("README.md", "LICENSE", "pyproject.toml", "samples/neuron.gt", "tests/test_packaging.py",
                     "graphtrace/cli.py", "graphtrace/explorer_assets/explorer.js"):
        assert required in names, required


def test_twine_check_is_clean(dist: Path) -> None:
    pytest.importorskip("twine")
    files = sorted(str(p) for p in dist.iterdir())
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2, proc.stdout


def test_the_unpacked_wheel_runs_from_an_empty_folder(dist: Path, tmp_path: Path) -> None:
    wheel = _one(dist, "graphtrace_backprop-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # what pip puts in site-packages, without the checkout
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONIOENCODING": "utf-8"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *args], cwd=empty, env=env, capture_output=True, text=True,
                              timeout=300)

    where = run("-c", "import graphtrace, graphtrace.bundled as b; print(graphtrace.__file__); print(b.samples_dir())")
    assert where.returncode == 0, where.stderr
    module, samples = where.stdout.split()
    assert module.startswith(str(site)) and samples == str(site / "graphtrace" / "samples")
    listing = run("-m", "graphtrace", "samples")
    assert listing.returncode == 0 and "neuron.gt" in listing.stdout, listing.stderr
    grad = run("-m", "graphtrace", "grad", "sample:neuron", "--json")
    assert grad.returncode == 0, grad.stderr
    assert '"output": "L"' in grad.stdout and str(site) not in grad.stdout + grad.stderr
    assert list(empty.iterdir()) == []
