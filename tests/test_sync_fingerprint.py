"""Fingerprints (issue 17): an unchanged night skips every cohort part; a change is still written, history kept."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import select

from intensive_tracker.store import models as m
from tests.synckit import canonical_snapshot, course_id, demo_world, first_mark, standin, sync_in_process, write_config

PARTS_PER_NIGHT = 3 * 5  # three cohorts × people, enrolments, sessions, marks, defenses


def test_unchanged_night_skips_every_part_and_writes_nothing(tmp_path: Path, engine: Any, db_url: str) -> None:
    """A night with nothing new skips all parts and leaves every row as it was."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        assert sync_in_process(config).status == "ok"
        before = canonical_snapshot(engine)
        night = sync_in_process(config)
    assert night.status == "ok" and night.rows_written == 0
    assert night.skipped_parts == PARTS_PER_NIGHT
    assert canonical_snapshot(engine) == before


def test_full_sync_compares_every_row(tmp_path: Path, engine: Any, db_url: str) -> None:
    """`full` skips nothing, and still writes nothing when nothing changed."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        sync_in_process(config)
        sync_in_process(config)
        full = sync_in_process(config, full=True)
    assert full.skipped_parts == 0 and full.rows_written == 0
    assert full.counts["attendance"]["unchanged"] > 0


def test_changed_mark_after_skipped_nights_is_written(tmp_path: Path, engine: Any, db_url: str) -> None:
    """A mark changed in Moodle is written; the cohort's unchanged parts are still skipped."""
    world = copy.deepcopy(demo_world())
    course, attendance, session, user, status = first_mark(world, "KU-2021-H2")
    other = next(s.id for s in attendance.statuses if s.id != status)
    with standin(world) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        sync_in_process(config)
        sync_in_process(config)
        session.log[user] = other
        night = sync_in_process(config)
    assert night.counts["attendance"]["updated"] == 1
    assert night.rows_written == 2  # the mark, and the digest of its cohort's answers (a cursor)
    assert night.skipped_parts == PARTS_PER_NIGHT - 1
    label = next(s.description for s in attendance.statuses if s.id == other)
    with engine.connect() as connection:
        stored = connection.execute(
            select(m.Attendance.status_label)
            .join(m.Account, m.Account.id == m.Attendance.account_id)
            .join(m.Session, m.Session.id == m.Attendance.session_id)
            .where(m.Account.external_id == str(user), m.Session.source_key == f"att{attendance.id}:{session.id}")
        ).scalar_one()
    assert stored == label


def test_person_leaving_after_skipped_nights_is_marked_then_restored(tmp_path: Path, engine: Any, db_url: str) -> None:
    """Skipped nights do not hide a leaver: the enrolment is marked missing, and cleared when they return."""
    world = copy.deepcopy(demo_world())
    course = world.course(course_id(world, "KU-2021-H1"))
    assert course is not None
    with standin(world) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        sync_in_process(config)
        sync_in_process(config)
        leaver = course.students.pop()
        assert sync_in_process(config).marked_missing == 1
        assert sync_in_process(config).skipped_parts == PARTS_PER_NIGHT
        course.students.append(leaver)
        back = sync_in_process(config)
    assert back.counts["enrolments"]["updated"] == 1
    with engine.connect() as connection:
        missing = connection.execute(select(m.Enrolment).where(m.Enrolment.missing_since.is_not(None))).all()
    assert missing == []
