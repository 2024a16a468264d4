"""The XLSX attachment: the same rows as the email's table, every text cell inert."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.cell.cell import Cell

from intensive_tracker.mail.plan import DistrictMail

HEADER = ("ФИО", "ОО", "Посещено занятий", "Защита")
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
    """One sheet: ФИО, ОО, sessions attended, defense status, in the email's order."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Участники-итоги"
    sheet.append(list(HEADER))
    for row in mail.rows:
        sheet.append([None, None, row.sessions_attended, None])
        r = sheet.max_row
        _text(sheet.cell(r, 1), row.full_name)
        _text(sheet.cell(r, 2), row.school)
        _text(sheet.cell(r, 4), row.defense_label)
    for column, width in zip("ABCD", (40, 40, 18, 22)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
