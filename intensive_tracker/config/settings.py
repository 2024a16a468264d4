"""The whole config file as one model: every section, and the references between them."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator, model_validator

from intensive_tracker.config.base import Section
from intensive_tracker.config.forms import FormSettings, unique_form_names
from intensive_tracker.config.mail import MailSettings
from intensive_tracker.config.moodle import CohortSettings, MoodleSettings, ProgramSettings
from intensive_tracker.config.people import DistrictSettings, PeopleSettings
from intensive_tracker.config.schedule import ScheduleSettings
from intensive_tracker.i18n import _


class ReportSettings(Section):
    out_dir: str = "out/report"
    school_year: str | None = Field(None, pattern=r"^\d{4}/\d{2}$")
    annual_docx: bool = True  # `report` also writes annual-report.docx (the analytic report's draft)
    annual_template: str | None = None  # her Word document (.docx) the draft starts from; relative to the config
    # The language of pages, e-mails, spreadsheets and Word documents (`--lang` overrides it for one command).
    language: Literal["ru", "en"] = "ru"


class FilesSettings(Section):
    # Files holding personal data are 0600 in 0700 folders; a group (e.g. the web server's) makes them 0640/0750.
    group: str | None = Field(None, min_length=1)


class QualitySettings(Section):
    stale_defense_days: int = Field(30, ge=1)


class Settings(Section):
    database_url: str = "sqlite:///intensive_tracker.db"
    timezone: str = "Europe/Moscow"
    moodle: MoodleSettings | None = None
    programs: list[ProgramSettings] = Field(default_factory=list)
    cohorts: list[CohortSettings] = Field(default_factory=list)
    report: ReportSettings = ReportSettings()
    districts: DistrictSettings = DistrictSettings()
    people: PeopleSettings = PeopleSettings()
    quality: QualitySettings = QualitySettings()
    files: FilesSettings = FilesSettings()

    mail: MailSettings | None = None

    forms: Annotated[list[FormSettings], AfterValidator(unique_form_names)] = Field(default_factory=list)

    schedule: ScheduleSettings = ScheduleSettings()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(_("неизвестный часовой пояс {zone!r} (например, Europe/Moscow)", zone=value)) from None
        return value

    @model_validator(mode="after")
    def _references(self) -> Settings:
        keys = [p.key for p in self.programs]
        if len(set(keys)) != len(keys):
            raise ValueError(_("programs: ключ (key) каждой программы должен быть уникальным"))
        cohort_keys = [c.key for c in self.cohorts]
        if len(set(cohort_keys)) != len(cohort_keys):
            raise ValueError(_("cohorts: ключ (key) каждой когорты должен быть уникальным"))
        for cohort in self.cohorts:
            if cohort.program not in keys:
                raise ValueError(
                    _(
                        "когорта {cohort!r}: программы {program!r} нет среди programs ({keys})",
                        cohort=cohort.key,
                        program=cohort.program,
                        keys=", ".join(keys),
                    )
                )
        if self.cohorts and self.moodle is None:
            raise ValueError(_("для cohorts нужен раздел [moodle]"))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
