"""SQLModel tables: the single source of truth every report and email is computed from.

Natural keys carry unique constraints so that a re-sync updates rows in place and never doubles them.
Datetimes are stored as aware UTC (timestamptz on PostgreSQL); `periods` converts them to Europe/Moscow for display.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class District(SQLModel, table=True):
    """A municipal district (городской округ) or a non-territorial group, from the registry."""

    __tablename__ = "district"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    kind: str = "territorial"  # territorial | group
    merged_into: str | None = None
    merged_on: date | None = None


class Program(SQLModel, table=True):
    __tablename__ = "program"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    title: str
    full_title: str | None = None


class Cohort(SQLModel, table=True):
    """One launch of a program: a Moodle course or a group in one, with its half-year."""

    __tablename__ = "cohort"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    source: str = "moodle"
    title: str | None = None
    course_id: int | None = None
    group_id: int | None = None
    school_year: str | None = None  # "2023/24"
    term: int | None = None  # полугодие учебного года: 1 (Sep–Dec) or 2 (Jan–Aug)


class Participant(SQLModel, table=True):
    """One person, whatever number of Moodle accounts and form rows they come from."""

    __tablename__ = "participant"
    id: int | None = Field(default=None, primary_key=True)
    email_key: str | None = Field(default=None, unique=True, index=True)
    full_name: str
    name_key: str = Field(index=True)
    district_raw: str | None = None
    district_id: int | None = Field(default=None, foreign_key="district.id", index=True)
    school: str | None = None
    position: str | None = None
    category: str | None = None


class Account(SQLModel, table=True):
    """A person as one source knows them: a Moodle user id, a form respondent."""

    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("source", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    external_id: str
    participant_id: int = Field(foreign_key="participant.id", index=True)
    link_reason: str = "new"
    full_name: str
    email: str | None = None
    district_raw: str | None = None
    school: str | None = None
    position: str | None = None
    category: str | None = None
    suspended: bool = False


class Enrolment(SQLModel, table=True):
    """An account in a cohort; kept (and marked) when Moodle stops listing it."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("cohort_id", "account_id"),)
    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    status: str = "active"  # active | suspended
    missing_since: datetime | None = None


class Session(SQLModel, table=True):
    """One занятие of a cohort."""

    __tablename__ = "session"
    __table_args__ = (UniqueConstraint("cohort_id", "source_key"),)
    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    source_key: str
    starts_at: datetime
    duration_s: int = 0
    topic: str = ""
    speaker: str | None = None
    taken: bool = False
    missing_since: datetime | None = None


class Attendance(SQLModel, table=True):
    """A participant's mark in a session; `present` says whether it counts as attended."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="session.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    status: str
    status_label: str = ""
    present: bool


class Defense(SQLModel, table=True):
    """The final defense of a participant in a cohort: passed, failed or pending."""

    __tablename__ = "defense"
    __table_args__ = (UniqueConstraint("cohort_id", "participant_id"),)
    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    account_id: int = Field(foreign_key="account.id")
    outcome: str  # passed | failed | pending
    grade: float | None = None
    grade_max: float | None = None  # the assignment's maximum points, for «8 из 10»
    graded_at: datetime | None = None
    attempt: int = 0


class SyncCursor(SQLModel, table=True):
    """Where an incremental source left off; written in the same transaction as its data."""

    __tablename__ = "sync_cursor"
    __table_args__ = (UniqueConstraint("source", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    key: str
    value: str


class SyncRun(SQLModel, table=True):
    """What one sync did: when, how it ended, counts per entity, warnings and errors."""

    __tablename__ = "sync_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"  # running | ok | problems | failed | interrupted
    trigger: str = "manual"
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    warnings: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    errors: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class BatchFingerprint(SQLModel, table=True):
    """The digest of one part (people, enrolments, …) of a cohort's batch as last written; same transaction as the data."""

    __tablename__ = "batch_fingerprint"
    __table_args__ = (UniqueConstraint("source", "cohort_key", "part"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    cohort_key: str
    part: str
    digest: str
    written_at: datetime


# Tables whose rows are the synced data; a re-sync over unchanged sources must leave them identical.
DATA_TABLES: tuple[type[SQLModel], ...] = (
    District,
    Program,
    Cohort,
    Participant,
    Account,
    Enrolment,
    Session,
    Attendance,
    Defense,
    SyncCursor,
)


class Outbox(SQLModel, table=True):
    """One district email of a program and period: the send-once ledger (RELIABILITY.md §2).

    state: pending → sending (committed before DATA) → sent | failed_temporary | failed_permanent
    | uncertain. Holds no personal data beyond the recipients' addresses: the rows are rebuilt
    from the database whenever the message is (re)built, only their count and hash are kept.
    """

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("district", "program_key", "period", "kind"),)
    id: int | None = Field(default=None, primary_key=True)
    district: str
    program_key: str
    period: str
    kind: str = "participants-results"
    message_id: str
    recipients: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    subject: str
    row_count: int = 0
    content_hash: str
    state: str = Field(default="pending", index=True)
    attempts: int = 0
    last_error: str | None = None
    refused: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None


# --- form exports (connectors/forms) -------------------------------------------------------------


class Registration(SQLModel, table=True):
    """A person registered for a cohort through a form: the first step of registered → attended → defended."""

    __tablename__ = "registration"
    __table_args__ = (UniqueConstraint("cohort_id", "account_id"),)
    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohort.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    form: str
    registered_at: datetime | None = None
    missing_since: datetime | None = None  # the row left the corrected file


class FormEntry(SQLModel, table=True):
    """One row of a form file as last imported: which record it feeds; marked when a corrected file drops it."""

    __tablename__ = "form_entry"
    __table_args__ = (UniqueConstraint("form", "file_name", "row_key"),)
    id: int | None = Field(default=None, primary_key=True)
    form: str = Field(index=True)
    file_name: str
    row_key: str
    row: int
    kind: str  # registration | attendance | defense
    account_id: int = Field(foreign_key="account.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    cohort_id: int = Field(foreign_key="cohort.id")
    session_id: int | None = Field(default=None, foreign_key="session.id")
    missing_since: datetime | None = None


class ImportedFile(SQLModel, table=True):
    """One version (by SHA-256) of a form file: what was read, imported and rejected, and when."""

    __tablename__ = "imported_file"
    __table_args__ = (UniqueConstraint("form", "file_name", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    form: str = Field(index=True)
    file_name: str
    sha256: str
    size: int
    status: str  # imported | rejected
    message: str | None = None
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    imported_at: datetime
    superseded_at: datetime | None = None  # a later version of the same file name was imported


class FormReject(SQLModel, table=True):
    """A row (or, with row 0, a whole file) of a form export that was not imported, and why."""

    __tablename__ = "form_reject"
    __table_args__ = (UniqueConstraint("form", "file_name", "sha256", "row", "column"),)
    id: int | None = Field(default=None, primary_key=True)
    form: str = Field(index=True)
    file_name: str
    sha256: str
    row: int
    column: str = ""
    value: str = ""
    reason: str


DATA_TABLES = DATA_TABLES + (Registration, FormEntry, ImportedFile, FormReject)


class JobRun(SQLModel, table=True):
    """The daemon's ledger: one row per scheduled job and night, so a night runs once across processes.

    `logical_date` is the fire time the run stands for (the night), not when it started: a missed
    night run on the next start still counts as that night (RELIABILITY.md §0.3, F10, F11).
    """

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "logical_date"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str
    logical_date: datetime
    status: str = "running"  # running | ok | problems | failed | interrupted
    pid: int | None = None
    host: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    sync_run_id: int | None = None
    message: str = ""
