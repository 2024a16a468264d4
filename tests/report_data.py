"""A tiny hand-built data set, written through the real sync engine, whose figures are known by heart.

People (program «ku»): A (Балашиха) comes to 3 sessions of 2023/24 and once in 2022/23; B (Люберцы,
a name with markup) to 1 and is marked absent once; C has no district; D writes «Химкинский» (an
alias of Химки). Session 3 was held but nobody was present. Defenses: A passes on 31 Dec 23:30 MSK,
D passes on 1 Jan 01:00 MSK (31 Dec 22:00 UTC), B fails, C is pending (no grading date).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from connectors.base import (
    AttendanceRecord,
    Batch,
    CohortRef,
    DefenseRecord,
    EnrolmentRecord,
    PersonRecord,
    SessionRecord,
)
from intensive_tracker.config import ProgramSettings, Settings
from intensive_tracker.people.districts import load_registry
from intensive_tracker.sync.engine import run_sync
from intensive_tracker.sync.state import SyncReport

UTC = UTC
TRICKY_TOPIC = "=1+2 <b>жирный</b>"
TRICKY_NAME = "<script>alert(1)</script> Борисова Бэла"


def _person(ext: str, name: str, district: str | None) -> PersonRecord:
    return PersonRecord(
        external_id=ext,
        full_name=name,
        email=f"{ext}@example.org",
        district_raw=district,
        school="Школа № 1",
        category="молодой педагог",
    )


PEOPLE = {
    "a": _person("a", "Антонова Анна", "г.о. Балашиха"),
    "b": _person("b", TRICKY_NAME, "Люберцы"),
    "c": _person("c", "Власова Вера", None),
    "d": _person("d", "Дмитриева Дарья", "Химкинский"),
}


def _present(session: str, ext: str, present: bool = True) -> AttendanceRecord:
    return AttendanceRecord(session_key=session, external_id=ext, status="П" if present else "Н", present=present)


def batches() -> list[Batch]:
    old = Batch(
        source="test",
        cohort=CohortRef(key="KU-OLD", program="ku", school_year="2022/23", term=2),
        people=[PEOPLE["a"]],
        enrolments=[EnrolmentRecord(external_id="a")],
        sessions=[SessionRecord(source_key="s0", starts_at=datetime(2023, 3, 1, 12, tzinfo=UTC), topic="Старое")],
        attendance=[_present("s0", "a")],
    )
    first = Batch(
        source="test",
        cohort=CohortRef(key="KU-H1", program="ku", school_year="2023/24", term=1),
        people=[PEOPLE["a"], PEOPLE["b"], PEOPLE["c"]],
        enrolments=[EnrolmentRecord(external_id=x) for x in "abc"],
        sessions=[
            SessionRecord(source_key="s1", starts_at=datetime(2023, 9, 20, 12, tzinfo=UTC), topic="Первое"),
            SessionRecord(source_key="s2", starts_at=datetime(2023, 10, 11, 12, tzinfo=UTC), topic="Второе"),
            SessionRecord(source_key="s3", starts_at=datetime(2023, 11, 15, 12, tzinfo=UTC), topic=TRICKY_TOPIC),
        ],
        attendance=[
            _present("s1", "a"),
            _present("s2", "a"),
            _present("s1", "b"),
            _present("s2", "b", False),
            _present("s2", "c"),
            _present("s3", "a", False),
        ],
        defenses=[
            DefenseRecord(
                external_id="a", outcome="passed", grade=8, graded_at=datetime(2023, 12, 31, 20, 30, tzinfo=UTC)
            ),  # 31.12 23:30 MSK
            DefenseRecord(external_id="b", outcome="failed", grade=2, graded_at=datetime(2023, 12, 20, 9, tzinfo=UTC)),
        ],
    )
    second = Batch(
        source="test",
        cohort=CohortRef(key="KU-H2", program="ku", school_year="2023/24", term=2),
        people=[PEOPLE["a"], PEOPLE["c"], PEOPLE["d"]],
        enrolments=[EnrolmentRecord(external_id=x) for x in "acd"],
        sessions=[SessionRecord(source_key="s4", starts_at=datetime(2024, 1, 24, 12, tzinfo=UTC), topic="Четвёртое")],
        attendance=[_present("s4", "a"), _present("s4", "d")],
        defenses=[
            DefenseRecord(
                external_id="d", outcome="passed", grade=9, graded_at=datetime(2023, 12, 31, 22, 0, tzinfo=UTC)
            ),  # 01.01 01:00 MSK
            DefenseRecord(external_id="c", outcome="pending"),
        ],
    )
    return [old, first, second]


class FakeConnector:
    name = "test"

    def __init__(self, items: list[Batch]) -> None:
        self.items = items

    def batches(self, cursors: Mapping[str, str]) -> Iterator[Batch]:
        yield from self.items


def settings() -> Settings:
    return Settings(programs=[ProgramSettings(key="ku", title="Конструирование урока")])


def load(engine: Engine) -> SyncReport:
    """Sync the hand-built batches into `engine`."""
    report = run_sync(engine, settings(), load_registry(), [FakeConnector(batches())])
    assert report.status == "ok", report.errors
    return report
