"""The writer of the report folder: pages, exports, summary.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from intensive_tracker.files import write_atomic
from intensive_tracker.i18n import _
from intensive_tracker.reports import paths as site_paths
from intensive_tracker.reports.figure_types import Summary
from intensive_tracker.reports.summary import summary_json
from intensive_tracker.site import pages as site
from intensive_tracker.site.exports import write_exports
from intensive_tracker.templating import environment

QUALITY_PAGE = "quality.html"


def render_site(
    summary: Summary,
    out_dir: Path,
    *,
    context: dict[str, Any] | None = None,
    rosters: site.Rosters | None = None,
    person_pages: Callable[[Path], object] | None = None,
) -> Path:
    """Write the report folder; returns the path of index.html.

    index.html → one page per program and school year → one page per district (`rosters`, from
    `site.site_rosters`; without them no district pages are written), plus report.xlsx, csv/ and
    summary.json. All links are relative, so the folder can be copied, zipped or served as is.
    `person_pages(out_dir)` writes the person cards (`person_pages.write_person_pages`); only then do
    the district pages link each name to its card.
    """
    env = environment()
    extra = context or {}
    all_rosters = rosters or {}
    exports = write_exports(summary, out_dir)
    write_atomic(
        out_dir / "summary.json",
        json.dumps(summary_json(summary), ensure_ascii=False, indent=2, sort_keys=False) + "\n",
    )
    exports.append(("summary.json", _("{file} — все цифры для программ", file="summary.json")))
    year_pages = set()
    for program in summary.programs:
        for year in program.years:
            page = site.year_page_context(summary, program, year, all_rosters)
            path = out_dir / site_paths.year_page(program.key, year.school_year)
            write_atomic(path, env.get_template("report/year.html").render(page=page, summary=summary, **extra))
            year_pages.add(path.name)
    # A program-year page left from an earlier run (a program renamed or removed) would show stale figures.
    for stale in out_dir.glob("*.html"):
        if site_paths.is_year_page(stale.name) and stale.name not in year_pages:
            stale.unlink()
    written = set()
    if person_pages is not None:
        person_pages(out_dir)
    for district in site.district_pages(summary, all_rosters, with_people=person_pages is not None):
        path = out_dir / site_paths.district_page(district.district)
        write_atomic(path, env.get_template("report/district.html").render(page=district, summary=summary, **extra))
        written.add(path.name)
    # A district that no longer has anyone must not keep an old page with its people on it.
    for stale in (out_dir / "districts").glob("*.html"):
        if stale.name not in written:
            stale.unlink()
    quality = out_dir / QUALITY_PAGE
    if not quality.exists():
        # The data-quality report writes this page itself; until it has run the link must still lead somewhere.
        write_atomic(quality, env.get_template("report/quality_pending.html").render(summary=summary, **extra))
    index = out_dir / "index.html"
    write_atomic(
        index,
        env.get_template("report/index.html").render(
            page=site.index_page(summary, all_rosters, exports), summary=summary, **extra
        ),
    )
    return index
