"""The row ledger of form files: a row a corrected file drops is marked, and stops counting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from connectors.base import FormBatch
from intensive_tracker.i18n import _
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import upsert
from intensive_tracker.sync.form_people import SOURCE
from intensive_tracker.sync.state import RunState

REMOVED_STATUS = "removed"


def write_ledger(
    session: Session,
    batch: FormBatch,
    cohort_id: int,
    session_ids: dict[str, int],
    account_ids: dict[str, int],
    participant_ids: dict[str, int],
    state: RunState,
    now: datetime,
) -> None:
    rows = [
        {
            "form": batch.form,
            "file_name": batch.file_name,
            "row_key": e.row_key,
            "row": e.row,
            "kind": batch.form_kind,
            "account_id": account_ids[e.external_id],
            "participant_id": participant_ids[e.external_id],
            "cohort_id": cohort_id,
            "session_id": session_ids.get(e.session_key or ""),
            "missing_since": None,
        }
        for e in batch.entries
    ]
    state.counts["form_rows"].add(upsert(session, m.FormEntry, rows, key=["form", "file_name", "row_key"]).counts)
    conn = session.connection()
    keys = {e.row_key for e in batch.entries}
    vanished = [
        r
        for r in conn.execute(
            select(m.FormEntry).where(
                col(m.FormEntry.form) == batch.form,
                col(m.FormEntry.file_name) == batch.file_name,
                col(m.FormEntry.missing_since).is_(None),
            )
        )
        if r.row_key not in keys
    ]
    for entry in vanished:
        conn.execute(update(m.FormEntry).where(col(m.FormEntry.id) == entry.id).values(missing_since=now))
        state.marked_missing += 1 + _withdraw(conn, entry, now)


def _withdraw(conn: Any, entry: Any, now: datetime) -> int:
    """Stop counting what a dropped row fed, unless another live row (another file of the form) still feeds it."""
    live = select(col(m.FormEntry.id)).where(
        col(m.FormEntry.missing_since).is_(None), col(m.FormEntry.kind) == entry.kind
    )
    if entry.kind == "registration":
        if conn.execute(
            live.where(col(m.FormEntry.cohort_id) == entry.cohort_id, col(m.FormEntry.account_id) == entry.account_id)
        ).first():
            return 0
        stmt = (
            update(m.Registration)
            .where(
                col(m.Registration.cohort_id) == entry.cohort_id,
                col(m.Registration.account_id) == entry.account_id,
                col(m.Registration.missing_since).is_(None),
            )
            .values(missing_since=now)
        )
    elif entry.kind == "attendance":
        if conn.execute(
            live.where(
                col(m.FormEntry.session_id) == entry.session_id, col(m.FormEntry.participant_id) == entry.participant_id
            )
        ).first():
            return 0
        stmt = (
            update(m.Attendance)
            .where(
                col(m.Attendance.session_id) == entry.session_id,
                col(m.Attendance.participant_id) == entry.participant_id,
                col(m.Attendance.status) == "form",
            )
            .values(present=False, status=REMOVED_STATUS, status_label=_("нет в исправленном файле"))
        )
    else:
        if conn.execute(
            live.where(
                col(m.FormEntry.cohort_id) == entry.cohort_id, col(m.FormEntry.participant_id) == entry.participant_id
            )
        ).first():
            return 0
        # «pending» without a grade: the protocol no longer says anything about this person.
        stmt = (
            update(m.Defense)
            .where(
                col(m.Defense.cohort_id) == entry.cohort_id,
                col(m.Defense.participant_id) == entry.participant_id,
                col(m.Defense.account_id).in_(select(col(m.Account.id)).where(col(m.Account.source) == SOURCE)),
                or_(
                    col(m.Defense.outcome) != "pending",
                    col(m.Defense.grade).is_not(None),
                    col(m.Defense.graded_at).is_not(None),
                ),
            )
            .values(outcome="pending", grade=None, graded_at=None)
        )
    return int(conn.execute(stmt).rowcount or 0)
