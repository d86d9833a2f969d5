"""Languages: the gettext catalogs, --lang and the locale, and what never changes with the language.

The rules checked here (README, "Languages"):
- every message the sources mark for translation (``_``, ``N_``, ``ngettext``, ``pgettext``, found by
  Babel's extractor and, for calls inside f-strings, by ``ast``) has a Russian translation, with the
  same ``{name}`` fields, and the compiled ``.mo`` is the ``.po`` compiled;
- the CLI writes no message for people as a bare string: ``warn()``, ``info()``, ``click.echo(...,
  err=True)``, ``UsageError(...)`` and ``click.BadParameter(...)`` in ``cli.py`` take a translated
  text (a literal or f-string first argument fails the test);
- the explorer script's ``say("...")`` texts are exactly :data:`graphtrace.explorer.PAGE_TEXTS`;
- numbers, names and JSON are the same in every language (``grad --json`` byte for byte).
"""

from __future__ import annotations

import ast
import gettext
import io
import json
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_main

from graphtrace import i18n
from graphtrace.i18n import _, env_language, language, ngettext, set_language, use_language

PACKAGE = ROOT / "graphtrace"
LOCALE = PACKAGE / "locale"
PO = LOCALE / "ru" / "LC_MESSAGES" / "graphtrace.po"
MO = LOCALE / "ru" / "LC_MESSAGES" / "graphtrace.mo"
POT = LOCALE / "graphtrace.pot"
KEYWORDS = {"_": (1,), "N_": (1,), "gettext": (1,), "ngettext": (1, 2), "pgettext": (2,)}


# ---- the catalog --------------------------------------------------------------------------------
def _ast_messages() -> set[str]:
    """Every literal message of a gettext call in the package, f-strings' insides included."""
    found: set[str] = set()
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS:
                k = KEYWORDS[node.func.id][0] - 1
                if len(node.args) > k and isinstance(node.args[k], ast.Constant) and isinstance(node.args[k].value, str):
                    if node.args[k].value:
                        found.add(node.args[k].value)
    return found


def _extracted() -> set[str]:
    extract = pytest.importorskip("babel.messages.extract")
    ids = set()
    for _file, _line, message, _comments, _context in extract.extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=extract.DEFAULT_KEYWORDS):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def _catalog(path: Path = PO):
    pofile = pytest.importorskip("babel.messages.pofile")
    with path.open("rb") as fh:
        return pofile.read_po(fh, locale="ru" if path == PO else None)


def test_every_message_has_a_russian_translation() -> None:
    messages = _extracted() | _ast_messages()
    cat = _catalog()
    by_id = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in cat if m.id}
    missing = sorted(m for m in messages if m not in by_id)
    assert not missing, ("not in the Russian catalog; extract and update (README, 'Languages'):\n"
                         + "\n".join(missing))
    untranslated = []
    for msgid in sorted(messages):
        m = by_id[msgid]
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if m.fuzzy or not all(s.strip() for s in strings) or (isinstance(m.id, tuple) and len(strings) != 3):
            untranslated.append(msgid)
    assert not untranslated, "no Russian translation (or fuzzy):\n" + "\n".join(untranslated)


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_translations_keep_their_fields() -> None:
    """A translation that drops or misspells a {name} field would raise at .format() or lose a number."""
    bad = []
    for m in _catalog():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set().union(*(_fields(i) for i in ids))
        for s in strings:
            try:
                got = _fields(s)
            except ValueError as exc:
                bad.append(f"{ids[0]!r}: {exc}")
                continue
            if got != want:
                bad.append(f"{ids[0]!r}: fields {sorted(got)}, expected {sorted(want)}")
    assert not bad, "\n".join(bad)


def test_the_compiled_catalog_is_the_po_compiled() -> None:
    """The .mo is committed: compiling the .po again gives the same messages (else run pybabel compile)."""
    mofile = pytest.importorskip("babel.messages.mofile")
    buf = io.BytesIO()
    mofile.write_mo(buf, _catalog())
    fresh = gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    with MO.open("rb") as fh:
        shipped = gettext.GNUTranslations(fh)
    drop = {""}  # the header carries dates
    assert {k: v for k, v in shipped._catalog.items() if k not in drop} == \
           {k: v for k, v in fresh._catalog.items() if k not in drop}, "run: pybabel compile -d graphtrace/locale -D graphtrace"


def test_the_template_lists_exactly_the_extracted_messages() -> None:
    template = {(m.id[0] if isinstance(m.id, tuple) else m.id) for m in _catalog(POT) if m.id}
    extracted = _extracted()
    assert template == extracted, ("graphtrace.pot is stale; run the extract command (README, 'Languages'): "
                                   f"new {sorted(extracted - template)[:5]}, gone {sorted(template - extracted)[:5]}")


def test_russian_plural_forms() -> None:
    with use_language("ru"):
        forms = [ngettext("{n} neuron", "{n} neurons", n).format(n=n) for n in (1, 2, 5, 11, 21, 22, 25)]
    assert forms == ["1 нейрон", "2 нейрона", "5 нейронов", "11 нейронов", "21 нейрон", "22 нейрона", "25 нейронов"]


# ---- the language choice -----------------------------------------------------------------------
@pytest.mark.parametrize(("env", "expected"), [
    ({}, "en"),
    ({"LANG": "ru_RU.UTF-8"}, "ru"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LC_ALL": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"}, "ru"),
    ({"LANGUAGE": "en", "LC_ALL": "ru_RU.UTF-8"}, "en"),           # LANGUAGE first, as gettext reads them
    ({"LANGUAGE": "de:ru", "LANG": "en_US.UTF-8"}, "ru"),          # the first one graphtrace speaks
    ({"LANGUAGE": "de", "LANG": "ru_RU.UTF-8"}, "en"),             # set, but none spoken: English
    ({"LANGUAGE": "", "LC_MESSAGES": "ru_RU", "LANG": "en_GB"}, "ru"),
])
def test_the_environment_chooses_the_language(env: dict[str, str], expected: str) -> None:
    assert env_language(env) == expected


def test_set_language_and_use_language() -> None:
    before = language()
    with use_language("ru_RU.UTF-8"):
        assert language() == "ru" and _("forward pass: values") == "прямой проход: значения"
        with use_language("en"):
            assert _("forward pass: values") == "forward pass: values"
        assert language() == "ru"
    assert language() == before
    with pytest.raises(ValueError, match="unknown language"):
        set_language("klingon")
    assert _("") == ""  # never the catalog's header


def test_the_locale_picks_russian_when_no_lang_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGUAGE", "ru")
    code, out, err = run_main(["paths", "sample:neuron", "--wrt", "α"])
    assert code == 0, err
    assert "сумма по всем путям" in out
    code, out, err = run_main(["paths", "sample:neuron", "--wrt", "α", "--lang", "en"])  # --lang wins
    assert code == 0, err
    assert "sum over all 2 paths" in out


def test_lang_as_a_group_option_and_on_a_command_and_no_leak() -> None:
    for args in (["--lang", "ru", "grad", "sample:neuron"], ["grad", "sample:neuron", "--lang=ru"]):
        code, out, err = run_main(args)
        assert code == 0, err
        assert "значение" in out and "распространение" in out and "численно" in out, out
    assert language() == "en"  # the run's language ends with the run
    code, out, err = run_main(["grad", "sample:neuron"])
    assert "backprop" in out and "значение" not in out


def test_errors_and_warnings_in_russian() -> None:
    code, out, err = run_main(["grad", "-e", "x: input = 1; y = x*x", "--set", "x=abc", "--lang", "ru"])
    assert code == 2
    assert "ошибка: --set x: «abc» — не число" in err, err
    code, out, err = run_main(["paths", "-e", "a: param = 1; b: param = 2; c = 2*a", "--wrt", "b", "--lang", "ru"])
    assert "предупреждение: выход «c» не зависит от «b»: путей нет" in err, err


def test_help_offers_lang() -> None:
    code, out, err = run_main(["demo", "--help"])
    assert code == 0 and "--lang [en|ru]" in out
    code, out, err = run_main(["--help"])
    assert code == 0 and "--lang [en|ru]" in out


# ---- what never changes with the language -------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["grad", "sample:neuron", "--json"],
    ["grad", "sample:triangle", "--json"],
    ["check", "sample:neuron", "--json"],
    ["paths", "sample:neuron", "--wrt", "α", "--json"],
])
def test_json_is_byte_identical_in_every_language(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, english, err = run_main(args)
    assert code == 0, err
    code, russian, err = run_main([*args, "--lang", "ru"])
    assert code == 0, err
    assert russian == english
    monkeypatch.setenv("LANGUAGE", "ru")
    code, from_locale, err = run_main(args)
    assert code == 0, err
    assert from_locale == english


def test_the_drawing_json_keeps_its_keys_and_numbers(tmp_path: Path) -> None:
    for sample in ("neuron", "triangle"):
        a, b = tmp_path / f"{sample}_en.json", tmp_path / f"{sample}_ru.json"
        assert run_main(["render", f"sample:{sample}", "-o", str(a)])[0] == 0
        assert run_main(["render", f"sample:{sample}", "-o", str(b), "--lang", "ru"])[0] == 0
        en, ru = json.loads(a.read_text(encoding="utf-8")), json.loads(b.read_text(encoding="utf-8"))

        def skeleton(doc: object) -> object:  # keys and numbers; texts for people may differ
            if isinstance(doc, dict):
                return {k: skeleton(v) for k, v in doc.items() if k != "label"}
            if isinstance(doc, list):
                return [skeleton(v) for v in doc]
            return doc

        assert skeleton(en) == skeleton(ru)
    assert (tmp_path / "neuron_en.json").read_bytes() == (tmp_path / "neuron_ru.json").read_bytes()


def test_english_dot_is_the_same_with_the_catalogs_loaded() -> None:
    import graphtrace

    g = graphtrace.load("sample:neuron")
    english = g.to_dot(view="backward", wrt="α")
    with use_language("ru"):
        russian = g.to_dot(view="backward", wrt="α")
    assert g.to_dot(view="backward", wrt="α") == english
    assert russian != english and russian.count("\n") == english.count("\n")


# ---- the surfaces in Russian ---------------------------------------------------------------------
def test_a_diagram_with_lang_ru_has_a_russian_legend(tmp_path: Path) -> None:
    out = tmp_path / "n.dot"
    code, _out, err = run_main(["render", "sample:neuron", "--view", "backward", "--wrt", "α", "-o", str(out),
                                "--lang", "ru"])
    assert code == 0, err
    dot = out.read_text(encoding="utf-8")
    for word in ("плейсхолдер (вход)", "переменная (вес)", "∂L/∂узел = градиент", "красным: пути от α",
                 "множители (локальные производные)", "произведение", "сумма по всем путям (2) = ∂L/∂α",
                 "обратное распространение"):
        assert word in dot, word
    for word in ("input (placeholder)", "param (variable)", "arrows point", "factors (local derivatives)"):
        assert word not in dot, word
    assert "записан" in err


def test_a_network_drawing_names_its_layers_in_russian() -> None:
    import graphtrace

    with use_language("ru"):
        dot = graphtrace.load("sample:triangle").to_dot(level="neuron")
    assert "входной слой" in dot and ("скрытый слой 1" in dot) and "выходной слой" in dot


def test_the_demo_in_russian(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, stdout, err = run_main(["demo", "--lang", "ru", "-o", str(out), "--section", "10", "--section", "12"])
    assert code == 0, err
    index = (out / "index.html").read_text(encoding="utf-8")
    readme = (out / "README.md").read_text(encoding="utf-8")
    for text in (index, readme):
        for word in ("прямой проход", "обратный проход", "функция потерь", "Один нейрон", "Инициализация весов",
                     "градиенты тремя способами", "обучение"):
            assert word in text, word
        for word in ("One neuron, forward and backward", "Weight initialisation", "forward pass: values",
                     "backward pass", "gradients three ways", "Every section of the course", "training:"):
            assert word not in text, word
    assert '<html lang="ru">' in index and "graphtrace demo --lang ru" in index
    section = out / "10-one-neuron-forward-and-backward"  # file names do not change with the language
    assert "плейсхолдер (вход)" in (section / "backward.svg").read_text(encoding="utf-8")
    assert "обратное распространение" in (section / "grad.txt").read_text(encoding="utf-8")
    page = (section / "explorer.html").read_text(encoding="utf-8")
    assert '<html lang="ru">' in page and "Прямой проход" in page and "текущий шаг" in page and '"ui":' in page
    assert "current step" not in page.split("<script")[0]
    english = tmp_path / "en"
    assert run_main(["demo", "-o", str(english), "--section", "10"])[0] == 0
    assert (english / "10-one-neuron-forward-and-backward" / "grad.json").read_bytes() == \
           (section / "grad.json").read_bytes()
    assert "прямой проход" in stdout + err or "записано файлов" in stdout


def test_training_plot_texts_in_russian(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure

    seen: list[str] = []
    real = matplotlib.figure.Figure.savefig

    def grab(self, *args, **kwargs):  # every text on the figure, as drawn
        seen.extend(t.get_text() for t in self.findobj(matplotlib.text.Text))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", grab)
    from graphtrace import load
    from graphtrace.data import make_dataset
    from graphtrace.training import plot_training, train

    with use_language("ru"):
        g = load("sample:symmetry_random")
        data = make_dataset("triangle", 60, seed=0)
        plot_training(train(g, data, epochs=3, seed=0), data, title="t")
    text = " | ".join(seen)
    for word in ("функция потерь при обучении", "эпоха", "точность на обучении", "граница решений"):
        assert word in text, text
    assert "training loss" not in text and "epoch" not in text


# ---- the explorer's script -----------------------------------------------------------------------
def _say_literals(js: str) -> set[str]:
    """The string literals in each say(...)'s first argument (ternaries included)."""
    found: set[str] = set()
    for m in re.finditer(r"\bsay\(", js):
        i, depth = m.end(), 0
        while i < len(js):
            c = js[i]
            if c == '"':
                j = i + 1
                while js[j] != '"':
                    j += 2 if js[j] == "\\" else 1
                if depth == 0:
                    found.add(json.loads(js[i:j + 1]))
                i = j + 1
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                break
            i += 1
    return found


def test_the_explorer_script_and_page_texts_agree() -> None:
    from graphtrace.explorer import PAGE_TEXTS, asset_text

    used = _say_literals(asset_text("explorer.js"))
    assert used, "no say(...) texts found"
    assert used == set(PAGE_TEXTS), (f"in explorer.js, not in PAGE_TEXTS: {sorted(used - set(PAGE_TEXTS))}; "
                                     f"in PAGE_TEXTS, unused: {sorted(set(PAGE_TEXTS) - used)}")


def test_the_page_model_carries_the_translations_only_when_needed() -> None:
    import graphtrace
    from graphtrace.explorer import build_html

    g = graphtrace.load("sample:neuron")
    english = build_html(g)
    assert '"ui":' not in english and '<html lang="en">' in english
    with use_language("ru"):
        russian = build_html(g)
    model = json.loads(re.search(r'id="gt-model">(.*?)</script>', russian, re.S).group(1))
    assert model["ui"]["step {k} / {n}"] == "шаг {k} / {n}"
    assert model["steps"][0]["phase"] == "Прямой проход"


# ---- the source rules -----------------------------------------------------------------------------
def _is_literal_text(node: ast.AST) -> bool:
    """A string (or f-string, or a + of them) that holds words: a message nobody translates."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[A-Za-z]{2}", node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_literal_text(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_literal_text(node.left) or _is_literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _is_literal_text(node.body) or _is_literal_text(node.orelse)
    return False


def test_cli_messages_are_translatable() -> None:
    """cli.py's messages for people go through _(): warn(), info(), echo to stderr, usage errors."""
    path = PACKAGE / "cli.py"
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f"{getattr(f.value, 'id', '')}.{f.attr}" if isinstance(f, ast.Attribute) else ""
        to_stderr = name == "click.echo" and any(k.arg == "err" for k in node.keywords)
        if name in ("warn", "info", "UsageError", "click.BadParameter", "click.UsageError") or to_stderr:
            if _is_literal_text(node.args[0]):
                bad.append(f"graphtrace/cli.py:{node.lineno}: {name}(...) with an untranslated text")
    assert not bad, "wrap it: _(\"... {name} ...\").format(name=...)\n" + "\n".join(bad)


_ERRORS = {"GraphtraceError", "ParseError", "GraphError", "EvaluationError", "DataError", "RenderError",
           "LimitError", "UsageError", "OutputError", "ProgramError", "TorchTraceError"}
# Texts for people that are not words to translate: commands a user types.
_NOT_WORDS = {"pip install graphviz-pure"}


def test_every_error_graphtrace_raises_is_translatable() -> None:
    """Every module: a GraphtraceError's message and hint (what a user reads on stderr, exit 2) go
    through _(). A literal or f-string there is a text no catalog can hold."""
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name not in _ERRORS:
                continue
            texts = node.args[:1] + [k.value for k in node.keywords if k.arg in ("message", "hint")]
            for text in texts:
                if isinstance(text, ast.Constant) and text.value in _NOT_WORDS:
                    continue
                if _is_literal_text(text):
                    bad.append(f"graphtrace/{path.name}:{text.lineno}: {name}({ast.unparse(text)[:60]}...)")
    assert not bad, "wrap it: _(\"... {name} ...\").format(name=...)\n" + "\n".join(bad)


def test_no_function_hides_the_translation_function() -> None:
    """`_` is gettext's: a function that calls _() must not also bind `_` (a loop's throwaway)."""
    bad = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            own = [n for n in ast.walk(fn) if n is not fn]
            inner = {id(x) for c in own if isinstance(c, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
                                                            ast.FunctionDef, ast.Lambda)) for x in ast.walk(c)}
            binds = any(isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store) and id(n) not in inner
                        for n in own)
            calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_" for n in own)
            if binds and calls:
                bad.append(f"{path.name}:{fn.lineno}: {fn.name}")
    assert not bad, bad


def test_i18n_is_cheap_and_needs_no_babel() -> None:
    code = ("import sys, graphtrace.cli, graphtrace.i18n as i; i.set_language('ru'); i._('wrt'); "
            "print(any(m == 'babel' or m.startswith('babel.') for m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"
    assert i18n.locale_dir() == PACKAGE / "locale"


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_russian_page_in_a_browser(tmp_path: Path) -> None:
    """The page's script shows its own words in Russian (from model.ui), with no script error."""
    sync_api = pytest.importorskip("playwright.sync_api")
    import graphtrace
    from graphtrace.data import make_dataset
    from graphtrace.explorer import write_html

    html, net = tmp_path / "n.html", tmp_path / "net.html"
    g = graphtrace.load("sample:neuron")
    with use_language("ru"):
        write_html(g, html)
        write_html(graphtrace.mlp([2, 2, 1], seed=0), net, data=make_dataset("triangle", 50, seed=0))
    alpha = [str(v) for v in g.order].index("α")
    args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    errors: list[str] = []

    def open_page(browser, path: Path):
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready=true]", timeout=10_000)
        return page

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = open_page(b, html)
        page.click("#gt-next")
        counter = page.text_content("#gt-counter")
        phase = page.text_content("#gt-phase")
        play = page.text_content("#gt-play")
        page.click(f"#n{alpha}")
        paths = page.text_content("#gt-paths")
        page = open_page(b, net)
        page.click("#gt-train-step")
        stats = page.text_content("#gt-train-stats")
        train = page.text_content("#gt-train-card")
        b.close()
    assert errors == [], errors
    assert re.fullmatch(r"шаг 1 / \d+", counter or ""), counter
    assert "Прямой проход" in (phase or "") and "пуск" in (play or "")
    assert "множители (локальные производные)" in (paths or "") and "сумма по всем путям" in (paths or "")
    assert "шаг 1 · функция потерь" in (stats or "")
    assert "скорость обучения" in (train or "") and "сбросить веса" in (train or "")
    for english in ("step 1", "factors (local derivatives)", "learning rate", "reset weights"):
        assert english not in (counter or "") + (paths or "") + (train or ""), english
