"""The annual analytic report (seed 002's structure) as an editable Word document, drafted from the records.

Every figure, date and name list comes from the Summary the site is built from (`reports.build_summary`)
and the site's own sentence functions; the prose the records cannot give (aims, events, conclusions) is
left to the methodist as «[Текст методиста: …]». Formatting lives in named Word styles, so she restyles
the whole document in one place; with her template (`--template`, `report.annual_template`) her styles,
first page, headers and footers are kept and the report is appended after her first page.
"""

from __future__ import annotations

import io
import itertools
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.shared import Cm, Emu

from intensive_tracker.errors import ConfigError
from intensive_tracker.files import write_bytes_atomic
from intensive_tracker.i18n import N_, _, ngettext, number
from intensive_tracker.periods import ru_date, school_year_start
from intensive_tracker.reports.figure_types import ProgramSummary, Summary, YearSummary
from intensive_tracker.reports.figures import participation_terms
from intensive_tracker.site.annual_chart import bar_chart_png
from intensive_tracker.site.annual_styles import (
    FIGURE,
    NOTE,
    TABLE_HEADING,
    TABLE_TEXT,
    default_document,
    ensure_styles,
    has_content,
    open_template,
)
from intensive_tracker.site.pages import absent_sentence
from intensive_tracker.text import district_label

FILE_NAME = "annual-report.docx"
TWIP = 635  # EMU
SESSION_HEADERS = [N_("№ п/п"), N_("Дата проведения"), N_("Тема"), N_("Количество участников")]
TERMS_HEADERS = [
    "",
    N_("Сроки участия в проекте"),
    N_("Количество педагогов, прошедших защиту методической разработки на заключительном этапе"),
]
DISTRICT_HEADERS = [N_("Городской округ"), N_("Участников"), N_("Посещений"), N_("Прошли защиту")]


def headers(titles: list[str]) -> list[str]:
    """Column headers in the document's language (the constants hold the catalog's msgids)."""
    return [_(t) if t else "" for t in titles]


def note(what: str) -> str:
    """The marked place for the methodist's own prose (`what` already in the document's language)."""
    return _("[Текст методиста: {what}]", what=what)


def report_year(summary: Summary, school_year: str | None) -> str | None:
    """The year asked for, else the newest report year of any program (each program's is the site's)."""
    return school_year or max((p.school_year for p in summary.programs if p.school_year), default=None)


def write_annual_report(
    summary: Summary, path: Path, *, school_year: str | None = None, template: Path | None = None
) -> Path:
    """Write the .docx atomically with mode 0600 (as every file of the report folder); returns `path`."""
    buffer = io.BytesIO()
    build_document(summary, school_year=school_year, template=template).save(buffer)
    try:
        write_bytes_atomic(path, buffer.getvalue())
    except OSError as e:
        raise ConfigError(
            _("{path}: не удаётся записать отчёт ({reason}); укажите другой файл в --out", path=path, reason=e.strerror)
        ) from None
    return path


def write_beside_site(
    summary: Summary, out_dir: Path, *, enabled: bool, school_year: str | None, template: Path | None
) -> str | None:
    """`report`: annual-report.docx in the report folder; its href for the index, None when turned off."""
    path = out_dir / FILE_NAME
    if not enabled:
        path.unlink(missing_ok=True)  # turned off: no stale draft left behind
        return None
    write_annual_report(summary, path, school_year=school_year, template=template)
    return FILE_NAME


def build_document(summary: Summary, *, school_year: str | None, template: Path | None = None) -> Any:
    """The whole report as a python-docx Document."""
    doc = open_template(template) if template is not None else default_document()
    if template is not None and has_content(doc):
        doc.add_page_break()  # her first page stays first
    ensure_styles(doc)
    year = report_year(summary, school_year)
    span = f"{school_year_start(year)}-{school_year_start(year) + 1}" if year else None
    project = note(_("название проекта"))
    doc.add_paragraph(
        _(
            "Аналитический отчёт\nо реализации регионального проекта {project} за {span} учебный год",
            project=project,
            span=span,
        )
        if span
        else _("Аналитический отчёт\nо реализации регионального проекта {project}", project=project),
        style="Title",
    )
    if year is None:
        _text(doc, _("В базе нет ни одного занятия и ни одной защиты: сначала выполните синхронизацию (sync)."))
        return doc
    doc.add_paragraph(
        note(
            _(
                "цель и задачи проекта, показатели проекта, системообразующие мероприятия "
                "регионального уровня, направления деятельности Лаборатории"
            )
        ),
        style=NOTE,
    )
    figures = itertools.count(1)  # figure numbers across programs
    for program in summary.programs:
        _program(doc, program, year, figures)
    doc.add_paragraph(
        note(_("выводы об эффективности мер по реализации сопровождения молодых специалистов")), style=NOTE
    )
    appendix = [(p, y) for p in summary.programs if (y := p.year(year)) is not None and y.held]
    if appendix:
        doc.add_paragraph(_("Приложения"), style="Heading 1")
    for index, (program, y) in enumerate(appendix, start=1):
        doc.add_paragraph(
            _(
                "Приложение {index}. {program}: участие городских округов в {year} учебном году",
                index=index,
                program=program.title,
                year=year,
            ),
            style="Heading 2",
        )
        with_defense = bool(program.outcomes_by_school_year)
        columns = headers(DISTRICT_HEADERS if with_defense else DISTRICT_HEADERS[:3])
        rows = [
            [
                district_label(d.district),
                number(d.participants),
                number(d.attendances),
                *([number(d.defenses_passed)] if with_defense else []),
            ]
            for d in y.districts
        ]
        _table(doc, columns, rows, [0.4, 0.2, 0.2, 0.2] if with_defense else [0.5, 0.25, 0.25], numeric={1, 2, 3})
    return doc


def _program(doc: Any, program: ProgramSummary, year: str, figures: Any) -> None:
    """One program in seed 002's order: sessions, defenses by year, the counting sentences, absent districts."""
    title = program.title
    doc.add_paragraph(program.full_title or title, style="Heading 1")
    doc.add_paragraph(
        note(_("задачи и формат программы «{title}», запуски {year} учебного года", title=title, year=year)),
        style=NOTE,
    )
    y = program.year(year)
    if y is None or not y.held:
        _text(
            doc,
            _(
                "В {year} учебном году занятий программы «{title}» не было: в записях нет ни одного "
                "проведённого занятия, поэтому таблица занятий и список округов не приводятся.",
                year=year,
                title=title,
            ),
        )
    else:
        _sessions(doc, y)
        doc.add_paragraph(note(_("итоги запусков, методические продукты участников")), style=NOTE)
    if not program.outcomes_by_school_year:
        _text(
            doc,
            _(
                "Защиты методической разработки в программе «{title}» нет: в записях нет ни одной защиты, "
                "поэтому таблица и диаграмма защит не приводятся.",
                title=title,
            ),
        )
    else:
        terms = _terms(program, year)
        if terms:
            _table(
                doc,
                headers(TERMS_HEADERS),
                [[str(i), label, number(n)] for i, (label, n) in enumerate(terms, 1)],
                [0.08, 0.32, 0.60],
                numeric={0, 2},
            )
            png = bar_chart_png([(label, n, number(n)) for label, n in terms], ylabel=_("Прошли защиту, педагогов"))
            doc.add_paragraph(style=FIGURE).add_run().add_picture(io.BytesIO(png), width=min(Cm(16), _width(doc)))
            doc.add_paragraph(
                _(
                    "Рисунок {number}. Количество педагогов, прошедших защиту методической "
                    "разработки, по срокам участия в проекте («{title}»)",
                    number=next(figures),
                    title=title,
                ),
                style="Caption",
            )
        else:
            _text(
                doc,
                _(
                    "До конца {year} учебного года пройденных защит в записях нет, поэтому таблица по срокам "
                    "участия не приводится.",
                    year=year,
                ),
            )
    if y is not None and y.held:
        _text(doc, attendance_sentence(y))
    if program.outcomes_by_school_year:
        _text(
            doc,
            defended_sentence(y)
            if y is not None and y.defenses_passed
            else _("В {year} учебном году пройденных защит в записях нет.", year=year),
        )
    if y is not None and y.held:
        _text(doc, absent_sentence(y))
    doc.add_paragraph(note(_("выводы и меры: как обеспечить участие всех городских округов")), style=NOTE)


def _sessions(doc: Any, y: YearSummary) -> None:
    """«№ п/п / Дата проведения / Тема / (Спикер) / Количество участников» and a total of attendances."""
    speakers = any(s.speaker for s in y.held)
    columns = headers(SESSION_HEADERS[:3]) + ([_("Спикер")] if speakers else []) + headers(SESSION_HEADERS[3:])
    rows = [
        [str(s.number), ru_date(s.day), s.topic, *([s.speaker or ""] if speakers else []), number(s.present)]
        for s in y.held
    ]
    rows.append(["", "", _("Итого посещений"), *([""] if speakers else []), number(y.attendances)])
    widths = [0.07, 0.16, 0.41, 0.18, 0.18] if speakers else [0.08, 0.17, 0.53, 0.22]
    _table(doc, columns, rows, widths, numeric={0, 1, len(columns) - 1})
    if y.planned:
        _text(
            doc,
            _(
                "Запланировано, ещё не проведено: {sessions}.",
                sessions="; ".join(f"{ru_date(s.day)} — {s.topic}" for s in y.planned),
            ),
        )


def attendance_sentence(y: YearSummary) -> str:
    """Attendances against unique participants, with the re-attendance remark only when it is true."""
    a, u = y.attendances, y.unique_participants
    said = _(
        "За {year} учебный год — {attendances}; их совершили {people}",
        year=y.school_year,
        attendances=ngettext("{n} посещение занятий", "{n} посещений занятий", a),
        people=ngettext("{n} участник", "{n} участников", u),
    )
    return said + (": " + _("многие подключаются к занятиям повторно.") if a > u else ".")


def defended_sentence(y: YearSummary) -> str:
    """«В 2023/24 учебном году защиту успешно прошли 316 педагогов из 39 городских округов.»"""
    n, d = y.defenses_passed, y.districts_with_defenses
    where = ngettext(" из {n} городского округа", " из {n} городских округов", d) if d else ""
    return ngettext(
        "В {year} учебном году защиту успешно прошёл {n} педагог{where}.",
        "В {year} учебном году защиту успешно прошли {n} педагогов{where}.",
        n,
        year=y.school_year,
        where=where,
    )


def _terms(program: ProgramSummary, year: str) -> list[tuple[str, int]]:
    """«Сроки участия в проекте» up to the report year: the site's rows, cut at an earlier year's end."""
    end = school_year_start(year) + 1
    calendar = program.defenses_passed.by_calendar_year
    if all(int(k) <= end for k in calendar):
        return program.participation_terms
    kept = Counter({k: n for k, n in calendar.items() if int(k) <= end})
    return participation_terms(kept, Counter(program.defenses_passed.by_half_year), date(end, 6, 30))


def _text(doc: Any, text: str) -> None:
    doc.add_paragraph(text, style="Normal")


def _width(doc: Any) -> Emu:
    """Width between the margins of the section the report is written into."""
    s = doc.sections[-1]
    return Emu(s.page_width - s.left_margin - s.right_margin)


def _table(doc: Any, headers: list[str], rows: list[list[str]], shares: list[float], *, numeric: set[int]) -> None:
    """A «Table Grid» table exactly as wide as the text; its header row repeats on every page."""
    twips = _width(doc) // TWIP  # Word keeps widths in whole twips: round down, never past the margin
    parts = [int(twips * share) for share in shares[:-1]]
    widths = [Emu(n * TWIP) for n in [*parts, twips - sum(parts)]]
    table = doc.add_table(rows=0, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    for r, values in enumerate([headers, *rows]):
        row = table.add_row()
        row_props = row._tr.get_or_add_trPr()
        for tag in ("w:cantSplit", "w:tblHeader") if r == 0 else ("w:cantSplit",):
            row_props.append(OxmlElement(tag))
        for c, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            cell.width = widths[c]
            paragraph = cell.paragraphs[0]
            paragraph.style = doc.styles[TABLE_HEADING if r == 0 else TABLE_TEXT]
            paragraph.add_run(value)
            if r and c in numeric:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
