"""The one Jinja2 environment: every page, e-mail and preview is rendered through it (autoescaped, strict)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

import templates
from intensive_tracker.i18n import _, language, ngettext, number, percent
from intensive_tracker.periods import half_year_label, launch_title, ru_date, ru_date_long
from intensive_tracker.text import district_label


def templates_dir() -> Path:
    """The folder of the templates package (shipped as package data beside the code)."""
    return Path(str(resources.files(templates)))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ru_date"] = ru_date
    env.filters["ru_date_long"] = ru_date_long
    env.filters["half_year"] = half_year_label
    env.filters["district"] = district_label  # «не распределён» in the document's language; names as they are
    env.filters["num"] = number  # «1 950»: every count a page or an e-mail shows goes through it
    env.filters["launch_title"] = lambda x, school_year: launch_title(x.term, school_year, x.cohort, x.title)
    env.filters["percent"] = percent
    env.filters["time"] = lambda value: value.strftime("%H:%M")
    # The catalog's words: {{ _("Посещено занятий") }}, {{ ngettext("{n} занятие", "{n} занятий", count) }};
    # `lang` is the document's language (the <html lang> of a page).
    env.globals["_"] = _
    env.globals["ngettext"] = ngettext
    env.globals["lang"] = language
    return env
