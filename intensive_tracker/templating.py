"""The one Jinja2 environment: every page, e-mail and preview is rendered through it (autoescaped, strict)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from intensive_tracker.periods import half_year_label, ru_date, ru_date_long
from intensive_tracker.text import percent, plural


def templates_dir() -> Path:
    return Path(str(resources.files("templates")))


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
    env.filters["plural"] = lambda n, one, few, many: f"{n} {plural(n, one, few, many)}"
    env.filters["percent"] = percent
    env.filters["time"] = lambda value: value.strftime("%H:%M")
    return env
