"""One person, one record: each row of a form file joined to a participant.

By e-mail (of a participant or of any account), else a *probable* match by name and district (shown
in the data-quality report for a person to check), else a new participant. The name match never joins
two different e-mails: those are two people (listed on quality.html as possible twins, with the
`[[people.join]]` lines that would join them).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func, insert, select
from sqlmodel import Session, col

from connectors.base import FormBatch
from intensive_tracker.people.districts import Registry
from intensive_tracker.people.identity import email_key, initials_key, name_key
from intensive_tracker.people.spelling import normalize
from intensive_tracker.people.vocabulary import (
    LINK_NEW,
    LINK_NEW_AMBIGUOUS,
    LINK_NEW_OTHER_EMAIL,
    LINK_PROBABLE_PREFIX,
    LINK_SAME_EMAIL,
    stored_probable,
)
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked, upsert
from intensive_tracker.sync.cohort_people import account_values, participant_values
from intensive_tracker.sync.state import RunState

SOURCE = "forms"
PROBABLE = LINK_PROBABLE_PREFIX


def _district_key(registry: Registry, spelling: str | None) -> str | None:
    """What two district spellings must share to be the same district: the registry's name, else the normalized text."""
    if not spelling or not spelling.strip():
        return None
    name = registry.resolve(spelling).name
    return name if name else "?" + normalize(spelling)


def _abbreviated(key: str) -> bool:
    return any(len(part) == 1 for part in key.split()[1:])


class _Known(NamedTuple):
    pid: int
    full_name: str
    key: str
    initials: str
    abbreviated: bool
    district_raw: str | None
    district: str | None


class PersonIndex:
    """Who is already known, loaded once per file: e-mails (of participants and of every account) and names.

    A few queries per file instead of several per row (a 5,000-row file of new people: 34 s → 9 s in all).
    """

    def __init__(self, conn: Any, registry: Registry) -> None:
        self.registry = registry
        self._districts: dict[str | None, str | None] = {}
        self.by_email: dict[str, int] = {}
        self.emails_of: dict[int, set[str]] = {}  # every e-mail a participant is known by (its accounts', its own)
        for key, pid in conn.execute(
            select(func.lower(col(m.Account.email)), col(m.Account.participant_id))
            .where(col(m.Account.email).is_not(None))
            .order_by(col(m.Account.id).desc())
        ):
            if key.strip():
                self.by_email[key.strip()] = int(pid)  # descending ids: the oldest account wins
                self.emails_of.setdefault(int(pid), set()).add(key.strip())
        for key, pid in conn.execute(
            select(col(m.Participant.email_key), col(m.Participant.id)).where(col(m.Participant.email_key).is_not(None))
        ):
            self.by_email[key] = int(pid)
            self.emails_of.setdefault(int(pid), set()).add(key)
        # Keyed by district and name (exact, and initials), so a row looks at its namesakes only: a surname
        # bucket scanned per row made a 70,000-row file of one surname quadratic (issue 12).
        self.by_name: dict[tuple[str | None, str], list[_Known]] = {}
        self.by_initials: dict[tuple[str | None, str], list[_Known]] = {}
        self.abbreviated: dict[tuple[str | None, str], list[_Known]] = {}  # «Сидорова М.И.», by initials
        for pid, full_name, _name_key, district in conn.execute(
            select(
                col(m.Participant.id),
                col(m.Participant.full_name),
                col(m.Participant.name_key),
                col(m.Participant.district_raw),
            ).order_by(col(m.Participant.id))
        ):
            self.add(int(pid), full_name, district)

    def district(self, spelling: str | None) -> str | None:
        if spelling not in self._districts:
            self._districts[spelling] = _district_key(self.registry, spelling)
        return self._districts[spelling]

    def add(self, pid: int, full_name: str, district_raw: str | None, email: str | None = None) -> None:
        """Make a participant (also one created meanwhile) findable by the next rows of the file."""
        if email:
            self.by_email.setdefault(email, pid)
            self.emails_of.setdefault(pid, set()).add(email)
        key = name_key(full_name.replace(".", ". "))
        if key:
            known = _Known(
                pid,
                full_name,
                key,
                initials_key(full_name),
                _abbreviated(key),
                district_raw,
                self.district(district_raw),
            )
            self.by_name.setdefault((known.district, key), []).append(known)
            self.by_initials.setdefault((known.district, known.initials), []).append(known)
            if known.abbreviated:
                self.abbreviated.setdefault((known.district, known.initials), []).append(known)

    def match(self, *, full_name: str, email: str | None, district_raw: str | None) -> tuple[int | None, str]:
        """(participant id or None for a new person, the reason shown in the data-quality report).

        The reason is stored with the account in Russian (people/vocabulary.py's LINK_* filled in) and read
        back by the reports by its words; reports/link_reasons.py shows it in the reader's language.
        """
        key = email_key(email)
        if key and key in self.by_email:
            return self.by_email[key], LINK_SAME_EMAIL.format(email=key)
        nk = name_key(full_name.replace(".", ". "))
        district = self.district(district_raw)
        if not nk or district is None:
            return None, LINK_NEW
        initials, abbreviated = initials_key(full_name), _abbreviated(nk)
        # The same district, and the same name, or the same initials where either side is abbreviated.
        if abbreviated:
            candidates = list(self.by_initials.get((district, initials), []))
        else:
            candidates = [*self.by_name.get((district, nk), []), *self.abbreviated.get((district, initials), [])]
        # Two different e-mails mean two people (two «Иванова Анна Ивановна» in Балашиха are ordinary, issue 12):
        # a name match joins only a row without e-mail, or a participant known by none. [[people.join]] can say otherwise.
        twins = {k.pid for k in candidates if key and self.emails_of.get(k.pid)}
        candidates = [k for k in candidates if k.pid not in twins]
        if twins and not candidates:
            ids = ", ".join(f"#{pid}" for pid in sorted(twins))
            return (
                None,
                LINK_NEW_OTHER_EMAIL.format(ids=ids),
            )
        if len({k.pid for k in candidates}) == 1:
            k = candidates[0]
            return k.pid, stored_probable(f"{k.full_name}, {k.district_raw}")
        if candidates:
            ids = ", ".join(f"#{pid}" for pid in sorted({k.pid for k in candidates}))
            return None, LINK_NEW_AMBIGUOUS.format(ids=ids)
        return None, LINK_NEW


def link_people(
    session: Session, batch: FormBatch, registry: Registry, state: RunState
) -> tuple[dict[str, int], dict[str, int]]:
    """Accounts of the file's rows; a row seen before keeps its participant, a new one is matched once."""
    conn = session.connection()
    people = {p.external_id: p for p in batch.people}
    ids = list(people)
    links: dict[str, int] = {}
    for chunk in chunked(ids):
        for ext, pid in conn.execute(
            select(col(m.Account.external_id), col(m.Account.participant_id)).where(
                col(m.Account.source) == SOURCE, col(m.Account.external_id).in_(chunk)
            )
        ):
            links[ext] = int(pid)
    new_rows, old_rows = [], []
    index: PersonIndex | None = None  # built only when the file has people not seen before
    for ext, p in people.items():
        row = account_values(SOURCE, ext, p, suspended=False)
        if ext in links:
            old_rows.append({**row, "participant_id": links[ext]})
            continue
        if index is None:
            index = PersonIndex(conn, registry)
        matched, reason = index.match(full_name=p.full_name, email=p.email, district_raw=p.district_raw)
        if matched is None:
            pid = _new_participant(session, p, state)
            index.add(pid, p.full_name, p.district_raw, email_key(p.email))
        else:
            pid = matched
            if email_key(p.email):
                index.by_email.setdefault(email_key(p.email) or "", pid)
                index.emails_of.setdefault(pid, set()).add(email_key(p.email) or "")
        links[ext] = pid
        # link_reason is written once, when the account is first seen (as for Moodle accounts).
        new_rows.append({**row, "participant_id": pid, "link_reason": reason})
    account_ids: dict[str, int] = {}
    for rows in (new_rows, old_rows):
        result = upsert(session, m.Account, rows, key=["source", "external_id"])
        state.counts["accounts"].add(result.counts)
        account_ids.update({k[1]: v for k, v in result.ids.items()})
    return account_ids, {ext: links[ext] for ext in people}


def _new_participant(session: Session, p: Any, state: RunState) -> int:
    """A plain INSERT: the index has just shown that no participant has this e-mail."""
    values = {"email_key": email_key(p.email), **participant_values(p)}
    result = session.connection().execute(insert(m.Participant), values)
    key = result.inserted_primary_key
    assert key is not None  # a single-row INSERT always reports its key
    state.note_participants(created=[int(key[0])])
    return int(key[0])
