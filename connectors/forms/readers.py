"""Reading form exports: CSV with its encoding and separator guessed, or the first (or a named) XLSX sheet.

What comes out is a plain table: a list of (row number as a spreadsheet shows it, cells). Nothing here
knows what the columns mean (that is `mapping`), and no cell is ever evaluated: an XLSX formula comes
out as its text (`=HYPERLINK(...)`), which the row model then rejects.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intensive_tracker.errors import InputError
from intensive_tracker.i18n import N_, _, number

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
SUFFIXES = CSV_SUFFIXES + XLSX_SUFFIXES
SEPARATORS = (",", ";", "\t")
# C0 controls other than tab/CR/LF never occur in a form export: their presence means a wrong guess
# (UTF-16 without a BOM, a binary file renamed to .csv).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ENCODING_LABELS = {"utf-8-sig": N_("UTF-8 с BOM"), "utf-8": "UTF-8", "cp1251": "Windows-1251", "utf-16": "UTF-16"}


class FileRejected(InputError):
    """A whole file refused: unreadable, too big, or without a mapped column. The message names the file."""


@dataclass(frozen=True)
class Table:
    """The cells of one file, rows numbered as a spreadsheet shows them (the first row is 1)."""

    rows: list[tuple[int, list[Any]]]
    encoding: str | None = None  # CSV only: the codec the text was decoded with
    delimiter: str | None = None  # CSV only

    @property
    def described_encoding(self) -> str:
        return _encoding_label(self.encoding) if self.encoding else "XLSX"


def _encoding_label(codec: str) -> str:
    return _(_ENCODING_LABELS[codec]) if codec in _ENCODING_LABELS else codec


def read_table(
    path: Path,
    *,
    label: str,
    max_bytes: int,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    max_rows: int | None = None,
) -> Table:
    """Every row of the file at `path`; `label` names it in errors.

    More than `max_rows` non-empty rows refuse the file whole: rows are read one at a time and the
    reading stops there, so a small workbook claiming millions of rows never fills the memory.
    """
    try:
        size = path.stat().st_size
    except OSError as e:
        raise FileRejected(_("{label}: файл не читается ({reason})", label=label, reason=e.strerror or e)) from None
    if size > max_bytes:
        raise FileRejected(
            _(
                "{label}: {size} МБ — больше предела {limit} МБ (max_size_mb формы); разделите выгрузку "
                "или поднимите предел",
                label=label,
                size=format(size / 1e6, ".1f"),
                limit=format(max_bytes / 1e6, ".1f"),
            )
        )
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        return read_xlsx(path, label=label, sheet=sheet, max_rows=max_rows)
    if suffix in CSV_SUFFIXES:
        return read_csv(path.read_bytes(), label=label, encoding=encoding, delimiter=delimiter, max_rows=max_rows)
    if suffix == ".xls":
        raise FileRejected(
            _("{label}: старый формат Excel .xls не читается; сохраните файл как .xlsx или .csv", label=label)
        )
    raise FileRejected(
        _(
            "{label}: неизвестный тип файла {suffix}; ожидается .csv или .xlsx",
            label=label,
            suffix=suffix or _("(без расширения)"),
        )
    )


def decode(data: bytes, *, label: str, encoding: str | None = None) -> tuple[str, str]:
    """(text, codec): a BOM decides, else strict UTF-8, else Windows-1251 (Excel's «CSV» on a Russian Windows)."""
    if encoding:
        candidates = [encoding]
    elif data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1251"]
    for codec in candidates:
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if _CONTROLS.search(text):
            continue
        return text, codec
    tried = ", ".join(_encoding_label(c) for c in candidates)
    raise FileRejected(
        _(
            "{label}: текст не декодируется (пробовали {tried}); сохраните его как CSV UTF-8 или задайте encoding формы",
            label=label,
            tried=tried,
        )
    )


def sniff_delimiter(text: str) -> str:
    """The separator that splits the first lines into the most, equally wide, columns."""
    sample = text[: 64 * 1024].splitlines()[:20]
    best, best_score = ",", (0, 0)
    for sep in SEPARATORS:
        widths = [len(r) for r in csv.reader(sample, delimiter=sep) if any(c.strip() for c in r)]
        if not widths:
            continue
        header = max(widths[:5])
        # A separator that only appears inside text (a comma in «Фамилия, имя») gives ragged rows.
        consistent = sum(1 for w in widths if w == widths[-1] or w == header)
        score = (header if header > 1 else 0, consistent)
        if score > best_score:
            best, best_score = sep, score
    return best


def read_csv(
    data: bytes,
    *,
    label: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_rows: int | None = None,
) -> Table:
    """A CSV export: decoded, separator sniffed, one entry per record (a quoted cell may span lines)."""
    text, codec = decode(data, label=label, encoding=encoding)
    text = text.lstrip("\ufeff")  # a BOM left inside the first header by a second re-save
    sep = delimiter or sniff_delimiter(text)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=sep)  # record by record, not a list
        rows = _bounded(((i, r) for i, r in enumerate(records, start=1)), label=label, max_rows=max_rows)
    except csv.Error as e:
        raise FileRejected(_("{label}: CSV не читается ({reason})", label=label, reason=e)) from None
    return Table(rows=rows, encoding=codec, delimiter=sep)


def _blank(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _bounded(
    numbered: Iterator[tuple[int, list[Any]]], *, label: str, max_rows: int | None
) -> list[tuple[int, list[Any]]]:
    """The non-empty rows, read one at a time; the file is refused at the first row over `max_rows`.

    Blank rows (a sheet formatted down to row 1,048,576) are skipped, not kept and not counted.
    """
    rows: list[tuple[int, list[Any]]] = []
    for row_number, cells in numbered:
        if _blank(cells):
            continue
        if max_rows is not None and len(rows) >= max_rows:
            raise FileRejected(
                _(
                    "{label}: файл не принят целиком: в нём больше {n} непустых строк (лимит max_rows формы); "
                    "разделите выгрузку или увеличьте лимит",
                    label=label,
                    n=number(max_rows),
                )
            )
        rows.append((row_number, cells))
    return rows


def read_xlsx(path: Path, *, label: str, sheet: str | None = None, max_rows: int | None = None) -> Table:
    """The first sheet (or `sheet`), read-only; formulas come out as their text, never evaluated."""
    from openpyxl import load_workbook

    try:
        # data_only=False on purpose: a cached formula result may be stale or absent (files written by
        # scripts have none), and a formula in a form export is a hand edit we report instead of trusting.
        book = load_workbook(path, read_only=True, data_only=False)
    except Exception as e:  # openpyxl raises zipfile, KeyError, InvalidFileException … for a broken file
        raise FileRejected(
            _(
                "{label}: книга XLSX не читается ({reason}); откройте её в Excel и снова сохраните как .xlsx",
                label=label,
                reason=type(e).__name__,
            )
        ) from None
    try:
        if sheet is not None:
            if sheet not in book.sheetnames:
                raise FileRejected(
                    _(
                        "{label}: нет листа «{sheet}» (листы: {sheets})",
                        label=label,
                        sheet=sheet,
                        sheets=", ".join(book.sheetnames),
                    )
                )
            ws = book[sheet]
        else:
            ws = book.worksheets[0]
        # Some exporters write a wrong <dimension> (e.g. "A1"); read-only mode would trust it and stop early.
        ws.reset_dimensions()
        numbered = ((number, list(values)) for number, values in enumerate(ws.iter_rows(values_only=True), start=1))
        rows = _bounded(numbered, label=label, max_rows=max_rows)
    finally:
        book.close()
    return Table(rows=rows)
