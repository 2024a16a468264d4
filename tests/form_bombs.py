"""Form exports built to hurt: a workbook small on disk holding millions of junk rows, and a big legitimate CSV."""

from __future__ import annotations

import zipfile
from pathlib import Path

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Лист1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def junk_workbook(path: Path, junk_rows: int) -> Path:
    """A header, one good row, then `junk_rows` rows of junk: a few hundred KB on disk, streamed out."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b'<dimension ref="A1:C3000002"/><sheetData>'
            )
            head = _cell("A1", "ФИО") + _cell("B1", "E-mail") + _cell("C1", "Городской округ")
            good = _cell("A2", "Иванова Анна Петровна") + _cell("B2", "ivanova@example.ru") + _cell("C2", "Клин")
            sheet.write(f'<row r="1">{head}</row><row r="2">{good}</row>'.encode())
            # Rows and cells without their optional r="…" are all alike: they compress to almost nothing.
            junk = b'<row><c t="inlineStr"><is><t>x</t></is></c><c t="inlineStr"><is><t>junk</t></is></c></row>'
            for start in range(0, junk_rows, 10_000):
                sheet.write(junk * min(10_000, junk_rows - start))
            sheet.write(b"</sheetData></worksheet>")
    return path


def people_csv(path: Path, people: int) -> Path:
    """A registration export of `people` distinct teachers (name, e-mail, district)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("ФИО;E-mail;Городской округ\n")
        for i in range(people):
            out.write(f"Тестова Анна {i:06d};t{i}@example.ru;Балашиха\n")
    return path
