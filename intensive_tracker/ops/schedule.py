"""Schedule arithmetic in the lab's time zone: which jobs are configured, when they fire, which night a run stands for.

Every trigger gets the zone explicitly (a CronTrigger without one uses the machine's zone, and the
server runs in UTC). The functions the jobs run are bound in `jobs.scheduler`; this module only knows
their ids, titles and crontabs, so `status` can show the schedule without importing the jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from intensive_tracker.config import Settings
from intensive_tracker.i18n import N_

JOB_SYNC = "nightly-sync"
JOB_EMAILS = "district-emails"


@dataclass(frozen=True)
class JobSchedule:
    """One scheduled job as configured; `title` is a msgid (shown through `_`, kept as it is in status JSON)."""

    id: str
    title: str
    crontab: str


def schedule_zone(settings: Settings) -> ZoneInfo:
    """[schedule].timezone, else the top-level timezone (Europe/Moscow by default)."""
    return ZoneInfo(settings.schedule.timezone or settings.timezone)


def configured_jobs(settings: Settings) -> list[JobSchedule]:
    """The configured jobs; district emails only when [schedule].emails is set."""
    jobs = [JobSchedule(JOB_SYNC, N_("синхронизация и отчёт"), settings.schedule.sync)]
    if settings.schedule.emails:
        jobs.append(JobSchedule(JOB_EMAILS, N_("рассылка по округам"), settings.schedule.emails))
    return jobs


def trigger_for(crontab: str, tz: ZoneInfo) -> CronTrigger:
    """The cron trigger of `crontab`, always in the given zone."""
    return CronTrigger.from_crontab(crontab, timezone=tz)


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before `now` (the night a late run stands for), within a year."""
    for lookback in (timedelta(days=2), timedelta(days=40), timedelta(days=400)):
        fire = trigger.get_next_fire_time(None, now - lookback)
        latest: datetime | None = None
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return latest
    return None


def logical_date(settings: Settings, job_id: str, now: datetime | None = None) -> datetime:
    """The scheduled night a run of `job_id` at `now` stands for (now itself if never scheduled before)."""
    now = now or datetime.now(UTC)
    job = next((j for j in configured_jobs(settings) if j.id == job_id), None)
    if job is None:
        return now
    return previous_fire_time(trigger_for(job.crontab, schedule_zone(settings)), now) or now


def next_fire_times(settings: Settings, now: datetime | None = None) -> dict[str, datetime | None]:
    """When each configured job fires next, in the schedule's zone."""
    now = now or datetime.now(UTC)
    tz = schedule_zone(settings)
    return {j.id: trigger_for(j.crontab, tz).get_next_fire_time(None, now) for j in configured_jobs(settings)}
