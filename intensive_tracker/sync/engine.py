"""The sync engine: batches from connectors → idempotent upserts, one transaction per batch.

Each batch is written together with its cursors and the sync run's counters, so a crash loses
at most the batch in flight and the next run converges to what a clean run would have written.
The writer of a batch is chosen from `WRITERS` by the batch's `kind`, so a new source needs no change here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col

from connectors.base import ANSWERS_CURSOR, Batch, BatchFailure, CohortSkipped, CohortUnchanged, Connector
from intensive_tracker.config import Settings
from intensive_tracker.errors import TrackerError
from intensive_tracker.faults import fault_point
from intensive_tracker.i18n import _, ngettext
from intensive_tracker.people.districts import Registry
from intensive_tracker.periods import utcnow
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import transaction
from intensive_tracker.store.locks import database_busy, sync_lock
from intensive_tracker.store.schema import ensure_schema
from intensive_tracker.store.upsert import upsert
from intensive_tracker.sync import fingerprint
from intensive_tracker.sync.cohort import write_cohort_batch
from intensive_tracker.sync.collector import after_batch, collect_between_batches
from intensive_tracker.sync.forms import write_form_batch
from intensive_tracker.sync.state import RunState, SyncReport

log = logging.getLogger(__name__)


class Writer(Protocol):
    def __call__(
        self, session: Session, batch: Any, *, settings: Settings, registry: Registry, state: RunState
    ) -> None: ...


# Batch.kind → its writer. A form file also carries rejects, a row ledger and its fingerprint.
WRITERS: Mapping[str, Writer] = {"cohort": write_cohort_batch, "form-file": write_form_batch}


def write_batch(session: Session, batch: Batch, *, settings: Settings, registry: Registry, state: RunState) -> None:
    """Write one batch with the writer its kind names."""
    writer = WRITERS.get(batch.kind)
    if writer is None:
        raise TrackerError(
            _(
                "{source}: неизвестный вид пакета {kind}; известны: {known}",
                source=batch.source,
                kind=repr(batch.kind),
                known=", ".join(sorted(WRITERS)),
            )
        )
    writer(session, batch, settings=settings, registry=registry, state=state)


def sync_reference_data(engine: Engine, settings: Settings, registry: Registry) -> None:
    """Programs from the config and districts from the registry, upserted (no change → no write)."""
    with transaction(engine) as session:
        upsert(
            session,
            m.Program,
            [{"key": p.key, "title": p.title, "full_title": p.full_title} for p in settings.programs],
            key=["key"],
        )
        upsert(
            session,
            m.District,
            [
                {"name": e.name, "kind": e.kind, "merged_into": e.merged_into, "merged_on": e.merged_on}
                for e in registry.entries.values()
            ],
            key=["name"],
        )


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
    full: bool = False,
) -> SyncReport:
    """Sync every connector; one failing cohort does not stop the others.

    `full` (sync --full) compares every row, even of parts whose fingerprint is unchanged.

    Holds the sync lock (AlreadyRunning if another process syncs); `should_stop` is asked after each
    batch, and a yes ends the run as «interrupted» with every committed batch kept.
    """
    with sync_lock(engine), collect_between_batches():
        fault_point("locked")
        try:
            return _run_locked(
                engine,
                settings,
                registry,
                connectors,
                trigger=trigger,
                on_batch=on_batch,
                on_failure=on_failure,
                should_stop=should_stop,
                full=full,
            )
        except OperationalError as e:
            busy = database_busy(engine, e)
            if busy is None:
                raise
            raise busy from None


def _run_locked(
    engine: Engine,
    settings: Settings,
    registry: Registry,
    connectors: Iterable[Connector],
    *,
    trigger: str,
    on_batch: Callable[[str, str], None] | None,
    on_failure: Callable[[str, str], None] | None,
    should_stop: Callable[[], bool] | None,
    full: bool = False,
) -> SyncReport:
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
    state = RunState(fingerprints=not full)
    run_salt = fingerprint.salt(settings, registry)
    stopped = False
    for connector in connectors:
        cursors = _load_cursors(engine, connector.name, salt=None if full else run_salt)
        try:
            for item in connector.batches(cursors):
                if isinstance(item, BatchFailure):
                    state.cohorts_failed += 1
                    state.errors.append(_error_entry(item.source, item.cohort_key, item.error))
                    log.error("%s %s: %s", item.source, item.cohort_key, item.error)
                    _save_run(engine, run_id, state)
                    if on_failure:
                        on_failure(item.source, item.cohort_key)
                elif isinstance(item, (CohortSkipped, CohortUnchanged)):
                    # A finished cohort with nothing new, or one whose answers are those last written
                    # (issue 17): nothing to write, counted as synced.
                    state.refresh.append(
                        {"source": item.source, "cohort": item.cohort_key, "mode": item.mode, "reason": item.reason}
                    )
                    if isinstance(item, CohortUnchanged):
                        state.skipped_parts += len(fingerprint.PARTS)
                        state.warnings += [{"cohort": item.cohort_key, **w.model_dump()} for w in item.warnings]
                    state.cohorts_ok += 1
                    if on_batch:
                        on_batch(item.source, item.cohort_key)
                else:
                    if item.refresh is not None:
                        mode, reason = item.refresh
                        state.refresh.append(
                            {"source": item.source, "cohort": item.cohort.key, "mode": mode, "reason": reason}
                        )
                    with transaction(engine) as session:
                        write_batch(session, item, settings=settings, registry=registry, state=state)
                        _save_run_in(session, run_id, state)
                        fault_point("before_commit", item.cohort.key)
                    fault_point("after_commit", item.cohort.key)
                    after_batch()
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
        state.errors.append(
            {
                "source": None,
                "cohort": None,
                "type": "Interrupted",
                "exit_code": 75,
                "message": _(
                    "остановлена по сигналу после записи текущей когорты; следующий запуск продолжит "
                    "с сохранённого места"
                ),
            }
        )
    else:
        status = "ok" if not state.errors else ("problems" if state.cohorts_ok else "failed")
    _save_run(engine, run_id, state, status=status, finished=True)
    return SyncReport(
        run_id=run_id,
        status=status,
        counts={e: c.as_dict() for e, c in state.counts.items()},
        marked_missing=state.marked_missing,
        warnings=state.warnings,
        errors=state.errors,
        cohorts_ok=state.cohorts_ok,
        cohorts_failed=state.cohorts_failed,
        skipped_parts=state.skipped_parts,
        refresh=state.refresh,
    )


def _mark_interrupted(engine: Engine) -> None:
    with transaction(engine) as session:
        result = session.connection().execute(
            update(m.SyncRun).where(col(m.SyncRun.status) == "running").values(status="interrupted")
        )
    if result.rowcount:
        log.warning(
            ngettext(
                "{n} прежний запуск не завершился (процесс убит); отмечен как прерванный",
                "{n} прежних запусков не завершились (процесс убит); отмечены как прерванные",
                result.rowcount,
            )
        )


def _error_entry(source: str, cohort: str | None, error: Exception) -> dict[str, Any]:
    return {
        "source": source,
        "cohort": cohort,
        "type": type(error).__name__,
        "message": str(error),
        "exit_code": getattr(error, "exit_code", 1),
    }


def _load_cursors(engine: Engine, source: str, *, salt: str | None) -> dict[str, str]:
    """The source's cursors; a cohort's answers cursor only where its batch was written with `salt` (None: none).

    Issue 17: the same answers written with other people overrides or another district registry give
    other rows, so the source must read such a cohort in full; `sync --full` (salt None) reads every one.
    """
    with Session(engine) as session:
        rows = session.execute(
            select(col(m.SyncCursor.key), col(m.SyncCursor.value)).where(col(m.SyncCursor.source) == source)
        ).all()
        salted = set(
            session.execute(
                select(col(m.BatchFingerprint.cohort_key)).where(
                    col(m.BatchFingerprint.source) == source,
                    col(m.BatchFingerprint.part) == fingerprint.SALT_PART,
                    col(m.BatchFingerprint.digest) == salt,
                )
            ).scalars()
        )
    return {
        k: v
        for k, v in rows
        if not k.startswith(ANSWERS_CURSOR) or (salt is not None and k[len(ANSWERS_CURSOR) :] in salted)
    }


def _save_run(
    engine: Engine, run_id: int, state: RunState, *, status: str | None = None, finished: bool = False
) -> None:
    with transaction(engine) as session:
        _save_run_in(session, run_id, state, status=status, finished=finished)


def _save_run_in(
    session: Session, run_id: int, state: RunState, *, status: str | None = None, finished: bool = False
) -> None:
    values: dict[str, Any] = {"counts": state.counts_json(), "warnings": state.warnings, "errors": state.errors}
    if status:
        values["status"] = status
    if finished:
        values["finished_at"] = utcnow()
    session.connection().execute(update(m.SyncRun).where(col(m.SyncRun.id) == run_id).values(**values))
