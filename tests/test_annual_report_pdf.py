"""The annual report rendered by LibreOffice headless: A4 pages, text within the margins, pages saved as PNG.

LibreOffice is Debian's libreoffice-writer-nogui, the PDF tools are poppler-utils (.ci/run installs both when
missing). Outside CI a machine without them skips these tests with the reason; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from intensive_tracker.site.annual_report import write_annual_report
from tests.test_annual_report import _summary

ARTIFACTS = Path(__file__).parent / "artifacts"
A4 = (595.28, 841.89)  # points
MM = 72 / 25.4
LEFT, RIGHT, TOP, BOTTOM = 30 * MM, 15 * MM, 20 * MM, 20 * MM
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')


def _tool(*names: str, package: str) -> str:
    path = next((p for name in names if (p := shutil.which(name))), None)
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{names[0]} is required in CI (.ci/run installs {package} with apt-get)")
        pytest.skip(f"{names[0]} not installed (apt-get install {package}); the rendering check runs in CI")
    return path


def _pdf(docx: Path, out_dir: Path) -> Path:
    """docx → PDF by LibreOffice headless, with a profile of its own (no clash with a running office)."""
    office = _tool("libreoffice", "soffice", package="libreoffice-writer-nogui")
    result = subprocess.run(
        [
            office,
            f"-env:UserInstallation={(out_dir / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            str(docx),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    pdf = out_dir / (docx.stem + ".pdf")
    assert result.returncode == 0 and pdf.is_file(), result.stderr[-2000:]
    return pdf


def _pages(pdf: Path) -> list[tuple[tuple[float, float], list[tuple[float, float, float, float, str]]]]:
    """Each page's size and its words' boxes, from pdftotext -bbox."""
    _tool("pdftotext", package="poppler-utils")
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for chunk in html.split("<page ")[1:]:
        width, height = PAGE.match("<page " + chunk).groups()  # type: ignore[union-attr]
        words = [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in WORD.findall(chunk)]
        pages.append(((float(width), float(height)), words))
    return pages


def _assert_a4_within_margins(pdf: Path) -> None:
    pages = _pages(pdf)
    assert pages
    for number, ((width, height), words) in enumerate(pages, start=1):
        assert abs(width - A4[0]) <= 1 and abs(height - A4[1]) <= 1, f"page {number}: {width}x{height} pt"
        outside = [
            w
            for w in words
            if w[0] < LEFT - 1 or w[2] > A4[0] - RIGHT + 1 or w[1] < TOP - 1 or w[3] > A4[1] - BOTTOM + 1
        ]
        assert outside == [], f"page {number}: text past the margins: {outside[:5]}"


@pytest.fixture(scope="module")
def demo_pdf(demo_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's annual-report.docx as PDF."""
    return _pdf(demo_site / "annual-report.docx", tmp_path_factory.mktemp("annual-pdf"))


def test_demo_report_has_a4_pages_and_text_within_the_margins(demo_pdf: Path) -> None:
    """Every page is A4 (595×842 pt ±1); no word of a paragraph or a table cell runs past the margins."""
    _assert_a4_within_margins(demo_pdf)


def test_demo_report_pages_are_saved_for_review(demo_pdf: Path) -> None:
    """tests/artifacts/annual-report-N.png show each rendered page to a reviewer; the tables' figures are on them."""
    _tool("pdftoppm", package="poppler-utils")
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("annual-report-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(demo_pdf), str(ARTIFACTS / "annual-report")], check=True)
    shots = sorted(ARTIFACTS.glob("annual-report-*.png"))
    assert len(shots) == len(_pages(demo_pdf)) >= 3
    assert all(s.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for s in shots)
    text = " ".join(w[4] for _, words in _pages(demo_pdf) for w in words)
    assert "Электросталь." in text and "Итого" in text


def test_thirty_sessions_span_pages_within_the_margins_with_the_header_repeated(tmp_path: Path) -> None:
    """A year of 30 sessions: the table crosses a page, stays inside the margins, its header on each page."""
    docx = write_annual_report(_summary(30), tmp_path / "thirty.docx", school_year="2023/24")
    pdf = _pdf(docx, tmp_path)
    _assert_a4_within_margins(pdf)
    with_table = [words for _, words in _pages(pdf) if any(w[4] == "Занятие" for w in words)]
    assert len(with_table) >= 2
    assert all(any(w[4] == "п/п" for w in words) for words in with_table)
