"""The daemon's jobs: the nightly sync + report, and the district emails. Plain importable functions.

Each job records itself in job_run under the night it stands for, so a night runs once however many
daemons are started and however late the run comes; each returns its outcome as a word and never
raises a TrackerError into the scheduler (it is logged with the job's name instead).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from intensive_tracker.config import load_settings
from intensive_tracker.db import ensure_schema, make_engine
from intensive_tracker.districts import registry_from_settings
from intensive_tracker.errors import AlreadyRunning, TrackerError
from intensive_tracker.faults import fault_point
from intensive_tracker.locks import sync_lock
from intensive_tracker.logs import set_job
from jobs import ledger
from jobs.scheduler import JOB_EMAILS, JOB_SYNC, logical_date

log = logging.getLogger(__name__)


def nightly_sync(config_path: str | Path, *, night: datetime | None = None,
                 should_stop: Callable[[], bool] | None = None, lock_wait_s: float | None = None) -> str:
    """Sync every source and render the report, once per scheduled night.

    Returns "ok", "problems", "failed", "interrupted", "busy" (another sync held the lock for all of
    `lock_wait_s`, default the misfire grace) or "done-already" (this night's run is in job_run).
    """
    from intensive_tracker.cli import Context, _report
    from intensive_tracker.sources import open_connectors
    from intensive_tracker.sync import run_sync

    set_job(JOB_SYNC)
    path = Path(config_path)
    settings = load_settings(path)
    engine = make_engine(settings.database_url)
    night = night or logical_date(settings, JOB_SYNC)
    if lock_wait_s is None:
        lock_wait_s = settings.schedule.misfire_grace_hours * 3600
    try:
        # Wait out a manual sync (then this night's run still happens, and writes only what changed).
        with sync_lock(engine, wait_s=lock_wait_s, should_stop=should_stop):
            ensure_schema(engine)
            # We hold the lock: a run still «running» belongs to a process that died.
            ledger.mark_interrupted(engine, JOB_SYNC)
            run_id = ledger.claim(engine, JOB_SYNC, night, takeover_running=True)
            if run_id is None:
                log.info("the run of %s is already done; nothing to do", night.isoformat())
                return "done-already"
            log.info("started (night of %s)", night.isoformat())
            try:
                with open_connectors(settings) as connectors:
                    report = run_sync(engine, settings, registry_from_settings(settings), connectors, trigger="schedule",
                                      should_stop=should_stop,
                                      on_batch=lambda source, key: log.info("%s: %s записан", source, key))
                fault_point("before_report")
                message = _sync_summary(report)
                if report.status != "interrupted":
                    index = _report(Context(path, quiet=True), None)
                    message += f"; отчёт {index}"
            except BaseException as e:
                ledger.finish(engine, run_id, "failed", message=f"{type(e).__name__}: {e}")
                raise
            ledger.finish(engine, run_id, report.status, message=message, sync_run_id=report.run_id)
            log.info("finished: %s", message)
            return report.status
    except AlreadyRunning as e:
        log.warning("%s", e)
        return "busy"
    except TrackerError as e:
        log.error("%s", e)
        return "failed"
    finally:
        engine.dispose()
        set_job("daemon")


def _sync_summary(report: Any) -> str:
    written = sum(c["inserted"] + c["updated"] for c in report.counts.values())
    return (f"sync #{report.run_id} {report.status}: cohorts {report.cohorts_ok} ok, {report.cohorts_failed} failed, "
            f"{written} rows written, {len(report.warnings)} warnings")


def district_emails(config_path: str | Path, *, night: datetime | None = None,
                    should_stop: Callable[[], bool] | None = None) -> str:
    """Send the per-district emails through intensive_tracker.mail, once per scheduled date.

    Returns "sent" (mail.send_all returned; the night is "problems" in job_run when a message waits
    for a retry or a person), "not-configured", "done-already" or "failed".
    """
    set_job(JOB_EMAILS)
    try:
        from intensive_tracker.mail import send_all

        path = Path(config_path)
        settings = load_settings(path)
        if settings.mail is None:
            log.error("district emails are scheduled but mail is not configured: add the [mail] section "
                      "(see config.example.toml)")
            return "not-configured"
        engine = make_engine(settings.database_url)
        try:
            ensure_schema(engine)
            night = night or logical_date(settings, JOB_EMAILS)
            # No takeover: a send interrupted mid-batch may have delivered messages, and the outbox,
            # not a blind re-run, decides what is resent (RELIABILITY.md §2).
            run_id = ledger.claim(engine, JOB_EMAILS, night, takeover_running=False)
            if run_id is None:
                log.info("emails of %s are done or being sent by another process", night.isoformat())
                return "done-already"
            try:
                result = send_all(settings, engine, registry_from_settings(settings))
            except BaseException as e:
                ledger.finish(engine, run_id, "failed", message=f"{type(e).__name__}: {e}")
                raise
            # mail.SendReport: exit_code 75 when a message waits for a retry or for a person (uncertain).
            status = "ok" if getattr(result, "exit_code", 0) == 0 else "problems"
            ledger.finish(engine, run_id, status, message=_mail_summary(result))
            log.info("finished: %s", _mail_summary(result))
            return "sent"
        finally:
            engine.dispose()
    except TrackerError as e:
        log.error("%s", e)
        return "failed"
    finally:
        set_job("daemon")


def _mail_summary(result: Any) -> str:
    states = getattr(result, "states", None)
    if states is not None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(dict(states).items())) or "nothing due"
        return f"delivered {getattr(result, 'delivered', '?')}; outbox states of this run: {counts}"
    return str(result)[:500] if result is not None else ""

