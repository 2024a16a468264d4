"""Writing one cohort batch (people, enrolments, sessions, marks, defenses) in the engine's transaction.

Nothing is deleted: people, sessions and enrolments the source stops listing are marked missing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlmodel import Session, col

from connectors.base import Batch
from intensive_tracker.config import Settings
from intensive_tracker.errors import TrackerError
from intensive_tracker.people.districts import Registry
from intensive_tracker.people.identity import email_key, name_key
from intensive_tracker.people.overrides import apply_people_overrides
from intensive_tracker.people.refresh import refresh_participants
from intensive_tracker.people.vocabulary import DEFENSE_RANK
from intensive_tracker.periods import utcnow
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked, upsert
from intensive_tracker.sync import fingerprint
from intensive_tracker.sync.state import RunState


def write_cohort_batch(
    session: Session, batch: Batch, *, settings: Settings, registry: Registry, state: RunState
) -> None:
    """Write one cohort's records; counts go to `state`."""
    conn = session.connection()
    now = utcnow()
    program_id = conn.execute(
        select(col(m.Program.id)).where(col(m.Program.key) == batch.cohort.program)
    ).scalar_one_or_none()
    if program_id is None:
        raise TrackerError(f"cohort {batch.cohort.key}: program {batch.cohort.program!r} is not configured")
    ref = batch.cohort
    cohort_id = upsert(
        session,
        m.Cohort,
        [
            {
                "key": ref.key,
                "program_id": program_id,
                "source": batch.source,
                "title": ref.title,
                "course_id": ref.course_id,
                "group_id": ref.group_id,
                "school_year": ref.school_year,
                "term": ref.term,
            }
        ],
        key=["key"],
    ).ids[(ref.key,)]

    # Issue 17: a part whose fingerprint matches the stored one is skipped before any row is compared.
    fp = fingerprint.load(session, batch, settings=settings, registry=registry, enabled=state.fingerprints)
    stored_ids = fingerprint.stored_people_ids(session, batch) if fp.unchanged("people") else None
    account_ids, participant_ids = stored_ids or _write_people(session, batch, state)
    linked = apply_people_overrides(session, settings.people, account_ids=account_ids, participant_ids=participant_ids)
    if stored_ids is None or linked != participant_ids:
        fp.distrust()  # people were written or relinked: every part is compared row by row
    participant_ids = linked

    if batch.enrolments is not None and not fp.unchanged("enrolments"):
        rows: list[dict[str, Any]] = [
            {
                "cohort_id": cohort_id,
                "account_id": account_ids[e.external_id],
                "participant_id": participant_ids[e.external_id],
                "status": e.status,
                "missing_since": None,
            }
            for e in batch.enrolments
        ]
        state.counts["enrolments"].add(
            upsert(session, m.Enrolment, rows, key=["cohort_id", "account_id"], ids=False).counts
        )
        listed = {r["account_id"] for r in rows}
        state.marked_missing += _mark_missing(
            session, m.Enrolment, col(m.Enrolment.cohort_id) == cohort_id, m.Enrolment.account_id, listed, now
        )

    session_ids: dict[str, int] = {}
    if batch.sessions is not None and not fp.unchanged("sessions"):
        rows = [
            {
                "cohort_id": cohort_id,
                "source_key": x.source_key,
                "starts_at": x.starts_at,
                "duration_s": x.duration_s,
                "topic": x.topic,
                "speaker": x.speaker,
                "taken": x.taken,
                "missing_since": None,
            }
            for x in batch.sessions
        ]
        result = upsert(session, m.Session, rows, key=["cohort_id", "source_key"])
        state.counts["sessions"].add(result.counts)
        session_ids = {k[1]: v for k, v in result.ids.items()}
        listed_keys = set(session_ids)
        # Sessions of sign-in lists («form:…») in the cohort belong to the forms source, not to this batch.
        state.marked_missing += _mark_missing(
            session,
            m.Session,
            and_(col(m.Session.cohort_id) == cohort_id, col(m.Session.source_key).not_like("form:%")),
            m.Session.source_key,
            listed_keys,
            now,
        )
    attendance = [] if fp.unchanged("attendance") else batch.attendance
    missing_sessions = {a.session_key for a in attendance} - set(session_ids)
    for chunk in chunked(sorted(missing_sessions)):
        for source_key, sid in conn.execute(
            select(col(m.Session.source_key), col(m.Session.id)).where(
                col(m.Session.cohort_id) == cohort_id, col(m.Session.source_key).in_(chunk)
            )
        ):
            assert sid is not None  # a primary key read back
            session_ids[source_key] = sid

    marks: dict[tuple[int, int], dict[str, Any]] = {}
    for a in attendance:
        if a.session_key not in session_ids or a.external_id not in account_ids:
            state.warnings.append(
                {
                    "source": batch.source,
                    "cohort": ref.key,
                    "message": f"attendance of unknown session/person {a.session_key}/{a.external_id} skipped",
                }
            )
            continue
        row: dict[str, Any] = {
            "session_id": session_ids[a.session_key],
            "participant_id": participant_ids[a.external_id],
            "account_id": account_ids[a.external_id],
            "status": a.status,
            "status_label": a.status_label,
            "present": a.present,
        }
        key = (row["session_id"], row["participant_id"])
        # Two accounts of one person in one session: the mark that counts as present wins.
        if key not in marks or (row["present"], -row["account_id"]) > (
            marks[key]["present"],
            -marks[key]["account_id"],
        ):
            marks[key] = row
    state.counts["attendance"].add(
        upsert(session, m.Attendance, list(marks.values()), key=["session_id", "participant_id"], ids=False).counts
    )

    if not fp.unchanged("defenses"):
        _write_defenses(session, batch, cohort_id, account_ids, participant_ids, state)
    _remove_non_participants(session, batch, cohort_id, state)

    if batch.cursors:
        rows = [{"source": batch.source, "key": k, "value": v} for k, v in batch.cursors.items()]
        state.counts["cursors"].add(upsert(session, m.SyncCursor, rows, key=["source", "key"]).counts)
    for w in batch.warnings:
        state.warnings.append({"cohort": ref.key, **w.model_dump()})
    batch_people = set(participant_ids.values())
    changed = (
        refresh_participants(session, registry, participant_ids=batch_people)
        if stored_ids is None or not fp.enabled  # people written, relinked, or sync --full
        else set()
    )
    state.note_participants(changed=changed, seen=batch_people)
    fp.save(session)
    state.skipped_parts += len(fp.skipped)


def _remove_non_participants(session: Session, batch: Batch, cohort_id: int, state: RunState) -> None:
    """Marks and defenses of accounts the source lists with another role (a teacher) leave this cohort.

    Such rows come from a run that took a teacher for a participant (issue 12); the person and the
    account stay, so history elsewhere is kept, but they no longer count in this cohort's figures.
    """
    if not batch.not_participants:
        return
    conn = session.connection()
    accounts: list[int] = []
    for ids in chunked(batch.not_participants):
        accounts += [
            aid
            for aid in conn.execute(
                select(col(m.Account.id)).where(
                    col(m.Account.source) == batch.source, col(m.Account.external_id).in_(ids)
                )
            ).scalars()
            if aid is not None
        ]
    removed = 0
    cohort_sessions = select(col(m.Session.id)).where(col(m.Session.cohort_id) == cohort_id)
    for chunk in chunked(accounts):
        removed += int(
            conn.execute(
                delete(m.Attendance).where(
                    col(m.Attendance.account_id).in_(chunk), col(m.Attendance.session_id).in_(cohort_sessions)
                )
            ).rowcount
            or 0
        )
        removed += int(
            conn.execute(
                delete(m.Defense).where(col(m.Defense.account_id).in_(chunk), col(m.Defense.cohort_id) == cohort_id)
            ).rowcount
            or 0
        )
    if removed:
        state.warnings.append(
            {
                "source": batch.source,
                "cohort": batch.cohort.key,
                "message": f"удалено {removed} отметок и защит пользователей, которых источник числит в когорте "
                "не участниками (например, преподавателей); они больше не входят в цифры когорты",
            }
        )


def _mark_missing(session: Session, model: Any, where: Any, key: Any, listed: set[Any], now: datetime) -> int:
    """Rows matching `where` whose `key` the batch no longer lists get missing_since.

    The set difference is taken here rather than as `NOT IN (listed)`: that list grows with the
    cohort and would pass PostgreSQL's 65,535 parameters (issue 12); the updates go by id, chunked.
    """
    conn = session.connection()
    gone = [
        rid
        for rid, value in conn.execute(select(model.id, key).where(where, model.missing_since.is_(None)))
        if value not in listed
    ]
    for chunk in chunked(sorted(gone)):
        conn.execute(update(model).where(model.id.in_(chunk)).values(missing_since=now))
    return len(gone)


def _write_people(session: Session, batch: Batch, state: RunState) -> tuple[dict[str, int], dict[str, int]]:
    """Accounts of the batch, each joined to a participant (new ones by email, else a new person)."""
    conn = session.connection()
    people = {p.external_id: p for p in batch.people}
    known: dict[str, tuple[int, int]] = {}
    ids = list(people)
    for chunk in chunked(ids):
        for ext, aid, pid in conn.execute(
            select(col(m.Account.external_id), col(m.Account.id), col(m.Account.participant_id)).where(
                col(m.Account.source) == batch.source, col(m.Account.external_id).in_(chunk)
            )
        ):
            assert aid is not None  # a primary key read back
            known[ext] = (aid, pid)
    new = [p for ext, p in people.items() if ext not in known]
    emails = {email_key(p.email) for p in new} - {None}
    by_email: dict[str, int] = {}
    if emails:
        email_list = sorted(e for e in emails if e)
        for chunk in chunked(email_list):
            for found_key, found_id in conn.execute(
                select(col(m.Participant.email_key), col(m.Participant.id)).where(
                    col(m.Participant.email_key).in_(chunk)
                )
            ):
                assert found_key is not None and found_id is not None  # matched by key; a primary key
                by_email[found_key] = found_id
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
        values = {
            "full_name": p.full_name,
            "name_key": name_key(p.full_name),
            "district_raw": p.district_raw,
            "school": p.school,
            "position": p.position,
            "category": p.category,
        }
        if key and key not in keyed:
            keyed[key] = {"email_key": key, **values}
        elif not key:
            unkeyed.append((p.external_id, values))
    if keyed:
        result = upsert(session, m.Participant, list(keyed.values()), key=["email_key"])
        by_email.update({k[0]: pid for k, pid in result.ids.items()})
        state.note_participants(created=(result.ids[(k,)] for k in keyed))
    if unkeyed:
        stmt = insert(m.Participant).returning(col(m.Participant.id), sort_by_parameter_order=True)
        created = conn.execute(stmt, [values for _, values in unkeyed]).scalars().all()
        state.note_participants(created=(int(i) for i in created if i is not None))
        for (ext, _), new_id in zip(unkeyed, created, strict=True):
            assert new_id is not None  # a primary key returned by INSERT
            links[ext] = (new_id, "новый участник")
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
        row = {
            "source": batch.source,
            "external_id": ext,
            "participant_id": pid,
            "full_name": p.full_name,
            "email": p.email,
            "district_raw": p.district_raw,
            "school": p.school,
            "position": p.position,
            "category": p.category,
            "suspended": p.suspended,
        }
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


def _write_defenses(
    session: Session,
    batch: Batch,
    cohort_id: int,
    account_ids: dict[str, int],
    participant_ids: dict[str, int],
    state: RunState,
) -> None:
    conn = session.connection()
    stored = {
        pid: outcome
        for pid, outcome in conn.execute(
            select(col(m.Defense.participant_id), col(m.Defense.outcome)).where(col(m.Defense.cohort_id) == cohort_id)
        )
    }
    rows: dict[int, dict[str, Any]] = {}
    for d in batch.defenses:
        if d.external_id not in account_ids:
            continue
        pid = participant_ids[d.external_id]
        if (
            d.outcome == "pending"
            and d.grade is None
            and stored.get(pid) in ("passed", "failed")
            and not batch.defenses_complete
        ):
            continue  # an incremental pull saw only the submission; the stored grade stands
        row = {
            "cohort_id": cohort_id,
            "participant_id": pid,
            "account_id": account_ids[d.external_id],
            "outcome": d.outcome,
            "grade": d.grade,
            "grade_max": d.grade_max,
            "graded_at": d.graded_at,
            "attempt": d.attempt,
        }
        if pid not in rows or DEFENSE_RANK[d.outcome] > DEFENSE_RANK[rows[pid]["outcome"]]:
            rows[pid] = row
    state.counts["defenses"].add(
        upsert(session, m.Defense, list(rows.values()), key=["cohort_id", "participant_id"], ids=False).counts
    )
