"""Writing a batch's defenses, and removing marks and defenses of accounts that are not participants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from connectors.base import Batch, DefenseRecord
from intensive_tracker.i18n import _
from intensive_tracker.people.vocabulary import DEFENSE_RANK
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked, upsert
from intensive_tracker.sync.state import RunState


def write_defenses(
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
        keep_best(rows, defense_row(d, cohort_id=cohort_id, participant_id=pid, account_id=account_ids[d.external_id]))
    state.counts["defenses"].add(
        upsert(
            session,
            m.Defense,
            list(rows.values()),
            key=["cohort_id", "participant_id"],
            ids=False,
            scope=col(m.Defense.cohort_id) == cohort_id,
        ).counts
    )


def remove_non_participants(session: Session, batch: Batch, cohort_id: int, state: RunState) -> None:
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
                "message": _(
                    "удалено {n} отметок и защит пользователей, которых источник числит в когорте не участниками "
                    "(например, преподавателей); они больше не входят в цифры когорты",
                    n=removed,
                ),
            }
        )


def defense_row(d: DefenseRecord, *, cohort_id: int, participant_id: int, account_id: int) -> dict[str, Any]:
    """The `defense` row of one record of a batch (Moodle or a form protocol)."""
    return {
        "cohort_id": cohort_id,
        "participant_id": participant_id,
        "account_id": account_id,
        "outcome": d.outcome,
        "grade": d.grade,
        "grade_max": d.grade_max,
        "graded_at": d.graded_at,
        "attempt": d.attempt,
    }


def keep_best(rows: dict[int, dict[str, Any]], row: dict[str, Any]) -> None:
    """One row per person: of two records (two accounts, two attempts) the best outcome stands."""
    pid = row["participant_id"]
    if pid not in rows or DEFENSE_RANK[row["outcome"]] > DEFENSE_RANK[rows[pid]["outcome"]]:
        rows[pid] = row
