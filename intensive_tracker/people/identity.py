"""One person, one record: how accounts from different sources are joined into participants."""

from __future__ import annotations

import re

from intensive_tracker.people.spelling import fold

_NON_LETTERS = re.compile(r"[^\w\s-]")


def email_key(email: str | None) -> str | None:
    """Emails compare trimmed and case-insensitively (two Moodle accounts may differ only in case)."""
    if email is None:
        return None
    key = email.strip().lower()
    return key or None


def name_key(full_name: str) -> str:
    """ФИО folded for matching: case, ё/е, punctuation and spacing ignored."""
    return " ".join(_NON_LETTERS.sub(" ", fold(full_name)).split())


def initials_key(full_name: str) -> str:
    """«Иванова Анна Петровна» and «Иванова А.П.» share «иванова а п»."""
    parts = name_key(full_name.replace(".", ". ")).split()
    if not parts:
        return ""
    return " ".join([parts[0], *(p[0] for p in parts[1:3])])
