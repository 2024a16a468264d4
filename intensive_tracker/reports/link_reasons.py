"""Why an account was linked to a participant, in the reader's language.

The sync stores the reason once, in Russian, and the reports read it back by its words («тот же
e-mail», «проверьте», «вручную»), so the stored text stays as it is; here it is shown through the
catalog. A reason of another shape (written by an older version) is shown as stored.
"""

from __future__ import annotations

import re

from intensive_tracker.i18n import _
from intensive_tracker.people import vocabulary as v

_STORED = [
    v.LINK_SAME_EMAIL,
    v.LINK_NEW,
    v.LINK_NEW_OTHER_EMAIL,
    v.LINK_NEW_AMBIGUOUS,
    v.LINK_JOINED,
    v.LINK_JOINED_NOTE,
    v.LINK_SPLIT,
    v.LINK_SPLIT_NOTE,
]


def _pattern(message: str) -> re.Pattern[str]:
    """The stored form of `message`: its text, each `{field}` any text (named, to fill the message again)."""
    parts = re.split(r"\{(\w+)\}", message)
    return re.compile("^" + "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*)" for i, p in enumerate(parts)) + "$")


_REASONS: list[tuple[re.Pattern[str], str]] = [(_pattern(m), m) for m in _STORED] + [
    (_pattern(v.stored_probable("{person}")), v.LINK_PROBABLE)
]


def link_reason_text(stored: str) -> str:
    """The stored reason as the active language writes it."""
    for pattern, message in _REASONS:
        found = pattern.match(stored)
        if found:
            return _(message, **found.groupdict())
    return stored
