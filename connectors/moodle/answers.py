"""What one cohort's read was made of, as one digest: every answer, the request that asked for it, and the rest.

Issue 17: a night that changed nothing must cost little more than the fetch. The big answers (the
attendance marks) are kept as bytes until the digest of the whole read is known; if it equals the
digest stored with the batch last written, the cohort is unchanged and none of them is decoded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


class AnswerDigest:
    """A running digest; `add` an answer with its request, `note` anything else that shapes the records."""

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=20)

    def add(self, wsfunction: str, fields: Iterable[tuple[str, str]], content: bytes) -> None:
        """One answer and the request's fields (never the token: the caller leaves it out)."""
        self._part(wsfunction.encode())
        self._part(repr(list(fields)).encode())
        self._part(content)

    def note(self, label: str, text: str) -> None:
        self._part(label.encode())
        self._part(text.encode())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def _part(self, data: bytes) -> None:
        # Length-prefixed, so that no two different sequences of parts give the same bytes.
        self._hash.update(len(data).to_bytes(8, "little"))
        self._hash.update(data)
