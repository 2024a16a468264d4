"""One district email as an EmailMessage: HTML + plain text from templates, the XLSX attached.

Serialized with policy.SMTP: every header on the wire is ASCII (RFC 2047 subject, RFC 2231
`filename*=utf-8''…`), lines end in CRLF. A line break in any header value is refused.
"""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from zoneinfo import ZoneInfo

from jinja2 import Environment

from intensive_tracker.config import MailSettings
from intensive_tracker.i18n import _
from intensive_tracker.mail.errors import HeaderInjection
from intensive_tracker.mail.plan import DistrictMail
from intensive_tracker.mail.workbook import participants_workbook
from intensive_tracker.templating import environment

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def check_header(name: str, value: str) -> str:
    """The value itself, or HeaderInjection when it could start a new header line."""
    if any(ch in value for ch in "\r\n\0\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"):
        raise HeaderInjection(
            _(
                "{name}: в значении {value} есть перевод строки; письмо не собирается "
                "(исправьте название округа или конфигурацию)",
                name=name,
                value=repr(value),
            )
        )
    return value


def new_message_id(settings: MailSettings) -> str:
    """A Message-ID in the sender's domain; stored in the outbox before the first attempt."""
    return make_msgid(idstring="uchastniki-itogi", domain=settings.from_address.rsplit("@", 1)[1])


def build_message(
    mail: DistrictMail, *, settings: MailSettings, message_id: str, now: datetime, tz: ZoneInfo
) -> EmailMessage:
    """The message exactly as it goes on the wire (headers validated, body rendered, XLSX attached)."""
    check_header("district", mail.district)
    headers = {
        "From": settings.from_address,
        "To": ", ".join(mail.to),
        "Cc": ", ".join(mail.cc),
        "Reply-To": settings.reply_to or "",
        "Subject": mail.subject,
        "Message-ID": message_id,
    }
    message = EmailMessage(policy=policy.SMTP)
    for name, value in headers.items():
        if value:
            message[name] = check_header(name, value)
    message["Date"] = format_datetime(now)
    context = {"mail": mail, "generated": now.astimezone(tz)}
    html_env, text_env = _environments()
    message.set_content(text_env.get_template("mail/participants.txt").render(**context))
    message.add_alternative(html_env.get_template("mail/participants.html").render(**context), subtype="html")
    message.add_attachment(
        participants_workbook(mail), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=mail.attachment_name
    )
    return message


@lru_cache(maxsize=1)
def _environments() -> tuple[Environment, Environment]:
    """Compiled once per process (a run builds ~100 messages). The plain-text part is not HTML:
    escaping it would show "&lt;" to the reader, so its environment does not autoescape."""
    env = environment()
    return env, env.overlay(autoescape=False)


def wire_bytes(message: EmailMessage) -> bytes:
    """What smtplib sends (and what a preview .eml holds)."""
    return message.as_bytes(policy=policy.SMTP)
