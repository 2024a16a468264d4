"""The XLSX attachment: the same rows as the email's table, every text cell inert.

The matrix is a real table: one column per session headed by its date (a date cell), the header
frozen with a filter on it, the grading date a date cell and the grade a number. A second sheet
lists the sessions (date, topic, cohorts, «удалено в Moodle»).
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from intensive_tracker.i18n import N_, _
from intensive_tracker.mail.plan import DistrictMail
from intensive_tracker.reports.roster_types import decimal

HEADER = (N_("ФИО"), N_("ОО"), N_("Посещено занятий"), N_("Защита"))
DEFENSE_DETAIL = (N_("Дата защиты"), N_("Оценка"))
SESSIONS_HEADER = (N_("№"), N_("Дата"), N_("Тема"), N_("Поток"), N_("Примечание"))
DATE_FORMAT = "DD.MM.YY"
_GREY = PatternFill("solid", fgColor="EEEEEE")
_DELETED = PatternFill("solid", fgColor="F4CCCC")
# OWASP ASVS 1.2.10 (RELIABILITY.md §3): a spreadsheet runs a text starting with these as a
# formula; "{" covers XlsxWriter-style array formulas, and leading spaces are looked through.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0", "{")


def neutralize(value: str) -> str:
    """A text a spreadsheet shows as text: risky leading characters get a "'" in front."""
    if value.startswith(_FORMULA_START) or value.lstrip(" ").startswith(_FORMULA_START):
        return "'" + value
    return value


def _text(cell: Cell, value: str) -> None:
    cell.value = neutralize(value)
    cell.data_type = "s"  # openpyxl would otherwise store a leading "=" as a formula


def participants_workbook(mail: DistrictMail) -> bytes:
    """ФИО, ОО, one column per session, sessions attended, defense (status, date, grade), in the email's order."""
    book = Workbook()
    sheet = book.active
    sheet.title = _("Участники-итоги")
    first = 3  # the first session column
    total = first + len(mail.columns)
    for index, title in enumerate(HEADER[:2], start=1):
        _text(sheet.cell(1, index), _(title))
    for index, column in enumerate(mail.columns, start=first):
        cell = sheet.cell(1, index, column.day)
        cell.number_format = DATE_FORMAT
        if column.deleted:
            cell.comment = Comment(column.note, "intensive-tracker")
            cell.fill = _DELETED
    tail = [HEADER[2], *((HEADER[3], *DEFENSE_DETAIL) if mail.has_defense else ())]
    for index, title in enumerate(tail, start=total):
        _text(sheet.cell(1, index), _(title))
    for r, row in enumerate(mail.rows, start=2):
        _text(sheet.cell(r, 1), row.full_name)
        _text(sheet.cell(r, 2), row.school)
        for index, mark in enumerate(row.marks, start=first):
            cell = sheet.cell(r, index)
            if mark.text:
                _text(cell, mark.text)
            if not mark.held:
                cell.fill = _GREY
                cell.font = Font(color="888888")
            cell.alignment = Alignment(horizontal="center")
        sheet.cell(r, total, row.sessions_attended)
        if mail.has_defense:
            _text(sheet.cell(r, total + 1), row.defense_label)
            if row.defense_date is not None:
                sheet.cell(r, total + 2, row.defense_date).number_format = DATE_FORMAT
            if row.defense_grade is not None:
                grade = sheet.cell(r, total + 3, row.defense_grade)
                if row.defense_grade_max is not None:  # still a number, shown as Moodle shows it: «8 из 10»
                    suffix = _("из {max}", max=decimal(row.defense_grade_max)).replace('"', "")
                    grade.number_format = f'General" {suffix}"'
    last = get_column_letter(total + len(tail) - 1)
    sheet.auto_filter.ref = f"A1:{last}{max(1, len(mail.rows) + 1)}"
    sheet.freeze_panes = sheet.cell(2, first)
    widths = {1: 36, 2: 36, total: 12, total + 1: 20, total + 2: 12, total + 3: 8}
    for index in range(1, total + len(tail)):
        sheet.column_dimensions[get_column_letter(index)].width = widths.get(index, 10)
    _sessions_sheet(book, mail)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sessions_sheet(book: Workbook, mail: DistrictMail) -> None:
    sheet = book.create_sheet(_("Занятия"))
    for index, title in enumerate(SESSIONS_HEADER, start=1):
        _text(sheet.cell(1, index), _(title))
    for r, column in enumerate(mail.columns, start=2):
        sheet.cell(r, 1, r - 1)
        sheet.cell(r, 2, column.day).number_format = DATE_FORMAT
        _text(sheet.cell(r, 3), column.topic)
        _text(sheet.cell(r, 4), ", ".join(column.cohorts))
        _text(sheet.cell(r, 5), column.note)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:E{max(1, len(mail.columns) + 1)}"
    for letter, width in zip("ABCDE", (5, 10, 60, 20, 18)):
        sheet.column_dimensions[letter].width = width
