"""The one message catalog: every word a person reads goes through `_` or `ngettext` here.

The source strings (msgids) are the Russian texts, so the code reads as the lab reads it and Russian
needs no translation; `locale/en/LC_MESSAGES/messages.po` holds the English, and
`locale/ru/LC_MESSAGES/messages.po` only the three Russian plural forms («1 занятие, 2 занятия,
5 занятий»). Both are compiled by Babel when first used; `make messages` re-extracts them.

Two languages are active at a time, for two audiences:
- the terminal (CLI output, errors, logs): `--lang`, else the environment (LANGUAGE, LC_ALL,
  LC_MESSAGES, LANG), else Russian;
- documents for others (pages, e-mails, spreadsheets, Word): `--lang`, else `[report] language`
  (Russian by default), so a server whose LANG is en_US never mails the districts in English.
Messages use `str.format` fields (`{name}`), never f-strings, so that they can be extracted.
"""

from __future__ import annotations

import gettext
import io
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path
from typing import Any, Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = ("ru", "en")
DEFAULT: Language = "ru"
DOMAIN = "messages"

# The process's language (the terminal's), and inside `using` the language of the document being written;
# a ContextVar so that a document written in one thread does not change another's words.
_process: list[Language] = [DEFAULT]
_document: ContextVar[Language | None] = ContextVar("intensive_tracker_document_language", default=None)


def locale_dir() -> Path:
    """The folder of the catalogs (package data beside this module)."""
    return Path(__file__).with_name("locale")


def parse_language(value: str | None) -> Language | None:
    """ "en", "en_US.UTF-8", "EN" → "en"; "ru_RU" → "ru"; anything else (C, POSIX, de) → None."""
    if not value:
        return None
    code = value.strip().lower()[:2]
    for lang in LANGUAGES:
        if code == lang:
            return lang
    return None


def language_from_env(environ: Mapping[str, str] | None = None) -> Language:
    """The terminal's language, read as gettext does: the first of LANGUAGE, LC_ALL, LC_MESSAGES, LANG that is set."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:
            # LANGUAGE is a priority list ("en:ru"); the others name one locale. C/POSIX mean "no choice".
            for part in value.split(":"):
                found = parse_language(part)
                if found:
                    return found
            return DEFAULT
    return DEFAULT


@cache
def translations(lang: Language) -> gettext.NullTranslations:
    """The compiled catalog of one language (read once per process)."""
    po = locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # untranslated and fuzzy entries are left out: their msgid is shown
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def language() -> Language:
    """The language messages are written in right now."""
    return _document.get() or _process[0]


def set_language(lang: Language) -> None:
    """Make `lang` the language of this process, every thread (the CLI does it once, before any command runs)."""
    _process[0] = lang


@contextmanager
def using(lang: Language) -> Iterator[None]:
    """Write in `lang` inside the block (documents for others), then go back."""
    token = _document.set(lang)
    try:
        yield
    finally:
        _document.reset(token)


def _(message: str, /, **fields: Any) -> str:
    """The message in the active language, its `{fields}` filled in."""
    text = translations(language()).gettext(message)
    return text.format(**fields) if fields else text


def ngettext(singular: str, plural: str, n: int, /, **fields: Any) -> str:
    """The plural form for `n` in the active language; `{n}` is filled with the number as people write it.

    The msgids are the Russian forms for 1 and for 5 («{n} занятие», «{n} занятий»); the Russian
    catalog adds the form for 2 («{n} занятия»).
    """
    text = translations(language()).ngettext(singular, plural, n)
    return text.format(n=number(n), **fields)


def N_(message: str, /) -> str:
    """Marks a message for the catalog where it is defined (a constant); `_` translates it where it is shown."""
    return message


def number(n: int) -> str:
    """1950 → «1 950» in Russian (a non-breaking space between thousands), «1,950» in English."""
    if language() == "en":
        return f"{n:,}"
    return f"{n:,}".replace(",", "\u00a0")


def percent(part: float) -> str:
    """0.625 → «62,5 %» in Russian, «62.5%» in English."""
    value = f"{round(100 * part, 1):g}"
    if language() == "en":
        return f"{value}%"
    return f"{value.replace('.', ',')} %"
