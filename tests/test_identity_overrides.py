"""One person, one record: e-mail linking across accounts and the manual [people] join/split table."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from intensive_tracker.errors import ConfigError
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import table_snapshot
from intensive_tracker.store.models import DATA_TABLES
from tests.people_factories import batch, person, settings, sync

SESSIONS = [("s1", "2023-09-20 12:00", True), ("s2", "2023-10-11 12:00", True)]


def _people(engine: Engine) -> dict[str, int]:
    """Account ref → participant id."""
    with engine.connect() as conn:
        return {
            f"{s}:{e}": p
            for s, e, p in conn.execute(select(m.Account.source, m.Account.external_id, m.Account.participant_id))
        }


def _reasons(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {f"moodle:{e}": r for e, r in conn.execute(select(m.Account.external_id, m.Account.link_reason))}


def _attendance(engine: Engine) -> list[tuple[str, int, bool]]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(m.Session.source_key, m.Attendance.participant_id, m.Attendance.present).join(
                    m.Session, m.Session.id == m.Attendance.session_id
                )
            ).all()
        )


def _case_twins() -> list:  # type: ignore[type-arg]
    return [
        person(1, "Новикова Вера Егоровна", "Балашиха", "novikova.ve@inbox.ru"),
        person(2, "Новикова Вера Егоровна", "Балашиха", "Novikova.ve@INBOX.RU "),
        person(3, "Петрова Анна", "Химки", "petrova@mail.ru"),
        person(4, "Петрова А.", "Химки", "petrova.a@yandex.ru"),
    ]


def test_same_email_in_another_case_is_one_person(engine: Engine) -> None:
    """Two Moodle accounts whose e-mails differ only in case and spaces are one participant, with the reason."""
    sync(engine, settings(), [batch("KU-1", _case_twins(), sessions=SESSIONS, present={"s1": [1, 2], "s2": [2]})])
    links = _people(engine)
    assert links["moodle:1"] == links["moodle:2"] != links["moodle:3"] != links["moodle:4"]
    assert _reasons(engine)["moodle:2"] == "тот же e-mail (novikova.ve@inbox.ru)"
    assert _reasons(engine)["moodle:1"] == "новый участник"
    # One mark per person and session: s1 is counted once although both accounts were marked.
    assert [(k, p) for k, p, _ in _attendance(engine)] == [("s1", links["moodle:1"]), ("s2", links["moodle:1"])]


def test_split_separates_an_account_and_its_marks(engine: Engine) -> None:
    """[[people.split]] makes an e-mail-matched account its own person, with its own attendance."""
    config = settings('[[people.split]]\naccount = "moodle:2"\nnote = "общий e-mail школы"\n')
    sync(engine, config, [batch("KU-1", _case_twins(), sessions=SESSIONS, present={"s1": [1], "s2": [2]})])
    links = _people(engine)
    assert links["moodle:1"] != links["moodle:2"]
    assert _reasons(engine)["moodle:2"] == "отделено вручную (people.split: общий e-mail школы)"
    assert _attendance(engine) == [("s1", links["moodle:1"], True), ("s2", links["moodle:2"], True)]


def test_join_added_later_merges_existing_people_without_doubles(engine: Engine) -> None:
    """A join added after a sync merges two stored people; a session both attended counts once, present wins."""
    people = _case_twins()
    data = [
        batch(
            "KU-1",
            people,
            sessions=SESSIONS,
            present={"s1": [3], "s2": [4]},
            absent={"s1": [4]},
            defenses={3: "pending", 4: "passed"},
        )
    ]
    sync(engine, settings(), data)
    before = _people(engine)
    assert before["moodle:3"] != before["moodle:4"]
    config = settings('[[people.join]]\naccounts = ["moodle:3"]\nemails = ["PETROVA.A@yandex.ru"]\n')
    sync(engine, config, data)
    after = _people(engine)
    target = min(before["moodle:3"], before["moodle:4"])
    assert after["moodle:3"] == after["moodle:4"] == target
    assert _reasons(engine)["moodle:4"] == "объединено вручную (people.join)"
    assert _attendance(engine) == [("s1", target, True), ("s2", target, True)]
    with engine.connect() as conn:
        defenses = conn.execute(select(m.Defense.participant_id, m.Defense.outcome)).all()
    assert defenses == [(target, "passed")]


def test_overrides_are_idempotent(engine: Engine) -> None:
    """A second sync with the same overrides writes nothing."""
    config = settings('[[people.split]]\naccount = "moodle:2"\n[[people.join]]\naccounts = ["moodle:3", "moodle:4"]\n')
    data = [batch("KU-1", _case_twins(), sessions=SESSIONS, present={"s1": [1, 2, 3], "s2": [4]})]
    sync(engine, config, data)
    first = table_snapshot(engine, DATA_TABLES)
    report = sync(engine, config, data)
    assert report.rows_written == 0
    assert table_snapshot(engine, DATA_TABLES) == first


def test_split_of_a_new_account_links_later_accounts_by_email_to_the_first(engine: Engine) -> None:
    """After a split, the account stays apart on later syncs; the e-mail still links other new accounts."""
    config = settings('[[people.split]]\naccount = "moodle:2"\n')
    twins = _case_twins()
    sync(engine, config, [batch("KU-1", twins[:2], sessions=SESSIONS, present={"s1": [1, 2]})])
    third = person(9, "Новикова В.Е.", "Балашиха", "NOVIKOVA.VE@inbox.ru")
    sync(engine, config, [batch("KU-1", [*twins[:2], third], sessions=SESSIONS, present={"s1": [1, 2, 9]})])
    links = _people(engine)
    assert links["moodle:9"] == links["moodle:1"] != links["moodle:2"]


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ('[[people.join]]\naccounts = ["moodle:1"]\n', "не меньше двух"),
        ('[[people.join]]\naccounts = ["1203", "moodle:5"]\n', '"источник:внешний id"'),
        ('[[people.split]]\naccount = "1203"\n', "people.split"),
        (
            '[[people.join]]\naccounts = ["moodle:1", "moodle:2"]\n[[people.split]]\naccount = "moodle:2"\n',
            "одновременно в join и в split",
        ),
    ],
)
def test_override_config_errors(toml: str, fragment: str) -> None:
    """A malformed [people] table fails at load (exit 78) naming the problem."""
    with pytest.raises(ConfigError) as info:
        settings(toml)
    assert fragment in str(info.value) and info.value.exit_code == 78
