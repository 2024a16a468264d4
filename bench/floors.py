"""The floors each measured figure is compared with.

Fetch floor: the very requests a sync sent, replayed by a bare `requests` loop at the same
concurrency, reading each body and nothing else. Query floor: the report's figures by plain SQL
aggregates, with no Python objects, templates or files.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import text
from sqlalchemy.engine import Engine

from intensive_tracker.text import UNASSIGNED


class RecordingSession(requests.Session):
    """A requests.Session that keeps every form it posts, in the order sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, list[tuple[str, str]]]] = []
        self._lock = threading.Lock()

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        with self._lock:
            self.sent.append((str(url), list(data or [])))
        return super().post(url, data=data, json=json, **kwargs)


def replay(sent: list[tuple[str, list[tuple[str, str]]]], *, concurrency: int) -> int:
    """POST every recorded form again, `concurrency` at a time; returns how many answered 200."""
    local = threading.local()

    def one(item: tuple[str, list[tuple[str, str]]]) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        url, form = item
        response = session.post(url, data=form, timeout=(5, 600))
        response.content  # noqa: B018 — the body is read, never parsed
        return response.status_code

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return sum(1 for status in pool.map(one, sent) if status == 200)


def _local_parts(dialect: str, column: str) -> dict[str, str]:
    """Year and month of a UTC timestamp in Moscow time, in the dialect's SQL."""
    if dialect == "postgresql":
        moscow = f"({column} AT TIME ZONE 'Europe/Moscow')"
        return {
            "year": f"CAST(EXTRACT(YEAR FROM {moscow}) AS INTEGER)",
            "month": f"CAST(EXTRACT(MONTH FROM {moscow}) AS INTEGER)",
        }
    # SQLite has no zone database; Moscow has been UTC+3 all year since 2014 (the bench's years).
    return {
        "year": f"CAST(strftime('%Y', {column}, '+3 hours') AS INTEGER)",
        "month": f"CAST(strftime('%m', {column}, '+3 hours') AS INTEGER)",
    }


def query_figures(engine: Engine) -> dict[str, Any]:
    """The report's figures (same shape as the generator's truth) by plain SQL aggregates."""
    dialect = engine.dialect.name
    s = _local_parts(dialect, "s.starts_at")
    d = _local_parts(dialect, "d.graded_at")
    s_year = f"(CASE WHEN {s['month']} >= 9 THEN {s['year']} ELSE {s['year']} - 1 END)"
    d_year = f"(CASE WHEN {d['month']} >= 9 THEN {d['year']} ELSE {d['year']} - 1 END)"
    sessions_sql = f"""
        SELECT p.key, {s_year} AS sy, s.id, SUM(CASE WHEN a.present THEN 1 ELSE 0 END)
        FROM session s JOIN cohort c ON c.id = s.cohort_id JOIN program p ON p.id = c.program_id
        LEFT JOIN attendance a ON a.session_id = s.id
        WHERE s.missing_since IS NULL AND s.taken
        GROUP BY p.key, sy, s.id"""
    attendees_sql = f"""
        SELECT p.key, {s_year} AS sy, a.participant_id, COUNT(*) AS n
        FROM attendance a JOIN session s ON s.id = a.session_id JOIN cohort c ON c.id = s.cohort_id
        JOIN program p ON p.id = c.program_id
        WHERE a.present AND s.missing_since IS NULL
        GROUP BY p.key, sy, a.participant_id"""
    passed_sql = f"""
        SELECT p.key, {d_year} AS sy, {d["year"]} AS cy, {d["month"]} AS cm, d.participant_id
        FROM defense d JOIN cohort c ON c.id = d.cohort_id JOIN program p ON p.id = c.program_id
        WHERE d.outcome = 'passed' AND d.graded_at IS NOT NULL"""
    with engine.connect() as conn:
        names = {
            pid: name
            for pid, name in conn.execute(
                text("SELECT pa.id, di.name FROM participant pa LEFT JOIN district di ON di.id = pa.district_id")
            )
        }
        per_session = conn.execute(text(sessions_sql)).all()
        by_person = conn.execute(
            text(f"""
            SELECT t.key, t.sy, t.participant_id, t.n FROM ({attendees_sql}) t""")
        ).all()
        passed = conn.execute(text(passed_sql)).all()
        programs = [key for (key,) in conn.execute(text("SELECT key FROM program"))]
    return _shape(programs, per_session, by_person, passed, names)


def _shape(
    programs: list[str], per_session: list[Any], by_person: list[Any], passed: list[Any], names: dict[int, str | None]
) -> dict[str, Any]:
    def label(sy: int) -> str:
        return f"{sy}/{(sy + 1) % 100:02d}"

    years: dict[str, dict[str, dict[str, Any]]] = defaultdict(
        lambda: defaultdict(
            lambda: {
                "sessions_present": [],
                "attendances": 0,
                "unique_participants": 0,
                "defenses_passed": 0,
                "people": defaultdict(set),
                "visits": defaultdict(int),
                "defended": defaultdict(int),
            }
        )
    )
    for key, sy, _sid, present in per_session:
        years[key][label(sy)]["sessions_present"].append(int(present or 0))
    for key, sy, pid, n in by_person:
        y = years[key][label(sy)]
        y["attendances"] += int(n)
        y["unique_participants"] += 1
        district = names.get(pid) or UNASSIGNED
        y["people"][district].add(pid)
        y["visits"][district] += int(n)
    periods: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: {
            "defenses_by_calendar_year": defaultdict(int),
            "defenses_by_half_year": defaultdict(int),
            "defenses_by_school_year": defaultdict(int),
        }
    )
    for key, sy, cy, cm, pid in passed:
        y = years[key][label(sy)]
        y["defenses_passed"] += 1
        district = names.get(pid) or UNASSIGNED
        y["people"][district].add(pid)
        y["defended"][district] += 1
        periods[key]["defenses_by_calendar_year"][str(cy)] += 1
        periods[key]["defenses_by_half_year"][f"{cy}-H{1 if cm <= 6 else 2}"] += 1
        periods[key]["defenses_by_school_year"][label(sy)] += 1
    figures: dict[str, Any] = {}
    for key in programs:
        by_year = years[key]
        out = {}
        for year, y in sorted(by_year.items()):
            out[year] = {
                "sessions_present": sorted(y["sessions_present"]),
                "attendances": y["attendances"],
                "unique_participants": y["unique_participants"],
                "defenses_passed": y["defenses_passed"],
                "by_district": {
                    dn: [len(y["people"][dn]), y["visits"][dn], y["defended"][dn]] for dn in sorted(y["people"])
                },
            }
        figures[key] = {"years": out, **{k: dict(sorted(v.items())) for k, v in periods[key].items()}}
    return figures
