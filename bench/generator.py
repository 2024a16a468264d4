"""A synthetic region for the benchmark, scaled by a factor and deterministic for a seed.

At factor 1: the registry's 60 districts, 20,000 participants, 5 school years (2020/21–2024/25)
of 2 programs, 200 sessions, ~400,000 attendance marks, ~10,000 defenses, and two form exports of
5,000 rows. Courses scale with the factor (12 at factor 1: 8 launches of «Конструирование урока»
and 4 years of «Школа наставничества»; 48 at factor 4), so every course keeps the same shape
(~2,000 enrolled, ~17 sessions) and the work grows in a straight line.

The generator also returns the ground truth: the figures the synced database and the report must
show, computed here from the world itself and never from the database.
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.demo.people import messy_spelling as _messy
from connectors.demo.world import (
    MSK,
    RU_STATUSES,
    Assignment,
    Attendance,
    AttSession,
    Course,
    GradeRow,
    Status,
    SubmissionRow,
    User,
    World,
)
from intensive_tracker.people.districts import load_registry
from intensive_tracker.periods import half_year_of, school_year_of
from intensive_tracker.text import UNASSIGNED

PARTICIPANTS = 20_000
SESSIONS = 200
COURSES = 12
REENROL_SHARE = 0.2  # a fifth of the people also enrol in a second course
DEFENSE_SHARE = 0.625  # of a «Конструирование урока» course's students: ~10,000 defenses at factor 1
FORM_ROWS = 5_000
SCHOOL_YEARS = (2020, 2021, 2022, 2023, 2024)
DEFENSE_NAME = "Защита методической разработки"
PASS_GRADE = 6
TEACHERS = (3, 4)
# (program, school year index, half): the 15 launch slots of 5 school years; courses fill them round-robin,
# stepping by 4 (coprime with 15) from the last year's «Школа наставничества», so that a small region still
# spans several years and both programs. At factor 1 the 12 courses give the years 2, 2, 3, 2 and 3 courses:
# 4 finished years and an active one (2024/25) for the nightly pass (issue 17).
SLOTS = [("ku", y, h) for y in range(5) for h in (1, 2)] + [("shn", y, 0) for y in range(5)]
SLOT_STEP, SLOT_START = 4, 14
_STATUS_WEIGHTS = [0.62, 0.05, 0.03, 0.30]  # П, О, У, Н: every enrolled student is marked in every session


@dataclass
class Truth:
    """What a correct sync and report must show for this region."""

    participants: int
    enrolments: int
    sessions: int
    marks: int
    defenses: int
    requests_bound: int
    bound_terms: dict[str, int]
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Region:
    factor: float
    seed: int
    world: World
    cohorts: list[dict[str, Any]]
    truth: Truth
    program_of_course: dict[int, str]


def course_count(factor: float) -> int:
    return max(1, round(COURSES * factor))


def generate_region(factor: float, *, seed: int = 9, page_size: int = 200) -> Region:
    """The region at `factor`; same factor and seed → the same world, byte for byte."""
    rng = random.Random(f"{seed}:{factor}")
    registry = load_registry()
    districts = registry.territorial(on=date(SCHOOL_YEARS[0], 9, 1))
    weights = [1 + (i * 7919) % 9 for i in range(len(districts))]
    users: dict[int, User] = {}
    for uid in TEACHERS:
        users[uid] = User(
            id=uid,
            username=f"metodist{uid}",
            lastname="Методистова",
            firstname="Анна",
            middlename="Петровна",
            email=f"metodist{uid}@bench.example",
            district=None,
            school="ЦНППМ",
            position="методист",
            category="методист",
        )
    n_people = max(1, round(PARTICIPANTS * factor))
    student_ids = list(range(10, 10 + n_people))
    for uid in student_ids:
        district = rng.choices(districts, weights=weights)[0] if rng.random() > 0.01 else None
        spelling = (_messy(rng, district) if rng.random() < 0.1 else district) if district else None
        users[uid] = User(
            id=uid,
            username=f"user{uid}",
            lastname=f"Фамилия{uid}",
            firstname="Мария",
            middlename="Ивановна",
            email=f"user{uid}@bench.example",
            district=spelling,
            school=f"МБОУ СОШ № {uid % 40 + 1}",
            position="учитель",
            category="молодой педагог" if rng.random() < 0.8 else "наставник",
        )

    n_courses = course_count(factor)
    n_sessions = max(n_courses, round(SESSIONS * factor))
    enrolled: list[list[int]] = [[] for _ in range(n_courses)]
    for i, uid in enumerate(student_ids):
        enrolled[i % n_courses].append(uid)
        if n_courses > 1 and rng.random() < REENROL_SHARE:
            enrolled[(i + 1) % n_courses].append(uid)

    courses: list[Course] = []
    program_of_course: dict[int, str] = {}
    next_id = {"session": 1, "status": 1, "cm": 1}

    def new_id(kind: str) -> int:
        next_id[kind] += 1
        return next_id[kind] - 1

    for c in range(n_courses):
        program, year_i, half = SLOTS[(c * SLOT_STEP + SLOT_START) % len(SLOTS)]
        year = SCHOOL_YEARS[year_i]
        course_id = 100 + c
        first_day, last_day = _span(year, half)
        students = sorted(enrolled[c])
        shortname = f"{program.upper()}-{year}-{'H' + str(half) if half else 'Y'}-{c:03d}"
        course = Course(
            id=course_id,
            shortname=shortname,
            fullname=("Конструирование современного урока" if program == "ku" else "Школа наставничества"),
            category="Лаборатория",
            startdate=_unix(first_day, 0),
            enddate=_unix(last_day, 23),
            students=students,
            teachers=list(TEACHERS),
        )
        course.groups = {}
        course.suspended_enrolments = set(students[::200][1:])  # ~0.5% suspended, never the only student
        program_of_course[course_id] = program
        statuses = [Status(id=new_id("status"), acronym=a, description=d, grade=g) for a, d, g in RU_STATUSES]
        attendance = Attendance(id=course_id, cmid=new_id("cm"), name="Журнал посещаемости", statuses=statuses)
        count = n_sessions // n_courses + (1 if c < n_sessions % n_courses else 0)
        step = max(1, (last_day - first_day).days // max(count, 1))
        for k in range(count):
            day = first_day + timedelta(days=k * step)
            session = AttSession(
                id=new_id("session"),
                sessdate=_unix(day, 15),
                duration=5400,
                description=f"<p>Занятие {k + 1} курса {shortname}</p><p>Спикер: Карпеева И.В.</p>",
            )
            for uid in students:
                session.log[uid] = rng.choices(statuses, weights=_STATUS_WEIGHTS)[0].id
            attendance.sessions.append(session)
        course.attendances.append(attendance)
        if program == "ku":
            course.assignments.append(_defenses(rng, course_id, new_id("cm"), students, last_day))
        courses.append(course)

    world = World(sitename="Синтетический регион (бенчмарк)", users=users, courses=courses)
    cohorts = [
        {
            "key": c.shortname,
            "program": program_of_course[c.id],
            "course": c.id,
            **({"defense": DEFENSE_NAME, "pass_grade": PASS_GRADE} if c.assignments else {}),
        }
        for c in courses
    ]
    truth = _truth(world, program_of_course, registry, page_size)
    return Region(
        factor=factor, seed=seed, world=world, cohorts=cohorts, truth=truth, program_of_course=program_of_course
    )


def _span(year: int, half: int) -> tuple[date, date]:
    if half == 1:
        return date(year, 9, 10), date(year, 12, 15)
    if half == 2:
        return date(year + 1, 1, 15), date(year + 1, 5, 15)
    return date(year, 10, 1), date(year + 1, 5, 25)


def _unix(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=MSK).timestamp())


def _defenses(rng: random.Random, course_id: int, cmid: int, students: list[int], last_day: date) -> Assignment:
    """Grades 6–10 pass, 2–5 fail; the pending ones have only a submission (a fifth a -1 grade row)."""
    assignment = Assignment(id=course_id, cmid=cmid, name=DEFENSE_NAME, grade=10)
    defenders = rng.sample(students, round(len(students) * DEFENSE_SHARE))
    base = _unix(last_day, 12) - 10 * 86400
    for n, uid in enumerate(sorted(defenders)):
        when = base + rng.randint(0, 9) * 86400 + rng.randint(0, 20000)
        roll = rng.random()
        if roll < 0.70:
            assignment.grades.append(GradeRow(uid, float(rng.randint(6, 10)), when))
        elif roll < 0.85:
            assignment.grades.append(GradeRow(uid, float(rng.randint(2, 5)), when))
        elif n % 5 == 0:
            assignment.grades.append(GradeRow(uid, -1.0, when))
        assignment.submissions.append(SubmissionRow(uid, "submitted", when - 3 * 86400))
    return assignment


def requests_bound(world: World, page_size: int) -> dict[str, int]:
    """The fewest requests a full sync of `world` can make, term by term (README «Производительность»).

    One site check; one batched course lookup (courses named by id); per course its contents (the
    only call that lists its attendance activities), the enrolled users in pages of `page_size`
    (n // size + 1: Moodle gives no total, so a short or empty page is the only end marker), the
    suspended enrolments likewise (enrolment status is not in the first list), one call per
    attendance activity, and for a course with a defense its assignments, grades and submissions.
    """
    terms = {
        "site_info": 1,
        "course_lookup": 1 if world.courses else 0,
        "contents": len(world.courses),
        "enrolled_pages": 0,
        "suspended_pages": 0,
        "attendance": 0,
        "assign_calls": 0,
    }
    for c in world.courses:
        terms["enrolled_pages"] += len(set(c.students) | set(c.teachers)) // page_size + 1
        terms["suspended_pages"] += len(c.suspended_enrolments) // page_size + 1
        terms["attendance"] += len(c.attendances)
        terms["assign_calls"] += 3 if c.assignments else 0
    return terms


def _truth(world: World, program_of: dict[int, str], registry: Any, page_size: int) -> Truth:
    present = {s.id for c in world.courses for a in c.attendances for s in a.statuses if s.acronym in ("П", "О")}
    students = {u for c in world.courses for u in c.students}
    terms = requests_bound(world, page_size)
    defenses = sum(
        len({g.userid for g in a.grades} | {s.userid for s in a.submissions if s.status == "submitted"})
        for c in world.courses
        for a in c.assignments
    )

    def district(uid: int, year: str) -> str:
        on = date(int(year[:4]), 9, 1)
        return registry.resolve(world.users[uid].district, on=on).name or UNASSIGNED

    figures: dict[str, Any] = {}
    for program in ("ku", "shn"):
        years: dict[str, dict[str, Any]] = defaultdict(lambda: {"sessions": [], "attendance": Counter(), "passed": []})
        cal: Counter[str] = Counter()
        half: Counter[str] = Counter()
        school: Counter[str] = Counter()
        for c in world.courses:
            if program_of[c.id] != program:
                continue
            for a in c.attendances:
                for s in a.sessions:
                    year = school_year_of(datetime.fromtimestamp(s.sessdate, MSK).date())
                    n = 0
                    for uid, st in s.log.items():
                        if st in present:
                            years[year]["attendance"][uid] += 1
                            n += 1
                    years[year]["sessions"].append(n)
            for a in c.assignments:
                for g in a.grades:
                    if g.grade >= PASS_GRADE:
                        day = datetime.fromtimestamp(g.timemodified, MSK).date()
                        cal[str(day.year)] += 1
                        half[half_year_of(day)] += 1
                        school[school_year_of(day)] += 1
                        years[school_year_of(day)]["passed"].append(g.userid)
        out_years = {}
        for year, data in sorted(years.items()):
            people: dict[str, set[int]] = defaultdict(set)
            visits: Counter[str] = Counter()
            defended: Counter[str] = Counter()
            for uid, n in data["attendance"].items():
                people[district(uid, year)].add(uid)
                visits[district(uid, year)] += n
            for uid in data["passed"]:
                people[district(uid, year)].add(uid)
                defended[district(uid, year)] += 1
            out_years[year] = {
                "sessions_present": sorted(data["sessions"]),
                "attendances": sum(data["attendance"].values()),
                "unique_participants": len(data["attendance"]),
                "defenses_passed": len(data["passed"]),
                "by_district": {d: [len(people[d]), visits[d], defended[d]] for d in sorted(people)},
            }
        figures[program] = {
            "years": out_years,
            "defenses_by_calendar_year": dict(sorted(cal.items())),
            "defenses_by_half_year": dict(sorted(half.items())),
            "defenses_by_school_year": dict(sorted(school.items())),
        }
    return Truth(
        participants=len(students),
        enrolments=sum(len(c.students) for c in world.courses),
        sessions=sum(len(a.sessions) for c in world.courses for a in c.attendances),
        marks=world.attendance_marks,
        defenses=defenses,
        requests_bound=sum(terms.values()),
        bound_terms=terms,
        figures=figures,
    )


def write_form_exports(region: Region, out_dir: Path) -> list[Path]:
    """Two form exports of 5,000 rows × factor: a registration form (UTF-8 with BOM, «;») and a
    webinar sign-in list (Windows-1251, «,»), as PRODUCT.md describes them in the wild."""
    rng = random.Random(f"forms:{region.seed}:{region.factor}")
    rows = max(1, round(FORM_ROWS * region.factor))
    people = sorted((u for u in region.world.users.values() if u.id not in TEACHERS and u.district), key=lambda u: u.id)
    out_dir.mkdir(parents=True, exist_ok=True)
    registration = out_dir / "registrations.csv"
    with registration.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(
            ["Отметка времени", "ФИО", "Электронная почта", "Городской округ", "Образовательная организация"]
        )
        for i in range(rows):
            u = people[(i * 7) % len(people)]
            writer.writerow(
                [f"{10 + i % 18:02d}.09.2023 {i % 24:02d}:{i % 60:02d}:00", u.fullname, u.email, u.district, u.school]
            )
    signins = out_dir / "webinar-signins.csv"
    with signins.open("w", encoding="cp1251", newline="") as handle:
        writer = csv.writer(handle, delimiter=",")
        writer.writerow(["Имя участника", "Email", "Время входа", "Длительность, мин"])
        for i in range(rows):
            u = people[(i * 11 + 3) % len(people)]
            writer.writerow(
                [
                    u.fullname,
                    u.email.upper() if rng.random() < 0.05 else u.email,
                    f"2023-10-11 15:{i % 60:02d}",
                    60 + i % 60,
                ]
            )
    return [registration, signins]
