"""Inline SVG bar charts: no scripts, no fonts, readable in print and by screen readers.

Every bar carries its label and its value as text, so the chart says the same as the table
beside it even where SVG is not rendered (a pasted page, a text browser).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from intensive_tracker.i18n import _, percent

WIDTH = 640
LABEL_W = 190
VALUE_W = 110
ROW_H = 30
BAR_H = 20


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str = ""  # shown after the value, e.g. a share "(34 %)"


def bar_chart(title: str, bars: Sequence[Bar], *, chart_id: str) -> Markup:
    """A horizontal bar chart; the longest bar spans the plot width, zero draws no bar.

    `chart_id` is unique within the page (it ties the SVG to its <title>).
    """
    top = max((b.value for b in bars), default=0)
    plot = WIDTH - LABEL_W - VALUE_W
    height = ROW_H * max(len(bars), 1) + 10
    parts = [
        f'<svg class="chart" role="img" aria-labelledby="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}">{escape(title)}</title>',
    ]
    for i, bar in enumerate(bars):
        y = 5 + i * ROW_H
        width = round(plot * bar.value / top, 1) if top else 0
        text_y = y + BAR_H - 5
        parts.append(
            f'<g><text x="{LABEL_W - 8}" y="{text_y}" text-anchor="end" font-size="13">{escape(bar.label)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{width}" height="{BAR_H}" fill="#2f6db5"/>'
            f'<text x="{LABEL_W + width + 6}" y="{text_y}" font-size="13">{bar.value}'
            f"{' ' + str(escape(bar.note)) if bar.note else ''}</text></g>"
        )
    if not bars:
        parts.append(f'<text x="10" y="20" font-size="13">{escape(_("нет данных"))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share(part: int, whole: int) -> str:
    """ "(34 %)" of a whole, "(34%)" in English, in whole percents; empty when the whole is zero."""
    return f"({percent(round(100 * part / whole) / 100)})" if whole else ""
