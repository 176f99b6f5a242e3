"""The record of one training run: its phases, what it logged, its snapshots, and how it ended.

A ``Run`` lives in the app (held by ``core/runs/manager.py``), in the worker that trains it
(``core/runs/worker.py``) and on disk (``core/runs/store.py``). One of them writes the folder at a time
(``Run.writes``): the app before and after training, the process that trains while it trains; the app
mirrors the writer meanwhile (``Run.adopt``). ``Run.load`` is the one path from disk, ``Run.conclude`` the
one place that decides how a run ended, ``Run.request_stop`` where Stop enters. The UI reads a
``RunSnapshot`` (a copy taken under the lock) per timer tick; run lists read a ``RunSummary`` (no metrics).
"""

from __future__ import annotations

import copy
import threading
import time
import traceback
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.config import ConfigError, RunConfig
from core.runs.failures import StopTraining, WorkerExited, describe_exception
from core.runs.store import RunFolder

PHASES = ("queued", "preparing", "training", "stopping", "finished", "failed", "stopped", "interrupted", "cancelled")
ACTIVE_PHASES = ("queued", "preparing", "training", "stopping")
RUNNING_PHASES = ("preparing", "training", "stopping")
RESUMABLE_PHASES = ("stopped", "failed", "interrupted")
ENDED_PHASES = tuple(p for p in PHASES if p not in ACTIVE_PHASES)
STOPPING_MESSAGE = "Stopping now; what was trained up to the last complete step will be saved."
STOP_SEEN = "Stop pressed: "  # how the trainer's messages start once it has seen Stop (they say what it waits for)


def _numbers(logs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in logs.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _memory_gb() -> float:
    """Memory the training uses now: CUDA allocated on a GPU, else this process's resident set."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.memory_allocated() / 2**30
    import psutil

    return psutil.Process().memory_info().rss / 2**30


@dataclass
class RunSnapshot:
    """A consistent copy of a run's state, safe to read without locks."""

    run_id: str
    phase: str
    message: str
    error: str | None
    error_detail: str | None
    config: dict[str, Any]
    run_dir: str
    owner: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    step: int
    total_steps: int
    metrics: list[dict[str, Any]]
    eval_metrics: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    probes: list[dict[str, str]]
    result_dir: str | None
    load_check: str | None
    best_checkpoint: str | None
    summary: dict[str, Any]
    queue_position: int | None = None
    activity_since: float | None = None
    """When what ``message`` says began (loading, samples, evaluation…): the page counts the seconds since."""

    @property
    def is_active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


@dataclass(frozen=True)
class RunSummary:
    """What a run list shows of a run: no metrics, no samples, so listing runs copies almost nothing."""

    run_id: str
    phase: str
    owner: str | None
    model_id: str
    dataset: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    step: int
    total_steps: int
    result_dir: str | None
    queue_position: int | None = None

    @property
    def is_active(self) -> bool:
        return self.phase in ACTIVE_PHASES


@dataclass
class Run:
    """One training run. The trainer records progress through its methods; every change takes the lock."""

    run_id: str
    config: RunConfig
    folder: RunFolder
    owner: str | None = None
    phase: str = "queued"
    message: str = "Waiting to start."
    error: str | None = None
    error_detail: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    step: int = 0
    total_steps: int = 0
    metrics: list[dict[str, Any]] = field(default_factory=list)
    eval_metrics: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    probes: list[dict[str, str]] = field(default_factory=list)
    result_dir: str | None = None
    load_check: str | None = None
    best_checkpoint: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    resume_from: str | None = None
    activity_since: float | None = None
    writes: bool = True
    """Whether this process is the run's one writer now (False: a mirror of a worker, or a worker's other rank)."""
    damaged_lines: int = 0
    """Lines of the metrics log that could not be read back (cut short by a crash), skipped on loading."""
    watch_stop_flag: bool = False
    """A one-process worker reads Stop from the folder's flag itself; with several ranks only StopSync does."""
    stop_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def run_dir(self) -> Path:
        return self.folder.path

    # -- written by the process that trains --------------------------------------------------------
    def set_phase(self, phase: str, message: str | None = None) -> None:
        if phase not in PHASES:
            raise ValueError(f"Unknown run phase {phase!r}; expected one of {PHASES}.")
        with self.lock:
            self.phase = phase
            if message is not None:
                self.message, self.activity_since = message, time.time()
            if phase == "training" and self.started_at is None:
                self.started_at = time.time()
            if phase not in ACTIVE_PHASES:
                self.finished_at = time.time()
            self._save_state()

    def set_message(self, message: str, *, progress: bool = False) -> None:
        """Say what the run is doing; ``progress``: the same activity, further on (its clock keeps running)."""
        with self.lock:
            self.message = message
            if not progress or self.activity_since is None:
                self.activity_since = time.time()
            self._save_state()

    def set_total_steps(self, total: int) -> None:
        with self.lock:
            self.total_steps = int(total)
            self._save_state()

    def set_step(self, step: int) -> None:
        with self.lock:
            changed = self.step != int(step)
            self.step = int(step)
            if changed:
                self._save_state()

    def record_metrics(self, step: int, logs: dict[str, Any]) -> dict[str, Any]:
        """Store one logged training step (and append it to the folder); adds wall time, tokens/s, memory."""
        now = time.time()
        entry: dict[str, Any] = {"step": int(step), "time": now, **_numbers(logs)}
        entry["memory_gb"] = round(_memory_gb(), 3)
        with self.lock:
            previous = self.metrics[-1] if self.metrics else None
            if previous and "num_tokens" in entry and "num_tokens" in previous and now > previous["time"]:
                entry["tokens_per_second"] = (entry["num_tokens"] - previous["num_tokens"]) / (now - previous["time"])
            self.metrics.append(entry)
            self.step = max(self.step, int(step))
            if self.writes:
                self.folder.append_row("metrics", entry)
        return entry

    def record_eval(self, step: int, logs: dict[str, Any]) -> None:
        entry = {"step": int(step), "time": time.time(), **_numbers(logs)}
        with self.lock:
            self.eval_metrics.append(entry)
            if self.writes:
                self.folder.append_row("evals", entry)

    def set_summary(self, logs: dict[str, Any]) -> None:
        """The trainer's end-of-training figures (train_runtime, train_loss, ...)."""
        with self.lock:
            self.summary = {k: v for k, v in logs.items() if isinstance(v, int | float)}
            self._save_state()

    def set_probes(self, probes: list[dict[str, str]]) -> None:
        """The held-out prompts followed during training: [{"prompt": text, "reference": expected answer}]."""
        with self.lock:
            self.probes = [dict(p) for p in probes]
            if self.writes:
                self.folder.write_probes(self.probes)

    def record_samples(self, step: int, prompts: list[str], answers: list[str], seconds: float, dtype="") -> None:
        row = {"step": int(step), "prompts": prompts, "answers": answers, "seconds": round(seconds, 3), "dtype": dtype}
        with self.lock:
            self.samples.append(row)
            if self.writes:
                self.folder.append_row("samples", row)

    def sampled_steps(self) -> set[int]:
        """Steps whose probe answers are already recorded (a resumed run does not redo them)."""
        with self.lock:
            return {int(entry["step"]) for entry in self.samples}

    def set_result(self, result_dir: str, load_check: str | None, best_checkpoint: str | None = None) -> None:
        with self.lock:
            self.result_dir = result_dir
            self.load_check = load_check
            self.best_checkpoint = best_checkpoint
            self._save_state()

    # -- Stop ---------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask the run to stop (within a second: core/runs/interrupt.py); the page shows *stopping* until it has."""
        self.stop_event.set()
        with self.lock:
            if self.phase == "training":
                self.phase, self.message = "stopping", STOPPING_MESSAGE
                self._save_state()

    @property
    def stop_requested(self) -> bool:
        if self.watch_stop_flag and not self.stop_event.is_set() and self.folder.stop_requested():
            self.stop_event.set()
        return self.stop_event.is_set()

    # -- the end ------------------------------------------------------------------------------------
    def conclude(self, error: BaseException | None = None) -> None:
        """Decide how the run ended and record it: the one place that sets a final phase after training.

        No error: *finished*, or *stopped* when Stop was pressed. ``StopTraining``: *stopped*, its message
        says why. ``WorkerExited`` or any other exception: *failed*, with a sentence a beginner can act on
        and the traceback (or the worker's log) as the detail. A run that already ended is left as it is.
        May raise OSError when the disk is full: the phase has changed in memory by then.
        """
        if error is None and self.phase not in ACTIVE_PHASES:
            return
        if isinstance(error, StopTraining):
            self.set_phase("stopped", str(error))
            return
        if error is not None:
            if isinstance(error, WorkerExited):
                text, detail = f"Training failed in the worker process: {error}", error.detail
            else:
                text, detail = describe_exception(error, self.run_dir), "".join(traceback.format_exception(error))
            with self.lock:
                self.error, self.error_detail = text, detail
            self.set_phase("failed", text if isinstance(error, WorkerExited) else "Training failed: " + text)
            return
        kind = "LoRA adapter" if self.config.uses_peft else "model"
        every_step_done = bool(self.total_steps) and self.step >= self.total_steps  # Stop came as the last step ended
        if self.stop_requested and not every_step_done:
            saved = f"; the {kind} trained so far is saved in {self.result_dir}" if self.result_dir else ""
            self.set_phase("stopped", f"Stopped at step {self.step}{saved}.")
        else:
            saved = f"; the {kind} is saved in {self.result_dir}" if self.result_dir else ""
            self.set_phase("finished", f"Finished {self.step} steps{saved}." if saved else self.message)

    # -- read by everyone else ------------------------------------------------------------------------
    def snapshot(self, queue_position: int | None = None) -> RunSnapshot:
        """Everything the Train step draws; lists are copied, so the copy never changes under the reader."""
        with self.lock:
            values = {f.name: copy.copy(getattr(self, f.name)) for f in fields(RunSnapshot) if hasattr(self, f.name)}
            return RunSnapshot(**{**values, "config": self.config.to_dict(), "run_dir": str(self.run_dir)},
                               queue_position=queue_position)  # fmt: skip

    def summarize(self, queue_position: int | None = None) -> RunSummary:
        with self.lock:
            values = {f.name: getattr(self, f.name) for f in fields(RunSummary) if hasattr(self, f.name)}
            return RunSummary(**{**values, "model_id": self.config.model_id, "dataset": self.config.dataset},
                              queue_position=queue_position)  # fmt: skip

    # -- on disk ------------------------------------------------------------------------------------
    _STATE_FIELDS = (
        "phase", "message", "error", "owner", "created_at", "started_at", "finished_at", "step",
        "total_steps", "result_dir", "load_check", "best_checkpoint", "resume_from", "summary", "activity_since",
    )  # fmt: skip
    # What a mirror takes from the writer's state.json (the owner, creation time and resume point are its own).
    _MIRRORED_FIELDS = ("phase", "message", "error", "started_at", "finished_at", "step", "total_steps",
                        "result_dir", "load_check", "best_checkpoint", "summary", "activity_since")  # fmt: skip

    def _save_state(self) -> None:
        """Write state.json (under the lock) when this process is the run's writer."""
        if self.writes:
            state = {name: getattr(self, name) for name in self._STATE_FIELDS}
            self.folder.write_state({"job_id": self.run_id, **state})  # "job_id": the key runs were saved with

    def save_state(self) -> None:
        with self.lock:
            self._save_state()

    def adopt(self, state: dict[str, Any] | None, rows: dict[str, list[dict[str, Any]]], probes: list | None) -> None:
        """Mirror what the writer wrote: its state and the rows it appended since the last call."""
        with self.lock:
            self.metrics.extend(rows.get("metrics", []))
            self.eval_metrics.extend(rows.get("evals", []))
            self.samples.extend(rows.get("samples", []))
            if probes:
                self.probes = probes
            for name in self._MIRRORED_FIELDS:
                if name in (state or {}):
                    setattr(self, name, state[name])
            if self.metrics:
                self.step = max(self.step, int(self.metrics[-1]["step"]))
            if self.stop_event.is_set() and self.phase == "training":
                self.phase = "stopping"  # the worker's phase; its message says what it waits for once it has seen Stop
                self.message = self.message if self.message.startswith(STOP_SEEN) else STOPPING_MESSAGE

    @classmethod
    def load(cls, folder: RunFolder) -> Run | None:
        """The run as its folder holds it; None when the folder is not a readable run. The one path from disk."""
        state, values = folder.read_state(), folder.read_config()
        if state is None or values is None:
            return None
        try:
            config = RunConfig.from_dict(values)
        except (ConfigError, TypeError):
            return None
        run = cls(run_id=folder.run_id, config=config, folder=folder)
        for name in cls._STATE_FIELDS:
            if name in state:
                setattr(run, name, state[name])
        metrics = folder.read_rows("metrics")
        run.metrics = metrics.rows
        run.eval_metrics = folder.read_rows("evals").rows
        run.samples = folder.read_rows("samples").rows
        run.probes = folder.read_probes()
        run.damaged_lines = metrics.skipped
        run.message += run._damage_note()
        return run

    def _damage_note(self) -> str:
        lines = self.damaged_lines
        return f" ({lines} damaged line(s) in the metrics log were skipped.)" if lines else ""

    def mark_interrupted(self) -> None:
        """An active run found on disk by a new app: nothing trains it any more, but it can resume."""
        checkpoint = self.folder.last_complete_checkpoint()
        where = f"from its last checkpoint (step {checkpoint.step})" if checkpoint else "from the start"
        self.phase = "interrupted"
        self.message = f"The app stopped while this run was in progress. You can resume it {where}."
        self.message += self._damage_note()
        try:
            self.save_state()
        except OSError:
            pass  # a full disk must not keep the app from starting; the next start marks the run again

    def rewind_to_checkpoint(self) -> int:
        """Prepare a resume: drop what was logged after the last complete checkpoint; returns its step."""
        checkpoint = self.folder.last_complete_checkpoint()
        if checkpoint is None:
            raise ConfigError(
                f"Run {self.run_id} has no complete checkpoint to resume from. Start a new run with the same settings."
            )
        if self.total_steps and checkpoint.step >= self.total_steps:
            raise ConfigError(
                f"Run {self.run_id} already trained all its {self.total_steps} steps: nothing is left to resume. "
                "To train longer, start a new run with more steps."
            )
        with self.lock:
            kept = self.folder.keep_rows_up_to(checkpoint.step)
            self.metrics, self.eval_metrics, self.samples = kept["metrics"], kept["evals"], kept["samples"]
            self.step = checkpoint.step
            self.resume_from = str(checkpoint.path)
            self.error = self.error_detail = None
            self.finished_at = None
            self.stop_event = threading.Event()
            self.phase = "queued"
            self.message = f"Waiting to resume from step {checkpoint.step}."
            self._save_state()
        return checkpoint.step
