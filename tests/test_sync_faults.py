"""Fault suite, in process: Moodle 5xx, a timeout mid-pagination, broken JSON, a database held by another writer.

Each test asserts nothing lost (the next run equals one clean run), nothing doubled, a clear message.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select, text

from intensive_tracker.cli import cli
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine
from intensive_tracker.store.locks import DatabaseBusy
from tests.synckit import (
    canonical_snapshot,
    clean_run,
    course_id,
    demo_world,
    standin,
    sync_in_process,
    write_config,
)


def _converges(db_url: str, config: Path) -> None:
    """A fault-free run after the faulty one leaves exactly what one clean run leaves."""
    report = sync_in_process(config)
    assert report.status == "ok", report.errors
    engine = make_engine(db_url)
    assert canonical_snapshot(engine) == clean_run()[0]
    engine.dispose()


def _cohort_keys(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    with engine.connect() as connection:
        keys = set(connection.execute(select(m.Cohort.key)).scalars())
    engine.dispose()
    return keys


def test_moodle_5xx_then_success_is_retried_and_loses_nothing(tmp_path: Path, db_url: str) -> None:
    """Two 503s on a user page are retried; the run ends ok with the clean run's rows and counts."""
    world = demo_world()
    target = course_id(world, "KU-2021-H1")
    failures = {"left": 2}

    def fault(wsfunction: str, params: dict[str, Any]) -> tuple[int, bytes] | None:
        if wsfunction == "core_enrol_get_enrolled_users" and int(params["courseid"]) == target and failures["left"]:
            failures["left"] -= 1
            return 503, b"<html>Service Unavailable</html>"
        return None

    with standin(world) as moodle:
        moodle.fault = fault
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        report = sync_in_process(config)
    assert failures["left"] == 0
    assert report.status == "ok" and report.errors == []
    engine = make_engine(db_url)
    assert canonical_snapshot(engine) == clean_run()[0]
    assert report.counts == clean_run()[1]
    engine.dispose()


def test_timeout_on_page_3_of_5_fails_that_cohort_only_and_the_next_run_converges(tmp_path: Path, db_url: str) -> None:
    """A read timeout on page 3 of 5 leaves no half cohort; the others commit; exit 69 names the call."""
    world = demo_world()
    target = course_id(world, "KU-2021-H1")
    course = world.course(target)
    assert course is not None
    page_size = -(-len(set(course.students) | set(course.teachers)) // 5)  # five pages
    stalled: list[int] = []

    def fault(wsfunction: str, params: dict[str, Any]) -> tuple[int, bytes] | None:
        if wsfunction == "core_enrol_get_enrolled_users" and int(params["courseid"]) == target:
            options = {o["name"]: o["value"] for o in params.get("options", [])}
            if int(options.get("limitfrom", 0)) == 2 * page_size and "onlysuspended" not in options:
                stalled.append(1)
                time.sleep(0.6)  # longer than read_timeout: the client gives up
        return None

    with standin(world) as moodle:
        moodle.fault = fault
        config = write_config(
            tmp_path / "config.toml",
            db_url=db_url,
            moodle_url=moodle.url,
            page_size=page_size,
            read_timeout=0.3,
            retries=1,
        )
        result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
        assert len(stalled) == 2  # the first try and one retry
        assert result.exit_code == 69, result.output
        assert "KU-2021-H1" in result.stderr and "не ответил на core_enrol_get_enrolled_users вовремя" in result.stderr
        assert "завершена с проблемами" in result.stdout
        assert _cohort_keys(db_url) == {"KU-2021-H2", "SHN-2022-23"}
        engine = make_engine(db_url)
        with engine.connect() as connection:
            cursors = set(connection.execute(select(m.SyncCursor.key)).scalars())
            run = connection.execute(select(m.SyncRun.status, m.SyncRun.errors)).one()
        engine.dispose()
        assert not any("KU-2021-H1" in key for key in cursors)  # no cursor ahead of its data
        assert run.status == "problems" and run.errors[0]["cohort"] == "KU-2021-H1"
        moodle.fault = None
        _converges(db_url, config)


def test_malformed_json_fails_the_cohort_with_a_clear_message(tmp_path: Path, db_url: str) -> None:
    """A truncated body is retried, then that cohort fails naming the function; nothing of it is committed."""
    world = demo_world()
    target = course_id(world, "SHN-2022-23")
    attendance_ids = {a.id for a in world.course(target).attendances}  # type: ignore[union-attr]

    def fault(wsfunction: str, params: dict[str, Any]) -> tuple[int, bytes] | None:
        if wsfunction == "mod_attendance_get_sessions" and int(params["attendanceid"]) in attendance_ids:
            return 200, b'[{"id": 12, "attendanceid": 3, "sessdate": 16'
        return None

    with standin(world) as moodle:
        moodle.fault = fault
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        report = sync_in_process(config)
        assert report.status == "problems" and report.cohorts_ok == 2 and report.cohorts_failed == 1
        assert report.errors[0]["cohort"] == "SHN-2022-23"
        assert "прислал обрезанный ответ на mod_attendance_get_sessions" in report.errors[0]["message"]
        assert moodle.calls["mod_attendance_get_sessions"] >= 2 + 2  # retried, and the other cohorts' calls
        assert _cohort_keys(db_url) == {"KU-2021-H1", "KU-2021-H2"}
        moodle.fault = None
        _converges(db_url, config)


def _hold_write_lock(db_url: str, seconds: float, ready: threading.Event) -> None:
    """Another program writing: SQLite BEGIN IMMEDIATE, PostgreSQL an exclusive table lock."""
    if db_url.startswith("sqlite"):
        engine = create_engine(db_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            ready.set()
            time.sleep(seconds)
            connection.exec_driver_sql("COMMIT")
    else:
        engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as connection:
            connection.execute(text("LOCK TABLE sync_run IN ACCESS EXCLUSIVE MODE"))
            ready.set()
            time.sleep(seconds)
            connection.commit()
    engine.dispose()


def test_database_locked_by_another_writer_waits_then_gives_a_clear_error(
    tmp_path: Path, engine: Any, db_url: str
) -> None:
    """Held past the busy timeout: exit 75 with a message saying what to do; held briefly: the sync waits."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        ready = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(db_url, 1.5, ready))
        holder.start()
        ready.wait(5)
        started = time.monotonic()
        with pytest.raises(DatabaseBusy) as caught:
            sync_in_process(config, busy_timeout_ms=300)
        waited = time.monotonic() - started
        holder.join()
        assert caught.value.exit_code == 75
        assert "держала базу заблокированной для записи дольше допустимого ожидания" in str(caught.value)
        assert "запустите синхронизацию снова" in str(caught.value)
        assert 0.25 <= waited < 1.5

        ready = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(db_url, 0.5, ready))
        holder.start()
        ready.wait(5)
        report = sync_in_process(config, busy_timeout_ms=10_000)  # outlasts the other writer
        holder.join()
    assert report.status == "ok"
    assert canonical_snapshot(engine) == clean_run()[0]


def test_second_run_over_unchanged_moodle_writes_nothing(tmp_path: Path, engine: Any, db_url: str) -> None:
    """Run twice: the second run inserts and updates nothing, and the data tables are identical."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        sync_in_process(config)
        before = canonical_snapshot(engine)
        again = sync_in_process(config)
    assert again.status == "ok" and again.rows_written == 0
    assert all(c["inserted"] == 0 and c["updated"] == 0 for c in again.counts.values())
    assert canonical_snapshot(engine) == before
