"""A person's card for people and scripts: the terminal lines of `person` and its `--json` document."""

from __future__ import annotations

from typing import Any

from intensive_tracker.periods import ru_date
from intensive_tracker.reports.person_card import PersonCard, district_label


def card_json(card: PersonCard) -> dict[str, Any]:
    """`person --json`: stable English keys, ISO dates."""
    return {
        "participant_id": card.participant_id,
        "full_name": card.full_name,
        "district_raw": card.district_raw,
        "school": card.school,
        "district": district_label(card.district),
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
                "listed_under": district_label(y.district),
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
    """The card as text for the terminal (Russian)."""
    lines = [
        f"{card.full_name} (участник #{card.participant_id})",
        f"  округ: {district_label(card.district)} (записан как «{card.district_raw or ''}»); ОО: {card.school or '—'}",
    ]
    for district, ref in card.other_districts:
        lines.append(f"  другой округ: {district} (по учётной записи {ref})")
    lines.append("  учётные записи:")
    for a in card.accounts:
        lines.append(
            f"    {a.ref}: {a.full_name}, {a.email or 'без e-mail'}, округ «{a.district_raw or ''}» — {a.link_reason}"
        )
        lines += [f"      строка формы {f}" for f in a.forms]
    for y in card.years:
        lines.append(
            f"  {y.program_title}, {y.school_year}: {district_label(y.district)}; поток: {', '.join(y.cohorts)}"
        )
        lines.append(
            f"    посещено занятий: {y.row.sessions_attended}"
            + (
                "; отметки: "
                + ", ".join(
                    f"{ru_date(s.day)} {s.mark}" + (" (удалено в Moodle)" if s.deleted else "") for s in y.sessions
                )
                if y.sessions
                else ""
            )
        )
        if y.has_defense:
            lines.append(f"    {y.row.defense_text}")
    if not card.years:
        lines.append("  ни занятий, ни защит")
    lines += ["  качество данных:", *(f"    {q}" for q in card.quality)] if card.quality else []
    return lines
