"""Участники-итоги: each district's people with their sessions and defense outcome.

One query shape serves the district pages of the report and the district emails, so what a
district's email carries is exactly what its page shows. Every row is filtered by district in
Python from one resolved mapping; a district's roster never holds another district's person.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from intensive_tracker.store import models as m
from intensive_tracker.people.districts import UNASSIGNED, Registry
from intensive_tracker.people.vocabulary import DEFENSE_RANK
from intensive_tracker.periods import school_year_start

OUTCOME_LABELS = {"passed": "защита пройдена", "failed": "защита не пройдена", "pending": "ожидает оценки",
                  None: "не защищал(а)"}


@dataclass(frozen=True)
class RosterRow:
    participant_id: int
    full_name: str
    school: str
    category: str
    sessions_attended: int
    defense: str | None  # passed | failed | pending | None

    @property
    def defense_label(self) -> str:
        return OUTCOME_LABELS[self.defense]


@dataclass(frozen=True)
class Roster:
    district: str
    program_key: str
    school_year: str
    rows: list[RosterRow]

    @property
    def attendances(self) -> int:
        return sum(r.sessions_attended for r in self.rows)

    @property
    def defenses_passed(self) -> int:
        return sum(1 for r in self.rows if r.defense == "passed")


def rosters(engine: Engine, registry: Registry, *, program_key: str, school_year: str) -> dict[str, Roster]:
    """Per district (UNASSIGNED for people without a resolved one): everyone who attended or defended."""
    start = school_year_start(school_year)
    on = date(start, 9, 1)
    with engine.connect() as conn:
        program_id = conn.execute(select(col(m.Program.id)).where(col(m.Program.key) == program_key)).scalar_one_or_none()
        if program_id is None:
            return {}
        cohort_ids = [c for (c,) in conn.execute(select(col(m.Cohort.id)).where(col(m.Cohort.program_id) == program_id))]
        sessions = [
            sid for sid, starts in conn.execute(select(col(m.Session.id), col(m.Session.starts_at))
                                                .where(col(m.Session.cohort_id).in_(cohort_ids)))
            if _school_year(starts) == school_year
        ]
        attended: dict[int, int] = defaultdict(int)
        for start_i in range(0, len(sessions), 500):
            for pid, n in conn.execute(
                select(col(m.Attendance.participant_id), func.count())
                .where(col(m.Attendance.session_id).in_(sessions[start_i:start_i + 500]), col(m.Attendance.present).is_(True))
                .group_by(col(m.Attendance.participant_id))
            ):
                attended[pid] += int(n)
        outcomes: dict[int, str] = {}
        for pid, outcome, graded_at, cohort_year in conn.execute(
            select(col(m.Defense.participant_id), col(m.Defense.outcome), col(m.Defense.graded_at), col(m.Cohort.school_year))
            .join(m.Cohort, col(m.Cohort.id) == col(m.Defense.cohort_id)).where(col(m.Cohort.program_id) == program_id)
        ):
            year = _school_year(graded_at) if graded_at is not None else cohort_year
            if year == school_year and DEFENSE_RANK[outcome] > DEFENSE_RANK.get(outcomes.get(pid, ""), 0):
                outcomes[pid] = outcome
        ids = sorted(set(attended) | set(outcomes))
        people = {}
        for start_i in range(0, len(ids), 500):
            for p in conn.execute(select(m.Participant).where(col(m.Participant.id).in_(ids[start_i:start_i + 500]))):
                people[p.id] = p
    by_district: dict[str, list[RosterRow]] = defaultdict(list)
    for pid in ids:
        p = people[pid]
        district = registry.resolve(p.district_raw, on=on).name or UNASSIGNED
        by_district[district].append(RosterRow(
            participant_id=pid, full_name=p.full_name, school=p.school or "", category=p.category or "",
            sessions_attended=attended.get(pid, 0), defense=outcomes.get(pid)))
    return {d: Roster(d, program_key, school_year, sorted(rows, key=lambda r: (r.full_name, r.participant_id)))
            for d, rows in sorted(by_district.items())}


def _school_year(value) -> str:  # type: ignore[no-untyped-def]
    from intensive_tracker.periods import local_date, school_year_of

    return school_year_of(local_date(value))
