"""Answers digests (issue 17): a cohort whose Moodle answers are those it was last written from is not
decoded, compared or written; any change in the answers, the writer's inputs or `sync --full` reads it whole."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.base import SourceWarning
from connectors.moodle import functions as fn
from connectors.moodle.connector import StoredAnswers
from intensive_tracker.store import models as m
from tests.synckit import canonical_snapshot, course_id, demo_world, first_mark, standin, sync_in_process, write_config

COHORTS = 3
PARTS_PER_NIGHT = COHORTS * 5  # people, enrolments, sessions, marks, defenses
UNCHANGED = "ответы Moodle не изменились"
STRANGER = 987654  # marked in a session, never enrolled in the course


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every attendance answer the sync decodes."""
    seen: list[bytes] = []
    real = fn.attendance_sessions_of

    def counting(client: Any, content: bytes) -> Any:
        seen.append(content)
        return real(client, content)

    monkeypatch.setattr(fn, "attendance_sessions_of", counting)
    yield seen


def _world_with_warnings() -> Any:
    """The demo world, with a mark of a hidden status and a mark of a stranger: both give warnings."""
    world = copy.deepcopy(demo_world())
    course = world.course(course_id(world, "KU-2021-H2"))
    assert course is not None
    session = course.attendances[0].sessions[0]
    user = next(iter(session.log))
    session.log[user] = 424242
    session.log[STRANGER] = session.log[next(u for u in session.log if u not in (user,))]
    return world


def _messages(report: Any) -> list[str]:
    return sorted(w["message"] for w in report.warnings)


def test_a_night_of_unchanged_answers_decodes_no_mark_and_writes_nothing(
    tmp_path: Path, engine: Any, db_url: str, decoded: list[bytes]
) -> None:
    """The second sync: every cohort unchanged, no attendance answer decoded, no row written or changed."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        assert sync_in_process(config).status == "ok"
        first_decoded = len(decoded)
        before = canonical_snapshot(engine)
        night = sync_in_process(config)
    assert first_decoded > 0 and len(decoded) == first_decoded
    assert night.status == "ok" and night.rows_written == 0
    assert night.skipped_parts == PARTS_PER_NIGHT
    assert [r["mode"] for r in night.refresh] == ["full"] * COHORTS
    assert all(r["reason"].endswith(UNCHANGED) for r in night.refresh)
    assert canonical_snapshot(engine) == before


def test_an_unchanged_cohort_says_its_warnings_again(tmp_path: Path, engine: Any, db_url: str) -> None:
    """A hidden status and a stranger's mark are reported every night, not only the night they were written."""
    with standin(_world_with_warnings()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        first = sync_in_process(config)
        night = sync_in_process(config)
    assert any("424242" in w for w in _messages(first)) and any(str(STRANGER) in w for w in _messages(first))
    assert _messages(night) == _messages(first)
    assert night.rows_written == 0 and all(r["reason"].endswith(UNCHANGED) for r in night.refresh)


def test_one_changed_mark_reads_only_its_cohort_in_full(
    tmp_path: Path, engine: Any, db_url: str, decoded: list[bytes]
) -> None:
    """A mark changed in Moodle: its cohort's answers are decoded and the mark written; the others are not."""
    world = copy.deepcopy(demo_world())
    course, attendance, session, user, status = first_mark(world, "KU-2021-H2")
    with standin(world) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        sync_in_process(config)
        decoded.clear()
        session.log[user] = next(s.id for s in attendance.statuses if s.id != status)
        night = sync_in_process(config)
    assert len(decoded) == len(course.attendances)
    assert night.counts["attendance"]["updated"] == 1 and night.rows_written == 2  # the mark and the cursor
    assert sum(r["reason"].endswith(UNCHANGED) for r in night.refresh) == COHORTS - 1


def test_sync_full_reads_every_cohort_whole(tmp_path: Path, engine: Any, db_url: str, decoded: list[bytes]) -> None:
    """`sync --full` never trusts a stored digest: every answer decoded, every row compared, nothing written."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        sync_in_process(config)
        first_decoded = len(decoded)
        full = sync_in_process(config, full=True)
    assert len(decoded) == 2 * first_decoded
    assert full.rows_written == 0 and full.skipped_parts == 0
    assert not any(r["reason"].endswith(UNCHANGED) for r in full.refresh)


def test_new_people_overrides_read_every_cohort_whole(
    tmp_path: Path, engine: Any, db_url: str, decoded: list[bytes]
) -> None:
    """The same answers written with another `[[people.split]]` give other rows: the digests are not trusted."""
    with standin(demo_world()) as moodle:
        config = write_config(tmp_path / "config.toml", db_url=db_url, moodle_url=moodle.url)
        sync_in_process(config)
        first_decoded = len(decoded)
        with engine.connect() as connection:
            account = connection.execute(m.Account.__table__.select().limit(1)).first()
        assert account is not None
        text = config.read_text("utf-8")
        config.write_text(text + f'\n[[people.split]]\naccount = "moodle:{account.external_id}"\n', "utf-8")
        night = sync_in_process(config)
        again = sync_in_process(config)
    assert night.status == "ok" and len(decoded) > first_decoded
    assert not any(r["reason"].endswith(UNCHANGED) for r in night.refresh)
    assert all(r["reason"].endswith(UNCHANGED) for r in again.refresh)  # written with the new salt: trusted again


def test_a_stored_digest_this_version_cannot_read_means_a_full_read() -> None:
    """A cursor from another version (or damaged) is no digest at all: the cohort is read whole."""
    warning = SourceWarning(source="moodle", message="курс 7: предупреждение")
    stored = StoredAnswers("ab" * 20, [5, 9], "cd" * 20, [warning])
    assert StoredAnswers.parse(stored.dump()) == stored
    for value in (
        "",
        "not json",
        '{"digest": "x"}',
        '{"digest": "x", "profiles": "a", "profiles_digest": "", "warnings": []}',
        '["x"]',
    ):
        assert StoredAnswers.parse(value) is None
