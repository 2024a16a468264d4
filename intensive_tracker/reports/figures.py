"""Figures of the methodist's report, computed from the stored records (never carried).

Queries build frozen dataclasses; templates and summary.json only lay them out.
Definitions: an *attendance* is a mark that counts as present; a *unique participant* of a
period is a person with at least one attendance in it; a defense belongs to the calendar year,
half-year and school year of its grading date in the lab's time zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from intensive_tracker.store import models as m
from intensive_tracker.people.districts import UNASSIGNED, Registry
from intensive_tracker.people.vocabulary import OUTCOMES
from intensive_tracker.periods import (half_year_label, half_year_of, local, local_date, school_year_of,
                                      school_year_start)

# The methodist is warned when the newest successful sync is older than this.
STALE_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class SessionRow:
    number: int
    starts_at: datetime  # local time
    topic: str
    speaker: str | None
    present: int
    taken: bool
    cohort: str

    @property
    def day(self) -> date:
        return self.starts_at.date()


@dataclass(frozen=True)
class DistrictRow:
    district: str
    participants: int
    attendances: int
    defenses_passed: int

    @property
    def defended_share(self) -> float:
        """Share of the district's participants of the period who passed the defense (0…1)."""
        return self.defenses_passed / self.participants if self.participants else 0.0


@dataclass(frozen=True)
class OutcomeCounts:
    """Defenses of a period by outcome; `pending` = submitted, not graded yet."""

    passed: int = 0
    failed: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.pending


@dataclass(frozen=True)
class LaunchSummary:
    """One launch (cohort) of a program within a school year: its sessions and results."""

    cohort: str
    title: str | None
    term: int | None  # полугодие учебного года
    sessions: list[SessionRow]
    attendances: int
    unique_participants: int
    visits: dict[int, int]  # number of sessions attended → people
    outcomes: OutcomeCounts

    @property
    def held(self) -> list[SessionRow]:
        return [s for s in self.sessions if s.taken]

    @property
    def planned(self) -> list[SessionRow]:
        return [s for s in self.sessions if not s.taken]


@dataclass(frozen=True)
class YearSummary:
    school_year: str
    sessions: list[SessionRow]
    attendances: int
    unique_participants: int
    defenses_passed: int
    districts: list[DistrictRow]
    districts_reached: list[str]
    districts_not_reached: list[str]
    districts_with_defenses: int
    launches: list[LaunchSummary] = field(default_factory=list)
    visits: dict[int, int] = field(default_factory=dict)  # number of sessions attended → people
    outcomes: OutcomeCounts = OutcomeCounts()
    registered: int | None = None  # people registered through forms; None when no form data exists

    @property
    def held(self) -> list[SessionRow]:
        return [s for s in self.sessions if s.taken]

    @property
    def planned(self) -> list[SessionRow]:
        """Sessions not taken yet: shown as such, never as zero participants."""
        return [s for s in self.sessions if not s.taken]

    @property
    def sessions_held(self) -> int:
        return len(self.held)


@dataclass(frozen=True)
class DefenseCounts:
    by_calendar_year: dict[str, int]
    by_half_year: dict[str, int]
    by_school_year: dict[str, int]


@dataclass(frozen=True)
class ProgramSummary:
    key: str
    title: str
    full_title: str | None
    school_year: str | None
    current: YearSummary | None
    years: list[YearSummary]
    defenses_passed: DefenseCounts
    outcomes_by_calendar_year: dict[str, OutcomeCounts] = field(default_factory=dict)
    outcomes_by_half_year: dict[str, OutcomeCounts] = field(default_factory=dict)
    outcomes_by_school_year: dict[str, OutcomeCounts] = field(default_factory=dict)
    participation_terms: list[tuple[str, int]] = field(default_factory=list)

    def year(self, school_year: str) -> YearSummary | None:
        return next((y for y in self.years if y.school_year == school_year), None)


@dataclass(frozen=True)
class Summary:
    generated_at: datetime
    timezone: str
    programs: list[ProgramSummary] = field(default_factory=list)
    last_sync: datetime | None = None
    last_sync_status: str | None = None
    last_success: datetime | None = None
    freshness_warnings: list[str] = field(default_factory=list)


def build_summary(engine: Engine, registry: Registry, *, tz: ZoneInfo, now: datetime,
                  school_year: str | None = None) -> Summary:
    """Everything the site, the exports and summary.json show."""
    with engine.connect() as conn:
        programs = conn.execute(select(m.Program).order_by(m.Program.id)).all()
        summaries = [_program(conn, p, registry, tz, school_year) for p in programs]
        finished = (select(m.SyncRun.finished_at, m.SyncRun.status).where(m.SyncRun.finished_at.is_not(None))
                    .order_by(m.SyncRun.finished_at.desc(), m.SyncRun.id.desc()).limit(1))
        last = conn.execute(finished).first()
        success = conn.execute(finished.where(m.SyncRun.status == "ok")).first()
    last_sync = local(last[0], tz) if last else None
    last_success = local(success[0], tz) if success else None
    return Summary(generated_at=now, timezone=str(tz), programs=summaries,
                   last_sync=last_sync, last_sync_status=last[1] if last else None, last_success=last_success,
                   freshness_warnings=freshness_warnings(now=now, last_success=last_success,
                                                         last_status=last[1] if last else None))


def freshness_warnings(*, now: datetime, last_success: datetime | None, last_status: str | None) -> list[str]:
    """What the page must warn about: no successful sync, one older than two days, a troubled last run."""
    warnings = []
    if last_success is None:
        warnings.append("Успешной синхронизации с Moodle ещё не было: цифры могут быть неполными.")
    elif now - last_success > STALE_AFTER:
        warnings.append("Последняя успешная синхронизация была больше двух дней назад: данные могут быть устаревшими.")
    if last_status is not None and last_status != "ok":
        label = {"problems": "завершилась с проблемами", "failed": "не выполнена"}.get(last_status, last_status)
        warnings.append(f"Последняя синхронизация {label}: часть данных могла не обновиться.")
    return warnings


def _program(conn, program, registry: Registry, tz: ZoneInfo, wanted_year: str | None) -> ProgramSummary:  # type: ignore[no-untyped-def]
    present = func.sum(case((m.Attendance.present.is_(True), 1), else_=0))
    cohorts = {cid: (key, title, term, year) for cid, key, title, term, year in conn.execute(
        select(m.Cohort.id, m.Cohort.key, m.Cohort.title, m.Cohort.term, m.Cohort.school_year)
        .where(m.Cohort.program_id == program.id))}
    rows = conn.execute(
        select(m.Session.id, m.Session.starts_at, m.Session.topic, m.Session.speaker, m.Session.taken, m.Cohort.key,
               func.coalesce(present, 0))
        .join(m.Cohort, m.Cohort.id == m.Session.cohort_id)
        .outerjoin(m.Attendance, m.Attendance.session_id == m.Session.id)
        # Sessions Moodle no longer lists stay in: past periods must not drift (issue 6, history is kept).
        .where(m.Cohort.program_id == program.id)
        .group_by(m.Session.id, m.Cohort.key)
        .order_by(m.Session.starts_at, m.Session.id)
    ).all()
    by_year: dict[str, list[tuple[int, SessionRow]]] = defaultdict(list)
    data_days: list[date] = []
    for sid, starts, topic, speaker, taken, cohort_key, n in rows:
        when = local(starts, tz)
        year = school_year_of(when.date())
        number = sum(1 for _, r in by_year[year] if r.taken) + 1 if taken else 0
        row = SessionRow(number=number, starts_at=when, topic=topic, speaker=speaker,
                         present=int(n), taken=bool(taken), cohort=cohort_key)
        by_year[year].append((sid, row))
        if taken:
            data_days.append(when.date())

    defenses = conn.execute(
        select(m.Defense.participant_id, m.Defense.outcome, m.Defense.graded_at, m.Defense.cohort_id,
               m.Participant.district_raw)
        .join(m.Cohort, m.Cohort.id == m.Defense.cohort_id)
        .join(m.Participant, m.Participant.id == m.Defense.participant_id)
        .where(m.Cohort.program_id == program.id)
    ).all()
    by_calendar: Counter[str] = Counter()
    by_half: Counter[str] = Counter()
    by_school: Counter[str] = Counter()
    defenses_by_year: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    outcomes: dict[str, dict[str, Counter[str]]] = {"calendar": defaultdict(Counter), "half": defaultdict(Counter),
                                                    "school": defaultdict(Counter), "cohort": defaultdict(Counter)}
    for pid, outcome, graded_at, cohort_id, district_raw in defenses:
        outcomes["cohort"][cohorts[cohort_id][0]][outcome] += 1
        year, day = _defense_period(graded_at, cohorts[cohort_id][2:], tz)
        if year:
            outcomes["school"][year][outcome] += 1
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
    summaries = [_year(conn, y, [r for _, r in by_year.get(y, [])], [sid for sid, _ in by_year.get(y, [])],
                       defenses_by_year.get(y, []), registry, cohorts=cohorts, cohort_ids=cohort_ids,
                       outcomes=outcomes) for y in years]
    current_year = wanted_year or (max(by_year) if by_year else (years[-1] if years else None))
    current = next((y for y in summaries if y.school_year == current_year), None)
    return ProgramSummary(
        key=program.key, title=program.title, full_title=program.full_title, school_year=current_year,
        current=current, years=summaries,
        defenses_passed=DefenseCounts(dict(sorted(by_calendar.items())), dict(sorted(by_half.items())),
                                      dict(sorted(by_school.items()))),
        outcomes_by_calendar_year=_outcome_table(outcomes["calendar"]),
        outcomes_by_half_year=_outcome_table(outcomes["half"]),
        outcomes_by_school_year=_outcome_table(outcomes["school"]),
        participation_terms=participation_terms(by_calendar, by_half, max(data_days, default=None)),
    )


def _defense_period(graded_at: datetime | None, cohort: tuple[int | None, str | None],
                    tz: ZoneInfo) -> tuple[str | None, date | None]:
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


def participation_terms(by_calendar: Counter[str], by_half: Counter[str],
                        data_end: date | None) -> list[tuple[str, int]]:
    """Rows «Сроки участия в проекте / прошли защиту»: calendar years; the last one «(1 полугодие)» while
    the records of that year end before July (as the 2023/24 report writes «2024 (1 полугодие)»)."""
    rows = []
    for year in sorted(by_calendar):
        if data_end is not None and str(data_end.year) == year and data_end.month <= 6:
            rows.append((half_year_label(f"{year}-H1"), by_half[f"{year}-H1"]))
        else:
            rows.append((year, by_calendar[year]))
    return rows


def _registered(conn, cohort_ids: list[int]) -> int | None:  # type: ignore[no-untyped-def]
    """People registered through forms for these launches, or None when no form registers for them.

    Form registrations are rows of `registration` (connectors/forms); a row removed from a
    corrected file (missing_since set) no longer counts. Enrolments with status "registered"
    count too.
    """
    if not cohort_ids:
        return None
    people: set[int] = set(conn.execute(
        select(m.Enrolment.participant_id).where(m.Enrolment.cohort_id.in_(cohort_ids),
                                                 m.Enrolment.status == "registered")).scalars())
    registered = conn.execute(select(m.Registration.participant_id, m.Registration.missing_since)
                              .where(m.Registration.cohort_id.in_(cohort_ids))).all()
    if not people and not registered:
        return None
    people.update(pid for pid, missing_since in registered if missing_since is None)
    return len(people)


def _visits(per_person: Counter[int] | dict[int, int], sessions_held: int) -> dict[int, int]:
    """How many people came to exactly 1, 2, … sessions (every count up to the sessions held)."""
    spread = Counter(per_person.values())
    top = max([sessions_held, *spread])
    return {k: spread[k] for k in range(1, top + 1)}


def _year(conn, year: str, sessions: list[SessionRow], session_ids: list[int],  # type: ignore[no-untyped-def]
          passed: list[tuple[int, str | None]], registry: Registry, *,
          cohorts: dict[int, tuple[str, str | None, int | None, str | None]], cohort_ids: dict[str, int],
          outcomes: dict[str, dict[str, Counter[str]]]) -> YearSummary:
    on = date(school_year_start(year), 9, 1)
    attendance_by_person: Counter[int] = Counter()
    by_launch: dict[int, Counter[int]] = defaultdict(Counter)
    district_raw: dict[int, str | None] = {}
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start:start + 500]
        for pid, raw, cohort_id, n in conn.execute(
            select(m.Attendance.participant_id, m.Participant.district_raw, m.Session.cohort_id, func.count())
            .join(m.Participant, m.Participant.id == m.Attendance.participant_id)
            .join(m.Session, m.Session.id == m.Attendance.session_id)
            .where(m.Attendance.session_id.in_(chunk), m.Attendance.present.is_(True))
            .group_by(m.Attendance.participant_id, m.Participant.district_raw, m.Session.cohort_id)
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
    rows = [DistrictRow(d, len(people[d]), visits[d], defended[d])
            for d in sorted(people, key=lambda d: (d == UNASSIGNED, d))]
    territorial = registry.territorial(on=on)
    reached = sorted(d for d in people if d in set(territorial))
    launches = []
    for key in dict.fromkeys(s.cohort for s in sessions):  # launches in the order of their first session
        cid = cohort_ids[key]
        own = [s for s in sessions if s.cohort == key]
        counts = outcomes["cohort"].get(key, Counter())
        launches.append(LaunchSummary(
            cohort=key, title=cohorts[cid][1], term=cohorts[cid][2], sessions=own,
            attendances=sum(by_launch[cid].values()), unique_participants=len(by_launch[cid]),
            visits=_visits(by_launch[cid], sum(1 for s in own if s.taken)),
            outcomes=OutcomeCounts(**{o: counts[o] for o in OUTCOMES})))
    year_outcomes = outcomes["school"].get(year, Counter())
    return YearSummary(
        school_year=year, sessions=sessions, attendances=sum(attendance_by_person.values()),
        unique_participants=len(attendance_by_person), defenses_passed=len(passed), districts=rows,
        districts_reached=reached, districts_not_reached=[d for d in territorial if d not in set(reached)],
        districts_with_defenses=sum(1 for d, n in defended.items() if n and d != UNASSIGNED),
        launches=launches, visits=_visits(attendance_by_person, sum(1 for s in sessions if s.taken)),
        outcomes=OutcomeCounts(**{o: year_outcomes[o] for o in OUTCOMES}),
        registered=_registered(conn, [cohort_ids[k] for k in dict.fromkeys(s.cohort for s in sessions)]),
    )
