"""What a sending run did to each message: `MessageResult` per outbox row, `SendReport` for the run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from intensive_tracker.mail import outbox
from intensive_tracker.mail.plan import DistrictMail


@dataclass(frozen=True)
class MessageResult:
    """One message of the run: where its outbox row stands now and why."""

    outbox_id: int
    district: str
    program_key: str
    period: str
    state: str
    action: str  # sent-now | attempted | skipped | not-attempted
    reason: str | None = None
    refused: dict[str, str] = field(default_factory=dict)
    changed_since_sent: bool = False

    @classmethod
    def of(
        cls, mail: DistrictMail, outbox_id: int, state: str, action: str, reason: str | None, **more: Any
    ) -> MessageResult:
        """The result of `mail`'s outbox row: where it is addressed, from the message itself."""
        return cls(outbox_id, mail.district, mail.program_key, mail.period, state, action, reason, **more)


@dataclass
class SendReport:
    results: list[MessageResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    recovered: int = 0

    @property
    def delivered(self) -> int:
        """Messages the server accepted during this run."""
        return sum(1 for r in self.results if r.action == "sent-now")

    @property
    def states(self) -> Counter[str]:
        return Counter(r.state for r in self.results)

    @property
    def exit_code(self) -> int:
        """0 when every message of the selection is sent; 75 when any waits for a retry or a person."""
        return 0 if all(r.state == outbox.SENT for r in self.results) else 75
