"""Multiclass end to end (issue 13): `mlp --loss ce` in array form, `data blobs|spiral --classes K`,
`train` with K classes (accuracy, loss curve, a K-colour decision map) and the explorer's view."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers import SAMPLES, assert_clean_error, run_main, strict_json

import graphtrace
from graphtrace.data import make_dataset, read_csv, write_csv
from graphtrace.errors import UsageError
from graphtrace.layers import class_scores, layer_weights, symmetric_units
from graphtrace.network import mlp, mlp_script
from graphtrace.training import predict_classes, substitute_params, train


# ---- mlp --loss ce -------------------------------------------------------------------------------
def test_mlp_ce_writes_a_few_lines_of_arrays():
    text = mlp_script("2-16-3", loss="ce")
    code_lines = [ln for ln in text.splitlines() if ln and not ln.startswith(("#", " "))]
    assert len(code_lines) < 15, code_lines  # a network is a few lines, not one line per weight
    assert "h1 = sigmoid(W1 @ x + b1)" in text and "z = W2 @ h1 + b2" in text
    assert "L = cross_entropy(z, y)" in text
    g = mlp("2-16-3", loss="ce")
    assert g.arrays["W1"]["shape"] == [16, 2] and g.arrays["W2"]["shape"] == [3, 16]
    assert len(g.params) == 16 * 2 + 16 + 3 * 16 + 3 and g.inputs == ["x1", "x2", "y"]
    assert class_scores(g) == (["z[0]", "z[1]", "z[2]"], "y")
    assert g.check().ok


def test_array_and_scalar_forms_are_the_same_network():
    for loss, shape in (("ce", [2, 4, 3]), ("bce", [2, 3, 1]), ("mse", [3, 2, 2])):
        a = mlp(shape, loss=loss, form="array", seed=5)
        s = mlp(shape, loss=loss, form="scalar", seed=5)
        for (wa, ba), (ws, bs) in zip(layer_weights(a), layer_weights(s), strict=True):
            assert np.array_equal(wa, ws) and np.array_equal(ba, bs)
        fa, fs = a.forward(), s.forward()
        assert fa.value == pytest.approx(fs.value, rel=1e-12)
        ga, gs = a.backprop(forward=fa), s.backprop(forward=fs)
        for layer, (w, _) in enumerate(layer_weights(s), start=1):
            for i in range(w.shape[0]):
                for j in range(w.shape[1]):
                    arr = a.arrays[f"W{layer}"]
                    name = f"W{layer}[{j},{i}]" if len(arr["shape"]) == 2 else f"W{layer}[{i}]"
                    assert ga[name] == pytest.approx(gs[f"w{layer}_{i + 1}_{j + 1}"], rel=1e-12, abs=1e-15)


def test_mlp_cli_form_and_errors(tmp_path: Path):
    code, out, err = run_main(["mlp", "2-16-3", "--loss", "ce"])
    assert code == 0 and "cross_entropy(z, y)" in out
    code, out, err = run_main(["mlp", "2-2-3", "--loss", "ce", "--form", "scalar"])
    assert code == 0 and "w2_1_3: param" in out and "cross_entropy([o_1, o_2, o_3], y)" in out
    assert graphtrace.parse(out).check().ok
    code, out, err = run_main(["mlp", "2-3-1", "--form", "array"])
    assert code == 0 and "o = sigmoid(W2 @ h1 + b2)" in out
    code, out, err = run_main(["mlp", "2-3-1", "--loss", "ce"])
    assert_clean_error(code, out, err, where="at least 2 classes")
    code, out, err = run_main(["mlp", "2-3-2", "--form", "matrix"])
    assert_clean_error(code, out, err, where="unknown form")


def test_zeros_in_array_form_are_still_symmetric():
    assert symmetric_units(mlp([2, 3, 3], loss="ce", init="zeros")) == [(1, [1, 2, 3])]
    assert symmetric_units(mlp([2, 3, 3], loss="ce")) == []


# ---- data blobs|spiral --classes K ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["blobs", "spiral"])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_multiclass_data_sets(name, k):
    d = make_dataset(name, 100, seed=1, classes=k)
    assert d.columns == ("x1", "x2", "y")
    y = d.target
    assert set(np.unique(y).tolist()) == set(range(k))
    counts = np.bincount(y.astype(int))
    assert counts.max() - counts.min() <= 1  # balanced
    assert write_csv(d) == write_csv(make_dataset(name, 100, seed=1, classes=k))
    assert read_csv(text=write_csv(d)).target.tolist() == y.tolist()
    assert f"\n{int(y[0])}\n" not in write_csv(d)  # labels are written as integers after the features
    assert re.search(r",\d\n", write_csv(d))


def test_data_command_classes(tmp_path: Path):
    code, out, err = run_main(["data", "blobs", "--classes", "4", "-n", "12"])
    assert code == 0, err
    assert sorted({line.split(",")[-1] for line in out.splitlines()[1:]}) == ["0", "1", "2", "3"]
    code, out, err = run_main(["data", "spiral", "-n", "9"])
    assert code == 0 and sorted({line.split(",")[-1] for line in out.splitlines()[1:]}) == ["0", "1", "2"]
    for bad in (["data", "triangle", "--classes", "3"], ["data", "blobs", "--classes", "1"],
                ["data", "blobs", "--classes", "11"]):
        code, out, err = run_main(bad)
        assert_clean_error(code, out, err, where="classes")


# ---- train with K classes ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    net = graphtrace.load(SAMPLES / "multiclass.gt")
    data = read_csv(SAMPLES / "blobs.csv")
    return train(net, data), data


def test_a_2_16_3_softmax_net_learns_three_blobs_with_the_defaults(trained):
    result, data = trained
    assert result.accuracy >= 0.95, result.accuracy  # the acceptance point; 100 % here
    assert result.classes == ["z[0]", "z[1]", "z[2]"] and result.target == "y" and result.predict is None
    assert len(result.history) == 300 and result.history[-1] < 0.1 * result.history[0]
    assert len(result.accuracy_history) == 300 and result.accuracy_history[-1] == result.accuracy
    assert not [w for w in result.warnings if "not binary" in w]
    labels, probs = predict_classes(result.graph, {"x1": data.column("x1"), "x2": data.column("x2")}, result.classes)
    assert np.mean(labels == data.target) == result.accuracy
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_trained_arrays_are_written_back_into_their_lists(trained):
    result, _ = trained
    again = graphtrace.parse(result.script)
    for p, v in result.params.items():
        assert again.nx.nodes[p]["value"] == v, p
    assert result.script.count("W1: param = [[") == 1  # the layout is kept: the same lines, new numbers
    assert len(result.script.splitlines()) == len((SAMPLES / "multiclass.gt").read_text().splitlines())


def test_substitute_params_handles_unicode_and_negative_elements():
    src = "α: param = [-1.5, 2.0]   # ünïcode\nβ: param = 0.5\nL = sum(α) * β\n"
    g = graphtrace.parse(src)
    out = substitute_params(src, g, {"α[0]": 0.25, "α[1]": -3.0, "β": 1.0})
    assert out.splitlines()[0] == "α: param = [0.25, -3.0]   # ünïcode"
    assert graphtrace.parse(out).forward().value == pytest.approx(-2.75)


def test_train_command_with_classes_and_a_k_colour_plot(tmp_path: Path):
    net, data = tmp_path / "net.gt", tmp_path / "spiral.csv"
    assert run_main(["mlp", "2-8-4", "--loss", "ce", "-o", str(net)])[0] == 0
    assert run_main(["data", "blobs", "--classes", "4", "-n", "80", "-o", str(data)])[0] == 0
    plot = tmp_path / "plot.png"
    code, out, err = run_main(["train", str(net), "--data", str(data), "--epochs", "40", "--plot", str(plot),
                               "-o", str(tmp_path / "trained.gt")])
    assert code == 0, err
    assert "the largest of 4 logits" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, err = run_main(["train", str(net), "--data", str(data), "--epochs", "3", "--json"])
    assert code == 0, err
    doc = strict_json(out)
    assert doc["classes"] == ["z[0]", "z[1]", "z[2]", "z[3]"] and 0 <= doc["accuracy"] <= 1


def test_the_plot_shows_every_class_colour(trained, tmp_path: Path):
    from graphtrace.dot import CLASS_COLORS
    from graphtrace.training import plot_training

    result, data = trained
    svg = plot_training(result, data, fmt="svg").decode("utf-8")
    for colour in CLASS_COLORS[:3]:
        assert colour in svg.lower(), colour
    assert "class 2" in svg and "largest of 3 logits" in svg


def test_a_label_outside_the_classes_is_a_clean_error(tmp_path: Path):
    net = tmp_path / "net.gt"
    assert run_main(["mlp", "2-3-3", "--loss", "ce", "-o", str(net)])[0] == 0
    data = tmp_path / "bad.csv"
    data.write_text("x1,x2,y\n0.1,0.2,0\n0.3,0.1,3\n")
    code, out, err = run_main(["train", str(net), "--data", str(data), "--epochs", "2", "--batch", "1"])
    assert_clean_error(code, out, err, where="class index")


# ---- the explorer's training view with K classes --------------------------------------------------
def test_the_explorer_model_names_the_classes_and_their_colours():
    from graphtrace.dot import CLASS_COLORS
    from graphtrace.explorer import build_model

    g = mlp([2, 3, 4], loss="ce")
    model = build_model(g, data=make_dataset("blobs", 20, seed=0, classes=4))
    d = model["data"]
    names = [n["name"] for n in model["nodes"]]
    assert [names[i] for i in d["classes"]] == ["z[0]", "z[1]", "z[2]", "z[3]"]
    assert names[d["target"]] == "y" and [names[i] for i in d["features"]] == ["x1", "x2"]
    assert d["class_colors"] == list(CLASS_COLORS[:4])


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not on PATH")
def test_the_pages_accuracy_equals_pythons(trained):
    from graphtrace import explorer

    result, data = trained
    model = explorer.build_model(result.graph, data=data)
    runner = r"""
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const C = require(process.argv[1])(new Function(input.ops + "\nreturn GRAPHTRACE_OPS;")());
const m = C.compile(input.model);
process.stdout.write(JSON.stringify(C.evaluateData(m, {}, input.model.data)));
"""
    js = Path(explorer.__file__).parent / "explorer_assets" / "explorer.js"
    payload = {"ops": explorer.ops_script(model["ops"]), "model": model}
    proc = subprocess.run([NODE, "-e", runner, str(js)], input=json.dumps(payload).encode(), capture_output=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    got = json.loads(proc.stdout)
    assert got["accuracy"] == result.accuracy
    assert got["loss"] == pytest.approx(result.loss, rel=1e-9)


# ---- drawings of array-form networks --------------------------------------------------------------
def test_array_form_networks_fold_by_neuron_layer_and_array(tmp_path: Path):
    from graphtrace import dot

    g = mlp([2, 4, 3], loss="ce")
    assert graphtrace.layers.annotate_mlp(g)
    assert g.nx.nodes["W1[3,1]"]["neuron"] == 4 and g.nx.nodes["h1[0]"]["role"] == "act"
    assert g.nx.nodes["z[2]"]["layer"] == 2 and g.nx.nodes["y"]["role"] == "target"
    # every unnamed part of a layer's line belongs to the neuron its value flows into
    parts = [d for v, d in g.nx.nodes(data=True) if d["kind"] == "op" and not d.get("named") and d["line"] != g.nx.nodes["L"]["line"]]
    assert parts and all("neuron" in d for d in parts)
    neuron = dot.draw(g, level="neuron")
    assert sorted(n.title for n in neuron.nodes if n.kind == "neuron")[:3] == ["h1[0]", "h1[1]", "h1[2]"]
    assert len([n for n in neuron.nodes if n.kind == "neuron"]) == 2 + 4 + 3
    layer = dot.draw(g, level="layer")
    assert [n.title for n in layer.nodes if n.kind == "layer"] == ["input layer", "hidden layer 1", "output layer 2"]
    arrays = dot.draw(mlp([2, 4, 3], loss="ce"), level="array")
    titles = {n.title for n in arrays.nodes}
    assert {"W₁ [4×2]", "b₁ [4]", "h₁ [4]", "W₂ [3×4]", "z [3]", "x [2]", "L", "y"} <= titles
    assert dot.draw(graphtrace.load(SAMPLES / "triangle_array.gt"), level="neuron").level == "neuron"
    big = mlp([2, 64, 3], loss="ce")
    assert dot.draw(big).level in ("neuron", "layer")  # auto folds a big array-form net like a scalar one
    with pytest.raises(UsageError, match="--level array"):
        dot.draw(graphtrace.load(SAMPLES / "softmax.gt"), level="neuron")
    with pytest.raises(UsageError, match="vectors or matrices"):
        dot.draw(graphtrace.load(SAMPLES / "neuron.gt"), level="array")
    out = tmp_path / "softmax.dot"
    code, _, err = run_main(["render", str(SAMPLES / "softmax.gt"), "--level", "array", "-o", str(out)])
    assert code == 0, err
    assert "array level" in err and "W [3×2]" in out.read_text(encoding="utf-8")
