"""What the sources and the sync say, in Russian by default and in English on request (issue 14).

The English wording of `check` and of the Moodle errors is pinned word for word in test_check.py,
test_moodle_client.py and test_moodle_replay.py; here the Russian default, and that English output
carries no Russian words beyond the data (names quoted «…» from Moodle or the files).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from sqlalchemy.engine import Engine

from connectors.forms.readers import FileRejected, read_table
from connectors.moodle import errors as e
from connectors.moodle.plan import plan_cohort
from intensive_tracker.cli import cli
from intensive_tracker.config import CohortSettings, MoodleSettings
from intensive_tracker.i18n import using
from tests.test_check import CHECK_RECORDINGS, run_check
from tests.test_forms_import import GOOGLE, folder, rejects, write_config  # noqa: F401 (folder: a fixture)
from tests.test_forms_rows import reasons
from tests.test_moodle_client import URL, client
from tests.test_moodle_replay import TOKEN, Replay
from tests.test_moodle_sync import TOKEN_ENV
from tests.test_moodle_sync import write_config as moodle_config

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
QUOTED = re.compile(r"«[^«»]*»")  # names from Moodle or a file: data, in whatever language they were written


def words_outside_data(text: str) -> list[str]:
    """The lines of `text` with Cyrillic left once every «quoted» name is taken out."""
    return [line for line in text.splitlines() if CYRILLIC.search(QUOTED.sub("", line))]


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Replay(rsps).add(*CHECK_RECORDINGS)


def test_check_speaks_russian_by_default(replay: Replay, tmp_path: Path) -> None:
    """Without --lang the checklist is Russian, its numbers in Russian plural forms; identifiers stay as they are."""
    config = moodle_config(tmp_path, f"sqlite:///{tmp_path / 'tracker.db'}")
    result = CliRunner().invoke(cli, ["--config", str(config), "check"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "✔ Moodle доступен по адресу http://moodle.test: сайт отвечает на вызовы веб-служб" in out
    assert "пользователь службы ws_tracker" in out
    assert "все 9 функций, нужных конфигурации, есть в службе токена" in out
    assert "когорта KU-2023-H1: посещаемость «Журнал посещаемости» (cmid 2): 6 занятий (отмечено: 6)" in out
    assert "проходит оценка не ниже 6; оценок: 95, ответов: 116" in out
    assert "когорта SHN-2023-24: приостановленные записи: читаются (сейчас 0)" in out
    assert "sessions" not in out and "cohort" not in out


def test_check_in_english_has_no_russian_but_the_data(replay: Replay, tmp_path: Path) -> None:
    """--lang en: every line English; what is left in Cyrillic is quoted data (course and activity names)."""
    result = run_check(tmp_path, lang="en")
    assert result.exit_code == 0, result.output
    assert "all 9 the config needs are in the token's service" in result.stdout
    items = "\n".join(line for line in result.stdout.splitlines() if line[:1] in "✔✘!")  # the checklist's lines
    assert len(items.splitlines()) == 14
    assert words_outside_data(items) == []


def test_a_red_check_line_says_what_to_do_in_each_language(replay: Replay, tmp_path: Path) -> None:
    """The fix after «→» names the Moodle administration menus in the language of the check."""
    replay.add("104_ERR_webservices_disabled")
    ru = run_check(tmp_path, lang="ru")
    en = run_check(tmp_path, lang="en")
    assert ru.exit_code == en.exit_code == 77
    red_ru = next(line for line in ru.stdout.splitlines() if line.startswith("✘"))
    red_en = next(line for line in en.stdout.splitlines() if line.startswith("✘"))
    assert red_ru.startswith("✘ веб-службы включены: http://moodle.test отказал в веб-службах (HTTP 403")
    assert "Администрирование → Расширенные возможности → Включить веб-службы" in red_ru
    assert red_en.startswith("✘ web services enabled: http://moodle.test refused web services (HTTP 403")
    assert not CYRILLIC.search(red_en)


def test_moodle_errors_are_russian_by_default() -> None:
    """The same answer gives the Russian message, or with English chosen the English one."""
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, URL, status=403, body="")
        with pytest.raises(e.WebServicesDisabled) as ru:
            client().call("core_webservice_get_site_info")
        with using("en"), pytest.raises(e.WebServicesDisabled) as en:
            client().call("core_webservice_get_site_info")
    assert "веб-службы или протокол REST выключены" in str(ru.value)
    assert "web services or the REST protocol are switched off" in str(en.value)
    assert not CYRILLIC.search(str(en.value))


def test_the_refresh_reason_follows_the_language() -> None:
    """Why a cohort is fetched fully: Russian by default (status shows it), English when chosen."""
    from datetime import UTC, datetime

    cohort = CohortSettings(key="K", program="ku", course="K")
    moodle = MoodleSettings(url="http://moodle.test")
    now = datetime(2024, 1, 10, tzinfo=UTC)
    assert plan_cohort(cohort, {}, now=now, moodle=moodle, full=True).reason == (
        "запрошена полная загрузка («sync --full»)"
    )
    with using("en"):
        assert plan_cohort(cohort, {}, now=now, moodle=moodle, full=True).reason == (
            "full load requested («sync --full»)"
        )


def test_a_form_reject_reason_in_both_languages() -> None:
    """The reason a cell is refused: Russian by default, English when chosen."""
    bad = {"full_name": "Петров Иван", "email": "petrov@mail"}
    assert reasons(bad) == {"email": "не адрес e-mail"}
    assert reasons({"full_name": "—"}) == {"full_name": "пусто"}
    with using("en"):
        assert reasons(bad) == {"email": "not an e-mail address"}
        assert reasons({"full_name": "—"}) == {"full_name": "empty"}
        assert reasons({"full_name": "=HYPERLINK(1)"})["full_name"].startswith("a formula, not a value")


def test_a_refused_file_names_itself_in_both_languages(tmp_path: Path) -> None:
    """A whole file refused names the file, in the chosen language."""
    old = tmp_path / "list.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(FileRejected, match=r"^list\.xls: старый формат Excel \.xls не читается"):
        read_table(old, label=old.name, max_bytes=10**6)
    with using("en"), pytest.raises(FileRejected, match=r"^list\.xls: the old Excel format \.xls cannot be read"):
        read_table(old, label=old.name, max_bytes=10**6)


def test_import_form_in_english_stores_english_reasons(engine: Engine, db_url: str, folder: Path) -> None:  # noqa: F811
    """`--lang en import-form`: the reasons shown and stored (shown later on the quality page) are English."""
    config = write_config(folder, db_url, GOOGLE)
    result = CliRunner().invoke(cli, ["--lang", "en", "--config", str(config), "import-form", "reg-ku"])
    assert result.exit_code == 65
    assert "«Адрес электронной почты»: not an e-mail address («kuznetsova@mail»)" in result.stderr
    stored = [r[3] for r in rejects(engine, "reg-ku")]
    assert stored[0] == "not an e-mail address" and stored[2] == "empty"
    assert stored[1].startswith("a formula, not a value")
