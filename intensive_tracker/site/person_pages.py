"""The person cards as pages of the lab's report folder (`people/<id>.html`), one per person on a roster.

Only `report` writes them: the district e-mails and their attachments never link to or include a card.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from intensive_tracker.files import write_atomic
from intensive_tracker.people.districts import Registry
from intensive_tracker.reports.figure_types import Summary
from intensive_tracker.reports.paths import district_page, person_page, year_page
from intensive_tracker.reports.person_card import Rosters, build_cards
from intensive_tracker.templating import environment


def write_person_pages(
    engine: Engine,
    registry: Registry,
    summary: Summary,
    all_rosters: Rosters,
    quality_items: Iterable[dict[str, Any]],
    out_dir: Path,
) -> int:
    """One page per person of any roster; pages of people no longer on one are deleted. Returns the count."""
    ids = {row.participant_id for by_district in all_rosters.values() for r in by_district.values() for row in r.rows}
    titles = {p.key: p.title for p in summary.programs}
    template = environment().get_template("report/person.html")
    written = set()
    for card in build_cards(engine, registry, ids, all_rosters, titles, quality_items):
        path = out_dir / person_page(card.participant_id)
        links = {
            (y.program_key, y.school_year): (year_page(y.program_key, y.school_year), district_page(y.district))
            for y in card.years
        }
        write_atomic(path, template.render(card=card, links=links, summary=summary))
        written.add(path.name)
    for stale in (out_dir / "people").glob("*.html"):
        if stale.name not in written:
            stale.unlink()
    return len(written)
