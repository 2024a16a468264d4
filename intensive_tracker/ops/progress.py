"""A progress bar over cohorts on stderr when a person watches; silent for the daemon, pipes and --quiet.

While the bar is on screen, log lines are written above it (through `tqdm.write`), never through
it. A finished bar stays as one clean line; one that did not finish (an error, a stop) is removed.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from intensive_tracker.i18n import N_, _

BAR_FORMAT = N_("{desc}: {percentage:3.0f}% |{bar}| {n_fmt}/{total_fmt} когорт, {elapsed}{postfix}")


class _AboveBar:
    """A stream for the log handler: each line goes above the bar instead of into it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text.rstrip("\n"), file=self.stream)

    def flush(self) -> None:
        self.stream.flush()


class CohortProgress:
    """Advances once per cohort (written or failed); `enabled=False` makes every call a no-op."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self._bar: Any = None
        self._redirected: list[tuple[logging.StreamHandler[Any], Any]] = []
        if enabled and total > 0:
            from tqdm import tqdm

            out = stream or sys.stderr
            self._bar = tqdm(
                total=total,
                desc=_("Синхронизация"),
                file=out,
                leave=False,
                dynamic_ncols=True,
                mininterval=0,
                bar_format=_(BAR_FORMAT),
            )  # few, slow steps: draw each
            self._redirect_logs(out)

    def _redirect_logs(self, out: TextIO) -> None:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) is out:
                self._redirected.append((handler, handler.stream))
                handler.setStream(_AboveBar(out))

    @property
    def active(self) -> bool:
        return self._bar is not None

    def advance(self, label: str, *, failed: bool = False) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(_("{label} — ошибка", label=label) if failed else label, refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            bar, self._bar = self._bar, None
            finished = bar.n >= bar.total
            if finished:
                bar.set_postfix_str(_("готово"), refresh=False)
            bar.leave = finished  # a finished bar stays as one line; a stuck one leaves no trace
            bar.close()
        for handler, original in self._redirected:
            handler.setStream(original)
        self._redirected = []

    def __enter__(self) -> CohortProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wants_progress(*, quiet: bool, stream: TextIO | None = None) -> bool:
    """A bar only for a terminal, never with --quiet."""
    stream = stream or sys.stderr
    return not quiet and hasattr(stream, "isatty") and stream.isatty()
