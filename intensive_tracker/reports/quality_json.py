"""quality.json: the data-quality report as counts per section and a flat list of items."""

from __future__ import annotations

from typing import Any

from intensive_tracker.reports.quality_types import LinkRow, PersonRef, QualityReport


def quality_json(report: QualityReport) -> dict[str, Any]:
    """quality.json, schema version 1: counts per section and a flat list of items, each with its `kind`."""

    def person(p: PersonRef) -> dict[str, Any]:
        return {"participant_id": p.participant_id, "full_name": p.full_name, "accounts": list(p.accounts)}

    def link(r: LinkRow) -> dict[str, Any]:
        return {"account": r.account, "full_name": r.full_name, "reason": r.reason, "person": person(r.person)}

    items: list[dict[str, Any]] = []
    items += [
        {
            "kind": "unknown_district",
            "spelling": u.spelling,
            "variants": list(u.variants),
            "people": u.people,
            "reason": u.reason,
            "suggestion": u.suggestion,
            "fix": f"[districts.aliases] {u.alias_line}",
            "examples": [person(p) for p in u.examples],
        }
        for u in report.unknown_districts
    ]
    items += [
        {"kind": "without_district", **person(w.person), "school": w.school, "district_in_school_name": w.hint}
        for w in report.without_district
    ]
    items += [{"kind": "probable_link", **link(r)} for r in report.probable_links]
    items += [
        {
            "kind": "name_twins",
            "full_name": t.full_name,
            "district": t.district,
            "people": [person(p) for p in t.people],
            "fix": t.join_lines,
        }
        for t in report.name_twins
    ]
    items += [{"kind": "email_link", **link(r)} for r in report.email_links]
    items += [{"kind": "manual_link", **link(r)} for r in report.manual_links]
    items += [
        {"kind": "override_unmatched", "override": o.kind, "refs": list(o.refs), "note": o.note}
        for o in report.override_misses
    ]
    items += [
        {
            "kind": "attendance_not_listed",
            "person": person(r.person),
            "cohort": r.cohort,
            "missing_since": r.missing_since.isoformat(),
            "attendances": r.attendances,
        }
        for r in report.missing_attendance
    ]
    items += [
        {
            "kind": "session_not_taken",
            "cohort": s.cohort,
            "starts_at": s.starts_at.isoformat(),
            "date": s.starts_at.date().isoformat(),
            "topic": s.topic,
        }
        for s in report.untaken_sessions
    ]
    items += [
        {
            "kind": "defense_pending",
            "person": person(d.person),
            "cohort": d.cohort,
            "since": d.since.date().isoformat(),
            "days": d.days,
        }
        for d in report.stale_defenses
    ]
    if report.last_sync:
        items += [{"kind": "sync_warning", "run_id": report.last_sync.run_id, **w} for w in report.last_sync.warnings]
        items += [{"kind": "sync_error", "run_id": report.last_sync.run_id, **e} for e in report.last_sync.errors]
    items += [{"kind": "form_reject", **r} for r in report.rejects]
    return {
        "schema_version": 1,
        "generated_at": report.generated_at.isoformat(),
        "timezone": report.timezone,
        "stale_defense_days": report.stale_defense_days,
        "unassigned_people": report.unassigned_people,
        "to_fix": report.to_fix,
        "last_sync": None
        if report.last_sync is None
        else {
            "run_id": report.last_sync.run_id,
            "status": report.last_sync.status,
            "finished_at": report.last_sync.finished_at.isoformat() if report.last_sync.finished_at else None,
        },
        "items": items,
    }
