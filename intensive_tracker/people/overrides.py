"""Manual corrections of the one-person-one-record linking: `[[people.join]]` and `[[people.split]]`.

Sync links a new account to a person by e-mail. The administrator corrects what that gets wrong:
a join says several accounts are one person (different e-mails), a split says an account is a
person of its own (a shared school e-mail). Both are applied on every sync, so they also fix
accounts linked long ago; applying them twice changes nothing.

Moving an account moves its enrolments, attendance marks and defenses with it. Where the target
person already has a mark for the same session (or a defense in the same cohort), the better one
is kept, as sync does for two accounts of one person: present over absent, passed over failed over
pending. A person left without accounts keeps their row (other tables may point at it) and, having
no marks, appears in no report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from intensive_tracker.config import JoinOverride, PeopleSettings
from intensive_tracker.people.identity import email_key, name_key
from intensive_tracker.people.vocabulary import DEFENSE_RANK, LINK_JOINED, LINK_JOINED_NOTE, LINK_SPLIT, LINK_SPLIT_NOTE
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked


@dataclass(frozen=True)
class OverrideMatch:
    """What one override found among the stored accounts (the quality report lists the misses)."""

    kind: str  # join | split
    refs: tuple[str, ...]
    matched: tuple[int, ...]  # account ids
    note: str


def account_ref(source: str, external_id: str) -> str:
    """How the config names an account: "moodle:1203"."""
    return f"{source}:{external_id}"


def match_overrides(conn: Connection, people: PeopleSettings) -> list[OverrideMatch]:
    """Each join and split of the config with the accounts it names."""
    result = []
    for join in people.join:
        result.append(
            OverrideMatch("join", (*join.accounts, *join.emails), tuple(_join_accounts(conn, join)), join.note)
        )
    for split in people.split:
        ids = _accounts_by_ref(conn, [split.account])
        result.append(OverrideMatch("split", (split.account,), tuple(ids), split.note))
    return result


def apply_people_overrides(
    session: Session, people: PeopleSettings, *, account_ids: Mapping[str, int], participant_ids: Mapping[str, int]
) -> dict[str, int]:
    """Relink accounts as the config says; returns the batch's `participant_ids` (external id → person) updated."""
    if not people.join and not people.split:
        return dict(participant_ids)
    conn = session.connection()
    changed = False
    for join in people.join:
        changed |= _apply_join(conn, join)
    for split in people.split:
        changed |= _apply_split(session, split.account, split.note)
    if not changed:
        return dict(participant_ids)
    by_account = {aid: ext for ext, aid in account_ids.items()}
    result = dict(participant_ids)
    ids = sorted(by_account)
    for chunk in chunked(ids):
        for aid, pid in conn.execute(
            select(col(m.Account.id), col(m.Account.participant_id)).where(col(m.Account.id).in_(chunk))
        ):
            assert aid is not None  # a primary key read back
            result[by_account[aid]] = pid
    return result


def _accounts_by_ref(conn: Connection, refs: Iterable[str]) -> list[int]:
    refs = list(refs)
    if not refs:
        return []
    full = col(m.Account.source) + ":" + col(m.Account.external_id)
    return [
        aid
        for (aid,) in conn.execute(select(col(m.Account.id)).where(full.in_(refs)).order_by(col(m.Account.id)))
        if aid is not None
    ]  # a primary key: never NULL


def _accounts_by_email(conn: Connection, emails: Iterable[str]) -> list[int]:
    keys = sorted({k for k in (email_key(e) for e in emails) if k})
    if not keys:
        return []
    return [
        aid
        for (aid,) in conn.execute(
            select(col(m.Account.id))
            .where(func.lower(func.trim(col(m.Account.email))).in_(keys))
            .order_by(col(m.Account.id))
        )
        if aid is not None
    ]  # a primary key: never NULL


def _join_accounts(conn: Connection, join: JoinOverride) -> list[int]:
    """The accounts a join names, plus those sharing their e-mails (the e-mail rule makes them the same person)."""
    ids = set(_accounts_by_ref(conn, join.accounts)) | set(_accounts_by_email(conn, join.emails))
    emails = [e for (e,) in conn.execute(select(col(m.Account.email)).where(col(m.Account.id).in_(sorted(ids)))) if e]
    return sorted(ids | set(_accounts_by_email(conn, emails)))


def _apply_join(conn: Connection, join: JoinOverride) -> bool:
    ids = _join_accounts(conn, join)
    if not ids:
        return False
    people = sorted(
        {pid for (pid,) in conn.execute(select(col(m.Account.participant_id)).where(col(m.Account.id).in_(ids)))}
    )
    if len(people) < 2:
        return False
    target = people[0]  # the oldest record stays: its id is what earlier reports and emails knew
    # Stored in Russian and read back by the quality report («вручную»); shown through the catalog.
    reason = LINK_JOINED_NOTE.format(note=join.note) if join.note else LINK_JOINED
    for pid in people[1:]:
        moved = [
            aid
            for (aid,) in conn.execute(select(col(m.Account.id)).where(col(m.Account.participant_id) == pid))
            if aid is not None
        ]  # a primary key: never NULL
        _move_accounts(conn, moved, target, reason)
    return True


def _apply_split(session: Session, ref: str, note: str) -> bool:
    conn = session.connection()
    ids = _accounts_by_ref(conn, [ref])
    if not ids:
        return False
    account = conn.execute(select(m.Account).where(col(m.Account.id) == ids[0])).one()
    siblings = conn.execute(
        select(func.count()).select_from(m.Account).where(m.Account.participant_id == account.participant_id)
    ).scalar_one()
    if siblings < 2:
        return False  # already a person of its own
    person = m.Participant(
        email_key=None,
        full_name=account.full_name,
        name_key=name_key(account.full_name),
        district_raw=account.district_raw,
        school=account.school,
        position=account.position,
        category=account.category,
    )
    session.add(person)
    session.flush()
    assert person.id is not None
    new_id = person.id
    reason = LINK_SPLIT_NOTE.format(note=note) if note else LINK_SPLIT
    _move_accounts(conn, [account.id], new_id, reason)
    return True


def _move_accounts(conn: Connection, account_ids: list[int], target: int, reason: str) -> None:
    """Accounts and everything recorded through them now belong to `target`."""
    if not account_ids:
        return
    conn.execute(
        update(m.Account).where(col(m.Account.id).in_(account_ids)).values(participant_id=target, link_reason=reason)
    )
    conn.execute(update(m.Enrolment).where(col(m.Enrolment.account_id).in_(account_ids)).values(participant_id=target))
    _move_marks(
        conn,
        m.Attendance,
        m.Attendance.session_id,
        account_ids,
        target,
        better=lambda row: (bool(row.present), -row.id),
    )
    _move_marks(
        conn,
        m.Defense,
        m.Defense.cohort_id,
        account_ids,
        target,
        better=lambda row: (DEFENSE_RANK.get(row.outcome, 0), -row.id),
    )


def _move_marks(conn: Connection, model: Any, slot: Any, account_ids: list[int], target: int, *, better: Any) -> None:
    """Rows of `model` made through the accounts go to `target`; one row per slot, the better one kept."""
    moving = conn.execute(select(model).where(model.account_id.in_(account_ids), model.participant_id != target)).all()
    if not moving:
        return
    slot_name = slot.key
    slots = sorted({getattr(r, slot_name) for r in moving})
    held = {
        getattr(r, slot_name): r
        for r in conn.execute(select(model).where(model.participant_id == target, slot.in_(slots)))
    }
    for row in sorted(moving, key=better, reverse=True):
        kept = held.get(getattr(row, slot_name))
        if kept is None:
            conn.execute(update(model).where(model.id == row.id).values(participant_id=target))
            held[getattr(row, slot_name)] = row
        elif better(row) > better(kept):
            conn.execute(delete(model).where(model.id == kept.id))
            conn.execute(update(model).where(model.id == row.id).values(participant_id=target))
            held[getattr(row, slot_name)] = row
        else:
            conn.execute(delete(model).where(model.id == row.id))
