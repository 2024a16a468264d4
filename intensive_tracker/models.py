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


# Tables whose rows are the synced data; a re-sync over unchanged sources must leave them identical.
DATA_TABLES = (
    District, Program, Cohort, Participant, Account, Enrolment, Session, Attendance, Defense, SyncCursor,
)


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
