"""The workshop side of the run manager: the instructor's settings, each person's time, the wait in line.

``RunManager`` (core/runs/manager.py) inherits these methods; they read its runs, queue and lock, and keep
the rules themselves in ``core/workshop/`` (turns by person, budgets, caps), which knows nothing of runs.
"""

from __future__ import annotations

import threading
import time

from core.owners import EVERYONE, require_owner
from core.runs.record import RUNNING_PHASES, Run
from core.workshop.budgets import Allowance, training_seconds
from core.workshop.queue import WaitEstimate, Waiting, calibration, fair_order, wait_estimates
from core.workshop.settings import WorkshopSettings, WorkshopSettingsStore


class WorkshopLine:
    """Mixed into ``RunManager``: everything the workshop asks of the runs."""

    workshop: WorkshopSettingsStore
    _runs: dict[str, Run]
    _queue: list[str]
    _remote: set[str]
    _lock: threading.Lock
    _left_line: dict[str, float]
    _trained_before: dict[str, float]
    _estimates: dict[str, float | None]
    _notices: dict[str, str]
    _pushed_back: dict[str, int]
    _last_started: dict[str | None, float]

    def _order_locked(self) -> list[str]:
        """The waiting runs in the order they will start: turns by person in workshop mode, else as they came."""
        waiting = [Waiting(i, self._runs[i].owner, self._pushed_back.get(i, 0)) for i in self._queue]
        return fair_order(waiting, self._last_started, by_person=self.settings().enabled)

    def queue_position(self, run_id: str) -> int | None:
        """1-based place in the waiting line, or None when the run is not waiting."""
        with self._lock:
            order = self._order_locked()
            return order.index(run_id) + 1 if run_id in order else None

    def queue_order(self) -> list[str]:
        """The waiting runs' ids in the order they will start."""
        with self._lock:
            return self._order_locked()

    def settings(self) -> WorkshopSettings:
        """The instructor's settings in effect (saved on the server; the environment's until saved)."""
        return self.workshop.load()

    def save_settings(self, settings: WorkshopSettings, owner: object) -> None:
        """Save new workshop settings: the admin view's only (``owner`` must be ``EVERYONE``)."""
        if owner is not EVERYONE:
            raise PermissionError("Only the instructor's admin view changes the workshop settings.")
        self.workshop.save(settings)

    def _trained_locked(self, run: Run) -> float:
        """Seconds ``run`` trained: first step to end (once resumed: the time before, plus since it left the line)."""
        if run.run_id not in self._trained_before:
            return training_seconds(run.started_at, run.finished_at)
        since = self._left_line.get(run.run_id)
        return self._trained_before[run.run_id] + (training_seconds(since, run.finished_at) if since else 0.0)

    def trained_seconds(self, run_id: str) -> float:
        with self._lock:
            return self._trained_locked(self._runs[run_id]) if run_id in self._runs else 0.0

    def _allowance_locked(self, owner: str | None) -> Allowance:
        # a Job trains on the person's own Hugging Face account, not on this machine's GPU
        mine = (r for r in self._runs.values() if r.owner == owner and r.run_id not in self._remote)
        used = sum(self._trained_locked(r) for r in mine)
        return Allowance(self.settings(), used)

    def allowance(self, owner: str) -> Allowance:
        """One participant's training time used and what the settings allow them."""
        require_owner(owner)
        with self._lock:
            return self._allowance_locked(owner)

    def wait_estimate(self, run_id: str) -> WaitEstimate | None:
        """How long a waiting run has to wait, from the estimates of the runs ahead of it; None when not waiting.

        The estimates are scaled by how long the latest runs took against theirs (``calibration``).
        """
        with self._lock:
            order = self._order_locked()
            if run_id not in order:
                return None
            local = (r for r in self._runs.values() if r.phase in RUNNING_PHASES and r.run_id not in self._remote)
            training = next(local, None)
            ended = sorted((left, r) for r, left in self._left_line.items() if self._runs[r].phase == "finished")
            took = [(self._runs[r].finished_at - left, self._estimates.get(r) or 0.0) for left, r in ended]
            scale = calibration(took)  # a busy machine makes every run slower alike
            seconds = {r: None if s is None else s * scale for r, s in self._estimates.items()}
            left = None
            if training is not None and seconds.get(training.run_id) is not None:
                left = seconds[training.run_id] - (time.time() - self._left_line.get(training.run_id, time.time()))
                left = left if left > 0 else None  # it has run past its estimate: the wait is "at least"
            waits = wait_estimates(order, seconds, left, training is not None)
        return waits[run_id]

    def start_notice(self, run_id: str, owner: object) -> str:
        """What the run's owner was told when it started (their steps were capped), or ''."""
        return self._notices.get(run_id, "") if self.get(run_id, owner) else ""

    def deprioritise(self, run_id: str, owner: object) -> bool:
        """Move a waiting run behind every other waiting run (the instructor's view); False when it is not waiting."""
        with self._lock:
            try:
                self._owned_locked(run_id, owner)
            except KeyError:
                return False
            if run_id not in self._queue:
                return False
            self._pushed_back[run_id] = max(self._pushed_back.values(), default=0) + 1
            return True
