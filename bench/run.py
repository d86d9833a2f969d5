"""Benchmarks: graphtrace's compiled engine side by side with micrograd, PyTorch and plain numpy.

Run ``python bench/run.py`` (``--quick`` for a short run, ``--repeat N`` timed repeats per case,
``--markdown`` for a table to paste into the README). micrograd (``pip install -e '.[bench]'``)
and PyTorch (``pip install torch``, CPU) are optional: what is not installed is skipped and said so.
Every framework runs the same network (ReLU hidden layers, a linear output, the loss
0.5·(y − o)² summed over outputs and samples, float64) with the same weights, in this one process;
each timing is the median of the repeats. See bench/README.md for the cases and targets.
"""

from __future__ import annotations

import argparse
import gc
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
from graphtrace import paths as ref_paths  # noqa: E402
from graphtrace.engine import compile_graph  # noqa: E402
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
    """A ReLU MLP written by graphtrace.mlp_script, with its weights as matrices and a data batch."""

    def __init__(self, shape: str, batch: int, seed: int = 0):
        self.shape = shape
        self.sizes = [int(s) for s in shape.split("-")]
        self.text = mlp_script(shape, activation="relu", loss="mse", init="xavier", seed=seed)
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
    def graphtrace_step(self) -> Callable[[], np.ndarray]:
        prog = compile_graph(self.graph.nx)
        params = np.asarray([prog.index[p] for p in self.graph.params])
        values = {x: self.X[:, i] for i, x in enumerate(self.inputs)}
        values.update({y: self.Y[:, k] for k, y in enumerate(self.targets)})
        if self.batch == 1:
            values = {k: float(v[0]) for k, v in values.items()}

        def step() -> np.ndarray:
            run = prog.forward_backward(values)
            return run.G[params].sum(axis=1)  # ∂(Σ_samples L)/∂param
        return step

    def graphtrace_grads(self) -> dict[str, float]:
        g = self.graphtrace_step()()
        return dict(zip(self.graph.params, g.tolist(), strict=True))

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
        grads = self.numpy_step()()
        out: dict[str, float] = {}
        n = len(self.weights)
        for layer in range(1, n + 1):
            gw, gb = grads[2 * (n - layer)], grads[2 * (n - layer) + 1]
            for i in range(gw.shape[0]):
                for j in range(gw.shape[1]):
                    out[f"w{layer}_{i + 1}_{j + 1}"] = float(gw[i, j])
            for j in range(gb.shape[0]):
                out[f"b{layer}_{j + 1}"] = float(gb[j])
        return out

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


def have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except ImportError:
        return False


# ---- the cases --------------------------------------------------------------------------------
def training_cases(args: argparse.Namespace, notes: list[str]) -> list[Row]:
    cases = [("a", "2-3-1", 1, "2-3-1, one sample"),
             ("b", "2-16-16-1", 100, "2-16-16-1, batch 100, one step"),
             ("c", "64-64-64-10", 1, "64-64-64-10, one sample"),
             ("d", "2-16-16-1", 1000, "2-16-16-1, batch 1,000, one step")]
    rows = []
    mg, th = have("micrograd"), have("torch")
    if not mg:
        notes.append("micrograd is not installed: its column is skipped (pip install -e '.[bench]')")
    if not th:
        notes.append("PyTorch is not installed: its column is skipped (pip install torch==2.13.0)")
    for key, shape, batch, label in cases:
        net = Net(shape, batch)
        rep = args.repeat
        # Sanity: the engine and the hand-written numpy agree on every gradient.
        got, want = net.graphtrace_grads(), net.numpy_grads()
        err = max(abs(got[k] - want[k]) for k in want)
        if err > 1e-9 * max(1.0, max(abs(v) for v in want.values())):
            raise SystemExit(f"case {key}: graphtrace and numpy gradients differ by {err:g}")
        row: Row = {"case": key, "what": label, "edges": net.n_edges * batch}
        row["graphtrace"] = median_time(net.graphtrace_step(), rep)
        row["numpy"] = median_time(net.numpy_step(), max(rep, 20))
        if th:
            row["torch"] = median_time(net.torch_step(), rep)
        if mg and not (args.quick and batch * net.n_edges > 200_000):
            row["micrograd"] = median_time(paused_gc(net.micrograd_step()), max(1, min(rep, 3)))
        rows.append(row)
    return rows


def chain_script(lines: int) -> str:
    """A 100,000-line script: a long chain with a shared input, one op or leaf per line."""
    out = ["x: input = 0.5", "w: param = 0.999"]
    for i in range(lines - 3):
        prev = "x" if i == 0 else f"s{i - 1}"
        out.append(f"s{i} = w*{prev} + x" if i % 2 else f"s{i} = sin({prev})*w")
    out.append(f"L = s{lines - 4}*s{lines - 4}")
    return "\n".join(out) + "\n"


def parse_case(args: argparse.Namespace) -> Row:
    n = 20_000 if args.quick else 100_000
    text = chain_script(n)
    rep = max(1, min(args.repeat, 3))
    t = median_time(lambda: graphtrace.parse(text, name="chain.gt"), rep, warmup=0)
    tracemalloc.start()
    g = graphtrace.parse(text, name="chain.gt")
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    edges = g.nx.number_of_edges()
    return {"case": "e", "what": f"parse + build, {n:,}-line script", "edges": edges, "graphtrace": t,
            "extra": f"{t / edges * 1e6:.2f} µs/edge, {current / edges:.0f} B/edge "
                     f"({g.nx.number_of_nodes():,} nodes, {edges:,} edges)"}


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


def process_time(argv: list[str], repeat: int) -> float:
    # Bytecode cached, as after `pip install` (the untimed warm-up run writes it): a sandbox with
    # PYTHONDONTWRITEBYTECODE would otherwise recompile graphtrace's sources in every process.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONIOENCODING="utf-8", PYTHONPYCACHEPREFIX=PYCACHE)
    return median_time(lambda: subprocess.run(argv, check=True, capture_output=True, env=env, cwd=ROOT),
                       repeat)


def cli_cases(args: argparse.Namespace) -> list[Row]:
    rows = []
    rep = max(3, args.repeat) if not args.quick else 3
    gt = [sys.executable, "-m", "graphtrace"]
    base = process_time([sys.executable, "-c", "import click, networkx"], rep)
    neuron = process_time(gt + ["grad", "samples/neuron.gt", "--json"], rep)
    rows.append({"case": "g", "what": "whole process: grad samples/neuron.gt --json", "graphtrace": neuron,
                 "extra": f"python -c 'import click, networkx': {base * 1e3:.0f} ms"})
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
                     (f"{mg / gt:.0f}× faster" if mg >= gt else f"{gt / mg:.1f}× slower") if mg and gt else "—", fmt_time(th), fmt_time(npy),
                     f"{gt / npy:.1f}× slower" if npy and gt else "—", note])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    out = ["  ".join(str(x).ljust(w) for x, w in zip(head, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller parse case, skip the slowest")
    ap.add_argument("--repeat", type=int, default=None, help="timed repeats per case (default 10, quick 3)")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table (for the README)")
    args = ap.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 10
    notes: list[str] = []
    rows = training_cases(args, notes)
    rows.append(parse_case(args))
    rows.append(paths_case(args))
    rows += cli_cases(args)
    print(f"graphtrace {graphtrace.__version__} benchmarks: medians of {args.repeat} runs (micrograd: ≤ 3, "
          "garbage collector paused for it); × = micrograd time / graphtrace time")
    print(f"machine: {machine()}")
    print("note: whole-process cases run with bytecode cached (as after pip install)")
    for n in notes:
        print(f"note: {n}")
    print()
    print(table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
