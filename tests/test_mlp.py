"""Tests for graphtrace.network (graphtrace.mlp): generated MLP scripts, names, attributes, inits, collapse and the mlp CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphtrace
from graphtrace.errors import GraphError, UsageError
from graphtrace.network import (
    ACTIVATIONS,
    annotate_mlp,
    collapse_linear,
    layer_weights,
    mlp,
    mlp_script,
    parse_shape,
)
from tests.helpers import run_main


def test_parse_shape_accepts_dashes_and_lists():
    assert parse_shape("2-3-1") == [2, 3, 1]
    assert parse_shape(" 16-64-64-10 ") == [16, 64, 64, 10]
    assert parse_shape((2, 1)) == [2, 1]


@pytest.mark.parametrize("bad", ["", "2", "2-x-1", "2--1", "2-0-1", "-2-1", "2-3-1.5", "2-5000-1"])
def test_parse_shape_rejects_bad_shapes(bad):
    with pytest.raises(UsageError, match="bad SHAPE"):
        parse_shape(bad)


def test_script_names_follow_the_scheme():
    g = mlp([2, 3, 1], seed=0)
    assert g.inputs == ["x1", "x2", "y"]
    expected = [f"w1_{i}_{j}" for j in (1, 2, 3) for i in (1, 2)]
    assert [p for p in g.params if p.startswith("w1_")] == expected
    assert [p for p in g.params if p.startswith("b")] == ["b1_1", "b1_2", "b1_3", "b2_1"]
    assert {"z1_1", "z1_3", "h1_2", "z2_1", "o", "L"} <= set(g.names)
    assert g.output == "L"
    assert len(g.params) == (2 + 1) * 3 + (3 + 1) * 1


def test_script_is_readable_and_reproducible():
    text = mlp_script("2-3-1", seed=0)
    assert text.startswith("# Made by: graphtrace mlp 2-3-1 --activation sigmoid --loss bce --init random --seed 0\n")
    assert "# hidden layer 1: 3 sigmoid neurons" in text
    assert "# output layer 2: 1 sigmoid unit, log loss" in text
    assert text == mlp_script([2, 3, 1], seed=0)  # deterministic
    assert text != mlp_script([2, 3, 1], seed=1)
    # one neuron's block: its weights, bias, sum and activation on consecutive lines
    block = re.search(r"w1_1_2: param = \S+\nw1_2_2: param = \S+\nb1_2: param = 0\.0\n"
                      r"z1_2 = w1_1_2\*x1 \+ w1_2_2\*x2 \+ b1_2\nh1_2 = sigmoid\(z1_2\)\n", text)
    assert block, text


def test_mlp_graph_is_the_parsed_script():
    g = mlp([2, 3, 1], seed=4)
    h = graphtrace.parse(mlp_script([2, 3, 1], seed=4))
    assert list(g.nx.nodes) == list(h.nx.nodes)
    assert [g.nx.nodes[p]["value"] for p in g.params] == [h.nx.nodes[p]["value"] for p in h.params]
    assert g.source is not None and g.source.text == h.source.text


def test_attributes_layer_neuron_role():
    g = mlp([2, 3, 2], seed=0)
    n = g.nx.nodes
    assert (n["x2"]["layer"], n["x2"]["neuron"], n["x2"]["role"]) == (0, 2, "input")
    assert (n["w1_2_3"]["layer"], n["w1_2_3"]["neuron"], n["w1_2_3"]["role"]) == (1, 3, "weight")
    assert (n["b2_2"]["layer"], n["b2_2"]["neuron"], n["b2_2"]["role"]) == (2, 2, "bias")
    assert (n["z1_1"]["role"], n["h1_1"]["role"], n["o_2"]["role"]) == ("sum", "act", "act")
    assert (n["o_2"]["layer"], n["o_2"]["neuron"]) == (2, 2)
    assert (n["y_1"]["role"], n["L_1"]["role"], n["L"]["role"]) == ("target", "loss", "loss")
    # unnamed products and partial sums belong to their neuron
    inner = [v for v, d in g.nx.nodes(data=True) if not d.get("named") and d.get("line") == n["z1_3"]["line"]]
    assert inner and all((n[v]["layer"], n[v]["neuron"]) == (1, 3) for v in inner)
    # every named node of a generated net has a role
    assert all("role" in n[v] for v in g.names)


def test_annotate_after_reload_matches(tmp_path):
    path = tmp_path / "net.gt"
    path.write_text(mlp_script([2, 4, 1], seed=2), encoding="utf-8")
    loaded = graphtrace.load(path)
    assert annotate_mlp(loaded) is True
    built = mlp([2, 4, 1], seed=2)
    keys = ("layer", "neuron", "role")
    assert [{k: d.get(k) for k in keys} for _, d in loaded.nx.nodes(data=True)] == \
           [{k: d.get(k) for k in keys} for _, d in built.nx.nodes(data=True)]


def test_annotate_ignores_other_scripts():
    g = graphtrace.parse("x: input = 1\nw: param = 2\nL = w*x")
    assert annotate_mlp(g) is False
    assert all("layer" not in d for _, d in g.nx.nodes(data=True))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activations(activation):
    g = mlp([2, 2, 1], activation=activation, seed=0)
    op = g.nx.nodes["h1_1"]["op"]
    assert op == activation
    assert g.check().ok


def test_losses_and_several_outputs():
    g = mlp([2, 2], loss="mse", seed=0)
    assert g.nx.nodes["o_1"]["op"] == "identity"
    assert g.inputs == ["x1", "x2", "y_1", "y_2"]
    v = g.forward().values
    expected = 0.5 * (1 - v["o_1"]) ** 2 + 0.5 * (1 - v["o_2"]) ** 2
    assert v["L"] == pytest.approx(expected, rel=1e-15)
    b = mlp([2, 1], loss="bce", seed=0)
    o = b.forward().values["o"]
    assert b.nx.nodes["o"]["op"] == "sigmoid"
    assert b.forward().value == pytest.approx(-np.log(o), rel=1e-12)  # the script's y is 1


def test_inits():
    zeros = mlp([3, 4, 2], init="zeros")
    assert all(zeros.nx.nodes[p]["value"] == 0.0 for p in zeros.params)
    for init in ("random", "xavier", "he"):
        w = layer_weights(mlp([3, 4, 2], init=init, seed=5))
        assert all(np.all(b == 0) for _, b in w)
        assert len({float(x) for x in w[0][0].ravel()}) == 12  # random: all different
    bound = np.sqrt(6 / (3 + 4))
    assert np.all(np.abs(layer_weights(mlp([3, 4, 2], init="xavier", seed=1))[0][0]) <= bound)
    assert np.all(np.abs(layer_weights(mlp([3, 4, 2], init="random", seed=1))[0][0]) <= 1 / np.sqrt(3) + 1e-4)


@pytest.mark.parametrize("kwargs,match", [({"activation": "sigmod"}, "activation"), ({"loss": "l1"}, "loss"),
                                          ({"init": "ones"}, "init"), ({"seed": -1}, "seed")])
def test_bad_options(kwargs, match):
    with pytest.raises(UsageError, match=match):
        mlp_script([2, 1], **kwargs)


def test_layer_weights_and_collapse_linear():
    g = mlp([2, 3, 2, 1], activation="identity", loss="mse", seed=3)
    model = collapse_linear(g)
    (w1, b1), (w2, b2), (w3, b3) = layer_weights(g)
    assert np.allclose(model.weights, w1 @ w2 @ w3, rtol=0, atol=1e-15)
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=(50, 2))
    o = g.forward({"x1": x[:, 0], "x2": x[:, 1]}).values["o"]
    assert np.max(np.abs(model(x)[:, 0] - o)) < 1e-9


def test_collapse_refuses_nonlinear_nets():
    with pytest.raises(GraphError, match="not the identity"):
        collapse_linear(mlp([2, 3, 1]))
    with pytest.raises(GraphError, match="no weights"):
        layer_weights(graphtrace.parse("x: input = 1\nw: param = 2\nL = w*x"))


def test_cli_mlp_stdout_and_file(tmp_path):
    code, out, err = run_main(["mlp", "2-3-1", "--seed", "0"])
    assert code == 0, err
    assert out == mlp_script([2, 3, 1], seed=0)
    target = tmp_path / "n.gt"
    code, out, err = run_main(["mlp", "2-3-1", "--init", "zeros", "-o", str(target)])
    assert code == 0, err
    assert out == ""
    assert target.read_text(encoding="utf-8") == mlp_script([2, 3, 1], init="zeros")
    assert "13 params" in err


@pytest.mark.parametrize("args,match", [(["mlp", "2-x-1"], "bad SHAPE"), (["mlp", "2"], "bad SHAPE"),
                                        (["mlp", "2-1", "--activation", "foo"], "unknown activation")])
def test_cli_mlp_errors_exit_2(args, match, tmp_path):
    target = tmp_path / "n.gt"
    code, out, err = run_main([*args, "-o", str(target)])
    assert code == 2, (out, err)
    assert match in err and "Traceback" not in err
    assert not target.exists()


def test_graphtrace_mlp_and_train_are_the_functions_even_after_their_modules_are_imported():
    import graphtrace
    import graphtrace.network
    import graphtrace.training

    assert graphtrace.mlp is graphtrace.network.mlp
    assert graphtrace.train is graphtrace.training.train
    assert graphtrace.mlp([2, 1], seed=0).params == ["w1_1_1", "w1_2_1", "b1_1"]
