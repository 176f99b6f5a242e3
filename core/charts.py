"""Plotly figures for the training monitor, as plain data the browser draws (no gradio).

A figure is a dict in plotly's JSON schema (``{"data": [traces], "layout": {...}}``), built here directly and
serialised by ``figure_json``; the page's plotly.js draws it. Building ``plotly.graph_objects.Figure`` objects
instead validated and copied every property and the whole template, ~40 ms of server CPU per chart and seven
charts per redraw (bench/bench_charts.py); ``tests/test_charts.py`` checks that plotly accepts each figure.

Every figure stays readable whatever the number of points:

- **none**: an empty chart with a friendly note ("Waiting for the first loss value…");
- **a few** (up to ``MARKERS_UP_TO``): lines with markers, so one or two points are visible;
- **many**: above ``MAX_POINTS`` a trace is downsampled for display by min/max decimation: the points are cut into
  ``MAX_POINTS // 4`` buckets of consecutive steps and each bucket keeps its first, lowest, highest and last point
  (in step order). Spikes and dips survive, as do the first and last points and the global min and max, and a
  trace never has more than ``MAX_POINTS`` points. (Averaging or every-n-th sampling would hide a spike.)

Smoothing is TensorBoard's: a debiased exponential moving average, computed on all points before downsampling and
drawn over the raw points, which stay faint. Layout: ``plotly_white``, ``HEIGHT`` px, tight margins, a horizontal
legend on top, and a ``uirevision`` that keeps the user's zoom across the once-a-second updates (it changes with
the x axis, so switching steps/tokens resets the view instead of keeping a zoom in the wrong units).
"""

from __future__ import annotations

import bisect
import functools
import json
import math
from typing import Any, Literal

MAX_POINTS = 2000  # above this, a trace is downsampled for display (browsers stay smooth at 1 Hz redraws)
MARKERS_UP_TO = 60  # with this many points or fewer, draw markers too
HEIGHT = 320
TRAIN_COLOUR = "#4f46e5"
EVAL_COLOUR = "#f59e0b"
MUTED = "#6b7280"
XAxis = Literal["step", "tokens"]
# One colour per run on the instructor's chart of several runs (Tableau 10, tells ten runs apart)
RUN_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
               "#bab0ac")  # fmt: skip


def ema(values: list[float], weight: float) -> list[float]:
    """Debiased exponential moving average, as TensorBoard's smoothing slider (weight 0 = no smoothing).

    Non-finite values pass through without disturbing the average.

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
    """At most ``cap`` points: per bucket of consecutive points, its first, min, max and last, in x order.

    >>> xs = list(range(10_000)); ys = [float(x % 97) for x in xs]
    >>> sx, sy = downsample(xs, ys, 400)
    >>> len(sx) <= 400 and sx[0] == 0 and sx[-1] == 9_999 and min(sy) == 0.0 and max(sy) == 96.0
    True
    >>> downsample([1, 2], [3.0, 4.0])
    ([1, 2], [3.0, 4.0])
    """
    n = len(xs)
    if n <= cap:
        return list(xs), list(ys)
    size = math.ceil(n / max(1, cap // 4))
    keep: set[int] = set()
    for start in range(0, n, size):
        bucket = range(start, min(n, start + size))
        keep.update((bucket[0], bucket[-1]))
        finite = [i for i in bucket if math.isfinite(ys[i])]
        if finite:
            keep.add(min(finite, key=ys.__getitem__))
            keep.add(max(finite, key=ys.__getitem__))
    order = sorted(keep)
    return [xs[i] for i in order], [ys[i] for i in order]


_PLAIN_NUMBERS = (float, int)  # not bool, whose type is its own


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _tokens_at(metrics: list[dict[str, Any]]):
    """A function step -> tokens seen, interpolated from the training entries (None when none has num_tokens).

    Validation entries carry no training token count (their ``eval_num_tokens`` is the validation set's), so
    their position on a tokens axis comes from here.
    """
    found = {}
    for entry in metrics:
        if isinstance(entry, dict):
            step, tokens = _number(entry.get("step")), _number(entry.get("num_tokens"))
            if step is not None and tokens is not None and math.isfinite(step) and math.isfinite(tokens):
                found[step] = tokens
    pairs = sorted(found.items())
    if not pairs:
        return None
    steps = [s for s, _ in pairs]

    def at(step: float) -> float:
        i = bisect.bisect_left(steps, step)
        if i < len(steps) and steps[i] == step:
            return pairs[i][1]
        if i == 0 or i == len(steps):  # before the first or after the last logged step: scale the nearest
            s, t = pairs[min(i, len(pairs) - 1)]
            return t * step / s if s > 0 else t
        (s0, t0), (s1, t1) = pairs[i - 1], pairs[i]
        return t0 + (t1 - t0) * (step - s0) / (s1 - s0)

    return at


def series(entries: list[dict[str, Any]] | None, key: str, tokens_at=None) -> tuple[list[float], list[float]]:
    """(x, y) of every entry with a number under ``key``: x is the step, or tokens seen when ``tokens_at`` is given.

    >>> series([{"step": 1, "loss": 2.0}, {"step": 2}, {"step": 3, "loss": "?"}, {"step": 4, "loss": 1.0}], "loss")
    ([1.0, 4.0], [2.0, 1.0])
    """
    xs, ys = [], []
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        y, step = entry.get(key), entry.get("step")
        # Every redraw reads each metric of every entry (7 charts x 10,000 steps in a long run): plain floats
        # and ints, what the run's JSON lines hold, skip the general check.
        if type(y) not in _PLAIN_NUMBERS and (y := _number(y)) is None:
            continue
        if type(step) not in _PLAIN_NUMBERS and (step := _number(step)) is None:
            continue
        xs.append(tokens_at(step) if tokens_at else float(step))
        ys.append(float(y))
    return xs, ys


@functools.cache
def _template() -> dict:
    """plotly's ``plotly_white`` template as plain JSON data, worked out once (plotly validates it as it loads).

    The browser's plotly.js knows no template names: plotly.py sends the whole template in every figure, and so
    does this module. Shared by every figure, never changed.
    """
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def _layout(title: str, x_title: str, y_title: str, revision: str, empty_message: str | None) -> dict:
    axis_style = {"showticklabels": False, "showgrid": False, "zeroline": False} if empty_message else {}
    layout = {
        "template": _template(),
        "height": HEIGHT,
        "margin": {"l": 56, "r": 16, "t": 48, "b": 44},
        "title": {"text": title, "font": {"size": 14}, "x": 0.01, "xanchor": "left"},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        "hovermode": "x",
        "xaxis": {"title": {"text": x_title}, **axis_style},
        # 5e-04 reads like the learning rate a user typed, unlike "500µ"
        "yaxis": {"title": {"text": y_title}, "exponentformat": "e", **axis_style},
        "uirevision": revision,
    }
    if empty_message:
        note = {"text": empty_message, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}
        layout["annotations"] = [{**note, "font": {"color": MUTED}}]
    return layout


def _scatter(xs: list[float], ys: list[float], **style: Any) -> dict:
    return {"type": "scatter", "x": xs, "y": ys, **style}


def _traces(xs, ys, name: str, colour: str, smoothing: float, x_label: str) -> list[dict]:
    mode = "lines+markers" if len(xs) <= MARKERS_UP_TO else "lines"
    hover = f"{x_label} %{{x:,.0f}}<br>{name} %{{y:.4g}}<extra></extra>"
    dx, dy = downsample(xs, ys)
    if smoothing > 0 and len(ys) > 2:
        sx, sy = downsample(xs, ema(ys, smoothing))
        raw = {"line": {"color": colour, "width": 1}, "marker": {"size": 4}, "opacity": 0.25}
        return [
            _scatter(dx, dy, name=f"{name} (raw)", mode=mode, **raw, showlegend=False, hoverinfo="skip"),
            _scatter(sx, sy, name=name, mode="lines", line={"color": colour, "width": 2.5}, hovertemplate=hover),
        ]
    line = {"color": colour, "width": 2}
    return [_scatter(dx, dy, name=name, mode=mode, line=line, marker={"size": 6}, hovertemplate=hover)]


def _axis(metrics: list[dict[str, Any]], x_axis: str) -> tuple[Any, str]:
    """(tokens_at or None, x-axis title); falls back to steps when no entry has a token count."""
    if x_axis != "tokens":
        return None, "step"
    tokens_at = _tokens_at(metrics or [])
    return (tokens_at, "tokens seen") if tokens_at else (None, "step (no token counts logged)")


def loss_figure(
    metrics: list[dict[str, Any]],
    eval_metrics: list[dict[str, Any]] | None = None,
    smoothing: float = 0.0,
    x_axis: XAxis = "step",
    revision: str = "",
) -> dict:
    """Training loss (raw faint + smoothed line when ``smoothing`` > 0) and validation loss on one chart.

    ``revision`` (e.g. the run id) joins the ``uirevision``, so a new run starts unzoomed.

    >>> len(loss_figure([{"step": 1, "loss": 2.5}], [{"step": 1, "eval_loss": 2.6}])["data"])
    2
    """
    tokens_at, x_title = _axis(metrics, x_axis)
    xs, ys = series(metrics, "loss", tokens_at)
    ex, ey = series(eval_metrics, "eval_loss", tokens_at)
    data = _traces(xs, ys, "training loss", TRAIN_COLOUR, smoothing, x_title) if xs else []
    if ex:
        dx, dy = downsample(ex, ey)
        hover = f"{x_title} %{{x:,.0f}}<br>validation loss %{{y:.4g}}<extra></extra>"
        style = {"line": {"color": EVAL_COLOUR, "width": 2.5}, "marker": {"size": 7}, "hovertemplate": hover}
        data.append(_scatter(dx, dy, name="validation loss", mode="lines+markers", **style))
    empty = None if xs or ex else "Waiting for the first loss value…"
    return {"data": data, "layout": _layout("Loss", x_title, "loss", f"loss-{x_axis}-{revision}", empty)}


def metric_figure(
    metrics: list[dict[str, Any]],
    key: str,
    title: str,
    y_label: str,
    x_axis: XAxis = "step",
    eval_metrics: list[dict[str, Any]] | None = None,
    revision: str = "",
) -> dict:
    """One logged metric over training: learning rate, grad norm, token accuracy, entropy, throughput, memory.

    When ``eval_metrics`` carry ``eval_<key>`` (e.g. ``eval_mean_token_accuracy``), it is drawn alongside.

    >>> metric_figure([], "grad_norm", "Gradient norm", "norm")["layout"]["annotations"][0]["text"]
    'No gradient norm logged yet'
    """
    tokens_at, x_title = _axis(metrics, x_axis)
    xs, ys = series(metrics, key, tokens_at)
    ex, ey = series(eval_metrics, f"eval_{key}", tokens_at)
    data = _traces(xs, ys, title.lower() if ex else title, TRAIN_COLOUR, 0.0, x_title) if xs else []
    if ex:
        dx, dy = downsample(ex, ey)
        data.append(_scatter(dx, dy, name="on validation", mode="lines+markers", line={"color": EVAL_COLOUR}))
    empty = None if xs or ex else f"No {title.lower()} logged yet"
    layout = _layout(title, x_title, y_label, f"{key}-{x_axis}-{revision}", empty)
    return {"data": data, "layout": {**layout, "showlegend": bool(ex)}}


def _finite_or_none(values: list[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def figure_json(figure: dict) -> str:
    """The figure as the browser's plotly.js reads it: JSON, with ``null`` (a gap) for NaN and infinities.

    What ``plotly.graph_objects.Figure.to_json`` would send, without validating and copying every property again.

    >>> figure_json({"data": [{"type": "scatter", "x": [1.0, 2.0], "y": [float("nan"), 3.0]}], "layout": {}})
    '{"data":[{"type":"scatter","x":[1.0,2.0],"y":[null,3.0]}],"layout":{}}'
    """
    data = [{**trace, "x": _finite_or_none(trace["x"]), "y": _finite_or_none(trace["y"])} for trace in figure["data"]]
    return json.dumps({**figure, "data": data}, separators=(",", ":"), allow_nan=False)


def runs_loss_figure(curves: list[tuple[str, list[dict[str, Any]]]], smoothing: float = 0.0, x_axis: XAxis = "step"):
    """The training loss of several runs on one chart, one colour each (the instructor's view of the class).

    ``curves``: (name, logged metrics) per run. On the tokens axis a run that logged no token counts is left
    out and named in the title, rather than drawn in steps against tokens.

    >>> figure = runs_loss_figure([("a", [{"step": 1, "loss": 2.0}]), ("b", [{"step": 1, "loss": 1.5}])])
    >>> [trace["name"] for trace in figure["data"]]
    ['a', 'b']
    >>> runs_loss_figure([])["layout"]["annotations"][0]["text"]
    'Pick runs above to compare their loss'
    """
    data: list[dict] = []
    x_title, left_out = ("tokens seen" if x_axis == "tokens" else "step"), []
    for number, (name, metrics) in enumerate(curves):
        tokens_at, _ = _axis(metrics, x_axis)
        if x_axis == "tokens" and tokens_at is None:
            left_out.append(name)
            continue
        xs, ys = series(metrics, "loss", tokens_at)
        if xs:
            data += _traces(xs, ys, name, RUN_COLOURS[number % len(RUN_COLOURS)], smoothing, x_title)
    title = "Training loss of the picked runs"
    if left_out:
        title += f" (no token counts: {', '.join(left_out)})"
    empty = None if data else ("Pick runs above to compare their loss" if not curves else "No loss logged yet")
    return {"data": data, "layout": _layout(title, x_title, "loss", f"runs-{x_axis}", empty)}
