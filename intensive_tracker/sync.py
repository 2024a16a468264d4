"""The sync engine: batches from connectors → idempotent upserts, one transaction per batch.

Each batch is written together with its cursors and the sync run's counters, so a crash loses
at most the batch in flight and the next run converges to what a clean run would have written.
Nothing is deleted: people, sessions and enrolments Moodle stops listing are marked missing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from connectors.base import Batch, BatchFailure, Connector
from connectors.forms.records import FormBatch
from intensive_tracker import models as m
from intensive_tracker.config import Settings
from intensive_tracker.db import Counts, ensure_schema, transaction, upsert
from intensive_tracker.districts import Registry
from intensive_tracker.errors import TrackerError
from intensive_tracker.faults import fault_point
from intensive_tracker.identity import email_key, name_key
from intensive_tracker.locks import database_busy, sync_lock
from intensive_tracker.people_overrides import apply_people_overrides

log = logging.getLogger(__name__)

ENTITIES = ("participants", "accounts", "enrolments", "sessions", "attendance", "defenses", "cursors")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class SyncReport:
    """What a run did; the CLI prints it and `status` reads it back from sync_run."""

    run_id: int
    status: str
    counts: dict[str, dict[str, int]]
    marked_missing: int
    warnings: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    cohorts_ok: int
    cohorts_failed: int

    @property
    def rows_written(self) -> int:
        return sum(c["inserted"] + c["updated"] for c in self.counts.values()) + self.marked_missing


@dataclass
class _RunState:
    counts: dict[str, Counts] = field(default_factory=lambda: {e: Counts() for e in ENTITIES})
    marked_missing: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    cohorts_ok: int = 0
    cohorts_failed: int = 0

    def counts_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {e: c.as_dict() for e, c in self.counts.items()}
        data["marked_missing"] = self.marked_missing
        data["cohorts"] = {"ok": self.cohorts_ok, "failed": self.cohorts_failed}
        return data


def sync_reference_data(engine: Engine, settings: Settings, registry: Registry) -> None:
    """Programs from the config and districts from the registry, upserted (no change → no write)."""
    with transaction(engine) as session:
        upsert(session, m.Program, [
            {"key": p.key, "title": p.title, "full_title": p.full_title} for p in settings.programs
        ], key=["key"])
        upsert(session, m.District, [
            {"name": e.name, "kind": e.kind, "merged_into": e.merged_into, "merged_on": e.merged_on}
            for e in registry.entries.values()
        ], key=["name"])


def run_sync(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    connectors: Iterable[Connector],
    *,
    trigger: str = "manual",
    on_batch: Callable[[str, str], None] | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SyncReport:
    """Sync every connector; one failing cohort does not stop the others.

    Holds the sync lock (AlreadyRunning if another process syncs); `should_stop` is asked after each
    batch, and a yes ends the run as «interrupted» with every committed batch kept.
    """
    with sync_lock(engine):
        fault_point("locked")
        try:
            return _run_locked(engine, settings, registry, connectors, trigger=trigger, on_batch=on_batch,
                               on_failure=on_failure, should_stop=should_stop)
        except OperationalError as e:
            busy = database_busy(engine, e)
            if busy is None:
                raise
            raise busy from None


def _run_locked(engine: Engine, settings: Settings, registry: Registry, connectors: Iterable[Connector], *,
                trigger: str, on_batch: Callable[[str, str], None] | None,
                on_failure: Callable[[str, str], None] | None, should_stop: Callable[[], bool] | None) -> SyncReport:
    ensure_schema(engine)
    # We hold the lock, so a run still marked running was left by a process that died.
    _mark_interrupted(engine)
    sync_reference_data(engine, settings, registry)
    with transaction(engine) as session:
        run = m.SyncRun(started_at=utcnow(), trigger=trigger)
        session.add(run)
        session.flush()
        run_id = run.id
    assert run_id is not None
    fault_point("run_started")
    state = _RunState()
    stopped = False
    for connector in connectors:
        cursors = _load_cursors(engine, connector.name)
        try:
            for item in connector.batches(cursors):
                if isinstance(item, BatchFailure):
                    state.cohorts_failed += 1
                    state.errors.append(_error_entry(item.source, item.cohort_key, item.error))
                    log.error("%s %s: %s", item.source, item.cohort_key, item.error)
                    _save_run(engine, run_id, state)
                    if on_failure:
                        on_failure(item.source, item.cohort_key)
                else:
                    with transaction(engine) as session:
                        write_batch(session, item, settings=settings, registry=registry, state=state)
                        _save_run_in(session, run_id, state)
                        fault_point("before_commit", item.cohort.key)
                    fault_point("after_commit", item.cohort.key)
                    state.cohorts_ok += 1
                    if on_batch:
                        on_batch(item.source, item.cohort.key)
                if should_stop is not None and should_stop():
                    stopped = True
                    break
        except TrackerError as e:
            state.errors.append(_error_entry(connector.name, None, e))
            log.error("%s: %s", connector.name, e)
        if stopped:
            break
    fault_point("before_finish")
    if stopped:
        status = "interrupted"
        state.errors.append({"source": None, "cohort": None, "type": "Interrupted", "exit_code": 75,
                             "message": "остановлена по сигналу после записи текущей когорты; "
                                        "следующий запуск продолжит с сохранённого места"})
    else:
        status = "ok" if not state.errors else ("problems" if state.cohorts_ok else "failed")
    _save_run(engine, run_id, state, status=status, finished=True)
    return SyncReport(
        run_id=run_id, status=status, counts={e: c.as_dict() for e, c in state.counts.items()},
        marked_missing=state.marked_missing, warnings=state.warnings, errors=state.errors,
        cohorts_ok=state.cohorts_ok, cohorts_failed=state.cohorts_failed,
    )


def _mark_interrupted(engine: Engine) -> None:
    with transaction(engine) as session:
        result = session.connection().execute(
            update(m.SyncRun).where(m.SyncRun.status == "running").values(status="interrupted"))
    if result.rowcount:
        log.warning("%d earlier run(s) ended without finishing (process killed); marked as interrupted",
                    result.rowcount)


def _error_entry(source: str, cohort: str | None, error: Exception) -> dict[str, Any]:
    return {"source": source, "cohort": cohort, "type": type(error).__name__, "message": str(error),
            "exit_code": getattr(error, "exit_code", 1)}


def _load_cursors(engine: Engine, source: str) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(select(m.SyncCursor.key, m.SyncCursor.value).where(m.SyncCursor.source == source)).all()
    return {k: v for k, v in rows}


def _save_run(engine: Engine, run_id: int, state: _RunState, *, status: str | None = None, finished: bool = False) -> None:
    with transaction(engine) as session:
        _save_run_in(session, run_id, state, status=status, finished=finished)


def _save_run_in(session: Session, run_id: int, state: _RunState, *, status: str | None = None,
                 finished: bool = False) -> None:
    values: dict[str, Any] = {"counts": state.counts_json(), "warnings": state.warnings, "errors": state.errors}
    if status:
        values["status"] = status
    if finished:
        values["finished_at"] = utcnow()
    session.connection().execute(update(m.SyncRun).where(m.SyncRun.id == run_id).values(**values))


# --- one batch -----------------------------------------------------------------------------------

def write_batch(session: Session, batch: Batch, *, settings: Settings, registry: Registry, state: _RunState) -> None:
    """Write one cohort's records; counts go to `state`."""
    if isinstance(batch, FormBatch):  # a form file also carries rejects, a row ledger and its fingerprint
        from intensive_tracker.formsync import write_form_batch

        write_form_batch(session, batch, registry=registry, state=state, now=utcnow())
        return
    conn = session.connection()
    now = utcnow()
    program_id = conn.execute(select(m.Program.id).where(m.Program.key == batch.cohort.program)).scalar_one_or_none()
    if program_id is None:
        raise TrackerError(f"cohort {batch.cohort.key}: program {batch.cohort.program!r} is not configured")
    ref = batch.cohort
    cohort_id = upsert(session, m.Cohort, [{
        "key": ref.key, "program_id": program_id, "source": batch.source, "title": ref.title,
        "course_id": ref.course_id, "group_id": ref.group_id, "school_year": ref.school_year, "term": ref.term,
    }], key=["key"]).ids[(ref.key,)]

    account_ids, participant_ids = _write_people(session, batch, state)
    participant_ids = apply_people_overrides(session, settings.people, account_ids=account_ids,
                                             participant_ids=participant_ids)

    if batch.enrolments is not None:
        rows = [{"cohort_id": cohort_id, "account_id": account_ids[e.external_id],
                 "participant_id": participant_ids[e.external_id], "status": e.status, "missing_since": None}
                for e in batch.enrolments]
        state.counts["enrolments"].add(upsert(session, m.Enrolment, rows, key=["cohort_id", "account_id"]).counts)
        listed = {r["account_id"] for r in rows}
        state.marked_missing += _mark_missing(session, m.Enrolment, and_(m.Enrolment.cohort_id == cohort_id,
                                              m.Enrolment.account_id.not_in(listed) if listed else True), now)

    session_ids: dict[str, int] = {}
    if batch.sessions is not None:
        rows = [{"cohort_id": cohort_id, "source_key": x.source_key, "starts_at": x.starts_at, "duration_s": x.duration_s,
                 "topic": x.topic, "speaker": x.speaker, "taken": x.taken, "missing_since": None} for x in batch.sessions]
        result = upsert(session, m.Session, rows, key=["cohort_id", "source_key"])
        state.counts["sessions"].add(result.counts)
        session_ids = {k[1]: v for k, v in result.ids.items()}
        listed_keys = set(session_ids)
        # Sessions of sign-in lists («form:…») in the cohort belong to the forms source, not to this batch.
        state.marked_missing += _mark_missing(session, m.Session, and_(m.Session.cohort_id == cohort_id,
                                              m.Session.source_key.not_like("form:%"),
                                              m.Session.source_key.not_in(listed_keys) if listed_keys else True), now)
    missing_sessions = {a.session_key for a in batch.attendance} - set(session_ids)
    if missing_sessions:
        for key, sid in conn.execute(select(m.Session.source_key, m.Session.id).where(
                m.Session.cohort_id == cohort_id, m.Session.source_key.in_(missing_sessions))):
            session_ids[key] = sid

    marks: dict[tuple[int, int], dict[str, Any]] = {}
    for a in batch.attendance:
        if a.session_key not in session_ids or a.external_id not in account_ids:
            state.warnings.append({"source": batch.source, "cohort": ref.key,
                                   "message": f"attendance of unknown session/person {a.session_key}/{a.external_id} skipped"})
            continue
        row = {"session_id": session_ids[a.session_key], "participant_id": participant_ids[a.external_id],
               "account_id": account_ids[a.external_id], "status": a.status, "status_label": a.status_label,
               "present": a.present}
        key = (row["session_id"], row["participant_id"])
        # Two accounts of one person in one session: the mark that counts as present wins.
        if key not in marks or (row["present"], -row["account_id"]) > (marks[key]["present"], -marks[key]["account_id"]):
            marks[key] = row
    state.counts["attendance"].add(upsert(session, m.Attendance, list(marks.values()),
                                          key=["session_id", "participant_id"]).counts)

    _write_defenses(session, batch, cohort_id, account_ids, participant_ids, state)

    if batch.cursors:
        rows = [{"source": batch.source, "key": k, "value": v} for k, v in batch.cursors.items()]
        state.counts["cursors"].add(upsert(session, m.SyncCursor, rows, key=["source", "key"]).counts)
    for w in batch.warnings:
        state.warnings.append({"cohort": ref.key, **w.model_dump()})
    refresh_participants(session, registry, participant_ids=set(participant_ids.values()), state=state)


def _mark_missing(session: Session, model: Any, where: Any, now: datetime) -> int:
    result = session.connection().execute(
        update(model).where(where, model.missing_since.is_(None)).values(missing_since=now))
    return int(result.rowcount or 0)


def _write_people(session: Session, batch: Batch, state: _RunState) -> tuple[dict[str, int], dict[str, int]]:
    """Accounts of the batch, each joined to a participant (new ones by email, else a new person)."""
    conn = session.connection()
    people = {p.external_id: p for p in batch.people}
    known: dict[str, tuple[int, int]] = {}
    ids = list(people)
    for start in range(0, len(ids), 500):
        for ext, aid, pid in conn.execute(select(m.Account.external_id, m.Account.id, m.Account.participant_id).where(
                m.Account.source == batch.source, m.Account.external_id.in_(ids[start:start + 500]))):
            known[ext] = (aid, pid)
    new = [p for ext, p in people.items() if ext not in known]
    emails = {email_key(p.email) for p in new} - {None}
    by_email: dict[str, int] = {}
    if emails:
        email_list = sorted(e for e in emails if e)
        for start in range(0, len(email_list), 500):
            for key, pid in conn.execute(select(m.Participant.email_key, m.Participant.id).where(
                    m.Participant.email_key.in_(email_list[start:start + 500]))):
                by_email[key] = pid
    links: dict[str, tuple[int, str]] = {ext: (known[ext][1], "") for ext in known}
    # New people are written in bulk (issue 9: one statement per person dominated a large sync);
    # the first new account with an email creates the participant, later ones join it.
    keyed: dict[str, dict[str, Any]] = {}
    unkeyed: list[tuple[str, dict[str, Any]]] = []
    for p in new:
        key = email_key(p.email)
        if key and key in by_email:
            links[p.external_id] = (by_email[key], f"тот же e-mail ({key})")
            continue
        values = {"full_name": p.full_name, "name_key": name_key(p.full_name), "district_raw": p.district_raw,
                  "school": p.school, "position": p.position, "category": p.category}
        if key and key not in keyed:
            keyed[key] = {"email_key": key, **values}
        elif not key:
            unkeyed.append((p.external_id, values))
    if keyed:
        result = upsert(session, m.Participant, list(keyed.values()), key=["email_key"])
        state.counts["participants"].add(result.counts)
        by_email.update({k[0]: pid for k, pid in result.ids.items()})
    if unkeyed:
        stmt = insert(m.Participant).returning(m.Participant.id, sort_by_parameter_order=True)
        created = conn.execute(stmt, [values for _, values in unkeyed]).scalars().all()
        state.counts["participants"].inserted += len(created)
        for (ext, _), pid in zip(unkeyed, created, strict=True):
            links[ext] = (pid, "новый участник")
    first_with_key: set[str] = set()
    for p in new:
        key = email_key(p.email)
        if p.external_id in links or not key:
            continue
        reason = "новый участник" if key not in first_with_key else f"тот же e-mail ({key})"
        first_with_key.add(key)
        links[p.external_id] = (by_email[key], reason)
    rows = []
    for ext, p in people.items():
        pid, reason = links[ext]
        row = {"source": batch.source, "external_id": ext, "participant_id": pid, "full_name": p.full_name,
               "email": p.email, "district_raw": p.district_raw, "school": p.school, "position": p.position,
               "category": p.category, "suspended": p.suspended}
        if ext not in known:
            row["link_reason"] = reason
        rows.append(row)
    # link_reason is written once, when the account is first seen.
    new_rows = [r for r in rows if "link_reason" in r]
    old_rows = [r for r in rows if "link_reason" not in r]
    result = upsert(session, m.Account, new_rows, key=["source", "external_id"])
    state.counts["accounts"].add(result.counts)
    account_ids = {k[1]: v for k, v in result.ids.items()}
    result = upsert(session, m.Account, old_rows, key=["source", "external_id"])
    state.counts["accounts"].add(result.counts)
    account_ids.update({k[1]: v for k, v in result.ids.items()})
    participant_ids = {ext: links[ext][0] for ext in people}
    return account_ids, participant_ids


def _write_defenses(session: Session, batch: Batch, cohort_id: int, account_ids: dict[str, int],
                    participant_ids: dict[str, int], state: _RunState) -> None:
    conn = session.connection()
    stored = {pid: outcome for pid, outcome in conn.execute(
        select(m.Defense.participant_id, m.Defense.outcome).where(m.Defense.cohort_id == cohort_id))}
    rows: dict[int, dict[str, Any]] = {}
    rank = {"passed": 3, "failed": 2, "pending": 1}
    for d in batch.defenses:
        if d.external_id not in account_ids:
            continue
        pid = participant_ids[d.external_id]
        if d.outcome == "pending" and d.grade is None and stored.get(pid) in ("passed", "failed") \
                and not batch.defenses_complete:
            continue  # an incremental pull saw only the submission; the stored grade stands
        row = {"cohort_id": cohort_id, "participant_id": pid, "account_id": account_ids[d.external_id],
               "outcome": d.outcome, "grade": d.grade, "graded_at": d.graded_at, "attempt": d.attempt}
        if pid not in rows or rank[d.outcome] > rank[rows[pid]["outcome"]]:
            rows[pid] = row
    state.counts["defenses"].add(upsert(session, m.Defense, list(rows.values()),
                                        key=["cohort_id", "participant_id"]).counts)


def refresh_districts(session: Session, registry: Registry) -> int:
    """participant.district_id from its stored spelling, so a new alias applies without a re-sync.

    What `report` runs: the attributes themselves are kept current by every sync, only the
    registry (config aliases, districts) may have changed since.
    """
    conn = session.connection()
    district_ids = {name: did for did, name in conn.execute(select(m.District.id, m.District.name))}
    changed = []
    for pid, raw, before in conn.execute(select(m.Participant.id, m.Participant.district_raw,
                                                m.Participant.district_id)):
        after = district_ids.get(registry.resolve(raw).name or "")
        if after != before:
            changed.append({"pid": pid, "new_district_id": after})
    if changed:
        conn.execute(update(m.Participant).where(m.Participant.id == bindparam("pid"))
                     .values(district_id=bindparam("new_district_id")), changed)
    return len(changed)


def refresh_participants(session: Session, registry: Registry, *, participant_ids: set[int] | None,
                         state: _RunState | None = None) -> int:
    """Participant attributes from their accounts, and the district resolved from its spelling.

    The choice is independent of batch order (active account first, then one that names a
    district, then the newest), so a re-run writes nothing; a new alias takes effect here
    without a re-sync.
    """
    conn = session.connection()
    query = select(m.Account).order_by(m.Account.participant_id)
    if participant_ids is not None:
        if not participant_ids:
            return 0
        query = query.where(m.Account.participant_id.in_(sorted(participant_ids)))
    accounts: dict[int, list[Any]] = defaultdict(list)
    for row in conn.execute(query):
        accounts[row.participant_id].append(row)
    district_ids = {name: did for did, name in conn.execute(select(m.District.id, m.District.name))}
    rows = []
    for pid, accs in accounts.items():
        # An account joined only by a *probable* name match (forms) never overrides the confirmed ones.
        best = max(accs, key=lambda a: (not a.suspended, not a.link_reason.startswith("probable:"),
                                        bool(a.district_raw and a.district_raw.strip()), a.id))
        resolution = registry.resolve(best.district_raw)
        rows.append({"id": pid, "full_name": best.full_name, "name_key": name_key(best.full_name),
                     "district_raw": best.district_raw, "district_id": district_ids.get(resolution.name or ""),
                     "school": best.school, "position": best.position, "category": best.category})
    existing: dict[int, Any] = {}
    ids = list(accounts)
    for start in range(0, len(ids), 500):
        existing.update({r.id: r for r in conn.execute(select(m.Participant).where(m.Participant.id.in_(ids[start:start + 500])))})
    changed_rows = [row for row in rows if any(getattr(existing[row["id"]], k) != v for k, v in row.items())]
    if changed_rows:
        # One executemany instead of a statement per person (issue 9).
        columns = [k for k in changed_rows[0] if k != "id"]
        stmt = update(m.Participant).where(m.Participant.id == bindparam("pid")).values(
            {c: bindparam("new_" + c) for c in columns})
        conn.execute(stmt, [{"pid": row["id"], **{"new_" + c: row[c] for c in columns}} for row in changed_rows])
    changed = len(changed_rows)
    if state is not None:
        state.counts["participants"].updated += changed
    return changed
