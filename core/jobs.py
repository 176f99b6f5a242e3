"""The training job manager: one per process, one training at a time, in a background thread.

The UI never holds a job. It asks the manager for a ``JobSnapshot`` (a plain
copy taken under the job's lock) on each timer tick, so a closed tab neither
stops nor loses a run (STYLE.md, "Data flows one way"). Everything a job
records also goes to its run folder:

    runs/<run id>/config.json    the RunConfig
    runs/<run id>/state.json     phase, message, error, step counts, result paths
    runs/<run id>/metrics.jsonl  one line per logged step (loss, learning_rate, ...)
    runs/<run id>/samples.jsonl  one line per probe generation round
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.config import RunConfig

PHASES = ("queued", "preparing", "training", "stopping", "finished", "failed", "stopped")
ACTIVE_PHASES = ("queued", "preparing", "training", "stopping")
# Metrics TRL logs during training (sft-facts §4); anything else in a log line is kept too.
METRIC_KEYS = ("loss", "learning_rate", "grad_norm", "mean_token_accuracy", "entropy", "num_tokens", "epoch")


class JobBusyError(RuntimeError):
    """Another training run is still active."""


class StopTraining(Exception):
    """Raised inside a trainer function that honours a stop request before training began."""


@dataclass
class JobSnapshot:
    """A consistent copy of a job's state, safe to read without locks."""

    job_id: str
    phase: str
    message: str
    error: str | None
    error_detail: str | None
    config: dict[str, Any]
    run_dir: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    step: int
    total_steps: int
    metrics: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    probes: list[dict[str, str]]
    result_dir: str | None
    load_check: str | None

    @property
    def is_active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


def _write_json(path: Path, payload: dict) -> None:
    """Write atomically, so a crash never leaves a half-written state file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(path)


@dataclass
class Job:
    """One training run. Trainer code records progress through its methods; all writes take the lock."""

    job_id: str
    config: RunConfig
    run_dir: Path
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
    samples: list[dict[str, Any]] = field(default_factory=list)
    probes: list[dict[str, str]] = field(default_factory=list)
    result_dir: str | None = None
    load_check: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- written by the training thread -------------------------------------------------------
    def set_phase(self, phase: str, message: str | None = None) -> None:
        if phase not in PHASES:
            raise ValueError(f"Unknown job phase {phase!r}; expected one of {PHASES}.")
        with self.lock:
            self.phase = phase
            if message is not None:
                self.message = message
            if phase == "training" and self.started_at is None:
                self.started_at = time.time()
            if phase in ("finished", "failed", "stopped"):
                self.finished_at = time.time()
            self._save_state()

    def set_message(self, message: str) -> None:
        with self.lock:
            self.message = message

    def set_total_steps(self, total: int) -> None:
        with self.lock:
            self.total_steps = int(total)

    def set_step(self, step: int) -> None:
        with self.lock:
            self.step = int(step)

    def record_metrics(self, step: int, logs: dict[str, Any]) -> dict[str, Any]:
        """Store one logged step (and append it to metrics.jsonl); adds wall time and tokens/s."""
        now = time.time()
        entry: dict[str, Any] = {"step": int(step), "time": now}
        entry.update({k: v for k, v in logs.items() if isinstance(v, int | float)})
        with self.lock:
            previous = self.metrics[-1] if self.metrics else None
            if previous and "num_tokens" in entry and "num_tokens" in previous and now > previous["time"]:
                entry["tokens_per_second"] = (entry["num_tokens"] - previous["num_tokens"]) / (now - previous["time"])
            self.metrics.append(entry)
            self.step = max(self.step, int(step))
            with (self.run_dir / "metrics.jsonl").open("a") as handle:
                handle.write(json.dumps(entry) + "\n")
        return entry

    def set_probes(self, probes: list[dict[str, str]]) -> None:
        """The held-out prompts followed during training: [{"prompt": text, "reference": expected answer}]."""
        with self.lock:
            self.probes = [dict(p) for p in probes]
            _write_json(self.run_dir / "probes.json", {"probes": self.probes})

    def record_samples(self, step: int, prompts: list[str], answers: list[str], seconds: float) -> None:
        entry = {"step": int(step), "prompts": prompts, "answers": answers, "seconds": round(seconds, 3)}
        with self.lock:
            self.samples.append(entry)
            with (self.run_dir / "samples.jsonl").open("a") as handle:
                handle.write(json.dumps(entry) + "\n")

    def set_result(self, result_dir: str, load_check: str | None) -> None:
        with self.lock:
            self.result_dir = result_dir
            self.load_check = load_check
            self._save_state()

    @property
    def stop_requested(self) -> bool:
        return self.stop_event.is_set()

    # -- read by everyone else ---------------------------------------------------------------
    def snapshot(self) -> JobSnapshot:
        with self.lock:
            return JobSnapshot(
                job_id=self.job_id,
                phase=self.phase,
                message=self.message,
                error=self.error,
                error_detail=self.error_detail,
                config=self.config.to_dict(),
                run_dir=str(self.run_dir),
                created_at=self.created_at,
                started_at=self.started_at,
                finished_at=self.finished_at,
                step=self.step,
                total_steps=self.total_steps,
                metrics=list(self.metrics),
                samples=list(self.samples),
                probes=list(self.probes),
                result_dir=self.result_dir,
                load_check=self.load_check,
            )

    def _save_state(self) -> None:
        state = {
            "job_id": self.job_id,
            "phase": self.phase,
            "message": self.message,
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "step": self.step,
            "total_steps": self.total_steps,
            "result_dir": self.result_dir,
            "load_check": self.load_check,
        }
        _write_json(self.run_dir / "state.json", state)


TrainerFn = Callable[[Job], None]


def _default_trainer(job: Job) -> None:
    from core.training import run_training

    run_training(job)


def describe_exception(err: BaseException) -> str:
    """A beginner-readable sentence for an exception raised inside training."""
    text = str(err).strip() or type(err).__name__
    if isinstance(err, MemoryError) or "out of memory" in text.lower():
        return (
            "Training ran out of memory. Try a smaller batch size with more gradient accumulation, "
            f"a shorter max length, or LoRA instead of a full fine-tune. ({text[:300]})"
        )
    return f"{type(err).__name__}: {text[:500]}"


class JobManager:
    """Owns every training job of this process. Create one in ``app.py`` and pass it in."""

    def __init__(self, runs_dir: str | Path, trainer: TrainerFn | None = None) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self._trainer = trainer or _default_trainer
        self._jobs: dict[str, Job] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, config: RunConfig) -> Job:
        """Start a run in a background thread; raises JobBusyError while another run is active."""
        with self._lock:
            active = self._active_locked()
            if active is not None:
                raise JobBusyError(
                    f"Run {active.job_id} is still {active.phase}. Only one training runs at a time: "
                    "wait for it to finish or stop it first."
                )
            job_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(4)
            run_dir = self.runs_dir / job_id
            run_dir.mkdir(parents=True)
            _write_json(run_dir / "config.json", config.to_dict())
            job = Job(job_id=job_id, config=config, run_dir=run_dir)
            job._save_state()
            self._jobs[job_id] = job
            thread = threading.Thread(target=self._run, args=(job,), name=f"sft-job-{job_id}", daemon=True)
            self._threads[job_id] = thread
            thread.start()
            return job

    def _run(self, job: Job) -> None:
        try:
            job.set_phase("preparing", "Preparing the model and data...")
            self._trainer(job)
            if job.phase not in ("finished", "failed", "stopped"):
                job.set_phase("stopped" if job.stop_requested else "finished", job.message)
        except StopTraining:
            job.set_phase("stopped", "Stopped before training began.")
        except BaseException as err:  # noqa: BLE001 - a failed run must never take the app down
            with job.lock:
                job.error = describe_exception(err)
                job.error_detail = traceback.format_exc()
            job.set_phase("failed", "Training failed: " + job.error)

    def _active_locked(self) -> Job | None:
        for job in self._jobs.values():
            if job.phase in ACTIVE_PHASES:
                return job
        return None

    def active_job(self) -> Job | None:
        with self._lock:
            return self._active_locked()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """All jobs of this process, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at, reverse=True)

    def stop(self, job_id: str) -> bool:
        """Ask a run to stop at the next step end (it saves what it trained). False if it isn't active."""
        job = self.get(job_id)
        if job is None or job.phase not in ACTIVE_PHASES:
            return False
        job.stop_event.set()
        with job.lock:
            if job.phase == "training":
                job.phase = "stopping"
                job.message = "Stopping after the current step; what was trained will be saved."
                job._save_state()
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job's thread ends (for tests and scripts); returns the final snapshot."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
        job = self.get(job_id)
        if job is None:
            raise KeyError(f"No run with id {job_id}.")
        return job.snapshot()


def snapshot_as_dict(snapshot: JobSnapshot) -> dict[str, Any]:
    return asdict(snapshot)
