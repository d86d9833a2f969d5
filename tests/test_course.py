"""The course end to end (COURSE.md §1–§12): the acceptance run, symmetry, linear collapse, the samples."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphtrace
from graphtrace.data import make_dataset, read_csv, write_csv
from graphtrace.network import annotate_mlp, collapse_linear, mlp, mlp_script
from graphtrace.training import hidden_units_identical, predict, train
from tests.helpers import SAMPLES, run_cli


@pytest.fixture(scope="module")
def triangle():
    return make_dataset("triangle", 200, seed=0)


def test_acceptance_triangle_with_the_defaults(tmp_path):
    """mlp 2-3-1 → data triangle → train, all defaults: ≥ 95 % training accuracy."""
    for args in (["mlp", "2-3-1", "--seed", "0", "-o", "n.gt"],
                 ["data", "triangle", "-n", "200", "--seed", "0", "-o", "t.csv"]):
        code, out, err = run_cli(args, cwd=tmp_path)
        assert code == 0, err
    code, out, err = run_cli(["train", "n.gt", "--data", "t.csv", "--seed", "0"], cwd=tmp_path)
    assert code == 0, err
    m = re.search(r"accuracy ([\d.]+) %", out)
    assert m, out
    assert float(m.group(1)) >= 95.0, out


def test_symmetry_zeros_init_stays_one_unit(triangle):
    """§12: zeros-initialised hidden units stay identical and do what one hidden unit does."""
    zeros = train(graphtrace.load(SAMPLES / "symmetry_zeros.gt"), triangle, epochs=100)
    assert any("§12" in w for w in zeros.warnings)
    assert hidden_units_identical(zeros.graph, tol=1e-12)
    one = train(mlp([2, 1, 1], init="zeros"), triangle, epochs=100)
    assert zeros.accuracy is not None and one.accuracy is not None
    assert zeros.accuracy <= one.accuracy + 0.03
    assert zeros.accuracy < 0.8
    # exactly one unit: a 2-1-1 net with the same incoming weights and the outgoing weights summed
    # computes the very same function
    p = zeros.params
    text = mlp_script([2, 1, 1], init="zeros")
    for name, value in (("w1_1_1", p["w1_1_1"]), ("w1_2_1", p["w1_2_1"]), ("b1_1", p["b1_1"]),
                        ("w2_1_1", p["w2_1_1"] + p["w2_2_1"] + p["w2_3_1"]), ("b2_1", p["b2_1"])):
        text = text.replace(f"{name}: param = 0.0", f"{name}: param = {value!r}")
    single = graphtrace.parse(text)
    x = {"x1": triangle.column("x1"), "x2": triangle.column("x2")}
    assert np.max(np.abs(predict(single, x) - predict(zeros.graph, x))) < 1e-12


def test_symmetry_random_init_breaks_it(triangle):
    rand = train(graphtrace.load(SAMPLES / "symmetry_random.gt"), triangle)
    assert not any("§12" in w for w in rand.warnings)
    assert not hidden_units_identical(rand.graph)
    assert rand.accuracy is not None and rand.accuracy >= 0.95


@pytest.mark.parametrize("loss,lr", [("bce", 0.5), ("mse", 0.05)])
def test_linear_collapse(triangle, loss, lr):
    """§5: identity activations do no better than one linear model, and collapse into it exactly."""
    deep = train(mlp([2, 3, 1], activation="identity", loss=loss, seed=0), triangle, lr=lr, epochs=100)
    flat = train(mlp([2, 1], loss=loss, seed=0), triangle, lr=lr, epochs=100)
    assert deep.accuracy is not None and flat.accuracy is not None
    assert deep.accuracy <= flat.accuracy + 0.02
    assert deep.accuracy < 0.8  # nowhere near the triangle
    model = collapse_linear(deep.graph)
    x = triangle.features
    z = model(x)[:, 0]
    collapsed = 1 / (1 + np.exp(-z)) if loss == "bce" else z
    o = predict(deep.graph, {"x1": x[:, 0], "x2": x[:, 1]})
    assert np.max(np.abs(collapsed - o)) < 1e-9
    # the collapsed weights are the products of the layer weights
    p = deep.params
    w1 = sum(p[f"w2_{j}_1"] * p[f"w1_1_{j}"] for j in (1, 2, 3))
    assert model.weights[0, 0] == pytest.approx(w1, rel=1e-12)


def test_linear_collapse_sample():
    g = graphtrace.load(SAMPLES / "linear_collapse_net.gt")
    assert g.source is not None and g.source.text == mlp_script([2, 3, 1], activation="identity", seed=0)
    model = collapse_linear(g)
    v = g.forward().values
    assert 1 / (1 + np.exp(-model([[v["x1"], v["x2"]]])[0, 0])) == pytest.approx(v["o"], abs=1e-12)


def test_triangle_sample_classifies_the_triangle():
    """§3: the hand-built three-regressions net gets ≥ 95 % of 1,000 triangle points right."""
    g = graphtrace.load(SAMPLES / "triangle.gt")
    ds = make_dataset("triangle", 1000, seed=0)
    o = predict(g, {"x1": ds.column("x1"), "x2": ds.column("x2")})
    assert np.mean((o >= 0.5) == (ds.target == 1)) >= 0.95
    assert annotate_mlp(g)
    assert [g.nx.nodes[f"h1_{j}"]["layer"] for j in (1, 2, 3)] == [1, 1, 1]
    assert g.check().ok


def test_circle_learns_with_playground_settings():
    """§8: 2-4-2-1 tanh, lr 0.03, batch 10 on the circle."""
    r = train(graphtrace.load(SAMPLES / "circle_net.gt"), read_csv(SAMPLES / "circle.csv"),
              lr=0.03, batch=10, epochs=100)
    assert r.accuracy is not None and r.accuracy >= 0.9


@pytest.mark.parametrize("sample,data,extra,least", [
    ("linear_classifier.gt", "gauss.csv", ["--threshold", "0"], 95.0),
    ("logistic_regression.gt", "gauss.csv", [], 95.0),
])
def test_small_samples_train(sample, data, extra, least):
    code, out, err = run_cli(["train", str(SAMPLES / sample), "--data", str(SAMPLES / data),
                              "--epochs", "30", *extra])
    assert code == 0, err
    m = re.search(r"accuracy ([\d.]+) %", out)
    assert m and float(m.group(1)) >= least, out


@pytest.mark.parametrize("name,command", [
    ("symmetry_zeros.gt", lambda: mlp_script([2, 3, 1], init="zeros")),
    ("symmetry_random.gt", lambda: mlp_script([2, 3, 1], seed=0)),
    ("circle_net.gt", lambda: mlp_script([2, 4, 2, 1], activation="tanh", seed=0)),
    ("triangle.csv", lambda: write_csv(make_dataset("triangle", 200, seed=0))),
    ("circle.csv", lambda: write_csv(make_dataset("circle", 200, seed=0))),
    ("gauss.csv", lambda: write_csv(make_dataset("gauss", 100, seed=0))),
])
def test_generated_samples_are_up_to_date(name, command):
    assert (SAMPLES / name).read_text(encoding="utf-8") == command()


def test_samples_readme_lists_every_sample_and_section():
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix in (".gt", ".csv"):
            assert path.name in readme, path.name
    for section in range(1, 13):
        assert re.search(rf"^\| §{section} ", readme, re.M), f"§{section} missing"


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.gt")), ids=lambda p: p.name)
def test_every_sample_passes_check(path):
    assert graphtrace.load(path).check().ok


def test_the_training_plot_draws_each_hidden_unit_of_the_triangle_as_a_side():
    """Course §3: the first-layer units of samples/triangle.gt are the triangle's three sides."""
    from types import SimpleNamespace

    from graphtrace.data import triangle_sides
    from graphtrace.training import _first_layer_lines

    lines = _first_layer_lines(SimpleNamespace(graph=graphtrace.load(SAMPLES / "triangle.gt")), ["x1", "x2"])
    assert len(lines) == 3
    for j, ((units, w, b), (w0, w1, w2)) in enumerate(zip(lines, triangle_sides(), strict=True), 1):
        assert units == [j]  # three different sides: no unit's line coincides with another's
        assert w == pytest.approx([5 * w1, 5 * w2], abs=1e-3) and b == pytest.approx(5 * w0, abs=1e-3)
    # Not a network on (x1, x2): nothing to draw.
    assert _first_layer_lines(SimpleNamespace(graph=graphtrace.load(SAMPLES / "neuron.gt")), ["x1", "x2"]) == []
