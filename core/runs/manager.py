"""The run manager: one per process, one training at a time, a fair queue behind it.

``app.py`` creates one and hands it the trainer (``core.runs.launcher.default_trainer()``: a worker process).
The UI never holds a run: it asks the manager for a snapshot or for summaries on each timer tick, so a
closed tab neither stops nor loses a run (STYLE.md, "Data flows one way"). A new manager over the same
folder lists every past run after a restart: a run that was training when the app stopped is marked
*interrupted* and can be resumed from its last complete checkpoint; waiting runs wait on in their place
(core/runs/line.py keeps the line). Runs on Hugging Face Jobs
(``start_remote``) are listed with the rest, never queue for the local trainer, and are followed by
``core/runs/remote.py``, after a restart too.

In workshop mode (core/workshop/settings.py, set from the admin tab) the line takes turns by person
(core/workshop/queue.py), every run is capped at the longest run allowed, and a participant whose training
time is used up can't start another (core/workshop/budgets.py).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from core.config import ConfigError, RunConfig
from core.owners import owns, require_owner
from core.runs.record import ACTIVE_PHASES, RESUMABLE_PHASES, RUNNING_PHASES, Run, RunSnapshot, RunSummary
from core.runs.remote import RemoteFollower
from core.runs.remote_line import RemoteLine
from core.runs.store import RunFolder, run_folders
from core.runs.workshop_line import WorkshopLine
from core.workshop.budgets import BudgetSpent, TimeLimit, cap_steps
from core.workshop.queue import capped_estimate
from core.workshop.settings import Limits, WorkshopSettingsStore

TrainerFn = Callable[[Run], None]
"""Trains one run to its end or raises; ``Run.conclude`` then records how it ended."""


class SpaceLimit(RuntimeError):
    """A limit this Space sets (``Limits``) refused a run; the message says which and what to do."""


class RunQueueFull(SpaceLimit):
    """A limit on waiting runs was reached."""


class TooManyRows(SpaceLimit):
    """The dataset has more training rows than this Space trains in one run."""


class RunManager(WorkshopLine, RemoteLine):
    """Owns every training run of this process. Create one in ``app.py`` and pass it in."""

    def __init__(
        self,
        runs_dir: str | Path,
        trainer: TrainerFn | None = None,
        limits: Limits | None = None,
        workshop: WorkshopSettingsStore | None = None,
    ) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.limits = limits or Limits.from_env()
        self.workshop = workshop or WorkshopSettingsStore.in_data_dir()
        if trainer is None:
            from core.runs.launcher import default_trainer

            trainer = default_trainer()
        self._trainer = trainer
        self._runs: dict[str, Run] = {}
        self._queue: list[str] = []  # waiting runs in the order they came; ``_order_locked`` is the order they start
        self._pushed_back: dict[str, int] = {}  # run id -> when the instructor deprioritised it (a counter)
        self._last_started: dict[str | None, float] = {}  # owner -> when their latest run left the line
        self._left_line: dict[str, float] = {}  # run id -> when it last left the line (this process)
        self._trained_before: dict[str, float] = {}  # run id -> seconds it trained before it was resumed
        self._estimates: dict[str, float | None] = {}  # seconds each run should take, after the caps
        self._notices: dict[str, str] = {}  # run id -> what its owner was told at Start (steps capped)
        self._threads: dict[str, threading.Thread] = {}
        self._unsaved: set[str] = set()  # failed runs whose state.json a full disk refused; see _save_unsaved
        self._remote: set[str] = set()  # runs that train on Hugging Face Jobs
        self._limits: dict[str, float] = {}  # run id -> the longest it may train (workshop limits), in seconds
        self._limited: set[str] = set()  # runs their time limit stopped
        self._after_limit: dict[str, float] = {}  # run id -> its final evaluation and saving, from its estimate
        self._lock = threading.Lock()
        self.remote = RemoteFollower(self._active_remote_runs)
        self._recover()
        with self._lock:  # the line of before the restart (core/runs/line.py) goes on
            self._restore_line_locked()
            self._start_next_locked()

    def _recover(self) -> None:
        """List the runs on disk (after a restart); waiting ones wait again, running ones become interrupted."""
        from core.runs.launcher import stop_stale_worker

        for folder in run_folders(self.runs_dir):
            run = Run.load(folder)
            if run is None:
                continue
            if folder.read_remote() is not None:
                self._remote.add(run.run_id)  # the Job trains on without the app: follow it again
            elif run.phase in RUNNING_PHASES:
                stop_stale_worker(folder)  # a worker an earlier app left behind must not write on
                run.mark_interrupted()
            self._runs[run.run_id] = run
            if run.started_at:  # turns by person go on after a restart
                self._last_started[run.owner] = max(self._last_started.get(run.owner, 0.0), run.started_at)
        if self._active_remote_runs():
            self.remote.wake()

    # -- submitting -------------------------------------------------------------------------------
    def _check_limits(self, config: RunConfig, owner: str) -> None:
        limits = self.limits
        self._allowance_locked(owner).check()  # BudgetSpent: their training time is used up
        if limits.max_queued_per_owner:
            waiting = [r for r in self._runs.values() if r.owner == owner and r.phase in ACTIVE_PHASES]
            if len(waiting) >= limits.max_queued_per_owner:
                raise RunQueueFull(
                    f"You already have {len(waiting)} run(s) waiting or training; this Space allows "
                    f"{limits.max_queued_per_owner}. Cancel one or wait for it to finish."
                )

    def _check_rows(self, config: RunConfig) -> None:
        """``TooManyRows`` when the dataset trains more rows than ``SFT_COACH_MAX_ROWS`` allows (counted only then)."""
        from core.data.prepare import DataError, training_row_count

        most = self.limits.max_dataset_rows
        try:
            rows = training_row_count(config.dataset) if most else 0
        except (DataError, OSError):
            return  # data that can't be read fails the run itself, with the reader's own message
        if rows > most:
            raise TooManyRows(
                f"Your dataset has {rows:,} rows to train on; this Space trains at most {most:,} in one run. "
                f"In step 2, load a file with fewer rows (the first {most:,}, say) and press Use this dataset again."
            )

    def start(self, config: RunConfig, owner: str, estimate: dict | None = None) -> Run:
        """Queue a run for ``owner``; it starts at once when nothing else is training. Returns the run.

        ``estimate``: how long the page said it would take (core/run_time.py), kept to show beside what it took.
        Raises BudgetSpent, a SpaceLimit (RunQueueFull, TooManyRows) or ConfigError; ``start_notice`` says when
        steps were capped.
        """
        if not isinstance(require_owner(owner), str):
            raise ValueError("A run belongs to one person: pass their owner id, not EVERYONE.")
        config = self.checked_inputs(config, owner)
        self._check_rows(config)
        settings = self.settings()
        asked_steps = config.max_steps
        config, notice = cap_steps(config, settings)
        with self._lock:
            self._check_limits(config, owner)
            run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(12)  # 96 random bits: not guessable
            folder = RunFolder(self.runs_dir / run_id)
            folder.create(config.to_dict())
            if estimate:
                folder.write_estimate(estimate)
            run = Run(run_id=run_id, config=config, folder=folder, owner=owner)
            run.save_state()
            self._runs[run_id] = run
            self._estimates[run_id] = capped_estimate(estimate, asked_steps, config.max_steps, settings.max_minutes)
            if notice:
                self._notices[run_id] = notice
            self._queue.append(run_id)
            self._start_next_locked()
            self._save_line_locked()
            return run

    def checked_inputs(self, config: RunConfig, owner: str) -> RunConfig:
        """The config with its model and dataset checked against what ``owner`` may open (core/file_access.py).

        A run reads its model and data with the app's rights, so a typed path (another person's run or
        upload, the app's secret, any file on the server) is refused here, where every start passes.
        """
        from core.demo_data import DEMO_DATASETS
        from core.file_access import check_dataset_choice, check_model_choice
        from core.models.catalog import OFFLINE_COPY_ID, OFFLINE_MODEL_ID, TINY_MODEL_ID, honest_model_id
        from core.paths import data_dir

        own_runs = self.run_dirs(owner)
        root = data_dir()
        built_in = (OFFLINE_MODEL_ID, OFFLINE_COPY_ID, TINY_MODEL_ID)
        # SmolLM2 picked while the Hub can't be reached trains its offline copy: the run's config says so
        model_id = honest_model_id(check_model_choice(config.model_id, owner, root, own_runs, built_in))
        dataset = check_dataset_choice(config.dataset, owner, root, own_runs, DEMO_DATASETS)
        return replace(config, model_id=model_id, dataset=dataset)

    def warm(self, config: RunConfig, owner: str) -> bool:
        """Give the next run of ``config`` a head start (core/runs/warm.py) when nothing trains here; True if sent.

        Called when someone's settings change; checked as Start checks them, so a head start reads only what
        ``owner`` may open. A Job on Hugging Face takes no CPU here, so it doesn't hold the head start back.
        """
        warm = getattr(self._trainer, "warm", None)
        if warm is None or not isinstance(require_owner(owner), str):
            return False
        config = self.checked_inputs(config, owner)
        with self._lock:
            if any(r.phase in ACTIVE_PHASES and r.run_id not in self._remote for r in self._runs.values()):
                return False
        return bool(warm(config.to_dict()))

    def resume(self, run_id: str, owner: object) -> Run:
        """Continue a stopped, failed or interrupted run from its last complete checkpoint."""
        self._wait_for_trainer(run_id)
        with self._lock:
            run = self._owned_locked(run_id, owner)
            if run_id in self._remote:
                raise ConfigError(f"Run {run_id} trained on Hugging Face Jobs: submit the recipe again to redo it.")
            if run.phase not in RESUMABLE_PHASES:
                raise ConfigError(f"Run {run_id} is {run.phase}; only stopped, failed or interrupted runs resume.")
            trained = self._trained_locked(run)  # its time so far; the pause before Resume is not training
            run.rewind_to_checkpoint()
            self._trained_before[run_id] = trained
            self._left_line.pop(run_id, None)
            self._queue.append(run_id)
            self._start_next_locked()
            self._save_line_locked()
            return run

    def _wait_for_trainer(self, run_id: str, timeout: float = 30.0) -> None:
        """Let the thread that trained ``run_id`` finish recording its end, so one run never has two trainers."""
        thread = self._threads.get(run_id)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _start_next_locked(self) -> None:
        while self._queue and not any(
            r.phase in RUNNING_PHASES for r in self._runs.values() if r.run_id not in self._remote
        ):
            run = self._runs[self._order_locked()[0]]
            self._queue.remove(run.run_id)
            self._pushed_back.pop(run.run_id, None)
            allowance = self._allowance_locked(run.owner)
            try:
                allowance.check()  # the budget may have run out while this run waited
            except BudgetSpent as spent:
                run.set_phase("cancelled", f"Cancelled before it started. {spent}")
                continue
            self._last_started[run.owner] = self._left_line[run.run_id] = time.time()
            run.set_phase("preparing", "Preparing the model and data...")
            limit = allowance.run_seconds_limit()
            by_budget = limit is not None and limit == allowance.left_seconds
            timer = TimeLimit(run, limit, by_budget).start() if limit is not None else None
            if limit is not None:
                self._limits[run.run_id] = limit
            thread = threading.Thread(target=self._train, args=(run, timer), name=f"sft-run-{run.run_id}", daemon=True)
            self._threads[run.run_id] = thread
            thread.start()

    def _train(self, run: Run, timer: TimeLimit | None = None) -> None:
        error: BaseException | None = None
        try:
            self._trainer(run)
        except BaseException as err:  # noqa: BLE001 - a failed run must never take the app down
            error = err
        if timer is not None:
            timer.cancel()
            if timer.fired:
                with self._lock:
                    self._limited.add(run.run_id)  # it ran its course: its time says how fast runs go today
        try:
            run.conclude(error)
            if timer is not None:
                timer.explain()
        except OSError:
            # The disk is still full. The run has ended in memory (set_phase changes the phase before it
            # writes), so the page says so; state.json is written once there is room again.
            with self._lock:
                self._unsaved.add(run.run_id)
        finally:
            with self._lock:
                self._start_next_locked()
                self._save_line_locked()

    def _save_unsaved(self) -> None:
        """Write the state.json of runs that ended while the disk was full, once it has room.

        Called on every read the page makes while it polls; without it a restart would find the run's last
        state on disk still active and list the run as interrupted instead of failed.
        """
        if not self._unsaved:
            return
        with self._lock:
            for run_id in list(self._unsaved):
                run = self._runs.get(run_id)
                try:
                    if run is not None:
                        run.save_state()
                except OSError:
                    return  # still full: the next read tries again
                self._unsaved.discard(run_id)

    # -- reading ----------------------------------------------------------------------------------
    def _owned_locked(self, run_id: str, owner: object) -> Run:
        """The run if ``owner`` may touch it (core/owners.py ``owns``); one KeyError for "unknown" and "not yours"."""
        run = self._runs.get(run_id) if isinstance(run_id, str) else None
        if run is None or not owns(owner, run.owner):
            raise KeyError(f"There is no run with id {run_id!r} that belongs to you.")
        return run

    def get(self, run_id: str, owner: object) -> Run | None:
        """The run if it belongs to ``owner`` (``EVERYONE`` for the admin), else None."""
        require_owner(owner)
        with self._lock:
            try:
                return self._owned_locked(run_id, owner)
            except KeyError:
                return None

    def snapshot(self, run_id: str, owner: object) -> RunSnapshot | None:
        self._save_unsaved()
        run = self.get(run_id, owner)
        return run.snapshot(self.queue_position(run_id)) if run else None

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queue)

    def training_run(self) -> Run | None:
        with self._lock:
            local = (r for r in self._runs.values() if r.phase in RUNNING_PHASES and r.run_id not in self._remote)
            return next(local, None)

    def runs(self, owner: object) -> list[Run]:
        """One owner's runs (``EVERYONE``: every run, ownerless ones too), newest first."""
        require_owner(owner)
        self._save_unsaved()
        with self._lock:
            chosen = [r for r in self._runs.values() if owns(owner, r.owner)]
        return sorted(chosen, key=lambda r: r.created_at, reverse=True)

    def summaries(self, owner: object) -> list[RunSummary]:
        """What a run list shows of one owner's runs, newest first: no metrics are copied."""
        chosen = self.runs(owner)
        with self._lock:
            places = {run_id: place for place, run_id in enumerate(self._order_locked(), start=1)}
        return [run.summarize(places.get(run.run_id)) for run in chosen]

    def run_dirs(self, owner: str) -> list[Path]:
        """The folders of one owner's runs: what core/file_access.py lets them open besides their uploads."""
        return [run.run_dir for run in self.runs(owner=owner)]

    def forget(self, run_id: str) -> Run | None:
        """Drop an ended run from the list (its folder is about to be removed); None when it is active or unknown."""
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.phase in ACTIVE_PHASES or run_id in self._queue:
                return None
            self._remote.discard(run_id)
            return self._runs.pop(run_id)

    # -- controlling ------------------------------------------------------------------------------
    def stop(self, run_id: str, owner: object) -> bool:
        """Stop ``owner``'s training run at the next step end (it saves what it trained), or cancel a waiting one."""
        require_owner(owner)
        with self._lock:
            try:
                run = self._owned_locked(run_id, owner)
            except KeyError:
                return False
            if run_id in self._queue:
                self._queue.remove(run_id)
                run.set_phase("cancelled", "Cancelled before it started.")
                self._save_line_locked()
                return True
            if run_id in self._remote:
                if run.phase not in ACTIVE_PHASES:
                    return False
            elif run.phase not in RUNNING_PHASES:
                return False
        if run_id in self._remote:
            problem = self.remote.cancel(run)
            if problem:
                raise ConfigError(problem)
            return True
        run.request_stop()
        return True

    def wait(self, run_id: str, timeout: float | None = None) -> RunSnapshot:
        """Block until the run has ended (for tests and scripts); returns the final snapshot."""
        deadline = None if timeout is None else time.time() + timeout
        while True:
            with self._lock:
                run = self._runs.get(run_id)
            if run is None:
                raise KeyError(f"No run with id {run_id}.")
            thread = self._threads.get(run_id)
            if run.phase not in ACTIVE_PHASES and (thread is None or not thread.is_alive()):
                return run.snapshot()
            if deadline is not None and time.time() > deadline:
                return run.snapshot()
            if thread is not None and thread.is_alive():
                thread.join(0.1)
            else:
                time.sleep(0.05)
