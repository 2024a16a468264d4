"""Participant attributes and districts recomputed from their accounts and the registry."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from intensive_tracker.people.districts import Registry
from intensive_tracker.people.identity import name_key
from intensive_tracker.store import models as m
from intensive_tracker.store.upsert import chunked


def refresh_districts(session: Session, registry: Registry) -> int:
    """participant.district_id from its stored spelling, so a new alias applies without a re-sync.

    What `report` runs: the attributes themselves are kept current by every sync, only the
    registry (config aliases, districts) may have changed since.
    """
    conn = session.connection()
    district_ids = {name: did for did, name in conn.execute(select(col(m.District.id), col(m.District.name)))}
    changed = []
    for pid, raw, before in conn.execute(
        select(col(m.Participant.id), col(m.Participant.district_raw), col(m.Participant.district_id))
    ):
        after = district_ids.get(registry.resolve(raw).name or "")
        if after != before:
            changed.append({"pid": pid, "new_district_id": after})
    if changed:
        conn.execute(
            update(m.Participant)
            .where(col(m.Participant.id) == bindparam("pid"))
            .values(district_id=bindparam("new_district_id")),
            changed,
        )
    return len(changed)


def refresh_participants(session: Session, registry: Registry, *, participant_ids: set[int] | None) -> set[int]:
    """Participant attributes from their accounts, and the district resolved from its spelling; the ids changed.

    The choice is independent of batch order (active account first, then one that names a
    district, then the newest), so a re-run writes nothing; a new alias takes effect here
    without a re-sync.
    """
    conn = session.connection()
    query = select(m.Account).order_by(col(m.Account.participant_id), col(m.Account.id))
    if participant_ids is None:
        pages = [query]
    elif not participant_ids:
        return set()
    else:
        # Chunked: one IN list of every person of a large batch passes PostgreSQL's 65,535 parameters (issue 12).
        pages = [query.where(col(m.Account.participant_id).in_(c)) for c in chunked(sorted(participant_ids))]
    accounts: dict[int, list[Any]] = defaultdict(list)
    for page in pages:
        for row in conn.execute(page):
            accounts[row.participant_id].append(row)
    district_ids = {name: did for did, name in conn.execute(select(col(m.District.id), col(m.District.name)))}
    rows = []
    for pid, accs in accounts.items():
        # An account joined only by a *probable* name match (forms) never overrides the confirmed ones.
        best = max(
            accs,
            key=lambda a: (
                not a.suspended,
                not a.link_reason.startswith("probable:"),
                bool(a.district_raw and a.district_raw.strip()),
                a.id,
            ),
        )
        resolution = registry.resolve(best.district_raw)
        rows.append(
            {
                "id": pid,
                "full_name": best.full_name,
                "name_key": name_key(best.full_name),
                "district_raw": best.district_raw,
                "district_id": district_ids.get(resolution.name or ""),
                "school": best.school,
                "position": best.position,
                "category": best.category,
            }
        )
    existing: dict[int, Any] = {}
    ids = list(accounts)
    for chunk in chunked(ids):
        existing.update({r.id: r for r in conn.execute(select(m.Participant).where(col(m.Participant.id).in_(chunk)))})
    changed_rows = [row for row in rows if any(getattr(existing[row["id"]], k) != v for k, v in row.items())]
    if changed_rows:
        # One executemany instead of a statement per person (issue 9).
        columns = [k for k in changed_rows[0] if k != "id"]
        stmt = (
            update(m.Participant)
            .where(col(m.Participant.id) == bindparam("pid"))
            .values({c: bindparam("new_" + c) for c in columns})
        )
        conn.execute(stmt, [{"pid": row["id"], **{"new_" + c: row[c] for c in columns}} for row in changed_rows])
    return {int(row["id"]) for row in changed_rows}
