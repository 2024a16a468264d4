"""File names of the report site: one place, so pages, exports and summary.json link alike."""

from __future__ import annotations

import re

from intensive_tracker.text import slug


def year_page(program_key: str, school_year: str) -> str:
    """ "ku", "2023/24" → "ku-2023-24.html"."""
    return f"{slug(program_key)}-{school_year.replace('/', '-')}.html"


def is_year_page(name: str) -> bool:
    """Whether a file name has the shape `year_page` gives ("ku-2023-24.html")."""
    return re.fullmatch(r"[a-z0-9-]+-\d{4}-\d{2}\.html", name) is not None


def district_page(district: str) -> str:
    return f"districts/{slug(district)}.html"


def table_file(name: str) -> str:
    """CSV file of one exported table."""
    return f"csv/{slug(name)}.csv"


def person_page(participant_id: int) -> str:
    """A person's card in the lab's report folder: by id, so no name is in a URL or a file name."""
    return f"people/{participant_id}.html"
