"""A progress bar over cohorts on stderr when a person watches; silent for the daemon, pipes and --quiet."""

from __future__ import annotations

import sys
from typing import Any, TextIO


class CohortProgress:
    """Advances once per cohort (written or failed); `enabled=False` makes every call a no-op."""

    def __init__(self, total: int, *, enabled: bool, stream: TextIO | None = None) -> None:
        self._bar: Any = None
        if enabled and total > 0:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                unit="когорт",
                desc="Синхронизация",
                file=stream or sys.stderr,
                leave=False,
                dynamic_ncols=True,
                mininterval=0,
            )  # few, slow steps: draw each

    @property
    def active(self) -> bool:
        return self._bar is not None

    def advance(self, label: str, *, failed: bool = False) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(f"{label}{' — ошибка' if failed else ''}", refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> CohortProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wants_progress(*, quiet: bool, stream: TextIO | None = None) -> bool:
    """A bar only for a terminal, never with --quiet."""
    stream = stream or sys.stderr
    return not quiet and hasattr(stream, "isatty") and stream.isatty()
