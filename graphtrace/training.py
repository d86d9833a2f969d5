"""Training: mini-batch gradient descent on a script's params, one batched graph evaluation per batch.

The script is the per-sample loss; its inputs are fed whole columns of a data set (numpy arrays, a
batch dimension), so every op broadcasts and backprop returns one gradient per sample, averaged
over the batch. :func:`_loss_and_grads` is the one place that evaluates the graph for a training
step; like prediction it asks :mod:`graphtrace.compute`, which runs the compiled engine on batches. Shuffling uses
``numpy.random.default_rng(seed)``: the same seed gives the same trained params, bit for bit.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_LR",
    "DEFAULT_EPOCHS",
    "DEFAULT_BATCH",
    "TrainProgress",
    "TrainResult",
    "train",
    "predict",
    "prediction_node",
    "substitute_params",
    "symmetric_units",
    "hidden_units_identical",
    "plot_training",
]

import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import compute
from .api import Graph, parse
from .data import Dataset, read_csv
from .errors import DataError, EvaluationError, GraphError, GraphtraceError, UsageError
from .layers import (
    TARGET,
    annotate_mlp,
    hidden_units_identical,
    layer_weights,
    prediction_node,
    symmetric_units,
)
from .ops import OPS

DEFAULT_LR = 0.5
"""The default learning rate: the triangle (§3) needs sharp sigmoids, which 0.1 reaches too slowly."""
DEFAULT_EPOCHS = 300
DEFAULT_BATCH = 10


@dataclass(frozen=True)
class TrainProgress:
    """What a training callback receives after every batch.

    Attributes:
        epoch: the current epoch, 1-based.
        epochs: the number of epochs.
        step: batches done so far, over all epochs.
        steps: batches in the whole run.
        loss: the mean loss of the batches of this epoch so far.
        epoch_done: this was the epoch's last batch (``loss`` is then the epoch's mean loss).
        params: the params after this batch's step (a live view: copy it to keep it).
    """

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float
    epoch_done: bool
    params: Mapping[str, float] = field(repr=False)


@dataclass
class TrainResult:
    """The outcome of :func:`train`.

    Attributes:
        history: per epoch, the mean loss of its batches.
        accuracy_history: per epoch, the training accuracy after it (empty without accuracy).
        loss: the mean loss over the whole data set with the trained params.
        accuracy: the fraction of samples classified right, or None (no binary target ``y`` or no
            prediction node).
        params: the trained params, in source order.
        initial: the params before training.
        script: the script with the trained values substituted in place.
        graph: the trained graph (``script`` parsed).
        predict: the prediction node used for accuracy and plots, or None.
        threshold: the prediction at and above which a sample counts as positive.
        warnings: questionable things noticed (symmetric units, a non-binary target).
        seconds: wall-clock training time.
    """

    history: list[float]
    accuracy_history: list[float]
    loss: float
    accuracy: float | None
    params: dict[str, float]
    initial: dict[str, float]
    script: str
    graph: Graph = field(repr=False)
    predict: str | None
    warnings: list[str]
    lr: float
    epochs: int
    batch: int
    seed: int
    threshold: float = 0.5
    seconds: float = field(default=0.0, compare=False)


# ---- the one place that evaluates the graph for training ------------------------------------
def _loss_and_grads(graph: Graph, batch_values: Mapping[str, np.ndarray],
                    params: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Mean loss over the batch and the mean gradient of every param: one batched forward/backward.

    ``batch_values`` maps each input to an array (one entry per sample); ``params`` maps each param
    to a float. Per-sample gradients come out of backprop as arrays; their mean is the gradient of
    the mean loss.
    """
    values: dict[str, Any] = dict(batch_values)
    values.update(params)
    loss, grads = compute.mean_loss_and_gradients(graph.nx, values, list(params), output=graph.output,
                                                  source_text=graph.source.text if graph.source else None)
    return loss, dict(zip(params, grads, strict=True))


def predict(graph: Graph, features: Mapping[str, Any], *, node: str | None = None,
            params: Mapping[str, float] | None = None) -> np.ndarray:
    """The prediction node's value for a batch of feature values, in one forward pass.

    Inputs missing from ``features`` (such as the target) keep their script value; saturated
    values are not errors here (a far-away grid point may give log(0) in the loss).

    Example:
        >>> from graphtrace.network import mlp
        >>> predict(mlp([2, 1], init="zeros"), {"x1": np.array([0.0, 1.0]), "x2": np.array([0.0, 2.0])}).tolist()
        [0.5, 0.5]
    """
    node = prediction_node(graph, node)
    if node is None:
        raise GraphError(f"{graph.name}: no prediction node found; name one with --predict NAME")
    values = dict(features)
    if params:
        values.update(params)
    fwd = compute.forward(graph.nx, values, output=graph.output, with_locals=False, check=False)
    return np.broadcast_to(np.asarray(fwd.values[node], dtype=float),
                           np.shape(next(iter(features.values())))).copy()


def _is_probability(graph: Graph, node: str) -> bool:
    """Whether ``node``'s op gives values in (0, 1) (a sigmoid output): thresholded at 0.5."""
    op = graph.nx.nodes[node].get("op")
    return op is not None and OPS[op].probability


def _threshold(y: np.ndarray, sigmoid_out: bool) -> float:
    # 0/1 labels: predict 1 at ≥ 0.5. ±1 labels (course §1): the sign, or ≥ 0.5 for a probability.
    if np.all((y == 0.0) | (y == 1.0)) or sigmoid_out:
        return 0.5
    return 0.0


def _accuracy(pred: np.ndarray, y: np.ndarray, threshold: float) -> float:
    low = 0.0 if np.all((y == 0.0) | (y == 1.0)) else -1.0
    guess = np.where(pred >= threshold, 1.0, low)
    return float(np.mean(guess == y))


def _binary(y: np.ndarray | None) -> bool:
    if y is None:
        return False
    return bool(np.all((y == 0.0) | (y == 1.0)) or np.all((y == -1.0) | (y == 1.0)))


def _symmetry_warnings(graph: Graph) -> list[str]:
    out = []
    for layer, group in symmetric_units(graph):
        names = ", ".join(f"h{layer}_{j}" for j in group)
        out.append(f"hidden units {names} of layer {layer} start with equal weights and are wired alike: "
                   "they will get identical updates and stay identical (course §12); "
                   "initialise with random values (graphtrace mlp --init random)")
    return out


# ---- writing trained values back --------------------------------------------------------------
_NUMBER = r"[+-]?\s*(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?"


def substitute_params(text: str, graph: Graph, params: Mapping[str, float]) -> str:
    """``text`` with the number of each ``NAME: param = NUMBER`` declaration replaced (repr-exact).

    Only that number changes: comments, spacing and every other line are kept. The declaration is
    found on the param's own line (from the graph), anchored on its name.

    Raises:
        GraphError: a param's declaration is not a plain number on its line.

    Example:
        >>> from graphtrace import parse
        >>> src = "w: param = 0.5   # a weight\\nx: input = 2\\nL = w*x\\n"
        >>> print(substitute_params(src, parse(src), {"w": -0.125}), end="")
        w: param = -0.125   # a weight
        x: input = 2
        L = w*x
    """
    lines = text.split("\n")
    for name, value in params.items():
        d = graph.nx.nodes[name]
        line = d.get("line")
        pattern = re.compile(r"(?<![\w.])" + re.escape(str(name)) + r"(\s*:\s*param\s*=\s*)(" + _NUMBER + ")")
        if not line or line > len(lines) or not pattern.search(lines[line - 1]):
            raise GraphError(f"{graph.name}: cannot find the declaration '{name}: param = NUMBER' "
                             "to write the trained value into")
        replacement = f"{name}\\g<1>{float(value) + 0.0!r}"
        lines[line - 1] = pattern.sub(replacement, lines[line - 1], count=1)
    return "\n".join(lines)


# ---- the loop ---------------------------------------------------------------------------------
def _check_options(lr: float, epochs: int, batch: int, seed: int) -> None:
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise UsageError(f"--lr must be a positive number, got {lr!r}")
    for name, v, low in (("--epochs", epochs, 0), ("--batch", batch, 1), ("--seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise UsageError(f"{name} must be an integer ≥ {low}, got {v!r}")


def _match_columns(graph: Graph, dataset: Dataset) -> None:
    inputs = [str(v) for v in graph.inputs]
    columns = list(dataset.columns)
    missing = [v for v in inputs if v not in columns]
    extra = [c for c in columns if c not in inputs]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no column for input{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if extra:
            parts.append(f"column{'s' if len(extra) > 1 else ''} {', '.join(extra)} match{'es' if len(extra) == 1 else ''} "
                         f"no input of {graph.name}")
        raise DataError(f"{dataset.name}: " + "; ".join(parts),
                        hint=f"the script's inputs are {', '.join(inputs) or '(none)'}; "
                             f"the data's columns are {', '.join(columns)}")


def train(graph: Graph, dataset: Dataset | str | os.PathLike[str], *, lr: float = DEFAULT_LR,
          epochs: int = DEFAULT_EPOCHS, batch: int = DEFAULT_BATCH, seed: int = 0,
          callback: Callable[[TrainProgress], Any] | None = None,
          predict_name: str | None = None, threshold: float | None = None) -> TrainResult:
    """Mini-batch gradient descent on every param of ``graph``, the script being the per-sample loss.

    Each epoch shuffles the samples (``numpy.random.default_rng(seed)``), cuts them into batches of
    ``batch`` (the last may be smaller) and, per batch, evaluates the graph once with arrays as
    input values, averages the per-sample gradients and steps ``param -= lr * gradient``.

    Args:
        graph: the script; its inputs must be exactly the data set's columns.
        dataset: a :class:`~graphtrace.data.Dataset` or the path of a CSV file.
        lr: the learning rate.
        epochs: passes over the data.
        batch: samples per step.
        seed: the shuffling seed.
        callback: called with a :class:`TrainProgress` after every batch.
        predict_name: the prediction node (default: see :func:`prediction_node`).
        threshold: predict the positive class when the prediction is ≥ this (default 0.5 for
            0/1 labels or a sigmoid prediction, 0 for ±1 labels).

    Raises:
        DataError: the data's columns don't match the script's inputs.
        EvaluationError: the loss became non-finite (the message names the node and the epoch).
        UsageError: a bad lr, epochs, batch or seed.

    Example:
        >>> from graphtrace.network import mlp
        >>> from graphtrace.data import make_dataset
        >>> r = train(mlp([2, 1]), make_dataset("gauss", 100, seed=0), epochs=5)
        >>> r.accuracy, len(r.history), r.history[-1] < r.history[0]
        (1.0, 5, True)
    """
    _check_options(lr, epochs, batch, seed)
    if not isinstance(dataset, Dataset):
        dataset = read_csv(dataset)
    _match_columns(graph, dataset)
    if not graph.params:
        raise GraphError(f"{graph.name} declares no param: there is nothing to train")
    annotate_mlp(graph)
    warnings = list(graph.warnings()) + _symmetry_warnings(graph)
    node = prediction_node(graph, predict_name)
    y = dataset.target
    has_accuracy = node is not None and _binary(y)
    if TARGET in dataset.columns and not _binary(y):
        warnings.append("the target y is not binary (0/1 or ±1): no accuracy is reported")
    sigmoid_out = node is not None and _is_probability(graph, node)
    if threshold is None:
        threshold = _threshold(y, sigmoid_out) if has_accuracy and y is not None else 0.5
    columns = {str(c): dataset.column(c) for c in dataset.columns}
    params = {str(p): float(graph.nx.nodes[p]["value"]) for p in graph.params}
    initial = dict(params)
    n = len(dataset)
    rng = np.random.default_rng(seed)
    per_epoch = math.ceil(n / batch)
    steps = per_epoch * epochs
    history: list[float] = []
    acc_history: list[float] = []
    step = 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for b in range(per_epoch):
            idx = order[b * batch:(b + 1) * batch]
            batch_values = {c: col[idx] for c, col in columns.items()}
            try:
                loss, grads = _loss_and_grads(graph, batch_values, params)
            except EvaluationError as exc:
                raise EvaluationError(f"epoch {epoch}, batch {b + 1}: {exc.message}", location=exc.location,
                                      hint="the params diverged or saturated; try a smaller --lr") from None
            for p, gp in grads.items():
                params[p] -= lr * gp
            total += loss
            step += 1
            if callback is not None:
                callback(TrainProgress(epoch, epochs, step, steps, total / (b + 1), b + 1 == per_epoch, params))
        history.append(total / per_epoch)
        if has_accuracy:
            assert node is not None and y is not None
            pred = predict(graph, columns, node=node, params=params)
            acc_history.append(_accuracy(pred, y, threshold))
    seconds = time.perf_counter() - start
    fwd = compute.forward(graph.nx, {**columns, **params}, output=graph.output, with_locals=False, check=False)
    final_loss = float(np.mean(fwd.values[graph.output]))
    accuracy = None
    if has_accuracy:
        assert node is not None and y is not None
        pred = np.broadcast_to(np.asarray(fwd.values[node], dtype=float), (n,))
        accuracy = _accuracy(pred, y, threshold)
    text = graph.source.text if graph.source else ""
    script = substitute_params(text, graph, params)
    trained = parse(script, name=graph.name, output=graph.output)
    annotate_mlp(trained)
    return TrainResult(history, acc_history, final_loss, accuracy, params, initial, script, trained,
                       node, warnings, float(lr), int(epochs), int(batch), int(seed), float(threshold),
                       seconds)


_UNIT_COLORS = ("#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _first_layer_lines(result: TrainResult, features: list[str]) -> list[tuple[np.ndarray, float]]:
    """Per first-layer unit of a network on two inputs x1, x2: its (weights, bias), else nothing."""
    if list(features) != ["x1", "x2"]:
        return []
    try:
        layers = layer_weights(result.graph)
    except GraphtraceError:
        return []
    if len(layers) < 2 or layers[0][0].shape[0] != 2 or layers[0][0].shape[1] > len(_UNIT_COLORS):
        return []
    w, b = layers[0]
    return [(w[:, j], float(b[j])) for j in range(w.shape[1])]


# ---- plots ------------------------------------------------------------------------------------
def plot_training(result: TrainResult, dataset: Dataset, *, fmt: str = "png", title: str | None = None) -> bytes:
    """The loss curve and, for two-feature data, the decision boundary with the points, as PNG or SVG.

    The boundary is the contour of the prediction over a 200×200 grid, evaluated in one batched
    forward pass. matplotlib is imported here only (Agg canvas, no pyplot state); SVG output is
    deterministic (fixed hash salt, no date).

    Raises:
        UsageError: ``fmt`` is not png or svg.
    """
    if fmt not in ("png", "svg"):
        raise UsageError(f"--plot writes .png or .svg, not .{fmt}")
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    features = list(dataset.feature_names)
    two_d = len(features) == 2 and result.predict is not None
    with matplotlib.rc_context({"svg.hashsalt": "graphtrace", "font.size": 9}):
        fig = Figure(figsize=(10 if two_d else 5.5, 4.2), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 2 if two_d else 1, 1)
        epochs = np.arange(1, len(result.history) + 1)
        ax.plot(epochs, result.history, color="#1f77b4", label="loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean loss", color="#1f77b4")
        ax.set_title("training loss" + (f" (final {result.loss:.4g})" if math.isfinite(result.loss) else ""))
        ax.grid(alpha=0.3)
        if result.accuracy_history:
            ax2 = ax.twinx()
            ax2.plot(epochs, result.accuracy_history, color="#d62728", label="accuracy")
            ax2.set_ylabel("training accuracy", color="#d62728")
            ax2.set_ylim(0, 1.02)
        if two_d:
            bx = fig.add_subplot(1, 2, 2)
            x = dataset.column(features[0])
            z = dataset.column(features[1])
            pad_x = 0.1 * (x.max() - x.min() or 1.0)
            pad_z = 0.1 * (z.max() - z.min() or 1.0)
            gx, gz = np.meshgrid(np.linspace(x.min() - pad_x, x.max() + pad_x, 200),
                                 np.linspace(z.min() - pad_z, z.max() + pad_z, 200))
            pred = predict(result.graph, {features[0]: gx.ravel(), features[1]: gz.ravel()},
                           node=result.predict).reshape(gx.shape)
            y = dataset.target
            level = result.threshold
            filled = bx.contourf(gx, gz, np.nan_to_num(pred), levels=20, cmap="RdBu_r", alpha=0.55)
            fig.colorbar(filled, ax=bx, label=result.predict)
            if np.nanmin(pred) < level < np.nanmax(pred):
                bx.contour(gx, gz, pred, levels=[level], colors="k", linewidths=1.5)
            # Course §3: each first-layer unit of a network cuts the plane along its own line
            # w0 + w1·x1 + w2·x2 = 0; drawn dashed, they show which side of the region it makes.
            for j, (w_in, bias) in enumerate(_first_layer_lines(result, features), 1):
                pre = bias + w_in[0] * gx + w_in[1] * gz
                if pre.min() < 0 < pre.max():
                    color = _UNIT_COLORS[(j - 1) % len(_UNIT_COLORS)]
                    bx.contour(gx, gz, pre, levels=[0.0], colors=[color], linewidths=1.0, linestyles="--")
                    bx.plot([], [], ls="--", color=color, lw=1.0, label=f"z1_{j} = 0 (hidden unit {j})")
            if y is not None:
                pos = y > level
                bx.scatter(x[pos], z[pos], s=12, c="#b2182b", edgecolors="white", linewidths=0.4, label="y = 1")
                bx.scatter(x[~pos], z[~pos], s=12, c="#2166ac", edgecolors="white", linewidths=0.4,
                           label=f"y = {int(y[~pos][0]) if (~pos).any() else 0}")
                bx.legend(loc="upper right", fontsize=7)
            acc = f", accuracy {100 * result.accuracy:.1f} %" if result.accuracy is not None else ""
            bx.set_title(f"decision boundary ({result.predict} = {level:g}){acc}")
            bx.set_xlabel(features[0])
            bx.set_ylabel(features[1])
            bx.set_aspect("equal", adjustable="box")
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        out = io.BytesIO()
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(out, format=fmt, metadata=meta)
    return out.getvalue()
