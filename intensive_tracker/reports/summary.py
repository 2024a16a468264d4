"""summary.json: every figure of the site as data, schema version 1.

Keys are only ever added (the README documents each); a renamed or removed key would raise
`schema_version`. Dates and times are ISO in the lab's time zone.
"""

from __future__ import annotations

from intensive_tracker.periods import half_year_label
from intensive_tracker.reports.figure_types import LaunchSummary, OutcomeCounts, SessionRow, Summary, YearSummary
from intensive_tracker.reports.paths import district_page, year_page

SCHEMA_VERSION = 1


def _session(s: SessionRow) -> dict[str, object]:
    return {
        "number": s.number,
        "date": s.day.isoformat(),
        "starts_at": s.starts_at.isoformat(),
        "topic": s.topic,
        "speaker": s.speaker,
        "present": s.present if s.taken else None,
        "taken": s.taken,
        "cohort": s.cohort,
    }


def _outcomes(o: OutcomeCounts) -> dict[str, int]:
    return {"passed": o.passed, "failed": o.failed, "pending": o.pending}


def _visits(v: dict[int, int]) -> dict[str, int]:
    return {str(k): n for k, n in v.items()}


def _launch(x: LaunchSummary) -> dict[str, object]:
    return {
        "cohort": x.cohort,
        "title": x.title,
        "term": x.term,
        "sessions": [_session(s) for s in x.held],
        "sessions_planned": [_session(s) for s in x.planned],
        "attendances": x.attendances,
        "unique_participants": x.unique_participants,
        "visits": _visits(x.visits),
        "defenses": _outcomes(x.outcomes),
    }


def _year(program_key: str, y: YearSummary) -> dict[str, object]:
    return {
        "school_year": y.school_year,
        "page": year_page(program_key, y.school_year),
        "sessions": [_session(s) for s in y.held],
        "sessions_planned": [_session(s) for s in y.planned],
        "sessions_held": y.sessions_held,
        "attendances": y.attendances,
        "unique_participants": y.unique_participants,
        "defenses_passed": y.defenses_passed,
        "districts_with_defenses": y.districts_with_defenses,
        "districts_reached": y.districts_reached,
        "districts_not_reached": y.districts_not_reached,
        "by_district": [
            {
                "district": d.district,
                "participants": d.participants,
                "attendances": d.attendances,
                "defenses_passed": d.defenses_passed,
                "defended_share": round(d.defended_share, 4),
                "page": district_page(d.district),
            }
            for d in y.districts
        ],
        "visits": _visits(y.visits),
        "defenses": _outcomes(y.outcomes),
        "funnel": {"registered": y.registered, "attended": y.unique_participants, "defended": y.defenses_passed},
        "launches": [_launch(x) for x in y.launches],
    }


def summary_json(summary: Summary) -> dict[str, object]:
    """The whole summary.json document."""
    programs = []
    for p in summary.programs:
        current = _year(p.key, p.current) if p.current else None
        programs.append(
            {
                "key": p.key,
                "title": p.title,
                "full_title": p.full_title,
                "school_year": p.school_year,
                "sessions": current["sessions"] if current else [],
                "sessions_planned": current["sessions_planned"] if current else [],
                "attendances": current["attendances"] if current else 0,
                "unique_participants": current["unique_participants"] if current else 0,
                "defenses_passed": {
                    "by_calendar_year": p.defenses_passed.by_calendar_year,
                    "by_half_year": p.defenses_passed.by_half_year,
                    "by_school_year": p.defenses_passed.by_school_year,
                },
                "defenses": {
                    "by_calendar_year": {k: _outcomes(v) for k, v in p.outcomes_by_calendar_year.items()},
                    "by_half_year": {k: _outcomes(v) for k, v in p.outcomes_by_half_year.items()},
                    "by_school_year": {k: _outcomes(v) for k, v in p.outcomes_by_school_year.items()},
                },
                "half_year_labels": {k: half_year_label(k) for k in p.defenses_passed.by_half_year},
                "participation_terms": [{"label": label, "defenses_passed": n} for label, n in p.participation_terms],
                "years": [_year(p.key, y) for y in p.years],
            }
        )
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": summary.generated_at.isoformat(),
        "timezone": summary.timezone,
        "last_sync": summary.last_sync.isoformat() if summary.last_sync else None,
        "last_sync_status": summary.last_sync_status,
        "last_successful_sync": summary.last_success.isoformat() if summary.last_success else None,
        "freshness_warnings": summary.freshness_warnings,
        "programs": programs,
    }
