"""The PyTorch bridge: a function or ``nn.Module`` run on small example tensors becomes a scalar graph.

:func:`from_torch` runs the function once under a ``TorchFunctionMode``: PyTorch computes every
operation as usual, and each operation on a traced tensor is also computed element by element on
traced :class:`~graphtrace.trace.Value` objects (numpy object arrays of the tensor's shape), so
every tensor element is a graph node, named like the script language's array elements
(``W[1,0]``, zero-based) and carrying its tensor's name and index (``array``, ``index``).
The maths stays the op registry's: a matrix product is products and a left-to-right sum, softmax
is ``exp(x_i − c) / Σ exp(x_j − c)`` with the row's maximum as the constant c. An operation
without a rule is refused with its name. The graph also keeps torch.autograd's own gradients, the
fourth answer that ``check`` compares.

PyTorch is optional (``pip install torch``, or the extra ``'graphtrace-backprop[torch]'``): it is imported when
:func:`from_torch` is called, never by graphtrace itself.
"""

from __future__ import annotations

__all__ = ["from_torch", "supported_operations"]

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import GraphtraceError
from .i18n import N_, _
from .ops import BINARY, OPS, UNARY
from .trace import TracedGraph, Value, _apply, _lift, annotate, graph

_ADD, _SUB, _MUL, _DIV, _POW = (OPS[BINARY[k]] for k in ("Add", "Sub", "Mult", "Div", "Pow"))
_NEG = OPS[UNARY["USub"]]


class TorchTraceError(GraphtraceError):
    """A PyTorch function cannot be traced (an unsupported operation or argument)."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # an optional extra
        raise TorchTraceError(_("from_torch needs PyTorch, which is not installed"),
                              hint=_("pip install torch (or the extra: pip install 'graphtrace-backprop[torch]')")) from None
    return torch


# ---- element arithmetic on object arrays ----------------------------------------------------------
def _val(x: Any) -> Value:
    v = _lift(x)
    if v is None:
        raise TorchTraceError(_("expected a number, got {type}").format(type=type(x).__name__))
    return v


def _elementwise2(op: Any, a: Any, b: Any) -> np.ndarray:
    f = np.frompyfunc(lambda x, y: _apply(op, (_val(x), _val(y))), 2, 1)
    return np.asarray(f(a, b), dtype=object)


def _elementwise1(op: Any, a: Any) -> np.ndarray:
    f = np.frompyfunc(lambda x: _apply(op, (_val(x),)), 1, 1)
    return np.asarray(f(a), dtype=object)


def _fold(items: Sequence[Any]) -> Any:
    """A left-to-right sum ``((a + b) + c) + d`` (one add node per term after the first)."""
    acc = _val(items[0])
    for x in items[1:]:
        acc = _apply(_ADD, (acc, _val(x)))
    return acc


def _dot(a: Any, b: Any) -> Value:
    return _fold([_apply(_MUL, (_val(x), _val(y))) for x, y in zip(a, b, strict=True)])


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.ndim == 0 or b.ndim == 0:
        raise TorchTraceError(_("matmul of a 0-d tensor"))
    if a.ndim > 2 or b.ndim > 2:
        raise TorchTraceError(_("matmul of tensors with more than 2 dimensions is not traced"))
    if a.ndim == 1 and b.ndim == 1:
        return np.asarray(_dot(a, b), dtype=object)
    if a.ndim == 2 and b.ndim == 1:
        return _obj([_dot(row, b) for row in a])
    if a.ndim == 1 and b.ndim == 2:
        return _obj([_dot(a, b[:, j]) for j in range(b.shape[1])])
    out = np.empty((a.shape[0], b.shape[1]), dtype=object)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            out[i, j] = _dot(a[i], b[:, j])
    return out


def _obj(items: Any) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    return out


def _reduce(a: np.ndarray, dim: Any, keepdim: bool, fold: Callable[[list[Any]], Any]) -> np.ndarray:
    """Fold the elements along ``dim`` (an int, a tuple of ints or None for all)."""
    if dim is None:
        dims = tuple(range(a.ndim))
    elif isinstance(dim, (list, tuple)):
        dims = tuple(d % max(a.ndim, 1) for d in dim)
    else:
        dims = (int(dim) % max(a.ndim, 1),)
    if a.ndim == 0:
        return np.asarray(fold([a.item()]), dtype=object)
    rest = [d for d in range(a.ndim) if d not in dims]
    moved = np.transpose(a, rest + list(dims))
    lead = moved.shape[: len(rest)]
    flat = moved.reshape(lead + (-1,))
    out = np.empty(lead, dtype=object)
    for idx in np.ndindex(*lead):
        out[idx] = fold(list(flat[idx]))
    if keepdim:
        out = out.reshape(tuple(1 if d in dims else a.shape[d] for d in range(a.ndim)))
    return out


def _along(a: np.ndarray, dim: int, f: Callable[[list[Any]], list[Any]]) -> np.ndarray:
    """Apply ``f`` (a list of elements → a list of the same length) to every slice along ``dim``."""
    if a.ndim == 0:
        return np.asarray(f([a.item()])[0], dtype=object)
    dim = int(dim) % a.ndim
    moved = np.moveaxis(a, dim, -1)
    out = np.empty(moved.shape, dtype=object)
    for idx in np.ndindex(*moved.shape[:-1]):
        for k, v in enumerate(f(list(moved[idx]))):
            out[idx + (k,)] = v
    return np.moveaxis(out, -1, dim)


def _shift(xs: list[Any]) -> float:
    # softmax's stabilising constant: the largest value, as a number (its gradient would cancel)
    m = max(float(x.data) if isinstance(x, Value) else float(x) for x in xs)
    return m if math.isfinite(m) else 0.0


def _log_sum_exp(xs: list[Any]) -> tuple[float, list[Value], Value]:
    c = _shift(xs)
    shifted = [_apply(_SUB, (_val(x), _val(c))) for x in xs]
    total = _fold([_apply(OPS["exp"], (s,)) for s in shifted])
    return c, shifted, total


def _softmax_list(xs: list[Any]) -> list[Any]:
    c = _shift(xs)
    exps = [_apply(OPS["exp"], (_apply(_SUB, (_val(x), _val(c))),)) for x in xs]
    total = _fold(exps)
    return [_apply(_DIV, (e, total)) for e in exps]


def _log_softmax_list(xs: list[Any]) -> list[Any]:
    _, shifted, total = _log_sum_exp(xs)
    log_total = _apply(OPS["log"], (total,))
    return [_apply(_SUB, (s, log_total)) for s in shifted]


def _logsumexp_list(xs: list[Any]) -> Any:
    c, _, total = _log_sum_exp(xs)
    return _apply(_ADD, (_apply(OPS["log"], (total,)), _val(c)))


# ---- the tracer ---------------------------------------------------------------------------------
def _arg(args: Sequence[Any], kwargs: dict[str, Any], pos: int, name: str, default: Any = None) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[pos] if len(args) > pos else default


def _func_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or repr(func)
    if name == "__get__" and hasattr(func, "__self__"):
        return f"torch.Tensor.{getattr(func.__self__, '__name__', '?')}"
    qual = getattr(func, "__qualname__", "") or ""
    if qual.startswith(("TensorBase.", "Tensor.", "_TensorBase.")):
        return "torch.Tensor." + name
    module = getattr(func, "__module__", None) or ""
    if module.startswith("torch.nn.functional") or module == "torch._C._nn":
        return f"torch.nn.functional.{name}"
    return f"torch.{name}"


class _Tracer:
    """The TorchFunctionMode's state: which tensor holds which Values, and the leaves."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.arrays: dict[int, tuple[Any, np.ndarray]] = {}  # keyed by id(tensor); the tensor is held
        self.leaves: list[tuple[str, Any, np.ndarray, bool]] = []  # name, tensor, Values, is param
        self.params: set[Value] = set()
        self.counts: dict[str, int] = {}
        self.names: set[str] = set()
        self.float32 = False
        self.tensors: dict[str, tuple[tuple[int, ...], list[Value]]] = {}  # name → shape, elements
        self.rules = _rules(torch)
        self.properties = _property_rules()

    # ---- tensors and their Values ------------------------------------------------------------
    def tracked(self, x: Any) -> bool:
        if isinstance(x, self.torch.Tensor):
            rec = self.arrays.get(id(x))
            return (rec is not None and rec[0] is x) or (x.requires_grad and x.is_leaf and x.is_floating_point())
        if isinstance(x, (list, tuple)):
            return any(self.tracked(e) for e in x)
        return False

    def leaf(self, tensor: Any, name: str, *, param: bool) -> np.ndarray:
        base = self._unique(name)
        data = tensor.detach().cpu()
        if data.is_floating_point() and data.dtype != self.torch.float64:
            self.float32 = True
        values = np.asarray(data.double().numpy() if data.is_floating_point() else data.numpy())
        out = np.empty(values.shape, dtype=object)
        for idx in np.ndindex(*values.shape):
            v = Value(values[idx].item())
            v._name = _element(base, idx)
            v._attrs = {"array": base, "index": idx}
            out[idx] = v
            if param:
                self.params.add(v)
        self.arrays[id(tensor)] = (tensor, out)
        self.leaves.append((base, tensor, out, param))
        self.tensors[base] = (tuple(out.shape), list(out.flat))
        return out

    def values(self, x: Any) -> Any:
        """The Values of a traced tensor, the numbers of another one, or ``x`` itself."""
        if isinstance(x, self.torch.Tensor):
            rec = self.arrays.get(id(x))
            if rec is not None and rec[0] is x:
                return rec[1]
            if x.requires_grad and x.is_leaf and x.is_floating_point():
                return self.leaf(x, "tensor", param=True)
            data = x.detach().cpu()
            if data.is_floating_point():
                return data.double().numpy()
            return data.numpy()
        if isinstance(x, (list, tuple)):
            return type(x)(self.values(e) for e in x)
        return x

    def _unique(self, name: str) -> str:
        base, n = name, 2
        while name in self.names:
            name = f"{base}#{n}"
            n += 1
        self.names.add(name)
        return name

    def register(self, out: Any, values: Any, base: str) -> None:
        values = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
        if tuple(values.shape) != tuple(out.shape):
            raise TorchTraceError(_("tracing {operation} gave shape {shape}, PyTorch {torch_shape}").format(
                operation=base, shape=tuple(values.shape), torch_shape=tuple(out.shape)))
        n = self.counts.get(base, 0) + 1
        self.counts[base] = n
        name = self._unique(f"{base}{n}")
        fresh = True
        for idx in np.ndindex(*values.shape):
            v = values[idx]
            if not isinstance(v, Value):
                v = _val(v)
                values[idx] = v
            if v._name is None and v._gt_op is not None:
                v._name = _element(name, idx)
                v._attrs = {"array": name, "index": idx}
            else:  # an element of another tensor (a reshape, a transpose): that tensor keeps it
                fresh = False
        self.arrays[id(out)] = (out, values)
        if fresh:
            self.tensors[name] = (tuple(values.shape), list(values.flat))

    # ---- the mode's hook --------------------------------------------------------------------
    def handle(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        out = func(*args, **kwargs)
        if not (self.tracked(list(args)) or self.tracked(list(kwargs.values()))):
            return out
        rule = self.rules.get(func)
        if rule is None and getattr(func, "__name__", None) == "__get__" and hasattr(func, "__self__"):
            rule = self.properties.get(getattr(func.__self__, "__name__", ""))
        if rule is None:
            if _has_tensor(self.torch, out):
                raise TorchTraceError(
                    _("from_torch: the PyTorch operation {operation} is not supported").format(
                        operation=_func_name(func)),
                    hint=_("supported: {operations}; write the computation with these, or trace a smaller "
                           "part of the model").format(
                        operations=", ".join(_(s) if s in _DESCRIBED else s for s in supported_operations())))
            return out
        base, compute = rule
        if compute is None:  # not differentiable (comparisons, detach, .data): a constant
            return out
        with annotate(array=f"{base}{self.counts.get(base, 0) + 1}"):
            values = compute(self, out, args, kwargs)
        if values is not None:
            self.register(out, values, base)
        return out


def _element(name: str, idx: tuple[int, ...]) -> str:
    return f"{name}[{','.join(str(i) for i in idx)}]" if idx else name


def _has_tensor(torch: Any, x: Any) -> bool:
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_tensor(torch, e) for e in x)
    return False


# ---- the rules: one per PyTorch operation, onto registry ops -----------------------------------------
Rule = tuple[str, Any]


def _binary_rule(op: Any, *, swap: bool = False, alpha: bool = False) -> Callable[..., Any]:
    def compute(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        a = t.values(args[0])
        b = t.values(_arg(args, kwargs, 1, "other"))
        if alpha:
            k = _arg(args, kwargs, 2, "alpha", 1)
            if k != 1:
                b = _elementwise2(_MUL, b, k)
        if kwargs.get("rounding_mode") is not None:
            raise TorchTraceError(_("torch.div with rounding_mode is not differentiable and not traced"))
        return _elementwise2(op, b, a) if swap else _elementwise2(op, a, b)
    return compute


def _unary_rule(op: Any) -> Callable[..., Any]:
    def compute(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("inplace") or (len(args) > 1 and args[1] is True):
            raise TorchTraceError(_("in-place activations (inplace=True) are not traced"))
        return _elementwise1(op, t.values(args[0]))
    return compute


def _softplus(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _arg(args, kwargs, 1, "beta", 1) != 1:
        raise TorchTraceError(_("softplus with beta ≠ 1 is not traced"))
    return _elementwise1(OPS["softplus"], t.values(args[0]))


def _square(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _elementwise2(_POW, t.values(args[0]), 2.0)


def _matmul_rule(swap: bool = False) -> Callable[..., Any]:
    def compute(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        a, b = np.asarray(t.values(args[0]), dtype=object), np.asarray(t.values(args[1]), dtype=object)
        return _matmul(b, a) if swap else _matmul(a, b)
    return compute


def _linear(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = np.asarray(t.values(args[0]), dtype=object)
    w = np.asarray(t.values(_arg(args, kwargs, 1, "weight")), dtype=object)
    bias = _arg(args, kwargs, 2, "bias")
    y = _matmul(x, w.T)
    if bias is not None:
        y = _elementwise2(_ADD, y, np.asarray(t.values(bias), dtype=object))
    return y


def _addmm(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _arg(args, kwargs, 3, "beta", 1) != 1 or _arg(args, kwargs, 4, "alpha", 1) != 1:
        raise TorchTraceError(_("addmm with alpha or beta ≠ 1 is not traced"))
    m = _matmul(np.asarray(t.values(args[1]), dtype=object), np.asarray(t.values(args[2]), dtype=object))
    return _elementwise2(_ADD, m, np.asarray(t.values(args[0]), dtype=object))


def _sum(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs.get("dtype") is not None:
        raise TorchTraceError(_("sum with a dtype is not traced"))
    a = np.asarray(t.values(args[0]), dtype=object)
    return _reduce(a, _arg(args, kwargs, 1, "dim"), bool(_arg(args, kwargs, 2, "keepdim", False)), _fold)


def _mean(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a = np.asarray(t.values(args[0]), dtype=object)

    def mean(xs: list[Any]) -> Any:
        return _apply(_DIV, (_fold(xs), _val(float(len(xs)))))
    return _reduce(a, _arg(args, kwargs, 1, "dim"), bool(_arg(args, kwargs, 2, "keepdim", False)), mean)


def _dim_of(args: tuple[Any, ...], kwargs: dict[str, Any], what: str) -> int:
    dim = _arg(args, kwargs, 1, "dim")
    if dim is None:
        raise TorchTraceError(_("{operation} without dim= is not traced (PyTorch's implicit dim is deprecated)").format(
            operation=what))
    if kwargs.get("dtype") is not None:
        raise TorchTraceError(_("{operation} with a dtype is not traced").format(operation=what))
    return int(dim)


def _softmax(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _along(np.asarray(t.values(args[0]), dtype=object), _dim_of(args, kwargs, "softmax"), _softmax_list)


def _log_softmax(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return _along(np.asarray(t.values(args[0]), dtype=object), _dim_of(args, kwargs, "log_softmax"),
                  _log_softmax_list)


def _logsumexp(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a = np.asarray(t.values(args[0]), dtype=object)
    return _reduce(a, _arg(args, kwargs, 1, "dim"), bool(_arg(args, kwargs, 2, "keepdim", False)), _logsumexp_list)


def _reduction(losses: np.ndarray, reduction: str) -> Any:
    if reduction == "none":
        return losses
    if reduction == "sum":
        return np.asarray(_fold(list(losses.flat)), dtype=object)
    if reduction == "mean":
        return np.asarray(_apply(_DIV, (_fold(list(losses.flat)), _val(float(losses.size)))), dtype=object)
    raise TorchTraceError(_("reduction '{reduction}' is not traced").format(reduction=reduction))


def _cross_entropy(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = np.asarray(t.values(args[0]), dtype=object)
    target = _arg(args, kwargs, 1, "target")
    if _arg(args, kwargs, 2, "weight") is not None or float(kwargs.get("label_smoothing", 0.0) or 0.0) != 0.0:
        raise TorchTraceError(_("cross_entropy with weight= or label_smoothing= is not traced"))
    if t.tracked(target):
        raise TorchTraceError(_("cross_entropy with a traced (requires_grad) target is not traced"))
    y = np.asarray(t.values(target))
    reduction = kwargs.get("reduction", "mean")
    ignore = kwargs.get("ignore_index", -100)
    if x.ndim == 1:
        x, y = x[None, :], y.reshape((1,) + y.shape)
    if x.ndim != 2:
        raise TorchTraceError(_("cross_entropy over more than 2 dimensions is not traced"))
    losses = np.empty(x.shape[0], dtype=object)
    for i in range(x.shape[0]):
        row = list(x[i])
        if y.dtype.kind == "f":  # class probabilities
            logp = _log_softmax_list(row)
            terms = [_apply(_MUL, (_val(float(p)), lp)) for p, lp in zip(y[i], logp, strict=True)]
            losses[i] = _apply(_NEG, (_fold(terms),))
            continue
        k = int(y[i])
        if k == ignore:
            raise TorchTraceError(_("cross_entropy with ignored targets (ignore_index) is not traced"))
        c, shifted, total = _log_sum_exp(row)
        # −log softmax_k = log Σ exp(x_j − c) − (x_k − c)
        losses[i] = _apply(_SUB, (_apply(OPS["log"], (total,)), shifted[k]))
    if args[0].ndim == 1 and reduction == "none":
        return losses.reshape(())
    return _reduction(losses, reduction)


def _nll_loss(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = np.asarray(t.values(args[0]), dtype=object)
    if _arg(args, kwargs, 2, "weight") is not None:
        raise TorchTraceError(_("nll_loss with weight= is not traced"))
    y = np.asarray(t.values(_arg(args, kwargs, 1, "target")))
    if x.ndim == 1:
        x, y = x[None, :], y.reshape((1,) + y.shape)
    losses = _obj([_apply(_NEG, (_val(x[i, int(y[i])]),)) for i in range(x.shape[0])])
    return _reduction(losses, kwargs.get("reduction", "mean"))


def _mse_loss(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a = np.asarray(t.values(args[0]), dtype=object)
    b = np.asarray(t.values(_arg(args, kwargs, 1, "target")))
    diff = _elementwise2(_SUB, a, b)
    return _reduction(_elementwise2(_POW, diff, 2.0), kwargs.get("reduction", "mean"))


# Shape operations make no node: the result's elements are the operand's Values, rearranged.
def _view(f: Callable[..., Any]) -> Callable[..., Any]:
    def compute(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        a = np.asarray(t.values(args[0]), dtype=object)
        return np.asarray(f(a, out, args[1:], kwargs), dtype=object)
    return compute


def _index(key: Any, torch: Any) -> Any:
    if isinstance(key, torch.Tensor):
        return key.detach().cpu().numpy()
    if isinstance(key, tuple):
        return tuple(_index(k, torch) for k in key)
    if isinstance(key, list):
        return [_index(k, torch) for k in key]
    return key


def _getitem(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    a = np.asarray(t.values(args[0]), dtype=object)
    return np.asarray(a[_index(args[1], t.torch)], dtype=object)


def _cat(stack: bool) -> Callable[..., Any]:
    def compute(t: _Tracer, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        parts = [np.asarray(t.values(p), dtype=object) for p in args[0]]
        dim = int(_arg(args, kwargs, 1, "dim", 0))
        return np.stack(parts, axis=dim) if stack else np.concatenate(parts, axis=dim)
    return compute


def _reshape(a: np.ndarray, out: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return a.reshape(tuple(out.shape))


def _transpose(a: np.ndarray, out: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    d0 = _arg(rest, kwargs, 0, "dim0")
    d1 = _arg(rest, kwargs, 1, "dim1")
    return np.swapaxes(a, int(d0), int(d1)) if a.ndim > 1 else a


def _permute(a: np.ndarray, out: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    dims = rest[0] if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else rest
    dims = kwargs.get("dims", dims)
    return np.transpose(a, tuple(int(d) for d in dims))


def _rules(torch: Any) -> dict[Any, Rule]:
    T = torch.Tensor
    F = torch.nn.functional
    rules: dict[Any, Rule] = {}

    def add(funcs: list[Any], base: str, compute: Any) -> None:
        for f in funcs:
            if f is not None:
                rules[f] = (base, compute)

    def attr(obj: Any, name: str) -> Any:
        return getattr(obj, name, None)

    for name, op in (("add", _ADD), ("sub", _SUB), ("mul", _MUL), ("div", _DIV), ("pow", _POW)):
        dunder = {"add": "add", "sub": "sub", "mul": "mul", "div": "truediv", "pow": "pow"}[name]
        add([attr(torch, name), attr(T, name), attr(T, f"__{dunder}__")], name,
            _binary_rule(op, alpha=name in ("add", "sub")))
        add([attr(T, f"__r{dunder}__")], name, _binary_rule(op, swap=True))
    add([attr(torch, "subtract"), attr(T, "subtract")], "sub", _binary_rule(_SUB, alpha=True))
    add([attr(torch, "multiply"), attr(T, "multiply")], "mul", _binary_rule(_MUL))
    add([attr(torch, "divide"), attr(T, "divide"), attr(torch, "true_divide"), attr(T, "true_divide")], "div",
        _binary_rule(_DIV))
    add([attr(T, "__rdiv__")], "div", _binary_rule(_DIV, swap=True))
    add([attr(torch, "maximum"), attr(T, "maximum")], "maximum", _binary_rule(OPS["max"]))
    add([attr(torch, "minimum"), attr(T, "minimum")], "minimum", _binary_rule(OPS["min"]))
    for name in ("tanh", "sigmoid", "relu", "exp", "log", "sqrt", "abs", "sin", "cos", "tan"):
        add([attr(torch, name), attr(T, name), attr(F, name)], name, _unary_rule(OPS[name]))
    add([attr(torch, "neg"), attr(T, "neg"), attr(T, "__neg__"), attr(torch, "negative"), attr(T, "negative")],
        "neg", _unary_rule(_NEG))
    add([attr(T, "__abs__"), attr(torch, "absolute")], "abs", _unary_rule(OPS["abs"]))
    add([attr(F, "softplus")], "softplus", _softplus)
    add([attr(torch, "square"), attr(T, "square")], "square", _square)
    add([attr(torch, "matmul"), attr(T, "matmul"), attr(T, "__matmul__"), attr(torch, "mm"), attr(T, "mm"),
         attr(torch, "mv"), attr(T, "mv"), attr(torch, "dot"), attr(T, "dot")], "matmul", _matmul_rule())
    add([attr(T, "__rmatmul__")], "matmul", _matmul_rule(swap=True))
    add([attr(F, "linear")], "linear", _linear)
    add([attr(torch, "addmm"), attr(T, "addmm")], "addmm", _addmm)
    add([attr(torch, "sum"), attr(T, "sum")], "sum", _sum)
    add([attr(torch, "mean"), attr(T, "mean")], "mean", _mean)
    add([attr(torch, "softmax"), attr(T, "softmax"), attr(F, "softmax")], "softmax", _softmax)
    add([attr(torch, "log_softmax"), attr(T, "log_softmax"), attr(F, "log_softmax")], "log_softmax", _log_softmax)
    add([attr(torch, "logsumexp"), attr(T, "logsumexp")], "logsumexp", _logsumexp)
    add([attr(F, "cross_entropy")], "cross_entropy", _cross_entropy)
    add([attr(F, "nll_loss")], "nll_loss", _nll_loss)
    add([attr(F, "mse_loss")], "mse_loss", _mse_loss)
    add([attr(T, "__getitem__")], "index", _getitem)
    add([attr(torch, "cat"), attr(torch, "concat"), attr(torch, "concatenate")], "cat", _cat(False))
    add([attr(torch, "stack")], "stack", _cat(True))
    add([attr(torch, "reshape"), attr(T, "reshape"), attr(T, "view"), attr(torch, "flatten"), attr(T, "flatten"),
         attr(torch, "unsqueeze"), attr(T, "unsqueeze"), attr(torch, "squeeze"), attr(T, "squeeze"),
         attr(T, "view_as"), attr(T, "reshape_as"), attr(torch, "ravel"), attr(T, "ravel")], "reshape", _view(_reshape))
    add([attr(torch, "transpose"), attr(T, "transpose"), attr(torch, "swapaxes"), attr(T, "swapaxes")],
        "transpose", _view(_transpose))
    add([attr(torch, "t"), attr(T, "t")], "transpose", _view(lambda a, o, r, k: a.T))
    add([attr(torch, "permute"), attr(T, "permute")], "permute", _view(_permute))
    add([attr(T, "contiguous"), attr(torch, "clone"), attr(T, "clone"), attr(T, "double"), attr(T, "float"),
         attr(T, "to"), attr(T, "type_as"), attr(torch, "positive"), attr(T, "positive"), attr(T, "__pos__")],
        "copy", _view(lambda a, o, r, k: a))
    # Not differentiable (PyTorch gives them no gradient either): their results are constants.
    for name in ("detach", "eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "sign", "round", "floor",
                 "ceil", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "isnan", "isfinite",
                 "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "new_zeros",
                 "new_ones", "new_full", "new_empty", "new_tensor", "bool", "long", "int"):
        add([attr(torch, name), attr(T, name)], name, None)
    return rules


def _property_rules() -> dict[str, Rule]:
    return {
        "T": ("transpose", _view(lambda a, o, r, k: a.T)),
        "mT": ("transpose", _view(lambda a, o, r, k: np.swapaxes(a, -1, -2))),
        "data": ("detach", None),
        "grad": ("grad", None),
    }


def supported_operations() -> list[str]:
    """The PyTorch operations :func:`from_torch` traces, by short name.

    >>> "cross_entropy" in supported_operations() and "linear" in supported_operations()
    True
    """
    return ["add", "sub", "mul", "div", "pow", "neg", "maximum", "minimum", "square", "tanh", "sigmoid",
            "relu", "softplus", "exp", "log", "sqrt", "abs", "sin", "cos", "tan", "matmul (@, mm, mv, dot)",
            "linear", "addmm", "sum", "mean", "softmax", "log_softmax", "logsumexp", "cross_entropy",
            "nll_loss", "mse_loss", _INDEXING, "cat", "stack", "reshape/view/flatten/(un)squeeze",
            "transpose/t/T/permute", "contiguous/clone/to/double/float", _DETACH]


# The entries of supported_operations() that are words, not PyTorch names: translated where shown.
_INDEXING = N_("indexing")
_DETACH = N_("detach and comparisons (as constants)")
_DESCRIBED = (_INDEXING, _DETACH)


# ---- from_torch ---------------------------------------------------------------------------------
def _arg_names(fn: Any, n: int, torch: Any) -> list[str]:
    """The example inputs' names: the function's (or ``forward``'s) parameter names, else x1, x2, ..."""
    target = fn.forward if isinstance(fn, torch.nn.Module) else fn
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:n]
    while len(names) < n:
        names.append(f"x{len(names) + 1}")
    return names


def _modules(fn: Any, torch: Any) -> list[tuple[str, Any]]:
    """The nn.Modules whose parameters are the function's params, with their name prefixes."""
    Module = torch.nn.Module
    if isinstance(fn, Module):
        return [("", fn)]
    found: list[tuple[str, Any]] = []
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, Module):
        found.append(("", owner))
    code = getattr(fn, "__code__", None)
    if code is not None:
        for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or (), strict=False):
            try:
                obj = cell.cell_contents
            except ValueError:
                continue
            if isinstance(obj, Module):
                found.append((name + ".", obj))
        glob = getattr(fn, "__globals__", {})
        for name in code.co_names:
            obj = glob.get(name)
            if isinstance(obj, Module) and all(obj is not m for _, m in found):
                found.append((name + ".", obj))
    return found


def from_torch(fn: Callable[..., Any], *example_inputs: Any, names: Sequence[str] | None = None,
               output_name: str | None = None) -> TracedGraph:
    """Trace a PyTorch function or ``nn.Module`` on small example tensors into a scalar graph.

    Every tensor element is a node, named like the script language's arrays (``W[1,0]``,
    zero-based, ``0.weight[2,1]`` for a ``Sequential``'s first layer). Params: the parameters of the
    module (or of the modules the function uses), and example tensors with ``requires_grad=True``;
    other example tensors are inputs, integer tensors (class labels) constants. Intermediate
    tensors are named after their operation (``linear1[0,2]``, ``tanh1[3,1]``). The function must
    return one number (a loss). The graph's ``check`` compares torch.autograd's gradient of
    every param as a fourth answer; use float64 tensors for agreement beyond single precision.

    Args:
        fn: a function of tensors, or an ``nn.Module``.
        example_inputs: the tensors (and other arguments) to call it with; keep them small: every
            element of every intermediate tensor becomes a node.
        names: names of the example inputs (default: the function's parameter names).
        output_name: the output node's name (default: its operation's, e.g. ``cross_entropy1``).

    Raises:
        TorchTraceError: PyTorch is missing, an operation has no rule, or the result is not one number.
    """
    torch = _torch()
    from torch.overrides import TorchFunctionMode

    tracer = _Tracer(torch)
    for prefix, module in _modules(fn, torch):
        for pname, p in module.named_parameters():
            if id(p) not in tracer.arrays and p.is_floating_point():
                tracer.leaf(p, prefix + pname, param=True)
    arg_names = list(names) if names is not None else _arg_names(fn, len(example_inputs), torch)
    if len(arg_names) < len(example_inputs):
        raise TorchTraceError(_("names= gives {names} names for {inputs} example inputs").format(
            names=len(arg_names), inputs=len(example_inputs)))
    for name, x in zip(arg_names, example_inputs, strict=False):
        if isinstance(x, torch.Tensor) and x.is_floating_point() and id(x) not in tracer.arrays:
            tracer.leaf(x, name, param=bool(x.requires_grad))

    class _Mode(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                               kwargs: dict[str, Any] | None = None) -> Any:
            return tracer.handle(func, tuple(args), dict(kwargs or {}))

    with torch.no_grad(), _Mode():
        result = fn(*example_inputs)
    if not isinstance(result, torch.Tensor) or result.numel() != 1:
        shown = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result).__name__
        raise TorchTraceError(_("from_torch needs a function that returns one number (a loss); it returned "
                                "{shown}").format(shown=shown),
                              hint=_("reduce it, e.g. with .sum() or a loss function"))
    rec = tracer.arrays.get(id(result))
    if rec is None or rec[0] is not result:
        raise TorchTraceError(_("the function's result does not depend on any traced tensor"),
                              hint=_("give the example tensors requires_grad=True or pass an nn.Module"))
    value = rec[1].reshape(-1)[0]
    g = graph(value, params=tracer.params, output_name=output_name, arrays=tracer.tensors)
    notes = []
    if tracer.float32:
        # English here, translated where shown (TracedGraph.warnings)
        notes.append(N_("the PyTorch tensors are not float64: torch's gradients agree with graphtrace's "
                        "(float64) only to single precision; use .double() tensors and model.double()"))
    g.core.graph["notes"] = notes
    g.core.graph["oracle"] = _oracle(torch, fn, example_inputs, tracer, g)
    return g


def _oracle(torch: Any, fn: Any, inputs: tuple[Any, ...], tracer: _Tracer, g: TracedGraph) -> dict[str, Any]:
    """torch.autograd's gradient of the output with respect to every param element in the graph."""
    node_of = {owner: node for node, owner in g._owners.items()}
    leaves = [(tensor, values) for _, tensor, values, param in tracer.leaves if param and tensor.requires_grad]
    grads: dict[Any, float] = {}
    if leaves:
        with torch.enable_grad():
            out = fn(*inputs)
            found = torch.autograd.grad(out.reshape(()), [t for t, _ in leaves], allow_unused=True)
        for (_, values), gr in zip(leaves, found, strict=True):
            data = None if gr is None else gr.detach().cpu().double().numpy()
            for idx in np.ndindex(*values.shape):
                node = node_of.get(values[idx])
                if node is not None:
                    grads[node] = 0.0 if data is None else float(data[idx])
    return {"name": "torch", "output": g.output, "grads": grads}
