"""Periods the lab reports by, computed in the lab's time zone (Europe/Moscow by default).

Moodle gives Unix seconds (UTC); the database keeps aware UTC datetimes; every date a person
sees is the local date. A school year runs 1 Sep – 31 Aug; its first полугодие is Sep–Dec.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from intensive_tracker.i18n import N_, _

MOSCOW = ZoneInfo("Europe/Moscow")
# A launch by its полугодие: «1-е полугодие 2023/24», «1st half-year 2023/24» (English needs the ordinal).
TERM_TITLES = {1: N_("1-е полугодие {year}"), 2: N_("2-е полугодие {year}")}


def from_unix(seconds: int | float) -> datetime:
    """Unix seconds → aware UTC datetime, as stored."""
    return datetime.fromtimestamp(seconds, tz=UTC)


def to_unix(value: datetime) -> int:
    return int(aware_utc(value).timestamp())


def utcnow() -> datetime:
    """Now, aware UTC, to the second: the form every timestamp is stored in."""
    return datetime.now(UTC).replace(microsecond=0)


def aware_utc(value: datetime) -> datetime:
    """A stored datetime as aware UTC."""
    # SQLite hands back what it was given; a naive value here is UTC by our convention.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def local(value: datetime, tz: ZoneInfo = MOSCOW) -> datetime:
    """A stored UTC datetime in the lab's zone."""
    return aware_utc(value).astimezone(tz)


def local_date(value: datetime, tz: ZoneInfo = MOSCOW) -> date:
    return local(value, tz).date()


def school_year_of(day: date) -> str:
    """1 Sep 2023 … 31 Aug 2024 → "2023/24"."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def school_year_start(label: str) -> int:
    return int(label[:4])


def term_of(day: date) -> int:
    """полугодие учебного года: 1 for Sep–Dec, 2 for Jan–Aug."""
    return 1 if day.month >= 9 else 2


def half_year_of(day: date) -> str:
    """Calendar half-year: "2024-H1" (Jan–Jun) or "2024-H2" (Jul–Dec)."""
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def half_year_label(key: str) -> str:
    """ "2024-H1" → "2024 (1 полугодие)", as the annual report writes it."""
    year, half = key.split("-H")
    return _("{year} ({half} полугодие)", year=year, half=half)


def launch_title(term: int | None, school_year: str, cohort: str, title: str | None = None) -> str:
    """A launch as people name it: «1-е полугодие 2023/24»; without a term its title, else its key."""
    if term in TERM_TITLES:
        return _(TERM_TITLES[term], year=school_year)
    if term:
        return _("{term}-е полугодие {year}", term=term, year=school_year)
    return title or cohort


def ru_date(day: date | datetime) -> str:
    """20.09.23, the report's short date."""
    return day.strftime("%d.%m.%y")


def ru_date_long(day: date | datetime) -> str:
    return day.strftime("%d.%m.%Y")
