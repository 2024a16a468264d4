"""The report site's pages as data: one context dataclass per template, built from the Summary.

Sentences, shares and charts are made here, so the templates only lay out values and loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.engine import Engine

from intensive_tracker.i18n import _, ngettext, number
from intensive_tracker.people.districts import Registry
from intensive_tracker.reports.figure_types import ProgramSummary, Summary, YearSummary
from intensive_tracker.reports.paths import district_page, person_page, year_page
from intensive_tracker.reports.roster import rosters
from intensive_tracker.reports.roster_types import Roster
from intensive_tracker.site.charts import Bar, bar_chart, share

# (program key, school year) → district → roster
Rosters = Mapping[tuple[str, str], Mapping[str, Roster]]


def defended_sentence(year: YearSummary) -> str:
    """«В 2023/24 учебном году защиту успешно прошли 316 педагогов из 39 го.»"""
    return ngettext(
        "В {year} учебном году защиту успешно прошёл {n} педагог из {districts} го.",
        "В {year} учебном году защиту успешно прошли {n} педагогов из {districts} го.",
        year.defenses_passed,
        year=year.school_year,
        districts=number(year.districts_with_defenses),
    )


def absent_sentence(year: YearSummary) -> str:
    """«Не принимали участие педагоги из округов: …» (the registry's districts with nobody, alphabetical)."""
    if not year.districts_not_reached:
        return _("Педагоги всех городских округов приняли участие.")
    return _("Не принимали участие педагоги из округов: {districts}.", districts=", ".join(year.districts_not_reached))


def attendance_sentence(year: YearSummary) -> str:
    """«За 2023/24 учебный год — 1950 посещений занятий; их совершили 929 участников: …»"""
    return _(
        "За {year} учебный год — {attendances} занятий; их совершили {participants}: многие подключаются повторно.",
        year=year.school_year,
        # The counts as bare digits («1950 посещений»), as the lab's report writes them in this sentence.
        attendances=ngettext("{count} посещение", "{count} посещений", year.attendances, count=year.attendances),
        participants=ngettext(
            "{count} участник", "{count} участников", year.unique_participants, count=year.unique_participants
        ),
    )


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup


@dataclass(frozen=True)
class YearLink:
    school_year: str
    href: str
    year: YearSummary


@dataclass(frozen=True)
class ProgramCard:
    """A program on the index: its current school year at a glance and links to every year."""

    program: ProgramSummary
    current_href: str | None
    years: list[YearLink]


@dataclass(frozen=True)
class DistrictLink:
    name: str
    href: str


@dataclass(frozen=True)
class IndexPage:
    summary: Summary
    programs: list[ProgramCard]
    districts: list[DistrictLink]
    exports: list[tuple[str, str]]  # (href, label)


@dataclass(frozen=True)
class YearPage:
    summary: Summary
    program: ProgramSummary
    year: YearSummary
    years: list[YearLink]
    district_hrefs: dict[str, str]
    defended_sentence: str
    absent_sentence: str
    attendance_sentence: str
    charts: list[Chart]
    funnel: Chart


@dataclass(frozen=True)
class DistrictSection:
    program: ProgramSummary
    school_year: str
    year_href: str
    roster: Roster
    person_hrefs: Mapping[int, str]  # participant id → the person's card (lab's report folder only)


@dataclass(frozen=True)
class DistrictPage:
    summary: Summary
    district: str
    sections: list[DistrictSection]


def site_rosters(engine: Engine, registry: Registry, summary: Summary) -> dict[tuple[str, str], dict[str, Roster]]:
    """Every program × school year's district rosters: the same function the district emails use."""
    return {
        (p.key, y.school_year): rosters(engine, registry, program_key=p.key, school_year=y.school_year)
        for p in summary.programs
        for y in p.years
    }


def year_links(program: ProgramSummary) -> list[YearLink]:
    return [YearLink(y.school_year, year_page(program.key, y.school_year), y) for y in reversed(program.years)]


def index_page(summary: Summary, all_rosters: Rosters, exports: list[tuple[str, str]]) -> IndexPage:
    cards = [
        ProgramCard(p, year_page(p.key, p.current.school_year) if p.current else None, year_links(p))
        for p in summary.programs
    ]
    return IndexPage(summary, cards, district_links(all_rosters), exports)


def district_links(all_rosters: Rosters) -> list[DistrictLink]:
    names = sorted({d for by_district in all_rosters.values() for d in by_district})
    return [DistrictLink(d, district_page(d)) for d in names]


def charts(program: ProgramSummary, year: YearSummary) -> tuple[list[Chart], Chart]:
    """Dynamics across years (defenses, participants) and this year's funnel."""
    dynamics = []
    if program.has_defense and program.participation_terms:
        title = _("Прошли защиту методической разработки, по годам")
        dynamics.append(
            Chart(
                title,
                bar_chart(
                    title, [Bar(label, n) for label, n in program.participation_terms], chart_id="chart-defenses"
                ),
            )
        )
    title = _("Уникальные участники, по учебным годам")
    dynamics.append(
        Chart(
            title,
            bar_chart(
                title, [Bar(y.school_year, y.unique_participants) for y in program.years], chart_id="chart-participants"
            ),
        )
    )
    steps = []
    if year.registered is not None:
        steps.append((_("Зарегистрировались"), year.registered))
    steps.append((_("Посетили занятия"), year.unique_participants))
    if program.has_defense:
        steps.append((_("Прошли защиту"), year.defenses_passed))
    first = steps[0][1]
    title = _("Воронка {year}: {steps}", year=year.school_year, steps=" → ".join(label.lower() for label, _n in steps))
    funnel = Chart(
        title, bar_chart(title, [Bar(label, n, share(n, first)) for label, n in steps], chart_id="chart-funnel")
    )
    return dynamics, funnel


def year_page_context(summary: Summary, program: ProgramSummary, year: YearSummary, all_rosters: Rosters) -> YearPage:
    by_district = all_rosters.get((program.key, year.school_year), {})
    dynamics, funnel = charts(program, year)
    return YearPage(
        summary=summary,
        program=program,
        year=year,
        years=year_links(program),
        district_hrefs={d: district_page(d) for d in by_district},
        defended_sentence=defended_sentence(year),
        absent_sentence=absent_sentence(year),
        attendance_sentence=attendance_sentence(year),
        charts=dynamics,
        funnel=funnel,
    )


def district_pages(summary: Summary, all_rosters: Rosters, *, with_people: bool = False) -> list[DistrictPage]:
    """One page per district that had anyone in any program and year; newest year first.

    `with_people`: the person cards are written, so each name links to its card.
    """
    pages = []
    for link in district_links(all_rosters):
        sections = [
            DistrictSection(
                p,
                y.school_year,
                year_page(p.key, y.school_year),
                all_rosters[(p.key, y.school_year)][link.name],
                {
                    r.participant_id: person_page(r.participant_id)
                    for r in all_rosters[(p.key, y.school_year)][link.name].rows
                    if with_people
                },
            )
            for p in summary.programs
            for y in reversed(p.years)
            if link.name in all_rosters.get((p.key, y.school_year), {})
        ]
        pages.append(DistrictPage(summary, link.name, sections))
    return pages
