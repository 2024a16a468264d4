"""Words the whole product shares, each defined once: defense outcomes and their rank, run statuses."""

from __future__ import annotations

from typing import Literal

from intensive_tracker.i18n import N_

Outcome = Literal["passed", "failed", "pending"]
OUTCOMES: tuple[Outcome, ...] = ("passed", "failed", "pending")

# When one person has several defense rows (two accounts, two attempts), the best outcome stands.
DEFENSE_RANK: dict[str, int] = {"passed": 3, "failed": 2, "pending": 1}

# Shown as _(RUN_STATUS_LABELS[status]): the language is chosen after import.
RUN_STATUS_LABELS: dict[str, str] = {
    "ok": N_("успешно"),
    "problems": N_("завершена с проблемами"),
    "failed": N_("не выполнена"),
    "interrupted": N_("прервана"),
    "running": N_("выполняется"),
}
