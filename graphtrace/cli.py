"""The command line: a flat click group over the library; the only place that prints or exits.

Exit codes are decided here and nowhere else: 0 success, 1 a gradient check found a mismatch,
2 bad input or usage (every ``GraphtraceError``), 130 interrupted. Data goes to stdout, messages to
stderr, and no traceback is shown unless ``--debug``.
"""

from __future__ import annotations

__all__ = ["main", "cli"]

import contextlib
import functools
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import click

from .errors import GraphtraceError, UsageError
from .i18n import N_, _, ngettext
from .text import printable
from .version import __version__

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_INTERNAL = 0, 1, 2, 130, 70


# ---- output helpers ---------------------------------------------------------------------------
def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def warn(message: str) -> None:
    """A warning on stderr (plain text, so that names with brackets are never taken as markup)."""
    info(_("warning: {message}").format(message=message))


def info(message: str) -> None:
    click.echo(printable(message), err=True)


def print_json(doc: Any) -> None:
    from .report import dumps

    click.echo(dumps(doc))


# ---- shell completion (click's _GRAPHTRACE_COMPLETE): cheap, never numpy or networkx -----------
def _complete_source(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """SOURCE: the shell's own file completion, or the bundled samples after ``sample:``."""
    from click.shell_completion import CompletionItem

    from .bundled import PREFIX, SAMPLES

    kinds = (".py",) if param.name == "program" else (".csv",) if param.name == "data_path" else (".gt",)
    files = [f for f in SAMPLES if f.endswith(kinds)]
    if incomplete.startswith(PREFIX):
        return [CompletionItem(PREFIX + os.path.splitext(f)[0], help=_(SAMPLES[f])) for f in files
                if (PREFIX + f).startswith(incomplete)]
    return [CompletionItem(incomplete, type="file")]


def _bash_sample_words(incomplete: str) -> tuple[str, str] | None:
    """bash breaks words at ':' (COMP_WORDBREAKS), so `sample:ne<TAB>` arrives as the words
    `sample`, `:`, `ne`, and bash replaces only the last one: (the word before `sample`, the
    part of a name typed so far) in that case, else None."""
    from click.shell_completion import split_arg_string

    words = split_arg_string(os.environ.get("COMP_WORDS", ""))
    try:
        cword = int(os.environ.get("COMP_CWORD", ""))
    except ValueError:
        return None
    before = words[:cword]
    if incomplete == ":" and before[-1:] == ["sample"]:
        return (before[-2] if len(before) > 1 else "", ":")
    if before[-2:] == ["sample", ":"]:
        return (before[-3] if len(before) > 2 else "", incomplete)
    return None


# ---- help in the run's language ----------------------------------------------------------------
# click's own words in a help page come from click's gettext domain, which has no Russian; the
# help option's and --version's texts are shown through _() as every option's help is (below), the
# headings and click's [default: …] and [required] are written by _Help itself.
_CLICK_HELP = (N_("Show this message and exit."), N_("Show the version and exit."))


def _click_word(item: str) -> str:
    """One of click's notes after an option's help, ``default: 0.5``, ``required``, ``env var: X``
    or a range (``x>=0``, left as it is), in the run's language."""
    for head, message, field in (("default: ", N_("default: {default}"), "default"),
                                 ("env var: ", N_("env var: {var}"), "var")):
        if item.startswith(head):
            return _(message).format(**{field: item[len(head):]})
    return _("required") if item == "required" else item


def _help_record(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """click's row for ``param`` in the Options list, its help (a catalog id, ``help=N_("…")``)
    and click's bracketed notes after it in the run's language (in English: click's row, as it is)."""
    if not isinstance(param, click.Option):
        return None  # arguments have no row (click 8.5 gives them one; the usage line names them)
    english = param.help
    param.help = None  # click's row without the help: the names and the notes, "[default: 5; x>=0]"
    try:
        row = param.get_help_record(ctx)
    finally:
        param.help = english
    if row is None:
        return None
    names, notes = row
    if notes.startswith("[") and notes.endswith("]"):
        notes = "[" + "; ".join(_click_word(item) for item in notes[1:-1].split("; ")) + "]"
    text = _(english) if english else ""
    return names, f"{text}  {notes}" if text and notes else text or notes


class _Help(click.Command):
    """A command whose ``--help`` is in the run's language (``--lang``, else the locale).

    ``help`` is the prose, a catalog id (``help=N_("…")``; Babel does not extract docstrings), and
    ``examples`` the command lines shown under "Examples:", never translated but for a line's
    ``# comment``, given as ``(command, N_(comment))``. Everything is translated when the help is
    shown, so that ``self.help`` stays the English text (prose, then the examples in a ``\\b``
    paragraph, which click does not rewrap) and English help is what click writes by itself.
    """

    def __init__(self, *args: Any, examples: Sequence[str | tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.about = self.help or ""
        self.examples = tuple(examples)
        from .i18n import use_language

        with use_language("en"):
            self.help = self.help_text()

    def help_text(self) -> str:
        """The prose and the examples in the run's language (the commands themselves never change)."""
        text = _(self.about) if self.about else ""
        if not self.examples:
            return text
        lines = [f"  {e}" if isinstance(e, str) else f"  {e[0]}# {_(e[1])}" for e in self.examples]
        heading = ngettext("Example:", "Examples:", len(self.examples))
        return text + "\n\n\b\n" + heading + "\n" + "\n".join(lines)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), _("Usage:") + " ")

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        import inspect

        text = inspect.cleandoc(self.help_text()).partition("\f")[0]  # as click does
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [row for param in self.get_params(ctx) if (row := _help_record(param, ctx)) is not None]
        if rows:
            with formatter.section(_("Options")):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if self.epilog:
            import inspect

            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(_(inspect.cleandoc(self.epilog)))

    def get_short_help_str(self, limit: int = 45) -> str:
        """The line in the group's list of commands: the short help, or the prose cut short."""
        if self.short_help:
            return _(self.short_help).strip()
        return _short_help(_(self.about), limit).strip() if self.about else ""


def _short_help(text: str, limit: int) -> str:
    """The prose cut to its first sentence, or to ``limit`` characters with "...": the rule of
    click's ``make_default_short_help`` (private, and deprecated in click 8.5), kept here so the
    list of commands reads the same with every click.

    >>> _short_help("Every gradient three ways. Then more.", 45), _short_help("a b c d e f g h", 9)
    ('Every gradient three ways.', 'a b c...')
    """
    words = text.split("\n\n")[0].split()
    if words and words[0] == "\b":
        words = words[1:]
    total = 0
    for i, word in enumerate(words):
        total += len(word) + (i > 0)
        if total > limit:
            break
        if word.endswith("."):
            return " ".join(words[:i + 1])
        if total == limit and i != len(words) - 1:
            break
    else:
        return " ".join(words)
    total += len("...")
    while i > 0:
        total -= len(words[i]) + (i > 0)
        if total <= limit:
            break
        i -= 1
    return " ".join(words[:i]) + "..."


class _Command(_Help):
    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Also completes `sample:NAME` in bash, which splits it into three words."""
        found = _bash_sample_words(incomplete)
        if found is None:
            return super().shell_complete(ctx, incomplete)
        from click.shell_completion import CompletionItem

        from .bundled import SAMPLES

        option, typed = found
        kinds = (".csv",) if option == "--data" else (".py",) if self.name == "trace" else (".gt",)
        stems = [(os.path.splitext(f)[0], _(SAMPLES[f])) for f in SAMPLES if f.endswith(kinds)]
        if typed == ":":
            return [CompletionItem(":" + stem, help=about) for stem, about in stems]
        return [CompletionItem(stem, help=about) for stem, about in stems if stem.startswith(typed)]


def script_names(text: str, *, declared: bool = False) -> list[str]:
    """The names a script assigns or declares (``declared``: its inputs and params only), in
    order, read with ``ast`` alone (for completion: a broken script gives nothing, never an error).

    >>> script_names("x: input = 1; W: param = [[1, 2]]\\nh = x*W[0, 1]\\nh += 1")
    ['x', 'W', 'h']
    >>> script_names("x: input = 1\\nh = x*x", declared=True)
    ['x']
    """
    import ast

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []
    for stmt in tree.body:
        targets: list[ast.expr]
        if declared:
            targets = [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        else:
            targets = (stmt.targets if isinstance(stmt, ast.Assign)
                       else [stmt.target] if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) else [])
        for t in targets:
            if isinstance(t, ast.Name) and t.id not in names:
                names.append(t.id)
    return names


def _complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """--wrt, --of, --set: the names of the script given before them (SOURCE, sample:NAME or -e)."""
    text = ctx.params.get("inline")
    source = ctx.params.get("source") or ctx.params.get("program")  # trace: the program's variables
    if text is None and source in (None, "sample"):
        # click assigns SOURCE only when the whole line parses, and `--wrt <TAB>` lacks its value:
        # read the words the shell passed (every shell script of click's sets COMP_WORDS), with
        # bash's `sample`, `:`, `neuron` joined again.
        from click.shell_completion import split_arg_string

        words: list[str] = []
        for w in split_arg_string(os.environ.get("COMP_WORDS", "")):
            if words[-2:] == ["sample", ":"]:
                words[-2:] = [f"sample:{w}"]
            else:
                words.append(w)
        source = None
        for i, w in enumerate(words[2:-1] if len(words) > 2 else [], 2):
            if w in ("-e", "--expr"):
                text = words[i + 1]
                break
            if w.startswith("sample:") or w.endswith((".gt", ".py")):
                source = w
                break
    if text is None and source not in (None, "-"):
        from .bundled import is_sample, resolve

        kinds = (".py",) if "program" in ctx.params else (".gt",)
        try:
            path = resolve(source, kinds=kinds) if is_sample(source) else source
            if os.path.getsize(path) > 1_000_000:  # completion must answer at once
                return []
            with open(path, encoding="utf-8-sig") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError, GraphtraceError):
            return []
    if param.name == "assignments":
        return [f"{n}=" for n in script_names(text or "", declared=True) if n.startswith(incomplete.partition("=")[0])]
    names = script_names(text or "")
    return [n for n in names if n.startswith(incomplete)]


# ---- shared options ---------------------------------------------------------------------------
_FILE_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".json", ".html", ".gt", ".csv", ".txt", ".py")


def _check_node_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--of/--output name a node, never a file: a value that looks like a file name is refused with
    the -o hint (before click would complain that -o is missing)."""
    if value is None:
        return None
    flag = "--output" if param.name == "output_old" else "--of"
    if value.lower().endswith(_FILE_SUFFIXES) or "/" in value or os.sep in value:
        takes_o = any(p.name == "out" for p in ctx.command.params)
        raise click.BadParameter(
            _("'{value}' looks like a file name, but {flag} names the node to differentiate (e.g. {flag} L)").format(
                value=value, flag=flag)
            + (_("; the file to write is -o {value}").format(value=value) if takes_o else ""),
            ctx=ctx, param=param)
    return value


def node_option(f: Callable[..., Any], *, help_text: str) -> Callable[..., Any]:
    """--of NAME (the node to differentiate), and --output NAME, its older spelling, which still
    works with a note: -o/--out names a file, and the two were easy to mix up."""

    @functools.wraps(f)
    def wrapper(*args: Any, output_old: str | None = None, **kwargs: Any) -> Any:
        if output_old is not None:
            if kwargs.get("output") is not None:
                raise UsageError(_("give --of NAME only (--output is its older spelling)"))
            info(_("note: --output is now --of (the node to differentiate; -o names the file to write)"))
            kwargs["output"] = output_old
        return f(*args, **kwargs)

    wrapper = click.option("--output", "output_old", metavar="NAME", default=None, callback=_check_node_name,
                           help=N_("The older spelling of --of (deprecated)."))(wrapper)
    return click.option("--of", "output", metavar="NAME", default=None, callback=_check_node_name,
                        shell_complete=_complete_names, help=help_text)(wrapper)


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """SOURCE (a path, '-' or sample:NAME) or -e SCRIPT, plus --of."""
    f = node_option(f, help_text=N_("The node to differentiate (default: the last assigned name)."))
    f = click.option("-e", "--expr", "inline", metavar="SCRIPT", default=None,
                     help=N_("An inline script instead of a file (statements separated by newlines or ';')."))(f)
    f = click.argument("source", required=False, metavar="SOURCE", shell_complete=_complete_source)(f)
    return f


def set_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--set", "assignments", metavar="NAME=VALUE", multiple=True, shell_complete=_complete_names,
                        help=N_("Override an input or param for this run (repeatable)."))(f)


def wrt_option(required: bool = False, multiple: bool = True) -> Callable[..., Any]:
    help_text = (N_("The node to differentiate with respect to (repeatable; default: every param).")
                 if multiple else N_("The node whose paths to the output are listed."))
    return click.option("--wrt", "wrt", metavar="NAME", multiple=multiple, required=required, help=help_text,
                        shell_complete=_complete_names)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help=N_("Print one strict JSON document."))(f)


def numeric_all_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--numeric-all", is_flag=True,
                        help=N_("Finite differences for every node, however many (big nets get a seeded "
                                "sample otherwise; see GRAPHTRACE_MAX_NUMERIC_WORK)."))(f)


@contextlib.contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar on stderr for long work (only on a terminal); yields its callback."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import Progress

    with Progress(console=_console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def advance(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done)

        yield advance


def input_path(spec: str | None, kinds: tuple[str, ...] = (".gt",)) -> str | None:
    """The file a SOURCE or --data argument names: ``sample:NAME`` is a bundled sample."""
    from .bundled import is_sample, resolve

    return str(resolve(spec, kinds=kinds)) if is_sample(spec) and spec is not None else spec


def read_data(spec: str) -> Any:
    """The data set of --data: a CSV file, or a bundled one (``sample:triangle.csv``)."""
    from .bundled import is_sample
    from .data import read_csv

    if is_sample(spec):
        return read_csv(input_path(spec, (".csv",)), name=spec)
    return read_csv(spec)


def load_graph(source: str | None, inline: str | None, output: str | None = None) -> Any:
    """The Graph for SOURCE / -e SCRIPT (SOURCE may be sample:NAME), with --of applied."""
    from .api import Graph, load, parse

    if inline is not None and source is not None:
        raise UsageError(_("give either SOURCE or -e SCRIPT, not both"))
    if inline is not None:
        g = parse(inline, name="<inline>")
    elif source is None:
        raise UsageError(_("missing SOURCE: a .gt file, sample:NAME (graphtrace samples lists them), "
                           "'-' for standard input, or -e 'SCRIPT'"))
    else:
        g = load(source)
    if output is not None:
        g = g.with_output(g.node(output, what="--of"))
    assert isinstance(g, Graph)
    for w in g.warnings():
        warn(w)
    return g


def _verdict(report: Any) -> str:
    """The check's last line: ok or how many gradients disagree, and the largest errors."""
    verdict = _("ok") if report.ok else ngettext("MISMATCH in {n} gradient", "MISMATCH in {n} gradients",
                                                 len(report.failures)).format(n=len(report.failures))
    return _("{verdict}: max abs error {abs}, max rel error {rel}").format(
        verdict=verdict, abs=f"{report.max_abs_error:.3g}", rel=f"{report.max_rel_error:.3g}")


def parse_assignments(graph: Any, assignments: tuple[str, ...]) -> dict[str, float] | None:
    """--set NAME=VALUE pairs → values, validated against the graph."""
    if not assignments:
        return None
    values: dict[str, float] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        name, raw = name.strip(), raw.strip()
        if not sep or not name or not raw:
            raise UsageError(_("--set expects NAME=VALUE, got '{item}'").format(item=item))
        try:
            value = float(raw)
        except ValueError:
            raise UsageError(_("--set {name}: '{raw}' is not a number").format(name=name, raw=raw)) from None
        if not math.isfinite(value):
            raise UsageError(_("--set {name}: the value must be finite, got '{raw}'").format(name=name, raw=raw))
        graph.node(name, what="--set")
        values[name] = value
    graph._values(values)
    return values


# ---- the language -----------------------------------------------------------------------------
_LANG_HELP = N_("The language of the texts for people (ru, en); default: the locale (LANGUAGE, LC_ALL, "
                "LC_MESSAGES, LANG). Numbers, names and JSON never change.")


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        from .i18n import use_language

        ctx.with_resource(use_language(value))  # until the command (or the group) is done


def _lang_option() -> click.Option:
    from .i18n import LANGUAGES

    return click.Option(["--lang"], type=click.Choice(LANGUAGES, case_sensitive=False), default=None,
                        expose_value=False, is_eager=True, callback=_set_lang, help=_LANG_HELP)


def lang_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--lang ru|en (the group's; every command has its own too, see :func:`command`)."""
    f.__dict__.setdefault("__click_params__", []).append(_lang_option())
    return f


def _argv_language(args: list[str]) -> str | None:
    """The --lang of a command line, read before click parses it, so that --help, click's own
    usage errors and the messages printed after the command are in that language too.

    >>> _argv_language(["grad", "x.gt", "--lang", "ru"]), _argv_language(["--lang=en", "demo"])
    ('ru', 'en')
    >>> _argv_language(["trace", "p.py", "--", "--lang", "ru"]) is None
    True
    """
    from .i18n import normalise

    for k, a in enumerate(args):
        if a == "--":
            break
        value = args[k + 1] if a == "--lang" and k + 1 < len(args) else a[7:] if a.startswith("--lang=") else None
        if value is not None:
            return normalise(value)
    return None


# ---- the group --------------------------------------------------------------------------------
class _CommandGroup(_Help, click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in definition order: the course's order

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)  # _Help's: the options
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The list of commands, each with its short help (as click writes it, in the run's language)."""
        commands = [(name, cmd) for name in self.list_commands(ctx)
                    if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden]
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, cmd in commands)
            with formatter.section(_("Commands")):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in commands])


@click.group(cls=_CommandGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             help=N_(
                 "graphtrace: see and check backpropagation.\n\n"
                 "Reads a small script (a neuron, an MLP, any scalar formula), builds its computation graph, and "
                 "computes every gradient as the sum over paths, by backprop and by finite differences."),
             examples=("graphtrace samples",
                       "graphtrace grad sample:neuron"))
@click.version_option(__version__, message="graphtrace %(version)s")  # no metadata look-up: fast
@click.option("--debug", is_flag=True, help=N_("Show Python tracebacks for errors."))
@lang_option
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def command(name: str, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:
    """A command of the group; each takes --lang too (``graphtrace demo --lang ru``)."""
    make = cli.command(name, cls=_Command, **kwargs)

    def decorate(f: Callable[..., Any]) -> click.Command:
        # Last in the command's options (click lists __click_params__ in reverse).
        f.__dict__.setdefault("__click_params__", []).insert(0, _lang_option())
        return make(f)

    return decorate


@command("grad", help=N_("Every gradient three ways: sum over paths, backprop, finite differences."),
         examples=("graphtrace grad sample:neuron",
                   "graphtrace grad sample:neuron --wrt z --set x1=2 --json",
                   "graphtrace grad -e 'x: input = 3; y = x*x'"))
@source_options
@wrt_option()
@set_option
@json_option
@click.option("--tol", default=1e-6, show_default=True, help=N_("Tolerance of the three-way check."))
@click.option("--no-numeric", is_flag=True, help=N_("Skip finite differences."))
@numeric_all_option
def grad_cmd(source: str | None, inline: str | None, output: str | None, wrt: tuple[str, ...],
             assignments: tuple[str, ...], as_json: bool, tol: float, no_numeric: bool,
             numeric_all: bool) -> None:
    from .report import array_tables, grad_json, grad_table

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    targets = list(wrt) if wrt else None
    if targets is None and not g.params:
        targets = g.default_wrt(values)
        undefined = [v for v in g.leaves if v not in targets and not g.label_only(v)]
        info(_("note: the script declares no param, so these are the gradients of its named leaves "
               "(inputs and named constants, as micrograd reports every Value's); declare weights as "
               "'w: param = 0.5' or choose with --wrt NAME")
             + (_("; left out: {names}, whose gradient is not a number here").format(names=", ".join(map(str, undefined)))
                if undefined else ""))
    with progress_bar() as progress:
        report = g.check(targets, values, tol=tol, numeric=not no_numeric, numeric_all=numeric_all,
                         progress=progress)
    if as_json:
        print_json(grad_json(g, report))
    else:
        _console().print(grad_table(g, report))
        for table in array_tables(g, report):  # --wrt W: the whole gradient matrix
            _console().print(table)


@command("check", help=N_("Compare path sum, backprop and finite differences; exit 1 on a mismatch."),
         examples=("graphtrace check sample:neuron --tol 1e-8",))
@source_options
@wrt_option()
@set_option
@json_option
@click.option("--tol", default=1e-6, show_default=True,
              help=N_("Pass when the absolute or the relative error is within this."))
@numeric_all_option
def check_cmd(source: str | None, inline: str | None, output: str | None, wrt: tuple[str, ...],
              assignments: tuple[str, ...], as_json: bool, tol: float, numeric_all: bool) -> None:
    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    with progress_bar() as progress:
        report = g.check(list(wrt) if wrt else g.default_wrt(values), values, tol=tol,
                         numeric_all=numeric_all, progress=progress)
    _print_check(g, report, as_json)


def _print_check(g: Any, report: Any, as_json: bool) -> None:
    """The check table (or JSON) and its verdict; exit 1 on a mismatch (``check``, ``trace --check``)."""
    from .report import check_json, check_table

    if as_json:
        print_json(check_json(g, report))
    else:
        _console().print(check_table(g, report))
        info(_verdict(report))
    if not report.ok:
        raise SystemExit(EXIT_MISMATCH)


@command("paths", help=N_("The paths from --wrt to the output: exact count, exact sum, the best ones listed."),
         examples=("graphtrace paths sample:product_rule --wrt x",))
@source_options
@wrt_option(required=True, multiple=False)
@set_option
@json_option
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=0),
              help=N_("How many paths to list, best |product| first."))
def paths_cmd(source: str | None, inline: str | None, output: str | None, wrt: str,
              assignments: tuple[str, ...], as_json: bool, top: int) -> None:
    from .report import paths_json, paths_table

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    report = g.paths_report(wrt, top=top, values=values)
    if report.n_paths == 0:
        warn(_("the output '{output}' does not depend on '{wrt}': no paths").format(output=g.output, wrt=wrt))
    if as_json:
        print_json(paths_json(g, report))
    else:
        _console().print(paths_table(g, report))


# The same tuples as graphtrace.dot.VIEWS / LEVELS (a test keeps them equal): written out here so
# that importing the CLI does not import the drawing code.
_VIEWS = ("forward", "backward", "both")
_LEVELS = ("scalar", "neuron", "layer", "array", "auto")


@command("render", help=N_(
             "Draw the graph with values, local derivatives and gradients (SVG, PNG, PDF, DOT, JSON, TeX).\n\n"
             "Works without a system Graphviz (the bundled graphviz-pure draws SVG and PNG; PDF needs the system "
             "'dot'). docs/diagrams.md in the source distribution shows every option drawn."),
         examples=("graphtrace render sample:neuron -o neuron.svg",
                   "graphtrace render sample:neuron --view backward --wrt α --symbolic -o neuron.png",
                   "graphtrace mlp 16-64-64-10 -o net.gt && graphtrace render net.gt -o net.svg",
                   "graphtrace render sample:triangle --fit slide -o triangle.png",
                   ("graphtrace render sample:neuron -o neuron.tex            ", N_("TikZ; --beamer: one overlay per step")),
                   "graphtrace render sample:symmetry_random --data sample:triangle.csv -o train.html"))
@source_options
@click.option("-o", "--out", "out", metavar="FILE", required=True,
              help=N_("The file to write; its extension picks the format: "
                      ".svg .png .pdf (images), .dot (Graphviz text), .json (the drawn graph), .html (explorer)."))
@wrt_option(multiple=False)
@set_option
@click.option("--view", type=click.Choice(_VIEWS), default="both", show_default=True,
              help=N_("forward: values; backward: gradients, arrows from the output back; both: everything."))
@click.option("--symbolic", is_flag=True, help=N_("Write each local derivative's formula too (∂z/∂s = σ(s)·(1−σ(s)) = 0.235)."))
@click.option("--show-consts", is_flag=True, help=N_("Draw constants as nodes (default: folded into their consumer, ×2)."))
@click.option("--heat", is_flag=True, help=N_("Colour and widen edges by |path flow| (from --wrt; else by the gradient they carry)."))
@click.option("--level", type=click.Choice(_LEVELS), default="auto", show_default=True,
              help=N_("Every op (scalar); networks: one node per neuron or per layer; scripts with vectors "
                      "and matrices: one node per array; or chosen by size."))
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help=N_("Graphviz: the system 'dot', the bundled graphviz-pure, or system when present."))
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help=N_("Seconds the layout may take (default 60, or GRAPHTRACE_RENDER_TIMEOUT)."))
@click.option("--force", is_flag=True, help=N_("Draw more than 3,000 nodes one by one anyway."))
@click.option("--no-edge-labels", is_flag=True, help=N_("Leave the local derivatives off the edges."))
@click.option("--no-legend", is_flag=True, help=N_("Leave out the legend of node kinds."))
@click.option("--top", default=5, show_default=True, type=click.IntRange(min=0),
              help=N_("How many paths the --wrt table lists."))
@click.option("--data", "data_path", metavar="CSV", default=None, shell_complete=_complete_source,
              help=N_("With -o PAGE.html: a data set to train on live in the explorer page (a CSV file or "
                      "sample:NAME.csv)."))
@click.option("--fit", type=click.Choice(("slide", "a4")), default=None,
              help=N_("Size the picture for a 16:9 slide (1920×1080 px) or an A4 handout: chooses the level "
                      "(unless --level is given) and the rank direction so that the smallest text stays legible "
                      "(12 px on the slide, 8 pt on paper)."))
@click.option("--beamer", is_flag=True,
              help=N_("With -o FILE.tex: a Beamer frame that walks through the explorer's steps, one overlay "
                      "per step (without it, .tex is a standalone TikZ picture)."))
def render_cmd(source: str | None, inline: str | None, output: str | None, out: str, wrt: str | None,
               assignments: tuple[str, ...], view: str, symbolic: bool, show_consts: bool, heat: bool,
               level: str, backend: str, timeout: float | None, force: bool, no_edge_labels: bool,
               no_legend: bool, top: int, data_path: str | None, fit: str | None, beamer: bool = False) -> None:
    import threading
    import time

    from .files import refuse_inputs
    from .output import format_of, save

    refuse_inputs(out, input_path(source), input_path(data_path, (".csv",)))
    ext = format_of(out)

    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    if wrt is not None:
        g.node(wrt, what="--wrt")
    options: dict[str, Any] = dict(view=view, wrt=wrt, symbolic=symbolic, show_consts=show_consts, heat=heat,
                                   level=level, values=values, edge_labels=False if no_edge_labels else None,
                                   force=force, top=top, legend=not no_legend)
    if beamer:
        options["beamer"] = True
    if data_path is not None:
        if ext != "html":
            raise UsageError(_("--data is for the explorer page: write -o PAGE.html"))
        options["data"] = read_data(data_path)
    start = time.monotonic()
    # A progress line only for renders that take over a second: quick ones stay quiet.
    timer = threading.Timer(1.0, info, args=(f"rendering {out} …",))
    timer.daemon = True
    timer.start()
    try:
        drawing = save(g, out, backend=backend, timeout=timeout, fit=fit, **options)
    finally:
        timer.cancel()
    elapsed = time.monotonic() - start
    if drawing is None:
        info(_("wrote {out}").format(out=out))
        return
    for note in drawing.notes:
        info(note)
    took = _(" in {seconds} s").format(seconds=f"{elapsed:.1f}") if elapsed >= 1.0 else ""
    info(_("wrote {out}: {level} level, {nodes} nodes, {edges} edges").format(
        out=out, level=drawing.level, nodes=f"{len(drawing.nodes):,}", edges=f"{len(drawing.edges):,}") + took)


@command("steps", help=N_(
             "The explorer's forward and backward steps as frames: slides, animations, a handout.\n\n"
             "One frame per step, in the explorer's order and with its sentences, on one fixed layout."),
         examples=(("graphtrace steps sample:neuron -o neuron-steps        ", N_("step-001.svg … and steps.md")),
                   "graphtrace steps sample:neuron -o neuron.gif --delay 700",
                   "graphtrace steps sample:neuron -o neuron.pdf --only backward --wrt α"))
@source_options
@click.option("-o", "--out", "out", metavar="OUT", required=True,
              help=N_("A folder (no extension): step-001.svg … and steps.md; OUT.gif or OUT.png: an animation; "
                      "OUT.svg: one animated SVG; OUT.pdf: a handout, one step per page."))
@click.option("--wrt", "wrt", metavar="NAME", default=None,
              help=N_("Keep only the backward steps on the paths from NAME to the output."))
@click.option("--only", type=click.Choice(("forward", "backward")), default=None,
              help=N_("Only the forward pass, or only the backward pass."))
@set_option
@click.option("--format", "frame_format", type=click.Choice(("svg", "png")), default="svg", show_default=True,
              help=N_("The pictures written into a folder."))
@click.option("--delay", type=click.IntRange(20, 60_000), default=900, show_default=True,
              help=N_("Milliseconds per frame of a GIF, animated PNG or animated SVG."))
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help=N_("Graphviz: the system 'dot', the bundled graphviz-pure, or system when present."))
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help=N_("Seconds the layout may take (default 60, or GRAPHTRACE_RENDER_TIMEOUT)."))
def steps_cmd(source: str | None, inline: str | None, output: str | None, out: str, wrt: str | None,
              only: str | None, assignments: tuple[str, ...], frame_format: str, delay: int, backend: str,
              timeout: float | None) -> None:
    import time

    from .files import refuse_inputs
    from .slides import kind_of, write_steps

    refuse_inputs(out, source)
    kind_of(out)
    start = time.monotonic()
    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    node = g.node(wrt, what="--wrt") if wrt is not None else None
    if node is not None and g.count_paths(node) == 0:
        warn(_("the output '{output}' does not depend on '{wrt}': the backward part has no edges").format(
            output=g.output, wrt=wrt))
    result = write_steps(g, out, results=g.analyse(values), wrt=node, only=only, frame_format=frame_format,
                         delay=delay, backend=backend, timeout=timeout, progress=info)
    if result.note:
        info(result.note)
    took = time.monotonic() - start
    done = dict(out=out, n=result.frames, seconds=f"{took:.1f}")
    if result.pages == "vector":
        info(_("wrote {out}: {n} pages, vector (drawn by the system Graphviz), in {seconds} s").format(**done))
    elif result.pages == "raster":
        info(_("wrote {out}: {n} pages as pictures (no system Graphviz for vector pages), in {seconds} s").format(**done))
    elif result.kind == "folder":
        info(_("wrote {out}: {n} frames ({first} …) and steps.md, in {seconds} s").format(
            first=f"step-001.{frame_format}", **done))
    else:
        info(_("wrote {out}: {n} frames, in {seconds} s").format(**done))


@command("quiz", help=N_("A worksheet: the drawing with numbered blanks and a table to fill in, and an answer key."),
         examples=("graphtrace quiz sample:neuron --ask grads,locals --seed 1 -o sheet.html --key key.json",
                   "graphtrace quiz sample:neuron --students 30 --seed 7 -o class.pdf --key class-key.json",
                   "graphtrace quiz --random --ops add,mul,sigmoid --depth 3 --seed 4 -o practice.md --key k.json"))
@source_options
@click.option("-o", "--out", "out", metavar="SHEET", required=True,
              help=N_("The worksheet: .html (drawings and tables), .md, .pdf (a page per student) or .json."))
@click.option("--key", "key", metavar="KEY.json", default=None, help=N_("Also write the answer key (JSON) here."))
@click.option("--ask", default="values,locals,grads,paths", show_default=True, metavar="KINDS",
              help=N_("What to ask for, comma-separated: values, locals, grads, paths."))
@click.option("--blank", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True,
              help=N_("The share of the cells of those kinds to blank and number."))
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help=N_("Seed of the blanks, of the students' values and of --random."))
@click.option("--students", type=click.IntRange(1, 1000), default=1, show_default=True,
              help=N_("One variant per student (s01, s02, …), each with other input values; the first has the script's."))
@click.option("--random", "random_", is_flag=True, help=N_("A fresh small expression instead of SOURCE."))
@click.option("--ops", default="add,mul,sigmoid,tanh", show_default=True, metavar="OPS",
              help=N_("With --random: the ops to build from, comma-separated registry names."))
@click.option("--depth", type=click.IntRange(1, 5), default=3, show_default=True,
              help=N_("With --random: the depth of the expression tree."))
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help=N_("Graphviz for the drawings."))
def quiz_cmd(source: str | None, inline: str | None, output: str | None, out: str, key: str | None, ask: str,
             blank: float, seed: int, students: int, random_: bool, ops: str, depth: int, backend: str) -> None:
    import time

    from .files import refuse_inputs
    from .quiz import key_document, make_quiz, random_script, write_sheet
    from .text import dumps

    start = time.monotonic()
    if os.path.splitext(out)[1].lower() not in (".html", ".md", ".pdf", ".json"):
        raise UsageError(_("cannot write a worksheet to '{path}': use .html, .md, .pdf or .json").format(path=out))
    if key is not None and not key.lower().endswith(".json"):
        raise UsageError(_("--key {key}: the answer key is JSON, give a .json file").format(key=key))
    if key is not None and os.path.abspath(key) == os.path.abspath(out):
        raise UsageError(_("--key and -o name the same file"))
    refuse_inputs(out, source)
    refuse_inputs(key, source, option="--key")
    if random_:
        if source is not None or inline is not None:
            raise UsageError(_("give either SOURCE (or -e) or --random, not both"))
        from .api import parse

        g = parse(random_script(ops=[o.strip() for o in ops.split(",") if o.strip()], depth=depth, seed=seed),
                  name="random.gt")
    else:
        g = load_graph(source, inline, output)
    quiz = make_quiz(g, ask=[a.strip() for a in ask.split(",") if a.strip()], blank=blank, seed=seed,
                     students=students)
    note = write_sheet(quiz, out, backend=backend)
    if key is not None:
        from .files import atomic_write

        atomic_write(key, dumps(key_document(quiz)) + "\n")
    took = time.monotonic() - start
    info(_("wrote {out}: {n} questions for {students} student(s)").format(out=out, n=len(quiz.questions),
                                                                         students=students)
         + (f" ({note})" if note else "") + (_("; key {key}").format(key=key) if key else "")
         + _(", in {seconds} s").format(seconds=f"{took:.1f}"))


@command("grade", help=N_(
             "Mark students' answers against a quiz's key: a score per student, and for a wrong gradient the "
             "likely mistake (a missed path, a sign) when it can be told."),
         examples=("graphtrace quiz sample:neuron --students 3 -o sheet.md --key key.json && graphtrace grade key.json key.json",))
@click.argument("key", metavar="KEY.json")
@click.argument("answers", metavar="ANSWERS.{json,csv}")
@json_option
def grade_cmd(key: str, answers: str, as_json: bool) -> None:
    from .quiz import grade, read_answers, read_key
    from .text import fmt

    doc = read_key(key)
    grades = grade(doc, read_answers(answers))
    if as_json:
        print_json({"key": os.path.basename(key), "students": [
            {"student": g.student, "score": g.score, "questions": len(g.marks), "percent": round(g.percent, 2),
             "marks": [{"question": m.question, "given": m.given, "expected": m.expected, "right": m.right,
                        "diagnosis": m.diagnosis} for m in g.marks]} for g in grades]})
        return
    texts = {str(q["id"]): q.get("text", "") for q in doc.get("questions", [])}
    for g in grades:
        click.echo(f"{g.student}: {g.score}/{len(g.marks)} ({g.percent:.1f} %)")
        for m in g.marks:
            if m.right:
                continue
            given = _("no answer") if m.given is None else fmt(m.given)
            line = "  " + _("#{q} {text}: {given}, the key says {expected}").format(
                q=m.question, text=texts.get(str(m.question), ""), given=given, expected=fmt(m.expected))
            if m.diagnosis:
                line += f": {m.diagnosis}"
            click.echo(printable(line))


@command("doctor", help=N_("Which Graphviz backends, versions and output formats this machine has."),
         examples=("graphtrace doctor",))
@json_option
def doctor_cmd(as_json: bool) -> None:
    from .render import doctor

    report = doctor()
    if as_json:
        print_json(report)
        return
    click.echo(_("backends:"))
    for b in report.get("backends", []):
        click.echo(f"  {b.get('name')}: {b.get('version')} ({b.get('executable')}); "
                   + _("formats {formats}").format(formats=", ".join(b.get("formats", []))))
    if not report.get("backends"):
        click.echo("  " + _("none found"))
    for problem in report.get("problems", []):
        click.echo("  " + _("problem: {problem}").format(problem=problem))
    click.echo(_("auto picks: {backend}").format(backend=report.get("auto") or _("nothing")))
    click.echo(_("formats:"))
    for fmt, entry in report.get("formats", {}).items():
        error = "; ".join(line.strip() for line in str(entry.get("error") or "").splitlines() if line.strip())
        click.echo(f"  {fmt}: " + (entry.get("backend") or _("unavailable: {error}").format(error=error)))
    click.echo("  " + _("dot, json: always (written without Graphviz)"))
    for key, value in report.get("env", {}).items():
        if value is not None:
            click.echo(f"{key}={value}")


@command("explore", help=N_(
             "Open the interactive explorer: step through forward and backward, click paths, edit values, train.\n\n"
             "Writes one self-contained HTML page (works offline) and opens it in the browser; the page's path "
             "is printed on stderr."),
         examples=("graphtrace explore sample:neuron",
                   "graphtrace mlp 2-3-1 -o net.gt && graphtrace data triangle -o t.csv",
                   "graphtrace explore net.gt --data t.csv"))
@source_options
@set_option
@click.option("--data", "data_path", metavar="CSV", default=None, shell_complete=_complete_source,
              help=N_("A data set whose columns are inputs of the script: adds the training view (a CSV "
                      "file or sample:NAME.csv)."))
@click.option("--wrt", "wrt", metavar="NAME", default=None, help=N_("Show this node's paths to the output first."))
@click.option("-o", "--out", "out", metavar="FILE.html", default=None,
              help=N_("Where to write the page (default: a new temporary file)."))
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help=N_("Graphviz for the one layout: the system 'dot', the bundled graphviz-pure, or either."))
@click.option("--no-open", is_flag=True, help=N_("Write the page but do not open a browser."))
@click.option("--force", is_flag=True, help=N_("Draw more than 3,000 nodes one by one anyway."))
def explore_cmd(source: str | None, inline: str | None, output: str | None, assignments: tuple[str, ...],
                data_path: str | None, wrt: str | None, out: str | None, backend: str, no_open: bool,
                force: bool) -> None:
    import os
    import tempfile
    import webbrowser
    from pathlib import Path

    from .explorer import write_html
    from .files import refuse_inputs

    refuse_inputs(out, input_path(source), input_path(data_path, (".csv",)))
    g = load_graph(source, inline, output)
    values = parse_assignments(g, assignments)
    if wrt is not None:
        g.node(wrt, what="--wrt")
    data = None
    if data_path is not None:
        data = read_data(data_path)
    if out is None:
        stem = Path(g.name).stem if g.source is not None and g.name not in ("-", "<inline>") else "graph"
        stem = "".join(c for c in stem[:40] if c.isalnum() or c in "-_") or "graph"  # a safe, short name
        fd, out = tempfile.mkstemp(prefix=f"graphtrace-{stem}-", suffix=".html")
        os.close(fd)
        try:
            write_html(g, out, values=values, data=data, wrt=wrt, backend=backend, force=force)
        except BaseException:
            os.unlink(out)
            raise
    else:
        write_html(g, out, values=values, data=data, wrt=wrt, backend=backend, force=force)
    info(_("wrote explorer page {out}").format(out=out))
    if not no_open:
        webbrowser.open(Path(out).resolve().as_uri())


@command("mlp", help=N_(
             "Write the script of a multilayer perceptron: SHAPE is the layer sizes, e.g. 2-3-1.\n\n"
             "One scalar node per operation; names show layer and neuron: w1_2_3 is the weight of layer 1 from "
             "input x2 to neuron 3, b1_3 its bias, z1_3 the weighted sum, h1_3 the activation; o is the output, "
             "y the target, L the loss. In array form (--form array, the default for --loss ce) a layer is one "
             "line, h1 = sigmoid(W1 @ x + b1), and its nodes are named W1[0,1], h1[2]."),
         examples=("graphtrace mlp 2-3-1 --seed 0 -o net.gt",
                   "graphtrace mlp 2-3-1 --init zeros -o symmetry_zeros.gt",
                   "graphtrace mlp 2-4-2-1 --activation tanh",
                   "graphtrace mlp 2-16-3 --loss ce -o multiclass.gt"))
@click.argument("shape", metavar="SHAPE")
@click.option("--activation", default="sigmoid", show_default=True, metavar="NAME",
              help=N_("Hidden layers' activation: sigmoid, tanh, relu or identity."))
@click.option("--loss", default="bce", show_default=True, metavar="NAME",
              help=N_("bce: sigmoid output and log loss; mse: linear output and 0.5*(y - o)**2; ce: the outputs "
                      "are the logits of a softmax over the classes, cross_entropy(z, y) for a class index y."))
@click.option("--init", default="random", show_default=True, metavar="NAME",
              help=N_("Initial weights: random (uniform ±1/√fan_in), zeros, xavier or he; biases start at 0."))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help=N_("Seed of the initial weights."))
@click.option("--form", default=None, metavar="array|scalar",
              help=N_("array: a matrix per layer, h1 = sigmoid(W1 @ x + b1); scalar: one line per weight "
                      "(default: array for --loss ce, else scalar)."))
@click.option("-o", "--out", "out", metavar="FILE.gt", default=None, help=N_("Write the script here (default: stdout)."))
def mlp_cmd(shape: str, activation: str, loss: str, init: str, seed: int, form: str | None, out: str | None) -> None:
    from .network import mlp_script, parse_shape

    sizes = parse_shape(shape)
    text = mlp_script(sizes, activation=activation, loss=loss, init=init, seed=seed, form=form)
    if out is None:
        click.echo(text, nl=False)
        return
    from .files import atomic_write

    atomic_write(out, text)
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    info(_("wrote {out}: a {sizes} network with {n} params").format(out=out, sizes="-".join(map(str, sizes)),
                                                                     n=n_params))
    _expect_grad(n_params)


def _expect_grad(n_params: int) -> None:
    """Say what `grad` on a generated net will do when its size makes it refuse or sample."""
    from .check import check_work
    from .errors import LimitError

    edges = 4 * n_params  # a weight is a product and a link of a sum: about four edges
    try:
        sample = check_work(n_params, edges)
    except LimitError:
        warn(_("`grad` with all {n} params would exceed GRAPHTRACE_MAX_PATH_WORK and is refused; "
               "use `grad --wrt NAME` for the gradients you want, or a smaller net").format(n=f"{n_params:,}"))
        return
    if sample is not None:
        warn(_("`grad` on this net takes finite differences on a seeded sample of about {sample} of its "
               "{n} params (--numeric-all for all, which takes longer)").format(sample=f"{sample:,}", n=f"{n_params:,}"))


@command("data", help=N_(
             "Write a toy data set as CSV (x1,x2,y): triangle, circle, xor or gauss (labels 0/1), blobs or "
             "spiral (K classes, y = 0 to K-1)."),
         examples=("graphtrace data triangle -n 200 --seed 0 -o triangle.csv",
                   "graphtrace data circle -n 500 --noise 0.05 -o circle.csv",
                   "graphtrace data blobs --classes 3 -o blobs.csv"))
@click.argument("name", metavar="NAME")
@click.option("-n", "n", default=200, show_default=True, type=int, help=N_("Number of samples."))
@click.option("--seed", default=0, show_default=True, type=int, help=N_("Seed of the samples."))
@click.option("--noise", default=0.0, show_default=True, type=float,
              help=N_("Gaussian noise on the features, as a fraction of the data set's half-width (0 to 1)."))
@click.option("--classes", "classes", type=int, default=None, metavar="K",
              help=N_("Number of classes of blobs and spiral (2 to 10; default 3); y holds the class index."))
@click.option("-o", "--out", "out", metavar="FILE.csv", default=None, help=N_("Write the CSV here (default: stdout)."))
def data_cmd(name: str, n: int, seed: int, noise: float, classes: int | None, out: str | None) -> None:
    from .data import make_dataset, write_csv

    text = write_csv(make_dataset(name, n, seed=seed, noise=noise, classes=classes))
    if out is None:
        click.echo(text, nl=False)
        return
    from .files import atomic_write

    atomic_write(out, text)
    info(_("wrote {out}: {n} samples of '{name}'").format(out=out, n=n, name=name))


@command("train", help=N_(
             "Mini-batch gradient descent on the script's params; the script is the per-sample loss.\n\n"
             "Each batch is one evaluation of the graph with arrays as input values. Prints the final loss and "
             "the training accuracy (for a 0/1 or ±1 target y)."),
         examples=("graphtrace mlp 2-3-1 --seed 0 -o net.gt",
                   "graphtrace data triangle -n 200 --seed 0 -o triangle.csv",
                   "graphtrace train net.gt --data triangle.csv --seed 0 -o trained.gt --plot trained.png",
                   "graphtrace train net.gt --data triangle.csv --plot slide.png --size 16x9 --dpi 120"))
@source_options
@click.option("--data", "data_path", metavar="FILE.csv", required=True, shell_complete=_complete_source,
              help=N_("Training data: one column per input of the script (header names = input names); "
                      "a CSV file or sample:NAME.csv."))
@click.option("--lr", type=float, default=None, help=N_("Learning rate (default 0.5)."))
@click.option("--epochs", type=click.IntRange(min=0), default=None, help=N_("Passes over the data (default 300)."))
@click.option("--batch", type=click.IntRange(min=1), default=None, help=N_("Samples per gradient step (default 10)."))
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help=N_("Seed of the shuffling."))
@click.option("--predict", "predict_name", metavar="NAME", default=None,
              help=N_("The prediction node for accuracy and plots (default: o, else the last named node "
                      "that does not depend on y)."))
@click.option("--threshold", type=float, default=None,
              help=N_("Count a sample positive when the prediction is ≥ this (default 0.5; 0 for ±1 labels)."))
@click.option("-o", "--out", "out", metavar="TRAINED.gt", default=None,
              help=N_("Write the script with the trained param values (comments and layout kept)."))
@click.option("--plot", "plot", metavar="OUT.png|svg", default=None,
              help=N_("Draw the loss curve and, for two features, the decision boundary."))
@click.option("--size", "plot_size", metavar="WxH", default=None,
              help=N_("--plot's size in inches (default 12x5; a 16:9 slide: --size 16x9 --dpi 120 is 1920×1080 px)."))
@click.option("--dpi", "plot_dpi", type=float, default=None, metavar="N",
              help=N_("--plot's resolution in dots per inch (default 160)."))
@click.option("--save-every", "save_every", type=click.IntRange(min=1), default=None, metavar="N",
              help=N_("Also write -o every N epochs (a checkpoint)."))
@json_option
def train_cmd(source: str | None, inline: str | None, output: str | None, data_path: str, lr: float | None,
              epochs: int | None, batch: int | None, seed: int, predict_name: str | None, out: str | None,
              plot: str | None, save_every: int | None, as_json: bool, threshold: float | None,
              plot_size: str | None = None, plot_dpi: float | None = None) -> None:
    import os

    from . import training
    from .files import atomic_write

    plot_fmt = None
    if plot is not None:
        plot_fmt = os.path.splitext(plot)[1].lower().lstrip(".")
        if plot_fmt not in ("png", "svg"):
            raise UsageError(_("--plot '{plot}': the file must end in .png or .svg").format(plot=plot))
    if (plot_size is not None or plot_dpi is not None) and plot is None:
        raise UsageError(_("--size and --dpi size the training plot: add --plot OUT.png"))
    size = training.plot_size(plot_size, plot_dpi) if plot is not None else None
    if save_every is not None and out is None:
        raise UsageError(_("--save-every needs -o TRAINED.gt to know where to write"))
    if threshold is not None and not math.isfinite(threshold):
        raise UsageError(_("--threshold must be a finite number, got {threshold}").format(threshold=threshold))
    from .files import refuse_inputs

    script_file, data_file = input_path(source), input_path(data_path, (".csv",))
    refuse_inputs(out, script_file, data_file)
    refuse_inputs(plot, script_file, data_file, out, option="--plot")
    g = load_graph(source, inline, output)
    dataset = read_data(data_path)
    lr = training.DEFAULT_LR if lr is None else lr
    epochs = training.DEFAULT_EPOCHS if epochs is None else epochs
    batch = training.DEFAULT_BATCH if batch is None else batch
    text = g.source.text if g.source is not None else ""

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = _console(stderr=True)
    with Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                  TimeRemainingColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task("train", total=max(1, epochs), status="")

        def progress(p: Any) -> None:
            if p.epoch_done:
                bar.update(task, completed=p.epoch, status=f"epoch {p.epoch}/{p.epochs} loss {p.loss:.4g}")
                if save_every is not None and out is not None and p.epoch % save_every == 0:
                    atomic_write(out, training.substitute_params(text, g, p.params))

        result = training.train(g, dataset, lr=lr, epochs=epochs, batch=batch, seed=seed,
                                callback=progress, predict_name=predict_name, threshold=threshold)
    for w in result.warnings:
        if w not in g.warnings():  # load_graph already showed the script's own warnings
            warn(w)
    picture = None
    if plot is not None and plot_fmt is not None:  # drawn before anything is written: all or nothing
        picture = training.plot_training(result, dataset, fmt=plot_fmt, title=_("{script} on {data}").format(script=g.name, data=dataset.name),
                                         size=size[0] if size else None, dpi=size[1] if size else None)
    if out is not None:
        atomic_write(out, result.script)
        info(_("wrote {out}").format(out=out))
    if plot is not None and picture is not None:
        atomic_write(plot, picture)
        info(_("wrote {out}").format(out=plot))
    if as_json:
        def finite(x: float) -> float | None:
            return x if math.isfinite(x) else None

        print_json({"loss": finite(result.loss), "accuracy": result.accuracy, "predict": result.predict,
                    **({"classes": result.classes} if result.classes else {}), "epochs": result.epochs, "lr": result.lr, "batch": result.batch, "seed": result.seed,
                    "samples": len(dataset), "history": [finite(h) for h in result.history],
                    "accuracy_history": result.accuracy_history, "params": result.params,
                    "warnings": result.warnings})
        return
    acc = ""
    if result.accuracy is not None:
        right = round(result.accuracy * len(dataset))
        shown = (_("the largest of {k} logits").format(k=len(result.classes)) if result.classes
                 else _("prediction '{name}'").format(name=result.predict))
        acc = _(", accuracy {accuracy} % ({right}/{n}, {shown})").format(
            accuracy=f"{100 * result.accuracy:.1f}", right=right, n=len(dataset), shown=shown)
    click.echo(_("final loss {loss}").format(loss=f"{result.loss:.4g}") + acc)
    info(_("{epochs} epochs of {n} samples, lr {lr}, batch {batch}, seed {seed}: {seconds} s").format(
        epochs=result.epochs, n=len(dataset), lr=f"{result.lr:g}", batch=result.batch, seed=result.seed,
        seconds=f"{result.seconds:.1f}"))


@command("samples", help=N_(
             "The bundled samples: list them, print one, or copy them into a folder.\n\n"
             "Without arguments, one line per sample. Every command also reads a sample where it reads a file: "
             "SOURCE sample:neuron, --data sample:triangle.csv (the extension may be left out when the name is "
             "unique for the command). A NAME without extension copies every file of that name (triangle: "
             "triangle.gt and triangle.csv)."),
         examples=("graphtrace samples",
                   "graphtrace samples neuron",
                   "graphtrace samples neuron triangle -o course",
                   "graphtrace samples --all -o samples"))
@click.argument("names", nargs=-1, metavar="[NAME]...", shell_complete=lambda ctx, param, incomplete: [
    n for f in _sample_names() for n in (f, f.rsplit(".", 1)[0]) if n.startswith(incomplete)])
@click.option("-o", "--out", "out", metavar="DIR", default=None,
              help=N_("Copy the named samples into this folder (created if missing)."))
@click.option("--all", "all_", is_flag=True, help=N_("Copy every sample (with -o DIR)."))
@click.option("--force", is_flag=True, help=N_("Replace a file in DIR that differs from the sample (an edited copy)."))
def samples_cmd(names: tuple[str, ...], out: str | None, all_: bool, force: bool) -> None:
    from .bundled import SAMPLES, copy_samples, files_for, samples_dir

    if all_:
        if names:
            raise UsageError(_("give NAMEs or --all, not both"))
        names = tuple(SAMPLES)
    if not names:
        if out is not None:
            raise UsageError(_("name the samples to copy, or --all"))
        width = max(len(f) for f in SAMPLES)
        for f, about in SAMPLES.items():
            click.echo(f"{f:<{width}}  {_(about)}")
        info(_("use one as sample:NAME (graphtrace grad sample:neuron), or copy it with "
               "graphtrace samples NAME -o DIR"))
        return
    if out is None:
        files = files_for(names)
        if len(files) > 1:
            raise UsageError(_("{files}: name one file to print it, or copy them with -o DIR").format(files=", ".join(files)))
        click.echo((samples_dir() / files[0]).read_text(encoding="utf-8"), nl=False)
        return
    written = copy_samples(names, out, force=force)
    info(ngettext("copied {n} file into {out}: {names}", "copied {n} files into {out}: {names}", len(written)).format(
        n=len(written), out=out, names=", ".join(p.name for p in written)))


def _sample_names() -> list[str]:
    from .bundled import SAMPLES

    return list(SAMPLES)


@command("demo", help=N_(
             "Reproduce every section of the course into a folder, with an index.html to open.\n\n"
             "Per section: the script, forward and backward diagrams, the gradient table, the paths, training "
             "plots where it trains, and an interactive explorer page."),
         examples=("graphtrace demo",
                   "graphtrace demo -o course --section 10 --section 12"))
@click.option("-o", "--out", "out", metavar="DIR", default="graphtrace-demo", show_default=True,
              help=N_("The folder to write into (created if missing; other files in it are left alone)."))
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help=N_("The Graphviz backend for the diagrams."))
@click.option("--section", "sections", type=click.IntRange(1, 13), multiple=True,
              help=N_("Only this course section (repeatable; default: all thirteen: the course's twelve and K classes)."))
def demo_cmd(out: str, backend: str, sections: tuple[int, ...]) -> None:
    import time

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from .demo import run_demo

    start = time.monotonic()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("demo", total=len(sections) or 12)

        def progress(section: Any, k: int, total: int) -> None:
            bar.update(task, completed=k, description=f"§{section.number} {_(section.title)}")

        result = run_demo(out, backend=backend, sections=sections or None, progress=progress)
        bar.update(task, completed=len(sections) or 12)
    for number, notes in sorted(result.notes.items()):
        for note in notes:
            info(f"§{number}: {note}")
    click.echo(_("wrote {n} files into {out}/ in {seconds} s; open {index}").format(
        n=result.count, out=out, seconds=f"{time.monotonic() - start:.1f}", index=result.index))


@command("trace", help=N_(
             "RUN a Python program and analyse the graph of the micrograd-style Value it computes.\n\n"
             "This command EXECUTES PROGRAM.py as Python (like `python PROGRAM.py`): run only code you trust. "
             "(.gt scripts are never run; only this command runs code.) While it runs, `from micrograd.engine "
             "import Value` and `from micrograd.nn import MLP` give graphtrace's traced classes; numpy object "
             "arrays of Values and graphtrace.from_torch(...) graphs work too. What the program prints goes to "
             "stdout (to stderr with --json). Then the Value's graph is shown as `grad` shows a script: every "
             "gradient as path sum, backprop and finite differences (and PyTorch's, for graphs from from_torch)."),
         examples=("graphtrace trace sample:micrograd_readme.py",
                   "graphtrace trace sample:micrograd_readme.py --paths a -o readme.html",
                   "graphtrace trace sample:micrograd_demo.py --to-script -o demo.gt",
                   "graphtrace trace sample:torch_mlp.py --check --json"))
@click.argument("program", metavar="PROGRAM.py", shell_complete=_complete_source)
@click.argument("args", nargs=-1, metavar="[-- ARGS]...")
@functools.partial(node_option, help_text=N_("The variable (or graph node) to analyse (default: the Value last "
                                             "passed to .backward(), else the last Value assigned at module level)."))
@wrt_option()
@json_option
@click.option("--tol", default=1e-6, show_default=True, help=N_("Tolerance of the check."))
@click.option("--no-numeric", is_flag=True, help=N_("Skip finite differences."))
@click.option("--check", "check_mode", is_flag=True, help=N_("Print the check table; exit 1 on a mismatch."))
@click.option("--paths", "paths_wrt", metavar="NAME", default=None,
              help=N_("List the paths from NAME to the output instead (as `graphtrace paths --wrt NAME`)."))
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=0), help=N_("How many paths --paths lists."))
@click.option("-o", "--out", "out", metavar="FILE", default=None,
              help=N_("Also draw the graph into FILE (.svg .png .pdf .dot .json .html); with --to-script, "
                      "the .gt script to write."))
@click.option("--to-script", is_flag=True,
              help=N_("Write the traced graph as a .gt script (to -o FILE, else stdout) instead of a table."))
@click.option("--view", type=click.Choice(_VIEWS), default="both", show_default=True, help=N_("Drawing view (with -o)."))
@click.option("--symbolic", is_flag=True, help=N_("Drawing: write each local derivative's formula too."))
@click.option("--show-consts", is_flag=True, help=N_("Drawing: draw constants as nodes."))
@click.option("--heat", is_flag=True, help=N_("Drawing: colour edges by |path flow|."))
@click.option("--level", type=click.Choice(_LEVELS), default="auto", show_default=True,
              help=N_("Drawing: every op (scalar), one node per neuron or per layer, or chosen by size."))
@click.option("--backend", type=click.Choice(("auto", "system", "bundled")), default="auto", show_default=True,
              help=N_("Graphviz backend for drawings."))
@click.option("--force", is_flag=True, help=N_("Draw more than 3,000 nodes one by one anyway."))
@numeric_all_option
def trace_cmd(program: str, args: tuple[str, ...], output: str | None, wrt: tuple[str, ...], as_json: bool,
              tol: float, no_numeric: bool, check_mode: bool, paths_wrt: str | None, top: int, out: str | None,
              to_script: bool, view: str, symbolic: bool, show_consts: bool, heat: bool, level: str,
              backend: str, force: bool, numeric_all: bool) -> None:
    from .trace_run import run_program, traced_output

    if out is not None and not to_script:
        from .output import format_of

        format_of(out)
    if as_json and to_script:
        raise UsageError(_("--json and --to-script both write to stdout; choose one"))
    quiet = as_json or (to_script and out is None)
    run = run_program(input_path(program, (".py",)) or program, args, stdout=sys.stderr if quiet else None,
                      label=program if program.startswith("sample:") else None)
    g = traced_output(run, output)
    for w in g.warnings():
        warn(w)
    if to_script:
        from .files import atomic_write
        from .trace import to_script as script_of

        text = script_of(g, title=f"traced from {program} by graphtrace trace; output {g.output}")
        if out is None:
            click.echo(text, nl=False)
        else:
            atomic_write(out, text)
            info(_("wrote {out}: {n} nodes as a script").format(out=out, n=f"{g.core.number_of_nodes():,}"))
        return
    if paths_wrt is not None:
        g.node(paths_wrt, what="--paths")
    if out is not None:
        from .output import save

        drawing = save(g, out, backend=backend, view=view, wrt=paths_wrt, symbolic=symbolic,
                       show_consts=show_consts, heat=heat, level=level, force=force)
        if drawing is not None:
            for note in drawing.notes:
                info(note)
        info(_("wrote {out}").format(out=out))
    if paths_wrt is not None:
        from .report import paths_json, paths_table

        preport = g.paths_report(paths_wrt, top=top)
        if as_json:
            print_json(paths_json(g, preport))
        else:
            _console().print(paths_table(g, preport))
        return
    targets = list(wrt) if wrt else g.default_wrt()
    if wrt and hasattr(g, "expand"):  # --wrt W: every element of a tensor or array
        targets = g.expand(wrt)
    with progress_bar() as progress:
        report = g.check(targets, tol=tol, numeric=not no_numeric, numeric_all=numeric_all, progress=progress)
    if check_mode:
        _print_check(g, report, as_json)
        return
    from .report import grad_json, grad_table

    if as_json:
        print_json(grad_json(g, report))
    else:
        _console().print(grad_table(g, report))


# ---- entry point ------------------------------------------------------------------------------
class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so temporary files and Graphviz children go."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: Any) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """While a command runs, SIGTERM and SIGHUP raise :class:`Terminated` (main thread only)."""
    import signal
    import threading

    wanted = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in wanted}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stdout_failed(exc: OSError) -> int:
    """Standard output cannot take the result (a full disk, a closed pipe): say so, exit 2."""
    import os

    reason = exc.strerror or str(exc)
    try:
        click.echo(_("error: cannot write to standard output: {reason}").format(reason=reason), err=True)
    except OSError:
        pass
    with contextlib.suppress(OSError, ValueError):  # nothing more may reach it at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_BAD_INPUT


_CLICK_TRANSLATED: set[str] = set()  # the click modules whose words are graphtrace's now


def _translate_click() -> None:
    """click's usage errors in the run's language: its modules' gettext names (``_``, ``ngettext``,
    the standard library's, bound at import) become graphtrace's, once for each module (they read
    the language at each call). The ids are click's own (graphtrace.click_texts), so English stays
    click's text. Not ``click.decorators``: the help option's text is made once and kept (``_Help``
    translates it where it is shown)."""
    names = ["core", "exceptions", "parser", "types"]
    if "_GRAPHTRACE_COMPLETE" in os.environ:
        names.append("shell_completion")  # its notes on an old bash; imported only to complete
    names = [name for name in names if name not in _CLICK_TRANSLATED]
    if not names:
        return
    import importlib

    from . import click_texts

    for name in names:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = _  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = click_texts.ngettext  # type: ignore[attr-defined]
        _CLICK_TRANSLATED.add(name)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and map every outcome to the contract's exit codes."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    from .i18n import use_language

    lang = contextlib.ExitStack()  # --lang for the whole run, error messages included; then as before
    lang.enter_context(use_language(_argv_language(args)))
    _translate_click()
    try:
        with warnings.catch_warnings():
            # numpy's overflow warnings are noise here: graphtrace checks every result itself and
            # reports a non-finite one with its node and line.
            if not debug:
                warnings.simplefilter("ignore", RuntimeWarning)
            with _signals_unwind():
                rv = cli.main(args=args, prog_name="graphtrace", standalone_mode=False)
                sys.stdout.flush()  # inside: a full disk is this command's failure, not the exit's
        code = rv if isinstance(rv, int) else EXIT_OK
    except GraphtraceError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        info(_("error: {message}").format(message=exc.render()) if exc.location is None else exc.render())
        code = EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo(_("interrupted"), err=True)
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = EXIT_BAD_INPUT
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo(_("interrupted"), err=True)
        code = EXIT_INTERRUPTED
    except Terminated as exc:
        from .render import kill_children

        kill_children()
        click.echo(_("terminated"), err=True)
        code = 128 + exc.signum
    except BrokenPipeError:
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else EXIT_OK
    except OSError as exc:  # files are written through graphtrace.files: a raw OSError is stdout's
        if debug:
            raise
        code = _stdout_failed(exc)
    except Exception as exc:  # a bug in graphtrace: say so plainly
        if debug:
            raise
        click.echo(_("internal error: {kind}: {exc}").format(kind=type(exc).__name__, exc=exc) + "\n"
                   + _("This is a bug in graphtrace; rerun with --debug for the traceback and report it."),
                   err=True)
        code = EXIT_INTERNAL
    try:
        sys.stdout.flush()
    except OSError as exc:
        code = _stdout_failed(exc) if code == EXIT_OK else code
    lang.close()
    sys.exit(code)

