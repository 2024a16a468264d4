"""The annual analytic report (seed 002's structure) as an editable Word document, drafted from the records.

Every figure, date and name list comes from the Summary the site is built from (`reports.build_summary`)
and the site's own sentence functions; the prose the records cannot give (aims, events, conclusions) is
left to the methodist as «[Текст методиста: …]». Formatting lives in named Word styles, so she restyles
the whole document in one place; with her template (`--template`, `report.annual_template`) her styles,
first page, headers and footers are kept and the report is appended after her first page.
"""

from __future__ import annotations

import copy
import io
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Mm, Pt, RGBColor

from intensive_tracker.annual_chart import bar_chart_png
from intensive_tracker.errors import ConfigError
from intensive_tracker.periods import ru_date, school_year_start
from intensive_tracker.render import plural
from intensive_tracker.reports import ProgramSummary, Summary, YearSummary, participation_terms
from intensive_tracker.site import absent_sentence

FILE_NAME = "annual-report.docx"
FONT = "Times New Roman"
TWIP = 635  # EMU
TABLE_TEXT, TABLE_HEADING, NOTE, FIGURE = "Текст таблицы", "Заголовок таблицы", "Текст методиста", "Рисунок"
BUILT_IN = ("Title", "Heading 1", "Heading 2", "Caption", "Table Grid")
SESSION_HEADERS = ["№ п/п", "Дата проведения", "Тема", "Количество участников"]
TERMS_HEADERS = ["", "Сроки участия в проекте",
                 "Количество педагогов, прошедших защиту методической разработки на заключительном этапе"]
DISTRICT_HEADERS = ["Городской округ", "Участников", "Посещений", "Прошли защиту"]


def ru_number(n: int) -> str:
    """1950 → «1 950» (a non-breaking space between thousands, as Russian text writes them)."""
    return f"{n:,}".replace(",", "\u00a0")


def note(what: str) -> str:
    """The marked place for the methodist's own prose."""
    return f"[Текст методиста: {what}]"


def report_year(summary: Summary, school_year: str | None) -> str | None:
    """The year asked for, else the newest report year of any program (each program's is the site's)."""
    return school_year or max((p.school_year for p in summary.programs if p.school_year), default=None)


def write_annual_report(summary: Summary, path: Path, *, school_year: str | None = None,
                        template: Path | None = None) -> Path:
    """Write the .docx atomically with mode 0600 (as every file of the report folder); returns `path`."""
    from intensive_tracker.exports import _write_bytes

    buffer = io.BytesIO()
    build_document(summary, school_year=school_year, template=template).save(buffer)
    _write_bytes(path, buffer.getvalue())
    return path


def write_beside_site(summary: Summary, out_dir: Path, *, enabled: bool, school_year: str | None,
                      template: Path | None) -> str | None:
    """`report`: annual-report.docx in the report folder; its href for the index, None when turned off."""
    path = out_dir / FILE_NAME
    if not enabled:
        path.unlink(missing_ok=True)  # turned off: no stale draft left behind
        return None
    write_annual_report(summary, path, school_year=school_year, template=template)
    return FILE_NAME


def open_template(path: Path) -> Any:
    """Her Word document (.docx, or a .dotx template); a file that is not one is a configuration error (78)."""
    try:
        return Document(io.BytesIO(_as_document(path.read_bytes())))
    except FileNotFoundError:
        why = "файл не найден"
    except OSError as e:
        why = f"не удаётся прочитать ({e.strerror})"
    except Exception:  # noqa: BLE001 - a damaged or foreign file fails in zipfile, lxml or python-docx alike
        why = "это не документ Word (.docx)"
    raise ConfigError(f"шаблон отчёта {path}: {why}. Укажите документ Word: в Word «Сохранить как» → «Документ "
                      f"Word (*.docx)», — или уберите --template и ключ report.annual_template.")


def _as_document(data: bytes) -> bytes:
    # A Word template (.dotx) differs from a document only in its main part's content type.
    source = zipfile.ZipFile(io.BytesIO(data))
    types = source.read("[Content_Types].xml")
    if b"template.main+xml" not in types:
        return data
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item)
            target.writestr(item, body.replace(b"template.main+xml", b"document.main+xml") if item.filename ==
                            "[Content_Types].xml" else body)
    return out.getvalue()


def build_document(summary: Summary, *, school_year: str | None, template: Path | None = None) -> Any:
    """The whole report as a python-docx Document."""
    doc = open_template(template) if template is not None else _default_document()
    if template is not None and _has_content(doc):
        doc.add_page_break()  # her first page stays first
    _ensure_styles(doc)
    year = report_year(summary, school_year)
    span = f"{school_year_start(year)}-{school_year_start(year) + 1}" if year else None
    doc.add_paragraph(f"Аналитический отчёт\nо реализации регионального проекта {note('название проекта')}"
                      + (f" за {span} учебный год" if span else ""), style="Title")
    if year is None:
        _text(doc, "В базе нет ни одного занятия и ни одной защиты: сначала выполните синхронизацию (sync).")
        return doc
    doc.add_paragraph(note("цель и задачи проекта, показатели проекта, системообразующие мероприятия "
                           "регионального уровня, направления деятельности Лаборатории"), style=NOTE)
    figures = iter(range(1, 1000))
    for program in summary.programs:
        _program(doc, program, year, figures)
    doc.add_paragraph(note("выводы об эффективности мер по реализации сопровождения молодых специалистов"),
                      style=NOTE)
    appendix = [(p, y) for p in summary.programs if (y := p.year(year)) is not None and y.held]
    if appendix:
        doc.add_paragraph("Приложения", style="Heading 1")
    for number, (program, y) in enumerate(appendix, start=1):
        doc.add_paragraph(f"Приложение {number}. {program.title}: участие городских округов в {year} учебном году",
                          style="Heading 2")
        with_defense = bool(program.outcomes_by_school_year)
        headers = DISTRICT_HEADERS if with_defense else DISTRICT_HEADERS[:3]
        rows = [[d.district, ru_number(d.participants), ru_number(d.attendances),
                 *([ru_number(d.defenses_passed)] if with_defense else [])] for d in y.districts]
        _table(doc, headers, rows, [0.4, 0.2, 0.2, 0.2] if with_defense else [0.5, 0.25, 0.25], numeric={1, 2, 3})
    return doc


def _program(doc: Any, program: ProgramSummary, year: str, figures: Any) -> None:
    """One program in seed 002's order: sessions, defenses by year, the counting sentences, absent districts."""
    title = program.title
    doc.add_paragraph(program.full_title or title, style="Heading 1")
    doc.add_paragraph(note(f"задачи и формат программы «{title}», запуски {year} учебного года"), style=NOTE)
    y = program.year(year)
    if y is None or not y.held:
        _text(doc, f"В {year} учебном году занятий программы «{title}» не было: в записях нет ни одного "
                   "проведённого занятия, поэтому таблица занятий и список округов не приводятся.")
    else:
        _sessions(doc, y)
        doc.add_paragraph(note("итоги запусков, методические продукты участников"), style=NOTE)
    if not program.outcomes_by_school_year:
        _text(doc, f"Защиты методической разработки в программе «{title}» нет: в записях нет ни одной защиты, "
                   "поэтому таблица и диаграмма защит не приводятся.")
    else:
        terms = _terms(program, year)
        if terms:
            _table(doc, TERMS_HEADERS, [[str(i), label, ru_number(n)] for i, (label, n) in enumerate(terms, 1)],
                   [0.08, 0.32, 0.60], numeric={0, 2})
            png = bar_chart_png([(label, n, ru_number(n)) for label, n in terms], ylabel="Прошли защиту, педагогов")
            doc.add_paragraph(style=FIGURE).add_run().add_picture(io.BytesIO(png), width=min(Cm(16), _width(doc)))
            doc.add_paragraph(f"Рисунок {next(figures)}. Количество педагогов, прошедших защиту методической "
                              f"разработки, по срокам участия в проекте («{title}»)", style="Caption")
        else:
            _text(doc, f"До конца {year} учебного года пройденных защит в записях нет, поэтому таблица по срокам "
                       "участия не приводится.")
    if y is not None and y.held:
        _text(doc, attendance_sentence(y))
    if program.outcomes_by_school_year:
        _text(doc, defended_sentence(y) if y is not None and y.defenses_passed else
              f"В {year} учебном году пройденных защит в записях нет.")
    if y is not None and y.held:
        _text(doc, absent_sentence(y))
    doc.add_paragraph(note("выводы и меры: как обеспечить участие всех городских округов"), style=NOTE)


def _sessions(doc: Any, y: YearSummary) -> None:
    """«№ п/п / Дата проведения / Тема / (Спикер) / Количество участников» and a total of attendances."""
    speakers = any(s.speaker for s in y.held)
    headers = SESSION_HEADERS[:3] + (["Спикер"] if speakers else []) + SESSION_HEADERS[3:]
    rows = [[str(s.number), ru_date(s.day), s.topic, *([s.speaker or ""] if speakers else []), ru_number(s.present)]
            for s in y.held]
    rows.append(["", "", "Итого посещений", *([""] if speakers else []), ru_number(y.attendances)])
    widths = [0.07, 0.16, 0.41, 0.18, 0.18] if speakers else [0.08, 0.17, 0.53, 0.22]
    _table(doc, headers, rows, widths, numeric={0, 1, len(headers) - 1})
    if y.planned:
        _text(doc, "Запланировано, ещё не проведено: "
                   + "; ".join(f"{ru_date(s.day)} — {s.topic}" for s in y.planned) + ".")


def attendance_sentence(y: YearSummary) -> str:
    """Attendances against unique participants, with the re-attendance remark only when it is true."""
    a, u = y.attendances, y.unique_participants
    again = ": многие подключаются к занятиям повторно." if a > u else "."
    return (f"За {y.school_year} учебный год — {ru_number(a)} {plural(a, 'посещение', 'посещения', 'посещений')} "
            f"занятий; их совершили {ru_number(u)} {plural(u, 'участник', 'участника', 'участников')}{again}")


def defended_sentence(y: YearSummary) -> str:
    """«В 2023/24 учебном году защиту успешно прошли 316 педагогов из 39 городских округов.»"""
    n, d = y.defenses_passed, y.districts_with_defenses
    verb = "прошёл" if plural(n, "1", "2", "5") == "1" else "прошли"
    where = f" из {ru_number(d)} {plural(d, 'городского округа', 'городских округов', 'городских округов')}" if d else ""
    return (f"В {y.school_year} учебном году защиту успешно {verb} {ru_number(n)} "
            f"{plural(n, 'педагог', 'педагога', 'педагогов')}{where}.")


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


def _has_content(doc: Any) -> bool:
    body = doc.element.body
    return any(child.tag != qn("w:sectPr") and ("".join(child.itertext()).strip() or child.xpath(".//w:drawing"))
               for child in body)


def _default_document() -> Any:
    """A4, margins 30/15/20/20 mm, Times New Roman 14, black headings: a Russian official document."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin, section.top_margin, section.bottom_margin = Mm(30), Mm(15), Mm(20), Mm(20)
    normal = doc.styles["Normal"]
    _font(normal, Pt(14))
    normal.paragraph_format.first_line_indent = Cm(1.25)
    normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    normal.paragraph_format.space_before = Pt(6)  # before, so text after a table keeps its distance too
    normal.paragraph_format.space_after = Pt(0)
    for name, size, align in (("Title", 14, WD_ALIGN_PARAGRAPH.CENTER), ("Heading 1", 14, WD_ALIGN_PARAGRAPH.CENTER),
                              ("Heading 2", 14, WD_ALIGN_PARAGRAPH.LEFT), ("Caption", 12, WD_ALIGN_PARAGRAPH.CENTER)):
        style = doc.styles[name]
        _font(style, Pt(size))
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.bold = name != "Caption"
        style.paragraph_format.first_line_indent = Cm(0)
        style.paragraph_format.alignment = align
        style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(12), Pt(6)
        for border in style.element.xpath("./w:pPr/w:pBdr"):
            border.getparent().remove(border)  # the default Title's underline
    doc.styles["Title"].font.spacing = Pt(0)
    return doc


def _font(style: Any, size: Pt) -> None:
    # Theme fonts (asciiTheme, …) would override the named one; Cyrillic uses the hAnsi slot.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in [a for a in fonts.attrib if a.endswith("heme")]:
        del fonts.attrib[attr]
    for slot in ("ascii", "hAnsi", "cs", "eastAsia"):
        fonts.set(qn(f"w:{slot}"), FONT)
    style.font.size = size


def _ensure_styles(doc: Any) -> None:
    """Her styles are used as they are; what her document lacks is added (built-in ones from python-docx's)."""
    default = Document()
    for name in BUILT_IN:
        _copy_style(doc, default, name)
    for name, bold, italic, align in ((TABLE_TEXT, False, False, WD_ALIGN_PARAGRAPH.LEFT),
                                      (TABLE_HEADING, True, False, WD_ALIGN_PARAGRAPH.CENTER),
                                      (NOTE, False, True, None), (FIGURE, False, False, WD_ALIGN_PARAGRAPH.CENTER)):
        if _has_style(doc, name):
            continue
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles["Normal"]
        style.font.bold, style.font.italic = bold, italic
        if name == NOTE:
            style.font.color.rgb = RGBColor(0xC0, 0, 0)
        else:
            style.font.size = Pt(12)
            fmt = style.paragraph_format
            fmt.first_line_indent, fmt.alignment, fmt.line_spacing = Cm(0), align, 1.0
            fmt.space_before = fmt.space_after = Pt(0)
            fmt.keep_with_next = name == FIGURE


def _has_style(doc: Any, name: str) -> bool:
    try:
        doc.styles[name]
    except KeyError:
        return False
    return True


def _copy_style(doc: Any, default: Any, name: str) -> None:
    """Copy a built-in style python-docx's template has into hers, its base first; ids mapped by name."""
    if _has_style(doc, name):
        return
    source = default.styles[name]
    element = copy.deepcopy(source.element)
    for link in element.xpath("./w:link | ./w:next | ./w:basedOn"):
        element.remove(link)
    doc.styles.element.append(element)
    if source.base_style is not None:
        _copy_style(doc, default, source.base_style.name)
        doc.styles[name].base_style = doc.styles[source.base_style.name]
