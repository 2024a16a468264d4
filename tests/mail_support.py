"""Helpers of the mail tests: a scriptable aiosmtpd server, a tiny data factory, message parsing."""

from __future__ import annotations

import email
import io
import socket
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from intensive_tracker.store import models as m
from intensive_tracker.config import Settings, parse_settings
from intensive_tracker.store.engine import transaction

LAB = "lab@test.invalid"
SESSION_DAYS = [datetime(2023, 10, d, 12, tzinfo=timezone.utc) for d in (2, 9, 16)]


@dataclass(frozen=True)
class Person:
    full_name: str
    district_raw: str | None
    school: str
    sessions: int = 1  # attended, out of len(SESSION_DAYS)
    defense: str | None = None  # passed | failed | pending


def populate(engine: Engine, people: Sequence[Person], *, program: str = "ku",
             title: str = "Конструирование урока") -> None:
    """Write a program, one cohort of 2023/24 with three sessions, and the people's marks and defenses."""
    with transaction(engine) as s:
        prog = m.Program(key=program, title=title)
        s.add(prog)
        s.flush()
        cohort = m.Cohort(key=f"{program}-2023", program_id=prog.id, school_year="2023/24", term=1)  # type: ignore[arg-type]
        s.add(cohort)
        s.flush()
        sessions = [m.Session(cohort_id=cohort.id, source_key=str(i), starts_at=day, topic=f"Тема {i}", taken=True)  # type: ignore[arg-type]
                    for i, day in enumerate(SESSION_DAYS)]
        s.add_all(sessions)
        s.flush()
        for n, person in enumerate(people):
            p = m.Participant(full_name=person.full_name, name_key=person.full_name.lower(),
                              district_raw=person.district_raw, school=person.school)
            s.add(p)
            s.flush()
            account = m.Account(source="test", external_id=f"{program}-{n}", participant_id=p.id,  # type: ignore[arg-type]
                                full_name=person.full_name)
            s.add(account)
            s.flush()
            for sess in sessions[:person.sessions]:
                s.add(m.Attendance(session_id=sess.id, participant_id=p.id, account_id=account.id,  # type: ignore[arg-type]
                                   status="P", present=True))
            if person.defense:
                s.add(m.Defense(cohort_id=cohort.id, participant_id=p.id, account_id=account.id,  # type: ignore[arg-type]
                                outcome=person.defense,
                                graded_at=datetime(2023, 12, 1, tzinfo=timezone.utc) if person.defense != "pending" else None))


def settings_for(db_url: str, recipients: dict[str, list[str]], *, extra_districts: list[str] = (),  # type: ignore[assignment]
                 **mail: Any) -> Settings:
    """Settings with a [mail] section pointing at a local SMTP port."""
    section = {"smtp_host": "127.0.0.1", "smtp_port": mail.pop("port", 25), "security": "none",
               "from_address": "lab@test.invalid", "lab_address": LAB, "rate_per_minute": 6000, **mail}
    districts = {"recipients": recipients, "extra": [{"name": name} for name in extra_districts]}
    return parse_settings({"database_url": db_url, "mail": section, "districts": districts}, source="test")


# --- the SMTP server ------------------------------------------------------------------------

@dataclass
class Received:
    number: int
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]


@dataclass
class ScriptedHandler:
    """Answers like a real server, except where told: a reply per message number, per address, or a drop."""

    data_replies: dict[int, str] = field(default_factory=dict)   # message number → "451 …"
    refuse: dict[str, str] = field(default_factory=dict)          # address → "550 …"
    drop_after_data: set[int] = field(default_factory=set)        # message numbers: body taken, then hang up
    received: list[Received] = field(default_factory=list)
    count: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        reply = self.data_replies.get(self.count)
        if reply is not None:
            return reply
        self.received.append(Received(self.count, envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        if self.count in self.drop_after_data:
            server.transport.abort()  # the server has the message; our client never hears "250"
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(handler: Any, **kwargs: Any) -> Iterator[int]:
    """An aiosmtpd Controller on 127.0.0.1 (a free port) for the duration of the block."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def self_signed_context(tmp: Path) -> ssl.SSLContext:
    """A server TLS context with a throw-away certificate for 127.0.0.1."""
    key, cert = tmp / "key.pem", tmp / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def refuse_all_logins(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    return AuthResult(success=False, handled=False)


# --- reading a message back -----------------------------------------------------------------

class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_rows(message: EmailMessage) -> list[tuple[str, str, int, str]]:
    """(ФИО, ОО, sessions, defense) of the HTML body's people table."""
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    parser = _Cells()
    parser.feed(html)
    return [(r[1], r[2], int(r[3]), r[4]) for r in parser.rows]


def text_rows(message: EmailMessage) -> list[tuple[str, str, int, str]]:
    """The same rows from the plain-text alternative ("N. ФИО; ОО; sessions; defense")."""
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    rows = []
    for line in text.splitlines():
        head, sep, rest = line.partition(". ")
        if sep and head.isdigit() and rest.count("; ") >= 3:
            name, school, sessions, defense = rest.rsplit("; ", 3)
            rows.append((name, school, int(sessions), defense))
    return rows


def attachment(message: EmailMessage) -> tuple[str, bytes]:
    part = next(message.iter_attachments())
    return part.get_filename(), part.get_content()  # type: ignore[return-value]


def xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    """Every data row of the attachment's first sheet, as stored (no header)."""
    sheet = load_workbook(io.BytesIO(data)).active
    return [tuple(c.value for c in row) for row in sheet.iter_rows(min_row=2)]


def xlsx_cells(data: bytes) -> list[Any]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [c for row in sheet.iter_rows(min_row=2) for c in row]
