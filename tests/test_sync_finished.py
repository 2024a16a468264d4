"""Finished cohorts (issue 17): a night costs one grades request each; the weekly or `--full` refetch catches late changes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from intensive_tracker.app import open_connectors
from intensive_tracker.config import load_settings
from intensive_tracker.ops.status import collect_status
from intensive_tracker.people.districts import load_registry
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine
from intensive_tracker.sync.engine import run_sync
from intensive_tracker.sync.state import SyncReport
from tests.synckit import course_id, demo_world, standin, write_config

WEDNESDAY = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
THURSDAY = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
SUNDAY = datetime(2026, 12, 6, 0, 30, tzinfo=UTC)


def _sync(config: Path, now: datetime, *, full: bool = False) -> SyncReport:
    settings = load_settings(config)
    engine = make_engine(settings.database_url)
    try:
        with open_connectors(settings) as connectors:
            for c in connectors:
                c.clock = lambda: now  # type: ignore[attr-defined]
                if full:
                    c.request_full()  # type: ignore[attr-defined]
            return run_sync(engine, settings, load_registry(), connectors, full=full)
    finally:
        engine.dispose()


@contextmanager
def _world_with_finished_cohorts(tmp_path: Path, db_url: str) -> Iterator[tuple[Any, Any, Path]]:
    world = copy.deepcopy(demo_world())
    with standin(world) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url, finished_after_days=45)
        assert _sync(config, WEDNESDAY).status == "ok"
        yield world, moodle, config


def _mark(engine: Any, world: Any) -> tuple[Any, int, str]:
    course = world.course(course_id(world, "KU-2021-H2"))
    attendance = course.attendances[0]
    session = attendance.sessions[0]
    user, status = next(iter(session.log.items()))
    other = next(s for s in attendance.statuses if s.id != status)
    return session, user, other


def _stored_label(engine: Any, world: Any, user: int, session: Any) -> str:
    course = world.course(course_id(world, "KU-2021-H2"))
    key = f"att{course.attendances[0].id}:{session.id}"
    with engine.connect() as connection:
        return str(
            connection.execute(
                select(m.Attendance.status_label)
                .join(m.Account, m.Account.id == m.Attendance.account_id)
                .join(m.Session, m.Session.id == m.Attendance.session_id)
                .where(m.Account.external_id == str(user), m.Session.source_key == key)
            ).scalar_one()
        )


def test_nightly_sync_of_finished_cohorts_costs_one_request_each(tmp_path: Path, engine: Any, db_url: str) -> None:
    """A weekday night asks only grades `since` per defended cohort and skips the rest; status says so."""
    with _world_with_finished_cohorts(tmp_path, db_url) as (_, moodle, config):
        before = moodle.requests_served
        night = _sync(config, THURSDAY)
        asked = moodle.requests_served - before
    assert night.status == "ok" and night.rows_written == 0
    modes = {r["cohort"]: r["mode"] for r in night.refresh}
    assert modes == {"KU-2021-H2": "incremental", "KU-2021-H1": "incremental", "SHN-2022-23": "skipped"}
    assert asked == 1 + 2  # the site check, then one mod_assign_get_grades per defended cohort
    runs = collect_status(engine, load_settings(config))["runs"]
    assert runs[0]["cohorts_refreshed"] == {"full": 0, "incremental": 2, "skipped": 1}


def test_late_mark_in_finished_cohort_waits_for_the_weekly_refetch(tmp_path: Path, engine: Any, db_url: str) -> None:
    """A mark changed in a finished cohort is not seen on a weekday night, and is on Sunday night."""
    with _world_with_finished_cohorts(tmp_path, db_url) as (world, _, config):
        session, user, other = _mark(engine, world)
        old = _stored_label(engine, world, user, session)
        session.log[user] = other.id
        _sync(config, THURSDAY)
        assert _stored_label(engine, world, user, session) == old
        sunday = _sync(config, SUNDAY)
    assert {r["mode"] for r in sunday.refresh} == {"full"}
    assert _stored_label(engine, world, user, session) == other.description


def test_full_flag_refetches_finished_cohorts_on_a_weekday(tmp_path: Path, engine: Any, db_url: str) -> None:
    """`sync --full` fetches a finished cohort fully on any night and writes the late mark."""
    with _world_with_finished_cohorts(tmp_path, db_url) as (world, _, config):
        session, user, other = _mark(engine, world)
        session.log[user] = other.id
        full = _sync(config, THURSDAY, full=True)
    assert {r["reason"] for r in full.refresh} == {"запрошена полная загрузка («sync --full»)"}
    assert _stored_label(engine, world, user, session) == other.description


def test_new_grade_in_finished_cohort_is_fetched_the_same_night(tmp_path: Path, engine: Any, db_url: str) -> None:
    """A defense graded late is seen by the nightly `since` request, which fetches that cohort fully."""
    with _world_with_finished_cohorts(tmp_path, db_url) as (world, _, config):
        course = world.course(course_id(world, "KU-2021-H2"))
        assignment = course.assignments[0]
        newest = max(g.timemodified for g in assignment.grades)
        graded = assignment.grades[0]
        graded.grade = 0.0 if graded.grade >= 6 else 10.0
        graded.timemodified = newest + 60
        night = _sync(config, THURSDAY)
    modes = {r["cohort"]: r["mode"] for r in night.refresh}
    assert modes["KU-2021-H2"] == "full" and modes["KU-2021-H1"] == "incremental"
    assert night.counts["defenses"]["updated"] == 1
