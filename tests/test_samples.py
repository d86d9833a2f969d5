"""Every sample parses, evaluates and passes the three-way check; samples are tests."""

from __future__ import annotations

import math

import pytest
from helpers import SAMPLES, run_main, strict_json

import graphtrace

SAMPLE_FILES = sorted(SAMPLES.glob("*.gt"))


def test_the_course_samples_exist():
    names = {p.name for p in SAMPLE_FILES}
    for required in ("neuron.gt", "product_rule.gt", "triangle.gt", "linear_collapse.gt"):
        assert required in names, f"samples/{required} is missing"


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_sample_parses_evaluates_and_checks(path):
    g = graphtrace.load(path)
    fwd = g.forward()
    assert math.isfinite(float(fwd.value))
    assert g.warnings() == [] or all("does not affect" in w for w in g.warnings())
    targets = g.params or g.inputs
    assert targets, "a sample differentiates something"
    report = g.check(targets)
    assert report.ok, report.failures
    for name, e in report.entries.items():
        assert e.paths == pytest.approx(e.backprop, rel=1e-10, abs=1e-15), name
        assert e.n_paths == g.count_paths(name)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_sample_through_the_cli(path):
    code, out, err = run_main(["check", str(path)])
    assert code == 0, out + err
    code, out, err = run_main(["grad", str(path), "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["check"]["ok"] is True
    assert set(doc["gradients"]) == set(graphtrace.load(path).params or graphtrace.load(path).inputs)


def test_linear_collapse_really_collapses():
    g = graphtrace.load(SAMPLES / "linear_collapse.gt")
    values = g.forward().values
    assert float(values["a"]) == pytest.approx(float(values["collapsed"]), rel=1e-14)


def test_neuron_sample_matches_the_course():
    g = graphtrace.load(SAMPLES / "neuron.gt")
    assert g.params == ["α", "β"]
    assert set(g.inputs) == {"x1", "x2", "y"}
    assert g.output == "L"
    assert g.count_paths("α") == 2  # through log(z) and through log(1 − z)
