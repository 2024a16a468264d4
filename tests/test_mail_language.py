"""The district e-mail's language: Russian by default (whatever the terminal speaks), English on request.

`[report] language = "en"` (or `App(..., language="en")`, or `with using("en")`) writes the subject, both
body parts and the attachment's headers in English; the data (names, schools, districts, program titles,
the attachment's file name) stay as they are.
"""

from __future__ import annotations

import email
import io
import re
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from intensive_tracker.app import App
from intensive_tracker.config import Settings, parse_settings
from intensive_tracker.i18n import set_language, using
from intensive_tracker.mail.message import build_message, wire_bytes
from intensive_tracker.mail.plan import DistrictMail, RegionTotals
from intensive_tracker.reports.roster_types import Mark, RosterRow, SessionColumn
from intensive_tracker.text import UNASSIGNED
from tests.mail_support import LAB, Person, ScriptedHandler, attachment, populate, settings_for, smtp_server

NOW = datetime(2024, 6, 3, 9, 30, tzinfo=UTC)
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
PROGRAM = "Конструирование урока"
# The file name first: it holds the district.
DATA = ("Участники-итоги_Тольятти_2023-24.xlsx", PROGRAM, "Тольятти", "Ёлкина Анна", "МБОУ СОШ №1", "Тема занятия")


def _mail(district: str = "Тольятти") -> DistrictMail:
    column = SessionColumn("session:1", datetime(2023, 10, 2, 12, tzinfo=UTC), "Тема занятия", ("ku-2023",), True)
    row = RosterRow(
        participant_id=1,
        full_name="Ёлкина Анна",
        school="МБОУ СОШ №1",
        category="молодой педагог",
        sessions_attended=1,
        defense="passed",
        marks=(Mark("+", present=True),),
        attended_days=(date(2023, 10, 2),),
        defense_date=date(2023, 12, 20),
        defense_grade=8.5,
        defense_grade_max=10,
    )
    return DistrictMail(
        district=district,
        program_key="ku",
        program_title=PROGRAM,
        period="2023/24",
        to=("umc@test.invalid",),
        cc=(LAB,),
        rows=(row,),
        region=RegionTotals(participants=100, attendances=250, defenses_passed=40, districts=21),
        columns=(column,),
    )


def _message(mail: DistrictMail) -> EmailMessage:
    config = settings_for("sqlite://", {})
    raw = wire_bytes(
        build_message(mail, settings=config.mail, message_id="<t@test.invalid>", now=NOW, tz=config.tz)  # type: ignore[arg-type]
    )
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def _words(message: EmailMessage) -> dict[str, str]:
    """Subject, both body parts and the attachment's headers and sheet names, the data taken out."""
    _name, data = attachment(message)
    book = load_workbook(io.BytesIO(data))
    cells = " ".join(str(c.value) for sheet in book.worksheets for c in sheet[1] if isinstance(c.value, str))
    parts = {
        "subject": str(message["Subject"]),
        "plain": message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
        "html": message.get_body(("html",)).get_content(),  # type: ignore[union-attr]
        "xlsx": " ".join(book.sheetnames) + " " + cells,
    }
    for value in DATA:
        parts = {k: v.replace(value, "") for k, v in parts.items()}
    return parts


def test_the_email_is_russian_by_default() -> None:
    message = _message(_mail())
    assert str(message["Subject"]) == "Участники-итоги: Конструирование урока, 2023/24 учебный год — Тольятти"
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert plain.startswith("Здравствуйте!")
    assert "Участвовал 21 городской округ области." in plain
    assert "защита пройдена 20.12.23, оценка 8,5 из 10" in plain
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<html lang="ru">' in html and "отметка в листе регистрации" in html
    assert load_workbook(io.BytesIO(attachment(message)[1])).sheetnames == ["Участники-итоги", "Занятия"]


def test_the_email_is_english_when_asked_and_only_its_data_stay_russian() -> None:
    with using("en"):
        message = _message(_mail())
    assert str(message["Subject"]) == "Participant results: Конструирование урока, school year 2023/24 — Тольятти"
    words = _words(message)
    assert {k: CYRILLIC.findall(v) for k, v in words.items()} == {k: [] for k in words}
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert plain.startswith("Hello,")
    assert "21 districts of the region took part." in plain
    assert "defense passed 20.12.23, grade 8.5 of 10" in plain  # dates keep dd.mm.yy in both languages
    assert attachment(message)[0] == "Участники-итоги_Тольятти_2023-24.xlsx"  # a file name: the same in both
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert '<html lang="en">' in html and "mark on the sign-in sheet" in html
    book = load_workbook(io.BytesIO(attachment(message)[1]))
    assert book.sheetnames == ["Participant results", "Sessions"]
    assert [c.value for c in book.active[1]][:2] == ["Full name", "School"]


def test_people_without_a_district_are_unassigned_in_english() -> None:
    with using("en"):
        message = _message(_mail(UNASSIGNED))
    assert str(message["Subject"]).endswith("— unassigned")
    assert attachment(message)[0] == "Участники-итоги_не-распределены_2023-24.xlsx"


def _settings(db_url: str, port: int, language: str | None) -> Settings:
    base = settings_for(db_url, {"Коломна": ["k@test.invalid"]}, port=port)
    raw = {
        "database_url": db_url,
        "mail": base.mail.model_dump(),  # type: ignore[union-attr]
        "districts": {"recipients": {"Коломна": ["k@test.invalid"]}},
    }
    if language is not None:
        raw["report"] = {"language": language}
    return parse_settings(raw, source="test")


def test_report_language_en_mails_the_districts_in_english(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """`[report] language = "en"`: what the server receives is English; the default stays Russian even
    when the terminal speaks English (a server whose LANG is en_US never mails the districts in English)."""
    populate(engine, [Person("Иванова Анна", "Коломна", "Школа №1", sessions=2, defense="passed")])
    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        with App(_settings(db_url, port, "en"), tmp_path / "config.toml") as english:
            sent = english.send_emails()
        assert sent.exit_code == 0 and sent.delivered == 1
        set_language("en")  # the terminal's language, not the documents'
        with App(_settings(db_url, port, None), tmp_path / "config.toml") as russian:
            assert russian.resend_email(sent.results[0].outbox_id).exit_code == 0
    first, second = (r.message for r in handler.received)
    assert str(first["Subject"]) == "Participant results: Конструирование урока, school year 2023/24 — Коломна"
    assert first.get_body(("plain",)).get_content().startswith("Hello,")  # type: ignore[union-attr]
    assert str(second["Subject"]) == "Участники-итоги: Конструирование урока, 2023/24 учебный год — Коломна"
    assert second.get_body(("plain",)).get_content().startswith("Здравствуйте!")  # type: ignore[union-attr]
