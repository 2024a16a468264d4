"""A Moodle world in memory: courses, users, attendance and grades, as the stand-in serves them.

`connectors.demo.generate.generate_demo_world` builds the lab's demo history in these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

MSK = ZoneInfo("Europe/Moscow")
RU_STATUSES = [("П", "Присутствовал", 2), ("О", "Опоздал", 1), ("У", "Уважительная причина", 1), ("Н", "Не был", 0)]


@dataclass
class User:
    id: int
    username: str
    lastname: str
    firstname: str
    middlename: str
    email: str
    district: str | None
    school: str
    position: str
    category: str
    suspended: bool = False

    @property
    def fullname(self) -> str:
        return f"{self.lastname} {self.firstname} {self.middlename}"


@dataclass
class Status:
    id: int
    acronym: str
    description: str
    grade: int


@dataclass
class AttSession:
    id: int
    sessdate: int
    duration: int
    description: str
    log: dict[int, int] = field(default_factory=dict)  # user id → status id
    groupid: int = 0
    taken: bool = True


@dataclass
class Attendance:
    id: int  # instance id
    cmid: int
    name: str
    statuses: list[Status]
    sessions: list[AttSession] = field(default_factory=list)


@dataclass
class GradeRow:
    userid: int
    grade: float  # -1 = record without a grade
    timemodified: int
    attemptnumber: int = 0


@dataclass
class SubmissionRow:
    userid: int
    status: str  # submitted | new
    timemodified: int
    attemptnumber: int = 0


@dataclass
class Assignment:
    id: int
    cmid: int
    name: str
    grade: int
    grades: list[GradeRow] = field(default_factory=list)
    submissions: list[SubmissionRow] = field(default_factory=list)


@dataclass
class Course:
    id: int
    shortname: str
    fullname: str
    category: str
    startdate: int
    enddate: int
    students: list[int] = field(default_factory=list)
    suspended_enrolments: set[int] = field(default_factory=set)
    teachers: list[int] = field(default_factory=list)
    groups: dict[int, str] = field(default_factory=dict)
    user_groups: dict[int, int] = field(default_factory=dict)
    attendances: list[Attendance] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)


@dataclass
class World:
    sitename: str
    users: dict[int, User]
    courses: list[Course]

    def course(self, course_id: int) -> Course | None:
        return next((c for c in self.courses if c.id == course_id), None)

    @property
    def attendance_marks(self) -> int:
        return sum(len(s.log) for c in self.courses for a in c.attendances for s in a.sessions)


def unix(day: str, hour: int, minute: int = 0) -> int:
    """ "20.09.2023", 15 → Unix seconds of that Moscow time."""
    d = datetime.strptime(day, "%d.%m.%Y").replace(hour=hour, minute=minute, tzinfo=MSK)
    return int(d.timestamp())
