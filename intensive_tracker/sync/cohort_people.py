"""Writing a batch's people: accounts, each joined to a participant (by email, else a new person)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session, col

from connectors.base import Batch, PersonRecord
from intensive_tracker.people.identity import email_key, name_key
from intensive_tracker.people.vocabulary import LINK_NEW, LINK_SAME_EMAIL
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked, upsert
from intensive_tracker.sync.state import RunState


def write_people(session: Session, batch: Batch, state: RunState) -> tuple[dict[str, int], dict[str, int]]:
    """Accounts of the batch, each joined to a participant (new ones by email, else a new person)."""
    conn = session.connection()
    people = {p.external_id: p for p in batch.people}
    known: dict[str, tuple[int, int]] = {}
    ids = list(people)
    for chunk in chunked(ids):
        for ext, aid, pid in conn.execute(
            select(col(m.Account.external_id), col(m.Account.id), col(m.Account.participant_id)).where(
                col(m.Account.source) == batch.source, col(m.Account.external_id).in_(chunk)
            )
        ):
            assert aid is not None  # a primary key read back
            known[ext] = (aid, pid)
    new = [p for ext, p in people.items() if ext not in known]
    emails = {email_key(p.email) for p in new} - {None}
    by_email: dict[str, int] = {}
    if emails:
        email_list = sorted(e for e in emails if e)
        for chunk in chunked(email_list):
            for found_key, found_id in conn.execute(
                select(col(m.Participant.email_key), col(m.Participant.id)).where(
                    col(m.Participant.email_key).in_(chunk)
                )
            ):
                assert found_key is not None and found_id is not None  # matched by key; a primary key
                by_email[found_key] = found_id
    links: dict[str, tuple[int, str]] = {ext: (known[ext][1], "") for ext in known}
    # New people are written in bulk (issue 9: one statement per person dominated a large sync);
    # the first new account with an email creates the participant, later ones join it.
    # Link reasons are stored and read back by the reports («тот же e-mail»): data, not catalog messages.
    keyed: dict[str, dict[str, Any]] = {}
    unkeyed: list[tuple[str, dict[str, Any]]] = []
    for p in new:
        key = email_key(p.email)
        if key and key in by_email:
            links[p.external_id] = (by_email[key], LINK_SAME_EMAIL.format(email=key))
            continue
        values = participant_values(p)
        if key and key not in keyed:
            keyed[key] = {"email_key": key, **values}
        elif not key:
            unkeyed.append((p.external_id, values))
    if keyed:
        result = upsert(session, m.Participant, list(keyed.values()), key=["email_key"])
        by_email.update({k[0]: pid for k, pid in result.ids.items()})
        state.note_participants(created=(result.ids[(k,)] for k in keyed))
    if unkeyed:
        stmt = insert(m.Participant).returning(col(m.Participant.id), sort_by_parameter_order=True)
        created = conn.execute(stmt, [values for _, values in unkeyed]).scalars().all()
        state.note_participants(created=(int(i) for i in created if i is not None))
        for (ext, _), new_id in zip(unkeyed, created, strict=True):
            assert new_id is not None  # a primary key returned by INSERT
            links[ext] = (new_id, LINK_NEW)
    first_with_key: set[str] = set()
    for p in new:
        key = email_key(p.email)
        if p.external_id in links or not key:
            continue
        reason = LINK_NEW if key not in first_with_key else LINK_SAME_EMAIL.format(email=key)
        first_with_key.add(key)
        links[p.external_id] = (by_email[key], reason)
    rows = []
    for ext, p in people.items():
        pid, reason = links[ext]
        row = {**account_values(batch.source, ext, p, suspended=p.suspended), "participant_id": pid}
        if ext not in known:
            row["link_reason"] = reason
        rows.append(row)
    # link_reason is written once, when the account is first seen.
    new_rows = [r for r in rows if "link_reason" in r]
    old_rows = [r for r in rows if "link_reason" not in r]
    result = upsert(session, m.Account, new_rows, key=["source", "external_id"])
    state.counts["accounts"].add(result.counts)
    account_ids = {k[1]: v for k, v in result.ids.items()}
    result = upsert(session, m.Account, old_rows, key=["source", "external_id"])
    state.counts["accounts"].add(result.counts)
    account_ids.update({k[1]: v for k, v in result.ids.items()})
    participant_ids = {ext: links[ext][0] for ext in people}
    return account_ids, participant_ids


def participant_values(p: PersonRecord) -> dict[str, Any]:
    """A new participant's attributes, taken from the account that creates it."""
    return {
        "full_name": p.full_name,
        "name_key": name_key(p.full_name),
        "district_raw": p.district_raw,
        "school": p.school,
        "position": p.position,
        "category": p.category,
    }


def account_values(source: str, external_id: str, p: PersonRecord, *, suspended: bool) -> dict[str, Any]:
    """An account's row as the source gives it (the participant it belongs to is added by the caller)."""
    return {
        "source": source,
        "external_id": external_id,
        "full_name": p.full_name,
        "email": p.email,
        "district_raw": p.district_raw,
        "school": p.school,
        "position": p.position,
        "category": p.category,
        "suspended": suspended,
    }
