"""click's own words, in graphtrace's catalog: the usage errors click writes for the CLI.

click translates its messages with the standard library's gettext, bound in its modules at import
(``from gettext import gettext as _``, ``from gettext import ngettext``) to a domain that has no
catalogs, so they stay English. ``graphtrace.cli`` points those names at :func:`graphtrace.i18n._`
and :func:`ngettext` below when the CLI runs; the texts are then looked up in graphtrace's catalog,
and English, which has none, is click's own text, byte for byte.

The message ids here are click's, copied from its source with their ``{fields}``; an id that
differs from click's by a character is never looked up. :data:`MESSAGES` lists the ones a
graphtrace user can meet (click 8.1 to 8.4; where versions differ, both texts): the usage errors
of parsing and converting the command line, and shell completion's notes. The help page's words
(``Usage:``, ``Options``, ``Commands``, ``Show this message and exit.``, ``default: {default}``,
``required``) are ``cli.py``'s messages, shown by its help classes. Not listed: what graphtrace
never uses (``click.Path`` and ``click.File``: files are read and written by graphtrace itself;
prompts, editors, pagers, ``Tuple``, ``DateTime``, deprecated options) and errors in a command's
definition, which are for graphtrace's developers.
"""

from __future__ import annotations

__all__ = ["MESSAGES", "ngettext"]

from .i18n import N_, _

MESSAGES: tuple[str, ...] = (
    # exceptions.py: how an error is shown, and what it says
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Invalid value: {message}"),
    # TRANSLATORS: param_hint is the option or argument in quotes: '--tol', or '-o' / '--out'.
    N_("Invalid value for {param_hint}: {message}"),
    # TRANSLATORS: click writes the option or argument after it, then a full stop: "Missing argument 'NAME'."
    N_("Missing argument"),
    N_("Missing option"),
    N_("No such option {name!r}."),
    N_("No such option: {name}"),  # click before 8.4
    N_("No such command {name!r}."),
    # A plural in click, one message per form here (see ngettext below): one possibility, or several.
    N_("Did you mean {possibility}?"),
    N_("(Did you mean one of: {possibilities}?)"),
    N_("(Possible options: {possibilities})"),  # click before 8.4
    # core.py and parser.py: parsing the command line
    N_("Missing command."),
    N_("Got unexpected extra argument ({args})"),
    N_("Got unexpected extra arguments ({args})"),
    N_("Option {name!r} does not take a value."),
    N_("Option {name!r} requires an argument."),
    N_("Option {name!r} requires {nargs} arguments."),
    # types.py: converting a value
    N_("{value!r} is not {choice}."),
    N_("{value!r} is not one of {choices}."),
    # TRANSLATORS: number_type is click's English name of the type: float, integer, integer range, float range.
    N_("{value!r} is not a valid {number_type}."),
    # TRANSLATORS: range is written as click writes it: 1<=x<=5, 0<x<=1, x>=0.
    N_("{value} is not in the range {range}."),
    # shell_completion.py: when the shell loads graphtrace's completion script
    N_("Shell completion is not supported for Bash versions older than 4.4."),
    N_("Couldn't detect Bash version, shell completion is not supported."),
)
"""click's messages a graphtrace user can meet, in click's words (translated when click shows them)."""


def ngettext(singular: str, plural: str, n: int) -> str:
    """click's ``ngettext``: English's form for ``n`` (``singular`` if n is 1), then its translation.

    Each form is a message of its own (:data:`MESSAGES`) because click's two forms name different
    fields (``{choice}`` and ``{choices}``, ``{possibility}`` and ``{possibilities}``), while a
    catalog's plural forms must all have the same ones; and no count stands next to a noun in
    them, so the Russian needs no form of its own for 2 or 5.

    >>> from graphtrace.i18n import use_language
    >>> with use_language("en"):
    ...     ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", 2)
    'Got unexpected extra arguments ({args})'
    """
    return _(singular if n == 1 else plural)
