"""The records a form file's rows write: its sign-in sessions, registrations, attendance and defense results."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from connectors.base import FormBatch
from intensive_tracker.i18n import _
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import upsert
from intensive_tracker.sync.cohort import attendance_row, upsert_sessions
from intensive_tracker.sync.cohort_defenses import defense_row, keep_best
from intensive_tracker.sync.form_people import SOURCE
from intensive_tracker.sync.state import RunState


def write_sessions(session: Session, batch: FormBatch, cohort_id: int, state: RunState) -> dict[str, int]:
    """Sessions of a sign-in list («form:<form>:<date>»); other sessions of the cohort are left alone."""
    if not batch.sessions:
        return {}
    return upsert_sessions(session, batch.sessions, cohort_id, state)


def write_registrations(
    session: Session,
    batch: FormBatch,
    cohort_id: int,
    account_ids: dict[str, int],
    participant_ids: dict[str, int],
    state: RunState,
) -> None:
    rows = [
        {
            "cohort_id": cohort_id,
            "account_id": account_ids[r.external_id],
            "participant_id": participant_ids[r.external_id],
            "form": batch.form,
            "registered_at": r.registered_at,
            "missing_since": None,
        }
        for r in batch.registrations
    ]
    state.counts["registrations"].add(upsert(session, m.Registration, rows, key=["cohort_id", "account_id"]).counts)


def write_attendance(
    session: Session,
    batch: FormBatch,
    session_ids: dict[str, int],
    account_ids: dict[str, int],
    participant_ids: dict[str, int],
    state: RunState,
) -> None:
    marks: dict[tuple[int, int], dict[str, Any]] = {}
    for a in batch.attendance:
        row = attendance_row(a, session_ids[a.session_key], participant_ids[a.external_id], account_ids[a.external_id])
        key = (row["session_id"], row["participant_id"])
        # Two rows of one person (one with an e-mail, one matched by name): the lower account id wins, stably.
        if key not in marks or row["account_id"] < marks[key]["account_id"]:
            marks[key] = row
    state.counts["attendance"].add(
        upsert(session, m.Attendance, list(marks.values()), key=["session_id", "participant_id"]).counts
    )


def write_defenses(
    session: Session,
    batch: FormBatch,
    cohort_id: int,
    account_ids: dict[str, int],
    participant_ids: dict[str, int],
    state: RunState,
) -> None:
    """Protocol results; a defense graded in Moodle is never overwritten by a form row (warned instead)."""
    if not batch.defenses:
        return
    conn = session.connection()
    graded_elsewhere = {
        int(pid)
        for (pid,) in conn.execute(
            select(col(m.Defense.participant_id))
            .join(m.Account, col(m.Account.id) == col(m.Defense.account_id))
            .where(col(m.Defense.cohort_id) == cohort_id, col(m.Account.source) != SOURCE)
        )
    }
    row_of = {e.external_id: e.row for e in batch.entries}
    rows: dict[int, dict[str, Any]] = {}
    for d in batch.defenses:
        pid = participant_ids[d.external_id]
        if pid in graded_elsewhere:
            # Named by row, not by person: run warnings are stored and shown to the administrator.
            state.warnings.append(
                {
                    "source": SOURCE,
                    "cohort": batch.cohort.key,
                    "item": batch.file_name,
                    "message": _(
                        "{file}, строка {row}: у этого человека уже есть защита из Moodle в {cohort}; строка "
                        "протокола не используется",
                        file=batch.file_name,
                        row=row_of[d.external_id],
                        cohort=batch.cohort.key,
                    ),
                }
            )
            continue
        keep_best(rows, defense_row(d, cohort_id=cohort_id, participant_id=pid, account_id=account_ids[d.external_id]))
    state.counts["defenses"].add(
        upsert(session, m.Defense, list(rows.values()), key=["cohort_id", "participant_id"]).counts
    )
