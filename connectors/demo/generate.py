"""`generate_demo_world`: the lab's 2021–2024 history as a Moodle world, deterministic for a seed.

It agrees with the 2023/24 annual report (shared/PRODUCT.md «Reference numbers»). The report computes
those figures back from the records the connector stores; nothing here is read by the report.
"""

from __future__ import annotations

import random
from datetime import datetime

from connectors.demo.history import (
    ABSENT_2023_24,
    KU_LAUNCHES,
    KU_TITLE,
    KU_TOPICS,
    SHN_SESSIONS_2022,
    SHN_SESSIONS_2023,
    SHN_TITLE,
)
from connectors.demo.people import People, district_of, messy_spelling
from connectors.demo.records import Ids, cover_districts, defense_assignment, mark_session
from connectors.demo.world import (
    RU_STATUSES,
    Attendance,
    AttSession,
    Course,
    Status,
    World,
    unix,
)
from intensive_tracker.people.districts import load_registry


def generate_demo_world(seed: int = 2024) -> World:
    """The lab's history 2021–2024, deterministic for a seed."""
    rng = random.Random(seed)
    registry = load_registry()
    everywhere = registry.territorial(on=datetime(2021, 1, 1).date())
    reached = [d for d in registry.territorial(on=datetime(2023, 9, 1).date()) if d not in ABSENT_2023_24]
    people = People(rng, everywhere)
    ids = Ids()
    courses: list[Course] = []
    teachers = [people.new(None, category="методист"), people.new(None, category="методист")]
    previous_pool: list[int] = []
    passed_before: set[int] = set()  # nobody defends twice: each passed defense is another teacher
    for shortname, days, counts, passed, failed, pending, defense_day in KU_LAUNCHES:
        recent = shortname in ("KU-2023-H1", "KU-2024-H2")
        allowed = reached if recent else everywhere
        sizes = counts or [rng.randint(int(passed * 1.6) + 20, int(passed * 2.4) + 60) for _ in days]
        pool_size = max(sizes) + max(60, int(sum(sizes) * 0.25))
        pool = _pool(rng, people, allowed, pool_size, previous_pool, every_district=recent)
        previous_pool = pool
        course = _course(
            ids,
            shortname,
            KU_TITLE,
            "Лаборатория молодых специалистов и их наставников",
            days,
            [t.id for t in teachers],
        )
        attendance = _attendance(ids, rng, "Журнал посещаемости")
        for i, (day, size) in enumerate(zip(days, sizes)):
            hour = 10 if datetime.strptime(day, "%d.%m.%Y").weekday() == 5 else 15
            sess = AttSession(
                id=ids.next("session"),
                sessdate=unix(day, hour),
                duration=7200,
                description=f'<p dir="ltr" style="text-align: left;">{KU_TOPICS[i % len(KU_TOPICS)]}</p>',
            )
            mark_session(rng, sess, attendance, pool, size)
            attendance.sessions.append(sess)
        if recent:
            cover_districts(rng, people, attendance, pool, reached)
        course.attendances.append(attendance)
        attendees = sorted(
            {
                u
                for s in attendance.sessions
                for u, st in s.log.items()
                if attendance.statuses[0].id == st or attendance.statuses[1].id == st
            }
        )
        candidates = [u for u in attendees if u not in passed_before]
        assignment = defense_assignment(
            ids,
            rng,
            people,
            candidates,
            passed,
            failed,
            pending,
            defense_day,
            need_districts=reached if recent else None,
        )
        passed_before |= {g.userid for g in assignment.grades if g.grade >= 6}
        course.assignments.append(assignment)
        _enrol(rng, course, pool)
        courses.append(course)
        if shortname == "KU-2024-H2":
            _duplicate_accounts(rng, people, course, previous=courses[-2], count=3)

    for shortname, sessions, start in (
        ("SHN-2022-23", SHN_SESSIONS_2022, "01.09.2022"),
        ("SHN-2023-24", SHN_SESSIONS_2023, "01.09.2023"),
    ):
        sizes = [size or rng.randint(50, 140) for *_, size in sessions]
        pool = _pool(rng, people, everywhere, max(sizes) + 90, [], category="наставник")
        course = _course(
            ids,
            shortname,
            SHN_TITLE,
            "Школа наставничества",
            [start] + [s[0] for s in sessions],
            [t.id for t in teachers],
        )
        attendance = _attendance(ids, rng, "Журнал посещаемости")
        for (day, topic, speaker, _), size in zip(sessions, sizes):
            sess = AttSession(
                id=ids.next("session"),
                sessdate=unix(day, 15),
                duration=5400,
                description=f"<p>{topic}</p><p>Спикер: {speaker}</p>",
            )
            mark_session(rng, sess, attendance, pool, size)
            attendance.sessions.append(sess)
        course.attendances.append(attendance)
        _enrol(rng, course, pool)
        courses.append(course)

    # A session planned but not yet taken, in the current mentor-school course.
    shn = courses[-1]
    shn.attendances[0].sessions.append(
        AttSession(
            id=ids.next("session"),
            sessdate=unix("26.06.2024", 15),
            duration=5400,
            description="<p>Итоговая встреча: планы на 2024/25 учебный год</p><p>Спикер: Карпеева И.В.</p>",
            taken=False,
        )
    )
    return World(
        sitename="Региональный центр непрерывного повышения профессионального мастерства (демо)",
        users=people.users,
        courses=courses,
    )


def _pool(
    rng: random.Random,
    people: People,
    allowed: list[str],
    size: int,
    previous: list[int],
    category: str = "молодой педагог",
    every_district: bool = False,
) -> list[int]:
    """A launch's enrolled people: some come back from the previous launch, most are new."""
    allowed_set = set(allowed)
    back = [u for u in previous if district_of(people.users[u]) in allowed_set]
    rng.shuffle(back)
    pool = back[: size // 5]
    if every_district:
        pool += [people.new(d, category=category).id for d in allowed]
    while len(pool) < size:
        district = people.pick_district(allowed) if rng.random() > 0.01 else None
        pool.append(people.new(district, category=category if rng.random() < 0.8 else "наставник").id)
    return pool


def _course(ids: Ids, shortname: str, title: str, category: str, days: list[str], teachers: list[int]) -> Course:
    course_id = ids.next("course") + 1  # id 1 is the site course
    start, end = unix(days[0], 0), unix(days[-1], 23)
    course = Course(
        id=course_id,
        shortname=shortname,
        fullname=title,
        category=category,
        startdate=start,
        enddate=end + 30 * 86400,
        teachers=list(teachers),
    )
    for n in (1, 2):
        course.groups[ids.next("group")] = f"Поток {n}"
    return course


def _attendance(ids: Ids, rng: random.Random, name: str) -> Attendance:
    instance = ids.next("attendance")
    statuses = [Status(id=ids.next("status"), acronym=a, description=d, grade=g) for a, d, g in RU_STATUSES]
    return Attendance(id=instance, cmid=ids.next("cm"), name=name, statuses=statuses)


def _enrol(rng: random.Random, course: Course, pool: list[int]) -> None:
    course.students = sorted(set(pool))
    for uid in course.students:
        course.user_groups[uid] = sorted(course.groups)[uid % 2]
    for uid in rng.sample(course.students, 2):
        course.suspended_enrolments.add(uid)


def _duplicate_accounts(rng: random.Random, people: People, course: Course, previous: Course, count: int) -> None:
    """Some people come back under a second account whose e-mail differs only in case."""
    returning = [u for u in previous.students if u not in course.students and people.users[u].district]
    for uid in rng.sample(returning, count):
        old = people.users[uid]
        twin = people.new(None)
        twin.lastname, twin.firstname, twin.middlename = old.lastname, old.firstname, old.middlename
        twin.email = old.email[0].upper() + old.email[1:].upper().replace("@", "@", 1)
        twin.district = messy_spelling(rng, district_of(old) or "")
        twin.school, twin.position, twin.category = old.school, old.position, old.category
        course.students.append(twin.id)
        course.user_groups[twin.id] = sorted(course.groups)[0]
