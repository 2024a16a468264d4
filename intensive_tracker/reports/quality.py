"""The data-quality report: what an administrator must fix, and how, for the figures to be right.

Every figure is «by district» and each district's email goes to that district alone, so a person
whose district is unknown is kept under «не распределён», counted, and listed here with the exact
config line that fixes it. The other sections list what Moodle or the forms left incomplete.
`build_quality` queries (pure data, frozen dataclasses); `site.quality_page.render_quality` writes quality.html
and quality.json beside index.html.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.engine import Connection, Engine

from intensive_tracker.store import models as m
from intensive_tracker.config import Settings
from intensive_tracker.people.districts import Registry, normalize
from intensive_tracker.people.overrides import account_ref, match_overrides
from intensive_tracker.periods import local

EXAMPLES = 5  # people shown per unknown spelling
LIMIT = 200  # rows shown per section; the counts are always complete
REJECT_TABLE = "form_reject"
REJECT_COLUMNS = ("form", "file_name", "row", "column", "value", "reason")


@dataclass(frozen=True)
class PersonRef:
    participant_id: int
    full_name: str
    accounts: tuple[str, ...]  # "moodle:1203"
    district_raw: str | None = None


@dataclass(frozen=True)
class NoDistrict:
    person: PersonRef
    school: str | None
    hint: str | None  # a district named in the school's name, for a person to confirm


@dataclass(frozen=True)
class UnknownSpelling:
    spelling: str  # the commonest stored variant, trimmed
    variants: tuple[str, ...]
    people: int
    examples: tuple[PersonRef, ...]
    reason: str
    suggestion: str | None  # a probable district, for a person to confirm

    @property
    def alias_line(self) -> str:
        """The `[districts.aliases]` line that fixes it (TOML basic strings)."""
        target = self.suggestion or "каноническое название"
        return f"{_toml(self.spelling)} = {_toml(target)}"


@dataclass(frozen=True)
class LinkRow:
    account: str
    full_name: str
    email: str | None
    reason: str
    person: PersonRef  # the person the account is linked to, with all their accounts

    @property
    def split_line(self) -> str:
        """The `[[people.split]]` entry that undoes the link."""
        return f"[[people.split]]\naccount = {_toml(self.account)}"


@dataclass(frozen=True)
class NameTwins:
    """Different people with the same name in the same district: perhaps one person."""

    full_name: str
    district: str
    people: tuple[PersonRef, ...]

    @property
    def join_lines(self) -> str:
        refs = ", ".join(_toml(a) for p in self.people for a in p.accounts)
        return f"[[people.join]]\naccounts = [{refs}]"


@dataclass(frozen=True)
class MissingAttendance:
    person: PersonRef
    cohort: str
    missing_since: datetime  # local
    attendances: int


@dataclass(frozen=True)
class UntakenSession:
    cohort: str
    starts_at: datetime  # local
    topic: str


@dataclass(frozen=True)
class StaleDefense:
    person: PersonRef
    cohort: str
    since: datetime  # local: the cohort's last session
    days: int


@dataclass(frozen=True)
class OverrideMiss:
    kind: str
    refs: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class LastSync:
    run_id: int
    finished_at: datetime | None  # local
    status: str
    warnings: tuple[dict[str, Any], ...]
    errors: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class QualityReport:
    generated_at: datetime
    timezone: str
    stale_defense_days: int
    unknown_districts: list[UnknownSpelling]
    without_district: list[NoDistrict]
    without_district_total: int
    probable_links: list[LinkRow]
    name_twins: list[NameTwins]
    email_links: list[LinkRow]
    manual_links: list[LinkRow]
    override_misses: list[OverrideMiss]
    missing_attendance: list[MissingAttendance]
    untaken_sessions: list[UntakenSession]
    stale_defenses: list[StaleDefense]
    last_sync: LastSync | None
    rejects: list[dict[str, Any]]
    rejects_total: int | None  # None: no form-reject table in this database

    @property
    def unassigned_people(self) -> int:
        """People reported under «не распределён»: unknown spelling or no district at all."""
        return sum(u.people for u in self.unknown_districts) + self.without_district_total

    @property
    def to_fix(self) -> dict[str, int]:
        """Counts per section of what needs an administrator (informational sections excluded)."""
        return {
            "unknown_districts": len(self.unknown_districts),
            "without_district": self.without_district_total,
            "probable_links": len(self.probable_links),
            "name_twins": len(self.name_twins),
            "override_misses": len(self.override_misses),
            "untaken_sessions": len(self.untaken_sessions),
            "stale_defenses": len(self.stale_defenses),
            "sync_warnings": len(self.last_sync.warnings) + len(self.last_sync.errors) if self.last_sync else 0,
            "form_rejects": self.rejects_total or 0,
        }


def _toml(text: str) -> str:
    """A TOML basic string (JSON escaping is valid TOML for these characters)."""
    return json.dumps(text, ensure_ascii=False)


def build_quality(engine: Engine, registry: Registry, settings: Settings, now: datetime) -> QualityReport:
    """Everything quality.html and quality.json show."""
    tz = settings.tz
    rejects, rejects_total = _rejects(engine)
    with engine.connect() as conn:
        people = _people(conn)
        unknown, without_people = _districts(people, registry)
        schools = _schools(conn, without_people)
        without = [NoDistrict(p, schools.get(p.participant_id), registry.find_in_text(schools.get(p.participant_id)))
                   for p in without_people]
        probable, email_links, manual = _links(conn, people)
        return QualityReport(
            generated_at=now, timezone=settings.timezone,
            stale_defense_days=settings.quality.stale_defense_days,
            unknown_districts=unknown, without_district=without[:LIMIT], without_district_total=len(without),
            probable_links=probable[:LIMIT], name_twins=_name_twins(people, registry)[:LIMIT],
            email_links=email_links[:LIMIT], manual_links=manual[:LIMIT],
            override_misses=[OverrideMiss(o.kind, o.refs, o.note) for o in match_overrides(conn, settings.people)
                             if not o.matched],
            missing_attendance=_missing_attendance(conn, people, tz)[:LIMIT],
            untaken_sessions=_untaken(conn, now, tz)[:LIMIT],
            stale_defenses=_stale_defenses(conn, people, now, tz, settings.quality.stale_defense_days)[:LIMIT],
            last_sync=_last_sync(conn, tz),
            rejects=rejects, rejects_total=rejects_total,
        )


def _schools(conn: Connection, people: list[PersonRef]) -> dict[int, str | None]:
    ids = [p.participant_id for p in people]
    result: dict[int, str | None] = {}
    for start in range(0, len(ids), 500):
        result.update(conn.execute(select(m.Participant.id, m.Participant.school)
                                   .where(m.Participant.id.in_(ids[start:start + 500]))).all())
    return result


def _people(conn: Connection) -> dict[int, PersonRef]:
    """Every person with at least one account (a person emptied by a join has none and is not reported)."""
    accounts: dict[int, list[str]] = defaultdict(list)
    for pid, source, ext in conn.execute(select(m.Account.participant_id, m.Account.source, m.Account.external_id)
                                         .order_by(m.Account.id)):
        accounts[pid].append(account_ref(source, ext))
    result = {}
    for p in conn.execute(select(m.Participant.id, m.Participant.full_name, m.Participant.district_raw)
                          .order_by(m.Participant.id)):
        if p.id in accounts:
            result[p.id] = PersonRef(p.id, p.full_name, tuple(accounts[p.id]), p.district_raw)
    return result


def _districts(people: dict[int, PersonRef], registry: Registry) -> tuple[list[UnknownSpelling], list[PersonRef]]:
    """Spellings no district resolves (grouped by their normalized key) and people with none at all."""
    groups: dict[str, list[PersonRef]] = defaultdict(list)
    without = []
    for p in people.values():
        resolution = registry.resolve(p.district_raw)
        if resolution.name is not None:
            continue
        if p.district_raw is None or not p.district_raw.strip():
            without.append(p)
        else:
            groups[normalize(p.district_raw) or p.district_raw.strip()].append(p)
    unknown = []
    for members in groups.values():
        variants = Counter((p.district_raw or "").strip() for p in members)
        spelling = variants.most_common(1)[0][0]
        unknown.append(UnknownSpelling(
            spelling=spelling, variants=tuple(sorted(variants)), people=len(members),
            examples=tuple(sorted(members, key=lambda p: (p.full_name, p.participant_id))[:EXAMPLES]),
            reason=registry.resolve(spelling).reason, suggestion=registry.suggest(spelling)))
    unknown.sort(key=lambda u: (-u.people, u.spelling))
    return unknown, sorted(without, key=lambda p: (p.full_name, p.participant_id))


def _links(conn: Connection, people: dict[int, PersonRef]) -> tuple[list[LinkRow], list[LinkRow], list[LinkRow]]:
    """Accounts linked on a guess (to review), by e-mail (explained) and by a config override."""
    probable, by_email, manual = [], [], []
    for a in conn.execute(select(m.Account).order_by(m.Account.id)):
        reason = a.link_reason or ""
        if a.participant_id not in people:
            continue
        row = LinkRow(account_ref(a.source, a.external_id), a.full_name, a.email, reason, people[a.participant_id])
        if reason.lower().startswith(("probable", "вероятно")):
            probable.append(row)
        elif reason.startswith("тот же e-mail"):
            by_email.append(row)
        elif "вручную" in reason:
            manual.append(row)
    return probable, by_email, manual


def _name_twins(people: dict[int, PersonRef], registry: Registry) -> list[NameTwins]:
    """People who share a full name and a district: perhaps one person with two e-mails."""
    from intensive_tracker.people.identity import name_key

    groups: dict[tuple[str, str], list[PersonRef]] = defaultdict(list)
    for p in people.values():
        district = registry.resolve(p.district_raw).name
        if district:
            groups[(name_key(p.full_name), district)].append(p)
    twins = [NameTwins(members[0].full_name, district, tuple(members))
             for (_, district), members in groups.items() if len(members) > 1]
    return sorted(twins, key=lambda t: (t.district, t.full_name))


def _missing_attendance(conn: Connection, people: dict[int, PersonRef], tz: Any) -> list[MissingAttendance]:
    """Enrolments Moodle no longer lists whose person attended that cohort (the marks still count)."""
    missing = conn.execute(
        select(m.Enrolment.participant_id, m.Enrolment.cohort_id, m.Cohort.key, func.min(m.Enrolment.missing_since))
        .join(m.Cohort, m.Cohort.id == m.Enrolment.cohort_id)
        .where(m.Enrolment.missing_since.is_not(None))
        .group_by(m.Enrolment.participant_id, m.Enrolment.cohort_id, m.Cohort.key)
    ).all()
    if not missing:
        return []
    attended = {(pid, cid): int(n) for pid, cid, n in conn.execute(
        select(m.Attendance.participant_id, m.Session.cohort_id, func.count())
        .join(m.Session, m.Session.id == m.Attendance.session_id)
        .where(m.Attendance.present.is_(True))
        .group_by(m.Attendance.participant_id, m.Session.cohort_id))}
    result = [MissingAttendance(people[pid], key, local(since, tz), attended[(pid, cid)])
              for pid, cid, key, since in missing if attended.get((pid, cid)) and pid in people]
    return sorted(result, key=lambda r: (r.cohort, r.person.full_name, r.person.participant_id))


def _untaken(conn: Connection, now: datetime, tz: Any) -> list[UntakenSession]:
    """Sessions whose date has passed but whose attendance was never taken."""
    rows = conn.execute(
        select(m.Cohort.key, m.Session.starts_at, m.Session.topic)
        .join(m.Cohort, m.Cohort.id == m.Session.cohort_id)
        .where(m.Session.taken.is_(False), m.Session.missing_since.is_(None))
        .order_by(m.Session.starts_at, m.Session.id)
    ).all()
    return [UntakenSession(key, local(starts, tz), topic) for key, starts, topic in rows if local(starts, tz) < now]


def _stale_defenses(conn: Connection, people: dict[int, PersonRef], now: datetime, tz: Any,
                    days: int) -> list[StaleDefense]:
    """Defenses still pending `days` after the cohort's last session (Moodle keeps no submission date for us)."""
    last = {cid: starts for cid, starts in conn.execute(
        select(m.Session.cohort_id, func.max(m.Session.starts_at))
        .where(m.Session.missing_since.is_(None)).group_by(m.Session.cohort_id))}
    result = []
    for pid, cid, key in conn.execute(
        select(m.Defense.participant_id, m.Defense.cohort_id, m.Cohort.key)
        .join(m.Cohort, m.Cohort.id == m.Defense.cohort_id).where(m.Defense.outcome == "pending")
    ):
        if cid not in last or pid not in people:
            continue
        since = local(last[cid], tz)
        age = (now - since).days
        if now - since > timedelta(days=days):
            result.append(StaleDefense(people[pid], key, since, age))
    return sorted(result, key=lambda r: (-r.days, r.cohort, r.person.full_name))


def _last_sync(conn: Connection, tz: Any) -> LastSync | None:
    run = conn.execute(select(m.SyncRun).where(m.SyncRun.finished_at.is_not(None))
                       .order_by(m.SyncRun.id.desc()).limit(1)).first()
    if run is None:
        return None
    return LastSync(run.id, local(run.finished_at, tz), run.status,
                    tuple(w for w in run.warnings or () if isinstance(w, dict)),
                    tuple(e for e in run.errors or () if isinstance(e, dict)))


def _rejects(engine: Engine) -> tuple[list[dict[str, Any]], int | None]:
    """Rows the form readers rejected (table form_reject of the forms connector)."""
    inspector = inspect(engine)
    if not inspector.has_table(REJECT_TABLE):
        return [], None
    names = {c["name"] for c in inspector.get_columns(REJECT_TABLE)}
    shown = [c for c in REJECT_COLUMNS if c in names]
    rejects = table(REJECT_TABLE, *(column(c) for c in [*shown, *(["id"] if "id" in names else [])]))
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(rejects)).scalar_one())
        query = select(*(rejects.c[c] for c in shown)).limit(LIMIT)
        if "id" in names:
            query = query.order_by(rejects.c["id"].desc())
        rows = [{c: ("" if v is None else v) for c, v in zip(shown, r)} for r in conn.execute(query)] if shown else []
    return rows, total


# --- output -----------------------------------------------------------------------------------

def quality_json(report: QualityReport) -> dict[str, Any]:
    """quality.json, schema version 1: counts per section and a flat list of items, each with its `kind`."""
    def person(p: PersonRef) -> dict[str, Any]:
        return {"participant_id": p.participant_id, "full_name": p.full_name, "accounts": list(p.accounts)}

    def link(r: LinkRow) -> dict[str, Any]:
        return {"account": r.account, "full_name": r.full_name, "reason": r.reason, "person": person(r.person)}

    items: list[dict[str, Any]] = []
    items += [{"kind": "unknown_district", "spelling": u.spelling, "variants": list(u.variants), "people": u.people,
               "reason": u.reason, "suggestion": u.suggestion, "fix": f"[districts.aliases] {u.alias_line}",
               "examples": [person(p) for p in u.examples]} for u in report.unknown_districts]
    items += [{"kind": "without_district", **person(w.person), "school": w.school, "district_in_school_name": w.hint}
              for w in report.without_district]
    items += [{"kind": "probable_link", **link(r)} for r in report.probable_links]
    items += [{"kind": "name_twins", "full_name": t.full_name, "district": t.district,
               "people": [person(p) for p in t.people], "fix": t.join_lines} for t in report.name_twins]
    items += [{"kind": "email_link", **link(r)} for r in report.email_links]
    items += [{"kind": "manual_link", **link(r)} for r in report.manual_links]
    items += [{"kind": "override_unmatched", "override": o.kind, "refs": list(o.refs), "note": o.note}
              for o in report.override_misses]
    items += [{"kind": "attendance_not_listed", "person": person(r.person), "cohort": r.cohort,
               "missing_since": r.missing_since.isoformat(), "attendances": r.attendances}
              for r in report.missing_attendance]
    items += [{"kind": "session_not_taken", "cohort": s.cohort, "starts_at": s.starts_at.isoformat(),
               "date": s.starts_at.date().isoformat(), "topic": s.topic} for s in report.untaken_sessions]
    items += [{"kind": "defense_pending", "person": person(d.person), "cohort": d.cohort,
               "since": d.since.date().isoformat(), "days": d.days} for d in report.stale_defenses]
    if report.last_sync:
        items += [{"kind": "sync_warning", "run_id": report.last_sync.run_id, **w} for w in report.last_sync.warnings]
        items += [{"kind": "sync_error", "run_id": report.last_sync.run_id, **e} for e in report.last_sync.errors]
    items += [{"kind": "form_reject", **r} for r in report.rejects]
    return {
        "schema_version": 1,
        "generated_at": report.generated_at.isoformat(),
        "timezone": report.timezone,
        "stale_defense_days": report.stale_defense_days,
        "unassigned_people": report.unassigned_people,
        "to_fix": report.to_fix,
        "last_sync": None if report.last_sync is None else {
            "run_id": report.last_sync.run_id, "status": report.last_sync.status,
            "finished_at": report.last_sync.finished_at.isoformat() if report.last_sync.finished_at else None},
        "items": items,
    }
