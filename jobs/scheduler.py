"""The daemon's schedule: APScheduler 3.x, jobs from the config's [schedule], in the lab's time zone.

Every trigger gets the zone explicitly (a CronTrigger without one uses the machine's zone, and the
server runs in UTC). Jobs have explicit ids, max_instances=1, coalesce=True and a misfire grace of
hours. The job store is the memory one: what has run lives in our own tables (sync_run, job_run),
and `build_scheduler` reads job_run to start a missed night once, right away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings

log = logging.getLogger(__name__)

JOB_SYNC = "nightly-sync"
JOB_EMAILS = "district-emails"


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job as configured."""

    id: str
    title: str
    crontab: str
    func: Callable[..., Any]


def schedule_zone(settings: Settings) -> ZoneInfo:
    """[schedule].timezone, else the top-level timezone (Europe/Moscow by default)."""
    return ZoneInfo(settings.schedule.timezone or settings.timezone)


def job_specs(settings: Settings) -> list[JobSpec]:
    """The configured jobs; district emails only when [schedule].emails is set."""
    from jobs.nightly import district_emails, nightly_sync

    specs = [JobSpec(JOB_SYNC, "синхронизация и отчёт", settings.schedule.sync, nightly_sync)]
    if settings.schedule.emails:
        specs.append(JobSpec(JOB_EMAILS, "рассылка по округам", settings.schedule.emails, district_emails))
    return specs


def trigger_for(crontab: str, tz: ZoneInfo) -> CronTrigger:
    return CronTrigger.from_crontab(crontab, timezone=tz)


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (the night a late run stands for), within a year."""
    for lookback in (timedelta(days=2), timedelta(days=40), timedelta(days=400)):
        fire = trigger.get_next_fire_time(None, now - lookback)
        latest = None
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return latest
    return None


def logical_date(settings: Settings, job_id: str, now: datetime | None = None) -> datetime:
    """The scheduled night a run of `job_id` at `now` stands for (now itself if never scheduled before)."""
    now = now or datetime.now(timezone.utc)
    spec = next((s for s in job_specs(settings) if s.id == job_id), None)
    if spec is None:
        return now
    return previous_fire_time(trigger_for(spec.crontab, schedule_zone(settings)), now) or now


def next_fire_times(settings: Settings, now: datetime | None = None) -> dict[str, datetime | None]:
    """When each configured job fires next, in the schedule's zone."""
    now = now or datetime.now(timezone.utc)
    tz = schedule_zone(settings)
    return {s.id: trigger_for(s.crontab, tz).get_next_fire_time(None, now) for s in job_specs(settings)}


def missed_runs(engine: Engine | None, settings: Settings, now: datetime) -> dict[str, datetime]:
    """Jobs whose last night (within the misfire grace) has no finished run in job_run."""
    from jobs.ledger import is_done

    grace = timedelta(hours=settings.schedule.misfire_grace_hours)
    tz = schedule_zone(settings)
    missed: dict[str, datetime] = {}
    for spec in job_specs(settings):
        last = previous_fire_time(trigger_for(spec.crontab, tz), now)
        if last is None or now - last > grace:
            continue
        if engine is not None and is_done(engine, spec.id, last):
            continue
        missed[spec.id] = last
    return missed


def build_scheduler(
    settings: Settings,
    config_path: Path | str,
    *,
    engine: Engine | None = None,
    now: datetime | None = None,
    should_stop: Callable[[], bool] | None = None,
    scheduler_cls: type[BaseScheduler] = BlockingScheduler,
) -> BaseScheduler:
    """A scheduler with the configured jobs; a night missed within the grace runs once on start.

    `engine` is read for the ledger (None: every recent night counts as missed); `now` is for tests.
    """
    tz = schedule_zone(settings)
    grace_s = int(settings.schedule.misfire_grace_hours * 3600)
    scheduler = scheduler_cls(timezone=tz, job_defaults={
        "max_instances": 1, "coalesce": True, "misfire_grace_time": grace_s})
    missed = missed_runs(engine, settings, now or datetime.now(timezone.utc))
    for spec in job_specs(settings):
        options: dict[str, Any] = {}
        if spec.id in missed:
            # Start the job at the night it missed: APScheduler sees a run time within the grace and
            # runs it once (coalesce), then goes on with the cron schedule.
            options["next_run_time"] = missed[spec.id]
            log.warning("%s: the run of %s did not happen; it runs now", spec.id, missed[spec.id].isoformat())
        scheduler.add_job(
            spec.func, trigger_for(spec.crontab, tz), id=spec.id, name=spec.title,
            args=[str(config_path)], kwargs={"should_stop": should_stop},
            replace_existing=True, max_instances=1, coalesce=True, misfire_grace_time=grace_s, **options)
    return scheduler
