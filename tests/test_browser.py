"""The demo site in a real headless Chromium, served by `serve`: no console error; a screenshot of the index.

Chromium is Debian's package (.ci/run installs it when missing). Outside CI a machine without it
skips these tests with the reason; in CI (CI=true) its absence fails them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from intensive_tracker.ops.serve import make_server

ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]
# Chromium logs each console message of the page as `INFO:CONSOLE(…)] "text", source: …` with these flags.
CONSOLE = re.compile(r"CONSOLE[^\]]*\]\s*(.*)")


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is required in CI (.ci/run installs it with apt-get)")
        pytest.skip("chromium not installed (apt-get install chromium); the browser check runs in CI")
    return path


@pytest.fixture(scope="module")
def served(demo_site: Path) -> Iterator[str]:
    """The demo report served on 127.0.0.1 (a free port) for the module's tests; stopped afterwards."""
    server = make_server(demo_site, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _run(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _console(stderr: str) -> list[str]:
    return [m.group(1) for line in stderr.splitlines() if (m := CONSOLE.search(line))]


def test_index_renders_without_console_errors_and_is_screenshotted(served: str, tmp_path: Path) -> None:
    """The index loads in Chromium with no console message; tests/artifacts/index.png shows it to a reviewer."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "index.png"
    shot.unlink(missing_ok=True)
    result = _run(served + "index.html", tmp_path, "--window-size=1280,2000", f"--screenshot={shot}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console(result.stderr) == []
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


@pytest.mark.parametrize("page", ["ku-2023-24.html", "shn-2023-24.html", "districts/balashikha.html"])
def test_pages_render_tables_without_console_errors(served: str, tmp_path: Path, page: str) -> None:
    """A program-year page and a district page load with no console message and their tables in the DOM."""
    result = _run(served + page, tmp_path, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    assert _console(result.stderr) == []
    assert "<table" in result.stdout and "</html>" in result.stdout


def test_console_errors_are_detected(tmp_path: Path) -> None:
    """The console check itself works: a page that logs an error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><title>x</title><script>console.error("сломано")</script>', "utf-8")
    result = _run(bad.as_uri(), tmp_path, "--dump-dom")
    assert any("сломано" in line for line in _console(result.stderr))


def test_district_email_with_the_most_sessions_fits_700px(demo_site: Path, tmp_path: Path) -> None:
    """The demo e-mail with the widest matrix, in a 700 px window: no horizontal overflow; tests/artifacts/mail-700.png."""
    import email
    from email import policy

    from click.testing import CliRunner

    from intensive_tracker.cli import cli

    out = tmp_path / "preview"
    result = CliRunner().invoke(
        cli, ["--config", str(demo_site.parent / "config.toml"), "email", "--preview", "--outbox", str(out)]
    )
    assert result.exit_code == 0, result.output
    bodies = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default).get_body(("html",)).get_content()  # type: ignore[union-attr]
        for p in sorted(out.glob("*.eml"))
    ]
    widest = max(bodies, key=lambda html: (html.count('class="session"'), html.count('class="fio"')))
    assert widest.count('class="session"') >= 10
    # The check runs in the page: a console message if the document is wider than the window.
    probe = (
        "<script>if (document.documentElement.scrollWidth > window.innerWidth) "
        'console.error("wider than the window: " + document.documentElement.scrollWidth);</script></body>'
    )
    page = tmp_path / "mail.html"
    page.write_text(widest.replace("</body>", probe), "utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "mail-700.png"
    shot.unlink(missing_ok=True)
    result = _run(page.as_uri(), tmp_path, "--window-size=700,1400", f"--screenshot={shot}")  # type: ignore[assignment]
    assert result.returncode == 0, result.stderr[-2000:]  # type: ignore[attr-defined]
    assert _console(result.stderr) == []  # type: ignore[attr-defined]
    assert shot.is_file() and shot.stat().st_size > 10_000


PRINTED = ["index.html", "ku-2023-24.html", "districts/balashikha.html", "quality.html"]
MEDIABOX = re.compile(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]")
WORD_XMAX = re.compile(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"')


@pytest.mark.parametrize("page", PRINTED)
def test_printed_pages_are_a4_and_nothing_overflows(served: str, tmp_path: Path, page: str) -> None:
    """Printed to PDF, every page is A4 (595×842 pt) and no word runs past the page's right edge."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pdftotext (poppler-utils) is required in CI")
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = tmp_path / "page.pdf"
    result = _run(served + page, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert result.returncode == 0 and pdf.is_file(), result.stderr[-2000:]
    boxes = MEDIABOX.findall(pdf.read_bytes())
    assert boxes, "no MediaBox in the PDF"
    for w, h in boxes:
        assert abs(float(w) - 595) <= 2 and abs(float(h) - 842) <= 2, f"{page}: page {w}×{h} pt is not A4"
    bbox = subprocess.run([pdftotext, "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    xmax = [float(x) for x in WORD_XMAX.findall(bbox)]
    assert xmax, f"{page}: no text in the PDF"
    assert max(xmax) <= 595, f"{page}: a word ends at x={max(xmax)} pt, past the A4 width"
    shot = ARTIFACTS / f"phone-{Path(page).stem}.png"
    phone = _run(served + page, tmp_path, "--window-size=390,2000", f"--screenshot={shot}")
    assert phone.returncode == 0 and shot.is_file()
