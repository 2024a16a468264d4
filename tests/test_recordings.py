"""The stand-in Moodle and the real recordings are held to the same response models."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.demo import StandinMoodle, generate_demo_world
from connectors.moodle import schemas as s
from connectors.moodle.client import MoodleClient
from connectors.moodle.connector import parse
from tests.conftest import RECORDINGS, recording

MODELS = s.RESPONSES


def _successful_recordings() -> list[Path]:
    out = []
    for path in sorted(RECORDINGS.glob("*.json")):
        data = recording(path.name)
        fn = data["request"]["wsfunction"]
        body = data["body"]
        if fn in MODELS and data["body_kind"] == "json" and not (isinstance(body, dict) and "exception" in body):
            out.append(path)
    return out


@pytest.mark.parametrize("path", _successful_recordings(), ids=lambda p: p.stem)
def test_recording_parses(path: Path) -> None:
    """Every successful recorded answer of a function we use fits its response model."""
    data = recording(path.name)
    parse(MODELS[data["request"]["wsfunction"]], data["body"], data["request"]["wsfunction"])


@pytest.fixture(scope="module")
def standin():  # type: ignore[no-untyped-def]
    with StandinMoodle(generate_demo_world()) as server:
        yield server


def _standin_calls(standin: StandinMoodle) -> dict[str, dict]:
    course = standin.world.courses[0]
    att = course.attendances[0]
    assign = course.assignments[0]
    return {
        "core_webservice_get_site_info": {},
        "core_course_get_courses_by_field": {"field": "shortname", "value": course.shortname},
        "core_course_get_contents": {"courseid": course.id},
        "core_group_get_course_groups": {"courseid": course.id},
        "core_enrol_get_enrolled_users": {
            "courseid": course.id,
            "options": [
                {
                    "name": "userfields",
                    "value": "id,username,fullname,firstname,lastname,email,suspended,customfields,roles,groups",
                },
                {"name": "limitfrom", "value": 0},
                {"name": "limitnumber", "value": 50},
            ],
        },
        "core_user_get_users_by_field": {"field": "id", "values": course.students[:3]},
        "mod_attendance_get_sessions": {"attendanceid": att.id},
        "mod_assign_get_assignments": {"courseids": [course.id], "includenotenrolledcourses": 1},
        "mod_assign_get_grades": {"assignmentids": [assign.id]},
        "mod_assign_get_submissions": {"assignmentids": [assign.id]},
    }


@pytest.mark.parametrize("wsfunction", sorted(MODELS))
def test_standin_answers_fit_the_same_models(standin: StandinMoodle, wsfunction: str) -> None:
    """The stand-in's answer to each function fits the model the recordings fit."""
    client = MoodleClient(standin.url, standin.token, retries=0)
    body = client.call(wsfunction, **_standin_calls(standin)[wsfunction])
    assert body, f"{wsfunction} answered nothing"
    parse(MODELS[wsfunction], body, wsfunction)


def test_standin_keys_are_a_subset_of_the_recordings(standin: StandinMoodle) -> None:
    """Every key the stand-in sends for a user, session or grade also appears in a real answer."""
    client = MoodleClient(standin.url, standin.token, retries=0)
    calls = _standin_calls(standin)
    real_user = recording("013_KU-2023-H1__core_enrol_get_enrolled_users__page_from0")["body"][0]
    user = client.call("core_enrol_get_enrolled_users", **calls["core_enrol_get_enrolled_users"])[0]
    assert set(user) <= set(real_user)
    real_session = recording("022_KU-2023-H1__mod_attendance_get_sessions")["body"][0]
    session = client.call("mod_attendance_get_sessions", **calls["mod_attendance_get_sessions"])[0]
    assert set(session) == set(real_session)
    assert set(session["attendance_log"][0]) == set(real_session["attendance_log"][0])
    real_grade = recording("031_KU-2023-H1__mod_assign_get_grades")["body"]["assignments"][0]["grades"][0]
    grade = client.call("mod_assign_get_grades", **calls["mod_assign_get_grades"])["assignments"][0]["grades"][0]
    assert set(grade) == set(real_grade)
