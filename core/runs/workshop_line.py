"""The workshop side of the run manager: the instructor's settings, each person's time, the wait in line.

``RunManager`` (core/runs/manager.py) inherits these methods; they read its runs, queue and lock, and keep
the rules themselves in ``core/workshop/`` (turns by person, budgets, caps), which knows nothing of runs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from core.owners import EVERYONE, require_owner
from core.runs.line import LineRecord
from core.runs.record import RUNNING_PHASES, Run
from core.workshop.budgets import Allowance, training_seconds
from core.workshop.queue import (
    WaitEstimate,
    Waiting,
    after_limit_seconds,
    calibration,
    fair_order,
    limited_left,
    wait_estimates,
)
from core.workshop.settings import WorkshopSettings, WorkshopSettingsStore


class WorkshopLine:
    """Mixed into ``RunManager``: everything the workshop asks of the runs."""

    workshop: WorkshopSettingsStore
    runs_dir: Path
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
    _limits: dict[str, float]
    _limited: set[str]
    _after_limit: dict[str, float]

    # -- the line on disk (core/runs/line.py) -------------------------------------------------------
    def _save_line_locked(self) -> None:
        """Keep the line as it is now, so a restart finds it; a full disk loses only this copy, never a run."""
        record = LineRecord(
            queue=list(self._queue),
            pushed_back=dict(self._pushed_back),
            estimates=dict(self._estimates),
            notices=dict(self._notices),
            trained_before=dict(self._trained_before),
            left_line=dict(self._left_line),
            limits=dict(self._limits),
            limited=sorted(self._limited),
        )
        try:
            record.save(self.runs_dir)
        except OSError:
            pass

    def _restore_line_locked(self) -> None:
        """After a restart: the queued runs wait again, in their saved order, with what was known of them."""
        record = LineRecord.load(self.runs_dir, known=set(self._runs))
        local = (run for run_id, run in self._runs.items() if run_id not in self._remote)
        waiting = {run.run_id for run in local if run.phase == "queued"}
        unsaved = waiting - set(record.queue)  # queued, but not in the saved line: in the order they came
        came_later = sorted(unsaved, key=lambda run_id: (self._runs[run_id].created_at, run_id))
        self._queue = [run_id for run_id in record.queue if run_id in waiting] + came_later
        self._pushed_back = {k: int(v) for k, v in record.pushed_back.items() if k in waiting}
        self._estimates.update(record.estimates)
        self._notices.update(record.notices)
        self._trained_before.update(record.trained_before)
        self._left_line.update(record.left_line)
        self._limits.update(record.limits)
        self._limited.update(record.limited)
        for run_id, left in self._left_line.items():  # turns by person go on from when each one was last served
            owner = self._runs[run_id].owner
            self._last_started[owner] = max(self._last_started.get(owner, 0.0), left)

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
            # runs that ran their course: finished, or stopped by their time limit (not by a person, not failed)
            ended = sorted(
                (left, r)
                for r, left in self._left_line.items()
                if self._runs[r].finished_at and (self._runs[r].phase == "finished" or r in self._limited)
            )
            took = [(self._runs[r].finished_at - left, self._estimates.get(r) or 0.0) for left, r in ended]
            scale = calibration(took)  # a busy machine makes every run slower alike
            seconds = {r: None if s is None else s * scale for r, s in self._estimates.items()}
            left = self._training_left_locked(training, seconds, scale) if training is not None else None
            waits = wait_estimates(order, seconds, left, training is not None)
        return waits[run_id]

    def _training_left_locked(self, run: Run, seconds: dict[str, float | None], scale: float) -> float | None:
        """Seconds left of the run training now; None when unknown (it ran past its estimate and has no limit)."""
        estimate = seconds.get(run.run_id)
        since = self._left_line.get(run.run_id, time.time())
        left = None if estimate is None else estimate - (time.time() - since)
        limit = self._limits.get(run.run_id)
        if limit is not None and run.phase == "training" and run.started_at is not None:
            resumed = run.run_id in self._trained_before  # its limit counts from this start's first step
            trained = training_seconds(since if resumed else run.started_at, None)
            if run.run_id not in self._after_limit:  # read once: this runs on every waiting page's poll
                self._after_limit[run.run_id] = after_limit_seconds(run.folder.read_estimate())
            after = self._after_limit[run.run_id] * scale
            return limited_left(limit, trained, after, left)
        return left if left is not None and left > 0 else None  # past its estimate: the wait is "at least"

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
            self._save_line_locked()
            return True
