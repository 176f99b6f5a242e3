"""The training job manager: one per process, one training at a time, a fair queue behind it.

The UI never holds a job. It asks the manager for a ``JobSnapshot`` (a plain
copy taken under the job's lock) on each timer tick, so a closed tab neither
stops nor loses a run (STYLE.md, "Data flows one way"). Everything a job
records also goes to its run folder (see ``core/run_store.py``), and a new
manager over the same folder lists every past run after a restart; a run that
was active when the app stopped is marked *interrupted* and can be resumed
from its last complete checkpoint.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import ConfigError, RunConfig
from core.owners import owns, require_owner
from core.run_store import (
    append_jsonl,
    last_complete_checkpoint,
    read_json,
    read_jsonl,
    rewrite_jsonl,
    write_json,
)

PHASES = ("queued", "preparing", "training", "stopping", "finished", "failed", "stopped", "interrupted", "cancelled")
ACTIVE_PHASES = ("queued", "preparing", "training", "stopping")
RUNNING_PHASES = ("preparing", "training", "stopping")
RESUMABLE_PHASES = ("stopped", "failed", "interrupted")


class JobBusyError(RuntimeError):
    """A limit on queued runs was reached."""


class StopTraining(Exception):
    """Raised inside a trainer function that honours a stop request before training began."""


@dataclass(frozen=True)
class Limits:
    """Optional limits for a shared (workshop) Space, set by environment variables; 0 means no limit."""

    max_steps: int = 0  # SFT_COACH_MAX_STEPS
    max_queued_per_owner: int = 0  # SFT_COACH_MAX_QUEUED
    max_dataset_rows: int = 0  # SFT_COACH_MAX_ROWS

    @classmethod
    def from_env(cls) -> Limits:
        def number(name: str) -> int:
            value = os.environ.get(name, "").strip()
            return int(value) if value.isdigit() else 0

        return cls(number("SFT_COACH_MAX_STEPS"), number("SFT_COACH_MAX_QUEUED"), number("SFT_COACH_MAX_ROWS"))

    def describe(self) -> str:
        parts = []
        if self.max_steps:
            parts.append(f"at most {self.max_steps} steps per run")
        if self.max_queued_per_owner:
            parts.append(f"at most {self.max_queued_per_owner} waiting run(s) per person")
        if self.max_dataset_rows:
            parts.append(f"at most {self.max_dataset_rows:,} training rows")
        return "This Space allows " + ", ".join(parts) + "." if parts else ""


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

    @property
    def is_active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.time()) - self.started_at


def _memory_gb() -> float:
    """Memory the training uses now: CUDA allocated on a GPU, else this process's resident set."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.memory_allocated() / 2**30
    import psutil

    return psutil.Process().memory_info().rss / 2**30


@dataclass
class Job:
    """One training run. Trainer code records progress through its methods; all writes take the lock."""

    job_id: str
    config: RunConfig
    run_dir: Path
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
            if phase not in ACTIVE_PHASES:
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
        """Store one logged training step (and append it to metrics.jsonl); adds wall time, tokens/s, memory."""
        now = time.time()
        entry: dict[str, Any] = {"step": int(step), "time": now}
        entry.update({k: v for k, v in logs.items() if isinstance(v, int | float) and not isinstance(v, bool)})
        entry["memory_gb"] = round(_memory_gb(), 3)
        with self.lock:
            previous = self.metrics[-1] if self.metrics else None
            if previous and "num_tokens" in entry and "num_tokens" in previous and now > previous["time"]:
                entry["tokens_per_second"] = (entry["num_tokens"] - previous["num_tokens"]) / (now - previous["time"])
            self.metrics.append(entry)
            self.step = max(self.step, int(step))
            append_jsonl(self.run_dir / "metrics.jsonl", entry)
        return entry

    def record_eval(self, step: int, logs: dict[str, Any]) -> None:
        entry = {"step": int(step), "time": time.time()}
        entry.update({k: v for k, v in logs.items() if isinstance(v, int | float) and not isinstance(v, bool)})
        with self.lock:
            self.eval_metrics.append(entry)
            append_jsonl(self.run_dir / "eval.jsonl", entry)

    def set_summary(self, logs: dict[str, Any]) -> None:
        """The trainer's end-of-training figures (train_runtime, train_loss, ...)."""
        with self.lock:
            self.summary = {k: v for k, v in logs.items() if isinstance(v, int | float)}
            self._save_state()

    def set_probes(self, probes: list[dict[str, str]]) -> None:
        """The held-out prompts followed during training: [{"prompt": text, "reference": expected answer}]."""
        with self.lock:
            self.probes = [dict(p) for p in probes]
            write_json(self.run_dir / "probes.json", {"probes": self.probes})

    def record_samples(self, step: int, prompts: list[str], answers: list[str], seconds: float) -> None:
        entry = {"step": int(step), "prompts": prompts, "answers": answers, "seconds": round(seconds, 3)}
        with self.lock:
            self.samples.append(entry)
            append_jsonl(self.run_dir / "samples.jsonl", entry)

    def set_result(self, result_dir: str, load_check: str | None, best_checkpoint: str | None = None) -> None:
        with self.lock:
            self.result_dir = result_dir
            self.load_check = load_check
            self.best_checkpoint = best_checkpoint
            self._save_state()

    @property
    def stop_requested(self) -> bool:
        return self.stop_event.is_set()

    # -- read by everyone else ---------------------------------------------------------------
    def snapshot(self, queue_position: int | None = None) -> JobSnapshot:
        with self.lock:
            return JobSnapshot(
                job_id=self.job_id,
                phase=self.phase,
                message=self.message,
                error=self.error,
                error_detail=self.error_detail,
                config=self.config.to_dict(),
                run_dir=str(self.run_dir),
                owner=self.owner,
                created_at=self.created_at,
                started_at=self.started_at,
                finished_at=self.finished_at,
                step=self.step,
                total_steps=self.total_steps,
                metrics=list(self.metrics),
                eval_metrics=list(self.eval_metrics),
                samples=list(self.samples),
                probes=list(self.probes),
                result_dir=self.result_dir,
                load_check=self.load_check,
                best_checkpoint=self.best_checkpoint,
                summary=dict(self.summary),
                queue_position=queue_position,
            )

    _STATE_FIELDS = (
        "job_id", "phase", "message", "error", "owner", "created_at", "started_at", "finished_at", "step",
        "total_steps", "result_dir", "load_check", "best_checkpoint", "resume_from", "summary",
    )  # fmt: skip

    def _save_state(self) -> None:
        write_json(self.run_dir / "state.json", {name: getattr(self, name) for name in self._STATE_FIELDS})

    @classmethod
    def from_disk(cls, run_dir: Path) -> Job | None:
        """Rebuild a job from its folder; None when the folder is not a run. Active runs come back interrupted."""
        state = read_json(run_dir / "state.json")
        config_values = read_json(run_dir / "config.json")
        if state is None or config_values is None:
            return None
        try:
            config = RunConfig.from_dict(config_values)
        except (ConfigError, TypeError):
            return None
        if state.get("phase") in ACTIVE_PHASES:
            from core.launch import stop_stale_worker

            stop_stale_worker(run_dir)  # a worker an earlier app left behind must not write on
        job = cls(job_id=run_dir.name, config=config, run_dir=run_dir)
        for name in cls._STATE_FIELDS[1:]:
            if name in state:
                setattr(job, name, state[name])
        metrics = read_jsonl(run_dir / "metrics.jsonl")
        job.metrics = metrics.rows
        job.eval_metrics = read_jsonl(run_dir / "eval.jsonl").rows
        job.samples = read_jsonl(run_dir / "samples.jsonl").rows
        job.probes = (read_json(run_dir / "probes.json") or {}).get("probes", [])
        if job.phase in ACTIVE_PHASES:
            checkpoint = last_complete_checkpoint(run_dir)
            where = f"from its last checkpoint (step {checkpoint.step})" if checkpoint else "from the start"
            job.phase = "interrupted"
            job.message = f"The app stopped while this run was in progress. You can resume it {where}."
            try:
                job._save_state()
            except OSError:
                pass  # a full disk must not keep the app from starting; the next start marks the run again
        if metrics.skipped:
            job.message += f" ({metrics.skipped} damaged line(s) in metrics.jsonl were skipped.)"
        return job


TrainerFn = Callable[[Job], None]


def _default_trainer(job: Job) -> None:
    """Train in a worker process (one per GPU on several GPUs), or in this thread if so configured (core/launch.py)."""
    from core.launch import SubprocessTrainer, count_cuda_gpus, plan_launch

    plan = plan_launch(count_cuda_gpus())
    if plan.uses_subprocess:
        SubprocessTrainer(plan)(job)
        return
    from core.training import run_training

    run_training(job)


def is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or "out of memory" in str(err).lower()


# How a full disk shows up: OSError errno 28 from Python, its text from the Rust writer of safetensors
# ("StorageFull" / "No space left on device") and torch.save's C++ writer, which loses the errno
# ("PytorchStreamWriter failed writing file ...: file write failed").
_DISK_FULL_TEXTS = ("no space left on device", "storagefull", "disk quota exceeded", "file write failed")


def _exception_chain(err: BaseException) -> list[BaseException]:
    """The exception and the ones it was raised from or while handling (a wrapper often hides the OSError)."""
    chain: list[BaseException] = []
    while err is not None and err not in chain and len(chain) < 10:
        chain.append(err)
        err = err.__cause__ or err.__context__
    return chain


def is_disk_full(err: BaseException) -> bool:
    """True when the exception (or one it was raised from) says the disk or the user's quota is full."""
    import errno

    for link in _exception_chain(err):
        if isinstance(link, OSError) and link.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(text in str(link).lower() for text in _DISK_FULL_TEXTS):
            return True
    return False


def describe_exception(err: BaseException, run_dir: str | Path | None = None) -> str:
    """A beginner-readable sentence for an exception raised inside training (``run_dir``: the run's folder)."""
    text = str(err).strip() or type(err).__name__
    if is_out_of_memory(err):
        return (
            "Training ran out of memory. Try a smaller batch size with more gradient accumulation, "
            f"a shorter max length, or LoRA instead of a full fine-tune. ({text[:300]})"
        )
    if is_disk_full(err):
        filename = next((link.filename for link in _exception_chain(err) if getattr(link, "filename", None)), None)
        where = str(run_dir or (Path(filename).parent if filename else "the app's data folder (SFT_COACH_DATA)"))
        return (
            f"The disk is full: saving to {where} failed. Free some space on that disk (old runs' checkpoints "
            "folders are the largest files), or keep fewer checkpoints (save_total_limit, or a larger "
            "save_steps), then resume: the run continues from its last complete checkpoint. "
            f"({text[:200]})"
        )
    from core.data.errors import DataError
    from core.models import ModelUnavailableError

    if isinstance(err, ConfigError | DataError | ModelUnavailableError):
        return text[:800]  # already a sentence for a beginner: no exception class name in front
    return f"{type(err).__name__}: {text[:500]}"


class JobManager:
    """Owns every training job of this process. Create one in ``app.py`` and pass it in."""

    def __init__(self, runs_dir: str | Path, trainer: TrainerFn | None = None, limits: Limits | None = None) -> None:
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.limits = limits or Limits.from_env()
        self._trainer = trainer or _default_trainer
        self._jobs: dict[str, Job] = {}
        self._queue: list[str] = []
        self._threads: dict[str, threading.Thread] = {}
        self._unsaved: set[str] = set()  # failed runs whose state.json a full disk refused; see _save_unsaved
        self._lock = threading.Lock()
        self._recover()

    def _recover(self) -> None:
        """List the runs already on disk (after a restart); active ones become interrupted."""
        for folder in sorted(self.runs_dir.iterdir()):
            if folder.is_dir():
                job = Job.from_disk(folder)
                if job is not None:
                    self._jobs[job.job_id] = job

    # -- submitting -------------------------------------------------------------------------------
    def _check_limits(self, config: RunConfig, owner: str | None) -> None:
        limits = self.limits
        if limits.max_steps and (config.max_steps == -1 or config.max_steps > limits.max_steps):
            raise ConfigError(
                f"Setting 'max_steps' = {config.max_steps} is over this Space's limit of {limits.max_steps} "
                "steps per run (set by the organiser). Use fewer steps."
            )
        if limits.max_queued_per_owner:
            waiting = [j for j in self._jobs.values() if j.owner == owner and j.phase in ACTIVE_PHASES]
            if len(waiting) >= limits.max_queued_per_owner:
                raise JobBusyError(
                    f"You already have {len(waiting)} run(s) waiting or training; this Space allows "
                    f"{limits.max_queued_per_owner}. Cancel one or wait for it to finish."
                )

    def start(self, config: RunConfig, owner: str) -> Job:
        """Queue a run for ``owner``; it starts at once when nothing else is training. Returns the job."""
        if not isinstance(require_owner(owner), str):
            raise ValueError("A run belongs to one person: pass their owner id, not EVERYONE.")
        config = self._checked_inputs(config, owner)
        with self._lock:
            self._check_limits(config, owner)
            job_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(12)  # 96 random bits: not guessable
            run_dir = self.runs_dir / job_id
            run_dir.mkdir(parents=True)
            write_json(run_dir / "config.json", config.to_dict())
            job = Job(job_id=job_id, config=config, run_dir=run_dir, owner=owner)
            job._save_state()
            self._jobs[job_id] = job
            self._queue.append(job_id)
            self._start_next_locked()
            return job

    def _checked_inputs(self, config: RunConfig, owner: str) -> RunConfig:
        """The config with its model and dataset checked against what ``owner`` may open (core/file_access.py).

        A run reads its model and data with the app's rights, so a typed path (another person's run or
        upload, the app's secret, any file on the server) is refused here, where every start passes.
        """
        from dataclasses import replace

        from core.demo_data import DEMO_DATASETS
        from core.file_access import check_dataset_choice, check_model_choice
        from core.models import OFFLINE_MODEL_ID, TINY_MODEL_ID
        from core.paths import data_dir

        own_runs = self.run_dirs(owner)
        root = data_dir()
        model_id = check_model_choice(config.model_id, owner, root, own_runs, (OFFLINE_MODEL_ID, TINY_MODEL_ID))
        dataset = check_dataset_choice(config.dataset, owner, root, own_runs, DEMO_DATASETS)
        return replace(config, model_id=model_id, dataset=dataset)

    def resume(self, job_id: str, owner: object) -> Job:
        """Continue a stopped, failed or interrupted run from its last complete checkpoint."""
        with self._lock:
            job = self._owned_locked(job_id, owner)
            if job.phase not in RESUMABLE_PHASES:
                raise ConfigError(f"Run {job_id} is {job.phase}; only stopped, failed or interrupted runs resume.")
            checkpoint = last_complete_checkpoint(job.run_dir)
            if checkpoint is None:
                raise ConfigError(
                    f"Run {job_id} has no complete checkpoint to resume from. Start a new run with the same settings."
                )
            with job.lock:
                job.metrics = [m for m in job.metrics if m["step"] <= checkpoint.step]
                job.eval_metrics = [m for m in job.eval_metrics if m["step"] <= checkpoint.step]
                job.samples = [s for s in job.samples if s["step"] <= checkpoint.step]
                rewrite_jsonl(job.run_dir / "metrics.jsonl", job.metrics)
                rewrite_jsonl(job.run_dir / "eval.jsonl", job.eval_metrics)
                rewrite_jsonl(job.run_dir / "samples.jsonl", job.samples)
                job.step = checkpoint.step
                job.resume_from = str(checkpoint.path)
                job.error = job.error_detail = None
                job.finished_at = None
                job.stop_event = threading.Event()
                job.phase = "queued"
                job.message = f"Waiting to resume from step {checkpoint.step}."
                job._save_state()
            self._queue.append(job_id)
            self._start_next_locked()
            return job

    def _start_next_locked(self) -> None:
        if any(j.phase in RUNNING_PHASES for j in self._jobs.values()) or not self._queue:
            return
        job = self._jobs[self._queue.pop(0)]
        job.set_phase("preparing", "Preparing the model and data...")
        thread = threading.Thread(target=self._run, args=(job,), name=f"sft-job-{job.job_id}", daemon=True)
        self._threads[job.job_id] = thread
        thread.start()

    def _run(self, job: Job) -> None:
        try:
            self._trainer(job)
            if job.phase in ACTIVE_PHASES:
                job.set_phase("stopped" if job.stop_requested else "finished", job.message)
        except StopTraining:
            job.set_phase("stopped", "Stopped before training began.")
        except BaseException as err:  # noqa: BLE001 - a failed run must never take the app down
            with job.lock:
                job.error = describe_exception(err, job.run_dir)
                job.error_detail = traceback.format_exc()
            try:
                job.set_phase("failed", "Training failed: " + job.error)
            except OSError:
                # The disk is still full. The run is failed in memory (set_phase changes the phase before it
                # writes), so the page says so; state.json is written once there is room again.
                with self._lock:
                    self._unsaved.add(job.job_id)
        finally:
            with self._lock:
                self._start_next_locked()

    def _save_unsaved(self) -> None:
        """Write the state.json of runs that failed while the disk was full, once it has room.

        Called on every read the page makes while it polls; without it a restart would find the run's last
        state on disk still active and list the run as interrupted instead of failed.
        """
        if not self._unsaved:
            return
        with self._lock:
            for job_id in list(self._unsaved):
                job = self._jobs.get(job_id)
                try:
                    if job is not None:
                        with job.lock:
                            job._save_state()
                except OSError:
                    return  # still full: the next read tries again
                self._unsaved.discard(job_id)

    # -- reading ----------------------------------------------------------------------------------
    def _owned_locked(self, job_id: str, owner: object) -> Job:
        """The job if ``owner`` may touch it (core/owners.py ``owns``); one KeyError for "unknown" and "not yours"."""
        job = self._jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None or not owns(owner, job.owner):
            raise KeyError(f"There is no run with id {job_id!r} that belongs to you.")
        return job

    def get(self, job_id: str, owner: object) -> Job | None:
        """The run if it belongs to ``owner`` (``EVERYONE`` for the admin), else None."""
        require_owner(owner)
        with self._lock:
            try:
                return self._owned_locked(job_id, owner)
            except KeyError:
                return None

    def snapshot(self, job_id: str, owner: object) -> JobSnapshot | None:
        self._save_unsaved()
        job = self.get(job_id, owner)
        return job.snapshot(self.queue_position(job_id)) if job else None

    def queue_position(self, job_id: str) -> int | None:
        """1-based place in the waiting line, or None when the run is not waiting."""
        with self._lock:
            return self._queue.index(job_id) + 1 if job_id in self._queue else None

    def queue_length(self) -> int:
        with self._lock:
            return len(self._queue)

    def running_job(self) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.phase in RUNNING_PHASES), None)

    def active_job(self) -> Job | None:
        """The training run if any, else the first waiting one."""
        with self._lock:
            running = next((j for j in self._jobs.values() if j.phase in RUNNING_PHASES), None)
            return running or (self._jobs[self._queue[0]] if self._queue else None)

    def jobs(self, owner: object) -> list[Job]:
        """One owner's runs (``EVERYONE``: every run, ownerless ones too), newest first."""
        require_owner(owner)
        self._save_unsaved()
        with self._lock:
            chosen = [j for j in self._jobs.values() if owns(owner, j.owner)]
        return sorted(chosen, key=lambda j: j.created_at, reverse=True)

    def run_dirs(self, owner: str) -> list[Path]:
        """The folders of one owner's runs: what core/file_access.py lets them open besides their uploads."""
        return [job.run_dir for job in self.jobs(owner=owner)]

    def forget(self, job_id: str) -> Job | None:
        """Drop an ended run from the list (its folder is about to be removed); None when it is active or unknown."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.phase in ACTIVE_PHASES or job_id in self._queue:
                return None
            return self._jobs.pop(job_id)

    # -- controlling ------------------------------------------------------------------------------
    def stop(self, job_id: str, owner: object) -> bool:
        """Stop ``owner``'s training run at the next step end (it saves what it trained), or cancel a waiting one."""
        require_owner(owner)
        with self._lock:
            job = self._jobs.get(job_id) if isinstance(job_id, str) else None
            if job is None or not owns(owner, job.owner):
                return False
            if job_id in self._queue:
                self._queue.remove(job_id)
                job.set_phase("cancelled", "Cancelled before it started.")
                return True
            if job.phase not in RUNNING_PHASES:
                return False
        job.stop_event.set()
        with job.lock:
            if job.phase == "training":
                job.phase = "stopping"
                job.message = "Stopping after the current step; what was trained will be saved."
                job._save_state()
        return True

    def wait(self, job_id: str, timeout: float | None = None) -> JobSnapshot:
        """Block until the job has ended (for tests and scripts); returns the final snapshot."""
        deadline = None if timeout is None else time.time() + timeout
        while True:
            with self._lock:
                job = self._jobs.get(job_id)
            if job is None:
                raise KeyError(f"No run with id {job_id}.")
            thread = self._threads.get(job_id)
            if job.phase not in ACTIVE_PHASES and (thread is None or not thread.is_alive()):
                return job.snapshot()
            if deadline is not None and time.time() > deadline:
                return job.snapshot()
            if thread is not None and thread.is_alive():
                thread.join(0.1)
            else:
                time.sleep(0.05)
