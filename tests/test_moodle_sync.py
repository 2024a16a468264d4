"""`sync` over the replayed recordings of KU-2023-H1 and SHN-2023-24 stores what the answer key says."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from intensive_tracker.cli import cli
from intensive_tracker.periods import MOSCOW, local
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine, table_snapshot
from tests.conftest import FIXTURES, _reset_postgres, recording
from tests.test_moodle_replay import BASE_URL, TOKEN, Replay

KEY = json.loads((FIXTURES / "moodle-answer-key.json").read_text("utf-8"))
SYNC_RECORDINGS = [
    "001_core_webservice_get_site_info",
    "005_core_course_get_courses_by_field__shortname_KU-2023-H1",
    "006_core_course_get_courses_by_field__shortname_SHN-2023-24",
    "010_KU-2023-H1__core_course_get_contents",
    "013_KU-2023-H1__core_enrol_get_enrolled_users__page_from0",
    "014_KU-2023-H1__core_enrol_get_enrolled_users__page_from200",
    "015_KU-2023-H1__core_enrol_get_enrolled_users__page_from400",
    "016_KU-2023-H1__core_enrol_get_enrolled_users__page_from600",
    "017_KU-2023-H1__core_enrol_get_enrolled_users__page_from800",
    "019_KU-2023-H1__core_enrol_get_enrolled_users__onlysuspended",
    "022_KU-2023-H1__mod_attendance_get_sessions",
    "027_KU-2023-H1__mod_assign_get_assignments",
    "029_KU-2023-H1__mod_assign_get_submissions",
    "031_KU-2023-H1__mod_assign_get_grades",
    "046_SHN-2023-24__core_course_get_contents",
    "049_SHN-2023-24__core_enrol_get_enrolled_users__page_from0",
    "050_SHN-2023-24__core_enrol_get_enrolled_users__page_from200",
    "051_SHN-2023-24__core_enrol_get_enrolled_users__page_from400",
    "053_SHN-2023-24__core_enrol_get_enrolled_users__onlysuspended",
    "056_SHN-2023-24__mod_attendance_get_sessions",
]
TOKEN_ENV = "INTENSIVE_TRACKER_MOODLE_TOKEN"


def write_config(tmp_path: Path, db_url: str, *, extra_moodle: str = "") -> Path:
    """A config for the two recorded courses on the replay site."""
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
database_url = "{db_url}"
[moodle]
url = "{BASE_URL}"
retries = 0
backoff = 0
finished_after_days = 0
{extra_moodle}
[[programs]]
key = "ku"
title = "Конструирование урока"
[[programs]]
key = "shn"
title = "Школа наставничества"
[[cohorts]]
key = "KU-2023-H1"
program = "ku"
course = "KU-2023-H1"
defense = "Защита методической разработки"
pass_grade = 6
[[cohorts]]
key = "SHN-2023-24"
program = "shn"
course = "SHN-2023-24"
""",
        "utf-8",
    )
    return path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def synced(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_server: str | None
) -> Iterator[tuple[Engine, Replay, Path]]:
    """One sync of the two recorded courses per database kind, shared by this module's tests (a sync takes seconds)."""
    if request.param == "sqlite":
        tmp = tmp_path_factory.mktemp("moodle_sync")
        db_url = f"sqlite:///{tmp / 'tracker.db'}"
    else:
        if postgres_server is None:
            pytest.skip("PostgreSQL runs with CI=true or INTENSIVE_TRACKER_TEST_PG=<admin url>")
        _reset_postgres(postgres_server)
        tmp, db_url = tmp_path_factory.mktemp("moodle_sync_pg"), postgres_server
    with pytest.MonkeyPatch.context() as mp, responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mp.setenv(TOKEN_ENV, TOKEN)
        replay = Replay(rsps).add(*SYNC_RECORDINGS)
        config = write_config(tmp, db_url)
        result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
        assert result.exit_code == 0, result.output
        engine = make_engine(db_url)
        first_calls = Counter(replay.calls)
        replay.first_calls = first_calls  # type: ignore[attr-defined]
        yield engine, replay, config
        engine.dispose()


def _cohort_id(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(m.Cohort.id).where(m.Cohort.key == key)).scalar_one()


def _account_ids(engine: Engine) -> dict[int, tuple[int, int]]:
    """Moodle user id → (account id, participant id)."""
    with engine.connect() as conn:
        return {
            int(ext): (aid, pid)
            for ext, aid, pid in conn.execute(select(m.Account.external_id, m.Account.id, m.Account.participant_id))
        }


def _pairs_present(session_body: dict[str, Any]) -> int:
    """Duplicate-account pairs with both accounts marked P or L in one recorded session."""
    acronym = {st["id"]: st["acronym"] for st in session_body["statuses"]}
    present = {
        row["studentid"] for row in session_body["attendance_log"] if acronym[int(row["statusid"])] in ("P", "L")
    }
    return sum(
        1 for p in KEY["users"]["duplicate_accounts_email_case"] if p["first"] in present and p["second"] in present
    )


@pytest.mark.parametrize(
    "course,recorded",
    [
        ("KU-2023-H1", "022_KU-2023-H1__mod_attendance_get_sessions"),
        ("SHN-2023-24", "056_SHN-2023-24__mod_attendance_get_sessions"),
    ],
)
def test_every_session_with_its_date_topic_and_present_count(
    synced: tuple[Engine, Replay, Path], course: str, recorded: str
) -> None:
    """Sessions carry the key's Moscow date and time, topic and duration; present marks match P+L per session.

    Two accounts of one person are one participant, so a session where both were marked counts them once.
    """
    engine, _, _ = synced
    expected = KEY["courses"][course]["sessions"]
    bodies = {b["id"]: b for b in recording(recorded)["body"]}
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.Session).where(m.Session.cohort_id == _cohort_id(engine, course)).order_by(m.Session.starts_at)
        ).all()
        present = dict(
            conn.execute(
                select(m.Attendance.session_id, func.count())
                .where(m.Attendance.present)
                .group_by(m.Attendance.session_id)
            ).all()
        )
        marks = dict(
            conn.execute(select(m.Attendance.session_id, func.count()).group_by(m.Attendance.session_id)).all()
        )
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        starts = local(row.starts_at, MOSCOW)
        assert starts.strftime("%d.%m.%Y") == want["date"] and starts.strftime("%H:%M") == want["time_msk"]
        assert row.source_key.endswith(f":{want['sessionid']}") and row.taken
        assert row.topic == want["topic"] and row.duration_s == want["duration_s"]
        merged = _pairs_present(bodies[want["sessionid"]])
        assert present[row.id] == want["present_or_late"] - merged
        c = want["counts"]
        assert marks[row.id] <= c["P"] + c["L"] + c["E"] + c["A"]


def test_every_status_is_stored_by_acronym(synced: tuple[Engine, Replay, Path]) -> None:
    """Each mark keeps its status acronym and description; only P and L count as present by default."""
    engine, _, _ = synced
    with engine.connect() as conn:
        kinds = set(
            conn.execute(select(m.Attendance.status, m.Attendance.status_label, m.Attendance.present).distinct()).all()
        )
    assert kinds == {("P", "Present", True), ("L", "Late", True), ("E", "Excused", False), ("A", "Absent", False)}


def test_defense_outcomes_match_the_key(synced: tuple[Engine, Replay, Path]) -> None:
    """78 passed (8 of them live, without a submission), 12 failed, 26 pending; never-submitted have no record."""
    engine, _, _ = synced
    defense = KEY["courses"]["KU-2023-H1"]["defense"]
    accounts = _account_ids(engine)
    with engine.connect() as conn:
        stored = {
            aid: (outcome, grade, graded_at)
            for aid, outcome, grade, graded_at in conn.execute(
                select(m.Defense.account_id, m.Defense.outcome, m.Defense.grade, m.Defense.graded_at).where(
                    m.Defense.cohort_id == _cohort_id(engine, "KU-2023-H1")
                )
            )
        }
    assert Counter(o for o, _, _ in stored.values()) == {"passed": 78, "failed": 12, "pending": 26}
    names = {"passed": "passed", "failed": "failed", "submitted_not_graded": "pending"}
    for user in defense["per_user"]:
        aid = accounts[user["userid"]][0]
        if user["outcome"] == "not_submitted":
            assert aid not in stored
            continue
        outcome, grade, graded_at = stored[aid]
        assert outcome == names[user["outcome"]], user
        assert grade == user["grade"]
        assert (graded_at is not None) == (outcome != "pending")
    live = [u for u in defense["per_user"] if u["outcome"] == "passed" and u["submission_status"] == "new"]
    assert len(live) == 8


def test_enrolments_suspended_marked_and_duplicates_merged(synced: tuple[Engine, Replay, Path]) -> None:
    """703 and 320 students enrolled; the 3 suspended enrolments are marked; case-differing e-mails are one person."""
    engine, _, _ = synced
    accounts = _account_ids(engine)
    by_account = {aid: uid for uid, (aid, _) in accounts.items()}
    for course in ("KU-2023-H1", "SHN-2023-24"):
        with engine.connect() as conn:
            rows = conn.execute(
                select(m.Enrolment.account_id, m.Enrolment.status).where(
                    m.Enrolment.cohort_id == _cohort_id(engine, course)
                )
            ).all()
        assert len(rows) == KEY["courses"][course]["enrolled_students"]
        suspended = sorted(by_account[aid] for aid, status in rows if status == "suspended")
        assert suspended == sorted(KEY["courses"][course]["suspended_enrolments"])
    teachers = set(KEY["courses"]["KU-2023-H1"]["teachers"]) | set(KEY["courses"]["SHN-2023-24"]["teachers"])
    assert not teachers & set(accounts)
    for pair in KEY["users"]["duplicate_accounts_email_case"]:
        if pair["first"] in accounts and pair["second"] in accounts:
            assert accounts[pair["first"]][1] == accounts[pair["second"]][1], pair


def test_unique_participants_per_course_merge_duplicates(synced: tuple[Engine, Replay, Path]) -> None:
    """People with at least one present mark: the key's e-mail-deduplicated totals (562, 289; together 743)."""
    engine, _, _ = synced

    def unique(*keys: str) -> int:
        ids = [_cohort_id(engine, k) for k in keys]
        with engine.connect() as conn:
            return conn.execute(
                select(func.count(func.distinct(m.Attendance.participant_id)))
                .join(m.Session, m.Session.id == m.Attendance.session_id)
                .where(m.Attendance.present, m.Session.cohort_id.in_(ids))
            ).scalar_one()

    for course in ("KU-2023-H1", "SHN-2023-24"):
        assert unique(course) == sum(
            KEY["courses"][course]["unique_participants"]["by_district_dedup_email_case_insensitive"].values()
        )
    assert unique("KU-2023-H1", "SHN-2023-24") == sum(
        KEY["union_c1_c3_unique_participants"]["by_district_dedup_email_case_insensitive"].values()
    )


def test_profile_fields_are_stored_verbatim(synced: tuple[Engine, Replay, Path]) -> None:
    """district, school, position and category come from the custom fields by shortname, spaces kept."""
    engine, _, _ = synced
    accounts = _account_ids(engine)
    with engine.connect() as conn:
        rows = {
            aid: (d, s, p, c)
            for aid, d, s, p, c in conn.execute(
                select(m.Account.id, m.Account.district_raw, m.Account.school, m.Account.position, m.Account.category)
            )
        }
    user = next(
        u for u in recording("013_KU-2023-H1__core_enrol_get_enrolled_users__page_from0")["body"] if u["id"] == 3
    )
    fields = {f["shortname"]: f["value"] for f in user["customfields"]}
    assert rows[accounts[3][0]] == (fields["district"], fields["school"], fields["position"], fields["role_in_program"])
    recorded = {
        f["value"]
        for n in SYNC_RECORDINGS
        if "page_from" in n
        for u in recording(n)["body"]
        for f in u.get("customfields", [])
        if f["shortname"] == "district"
    }
    spellings = {k for k in KEY["users"]["district_spellings"] if k and k != k.strip()} & recorded
    with engine.connect() as conn:
        stored = set(conn.execute(select(m.Account.district_raw).distinct()).scalars())
    assert spellings and spellings <= stored


def test_pages_are_read_once_and_no_empty_page_is_asked_for(synced: tuple[Engine, Replay, Path]) -> None:
    """705 enrolled users come in 4 pages, 322 in 2; the page past the end is never requested; each call once."""
    _, replay, _ = synced
    calls = replay.first_calls  # type: ignore[attr-defined]
    never = {
        "017_KU-2023-H1__core_enrol_get_enrolled_users__page_from800",
        "051_SHN-2023-24__core_enrol_get_enrolled_users__page_from400",
    }
    assert set(calls) == set(SYNC_RECORDINGS) - never
    assert all(count == 1 for count in calls.values()), calls


def test_second_run_finds_every_answer_unchanged_and_writes_nothing(synced: tuple[Engine, Replay, Path]) -> None:
    """A re-sync asks for every grade again (not `since`: the same grades give the same answer, and a grade
    removed in Moodle is seen), finds each cohort's answers those it last wrote and changes no data row."""
    engine, replay, config = synced
    from intensive_tracker.store.models import DATA_TABLES

    before = table_snapshot(engine, DATA_TABLES)
    with engine.connect() as conn:
        cursor = conn.execute(select(m.SyncCursor.value).where(m.SyncCursor.key.startswith("grades:"))).scalar_one()
    grades = recording("031_KU-2023-H1__mod_assign_get_grades")["body"]["assignments"][0]["grades"]
    assert int(cursor) == max(g["timemodified"] for g in grades)
    replay.emulate_since = True
    result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code == 0, result.output
    assert table_snapshot(engine, DATA_TABLES) == before
    assert not any("since=" in name for name in replay.calls)
    assert replay.calls["031_KU-2023-H1__mod_assign_get_grades"] == 2
    with engine.connect() as conn:
        counts = conn.execute(select(m.SyncRun.counts).order_by(m.SyncRun.id.desc()).limit(1)).scalar_one()
    assert counts["cohorts"] == {"ok": 2, "failed": 0}
    assert [r["reason"].endswith("ответы Moodle не изменились") for r in counts["refresh"]] == [True, True]


def test_a_changed_grade_is_read_with_every_other_and_only_it_is_written(synced: tuple[Engine, Replay, Path]) -> None:
    """One grade changed in Moodle: the cohort's answers differ, its grades are read whole, and only that
    defense row changes (the other cohort stays unchanged, not even decoded)."""
    engine, replay, config = synced
    name = "031_KU-2023-H1__mod_assign_get_grades"
    body = copy.deepcopy(recording(name)["body"])
    grade = body["assignments"][0]["grades"][0]
    grade["grade"] = "1.00000"
    grade["timemodified"] += 60
    replay.override(name, body)
    with engine.connect() as conn:
        before = conn.execute(
            select(m.Defense.account_id, m.Defense.outcome, m.Defense.grade).order_by(m.Defense.account_id)
        ).all()
    result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        after = conn.execute(
            select(m.Defense.account_id, m.Defense.outcome, m.Defense.grade).order_by(m.Defense.account_id)
        ).all()
        counts = conn.execute(select(m.SyncRun.counts).order_by(m.SyncRun.id.desc()).limit(1)).scalar_one()
    differ = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(differ) == 1 and differ[0][1].grade == 1.0
    assert counts["defenses"]["updated"] == 1
    assert sum(r["reason"].endswith("ответы Moodle не изменились") for r in counts["refresh"]) == 1


def test_sessions_are_stored_as_aware_utc(synced: tuple[Engine, Replay, Path]) -> None:
    """The first KU session, 20.09.2023 15:00 MSK, is stored as 12:00 UTC."""
    engine, _, _ = synced
    with engine.connect() as conn:
        first = conn.execute(select(func.min(m.Session.starts_at))).scalar_one()
    assert local(first, MOSCOW) == datetime(2023, 9, 20, 15, 0, tzinfo=MOSCOW)


def test_a_graded_defense_reads_as_moodle_shows_it(synced: tuple[Engine, Replay, Path]) -> None:
    """KU-2023-H1's assignment grades out of 10 (mod_assign_get_assignments): a roster shows «8 из 10», not «8»."""
    from intensive_tracker.people.districts import load_registry
    from intensive_tracker.reports.roster import rosters

    engine, _, _ = synced
    maximum = next(
        a["grade"]
        for c in recording("027_KU-2023-H1__mod_assign_get_assignments")["body"]["courses"]
        for a in c["assignments"]
    )
    with engine.connect() as conn:
        stored = set(conn.execute(select(m.Defense.grade_max).where(m.Defense.grade.is_not(None))).scalars())
    assert stored == {maximum}
    rows = [
        r
        for roster in rosters(engine, load_registry(), program_key="ku", school_year="2023/24").values()
        for r in roster.rows
    ]
    graded = [r for r in rows if r.defense in ("passed", "failed") and r.defense_grade is not None]
    assert graded
    assert all(r.defense_grade_text == f"{r.defense_grade:g} из {maximum:g}".replace(".", ",") for r in graded)
    assert f"оценка {graded[0].defense_grade_text}" in graded[0].defense_text
