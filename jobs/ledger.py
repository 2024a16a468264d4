"""The job_run ledger: which scheduled night each job has already run, so it runs once (UNIQUE(job, logical_date))."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from intensive_tracker.periods import aware_utc, utcnow
from intensive_tracker.store.engine import transaction
from intensive_tracker.store.models import JobRun

# A night whose run ended like this is done; failed or interrupted nights run again when due.
DONE = ("ok", "problems")


def as_utc(value: datetime) -> datetime:
    """Aware UTC without microseconds: the form logical dates are stored and compared in."""
    return aware_utc(value).astimezone(UTC).replace(microsecond=0)


def is_done(engine: Engine, job: str, logical_date: datetime) -> bool:
    """Whether `job` already ran for that night (ok or with problems)."""
    with engine.connect() as connection:
        status = connection.execute(
            select(col(JobRun.status)).where(col(JobRun.job) == job, col(JobRun.logical_date) == as_utc(logical_date))
        ).scalar_one_or_none()
    return status in DONE


def claim(engine: Engine, job: str, logical_date: datetime, *, takeover_running: bool) -> int | None:
    """Start the ledger row of (job, night); None when that night is done or another process runs it.

    `takeover_running` is for callers holding the sync lock: a row still «running» was then left by a
    killed process and is taken over (and recorded as such in `message`).
    """
    night = as_utc(logical_date)
    values: dict[str, Any] = {
        "status": "running",
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": utcnow(),
        "finished_at": None,
        "sync_run_id": None,
    }
    try:
        with transaction(engine) as session:
            row = JobRun(job=job, logical_date=night, message="", **values)
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        pass
    with transaction(engine) as session:
        existing: JobRun = session.execute(
            select(JobRun).where(col(JobRun.job) == job, col(JobRun.logical_date) == night)
        ).scalar_one()
        if existing.status in DONE or (existing.status == "running" and not takeover_running):
            return None
        note = f"rerun after {existing.status}"
        session.connection().execute(update(JobRun).where(col(JobRun.id) == existing.id).values(message=note, **values))
        return existing.id


def finish(engine: Engine, run_id: int, status: str, *, message: str = "", sync_run_id: int | None = None) -> None:
    """Record how the ledger row's run ended."""
    with transaction(engine) as session:
        session.connection().execute(
            update(JobRun)
            .where(col(JobRun.id) == run_id)
            .values(status=status, finished_at=utcnow(), message=message[:2000], sync_run_id=sync_run_id)
        )


def mark_interrupted(engine: Engine, job: str) -> int:
    """Rows of `job` still «running»: their process died (call only while holding the sync lock)."""
    with transaction(engine) as session:
        result = session.connection().execute(
            update(JobRun).where(col(JobRun.job) == job, col(JobRun.status) == "running").values(status="interrupted")
        )
    return int(result.rowcount or 0)
