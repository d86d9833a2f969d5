"""`--help` in the run's language: every help text is a catalog message, shown through _().

The English help is what click wrote before the texts became catalog messages (the three pages
below, byte for byte, at 80 columns); the Russian help translates the prose, every option's help,
each command's line in the group's list and click's own words (Usage, Options, Commands, the help
option's text, [default: …], [required]), and never the example command lines, option names,
metavars or choices. `--help` stays cheap in Russian too: no numpy, networkx or rich.
"""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest
from helpers import ROOT, run_main

from graphtrace.cli import _Help, cli
from graphtrace.i18n import _, ngettext, use_language

COMMANDS = sorted(cli.commands)


@pytest.fixture
def columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """click wraps help at the terminal's width: 80 columns here, whatever runs the tests."""
    monkeypatch.setenv("COLUMNS", "80")


# ---- English: byte for byte what click wrote from the docstrings ----------------------------------
ENGLISH = {
    (): """Usage: graphtrace [OPTIONS] COMMAND [ARGS]...

  graphtrace: see and check backpropagation.

  Reads a small script (a neuron, an MLP, any scalar formula), builds its
  computation graph, and computes every gradient as the sum over paths, by
  backprop and by finite differences.

  Examples:
    graphtrace samples
    graphtrace grad sample:neuron

Options:
  --version       Show the version and exit.
  --debug         Show Python tracebacks for errors.
  --lang [en|ru]  The language of the texts for people (ru, en); default: the
                  locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG). Numbers, names
                  and JSON never change.
  -h, --help      Show this message and exit.

Commands:
  grad     Every gradient three ways: sum over paths, backprop, finite...
  check    Compare path sum, backprop and finite differences; exit 1 on a...
  paths    The paths from --wrt to the output: exact count, exact sum,...
  render   Draw the graph with values, local derivatives and gradients...
  steps    The explorer's forward and backward steps as frames: slides,...
  quiz     A worksheet: the drawing with numbered blanks and a table to...
  grade    Mark students' answers against a quiz's key: a score per...
  doctor   Which Graphviz backends, versions and output formats this...
  explore  Open the interactive explorer: step through forward and...
  mlp      Write the script of a multilayer perceptron: SHAPE is the...
  data     Write a toy data set as CSV (x1,x2,y): triangle, circle, xor...
  train    Mini-batch gradient descent on the script's params; the script...
  samples  The bundled samples: list them, print one, or copy them into a...
  demo     Reproduce every section of the course into a folder, with an...
  trace    RUN a Python program and analyse the graph of the...
""",
    ("check",): """Usage: graphtrace check [OPTIONS] SOURCE

  Compare path sum, backprop and finite differences; exit 1 on a mismatch.

  Example:
    graphtrace check sample:neuron --tol 1e-8

Options:
  -e, --expr SCRIPT  An inline script instead of a file (statements separated
                     by newlines or ';').
  --of NAME          The node to differentiate (default: the last assigned
                     name).
  --output NAME      The older spelling of --of (deprecated).
  --wrt NAME         The node to differentiate with respect to (repeatable;
                     default: every param).
  --set NAME=VALUE   Override an input or param for this run (repeatable).
  --json             Print one strict JSON document.
  --tol FLOAT        Pass when the absolute or the relative error is within
                     this.  [default: 1e-06]
  --numeric-all      Finite differences for every node, however many (big nets
                     get a seeded sample otherwise; see
                     GRAPHTRACE_MAX_NUMERIC_WORK).
  --lang [en|ru]     The language of the texts for people (ru, en); default:
                     the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).
                     Numbers, names and JSON never change.
  -h, --help         Show this message and exit.
""",
    ("steps",): """Usage: graphtrace steps [OPTIONS] SOURCE

  The explorer's forward and backward steps as frames: slides, animations, a
  handout.

  One frame per step, in the explorer's order and with its sentences, on one
  fixed layout.

  Examples:
    graphtrace steps sample:neuron -o neuron-steps        # step-001.svg … and steps.md
    graphtrace steps sample:neuron -o neuron.gif --delay 700
    graphtrace steps sample:neuron -o neuron.pdf --only backward --wrt α

Options:
  -e, --expr SCRIPT               An inline script instead of a file
                                  (statements separated by newlines or ';').
  --of NAME                       The node to differentiate (default: the last
                                  assigned name).
  --output NAME                   The older spelling of --of (deprecated).
  -o, --out OUT                   A folder (no extension): step-001.svg … and
                                  steps.md; OUT.gif or OUT.png: an animation;
                                  OUT.svg: one animated SVG; OUT.pdf: a
                                  handout, one step per page.  [required]
  --wrt NAME                      Keep only the backward steps on the paths
                                  from NAME to the output.
  --only [forward|backward]       Only the forward pass, or only the backward
                                  pass.
  --set NAME=VALUE                Override an input or param for this run
                                  (repeatable).
  --format [svg|png]              The pictures written into a folder.
                                  [default: svg]
  --delay INTEGER RANGE           Milliseconds per frame of a GIF, animated
                                  PNG or animated SVG.  [default: 900;
                                  20<=x<=60000]
  --backend [auto|system|bundled]
                                  Graphviz: the system 'dot', the bundled
                                  graphviz-pure, or system when present.
                                  [default: auto]
  --timeout FLOAT RANGE           Seconds the layout may take (default 60, or
                                  GRAPHTRACE_RENDER_TIMEOUT).  [x>0]
  --lang [en|ru]                  The language of the texts for people (ru,
                                  en); default: the locale (LANGUAGE, LC_ALL,
                                  LC_MESSAGES, LANG). Numbers, names and JSON
                                  never change.
  -h, --help                      Show this message and exit.
""",
}


@pytest.mark.parametrize("command", list(ENGLISH))
def test_the_english_help_is_unchanged(command: tuple[str, ...], columns: None) -> None:
    code, out, err = run_main([*command, "--help"])
    assert code == 0, err
    assert out == ENGLISH[command]
    assert run_main([*command, "--help", "--lang", "en"])[1] == ENGLISH[command]


def test_the_help_attribute_stays_english_with_its_examples() -> None:
    """`cmd.help` is the English text (tests and tools read its examples), whatever the language."""
    with use_language("ru"):
        assert cli.commands["check"].help == ("Compare path sum, backprop and finite differences; exit 1 on a "
                                              "mismatch.\n\n\b\nExample:\n  graphtrace check sample:neuron --tol 1e-8")
        assert cli.help is not None and cli.help.startswith("graphtrace: see and check backpropagation.")


# ---- Russian ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--lang", "ru", "grad", "--help"],
    ["grad", "--help", "--lang", "ru"],
    ["grad", "--lang=ru", "-h"],
])
def test_grad_help_in_russian(args: list[str], columns: None) -> None:
    code, out, err = run_main(args)
    assert code == 0, err
    assert out.startswith("Использование: graphtrace grad [OPTIONS] SOURCE\n"), out
    assert "Каждый градиент тремя способами: сумма по путям, обратное распространение" in out
    assert "\n  Примеры:\n    graphtrace grad sample:neuron\n" in out  # a \\b paragraph: not rewrapped
    assert "    graphtrace grad -e 'x: input = 3; y = x*x'\n" in out
    assert "\nПараметры:\n" in out and "Показать эту справку и выйти." in out
    assert "[по умолчанию: 1e-06]" in out and "--lang [en|ru]" in out and "--wrt NAME" in out
    for english in ("Usage:", "Options:", "Show this message", "default:", "Examples:", "Skip finite"):
        assert english not in out, english


def test_the_locale_alone_gives_russian_help(monkeypatch: pytest.MonkeyPatch, columns: None) -> None:
    monkeypatch.setenv("LANGUAGE", "ru")
    code, out, err = run_main(["--help"])
    assert code == 0, err
    assert out.startswith("Использование: graphtrace [OPTIONS] COMMAND [ARGS]...\n")
    assert "graphtrace: увидеть и проверить обратное распространение." in out
    assert "Показать версию и выйти." in out and "\nКоманды:\n" in out
    listed = out.split("\nКоманды:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed] == list(cli.commands)  # names never change
    for line in listed:  # every command's line in Russian
        assert any("а" <= c <= "я" for c in line.split(None, 1)[1].lower()), line


def test_required_in_russian(columns: None) -> None:
    code, out, err = run_main(["render", "--help", "--lang", "ru"])
    assert code == 0, err
    assert "[обязательно]" in out and "[required]" not in out
    assert "# TikZ; --beamer: по оверлею на шаг" in out  # an example's comment is prose


@pytest.mark.parametrize("name", COMMANDS)
def test_every_help_text_has_a_russian_translation(name: str) -> None:
    """The prose, every option's help and every example's comment of each command (this runs
    against the compiled catalog, so a new help text needs its translation)."""
    cmd = cli.commands[name]
    assert isinstance(cmd, _Help)
    ctx = click.Context(cmd, info_name=name)
    with use_language("ru"):
        assert _(cmd.about) != cmd.about, cmd.about
        for example in cmd.examples:
            if isinstance(example, tuple):
                assert _(example[1]) != example[1], example
        for param in cmd.get_params(ctx):
            if isinstance(param, click.Option) and param.help:
                assert _(param.help) != param.help, f"{name} {param.opts}: {param.help}"
        assert ngettext("Example:", "Examples:", len(cmd.examples)).startswith("Пример")


@pytest.mark.parametrize("name", COMMANDS)
def test_the_examples_are_the_same_commands_in_russian(name: str, columns: None) -> None:
    """Examples are commands: the Russian help shows each English example line unchanged (a
    comment after # is translated, the command before it is not)."""
    code, out, err = run_main([name, "--help", "--lang", "ru"])
    assert code == 0, err
    for example in cli.commands[name].examples:
        command = example if isinstance(example, str) else example[0]
        assert "\n    " + command in out, command


def test_a_usage_error_shows_the_usage_line_in_russian() -> None:
    code, out, err = run_main(["grad", "--bogus", "--lang", "ru"])
    assert code == 2
    assert err.startswith("Использование: graphtrace grad [OPTIONS] SOURCE\n"), err


def test_the_russian_help_imports_neither_numpy_nor_networkx() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "LANGUAGE": "ru"}
    for args in (["--help"], ["render", "--help", "--lang", "ru"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "graphtrace", *args], capture_output=True,
                              cwd=ROOT, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
        assert "Использование:".encode() in proc.stdout
        names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.decode("utf-8", "replace").splitlines()
                 if line.startswith("import time:") and line.count("|") == 2}
        assert "graphtrace.cli" in names
        heavy = sorted(n for n in names if n.split(".")[0] in ("numpy", "networkx", "rich", "matplotlib", "babel"))
        assert not heavy, f"graphtrace {' '.join(args)} imported {heavy[:5]}"
