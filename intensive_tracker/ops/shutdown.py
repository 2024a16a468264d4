"""A graceful stop: SIGTERM (systemd's stop) or SIGINT asks the sync to end after the current batch.

The signal handler only sets a flag; the sync checks it between batches, so the batch in flight is
committed whole, the run is recorded as «interrupted» and the process exits with 75 (EX_TEMPFAIL):
the next run picks up from the committed cursors.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from intensive_tracker.i18n import _

log = logging.getLogger(__name__)


class StopFlag:
    """Set once a stop was asked for; call it to ask whether to stop."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop is asked for (or `timeout` passes); True if it was."""
        return self._event.wait(timeout)


@contextmanager
def stop_on_signals(
    flag: StopFlag,
    *,
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
) -> Iterator[StopFlag]:
    """Within the block, the given signals set `flag` instead of killing the process.

    The handler does nothing else: it runs on the main thread wherever that thread happens to be, inside a
    lock it holds too, so anything that waits (shutting a scheduler down) belongs to a thread that waits on
    `flag` (see `jobs.scheduler.run_until_stopped`).
    """
    if threading.current_thread() is not threading.main_thread():
        yield flag  # only the main thread may install handlers; the caller's own handling applies
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if flag():
            # Asked twice (a second Ctrl-C, systemd's final SIGTERM): stop now, as without a handler.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        log.warning(_("получен {signal}: заканчиваю текущую порцию и останавливаюсь", signal=name))
        flag.request(name)

    previous = {s: signal.signal(s, handle) for s in signals}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
