"""The demo as a new user meets it: one language per line, no defense figures where there is no defense,
sync counts that mean what they say, Russian numbers and launch titles, one data-quality view."""

from __future__ import annotations

import email
import html
import re
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from intensive_tracker.cli import cli
from tests.html_pages import visible_text

pytestmark = pytest.mark.slow  # one demo run for the module

# Words a Russian line may carry in Latin letters: names of systems, formats and the program.
ALLOWED = {
    "moodle",
    "smtp",
    "xlsx",
    "csv",
    "json",
    "e-mail",
    "word",
    "excel",
    "sqlite",
    "postgresql",
    "iso",
    "utf",
    "html",
    "pdf",
    "toml",
    "id",
    "bcc",
    "cc",
    "build",  # «Moodle 4.5.6 (Build: …)», Moodle's own release string
    "cmid",  # Moodle's course-module id, named as the administrator finds it in the course page's address
}
# Identifiers and names, not words: removed before a line is judged.
NOT_WORDS = [
    r"^\S+ (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) \[[\w-]+\] ",  # the journal's fields: time, level, job
    r"(?<![@\w.])[a-z_]+(?:\.[a-z_]+)+\b(?![@\w])",  # config keys by their path: profile_fields.district, moodle.token_env
    r"«[^»]*»",  # a quoted value is data (a course, a header, a spelling), not a word of the message
    r"https?://\S+",
    r"`[^`]*`",
    r"\S+@\S+",
    r"(?:intensive-tracker|-m intensive_tracker)(?:\s+[A-Za-z0-9./<>_=:-]+)*",
    r"[A-Za-z0-9_./-]*/[A-Za-z0-9_./-]*",  # paths
    r"\S+\.(?:csv|xlsx|html|eml|toml|json|docx|db|txt|md)\b",
    r"\[\[?[a-z_.]+\]?\]",  # [districts.aliases], [[people.join]]
    r"\b[\w-]*[\d_][\w:-]*",  # KU-2023-H1, pass_grade, 4.5.6
    r"\b\w+:\w[\w:-]*",  # moodle:1203
    r"\b[a-z]+-[a-z-]+\b",  # nightly-sync, data-quality: names of jobs and commands
    r"--[a-z-]+",
]


def mixed_words(line: str) -> list[str]:
    """The English words of a line that also has Russian ones (empty: one language, or allowed terms only)."""
    for pattern in NOT_WORDS:
        line = re.sub(pattern, " ", line)
    if not re.search(r"[А-Яа-яЁё]{2,}", line):
        return []
    return [w for w in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", line) if w.lower() not in ALLOWED and len(w) > 1]


def test_the_scanner_finds_mixed_lines_and_passes_names() -> None:
    """«Последняя синхронизация interrupted» is mixed; Moodle, file names, keys and commands are not."""
    assert mixed_words("Последняя синхронизация interrupted: часть данных") == ["interrupted"]
    assert mixed_words("participants: +42 новых") == ["participants"]
    assert mixed_words("reg.csv, строка 9: row 9 repeats row 2") == ["row", "repeats", "row"]
    assert mixed_words("Данные Moodle в XLSX и CSV: `intensive-tracker sync`, report.xlsx, KU-2023-H1") == []
    assert mixed_words("Попробуйте: /srv/.venv/bin/intensive-tracker --config out/demo/config.toml status") == []


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Result]]:
    """The demo (not quiet), then the verbs a new user tries on it; their results by command line."""
    out = tmp_path_factory.mktemp("demo")
    runner = CliRunner()
    results = {"demo": runner.invoke(cli, ["demo", "--out", str(out)])}
    assert results["demo"].exit_code == 0, results["demo"].output
    config = str(out / "config.toml")
    for args in (
        ["sync"],
        ["sync", "--full"],
        ["report"],
        ["status"],
        ["check"],
        ["data-quality"],
        ["db", "current"],
        ["person", "Иванова"],
        ["email", "--preview"],
        ["email", "--status"],
        ["annual-report", "--out", str(out / "annual.docx")],
    ):
        results[" ".join(args)] = runner.invoke(cli, ["--config", config, *args])
        assert results[" ".join(args)].exception is None or isinstance(results[" ".join(args)].exception, SystemExit)
    return out, results


def _mail_texts(folder: Path) -> dict[str, str]:
    texts = {}
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        texts[path.name] = "\n".join(
            [
                str(message["Subject"]),
                *(str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"),
            ]
        )
    return texts


def _html_text(text: str) -> str:
    """The text of a page or an HTML e-mail, one line per element (attributes and styles left out)."""
    without_code = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", without_code))


def test_no_line_of_the_demo_mixes_russian_and_english(demo: tuple[Path, dict[str, Result]]) -> None:
    """Every CLI output, page and e-mail of the demo: no line with Russian and English words outside the allowed terms."""
    out, results = demo
    sources: dict[str, str] = {f"$ {cmd}": r.output for cmd, r in results.items()}
    for page in sorted((out / "report").rglob("*.html")):
        sources[str(page.relative_to(out))] = _html_text(page.read_text("utf-8"))
    for name, text in _mail_texts(out / "mail-preview").items():
        sources[name] = _html_text(text)
    found = [
        f"{where}: {line.strip()!r} → {words}"
        for where, text in sources.items()
        for line in text.splitlines()
        if (words := mixed_words(line))
    ]
    assert not found, "\n".join(found[:40])


def test_a_program_without_defense_shows_no_defense_figures(demo: tuple[Path, dict[str, Result]]) -> None:
    """«Школа наставничества» has no defense: its pages, sheets, CSV files, district sections and e-mails say nothing of one."""
    out, _ = demo
    report = out / "report"
    for page in report.glob("shn-*.html"):
        assert "защит" not in visible_text(page).lower(), page.name
    index = visible_text(report / "index.html")
    shn = index[index.index("Школа наставничества") :]
    assert "защит" not in shn.split("Городские округа")[0].lower()
    book = load_workbook(report / "report.xlsx", read_only=True)
    for sheet in book.sheetnames:
        if sheet.startswith("shn"):
            cells = [str(c) for row in book[sheet].iter_rows(values_only=True) for c in row if c is not None]
            assert not any("защит" in c.lower() for c in cells), sheet
    for table in (report / "csv").glob("shn-*.csv"):
        assert "защит" not in table.read_text("utf-8-sig").lower(), table.name
    for page in (report / "districts").glob("*.html"):
        for section in visible_text(page).split("Конструирование урока")[0].split("Школа наставничества")[1:]:
            assert "защит" not in section.lower(), page.name
    shn_mails = {n: t for n, t in _mail_texts(out / "mail-preview").items() if "_shn_" in n}
    assert shn_mails and not any("защит" in t.lower() for t in shn_mails.values())
    ku_year = visible_text(report / "ku-2023-24.html")
    assert "Прошли защиту" in ku_year  # the program with a defense keeps its figures


def test_a_rerun_of_sync_counts_existing_participants_unchanged(demo: tuple[Path, dict[str, Result]]) -> None:
    """A no-op `sync --full` says «участники: +0 новых, 0 изменено, N без изменений» with N > 0."""
    _, results = demo
    sync = results["sync --full"]
    assert sync.exit_code == 0, sync.output
    (line,) = [x for x in sync.stdout.splitlines() if x.strip().startswith("участники:")]
    unchanged = int(re.search(r"([\d\u00a0]+) без изменений", line).group(1).replace("\u00a0", ""))  # type: ignore[union-attr]
    assert "+0 новых, 0 изменено" in line and unchanged > 0


def test_a_nightly_rerun_claims_nothing_it_did_not_compare(demo: tuple[Path, dict[str, Result]]) -> None:
    """The demo's cohorts are finished: the re-run says how each was refreshed, and no line reads «+0 …, 0 без изменений»."""
    _, results = demo
    sync = results["sync"]
    assert sync.exit_code == 0, sync.output
    assert "когорты: полностью 0" in sync.stdout and "Изменений нет" in sync.stdout
    assert not [x for x in sync.stdout.splitlines() if "+0 новых, 0 изменено, 0 без изменений" in x]


def test_numbers_and_launch_titles_read_as_russian(demo: tuple[Path, dict[str, Result]]) -> None:
    """Thousands with a (non-breaking) space; launches named «1-е полугодие 2023/24», never «запуск KU-…»."""
    out, _ = demo
    year = (out / "report" / "ku-2023-24.html").read_text("utf-8")
    cells = re.findall(r'<td class="num">([^<]*)</td>', year) + re.findall(r"<dd>([^<]*)</dd>", year)
    assert cells and not [c for c in cells if re.fullmatch(r"\d{4,}", c)]
    assert any("\u00a0" in c for c in cells)  # the year's attendances run into the thousands
    assert "1-е полугодие 2023/24" in year and "запуск KU-" not in year


def test_data_quality_on_the_terminal_lists_what_quality_html_lists(demo: tuple[Path, dict[str, Result]]) -> None:
    """The same counts in `data-quality` and on quality.html (people without a district, twins, sessions)."""
    out, results = demo
    cli_text = results["data-quality"].stdout
    page = visible_text(out / "report" / "quality.html")
    without = re.search(r"Участники без округа: (\d+)", page)
    assert without and f"Участники без округа: {without.group(1)}" in cli_text
    untaken = re.search(r"Прошедшие занятия без отметок: (\d+)", page)
    assert untaken and f"Прошедшие занятия без отметок: {untaken.group(1)}" in cli_text


def test_the_demo_hint_names_a_command_that_exists(demo: tuple[Path, dict[str, Result]]) -> None:
    """«Попробуйте: …» names the program by a path that exists, or by a name on PATH."""
    _, results = demo
    (hint,) = [x for x in results["demo"].stderr.splitlines() if x.startswith("Попробуйте:")]
    program = hint.split()[1]
    assert program == "intensive-tracker" or Path(program).exists() or program.endswith("python")
