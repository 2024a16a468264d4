"""Writing one form file (a `FormBatch`) in the sync engine's transaction.

Order of work: the cohort, the people (each row joined to one participant: by e-mail, else a *probable*
match by name and district, else a new person), the rows' records (registrations, sign-ins, defense
results), the row ledger that marks rows a corrected file dropped, the rejects and the file's fingerprint.
Everything is an upsert, so importing the same file again writes nothing. The records are written by
`sync.form_records`, the ledger by `sync.form_ledger`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select, update
from sqlmodel import Session, col

from connectors.base import FormBatch, Reject
from intensive_tracker.config import Settings
from intensive_tracker.errors import TrackerError
from intensive_tracker.i18n import _, ngettext, number
from intensive_tracker.people.districts import Registry
from intensive_tracker.people.overrides import apply_people_overrides
from intensive_tracker.people.refresh import refresh_participants
from intensive_tracker.periods import local_date, ru_date, utcnow
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import Counts, upsert
from intensive_tracker.sync.form_ledger import write_ledger
from intensive_tracker.sync.form_people import SOURCE, link_people
from intensive_tracker.sync.form_records import write_attendance, write_defenses, write_registrations, write_sessions
from intensive_tracker.sync.state import RunState


def write_form_batch(
    session: Session, batch: FormBatch, *, settings: Settings, registry: Registry, state: RunState
) -> None:
    """Write one form file; counts, warnings and the rejected-rows problem go to the run `state`."""
    now = utcnow()
    for entity in ("registrations", "form_rows", "rejects", "files"):
        state.counts.setdefault(entity, Counts())
    if batch.file_error is not None:
        _record_file(session, batch, now, state, status="rejected", message=batch.file_error, rejected_rows=0)
        _write_rejects(session, batch, [Reject(file=batch.file_name, row=0, reason=batch.file_error)], state)
        state.errors.append(  # a refused file is never «known»: its rows are not in the database, the data not current
            {
                "source": SOURCE,
                "cohort": batch.cohort.key,
                "type": "FileRejected",
                "message": batch.file_error,
                "exit_code": 65,
            }
        )
        return
    cohort_id = _cohort(session, batch)
    account_ids, participant_ids = link_people(session, batch, registry, state)
    # [[people.join]] / [[people.split]] apply to form accounts as to Moodle ones (e.g. twins that are one person).
    participant_ids = apply_people_overrides(
        session, settings.people, account_ids=account_ids, participant_ids=participant_ids
    )
    session_ids = write_sessions(session, batch, cohort_id, state)
    write_registrations(session, batch, cohort_id, account_ids, participant_ids, state)
    write_attendance(session, batch, session_ids, account_ids, participant_ids, state)
    write_defenses(session, batch, cohort_id, account_ids, participant_ids, state)
    write_ledger(session, batch, cohort_id, session_ids, account_ids, participant_ids, state, now)
    rejected_rows = len({r.row for r in batch.rejects}) + batch.rejects_unlisted
    state.rejected += rejected_rows
    known_since = _known_rejects(session, batch, rejected_rows)
    rejects = list(batch.rejects)
    if batch.rejects_unlisted:
        rejects.append(
            Reject(
                file=batch.file_name,
                row=0,
                reason=ngettext(
                    "{file}: и ещё {n} отклонённая строка без подробностей (хранятся первые {kept}, "
                    "лимит max_rejects формы)",
                    "{file}: и ещё {n} отклонённых строк без подробностей (хранятся первые {kept}, "
                    "лимит max_rejects формы)",
                    batch.rejects_unlisted,
                    file=batch.file_name,
                    kept=number(len({r.row for r in batch.rejects})),
                ),
            )
        )
    _write_rejects(session, batch, rejects, state)
    _record_file(session, batch, now, state, status="imported", message=None, rejected_rows=rejected_rows)
    for w in batch.warnings:
        state.warnings.append({"cohort": batch.cohort.key, **w.model_dump()})
    if rejected_rows and known_since is not None:
        # The same version of the file, rejected the same way before: already on the quality page and in
        # `status`; repeating it as an error would turn every night red and the site's warning never clear.
        state.warnings.append(
            {
                "cohort": batch.cohort.key,
                "source": SOURCE,
                "item": batch.file_name,
                "itemid": "",
                "code": "known_rejects",
                "message": _(
                    "{file}: отклонено {rejected} из {read} строк, как и {date}: об этом уже сообщалось, список — "
                    "в «intensive-tracker data-quality» и на странице «Качество данных»",
                    file=batch.file_name,
                    rejected=number(rejected_rows),
                    read=number(batch.rows_read),
                    date=ru_date(local_date(known_since)),
                ),
            }
        )
    elif rejected_rows:
        state.errors.append(
            {
                "source": SOURCE,
                "cohort": batch.cohort.key,
                "type": "RejectedRows",
                "exit_code": 65,
                "message": _(
                    "{file}: отклонено строк {rejected} из {read}, остальные приняты (см. `intensive-tracker "
                    "data-quality`)",
                    file=batch.file_name,
                    rejected=rejected_rows,
                    read=batch.rows_read,
                ),
            }
        )
    batch_people = set(participant_ids.values())
    state.note_participants(
        changed=refresh_participants(session, registry, participant_ids=batch_people), seen=batch_people
    )


def _cohort(session: Session, batch: FormBatch) -> int:
    """The cohort's id; a [[cohorts]] one is only created if Moodle has not yet, never overwritten."""
    conn = session.connection()
    ref = batch.cohort
    existing = conn.execute(select(col(m.Cohort.id)).where(col(m.Cohort.key) == ref.key)).scalar_one_or_none()
    if existing is not None and not batch.cohort_defined:
        return int(existing)
    program_id = conn.execute(select(col(m.Program.id)).where(col(m.Program.key) == ref.program)).scalar_one_or_none()
    if program_id is None:
        raise TrackerError(
            _("когорта {key}: программа {program} не задана в конфигурации", key=ref.key, program=repr(ref.program))
        )
    row = {"key": ref.key, "program_id": program_id, "source": SOURCE}
    if batch.cohort_defined:
        row["title"] = ref.title
    return upsert(session, m.Cohort, [row], key=["key"]).ids[(ref.key,)]


def _write_rejects(session: Session, batch: FormBatch, rejects: list[Reject], state: RunState) -> None:
    rows = [
        {
            "form": batch.form,
            "file_name": batch.file_name,
            "sha256": batch.sha256,
            "row": r.row,
            "column": r.column,
            "value": r.value,
            "reason": r.reason,
        }
        for r in rejects
    ]
    state.counts["rejects"].add(
        upsert(session, m.FormReject, rows, key=["form", "file_name", "sha256", "row", "column"]).counts
    )


def _known_rejects(session: Session, batch: FormBatch, rejected_rows: int) -> datetime | None:
    """When this very version of the file (same SHA-256) was first imported with as many rejected rows; else None."""
    return (
        session.connection()
        .execute(
            select(col(m.ImportedFile.imported_at)).where(
                col(m.ImportedFile.form) == batch.form,
                col(m.ImportedFile.file_name) == batch.file_name,
                col(m.ImportedFile.sha256) == batch.sha256,
                col(m.ImportedFile.status) == "imported",
                col(m.ImportedFile.rows_rejected) == rejected_rows,
            )
        )
        .scalar_one_or_none()
    )


def _record_file(
    session: Session,
    batch: FormBatch,
    now: datetime,
    state: RunState,
    *,
    status: str,
    message: str | None,
    rejected_rows: int,
) -> None:
    """The file's version (by SHA-256) with its counts; the previous versions of the same name are superseded."""
    conn = session.connection()
    same_name = and_(col(m.ImportedFile.form) == batch.form, col(m.ImportedFile.file_name) == batch.file_name)
    first_seen = conn.execute(
        select(col(m.ImportedFile.imported_at)).where(same_name, col(m.ImportedFile.sha256) == batch.sha256)
    ).scalar_one_or_none()
    row = {
        "form": batch.form,
        "file_name": batch.file_name,
        "sha256": batch.sha256,
        "size": batch.size,
        "status": status,
        "message": message,
        "rows_read": batch.rows_read,
        "rows_imported": batch.rows_read - rejected_rows,
        "rows_rejected": rejected_rows,
        "imported_at": first_seen or now,
        "superseded_at": None,
    }
    if status == "imported":
        conn.execute(
            update(m.ImportedFile)
            .where(same_name, col(m.ImportedFile.sha256) != batch.sha256, col(m.ImportedFile.superseded_at).is_(None))
            .values(superseded_at=now)
        )
    state.counts["files"].add(upsert(session, m.ImportedFile, [row], key=["form", "file_name", "sha256"]).counts)
