"""The [[forms]] section: what a form must say, checked when the config is read (exit 78 with the key)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from connectors.forms import FormsConnector, find_form, form_cohort
from connectors.forms.mapping import FormCohort
from intensive_tracker.app import known_connectors
from intensive_tracker.config import parse_settings
from intensive_tracker.errors import ConfigError

PROGRAMS = [{"key": "ku", "title": "КУ"}, {"key": "shn", "title": "ШН"}]


def form(**extra: Any) -> dict[str, Any]:
    return {
        "name": "reg",
        "kind": "registration",
        "files": "reg.csv",
        "cohort": "C",
        "program": "ku",
        "columns": {"full_name": "ФИО"},
        **extra,
    }


def settings(*forms: dict[str, Any], **extra: Any) -> Any:
    return parse_settings(
        {"programs": PROGRAMS, "forms": list(forms), **extra}, source="config.toml", base_dir=Path("/srv/tracker")
    )


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"inbox": "in"}, "задайте либо files (путь или шаблон), либо inbox (папку)"),
        ({"files": None}, "задайте либо files (путь или шаблон), либо inbox (папку)"),
        ({"columns": {"last_name": "Фамилия"}}, "в columns нужен full_name или last_name и first_name"),
        ({"kind": "attendance"}, "форме посещаемости нужен session_date или столбец timestamp"),
        (
            {"kind": "defense", "columns": {"full_name": "ФИО", "timestamp": "Дата"}},
            "форме защиты нужен столбец grade или outcome",
        ),
        (
            {"kind": "defense", "columns": {"full_name": "ФИО", "grade": "Оценка"}},
            "форме защиты нужен defense_date или столбец timestamp",
        ),
        (
            {"columns": {"full_name": "ФИО", "phone": "Телефон"}},
            "[[forms]] №1 (reg): columns.phone: допустимые значения",
        ),
        ({"delimiter": "|"}, "[[forms]] №1 (reg): delimiter: допустимые значения"),
        ({"name": "рег 1"}, "[[forms]] №1 (рег 1): name: значение не подходит под шаблон"),
    ],
)
def test_incomplete_forms_are_config_errors_naming_the_key(changes: dict[str, Any], message: str) -> None:
    """Each missing or wrong piece stops the command with exit 78 and says what to set."""
    values = {k: v for k, v in {**form(), **changes}.items() if v is not None}
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        settings(values)
    assert info.value.exit_code == 78


def test_form_names_are_unique() -> None:
    """Two forms with one name would share accounts: refused."""
    with pytest.raises(ConfigError, match="имя каждой формы \\(name\\) должно быть уникальным"):
        settings(form(), form())


def test_relative_paths_are_taken_from_the_config_folder() -> None:
    """files and inbox relative to config.toml, like the SQLite path; absolute ones stay."""
    s = settings(form(files=["a/*.csv", "/data/b.csv"]), form(name="sign", files=None, inbox="inbox"))
    assert s.forms[0].files == ["/srv/tracker/a/*.csv", "/data/b.csv"]
    assert s.forms[1].inbox == "/srv/tracker/inbox"


def test_cohorts_of_forms_only_and_of_moodle() -> None:
    """A [[cohorts]] key joins that cohort (its program); another key needs program and consistent titles."""
    moodle = {"moodle": {"standin": "demo"}, "cohorts": [{"key": "KU-1", "program": "ku", "course": "KU-1"}]}
    s = settings(form(cohort="KU-1", program=None), **moodle)
    assert form_cohort(s, s.forms[0]) == FormCohort(key="KU-1", program="ku", title=None, defined=False)
    s = settings(form(cohort="KU-1", program="shn"), **moodle)
    with pytest.raises(ConfigError, match="программа 'shn' отличается от программы 'ku' когорты 'KU-1'"):
        form_cohort(s, s.forms[0])
    s = settings(form(cohort="X", program=None))
    with pytest.raises(ConfigError, match=r"forms\[0\] \(reg\): когорты 'X' нет среди \[\[cohorts\]\]"):
        FormsConnector(s)
    s = settings(form(cohort_title="Поток 1"), form(name="b", cohort_title="Поток 2"))
    with pytest.raises(ConfigError, match="определяют когорту 'C' по-разному"):
        form_cohort(s, s.forms[0])
    s = settings(form(cohort_title="Поток 1"), form(name="b"))
    assert form_cohort(s, s.forms[1]).title == "Поток 1"  # both write the same title


def test_unknown_form_name_lists_the_known_ones() -> None:
    """import-form with a typo says which forms exist."""
    with pytest.raises(ConfigError, match=r"в конфигурации нет формы 'rge' \(формы: reg\)"):
        find_form(settings(form()), "rge")


def test_forms_is_a_registered_connector() -> None:
    """The plugin is found through the entry-point group, beside moodle."""
    assert {"forms", "moodle"} <= set(known_connectors())
