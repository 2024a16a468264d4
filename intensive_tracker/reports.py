"""Figures of the methodist's report, computed from the stored records (never carried).

Queries build frozen dataclasses; templates and summary.json only lay them out.
Definitions: an *attendance* is a mark that counts as present; a *unique participant* of a
period is a person with at least one attendance in it; a defense belongs to the calendar year,
half-year and school year of its grading date in the lab's time zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from intensive_tracker import models as m
from intensive_tracker.districts import UNASSIGNED, Registry
from intensive_tracker.periods import half_year_of, local, local_date, school_year_of, school_year_start


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


@dataclass(frozen=True)
class Summary:
    generated_at: datetime
    timezone: str
    programs: list[ProgramSummary] = field(default_factory=list)
    last_sync: datetime | None = None
    last_sync_status: str | None = None


def build_summary(engine: Engine, registry: Registry, *, tz: ZoneInfo, now: datetime,
                  school_year: str | None = None) -> Summary:
    """Everything the index page and summary.json show."""
    with engine.connect() as conn:
        programs = conn.execute(select(m.Program).order_by(m.Program.id)).all()
        summaries = [_program(conn, p, registry, tz, school_year) for p in programs]
        last = conn.execute(select(m.SyncRun.finished_at, m.SyncRun.status)
                            .where(m.SyncRun.finished_at.is_not(None))
                            .order_by(m.SyncRun.id.desc()).limit(1)).first()
    return Summary(generated_at=now, timezone=str(tz), programs=summaries,
                   last_sync=local(last[0], tz) if last else None, last_sync_status=last[1] if last else None)


def _program(conn, program, registry: Registry, tz: ZoneInfo, wanted_year: str | None) -> ProgramSummary:  # type: ignore[no-untyped-def]
    present = func.sum(case((m.Attendance.present.is_(True), 1), else_=0))
    rows = conn.execute(
        select(m.Session.id, m.Session.starts_at, m.Session.topic, m.Session.speaker, m.Session.taken, m.Cohort.key,
               func.coalesce(present, 0))
        .join(m.Cohort, m.Cohort.id == m.Session.cohort_id)
        .outerjoin(m.Attendance, m.Attendance.session_id == m.Session.id)
        .where(m.Cohort.program_id == program.id, m.Session.missing_since.is_(None))
        .group_by(m.Session.id, m.Cohort.key)
        .order_by(m.Session.starts_at, m.Session.id)
    ).all()
    by_year: dict[str, list[tuple[int, SessionRow]]] = defaultdict(list)
    for sid, starts, topic, speaker, taken, cohort_key, n in rows:
        when = local(starts, tz)
        year = school_year_of(when.date())
        number = sum(1 for _, r in by_year[year] if r.taken) + 1 if taken else 0
        row = SessionRow(number=number, starts_at=when, topic=topic, speaker=speaker,
                         present=int(n), taken=bool(taken), cohort=cohort_key)
        by_year[year].append((sid, row))

    defenses = conn.execute(
        select(m.Defense.participant_id, m.Defense.graded_at, m.Participant.district_raw)
        .join(m.Cohort, m.Cohort.id == m.Defense.cohort_id)
        .join(m.Participant, m.Participant.id == m.Defense.participant_id)
        .where(m.Cohort.program_id == program.id, m.Defense.outcome == "passed", m.Defense.graded_at.is_not(None))
    ).all()
    by_calendar: Counter[str] = Counter()
    by_half: Counter[str] = Counter()
    by_school: Counter[str] = Counter()
    defenses_by_year: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for pid, graded_at, district_raw in defenses:
        day = local_date(graded_at, tz)
        by_calendar[str(day.year)] += 1
        by_half[half_year_of(day)] += 1
        year = school_year_of(day)
        by_school[year] += 1
        defenses_by_year[year].append((pid, district_raw))

    years = sorted(set(by_year) | set(defenses_by_year))
    summaries = [_year(conn, y, [r for _, r in by_year.get(y, [])], [sid for sid, _ in by_year.get(y, [])],
                       defenses_by_year.get(y, []), registry) for y in years]
    current_year = wanted_year or (max(by_year) if by_year else (years[-1] if years else None))
    current = next((y for y in summaries if y.school_year == current_year), None)
    return ProgramSummary(
        key=program.key, title=program.title, full_title=program.full_title, school_year=current_year,
        current=current, years=summaries,
        defenses_passed=DefenseCounts(dict(sorted(by_calendar.items())), dict(sorted(by_half.items())),
                                      dict(sorted(by_school.items()))),
    )


def _year(conn, year: str, sessions: list[SessionRow], session_ids: list[int],  # type: ignore[no-untyped-def]
          passed: list[tuple[int, str | None]], registry: Registry) -> YearSummary:
    on = date(school_year_start(year), 9, 1)
    attendance_by_person: Counter[int] = Counter()
    district_raw: dict[int, str | None] = {}
    for start in range(0, len(session_ids), 500):
        chunk = session_ids[start:start + 500]
        for pid, raw, n in conn.execute(
            select(m.Attendance.participant_id, m.Participant.district_raw, func.count())
            .join(m.Participant, m.Participant.id == m.Attendance.participant_id)
            .where(m.Attendance.session_id.in_(chunk), m.Attendance.present.is_(True))
            .group_by(m.Attendance.participant_id, m.Participant.district_raw)
        ):
            attendance_by_person[pid] += int(n)
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
    return YearSummary(
        school_year=year, sessions=sessions, attendances=sum(attendance_by_person.values()),
        unique_participants=len(attendance_by_person), defenses_passed=len(passed), districts=rows,
        districts_reached=reached, districts_not_reached=[d for d in territorial if d not in set(reached)],
        districts_with_defenses=sum(1 for d, n in defended.items() if n and d != UNASSIGNED),
    )


def summary_json(summary: Summary) -> dict[str, object]:
    """summary.json, schema version 1 (documented in the README)."""
    def session_json(s: SessionRow) -> dict[str, object]:
        return {"number": s.number, "date": s.day.isoformat(), "starts_at": s.starts_at.isoformat(),
                "topic": s.topic, "speaker": s.speaker, "present": s.present if s.taken else None,
                "taken": s.taken, "cohort": s.cohort}

    def year_json(y: YearSummary) -> dict[str, object]:
        return {
            "school_year": y.school_year,
            "sessions": [session_json(s) for s in y.held],
            "sessions_planned": [session_json(s) for s in y.planned],
            "sessions_held": y.sessions_held,
            "attendances": y.attendances,
            "unique_participants": y.unique_participants,
            "defenses_passed": y.defenses_passed,
            "districts_with_defenses": y.districts_with_defenses,
            "districts_reached": y.districts_reached,
            "districts_not_reached": y.districts_not_reached,
            "by_district": [{"district": d.district, "participants": d.participants, "attendances": d.attendances,
                             "defenses_passed": d.defenses_passed} for d in y.districts],
        }

    programs = []
    for p in summary.programs:
        current = year_json(p.current) if p.current else None
        programs.append({
            "key": p.key, "title": p.title, "full_title": p.full_title, "school_year": p.school_year,
            "sessions": current["sessions"] if current else [],
            "sessions_planned": current["sessions_planned"] if current else [],
            "attendances": current["attendances"] if current else 0,
            "unique_participants": current["unique_participants"] if current else 0,
            "defenses_passed": {"by_calendar_year": p.defenses_passed.by_calendar_year,
                                "by_half_year": p.defenses_passed.by_half_year,
                                "by_school_year": p.defenses_passed.by_school_year},
            "years": [year_json(y) for y in p.years],
        })
    return {
        "schema_version": 1,
        "generated_at": summary.generated_at.isoformat(),
        "timezone": summary.timezone,
        "last_sync": summary.last_sync.isoformat() if summary.last_sync else None,
        "last_sync_status": summary.last_sync_status,
        "programs": programs,
    }
