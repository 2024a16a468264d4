"""Figures of the methodist's report, computed from the stored records (never carried).

Queries build frozen dataclasses; templates and summary.json only lay them out.
Definitions: an *attendance* is a mark that counts as present; a *unique participant* of a
period is a person with at least one attendance in it; a defense belongs to the calendar year,
half-year and school year of its grading date in the lab's time zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlmodel import col

from intensive_tracker.config import Settings
from intensive_tracker.people.districts import Registry
from intensive_tracker.people.vocabulary import OUTCOMES
from intensive_tracker.periods import (
    half_year_label,
    half_year_of,
    local,
    local_date,
    school_year_of,
    school_year_start,
)
from intensive_tracker.reports.figure_types import (
    DefenseCounts,
    OutcomeCounts,
    ProgramSummary,
    SessionRow,
    Summary,
)
from intensive_tracker.reports.freshness import errors_of_last, freshness_warnings, last_current, reached_every_source
from intensive_tracker.reports.year_figures import year_summary
from intensive_tracker.store import models as m


def build_summary(
    engine: Engine,
    registry: Registry,
    *,
    tz: ZoneInfo,
    now: datetime,
    school_year: str | None = None,
    defense_programs: frozenset[str] = frozenset(),
) -> Summary:
    """Everything the site, the exports and summary.json show.

    `defense_programs`: keys of the programs the config gives a defense (`programs_with_defense`); a
    program neither there nor with any defense record has no defense, and no page shows defense figures for it.
    """
    with engine.connect() as conn:
        programs = conn.execute(select(m.Program).order_by(col(m.Program.id))).all()
        summaries = [_program(conn, p, registry, tz, school_year, defense_programs) for p in programs]
        finished = (
            select(col(m.SyncRun.finished_at), col(m.SyncRun.status))
            .where(col(m.SyncRun.finished_at).is_not(None))
            .order_by(col(m.SyncRun.finished_at).desc(), col(m.SyncRun.id).desc())
            .limit(1)
        )
        last = conn.execute(finished).first()
        success = last_current(conn)
        last_errors = errors_of_last(conn)
    # finished_at is never None here (the query selects finished runs); the test only narrows the type.
    last_sync = local(last[0], tz) if last and last[0] is not None else None
    last_success = local(success, tz) if success is not None else None
    return Summary(
        generated_at=now,
        timezone=str(tz),
        programs=summaries,
        last_sync=last_sync,
        last_sync_status=last[1] if last else None,
        last_success=last_success,
        freshness_warnings=freshness_warnings(
            now=now,
            last_success=last_success,
            last_status=last[1] if last else None,
            reached_all=reached_every_source(last_errors),
        ),
    )


def programs_with_defense(settings: Settings) -> frozenset[str]:
    """Programs the config gives a defense: a cohort with `defense`, or a defense form."""
    cohort_program = {c.key: c.program for c in settings.cohorts}
    configured = {c.program for c in settings.cohorts if c.defense is not None}
    for form in settings.forms:
        if form.kind == "defense":
            program = form.program or cohort_program.get(form.cohort)
            if program:
                configured.add(program)
    return frozenset(configured)


def _program(
    conn: Connection,
    program: Row[Any],
    registry: Registry,
    tz: ZoneInfo,
    wanted_year: str | None,
    defense_programs: frozenset[str] = frozenset(),
) -> ProgramSummary:
    present = func.sum(case((col(m.Attendance.present).is_(True), 1), else_=0))
    # `cid is not None` only narrows the type: a stored row's primary key is never NULL.
    cohorts = {
        cid: (key, title, term, year)
        for cid, key, title, term, year in conn.execute(
            select(
                col(m.Cohort.id), col(m.Cohort.key), col(m.Cohort.title), col(m.Cohort.term), col(m.Cohort.school_year)
            ).where(col(m.Cohort.program_id) == program.id)
        )
        if cid is not None
    }
    rows = conn.execute(
        select(
            col(m.Session.id),
            col(m.Session.starts_at),
            col(m.Session.topic),
            col(m.Session.speaker),
            col(m.Session.taken),
            col(m.Cohort.key),
            func.coalesce(present, 0),
        )
        .join(m.Cohort, col(m.Cohort.id) == col(m.Session.cohort_id))
        .outerjoin(m.Attendance, col(m.Attendance.session_id) == col(m.Session.id))
        # Sessions Moodle no longer lists stay in: past periods must not drift (issue 6, history is kept).
        .where(col(m.Cohort.program_id) == program.id)
        .group_by(col(m.Session.id), col(m.Cohort.key))
        .order_by(col(m.Session.starts_at), col(m.Session.id))
    ).all()
    by_year: dict[str, list[tuple[int, SessionRow]]] = defaultdict(list)
    data_days: list[date] = []
    for sid, starts, topic, speaker, taken, cohort_key, n in rows:
        when = local(starts, tz)
        year = school_year_of(when.date())
        number = sum(1 for _, r in by_year[year] if r.taken) + 1 if taken else 0
        row = SessionRow(
            number=number,
            starts_at=when,
            topic=topic,
            speaker=speaker,
            present=int(n),
            taken=bool(taken),
            cohort=cohort_key,
        )
        by_year[year].append((sid, row))
        if taken:
            data_days.append(when.date())

    defenses = conn.execute(
        select(
            col(m.Defense.participant_id),
            col(m.Defense.outcome),
            col(m.Defense.graded_at),
            col(m.Defense.cohort_id),
            col(m.Participant.district_raw),
        )
        .join(m.Cohort, col(m.Cohort.id) == col(m.Defense.cohort_id))
        .join(m.Participant, col(m.Participant.id) == col(m.Defense.participant_id))
        .where(col(m.Cohort.program_id) == program.id)
    ).all()
    by_calendar: Counter[str] = Counter()
    by_half: Counter[str] = Counter()
    by_school: Counter[str] = Counter()
    defenses_by_year: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    outcomes: dict[str, dict[str, Counter[str]]] = {
        "calendar": defaultdict(Counter),
        "half": defaultdict(Counter),
        "school": defaultdict(Counter),
        "cohort": defaultdict(Counter),
    }
    for pid, outcome, graded_at, cohort_id, district_raw in defenses:
        outcomes["cohort"][cohorts[cohort_id][0]][outcome] += 1
        period_year, day = _defense_period(graded_at, cohorts[cohort_id][2:], tz)
        if period_year:
            outcomes["school"][period_year][outcome] += 1
        if day:
            outcomes["calendar"][str(day.year)][outcome] += 1
            outcomes["half"][half_year_of(day)][outcome] += 1
        if outcome != "passed" or graded_at is None:
            continue
        day = local_date(graded_at, tz)
        data_days.append(day)
        by_calendar[str(day.year)] += 1
        by_half[half_year_of(day)] += 1
        year = school_year_of(day)
        by_school[year] += 1
        defenses_by_year[year].append((pid, district_raw))

    cohort_ids = {key: cid for cid, (key, *_) in cohorts.items()}
    years = sorted(set(by_year) | set(defenses_by_year))
    summaries = [
        year_summary(
            conn,
            y,
            [r for _, r in by_year.get(y, [])],
            [sid for sid, _ in by_year.get(y, [])],
            defenses_by_year.get(y, []),
            registry,
            cohorts=cohorts,
            cohort_ids=cohort_ids,
            outcomes=outcomes,
        )
        for y in years
    ]
    current_year = wanted_year or (max(by_year) if by_year else (years[-1] if years else None))
    current = next((y for y in summaries if y.school_year == current_year), None)
    return ProgramSummary(
        key=program.key,
        title=program.title,
        full_title=program.full_title,
        school_year=current_year,
        current=current,
        years=summaries,
        defenses_passed=DefenseCounts(
            dict(sorted(by_calendar.items())), dict(sorted(by_half.items())), dict(sorted(by_school.items()))
        ),
        outcomes_by_calendar_year=_outcome_table(outcomes["calendar"]),
        outcomes_by_half_year=_outcome_table(outcomes["half"]),
        outcomes_by_school_year=_outcome_table(outcomes["school"]),
        participation_terms=participation_terms(by_calendar, by_half, max(data_days, default=None)),
        has_defense=program.key in defense_programs or bool(defenses),
    )


def _defense_period(
    graded_at: datetime | None, cohort: tuple[int | None, str | None], tz: ZoneInfo
) -> tuple[str | None, date | None]:
    """School year and a day for a defense: its grading date, else (pending) its launch's half-year."""
    if graded_at is not None:
        day = local_date(graded_at, tz)
        return school_year_of(day), day
    term, year = cohort
    if year is None:
        return None, None
    if term is None:
        return year, None
    start = school_year_start(year)
    # A launch's first полугодие is Sep–Dec (calendar H2), its second Jan–Jun (calendar H1).
    return year, date(start, 12, 1) if term == 1 else date(start + 1, 3, 1)


def _outcome_table(counts: dict[str, Counter[str]]) -> dict[str, OutcomeCounts]:
    return {k: OutcomeCounts(**{o: c[o] for o in OUTCOMES}) for k, c in sorted(counts.items())}


def participation_terms(
    by_calendar: Counter[str], by_half: Counter[str], data_end: date | None
) -> list[tuple[str, int]]:
    """Rows «Сроки участия в проекте / прошли защиту»: calendar years; the last one «(1 полугодие)» while
    the records of that year end before July (as the 2023/24 report writes «2024 (1 полугодие)»)."""
    rows = []
    for year in sorted(by_calendar):
        if data_end is not None and str(data_end.year) == year and data_end.month <= 6:
            rows.append((half_year_label(f"{year}-H1"), by_half[f"{year}-H1"]))
        else:
            rows.append((year, by_calendar[year]))
    return rows
