"""click's own usage errors in the run's language (graphtrace.click_texts; cli._translate_click).

click writes them through gettext names of its own; the CLI points those at graphtrace's catalog, so
under ``--lang ru`` or ``LANGUAGE=ru`` an unknown option, a missing argument, a bad value, an extra
argument or an unknown command is told in Russian, and in English it is what click wrote before,
byte for byte (the texts below were captured before the change). The exit code is 2 either way.
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from helpers import run_main

from graphtrace import click_texts
from graphtrace.i18n import _, use_language

GRAD_EN = "Usage: graphtrace grad [OPTIONS] SOURCE\nTry 'graphtrace grad --help' for help.\n\n"
GRAD_RU = "Использование: graphtrace grad [OPTIONS] SOURCE\nСправка: 'graphtrace grad --help'.\n\n"
GROUP_EN = "Usage: graphtrace [OPTIONS] COMMAND [ARGS]...\nTry 'graphtrace --help' for help.\n\n"
GROUP_RU = "Использование: graphtrace [OPTIONS] COMMAND [ARGS]...\nСправка: 'graphtrace --help'.\n\n"


def _usage(command: str, args: str, russian: bool) -> str:
    if russian:
        return f"Использование: graphtrace {command} [OPTIONS] {args}\nСправка: 'graphtrace {command} --help'.\n\n"
    return f"Usage: graphtrace {command} [OPTIONS] {args}\nTry 'graphtrace {command} --help' for help.\n\n"


# name: (arguments, English stderr as click wrote it before, Russian stderr)
CASES: dict[str, tuple[list[str], str, str]] = {
    "unknown option": (
        ["grad", "sample:neuron", "--bogus"],
        GRAD_EN + "Error: No such option '--bogus'.\n",
        GRAD_RU + "Ошибка: Нет такого параметра: '--bogus'.\n"),
    "unknown option, one suggestion": (
        ["grad", "sample:neuron", "--wrtt", "x"],
        GRAD_EN + "Error: No such option '--wrtt'. Did you mean '--wrt'?\n",
        GRAD_RU + "Ошибка: Нет такого параметра: '--wrtt'. Может быть, имелось в виду '--wrt'?\n"),
    "unknown option, suggestions": (
        ["grad", "sample:neuron", "--jsn"],
        GRAD_EN + "Error: No such option '--jsn'. (Did you mean one of: '--json', '--set'?)\n",
        GRAD_RU + "Ошибка: Нет такого параметра: '--jsn'. (Может быть, имелось в виду одно из: '--json', '--set'?)\n"),
    "missing argument": (
        ["data"],
        _usage("data", "NAME", False) + "Error: Missing argument 'NAME'.\n",
        _usage("data", "NAME", True) + "Ошибка: Не указан аргумент 'NAME'.\n"),
    "missing option": (
        ["render", "sample:neuron"],
        _usage("render", "SOURCE", False) + "Error: Missing option '-o' / '--out'.\n",
        _usage("render", "SOURCE", True) + "Ошибка: Не указан параметр '-o' / '--out'.\n"),
    "bad float": (
        ["grad", "sample:neuron", "--tol", "abc"],
        GRAD_EN + "Error: Invalid value for '--tol': 'abc' is not a valid float.\n",
        GRAD_RU + "Ошибка: Недопустимое значение для '--tol': 'abc' — не значение типа float.\n"),
    "bad integer": (
        ["data", "xor", "-n", "abc"],
        _usage("data", "NAME", False) + "Error: Invalid value for '-n': 'abc' is not a valid integer.\n",
        _usage("data", "NAME", True) + "Ошибка: Недопустимое значение для '-n': 'abc' — не значение типа integer.\n"),
    "bad choice": (
        ["steps", "sample:neuron", "-o", "out", "--format", "gif"],
        _usage("steps", "SOURCE", False) + "Error: Invalid value for '--format': 'gif' is not one of 'svg', 'png'.\n",
        _usage("steps", "SOURCE", True)
        + "Ошибка: Недопустимое значение для '--format': 'gif' — не одно из значений: 'svg', 'png'.\n"),
    "bad --lang": (
        ["--lang", "de", "samples"],
        GROUP_EN + "Error: Invalid value for '--lang': 'de' is not one of 'en', 'ru'.\n",
        GROUP_RU + "Ошибка: Недопустимое значение для '--lang': 'de' — не одно из значений: 'en', 'ru'.\n"),
    "out of range": (
        ["quiz", "sample:neuron", "-o", "sheet.html", "--depth", "9"],
        _usage("quiz", "SOURCE", False) + "Error: Invalid value for '--depth': 9 is not in the range 1<=x<=5.\n",
        _usage("quiz", "SOURCE", True) + "Ошибка: Недопустимое значение для '--depth': 9 не входит в диапазон 1<=x<=5.\n"),
    "extra argument": (
        ["grad", "sample:neuron", "extra"],
        GRAD_EN + "Error: Got unexpected extra argument (extra)\n",
        GRAD_RU + "Ошибка: Лишний аргумент (extra)\n"),
    "extra arguments": (
        ["grad", "sample:neuron", "a", "b"],
        GRAD_EN + "Error: Got unexpected extra arguments (a b)\n",
        GRAD_RU + "Ошибка: Лишние аргументы (a b)\n"),
    "option without its value": (
        ["grad", "sample:neuron", "--tol"],
        "Error: Option '--tol' requires an argument.\n",
        "Ошибка: Параметру '--tol' нужно значение.\n"),
    "a flag given a value": (
        ["grad", "sample:neuron", "--json=1"],
        "Error: Option '--json' does not take a value.\n",
        "Ошибка: Параметр '--json' не принимает значения.\n"),
    "unknown command": (
        ["grd"],
        GROUP_EN + "Error: No such command 'grd'. (Did you mean one of: 'grad', 'grade'?)\n",
        GROUP_RU + "Ошибка: Нет такой команды: 'grd'. (Может быть, имелось в виду одно из: 'grad', 'grade'?)\n"),
    "unknown command, one suggestion": (
        ["samplse"],
        GROUP_EN + "Error: No such command 'samplse'. Did you mean 'samples'?\n",
        GROUP_RU + "Ошибка: Нет такой команды: 'samplse'. Может быть, имелось в виду 'samples'?\n"),
    "unknown command, no suggestion": (
        ["bogus"],
        GROUP_EN + "Error: No such command 'bogus'.\n",
        GROUP_RU + "Ошибка: Нет такой команды: 'bogus'.\n"),
    "missing command": (
        ["--debug"],
        GROUP_EN + "Error: Missing command.\n",
        GROUP_RU + "Ошибка: Не указана команда.\n"),
}
# --lang ru added at the end would be taken as the value of a trailing option, or come after a bad --lang.
NO_LANG_FLAG = {"option without its value", "bad --lang"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_english_is_what_click_wrote(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    args, english, _russian = CASES[case]
    code, out, err = run_main(args)
    assert (code, out, err) == (2, "", english)


@pytest.mark.parametrize("case", sorted(CASES))
def test_russian_with_the_locale(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "ru")
    args, _english, russian = CASES[case]
    code, out, err = run_main(args)
    assert (code, out, err) == (2, "", russian)


@pytest.mark.parametrize("case", sorted(set(CASES) - NO_LANG_FLAG))
def test_russian_with_lang(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    args, _english, russian = CASES[case]
    code, out, err = run_main([*args, "--lang", "ru"])
    assert (code, out, err) == (2, "", russian)


def test_the_language_ends_with_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "en")
    args, english, russian = CASES["unknown option, suggestions"]
    assert run_main([*args, "--lang", "ru"])[2] == russian
    assert run_main(args)[2] == english  # click's words are graphtrace's now, and English again


def test_completion_notes_are_translated_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import click.shell_completion

    from graphtrace.cli import _translate_click

    monkeypatch.setenv("_GRAPHTRACE_COMPLETE", "bash_source")
    _translate_click()
    with use_language("ru"):
        assert click.shell_completion._("Couldn't detect Bash version, shell completion is not supported.") == \
            "Не удалось определить версию Bash, дополнение в оболочке не работает."
    with use_language("en"):
        assert click.shell_completion._("Shell completion is not supported for Bash versions older than 4.4.") == \
            "Shell completion is not supported for Bash versions older than 4.4."


# ---- the message ids are click's own -------------------------------------------------------------
OLDER_CLICK = {"No such option: {name}", "(Possible options: {possibilities})"}  # click 8.1 to 8.3


def test_the_marked_messages_are_clicks_own() -> None:
    """An id that differs from click's text by a character is never looked up: each one is in click's
    source (the installed click's, or an older click's where 8.4 changed the words)."""
    extract = pytest.importorskip("babel.messages.extract")
    found = set()
    for _file, _line, message, _comments, _context in extract.extract_from_dir(
            str(Path(click.__file__).parent), method_map=[("*.py", "python")]):
        found.update(message if isinstance(message, tuple) else (message,))
    stray = sorted(m for m in click_texts.MESSAGES if m not in found and m not in OLDER_CLICK)
    assert not stray, stray
    assert len(set(click_texts.MESSAGES)) == len(click_texts.MESSAGES)


def test_every_click_message_has_its_russian() -> None:
    with use_language("ru"):
        untranslated = [m for m in click_texts.MESSAGES if _(m) == m]
    assert not untranslated, untranslated


def test_plurals_take_englishs_form_then_translate() -> None:
    with use_language("ru"):
        assert click_texts.ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 1) \
            == "Может быть, имелось в виду {possibility}?"
        assert click_texts.ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", 2) \
            == "(Может быть, имелось в виду одно из: {possibilities}?)"
