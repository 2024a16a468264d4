"""The terminal speaks one language at a time: Russian by default, English with --lang en or LANG=en_US.

Help pages included, click's own words («Usage:», «Missing argument», «No such option») as well.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from intensive_tracker.cli import cli
from tests.test_moodle_sync import TOKEN_ENV, write_config

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
# What click writes in English unless routed through the catalog: its sentences, headings and metavars.
CLICK_ENGLISH = (
    "Usage:",
    "Options:",
    "Commands:",
    "Positional arguments",
    "Show this message",
    "Show the version",
    "default:",
    "required",
    "Error:",
    "Missing argument",
    "Try '",
    "for help",
    "No such option",
    "Did you mean",
    "did you mean",
    "Invalid value",
    "is not one of",
    "is not a valid",
    "requires an argument",
    "[OPTIONS]",
    "COMMAND",
    "[ARGS]",
    "QUERY",
    "NAME",
    "FILE",
    "FOLDER",
    "INTEGER",
    "TEXT",
    "PATH",
    "DIRECTORY",
)


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, prog_name="intensive-tracker")


def every_command_path() -> list[list[str]]:
    paths: list[list[str]] = [[]]
    for name, command in sorted(cli.commands.items()):
        paths.append([name])
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in sorted(command.commands)]
    return paths


def click_english_in(text: str) -> list[str]:
    return [words for words in CLICK_ENGLISH if words in text]


@pytest.mark.parametrize("path", every_command_path(), ids=lambda p: " ".join(p) or "root")
def test_every_help_page_is_in_one_language(path: list[str]) -> None:
    russian = run(*path, "--help")
    english = run("--lang", "en", *path, "--help")
    assert russian.exit_code == english.exit_code == 0, russian.output + english.output
    assert russian.output.startswith("Использование: intensive-tracker")
    assert click_english_in(russian.output) == []
    assert english.output.startswith("Usage: intensive-tracker")
    assert CYRILLIC.findall(english.output) == [], english.output
    assert run(*path, "--help", env={"LANG": "en_US.UTF-8"}).output == english.output


def test_the_root_help_lists_its_sections_and_options_in_each_language() -> None:
    russian = run("--help").output
    assert "Параметры:" in russian and "Команды:" in russian
    assert "Показать эту справку и выйти." in russian and "Показать версию и выйти." in russian
    assert "[ПАРАМЕТРЫ] КОМАНДА [АРГУМЕНТЫ]..." in russian
    assert "Синхронизирует интенсивы лаборатории из Moodle и строит отчёт методиста." in russian
    english = run("--lang", "en", "--help").output
    assert "Options:" in english and "Commands:" in english and "Show this message and exit." in english
    assert "Syncs the lab's Moodle intensives and renders the methodist's report." in english


def test_sync_help_and_a_default_in_each_language() -> None:
    assert "Заново загрузить каждую когорту целиком" in run("sync", "--help").output
    assert "[по умолчанию: 10; 1<=x<=1000]" in run("status", "--help").output
    assert "[default: 10; 1<=x<=1000]" in run("--lang", "en", "status", "--help").output


@pytest.mark.parametrize(
    ("args", "russian", "english"),
    [
        (["--bogus"], "Ошибка: Нет такого параметра '--bogus'.", "Error: No such option '--bogus'."),
        (["person"], "Ошибка: Не указан аргумент 'ЗАПРОС'.", "Error: Missing argument 'QUERY'."),
        (["import-form"], "Ошибка: Не указан аргумент 'ИМЯ'.", "Error: Missing argument 'NAME'."),
        (["serve", "--port", "x"], "'x' — не целое число.", "'x' is not a valid integer."),
        (["status", "--limit"], "Параметр '--limit' требует аргументов: 1.", "Option '--limit' requires an argument."),
        (["nosuch"], "Ошибка: Нет такой команды 'nosuch'.", "Error: No such command 'nosuch'."),
    ],
)
def test_usage_errors_are_in_one_language(args: list[str], russian: str, english: str) -> None:
    ru = run(*args)
    en = run("--lang", "en", *args)
    assert ru.exit_code == en.exit_code == 2
    assert russian in ru.output and click_english_in(ru.output) == [], ru.output
    assert english in en.output and CYRILLIC.findall(en.output) == [], en.output


def test_a_suggestion_after_an_unknown_option_follows_the_language() -> None:
    assert "(возможно, '--quiet'?)" in run("--quite").output
    assert "(did you mean '--quiet'?)" in run("--lang", "en", "--quite").output
    assert "(возможно, одно из: '--verbose', '--version'?)" in run("--verbos").output
    assert "Справка: «intensive-tracker --help»." in run("--quite").output


def test_a_wrong_language_is_refused_in_the_terminal_language() -> None:
    result = run("--lang", "de", "status")
    assert result.exit_code == 2
    assert "Недопустимое значение '--lang': 'de' — не одно из значений 'ru', 'en'." in result.output
    english = run("--lang", "de", "status", env={"LANG": "en_US.UTF-8"})
    assert "Invalid value for '--lang': 'de' is not one of 'ru', 'en'." in english.output


def test_version_in_each_language() -> None:
    assert run("--version").output.startswith("intensive-tracker, версия ")
    assert run("--lang", "en", "--version").output.startswith("intensive-tracker, version ")


def _fresh_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "tracker.db"}"\n', "utf-8")
    return config


@pytest.mark.parametrize("how", [["--lang", "en"], []], ids=["--lang en", "LANG=en_US.UTF-8"])
def test_status_in_english(tmp_path: Path, how: list[str]) -> None:
    config = _fresh_config(tmp_path)
    env = None if how else {"LANG": "en_US.UTF-8"}
    result = run(*how, "--config", str(config), "status", env=env)
    assert result.exit_code == 0, result.output
    assert "Database: SQLite " in result.stdout and "No sync has run yet." in result.stdout
    assert "schema behind (empty → " in result.stdout and "run intensive-tracker db upgrade" in result.stdout
    assert "Schedule:" in result.stdout and "(sync and report, " in result.stdout and "; not run yet" in result.stdout
    assert CYRILLIC.findall(result.output) == [], result.output
    russian = run("--config", str(config), "status")
    assert "Запусков синхронизации ещё не было." in russian.stdout and "(синхронизация и отчёт, " in russian.stdout


def test_check_without_a_token_in_english(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    result = run("--lang", "en", "--config", str(config), "check")
    assert result.exit_code == 78
    lines = result.stdout.splitlines()
    assert lines[0] == f"✔ configuration: {config}: valid"
    assert lines[1].startswith(f"✘ token: the Moodle token is not set: export {TOKEN_ENV}=<token of the service user>")
    assert lines[-1] == "Problems found: exit code 78."
    # The guide's file name is Russian (data); nothing else is.
    assert CYRILLIC.findall(result.stdout.replace("docs/администратору.md", "")) == [], result.stdout
    russian = run("--config", str(config), "check")
    # The item is a value of `check --json` ("token" in both languages); people read it in their language.
    assert russian.stdout.splitlines()[0] == f"✔ конфигурация: {config}: в порядке"
    assert russian.stdout.splitlines()[1].startswith(f"✘ токен: токен Moodle не задан: export {TOKEN_ENV}=")
    assert russian.stdout.splitlines()[-1] == "Есть проблемы: код выхода 78."


def test_a_config_error_and_its_suggestion_in_english(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[moodle]\nurl = "https://m.example"\nrtries = 3\n[[programs]]\nkey = "ku"\ntitle = "KU"\n'
        '[[cohorts]]\nkey = "KU-2023-H1"\nprogram = "ku"\ncourse = 2\npass_grad = 6\n'
        '[report]\nannual_docx = "maybe"\n',
        "utf-8",
    )
    english = run("--lang", "en", "--config", str(config), "sync")
    assert english.exit_code == 78
    assert english.stderr.startswith("Error: ")
    assert "[[cohorts]] #1 (KU-2023-H1): pass_grad: unknown key; did you mean pass_grade?" in english.stderr
    assert "[moodle] rtries: unknown key; did you mean retries?" in english.stderr
    assert "[report] annual_docx: true or false expected" in english.stderr
    assert CYRILLIC.findall(english.stderr) == [], english.stderr
    env = run("--config", str(config), "sync", env={"LANG": "en_US.UTF-8"})
    assert env.stderr == english.stderr
    russian = run("--config", str(config), "sync")
    assert "[[cohorts]] №1 (KU-2023-H1): pass_grad: неизвестный ключ; возможно, pass_grade?" in russian.stderr


def test_a_validator_message_follows_the_language(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('timezone = "Europe/Moskva"\n[schedule]\nsync = "every night"\n', "utf-8")
    english = run("--lang", "en", "--config", str(config), "status")
    assert english.exit_code == 78
    assert "timezone: unknown time zone 'Europe/Moskva' (for example Europe/Moscow)" in english.stderr
    assert "'every night' is not a crontab line (minute hour day month weekday)" in english.stderr
    russian = run("--config", str(config), "status")
    assert "timezone: неизвестный часовой пояс 'Europe/Moskva' (например, Europe/Moscow)" in russian.stderr
    assert "'every night' — не строка crontab" in russian.stderr


def test_a_launch_and_a_half_year_are_named_in_each_language() -> None:
    from intensive_tracker.i18n import using
    from intensive_tracker.periods import half_year_label, launch_title

    assert (launch_title(1, "2023/24", "KU"), launch_title(2, "2023/24", "KU")) == (
        "1-е полугодие 2023/24",
        "2-е полугодие 2023/24",
    )
    assert half_year_label("2024-H1") == "2024 (1 полугодие)"
    with using("en"):
        assert launch_title(1, "2023/24", "KU") == "1st half-year 2023/24"
        assert launch_title(2, "2023/24", "KU") == "2nd half-year 2023/24"
        assert launch_title(None, "2023/24", "KU", "Весна") == "Весна"  # a title from the config is data
        assert half_year_label("2024-H1") == "2024 (half-year 1)"
