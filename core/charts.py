"""Plotly figures for the training monitor (no gradio here).

Readable with no points (a friendly placeholder), a few points (markers) and
10,000 points (downsampled for display, keeping each bucket's first, last,
min and max so spikes stay visible). ``uirevision`` keeps the user's zoom
across the once-a-second updates.
"""

from __future__ import annotations

import math
from typing import Any

MAX_POINTS = 2000  # above this, a trace is downsampled for display
HEIGHT = 320
TRAIN_COLOUR = "#4f46e5"
EVAL_COLOUR = "#f59e0b"


def ema(values: list[float], weight: float) -> list[float]:
    """Debiased exponential moving average, as TensorBoard's smoothing slider.

    >>> ema([1.0, 1.0, 1.0], 0.9)
    [1.0, 1.0, 1.0]
    >>> [round(v, 3) for v in ema([0.0, 1.0], 0.5)]
    [0.0, 0.667]
    """
    if not 0 < weight < 1:
        return list(values)
    smoothed, last, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            smoothed.append(value)
            continue
        count += 1
        last = last * weight + (1 - weight) * value
        smoothed.append(last / (1 - weight**count))
    return smoothed


def downsample(xs: list[float], ys: list[float], cap: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """Keep at most ~``cap`` points: per bucket the first, min, max and last, in x order.

    >>> xs = list(range(10_000)); ys = [float(x % 97) for x in xs]
    >>> sx, sy = downsample(xs, ys, 400)
    >>> len(sx) <= 400 and sx[0] == 0 and sx[-1] == 9_999 and min(sy) == 0.0 and max(sy) == 96.0
    True
    """
    n = len(xs)
    if n <= cap:
        return list(xs), list(ys)
    buckets = max(1, cap // 4)
    size = math.ceil(n / buckets)
    keep: set[int] = {0, n - 1}
    for start in range(0, n, size):
        idx = range(start, min(n, start + size))
        finite = [i for i in idx if math.isfinite(ys[i])]
        keep.update((idx[0], idx[-1]))
        if finite:
            keep.add(min(finite, key=lambda i: ys[i]))
            keep.add(max(finite, key=lambda i: ys[i]))
    order = sorted(keep)
    return [xs[i] for i in order], [ys[i] for i in order]


def _series(entries: list[dict[str, Any]], key: str, x_axis: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for entry in entries:
        if key not in entry:
            continue
        x = entry.get("num_tokens") if x_axis == "tokens" else entry.get("step")
        if x is None:
            continue
        xs.append(x)
        ys.append(float(entry[key]))
    return xs, ys


def _layout(figure, title: str, x_title: str, y_title: str, empty_message: str | None) -> None:
    figure.update_layout(
        template="plotly_white",
        height=HEIGHT,
        margin={"l": 50, "r": 16, "t": 40, "b": 40},
        title={"text": title, "font": {"size": 14}},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        xaxis_title=x_title,
        yaxis_title=y_title,
        uirevision="keep",
    )
    if empty_message:
        figure.add_annotation(
            text=empty_message,
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
            font={"size": 13, "color": "#6b7280"},
        )
        figure.update_xaxes(showticklabels=False)
        figure.update_yaxes(showticklabels=False)


def _add_trace(figure, xs, ys, name: str, colour: str, smoothing: float, show_markers: bool) -> None:
    import plotly.graph_objects as go

    dx, dy = downsample(xs, ys)
    mode = "lines+markers" if show_markers else "lines"
    if smoothing > 0 and len(ys) > 2:
        figure.add_trace(
            go.Scatter(
                x=dx,
                y=dy,
                name=f"{name} (raw)",
                mode=mode,
                line={"color": colour, "width": 1},
                opacity=0.3,
                showlegend=False,
                hoverinfo="skip",
            )
        )
        sx, sy = downsample(xs, ema(ys, smoothing))
        figure.add_trace(go.Scatter(x=sx, y=sy, name=name, mode="lines", line={"color": colour, "width": 2.5}))
    else:
        figure.add_trace(go.Scatter(x=dx, y=dy, name=name, mode=mode, line={"color": colour, "width": 2}))


def loss_figure(
    metrics: list[dict[str, Any]],
    eval_metrics: list[dict[str, Any]] | None = None,
    smoothing: float = 0.0,
    x_axis: str = "step",
):
    """Training loss (raw faint + smoothed) and validation loss on one chart."""
    import plotly.graph_objects as go

    figure = go.Figure()
    xs, ys = _series(metrics, "loss", x_axis)
    ex, ey = _series(eval_metrics or [], "eval_loss", x_axis)
    if xs:
        _add_trace(figure, xs, ys, "training loss", TRAIN_COLOUR, smoothing, show_markers=len(xs) <= 60)
    if ex:
        figure.add_trace(
            go.Scatter(
                x=ex,
                y=ey,
                name="validation loss",
                mode="lines+markers",
                line={"color": EVAL_COLOUR, "width": 2.5},
                marker={"size": 7},
            )
        )
    empty = None if xs or ex else "Waiting for the first loss value…"
    _layout(figure, "Loss", "tokens seen" if x_axis == "tokens" else "step", "loss", empty)
    return figure


def metric_figure(metrics: list[dict[str, Any]], key: str, title: str, y_label: str, x_axis: str = "step"):
    """One logged metric over training (learning rate, grad norm, accuracy, entropy, speed, memory)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    xs, ys = _series(metrics, key, x_axis)
    if xs:
        _add_trace(figure, xs, ys, title, TRAIN_COLOUR, 0.0, show_markers=len(xs) <= 60)
    _layout(
        figure,
        title,
        "tokens seen" if x_axis == "tokens" else "step",
        y_label,
        None if xs else f"No {title.lower()} logged yet",
    )
    figure.update_layout(showlegend=False, height=240)
    return figure
