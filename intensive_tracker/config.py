"""Configuration: one TOML file parsed into typed models; secrets only from the environment."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intensive_tracker.errors import ConfigError

CONFIG_ENV = "INTENSIVE_TRACKER_CONFIG"
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
