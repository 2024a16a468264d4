"""report.xlsx and csv/: the site's tables as data, never as formulas."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from intensive_tracker.i18n import using
from intensive_tracker.people.districts import load_registry
from intensive_tracker.reports.figures import build_summary
from intensive_tracker.site.exports import Table, csv_text, neutralize, workbook_bytes, write_exports
from tests import report_data

MSK = ZoneInfo("Europe/Moscow")
DANGEROUS = ["=1+1", "+7 999", "-2", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")']


def test_neutralize_prefixes_formula_starts_only() -> None:
    """Text starting with = + - @ TAB CR gets an apostrophe; other text is untouched."""
    assert [neutralize(t) for t in DANGEROUS] == ["'" + t for t in DANGEROUS]
    assert neutralize("Балашиха") == "Балашиха" and neutralize("a=b") == "a=b" and neutralize("") == ""


def test_workbook_stores_dangerous_text_as_strings() -> None:
    """In the XLSX every such cell is a string cell ('s') with the apostrophe; numbers stay numbers."""
    table = Table("t", "t", ["=Заголовок", "Число", "Дата"], [[t, 5, date(2023, 9, 20)] for t in DANGEROUS])
    ws = load_workbook(io.BytesIO(workbook_bytes([table])))["t"]
    assert ws["A1"].value == "'=Заголовок" and ws["A1"].data_type == "s"
    for row, text in enumerate(DANGEROUS, start=2):
        cell = ws.cell(row=row, column=1)
        # Without lxml, openpyxl's XML writer lets a CR come back as LF; with lxml (python-docx needs it) the CR
        # comes back as is. The apostrophe in front is what matters.
        assert cell.data_type == "s" and cell.value in {"'" + text, "'" + text.replace("\r", "\n")}
        assert ws.cell(row=row, column=2).value == 5
        assert ws.cell(row=row, column=3).value.date() == date(2023, 9, 20)
        assert ws.cell(row=row, column=3).number_format == "DD.MM.YY"


def test_csv_neutralizes_and_formats_for_russian_excel() -> None:
    """CSV: `;`-separated, dates 20.09.23, shares 62,5%, dangerous text with an apostrophe."""
    table = Table(
        "t",
        "t",
        ["Тема", "Дата", "Доля"],
        [["=cmd|' /C calc'!A0", date(2023, 9, 20), 0.625]],
        percent_columns=frozenset({2}),
    )
    rows = list(csv.reader(io.StringIO(csv_text(table)), delimiter=";"))
    assert rows == [["Тема", "Дата", "Доля"], ["'=cmd|' /C calc'!A0", "20.09.23", "62,5%"]]


@pytest.fixture
def exported(engine: Engine, tmp_path: Path) -> Path:
    report_data.load(engine)
    summary = build_summary(engine, load_registry(), tz=MSK, now=datetime(2024, 2, 1, tzinfo=MSK))
    write_exports(summary, tmp_path)
    return tmp_path


def test_exports_hold_the_site_figures(exported: Path) -> None:
    """The workbook has a sheet per table with Russian headers and the same numbers as the pages."""
    wb = load_workbook(exported / "report.xlsx")
    sessions = wb["ku 2023-24 занятия"]
    assert [c.value for c in sessions[1]] == ["№ п/п", "Дата проведения", "Тема", "Количество участников", "Запуск"]
    assert [r[3] for r in sessions.iter_rows(min_row=2, values_only=True)] == [2, 2, 0, 2]
    assert sessions["C4"].value == "'" + report_data.TRICKY_TOPIC and sessions["C4"].data_type == "s"
    terms = wb["ku сроки участия"]
    assert list(terms.iter_rows(min_row=2, values_only=True)) == [("2023", 1), ("2024 (1 полугодие)", 1)]
    districts = wb["ku 2023-24 округа"]
    assert list(districts.iter_rows(min_row=2, max_row=2, values_only=True)) == [("Балашиха", 1, 3, 1, 1.0)]


def test_csv_files_have_bom_and_match_the_workbook(exported: Path) -> None:
    """Each table is also a CSV with a UTF-8 BOM (Excel then reads Cyrillic right)."""
    raw = (exported / "csv" / "ku-2023-24-zanyatiya.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["№ п/п", "Дата проведения", "Тема", "Количество участников", "Запуск"]
    assert rows[1] == ["1", "20.09.23", "Первое", "2", "KU-H1"]
    assert rows[3][2] == "'" + report_data.TRICKY_TOPIC


def test_english_exports_keep_their_file_names(engine: Engine, tmp_path: Path) -> None:
    """With language "en": English sheet names, headers and words; the CSV files keep their names; 62.5%."""
    report_data.load(engine)
    with using("en"):
        summary = build_summary(engine, load_registry(), tz=MSK, now=datetime(2024, 2, 1, tzinfo=MSK))
        links = write_exports(summary, tmp_path)
    wb = load_workbook(tmp_path / "report.xlsx")
    sessions = wb["ku 2023-24 sessions"]
    assert [c.value for c in sessions[1]] == ["No.", "Date held", "Topic", "Number of participants", "Run"]
    assert [c.value for c in wb["ku 2023-24 attendance"]["A"]][-1] == "4 (all)"
    assert "ku defenses by sch. year" in wb.sheetnames
    for ws in wb.worksheets:
        assert not re.search(r"[А-Яа-яЁё]", ws.title), ws.title
        assert not re.search(r"[А-Яа-яЁё]", " ".join(str(c.value) for c in ws[1])), ws.title
    raw = (tmp_path / "csv" / "ku-2023-24-okruga.csv").read_text("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw), delimiter=";"))
    assert rows[0] == ["District", "Participants", "Attendances", "Passed the defense", "Share who passed the defense"]
    assert rows[1] == ["Балашиха", "1", "3", "1", "100%"]
    assert [r[0] for r in rows].count("unassigned") == 1  # person C, who has no district
    assert ("report.xlsx", "report.xlsx — all tables, a sheet per table") in links


def test_csv_shares_are_written_as_each_language_writes_them() -> None:
    table = Table("t", "t", ["x"], [[0.625]], percent_columns=frozenset({0}))
    assert csv_text(table).splitlines()[1] == "62,5%"
    with using("en"):
        assert csv_text(table).splitlines()[1] == "62.5%"
