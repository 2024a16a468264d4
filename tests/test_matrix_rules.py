"""The matrix's bad input: two cohorts of one period, a moved person, a session deleted in Moodle, another group's session."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine

from connectors.moodle.connector import MoodleConnector
from intensive_tracker.people.districts import registry_from_settings
from intensive_tracker.reports.person_card import build_cards, person_rosters
from intensive_tracker.reports.roster import rosters
from intensive_tracker.reports.roster_types import DELETED_NOTE, NOT_HELD
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import transaction
from intensive_tracker.sync.engine import run_sync
from tests.conftest import recording
from tests.people_factories import ListConnector, batch, person, settings, sync
from tests.test_moodle_rules import ScriptedClient

SESSIONS = [("s1", "2023-09-20 12:00", True), ("s2", "2023-10-04 12:00", True)]


def test_a_person_in_two_cohorts_of_one_period_is_one_row_with_both_cohorts_sessions(engine: Engine) -> None:
    """Autumn and spring launches of one year: one row, four columns, marks from both launches, no «—»."""
    config = settings()
    both, autumn_only = person(1, "Иванова Анна Петровна", "Балашиха"), person(2, "Петров Илья", "Балашиха")
    sync(
        engine,
        config,
        [
            batch("KU-H1", [both, autumn_only], sessions=SESSIONS, present={"s1": [1, 2], "s2": [1]}),
            batch(
                "KU-H2",
                [both],
                sessions=[("t1", "2024-02-07 12:00", True), ("t2", "2024-02-21 12:00", True)],
                present={"t2": [1]},
                absent={"t1": [1]},
            ),
        ],
    )
    roster = rosters(engine, registry_from_settings(config), program_key="ku", school_year="2023/24")["Балашиха"]
    assert [c.header for c in roster.columns] == ["20.09.23", "04.10.23", "07.02.24", "21.02.24"]
    rows = {r.full_name: r for r in roster.rows}
    assert len(roster.rows) == 2
    assert [x.text for x in rows["Иванова Анна Петровна"].marks] == ["P", "P", "A", "P"]
    assert rows["Иванова Анна Петровна"].cohorts == ("KU-H1", "KU-H2")
    assert [x.text for x in rows["Петров Илья"].marks] == ["P", "", NOT_HELD, NOT_HELD]
    assert rows["Иванова Анна Петровна"].sessions_attended == 3


def test_a_moved_person_is_listed_by_the_reports_district_and_the_card_names_the_other(engine: Engine) -> None:
    """Moodle says Химки, the person's other account says Балашиха: listed under the stored district, card names both."""
    config = settings()
    sync(
        engine,
        config,
        [
            batch(
                "KU-H1",
                [person(1, "Иванова Анна Петровна", "Химки", email="anna@example.org")],
                sessions=SESSIONS,
                present={"s1": [1]},
            ),
            batch(
                "KU-H2",
                [person(7, "Иванова Анна Петровна", "Балашиха", email="ANNA@example.org ")],
                sessions=[("t1", "2024-02-07 12:00", True)],
                present={"t1": [7]},
            ),
        ],
    )
    registry = registry_from_settings(config)
    by_district = rosters(engine, registry, program_key="ku", school_year="2023/24")
    assert len([r for roster in by_district.values() for r in roster.rows]) == 1
    (listed,) = by_district
    all_rosters, titles = person_rosters(engine, registry, [by_district[listed].rows[0].participant_id])
    (card,) = build_cards(engine, registry, [by_district[listed].rows[0].participant_id], all_rosters, titles)
    assert card.district == listed and card.years[0].district == listed
    assert [d for d, _ in card.other_districts] == [{"Химки", "Балашиха"}.difference({listed}).pop()]


def test_a_session_deleted_in_moodle_stays_in_the_matrix_marked_in_its_header(engine: Engine) -> None:
    """A session Moodle stopped listing keeps its column and marks, headed «удалено в Moodle»."""
    config = settings()
    sync(
        engine,
        config,
        [
            batch(
                "KU-H1",
                [person(1, "Иванова Анна Петровна", "Балашиха")],
                sessions=SESSIONS,
                present={"s1": [1], "s2": [1]},
            )
        ],
    )
    with transaction(engine) as s:
        s.connection().execute(
            update(m.Session).where(m.Session.source_key == "s2").values(missing_since=datetime(2024, 1, 1, tzinfo=UTC))
        )
    roster = rosters(engine, registry_from_settings(config), program_key="ku", school_year="2023/24")["Балашиха"]
    assert [(c.header, c.note) for c in roster.columns] == [("20.09.23", ""), ("04.10.23", DELETED_NOTE)]
    assert [x.text for x in roster.rows[0].marks] == ["P", "P"]


def _real_course(group_session: int) -> dict[str, Any]:
    """The recorded KU-2023-H1 answers; session `group_session` made a session of «Поток 1» (its members' marks)."""
    users = recording("012_KU-2023-H1__core_enrol_get_enrolled_users__all")["body"]
    group1 = {u["id"] for u in users if 1 in [g["id"] for g in u.get("groups", [])]}
    sessions = json.loads(json.dumps(recording("022_KU-2023-H1__mod_attendance_get_sessions")["body"]))
    for sess in sessions:
        if sess["id"] == group_session:
            sess["groupid"] = 1
            sess["attendance_log"] = [e for e in sess["attendance_log"] if int(e["studentid"]) in group1]

    def page(params: dict[str, Any]) -> list[dict[str, Any]]:
        options = {o["name"]: o["value"] for o in params["options"]}
        if "onlysuspended" in options:
            return []
        chosen = [
            u
            for u in users
            if "groupid" not in options or int(options["groupid"]) in [g["id"] for g in u.get("groups", [])]
        ]
        start, size = int(options["limitfrom"]), int(options["limitnumber"])
        return chosen[start : start + size]

    return {
        "core_course_get_courses_by_field": recording("005_core_course_get_courses_by_field__shortname_KU-2023-H1")[
            "body"
        ],
        "core_course_get_contents": recording("010_KU-2023-H1__core_course_get_contents")["body"],
        "core_group_get_course_groups": recording("011_KU-2023-H1__core_group_get_course_groups")["body"],
        "core_enrol_get_enrolled_users": page,
        "mod_attendance_get_sessions": sessions,
        "core_webservice_get_site_info": recording("001_core_webservice_get_site_info")["body"],
        "core_user_get_users_by_field": recording("043_KU-2023-H1__core_user_get_users_by_field__id")["body"],
    }


def test_real_course_a_group_session_is_a_dash_for_the_other_groups_members(engine: Engine) -> None:
    """Recorded KU-2023-H1 as two group cohorts (Поток 1, Поток 2), session 4 only Поток 1's: Поток 2 reads «—» there."""
    config = settings("""
[moodle]
url = "http://moodle.test"
[[cohorts]]
key = "KU-P1"
program = "ku"
course = "KU-2023-H1"
group = "Поток 1"
[[cohorts]]
key = "KU-P2"
program = "ku"
course = "KU-2023-H1"
group = "Поток 2"
""")
    client = ScriptedClient(_real_course(group_session=4))
    connector = MoodleConnector(config, client)
    batches = [connector.read_cohort(c, {}) for c in config.cohorts]
    run_sync(engine, config, registry_from_settings(config), [ListConnector(batches)])
    by_district = rosters(engine, registry_from_settings(config), program_key="ku", school_year="2023/24")
    columns = next(iter(by_district.values())).columns
    assert [c.header for c in columns] == ["20.09.23", "23.09.23", "11.10.23", "18.10.23", "15.11.23", "25.11.23"]
    group_column = 3
    assert columns[group_column].cohorts == ("KU-P1",) and columns[0].cohorts == ("KU-P1", "KU-P2")
    rows = [r for roster in by_district.values() for r in roster.rows]
    p2 = [r for r in rows if r.cohorts == ("KU-P2",)]
    p1 = [r for r in rows if r.cohorts == ("KU-P1",)]
    assert p2 and p1
    assert all(r.marks[group_column].text == NOT_HELD for r in p2)
    assert all(r.marks[group_column].text != NOT_HELD for r in p1)
    assert any(r.marks[group_column].text in ("A", "E") for r in p1)  # a real absence stays an absence
    assert all(NOT_HELD not in [x.text for x in r.marks[:3]] for r in rows)  # course-wide sessions: everyone's
