"""Plain numbers about a run's progress, computed from a run snapshot (for the page and for tests).

Its losses are not here: they are ``core.diagnosis.facts.LossFacts``, which the card and the diagnosis share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.runs.record import RunSnapshot


@dataclass(frozen=True)
class Progress:
    step: int
    total_steps: int
    elapsed_seconds: float
    eta_seconds: float | None
    seconds_per_step: float | None
    tokens_per_second: float | None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


def format_duration(seconds: float | None) -> str:
    """Short human duration.

    >>> format_duration(75)
    '1 min 15 s'
    >>> format_duration(None)
    '—'
    """
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def measure_progress(snapshot: RunSnapshot, window: int = 10) -> Progress:
    """Step, elapsed time, ETA and throughput.

    The step time is the mean over the last ``window`` logged steps, so the
    ETA follows the current speed (sample generation and the first slow steps
    fade out of it).
    """
    metrics = [m for m in snapshot.metrics if "loss" in m]
    seconds_per_step = tokens_per_second = None
    recent = metrics[-(window + 1) :]
    if len(recent) >= 2 and recent[-1]["step"] > recent[0]["step"]:
        dt = recent[-1]["time"] - recent[0]["time"]
        seconds_per_step = dt / (recent[-1]["step"] - recent[0]["step"])
        if "num_tokens" in recent[-1] and "num_tokens" in recent[0] and dt > 0:
            tokens_per_second = (recent[-1]["num_tokens"] - recent[0]["num_tokens"]) / dt
    eta = None
    if seconds_per_step is not None and snapshot.total_steps and snapshot.is_active:
        eta = max(0, snapshot.total_steps - snapshot.step) * seconds_per_step
    return Progress(
        step=snapshot.step,
        total_steps=snapshot.total_steps,
        elapsed_seconds=snapshot.elapsed,
        eta_seconds=eta,
        seconds_per_step=seconds_per_step,
        tokens_per_second=tokens_per_second,
    )
