"""Fingerprints of a cohort batch's parts: a night that changed nothing writes nothing, cheaply (issue 17).

Each part of a cohort batch (people, enrolments, sessions, attendance, defenses) gets a digest of
its normalized records. The digest is stored with the data, in the batch's transaction, so it can
never claim a write that was rolled back. A part whose digest equals the stored one is skipped
before any row is read, compared or written; a changed part is diffed and written as before.

A digest must not hide a change, so it covers everything the part's rows are computed from:
- the records themselves, in the source's order;
- the digests of the parts it depends on (marks name people and sessions; a changed person
  rewrites the cohort's enrolments, marks and defenses);
- a salt of what else shapes the rows: the people overrides and the district registry of the
  config, and `VERSION`, to be raised whenever the writer's rules change.
A part not fetched this time (`enrolments`/`sessions` None) keeps its stored digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session, col

from connectors.base import Batch
from intensive_tracker.config import Settings
from intensive_tracker.people.districts import Registry
from intensive_tracker.periods import utcnow
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked, upsert

# Raise when the cohort writer computes rows differently: every stored digest then misses once.
VERSION = "1"
PARTS = ("people", "enrolments", "sessions", "attendance", "defenses")
# Not a part: the salt the batch was written with. A source's answers cursor of the cohort counts only
# while it is the current one (engine `_load_cursors`).
SALT_PART = "salt"


def _records_digest(records: Iterable[BaseModel], *extra: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    for e in extra:
        h.update(e.encode())
        h.update(b"\x00")
    for r in records:
        h.update(repr(tuple(r.__dict__.values())).encode())
        h.update(b"\x01")
    return h.hexdigest()


def salt(settings: Settings, registry: Registry) -> str:
    """What outside the batch shapes its rows: people overrides, the district registry, the writer's version."""
    entries = sorted(repr(sorted(vars(e).items(), key=str)) for e in registry.entries.values())
    h = hashlib.blake2b(digest_size=20)
    h.update(VERSION.encode())
    h.update(settings.people.model_dump_json().encode())
    h.update(repr(entries).encode())
    h.update(repr(sorted(registry._index.items())).encode())
    return h.hexdigest()


def batch_digests(batch: Batch, salt_digest: str) -> dict[str, str]:
    """Digest per part of `batch`; a part not fetched (None) is left out."""
    ref = batch.cohort
    people = _records_digest(batch.people, salt_digest, repr(tuple(ref.__dict__.values())))
    out = {"people": people}
    if batch.enrolments is not None:
        out["enrolments"] = _records_digest(batch.enrolments, people)
    sessions = _records_digest(batch.sessions or [], people, str(batch.sessions is None))
    if batch.sessions is not None:
        out["sessions"] = sessions
    out["attendance"] = _records_digest(batch.attendance, people, sessions)
    out["defenses"] = _records_digest(batch.defenses, people, f"complete={batch.defenses_complete}")
    out[SALT_PART] = salt_digest
    return out


@dataclass
class Fingerprints:
    """The batch's digests against the stored ones: which parts can be skipped, and what to store."""

    source: str
    cohort_key: str
    new: dict[str, str]
    stored: dict[str, str]
    enabled: bool = True
    skipped: list[str] = field(default_factory=list)

    def unchanged(self, part: str) -> bool:
        """True when `part` was written from exactly these records before (and skipping is allowed)."""
        same = self.enabled and part in self.new and self.stored.get(part) == self.new[part]
        if same:
            self.skipped.append(part)
        return same

    def distrust(self) -> None:
        """Something outside the digests changed the rows (an override relinked people): write every part."""
        self.enabled = False
        self.skipped.clear()

    def save(self, session: Session) -> None:
        """Store the changed digests; call last, in the batch's transaction."""
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {"source": self.source, "cohort_key": self.cohort_key, "part": p, "digest": d, "written_at": now}
            for p, d in self.new.items()
            if self.stored.get(p) != d
        ]
        if rows:
            upsert(session, m.BatchFingerprint, rows, key=["source", "cohort_key", "part"])


def load(session: Session, batch: Batch, *, settings: Settings, registry: Registry, enabled: bool) -> Fingerprints:
    """The batch's digests and the stored ones of its cohort."""
    stored = {
        part: digest
        for part, digest in session.connection().execute(
            select(col(m.BatchFingerprint.part), col(m.BatchFingerprint.digest)).where(
                col(m.BatchFingerprint.source) == batch.source,
                col(m.BatchFingerprint.cohort_key) == batch.cohort.key,
            )
        )
    }
    return Fingerprints(
        source=batch.source,
        cohort_key=batch.cohort.key,
        new=batch_digests(batch, salt(settings, registry)),
        stored=stored,
        enabled=enabled,
    )


def stored_people_ids(session: Session, batch: Batch) -> tuple[dict[str, int], dict[str, int]] | None:
    """Account and participant ids of the batch's people as stored; None if any of them is not stored."""
    conn = session.connection()
    account_ids: dict[str, int] = {}
    participant_ids: dict[str, int] = {}
    ids = [p.external_id for p in batch.people]
    for chunk in chunked(ids):
        for ext, aid, pid in conn.execute(
            select(col(m.Account.external_id), col(m.Account.id), col(m.Account.participant_id)).where(
                col(m.Account.source) == batch.source, col(m.Account.external_id).in_(chunk)
            )
        ):
            assert aid is not None  # a primary key read back
            account_ids[ext] = aid
            participant_ids[ext] = pid
    if len(account_ids) != len(set(ids)):
        return None
    return account_ids, participant_ids
