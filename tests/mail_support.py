"""Helpers of the mail tests: a scriptable aiosmtpd server, a tiny data factory, message parsing."""

from __future__ import annotations

import email
import io
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from intensive_tracker.config import Settings, parse_settings
from intensive_tracker.reports.roster_types import OUTCOME_LABELS
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import transaction

LAB = "lab@test.invalid"
SESSION_DAYS = [datetime(2023, 10, d, 12, tzinfo=UTC) for d in (2, 9, 16)]


@dataclass(frozen=True)
class Person:
    full_name: str
    district_raw: str | None
    school: str
    sessions: int = 1  # attended, out of len(SESSION_DAYS)
    defense: str | None = None  # passed | failed | pending
    grade: float | None = None  # of a passed or failed defense


def populate(
    engine: Engine, people: Sequence[Person], *, program: str = "ku", title: str = "Конструирование урока"
) -> None:
    """Write a program, one cohort of 2023/24 with three sessions, and the people's marks and defenses."""
    with transaction(engine) as s:
        prog = m.Program(key=program, title=title)
        s.add(prog)
        s.flush()
        cohort = m.Cohort(key=f"{program}-2023", program_id=prog.id, school_year="2023/24", term=1)  # type: ignore[arg-type]
        s.add(cohort)
        s.flush()
        sessions = [
            m.Session(cohort_id=cohort.id, source_key=str(i), starts_at=day, topic=f"Тема {i}", taken=True)  # type: ignore[arg-type]
            for i, day in enumerate(SESSION_DAYS)
        ]
        s.add_all(sessions)
        s.flush()
        for n, person in enumerate(people):
            p = m.Participant(
                full_name=person.full_name,
                name_key=person.full_name.lower(),
                district_raw=person.district_raw,
                school=person.school,
            )
            s.add(p)
            s.flush()
            account = m.Account(
                source="test",
                external_id=f"{program}-{n}",
                participant_id=p.id,  # type: ignore[arg-type]
                full_name=person.full_name,
            )
            s.add(account)
            s.flush()
            for sess in sessions[: person.sessions]:
                s.add(
                    m.Attendance(
                        session_id=sess.id,
                        participant_id=p.id,
                        account_id=account.id,  # type: ignore[arg-type]
                        status="P",
                        present=True,
                    )
                )
            if person.defense:
                s.add(
                    m.Defense(
                        cohort_id=cohort.id,
                        participant_id=p.id,
                        account_id=account.id,  # type: ignore[arg-type]
                        outcome=person.defense,
                        grade=person.grade if person.defense != "pending" else None,
                        graded_at=datetime(2023, 12, 1, tzinfo=UTC) if person.defense != "pending" else None,
                    )
                )


def settings_for(
    db_url: str,
    recipients: dict[str, list[str]],
    *,
    extra_districts: list[str] = (),  # type: ignore[assignment]
    **mail: Any,
) -> Settings:
    """Settings with a [mail] section pointing at a local SMTP port."""
    section = {
        "smtp_host": "127.0.0.1",
        "smtp_port": mail.pop("port", 25),
        "security": "none",
        "from_address": "lab@test.invalid",
        "lab_address": LAB,
        "rate_per_minute": 6000,
        **mail,
    }
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

    data_replies: dict[int, str] = field(default_factory=dict)  # message number → "451 …"
    refuse: dict[str, str] = field(default_factory=dict)  # address → "550 …"
    drop_after_data: set[int] = field(default_factory=set)  # message numbers: body taken, then hang up
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
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def refuse_all_logins(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    return AuthResult(success=False, handled=False)


# --- reading a message back -----------------------------------------------------------------


class _Cells(HTMLParser):
    """The people table of the HTML part: per body row, its texts by class (fio, oo, mark, total, defense…)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, list[str]]] = []
        self._in_body = False
        self._open: list[tuple[str, str | None]] = []  # (tag, class) of the open td/span elements
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append({})
        elif self._in_body and tag in ("td", "span"):
            self._open.append((tag, dict(attrs).get("class")))
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif self._in_body and tag in ("td", "span") and self._open:
            _, cls = self._open.pop()
            if cls:
                self.rows[-1].setdefault(cls, []).append("".join(self._text))
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)


def _html_table(message: EmailMessage) -> list[dict[str, list[str]]]:
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    parser = _Cells()
    parser.feed(html)
    return parser.rows


def html_rows(message: EmailMessage) -> list[tuple[str, str, int, str]]:
    """(ФИО, ОО, sessions, defense) of the HTML body's people table."""
    return [
        (r["fio"][0], r["oo"][0], int(r["total"][0]), r.get("defense", [OUTCOME_LABELS[None]])[0])
        for r in _html_table(message)
    ]


def html_matrix(message: EmailMessage) -> list[tuple[Any, ...]]:
    """(ФИО, ОО, the session marks, sessions, defense, grading date, grade) of the HTML body."""
    return [
        (
            r["fio"][0],
            r["oo"][0],
            tuple(r.get("mark", [])),
            int(r["total"][0]),
            r.get("defense", [""])[0],
            r.get("defense-date", [""])[0],
            r.get("defense-grade", [""])[0],
        )
        for r in _html_table(message)
    ]


def html_headers(message: EmailMessage) -> list[list[str]]:
    """The session columns' header texts of the HTML table."""
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return [re.sub(r"<[^>]+>", " ", h).split() for h in re.findall(r'<th class="session"[^>]*>(.*?)</th>', html, re.S)]


def _text_lines(message: EmailMessage) -> list[list[str]]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    rows = []
    for line in text.splitlines():
        head, sep, rest = line.partition(". ")
        if sep and head.isdigit() and rest.count("; ") >= 2:
            rows.append(rest.split("; "))
    return rows


def text_rows(message: EmailMessage) -> list[tuple[str, str, int, str]]:
    """The same rows from the plain-text alternative ("N. ФИО; ОО; sessions[: dates]; defense …")."""
    rows = []
    for parts in _text_lines(message):
        count = parts[2].split(":")[0]
        defense = next(
            (label for label in OUTCOME_LABELS.values() if len(parts) > 3 and parts[3].startswith(label)),
            OUTCOME_LABELS[None],
        )
        rows.append((parts[0], parts[1], int(count), defense))
    return rows


def text_attended(message: EmailMessage) -> list[tuple[str, tuple[str, ...]]]:
    """(ФИО, the dates attended) of each plain-text line."""
    out = []
    for parts in _text_lines(message):
        _, _, dates = parts[2].partition(": ")
        out.append((parts[0], tuple(d for d in dates.split(", ") if d)))
    return out


def attachment(message: EmailMessage) -> tuple[str, bytes]:
    part = next(message.iter_attachments())
    return part.get_filename(), part.get_content()  # type: ignore[return-value]


def xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    """(ФИО, ОО, sessions, defense) of each data row of the attachment's first sheet, as stored
    (a program without a defense has no defense column: «не защищал(а)», as the HTML and text helpers say)."""
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    wanted = [header.index(h) for h in ("ФИО", "ОО", "Посещено занятий")]
    defense = header.index("Защита") if "Защита" in header else None
    return [
        tuple([row[i].value for i in wanted] + [row[defense].value if defense is not None else OUTCOME_LABELS[None]])
        for row in sheet.iter_rows(min_row=2)
    ]


def xlsx_matrix(data: bytes) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """The session headers (dates) and each row's (ФИО, ОО, marks, sessions, defense, date, grade)."""
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    first, total = 2, header.index("Посещено занятий")
    rows = []
    for row in sheet.iter_rows(min_row=2):
        values = [c.value for c in row]
        rest = values[total + 1 :] + [None] * (3 - len(values[total + 1 :]))
        rows.append((values[0], values[1], tuple(v or "" for v in values[first:total]), values[total], *rest))
    return header[first:total], rows


def xlsx_cells(data: bytes) -> list[Any]:
    sheet = load_workbook(io.BytesIO(data)).active
    return [c for row in sheet.iter_rows(min_row=2) for c in row]
