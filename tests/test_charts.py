"""Monitor charts stay readable with no points, a few, and ten thousand."""

from __future__ import annotations

import random
import statistics

import pytest

from core.charts import MAX_POINTS, ema, loss_figure, metric_figure


def metrics(n: int, seed: int = 0):
    rng = random.Random(seed)
    return [
        {
            "step": i + 1,
            "loss": 2.0 / (1 + i / 50) + rng.gauss(0, 0.1),
            "num_tokens": 64 * (i + 1),
            "learning_rate": 1e-3,
        }
        for i in range(n)
    ]


def test_empty_chart_says_it_is_waiting():
    figure = loss_figure([])
    assert len(figure.data) == 0
    assert "Waiting for the first loss" in figure.layout.annotations[0].text


def test_one_point_is_drawn_with_a_marker():
    figure = loss_figure(metrics(1))
    assert list(figure.data[0].x) == [1] and "markers" in figure.data[0].mode


def test_ten_thousand_points_are_downsampled_keeping_ends_and_extremes():
    data = metrics(10_000)
    data[5000]["loss"] = -5.0  # a dip that must stay visible
    trace = loss_figure(data).data[0]
    assert len(trace.x) <= MAX_POINTS
    assert trace.x[0] == 1 and trace.x[-1] == 10_000
    assert min(trace.y) == -5.0


def test_validation_loss_is_its_own_trace():
    figure = loss_figure(metrics(10), [{"step": 5, "eval_loss": 1.5}, {"step": 10, "eval_loss": 1.4}])
    names = [t.name for t in figure.data]
    assert "validation loss" in names


def test_tokens_axis_uses_num_tokens():
    figure = loss_figure(metrics(3), x_axis="tokens")
    assert list(figure.data[0].x) == [64, 128, 192]
    assert figure.layout.xaxis.title.text == "tokens seen"


def test_smoothing_adds_a_smoothed_trace_with_less_variance():
    figure = loss_figure(metrics(200), smoothing=0.9)
    raw, smooth = figure.data[0], figure.data[1]
    raw_steps = [b - a for a, b in zip(raw.y, raw.y[1:], strict=False)]
    smooth_steps = [b - a for a, b in zip(smooth.y, smooth.y[1:], strict=False)]
    assert statistics.pstdev(smooth_steps) < statistics.pstdev(raw_steps)


def test_ema_is_debiased():
    assert ema([2.0, 2.0], 0.99) == pytest.approx([2.0, 2.0])


def test_metric_figure_without_the_metric_says_so():
    figure = metric_figure(metrics(3), "grad_norm", "Gradient norm", "norm")
    assert "No gradient norm logged yet" in figure.layout.annotations[0].text
