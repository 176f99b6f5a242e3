"""How a run is launched: in the job manager's thread on one device, or as an ``accelerate launch`` subprocess.

On a machine with several GPUs one thread trains on one GPU and leaves the
rest idle. There the job manager starts a worker process per GPU instead
(``accelerate launch --multi_gpu --num_processes N -m core.launch --run-dir
<run folder>``, data parallel) that trains with the same code,
``core.training.run_training``. The run folder is the only channel between the
two sides (its layout is in ``core/run_store.py``):

- the worker's main process writes ``state.json``, ``metrics.jsonl``,
  ``samples.jsonl`` ... exactly as the thread does; the other ranks write nothing;
- the parent follows those files into its in-memory ``Job``, so snapshots show
  the metrics live, as with a thread;
- Stop writes ``stop-requested`` into the folder; every rank agrees on it at the
  same step end (an all-reduce), so they leave the training loop together and
  save a checkpoint. A worker that has not ended ``stop_grace_seconds`` after
  Stop is terminated, as a last resort;
- the worker's stdout and stderr go to ``worker.log``; a failed run shows the
  worker's error sentence and the log's tail.

On one device (CPU, MPS or one GPU) the same worker runs with one process
(``python -m core.launch``). A thread in the app's process would share the
interpreter lock with the web server: with 20 people polling the page, training
in a thread ran 94% slower (bench/RESULTS.md). A worker also keeps a crash in
training (a segfault, the kernel's OOM killer) from taking the page down.
``SFT_COACH_TRAIN_IN=thread`` keeps the old in-process thread (tests that
inject faults in-process use it).

A worker outlives nothing: when the app that started it is gone, it saves a
checkpoint at the next step end and exits, leaving the run "training" on disk
so the next app lists it as interrupted and resumable. An app that restarts
sooner kills the old worker first (``stop_stale_worker``), so two processes
never write one run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.config import RunConfig
from core.jobs import ACTIVE_PHASES, Job, StopTraining, describe_exception
from core.run_store import read_json, read_jsonl

WORKER_MODULE = "core.launch"
STOP_FILE = "stop-requested"
WORKER_LOG = "worker.log"
WORKER_PID_FILE = "worker.pid"
APP_PID_ENV = "SFT_COACH_APP_PID"  # the worker watches this process and leaves when it is gone
TRAIN_IN_ENV = "SFT_COACH_TRAIN_IN"
ROOT = Path(__file__).resolve().parent.parent
# Followed files: (file name, Job attribute). Read incrementally, from the last complete line seen.
_FOLLOWED = (("metrics.jsonl", "metrics"), ("eval.jsonl", "eval_metrics"), ("samples.jsonl", "samples"))
_FOLLOWED_STATE = ("phase", "message", "error", "started_at", "step", "total_steps", "result_dir", "load_check",
                   "best_checkpoint", "summary")  # fmt: skip


@dataclass(frozen=True)
class LaunchPlan:
    """Where a run trains: ``"thread"`` (in this process) or ``"subprocess"`` (a worker, maybe one per GPU)."""

    mode: str
    num_processes: int = 1
    use_accelerate: bool = False
    reason: str = ""

    @property
    def uses_subprocess(self) -> bool:
        return self.mode == "subprocess"

    def command(self, run_dir: str | Path) -> list[str]:
        """The worker's command line for ``run_dir``."""
        worker = ["-m", WORKER_MODULE, "--run-dir", str(run_dir)]
        if not self.use_accelerate:
            return [sys.executable, *worker]
        # `python -m accelerate.commands.launch` is `accelerate launch` from this interpreter's environment.
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_machines", "1", "--dynamo_backend", "no"]
        if self.num_processes > 1:
            launch += ["--multi_gpu", "--num_processes", str(self.num_processes)]
        else:
            launch += ["--num_processes", "1", "--cpu"]
        return [*launch, *worker]


def plan_launch(gpu_count: int, train_in: str | None = None) -> LaunchPlan:
    """Several CUDA GPUs: one accelerate worker per GPU (data parallel). One device: one worker process,
    or the job manager's thread when ``train_in`` (default: ``SFT_COACH_TRAIN_IN``) is ``"thread"``."""
    if gpu_count > 1:
        return LaunchPlan(
            "subprocess",
            num_processes=gpu_count,
            use_accelerate=True,
            reason=f"{gpu_count} GPUs: one training process per GPU through accelerate (data parallel).",
        )
    train_in = (train_in or os.environ.get(TRAIN_IN_ENV) or "process").strip().lower()
    if train_in == "thread":
        return LaunchPlan("thread", reason=f"{TRAIN_IN_ENV}=thread: training runs in the app's own process.")
    if train_in != "process":
        raise ValueError(f"{TRAIN_IN_ENV} must be 'process' or 'thread', not {train_in!r}.")
    return LaunchPlan("subprocess", reason="One device: one training process, so the page stays responsive.")


def count_cuda_gpus() -> int:
    from core.ml_stack import import_transformers

    import_transformers()  # torch through the one import lock (core/ml_stack.py)
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


# -- the parent side ------------------------------------------------------------------------------
def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _last_error_line(tail: str) -> str:
    """The exception line of a traceback in the log ("ValueError: ..."), else "" (a log line is not a reason)."""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for line in reversed(lines):
        head = line.split(":", 1)[0]
        if head and " " not in head and (head.endswith(("Error", "Exception")) or head == "KeyboardInterrupt"):
            return line
    return ""


OUT_OF_MEMORY_ADVICE = (
    "To use less memory: a smaller batch size (raise gradient accumulation to keep the effective batch), a "
    "shorter max length, LoRA instead of a full fine-tune, or a smaller model; then resume or start again."
)


def describe_worker_exit(returncode: int, tail: str) -> str:
    """Why a worker ended without finishing, in a sentence: its exception, the signal that killed it, or its code.

    >>> describe_worker_exit(-9, "* Created new run: x").startswith("the worker was killed (SIGKILL)")
    True
    >>> describe_worker_exit(1, "Traceback (most recent call last):\\n  ...\\nValueError: bad row 3")
    'ValueError: bad row 3'
    >>> describe_worker_exit(0, "")
    'the worker exited without finishing the run'
    """
    error = _last_error_line(tail)
    if error:
        return error
    # A signal shows as a negative code, or as 128 + the signal through a shell or launcher (accelerate launch).
    number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode < 160 else 0
    if number:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        if number == signal.SIGKILL:
            return (
                f"the worker was killed ({name}), most likely by the system because the machine ran out of memory. "
                + OUT_OF_MEMORY_ADVICE
            )
        return f"the worker was stopped by {name} (someone or something outside the app ended it)"
    if returncode == 0:
        return "the worker exited without finishing the run"
    return f"the worker exited with code {returncode} without saying why; its log is under the details below"


class _RunFolderFollower:
    """Copies what the worker writes in the run folder into the parent's ``Job`` (under its lock)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.offsets = {name: 0 for name, _ in _FOLLOWED}
        for name, _ in _FOLLOWED:  # a resumed run already holds the rows up to its checkpoint: follow from there
            path = job.run_dir / name
            self.offsets[name] = path.stat().st_size if path.is_file() else 0

    def _new_rows(self, name: str) -> list[dict[str, Any]]:
        path = self.job.run_dir / name
        try:
            with path.open("rb") as handle:
                handle.seek(self.offsets[name])
                chunk = handle.read()
        except OSError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next poll
        self.offsets[name] += len(complete)
        rows = []
        for line in complete.decode("utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def poll(self) -> None:
        job = self.job
        state = read_json(job.run_dir / "state.json") or {}
        probes = read_json(job.run_dir / "probes.json")
        new_rows = {attribute: self._new_rows(name) for name, attribute in _FOLLOWED}
        with job.lock:
            for attribute, rows in new_rows.items():
                getattr(job, attribute).extend(rows)
            if probes is not None:
                job.probes = probes.get("probes", [])
            for name in _FOLLOWED_STATE:
                if name in state:
                    setattr(job, name, state[name])
            if job.metrics:
                job.step = max(job.step, int(job.metrics[-1]["step"]))
            if job.stop_requested and job.phase == "training":
                job.phase = "stopping"  # Stop was pressed; the worker has not seen it yet
                job.message = "Stopping after the current step; what was trained will be saved."


@dataclass
class SubprocessTrainer:
    """A ``TrainerFn`` for ``JobManager``: trains the job in a worker process and follows its run folder."""

    plan: LaunchPlan
    poll_seconds: float = 0.5
    stop_grace_seconds: float = 600.0  # a step plus a checkpoint save of a large model can take minutes
    app_pid: int | None = None  # the process the worker outlives nothing of: this one unless a test says otherwise

    def __call__(self, job: Job) -> None:
        run_dir = job.run_dir
        (run_dir / STOP_FILE).unlink(missing_ok=True)  # left over from an earlier stop of a resumed run
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env[APP_PID_ENV] = str(self.app_pid or os.getpid())
        follower = _RunFolderFollower(job)
        with (run_dir / WORKER_LOG).open("ab") as log:
            process = subprocess.Popen(
                self.plan.command(run_dir),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: terminating it reaches every rank
            )
        (run_dir / WORKER_PID_FILE).write_text(str(process.pid))
        try:
            self._follow(job, process, follower)
        finally:
            (run_dir / WORKER_PID_FILE).unlink(missing_ok=True)

    def _follow(self, job: Job, process: subprocess.Popen, follower: _RunFolderFollower) -> None:
        run_dir = job.run_dir
        job.set_message(f"Started the training worker (process {process.pid}, {self.plan.num_processes} rank(s)).")
        stop_seen_at: float | None = None
        terminated = False
        while process.poll() is None:
            if job.stop_requested and stop_seen_at is None:
                (run_dir / STOP_FILE).touch()
                stop_seen_at = time.time()
            if stop_seen_at is not None and not terminated and time.time() - stop_seen_at > self.stop_grace_seconds:
                _terminate(process)
                terminated = True
            follower.poll()
            time.sleep(self.poll_seconds)
        follower.poll()
        self._finish(job, process.returncode, terminated)

    def _finish(self, job: Job, returncode: int, terminated: bool) -> None:
        tail = _log_tail(job.run_dir / WORKER_LOG)
        if terminated:
            with job.lock:
                job.error_detail = tail
            job.set_phase(
                "stopped",
                f"The training worker did not stop within {self.stop_grace_seconds:.0f} s of Stop and was "
                "terminated; resume from the last complete checkpoint, if there is one.",
            )
            return
        if returncode == 0 and job.phase not in ACTIVE_PHASES:
            job.set_phase(job.phase, job.message)  # the worker's final state, written once more by the owner
            return
        reason = job.error or describe_worker_exit(returncode, tail)
        with job.lock:
            job.error = f"Training failed in the worker process: {reason}"
            job.error_detail = tail
        job.set_phase("failed", job.error)


def stop_stale_worker(run_dir: Path, wait_seconds: float = 10.0) -> bool:
    """Kill the worker an earlier app process left training in ``run_dir``; True if one was still running.

    Only a process whose command line is this run's worker is touched: a pid reused by
    anything else is left alone (Linux's /proc tells; elsewhere nothing is killed).
    """
    pid_file = run_dir / WORKER_PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return False
    is_this_worker = WORKER_MODULE.encode() in command and any(Path(a.decode()).name == run_dir.name for a in command)
    if not is_this_worker:
        pid_file.unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGKILL)  # the worker leads its own process group (start_new_session)
    except ProcessLookupError:
        pass
    deadline = time.time() + wait_seconds
    while _process_alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def _process_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
        return status.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _terminate(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the worker's process group, then SIGKILL whatever is left after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


# -- the worker side ------------------------------------------------------------------------------
class WorkerJob(Job):
    """The worker's view of a run: records like a thread's job on the main process, nothing on the others.

    Messages, steps and totals also go to ``state.json`` at once, since the parent
    reads them from there. Stop comes from the ``stop-requested`` file.
    """

    main_process: bool = True
    world_size: int = 1

    def _save_state(self) -> None:
        if self.main_process:
            super()._save_state()

    def set_message(self, message: str) -> None:
        with self.lock:
            self.message = message
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
        return super().record_metrics(step, logs) if self.main_process else {}

    def record_eval(self, step: int, logs: dict[str, Any]) -> None:
        if self.main_process:
            super().record_eval(step, logs)

    def record_samples(self, step: int, prompts: list[str], answers: list[str], seconds: float) -> None:
        if self.main_process:
            super().record_samples(step, prompts, answers, seconds)

    def set_probes(self, probes: list[dict[str, str]]) -> None:
        if self.main_process:
            super().set_probes(probes)

    @property
    def stop_requested(self) -> bool:
        # With several ranks only StopSync decides, so they all leave the loop at the same step.
        if self.world_size == 1 and not self.stop_event.is_set() and (self.run_dir / STOP_FILE).exists():
            self.stop_event.set()
        return self.stop_event.is_set()

    @classmethod
    def open(cls, run_dir: Path) -> WorkerJob:
        """The run as the parent left it in ``run_dir`` (config, phase, resume point, rows so far)."""
        state = read_json(run_dir / "state.json")
        config_values = read_json(run_dir / "config.json")
        if state is None or config_values is None:
            raise FileNotFoundError(f"{run_dir} is not a run folder: it needs state.json and config.json.")
        job = cls(job_id=run_dir.name, config=RunConfig.from_dict(config_values), run_dir=run_dir)
        for name in Job._STATE_FIELDS[1:]:
            if name in state:
                setattr(job, name, state[name])
        job.metrics = read_jsonl(run_dir / "metrics.jsonl").rows  # for tokens/s across a resume
        job.samples = read_jsonl(run_dir / "samples.jsonl").rows  # steps already sampled are not redone
        job.main_process = int(os.environ.get("RANK", "0")) == 0
        job.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        return job


def _app_gone() -> bool:
    """True once the app process that started this worker has exited."""
    app_pid = os.environ.get(APP_PID_ENV, "")
    return app_pid.isdigit() and not _process_alive(int(app_pid))


def _stop_sync_callback(job: WorkerJob):
    """At each step end every rank learns whether Stop was requested, or the app is gone, on any of them.

    An all-reduce of one flag (0 go on, 1 Stop, 2 the app is gone) so every rank leaves at the same step.
    Without the app, the worker saves a checkpoint and exits without touching the run's state, which the
    next app start reads as interrupted and resumable from that checkpoint.
    """
    from transformers import TrainerCallback

    class StopSync(TrainerCallback):
        orphaned = False

        def on_step_end(self, args, state, control, **kwargs):
            flag = 2 if _app_gone() else 1 if (job.run_dir / STOP_FILE).exists() else 0
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                import torch

                tensor = torch.tensor([flag], device=args.device)
                dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
                flag = int(tensor.item())
            if flag == 2:
                print(f"The app is gone: saving a checkpoint at step {state.global_step}, then exiting.", flush=True)
                self.orphaned = True
                control.should_save = True
                control.should_training_stop = True
            elif flag == 1:
                job.stop_event.set()
            return control

        def on_save(self, args, state, control, **kwargs):
            if self.orphaned:
                os._exit(0)  # nobody is left to report to; the checkpoint just written is complete

    return StopSync()


def run_worker(run_dir: Path) -> int:
    """Train the run in ``run_dir`` like the job manager's thread would; returns the process exit code."""
    from core.training import run_training

    job = WorkerJob.open(run_dir)
    try:
        run_training(job, extra_callbacks=[_stop_sync_callback(job)])
        if job.phase in ACTIVE_PHASES:
            job.set_phase("stopped" if job.stop_requested else "finished", job.message)
        return 0
    except StopTraining:
        job.set_phase("stopped", "Stopped before training began.")
        return 0
    except BaseException as err:  # noqa: BLE001 - record every failure for the parent, then exit non-zero
        job.error = describe_exception(err, job.run_dir)
        traceback.print_exc()
        job.set_phase("failed", "Training failed: " + job.error)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SFT Coach training worker: trains one run folder.")
    parser.add_argument("--run-dir", required=True, type=Path, help="the run folder the job manager created")
    args = parser.parse_args(argv)
    return run_worker(args.run_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
