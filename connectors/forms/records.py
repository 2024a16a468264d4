"""What one form file becomes: a `Batch` plus what the forms writer needs beyond the Moodle shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from connectors.base import Batch


class RegistrationRecord(BaseModel):
    """A person registered for the cohort (the first step of registered → attended → defended)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    external_id: str
    registered_at: datetime | None = None


class EntryRef(BaseModel):
    """One imported row: its identity within the file, where it was, and whose account it feeds.

    `row_key` is the normalized e-mail, else the normalized name with the district: a corrected file
    whose row keeps its key updates that row in place; a key that vanishes is marked removed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    row_key: str
    row: int
    external_id: str
    session_key: str | None = None


@dataclass
class FormBatch(Batch):
    """One file of one form, written atomically with its rejects and its fingerprint.

    `file_error` set means the whole file was refused: only the fingerprint and the error are written.
    `cohort_defined` says the form defines its cohort (written from the config) rather than joining a
    [[cohorts]] one (never overwritten by a form).
    """

    form: str = ""
    kind: Literal["registration", "attendance", "defense", ""] = ""
    file_name: str = ""
    sha256: str = ""
    size: int = 0
    rows_read: int = 0
    registrations: list[RegistrationRecord] = field(default_factory=list)
    entries: list[EntryRef] = field(default_factory=list)
    file_error: str | None = None
    cohort_defined: bool = True
