"""The figures of one school year of a program: districts, launches, visits and registrations."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlmodel import col

from intensive_tracker.people.districts import Registry
from intensive_tracker.people.vocabulary import OUTCOMES
from intensive_tracker.periods import (
    school_year_start,
)
from intensive_tracker.reports.figure_types import (
    DistrictRow,
    LaunchSummary,
    OutcomeCounts,
    SessionRow,
    YearSummary,
)
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked
from intensive_tracker.text import UNASSIGNED


def _registered(conn: Connection, cohort_ids: list[int]) -> int | None:
    """People registered through forms for these launches, or None when no form registers for them.

    Form registrations are rows of `registration` (connectors/forms); a row removed from a
    corrected file (missing_since set) no longer counts. Enrolments with status "registered"
    count too.
    """
    if not cohort_ids:
        return None
    people: set[int] = set(
        conn.execute(
            select(col(m.Enrolment.participant_id)).where(
                col(m.Enrolment.cohort_id).in_(cohort_ids), col(m.Enrolment.status) == "registered"
            )
        ).scalars()
    )
    registered = conn.execute(
        select(col(m.Registration.participant_id), col(m.Registration.missing_since)).where(
            col(m.Registration.cohort_id).in_(cohort_ids)
        )
    ).all()
    if not people and not registered:
        return None
    people.update(pid for pid, missing_since in registered if missing_since is None)
    return len(people)


def _visits(per_person: Counter[int] | dict[int, int], sessions_held: int) -> dict[int, int]:
    """How many people came to exactly 1, 2, … sessions (every count up to the sessions held)."""
    spread = Counter(per_person.values())
    top = max([sessions_held, *spread])
    return {k: spread[k] for k in range(1, top + 1)}


def year_summary(
    conn: Connection,
    year: str,
    sessions: list[SessionRow],
    session_ids: list[int],
    passed: list[tuple[int, str | None]],
    registry: Registry,
    *,
    cohorts: dict[int, tuple[str, str | None, int | None, str | None]],
    cohort_ids: dict[str, int],
    outcomes: dict[str, dict[str, Counter[str]]],
) -> YearSummary:
    on = date(school_year_start(year), 9, 1)
    attendance_by_person: Counter[int] = Counter()
    by_launch: dict[int, Counter[int]] = defaultdict(Counter)
    district_raw: dict[int, str | None] = {}
    for chunk in chunked(session_ids):
        for pid, raw, cohort_id, n in conn.execute(
            select(
                col(m.Attendance.participant_id),
                col(m.Participant.district_raw),
                col(m.Session.cohort_id),
                func.count(),
            )
            .join(m.Participant, col(m.Participant.id) == col(m.Attendance.participant_id))
            .join(m.Session, col(m.Session.id) == col(m.Attendance.session_id))
            .where(col(m.Attendance.session_id).in_(chunk), col(m.Attendance.present).is_(True))
            .group_by(col(m.Attendance.participant_id), col(m.Participant.district_raw), col(m.Session.cohort_id))
        ):
            attendance_by_person[pid] += int(n)
            by_launch[cohort_id][pid] += int(n)
            district_raw[pid] = raw
    for pid, raw in passed:
        district_raw.setdefault(pid, raw)

    def district(pid: int) -> str:
        return registry.resolve(district_raw.get(pid), on=on).name or UNASSIGNED

    people: dict[str, set[int]] = defaultdict(set)
    visits: Counter[str] = Counter()
    defended: Counter[str] = Counter()
    for pid, n in attendance_by_person.items():
        people[district(pid)].add(pid)
        visits[district(pid)] += n
    for pid, _ in passed:
        people[district(pid)].add(pid)
        defended[district(pid)] += 1
    rows = [
        DistrictRow(d, len(people[d]), visits[d], defended[d])
        for d in sorted(people, key=lambda d: (d == UNASSIGNED, d))
    ]
    territorial = registry.territorial(on=on)
    reached = sorted(d for d in people if d in set(territorial))
    launches = []
    for key in dict.fromkeys(s.cohort for s in sessions):  # launches in the order of their first session
        cid = cohort_ids[key]
        own = [s for s in sessions if s.cohort == key]
        counts = outcomes["cohort"].get(key, Counter())
        launches.append(
            LaunchSummary(
                cohort=key,
                title=cohorts[cid][1],
                term=cohorts[cid][2],
                sessions=own,
                attendances=sum(by_launch[cid].values()),
                unique_participants=len(by_launch[cid]),
                visits=_visits(by_launch[cid], sum(1 for s in own if s.taken)),
                outcomes=OutcomeCounts(**{o: counts[o] for o in OUTCOMES}),
            )
        )
    year_outcomes = outcomes["school"].get(year, Counter())
    return YearSummary(
        school_year=year,
        sessions=sessions,
        attendances=sum(attendance_by_person.values()),
        unique_participants=len(attendance_by_person),
        defenses_passed=len(passed),
        districts=rows,
        districts_reached=reached,
        districts_not_reached=[d for d in territorial if d not in set(reached)],
        districts_with_defenses=sum(1 for d, n in defended.items() if n and d != UNASSIGNED),
        launches=launches,
        visits=_visits(attendance_by_person, sum(1 for s in sessions if s.taken)),
        outcomes=OutcomeCounts(**{o: year_outcomes[o] for o in OUTCOMES}),
        registered=_registered(conn, [cohort_ids[k] for k in dict.fromkeys(s.cohort for s in sessions)]),
    )
