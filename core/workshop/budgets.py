"""Each participant's training time, what the instructor allows, and the sentences that say so.

"Training time" is what the Train step's status card shows as *Elapsed*: from a run's first training step
to its end (or now). The start-up and the wait in line are not counted; a resumed run counts on from its
first start. The budget is checked when a run is started and again when it leaves the line; a run never
trains past the longest run allowed nor past its owner's budget left (the manager stops it at the next
step end, keeping what it trained).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from core.config import RunConfig
from core.runs.progress import format_duration
from core.workshop.settings import WorkshopSettings


class BudgetSpent(RuntimeError):
    """A participant has used their training time; the message says how much they used and had."""


def training_seconds(started_at: float | None, finished_at: float | None, now: float | None = None) -> float:
    """Seconds one run has trained: 0 before its first step.

    >>> training_seconds(None, None), training_seconds(100.0, 160.0), training_seconds(100.0, None, now=130.0)
    (0.0, 60.0, 30.0)
    """
    if started_at is None:
        return 0.0
    end = finished_at if finished_at is not None else (time.time() if now is None else now)
    return max(0.0, end - started_at)


@dataclass(frozen=True)
class Allowance:
    """One participant's training time used and what the settings allow them."""

    settings: WorkshopSettings
    used_seconds: float

    @property
    def budget_seconds(self) -> float | None:
        """The budget in seconds; None when there is none (workshop mode off, or no budget set)."""
        if not self.settings.enabled or not self.settings.budget_minutes:
            return None
        return self.settings.budget_minutes * 60

    @property
    def left_seconds(self) -> float | None:
        budget = self.budget_seconds
        return None if budget is None else max(0.0, budget - self.used_seconds)

    def run_seconds_limit(self) -> float | None:
        """The longest a run that starts now may train: the longest run allowed, or the budget left if less."""
        limits = [s for s in (self.settings.max_minutes * 60 or None, self.left_seconds) if s is not None]
        return min(limits) if limits else None

    def check(self) -> None:
        """BudgetSpent when this participant's budget is used up.

        >>> try:
        ...     Allowance(WorkshopSettings(enabled=True, budget_minutes=10), 600.0).check()
        ... except BudgetSpent as spent:
        ...     print(spent)
        You have used your training time: 10 min 00 s of the 10 min 00 s the instructor gives each participant. \
Ask the instructor for more time, or try your finished runs in 5 · Try it.
        """
        left = self.left_seconds
        if left is not None and left <= 0:
            raise BudgetSpent(
                f"You have used your training time: {format_duration(self.used_seconds)} of the "
                f"{format_duration(self.budget_seconds)} the instructor gives each participant. Ask the instructor "
                "for more time, or try your finished runs in 5 · Try it."
            )

    def describe(self) -> str:
        """What a participant is told about their time and the run length, in one sentence ('' when no limit).

        >>> Allowance(WorkshopSettings(enabled=True, budget_minutes=20, max_steps=100), 300.0).describe()
        'Workshop: you have used 5 min 00 s of your 20 min 00 s training time; 15 min 00 s left. Each run trains \
at most 100 steps.'
        >>> Allowance(WorkshopSettings(), 300.0).describe()
        ''
        """
        parts = []
        if self.budget_seconds is not None:
            parts.append(
                f"Workshop: you have used {format_duration(self.used_seconds)} of your "
                f"{format_duration(self.budget_seconds)} training time; {format_duration(self.left_seconds)} left."
            )
        lengths = []
        if self.settings.max_steps:
            lengths.append(f"{self.settings.max_steps:,} steps")
        if self.settings.max_minutes:
            lengths.append(format_duration(self.settings.max_minutes * 60))
        if lengths:
            parts.append(f"Each run trains at most {' and '.join(lengths)}.")
        return " ".join(parts)


def cap_steps(config: RunConfig, settings: WorkshopSettings) -> tuple[RunConfig, str | None]:
    """The config with its steps capped at the longest run allowed, and the sentence that says so (None: as asked).

    >>> capped, note = cap_steps(RunConfig(max_steps=500), WorkshopSettings(max_steps=100))
    >>> capped.max_steps, note
    (100, 'You asked for 500 steps; the instructor allows at most 100 per run, so this run trains 100 steps.')
    >>> cap_steps(RunConfig(max_steps=60), WorkshopSettings(max_steps=100))[1] is None
    True
    """
    cap = settings.max_steps
    if not cap or (0 < config.max_steps <= cap):
        return config, None
    asked = "whole epochs" if config.max_steps == -1 else f"{config.max_steps:,} steps"
    note = f"You asked for {asked}; the instructor allows at most {cap:,} per run, so this run trains {cap:,} steps."
    return replace(config, max_steps=cap), note


def time_limit_message(seconds: float, by_budget: bool, ended: bool = False) -> str:
    """What a run's card says when the manager stops it at its time limit (``ended``: after it stopped).

    >>> time_limit_message(300, by_budget=False, ended=True)
    "It reached the instructor's limit of 5 min 00 s per run."
    """
    if by_budget:
        why = f"your training time is used up ({format_duration(seconds)} were left when this run began)"
        return f"It stopped because {why}." if ended else f"Stopping: {why}."
    why = f"the instructor's limit of {format_duration(seconds)} per run"
    return f"It reached {why}." if ended else f"Stopping: this run reached {why}."


class TimeLimit:
    """Stops one run at its next step end once it has trained ``seconds``: a thread that looks twice a second."""

    def __init__(self, run, seconds: float, by_budget: bool, poll: float = 0.5) -> None:
        self.run, self.seconds, self.by_budget, self.poll = run, seconds, by_budget, poll
        self.resumed = run.started_at is not None  # it trained before: its clock starts at this first step
        self._done = threading.Event()
        self._guard = threading.Lock()  # no message from the watcher once cancelled: the run's end has its own
        self.fired = False
        self._thread = threading.Thread(target=self._watch, name=f"time-limit-{run.run_id}", daemon=True)

    def start(self) -> TimeLimit:
        self._thread.start()
        return self

    def cancel(self) -> None:
        with self._guard:
            self._done.set()

    def explain(self) -> None:
        """After the run ended: add why it stopped to its last message, when this limit stopped it."""
        if self.fired and self.run.phase == "stopped":
            self.run.set_message(f"{self.run.message} {time_limit_message(self.seconds, self.by_budget, ended=True)}")

    def _watch(self) -> None:
        began = None  # when this trainer's first step began: a resumed run's earlier start is not this one's
        while not self._done.wait(self.poll):
            if began is None and self.run.phase == "training":
                began = time.time() - (training_seconds(self.run.started_at, None) if not self.resumed else 0.0)
            if began is not None and time.time() - began >= self.seconds:
                if self.run.phase == "training":
                    self.fired = True
                    self.run.request_stop()
                    with self._guard:
                        if not self._done.is_set():
                            self.run.set_message(time_limit_message(self.seconds, self.by_budget))
                    return
