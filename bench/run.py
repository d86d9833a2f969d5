"""Benchmarks: graphtrace's compiled engine side by side with micrograd, PyTorch and plain numpy.

Run ``python bench/run.py`` (``--quick`` for a short run, ``--repeat N`` timed repeats per case,
``--markdown`` for tables to paste into the README, ``--json`` for one JSON document with every
case's medians and ratios and every target, met or not). micrograd (``pip install -e '.[bench]'``)
and PyTorch (``pip install torch==2.13.0``, CPU) are optional: what is not installed is skipped and
said so.
Every framework runs the same network (ReLU hidden layers, a linear output, the loss
0.5·(y − o)² summed over outputs and samples, float64; case k: softmax cross-entropy) with the same
weights, in this one process;
each timing is the median of the repeats. See bench/README.md for the cases and targets.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import graphtrace  # noqa: E402
from graphtrace import compute  # noqa: E402
from graphtrace import paths as ref_paths  # noqa: E402
from graphtrace.network import layer_weights, mlp_script  # noqa: E402

Row = dict[str, Any]


def median_time(fn: Callable[[], Any], repeat: int, *, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs (after ``warmup`` untimed runs)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paused_gc(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with the garbage collector paused, as graphtrace itself runs its parser."""
    def run() -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn()
        finally:
            if enabled:
                gc.enable()
    return run


# ---- one network, four implementations ----------------------------------------------------------
class Net:
    """A ReLU MLP written by graphtrace.mlp_script, with its weights as matrices and a data batch.

    ``form="array"`` writes the same network (same weights) with the script language's arrays,
    ``h1 = relu(W1 @ x + b1)``; its params are named ``W1[j,i]``, ``b1[j]``.
    """

    def __init__(self, shape: str, batch: int, seed: int = 0, form: str = "scalar"):
        self.shape = shape
        self.sizes = [int(s) for s in shape.split("-")]
        self.form = form
        self.text = mlp_script(shape, activation="relu", loss="mse", init="xavier", seed=seed, form=form)
        self.graph = graphtrace.parse(self.text, name=f"mlp-{shape}.gt")
        self.weights = layer_weights(self.graph)
        rng = np.random.default_rng(seed)
        self.batch = batch
        self.X = rng.uniform(-1, 1, size=(batch, self.sizes[0]))
        self.Y = rng.uniform(-1, 1, size=(batch, self.sizes[-1]))
        self.n_edges = self.graph.nx.number_of_edges()
        self.inputs = [f"x{i}" for i in range(1, self.sizes[0] + 1)]
        self.targets = ["y"] if self.sizes[-1] == 1 else [f"y_{k}" for k in range(1, self.sizes[-1] + 1)]

    # graphtrace ------------------------------------------------------------------------------
    def graphtrace_step(self) -> Callable[[], tuple[float, np.ndarray]]:
        """One training step as `train` runs it: the compiled step (compute.stepper), the batch as
        one matrix (a row per input), the params as one vector; returns the mean loss and the mean
        gradient of every param (in the order of ``step.params``)."""
        step = compute.stepper(self.graph.nx, self.inputs + self.targets, list(self.graph.params),
                               output=self.graph.output)
        X = np.ascontiguousarray(np.concatenate((self.X.T, self.Y.T)))
        P = np.array([float(self.graph.nx.nodes[p]["value"]) for p in step.params])
        self.step_params = list(step.params)
        return lambda: step.step(X, P)

    def graphtrace_grads(self) -> dict[str, float]:
        """∂(Σ over the batch of L)/∂param, by the scalar form's names."""
        _, mean = self.graphtrace_step()()
        return {scalar_name(p): g * self.batch for p, g in zip(self.step_params, mean.tolist(), strict=True)}

    # numpy -------------------------------------------------------------------------------------
    def numpy_step(self) -> Callable[[], list[np.ndarray]]:
        Ws = [w for w, _ in self.weights]
        bs = [b for _, b in self.weights]
        X, Y = self.X, self.Y

        def step() -> list[np.ndarray]:
            acts = [X]
            pre = []
            for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
                z = acts[-1] @ W + b
                pre.append(z)
                acts.append(np.maximum(z, 0.0) if i < len(Ws) - 1 else z)
            d = acts[-1] - Y  # ∂(0.5(y−o)²)/∂o
            grads = []
            for i in range(len(Ws) - 1, -1, -1):
                if i < len(Ws) - 1:
                    d = d * (pre[i] > 0)
                grads.append(acts[i].T @ d)
                grads.append(d.sum(axis=0))
                d = d @ Ws[i].T
            return grads
        return step

    def numpy_grads(self) -> dict[str, float]:
        grads = self.numpy_step()()  # last layer first: (gW, gb) pairs
        n = len(self.weights)
        return named_grads([(grads[2 * (n - layer)], grads[2 * (n - layer) + 1]) for layer in range(1, n + 1)])

    # torch -------------------------------------------------------------------------------------
    def torch_step(self) -> Callable[[], Any]:
        import torch

        torch.set_num_threads(1)
        params = []
        for W, b in self.weights:
            params.append(torch.tensor(W, dtype=torch.float64, requires_grad=True))
            params.append(torch.tensor(b, dtype=torch.float64, requires_grad=True))
        X = torch.tensor(self.X, dtype=torch.float64)
        Y = torch.tensor(self.Y, dtype=torch.float64)
        n = len(self.weights)

        def step() -> Any:
            for p in params:
                p.grad = None
            a = X
            for i in range(n):
                a = a @ params[2 * i] + params[2 * i + 1]
                if i < n - 1:
                    a = torch.relu(a)
            loss = 0.5 * ((Y - a) ** 2).sum()
            loss.backward()
            return params[0].grad
        return step

    # micrograd ---------------------------------------------------------------------------------
    def micrograd_step(self) -> Callable[[], Any]:
        from micrograd.engine import Value

        layers = [([[Value(float(W[i, j])) for i in range(W.shape[0])] for j in range(W.shape[1])],
                   [Value(float(b[j])) for j in range(W.shape[1])]) for W, b in self.weights]
        params = [p for ws, bs in layers for row in ws for p in row] + [p for _, bs in layers for p in bs]
        X, Y = self.X.tolist(), self.Y.tolist()

        # micrograd's backward() sorts the graph recursively: the summed loss of a 1,000-sample
        # batch is a chain deeper than Python's default recursion limit.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * self.batch + 10_000))

        def step() -> Any:
            for p in params:
                p.grad = 0.0
            total = Value(0.0)
            for x, y in zip(X, Y, strict=True):
                act: list[Any] = x
                for li, (ws, bs) in enumerate(layers):
                    act = [sum((w * a for w, a in zip(row, act, strict=True)), b) for row, b in zip(ws, bs, strict=True)]
                    if li < len(layers) - 1:
                        act = [a.relu() for a in act]
                for o, t in zip(act, y, strict=True):
                    total = total + 0.5 * (t - o) ** 2
            total.backward()
            return total
        return step


def named_grads(layers: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Hand-written gradients by the scalar form's names: layer l's (gW, gb), gW of shape
    (inputs, outputs), give ``w{l}_{i}_{j}`` and ``b{l}_{j}`` (1-based)."""
    out: dict[str, float] = {}
    for layer, (gw, gb) in enumerate(layers, start=1):
        for i in range(gw.shape[0]):
            for j in range(gw.shape[1]):
                out[f"w{layer}_{i + 1}_{j + 1}"] = float(gw[i, j])
        for j in range(gb.shape[0]):
            out[f"b{layer}_{j + 1}"] = float(gb[j])
    return out


def interleaved_medians(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Each framework's median step: its repeats back to back (warm, as in a training loop: a step
    of another framework in between evicts caches and doubles a small step's time), in three
    rounds that take turns, so a burst of load from other jobs hits them alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(3):
        for name, f in fns.items():
            f()  # warm-up
            for _ in range(max(repeat, 5) * (4 if name == "numpy" else 1)):
                t = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def scalar_name(param: str) -> str:
    """The scalar form's name of a param of either form: ``W2[3,0]`` is ``w2_1_4``, ``b1[2]`` is
    ``b1_3``, a one-neuron layer's ``W3[4]`` is ``w3_5_1`` and its ``b3`` is ``b3_1``."""
    import re

    m = re.fullmatch(r"W(\d+)\[(\d+),(\d+)\]", param)
    if m:
        return f"w{m[1]}_{int(m[3]) + 1}_{int(m[2]) + 1}"
    m = re.fullmatch(r"W(\d+)\[(\d+)\]", param)
    if m:
        return f"w{m[1]}_{int(m[2]) + 1}_1"
    m = re.fullmatch(r"b(\d+)\[(\d+)\]", param)
    if m:
        return f"b{m[1]}_{int(m[2]) + 1}"
    m = re.fullmatch(r"b(\d+)", param)
    return f"b{m[1]}_1" if m else param


def have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


# ---- the cases --------------------------------------------------------------------------------
def training_cases(args: argparse.Namespace, notes: list[str]) -> list[Row]:
    cases = [("a", "2-3-1", 1, "scalar", "2-3-1, one sample"),
             ("b", "2-16-16-1", 100, "scalar", "2-16-16-1, batch 100, one step"),
             ("c", "64-64-64-10", 1, "scalar", "64-64-64-10, one sample"),
             ("d", "2-16-16-1", 1000, "scalar", "2-16-16-1, batch 1,000, one step"),
             ("i", "2-16-16-1", 100, "array", "(b) written with arrays: h1 = relu(W1 @ x + b1)")]
    rows = []
    mg, th = have("micrograd"), have("torch")
    if not mg:
        notes.append("micrograd is not installed: its column is skipped (pip install -e '.[bench]')")
    if not th:
        notes.append("PyTorch is not installed: its column is skipped (pip install torch==2.13.0)")
    for key, shape, batch, form, label in cases:
        net = Net(shape, batch, form=form)
        rep = args.repeat
        # Sanity: the engine and the hand-written numpy agree on every gradient.
        got, want = net.graphtrace_grads(), net.numpy_grads()
        assert got.keys() == want.keys(), f"case {key}: the params differ"
        err = max(abs(got[k] - want[k]) for k in want)
        if err > 1e-9 * max(1.0, max(abs(v) for v in want.values())):
            raise SystemExit(f"case {key}: graphtrace and numpy gradients differ by {err:g}")
        row: Row = {"case": key, "what": label, "edges": net.n_edges * batch}
        fns = {"graphtrace": net.graphtrace_step(), "numpy": net.numpy_step()}
        if th and form == "scalar":
            fns["torch"] = net.torch_step()
        row.update(interleaved_medians(fns, rep))
        if mg and form == "scalar" and not (args.quick and batch * net.n_edges > 200_000):
            row["micrograd"] = median_time(paused_gc(net.micrograd_step()), max(1, min(rep, 3)))
        rows.append(row)
    return rows


def multiclass_case(args: argparse.Namespace) -> Row:
    """(k) the multiclass workload: 2-16-3, ReLU, softmax cross-entropy on a class index
    (``graphtrace mlp 2-16-3 --loss ce``: array syntax, ``cross_entropy(z, y)``), batch 100, one
    training step. graphtrace runs it as `train` does: the engine's step on the lowered copy
    (softmax and cross_entropy written with ops of one or two operands)."""
    text = mlp_script("2-16-3", activation="relu", loss="ce", init="xavier", seed=0)
    graph = graphtrace.parse(text, name="mlp-2-16-3-ce.gt")
    weights = layer_weights(graph)
    batch = 100
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(batch, 2))
    y = rng.integers(0, 3, size=batch)
    step = compute.stepper(graph.core, ["x1", "x2", "y"], list(graph.params), output=graph.output)
    data = np.ascontiguousarray(np.concatenate((X.T, y[None, :].astype(float))))
    P = np.array([float(graph.core.nodes[p]["value"]) for p in step.params])

    def numpy_step() -> list[np.ndarray]:
        (W1, b1), (W2, b2) = weights
        z1 = X @ W1 + b1
        h = np.maximum(z1, 0.0)
        z = h @ W2 + b2
        e = np.exp(z - z.max(axis=1, keepdims=True))
        d = e / e.sum(axis=1, keepdims=True)  # ∂(Σ −log softmax(z)[y])/∂z = softmax(z) − onehot(y)
        d[np.arange(batch), y] -= 1.0
        dh = (d @ W2.T) * (z1 > 0)
        return [X.T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)]

    # Sanity: the engine's mean gradients equal the hand-written ones (summed over the batch).
    _loss, mean = step.step(data, P)
    got = {scalar_name(p): g * batch for p, g in zip(step.params, mean.tolist(), strict=True)}
    gw1, gb1, gw2, gb2 = numpy_step()
    want = named_grads([(gw1, gb1), (gw2, gb2)])
    assert got.keys() == want.keys(), "case k: the params differ"
    err = max(abs(got[k] - want[k]) for k in want)
    if err > 1e-9 * max(1.0, max(abs(v) for v in want.values())):
        raise SystemExit(f"case k: graphtrace and numpy gradients differ by {err:g}")
    fns: dict[str, Callable[[], Any]] = {"graphtrace": lambda: step.step(data, P), "numpy": numpy_step}
    if have("torch"):
        import torch

        torch.set_num_threads(1)
        params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for w, b in weights for a in (w, b)]
        tX, ty = torch.tensor(X, dtype=torch.float64), torch.tensor(y)

        def torch_step() -> Any:
            for p_ in params:
                p_.grad = None
            z = torch.relu(tX @ params[0] + params[1]) @ params[2] + params[3]
            torch.nn.functional.cross_entropy(z, ty, reduction="sum").backward()
            return params[0].grad

        fns["torch"] = torch_step
    row: Row = {"case": "k", "what": "multiclass 2-16-3, softmax cross-entropy, batch 100, one step",
                "edges": graph.core.number_of_edges() * batch,
                "extra": "the array script of `mlp 2-16-3 --loss ce`; micrograd has no exp or log"}
    row.update(interleaved_medians(fns, args.repeat))
    return row


def train_cases(args: argparse.Namespace) -> list[Row]:
    """`train` of the 2-16-16-1 sigmoid net (mlp defaults: bce, lr 0.5, batch 10) on 1,000 points of
    the circle, 100 epochs: in this process (graphtrace.train, from the parsed script to the
    result) and as a whole `graphtrace train` process (imports, parse, training, writing)."""
    from graphtrace.data import make_dataset, write_csv

    ds = make_dataset("circle", 1000, seed=0)
    rep = 1 if args.quick else 3
    # In a fresh interpreter, as a user's script would run it: this process has imported torch and
    # run micrograd, whose hundreds of thousands of objects slow every garbage collection.
    script = ("import json, sys, time; sys.path.insert(0, sys.argv[1]); import graphtrace; "
              "from graphtrace.data import make_dataset; from graphtrace.network import mlp; "
              "ds = make_dataset('circle', 1000, seed=0); t = time.perf_counter(); "
              "r = graphtrace.train(mlp([2, 16, 16, 1], seed=0), ds, epochs=100, seed=0); "
              "print(json.dumps([time.perf_counter() - t, r.seconds, r.accuracy]))")
    runs = [json.loads(subprocess.run([sys.executable, "-c", script, str(ROOT)], check=True, capture_output=True,
                                      text=True).stdout) for _ in range(rep)]
    t = statistics.median(r[0] for r in runs)
    loop = statistics.median(r[1] for r in runs)
    rows: list[Row] = [{"case": "t", "what": "train 2-16-16-1, 1,000 points, 100 epochs (in process)",
                        "graphtrace": t, "extra": f"graphtrace.train() from the parsed net to the result; the "
                                                  f"loop alone {loop:.2f} s: 10,000 steps of batch 10, "
                                                  f"{loop / 10_000 * 1e6:.0f} µs a step; "
                                                  f"accuracy {100 * (runs[-1][2] or 0):.1f} %"}]
    tmp = Path(tempfile.mkdtemp(prefix="graphtrace-bench-train-"))
    (tmp / "net.gt").write_text(mlp_script("2-16-16-1", seed=0), encoding="utf-8")
    (tmp / "circle.csv").write_text(write_csv(ds), encoding="utf-8")
    argv = [sys.executable, "-m", "graphtrace", "train", str(tmp / "net.gt"), "--data", str(tmp / "circle.csv"),
            "--epochs", "100", "-o", str(tmp / "trained.gt")]
    rows.append({"case": "t", "what": "whole process: graphtrace train (the same run, -o trained.gt)",
                 "graphtrace": process_time(argv, rep)})
    return rows


def demo_case(args: argparse.Namespace) -> list[Row]:
    if args.quick:
        return []
    out = Path(tempfile.mkdtemp(prefix="graphtrace-bench-demo-"))
    t = process_time([sys.executable, "-m", "graphtrace", "demo", "-o", str(out)], 1, warmup=0)
    return [{"case": "j", "what": "whole process: graphtrace demo -o DIR", "graphtrace": t,
             "extra": "one run (every course section, drawn, checked and trained)"}]


def chain_script(lines: int) -> str:
    """A 100,000-line script: a long chain with a shared input, one op or leaf per line."""
    out = ["x: input = 0.5", "w: param = 0.999"]
    for i in range(lines - 3):
        prev = "x" if i == 0 else f"s{i - 1}"
        out.append(f"s{i} = w*{prev} + x" if i % 2 else f"s{i} = sin({prev})*w")
    out.append(f"L = s{lines - 4}*s{lines - 4}")
    return "\n".join(out) + "\n"


def parse_case(args: argparse.Namespace) -> list[Row]:
    """(e) parse + build: the parser's records, the graph over them (what `grad --json --wrt`
    pays), and, as a second row, the node and adjacency dicts that drawings and listings read."""
    n = 20_000 if args.quick else 100_000
    text = chain_script(n)
    rep = max(1, min(args.repeat, 3))
    t = median_time(lambda: graphtrace.parse(text, name="chain.gt"), rep, warmup=0)

    def filled() -> Any:
        g = graphtrace.parse(text, name="chain.gt")
        g.core.nodes, g.core.pred  # noqa: B018  fills the dicts
        return g

    t_full = median_time(filled, rep, warmup=0)
    tracemalloc.start()
    g = filled()
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    edges = g.core.number_of_edges()
    nodes = g.core.number_of_nodes()
    return [{"case": "e", "what": f"parse + build, {n:,}-line script", "edges": edges, "graphtrace": t,
             "extra": f"{t / edges * 1e6:.2f} µs/edge ({nodes:,} nodes, {edges:,} edges); the records "
                      "and the graph over them, the dicts not yet made"},
            {"case": "e", "what": "parse + build + the node and edge dicts", "edges": edges, "graphtrace": t_full,
             "bytes_per_edge": current / edges,
             "extra": f"{t_full / edges * 1e6:.2f} µs/edge, {current / edges:.0f} B/edge (what drawings, "
                      "path listings and g.nx read)"}]


def paths_case(args: argparse.Namespace) -> Row:
    shape = "4-" + "-".join(["32"] * 10) + "-1"
    g = graphtrace.parse(mlp_script(shape, activation="sigmoid", loss="mse", seed=0), name="f.gt")
    wrt = "w1_1_1"

    def engine_paths() -> tuple[int, float, list[Any]]:
        fwd = g.forward()
        return g.count_paths(wrt), g.sum_over_paths(wrt, forward=fwd), g.paths(wrt, top=10, forward=fwd)

    def reference_paths() -> tuple[int, float, list[Any]]:
        from graphtrace.evaluate import evaluate

        fwd = evaluate(g.nx)
        return (ref_paths.count_paths(g.nx, wrt, g.output, fwd.order),
                ref_paths.sum_over_paths(g.nx, fwd, wrt), ref_paths.top_paths(g.nx, fwd, wrt, top=10))
    n, total, best = engine_paths()
    rn, rtotal, rbest = reference_paths()
    assert n == rn and abs(total - rtotal) <= 1e-9 * max(1.0, abs(rtotal)) and best == rbest
    rep = max(1, min(args.repeat, 5))
    return {"case": "f", "what": f"count, sum, top-10 paths, {shape}", "edges": g.nx.number_of_edges(),
            "graphtrace": median_time(engine_paths, rep), "reference": median_time(reference_paths, 1, warmup=0),
            "extra": f"{n:,} paths"}


PYCACHE = tempfile.mkdtemp(prefix="graphtrace-bench-pyc-")


def process_time(argv: list[str], repeat: int, warmup: int = 1) -> float:
    # Bytecode cached, as after `pip install` (the untimed warm-up run writes it): a sandbox with
    # PYTHONDONTWRITEBYTECODE would otherwise recompile graphtrace's sources in every process.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONIOENCODING="utf-8", PYTHONPYCACHEPREFIX=PYCACHE)
    return median_time(lambda: subprocess.run(argv, check=True, capture_output=True, env=env, cwd=ROOT),
                       repeat, warmup=warmup)


def cli_cases(args: argparse.Namespace) -> list[Row]:
    rows = []
    rep = max(3, args.repeat) if not args.quick else 3
    gt = [sys.executable, "-m", "graphtrace"]
    # Start-up, measured against the floor every click program pays: `python -c "import click"`.
    click_only = process_time([sys.executable, "-c", "import click"], rep)
    version = process_time(gt + ["--version"], rep)
    rows.append({"case": "g", "what": "whole process: graphtrace --version", "graphtrace": version,
                 "extra": f"python -c 'import click': {click_only * 1e3:.0f} ms; "
                          f"ratio {version / click_only:.2f} (target ≤ 1.5)"})
    base = process_time([sys.executable, "-c", "import click, networkx"], rep)
    neuron = process_time(gt + ["grad", "sample:neuron", "--json"], rep)
    rows.append({"case": "g", "what": "whole process: grad sample:neuron --json", "graphtrace": neuron,
                 "extra": f"python -c 'import click': {click_only * 1e3:.0f} ms (ratio {neuron / click_only:.2f}); "
                          f"python -c 'import click, networkx': {base * 1e3:.0f} ms"})
    tmp = Path(tempfile.mkdtemp(prefix="graphtrace-bench-"))
    big = [("b", "2-16-16-1"), ("c", "64-64-64-10")]
    for key, shape in big:
        f = tmp / f"{key}.gt"
        f.write_text(mlp_script(shape, activation="relu", loss="mse", init="xavier"), encoding="utf-8")
        edges = graphtrace.load(f).nx.number_of_edges()
        t = process_time(gt + ["grad", str(f), "--json", "--wrt", "w1_1_1"], rep)
        rows.append({"case": key, "what": f"whole process: grad {shape} --json --wrt w1_1_1", "edges": edges,
                     "graphtrace": t, "extra": f"{t / edges * 1e6:.2f} µs/edge end to end"})
    if not args.quick:
        f = tmp / "c.gt"
        for cmd in (["grad", str(f), "--json"], ["check", str(f), "--json"]):
            t = process_time(gt + cmd, 1)
            rows.append({"case": "c", "what": f"whole process: {cmd[0]} 64-64-64-10 --json (all params, FD)",
                         "graphtrace": t, "extra": "8,970 params: paths, backprop, finite differences"})
        deep = tmp / "deep.gt"
        deep.write_text(mlp_script("4-" + "-".join(["64"] * 8) + "-1", activation="sigmoid", loss="mse"),
                        encoding="utf-8")
        t = process_time(gt + ["paths", str(deep), "--wrt", "w1_1_1", "--json"], 1)
        rows.append({"case": "h", "what": "whole process: paths 4-64×8-1 --wrt w1_1_1 --json",
                     "graphtrace": t, "extra": "64^7 = 4,398,046,511,104 paths"})
    return rows


# ---- output -----------------------------------------------------------------------------------
def fmt_time(t: float | None) -> str:
    if t is None:
        return "—"
    if t < 1e-3:
        return f"{t * 1e6:.0f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    parts = [f"{os.cpu_count()} cores, {cpu}", f"Python {platform.python_version()}", f"numpy {np.__version__}"]
    for mod in ("torch", "micrograd"):
        if have(mod):
            m = __import__(mod)
            parts.append(f"{mod} {getattr(m, '__version__', 'installed')}")
    try:
        parts.append(f"load average {os.getloadavg()[0]:.2f}")
    except OSError:
        pass
    return "; ".join(parts)


def ratios(r: Row) -> dict[str, float]:
    """micrograd / graphtrace (how many times faster), graphtrace / numpy and graphtrace / torch."""
    gt = r.get("graphtrace")
    out: dict[str, float] = {}
    if gt:
        for key, name, inverse in (("micrograd", "micrograd_over_graphtrace", True),
                                   ("numpy", "graphtrace_over_numpy", False),
                                   ("torch", "graphtrace_over_torch", False),
                                   ("reference", "reference_over_graphtrace", True)):
            if r.get(key):
                out[name] = r[key] / gt if inverse else gt / r[key]
    return out


def table(rows: list[Row], markdown: bool) -> str:
    head = ["case", "workload", "graphtrace", "micrograd", "×", "torch", "numpy", "vs numpy", "notes"]
    body = []
    for r in rows:
        gt = r.get("graphtrace")
        mg, th, npy = r.get("micrograd"), r.get("torch"), r.get("numpy")
        note = r.get("extra", "")
        if "reference" in r:
            note = (note + "; " if note else "") + f"reference paths.py: {fmt_time(r['reference'])}"
        body.append([r["case"], r["what"], fmt_time(gt), fmt_time(mg),
                     (f"{mg / gt:.{0 if mg / gt >= 10 else 1}f}× faster" if mg >= gt else f"{gt / mg:.1f}× slower") if mg and gt else "—",
                     fmt_time(th), fmt_time(npy),
                     (f"{gt / npy:.2f}×" if npy and gt else "—"), note])
    return _grid(head, body, markdown)


def _grid(head: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    out = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(out)


def targets(rows: list[Row]) -> list[dict[str, Any]]:
    """Issue 17's targets, each with what was measured and whether it is met (None: not measured)."""
    def find(case: str, what: str = "") -> Row | None:
        return next((r for r in rows if r["case"] == case and what in r["what"]), None)

    out: list[dict[str, Any]] = []

    def add(name: str, measured: str, met: bool | None) -> None:
        out.append({"target": name, "measured": measured, "met": met})

    a = find("a")
    if a:
        mg = a.get("micrograd")
        add("(a) 2-3-1, one sample: no slower than micrograd",
            f"{fmt_time(a['graphtrace'])} vs micrograd {fmt_time(mg)}" if mg else fmt_time(a["graphtrace"]),
            a["graphtrace"] <= mg if mg else None)
    for key in ("b", "d"):
        r = find(key, "one step")
        if r:
            th, npy = r.get("torch"), r["numpy"]
            ok = (r["graphtrace"] < th if th else None, r["graphtrace"] <= 2 * npy)
            add(f"({key}) {r['what']}: faster than torch float64, within 2× of numpy",
                f"{fmt_time(r['graphtrace'])}: {r['graphtrace'] / npy:.2f}× numpy"
                + (f", {r['graphtrace'] / th:.2f}× torch" if th else ""),
                None if ok[0] is None else (ok[0] and ok[1]))
    c = find("c", "one sample")
    if c:
        add("(c) 64-64-64-10, one sample: within 3× of numpy",
            f"{fmt_time(c['graphtrace'])}: {c['graphtrace'] / c['numpy']:.2f}× numpy", c["graphtrace"] <= 3 * c["numpy"])
    cli = find("c", "--wrt")
    if cli:
        per = cli["graphtrace"] / cli["edges"] * 1e6
        add("whole-process grad --json --wrt w on (c): ≤ 4 µs per edge", f"{per:.1f} µs per edge", per <= 4)
    e = find("e", "script")
    full = find("e", "dicts")
    if e:
        per = e["graphtrace"] / e["edges"] * 1e6
        add("parse + build (e): ≤ 3 µs per edge", f"{per:.2f} µs per edge", per <= 3)
    if full:
        add("memory per edge ≤ 1 KiB", f"{full['bytes_per_edge']:.0f} B per edge (dicts made)",
            full["bytes_per_edge"] <= 1024)
    v = find("g", "--version")
    if v:
        ratio = float(v["extra"].split("ratio ")[1].split(" ")[0])
        add("whole-process --version within 1.5× of python -c 'import click'",
            f"{fmt_time(v['graphtrace'])}: {ratio:.2f}×", ratio <= 1.5)
    g = find("g", "grad")
    if g:
        add("whole-process grad on the neuron: ≤ 0.2 s", fmt_time(g["graphtrace"]), g["graphtrace"] <= 0.2)
    t = find("t", "in process")
    if t:
        whole = find("t", "whole process")
        add("train 2-16-16-1, 1,000 points, 100 epochs: ≤ 1 s",
            f"{t['graphtrace']:.2f} s in process" + (f", {whole['graphtrace']:.2f} s as a whole process" if whole else ""),
            t["graphtrace"] <= 1.0)
    j = find("j")
    add("graphtrace demo: ≤ 10 s", fmt_time(j["graphtrace"]) if j else "not run (--quick)",
        j["graphtrace"] <= 10 if j else None)
    return out


def targets_table(found: list[dict[str, Any]], markdown: bool) -> str:
    mark = {True: "met", False: "NOT met", None: "—"}
    return _grid(["target", "measured", ""], [[t["target"], t["measured"], mark[t["met"]]] for t in found], markdown)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller parse case, skip the slowest")
    ap.add_argument("--repeat", type=int, default=None, help="timed repeats per case (default 10, quick 3)")
    ap.add_argument("--markdown", action="store_true", help="print markdown tables (for the README)")
    ap.add_argument("--json", dest="as_json", action="store_true",
                    help="print one JSON document: every case's medians and ratios, every target")
    args = ap.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 10
    notes: list[str] = []
    rows = training_cases(args, notes)
    rows.append(multiclass_case(args))
    rows.extend(parse_case(args))
    rows.append(paths_case(args))
    rows += cli_cases(args)
    rows += train_cases(args)
    rows += demo_case(args)
    found = targets(rows)
    if args.as_json:
        doc = {"graphtrace": graphtrace.__version__, "machine": machine(), "repeat": args.repeat,
               "quick": args.quick, "notes": notes,
               "cases": [{**{k: v for k, v in r.items() if v is not None}, "ratios": ratios(r)} for r in rows],
               "targets": found}
        print(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False,
                         default=lambda x: x if not isinstance(x, float) or math.isfinite(x) else None))
        return 0
    print(f"graphtrace {graphtrace.__version__} benchmarks: medians of {args.repeat} runs (micrograd: ≤ 3, "
          "garbage collector paused for it); × = micrograd time / graphtrace time")
    print(f"machine: {machine()}")
    print("note: whole-process cases run with bytecode cached (as after pip install)")
    for n in notes:
        print(f"note: {n}")
    print()
    print(table(rows, args.markdown))
    print()
    print(targets_table(found, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
