"""District emails over a real SMTP server (aiosmtpd on 127.0.0.1): delivered once, faults survived."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from intensive_tracker.mail import MailAuthError, MailUnavailable, resend, send_all
from intensive_tracker.mail import outbox as ob
from intensive_tracker.mail.smtp import Transport
from intensive_tracker.people.districts import load_registry
from tests.mail_support import (
    LAB,
    Person,
    ScriptedHandler,
    attachment,
    free_port,
    html_rows,
    populate,
    refuse_all_logins,
    self_signed_context,
    settings_for,
    smtp_server,
    text_rows,
    xlsx_rows,
)

DISTRICTS = [
    "Балашиха",
    "Богородский",
    "Дмитровский",
    "Коломна",
    "Королёв",
    "Мытищи",
    "Одинцовский",
    "Подольск",
    "Пушкинский",
    "Раменский",
    "Сергиево-Посадский",
    "Чехов",
]


def _people() -> list[Person]:
    people = []
    for i, d in enumerate(DISTRICTS):
        people.append(Person(f"Иванова Мария {i}", d, f"МБОУ СОШ №{i}", sessions=1 + i % 3, defense="passed"))
        people.append(Person(f"Петров Илья {i}", f"г.о. {d}", "Общая гимназия", sessions=2))
    people.append(Person("Без Района", None, "Школа", sessions=1))
    return people


def _recipients(**override: list[str]) -> dict[str, list[str]]:
    return {d: override.get(d, [f"umc{i}@test.invalid"]) for i, d in enumerate(DISTRICTS)}


@pytest.fixture
def world(engine: Engine) -> Engine:
    populate(engine, _people())
    return engine


def test_send_delivers_each_district_once_and_parses_back(world: Engine, db_url: str) -> None:
    """Each district's message arrives once with ASCII headers, Cyrillic subject/file name and its own rows."""
    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        settings = settings_for(db_url, _recipients(), port=port)
        report = send_all(settings, world, load_registry(), sleep=lambda s: None)
    assert report.exit_code == 0 and report.delivered == len(DISTRICTS) + 1
    assert len(handler.received) == len(DISTRICTS) + 1
    by_subject = {}
    for got in handler.received:
        head = got.content.split(b"\r\n\r\n", 1)[0]
        head.decode("ascii")  # raises if any header byte is not ASCII
        msg = got.message
        by_subject[str(msg["Subject"])] = (got, msg)
    got, msg = by_subject["Участники-итоги: Конструирование урока, 2023/24 учебный год — Балашиха"]
    assert sorted(got.rcpt_tos) == sorted(["umc0@test.invalid", LAB])
    name, data = attachment(msg)
    assert name == "Участники-итоги_Балашиха_2023-24.xlsx"
    assert b"filename*" in got.content and "Балашиха".encode() not in got.content.split(b"\r\n\r\n", 1)[0]
    expected = [
        ("Иванова Мария 0", "МБОУ СОШ №0", 1, "защита пройдена"),
        ("Петров Илья 0", "Общая гимназия", 2, "не защищал(а)"),
    ]
    assert xlsx_rows(data) == expected
    assert html_rows(msg) == expected and text_rows(msg) == expected
    _, lab_only = by_subject["Участники-итоги: Конструирование урока, 2023/24 учебный год — не распределены"]
    assert lab_only["To"] == LAB and lab_only["Cc"] is None and [r[0] for r in html_rows(lab_only)] == ["Без Района"]


def test_second_send_right_after_sends_nothing(world: Engine, db_url: str) -> None:
    """P2: a second --send after a successful one delivers nothing and exits 0."""
    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        settings = settings_for(db_url, _recipients(), port=port)
        send_all(settings, world, load_registry(), sleep=lambda s: None)
        first = len(handler.received)
        again = send_all(settings, world, load_registry(), sleep=lambda s: None)
    assert len(handler.received) == first
    assert again.delivered == 0 and again.exit_code == 0
    assert {r.action for r in again.results} == {"skipped"}


def test_faults_mid_batch_then_resume_loses_and_doubles_nothing(world: Engine, db_url: str) -> None:
    """F9: 451 on msg 7, 550 for one address, drop after msg 9's body; the next run sends only what is due."""
    registry = load_registry()
    # Коломна's only address is refused (→ failed_permanent); Мытищи has a second address that works.
    recipients = _recipients(Мытищи=["bad@test.invalid", "good@test.invalid"], Коломна=["gone@test.invalid"])
    faulty = ScriptedHandler(
        data_replies={7: "451 4.3.0 Try again later"},
        refuse={"bad@test.invalid": "550 5.1.1 No such user", "gone@test.invalid": "550 5.1.1 No such user"},
        drop_after_data={9},
    )
    with smtp_server(faulty) as port:
        settings = settings_for(db_url, recipients, port=port, copy_to_lab=False)
        first = send_all(settings, world, registry, sleep=lambda s: None)
    by_district = {r.district: r for r in first.results}
    order = [r.district for r in first.results]
    # The message numbers the server saw: Коломна never reaches DATA, so it has no number.
    numbered = [d for d in order if d != "Коломна"]
    assert by_district[numbered[6]].state == ob.FAILED_TEMPORARY and "451" in by_district[numbered[6]].reason
    assert by_district[numbered[8]].state == ob.UNCERTAIN and "DATA" in by_district[numbered[8]].reason
    assert by_district["Коломна"].state == ob.FAILED_PERMANENT and "550" in by_district["Коломна"].reason
    assert by_district["Мытищи"].state == ob.SENT and "bad@test.invalid" in by_district["Мытищи"].refused
    assert first.exit_code == 75
    rows = {r.district: r for r in ob.all_rows(world)}
    for row in rows.values():
        assert row.state in (ob.SENT, ob.FAILED_TEMPORARY, ob.FAILED_PERMANENT, ob.UNCERTAIN)
        assert row.state == ob.SENT or row.last_error  # every unsent message says why
    assert rows["Мытищи"].refused == {"bad@test.invalid": "550 5.1.1 No such user"}
    delivered_first = Counter(str(r.message["Subject"]) for r in faulty.received)

    clean = ScriptedHandler()
    with smtp_server(clean) as port:
        settings = settings_for(db_url, recipients, port=port, copy_to_lab=False)
        second = send_all(settings, world, registry, sleep=lambda s: None)
    # Only the 451 message goes again; the uncertain and the refused ones are held for a person.
    assert [str(r.message["Subject"]).rsplit("— ", 1)[1] for r in clean.received] == [numbered[6]]
    assert second.exit_code == 75
    states = {r.district: r.state for r in ob.all_rows(world)}
    assert states[numbered[8]] == ob.UNCERTAIN and states["Коломна"] == ob.FAILED_PERMANENT
    assert sum(1 for s in states.values() if s == ob.SENT) == len(states) - 2
    total = delivered_first + Counter(str(r.message["Subject"]) for r in clean.received)
    assert max(total.values()) == 1  # nothing delivered twice
    assert len(total) == len(states) - 1  # everything but the refused one reached the server

    # A person checked: the uncertain one never arrived. --resend keeps its Message-ID.
    uncertain = rows[numbered[8]]
    again = ScriptedHandler()
    with smtp_server(again) as port:
        settings = settings_for(db_url, recipients, port=port, copy_to_lab=False)
        result = resend(settings, world, registry, uncertain.id)
    assert result.exit_code == 0 and len(again.received) == 1
    assert again.received[0].message["Message-ID"].strip() == uncertain.message_id
    dropped = next(r for r in faulty.received if r.number == 9)
    assert dropped.message["Message-ID"].strip() == uncertain.message_id


def test_cut_off_midway_resumes_without_a_duplicate(world: Engine, db_url: str) -> None:
    """A run killed right after handing message 5 over: next run holds #5 as uncertain and sends the rest once."""
    registry = load_registry()

    class DiesAfterFifth(Transport):
        sent = 0

        def send(self, message, *, sender, recipients):  # type: ignore[no-untyped-def]
            delivery = super().send(message, sender=sender, recipients=recipients)
            DiesAfterFifth.sent += 1
            if DiesAfterFifth.sent == 5:
                raise KeyboardInterrupt  # the process dies before recording the outcome
            return delivery

    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        settings = settings_for(db_url, _recipients(), port=port)
        with pytest.raises(KeyboardInterrupt):
            send_all(settings, world, registry, transport=DiesAfterFifth, sleep=lambda s: None)
        assert [r.state for r in ob.all_rows(world)].count(ob.SENDING) == 1
        report = send_all(settings, world, registry, sleep=lambda s: None)
    assert report.recovered == 1 and report.exit_code == 75
    subjects = Counter(str(r.message["Subject"]) for r in handler.received)
    assert len(subjects) == len(DISTRICTS) + 1 and max(subjects.values()) == 1
    assert [r.state for r in ob.all_rows(world)].count(ob.UNCERTAIN) == 1


def test_unreachable_server_sends_nothing_and_keeps_the_outbox(world: Engine, db_url: str) -> None:
    """No server on the port: MailUnavailable (69) before any message is claimed."""
    settings = settings_for(db_url, _recipients(), port=free_port())
    with pytest.raises(MailUnavailable) as caught:
        send_all(settings, world, load_registry(), sleep=lambda s: None)
    assert caught.value.exit_code == 69 and "127.0.0.1" in str(caught.value)
    assert {r.state for r in ob.all_rows(world)} == {ob.PENDING}


def test_starttls_login_refused_exits_77_without_leaking_the_password(
    world: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STARTTLS then a refused login: MailAuthError (77) naming the variable, never the password."""
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret-canary")
    server_tls = self_signed_context(tmp_path)
    client_tls = __import__("ssl").create_default_context()
    client_tls.check_hostname = False
    client_tls.verify_mode = __import__("ssl").CERT_NONE
    with smtp_server(
        ScriptedHandler(), tls_context=server_tls, require_starttls=True, authenticator=refuse_all_logins
    ) as port:
        settings = settings_for(
            db_url, _recipients(), port=port, security="starttls", username="lab", password_env="TEST_SMTP_PASSWORD"
        )
        with pytest.raises(MailAuthError) as caught:
            send_all(
                settings,
                world,
                load_registry(),
                sleep=lambda s: None,
                transport=lambda s: Transport(s, ssl_context=client_tls),
            )
    assert caught.value.exit_code == 77
    assert "TEST_SMTP_PASSWORD" in str(caught.value) and "s3cret-canary" not in str(caught.value)


def test_run_keeps_a_polite_rate(world: Engine, db_url: str) -> None:
    """rate_per_minute = 60 → the run waits about a second between consecutive messages."""
    waits: list[float] = []
    clock = [0.0]  # moved only by the waits: a slow SMTP exchange on a loaded machine does not change them

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    with smtp_server(ScriptedHandler()) as port:
        settings = settings_for(db_url, _recipients(), port=port, rate_per_minute=60)
        report = send_all(settings, world, load_registry(), sleep=sleep, clock=lambda: clock[0])
    assert len(waits) == report.delivered - 1
    assert all(0.5 < w <= 1.0 for w in waits)


def test_a_second_run_during_a_send_waits_and_touches_nothing(world: Engine, db_url: str) -> None:
    """F10: while one run holds the sending lock, another exits AlreadyRunning (75) and leaves 'sending' rows alone."""
    from intensive_tracker.errors import AlreadyRunning
    from intensive_tracker.store.locks import sending_lock

    handler = ScriptedHandler()
    with smtp_server(handler) as port:
        settings = settings_for(db_url, _recipients(), port=port)
        send_all(settings, world, load_registry(), district="Балашиха", sleep=lambda s: None)
        row = ob.all_rows(world)[0]
        ob._update(world, row.id, state=ob.SENDING)
        with sending_lock(world):
            with pytest.raises(AlreadyRunning) as caught:
                send_all(settings, world, load_registry(), sleep=lambda s: None)
        assert caught.value.exit_code == 75
        assert ob.get(world, row.id).state == ob.SENDING and len(handler.received) == 1


def test_implicit_tls_delivers(world: Engine, db_url: str, tmp_path: Path) -> None:
    """security = "ssl": the session is TLS from the first byte (port 465 style) and the messages arrive."""
    import ssl

    client_tls = ssl.create_default_context()
    client_tls.check_hostname = False
    client_tls.verify_mode = ssl.CERT_NONE
    handler = ScriptedHandler()
    with smtp_server(handler, ssl_context=self_signed_context(tmp_path)) as port:
        settings = settings_for(db_url, _recipients(), port=port, security="ssl")
        report = send_all(
            settings,
            world,
            load_registry(),
            district="Коломна",
            sleep=lambda s: None,
            transport=lambda s: Transport(s, ssl_context=client_tls),
        )
    assert report.exit_code == 0 and len(handler.received) == 1


class ClosesAfterTwoPerConnection(ScriptedHandler):
    """A relay that allows two messages per connection, then answers MAIL with 421 and hangs up."""

    async def handle_MAIL(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        session.mails = getattr(session, "mails", 0) + 1
        if session.mails > 2:
            server.transport.close()
            return "421 4.7.0 Too many messages in this connection"
        envelope.mail_from = address
        return "250 OK"


def test_relay_closing_after_n_messages_costs_no_deferral(world: Engine, db_url: str) -> None:
    """A 421 (or a drop) before DATA is retried once on a new connection: every message goes in the same run."""
    handler = ClosesAfterTwoPerConnection()
    with smtp_server(handler) as port:
        settings = settings_for(db_url, _recipients(), port=port)
        report = send_all(settings, world, load_registry(), sleep=lambda s: None)
    assert report.exit_code == 0, [(r.district, r.state, r.reason) for r in report.results if r.state != "sent"]
    subjects = Counter(str(r.message["Subject"]) for r in handler.received)
    assert len(subjects) == len(DISTRICTS) + 1 and max(subjects.values()) == 1
