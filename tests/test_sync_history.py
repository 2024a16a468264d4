"""History is kept: a session deleted in Moodle and a person who left the course are marked, never erased."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from intensive_tracker.people.districts import load_registry
from intensive_tracker.periods import MOSCOW
from intensive_tracker.reports.figures import build_summary
from intensive_tracker.store import models as m
from tests.synckit import course_id, demo_world, standin, sync_in_process, write_config


def test_deleted_session_and_unenrolled_person_are_marked_not_erased(tmp_path: Path, engine: Any, db_url: str) -> None:
    """After the deletion the rows and their marks stay, with missing_since; when they come back it is cleared."""
    world = copy.deepcopy(demo_world())
    course = world.course(course_id(world, "KU-2021-H2"))
    assert course is not None
    with standin(world) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        assert sync_in_process(config).status == "ok"
        with engine.connect() as connection:
            attendance_before = connection.execute(select(func.count()).select_from(m.Attendance)).scalar_one()
        figures_before = _year_2020_21(engine)
        deleted = course.attendances[0].sessions.pop()
        leaver = course.students[0]  # has marks in other sessions: they stay, under a marked enrolment
        course.students.remove(leaver)

        report = sync_in_process(config)
        assert report.status == "ok" and report.marked_missing == 2
        with engine.connect() as connection:
            gone = connection.execute(
                select(m.Session).where(m.Session.source_key == f"att{course.attendances[0].id}:{deleted.id}")
            ).one()
            left = connection.execute(
                select(m.Enrolment)
                .join(m.Account, m.Account.id == m.Enrolment.account_id)
                .join(m.Cohort, m.Cohort.id == m.Enrolment.cohort_id)
                .where(m.Account.external_id == str(leaver), m.Cohort.key == "KU-2021-H2")
            ).one()
            attendance_after = connection.execute(select(func.count()).select_from(m.Attendance)).scalar_one()
        assert gone.missing_since is not None and left.missing_since is not None
        assert attendance_after == attendance_before  # the deleted session's marks are kept
        assert _year_2020_21(engine) == figures_before  # the past period's report does not drift

        again = sync_in_process(config)
        assert again.status == "ok" and again.marked_missing == 0 and again.rows_written == 0

        course.attendances[0].sessions.append(deleted)
        course.students.append(leaver)
        back = sync_in_process(config)
        assert back.status == "ok"
        with engine.connect() as connection:
            missing = connection.execute(
                select(func.count()).select_from(m.Session).where(m.Session.missing_since.is_not(None))
            ).scalar_one()
            missing += connection.execute(
                select(func.count()).select_from(m.Enrolment).where(m.Enrolment.missing_since.is_not(None))
            ).scalar_one()
        assert missing == 0


def _year_2020_21(engine: Any) -> tuple[int, int, int]:
    """Sessions, attendances and unique participants the report shows for 2020/21."""
    ku = next(
        p for p in build_summary(engine, load_registry(), tz=MOSCOW, now=datetime.now(MOSCOW)).programs if p.key == "ku"
    )
    year = next(y for y in ku.years if y.school_year == "2020/21")
    return len(year.sessions), year.attendances, year.unique_participants
