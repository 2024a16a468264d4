"""District emails «участники-итоги»: planned from rosters, previewed as .eml, sent once through the outbox."""

from intensive_tracker.mail.errors import HeaderInjection, MailAuthError, MailUnavailable
from intensive_tracker.mail.preview import PreviewReport, preview_all
from intensive_tracker.mail.send_report import MessageResult, SendReport
from intensive_tracker.mail.sender import resend, send_all

__all__ = [
    "HeaderInjection",
    "MailAuthError",
    "MailUnavailable",
    "MessageResult",
    "PreviewReport",
    "SendReport",
    "preview_all",
    "resend",
    "send_all",
]
