"""Участники-итоги: each district's people with their sessions and defense outcome.

One query shape serves the district pages of the report, the district emails (HTML, text and the
XLSX attachment) and the person cards, so what a district's email carries is exactly what its page
shows. Every row is filtered by district in Python from one resolved mapping; a district's roster
never holds another district's person.

The matrix: one column per session of the period, in date order. A Moodle session that two group
cohorts of one course both keep (a course-wide session) is one column. A person's cell holds the
status acronym of their mark («+» for a form sign-in), "" when not marked, and «—» when none of
the person's cohorts had the session (another group's session, another launch): not an absence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from intensive_tracker.people.districts import Registry
from intensive_tracker.people.vocabulary import DEFENSE_RANK
from intensive_tracker.periods import local, local_date, school_year_of, school_year_start
from intensive_tracker.reports.roster_types import FORM_SIGN_IN, NOT_HELD, Mark, Roster, RosterRow, SessionColumn
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked
from intensive_tracker.text import UNASSIGNED

_FORM_STATUS, _REMOVED_STATUS = "form", "removed"  # connectors/forms: a sign-in row; a row a corrected file dropped


def rosters(
    engine: Engine, registry: Registry, *, program_key: str, school_year: str, only: Iterable[int] | None = None
) -> dict[str, Roster]:
    """Per district (UNASSIGNED for people without a resolved one): everyone who attended or defended.

    `only` limits the rows to these participants (a person's card); columns and districts are the same.
    """
    start = school_year_start(school_year)
    on = date(start, 9, 1)
    wanted = set(only) if only is not None else None
    with engine.connect() as conn:
        program_id = conn.execute(
            select(col(m.Program.id)).where(col(m.Program.key) == program_key)
        ).scalar_one_or_none()
        if program_id is None:
            return {}
        cohorts: dict[int, tuple[str, int | None]] = {
            cid: (key, course)
            for cid, key, course in conn.execute(
                select(col(m.Cohort.id), col(m.Cohort.key), col(m.Cohort.course_id)).where(
                    col(m.Cohort.program_id) == program_id
                )
            )
            if cid is not None
        }
        has_defense = (
            conn.execute(
                select(func.count()).select_from(m.Defense).where(col(m.Defense.cohort_id).in_(list(cohorts)))
            ).scalar_one()
            > 0
        )
        columns, column_of, session_cohort = _columns(conn, cohorts, school_year)
        marks: dict[int, dict[int, list[tuple[str, bool, str]]]] = defaultdict(lambda: defaultdict(list))
        attended: dict[int, int] = defaultdict(int)
        member: dict[int, set[int]] = defaultdict(set)  # participant → cohort ids
        sessions = list(column_of)
        for chunk in chunked(sessions):
            for pid, sid, status, present, label in conn.execute(
                select(
                    col(m.Attendance.participant_id),
                    col(m.Attendance.session_id),
                    col(m.Attendance.status),
                    col(m.Attendance.present),
                    col(m.Attendance.status_label),
                ).where(col(m.Attendance.session_id).in_(chunk))
            ):
                if wanted is not None and pid not in wanted:
                    continue
                marks[pid][column_of[sid]].append((status, bool(present), label or ""))
                member[pid].add(session_cohort[sid])
                attended[pid] += 1 if present else 0
        best: dict[int, tuple[str, float | None, datetime | None, int, float | None]] = {}
        for pid, graded, grade, graded_at, cohort_id, cohort_year, grade_max in conn.execute(
            select(
                col(m.Defense.participant_id),
                col(m.Defense.outcome),
                col(m.Defense.grade),
                col(m.Defense.graded_at),
                col(m.Defense.cohort_id),
                col(m.Cohort.school_year),
                col(m.Defense.grade_max),
            )
            .join(m.Cohort, col(m.Cohort.id) == col(m.Defense.cohort_id))
            .where(col(m.Cohort.program_id) == program_id)
        ):
            if wanted is not None and pid not in wanted:
                continue
            year = _school_year(graded_at) if graded_at is not None else cohort_year
            if year == school_year and (pid not in best or DEFENSE_RANK[graded] > DEFENSE_RANK[best[pid][0]]):
                best[pid] = (graded, grade, graded_at, cohort_id, grade_max)
        ids = sorted({pid for pid, n in attended.items() if n} | set(best))
        for chunk in chunked(ids):
            for table in (m.Enrolment.__table__, m.Registration.__table__):  # type: ignore[attr-defined]
                for pid, cid in conn.execute(
                    select(table.c.participant_id, table.c.cohort_id).where(
                        table.c.participant_id.in_(chunk), table.c.cohort_id.in_(list(cohorts))
                    )
                ):
                    member[pid].add(cid)
        people = {}
        for chunk in chunked(ids):
            for p in conn.execute(select(m.Participant).where(col(m.Participant.id).in_(chunk))):
                people[p.id] = p
    by_district: dict[str, list[RosterRow]] = defaultdict(list)
    for pid in ids:
        p = people[pid]
        if pid in best:
            member[pid].add(best[pid][3])
        outcome, grade, graded_at, _, grade_max = best.get(pid, (None, None, None, 0, None))
        cells = _cells(columns, marks.get(pid, {}), {cohorts[c][0] for c in member[pid]})
        district = registry.resolve(p.district_raw, on=on).name or UNASSIGNED
        by_district[district].append(
            RosterRow(
                participant_id=pid,
                full_name=p.full_name,
                school=p.school or "",
                category=p.category or "",
                sessions_attended=attended.get(pid, 0),
                defense=outcome,
                marks=cells,
                attended_days=tuple(c.day for c, mark in zip(columns, cells) if mark.present),
                cohorts=tuple(sorted(cohorts[c][0] for c in member[pid])),
                defense_date=local(graded_at).date() if graded_at is not None and outcome != "pending" else None,
                defense_grade=grade if outcome in ("passed", "failed") else None,
                defense_grade_max=grade_max if outcome in ("passed", "failed") else None,
                district_raw=p.district_raw,
            )
        )
    return {
        d: Roster(
            d,
            program_key,
            school_year,
            sorted(rows, key=lambda r: (r.full_name, r.participant_id)),
            columns,
            has_defense,
        )
        for d, rows in sorted(by_district.items())
    }


def _columns(
    conn: Connection,
    cohorts: dict[int, tuple[str, int | None]],
    school_year: str,
) -> tuple[tuple[SessionColumn, ...], dict[int, int], dict[int, int]]:
    """The period's taken sessions as columns; session id → column index and → cohort id."""
    found: dict[str, list] = {}  # type: ignore[type-arg]
    for sid, cohort_id, source_key, starts, topic, taken, missing in conn.execute(
        select(
            col(m.Session.id),
            col(m.Session.cohort_id),
            col(m.Session.source_key),
            col(m.Session.starts_at),
            col(m.Session.topic),
            col(m.Session.taken),
            col(m.Session.missing_since),
        ).where(col(m.Session.cohort_id).in_(list(cohorts)))
    ):
        if not taken or _school_year(starts) != school_year:
            continue
        course = cohorts[cohort_id][1]
        key = f"course:{course}:{source_key}" if course is not None else f"session:{sid}"
        found.setdefault(key, []).append((sid, cohort_id, local(starts), topic, missing is not None))
    ordered = sorted(found.items(), key=lambda kv: (min(x[2] for x in kv[1]), kv[0]))
    columns, column_of, session_cohort = [], {}, {}
    for index, (key, items) in enumerate(ordered):
        first = min(items, key=lambda x: x[2])
        columns.append(
            SessionColumn(
                key=key,
                starts_at=first[2],
                topic=first[3],
                cohorts=tuple(sorted({cohorts[x[1]][0] for x in items})),
                deleted=all(x[4] for x in items),
            )
        )
        for sid, cohort_id, *_ in items:
            column_of[sid] = index
            session_cohort[sid] = cohort_id
    return tuple(columns), column_of, session_cohort


def _cells(
    columns: tuple[SessionColumn, ...], marks: dict[int, list[tuple[str, bool, str]]], cohort_keys: set[str]
) -> tuple[Mark, ...]:
    cells = []
    for index, column in enumerate(columns):
        found = marks.get(index)
        if found:
            status, present, label = max(found, key=lambda x: x[1])  # present over absent
            text = FORM_SIGN_IN if status == _FORM_STATUS else ("" if status == _REMOVED_STATUS else status)
            cells.append(Mark(text, present, label))
        elif cohort_keys.isdisjoint(column.cohorts):
            cells.append(Mark(NOT_HELD))
        else:
            cells.append(Mark(""))
    return tuple(cells)


def _school_year(value) -> str:  # type: ignore[no-untyped-def]
    return school_year_of(local_date(value))
