"""The daemon's jobs: the nightly sync + report, and the district emails. Plain importable functions.

Each job records itself in job_run under the night it stands for, so a night runs once however many
daemons are started and however late the run comes; each returns its outcome as a word and never
raises a TrackerError into the scheduler (it is logged with the job's name instead). The work itself
goes through `App`, as the command line's does; `sync=`, `publish=` and `send=` let a test put its
own work in its place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from intensive_tracker.app import App
from intensive_tracker.errors import AlreadyRunning, TrackerError
from intensive_tracker.faults import fault_point
from intensive_tracker.i18n import _
from intensive_tracker.logs import set_job
from intensive_tracker.mail import SendReport
from intensive_tracker.ops.schedule import JOB_EMAILS, JOB_SYNC, logical_date
from intensive_tracker.store.locks import sync_lock
from intensive_tracker.store.schema import ensure_schema
from intensive_tracker.sync.state import SyncReport
from jobs import ledger

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]


def sync_all(app: App, should_stop: StopCheck | None) -> SyncReport:
    """The nightly sync of every source, each written cohort logged."""
    return app.sync_sources(
        trigger="schedule",
        should_stop=should_stop,
        on_batch=lambda source, key: log.info(_("{source}: {key} записан", source=source, key=key)),
    )


def nightly_sync(
    config_path: str | Path,
    *,
    night: datetime | None = None,
    should_stop: StopCheck | None = None,
    lock_wait_s: float | None = None,
    sync: Callable[[App, StopCheck | None], SyncReport] = sync_all,
    publish: Callable[[App], Path] = App.publish_report,
) -> str:
    """Sync every source and render the report, once per scheduled night.

    Returns "ok", "problems", "failed", "interrupted", "busy" (another sync held the lock for all of
    `lock_wait_s`, default the misfire grace) or "done-already" (this night's run is in job_run).
    """
    set_job(JOB_SYNC)
    app = App.from_config(Path(config_path))
    engine = app.engine
    night = night or logical_date(app.settings, JOB_SYNC)
    if lock_wait_s is None:
        lock_wait_s = app.settings.schedule.misfire_grace_hours * 3600
    try:
        # Wait out a manual sync (then this night's run still happens, and writes only what changed).
        with sync_lock(engine, wait_s=lock_wait_s, should_stop=should_stop):
            ensure_schema(engine)
            # We hold the lock: a run still «running» belongs to a process that died.
            ledger.mark_interrupted(engine, JOB_SYNC)
            run_id = ledger.claim(engine, JOB_SYNC, night, takeover_running=True)
            if run_id is None:
                log.info(_("запуск за {night} уже выполнен; делать нечего", night=night.isoformat()))
                return "done-already"
            log.info(_("начат (ночь {night})", night=night.isoformat()))
            try:
                report = sync(app, should_stop)
                fault_point("before_report")
                message = _sync_summary(report)
                if report.status != "interrupted":
                    message += _("; отчёт {path}", path=publish(app))
            except BaseException as e:
                ledger.finish(engine, run_id, "failed", message=f"{type(e).__name__}: {e}")
                raise
            ledger.finish(engine, run_id, report.status, message=message, sync_run_id=report.run_id)
            log.info(_("закончен: {summary}", summary=message))
            return report.status
    except AlreadyRunning as e:
        log.warning("%s", e)
        return "busy"
    except TrackerError as e:
        log.error("%s", e)
        return "failed"
    finally:
        app.close()
        set_job("daemon")


def _sync_summary(report: SyncReport) -> str:
    written = sum(c["inserted"] + c["updated"] for c in report.counts.values())
    return _(
        "синхронизация #{run} {status}: когорт записано {ok}, с ошибкой {failed}, строк записано {written}, "
        "предупреждений {warnings}",
        run=report.run_id,
        status=report.status,
        ok=report.cohorts_ok,
        failed=report.cohorts_failed,
        written=written,
        warnings=len(report.warnings),
    )


def district_emails(
    config_path: str | Path,
    *,
    night: datetime | None = None,
    should_stop: StopCheck | None = None,
    send: Callable[[App], SendReport] = App.send_emails,
) -> str:
    """Send the per-district emails through the outbox, once per scheduled date.

    Returns "sent" (the send run returned; the night is "problems" in job_run when a message waits
    for a retry or a person), "not-configured", "done-already" or "failed".
    """
    set_job(JOB_EMAILS)
    try:
        app = App.from_config(Path(config_path))
        if app.settings.mail is None:
            log.error(
                _(
                    "письма округам стоят в расписании, но почта не настроена: добавьте раздел [mail] "
                    "(см. config.example.toml)"
                )
            )
            return "not-configured"
        with app:
            engine = app.engine
            ensure_schema(engine)
            night = night or logical_date(app.settings, JOB_EMAILS)
            # No takeover: a send interrupted mid-batch may have delivered messages, and the outbox,
            # not a blind re-run, decides what is resent (RELIABILITY.md §2).
            run_id = ledger.claim(engine, JOB_EMAILS, night, takeover_running=False)
            if run_id is None:
                log.info(
                    _("письма за {night} уже отправлены или их отправляет другой процесс", night=night.isoformat())
                )
                return "done-already"
            try:
                result = send(app)
            except BaseException as e:
                ledger.finish(engine, run_id, "failed", message=f"{type(e).__name__}: {e}")
                raise
            # exit_code 75: a message waits for a retry or for a person (uncertain).
            status = "ok" if result.exit_code == 0 else "problems"
            ledger.finish(engine, run_id, status, message=_mail_summary(result))
            log.info(_("закончен: {summary}", summary=_mail_summary(result)))
            return "sent"
    except TrackerError as e:
        log.error("%s", e)
        return "failed"
    finally:
        set_job("daemon")


def _mail_summary(result: SendReport) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.states.items())) or _("отправлять нечего")
    return _(
        "доставлено {delivered}; состояния писем этого запуска: {counts}", delivered=result.delivered, counts=counts
    )
