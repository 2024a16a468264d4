"""District emails without a server: MIME encoding, XLSX safety, escaping, header injection, config, preview, CLI."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.engine import Engine

from intensive_tracker.cli import cli
from intensive_tracker.mail import HeaderInjection, preview_all, send_all
from intensive_tracker.mail import outbox as ob
from intensive_tracker.mail.message import build_message, wire_bytes
from intensive_tracker.mail.plan import DistrictMail, RegionTotals, plan_mails
from intensive_tracker.mail.workbook import neutralize
from intensive_tracker.people.districts import DistrictEntry, load_registry
from intensive_tracker.reports.roster_types import RosterRow
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import transaction
from tests.mail_support import (
    LAB,
    Person,
    ScriptedHandler,
    attachment,
    free_port,
    html_rows,
    populate,
    settings_for,
    smtp_server,
    xlsx_cells,
    xlsx_rows,
)

NOW = datetime(2024, 6, 3, 9, 30, tzinfo=UTC)
REGION = RegionTotals(participants=100, attendances=250, defenses_passed=40, districts=12)


def _mail(district: str, rows: list[RosterRow]) -> DistrictMail:
    return DistrictMail(
        district=district,
        program_key="ku",
        program_title="Конструирование урока",
        period="2023/24",
        to=("umc@test.invalid",),
        cc=(LAB,),
        rows=tuple(rows),
        region=REGION,
    )


def _row(name: str, school: str = "МБОУ СОШ №1", sessions: int = 2, defense: str | None = "passed") -> RosterRow:
    return RosterRow(
        participant_id=1,
        full_name=name,
        school=school,
        category="молодой педагог",
        sessions_attended=sessions,
        defense=defense,
    )


def _build(mail: DistrictMail) -> bytes:
    config = settings_for("sqlite://", {})
    return wire_bytes(
        build_message(
            mail,
            settings=config.mail,
            message_id="<t@test.invalid>",
            now=NOW,  # type: ignore[arg-type]
            tz=config.tz,
        )
    )


def test_cyrillic_subject_and_file_name_round_trip_over_ascii_headers() -> None:
    """B7: raw headers are ASCII (RFC 2047 subject, RFC 2231 file name) and decode to the original Cyrillic."""
    raw = _build(_mail("Тольятти", [_row("Ёлкина Анна")]))
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert b"=?utf-8?" in head and "Тольятти".encode() not in raw.split(b"\r\n\r\n", 1)[0]
    assert b"filename*0*=utf-8''" in raw or b"filename*=utf-8''" in raw
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert str(msg["Subject"]) == "Участники-итоги: Конструирование урока, 2023/24 учебный год — Тольятти"
    name, data = attachment(msg)  # type: ignore[arg-type]
    assert name == "Участники-итоги_Тольятти_2023-24.xlsx"
    assert xlsx_rows(data) == [("Ёлкина Анна", "МБОУ СОШ №1", 2, "защита пройдена")]
    assert msg.get_body(("plain",)).get_content_charset() == "utf-8"  # type: ignore[union-attr]
    assert "Ёлкина Анна" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "{=1+1}", " =1+1"]
)
def test_formula_like_names_stay_text_in_the_attachment(value: str) -> None:
    """B4: a cell starting with = + - @ \\t \\r { (or spaces then one) is stored as text with a leading '."""
    msg = email.message_from_bytes(_build(_mail("Балашиха", [_row(value, school=value)])), policy=policy.default)
    cells = xlsx_cells(attachment(msg)[1])  # type: ignore[arg-type]
    for cell in (cells[0], cells[1]):
        # openpyxl's own XML writer lets a "\r" come back as "\n"; with lxml installed (python-docx needs it)
        # openpyxl writes through lxml and the "\r" comes back as is. The "'" in front is what matters.
        assert cell.data_type == "s" and cell.value in {"'" + value, ("'" + value).replace("\r", "\n")}


def test_plain_names_are_not_touched() -> None:
    """Neutralizing leaves ordinary text as it is (a hyphenated name inside is fine)."""
    assert neutralize("Салтыков-Щедрин") == "Салтыков-Щедрин" and neutralize("") == ""


def test_script_in_a_name_is_escaped_in_the_html_body() -> None:
    """B5: <script> and "><img onerror> in names and schools are escaped in the HTML part."""
    evil = "<script>alert(1)</script>"
    school = '"><img src=x onerror=alert(1)>'
    msg = email.message_from_bytes(_build(_mail("Балашиха", [_row(evil, school=school)])), policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html_rows(msg)[0][:2] == (evil, school)  # type: ignore[arg-type]


def test_newline_in_a_district_name_is_refused() -> None:
    """B8: a line break in a header value (here the district in Subject) raises HeaderInjection, exit 65."""
    with pytest.raises(HeaderInjection) as caught:
        _build(_mail("Балашиха\r\nBcc: spy@evil.invalid", [_row("Иванова")]))
    assert caught.value.exit_code == 65 and isinstance(caught.value, ValueError)


def _registry_with_injection():  # type: ignore[no-untyped-def]
    return load_registry(extra_districts=[DistrictEntry(name="Балашиха\nBcc: spy@evil.invalid")])


def test_header_injection_refuses_the_whole_run_before_sending(engine: Engine, db_url: str) -> None:
    """B8 end to end: one bad district name stops the run before any connection; nothing is sent or queued."""
    registry = _registry_with_injection()
    populate(
        engine, [Person("Иванова", "Коломна", "Школа"), Person("Петров", "Балашиха\nBcc: spy@evil.invalid", "Школа")]
    )
    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        config = settings_for(
            db_url,
            {"Коломна": ["k@test.invalid"], "Балашиха\nBcc: spy@evil.invalid": ["b@test.invalid"]},
            extra_districts=["Балашиха\nBcc: spy@evil.invalid"],
            port=port,
        )
        with pytest.raises(HeaderInjection):
            send_all(config, engine, registry, sleep=lambda s: None)
    assert handler.received == [] and ob.all_rows(engine) == []


def _config_file(tmp_path: Path, db_url: str, mail: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'database_url = "{db_url}"\n\n{mail}\n', "utf-8")
    return path


MAIL = """[mail]
smtp_host = "127.0.0.1"
smtp_port = {port}
security = "none"
from_address = "lab@test.invalid"
lab_address = "lab@test.invalid"
rate_per_minute = 6000

[districts.recipients]
"Коломна" = ["kolomna@test.invalid"]
"Балашиха" = ["balashikha@test.invalid", "second@test.invalid"]
"""


def test_cli_header_injection_exits_65(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`email --send` with a district name holding a line break exits 65 and names the problem."""
    populate(engine, [Person("Петров", "Балашиха\nBcc: spy@evil.invalid", "Школа")])
    # The only way a line break reaches a district name is a district the config adds.
    mail = (
        MAIL.format(port=free_port())
        + '"Балашиха\\nBcc: spy@evil.invalid" = ["b@test.invalid"]\n'
        + '\n[[districts.extra]]\nname = "Балашиха\\nBcc: spy@evil.invalid"\n'
    )
    config = _config_file(tmp_path, db_url, mail)
    result = CliRunner().invoke(cli, ["--config", str(config), "email", "--send"])
    assert result.exit_code == 65, result.output
    assert "перевод строки" in result.stderr
    english = CliRunner().invoke(cli, ["--lang", "en", "--config", str(config), "email", "--send"])
    assert english.exit_code == 65 and "line break" in english.stderr


@pytest.mark.parametrize(
    ("mail", "needle"),
    [
        ("", "нет раздела [mail]"),
        (MAIL.replace('"Коломна"', '"Коломенский район"'), "не каноническое название округа: «Коломенский район»"),
        (MAIL.replace('"Коломна"', '"Коломна г.о."'), "(пишите «Коломна»)"),
        (MAIL + "\n[mail.extra]\n", "[mail] extra"),
        (MAIL.replace('security = "none"', 'security = "none"\npassword = "x"'), "не должно быть в файле"),
        (MAIL.replace('security = "none"', 'security = "none"\nusername = "lab"'), "открытым текстом"),
        (
            MAIL.replace('"kolomna@test.invalid"', '"kolomna@test.invalid\\nBcc: x@y.z"'),
            "неверные: kolomna@test.invalid",
        ),
    ],
)
def test_config_problems_exit_78_and_say_what_to_fix(
    engine: Engine, db_url: str, tmp_path: Path, mail: str, needle: str
) -> None:
    """Config mistakes in [mail] exit 78 with a message naming the key."""
    config = _config_file(tmp_path, db_url, mail.format(port=free_port()) if "{port}" in mail else mail)
    result = CliRunner().invoke(cli, ["--config", str(config), "email", "--preview"])
    assert result.exit_code == 78, result.output
    assert needle in result.stderr


def test_unknown_district_option_exits_78(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """--district with a name the registry does not know exits 78."""
    populate(engine, [Person("Иванова", "Коломна", "Школа")])
    config = _config_file(tmp_path, db_url, MAIL.format(port=free_port()))
    result = CliRunner().invoke(cli, ["--config", str(config), "email", "--send", "--district", "Атлантида"])
    assert result.exit_code == 78 and "Атлантида" in result.stderr


def test_email_needs_exactly_one_mode(tmp_path: Path) -> None:
    """`email` alone or with two modes is a usage error (exit 2)."""
    config = _config_file(tmp_path, "sqlite:///x.db", MAIL.format(port=1025))
    assert CliRunner().invoke(cli, ["--config", str(config), "email"]).exit_code == 2
    assert CliRunner().invoke(cli, ["--config", str(config), "email", "--send", "--resend", "1"]).exit_code == 2


PEOPLE = [
    Person("Иванова Анна", "Коломна", "Школа №1", sessions=3, defense="passed"),
    Person("Иванова Анна", "г.о. Балашиха", "Школа №1", sessions=1),
    Person("<script>alert(1)</script>", "Балашиха", "Лицей", sessions=2, defense="failed"),
    Person("Без Района", "Атлантида", "Школа", sessions=1),
]


def test_preview_writes_one_eml_per_district_and_an_index_without_sending(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """--preview: an .eml per message, index.html with recipients and counts (escaped); the outbox stays empty."""
    populate(engine, PEOPLE)
    config = _config_file(tmp_path, db_url, MAIL.format(port=free_port()))
    out = tmp_path / "preview"
    result = CliRunner().invoke(cli, ["--config", str(config), "email", "--preview", "--outbox", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str((out / "index.html").resolve())
    emls = sorted(p.name for p in out.glob("*.eml"))
    assert emls == ["001_ku_balashikha.eml", "002_ku_kolomna.eml", "003_ku_ne-raspredeleny.eml"]
    balashikha = email.message_from_bytes((out / emls[0]).read_bytes(), policy=policy.default)
    assert [r[0] for r in html_rows(balashikha)] == ["<script>alert(1)</script>", "Иванова Анна"]  # type: ignore[arg-type]
    assert str(balashikha["To"]) == "balashikha@test.invalid, second@test.invalid" and str(balashikha["Cc"]) == LAB
    unassigned = email.message_from_bytes((out / emls[2]).read_bytes(), policy=policy.default)
    assert str(unassigned["To"]) == LAB and "не распределены" in str(unassigned["Subject"])
    index = (out / "index.html").read_text("utf-8")
    assert "balashikha@test.invalid, second@test.invalid" in index and "новое" in index
    body = balashikha.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert ob.all_rows(engine) == []


def test_preview_after_a_send_reports_changes_and_send_does_not_repeat(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """A roster changed after "sent" shows as changed in the preview and is NOT resent by --send."""
    populate(engine, PEOPLE)
    registry = load_registry()
    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        config = settings_for(db_url, {"Коломна": ["k@test.invalid"], "Балашиха": ["b@test.invalid"]}, port=port)
        assert send_all(config, engine, registry, sleep=lambda s: None).exit_code == 0
        unchanged = preview_all(config, engine, registry, out_dir=tmp_path / "p1", now=lambda: NOW)
        assert {i.change for i in unchanged.items} == {"unchanged"}
        with transaction(engine) as s:  # the school of a Коломна person corrected after the send
            s.connection().execute(
                update(m.Participant).where(m.Participant.district_raw == "Коломна").values(school="Школа №2")
            )
        changed = preview_all(config, engine, registry, out_dir=tmp_path / "p2", now=lambda: NOW)
        by = {i.mail.district: i for i in changed.items}
        assert by["Коломна"].change == "changed" and "--resend" in by["Коломна"].note
        assert by["Балашиха"].change == "unchanged"
        before = len(handler.received)
        again = send_all(config, engine, registry, sleep=lambda s: None)
        assert len(handler.received) == before and again.exit_code == 0
        assert [r.district for r in again.results if r.changed_since_sent] == ["Коломна"]
        assert plan_mails(config, engine, registry).mails  # the plan itself is unaffected by the outbox


def test_cli_send_status_and_resend(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """--send exits 0 then prints nothing new; --status lists the outbox; --resend of a sent message sends it again."""
    populate(engine, PEOPLE)
    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        config = _config_file(tmp_path, db_url, MAIL.format(port=port))
        first = CliRunner().invoke(cli, ["--config", str(config), "email", "--send"])
        assert first.exit_code == 0, first.output
        assert "Отправлено сейчас: 3" in first.stdout
        second = CliRunner().invoke(cli, ["--config", str(config), "email", "--send"])
        assert second.exit_code == 0 and "Отправлено сейчас: 0" in second.stdout
        status = CliRunner().invoke(cli, ["--config", str(config), "email", "--status"])
        assert status.exit_code == 0 and status.stdout.count(": отправлено ") == 3
        kolomna = next(r for r in ob.all_rows(engine) if r.district == "Коломна")
        again = CliRunner().invoke(cli, ["--config", str(config), "email", "--resend", str(kolomna.id)])
        assert again.exit_code == 0, again.output
        only = CliRunner().invoke(cli, ["--config", str(config), "email", "--send", "--district", "г.о. Коломна"])
        assert only.exit_code == 0 and "Отправлено сейчас: 0" in only.stdout
    assert len(handler.received) == 4
    assert handler.received[-1].message["Message-ID"].strip() == kolomna.message_id
    pending = CliRunner().invoke(cli, ["--config", str(config), "email", "--resend", "999"])
    assert pending.exit_code == 78 and "#999" in pending.stderr


def test_unreachable_server_exits_69(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """--send with nothing listening on the port exits 69 and says nothing was sent."""
    populate(engine, PEOPLE)
    config = _config_file(tmp_path, db_url, MAIL.format(port=free_port()))
    result = CliRunner().invoke(cli, ["--config", str(config), "email", "--send"])
    assert result.exit_code == 69 and "ничего не отправлено" in result.stderr
    english = CliRunner().invoke(cli, ["--lang", "en", "--config", str(config), "email", "--send"])
    assert english.exit_code == 69 and "nothing was sent" in english.stderr


def test_preview_index_escapes_names(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """B5: a program title with markup is escaped in index.html as well as in the messages."""
    populate(engine, [Person("Иванова", "Коломна", "Школа")], title='<script>alert("t")</script>')
    config = settings_for(db_url, {"Коломна": ["k@test.invalid"]})
    report = preview_all(config, engine, load_registry(), out_dir=tmp_path / "p", now=lambda: NOW)
    index = report.index.read_text("utf-8")
    assert "<script>" not in index and "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in index
