"""Running a Python program under tracing: the micrograd shim, variable names, the program's errors.

This is the one place where graphtrace runs code: ``graphtrace trace PROGRAM.py`` runs the user's
program, as ``python PROGRAM.py`` would, with ``micrograd.engine``/``micrograd.nn`` resolving to
graphtrace's traced classes for the duration of the run (the real micrograd, installed or not, is
put back afterwards). ``.gt`` scripts are never run; they stay data.

Before running, the program's syntax tree gets one call after each assignment to a plain name
(``c = ...``, ``c += ...``, ``a, b = ...``), which names the Values it holds after the variable
(:func:`graphtrace.trace.bind`); nothing else in the program changes, and its line numbers stay.
"""

from __future__ import annotations

__all__ = ["ProgramRun", "run_program", "traced_output", "micrograd_shim"]

import ast
import builtins
import contextlib
import importlib.abc
import importlib.machinery
import os
import random
import sys
import traceback
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from . import trace as _trace
from . import trace_nn as _nn
from .api import Graph
from .errors import GraphError, GraphtraceError, ProgramError
from .i18n import _, ngettext
from .parse import LIMITS, Source, read_source
from .text import did_you_mean

_BIND = "__graphtrace_bind__"
_SHIMMED = ("micrograd", "micrograd.engine", "micrograd.nn")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


# ---- the micrograd shim --------------------------------------------------------------------------
class _ShimLoader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        name = module.__name__
        module.__dict__["__graphtrace_shim__"] = True
        if name == "micrograd":
            module.__doc__ = "micrograd, as graphtrace traces it (graphtrace.trace and graphtrace.trace_nn)."
            module.__path__ = []  # a package: `import micrograd.engine` goes through the finder
        elif name == "micrograd.engine":
            module.__doc__ = "micrograd.engine: graphtrace's traced Value."
            module.Value = _trace.Value  # type: ignore[attr-defined]
        else:
            module.__doc__ = "micrograd.nn: graphtrace's traced Module, Neuron, Layer and MLP."
            module.random = random  # type: ignore[attr-defined]
            module.Value = _trace.Value  # type: ignore[attr-defined]
            for cls in (_nn.Module, _nn.Neuron, _nn.Layer, _nn.MLP):
                setattr(module, cls.__name__, cls)


class _ShimFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _SHIMMED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _ShimLoader(), is_package=fullname == "micrograd")


@contextlib.contextmanager
def micrograd_shim() -> Iterator[None]:
    """Inside the block, ``micrograd.engine`` and ``micrograd.nn`` are graphtrace's traced classes.

    Whether or not the real micrograd is installed; afterwards ``sys.modules`` holds what it held
    before (the real micrograd, if it was imported).

    >>> with micrograd_shim():
    ...     from micrograd.engine import Value
    >>> Value.__module__
    'graphtrace.trace'
    """
    saved = {name: sys.modules.pop(name) for name in list(sys.modules)
             if name == "micrograd" or name.startswith("micrograd.")}
    finder = _ShimFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n == "micrograd" or n.startswith("micrograd.")]:
            del sys.modules[name]
        sys.modules.update(saved)


# ---- naming assignments --------------------------------------------------------------------------
class _Binder(ast.NodeTransformer):
    """After each assignment to plain names, a call that names the Values they hold."""

    def __init__(self) -> None:
        self.depth = 0  # functions and classes around the statement (0: module level)

    def _scope(self, node: ast.AST) -> ast.AST:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _scope  # type: ignore[assignment]

    def _after(self, stmt: ast.stmt, targets: list[ast.expr]) -> Any:
        names: list[str] = []
        for t in targets:
            _names(t, names)
        if not names:
            return stmt
        calls: list[ast.stmt] = [stmt]
        for name in names:
            call = ast.Expr(ast.Call(ast.Name(_BIND, ast.Load()),
                                     [ast.Constant(name), ast.Name(name, ast.Load()), ast.Constant(self.depth == 0)],
                                     []))
            calls.append(ast.copy_location(call, stmt))
        return calls

    def visit_Assign(self, node: ast.Assign) -> Any:
        self.generic_visit(node)
        return self._after(node, list(node.targets))

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        return self._after(node, [node.target])

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        self.generic_visit(node)
        if node.value is None:
            return node
        return self._after(node, [node.target])


def _names(target: ast.expr, out: list[str]) -> None:
    if isinstance(target, ast.Name):
        if target.id not in out:
            out.append(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for e in target.elts:
            _names(e, out)
    elif isinstance(target, ast.Starred):
        _names(target.value, out)


# ---- running -------------------------------------------------------------------------------------
@dataclass
class ProgramRun:
    """A finished program run: its globals and what the trace recorded."""

    path: str
    source: Source
    globals: dict[str, Any]
    state: Any = field(repr=False, default=None)
    made: int = 0  # how many Values the program made

    def graph(self, value: Any, **options: Any) -> _trace.TracedGraph:
        """The graph of a Value this program made (names and params as the run recorded them)."""
        with _trace._using(self.state):
            return _trace.graph(value, **options)


def run_program(path: str | os.PathLike[str], argv: Sequence[str] = (), *, stdout: TextIO | None = None,
                label: str | None = None) -> ProgramRun:
    """Run a Python program with tracing and the micrograd shim; return its globals.

    The program runs as ``__main__`` with ``sys.argv = [path, *argv]`` and its folder first on
    ``sys.path``; ``stdout`` (default: the real one) receives what it prints. ``label`` is what
    tables and drawings call the program (default: the path; ``sample:NAME`` for a bundled one).

    Raises:
        ProgramError: the program has a syntax error, raised an exception (the message holds its
            traceback, program frames only) or exited with a non-zero status.
        GraphtraceError: graphtrace refused something while the program ran (the node limit, a
            value outside an op's domain), with the program's line.
    """
    name = os.fspath(path)
    source = read_source(name)
    filename = os.path.abspath(name)
    try:
        tree = ast.parse(source.text, filename=filename)
    except SyntaxError as exc:
        raise ProgramError(_("{where}: the program has a syntax error: {reason}").format(
                               where=f"{name}:{exc.lineno or '?'}", reason=exc.msg),
                           hint=_syntax_text(exc)) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ProgramError(_("{name}: the program cannot be parsed as Python: {error}: {reason}").format(
            name=name, error=type(exc).__name__, reason=exc)) from None
    tree = ast.fix_missing_locations(_Binder().visit(tree))
    code = compile(tree, filename, "exec")
    module = types.ModuleType("__main__")
    namespace = module.__dict__
    namespace.update({"__file__": name, "__builtins__": builtins, "__cached__": None, _BIND: _trace.bind})
    state = _trace._State(filename, Source(source.text, label or name))
    _trace._LIMIT[0] = LIMITS.nodes
    saved_main = sys.modules.get("__main__")
    saved_argv = sys.argv
    saved_path = list(sys.path)
    folder = os.path.dirname(filename)
    first = _trace._SEQ[0]
    with _trace._using(state), micrograd_shim(), contextlib.ExitStack() as stack:
        if stdout is not None:
            stack.enter_context(contextlib.redirect_stdout(stdout))
        sys.modules["__main__"] = module
        sys.argv = [name, *argv]
        sys.path.insert(0, folder)
        try:
            exec(code, namespace)  # noqa: S102 (running the user's program is this command's job)
        except SystemExit as exc:
            status = exc.code
            if status not in (None, 0):
                raise ProgramError(_("{name}: the program exited with status {status}").format(
                    name=name, status=repr(status))) from None
        except GraphtraceError:
            raise
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # the program's own error: shown as its traceback
            raise _program_error(name, filename, exc) from None
        finally:
            sys.argv = saved_argv
            sys.path[:] = saved_path
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
            else:
                sys.modules.pop("__main__", None)
    return ProgramRun(name, Source(source.text, name), namespace, state, _trace._SEQ[0] - first)


def _syntax_text(exc: SyntaxError) -> str | None:
    if not exc.text:
        return None
    line = exc.text.rstrip("\n")
    caret = " " * max(0, (exc.offset or 1) - 1) + "^"
    return f"    {line}\n    {caret}"


def _program_error(name: str, filename: str, exc: BaseException) -> ProgramError:
    """The program's exception as the user would see it from Python, graphtrace's frames left out."""
    tb = traceback.TracebackException.from_exception(exc)
    frames = [f for f in tb.stack if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)]
    line = None
    for f in frames:
        if f.filename == filename:
            line = f.lineno
    lines = ["Traceback (most recent call last):"]
    for f in frames:
        shown = name if f.filename == filename else f.filename
        lines.append(f'  File "{shown}", line {f.lineno}, in {f.name}')
        if f.line:
            lines.append(f"    {f.line.strip()}")
    lines.extend(ln.rstrip("\n") for ln in tb.format_exception_only())
    where = f"{name}:{line}" if line else name
    message = str(exc).splitlines()[0] if str(exc) else ""
    text = (_("{where}: the program raised {error}: {message}") if message
            else _("{where}: the program raised {error}")).format(where=where, error=type(exc).__name__,
                                                                   message=message)
    # the hint is the program's traceback as Python prints it: Python's words, not graphtrace's
    return ProgramError(text, hint="\n".join(lines))


# ---- what to analyse -----------------------------------------------------------------------------
def traced_output(run: ProgramRun, name: str | None = None) -> Graph:
    """The graph to analyse after a run: of ``name`` (a module-level variable holding a Value or a
    graph, or a node of the default graph), else of the Value last passed to ``.backward()``, else
    of the last Value (or graph) assigned at module level.

    Raises:
        ProgramError: the program made no Value to trace.
        GraphError: ``name`` is not a variable or node; the chosen Value is a leaf.
    """
    Value = _trace.Value
    if name is not None:
        obj = run.globals.get(name)
        if isinstance(obj, Value):
            return _graph_of(run, obj, name)
        if isinstance(obj, Graph):
            return obj
        default = _default(run)
        if default is not None:
            g = default if isinstance(default, Graph) else _graph_of(run, default, None)
            if name in g.core:
                return g.with_output(name)
        candidates = [k for k, v in run.globals.items() if isinstance(v, (Value, Graph))]
        message = (_("--of '{name}' holds no Value (nor a node of the traced graph)") if name in run.globals
                   else _("--of '{name}' is not a variable of the program (nor a node of the traced graph)"))
        hint = did_you_mean(name, candidates, cutoff=0.5)
        raise GraphError(message.format(name=name),
                         hint=hint or (_("variables holding a Value: {names}").format(names=", ".join(candidates[:12]))
                                       if candidates else None))
    default = _default(run)
    if default is None:
        if run.made:
            raise ProgramError(ngettext("{path}: no Value to trace: the program made {n} Value but assigned none at "
                                        "module level and called .backward() on none",
                                        "{path}: no Value to trace: the program made {n} Values but assigned none at "
                                        "module level and called .backward() on none", run.made).format(
                                   path=run.path, n=f"{run.made:,}"),
                               hint=_("assign the loss at module level (loss = ...), call loss.backward(), "
                                      "or name a variable with --of NAME"))
        raise ProgramError(_("{path}: the program made no Value, so there is nothing to trace").format(path=run.path),
                           hint=_("compute the loss from micrograd Values (from micrograd.engine import Value, or "
                                  "graphtrace.trace.Value) and assign it at module level (loss = ...) or call "
                                  "loss.backward()"))
    if isinstance(default, Graph):
        return default
    return _graph_of(run, default, None)


def _default(run: ProgramRun) -> Any:
    state = run.state
    if state.backward is not None:
        return state.backward
    if state.last is not None:
        return state.last
    return None


def _graph_of(run: ProgramRun, value: Any, name: str | None) -> Graph:
    if value._gt_op is None:
        shown = f"'{name}' = {value!r}" if name else repr(value)
        raise GraphError(_("{value} is a leaf: it was made by Value(...) and never passed through an "
                           "operation, so there is no graph to trace").format(value=shown),
                         hint=_("trace a Value computed from others (the loss), e.g. --of NAME"))
    return run.graph(value)
