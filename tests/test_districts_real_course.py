"""The real recorded course: each participant under the answer key's district, or «не распределён» with the reason."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from intensive_tracker.people.districts import registry_from_settings
from intensive_tracker.people.identity import email_key
from intensive_tracker.reports.quality import build_quality
from intensive_tracker.reports.roster import rosters
from intensive_tracker.store import models as m
from intensive_tracker.text import UNASSIGNED
from tests.conftest import FIXTURES, recording
from tests.people_factories import batch, person, settings, sync

MOSCOW = ZoneInfo("Europe/Moscow")


def test_real_course_district_report(engine: Engine) -> None:
    """All 705 enrolled users of KU-2023-H1: the roster's district matches the answer key for each person."""
    users = recording("012_KU-2023-H1__core_enrol_get_enrolled_users__all")["body"]
    key = json.loads((FIXTURES / "moodle-answer-key.json").read_text("utf-8"))["users"]["district_spellings"]
    people, expected = [], {}
    for u in users:
        raw = next((f["value"] for f in u["customfields"] if f["shortname"] == "district"), None)
        people.append(person(u["id"], u["fullname"], raw, u["email"]))
        answer = key[raw or ""]["canonical"]
        expected.setdefault(email_key(u["email"]), set()).add(UNASSIGNED if answer == "(не указан)" else answer)
    config = settings()
    sync(
        engine,
        config,
        [
            batch(
                "KU-2023-H1",
                people,
                sessions=[("s", "2023-09-20 12:00", True)],
                present={"s": [u["id"] for u in users]},
            )
        ],
    )
    registry = registry_from_settings(config)
    placed = {}
    for district, roster in rosters(engine, registry, program_key="ku", school_year="2023/24").items():
        for row in roster.rows:
            placed[row.participant_id] = district
    quality = build_quality(engine, registry, config, datetime(2024, 6, 1, tzinfo=MOSCOW))
    assert quality.unknown_districts == []
    # «не распределён» holds exactly the people the quality page lists as having no district.
    unassigned = {p for p, d in placed.items() if d == UNASSIGNED}
    assert {w.person.participant_id for w in quality.without_district} == unassigned
    assert quality.without_district_total == 7
    email_of = _emails_by_participant(engine)
    assert len(placed) == len(expected) == 702  # 705 accounts, 3 of them e-mail case twins: one person each
    for pid, district in placed.items():
        assert district in expected[email_of[pid]], (pid, district)


def _emails_by_participant(engine: Engine) -> dict[int, str | None]:
    with engine.connect() as conn:
        return {pid: email_key(e) for pid, e in conn.execute(select(m.Account.participant_id, m.Account.email))}
