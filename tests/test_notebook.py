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


def test_notebook_shows_results_as_tables_and_the_explorer_inline() -> None:
    setup = "import os\nos.environ['GRAPHTRACE_BACKEND'] = 'bundled'\nimport graphtrace\n"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(setup + "g = graphtrace.load('sample:neuron')\nf = g.forward(values={'α': 0.1})"),
        nbformat.v4.new_code_cell("g.explore(wrt='α')"),
        nbformat.v4.new_code_cell("g.check(f)"),
        nbformat.v4.new_code_cell("g.backprop(f)"),
        nbformat.v4.new_code_cell("g.paths_report('α', forward=f)"),
    ]
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    html = nb.cells[1].outputs[0]["data"]["text/html"]
    # the explorer page inside a sandboxed iframe: its scripts run, in an origin of their own
    assert html.startswith("<iframe") and 'sandbox="allow-scripts"' in html and "srcdoc=\"&lt;!DOCTYPE html&gt;" in html
    assert "allow-same-origin" not in html
    check = nb.cells[2].outputs[0]["data"]["text/html"]
    assert check.startswith("<table>") and "α" in check and "✓" in check
    grads = nb.cells[3].outputs[0]["data"]
    assert "-0.3318122278" in grads["text/html"] and "Gradients(" in grads["text/plain"]
    paths = nb.cells[4].outputs[0]["data"]["text/html"]
    assert "sum over all = -0.3318122278" in paths and "mul_1" in paths
