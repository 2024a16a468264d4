"""quality.html and quality.json in the report folder, from the data-quality report."""

from __future__ import annotations

import json
from pathlib import Path

from intensive_tracker.files import write_atomic
from intensive_tracker.i18n import _
from intensive_tracker.reports.quality_json import quality_json
from intensive_tracker.reports.quality_types import REJECT_HEADERS, QualityReport
from intensive_tracker.templating import environment


def render_quality(report: QualityReport, out_dir: Path) -> Path:
    """Write quality.html and quality.json into the report folder; returns quality.html's path."""
    page = out_dir / "quality.html"
    write_atomic(
        page,
        environment()
        .get_template("report/quality.html")
        .render(q=report, reject_headers={key: _(header) for key, header in REJECT_HEADERS.items()}),
    )
    write_atomic(
        out_dir / "quality.json", json.dumps(quality_json(report), ensure_ascii=False, indent=2, default=str) + "\n"
    )
    return page
