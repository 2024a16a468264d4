"""A source plugin installed as its own distribution syncs with no change to the core; a broken one is named."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from intensive_tracker.app import ENTRY_POINT_GROUP, App, connector_classes, known_connectors, open_connectors
from intensive_tracker.errors import ConfigError
from intensive_tracker.store import models as m
from intensive_tracker.store.engine import make_engine

# A third-party source as a plugin author would write it: only connectors.base, plain Batch objects.
FAKE_SOURCE = """
from datetime import datetime, timezone

from connectors.base import AttendanceRecord, Batch, CohortRef, EnrolmentRecord, PersonRecord, SessionRecord

CURSORS_SEEN = []
CLOSED = []


class FakeSource:
    name = "fake"
    order = 5

    def __init__(self, program):
        self.program = program

    @classmethod
    def from_settings(cls, settings, stack):
        stack.callback(CLOSED.append, "fake")
        return cls(settings.programs[0].key) if settings.programs else None

    def batches(self, cursors):
        CURSORS_SEEN.append(dict(cursors))
        people = [PersonRecord(external_id="f1", full_name="Фейкова Фаина Петровна", email="f1@fake.invalid",
                               district_raw="Балашиха"),
                  PersonRecord(external_id="f2", full_name="Фейков Фёдор Ильич", email="f2@fake.invalid",
                               district_raw="Люберцы")]
        yield Batch(
            source="fake", cohort=CohortRef(key="FAKE-1", program=self.program, title="Фейковый поток",
                                            school_year="2023/24"),
            people=people, enrolments=[EnrolmentRecord(external_id=p.external_id) for p in people],
            sessions=[SessionRecord(source_key="fs1", starts_at=datetime(2023, 10, 4, 12, tzinfo=timezone.utc),
                                    topic="Первая встреча")],
            attendance=[AttendanceRecord(session_key="fs1", external_id="f1", status="P", present=True),
                        AttendanceRecord(session_key="fs1", external_id="f2", status="A", present=False)],
            cursors={"FAKE-1": "page-2"},
        )
"""

Install = Callable[[str, dict[str, str]], None]


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """Install a tiny distribution into a temporary sys.path entry: its entry points and its modules."""
    site = tmp_path / "site"
    modules: list[str] = []

    def install(entry_points: str, sources: dict[str, str]) -> None:
        info = site / "fake_source-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-source\nVersion: 0.1\n", "utf-8")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}\n", "utf-8")
        for name, source in sources.items():
            (site / f"{name}.py").write_text(textwrap.dedent(source), "utf-8")
            modules.append(name)
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()

    yield install
    for name in modules:
        sys.modules.pop(name, None)
    importlib.invalidate_caches()


def _config(tmp_path: Path, db_url: str) -> Path:
    """Programs only: neither [moodle] nor [[forms]], so the plugin is the one source in use."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'database_url = "{db_url}"\ntimezone = "Europe/Moscow"\n\n'
        '[[programs]]\nkey = "ku"\ntitle = "Конструирование урока"\n',
        "utf-8",
    )
    return path


def test_an_installed_plugin_is_found_among_the_built_in_sources(install_plugin: Install) -> None:
    """The entry point of a separate distribution is listed and loaded, sorted by its `order`."""
    install_plugin("fake = fake_source:FakeSource", {"fake_source": FAKE_SOURCE})
    assert set(known_connectors()) == {"fake", "forms", "moodle"}
    assert [cls.name for cls in connector_classes()] == ["fake", "moodle", "forms"]


def test_a_plugin_syncs_its_batches_into_the_database(install_plugin: Install, tmp_path: Path, db_url: str) -> None:
    """App.sync_sources writes the plugin's plain Batch (people, enrolments, session, marks, cursor)."""
    install_plugin("fake = fake_source:FakeSource", {"fake_source": FAKE_SOURCE})
    with App.from_config(_config(tmp_path, db_url)) as app:
        with open_connectors(app.settings) as opened:
            assert [c.name for c in opened] == ["fake"]
        report = app.sync_sources()
        assert report.status == "ok", report.errors
        assert report.cohorts_ok == 1
    plugin = sys.modules["fake_source"]
    assert plugin.CLOSED == ["fake", "fake"]  # what from_settings entered into the stack was closed
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            cohort = connection.execute(
                select(m.Cohort.key, m.Cohort.source, m.Program.key).join(
                    m.Program, m.Program.id == m.Cohort.program_id
                )
            ).one()
            accounts = connection.execute(select(m.Account.source, m.Account.external_id)).all()
            marks = connection.execute(
                select(m.Account.external_id, m.Attendance.present).join(
                    m.Account, m.Account.participant_id == m.Attendance.participant_id
                )
            ).all()
            cursors = connection.execute(select(m.SyncCursor.source, m.SyncCursor.key, m.SyncCursor.value)).all()
    finally:
        engine.dispose()
    assert tuple(cohort) == ("FAKE-1", "fake", "ku")
    assert sorted(map(tuple, accounts)) == [("fake", "f1"), ("fake", "f2")]
    assert sorted(map(tuple, marks)) == [("f1", True), ("f2", False)]
    assert [tuple(c) for c in cursors] == [("fake", "FAKE-1", "page-2")]

    with App.from_config(_config(tmp_path, db_url)) as app:
        assert app.sync_sources().status == "ok"
    assert plugin.CURSORS_SEEN == [{}, {"FAKE-1": "page-2"}]  # the next run starts from the plugin's cursor


def test_a_plugin_that_fails_to_import_is_named(install_plugin: Install) -> None:
    """An entry point whose module raises on import gives a ConfigError naming the plugin and its target."""
    install_plugin(
        "exploding = exploding_source:Source",
        {"exploding_source": "raise RuntimeError('missing dependency: libfoo')\n"},
    )
    with pytest.raises(ConfigError) as caught:
        connector_classes()
    message = str(caught.value)
    assert "«exploding»" in message and "exploding_source:Source" in message
    assert "missing dependency: libfoo" in message


def test_a_plugin_that_is_not_a_connector_is_named(install_plugin: Install) -> None:
    """An entry point naming an object without from_settings gives a ConfigError naming the plugin."""
    install_plugin(
        "halfway = halfway_source:Source",
        {
            "halfway_source": "class Source:\n    name = 'halfway'\n\n    def batches(self, cursors):\n"
            "        return iter(())\n"
        },
    )
    with pytest.raises(ConfigError, match="«halfway».*не коннектор.*from_settings"):
        connector_classes()
