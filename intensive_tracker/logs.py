"""Log lines a journal keeps: time, level, job, message — on stderr."""

from __future__ import annotations

import logging
import sys

from intensive_tracker.redact import RedactingFilter

_FORMAT = "%(asctime)s %(levelname)s [%(job)s] %(message)s"


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
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%Y-%m-%dT%H:%M:%S%z"))
        handler.addFilter(_job_filter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    for noisy in ("urllib3", "alembic", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def set_job(job: str) -> None:
    _job_filter.job = job
