"""Writing one cohort batch (people, enrolments, sessions, marks, defenses) in the engine's transaction.

Nothing is deleted: people, sessions and enrolments the source stops listing are marked missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlmodel import Session, col

from connectors.base import AttendanceRecord, Batch, SessionRecord
from intensive_tracker.config import Settings
from intensive_tracker.errors import TrackerError
from intensive_tracker.i18n import _
from intensive_tracker.people.districts import Registry
from intensive_tracker.people.overrides import apply_people_overrides
from intensive_tracker.people.refresh import refresh_participants
from intensive_tracker.periods import utcnow
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked, upsert
from intensive_tracker.sync import fingerprint
from intensive_tracker.sync.cohort_defenses import remove_non_participants, write_defenses
from intensive_tracker.sync.cohort_people import write_people
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
        raise TrackerError(
            _(
                "когорта {key}: программа {program} не задана в конфигурации",
                key=batch.cohort.key,
                program=repr(batch.cohort.program),
            )
        )
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
    account_ids, participant_ids = stored_ids or write_people(session, batch, state)
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
            upsert(
                session,
                m.Enrolment,
                rows,
                key=["cohort_id", "account_id"],
                ids=False,
                scope=col(m.Enrolment.cohort_id) == cohort_id,
            ).counts
        )
        listed = {r["account_id"] for r in rows}
        state.marked_missing += _mark_missing(
            session, m.Enrolment, col(m.Enrolment.cohort_id) == cohort_id, m.Enrolment.account_id, listed, now
        )

    session_ids: dict[str, int] = {}
    if batch.sessions is not None and not fp.unchanged("sessions"):
        session_ids = upsert_sessions(session, batch.sessions, cohort_id, state)
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
                    "message": _(
                        "отметка неизвестного занятия или человека {session}/{person} пропущена",
                        session=a.session_key,
                        person=a.external_id,
                    ),
                }
            )
            continue
        row = attendance_row(a, session_ids[a.session_key], participant_ids[a.external_id], account_ids[a.external_id])
        key = (row["session_id"], row["participant_id"])
        # Two accounts of one person in one session: the mark that counts as present wins.
        if key not in marks or (row["present"], -row["account_id"]) > (
            marks[key]["present"],
            -marks[key]["account_id"],
        ):
            marks[key] = row
    state.counts["attendance"].add(
        upsert(
            session,
            m.Attendance,
            list(marks.values()),
            key=["session_id", "participant_id"],
            ids=False,
            # One SELECT of the cohort's stored marks instead of one per 500 keys (issue 17).
            scope=col(m.Attendance.session_id).in_(
                select(col(m.Session.id)).where(col(m.Session.cohort_id) == cohort_id)
            ),
        ).counts
    )

    if not fp.unchanged("defenses"):
        write_defenses(session, batch, cohort_id, account_ids, participant_ids, state)
    remove_non_participants(session, batch, cohort_id, state)

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


def attendance_row(mark: AttendanceRecord, session_id: int, participant_id: int, account_id: int) -> dict[str, Any]:
    """The attendance row of one mark (Moodle's or a sign-in list's), as the table stores it."""
    return {
        "session_id": session_id,
        "participant_id": participant_id,
        "account_id": account_id,
        "status": mark.status,
        "status_label": mark.status_label,
        "present": mark.present,
    }


def upsert_sessions(
    session: Session, sessions: Sequence[SessionRecord], cohort_id: int, state: RunState
) -> dict[str, int]:
    """The sessions of a batch (Moodle's or a sign-in list's) written to the cohort; their ids by source key."""
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
        for x in sessions
    ]
    result = upsert(
        session, m.Session, rows, key=["cohort_id", "source_key"], scope=col(m.Session.cohort_id) == cohort_id
    )
    state.counts["sessions"].add(result.counts)
    return {k[1]: v for k, v in result.ids.items()}
