"""SMTP transport: connect (STARTTLS, SSL or plain), log in, hand over one message, classify the answer.

The classification is the whole point (RELIABILITY.md §2): 4xx → temporary, 5xx for every
recipient → permanent, some recipients refused → sent with the refusals recorded, connection
lost once DATA started → uncertain (the server may have the message), lost before → temporary.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from intensive_tracker.config import MailSettings
from intensive_tracker.i18n import _
from intensive_tracker.mail import outbox
from intensive_tracker.mail.errors import MailAuthError, MailUnavailable
from intensive_tracker.redact import redact, register_secret


class _DataTracking:
    """Remembers whether the DATA command was started for the current message."""

    data_started = False

    def data(self, msg: Any) -> Any:
        self.data_started = True
        return super().data(msg)  # type: ignore[misc]


class _SMTP(_DataTracking, smtplib.SMTP):
    pass


class _SMTPSSL(_DataTracking, smtplib.SMTP_SSL):
    pass


@dataclass(frozen=True)
class Delivery:
    """What became of one message: an outbox state, the reason, the recipients refused."""

    state: str
    reason: str | None = None
    refused: dict[str, Any] = field(default_factory=dict)
    # The server closed the session before it saw the message (421, or a drop before DATA), as relays
    # do after N messages per connection: the same message may go at once on a new connection.
    reconnect: bool = False


def _reply(code: int, text: bytes | str) -> str:
    """A server reply as text, redacted: a server may echo what it was sent, the password included."""
    return redact(f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}".strip())


def _said(error: BaseException) -> str:
    """An exception's text, redacted of every registered secret (the SMTP password among them)."""
    return redact(f"{type(error).__name__}: {error}")


class Transport:
    """One SMTP session, reopened after the server drops it."""

    def __init__(self, settings: MailSettings, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.ssl_context = ssl_context or ssl.create_default_context()
        self._conn: _SMTP | _SMTPSSL | None = None

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.port} ({self.settings.security})"

    def open(self) -> None:
        """Connect, greet, secure and log in; MailUnavailable (69) or MailAuthError (77) if not."""
        s = self.settings
        password = s.password()
        register_secret(password)
        try:
            if s.security == "ssl":
                conn: _SMTP | _SMTPSSL = _SMTPSSL(s.smtp_host, s.port, timeout=s.timeout, context=self.ssl_context)
            else:
                conn = _SMTP(s.smtp_host, s.port, timeout=s.timeout)
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    conn.close()
                    raise MailUnavailable(
                        _(
                            'SMTP {where}: сервер не предлагает STARTTLS; задайте mail.security = "ssl" '
                            "или исправьте сервер",
                            where=self.where,
                        )
                    )
                conn.starttls(context=self.ssl_context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, password or "")
        except smtplib.SMTPAuthenticationError as e:
            raise MailAuthError(
                _(
                    "SMTP {where}: вход как {user} отклонён ({reply}); проверьте mail.username и ${variable}",
                    where=self.where,
                    user=repr(s.username),
                    reply=_reply(e.smtp_code, e.smtp_error),
                    variable=s.password_env,
                )
            ) from None
        except (smtplib.SMTPException, OSError) as e:
            raise MailUnavailable(
                _(
                    "SMTP {where}: не удаётся подключиться: {error}; ничего не отправлено, "
                    "письма остаются в исходящих до следующего запуска",
                    where=self.where,
                    error=_said(e),
                )
            ) from None
        self._conn = conn

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    def send(self, message: EmailMessage, *, sender: str, recipients: list[str]) -> Delivery:
        """Hand one message over and say what became of it; never raises for a per-message failure."""
        conn = self._conn
        assert conn is not None, "open() first"
        conn.data_started = False
        try:
            refused = conn.send_message(message, from_addr=sender, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as e:
            refusals = {addr: _reply(code, text) for addr, (code, text) in e.recipients.items()}
            permanent = all(code >= 500 for code, _text in e.recipients.values())
            return Delivery(
                outbox.FAILED_PERMANENT if permanent else outbox.FAILED_TEMPORARY,
                _(
                    "отказ для всех получателей: {refusals}",
                    refusals="; ".join(f"{a}: {r}" for a, r in refusals.items()),
                ),
                refusals,
            )
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            # A reply, not silence: the server told us it did not take the message.
            state = outbox.FAILED_TEMPORARY if e.smtp_code < 500 else outbox.FAILED_PERMANENT
            closing = e.smtp_code == 421
            if closing:
                self.drop()
            return Delivery(
                state,
                (
                    _("отправитель отклонён: {reply}", reply=_reply(e.smtp_code, e.smtp_error))
                    if isinstance(e, smtplib.SMTPSenderRefused)
                    else _("письмо отклонено: {reply}", reply=_reply(e.smtp_code, e.smtp_error))
                ),
                reconnect=closing and isinstance(e, smtplib.SMTPSenderRefused),
            )
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as e:
            started = conn.data_started
            self.drop()
            if isinstance(e, smtplib.SMTPResponseException) and not started:
                state = outbox.FAILED_TEMPORARY if e.smtp_code < 500 else outbox.FAILED_PERMANENT
                return Delivery(
                    state,
                    _("ответ сервера: {reply}", reply=_reply(e.smtp_code, e.smtp_error)),
                    reconnect=e.smtp_code == 421,
                )
            if started:
                return Delivery(
                    outbox.UNCERTAIN,
                    _(
                        "соединение потеряно после передачи письма (DATA): {error}; сервер мог его доставить",
                        error=_said(e),
                    ),
                )
            return Delivery(
                outbox.FAILED_TEMPORARY, _("соединение потеряно до DATA: {error}", error=_said(e)), reconnect=True
            )
        return Delivery(outbox.SENT, None, {addr: _reply(code, text) for addr, (code, text) in refused.items()})

    def drop(self) -> None:
        """Forget a broken connection (the next message reopens one)."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        """QUIT politely; a server already gone is no error here."""
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self.drop()
