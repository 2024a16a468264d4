"""The data-quality report: what an administrator must fix, and how, for the figures to be right.

Every figure is «by district» and each district's email goes to that district alone, so a person
whose district is unknown is kept under «не распределён», counted, and listed here with the exact
config line that fixes it. The other sections list what Moodle or the forms left incomplete.
`build_quality` queries (pure data, frozen dataclasses); `site.quality_page.render_quality` writes quality.html
and quality.json beside index.html.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from intensive_tracker.config import Settings
from intensive_tracker.people.districts import Registry
from intensive_tracker.people.overrides import account_ref, match_overrides
from intensive_tracker.people.spelling import normalize
from intensive_tracker.periods import local
from intensive_tracker.reports.dataquality import build_data_quality
from intensive_tracker.reports.link_reasons import link_reason_text
from intensive_tracker.reports.quality_types import (
    LastSync,
    LinkRow,
    MissingAttendance,
    NameTwins,
    NoDistrict,
    OverrideMiss,
    PersonRef,
    QualityReport,
    StaleDefense,
    UnknownSpelling,
    UntakenSession,
)
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked

EXAMPLES = 5  # people shown per unknown spelling
LIMIT = 200  # rows shown per section; the counts are always complete
REJECT_TABLE = "form_reject"
REJECT_COLUMNS = ("form", "file_name", "row", "column", "value", "reason")


def build_quality(engine: Engine, registry: Registry, settings: Settings, now: datetime) -> QualityReport:
    """Everything quality.html and quality.json show."""
    tz = settings.tz
    rejects, rejects_total = _rejects(engine)
    forms = build_data_quality(engine, registry)  # its own transaction, before this one opens
    with engine.connect() as conn:
        people = _people(conn)
        unknown, without_people = _districts(people, registry)
        schools = _schools(conn, without_people)
        without = [
            NoDistrict(p, schools.get(p.participant_id), registry.find_in_text(schools.get(p.participant_id)))
            for p in without_people
        ]
        probable, email_links, manual = _links(conn, people)
        return QualityReport(
            generated_at=now,
            timezone=settings.timezone,
            stale_defense_days=settings.quality.stale_defense_days,
            unknown_districts=unknown,
            without_district=without[:LIMIT],
            without_district_total=len(without),
            probable_links=probable[:LIMIT],
            name_twins=_name_twins(people, registry)[:LIMIT],
            email_links=email_links[:LIMIT],
            manual_links=manual[:LIMIT],
            override_misses=[
                OverrideMiss(o.kind, o.refs, o.note) for o in match_overrides(conn, settings.people) if not o.matched
            ],
            missing_attendance=_missing_attendance(conn, people, tz)[:LIMIT],
            untaken_sessions=_untaken(conn, now, tz)[:LIMIT],
            stale_defenses=_stale_defenses(conn, people, now, tz, settings.quality.stale_defense_days)[:LIMIT],
            last_sync=_last_sync(conn, tz),
            rejects=rejects,
            rejects_total=rejects_total,
            forms=forms,
        )


def _schools(conn: Connection, people: list[PersonRef]) -> dict[int, str | None]:
    ids = [p.participant_id for p in people]
    result: dict[int, str | None] = {}
    for chunk in chunked(ids):
        result.update(
            {
                pid: school
                for pid, school in conn.execute(
                    select(col(m.Participant.id), col(m.Participant.school)).where(col(m.Participant.id).in_(chunk))
                )
                if pid is not None
            }
        )
    return result


def _people(conn: Connection) -> dict[int, PersonRef]:
    """Every person with at least one account (a person emptied by a join has none and is not reported)."""
    accounts: dict[int, list[str]] = defaultdict(list)
    for pid, source, ext in conn.execute(
        select(col(m.Account.participant_id), col(m.Account.source), col(m.Account.external_id)).order_by(
            col(m.Account.id)
        )
    ):
        accounts[pid].append(account_ref(source, ext))
    result = {}
    for p in conn.execute(
        select(col(m.Participant.id), col(m.Participant.full_name), col(m.Participant.district_raw)).order_by(
            col(m.Participant.id)
        )
    ):
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
        unknown.append(
            UnknownSpelling(
                spelling=spelling,
                variants=tuple(sorted(variants)),
                people=len(members),
                examples=tuple(sorted(members, key=lambda p: (p.full_name, p.participant_id))[:EXAMPLES]),
                reason=registry.resolve(spelling).reason,
                suggestion=registry.suggest(spelling),
            )
        )
    unknown.sort(key=lambda u: (-u.people, u.spelling))
    return unknown, sorted(without, key=lambda p: (p.full_name, p.participant_id))


def _links(conn: Connection, people: dict[int, PersonRef]) -> tuple[list[LinkRow], list[LinkRow], list[LinkRow]]:
    """Accounts linked on a guess (to review), by e-mail (explained) and by a config override."""
    probable, by_email, manual = [], [], []
    for a in conn.execute(select(m.Account).order_by(col(m.Account.id))):
        reason = a.link_reason or ""
        if a.participant_id not in people:
            continue
        row = LinkRow(
            account_ref(a.source, a.external_id),
            a.full_name,
            a.email,
            link_reason_text(reason),
            people[a.participant_id],
        )
        if reason.lower().startswith(("probable", "вероятно")):  # not a message: stored link reasons
            probable.append(row)
        elif reason.startswith("тот же e-mail"):  # not a message
            by_email.append(row)
        elif "вручную" in reason:  # not a message
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
    twins = [
        NameTwins(members[0].full_name, district, tuple(members))
        for (_, district), members in groups.items()
        if len(members) > 1
    ]
    return sorted(twins, key=lambda t: (t.district, t.full_name))


def _missing_attendance(conn: Connection, people: dict[int, PersonRef], tz: Any) -> list[MissingAttendance]:
    """Enrolments Moodle no longer lists whose person attended that cohort (the marks still count)."""
    missing = conn.execute(
        select(
            col(m.Enrolment.participant_id),
            col(m.Enrolment.cohort_id),
            col(m.Cohort.key),
            func.min(col(m.Enrolment.missing_since)),
        )
        .join(m.Cohort, col(m.Cohort.id) == col(m.Enrolment.cohort_id))
        .where(col(m.Enrolment.missing_since).is_not(None))
        .group_by(col(m.Enrolment.participant_id), col(m.Enrolment.cohort_id), col(m.Cohort.key))
    ).all()
    if not missing:
        return []
    attended = {
        (pid, cid): int(n)
        for pid, cid, n in conn.execute(
            select(col(m.Attendance.participant_id), col(m.Session.cohort_id), func.count())
            .join(m.Session, col(m.Session.id) == col(m.Attendance.session_id))
            .where(col(m.Attendance.present).is_(True))
            .group_by(col(m.Attendance.participant_id), col(m.Session.cohort_id))
        )
    }
    result = [
        MissingAttendance(people[pid], key, local(since, tz), attended[(pid, cid)])
        for pid, cid, key, since in missing
        if since is not None and attended.get((pid, cid)) and pid in people
    ]
    return sorted(result, key=lambda r: (r.cohort, r.person.full_name, r.person.participant_id))


def _untaken(conn: Connection, now: datetime, tz: Any) -> list[UntakenSession]:
    """Sessions whose date has passed but whose attendance was never taken."""
    rows = conn.execute(
        select(col(m.Cohort.key), col(m.Session.starts_at), col(m.Session.topic))
        .join(m.Cohort, col(m.Cohort.id) == col(m.Session.cohort_id))
        .where(col(m.Session.taken).is_(False), col(m.Session.missing_since).is_(None))
        .order_by(col(m.Session.starts_at), col(m.Session.id))
    ).all()
    return [UntakenSession(key, local(starts, tz), topic) for key, starts, topic in rows if local(starts, tz) < now]


def _stale_defenses(
    conn: Connection, people: dict[int, PersonRef], now: datetime, tz: Any, days: int
) -> list[StaleDefense]:
    """Defenses still pending `days` after the cohort's last session (Moodle keeps no submission date for us)."""
    last = {
        cid: starts
        for cid, starts in conn.execute(
            select(col(m.Session.cohort_id), func.max(col(m.Session.starts_at)))
            .where(col(m.Session.missing_since).is_(None))
            .group_by(col(m.Session.cohort_id))
        )
    }
    result = []
    for pid, cid, key in conn.execute(
        select(col(m.Defense.participant_id), col(m.Defense.cohort_id), col(m.Cohort.key))
        .join(m.Cohort, col(m.Cohort.id) == col(m.Defense.cohort_id))
        .where(col(m.Defense.outcome) == "pending")
    ):
        if cid not in last or pid not in people:
            continue
        since = local(last[cid], tz)
        age = (now - since).days
        if now - since > timedelta(days=days):
            result.append(StaleDefense(people[pid], key, since, age))
    return sorted(result, key=lambda r: (-r.days, r.cohort, r.person.full_name))


def _last_sync(conn: Connection, tz: Any) -> LastSync | None:
    run = conn.execute(
        select(m.SyncRun).where(col(m.SyncRun.finished_at).is_not(None)).order_by(col(m.SyncRun.id).desc()).limit(1)
    ).first()
    if run is None:
        return None
    return LastSync(
        run.id,
        local(run.finished_at, tz),
        run.status,
        tuple(w for w in run.warnings or () if isinstance(w, dict)),
        tuple(e for e in run.errors or () if isinstance(e, dict)),
    )


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
