"""One message catalog: Russian by default, English on request, and nothing a person reads outside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from intensive_tracker import i18n
from intensive_tracker.catalog import problems
from intensive_tracker.cli import cli
from intensive_tracker.i18n import _, language_from_env, ngettext, number, percent, using
from tests.i18n_scan import (
    ROOT,
    python_findings,
    python_modules,
    relative,
    shadowing,
    template_files,
    template_findings,
)

# Made of data, not messages: the demo world's names, topics and Moodle answers (Russian as a real Moodle
# holds them), the spellings people type, the transliteration table, the catalog tool's own pattern.
DATA_MODULES = {
    "connectors/demo/answers.py",
    "connectors/demo/generate.py",
    "connectors/demo/history.py",
    "connectors/demo/people.py",
    "connectors/demo/records.py",
    "connectors/demo/world.py",
    "intensive_tracker/people/spelling.py",
    "intensive_tracker/text.py",
    "intensive_tracker/catalog.py",
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "ru"),
        ({"LANG": "C.UTF-8"}, "ru"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LANG": "de_DE.UTF-8"}, "ru"),
        ({"LC_ALL": "en_GB.UTF-8", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"LANGUAGE": "de:en", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"LC_MESSAGES": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"}, "ru"),
    ],
)
def test_the_terminal_language_is_read_as_gettext_reads_it(environ: dict[str, str], expected: str) -> None:
    assert language_from_env(environ) == expected


def test_numbers_and_percentages_are_written_as_each_language_writes_them() -> None:
    assert (number(1950), percent(0.625)) == ("1\u00a0950", "62,5 %")
    with using("en"):
        assert (number(1950), percent(0.625)) == ("1,950", "62.5%")
    assert number(1950) == "1\u00a0950"


def test_a_document_language_holds_only_inside_its_block() -> None:
    i18n.set_language("en")
    with using("ru"):
        assert i18n.language() == "ru"
    assert i18n.language() == "en"


def test_an_error_is_prefixed_in_the_chosen_language(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    ru = CliRunner().invoke(cli, ["--config", str(missing), "status"])
    en = CliRunner().invoke(cli, ["--lang", "en", "--config", str(missing), "status"])
    assert ru.exit_code == en.exit_code == 78
    assert ru.output.startswith("Ошибка: ")
    assert en.output.startswith("Error: ")


def test_lang_en_in_the_environment_selects_english(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "nowhere.toml"), "status"], env={"LANG": "en_US.UTF-8"}
    )
    assert result.output.startswith("Error: ")


def test_plural_forms_follow_each_language() -> None:
    forms = [ngettext("{n} участник", "{n} участников", n) for n in (1, 2, 5, 21, 1950)]
    assert forms == ["1 участник", "2 участника", "5 участников", "21 участник", "1\u00a0950 участников"]
    with using("en"):
        assert [ngettext("{n} участник", "{n} участников", n) for n in (1, 2)] == ["1 participant", "2 participants"]


def test_the_catalog_translates_every_message_it_extracts() -> None:
    """Every `_()`/`ngettext()` of the code and templates has its English (and its Russian plural forms)."""
    assert problems() == []


def test_english_is_not_russian() -> None:
    with using("en"):
        assert _("Ошибка: {message}", message="x") == "Error: x"


@pytest.mark.parametrize("path", python_modules(), ids=relative)
def test_no_python_module_writes_words_past_the_catalog(path: Path) -> None:
    name = relative(path)
    if name in DATA_MODULES:
        pytest.skip("data, not messages")
    assert list(python_findings(path)) + list(shadowing(path)) == []


@pytest.mark.parametrize("path", template_files(), ids=relative)
def test_no_template_writes_words_past_the_catalog(path: Path) -> None:
    assert list(template_findings(path)) == []


def test_the_scan_sees_a_word_past_the_catalog(tmp_path: Path) -> None:
    bad = ROOT / "tests" / "_scan_probe.py"
    try:
        bad.write_text(
            'from intensive_tracker.i18n import _\n\nraise ValueError("нет данных")\n'
            'x = _("нет данных")\nfor _ in []: pass\n',
            "utf-8",
        )
        findings = list(python_findings(bad)) + list(shadowing(bad))
    finally:
        bad.unlink()
    assert len(findings) == 2, findings
