"""The figures of the methodist's report as frozen dataclasses: what `figures.build_summary` returns.

Templates, exports and summary.json only lay these out; the definitions of each figure are in `figures`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class SessionRow:
    number: int
    starts_at: datetime  # local time
    topic: str
    speaker: str | None
    present: int
    taken: bool
    cohort: str

    @property
    def day(self) -> date:
        return self.starts_at.date()


@dataclass(frozen=True)
class DistrictRow:
    district: str
    participants: int
    attendances: int
    defenses_passed: int

    @property
    def defended_share(self) -> float:
        """Share of the district's participants of the period who passed the defense (0…1)."""
        return self.defenses_passed / self.participants if self.participants else 0.0


@dataclass(frozen=True)
class OutcomeCounts:
    """Defenses of a period by outcome; `pending` = submitted, not graded yet."""

    passed: int = 0
    failed: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.pending


class _HasSessions:
    """Held and planned sessions of a launch or a year (both keep `sessions`)."""

    sessions: list[SessionRow]

    @property
    def held(self) -> list[SessionRow]:
        return [s for s in self.sessions if s.taken]

    @property
    def planned(self) -> list[SessionRow]:
        """Sessions not taken yet: shown as such, never as zero participants."""
        return [s for s in self.sessions if not s.taken]


@dataclass(frozen=True)
class LaunchSummary(_HasSessions):
    """One launch (cohort) of a program within a school year: its sessions and results."""

    cohort: str
    title: str | None
    term: int | None  # полугодие учебного года
    sessions: list[SessionRow]
    attendances: int
    unique_participants: int
    visits: dict[int, int]  # number of sessions attended → people
    outcomes: OutcomeCounts


@dataclass(frozen=True)
class YearSummary(_HasSessions):
    school_year: str
    sessions: list[SessionRow]
    attendances: int
    unique_participants: int
    defenses_passed: int
    districts: list[DistrictRow]
    districts_reached: list[str]
    districts_not_reached: list[str]
    districts_with_defenses: int
    launches: list[LaunchSummary] = field(default_factory=list)
    visits: dict[int, int] = field(default_factory=dict)  # number of sessions attended → people
    outcomes: OutcomeCounts = OutcomeCounts()
    registered: int | None = None  # people registered through forms; None when no form data exists

    @property
    def sessions_held(self) -> int:
        return len(self.held)


@dataclass(frozen=True)
class DefenseCounts:
    by_calendar_year: dict[str, int]
    by_half_year: dict[str, int]
    by_school_year: dict[str, int]


@dataclass(frozen=True)
class ProgramSummary:
    key: str
    title: str
    full_title: str | None
    school_year: str | None
    current: YearSummary | None
    years: list[YearSummary]
    defenses_passed: DefenseCounts
    outcomes_by_calendar_year: dict[str, OutcomeCounts] = field(default_factory=dict)
    outcomes_by_half_year: dict[str, OutcomeCounts] = field(default_factory=dict)
    outcomes_by_school_year: dict[str, OutcomeCounts] = field(default_factory=dict)
    participation_terms: list[tuple[str, int]] = field(default_factory=list)
    # The program has a defense (configured, or any recorded): without one no defense figure is shown.
    has_defense: bool = True

    def year(self, school_year: str) -> YearSummary | None:
        return next((y for y in self.years if y.school_year == school_year), None)


@dataclass(frozen=True)
class Summary:
    generated_at: datetime
    timezone: str
    programs: list[ProgramSummary] = field(default_factory=list)
    last_sync: datetime | None = None
    last_sync_status: str | None = None
    last_success: datetime | None = None
    freshness_warnings: list[str] = field(default_factory=list)
