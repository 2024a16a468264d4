"""A person's card for people and scripts: the terminal lines of `person` and its `--json` document."""

from __future__ import annotations

from typing import Any

from intensive_tracker.i18n import _
from intensive_tracker.periods import ru_date
from intensive_tracker.reports.person_card import PersonCard
from intensive_tracker.reports.roster_types import DELETED_NOTE
from intensive_tracker.text import district_label


def card_json(card: PersonCard) -> dict[str, Any]:
    """`person --json`: stable English keys, ISO dates."""
    return {
        "participant_id": card.participant_id,
        "full_name": card.full_name,
        "district_raw": card.district_raw,
        "school": card.school,
        "district": card.district,
        "other_districts": [{"district": d, "account": a} for d, a in card.other_districts],
        "accounts": [
            {
                "account": a.ref,
                "full_name": a.full_name,
                "email": a.email,
                "district_raw": a.district_raw,
                "school": a.school,
                "link_reason": a.link_reason,
                "form_rows": list(a.forms),
            }
            for a in card.accounts
        ],
        "years": [
            {
                "program": y.program_key,
                "program_title": y.program_title,
                "school_year": y.school_year,
                "listed_under": y.district,
                "cohorts": list(y.cohorts),
                "sessions_attended": y.row.sessions_attended,
                "sessions": [
                    {
                        "date": s.day.isoformat(),
                        "status": s.mark,
                        "status_label": s.label,
                        "present": s.present,
                        "deleted_in_moodle": s.deleted,
                    }
                    for s in y.sessions
                ],
                "defense": (
                    {
                        "outcome": y.row.defense,
                        "label": y.row.defense_label,
                        "date": y.row.defense_date.isoformat() if y.row.defense_date else None,
                        "grade": y.row.defense_grade,
                        "grade_max": y.row.defense_grade_max,
                    }
                    if y.has_defense
                    else None
                ),
            }
            for y in card.years
        ],
        "quality": [dict(i) for i in card.quality_items],
    }


def card_lines(card: PersonCard) -> list[str]:
    """The card as text for the terminal (in the active language; names and sources are data)."""
    lines = [
        _("{name} (участник #{id})", name=card.full_name, id=card.participant_id),
        "  "
        + _(
            "округ: {district} (записан как «{spelling}»); ОО: {school}",
            district=district_label(card.district),
            spelling=card.district_raw or "",
            school=card.school or "—",
        ),
    ]
    for district, ref in card.other_districts:
        lines.append("  " + _("другой округ: {district} (по учётной записи {account})", district=district, account=ref))
    lines.append("  " + _("учётные записи:"))
    for a in card.accounts:
        lines.append(
            "    "
            + _(
                "{account}: {name}, {email}, округ «{spelling}» — {reason}",
                account=a.ref,
                name=a.full_name,
                email=a.email or _("без e-mail"),
                spelling=a.district_raw or "",
                reason=a.link_reason,
            )
        )
        lines += ["      " + _("строка формы {row}", row=f) for f in a.forms]
    for y in card.years:
        lines.append(
            "  "
            + _(
                "{program}, {year}: {district}; поток: {cohorts}",
                program=y.program_title,
                year=y.school_year,
                district=district_label(y.district),
                cohorts=", ".join(y.cohorts),
            )
        )
        marks = ", ".join(
            f"{ru_date(s.day)} {s.mark}" + (f" ({_(DELETED_NOTE)})" if s.deleted else "") for s in y.sessions
        )
        attended = _("посещено занятий: {n}", n=y.row.sessions_attended)
        lines.append(
            "    " + (_("{attended}; отметки: {marks}", attended=attended, marks=marks) if y.sessions else attended)
        )
        if y.has_defense:
            lines.append(f"    {y.row.defense_text}")
    if not card.years:
        lines.append("  " + _("ни занятий, ни защит"))
    lines += ["  " + _("качество данных:"), *(f"    {q}" for q in card.quality)] if card.quality else []
    return lines
