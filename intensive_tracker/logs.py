"""Log lines a journal keeps: time, level, job, message — on stderr."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from intensive_tracker.redact import RedactingFilter

_FORMAT = "%(asctime)s %(levelname)s [%(job)s] %(message)s"
_DATEFMT = "%Y-%m-%dT%H:%M:%S%z"
LAB_ZONE = ZoneInfo("Europe/Moscow")  # the config's default `timezone`, until a config says otherwise


class _ZonedFormatter(logging.Formatter):
    """Times in the lab's zone (`+0300`), whatever zone the server runs in."""

    zone: ZoneInfo = LAB_ZONE

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.zone).strftime(datefmt or _DATEFMT)


_formatter = _ZonedFormatter(_FORMAT, datefmt=_DATEFMT)


class _JobFilter(logging.Filter):
    job = "cli"

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "job"):
            record.job = self.job
        return True


_job_filter = _JobFilter()


def setup_logging(*, verbose: bool = False, quiet: bool = False, job: str = "cli") -> None:
    """Configure the root logger once; later calls only change the level and the job name."""
    _job_filter.job = job
    root = logging.getLogger()
    level = logging.DEBUG if verbose else (logging.ERROR if quiet else logging.INFO)
    root.setLevel(level)
    if not any(getattr(h, "_intensive_tracker", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler._intensive_tracker = True  # type: ignore[attr-defined]
        handler.setFormatter(_formatter)
        handler.addFilter(_job_filter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    # Their INFO lines are English and say what ours already say («начат», «закончен») in the chosen language.
    for noisy in ("urllib3", "alembic", "apscheduler.scheduler", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def set_job(job: str) -> None:
    _job_filter.job = job


def set_zone(zone: ZoneInfo) -> None:
    """Log times from now on in `zone` (the config's `timezone`)."""
    _formatter.zone = zone
