"""Configuration errors name the key and exit 78; secrets only come from the environment."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from intensive_tracker.cli import cli
from intensive_tracker.config import Settings


def _run(tmp_path: Path, text: str, *args: str):  # type: ignore[no-untyped-def]
    config = tmp_path / "config.toml"
    config.write_text(text, "utf-8")
    return CliRunner().invoke(cli, ["--config", str(config), *args, "sync"])


def test_unknown_key_is_named_and_exits_78(tmp_path: Path) -> None:
    """A misspelt key stops the run with EX_CONFIG and names the key."""
    result = _run(tmp_path, 'databse_url = "sqlite:///x.db"\n')
    assert result.exit_code == 78
    assert "databse_url" in result.output


def test_token_in_the_file_is_refused(tmp_path: Path) -> None:
    """A token written into the config is refused, naming the variable to use instead."""
    result = _run(tmp_path, '[moodle]\nurl = "https://m.example"\ntoken = "abcd1234abcd1234"\n')
    assert result.exit_code == 78
    assert "INTENSIVE_TRACKER_MOODLE_TOKEN" in result.output
    assert "abcd1234abcd1234" not in result.output


def test_cohort_of_unknown_program_is_named(tmp_path: Path) -> None:
    """A cohort pointing at a program that is not configured is a config error."""
    text = (
        '[moodle]\nurl = "https://m.example"\n[[programs]]\nkey = "ku"\ntitle = "КУ"\n'
        '[[cohorts]]\nkey = "A"\nprogram = "nope"\ncourse = 2\n'
    )
    result = _run(tmp_path, text)
    assert result.exit_code == 78
    assert "'nope'" in result.output


def test_missing_config_file_says_how_to_get_one(tmp_path: Path) -> None:
    """No config file: exit 78 and a hint at config.example.toml and `demo`."""
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"), "sync"])
    assert result.exit_code == 78
    assert "config.example.toml" in result.output


def test_missing_token_variable_is_named(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A real Moodle without the token in the environment: exit 78 naming the variable."""
    monkeypatch.delenv("MY_TOKEN", raising=False)
    text = (
        '[moodle]\nurl = "https://m.example"\ntoken_env = "MY_TOKEN"\n[[programs]]\nkey = "ku"\ntitle = "КУ"\n'
        '[[cohorts]]\nkey = "A"\nprogram = "ku"\ncourse = 2\n'
    )
    result = _run(tmp_path, text)
    assert result.exit_code == 78
    assert "MY_TOKEN" in result.output


def test_a_misspelt_key_is_named_as_the_file_writes_it_with_the_nearest_valid_key(tmp_path: Path) -> None:
    """`[[cohorts]] №1 (KU-2023-H1): pass_grad` in Russian, counted from 1, with «возможно, pass_grade?»."""
    text = (
        '[moodle]\nurl = "https://m.example"\nrtries = 3\n[[programs]]\nkey = "ku"\ntitle = "КУ"\n'
        '[[cohorts]]\nkey = "KU-2023-H1"\nprogram = "ku"\ncourse = 2\npass_grad = 6\n'
    )
    result = _run(tmp_path, text)
    assert result.exit_code == 78
    assert "[[cohorts]] №1 (KU-2023-H1): pass_grad: неизвестный ключ; возможно, pass_grade?" in result.stderr
    assert "[moodle] rtries: неизвестный ключ; возможно, retries?" in result.stderr
    assert "Extra inputs" not in result.stderr and "cohorts.0" not in result.stderr


def test_a_wrong_value_is_described_in_russian(tmp_path: Path) -> None:
    """A wrong type says what is expected, in Russian, naming the table and key."""
    result = _run(tmp_path, '[report]\nannual_docx = "maybe"\n')
    assert result.exit_code == 78
    assert "[report] annual_docx: ожидается true или false" in result.stderr


def test_without_database_url_the_database_is_intensive_tracker_db_as_documented() -> None:
    # The documented default file name is part of the contract (docs/reference.md, config.example.toml).
    assert Settings().database_url == "sqlite:///intensive_tracker.db"
