"""Words the whole product shares, each defined once: defense outcomes and their rank, run statuses."""

from __future__ import annotations

from typing import Literal

Outcome = Literal["passed", "failed", "pending"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "pending")

# When one person has several defense rows (two accounts, two attempts), the best outcome stands.
DEFENSE_RANK: dict[str, int] = {"passed": 3, "failed": 2, "pending": 1}

RUN_STATUS_LABELS: dict[str, str] = {
    "ok": "успешно",
    "problems": "завершена с проблемами",
    "failed": "не выполнена",
    "interrupted": "прервана",
    "running": "выполняется",
}
