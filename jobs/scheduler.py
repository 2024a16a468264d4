"""The daemon's schedule: APScheduler 3.x, jobs from the config's [schedule], in the lab's time zone.

Jobs have explicit ids, max_instances=1, coalesce=True and a misfire grace of hours. The job store
is the memory one: what has run lives in our own tables (sync_run, job_run), and `build_scheduler`
reads job_run to start a missed night once, right away. `JOBS` binds each job id to its function;
tests pass their own table instead of patching modules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_START, SchedulerEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings
from intensive_tracker.i18n import _
from intensive_tracker.ops.schedule import (
    JOB_EMAILS,
    JOB_SYNC,
    configured_jobs,
    logical_date,
    next_fire_times,
    previous_fire_time,
    schedule_zone,
    trigger_for,
)
from intensive_tracker.ops.shutdown import StopFlag
from jobs.ledger import is_done
from jobs.nightly import district_emails, nightly_sync

log = logging.getLogger(__name__)

__all__ = [
    "JOBS",
    "JOB_EMAILS",
    "JOB_SYNC",
    "build_scheduler",
    "logical_date",
    "missed_runs",
    "next_fire_times",
    "run_until_stopped",
    "schedule_zone",
]

JOBS: Mapping[str, Callable[..., Any]] = {JOB_SYNC: nightly_sync, JOB_EMAILS: district_emails}


def missed_runs(engine: Engine | None, settings: Settings, now: datetime) -> dict[str, datetime]:
    """Jobs whose last night (within the misfire grace) has no finished run in job_run."""
    grace = timedelta(hours=settings.schedule.misfire_grace_hours)
    tz = schedule_zone(settings)
    missed: dict[str, datetime] = {}
    for job in configured_jobs(settings):
        last = previous_fire_time(trigger_for(job.crontab, tz), now)
        if last is None or now - last > grace:
            continue
        if engine is not None and is_done(engine, job.id, last):
            continue
        missed[job.id] = last
    return missed


def build_scheduler(
    settings: Settings,
    config_path: Path | str,
    *,
    engine: Engine | None = None,
    now: datetime | None = None,
    should_stop: Callable[[], bool] | None = None,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
    jobs: Mapping[str, Callable[..., Any]] = JOBS,
) -> BaseScheduler:
    """A scheduler with the configured jobs; a night missed within the grace runs once on start.

    `engine` is read for the ledger (None: every recent night counts as missed); `now` is for tests.
    """
    tz = schedule_zone(settings)
    grace_s = int(settings.schedule.misfire_grace_hours * 3600)
    scheduler = scheduler_cls(
        timezone=tz, job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": grace_s}
    )
    missed = missed_runs(engine, settings, now or datetime.now(UTC))
    for job in configured_jobs(settings):
        options: dict[str, Any] = {}
        if job.id in missed:
            # Start the job at the night it missed: APScheduler sees a run time within the grace and
            # runs it once (coalesce), then goes on with the cron schedule.
            options["next_run_time"] = missed[job.id]
            log.warning(
                _(
                    "{job}: запуск за {night} не состоялся; он выполняется сейчас",
                    job=job.id,
                    night=missed[job.id].isoformat(),
                )
            )
        scheduler.add_job(
            jobs[job.id],
            trigger_for(job.crontab, tz),
            id=job.id,
            name=job.title,
            args=[str(config_path)],
            kwargs={"should_stop": should_stop},
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace_s,
            **options,
        )
    return scheduler


def run_until_stopped(scheduler: BaseScheduler, stop: StopFlag) -> None:
    """Run a blocking scheduler on this thread until `stop` is set; the job in flight finishes its batch first.

    The scheduler is shut down by a thread of its own, never by the signal handler: the handler runs on
    the main thread wherever it is, inside the scheduler too, and submitting a job holds the thread pool's
    lock that shutting the pool down takes; shutting down from there waited for itself forever. From
    another thread it is safe: APScheduler (3.11) shuts down under the lock its loop holds while it submits,
    and empties the job store, so no job is submitted to a pool already shut.
    """
    running = threading.Event()

    def started(_event: SchedulerEvent) -> None:
        running.set()

    def shut_down_when_asked() -> None:
        stop.wait()
        running.wait()  # a stop during start: shut down once it runs (never started: the process just ends)
        scheduler.shutdown(wait=True)

    scheduler.add_listener(started, EVENT_SCHEDULER_START)
    stopper = threading.Thread(target=shut_down_when_asked, name="daemon-stop", daemon=True)
    stopper.start()
    if not stop():
        scheduler.start()  # returns once the stopper has set the scheduler's state to stopped
    if running.is_set():
        stopper.join()  # the job in flight commits its batch and returns
