"""Участники-итоги as frozen dataclasses: what `roster.rosters` returns (columns, marks, rows, rosters)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from intensive_tracker.i18n import N_, _, language
from intensive_tracker.periods import ru_date

OUTCOME_LABELS = {
    "passed": N_("защита пройдена"),
    "failed": N_("защита не пройдена"),
    "pending": N_("ожидает оценки"),
    None: N_("не защищал(а)"),
}
NOT_HELD = "—"  # the person's cohort did not have this session
FORM_SIGN_IN = "+"
DELETED_NOTE = N_("удалено в Moodle")


def decimal(value: float) -> str:
    """8.5 → «8,5» in Russian, «8.5» in English (a grade as Moodle shows it)."""
    text = f"{value:g}"
    return text.replace(".", ",") if language() == "ru" else text


@dataclass(frozen=True)
class SessionColumn:
    """One session of the period as a matrix column."""

    key: str  # "course:<id>:<source key>" for a Moodle session, else "session:<id>"
    starts_at: datetime  # lab time zone
    topic: str
    cohorts: tuple[str, ...]  # the cohort keys that had it
    deleted: bool  # Moodle no longer lists it; kept by history

    @property
    def day(self) -> date:
        return self.starts_at.date()

    @property
    def header(self) -> str:
        return ru_date(self.day)

    @property
    def header_day(self) -> str:
        """«20.09.»: the header's first line where columns are narrow (the e-mail)."""
        return self.header[:6]

    @property
    def header_year(self) -> str:
        return self.header[6:]

    @property
    def note(self) -> str:
        return _(DELETED_NOTE) if self.deleted else ""


@dataclass(frozen=True)
class Mark:
    """A person's cell in one column."""

    text: str  # status acronym, «+», "" (not marked) or «—» (not their session)
    present: bool = False
    label: str = ""  # the status's description in Moodle

    @property
    def held(self) -> bool:
        return self.text != NOT_HELD


@dataclass(frozen=True)
class RosterRow:
    participant_id: int
    full_name: str
    school: str
    category: str
    sessions_attended: int
    defense: str | None  # passed | failed | pending | None
    marks: tuple[Mark, ...] = ()  # aligned with the roster's columns
    attended_days: tuple[date, ...] = ()  # dates of the present marks, in order
    cohorts: tuple[str, ...] = ()  # the person's cohorts of this program and period
    defense_date: date | None = None  # grading date, lab time zone
    defense_grade: float | None = None
    defense_grade_max: float | None = None  # the assignment's maximum points, when Moodle gives them
    district_raw: str | None = None

    @property
    def defense_label(self) -> str:
        return _(OUTCOME_LABELS[self.defense])

    @property
    def defense_date_text(self) -> str:
        return ru_date(self.defense_date) if self.defense_date else ""

    @property
    def defense_grade_text(self) -> str:
        """The grade as Moodle shows it: «8 из 10» with the maximum known, else «8»."""
        if self.defense_grade is None:
            return ""
        grade = decimal(self.defense_grade)
        if self.defense_grade_max is None:
            return grade
        return _("{grade} из {max}", grade=grade, max=decimal(self.defense_grade_max))

    @property
    def defense_text(self) -> str:
        """«защита пройдена 20.12.23, оценка 8»."""
        parts = [self.defense_label + (f" {self.defense_date_text}" if self.defense_date else "")]
        if self.defense_grade is not None:
            parts.append(_("оценка {grade}", grade=self.defense_grade_text))
        return ", ".join(parts)

    @property
    def attended_text(self) -> str:
        return ", ".join(ru_date(d) for d in self.attended_days)


@dataclass(frozen=True)
class Roster:
    district: str
    program_key: str
    school_year: str
    rows: list[RosterRow]
    columns: tuple[SessionColumn, ...] = ()
    has_defense: bool = True  # the program has a defense at all (records of any year)

    @property
    def attendances(self) -> int:
        return sum(r.sessions_attended for r in self.rows)

    @property
    def defenses_passed(self) -> int:
        return sum(1 for r in self.rows if r.defense == "passed")
