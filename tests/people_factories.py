"""Small hand-built data sets for the district, identity and data-quality tests: batches through run_sync."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from connectors.base import (
    AttendanceRecord,
    Batch,
    BatchFailure,
    CohortRef,
    DefenseRecord,
    EnrolmentRecord,
    PersonRecord,
    SessionRecord,
    SourceWarning,
)
from intensive_tracker.config import Settings, parse_settings
from intensive_tracker.people.districts import registry_from_settings
from intensive_tracker.sync.engine import run_sync
from intensive_tracker.sync.state import SyncReport

BASE_CONFIG = """
[[programs]]
key = "ku"
title = "Конструирование урока"
"""


def settings(extra: str = "") -> Settings:
    """Settings with one program «ku», plus the TOML given."""
    return parse_settings(tomllib.loads(BASE_CONFIG + extra), source="test-config.toml")


class ListConnector:
    """A connector that yields the batches it was given."""

    name = "moodle"

    def __init__(self, batches: list[Batch]) -> None:
        self._batches = batches

    def batches(self, cursors: Mapping[str, str]) -> Iterator[Batch | BatchFailure]:
        yield from self._batches


def utc(text: str) -> datetime:
    """ "2023-09-20 12:00" as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def person(uid: int, name: str, district: str | None, email: str | None = None, **extra: Any) -> PersonRecord:
    return PersonRecord(
        external_id=str(uid), full_name=name, email=email or f"user{uid}@example.org", district_raw=district, **extra
    )


def batch(
    cohort: str,
    people: list[PersonRecord],
    *,
    school_year: str = "2023/24",
    sessions: list[tuple[str, str, bool]] = (),  # type: ignore[assignment]
    present: Mapping[str, list[int]] | None = None,
    absent: Mapping[str, list[int]] | None = None,
    defenses: Mapping[int, str] | None = None,
    graded: str = "2023-12-20 10:00",
    enrolled: list[int] | None = None,
    warnings: list[str] = (),
) -> Batch:  # type: ignore[assignment]
    """One cohort: `sessions` = (key, UTC start, taken); `present`/`absent` = session key → user ids."""
    marks = [
        AttendanceRecord(session_key=k, external_id=str(u), status="P", present=True)
        for k, users in (present or {}).items()
        for u in users
    ]
    marks += [
        AttendanceRecord(session_key=k, external_id=str(u), status="A", present=False)
        for k, users in (absent or {}).items()
        for u in users
    ]
    listed = enrolled if enrolled is not None else [int(p.external_id) for p in people]
    return Batch(
        source="moodle",
        cohort=CohortRef(key=cohort, program="ku", title=cohort, school_year=school_year),
        people=people,
        enrolments=[EnrolmentRecord(external_id=str(u)) for u in listed],
        sessions=[
            SessionRecord(source_key=k, starts_at=utc(t), topic=f"Тема {k}", taken=taken) for k, t, taken in sessions
        ],
        attendance=marks,
        defenses=[
            DefenseRecord(
                external_id=str(u),
                outcome=o,
                grade=10.0 if o == "passed" else None,
                graded_at=utc(graded) if o != "pending" else None,
            )
            for u, o in (defenses or {}).items()
        ],
        warnings=[SourceWarning(source="moodle", message=w) for w in warnings],
    )


def sync(engine: Engine, config: Settings, batches: list[Batch]) -> SyncReport:
    """run_sync over the batches with the registry of `config`."""
    return run_sync(engine, config, registry_from_settings(config), [ListConnector(batches)])
