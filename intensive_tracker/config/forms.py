"""`[[forms]]`: form exports (registration, sign-in lists, defense protocols) and how their columns map."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from intensive_tracker.config.base import Section
from intensive_tracker.i18n import _

# Fields a form's column can map to (`columns = { full_name = "ФИО", ... }`).
FormField = Literal[
    "full_name",
    "last_name",
    "first_name",
    "middle_name",
    "email",
    "district",
    "school",
    "position",
    "category",
    "timestamp",
    "grade",
    "outcome",
]
# Answers a defense form holds (data to match, not messages): what counts as passed, what as failed.
DEFAULT_PASSING = [
    *("зачтено", "зачёт", "зачет", "защищена", "защитил", "защитила"),  # not a message
    *("пройдена", "да", "passed"),  # not a message
]
DEFAULT_FAILING = [
    *("не зачтено", "незачёт", "незачет", "не защищена", "не защитил", "не защитила"),  # not a message
    *("не пройдена", "нет", "failed"),  # not a message
]


class FormSettings(Section):
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
    max_rows: int = Field(100_000, ge=1)  # more non-empty rows refuse the file whole (issue 12: a 3,000,000-row bomb)
    max_rejects: int = Field(1_000, ge=1)  # rejected rows stored per file with their reasons; the rest are counted
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
    def _consistent(self) -> FormSettings:
        if (self.files is None) == (self.inbox is None):
            raise ValueError(_("задайте либо files (путь или шаблон), либо inbox (папку)"))
        cols = self.columns
        if "full_name" not in cols and not ("last_name" in cols and "first_name" in cols):
            raise ValueError(_("в columns нужен full_name или last_name и first_name"))
        if self.kind == "attendance" and self.session_date is None and "timestamp" not in cols:
            raise ValueError(_("форме посещаемости нужен session_date или столбец timestamp"))
        if self.kind == "defense":
            if "grade" not in cols and "outcome" not in cols:
                raise ValueError(_("форме защиты нужен столбец grade или outcome"))
            if self.defense_date is None and "timestamp" not in cols:
                raise ValueError(_("форме защиты нужен defense_date или столбец timestamp"))
        return self

    def anchored(self, base_dir: Path) -> FormSettings:
        """Relative files/inbox paths taken from the config file's folder."""

        def anchor(value: str) -> str:
            return value if Path(value).is_absolute() else str(base_dir / value)

        files = self.files
        if files is not None:
            files = anchor(files) if isinstance(files, str) else [anchor(f) for f in files]
        inbox = anchor(self.inbox) if self.inbox is not None else None
        return self.model_copy(update={"files": files, "inbox": inbox})


def unique_form_names(forms: list[FormSettings]) -> list[FormSettings]:
    names = [f.name for f in forms]
    if len(set(names)) != len(names):
        raise ValueError(_("имя каждой формы (name) должно быть уникальным"))
    return forms
