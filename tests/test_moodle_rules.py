"""The connector's rules: defense outcomes, statuses by acronym, Moscow dates, paging, groups, strangers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pytest

from connectors.base import Batch
from connectors.moodle import schemas as s
from connectors.moodle.answers import AnswerDigest
from connectors.moodle.attendance import StatusMatcher, read_sessions, strip_html, topic_and_speaker
from connectors.moodle.connector import MoodleConnector
from connectors.moodle.defense import PassRule, outcomes, pass_rule
from connectors.moodle.service import required_functions
from intensive_tracker.config import DEFAULT_PRESENT_STATUSES, CohortSettings, parse_settings
from intensive_tracker.errors import ConfigError
from intensive_tracker.periods import MOSCOW, local_date
from tests.conftest import recording

RU_STATUSES = [
    {"id": 41, "acronym": "П", "description": "Присутствовал"},
    {"id": 42, "acronym": "О", "description": "Опоздал"},
    {"id": 43, "acronym": "У", "description": "Уважительная причина"},
    {"id": 44, "acronym": "Н", "description": "Не был"},
    {"id": 45, "acronym": "Д", "description": "Дистанционно"},
]


def _cohort(**kw: Any) -> CohortSettings:
    return CohortSettings(key="c", program="p", course="C", **kw)


def _assignment(grade: int) -> s.Assignment:
    return s.Assignment(id=1, cmid=5, course=2, name="Защита", grade=grade)


def _grade(uid: int, grade: str, attempt: int = 0, t: int = 1_700_000_000) -> s.Grade:
    return s.Grade(id=uid * 10 + attempt, userid=uid, attemptnumber=attempt, timemodified=t, grade=grade)


def _sub(uid: int, status: str, attempt: int = 0, graded: bool = False) -> s.Submission:
    return s.Submission(
        userid=uid, attemptnumber=attempt, status=status, gradingstatus="graded" if graded else "notgraded"
    )


# --- defense ------------------------------------------------------------------------------------


def test_pass_rule_comes_from_config_not_a_guess() -> None:
    """Points need pass_grade; a scale needs item positions; a grade type None is refused."""
    assert pass_rule(_cohort(pass_grade=6), _assignment(10)) == PassRule(min_grade=6)
    with pytest.raises(ConfigError, match="задайте pass_grade"):
        pass_rule(_cohort(), _assignment(10))
    with pytest.raises(ConfigError, match="вне 0…10"):
        pass_rule(_cohort(pass_grade=60), _assignment(10))
    assert pass_rule(_cohort(pass_scale_items=["2", "3"]), _assignment(-4)).scale_items == {2, 3}
    with pytest.raises(ConfigError, match="номера пунктов"):
        pass_rule(_cohort(pass_scale_items=["зачтено"]), _assignment(-4))
    with pytest.raises(ConfigError, match="задайте pass_scale_items"):
        pass_rule(_cohort(), _assignment(-4))
    with pytest.raises(ConfigError, match="не имеет типа оценки"):
        pass_rule(_cohort(pass_grade=1), _assignment(0))


def test_outcomes_pending_absent_latest_attempt() -> None:
    """-1 or no grade with a submission is pending; no submission and no grade is absent; the latest attempt counts."""
    rule = PassRule(min_grade=6)
    grades = [
        _grade(1, "8.00000"),
        _grade(2, "5.00000"),
        _grade(3, "-1.00000"),
        _grade(5, "9.00000"),
        _grade(6, "4.00000", attempt=0),
        _grade(7, "-1.00000"),
        _grade(8, "3.00000", 0),
        _grade(8, "7.00000", 1),
    ]
    subs = [
        _sub(1, "submitted", graded=True),
        _sub(3, "submitted"),
        _sub(4, "submitted"),
        _sub(5, "new", graded=True),
        _sub(6, "submitted", attempt=1),
        _sub(9, "new"),
        _sub(10, "draft"),
    ]
    got = {int(r.external_id): (r.outcome, r.grade, r.attempt) for r in outcomes(grades, subs, rule)}
    assert got == {
        1: ("passed", 8.0, 0),
        2: ("failed", 5.0, 0),
        3: ("pending", None, 0),
        4: ("pending", None, 0),
        5: ("passed", 9.0, 0),
        6: ("pending", None, 1),
        8: ("passed", 7.0, 1),
    }


def test_graded_time_is_kept() -> None:
    """graded_at is the grade's timemodified, as aware UTC."""
    (record,) = outcomes([_grade(1, "8.00000", t=1_702_750_930)], [], PassRule(min_grade=6))
    assert record.graded_at is not None and record.graded_at.timestamp() == 1_702_750_930


def test_scale_grades_pass_by_item_position() -> None:
    """On a scale the grade is the item's position: only the configured positions pass."""
    rule = PassRule(scale_items=frozenset({2}))
    got = {r.external_id: r.outcome for r in outcomes([_grade(1, "2.00000"), _grade(2, "1.00000")], [], rule)}
    assert got == {"1": "passed", "2": "failed"}


def test_incremental_pull_leaves_earlier_grades_alone() -> None:
    """With `since`, a submission graded before the cursor yields nothing; a fresh submission is pending."""
    subs = [_sub(1, "submitted", graded=True), _sub(2, "submitted")]
    got = outcomes([], subs, PassRule(min_grade=6), incremental=True)
    assert [(r.external_id, r.outcome) for r in got] == [("2", "pending")]


def test_recorded_defense_counts() -> None:
    """The recorded grades and submissions give 78 passed, 12 failed, 26 pending with pass_grade 6."""
    grades = recording("031_KU-2023-H1__mod_assign_get_grades")["body"]["assignments"][0]["grades"]
    subs = recording("029_KU-2023-H1__mod_assign_get_submissions")["body"]["assignments"][0]["submissions"]
    got = outcomes(
        [s.Grade.model_validate(g) for g in grades],
        [s.Submission.model_validate(x) for x in subs],
        PassRule(min_grade=6),
    )
    assert Counter(r.outcome for r in got) == {"passed": 78, "failed": 12, "pending": 26}


# --- attendance ---------------------------------------------------------------------------------


def _session(**kw: Any) -> s.AttendanceSession:
    base: dict[str, Any] = {
        "id": 7,
        "sessdate": 1_695_211_200,
        "duration": 7200,
        "lasttaken": 1_695_225_600,
        "description": "<p>Тема</p>",
        "statuses": RU_STATUSES,
        "attendance_log": [],
    }
    return s.AttendanceSession.model_validate(base | kw)


def test_russian_statuses_count_by_acronym_and_extra_ones_by_config() -> None:
    """П and О count by default; «Д» Дистанционно only when configured; status ids play no part."""
    log = [{"studentid": i, "statusid": str(41 + i), "remarks": ""} for i in range(5)]
    default = read_sessions(
        [_session(attendance_log=log)],
        instance=1,
        tz=MOSCOW,
        matcher=StatusMatcher.from_config(DEFAULT_PRESENT_STATUSES),
        speakers={},
        group_id=None,
    )
    assert [(a.status, a.present) for a in default.marks] == [
        ("П", True),
        ("О", True),
        ("У", False),
        ("Н", False),
        ("Д", False),
    ]
    custom = read_sessions(
        [_session(attendance_log=log)],
        instance=1,
        tz=MOSCOW,
        matcher=StatusMatcher.from_config(["П", "Дистанционно"]),
        speakers={},
        group_id=None,
    )
    assert [a.present for a in custom.marks] == [True, False, False, False, True]


def test_unknown_status_id_is_kept_and_reported() -> None:
    """A mark whose status is not in the set (hidden or deleted) is kept as not present, with a warning."""
    read = read_sessions(
        [_session(attendance_log=[{"studentid": 1, "statusid": "99"}])],
        instance=1,
        tz=MOSCOW,
        matcher=StatusMatcher.from_config(["П"]),
        speakers={},
        group_id=None,
    )
    assert [(a.status, a.present) for a in read.marks] == [("#99", False)]
    assert read.warnings and "99" in read.warnings[0].message


def test_session_not_taken_is_shown_as_such() -> None:
    """No lasttaken and no marks: taken is False (not a session with zero present)."""
    read = read_sessions(
        [_session(lasttaken=None)],
        instance=1,
        tz=MOSCOW,
        matcher=StatusMatcher.from_config(["П"]),
        speakers={},
        group_id=None,
    )
    assert read.sessions[0].taken is False and read.marks == []


def test_session_at_half_past_midnight_is_on_its_moscow_date() -> None:
    """00:30 MSK on 1 Sep 2023 is 31 Aug 21:30 UTC; its date, speaker lookup and school year are Moscow's."""
    sessdate = int(datetime(2023, 9, 1, 0, 30, tzinfo=MOSCOW).timestamp())
    read = read_sessions(
        [_session(sessdate=sessdate)],
        instance=1,
        tz=MOSCOW,
        matcher=StatusMatcher.from_config([]),
        speakers={"2023-09-01": "Карпеева И.В."},
        group_id=None,
    )
    (session,) = read.sessions
    assert session.starts_at.date() == date(2023, 8, 31)  # stored in UTC
    assert local_date(session.starts_at, MOSCOW) == date(2023, 9, 1) and session.speaker == "Карпеева И.В."


def test_topic_is_the_description_without_html_and_speaker_line() -> None:
    """HTML is stripped and entities decoded; a «Спикер: …» line becomes the speaker."""
    topic, speaker = topic_and_speaker('<p dir="ltr">Урок &laquo;с нуля&raquo;</p><p>Спикер: Иванова А.П.</p>')
    assert (topic, speaker) == ("Урок «с нуля»", "Иванова А.П.")
    assert strip_html("<p>a<br>b</p>") == "a\nb"


# --- connector with a scripted client -----------------------------------------------------------


class ScriptedClient:
    """Answers calls from a dict of handlers; records every call."""

    def __init__(self, handlers: dict[str, Any]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, wsfunction: str, **params: Any) -> Any:
        self.calls.append((wsfunction, params))
        answer = self.handlers[wsfunction]
        return answer(params) if callable(answer) else json.loads(json.dumps(answer))

    def call_as(self, wsfunction: str, adapter: Any, /, **params: Any) -> Any:
        return adapter.validate_python(self.call(wsfunction, **params))

    def call_raw(self, wsfunction: str, /, **params: Any) -> bytes:
        return json.dumps(self.call(wsfunction, **params)).encode()

    def validated(self, wsfunction: str, content: bytes, adapter: Any = None) -> Any:
        return json.loads(content) if adapter is None else adapter.validate_json(content)

    @contextmanager
    def digesting(self, digest: AnswerDigest) -> Iterator[AnswerDigest]:
        """As the real client, from the calls made meanwhile (this client answers on one thread)."""
        start = len(self.calls)
        yield digest
        for wsfunction, params in self.calls[start:]:
            digest.note(wsfunction, json.dumps(params, sort_keys=True, default=str))


def _settings(cohort: dict[str, Any], **moodle: Any) -> Any:
    return parse_settings(
        {
            "moodle": {"url": "http://m", **moodle},
            "programs": [{"key": "p", "title": "P"}],
            "cohorts": [{"key": "c", "program": "p", **cohort}],
        },
        source="test",
    )


def _user(uid: int, role: str = "student", groups: list[int] | None = None) -> dict[str, Any]:
    return {
        "id": uid,
        "fullname": f"Пользователь {uid}",
        "email": f"u{uid}@example.org",
        "customfields": [],
        "roles": [{"shortname": role}],
        "groups": [{"id": g, "name": f"g{g}"} for g in groups or []],
    }


def _handlers(users: list[dict[str, Any]], sessions: list[dict[str, Any]], *, shifting: bool = False) -> dict[str, Any]:
    def page(params: dict[str, Any]) -> list[dict[str, Any]]:
        options = {o["name"]: o["value"] for o in params["options"]}
        if "onlysuspended" in options:
            return []
        chosen = [u for u in users if "groupid" not in options or options["groupid"] in [g["id"] for g in u["groups"]]]
        start, size = int(options["limitfrom"]), int(options["limitnumber"])
        if shifting and start > 0:
            start -= 1  # someone was unenrolled between two pages: the next page repeats one user
        return chosen[start : start + size]

    return {
        "core_course_get_courses_by_field": {
            "courses": [{"id": 2, "shortname": "C", "fullname": "Курс", "startdate": 1_693_515_600}],
            "warnings": [],
        },
        "core_course_get_contents": [
            {"id": 1, "modules": [{"id": 9, "name": "Журнал", "instance": 3, "modname": "attendance"}]}
        ],
        "core_group_get_course_groups": [
            {"id": 1, "courseid": 2, "name": "Поток 1"},
            {"id": 2, "courseid": 2, "name": "Поток 2"},
        ],
        "core_enrol_get_enrolled_users": page,
        "mod_attendance_get_sessions": sessions,
        "core_user_get_users_by_field": lambda p: [_user(int(v)) for v in p["values"]],
        "core_user_get_course_user_profiles": lambda p: [_user(int(u["userid"])) for u in p["userlist"]],
        "core_webservice_get_site_info": _site(["core_user_get_course_user_profiles"]),
    }


def _site(functions: list[str]) -> dict[str, Any]:
    return {
        "sitename": "M",
        "username": "ws",
        "userid": 2,
        "siteurl": "http://m",
        "functions": [{"name": f} for f in functions],
    }


def _read(settings: Any, client: ScriptedClient) -> Batch:
    return MoodleConnector(settings, client).read_cohort(settings.cohorts[0], {})  # type: ignore[arg-type]


def test_paging_reads_a_large_course_once_per_person() -> None:
    """450 students and a teacher, pages of 100: five calls, the short page ends paging, each person once even when a page repeats someone."""
    users = [_user(i) for i in range(1, 451)] + [_user(999, role="editingteacher")]
    for shifting in (False, True):
        client = ScriptedClient(_handlers(users, [], shifting=shifting))
        batch = _read(_settings({"course": "C"}, page_size=100), client)
        pages = [
            p
            for f, p in client.calls
            if f == "core_enrol_get_enrolled_users" and "onlysuspended" not in {o["name"] for o in p["options"]}
        ]
        assert len(pages) == 5
        ids = [p.external_id for p in batch.people]
        assert len(ids) == len(set(ids)) == 450
        assert "999" not in ids


def test_group_cohort_keeps_its_own_people_and_sessions() -> None:
    """A cohort of one group: other groups' sessions are skipped, course-wide sessions keep only its members' marks."""
    users = [_user(1, groups=[1]), _user(2, groups=[1]), _user(3, groups=[2])]
    statuses = [{"id": 5, "acronym": "P", "description": "Present"}]
    log = [{"studentid": u, "statusid": "5"} for u in (1, 2, 3)]
    sessions = [
        {"id": 1, "groupid": 0, "sessdate": 1_695_211_200, "lasttaken": 1, "statuses": statuses, "attendance_log": log},
        {
            "id": 2,
            "groupid": 2,
            "sessdate": 1_695_297_600,
            "lasttaken": 1,
            "statuses": statuses,
            "attendance_log": [{"studentid": 3, "statusid": "5"}],
        },
        {
            "id": 3,
            "groupid": 1,
            "sessdate": 1_695_384_000,
            "lasttaken": 1,
            "statuses": statuses,
            "attendance_log": [{"studentid": 1, "statusid": "5"}],
        },
    ]
    client = ScriptedClient(_handlers(users, sessions))
    batch = _read(_settings({"course": "C", "group": "Поток 1"}), client)
    assert batch.cohort.group_id == 1
    assert sorted(p.external_id for p in batch.people) == ["1", "2"]
    assert [x.source_key for x in batch.sessions] == ["att3:1", "att3:3"]
    assert sorted((a.session_key, a.external_id) for a in batch.attendance) == [
        ("att3:1", "1"),
        ("att3:1", "2"),
        ("att3:3", "1"),
    ]
    assert not [c for c in client.calls if c[0] == "core_user_get_users_by_field"]


def test_a_stranger_counts_only_when_moodle_confirms_the_student_role() -> None:
    """Marked but not listed: kept when core_user_get_course_user_profiles says student, else kept aside and reported."""
    statuses = [{"id": 5, "acronym": "P", "description": "Present"}]
    log = [{"studentid": uid, "statusid": "5"} for uid in (1, 77, 78, 999)]
    sessions = [{"id": 1, "sessdate": 1_695_211_200, "lasttaken": 1, "statuses": statuses, "attendance_log": log}]
    handlers = _handlers([_user(1), _user(999, role="editingteacher")], sessions)
    # 77 is a student Moodle did not list; 78 is a teacher who marked herself and is not listed either.
    handlers["core_user_get_course_user_profiles"] = [_user(77), _user(78, role="editingteacher")]
    client = ScriptedClient(handlers)
    batch = _read(_settings({"course": "C"}), client)
    assert sorted(p.external_id for p in batch.people) == ["1", "77"]
    assert [e.external_id for e in batch.enrolments] == ["1"]
    assert sorted(a.external_id for a in batch.attendance) == ["1", "77"]
    assert batch.not_participants == ["999"]
    aside = [w for w in batch.warnings if w.code == "notlisted"]
    assert len(aside) == 1 and "id в Moodle: 78" in aside[0].message
    asked = [p for f, p in client.calls if f == "core_user_get_course_user_profiles"]
    assert asked == [{"userlist": [{"userid": 77, "courseid": 2}, {"userid": 78, "courseid": 2}]}]


def test_without_the_profiles_function_strangers_are_kept_aside() -> None:
    """A service without core_user_get_course_user_profiles: a stranger's mark is kept aside, with the function named."""
    statuses = [{"id": 5, "acronym": "P", "description": "Present"}]
    log = [{"studentid": 1, "statusid": "5"}, {"studentid": 77, "statusid": "5"}]
    sessions = [{"id": 1, "sessdate": 1_695_211_200, "lasttaken": 1, "statuses": statuses, "attendance_log": log}]
    handlers = _handlers([_user(1)], sessions)
    handlers["core_webservice_get_site_info"] = _site([])
    batch = _read(_settings({"course": "C"}), ScriptedClient(handlers))
    assert [p.external_id for p in batch.people] == ["1"]
    assert [a.external_id for a in batch.attendance] == ["1"]
    assert any(w.code == "notlisted" and "core_user_get_course_user_profiles" in w.message for w in batch.warnings)


def test_required_functions_follow_the_config() -> None:
    """Groups and assignment functions are required only when a cohort uses them."""
    plain = required_functions(_settings({"course": "C"}))
    assert "core_group_get_course_groups" not in plain and "mod_assign_get_grades" not in plain
    full = required_functions(_settings({"course": "C", "group": "g", "defense": "Защита", "pass_grade": 6}))
    assert {"core_group_get_course_groups", "mod_assign_get_grades", "mod_assign_get_submissions"} <= set(full)


def test_warnings_of_successful_answers_reach_the_batch() -> None:
    """A warnings[] entry of core_course_get_courses_by_field is carried on the batch (and so on the sync run)."""
    handlers = _handlers([_user(1)], [])
    handlers["core_course_get_courses_by_field"]["warnings"] = [
        {"item": "course", "itemid": 2, "warningcode": "1", "message": "No access rights in course context"}
    ]
    batch = _read(_settings({"course": "C"}), ScriptedClient(handlers))
    assert [(w.code, w.message) for w in batch.warnings] == [
        ("1", "core_course_get_courses_by_field: No access rights in course context")
    ]


def test_trusted_mark_equals_a_validated_one() -> None:
    """Issue 17: a mark built without validation is the same record as a validated one (eq, hash, dump)."""
    from connectors.base import AttendanceRecord

    values: dict[str, Any] = {
        "session_key": "att1:7",
        "external_id": "42",
        "status": "П",
        "status_label": "Присутствовал",
        "present": True,
    }
    trusted = AttendanceRecord.trusted(**values)
    checked = AttendanceRecord(**values)
    assert trusted == checked and hash(trusted) == hash(checked)
    assert trusted.model_dump() == checked.model_dump() and trusted.model_fields_set == checked.model_fields_set
    assert trusted != AttendanceRecord(**(values | {"present": False}))


def test_a_log_mark_is_validated_and_what_the_sync_does_not_read_is_dropped() -> None:
    """The log's marks are plain dicts of the two fields read (id, remarks, `users` dropped); a bad one still fails."""
    from pydantic import ValidationError

    sess = _session(
        attendance_log=[{"studentid": "5", "statusid": "41", "remarks": "x", "id": "9"}],
        users=[{"id": 5, "firstname": "А", "lastname": "Б"}],
    )
    assert sess.attendance_log == [{"studentid": 5, "statusid": 41}]
    assert "users" not in sess.model_dump()
    with pytest.raises(ValidationError):
        _session(attendance_log=[{"studentid": "пять", "statusid": "41"}])
    with pytest.raises(ValidationError):
        _session(attendance_log=[{"studentid": 5}])
