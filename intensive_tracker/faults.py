"""Named crash points for the fault suite: the process dies there as if it had been SIGKILLed.

Set INTENSIVE_TRACKER_FAULT_AT to a point's name, or to `name:detail` for one cohort, e.g.
`before_commit:KU-2023-H1`. The process then ends with `os._exit(137)` at that point: no `finally`,
no rollback, no flush, exactly what `kill -9` or the OOM killer leaves behind (RELIABILITY.md F7).

Points (in the order a sync passes them):

    locked                  the sync lock is held, nothing written yet
    run_started             the sync_run row is committed
    before_commit:<cohort>  the cohort's rows, cursors and counters are written, not committed
    after_commit:<cohort>   the cohort's transaction is committed
    before_finish           every cohort is done, the run's final status not yet written
    before_report           (nightly job) the sync has finished, the report is not rendered yet
"""

from __future__ import annotations

import logging
import os

from intensive_tracker.i18n import _

FAULT_ENV = "INTENSIVE_TRACKER_FAULT_AT"
KILLED_EXIT = 137  # what a shell reports for a process killed by SIGKILL (128 + 9)

POINTS = ("locked", "run_started", "before_commit", "after_commit", "before_finish", "before_report")

log = logging.getLogger(__name__)


def fault_point(name: str, detail: str = "") -> None:
    """Die here when INTENSIVE_TRACKER_FAULT_AT names this point (a no-op otherwise)."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    if wanted == name or (detail and wanted == f"{name}:{detail}"):
        log.critical(_("внедрение сбоя: процесс убит в точке {point}", point=wanted))
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(KILLED_EXIT)
