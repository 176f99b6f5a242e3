"""Reading the logged entries into (step, value) points, and the robust statistics every rule measures with.

Robust statistics keep batch-4 noise from raising alarms: a level is the median of a window (a tenth of the
points, 10 to 50), the start is the median of the first 5, the noise scale is a trimmed mean of step-to-step
changes (trend and a few spikes barely move it), and progress is in optimizer steps (the ``step`` key),
whatever ``logging_steps`` is.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

from core.diagnosis.thresholds import MIN_POINTS


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def points(entries: list[dict[str, Any]] | None, key: str) -> list[tuple[float, float]]:
    """(step, value) for every entry that has a number under ``key``; the position stands in for a missing step.

    >>> points([{"step": 5, "loss": 2.0}, {"loss": 1.5}, {"step": 7}], "loss")
    [(5.0, 2.0), (2.0, 1.5)]
    """
    out = []
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            continue
        value = _number(entry.get(key))
        if value is None:
            continue
        step = _number(entry.get("step"))
        out.append((step if step is not None and math.isfinite(step) else float(index + 1), value))
    return out


def window_size(n: int) -> int:
    """Points per smoothing window: a tenth of the run, at least 10 and at most 50.

    >>> window_size(40), window_size(300), window_size(10_000)
    (10, 30, 50)
    """
    return max(MIN_POINTS, min(50, n // 10))


def level(values: list[float]) -> float:
    """Median: the loss "level" of a window, unmoved by one odd batch."""
    return statistics.median(values)


def noise_scale(values: list[float]) -> float:
    """Per-step noise scale: the mean of the smallest 90% of |step-to-step changes|, scaled to a standard deviation.

    Differences cancel a slow trend; dropping the largest 10% keeps a few spikes from inflating it; a trimmed
    mean is steadier than a median on the 30-point windows used here. (For Gaussian noise of scale s, the
    changes have scale s*sqrt(2) and the trimmed mean of their size is 0.657 of that, hence the 1.0758.)

    >>> noise_scale([1.0, 1.0, 1.0])
    0.0
    """
    changes = sorted(abs(b - a) for a, b in zip(values, values[1:], strict=False))
    kept = changes[: max(1, int(len(changes) * 0.9))]
    return 1.0758 * sum(kept) / len(kept) if len(values) >= 3 else 0.0


def run_progress(steps: list[float], total_steps: int | None) -> float | None:
    """Share of the run's optimizer steps done, or None when its length is unknown."""
    if not total_steps or total_steps <= 0 or not steps:
        return None
    return max(steps) / total_steps


def peak_learning_rate(metrics: list[dict[str, Any]], configured: float | None) -> float | None:
    """The configured peak learning rate, else the highest one logged (the peak once warmup is over)."""
    if configured and configured > 0 and math.isfinite(configured):
        return configured
    rates = [r for _, r in points(metrics, "learning_rate") if math.isfinite(r) and r > 0]
    return max(rates) if rates else None


def zero_runs(losses: list[float]) -> list[tuple[int, int]]:
    """(start index, length) of every run of exact zeros.

    >>> zero_runs([1.0, 0.0, 0.0, 2.0, 0.0])
    [(1, 2), (4, 1)]
    """
    runs: list[tuple[int, int]] = []
    for i, value in enumerate(losses):
        if value != 0.0:
            continue
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs
