"""The annual analytic report as Word: every table cell and counting sentence equals summary.json (the demo)."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from docx import Document
from docx.shared import Mm, Pt

from intensive_tracker.cli import cli
from intensive_tracker.i18n import number, using
from intensive_tracker.reports.figure_types import (
    DefenseCounts,
    DistrictRow,
    OutcomeCounts,
    ProgramSummary,
    SessionRow,
    Summary,
    YearSummary,
)
from intensive_tracker.site.annual_report import build_document, defended_sentence
from intensive_tracker.site.pages import absent_sentence
from tests.html_pages import parse
from tests.test_demo import ABSENT, KU_2023_24, SHN_2023_24
from tests.test_site_demo import TERMS_SEED

NBSP = "\u00a0"
SESSIONS = ["№ п/п", "Дата проведения", "Тема", "Количество участников"]
SESSIONS_SPEAKER = ["№ п/п", "Дата проведения", "Тема", "Спикер", "Количество участников"]
TERMS = [
    "",
    "Сроки участия в проекте",
    "Количество педагогов, прошедших защиту методической разработки на заключительном этапе",
]


def _rows(doc: Any) -> list[list[list[str]]]:
    return [[[cell.text for cell in row.cells] for row in table.rows] for table in doc.tables]


def _tables(doc: Any, header: list[str]) -> list[list[list[str]]]:
    """The bodies (header row dropped) of the document's tables with this header, in document order."""
    return [rows[1:] for rows in _rows(doc) if rows[0] == header]


def _int(cell: str) -> int:
    return int(cell.replace(NBSP, ""))


def _text(doc: Any) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def _program(summary: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p for p in summary["programs"] if p["key"] == key)


def _year(program: dict[str, Any], school_year: str) -> dict[str, Any]:
    return next(y for y in program["years"] if y["school_year"] == school_year)


@pytest.fixture(scope="module")
def demo(demo_site: Path) -> tuple[Any, dict[str, Any]]:
    """The demo's annual-report.docx (written by `report`) and its summary.json."""
    return (
        Document(str(demo_site / "annual-report.docx")),
        json.loads((demo_site / "summary.json").read_text("utf-8")),
    )


def _sessions_match(rows: list[list[str]], program: dict[str, Any], *, speakers: bool) -> None:
    *sessions, total = rows
    assert len(sessions) == len(program["sessions"])
    for row, s in zip(sessions, program["sessions"], strict=True):
        day = datetime.strptime(s["date"], "%Y-%m-%d").strftime("%d.%m.%y")
        expected = [str(s["number"]), day, s["topic"], *([s["speaker"] or ""] if speakers else [])]
        assert row[:-1] == expected and _int(row[-1]) == s["present"]
    assert total[2] == "Итого посещений" and _int(total[-1]) == program["attendances"]


def test_ku_sessions_table_equals_summary_json(demo: tuple[Any, dict[str, Any]]) -> None:
    """«Конструирование урока» 2023/24: 12 rows (№, dd.mm.yy, topic, participants) and the total «1 950»."""
    doc, summary = demo
    ku = _program(summary, "ku")
    [rows] = _tables(doc, SESSIONS)
    _sessions_match(rows, ku, speakers=False)
    assert [_int(r[-1]) for r in rows[:-1]] == KU_2023_24
    assert rows[-1][-1] == f"1{NBSP}950"


def test_shn_sessions_table_has_speakers_and_equals_summary_json(demo: tuple[Any, dict[str, Any]]) -> None:
    """«Школа наставничества»: its 8 sessions 99…137 with topics and speakers, as summary.json has them."""
    doc, summary = demo
    [rows] = _tables(doc, SESSIONS_SPEAKER)
    shn = _program(summary, "shn")
    _sessions_match(rows, shn, speakers=True)
    assert [_int(r[-1]) for r in rows[:-1]] == SHN_2023_24


def test_defenses_table_by_terms_equals_summary_json(demo: tuple[Any, dict[str, Any]]) -> None:
    """«Сроки участия в проекте»: 2021 34, 2022 75, 2023 286, «2024 (1 полугодие)» 160, from participation_terms."""
    doc, summary = demo
    [rows] = _tables(doc, TERMS)
    terms = _program(summary, "ku")["participation_terms"]
    assert [[str(i), t["label"], str(t["defenses_passed"])] for i, t in enumerate(terms, 1)] == rows
    assert rows == TERMS_SEED


def test_counting_sentences_come_from_summary_json(demo: tuple[Any, dict[str, Any]]) -> None:
    """«316 педагогов из 39 городских округов», attendances against unique people, the 21 absent districts."""
    doc, summary = demo
    text = _text(doc)
    year = _year(_program(summary, "ku"), "2023/24")
    assert (
        f"защиту успешно прошли {year['defenses_passed']} педагогов из {year['districts_with_defenses']} "
        "городских округов."
    ) in text
    assert "прошли 316 педагогов из 39 городских округов" in text
    assert (
        f"За 2023/24 учебный год — {number(year['attendances'])} посещений занятий; их совершили "
        f"{number(year['unique_participants'])} участник"
    ) in text
    absent = "Не принимали участие педагоги из округов: " + ", ".join(year["districts_not_reached"]) + "."
    assert absent in text and year["districts_not_reached"] == ABSENT


def test_districts_appendix_equals_summary_json(demo: tuple[Any, dict[str, Any]]) -> None:
    """Appendix: per district participants, attendances and (where the program has defenses) defenses passed."""
    doc, summary = demo
    [ku_rows] = _tables(doc, ["Городской округ", "Участников", "Посещений", "Прошли защиту"])
    [shn_rows] = _tables(doc, ["Городской округ", "Участников", "Посещений"])
    for rows, key, columns in ((ku_rows, "ku", 3), (shn_rows, "shn", 2)):
        expected = _year(_program(summary, key), "2023/24")["by_district"]
        fields = ["participants", "attendances", "defenses_passed"][:columns]
        assert [[r[0], *map(_int, r[1:])] for r in rows] == [[d["district"], *(d[f] for f in fields)] for d in expected]


def test_program_without_defense_says_why_and_has_no_defense_figures(demo: tuple[Any, dict[str, Any]]) -> None:
    """The mentor school has no defense: one sentence says so; there is one terms table and one chart (the KU's)."""
    doc, _ = demo
    text = _text(doc)
    assert "Защиты методической разработки в программе «Школа наставничества» нет" in text
    assert len(_tables(doc, TERMS)) == 1
    assert len(doc.inline_shapes) == 1 and "Рисунок 1. Количество педагогов" in text
    assert "0 педагогов" not in text


def test_narrative_is_left_to_the_methodist_as_marked_placeholders(demo: tuple[Any, dict[str, Any]]) -> None:
    """Aims, events and conclusions are «[Текст методиста: …]» paragraphs in their own style, not invented prose."""
    doc, _ = demo
    notes = [p for p in doc.paragraphs if p.text.startswith("[Текст методиста: ")]
    assert len(notes) >= 4 and {p.style.name for p in notes} == {"Текст методиста"}
    assert (
        doc.paragraphs[0].text.startswith("Аналитический отчёт") and "2023-2024 учебный год" in doc.paragraphs[0].text
    )


def test_default_document_is_a4_times_14_with_real_styles(demo: tuple[Any, dict[str, Any]]) -> None:
    """A4, margins 30/15/20/20 mm, Times New Roman 14; headings and tables use Word's named styles."""
    doc, _ = demo
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [
        round(x.mm) for x in (section.left_margin, section.right_margin, section.top_margin, section.bottom_margin)
    ] == [30, 15, 20, 20]
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(14)
    assert {"Heading 1", "Heading 2", "Title"} <= {p.style.name for p in doc.paragraphs}
    assert {t.style.name for t in doc.tables} == {"Table Grid"}


def test_tables_and_chart_fit_between_the_margins(demo: tuple[Any, dict[str, Any]]) -> None:
    """Every table's columns and the chart add up to at most the width between the margins."""
    doc, _ = demo
    s = doc.sections[-1]
    usable = s.page_width - s.left_margin - s.right_margin
    for table in doc.tables:
        assert sum(column.width for column in table.columns) <= usable
        assert all(sum(c.width for c in row.cells) <= usable for row in table.rows)
    assert all(shape.width <= usable for shape in doc.inline_shapes)


def test_report_links_the_draft_from_the_index_and_writes_it_private(demo_site: Path) -> None:
    """The index links «Черновик аналитического отчёта (Word)»; the file is readable by its owner only."""
    page = (demo_site / "index.html").read_text("utf-8")
    assert '<a href="annual-report.docx">Черновик аналитического отчёта (Word)</a>' in page
    assert "annual-report.docx" in parse(demo_site / "index.html").links
    assert stat.S_IMODE(os.stat(demo_site / "annual-report.docx").st_mode) == 0o600


def _config(demo_site: Path, tmp_path: Path, *report_lines: str) -> Path:
    """The demo's config in tmp_path, on the demo's database, with extra [report] lines."""
    text = (demo_site.parent / "config.toml").read_text("utf-8")
    text = text.replace(
        'database_url = "sqlite:///tracker.db"', f'database_url = "sqlite:///{demo_site.parent / "tracker.db"}"'
    )
    text = text.replace('out_dir = "report"', "\n".join(['out_dir = "report"', *report_lines]))
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


def test_annual_report_command_writes_the_year_asked(demo_site: Path, tmp_path: Path) -> None:
    """`annual-report --year 2022/23 --out FILE` prints FILE; its terms table ends with «2023 (1 полугодие)»."""
    out = tmp_path / "отчёт.docx"
    result = CliRunner().invoke(
        cli, ["--config", str(_config(demo_site, tmp_path)), "annual-report", "--year", "2022/23", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    doc = Document(str(out))
    [rows] = _tables(doc, TERMS)
    assert rows[-1][1] == "2023 (1 полугодие)" and [r[1] for r in rows[:-1]] == ["2021", "2022"]
    assert "2022-2023 учебный год" in doc.paragraphs[0].text


def test_year_without_sessions_leaves_every_table_out_and_says_why(demo_site: Path, tmp_path: Path) -> None:
    """A year with no records: no table, no chart, no «0 педагогов»; a sentence per part says why."""
    out = tmp_path / "пусто.docx"
    result = CliRunner().invoke(
        cli, ["--config", str(_config(demo_site, tmp_path)), "annual-report", "--year", "2019/20", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    doc = Document(str(out))
    text = _text(doc)
    assert doc.tables == [] and len(doc.inline_shapes) == 0
    assert "занятий программы «Конструирование урока» не было" in text
    assert "пройденных защит в записях нет" in text
    assert " 0 " not in text and "0 педагогов" not in text


def test_bad_year_is_a_usage_error(demo_site: Path, tmp_path: Path) -> None:
    """--year must read like 2023/24."""
    result = CliRunner().invoke(cli, ["--config", str(_config(demo_site, tmp_path)), "annual-report", "--year", "2023"])
    assert result.exit_code == 2 and "2023/24" in result.output


def _template(path: Path, *, drop_styles: tuple[str, ...] = ()) -> Path:
    """Her letterhead: a first page, a header and a footer, Arial 12 and 25 mm margins; some styles missing."""
    doc = Document()
    section = doc.sections[0]
    section.left_margin = Mm(25)
    section.header.paragraphs[0].text = "ЦНППМ · Лаборатория «Формула успеха»"
    section.footer.paragraphs[0].text = "г. Москва"
    doc.add_paragraph("Бланк лаборатории")
    doc.styles["Normal"].font.name = "Arial"
    doc.styles["Normal"].font.size = Pt(12)
    for name in drop_styles:
        element = doc.styles[name].element
        element.getparent().remove(element)
    doc.save(str(path))
    return path


def test_template_keeps_her_first_page_headers_footers_and_styles(demo_site: Path, tmp_path: Path) -> None:
    """--template: her first page stays first, her header, footer, margins and fonts stay; the report follows."""
    template = _template(tmp_path / "бланк.docx", drop_styles=("Heading 1", "Table Grid"))
    out = tmp_path / "из-бланка.docx"
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(_config(demo_site, tmp_path)),
            "annual-report",
            "--template",
            str(template),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = Document(str(out))
    assert doc.paragraphs[0].text == "Бланк лаборатории"
    assert 'w:type="page"' in doc.paragraphs[1]._p.xml
    assert doc.paragraphs[2].text.startswith("Аналитический отчёт")
    section = doc.sections[0]
    assert section.header.paragraphs[0].text == "ЦНППМ · Лаборатория «Формула успеха»"
    assert section.footer.paragraphs[0].text == "г. Москва" and round(section.left_margin.mm) == 25
    assert doc.styles["Normal"].font.name == "Arial" and doc.styles["Normal"].font.size == Pt(12)
    assert {t.style.name for t in doc.tables} == {"Table Grid"}
    assert "Heading 1" in {p.style.name for p in doc.paragraphs}
    assert len(_tables(doc, SESSIONS)) == 1


def test_template_from_the_config_is_used_by_report(demo_site: Path, tmp_path: Path) -> None:
    """report.annual_template (relative to the config) is what `report` starts annual-report.docx from."""
    _template(tmp_path / "бланк.docx")
    config = _config(demo_site, tmp_path, 'annual_template = "бланк.docx"')
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "--out", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    assert Document(str(tmp_path / "site" / "annual-report.docx")).paragraphs[0].text == "Бланк лаборатории"


def test_draft_can_be_turned_off(demo_site: Path, tmp_path: Path) -> None:
    """report.annual_docx = false: no .docx beside the site and no link to it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "annual-report.docx").write_bytes(b"old")
    config = _config(demo_site, tmp_path, "annual_docx = false")
    result = CliRunner().invoke(cli, ["--config", str(config), "report", "--out", str(site)])
    assert result.exit_code == 0, result.output
    assert not (site / "annual-report.docx").exists()
    assert "annual-report.docx" not in (site / "index.html").read_text("utf-8")


@pytest.mark.parametrize("content", [None, b"just text, not a Word file", b"PK\x03\x04broken zip"])
def test_unreadable_template_exits_78_naming_the_file(
    demo_site: Path,
    tmp_path: Path,
    content: bytes | None,
) -> None:
    """A missing file, a text file or a broken archive as template: a Russian message naming it, exit 78."""
    template = tmp_path / "бланк.docx"
    if content is not None:
        template.write_bytes(content)
    for args in (
        ["annual-report", "--template", str(template), "--out", str(tmp_path / "x.docx")],
        ["report", "--out", str(tmp_path / "site")],
    ):
        config = _config(demo_site, tmp_path, 'annual_template = "бланк.docx"')
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 78, result.output
        assert f"шаблон отчёта {template}" in result.stderr and "Traceback" not in result.output
        assert ("файл не найден" if content is None else "это не документ Word (.docx)") in result.stderr
    assert not (tmp_path / "x.docx").exists()


def _summary(sessions: int, *, passed: int = 1, districts: int = 1) -> Summary:
    """A program of one school year with `sessions` long-topic sessions, built without a database."""
    tz = ZoneInfo("Europe/Moscow")
    rows = [
        SessionRow(
            number=i,
            starts_at=datetime(2023, 9, 4, 15, tzinfo=tz) + timedelta(days=7 * i),
            topic=f"Занятие {i}: " + "длинная формулировка темы " * 4,
            speaker=None,
            present=10 + i,
            taken=True,
            cohort="K",
        )
        for i in range(1, sessions + 1)
    ]
    year = YearSummary(
        school_year="2023/24",
        sessions=rows,
        attendances=sum(r.present for r in rows),
        unique_participants=sessions,
        defenses_passed=passed,
        districts=[DistrictRow("Балашиха", sessions, sum(r.present for r in rows), passed)],
        districts_reached=["Балашиха"],
        districts_not_reached=["Бронницы"],
        districts_with_defenses=districts,
    )
    program = ProgramSummary(
        key="t",
        title="Тест",
        full_title=None,
        school_year="2023/24",
        current=year,
        years=[year],
        defenses_passed=DefenseCounts({"2024": passed}, {"2024-H1": passed}, {"2023/24": passed}),
        outcomes_by_school_year={"2023/24": OutcomeCounts(passed=passed)},
        participation_terms=[("2024 (1 полугодие)", passed)],
    )
    return Summary(generated_at=datetime(2024, 7, 1, tzinfo=tz), timezone=str(tz), programs=[program])


def test_thirty_sessions_make_one_table_whose_header_repeats_on_each_page() -> None:
    """30 sessions: 30 numbered rows and the total in one table; its header row is marked to repeat."""
    doc = build_document(_summary(30), school_year="2023/24")
    [rows] = _tables(doc, SESSIONS)
    assert [r[0] for r in rows[:-1]] == [str(i) for i in range(1, 31)]
    assert _int(rows[-1][-1]) == sum(10 + i for i in range(1, 31))
    table = doc.tables[0]
    assert "<w:tblHeader/>" in table.rows[0]._tr.xml and "<w:tblHeader/>" not in table.rows[1]._tr.xml


@pytest.mark.parametrize(
    ("passed", "districts", "expected"),
    [
        (1, 1, "защиту успешно прошёл 1 педагог из 1 городского округа."),
        (2, 2, "защиту успешно прошли 2 педагога из 2 городских округов."),
        (5, 5, "защиту успешно прошли 5 педагогов из 5 городских округов."),
        (21, 21, "защиту успешно прошёл 21 педагог из 21 городского округа."),
        (1950, 12, f"защиту успешно прошли 1{NBSP}950 педагогов из 12 городских округов."),
    ],
)
def test_defended_sentence_agrees_in_number(passed: int, districts: int, expected: str) -> None:
    """Russian plural forms and thousands: «1 педагог из 1 городского округа», «1 950 педагогов»."""
    year = _summary(3, passed=passed, districts=districts).programs[0].years[0]
    assert defended_sentence(year) == f"В 2023/24 учебном году {expected}"


def test_report_year_defaults_to_the_newest_program_year() -> None:
    """Without --year the title names the newest school year the records have."""
    doc = build_document(_summary(2), school_year=None)
    assert "2023-2024 учебный год" in doc.paragraphs[0].text


def test_word_template_dotx_is_accepted(demo_site: Path, tmp_path: Path) -> None:
    """A Word template (.dotx) works like a .docx: her first page stays first."""
    import zipfile

    docx = _template(tmp_path / "бланк.docx")
    dotx = tmp_path / "бланк.dotx"
    with zipfile.ZipFile(docx) as source, zipfile.ZipFile(dotx, "w") as target:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "[Content_Types].xml":
                body = body.replace(b"document.main+xml", b"template.main+xml")
            target.writestr(item, body)
    out = tmp_path / "из-шаблона.docx"
    result = CliRunner().invoke(
        cli,
        ["--config", str(_config(demo_site, tmp_path)), "annual-report", "--template", str(dotx), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert Document(str(out)).paragraphs[0].text == "Бланк лаборатории"


def test_unwritable_out_is_named_without_a_traceback(demo_site: Path, tmp_path: Path) -> None:
    """--out in a folder that cannot be made: the message names the file and says what to do."""
    (tmp_path / "файл").write_text("x", "utf-8")
    out = tmp_path / "файл" / "отчёт.docx"
    result = CliRunner().invoke(
        cli, ["--config", str(_config(demo_site, tmp_path)), "annual-report", "--out", str(out)]
    )
    assert result.exit_code == 78, result.output
    assert f"{out}: не удаётся записать отчёт" in result.stderr and "--out" in result.stderr


@pytest.mark.parametrize(
    ("passed", "districts", "expected"),
    [
        (1, 1, "In the 2023/24 school year 1 teacher from 1 district passed the defense."),
        (1950, 12, "In the 2023/24 school year 1,950 teachers from 12 districts passed the defense."),
    ],
)
def test_defended_sentence_in_english(passed: int, districts: int, expected: str) -> None:
    year = _summary(3, passed=passed, districts=districts).programs[0].years[0]
    with using("en"):
        assert defended_sentence(year) == expected


def test_the_word_report_is_english_when_asked_and_only_its_data_stay_russian() -> None:
    """`with using("en")` (`--lang en`, `[report] language = "en"`): headings, tables, sentences and the
    methodist's placeholders in English; topics, districts and program titles are data and stay as they are."""
    summary = _summary(3, passed=2, districts=2)
    year = summary.programs[0].years[0]
    with using("en"):
        doc = build_document(summary, school_year="2023/24")
        absent = absent_sentence(year)  # site/pages.py's sentence, converted with the pages
    data = [*(s.topic for s in year.sessions), "Тест", "Балашиха", "Бронницы", "2024 (1 полугодие)"]
    texts = [p.text for p in doc.paragraphs if p.text != absent]
    texts += [cell for rows in _rows(doc) for row in rows for cell in row]
    for value in data:
        texts = [t.replace(value, "") for t in texts]
    assert [t for t in texts if re.search(r"[А-Яа-яЁё]", t)] == []
    assert doc.paragraphs[0].text.startswith("Analytic report")
    assert _tables(doc, ["No.", "Date held", "Topic", "Number of participants"])
    assert "In the 2023/24 school year: 36 session attendances, made by 3 participants: many join" in _text(doc)
    # The style names are her template's identifiers, the same in both languages.
    assert {p.style.name for p in doc.paragraphs if p.text.startswith("[Methodist's text: ")} == {"Текст методиста"}
