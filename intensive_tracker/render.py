"""Jinja2 environment and the writers of the report folder (index.html, summary.json)."""

from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from intensive_tracker.periods import half_year_label, ru_date, ru_date_long
from intensive_tracker.reports import Summary, summary_json


def plural(n: int, one: str, few: str, many: str) -> str:
    """Russian plural form: 1 участник, 2 участника, 5 участников."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def templates_dir() -> Path:
    return Path(str(resources.files("templates")))


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(templates_dir()), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["ru_date"] = ru_date
    env.filters["ru_date_long"] = ru_date_long
    env.filters["half_year"] = half_year_label
    env.filters["plural"] = lambda n, one, few, many: f"{n} {plural(n, one, few, many)}"
    return env


def write_atomic(path: Path, text: str) -> None:
    """Readers never see a half-written file (the daemon renders while someone may be viewing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_site(summary: Summary, out_dir: Path, *, context: dict[str, Any] | None = None) -> Path:
    """Write the report folder; returns the path of index.html."""
    env = environment()
    index = out_dir / "index.html"
    write_atomic(index, env.get_template("report/index.html").render(summary=summary, **(context or {})))
    write_atomic(out_dir / "summary.json",
                 json.dumps(summary_json(summary), ensure_ascii=False, indent=2, sort_keys=False) + "\n")
    return index
