"""Monitor charts stay readable with no points, a few, and ten thousand, and are what plotly itself would send."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.charts import HEIGHT, MARKERS_UP_TO, MAX_POINTS, downsample, ema, figure_json, loss_figure, metric_figure

UI_METRICS = ["learning_rate", "grad_norm", "mean_token_accuracy", "entropy", "tokens_per_second", "memory_gb"]


def metrics(n: int, seed: int = 0) -> list[dict]:
    """Entries as the run manager records them: a falling, noisy loss and the other logged metrics."""
    rng = np.random.default_rng(seed)
    return [
        {"step": i + 1, "time": float(i), "loss": float(2.0 / (1 + i / 50) + rng.normal(0, 0.1)),
         "num_tokens": 64.0 * (i + 1), "learning_rate": 1e-3, "grad_norm": 0.5, "mean_token_accuracy": 0.6,
         "entropy": 1.2, "tokens_per_second": 300.0, "memory_gb": 1.1, "epoch": i / n}
        for i in range(n)
    ]  # fmt: skip


def test_empty_chart_says_it_is_waiting_and_keeps_its_size():
    figure = loss_figure([])
    assert len(figure["data"]) == 0
    assert "Waiting for the first loss" in figure["layout"]["annotations"][0]["text"]
    assert figure["layout"]["height"] == HEIGHT and figure["layout"]["xaxis"]["showticklabels"] is False


def test_one_point_is_drawn_with_a_marker():
    figure = loss_figure(metrics(1))
    assert list(figure["data"][0]["x"]) == [1] and "markers" in figure["data"][0]["mode"]
    assert "Waiting" not in str(figure["layout"].get("annotations"))


def test_few_points_have_markers_many_do_not():
    assert "markers" in loss_figure(metrics(MARKERS_UP_TO))["data"][0]["mode"]
    assert loss_figure(metrics(MARKERS_UP_TO + 1))["data"][0]["mode"] == "lines"


def test_ten_thousand_points_are_downsampled_keeping_ends_and_extremes():
    data = metrics(10_000)
    data[5000]["loss"] = -5.0  # a dip that must stay visible
    data[7777]["loss"] = 50.0  # and a spike
    for smoothing in (0.0, 0.9):
        for trace in loss_figure(data, smoothing=smoothing)["data"]:
            assert len(trace["x"]) <= MAX_POINTS
            assert trace["x"][0] == 1 and trace["x"][-1] == 10_000
    raw = loss_figure(data)["data"][0]
    assert min(raw["y"]) == -5.0 and max(raw["y"]) == 50.0


def test_validation_loss_is_its_own_trace_with_markers():
    figure = loss_figure(metrics(10), [{"step": 5, "eval_loss": 1.5}, {"step": 10, "eval_loss": 1.4}])
    validation = [t for t in figure["data"] if t["name"] == "validation loss"]
    assert len(validation) == 1 and list(validation[0]["y"]) == [1.5, 1.4] and "markers" in validation[0]["mode"]


def test_validation_loss_alone_is_drawn():
    figure = loss_figure([], [{"step": 5, "eval_loss": 1.5}])
    assert [t["name"] for t in figure["data"]] == ["validation loss"] and "annotations" not in figure["layout"]


def test_tokens_axis_uses_num_tokens_for_training_and_validation():
    validation = [{"step": 2, "eval_loss": 1.4, "eval_num_tokens": 9999.0}, {"step": 3, "eval_loss": 1.3}]
    figure = loss_figure(metrics(3), validation, x_axis="tokens")
    assert list(figure["data"][0]["x"]) == [64, 128, 192]
    assert list(figure["data"][1]["x"]) == [128, 192]  # training tokens at those steps, not the validation set's size
    assert figure["layout"]["xaxis"]["title"]["text"] == "tokens seen"


def test_validation_between_logged_steps_is_placed_by_interpolation():
    sparse = [{"step": 10, "loss": 2.0, "num_tokens": 1000.0}, {"step": 20, "loss": 1.5, "num_tokens": 2000.0}]
    figure = loss_figure(sparse, [{"step": 15, "eval_loss": 1.7}], x_axis="tokens")
    assert list(figure["data"][1]["x"]) == [1500]


def test_tokens_axis_without_token_counts_falls_back_to_steps_and_says_so():
    data = [{"step": i, "loss": 2.0} for i in range(1, 4)]
    figure = loss_figure(data, x_axis="tokens")
    assert (
        list(figure["data"][0]["x"]) == [1, 2, 3] and "no token counts" in figure["layout"]["xaxis"]["title"]["text"]
    )


def test_smoothing_draws_a_faint_raw_trace_and_a_smoother_line():
    figure = loss_figure(metrics(200), smoothing=0.9)
    raw, smooth = figure["data"]
    assert raw["opacity"] < 0.5 and raw["showlegend"] is False and smooth["name"] == "training loss"
    raw_steps = np.diff(np.array(raw["y"]))
    smooth_steps = np.diff(np.array(smooth["y"]))
    assert statistics.pstdev(smooth_steps) < statistics.pstdev(raw_steps) / 3


def test_ema_is_debiased_like_tensorboard():
    assert ema([2.0, 2.0], 0.99) == pytest.approx([2.0, 2.0])  # no pull towards 0 at the start
    assert ema([1.0, 2.0], 0.0) == [1.0, 2.0]
    smoothed = ema([1.0, float("nan"), 1.0], 0.6)
    assert smoothed[0] == 1.0 and math.isnan(smoothed[1]) and smoothed[2] == pytest.approx(1.0)


def test_layout_is_clean_with_a_legend_on_top_and_zoom_that_survives_updates():
    figure = loss_figure(metrics(20), [{"step": 10, "eval_loss": 1.0}], revision="run-1")
    layout = figure["layout"]
    assert (
        layout["height"] == HEIGHT
        and layout["legend"]["orientation"] == "h"
        and layout["legend"]["yanchor"] == "bottom"
    )
    assert layout["template"]["layout"]["plot_bgcolor"] == "white"
    assert (
        layout["uirevision"] == loss_figure(metrics(21), revision="run-1")["layout"]["uirevision"]
    )  # next tick: kept
    assert layout["uirevision"] != loss_figure(metrics(21), x_axis="tokens", revision="run-1")["layout"]["uirevision"]
    assert layout["uirevision"] != loss_figure(metrics(21), revision="run-2")["layout"]["uirevision"]


@pytest.mark.parametrize("key", UI_METRICS)
def test_every_monitor_metric_has_a_figure(key):
    figure = metric_figure(metrics(30), key, key.replace("_", " ").title(), "value")
    assert list(figure["data"][0]["x"])[:2] == [1, 2] and figure["layout"]["height"] == HEIGHT


def test_metric_figure_without_the_metric_says_so():
    figure = metric_figure(metrics(3), "not_logged", "Gradient norm", "norm")
    assert "No gradient norm logged yet" in figure["layout"]["annotations"][0]["text"]


def test_learning_rate_ticks_read_like_the_setting():
    assert (
        metric_figure(metrics(3), "learning_rate", "Learning rate", "lr")["layout"]["yaxis"]["exponentformat"] == "e"
    )


def test_metric_figure_draws_the_validation_value_alongside():
    validation = [{"step": 10, "eval_mean_token_accuracy": 0.55}]
    figure = metric_figure(
        metrics(20), "mean_token_accuracy", "Mean token accuracy", "accuracy", eval_metrics=validation
    )
    assert [t["name"] for t in figure["data"]] == ["mean token accuracy", "on validation"] and figure["layout"][
        "showlegend"
    ]


def test_junk_entries_are_skipped():
    junk = [{"step": 1, "loss": "?"}, "text", {"loss": 1.0}, {"step": 2, "loss": True}, {"step": 3, "loss": 1.5}]
    assert list(loss_figure(junk, smoothing=0.5)["data"][0]["x"]) == [3]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=3000))
def test_downsample_never_exceeds_the_cap_and_keeps_ends_and_extremes(ys):
    xs = list(range(len(ys)))
    dx, dy = downsample(xs, ys, cap=400)
    assert len(dx) <= 400
    assert dx[0] == 0 and dx[-1] == len(ys) - 1 and dx == sorted(dx)
    assert min(dy) == min(ys) and max(dy) == max(ys)


def every_kind_of_figure() -> list[dict]:
    data = metrics(300)
    data[7]["loss"] = float("nan")  # a logged NaN: a gap in the line, as plotly draws None
    validation = [{"step": 50, "eval_loss": 1.5, "eval_mean_token_accuracy": 0.5}, {"step": 100, "eval_loss": 1.4}]
    return [
        loss_figure([]),
        loss_figure(data[:3], validation[:1], revision="run-1"),
        loss_figure(data, validation, smoothing=0.6, x_axis="tokens"),
        metric_figure([], "grad_norm", "Gradient norm", "norm"),
        *(metric_figure(data, key, key, "value", eval_metrics=validation) for key in UI_METRICS),
    ]


def test_plotly_accepts_every_figure_as_it_is_sent():
    """The figures are built as plain data, unchecked: plotly's own validation, run here, finds no wrong property."""
    import plotly.graph_objects as go

    for figure in every_kind_of_figure():
        go.Figure(json.loads(figure_json(figure)))  # raises on an unknown property or a wrong value


def test_the_json_sent_is_what_plotly_would_have_sent():
    import plotly.graph_objects as go

    for figure in every_kind_of_figure():
        sent = json.loads(figure_json(figure))
        assert sent == json.loads(go.Figure(figure).to_json())
        assert "NaN" not in figure_json(figure)  # the browser's JSON.parse rejects NaN
