"""Finding people by a part of their name or an e-mail: case, ё/е, initials and word order ignored."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from intensive_tracker.people.identity import email_key, name_key
from intensive_tracker.store import models as m

SIMILAR = 0.8  # a query word this close to a name word is a likely misspelling


@dataclass(frozen=True)
class Match:
    participant_id: int
    how: str  # "email" | "name" | "similar"


def find_people(engine: Engine, query: str) -> list[Match]:
    """By e-mail, else by the words of a name (case, ё/е, initials, word order ignored), else by similar words."""
    text = query.strip()
    with engine.connect() as conn:
        if "@" in text:
            key = email_key(text)
            found: set[int] = {
                pid
                for (pid,) in conn.execute(
                    select(col(m.Account.participant_id)).where(
                        or_(col(m.Account.email).ilike(text), col(m.Account.email).ilike(key or ""))
                    )
                )
            }
            found |= {
                pid
                for (pid,) in conn.execute(select(col(m.Participant.id)).where(col(m.Participant.email_key) == key))
                if pid is not None
            }
            return [Match(pid, "email") for pid in sorted(found)]
        names: dict[int, set[str]] = defaultdict(set)
        for participant_id, name in conn.execute(select(col(m.Participant.id), col(m.Participant.full_name))):
            assert participant_id is not None  # a primary key
            names[participant_id].add(name)
        for pid, name in conn.execute(select(col(m.Account.participant_id), col(m.Account.full_name))):
            names[pid].add(name)
    words = _words(text)
    if not words:
        return []
    exact = [pid for pid, all_names in names.items() if any(_covers(words, _words(n), True) for n in all_names)]
    if exact:
        return [Match(pid, "name") for pid in sorted(exact)]
    similar = [pid for pid, all_names in names.items() if any(_covers(words, _words(n), False) for n in all_names)]
    return [Match(pid, "similar") for pid in sorted(similar)]


def _words(name: str) -> list[str]:
    return name_key(name.replace(".", " ")).split()


def _covers(query: list[str], name: list[str], prefix: bool) -> bool:
    """Each query word matches a different word of the name: as its beginning, or (not prefix) closely."""
    free = list(name)
    for word in sorted(query, key=len, reverse=True):
        for candidate in free:
            if candidate.startswith(word) or (not prefix and len(word) >= 4 and _close(word, candidate)):
                free.remove(candidate)
                break
        else:
            return False
    return True


def _close(word: str, candidate: str) -> bool:
    """A misspelt word or the misspelt beginning of one («Иваннова» ~ «иванова», «Ёлкин» ~ «елкина»)."""
    return (
        max(SequenceMatcher(None, word, candidate).ratio(), SequenceMatcher(None, word, candidate[: len(word)]).ratio())
        >= SIMILAR
    )
