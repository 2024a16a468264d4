"""Configuration: one TOML file parsed into typed models; secrets only from the environment."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intensive_tracker.errors import ConfigError

CONFIG_ENV = "INTENSIVE_TRACKER_CONFIG"

# Deliberately strict: one address, no display name, no spaces or line breaks (header injection).
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
DEFAULT_CONFIG = Path("config.toml")

# Both languages of mod_attendance's default status set: the lab's site speaks Russian,
# the recordings come from an English one (PRODUCT.md).
DEFAULT_PRESENT_STATUSES = ["P", "L", "Present", "Late", "П", "О", "Присутствовал", "Опоздал"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileFields(_Section):
    """Shortnames of the Moodle custom profile fields that hold each attribute."""

    district: str = "district"
    school: str = "school"
    position: str = "position"
    category: str = "role_in_program"


class MoodleSettings(_Section):
    url: str | None = None
    token_env: str = "INTENSIVE_TRACKER_MOODLE_TOKEN"
    standin: Literal["demo"] | None = None
    standin_seed: int = 2024
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    backoff: float = Field(1.0, ge=0)
    max_in_flight: int = Field(2, ge=1, le=8)
    page_size: int = Field(200, ge=1, le=5000)
    present_statuses: list[str] = Field(default_factory=lambda: list(DEFAULT_PRESENT_STATUSES))
    student_role: str = "student"
    profile_fields: ProfileFields = ProfileFields()

    @model_validator(mode="before")
    @classmethod
    def _no_token_in_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("token" in data or "wstoken" in data):
            env = data.get("token_env", "INTENSIVE_TRACKER_MOODLE_TOKEN")
            raise ValueError(f"the token must not be in the file: put it in the environment variable {env}")
        return data

    @model_validator(mode="after")
    def _url_or_standin(self) -> "MoodleSettings":
        if not self.url and not self.standin:
            raise ValueError("set url (the Moodle site) or standin = \"demo\"")
        return self

    def token(self) -> str:
        """The web-service token, read from the environment variable the config names."""
        value = os.environ.get(self.token_env, "").strip()
        if not value:
            raise ConfigError(
                f"the Moodle token is not set: export {self.token_env}=<token of the service user> "
                f"(see README, «Подключение к Moodle»)"
            )
        return value


class ProgramSettings(_Section):
    key: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str
    full_title: str | None = None


class CohortSettings(_Section):
    """One launch of a program: a Moodle course, or one group in it."""

    key: str = Field(min_length=1)
    program: str
    course: int | str = Field(description="course id, shortname or idnumber")
    group: str | None = None
    attendance: list[int | str] | None = None
    defense: int | str | None = None
    pass_grade: float | None = None
    pass_scale_items: list[str] = Field(default_factory=list)
    speakers: dict[str, str] = Field(default_factory=dict)


class ReportSettings(_Section):
    out_dir: str = "out/report"
    school_year: str | None = Field(None, pattern=r"^\d{4}/\d{2}$")
    annual_docx: bool = True  # `report` also writes annual-report.docx (the analytic report's draft)
    annual_template: str | None = None  # her Word document (.docx) the draft starts from; relative to the config


class DistrictExtra(_Section):
    """A district or group the shipped registry lacks, or a correction of a shipped one."""

    name: str = Field(min_length=1)
    kind: Literal["territorial", "group"] | None = None
    aliases: list[str] = Field(default_factory=list)
    merged_into: str | None = None
    merged_on: date | None = None
    full_name: str | None = None


class DistrictSettings(_Section):
    """`[districts]`: aliases and districts added to the shipped registry, and each district's recipients."""

    aliases: dict[str, str] = Field(default_factory=dict, description="spelling = canonical name")
    extra: list[DistrictExtra] = Field(default_factory=list)
    recipients: dict[str, list[str]] = Field(default_factory=dict, description="canonical name = [emails]")

    @field_validator("recipients")
    @classmethod
    def _emails(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for district, emails in value.items():
            bad = [e for e in emails if not _EMAIL.fullmatch(e)]
            if bad or not emails:
                raise ValueError(f"«{district}»: give a list of e-mail addresses (not valid: {', '.join(bad) or 'empty list'})")
        return value

    @model_validator(mode="after")
    def _against_registry(self) -> "DistrictSettings":
        # Checked at load, so a typo in a district name fails the command before any work.
        from intensive_tracker.districts import check_recipients, registry_from_section

        try:
            registry = registry_from_section(self)
            check_recipients(self.recipients, registry)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        return self


class JoinOverride(_Section):
    """These accounts are one person: `accounts` as "source:external id", `emails` match account e-mails."""

    accounts: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    note: str = ""

    @model_validator(mode="after")
    def _two_or_more(self) -> "JoinOverride":
        if len(self.accounts) + len(self.emails) < 2:
            raise ValueError("a join names at least two accounts or e-mails")
        if any(":" not in a for a in self.accounts):
            raise ValueError("accounts are written \"source:external id\", e.g. \"moodle:1203\"")
        return self


class SplitOverride(_Section):
    """This account is a person of its own, whatever e-mail it shares."""

    account: str = Field(pattern=r"^[^:]+:.+$", description='"source:external id", e.g. "moodle:1203"')
    note: str = ""


class PeopleSettings(_Section):
    """`[people]`: manual join/split of the automatic one-person-one-record linking."""

    join: list[JoinOverride] = Field(default_factory=list)
    split: list[SplitOverride] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_contradiction(self) -> "PeopleSettings":
        joined = {a for j in self.join for a in j.accounts}
        both = sorted(joined & {s.account for s in self.split})
        if both:
            raise ValueError(f"{', '.join(both)}: an account cannot be both joined and split")
        return self


class QualitySettings(_Section):
    stale_defense_days: int = Field(30, ge=1)

class MailSettings(_Section):
    """[mail]: the SMTP server, the sender, and who receives each district's «участники-итоги»."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = Field(None, ge=1, le=65535)  # default: 587 starttls, 465 ssl, 25 none
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str = "INTENSIVE_TRACKER_SMTP_PASSWORD"
    timeout: float = Field(30.0, gt=0)
    from_address: str = Field(min_length=3)
    lab_address: str | None = None
    copy_to_lab: bool = True
    reply_to: str | None = None
    rate_per_minute: float = Field(20.0, gt=0)
    program: str | None = None
    period: str | None = Field(None, pattern=r"^\d{4}/\d{2}$")
    preview_dir: str = "out/mail-preview"

    @model_validator(mode="before")
    @classmethod
    def _no_password_in_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and "recipients" in data:
            raise ValueError("district recipients are configured in one place: move them to [districts.recipients]")
        if isinstance(data, dict) and "password" in data:
            env = data.get("password_env", "INTENSIVE_TRACKER_SMTP_PASSWORD")
            raise ValueError(f"the SMTP password must not be in the file: put it in the environment variable {env}")
        return data

    @model_validator(mode="after")
    def _addresses(self) -> "MailSettings":
        for where, value in [("from_address", self.from_address), ("lab_address", self.lab_address),
                             ("reply_to", self.reply_to)]:
            if value is not None and not _EMAIL.fullmatch(value):
                raise ValueError(f"{where}: {value!r} is not an email address (name@domain)")
        if self.username and self.security == "none":
            raise ValueError("security = \"none\" would send the SMTP password in clear text: use starttls or ssl")
        return self

    @property
    def port(self) -> int:
        return self.smtp_port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]

    def password(self) -> str | None:
        """The SMTP password from the environment variable the config names (None without a username)."""
        if not self.username:
            return None
        value = os.environ.get(self.password_env, "")
        if not value:
            raise ConfigError(f"mail.username is set but the password is not: export {self.password_env}=<password>")
        return value


# Fields a form's column can map to (`columns = { full_name = "ФИО", ... }`).
FormField = Literal[
    "full_name", "last_name", "first_name", "middle_name", "email", "district", "school", "position",
    "category", "timestamp", "grade", "outcome",
]
DEFAULT_PASSING = ["зачтено", "зачёт", "зачет", "защищена", "защитил", "защитила", "пройдена", "да", "passed"]
DEFAULT_FAILING = ["не зачтено", "незачёт", "незачет", "не защищена", "не защитил", "не защитила",
                   "не пройдена", "нет", "failed"]


class FormSettings(_Section):
    """One form export (`[[forms]]`): where its files are, what its rows are, which header holds each field."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["registration", "attendance", "defense"]
    files: str | list[str] | None = None
    inbox: str | None = None
    cohort: str = Field(min_length=1)
    program: str | None = None
    cohort_title: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    delimiter: Literal[",", ";", "\t"] | None = None
    max_size_mb: float = Field(20.0, gt=0)
    columns: dict[FormField, str | list[str]]
    session_date: date | None = None
    session_time: time = time(0, 0)
    session_topic: str = ""
    session_speaker: str | None = None
    defense_date: date | None = None
    pass_grade: float | None = None
    passing: list[str] = Field(default_factory=lambda: list(DEFAULT_PASSING))
    failing: list[str] = Field(default_factory=lambda: list(DEFAULT_FAILING))

    @model_validator(mode="after")
    def _consistent(self) -> "FormSettings":
        if (self.files is None) == (self.inbox is None):
            raise ValueError(f"form {self.name!r}: set either files (a path or glob) or inbox (a folder)")
        cols = self.columns
        if "full_name" not in cols and not ("last_name" in cols and "first_name" in cols):
            raise ValueError(f"form {self.name!r}: columns must map full_name, or last_name and first_name")
        if self.kind == "attendance" and self.session_date is None and "timestamp" not in cols:
            raise ValueError(f"form {self.name!r}: an attendance form needs session_date or a timestamp column")
        if self.kind == "defense":
            if "grade" not in cols and "outcome" not in cols:
                raise ValueError(f"form {self.name!r}: a defense form needs a grade or an outcome column")
            if self.defense_date is None and "timestamp" not in cols:
                raise ValueError(f"form {self.name!r}: a defense form needs defense_date or a timestamp column")
        return self

    def anchored(self, base_dir: Path) -> "FormSettings":
        """Relative files/inbox paths taken from the config file's folder."""
        def anchor(value: str) -> str:
            return value if Path(value).is_absolute() else str(base_dir / value)

        files = self.files
        if files is not None:
            files = anchor(files) if isinstance(files, str) else [anchor(f) for f in files]
        inbox = anchor(self.inbox) if self.inbox is not None else None
        return self.model_copy(update={"files": files, "inbox": inbox})


def _unique_form_names(forms: list[FormSettings]) -> list[FormSettings]:
    names = [f.name for f in forms]
    if len(set(names)) != len(names):
        raise ValueError("each form name must be unique")
    return forms


class ScheduleSettings(_Section):
    """When the daemon runs its jobs: crontab lines (minute hour day month weekday) in `timezone`."""

    timezone: str | None = None  # default: the top-level timezone
    sync: str = "30 2 * * *"  # sync + report every night at 02:30
    emails: str = ""  # district emails, e.g. "0 9 1 * *" (9:00 on the 1st); empty = off
    misfire_grace_hours: float = Field(6, gt=0, le=72)

    @field_validator("sync", "emails")
    @classmethod
    def _crontab(cls, value: str) -> str:
        if value.strip():
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(value, timezone="UTC")
            except ValueError as e:
                raise ValueError(f"{value!r} is not a crontab line (minute hour day month weekday): {e}") from None
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r} (for example Europe/Moscow)") from None
        return value


class Settings(_Section):
    database_url: str = "sqlite:///intensive_tracker.db"
    timezone: str = "Europe/Moscow"
    moodle: MoodleSettings | None = None
    programs: list[ProgramSettings] = Field(default_factory=list)
    cohorts: list[CohortSettings] = Field(default_factory=list)
    report: ReportSettings = ReportSettings()
    districts: DistrictSettings = DistrictSettings()
    people: PeopleSettings = PeopleSettings()
    quality: QualitySettings = QualitySettings()

    mail: MailSettings | None = None

    forms: Annotated[list[FormSettings], AfterValidator(_unique_form_names)] = Field(default_factory=list)

    schedule: ScheduleSettings = ScheduleSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (for example Europe/Moscow)") from None
        return value

    @model_validator(mode="after")
    def _references(self) -> "Settings":
        keys = [p.key for p in self.programs]
        if len(set(keys)) != len(keys):
            raise ValueError("programs: each key must be unique")
        cohort_keys = [c.key for c in self.cohorts]
        if len(set(cohort_keys)) != len(cohort_keys):
            raise ValueError("cohorts: each key must be unique")
        for cohort in self.cohorts:
            if cohort.program not in keys:
                raise ValueError(f"cohort {cohort.key!r}: program {cohort.program!r} is not among programs ({', '.join(keys)})")
        if self.cohorts and self.moodle is None:
            raise ValueError("cohorts need a [moodle] section")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"key {where}: {message}")
    return "; ".join(lines)


def resolve_config_path(path: Path | None) -> Path:
    """The --config option, else $INTENSIVE_TRACKER_CONFIG, else ./config.toml."""
    if path is not None:
        return path
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG


def parse_settings(data: dict[str, Any], *, source: str, base_dir: Path | None = None) -> Settings:
    """Validate a parsed TOML mapping; a relative SQLite path is taken from the config's folder."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: {_describe(e)}") from None
    if base_dir is not None:
        settings = settings.model_copy(update={"database_url": _anchor_sqlite(settings.database_url, base_dir)})
        if settings.forms:
            settings = settings.model_copy(update={"forms": [f.anchored(base_dir) for f in settings.forms]})
    return settings


def load_settings(path: Path) -> Settings:
    """Read and validate the config file at `path`."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file (copy config.example.toml, or run `intensive-tracker demo` for a ready one)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return parse_settings(data, source=str(path), base_dir=path.resolve().parent)


def _anchor_sqlite(url: str, base_dir: Path) -> str:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite://":
        return url
    rest = url[len(prefix):]
    if not rest or rest.startswith("/") or rest.startswith(":memory:"):
        return url
    return prefix + str((base_dir / rest).resolve())
