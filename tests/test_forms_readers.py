"""Reading form exports: encodings, separators, XLSX sheets, header rows, whole-file refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import Workbook

from connectors.forms.mapping import ColumnMap, fold_header
from connectors.forms.readers import FileRejected, decode, read_csv, read_table, read_xlsx, sniff_delimiter

FORMS = Path(__file__).parent / "fixtures" / "forms"
MB = 1_000_000


def test_utf8_with_bom_is_decoded_and_the_bom_leaves_the_first_header() -> None:
    """A BOM is recognized, and «\\ufeffФИО» still matches the header «ФИО»."""
    table = read_table(FORMS / "bom_signin.csv", label="bom_signin.csv", max_bytes=MB)
    assert table.encoding == "utf-8-sig"
    assert table.delimiter == "\t"
    assert table.rows[0][1][0] == "ФИО"
    located = ColumnMap({"full_name": "ФИО", "email": "E-mail"}).locate(table, label="bom_signin.csv")
    assert located.header_row == 1 and located.columns == {"full_name": 0, "email": 1}


def test_windows_1251_with_semicolons_is_read_as_excel_saved_it() -> None:
    """An Excel-saved CSV on a Russian Windows: Windows-1251 and «;», quotes inside cells kept."""
    table = read_table(FORMS / "excel_defense_1251.csv", label="p.csv", max_bytes=MB)
    assert (table.encoding, table.delimiter) == ("cp1251", ";")
    assert table.rows[0][1][:3] == ["№ п/п", "ФИО", "Городской округ"]
    assert table.rows[2][1][3] == 'МБОУ "Лицей №2"'


def test_google_forms_csv_is_utf8_with_commas_and_multiline_cells_count_as_one_row() -> None:
    """Rows are numbered as a spreadsheet shows them: a quoted cell spanning two lines is still one row."""
    table = read_table(FORMS / "google_registration.csv", label="g.csv", max_bytes=MB)
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    numbers = [n for n, _ in table.rows]
    assert numbers == list(range(1, 11))
    row7 = dict(table.rows)[7]
    assert row7[4] == "МБОУ «Гимназия №1»\nкорпус 2"


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_the_separator_is_sniffed(sep: str) -> None:
    """Comma, semicolon and tab are told apart, even with a comma inside a quoted header."""
    text = sep.join(['"Фамилия, имя"', "Почта", "Округ"]) + "\n" + sep.join(["Иванова Анна", "a@b.ru", "Клин"]) + "\n"
    assert sniff_delimiter(text) == sep


def test_undecodable_bytes_reject_the_whole_file_naming_it() -> None:
    """UTF-16 without a BOM (NUL bytes everywhere) is refused with the file name and the fix."""
    data = "ФИО;Почта\nИванова;a@b.ru\n".encode("utf-16-le")
    with pytest.raises(FileRejected, match=r"^odd\.csv: текст не декодируется .*сохраните его как CSV UTF-8"):
        decode(data, label="odd.csv")


def test_a_configured_encoding_is_used_strictly() -> None:
    """`encoding = "koi8-r"` reads a KOI8 file that would otherwise be taken for Windows-1251."""
    data = "ФИО,Почта\nИванова,a@b.ru\n".encode("koi8-r")
    table = read_csv(data, label="k.csv", encoding="koi8-r")
    assert table.rows[1][1] == ["Иванова", "a@b.ru"]


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    """The message names the file, its size and the limit to raise."""
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * 2048)
    with pytest.raises(FileRejected, match=r"^big\.csv: 0\.0 МБ — больше предела 0\.0 МБ .*max_size_mb"):
        read_table(path, label="big.csv", max_bytes=1024)


def test_old_xls_and_unknown_types_are_refused(tmp_path: Path) -> None:
    """.xls is named with the fix (save as .xlsx or .csv); other extensions are refused too."""
    (tmp_path / "a.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(FileRejected, match=r"a\.xls: .*сохраните файл как \.xlsx или \.csv"):
        read_table(tmp_path / "a.xls", label="a.xls", max_bytes=MB)
    with pytest.raises(FileRejected, match=r"a\.pdf: неизвестный тип файла \.pdf"):
        read_table(tmp_path / "a.pdf", label="a.pdf", max_bytes=MB)


def test_a_broken_xlsx_is_refused(tmp_path: Path) -> None:
    """A file named .xlsx that is not a workbook is refused whole with the way out."""
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(FileRejected, match=r"broken\.xlsx: книга XLSX не читается"):
        read_xlsx(path, label="broken.xlsx")


def test_xlsx_first_sheet_formulas_as_text_and_rows_numbered() -> None:
    """The Yandex export's first sheet; a formula cell comes out as its text, never evaluated; blank rows keep numbering."""
    table = read_xlsx(FORMS / "yandex_registration.xlsx", label="y.xlsx")
    rows = dict(table.rows)
    assert rows[1][:3] == ["ID", "Время создания", "Фамилия"]
    assert rows[5][2] == '=HYPERLINK("http://evil.example/","Орлов")'
    assert 6 not in rows  # a blank row is skipped, and not counted against max_rows
    assert rows[7][0] == 106


def test_xlsx_named_sheet_and_a_missing_one(tmp_path: Path) -> None:
    """`sheet` picks a sheet by name; an unknown name lists the sheets there are."""
    table = read_xlsx(FORMS / "yandex_registration.xlsx", label="y.xlsx", sheet="Сводка")
    assert table.rows[0][1] == ["Всего ответов", 6]
    with pytest.raises(FileRejected, match="нет листа «Лист1» \\(листы: Ответы, Сводка\\)"):
        read_xlsx(FORMS / "yandex_registration.xlsx", label="y.xlsx", sheet="Лист1")


def test_header_row_is_found_below_a_title_block(tmp_path: Path) -> None:
    """A webinar platform's preamble lines are skipped: the header is the first row holding every mapped column."""
    text = "Вебинар: Урок как система\nДата: 20.09.2023\n\nФИО*;Электронная почта:\nИванова Анна;a@b.ru\n"
    table = read_csv(text.encode("utf-8"), label="w.csv")
    located = ColumnMap({"full_name": "ФИО", "email": "Электронная почта"}).locate(table, label="w.csv")
    assert located.header_row == 4


def test_a_missing_mapped_column_names_the_file_the_column_and_what_is_there() -> None:
    """The whole file is refused; the message lists the headers found so the mapping can be fixed."""
    table = read_table(FORMS / "missing_column.csv", label="missing_column.csv", max_bytes=MB)
    cmap = ColumnMap({"full_name": "ФИО", "district": "Городской округ"})
    with pytest.raises(
        FileRejected,
        match=r"^missing_column\.csv: нет столбца «Городской округ»; его заголовки: "
        r"«Отметка времени», «Адрес электронной почты», «ФИО»",
    ):
        cmap.locate(table, label="missing_column.csv")


def test_a_column_listed_twice_is_refused() -> None:
    """Two columns titled «ФИО» would make the row ambiguous: refused, naming both positions."""
    table = read_csv("ФИО,ФИО,Почта\nА,Б,a@b.ru\n".encode(), label="d.csv")
    with pytest.raises(FileRejected, match=r"«ФИО» встречается 2 раза \(столбцы 1, 2\)"):
        ColumnMap({"full_name": "ФИО"}).locate(table, label="d.csv")


def test_alternative_header_spellings_and_folding() -> None:
    """A field may list several headers; case, ё, spaces and a trailing «*» do not matter."""
    assert fold_header("\ufeff Электронная  почта* ") == "электронная почта"
    table = read_csv("Отчёт время;E-MAIL\n1;a@b.ru\n".encode(), label="a.csv")
    located = ColumnMap({"email": ["Адрес электронной почты", "e-mail"]}).locate(table, label="a.csv")
    assert located.columns == {"email": 1} and located.extra == ["Отчёт время"]


def test_xlsx_written_by_a_script_reads_every_value(tmp_path: Path) -> None:
    """Numbers stay numbers and datetimes stay datetimes (the row model converts them)."""
    book = Workbook()
    ws = book.active
    ws.append(["ФИО", "Дата"])
    ws.append(["Иванова Анна", 45190.5])
    path = tmp_path / "s.xlsx"
    book.save(path)
    assert read_xlsx(path, label="s.xlsx").rows[1] == (2, ["Иванова Анна", 45190.5])


def test_an_empty_file_is_refused_as_such(tmp_path: Path) -> None:
    """A 0-byte export (a failed download) is named as empty, not as missing columns."""
    (tmp_path / "e.csv").write_bytes(b"")
    table = read_table(tmp_path / "e.csv", label="e.csv", max_bytes=MB)
    with pytest.raises(FileRejected, match=r"^e\.csv: файл пуст"):
        ColumnMap({"full_name": "ФИО"}).locate(table, label="e.csv")


def test_xlsx_with_a_wrong_dimension_tag_is_read_to_the_end(tmp_path: Path) -> None:
    """A workbook claiming to span only A1 (as some exporters write) still yields every row."""
    import zipfile

    book = Workbook()
    ws = book.active
    for row in (["ФИО", "Почта"], ["Иванова Анна", "a@b.ru"], ["Петров Иван", "p@b.ru"]):
        ws.append(row)
    good = tmp_path / "good.xlsx"
    book.save(good)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                # openpyxl writes `<dimension ref="A1:B3" />`, or without the space when it writes through lxml.
                data = re.sub(rb'<dimension ref="A1:B3"\s*/>', b'<dimension ref="A1" />', data)
                assert b'<dimension ref="A1" />' in data
            dst.writestr(item, data)
    assert [r[1] for r in read_xlsx(bad, label="bad.xlsx").rows] == [
        ["ФИО", "Почта"],
        ["Иванова Анна", "a@b.ru"],
        ["Петров Иван", "p@b.ru"],
    ]
