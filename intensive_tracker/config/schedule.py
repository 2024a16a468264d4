"""`[schedule]`: when the daemon runs its jobs."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from intensive_tracker.config.base import Section
from intensive_tracker.i18n import _


class ScheduleSettings(Section):
    """When the daemon runs its jobs: crontab lines (minute hour day month weekday) in `timezone`."""

    timezone: str | None = None  # default: the top-level timezone
    sync: str = "30 2 * * *"  # sync + report every night at 02:30
    emails: str = ""  # district emails, e.g. "0 9 1 * *" (9:00 on the 1st); empty = off
    misfire_grace_hours: float = Field(6, gt=0, le=72)

    @field_validator("sync", "emails")
    @classmethod
    def _crontab(cls, value: str) -> str:
        if value.strip():
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as e:
                raise ValueError(
                    _(
                        "{value!r} — не строка crontab (минута час день месяц день-недели): {error}",
                        value=value,
                        error=e,
                    )
                ) from None
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(_("неизвестный часовой пояс {zone!r} (например, Europe/Moscow)", zone=value)) from None
        return value
