"""`[moodle]`, `[[programs]]` and `[[cohorts]]`: where the records come from and how they are grouped."""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, model_validator

from intensive_tracker.config.base import Section
from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _

# Both languages of mod_attendance's default status set: the lab's site speaks Russian,
# the recordings come from an English one (PRODUCT.md).
DEFAULT_PRESENT_STATUSES = ["P", "L", "Present", "Late", "П", "О", "Присутствовал", "Опоздал"]  # not a message


class ProfileFields(Section):
    """Shortnames of the Moodle custom profile fields that hold each attribute."""

    district: str = "district"
    school: str = "school"
    position: str = "position"
    category: str = "role_in_program"


class MoodleSettings(Section):
    url: str | None = None
    token_env: str = "INTENSIVE_TRACKER_MOODLE_TOKEN"
    standin: Literal["demo"] | None = None
    standin_seed: int = 2024
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    call_deadline: float = Field(120.0, gt=0)  # a whole call (request and answer) at most this; then a timeout
    retries: int = Field(3, ge=0, le=10)
    backoff: float = Field(1.0, ge=0)
    max_in_flight: int = Field(2, ge=1, le=8)
    page_size: int = Field(200, ge=1, le=5000)
    present_statuses: list[str] = Field(default_factory=lambda: list(DEFAULT_PRESENT_STATUSES))
    student_role: str = "student"
    # Share of the last good sync's students that may vanish from a course at once; a bigger drop is
    # taken for a revoked capability and fails the cohort (issue 12). 1 switches the check off.
    roster_drop_limit: float = Field(0.5, ge=0, le=1)
    profile_fields: ProfileFields = ProfileFields()
    # Issue 17: a finished cohort (last session over N days past, defense unchanged for M days) costs one
    # incremental request a night; every cohort is fetched fully on the weekly day and by `sync --full`.
    finished_after_days: int = Field(45, ge=0)  # 0: never finished, every night fetches everything
    defense_quiet_days: int = Field(30, ge=0)
    full_refetch_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "sun"

    @model_validator(mode="before")
    @classmethod
    def _no_token_in_file(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("token" in data or "wstoken" in data):
            env = data.get("token_env", "INTENSIVE_TRACKER_MOODLE_TOKEN")
            raise ValueError(_("токена не должно быть в файле: задайте его в переменной окружения {env}", env=env))
        return data

    @model_validator(mode="after")
    def _url_or_standin(self) -> MoodleSettings:
        if not self.url and not self.standin:
            raise ValueError(_('задайте url (адрес Moodle) или standin = "demo"'))
        return self

    def token(self) -> str:
        """The web-service token, read from the environment variable the config names."""
        value = os.environ.get(self.token_env, "").strip()
        if not value:
            raise ConfigError(
                _(
                    "токен Moodle не задан: export {env}=<токен служебного пользователя> (см. {guide}, раздел 3)",
                    env=self.token_env,
                    guide="docs/администратору.md",  # a file name
                )
            )
        return value


class ProgramSettings(Section):
    key: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str
    full_title: str | None = None


class CohortSettings(Section):
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
