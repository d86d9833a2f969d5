"""Tests for graphtrace.training (graphtrace.train): batched gradient steps, determinism, data matching, writing back, CLI."""

from __future__ import annotations

import numpy as np
import pytest

import graphtrace
from graphtrace.data import Dataset, make_dataset, write_csv
from graphtrace.errors import DataError, EvaluationError, UsageError
from graphtrace.network import mlp, mlp_script
from graphtrace.training import (
    DEFAULT_BATCH,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    _loss_and_grads,
    hidden_units_identical,
    plot_training,
    prediction_node,
    substitute_params,
    symmetric_units,
    train,
)
from tests.helpers import SAMPLES, run_main


@pytest.fixture(scope="module")
def gauss() -> Dataset:
    return make_dataset("gauss", 60, seed=1)


def test_batched_grads_equal_the_mean_of_per_sample_backprop():
    g = mlp([2, 3, 1], activation="tanh", seed=2)
    ds = make_dataset("circle", 7, seed=3)
    cols = ds.as_dict()
    params = {p: float(g.nx.nodes[p]["value"]) for p in g.params}
    loss, grads = _loss_and_grads(g, cols, params)
    per_sample = []
    losses = []
    for i in range(len(ds)):
        values = {c: float(v[i]) for c, v in cols.items()}
        losses.append(g.forward(values).value)
        per_sample.append(g.backprop(values))
    assert loss == pytest.approx(np.mean(losses), rel=1e-13)
    for p in g.params:
        assert grads[p] == pytest.approx(np.mean([s[p] for s in per_sample]), rel=1e-12, abs=1e-15)


def test_training_lowers_the_loss_and_is_deterministic(gauss):
    a = train(mlp([2, 2, 1], seed=0), gauss, epochs=20, seed=7)
    b = train(mlp([2, 2, 1], seed=0), gauss, epochs=20, seed=7)
    c = train(mlp([2, 2, 1], seed=0), gauss, epochs=20, seed=8)
    assert a.history[-1] < a.history[0]
    assert a.params == b.params and a.history == b.history and a.script == b.script
    assert a.params != c.params
    assert len(a.history) == len(a.accuracy_history) == 20
    assert a.accuracy is not None and a.accuracy >= 0.95 and a.predict == "o"


def test_zero_epochs_changes_nothing(gauss):
    g = mlp([2, 1], seed=0)
    r = train(g, gauss, epochs=0)
    assert r.params == r.initial and r.history == []
    assert r.script == g.source.text


def test_one_step_is_plain_gradient_descent():
    g = mlp([2, 1], seed=0)
    ds = make_dataset("gauss", 10, seed=0)
    params = {p: float(g.nx.nodes[p]["value"]) for p in g.params}
    _, grads = _loss_and_grads(g, ds.as_dict(), params)
    r = train(g, ds, lr=0.25, epochs=1, batch=10)  # one batch of the whole data: order is irrelevant
    for p in g.params:
        assert r.params[p] == pytest.approx(params[p] - 0.25 * grads[p], rel=1e-12)


def test_columns_must_match_the_inputs():
    g = mlp([2, 1])
    missing = Dataset(("x1", "y"), np.array([[0.0, 1.0]]), name="d.csv")
    with pytest.raises(DataError, match="no column for input x2"):
        train(g, missing)
    extra = Dataset(("x1", "x2", "x3", "y"), np.array([[0.0, 1.0, 2.0, 1.0]]), name="d.csv")
    with pytest.raises(DataError, match="column x3 matches no input"):
        train(g, extra)


@pytest.mark.parametrize("kwargs", [{"lr": 0}, {"lr": float("nan")}, {"epochs": -1}, {"batch": 0}, {"seed": -2}])
def test_bad_options(kwargs, gauss):
    with pytest.raises(UsageError):
        train(mlp([2, 1]), gauss, **kwargs)


def test_divergence_is_an_evaluation_error():
    ds = make_dataset("gauss", 40, seed=0)
    with pytest.raises(EvaluationError, match="epoch"):
        train(mlp([2, 4, 1], loss="mse", seed=0), ds, lr=50.0, epochs=50)


def test_prediction_node_rule():
    assert prediction_node(mlp([2, 1])) == "o"
    neuron = graphtrace.load("samples/neuron.gt")
    assert prediction_node(neuron) == "z"
    assert prediction_node(neuron, "s") == "s"
    assert prediction_node(graphtrace.parse("w: param = 1\nL = w*w")) is None


def test_pm1_labels_use_the_sign():
    x = np.array([[-2.0, -1.0], [-1.0, -1.0], [1.0, 1.0], [3.0, 1.0]])
    ds = Dataset(("x1", "y"), x)
    g = graphtrace.parse("x1: input = 1\nw: param = 1\nt = w*x1\ny: input = 1\nL = max(0, 1 - y*t)")
    r = train(g, ds, epochs=0)
    assert r.threshold == 0.0 and r.accuracy == 1.0


def test_substitute_params_keeps_layout():
    src = "# head\nw: param = 0.5   # a weight\nb: param=-1;  x: input = 2\nL = (w*x + b)**2\n"
    g = graphtrace.parse(src)
    out = substitute_params(src, g, {"w": 0.1 + 0.2, "b": -1e-20})
    assert out == "# head\nw: param = 0.30000000000000004   # a weight\nb: param=-1e-20;  x: input = 2\nL = (w*x + b)**2\n"
    h = graphtrace.parse(out)
    assert h.nx.nodes["w"]["value"] == 0.1 + 0.2 and h.nx.nodes["b"]["value"] == -1e-20


def test_trained_script_holds_the_trained_values(gauss):
    r = train(mlp([2, 2, 1], seed=1), gauss, epochs=3)
    assert r.script.split("\n")[:8] == mlp_script([2, 2, 1], seed=1).split("\n")[:8]  # comments kept
    assert {p: r.graph.nx.nodes[p]["value"] for p in r.graph.params} == r.params


def test_symmetry_detection_and_warning(gauss):
    zeros = mlp([2, 3, 1], init="zeros")
    assert symmetric_units(zeros) == [(1, [1, 2, 3])]
    assert hidden_units_identical(zeros)
    r = train(zeros, gauss, epochs=2)
    assert any("h1_1, h1_2, h1_3" in w and "§12" in w for w in r.warnings)
    assert hidden_units_identical(r.graph, tol=1e-12)
    rand = train(mlp([2, 3, 1], seed=0), gauss, epochs=2)
    assert not any("§12" in w for w in rand.warnings)
    assert not hidden_units_identical(rand.graph)
    # two of three equal: one group of two
    g = graphtrace.parse(mlp_script([2, 3, 1], seed=0).replace("w1_1_2: param = -0.3256", "w1_1_2: param = 0.1937")
                         .replace("w1_2_2: param = 0.443", "w1_2_2: param = -0.6837")
                         .replace("w2_2_1: param = 0.265", "w2_2_1: param = 0.1231"))
    assert symmetric_units(g) == [(1, [1, 2])]


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_plot(fmt, magic, gauss):
    r = train(mlp([2, 2, 1], seed=0), gauss, epochs=2)
    data = plot_training(r, gauss, fmt=fmt)
    assert data.startswith(magic)
    if fmt == "svg":
        assert data == plot_training(r, gauss, fmt=fmt)  # deterministic


def test_cli_train_writes_script_plot_and_checkpoint(tmp_path):
    net, csv = tmp_path / "n.gt", tmp_path / "g.csv"
    net.write_text(mlp_script([2, 2, 1], seed=0), encoding="utf-8")
    csv.write_text(write_csv(make_dataset("gauss", 40, seed=0)), encoding="utf-8")
    out, plot = tmp_path / "t.gt", tmp_path / "p.svg"
    code, stdout, err = run_main(["train", str(net), "--data", str(csv), "--epochs", "4", "-o", str(out),
                                  "--plot", str(plot), "--save-every", "2"])
    assert code == 0, err
    r = train(graphtrace.load(net), make_dataset("gauss", 40, seed=0), epochs=4)
    assert stdout == f"final loss {r.loss:.4g}, accuracy {100 * r.accuracy:.1f} % " \
                     f"({round(r.accuracy * 40)}/40, prediction 'o')\n"
    assert out.read_text(encoding="utf-8") == r.script
    assert plot.read_bytes().startswith(b"<?xml")


def test_cli_train_json(tmp_path):
    import json

    net, csv = tmp_path / "n.gt", tmp_path / "g.csv"
    net.write_text(mlp_script([2, 1], init="zeros"), encoding="utf-8")
    csv.write_text(write_csv(make_dataset("gauss", 20, seed=0)), encoding="utf-8")
    code, stdout, err = run_main(["train", str(net), "--data", str(csv), "--epochs", "3", "--json"])
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["accuracy"] == 1.0 and len(doc["history"]) == 3 and set(doc["params"]) == {"w1_1_1", "w1_2_1", "b1_1"}


def test_cli_defaults_match_the_library():
    code, stdout, err = run_main(["train", "--help"])
    assert code == 0, err
    text = " ".join(stdout.split())
    assert f"(default {DEFAULT_LR:g})" in text
    assert f"(default {DEFAULT_EPOCHS})" in text
    assert f"(default {DEFAULT_BATCH})" in text


@pytest.mark.parametrize("csv_text,match", [
    ("x1,x2,y\n1,2,1\n3,abc,0\n", ":3: column x2: 'abc' is not a number"),
    ("x1,y\n1,1\n", "no column for input x2"),
    ("x1,x2,x3,y\n1,2,3,1\n", "column x3 matches no input"),
    ("", "no header"),
])
def test_cli_bad_data_exits_2(csv_text, match, tmp_path):
    net, csv, out = tmp_path / "n.gt", tmp_path / "bad.csv", tmp_path / "t.gt"
    net.write_text(mlp_script([2, 1]), encoding="utf-8")
    csv.write_text(csv_text, encoding="utf-8")
    code, stdout, err = run_main(["train", str(net), "--data", str(csv), "-o", str(out)])
    assert code == 2, (stdout, err)
    assert match in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("args,match", [(["--plot", "p.pdf"], "must end in .png or .svg"),
                                        (["--save-every", "2"], "--save-every needs -o")])
def test_cli_train_usage_errors(args, match, tmp_path):
    code, stdout, err = run_main(["train", "samples/logistic_regression.gt", "--data", "samples/gauss.csv", *args])
    assert code == 2 and match in err, err


def test_cli_data(tmp_path):
    code, stdout, err = run_main(["data", "xor", "-n", "5", "--seed", "3"])
    assert code == 0, err
    assert stdout == write_csv(make_dataset("xor", 5, seed=3))
    target = tmp_path / "c.csv"
    code, stdout, err = run_main(["data", "circle", "-n", "8", "--noise", "0.1", "-o", str(target)])
    assert code == 0 and stdout == "", err
    assert target.read_text(encoding="utf-8") == write_csv(make_dataset("circle", 8, noise=0.1))
    code, stdout, err = run_main(["data", "triangel"])
    assert code == 2 and "did you mean 'triangle'" in err


# ---- issue 15: training plots for slides ------------------------------------------------------
def _png_size(data: bytes) -> tuple[int, int]:
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plot_size_and_dpi(gauss):
    from graphtrace.training import PLOT_DPI, PLOT_SIZE

    r = train(mlp([2, 2, 1], seed=0), gauss, epochs=2)
    assert _png_size(plot_training(r, gauss)) == (round(PLOT_SIZE[0] * PLOT_DPI), round(PLOT_SIZE[1] * PLOT_DPI))
    assert _png_size(plot_training(r, gauss, size=(16, 9), dpi=120)) == (1920, 1080)


def test_plot_follows_the_colour_convention_and_marks_identical_units():
    """Class 1 blue and class 0 orange as in the diagrams and the explorer, the legend outside the
    axes, the colour bar's full label, and the zeros net's coinciding unit lines named once."""
    from graphtrace.dot import NEGATIVE_COLOR, POSITIVE_COLOR

    data = make_dataset("triangle", 120, seed=0)
    zeros = train(graphtrace.parse(mlp_script([2, 3, 1], init="zeros")), data, epochs=20)
    assert hidden_units_identical(zeros.graph)
    svg = plot_training(zeros, data, fmt="svg").decode("utf-8")
    assert "z1_1 = z1_2 = z1_3 = 0: 3 identical units" in svg
    assert "hidden unit 1" not in svg  # one line, not three on top of each other
    assert "o = P(y = 1)" in svg  # the colour bar says what it shows
    assert "y = 1 (blue)" in svg and "y = 0 (orange)" in svg
    assert POSITIVE_COLOR.lower() in svg.lower() and NEGATIVE_COLOR.lower() in svg.lower()
    assert "#b2182b" not in svg.lower()  # the old red for class 1 is gone
    spread = train(graphtrace.parse(mlp_script([2, 3, 1], seed=0)), data, epochs=20)
    text = plot_training(spread, data, fmt="svg").decode("utf-8")
    assert all(f"z1_{j} = 0 (hidden unit {j})" in text for j in (1, 2, 3))


def test_plot_legend_sits_outside_the_data(gauss):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from graphtrace import training

    captured = {}
    real = training._draw_training

    def spy(*args, **kwargs):  # keep the figure: its legend must not overlap the decision map
        from matplotlib.figure import Figure

        saved = Figure.savefig

        def keep(fig, *a, **k):
            captured["fig"] = fig
            return saved(fig, *a, **k)

        Figure.savefig = keep
        try:
            return real(*args, **kwargs)
        finally:
            Figure.savefig = saved

    training._draw_training = spy
    try:
        r = train(mlp([2, 2, 1], seed=0), gauss, epochs=2)
        plot_training(r, gauss)
    finally:
        training._draw_training = real
    fig = captured["fig"]
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent(renderer)), ax.get_title()


@pytest.mark.parametrize("args,match", [(["--size", "16by9"], "expected WIDTHxHEIGHT"),
                                        (["--size", "0x9"], "between 0 and 100"),
                                        (["--dpi", "5"], "between 10 and 1200"),
                                        (["--size", "100x100", "--dpi", "1000"], "50 megapixels")])
def test_cli_plot_size_errors(args, match, tmp_path):
    script, data = str(SAMPLES / "logistic_regression.gt"), str(SAMPLES / "gauss.csv")
    code, stdout, err = run_main(["train", script, "--data", data, "--plot", str(tmp_path / "p.png"), *args])
    assert code == 2 and match in err, err
    assert not (tmp_path / "p.png").exists()
    code, stdout, err = run_main(["train", script, "--data", data, "--dpi", "100"])
    assert code == 2 and "add --plot" in err, err


def test_cli_plot_for_a_slide(tmp_path):
    plot = tmp_path / "slide.png"
    code, stdout, err = run_main(["train", str(SAMPLES / "logistic_regression.gt"), "--data", str(SAMPLES / "gauss.csv"),
                                  "--epochs", "3", "--plot", str(plot), "--size", "16x9", "--dpi", "120"])
    assert code == 0, err
    assert _png_size(plot.read_bytes()) == (1920, 1080)
