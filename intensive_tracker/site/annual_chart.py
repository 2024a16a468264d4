"""The annual report's dynamics chart as a PNG picture for Word.

Drawn with matplotlib's object API (Figure + the Agg canvas: no pyplot, no global state, no display),
which ships its own DejaVu Sans font with Cyrillic glyphs, so the labels read the same on a server
without any system font.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

WIDTH_CM = 16.0
HEIGHT_CM = 8.0
DPI = 200
BAR_COLOR = "#2f6db5"


def bar_chart_png(bars: Sequence[tuple[str, int, str]], *, ylabel: str) -> bytes:
    """Vertical bars, one per (label, value, value as written), each with its value written above it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_CM / 2.54, HEIGHT_CM / 2.54), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    labels = [label for label, _, _ in bars]
    values = [value for _, value, _ in bars]
    drawn = axes.bar(range(len(bars)), values, color=BAR_COLOR, width=0.6)
    axes.bar_label(drawn, labels=[text for _, _, text in bars], padding=2, fontsize=9)
    axes.set_xticks(range(len(bars)), labels, fontsize=9)
    axes.set_ylabel(ylabel, fontsize=9)
    axes.tick_params(axis="y", labelsize=8)
    axes.set_ylim(0, max(values, default=0) * 1.15 or 1)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
