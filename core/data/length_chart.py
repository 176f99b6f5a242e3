"""The histogram of token lengths the Data step shows, scaled to the rows and with labels that never overlap.

The x axis spans the measured rows (rows of 75-102 tokens get an axis from about 70 to 107, not from 0 to the
max length); the max length is drawn only when it sits near the rows, and otherwise named in a note at the
right edge. The p50/p95/p99 lines are named in the legend, not in labels on the chart: percentiles of similar
rows sit a few tokens apart, where labels would pile up. Rows far longer than the rest are left out of the
bars and named in a note (core/data/stats.find_length_outliers), so one runaway row doesn't squash them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.data.stats import TokenLengths, find_length_outliers, length_stats, row_list

MAX_BINS = 60  # bins are counted here, so a million rows make a chart of ~60 bars, not a million points
NEAR = 0.25  # the max length is drawn when it is within this share of the rows' span beyond the longest row
PERCENTILE_COLOURS = (("p50", "#16a34a"), ("p95", "#d97706"), ("p99", "#dc2626"))


def length_bins(values: Sequence[int], max_bins: int = MAX_BINS) -> tuple[list[float], list[int], int]:
    """(bin centres, counts, width) over the span of ``values`` only, at most ``max_bins`` bins.

    >>> centres, counts, width = length_bins([75, 80, 102])
    >>> width, centres[0], sum(counts)
    (1, 75.5, 3)
    """
    low, high = min(values), max(values)
    width = max(1, math.ceil((high - low + 1) / max_bins))
    start = low // width * width
    counts = [0] * ((high - start) // width + 1)
    for value in values:
        counts[(value - start) // width] += 1
    return [start + (i + 0.5) * width for i in range(len(counts))], counts, width


def axis_range(values: Sequence[int], width: int, max_length: int | None) -> tuple[tuple[float, float], bool]:
    """The x range that shows the rows, and whether the max length is near enough to be drawn inside it.

    >>> axis_range([75, 102], 1, 512)
    ((73.6, 104.4), False)
    >>> axis_range(range(1, 5001), 84, 4096)[1]
    True
    """
    low, high = min(values), max(values)
    pad = max(width, 0.05 * (high - low + 1))
    shown = bool(max_length) and max_length <= high + NEAR * (high - low + width)
    right = max(high, max_length) if shown else high
    return (float(low - pad), float(right + width + pad)), shown


def length_histogram(lengths: Sequence[int | None] | TokenLengths, max_length: int | None = None):
    """A plotly histogram of token lengths, scaled to the rows, with p50/p95/p99 (and the max length) marked."""
    import plotly.graph_objects as go

    all_values = lengths.lengths if isinstance(lengths, TokenLengths) else list(lengths)
    outliers = find_length_outliers(all_values)
    apart = set(outliers)
    values = [n for i, n in enumerate(all_values) if n is not None and i not in apart]
    figure = go.Figure()
    figure.update_layout(
        title="Tokens per row",
        xaxis_title="tokens (as the trainer sees them)",
        yaxis_title="rows",
        bargap=0.05,
        margin={"l": 50, "r": 20, "t": 70, "b": 50},
        height=360,
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    if not values:
        return figure
    centres, counts, width = length_bins(values)
    figure.add_trace(go.Bar(x=centres, y=counts, width=width, name="rows", marker_color="#60a5fa"))
    top = max(counts) * 1.05
    stats = length_stats(values)
    for (name, colour), value in zip(PERCENTILE_COLOURS, (stats.p50, stats.p95, stats.p99), strict=True):
        line = {"color": colour, "dash": "dot", "width": 2}
        figure.add_trace(go.Scatter(x=[value, value], y=[0, top], mode="lines", line=line, name=f"{name} {value:,}"))
    x_range, max_length_shown = axis_range(values, width, max_length)
    figure.update_xaxes(range=list(x_range))
    if max_length_shown:
        line = {"color": "#111827", "width": 2}
        name = f"max length {max_length:,}"
        figure.add_trace(go.Scatter(x=[max_length, max_length], y=[0, top], mode="lines", line=line, name=name))
    notes = []
    if max_length and not max_length_shown:
        notes.append(f"max length {max_length:,} →, beyond every row drawn")
    if outliers:
        longest = max(all_values[i] for i in outliers)
        notes.append(f"not drawn: {row_list(outliers, limit=5)}, up to {longest:,} tokens")
    if notes:
        figure.add_annotation(
            xref="paper", yref="paper", x=1, y=1, xanchor="right", yanchor="top", showarrow=False, align="right",
            text="<br>".join(notes), font={"size": 11, "color": "#6b7280"}, bgcolor="rgba(255,255,255,0.85)",
        )  # fmt: skip
    return figure
