"""Issue 12: a Moodle that hides people fails its cohort; secrets never leave; the database's own failures are one line."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy import delete, select, text
from sqlmodel import col

from connectors.base import ANSWERS_CURSOR
from intensive_tracker.app import App
from intensive_tracker.cli import cli
from intensive_tracker.config import load_settings
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine, table_snapshot, transaction
from intensive_tracker.store.models import DATA_TABLES
from tests.conftest import recording
from tests.synckit import lock_held_elsewhere
from tests.test_moodle_replay import Replay
from tests.test_moodle_safety import SHN_ONLY, shn_config
from tests.test_moodle_sync import TOKEN_ENV

FIRST_PAGE = "049_SHN-2023-24__core_enrol_get_enrolled_users__page_from0"
SECOND_PAGE = "050_SHN-2023-24__core_enrol_get_enrolled_users__page_from200"
SESSIONS = "056_SHN-2023-24__mod_attendance_get_sessions"
TEACHER = 1210  # a methodist of SHN-2023-24 (answer key «teachers»)
# SHN-2023-24 in the report: session 1 present, unique participants, Балашиха (the answer key's 99 and 291
# counted by account; the report merges the course's duplicate accounts by e-mail).
TRUTH = (98, 289, 17)
CANARY = "CANARY-token-5c1d9e7a3b"


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    monkeypatch.setenv(TOKEN_ENV, "replay-token-0123456789abcdef")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Replay(rsps).add(*SHN_ONLY)


def _sync(config: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["--config", str(config), *args, "sync"])


def _figures(config: Path) -> tuple[int, int, int]:
    """(session 1 present, unique participants, Балашиха) of SHN-2023-24 as the report computes them."""
    with App(load_settings(config), config) as app:
        year = next(p for p in app.summary().programs if p.key == "shn").years[0]
        balashikha = next(d.participants for d in year.districts if d.district == "Балашиха")
        return year.sessions[0].present, year.unique_participants, balashikha


def _users(keep: Any) -> list[dict[str, Any]]:
    """The course's recorded users (both pages) that `keep` accepts, served as one short first page."""
    everyone = recording(FIRST_PAGE)["body"] + recording(SECOND_PAGE)["body"]
    return [u for u in everyone if keep(u)][:199]


def _is_student(user: dict[str, Any]) -> bool:
    return any(r["shortname"] == "student" for r in user["roles"])


@pytest.mark.parametrize(
    ("answer", "capability"),
    [
        (lambda: [], "moodle/site:accessallgroups"),
        (lambda: _users(lambda u: not _is_student(u)), "moodle/user:viewdetails"),
        (lambda: [{k: v for k, v in u.items() if k != "email"} for u in _users(lambda u: True)], "viewuseridentity"),
    ],
    ids=["empty", "teachers-only", "no-emails"],
)
def test_a_hidden_roster_fails_the_cohort_and_changes_nothing(
    replay: Replay, db_url: str, tmp_path: Path, answer: Any, capability: str
) -> None:
    """Empty, teachers-only or e-mail-less user lists after a good sync: exit 77 naming the capability, database unchanged."""
    config = shn_config(tmp_path, db_url)
    assert _sync(config).exit_code == 0
    engine = make_engine(db_url)
    before = table_snapshot(engine, [t for t in DATA_TABLES if t is not m.SyncRun])
    replay.override(FIRST_PAGE, answer())
    result = _sync(config)
    assert result.exit_code == 77, result.output
    assert capability in result.stderr
    assert "успешно" not in result.output
    assert table_snapshot(engine, [t for t in DATA_TABLES if t is not m.SyncRun]) == before
    with engine.connect() as conn:
        assert conn.execute(select(m.Enrolment).where(m.Enrolment.missing_since.is_not(None))).first() is None
    engine.dispose()


def test_a_roster_that_shrinks_by_more_than_the_limit_fails(replay: Replay, tmp_path: Path) -> None:
    """320 students, then 50: exit 77 naming the limit key and nothing marked missing."""
    config = shn_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    assert _sync(config).exit_code == 0
    replay.override(FIRST_PAGE, recording(FIRST_PAGE)["body"][:50])
    result = _sync(config)
    assert result.exit_code == 77 and "roster_drop_limit" in result.stderr


def test_a_teacher_stored_as_participant_is_removed_by_the_next_good_sync(
    replay: Replay, db_url: str, tmp_path: Path
) -> None:
    """The issue's contamination (a teacher's own mark stored as a participant's) is undone: figures return to the truth."""
    config = shn_config(tmp_path, db_url)
    sessions = recording(SESSIONS)["body"]
    present = next(s["id"] for s in sessions[0]["statuses"] if s["acronym"] == "P")
    sessions[0]["attendance_log"].append({"studentid": TEACHER, "statusid": str(present), "remarks": "", "id": "1"})
    replay.override(SESSIONS, sessions)
    assert _sync(config).exit_code == 0
    assert _figures(config) == TRUTH
    engine = make_engine(db_url)
    with transaction(engine) as session:  # what the old sync wrote from an empty user list
        # The old sync kept no digests of the answers it read: the next sync reads every cohort whole.
        session.execute(delete(m.SyncCursor).where(col(m.SyncCursor.key).startswith(ANSWERS_CURSOR)))
        person = m.Participant(full_name="Методист", name_key="методист", district_raw="Балашиха")
        session.add(person)
        session.flush()
        account = m.Account(source="moodle", external_id=str(TEACHER), participant_id=person.id, full_name="Методист")
        session.add(account)
        session.flush()
        first = session.execute(select(m.Session.id).order_by(m.Session.starts_at)).scalars().first()
        session.add(
            m.Attendance(session_id=first, participant_id=person.id, account_id=account.id, status="P", present=True)
        )
    engine.dispose()
    assert _figures(config) == (TRUTH[0] + 1, TRUTH[1] + 1, TRUTH[2] + 1)  # 99→100, 291→292, 17→18
    result = _sync(config)
    assert result.exit_code == 0, result.output
    assert _figures(config) == TRUTH
    assert "удалено 1 отметок" in result.stderr


def test_a_teacher_marked_but_not_listed_is_never_stored(replay: Replay, tmp_path: Path) -> None:
    """A mark of a user the list does not show, whom Moodle's profile gives as a teacher: kept aside and reported."""
    config = shn_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    sessions = recording(SESSIONS)["body"]
    present = next(s["id"] for s in sessions[0]["statuses"] if s["acronym"] == "P")
    sessions[0]["attendance_log"].append({"studentid": TEACHER, "statusid": str(present), "remarks": "", "id": "1"})
    replay.override(SESSIONS, sessions)
    replay.override(SECOND_PAGE, [u for u in recording(SECOND_PAGE)["body"] if u["id"] != TEACHER])
    profile = {"userlist[0][userid]": str(TEACHER), "userlist[0][courseid]": "4"}
    teacher = _users(lambda u: u["id"] == TEACHER)[0]
    replay.routes[_key(profile, "core_user_get_course_user_profiles")] = recording(FIRST_PAGE) | {
        "name": "profiles",
        "body": [teacher],
        "body_kind": "json",
    }
    result = _sync(config)
    assert result.exit_code == 0, result.output
    assert replay.calls["profiles"] == 1
    assert "отложены" in result.stderr and str(TEACHER) in result.stderr
    assert _figures(config) == TRUTH
    engine = make_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as conn:
        assert conn.execute(select(m.Account).where(m.Account.external_id == str(TEACHER))).first() is None
    engine.dispose()


def _key(fields: dict[str, str], wsfunction: str) -> str:
    from tests.test_moodle_replay import canonical

    return canonical([*fields.items(), ("wsfunction", wsfunction)])


def test_an_echoed_token_reaches_no_output_file_or_database(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    """The canary token echoed in a message, debuginfo, warnings[].message and an HTML page: in no output, file or row."""
    monkeypatch.setenv(TOKEN_ENV, CANARY)
    echo = f"(request: wstoken={CANARY}&wsfunction=x)"
    config = shn_config(tmp_path, db_url)
    outputs: list[str] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        replay = Replay(rsps, token=CANARY).add(*SHN_ONLY)
        body = recording("061_SHN-2023-24__mod_assign_get_assignments")["body"]
        replay.override(
            "046_SHN-2023-24__core_course_get_contents",
            {"exception": "moodle_exception", "errorcode": "x", "message": f"boom {echo}", "debuginfo": echo},
        )
        for args in (["sync"], ["check"], ["check", "--json"], ["status", "--json"]):
            result = CliRunner().invoke(cli, ["--config", str(config), *args])
            outputs += [result.output, result.stderr]
        replay.override("046_SHN-2023-24__core_course_get_contents", recording(SESSIONS)["body"][:0])
        replay.routes[next(iter(replay.routes))]["body"] = f"<html><body>{echo}</body></html>"
        replay.routes[next(iter(replay.routes))]["body_kind"] = "text"
        result = CliRunner().invoke(cli, ["--config", str(config), "sync"])
        outputs += [result.output, result.stderr]
        assert body is not None
    assert all(CANARY in b for b in replay.bodies)
    assert not [o for o in outputs if CANARY in o]
    assert not [p.name for p in tmp_path.rglob("*") if p.is_file() and CANARY.encode() in p.read_bytes()]
    engine = make_engine(db_url)
    with engine.connect() as conn:
        for table in [*DATA_TABLES, m.SyncRun]:
            for row in conn.execute(select(table)).all():  # type: ignore[call-overload]
                assert CANARY not in json.dumps([str(v) for v in row], ensure_ascii=False)
    engine.dispose()


def test_a_warning_message_echoing_the_token_is_redacted() -> None:
    """warnings[].message carrying the token leaves the client as ***."""
    from connectors.moodle.client import MoodleClient

    client = MoodleClient("http://moodle.test", CANARY)
    answer = {"assignments": [], "warnings": [{"item": "a", "warningcode": "1", "message": f"wstoken={CANARY}"}]}
    decoded = client.decode("mod_assign_get_grades", 200, {}, json.dumps(answer).encode())
    assert CANARY not in json.dumps(decoded) and "***" in decoded["warnings"][0]["message"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("verb", [["sync"], ["status"], ["db", "current"], ["report"], ["status", "--json"]])
def test_an_unreachable_or_corrupt_database_is_one_line(tmp_path: Path, verb: list[str]) -> None:
    """PostgreSQL on a closed port → 69, a SQLite file that is not a database → 65; one line naming it, no password."""
    corrupt = tmp_path / "broken.db"
    corrupt.write_bytes(b"this is not a database" * 300)
    cases = [(f"postgresql://lab:s3cret-pw@127.0.0.1:{_closed_port()}/tracker", 69), (f"sqlite:///{corrupt}", 65)]
    for url, code in cases:
        config = tmp_path / "config.toml"
        config.write_text(
            f'database_url = "{url}"\n[[programs]]\nkey = "ku"\ntitle = "К"\n[report]\nout_dir = "r"\n', "utf-8"
        )
        result = CliRunner().invoke(cli, ["--config", str(config), *verb])
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output and "s3cret-pw" not in result.output
        if verb == ["status", "--json"]:
            assert json.loads(result.stdout)["database_error"]["exit_code"] == code
        else:
            said = result.stdout if verb == ["status"] else result.stderr  # status says it on its own output
            assert len(said.strip().splitlines()) == 1
            assert ("127.0.0.1" in said) if code == 69 else (str(corrupt) in said)


def test_a_read_only_command_does_not_migrate_under_a_running_sync(tmp_path: Path) -> None:
    """A schema behind (here: none) while a sync holds the lock: `report` exits 75 and creates no table."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{url}"\n[[programs]]\nkey = "ku"\ntitle = "К"\n', "utf-8")
    engine = make_engine(url)
    with lock_held_elsewhere(engine):
        result = CliRunner().invoke(cli, ["--config", str(config), "report", "--out", str(tmp_path / "r")])
    assert result.exit_code == 75, result.output
    assert "db upgrade" in result.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).first() is None
    engine.dispose()
