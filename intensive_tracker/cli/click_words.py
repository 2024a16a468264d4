"""Click's own words («Usage:», «Options:», «No such option», «Missing argument» …) through our catalog.

Click writes them with `gettext.gettext`, which knows nothing of our catalog, so a Russian help page
said «Usage:» and «Show this message and exit.». `route_click_to_catalog` points click's modules at
`intensive_tracker.i18n` instead: click's English sentences are msgids here (listed below with `N_`
so that extraction puts them in the catalog), Russian in ru.po, the same English in en.po.

Words click computes once, when the commands are declared (the help of `--help` and `--version`),
must stay msgids until shown: `click.decorators` keeps them as they are, and the command classes of
`cli/context.py` translate every help text and metavar when the help is written, after `--lang`.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import click.types

from intensive_tracker.i18n import N_, language, ngettext, translations

# Modules of click that write words a person reads, each with `_` (and some with `ngettext`) from gettext.
TRANSLATED_MODULES = ("core", "exceptions", "formatting", "types", "parser", "termui")
# Declaration time: helps of --help/--version become msgids, translated when shown (never at import).
UNTRANSLATED_MODULES = ("decorators",)

# Click's messages we show, as click writes them (the msgids are click's English; ru.po has the Russian).
CLICK_WORDS = (
    N_("Usage:"),
    N_("Options"),
    N_("Positional arguments"),
    N_("Commands"),
    N_("Aborted!"),
    N_("Missing command."),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Invalid value: {message}"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Missing parameter"),
    N_("Missing parameter: {param_name}"),
    N_("No such option {name!r}."),
    N_("No such command {name!r}."),
    N_("unknown error"),
    N_("Could not open file {filename!r}: {message}"),
    N_("Show this message and exit."),
    N_("Show the version and exit."),
    N_("default: {default}"),
    N_("env var: {var}"),
    N_("required"),
    N_("(dynamic)"),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{value!r} is not a valid boolean. Recognized values: {states}"),
    N_("{name} {filename!r} does not exist."),
    N_("{name} {filename!r} is a file."),
    N_("{name} {filename!r} is a directory."),
    N_("{name} {filename!r} is not readable."),
    N_("{name} {filename!r} is not writable."),
    N_("{name} {filename!r} is not executable."),
    N_("Option {name!r} does not take a value."),
    N_("Argument {name!r} takes {nargs} values."),
    # Usage-line placeholders of a command and a group.
    N_("[OPTIONS]"),
    N_("COMMAND [ARGS]..."),
)

# Names of click's value types, in error messages («'x' is not a valid integer»); metavars are our own.
TYPE_NAMES = {
    click.types.StringParamType: N_("text"),
    click.types.IntParamType: N_("integer"),
    click.types.IntRange: N_("integer"),
    click.types.FloatParamType: N_("number"),
    click.types.FloatRange: N_("number"),
    click.types.BoolParamType: N_("boolean"),
}
PATH_NAMES = {"file": N_("file"), "directory": N_("directory"), "path": N_("path")}


def _plural_messages(n: int) -> list[str]:
    """Click's plural messages, for extraction only (click fills their fields itself; never called)."""
    return [
        ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})", n),
        ngettext("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments.", n),
    ]


def _gettext(message: str) -> str:
    return translations(language()).gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def _as_is(message: str) -> str:
    return message


def _possibilities(possibilities: list[str]) -> str:
    """«Возможно, '--lang'?» after an unknown option (click's own sentence has two different fields)."""
    shown = ", ".join(repr(p) for p in sorted(possibilities))
    return ngettext("(возможно, {options}?)", "(возможно, одно из: {options}?)", len(possibilities), options=shown)


def _invalid_choice(self: click.Choice[Any], value: Any, ctx: click.Context | None) -> str:
    """«'de' — не одно из значений 'ru', 'en'.» (click's own sentence has two different fields)."""
    shown = ", ".join(repr(choice) for choice in self.choices)
    return ngettext(
        "{value!r} — не {choices}.",
        "{value!r} — не одно из значений {choices}.",
        len(self.choices),
        value=value,
        choices=shown,
    )


class _TypeName:
    """A value type's name, in the language of the moment (click reads `type.name` when it writes an error)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __get__(self, obj: object, owner: type | None = None) -> str:
        return _gettext(self.message)


class _PathName:
    """click.Path's name («file», «directory», «path»), chosen as click chooses it, translated when read."""

    def __get__(self, obj: Any, owner: type | None = None) -> str:
        if obj is None:
            return PATH_NAMES["path"]
        if obj.file_okay and not obj.dir_okay:
            return _gettext(PATH_NAMES["file"])
        if obj.dir_okay and not obj.file_okay:
            return _gettext(PATH_NAMES["directory"])
        return _gettext(PATH_NAMES["path"])

    def __set__(self, obj: Any, value: str) -> None:
        pass  # click.Path.__init__ sets its name in the language of import time; it is computed when read


def route_click_to_catalog() -> None:
    """Make click write its words from our catalog in the active language (idempotent)."""
    for name in TRANSLATED_MODULES:
        module = sys.modules[f"click.{name}"]
        for attribute, function in (("_", _gettext), ("ngettext", _ngettext)):
            if hasattr(module, attribute):
                setattr(module, attribute, function)
    for name in UNTRANSLATED_MODULES:
        setattr(sys.modules[f"click.{name}"], "_", _as_is)  # noqa: B010
    exceptions = sys.modules["click.exceptions"]
    exceptions._format_possibilities = _possibilities  # type: ignore[attr-defined]
    click.types.Choice.get_invalid_choice_message = _invalid_choice  # type: ignore[method-assign]
    for kind, message in TYPE_NAMES.items():
        kind.name = _TypeName(message)  # type: ignore[assignment]
    click.types.Path.name = _PathName()  # type: ignore[assignment]
