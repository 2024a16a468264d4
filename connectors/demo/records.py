"""The records a demo launch leaves: attendance marks (every reached district attended), defense grades and
submissions, and the counter that numbers Moodle ids."""

from __future__ import annotations

import random

from connectors.demo.people import People, district_of
from connectors.demo.world import (
    Assignment,
    Attendance,
    AttSession,
    GradeRow,
    SubmissionRow,
    unix,
)


class Ids:
    """Moodle ids per kind of record, counted from 1."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def next(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return self.counters[kind]


def mark_session(rng: random.Random, sess: AttSession, attendance: Attendance, pool: list[int], present: int) -> None:
    """`present` people marked П or О; some of the rest Н or У, the others left unmarked."""
    p, late, excused, absent = (s.id for s in attendance.statuses)
    chosen = rng.sample(pool, present)
    for uid in chosen:
        sess.log[uid] = late if rng.random() < 0.07 else p
    rest = [u for u in pool if u not in sess.log]
    mark_all = rng.random() < 0.5
    for uid in rest:
        if mark_all or rng.random() < 0.5:
            sess.log[uid] = excused if rng.random() < 0.03 else absent


def cover_districts(
    rng: random.Random, people: People, attendance: Attendance, pool: list[int], districts: list[str]
) -> None:
    """Swap present marks in the first session so that every district has an attendee (count unchanged)."""
    present_ids = {attendance.statuses[0].id, attendance.statuses[1].id}
    first = attendance.sessions[0]
    absent_status = attendance.statuses[3].id

    def attendees() -> set[int]:
        return {u for s in attendance.sessions for u, st in s.log.items() if st in present_ids}

    by_district: dict[str | None, list[int]] = {}
    for uid in sorted(attendees()):
        by_district.setdefault(district_of(people.users[uid]), []).append(uid)
    for district in districts:
        if by_district.get(district):
            continue
        newcomer = next(u for u in pool if district_of(people.users[u]) == district)
        donor_district = max(by_district, key=lambda d: len(by_district[d]) if d else -1)
        donor = next(u for u in by_district[donor_district] if first.log.get(u) in present_ids)
        first.log[newcomer] = first.log[donor]
        first.log[donor] = absent_status
        by_district.setdefault(district, []).append(newcomer)
        if not any(s.log.get(donor) in present_ids for s in attendance.sessions):
            by_district[donor_district].remove(donor)


def defense_assignment(
    ids: Ids,
    rng: random.Random,
    people: People,
    attendees: list[int],
    passed: int,
    failed: int,
    pending: int,
    day: str,
    need_districts: list[str] | None,
) -> Assignment:
    assignment = Assignment(id=ids.next("assign"), cmid=ids.next("cm"), name="Защита методической разработки", grade=10)
    with_district = [u for u in attendees if district_of(people.users[u])]
    chosen: list[int] = []
    if need_districts:
        # Every district the launch reached has at least one defender.
        for district in need_districts:
            local = [u for u in with_district if district_of(people.users[u]) == district and u not in chosen]
            if local:
                chosen.append(rng.choice(local))
    rest = [u for u in with_district if u not in set(chosen)]
    rng.shuffle(rest)
    chosen += rest[: passed - len(chosen)]
    others = [u for u in attendees if u not in set(chosen)]
    rng.shuffle(others)
    failing, waiting = others[:failed], others[failed : failed + pending]
    base = unix(day, 12)
    for uid in chosen[:passed]:
        when = base + rng.randint(-5, 5) * 86400 + rng.randint(0, 20000)
        assignment.grades.append(GradeRow(uid, float(rng.randint(6, 10)), when))
        if rng.random() < 0.9:  # the rest defended live, without an online submission
            assignment.submissions.append(SubmissionRow(uid, "submitted", when - 3 * 86400))
        else:
            assignment.submissions.append(SubmissionRow(uid, "new", when - 3 * 86400))
    for uid in failing:
        when = base + rng.randint(-5, 5) * 86400
        assignment.grades.append(GradeRow(uid, float(rng.randint(2, 5)), when))
        assignment.submissions.append(SubmissionRow(uid, "submitted", when - 3 * 86400))
    for n, uid in enumerate(waiting):
        when = base + rng.randint(-5, 5) * 86400
        if n % 5 == 0:
            assignment.grades.append(GradeRow(uid, -1.0, when))
        assignment.submissions.append(SubmissionRow(uid, "submitted", when - 86400))
    return assignment
