"""Jupyter: a notebook that displays a Graph shows it inline as SVG (the bundled backend forced)."""

from __future__ import annotations

import pytest
from helpers import ROOT, SAMPLES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def test_notebook_displays_svg() -> None:
    # The kernel is a fresh process: the bundled backend is forced there through the renderer's
    # GRAPHTRACE_BACKEND setting, read at each display.
    setup = "import os\nos.environ['GRAPHTRACE_BACKEND'] = 'bundled'\nimport graphtrace\n"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(setup),
        nbformat.v4.new_code_cell(f"g = graphtrace.load({str(SAMPLES / 'neuron.gt')!r})\ng"),
    ]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    outputs = nb.cells[1].outputs
    assert outputs, "the cell displayed nothing"
    data = outputs[0].get("data", {})
    assert "image/svg+xml" in data, sorted(data)
    svg = data["image/svg+xml"]
    assert "<svg" in svg and 'id="n0"' in svg
    assert "graphviz-pure" in svg  # the bundled backend drew it
