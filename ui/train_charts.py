"""The Train step's charts: which metrics it draws, and their figures as data for ``gr.Plot``.

The server sends each chart as plotly JSON (core/charts.py builds it as plain data) and the page's plotly.js
draws it; one redraw of every chart costs a few ms of server CPU instead of ~300 (bench/bench_charts.py).
"""

from __future__ import annotations

from gradio.components.plot import PlotData

from core.runs.record import RunSnapshot
from ui.shared_cache import SharedLRU

# The charts under the loss chart: (the logged metric, the chart's title, its y axis).
EXTRA_METRICS = [
    ("learning_rate", "Learning rate", "learning rate"),
    ("grad_norm", "Gradient norm (before clipping)", "norm"),
    ("mean_token_accuracy", "Mean token accuracy", "accuracy"),
    ("entropy", "Entropy of the predictions", "nats"),
    ("tokens_per_second", "Throughput", "tokens / s"),
    ("memory_gb", "Memory in use", "GB"),
]


# A run's charts as of one point, for every page that shows them (a reload, a second tab): the figures' JSON, which
# the browser's plotly.js draws. Never changed once built.
_CHARTS = SharedLRU(16)


def chart_key(snapshot: RunSnapshot | None, smoothing: float, x_axis: str) -> tuple:
    """What the charts show: the run, its metrics so far (how many, and the last) and the chart options."""
    if snapshot is None:
        return ("no run", smoothing, x_axis)
    metrics, evals = snapshot.metrics, snapshot.eval_metrics
    last_metric, last_eval = repr(metrics[-1]) if metrics else "", repr(evals[-1]) if evals else ""
    return (snapshot.run_id, len(metrics), last_metric, len(evals), last_eval, smoothing, x_axis)


def chart_data(snapshot: RunSnapshot | None, smoothing: float, x_axis: str) -> list[PlotData]:
    """The Train step's charts as data for ``gr.Plot``: plotly JSON that the page draws (core/charts.py)."""
    from core.charts import figure_json, loss_figure, metric_figure

    cache_key = chart_key(snapshot, smoothing, x_axis)
    known = _CHARTS.get(cache_key)
    if known is not None:
        return known
    metrics = snapshot.metrics if snapshot else []
    evals = snapshot.eval_metrics if snapshot else []
    loss = loss_figure(metrics, evals, smoothing=smoothing, x_axis=x_axis)
    extra = [metric_figure(metrics, key, title, unit) for key, title, unit in EXTRA_METRICS]
    # PlotData is what gr.Plot turns a plotly figure into; handed over as is, it is sent as is.
    return _CHARTS.put(cache_key, [PlotData(type="plotly", plot=figure_json(f)) for f in [loss, *extra]])
