"""What a sync run counts as it goes (`RunState`) and what it reports at the end (`SyncReport`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from intensive_tracker.i18n import N_
from intensive_tracker.store.upsert import Counts

ENTITIES = ("participants", "accounts", "enrolments", "sessions", "attendance", "defenses", "cursors")
# How a person reads each entity in the sync summary, shown as _(ENTITY_LABELS[e]) (the JSON and sync_run.counts
# keep the English keys).
ENTITY_LABELS: dict[str, str] = {
    "participants": N_("участники"),
    "accounts": N_("учётные записи"),
    "enrolments": N_("зачисления"),
    "sessions": N_("занятия"),
    "attendance": N_("отметки"),
    "defenses": N_("защиты"),
    "cursors": N_("закладки синхронизации"),
}


@dataclass
class SyncReport:
    """What a run did; the CLI prints it and `status` reads it back from sync_run."""

    run_id: int
    status: str
    counts: dict[str, dict[str, int]]
    marked_missing: int
    warnings: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    cohorts_ok: int
    cohorts_failed: int
    skipped_parts: int = 0  # cohort parts skipped: their fingerprint was unchanged (issue 17)
    refresh: list[dict[str, Any]] = field(default_factory=list)  # per cohort: full | incremental | skipped, why

    @property
    def rows_written(self) -> int:
        return sum(c["inserted"] + c["updated"] for c in self.counts.values()) + self.marked_missing


@dataclass
class RunState:
    """Counters, warnings and errors of the run in progress; saved on sync_run with every batch."""

    counts: dict[str, Counts] = field(default_factory=lambda: {e: Counts() for e in ENTITIES})
    marked_missing: int = 0
    rejected: int = 0  # form rows refused this run (each row once, however many of its cells were wrong)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    cohorts_ok: int = 0
    cohorts_failed: int = 0
    fingerprints: bool = True  # False (sync --full): every part is compared row by row
    skipped_parts: int = 0  # cohort parts skipped because their fingerprint was unchanged
    refresh: list[dict[str, Any]] = field(default_factory=list)  # how each cohort was refreshed, and why
    # Participants are counted by id over the whole run: one created here is «new» and nothing
    # else, however many batches refresh it later; one seen but not changed is «unchanged».
    created_participants: set[int] = field(default_factory=set)
    changed_participants: set[int] = field(default_factory=set)
    seen_participants: set[int] = field(default_factory=set)

    def note_participants(
        self, *, created: Iterable[int] = (), changed: Iterable[int] = (), seen: Iterable[int] = ()
    ) -> None:
        """Record participants of a batch; the participant counts follow from the three sets."""
        self.created_participants.update(created)
        self.changed_participants.update(changed)
        self.seen_participants.update(seen)
        new = self.created_participants
        updated = self.changed_participants - new
        self.counts["participants"] = Counts(
            inserted=len(new),
            updated=len(updated),
            unchanged=len(self.seen_participants - new - updated),
        )

    def counts_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {e: c.as_dict() for e, c in self.counts.items()}
        data["marked_missing"] = self.marked_missing
        data["rejected"] = self.rejected
        data["cohorts"] = {"ok": self.cohorts_ok, "failed": self.cohorts_failed}
        data["refresh"] = self.refresh
        data["skipped_parts"] = self.skipped_parts
        return data
