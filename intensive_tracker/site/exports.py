"""The site's tables as a spreadsheet: report.xlsx (a sheet per table) and csv/<table>.csv.

Cells are data, never formulas: any text starting with = + - @ TAB or CR (what Excel and
LibreOffice would evaluate) is prefixed with an apostrophe and stored as a string, both in the
workbook and in the CSV files. CSV is UTF-8 with BOM and `;`, which Russian Excel opens as is.

Headers, sheet names and cell words are in the document language (Russian unless `--lang en` or
`[report] language = "en"`); the CSV file names stay the same in every language (made from the Russian names).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from intensive_tracker import i18n
from intensive_tracker.files import write_bytes_atomic
from intensive_tracker.i18n import N_, _
from intensive_tracker.periods import half_year_label, launch_title, ru_date
from intensive_tracker.reports.figure_types import OutcomeCounts, ProgramSummary, Summary, YearSummary
from intensive_tracker.reports.paths import table_file
from intensive_tracker.text import district_label

Cell = str | int | float | date | None
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
OUTCOME_HEADERS = [N_("Прошли защиту"), N_("Не прошли защиту"), N_("Ожидают оценки")]
NO_DATA_SHEET = N_("Нет данных")
NO_DATA_TEXT = N_("Данных пока нет: выполните `intensive-tracker sync`, затем `intensive-tracker report`.")


@dataclass(frozen=True)
class Table:
    """One exported table: `name` is unique and short (it is the sheet name, ≤ 31 characters).

    `file`: what the CSV file is named after, the same in every language (default: `name`).
    """

    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    percent_columns: frozenset[int] = field(default_factory=frozenset)
    file: str = ""


def _table(
    prefix: str,
    suffix: str,
    *,
    title: str,
    headers: list[str],
    rows: list[list[Cell]],
    percent_columns: frozenset[int] = frozenset(),
) -> Table:
    """A table whose sheet is named in the document language and whose file after the Russian name (`suffix`: N_)."""
    return Table(f"{prefix} {_(suffix)}", title, headers, rows, percent_columns, file=f"{prefix} {suffix}")


def _outcome_headers() -> list[str]:
    return [_(h) for h in OUTCOME_HEADERS]


def neutralize(text: str) -> str:
    """Text a spreadsheet would run as a formula becomes plain text ("=1+1" → "'=1+1")."""
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


def _outcomes(o: OutcomeCounts) -> list[Cell]:
    return [o.passed, o.failed, o.pending]


def program_tables(p: ProgramSummary) -> list[Table]:
    """The program's tables across years (no defense column or table for a program without a defense)."""
    key = p.key[:8]
    defense = p.has_defense
    tables = [
        _table(
            key,
            N_("годы"),
            title=_("{program}: итоги по учебным годам", program=p.title),
            headers=[
                _("Учебный год"),
                _("Проведено занятий"),
                _("Посещений"),
                _("Уникальных участников"),
                *([_("Прошли защиту")] if defense else []),
                _("Округов с участниками"),
                _("Округов без участников"),
            ],
            rows=[
                [
                    y.school_year,
                    y.sessions_held,
                    y.attendances,
                    y.unique_participants,
                    *([y.defenses_passed] if defense else []),
                    len(y.districts_reached),
                    len(y.districts_not_reached),
                ]
                for y in p.years
            ],
        )
    ]
    if not defense:
        return tables
    if p.participation_terms:
        tables.append(
            _table(
                key,
                N_("сроки участия"),
                title=_("{program}: прошли защиту по срокам участия", program=p.title),
                headers=[
                    _("Сроки участия в проекте"),
                    _("Количество педагогов, прошедших защиту методической разработки на заключительном этапе"),
                ],
                rows=[[label, n] for label, n in p.participation_terms],
            )
        )
    for suffix, header, counts, label in (
        (N_("защиты по годам"), _("Календарный год"), p.outcomes_by_calendar_year, str),
        (N_("защиты по полугодиям"), _("Полугодие"), p.outcomes_by_half_year, half_year_label),
        (N_("защиты по уч. годам"), _("Учебный год"), p.outcomes_by_school_year, str),
    ):
        if counts:
            tables.append(
                _table(
                    key,
                    suffix,
                    title=_("{program}: защиты, {by}", program=p.title, by=header.lower()),
                    headers=[header, *_outcome_headers()],
                    rows=[[label(k), *_outcomes(v)] for k, v in counts.items()],
                )
            )
    return tables


def year_tables(p: ProgramSummary, y: YearSummary) -> list[Table]:
    """One program-year's tables, in the report's shapes."""
    prefix = f"{p.key[:8]} {y.school_year.replace('/', '-')}"
    with_speaker = any(s.speaker for s in y.held)
    session_headers = [
        _("№ п/п"),
        _("Дата проведения"),
        _("Тема"),
        *([_("Спикер")] if with_speaker else []),
        _("Количество участников"),
        _("Запуск"),
    ]
    sessions: list[list[Cell]] = [
        [s.number, s.day, s.topic, *([s.speaker or ""] if with_speaker else []), s.present, s.cohort] for s in y.held
    ]
    held = y.sessions_held
    defense = p.has_defense
    return [
        _table(
            prefix,
            N_("занятия"),
            title=_("{program}, {year}: занятия", program=p.title, year=y.school_year),
            headers=session_headers,
            rows=sessions,
        ),
        _table(
            prefix,
            N_("посещаемость"),
            title=_("{program}, {year}: сколько занятий посетили", program=p.title, year=y.school_year),
            headers=[_("Посещено занятий"), _("Количество педагогов")],
            rows=[[_("{count} (все)", count=k) if k == held else k, n] for k, n in y.visits.items()],
        ),
        _table(
            prefix,
            N_("округа"),
            title=_("{program}, {year}: по городским округам", program=p.title, year=y.school_year),
            headers=[
                _("Городской округ"),
                _("Участников"),
                _("Посещений"),
                *([_("Прошли защиту"), _("Доля прошедших защиту")] if defense else []),
            ],
            rows=[
                [
                    district_label(d.district),
                    d.participants,
                    d.attendances,
                    *([d.defenses_passed, d.defended_share] if defense else []),
                ]
                for d in y.districts
            ],
            percent_columns=frozenset({4} if defense else ()),
        ),
        _table(
            prefix,
            N_("не участвовали"),
            title=_("{program}, {year}: не принимали участие педагоги из округов", program=p.title, year=y.school_year),
            headers=[_("Городской округ")],
            rows=[[d] for d in y.districts_not_reached],
        ),
        _table(
            prefix,
            N_("запуски"),
            title=_("{program}, {year}: запуски", program=p.title, year=y.school_year),
            headers=[
                _("Запуск"),
                _("Полугодие"),
                _("Проведено занятий"),
                _("Посещений"),
                _("Уникальных участников"),
                *(_outcome_headers() if defense else []),
            ],
            rows=[
                [
                    launch_title(x.term, y.school_year, x.cohort, x.title),
                    _("{term} полугодие", term=x.term) if x.term else "",
                    len(x.held),
                    x.attendances,
                    x.unique_participants,
                    *(_outcomes(x.outcomes) if defense else []),
                ]
                for x in y.launches
            ],
        ),
    ]


def summary_tables(summary: Summary) -> list[Table]:
    """Every table of the site (aggregate figures; people's names stay on the district pages)."""
    tables = []
    for p in summary.programs:
        tables += program_tables(p)
        for y in reversed(p.years):
            tables += year_tables(p, y)
    return tables


def workbook_bytes(tables: list[Table]) -> bytes:
    """report.xlsx: a sheet per table, headers in bold, numbers as numbers, dates as dates."""
    wb = Workbook()
    wb.remove(wb.active)
    if not tables:  # before the first sync: a workbook needs one visible sheet, so it says why it is empty
        ws = wb.create_sheet(_sheet_name(_(NO_DATA_SHEET)))
        ws.append([_(NO_DATA_TEXT)])
    for table in tables:
        ws = wb.create_sheet(_sheet_name(table.name))
        ws.append([neutralize(h) for h in table.headers])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for r, row in enumerate(table.rows, start=2):
            for c, value in enumerate(row, start=1):
                cell = ws.cell(row=r, column=c)
                if isinstance(value, str):
                    cell.value = neutralize(value)
                    cell.data_type = "s"  # never "f": a name or a topic is not a formula
                else:
                    cell.value = value
                    if isinstance(value, date):
                        cell.number_format = "DD.MM.YY"
                    elif c - 1 in table.percent_columns:
                        cell.number_format = "0.0%"
        for c, header in enumerate(table.headers, start=1):
            longest = max([len(header), *(len(str(row[c - 1])) for row in table.rows)])
            ws.column_dimensions[get_column_letter(c)].width = min(max(10, longest + 2), 80)
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet_name(name: str) -> str:
    # Excel forbids []:*?/\ in sheet names and cuts them at 31 characters.
    return "".join("-" if ch in "[]:*?/\\" else ch for ch in name)[:31]


def csv_text(table: Table) -> str:
    """One table as CSV for Excel: `;`-separated, dates as 20.09.23, shares as 62,5% (62.5% in English)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralize(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([_csv_cell(v, percent=i in table.percent_columns) for i, v in enumerate(row)])
    return out.getvalue()


def _csv_cell(value: Cell, *, percent: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return ru_date(value)
    if isinstance(value, float) and percent:
        return i18n.percent(value).replace(" ", "")
    return neutralize(value) if isinstance(value, str) else str(value)


def write_exports(summary: Summary, out_dir: Path) -> list[tuple[str, str]]:
    """Write report.xlsx and csv/*.csv; returns (relative href, label) for the index page."""
    tables = summary_tables(summary)
    write_bytes_atomic(out_dir / "report.xlsx", workbook_bytes(tables))
    links = [("report.xlsx", _("{file} — все таблицы, по листу на таблицу", file="report.xlsx"))]
    names = set()
    for table in tables:
        href = table_file(table.file or table.name)
        names.add(Path(href).name)
        write_bytes_atomic(out_dir / href, ("\ufeff" + csv_text(table)).encode("utf-8"))
        links.append((href, f"{href} — {table.title}"))
    for stale in (out_dir / "csv").glob("*.csv"):
        if stale.name not in names:
            stale.unlink()
    return links
