"""Training: mini-batch gradient descent on a script's params, one batched graph evaluation per batch.

The script is the per-sample loss; its inputs are fed whole columns of a data set (numpy arrays, a
batch dimension), so every op broadcasts and backprop returns one gradient per sample, averaged
over the batch. A run compiles its step once (:func:`graphtrace.compute.stepper`: the compiled
engine with dense blocks, the data as one matrix, the params as one vector); like prediction it
asks :mod:`graphtrace.compute`. Shuffling uses ``numpy.random.default_rng(seed)``: the same seed
gives the same trained params, bit for bit.
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
    "predict_classes",
    "prediction_node",
    "substitute_params",
    "symmetric_units",
    "hidden_units_identical",
    "plot_training",
    "plot_size",
    "PLOT_SIZE",
    "PLOT_DPI",
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
from .errors import DataError, EvaluationError, GraphError, GraphtraceError, RenderError, UsageError
from .i18n import _, ngettext
from .layers import (
    TARGET,
    annotate_mlp,
    class_scores,
    hidden_units_identical,
    layer_weights,
    prediction_node,
    symmetric_units,
)
from .ops import OPS
from .text import printable

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
            prediction node; for a multiclass net, no class-index column).
        params: the trained params, in source order.
        initial: the params before training.
        script: the script with the trained values substituted in place.
        graph: the trained graph (``script`` parsed).
        predict: the prediction node used for accuracy and plots, or None.
        threshold: the prediction at and above which a sample counts as positive.
        warnings: questionable things noticed (symmetric units, a non-binary target).
        seconds: wall-clock training time.
        classes: for a multiclass net (a cross_entropy loss), its logits' nodes: the prediction is
            the class with the largest logit (``predict`` is then None); else None.
        target: the class-index input of a multiclass net (``y``), else None.
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
    classes: list[str] | None = None
    target: str | None = None

    def __repr__(self) -> str:
        # short: the history, the params and the script stay attributes (a 10 KB repr helps no one)
        acc = "n/a" if self.accuracy is None else f"{100 * self.accuracy:.1f} %"
        return (f"<TrainResult: loss {self.loss:.4g}, accuracy {acc}, {self.epochs} epochs, lr {self.lr:g}, "
                f"batch {self.batch}, {len(self.params)} params, {self.seconds:.1f} s>")


# ---- the one place that evaluates the graph for training ------------------------------------
class _ParamView(Mapping[str, float]):
    """The params as a live mapping over the training vector: a callback sees every step's values."""

    def __init__(self, names: list[Any], vector: np.ndarray):
        self._index = {str(p): i for i, p in enumerate(names)}
        self._vector = vector

    def __getitem__(self, name: str) -> float:
        return float(self._vector[self._index[name]])

    def __iter__(self) -> Any:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _loss_and_grads(graph: Graph, batch_values: Mapping[str, np.ndarray],
                    params: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Mean loss over the batch and the mean gradient of every param: one batched forward/backward.

    ``batch_values`` maps each input to an array (one entry per sample); ``params`` maps each param
    to a float. Per-sample gradients come out of backprop as arrays; their mean is the gradient of
    the mean loss.
    """
    values: dict[str, Any] = dict(batch_values)
    values.update(params)
    loss, grads = compute.mean_loss_and_gradients(graph.core, values, list(params), output=graph.output,
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
        raise GraphError(_("{graph}: no prediction node found; name one with --predict NAME").format(graph=graph.name))
    values = dict(features)
    if params:
        values.update(params)
    fwd = compute.forward(graph.core, values, output=graph.output, with_locals=False, check=False)
    return np.broadcast_to(np.asarray(fwd.values[node], dtype=float),
                           np.shape(next(iter(features.values())))).copy()


def predict_classes(graph: Graph, features: Mapping[str, Any], scores: list[Any], *,
                    params: Mapping[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A multiclass net's predicted class and its softmax probabilities (shape (n, K)) for a batch
    of feature values, in one forward pass.

    Example:
        >>> from graphtrace.network import mlp
        >>> from graphtrace.layers import class_scores
        >>> g = mlp([2, 3], loss="ce", init="zeros")
        >>> labels, probs = predict_classes(g, {"x1": np.array([0.0, 1.0]), "x2": np.array([0.0, 2.0])},
        ...                                 class_scores(g)[0])
        >>> labels.tolist(), probs.shape
        ([0, 0], (2, 3))
    """
    values = dict(features)
    if params:
        values.update(params)
    fwd = compute.forward(graph.core, values, output=graph.output, with_locals=False, check=False)
    n = np.shape(next(iter(features.values())))
    z = np.stack([np.broadcast_to(np.asarray(fwd.values[s], dtype=float), n) for s in scores], axis=-1)
    with np.errstate(all="ignore"):
        shifted = np.exp(z - np.max(z, axis=-1, keepdims=True))
        probs = shifted / np.sum(shifted, axis=-1, keepdims=True)
    return np.argmax(z, axis=-1), probs


def _is_probability(graph: Graph, node: str) -> bool:
    """Whether ``node``'s op gives values in (0, 1) (a sigmoid output): thresholded at 0.5."""
    op = graph.core.nodes[node].get("op")
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
        out.append(_("hidden units {names} of layer {layer} start with equal weights and are wired alike: "
                     "they will get identical updates and stay identical (course §12); "
                     "initialise with random values (graphtrace mlp --init random)").format(names=names, layer=layer))
    return out


# ---- writing trained values back --------------------------------------------------------------
_NUMBER = r"[+-]?\s*(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?"
_DECLARED = re.compile(r"(\s*:\s*param\s*=\s*)(" + _NUMBER + ")")


def _declaration(text: str, name: str) -> re.Match[str] | None:
    """The ``: param = NUMBER`` after the first ``name`` in ``text`` that no word character or dot
    precedes (one compiled pattern for every param: compiling one per param cost 0.1 s on a
    337-param net)."""
    at = text.find(name)
    while at >= 0:
        before = text[at - 1] if at else " "
        if not (before.isalnum() or before in "_."):
            found = _DECLARED.match(text, at + len(name))
            if found:
                return found
        at = text.find(name, at + 1)
    return None


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
    elements: dict[int, list[tuple[int, int, str, str]]] = {}  # line → an array element's number spans
    for name, value in params.items():
        d = graph.core.nodes[name]
        line = d.get("line")
        if "array" in d:  # W[1,0]: the number sits at the element's own column in the list literal
            elements.setdefault(line, []).append((d["col"], d["end_col"], f"{float(value) + 0.0!r}", name))
            continue
        found = _declaration(lines[line - 1], str(name)) if line and line <= len(lines) else None
        if found is None:
            raise GraphError(_("{graph}: cannot find the declaration '{name}: param = NUMBER' to write the "
                               "trained value into").format(graph=graph.name, name=name))
        here = lines[line - 1]
        lines[line - 1] = here[:found.start(2)] + f"{float(value) + 0.0!r}" + here[found.end(2):]
    for line, spans in elements.items():
        raw = lines[line - 1].encode("utf-8") if line and line <= len(lines) else b""
        for col, end, number, name in sorted(spans, reverse=True):  # right to left: columns stay valid
            if not re.fullmatch(_NUMBER, raw[col:end].decode("utf-8", "replace").strip()):
                raise GraphError(_("{graph}: cannot find the number of '{name}' in its list to write the "
                                   "trained value into").format(graph=graph.name, name=name))
            raw = raw[:col] + number.encode("utf-8") + raw[end:]
        lines[line - 1] = raw.decode("utf-8")
    return "\n".join(lines)


# ---- the loop ---------------------------------------------------------------------------------
def _check_options(lr: float, epochs: int, batch: int, seed: int) -> None:
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise UsageError(_("--lr must be a positive number, got {lr}").format(lr=repr(lr)))
    for name, v, low in (("--epochs", epochs, 0), ("--batch", batch, 1), ("--seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
            raise UsageError(_("{option} must be an integer ≥ {low}, got {value}").format(option=name, low=low, value=repr(v)))


def _match_columns(graph: Graph, dataset: Dataset) -> None:
    inputs = [str(v) for v in graph.inputs]
    columns = list(dataset.columns)
    missing = [v for v in inputs if v not in columns]
    extra = [c for c in columns if c not in inputs]
    if missing or extra:
        parts = []
        if missing:
            parts.append(ngettext("no column for input {names}", "no column for inputs {names}", len(missing)).format(
                names=", ".join(missing)))
        if extra:
            parts.append(ngettext("column {names} matches no input of {graph}", "columns {names} match no input of {graph}",
                                  len(extra)).format(names=", ".join(extra), graph=graph.name))
        raise DataError(f"{dataset.name}: " + "; ".join(parts),
                        hint=_("the script's inputs are {inputs}; the data's columns are {columns}").format(
                            inputs=", ".join(inputs) or _("(none)"), columns=", ".join(columns)))


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
        raise GraphError(_("{graph} declares no param: there is nothing to train").format(graph=graph.name))
    annotate_mlp(graph)
    warnings = list(graph.warnings()) + _symmetry_warnings(graph)
    multi = class_scores(graph) if predict_name is None else None
    scores: list[Any] | None = None
    label: str | None = None
    if multi is not None:  # a softmax classifier: the prediction is the largest logit's class
        scores, label = list(multi[0]), str(multi[1])
        node = None
        y = dataset.column(label) if label in dataset.columns else None
        has_accuracy = y is not None
    else:
        node = prediction_node(graph, predict_name)
        y = dataset.target
        has_accuracy = node is not None and _binary(y)
        if TARGET in dataset.columns and not _binary(y):
            warnings.append(_("the target y is not binary (0/1 or ±1): no accuracy is reported"))
    sigmoid_out = node is not None and _is_probability(graph, node)
    if threshold is None:
        threshold = _threshold(y, sigmoid_out) if has_accuracy and y is not None else 0.5
    columns = {str(c): dataset.column(c) for c in dataset.columns}
    params = {str(p): float(graph.core.nodes[p]["value"]) for p in graph.params}
    initial = dict(params)
    n = len(dataset)
    rng = np.random.default_rng(seed)
    per_epoch = math.ceil(n / batch)
    steps = per_epoch * epochs
    history: list[float] = []
    acc_history: list[float] = []
    step = 0
    # One compiled step for the whole run (see compute.stepper): the data as one matrix, a row per
    # input, the params as one vector in the step's order; a batch is a column gather, never a dict.
    stepper = compute.stepper(graph.core, list(columns), list(params), output=graph.output,
                              source_text=graph.source.text if graph.source else None)
    data = np.stack([columns[c] for c in stepper.inputs]) if columns else np.zeros((0, n))
    vector = np.array([params[p] for p in stepper.params], dtype=float)
    live = _ParamView(stepper.params, vector)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        total = 0.0
        for b in range(per_epoch):
            idx = order[b * batch:(b + 1) * batch]
            try:
                loss, grads = stepper.step(data[:, idx], vector)
            except EvaluationError as exc:
                raise EvaluationError(_("epoch {epoch}, batch {batch}: {message}").format(
                    epoch=epoch, batch=b + 1, message=exc.message), location=exc.location,
                    hint=_("the params diverged or saturated; try a smaller --lr")) from None
            vector -= lr * grads
            total += loss
            step += 1
            if callback is not None:
                callback(TrainProgress(epoch, epochs, step, steps, total / (b + 1), b + 1 == per_epoch, live))
        history.append(total / per_epoch)
        if has_accuracy and scores is not None:
            assert y is not None
            # the class is the largest score (softmax keeps the order): the logits from the step's engine
            z = np.stack([stepper.value(s, data, vector) for s in scores])
            acc_history.append(float(np.mean(np.argmax(z, axis=0) == y)))
        elif has_accuracy:
            assert node is not None and y is not None
            acc_history.append(_accuracy(stepper.value(node, data, vector), y, threshold))
    params = {p: live[p] for p in params}  # source order
    seconds = time.perf_counter() - start
    fwd = compute.forward(graph.core, {**columns, **params}, output=graph.output, with_locals=False, check=False)
    final_loss = float(np.mean(fwd.values[graph.output]))
    accuracy = None
    if has_accuracy and scores is not None:
        assert y is not None
        z = np.stack([np.broadcast_to(np.asarray(fwd.values[s], dtype=float), (n,)) for s in scores])
        accuracy = float(np.mean(np.argmax(z, axis=0) == y))
    elif has_accuracy:
        assert node is not None and y is not None
        pred = np.broadcast_to(np.asarray(fwd.values[node], dtype=float), (n,))
        accuracy = _accuracy(pred, y, threshold)
    text = graph.source.text if graph.source else ""
    script = substitute_params(text, graph, params)
    trained = parse(script, name=graph.name, output=graph.output)
    annotate_mlp(trained)
    return TrainResult(history, acc_history, final_loss, accuracy, params, initial, script, trained,
                       node, warnings, float(lr), int(epochs), int(batch), int(seed), float(threshold),
                       seconds, None if scores is None else [str(s) for s in scores], label)


# Hidden units' lines: neither blue nor orange, which are the classes (and signs) everywhere.
_UNIT_COLORS = ("#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#444444", "#bcbd22")
PLOT_SIZE = (12.0, 5.0)
"""The training plot's default size in inches (width, height): at :data:`PLOT_DPI`, 1920×800 px."""
PLOT_DPI = 160.0
_MAX_PLOT_PIXELS = 50_000_000


def plot_size(size: str | None, dpi: float | None) -> tuple[tuple[float, float] | None, float | None]:
    """``--size WxH`` (inches) and ``--dpi N`` checked: ((width, height) or None, dpi or None).

    Raises:
        UsageError: not ``WxH`` with positive numbers, a dpi outside 10…1200, or more than 50
            megapixels.

    Example:
        >>> plot_size("16x9", 120)
        ((16.0, 9.0), 120.0)
    """
    shape: tuple[float, float] | None = None
    if size is not None:
        parts = size.lower().replace("×", "x").split("x")
        try:
            w, h = (float(v) for v in parts)
        except ValueError:
            raise UsageError(_("--size '{size}': expected WIDTHxHEIGHT in inches, e.g. 12x5 or 16x9").format(
                size=size)) from None
        if not (0 < w <= 100 and 0 < h <= 100):
            raise UsageError(_("--size '{size}': width and height must be between 0 and 100 inches").format(size=size))
        shape = (w, h)
    if dpi is not None and not (math.isfinite(dpi) and 10 <= dpi <= 1200):
        raise UsageError(_("--dpi must be between 10 and 1200, got {dpi}").format(dpi=f"{dpi:g}"))
    w, h = shape or PLOT_SIZE
    if w * h * (dpi or PLOT_DPI) ** 2 > _MAX_PLOT_PIXELS:
        raise UsageError(_("--size {size} at --dpi {dpi} is more than 50 megapixels").format(
            size=f"{w:g}x{h:g}", dpi=f"{dpi or PLOT_DPI:g}"))
    return shape, None if dpi is None else float(dpi)


def _first_layer_lines(result: TrainResult, features: list[str]) -> list[tuple[list[int], np.ndarray, float]]:
    """The lines w0 + w1·x1 + w2·x2 = 0 of the first-layer units of a network on two inputs x1, x2,
    as ``(units, weights, bias)``: units whose lines coincide (the same line, up to a positive or
    negative factor: identical units, course §12) share one entry. Nothing for other scripts."""
    if list(features) != ["x1", "x2"]:
        return []
    try:
        layers = layer_weights(result.graph)
    except GraphtraceError:
        return []
    if len(layers) < 2 or layers[0][0].shape[0] != 2 or layers[0][0].shape[1] > 4 * len(_UNIT_COLORS):
        return []
    w, b = layers[0]
    out: list[tuple[list[int], np.ndarray, float]] = []
    for j in range(w.shape[1]):
        line = np.array([w[0, j], w[1, j], b[j]], dtype=float)
        norm = float(np.linalg.norm(line))
        for units, w_in, bias in out:
            other = np.array([w_in[0], w_in[1], bias])
            scale = float(np.linalg.norm(other))
            if norm > 0 and scale > 0 and min(np.max(np.abs(line / norm - other / scale)),
                                               np.max(np.abs(line / norm + other / scale))) <= 1e-9:
                units.append(j + 1)
                break
        else:
            out.append(([j + 1], w[:, j].copy(), float(b[j])))
    return out


# ---- plots ------------------------------------------------------------------------------------
def _class_map(fig: Any, bx: Any, result: TrainResult, dataset: Dataset, features: list[str]) -> None:
    """A multiclass net's decision map: each grid point in its predicted class's colour (paler
    where the net is less sure), and the samples in their true class's colour."""
    from matplotlib.colors import ListedColormap

    from .dot import CLASS_COLORS

    assert result.classes is not None
    k = len(result.classes)
    colors = [CLASS_COLORS[i % len(CLASS_COLORS)] for i in range(k)]
    x = dataset.column(features[0])
    z = dataset.column(features[1])
    pad_x = 0.1 * (x.max() - x.min() or 1.0)
    pad_z = 0.1 * (z.max() - z.min() or 1.0)
    gx, gz = np.meshgrid(np.linspace(x.min() - pad_x, x.max() + pad_x, 200),
                         np.linspace(z.min() - pad_z, z.max() + pad_z, 200))
    labels, probs = predict_classes(result.graph, {features[0]: gx.ravel(), features[1]: gz.ravel()},
                                    result.classes)
    labels = labels.reshape(gx.shape)
    bx.contourf(gx, gz, labels, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors), alpha=0.3)
    sure = np.nan_to_num(probs.max(axis=-1).reshape(gx.shape))
    bx.contourf(gx, gz, sure, levels=[0.0, 0.6], colors=["white"], alpha=0.45)  # unsure: paler
    if k > 1:
        bx.contour(gx, gz, labels, levels=np.arange(k) + 0.5, colors="k", linewidths=2.0)
    y = dataset.column(result.target) if result.target in dataset.columns else None
    if y is not None:
        for c in range(k):
            mask = y == c
            if mask.any():
                bx.scatter(x[mask], z[mask], s=22, c=colors[c], edgecolors="white", linewidths=0.6,
                           label=_("class {c}").format(c=c))
    acc = _(", accuracy {accuracy} %").format(accuracy=f"{100 * result.accuracy:.1f}") if result.accuracy is not None else ""
    bx.set_title(_("decision map: the largest of {k} logits").format(k=k) + acc)
    bx.set_xlabel(features[0])
    bx.set_ylabel(features[1])
    bx.set_aspect("equal", adjustable="box")


def plot_training(result: TrainResult, dataset: Dataset, *, fmt: str = "png", title: str | None = None,
                  dpi: float | None = None, size: tuple[float, float] | None = None) -> bytes:
    """The loss curve and, for two-feature data, the decision boundary with the points, as PNG or SVG.

    The boundary is the contour of the prediction over a 200×200 grid, evaluated in one batched
    forward pass. matplotlib is imported here only (Agg canvas, no pyplot state); SVG output is
    deterministic (fixed hash salt, no date). ``size`` is (width, height) in inches and ``dpi`` the
    PNG's resolution: by default 12×5 in at 160 dpi, 1920×800 px, sized for a slide. Colours follow
    the diagrams and the explorer: y = 1 blue, y = 0 orange; the legend sits beside the plots, and
    first-layer units whose lines coincide are drawn once and named together ("3 identical units").

    Raises:
        UsageError: ``fmt`` is not png or svg.
    """
    if fmt not in ("png", "svg"):
        raise UsageError(_("--plot writes .png or .svg, not .{format}").format(format=fmt))
    try:
        return _draw_training(result, dataset, fmt, title, dpi, size)
    except (ValueError, OverflowError, FloatingPointError, RuntimeError, MemoryError) as exc:
        # matplotlib gives up on some data (values near 1e16 that rounding spaces unevenly, degenerate
        # grids): a clear error, before any file is written
        raise RenderError(_("cannot draw the training plot: {reason}").format(reason=exc),
                          hint=_("rescale the data, or leave out --plot")) from None


def _draw_training(result: TrainResult, dataset: Dataset, fmt: str, title: str | None,
                   dpi: float | None = None, size: tuple[float, float] | None = None) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure

    from .dot import NEGATIVE_COLOR, POSITIVE_COLOR

    features = list(dataset.feature_names)
    if result.target is not None:  # a multiclass net: its class index is not a feature
        features = [c for c in dataset.columns if c != result.target]
    two_d = len(features) == 2 and (result.predict is not None or bool(result.classes))
    width, height = size if size is not None else (PLOT_SIZE if two_d else (PLOT_SIZE[0] * 0.55, PLOT_SIZE[1]))
    # Sized for a slide: text that reads from the back row, lines that survive a projector.
    with matplotlib.rc_context({"svg.hashsalt": "graphtrace", "font.size": 12, "axes.titlesize": 13,
                                "axes.labelsize": 12, "legend.fontsize": 11, "lines.linewidth": 2.4,
                                "axes.linewidth": 1.0}):
        fig = Figure(figsize=(width, height), dpi=dpi or PLOT_DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 2 if two_d else 1, 1)
        epochs = np.arange(1, len(result.history) + 1)
        ax.plot(epochs, result.history, color="#1f77b4", label=_("loss"))
        ax.set_xlabel(_("epoch"))
        ax.set_ylabel(_("mean loss"), color="#1f77b4")
        ax.set_title(_("training loss") + (_(" (final {loss})").format(loss=f"{result.loss:.4g}")
                                           if math.isfinite(result.loss) else ""))
        ax.grid(alpha=0.3)
        if result.accuracy_history:
            ax2 = ax.twinx()
            ax2.plot(epochs, result.accuracy_history, color="#d62728", lw=1.8, label=_("accuracy"))
            ax2.set_ylabel(_("training accuracy"), color="#d62728")
            ax2.set_ylim(0, 1.02)
        bx = None
        if two_d and result.classes:
            bx = fig.add_subplot(1, 2, 2)
            _class_map(fig, bx, result, dataset, features)
        elif two_d:
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
            # One convention everywhere (diagrams, explorer, plots): orange 0 (and −), blue 1 (and +).
            cmap = LinearSegmentedColormap.from_list("graphtrace", [NEGATIVE_COLOR, "#ffffff", POSITIVE_COLOR])
            probability = result.predict is not None and _is_probability(result.graph, result.predict)
            if probability:  # white exactly at 0.5, whatever range the net reaches
                levels = np.linspace(0.0, 1.0, 21)
            else:  # white at the threshold, the same reach on both sides
                reach = float(np.nanmax(np.abs(np.nan_to_num(pred) - level))) or 1.0
                levels = np.linspace(level - reach, level + reach, 21)
            filled = bx.contourf(gx, gz, np.clip(np.nan_to_num(pred), levels[0], levels[-1]), levels=levels,
                                 cmap=cmap, alpha=0.45)
            what = "P(y = 1)" if probability else _("the prediction")
            bar = fig.colorbar(filled, ax=bx, shrink=0.9)
            bar.set_label(f"{result.predict} = {what}", labelpad=4)
            if np.nanmin(pred) < level < np.nanmax(pred):
                bx.contour(gx, gz, pred, levels=[level], colors="k", linewidths=2.6)
                bx.plot([], [], color="k", lw=2.6, label=_("decision boundary ({predict} = {level})").format(
                    predict=result.predict, level=f"{level:g}"))
            # Course §3: each first-layer unit of a network cuts the plane along its own line
            # w0 + w1·x1 + w2·x2 = 0; drawn dashed, they show which side of the region it makes.
            # Units whose lines coincide (course §12: identical units) are one line, and say so.
            for k, (units, w_in, bias) in enumerate(_first_layer_lines(result, features)):
                pre = bias + w_in[0] * gx + w_in[1] * gz
                if not pre.min() < 0 < pre.max():
                    continue
                color = _UNIT_COLORS[k % len(_UNIT_COLORS)]
                bx.contour(gx, gz, pre, levels=[0.0], colors=[color], linewidths=2.2, linestyles="--")
                if len(units) > 1:
                    name = " = ".join(f"z1_{j}" for j in units) + " = 0: " + ngettext("{n} identical unit", "{n} identical units",
                                                                              len(units)).format(n=len(units))
                else:
                    name = _("z1_{j} = 0 (hidden unit {j})").format(j=units[0])
                bx.plot([], [], ls="--", color=color, lw=2.2, label=name)
            if y is not None:
                pos = y > level
                bx.scatter(x[pos], z[pos], s=26, c=POSITIVE_COLOR, edgecolors="white", linewidths=0.8,
                           label=_("y = 1 (blue)"))
                bx.scatter(x[~pos], z[~pos], s=26, c=NEGATIVE_COLOR, edgecolors="white", linewidths=0.8,
                           label=_("y = {y} (orange)").format(y=int(y[~pos][0]) if (~pos).any() else 0))
            acc = (_(", accuracy {accuracy} %").format(accuracy=f"{100 * result.accuracy:.1f}")
                   if result.accuracy is not None else "")
            bx.set_title(_("decision boundary") + acc)
            bx.set_xlabel(features[0])
            bx.set_ylabel(features[1])
            bx.set_aspect("equal", adjustable="box")
        if bx is not None:
            handles, labels = bx.get_legend_handles_labels()
            if handles:  # under the plots, never over the data (the triangle's apex is at the top)
                fig.legend(handles, labels, loc="outside lower center", ncol=min(3, len(handles)), frameon=False)
        if title:
            fig.suptitle(printable(title), parse_math=False)  # a file name may hold $ or ^: not TeX
        out = io.BytesIO()
        meta = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(out, format=fmt, metadata=meta)
    return out.getvalue()
