"""The length histogram: scaled to the rows, percentiles named in the legend, the max length drawn only when near."""

from __future__ import annotations

from core.data.length_chart import length_histogram
from core.data.stats import TokenLengths


def _legend(figure) -> list[str]:
    return [trace.name for trace in figure.data]


def test_the_axis_fits_rows_of_75_to_102_tokens_not_the_max_length():
    figure = length_histogram([75 + i % 28 for i in range(1000)], max_length=512)
    low, high = figure.layout.xaxis.range
    assert 70 <= low < 75 and 102 < high <= 108  # not 0 to 560
    assert "max length 512" not in " ".join(_legend(figure))  # far beyond the rows: not drawn, but named
    assert "max length 512" in figure.layout.annotations[0].text


def test_the_percentiles_are_named_in_the_legend_so_their_labels_never_overlap():
    close = length_histogram([100] * 90 + [112] * 5 + [114] * 5)  # p95 and p99 two tokens apart
    assert _legend(close) == ["rows", "p50 100", "p95 112", "p99 114"]
    assert not close.layout.annotations  # no label on the chart to collide with another


def test_a_max_length_near_the_rows_is_drawn_and_the_bars_are_pre_binned():
    figure = length_histogram(TokenLengths([None, *range(1, 5001)]), max_length=4096)
    assert _legend(figure) == ["rows", "p50 2,500", "p95 4,750", "p99 4,950", "max length 4,096"]
    assert len(figure.data[0].x) <= 60 and sum(figure.data[0].y) == 5000
    assert length_histogram([]).data == ()


def test_a_runaway_row_is_left_out_of_the_bars_and_named():
    figure = length_histogram([100] * 40 + [20_000], max_length=512)
    assert max(figure.layout.xaxis.range) < 200 and "row 41" in figure.layout.annotations[0].text
