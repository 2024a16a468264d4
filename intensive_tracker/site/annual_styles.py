"""Word styles and pages of the annual report: the clean default document, her template, the named styles.

Formatting lives in named styles (Word's built-in «Заголовок 1/2», «Название», «Сетка таблицы», «Название
объекта» and four of ours), so the methodist restyles the whole report in one place. Her template's styles
win; only what it lacks is added.
"""

from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

from intensive_tracker.errors import ConfigError
from intensive_tracker.i18n import _

FONT = "Times New Roman"
# Style names are identifiers her template may define (she restyles by name): the same in every language.
TABLE_TEXT = "Текст таблицы"  # not a message
TABLE_HEADING = "Заголовок таблицы"  # not a message
NOTE = "Текст методиста"  # not a message
FIGURE = "Рисунок"  # not a message
BUILT_IN = ("Title", "Heading 1", "Heading 2", "Caption", "Table Grid")


def open_template(path: Path) -> Any:
    """Her Word document (.docx, or a .dotx template); a file that is not one is a configuration error (78)."""
    try:
        return Document(io.BytesIO(_as_document(path.read_bytes())))
    except FileNotFoundError:
        why = _("файл не найден")
    except OSError as e:
        why = _("не удаётся прочитать ({reason})", reason=e.strerror)
    except Exception:  # noqa: BLE001 - a damaged or foreign file fails in zipfile, lxml or python-docx alike
        why = _("это не документ Word (.docx)")
    raise ConfigError(
        _(
            "шаблон отчёта {path}: {why}. Укажите документ Word: в Word «Сохранить как» → «Документ "
            "Word (*.docx)», — или уберите --template и ключ report.annual_template.",
            path=path,
            why=why,
        )
    )


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
            target.writestr(
                item,
                body.replace(b"template.main+xml", b"document.main+xml")
                if item.filename == "[Content_Types].xml"
                else body,
            )
    return out.getvalue()


def has_content(doc: Any) -> bool:
    body = doc.element.body
    return any(
        child.tag != qn("w:sectPr") and ("".join(child.itertext()).strip() or child.xpath(".//w:drawing"))
        for child in body
    )


def default_document() -> Any:
    """A4, margins 30/15/20/20 mm, Times New Roman 14, black headings: a Russian official document."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin, section.top_margin, section.bottom_margin = (
        Mm(30),
        Mm(15),
        Mm(20),
        Mm(20),
    )
    normal = doc.styles["Normal"]
    _font(normal, Pt(14))
    normal.paragraph_format.first_line_indent = Cm(1.25)
    normal.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    normal.paragraph_format.space_before = Pt(6)  # before, so text after a table keeps its distance too
    normal.paragraph_format.space_after = Pt(0)
    for name, size, align in (
        ("Title", 14, WD_ALIGN_PARAGRAPH.CENTER),
        ("Heading 1", 14, WD_ALIGN_PARAGRAPH.CENTER),
        ("Heading 2", 14, WD_ALIGN_PARAGRAPH.LEFT),
        ("Caption", 12, WD_ALIGN_PARAGRAPH.CENTER),
    ):
        style = doc.styles[name]
        _font(style, Pt(size))
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.bold = name != "Caption"
        style.paragraph_format.first_line_indent = Cm(0)
        style.paragraph_format.alignment = align
        style.paragraph_format.space_before, style.paragraph_format.space_after = Pt(12), Pt(6)
        for border in style.element.xpath("./w:pPr/w:pBdr"):
            border.getparent().remove(border)  # the default Title's underline
    for loose in doc.styles["Title"].element.xpath("./w:rPr/w:spacing | ./w:rPr/w:kern"):
        loose.getparent().remove(loose)  # the default Title's letter spacing
    return doc


def _font(style: Any, size: Pt) -> None:
    # Theme fonts (asciiTheme, …) would override the named one; Cyrillic uses the hAnsi slot.
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in [a for a in fonts.attrib if a.endswith("heme")]:
        del fonts.attrib[attr]
    for slot in ("ascii", "hAnsi", "cs", "eastAsia"):
        fonts.set(qn(f"w:{slot}"), FONT)
    style.font.size = size


def ensure_styles(doc: Any) -> None:
    """Her styles are used as they are; what her document lacks is added (built-in ones from python-docx's)."""
    default = Document()
    for name in BUILT_IN:
        _copy_style(doc, default, name)
    for name, bold, italic, align in (
        (TABLE_TEXT, False, False, WD_ALIGN_PARAGRAPH.LEFT),
        (TABLE_HEADING, True, False, WD_ALIGN_PARAGRAPH.CENTER),
        (NOTE, False, True, None),
        (FIGURE, False, False, WD_ALIGN_PARAGRAPH.CENTER),
    ):
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
