"""The contract between sources and the sync engine: typed records in batches.

A batch is one cohort's worth of data (or one file's). The engine writes it in one transaction
together with its cursors, so a crash loses at most the batch in flight and no cursor ever runs
ahead of its data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, Protocol, Self

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PersonRecord(_Record):
    """A person as the source knows them; `external_id` is unique within the source."""

    external_id: str
    full_name: str = Field(min_length=1)
    email: str | None = None
    district_raw: str | None = None
    school: str | None = None
    position: str | None = None
    category: str | None = None
    suspended: bool = False


class EnrolmentRecord(_Record):
    external_id: str
    status: Literal["active", "suspended"] = "active"


class SessionRecord(_Record):
    source_key: str
    starts_at: datetime  # aware UTC
    duration_s: int = 0
    topic: str = ""
    speaker: str | None = None
    taken: bool = True


class AttendanceRecord(_Record):
    session_key: str
    external_id: str
    status: str
    status_label: str = ""
    present: bool

    @classmethod
    def trusted(cls, session_key: str, external_id: str, status: str, status_label: str, present: bool) -> Self:
        """A record from values already validated (a Moodle answer's schema), built without a second validation.

        Equal to `AttendanceRecord(...)` of the same values. Issue 17: at region scale a mark costs about
        2 µs through `model_construct` and 1 µs here, on 400,000 marks a night, in the fetch threads.
        """
        record = object.__new__(cls)
        _set(
            record,
            "__dict__",
            {
                "session_key": session_key,
                "external_id": external_id,
                "status": status,
                "status_label": status_label,
                "present": present,
            },
        )
        _set(record, "__pydantic_fields_set__", _MARK_FIELDS)
        _set(record, "__pydantic_extra__", None)
        _set(record, "__pydantic_private__", None)
        return record


_set = object.__setattr__
_MARK_FIELDS = frozenset(AttendanceRecord.model_fields)


class DefenseRecord(_Record):
    """`pending` from a submission never overrides a graded outcome already stored."""

    external_id: str
    outcome: Literal["passed", "failed", "pending"]
    grade: float | None = None
    grade_max: float | None = None  # the assignment's maximum points («8 из 10»); None for a scale or unknown
    graded_at: datetime | None = None
    attempt: int = 0


class SourceWarning(_Record):
    """A `warnings[]` entry of a successful Moodle answer, or a source's own notice."""

    source: str
    item: str = ""
    itemid: str = ""
    code: str = ""
    message: str


class Reject(_Record):
    """A row a source could not accept: where it was and why."""

    file: str
    row: int
    column: str = ""
    value: str = ""
    reason: str


class CohortRef(_Record):
    key: str
    program: str
    title: str | None = None
    course_id: int | None = None
    group_id: int | None = None
    school_year: str | None = None
    term: int | None = None


@dataclass
class Batch:
    """One cohort of one source, written atomically.

    `kind` picks the engine's writer: "cohort" (people, enrolments, sessions, marks, defenses) for
    any source of course data; a plugin yields plain `Batch`es and needs nothing else.

    `enrolments`/`sessions` set to None mean "not fetched this time": nothing is marked missing.
    `defenses_complete` is False for an incremental (`since`) pull.
    `not_participants`: external ids the source lists in the cohort with another role (a teacher): any
    marks and defense already stored for those accounts in this cohort are removed by the writer.
    """

    kind: ClassVar[str] = "cohort"

    source: str
    cohort: CohortRef
    people: list[PersonRecord] = field(default_factory=list)
    enrolments: list[EnrolmentRecord] | None = None
    sessions: list[SessionRecord] | None = None
    attendance: list[AttendanceRecord] = field(default_factory=list)
    defenses: list[DefenseRecord] = field(default_factory=list)
    defenses_complete: bool = True
    cursors: dict[str, str] = field(default_factory=dict)
    warnings: list[SourceWarning] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    not_participants: list[str] = field(default_factory=list)
    refresh: tuple[str, str] | None = None  # ("full" | "incremental", why); None when the source does not plan


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
    """One file of one form, written atomically with its rejects and its fingerprint (writer "form-file").

    `file_error` set means the whole file was refused: only the fingerprint and the error are written.
    `cohort_defined` says the form defines its cohort (written from the config) rather than joining a
    [[cohorts]] one (never overwritten by a form).
    """

    kind: ClassVar[str] = "form-file"

    form: str = ""
    form_kind: Literal["registration", "attendance", "defense", ""] = ""
    file_name: str = ""
    sha256: str = ""
    size: int = 0
    rows_read: int = 0
    rejects_unlisted: int = 0  # rejected rows past the form's max_rejects: counted, their reasons not kept
    registrations: list[RegistrationRecord] = field(default_factory=list)
    entries: list[EntryRef] = field(default_factory=list)
    file_error: str | None = None
    cohort_defined: bool = True


@dataclass(frozen=True)
class BatchFailure:
    """A cohort the source could not read; the others still sync."""

    source: str
    cohort_key: str
    error: Exception


@dataclass
class CohortSkipped:
    """A finished cohort whose incremental look found nothing new (issue 17): nothing to write."""

    source: str
    cohort_key: str
    reason: str
    mode: str = "skipped"  # "incremental" when a request was made and found nothing new


ANSWERS_CURSOR = "answers:"


def answers_cursor_key(cohort_key: str) -> str:
    """The cursor holding the digest of the answers a cohort's batch was read from (and the warnings it gave).

    The engine withholds these cursors from the connector when the batch would be written differently from
    the same answers (the writer's own inputs changed: people overrides, district registry) and on `sync
    --full`: the source then reads and yields the cohort in full (issue 17).
    """
    return ANSWERS_CURSOR + cohort_key


@dataclass
class CohortUnchanged:
    """A cohort read in full whose answers are, byte for byte, those of the batch last written (issue 17).

    Nothing to compare or write. `warnings` are those that batch gave: said again, so that every run lists
    them, as it did when the batch was written. `mode` and `reason` say how it was refreshed, as a batch's
    `refresh` does.
    """

    source: str
    cohort_key: str
    reason: str
    mode: str = "full"
    warnings: list[SourceWarning] = field(default_factory=list)


class Connector(Protocol):
    """A source plugin, registered under the entry-point group ``intensive_tracker.connectors``.

    `from_settings` builds it from the config (None when the config does not use it), entering
    whatever it must keep open into `stack`; `order` says which sources sync first (lower first).
    """

    name: str
    order: ClassVar[int]

    @classmethod
    def from_settings(cls, settings: Any, stack: ExitStack) -> Connector | None:
        """The configured connector, or None."""
        ...

    def batches(self, cursors: Mapping[str, str]) -> Iterator[Batch | BatchFailure | CohortSkipped | CohortUnchanged]:
        """Yield one batch per cohort; a failed cohort yields a BatchFailure instead of raising."""
        ...
