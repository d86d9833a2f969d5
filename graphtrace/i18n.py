"""Language: the gettext catalogs, the choice of language and the translation helpers.

Every text graphtrace writes for people goes through :func:`_` (or :func:`ngettext` where a count
decides the form, :func:`pgettext` where one English word has two meanings). Numbers, names, JSON
keys and file names never do: they are the same in every language. The catalogs are compiled
gettext files, ``graphtrace/locale/<lang>/LC_MESSAGES/graphtrace.mo``, shipped in the wheel; the
English texts are the message ids, so English needs no catalog.

The language is, first match wins: the one set by :func:`set_language` (the CLI's ``--lang``) or
:func:`use_language`; else the environment, in gettext's order: the first of ``LANGUAGE``,
``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set (``LANGUAGE`` may list several, ``ru:en``); a
language without a catalog, ``C`` or ``POSIX`` is English. This module sits on the ground floor:
it imports the standard library only, so any layer may translate, and importing it costs nothing
(a catalog is read on the first translation in that language).

>>> with use_language("en"):
...     _("forward pass"), ngettext("{n} path", "{n} paths", 2).format(n=2)
('forward pass', '2 paths')
>>> env_language({"LANGUAGE": "", "LC_ALL": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"})
'ru'
"""

from __future__ import annotations

__all__ = ["_", "N_", "ngettext", "pgettext", "LANGUAGES", "DOMAIN", "locale_dir", "language",
           "set_language", "use_language", "env_language", "normalise"]

import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "graphtrace"
"""The gettext domain: the catalogs are ``<lang>/LC_MESSAGES/graphtrace.mo``."""

LANGUAGES: tuple[str, ...] = ("en", "ru")
"""The languages graphtrace speaks; English is the source language (the message ids)."""

_ENV_ORDER = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext.find's order

_chosen: str | None = None  # set_language / use_language; None: the environment decides
_cache: dict[str, _gettext.NullTranslations] = {}


def locale_dir() -> Path:
    """The folder that holds the compiled catalogs (inside the package)."""
    return Path(__file__).resolve().with_name("locale")


def normalise(lang: str) -> str | None:
    """The language code graphtrace knows for a locale name, or None.

    >>> normalise("ru_RU.UTF-8"), normalise("EN"), normalise("C"), normalise("de_DE"), normalise("")
    ('ru', 'en', 'en', None, None)
    """
    code = lang.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    if code in ("c", "posix"):
        return "en"
    return code if code in LANGUAGES else None


def env_language(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for: the first of LANGUAGE, LC_ALL, LC_MESSAGES, LANG
    that is set, its first entry graphtrace speaks; English otherwise.

    >>> env_language({"LANGUAGE": "de:ru", "LANG": "en_US.UTF-8"}), env_language({}), env_language({"LANG": "C.UTF-8"})
    ('ru', 'en', 'en')
    """
    env = os.environ if environ is None else environ
    for var in _ENV_ORDER:
        value = env.get(var)
        if value:
            for item in value.split(":"):
                code = normalise(item)
                if code is not None:
                    return code
            return "en"
    return "en"


_env_seen: tuple[tuple[str | None, ...], str] = ((), "en")  # the environment last read, and its language


def language() -> str:
    """The language texts are written in now (``en`` or ``ru``)."""
    global _env_seen
    if _chosen is not None:
        return _chosen
    environ = os.environ
    key = tuple(environ.get(var) for var in _ENV_ORDER)  # cheap: each text asks (9,000 times in a big script)
    if key != _env_seen[0]:
        _env_seen = (key, env_language(environ))
    return _env_seen[1]


def set_language(lang: str | None) -> str:
    """Write every later text in ``lang`` (``ru``, ``en``, or a locale name such as ``ru_RU.UTF-8``);
    None goes back to the environment's choice. Returns the language now in force.

    Raises:
        ValueError: a language graphtrace has no catalog for.
    """
    global _chosen
    if lang is None:
        _chosen = None
    else:
        code = normalise(lang)
        if code is None:
            raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
        _chosen = code
    return language()


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Write texts in ``lang`` inside the block, then go back to the language before it (None:
    leave the language as it is)."""
    global _chosen
    before = _chosen
    try:
        yield set_language(lang) if lang is not None else language()
    finally:
        _chosen = before


def _catalog() -> _gettext.NullTranslations:
    lang = language()
    found = _cache.get(lang)
    if found is None:
        if lang == "en":
            found = _gettext.NullTranslations()
        else:
            found = _gettext.translation(DOMAIN, str(locale_dir()), languages=[lang], fallback=True)
        _cache[lang] = found
    return found


def _(message: str) -> str:
    """``message`` in the current language (the English text when the catalog lacks it)."""
    if not message:
        return message  # gettext("") is the catalog's header
    return _catalog().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for the count ``n`` (Russian has three: 1 путь, 2 пути, 5 путей)."""
    return _catalog().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, told apart from the same English words elsewhere by
    ``context``."""
    return _catalog().pgettext(context, message)


def N_(message: str) -> str:
    """Marks a message for extraction without translating it now (module-level tables; they are
    translated with :func:`_` where they are shown)."""
    return message
