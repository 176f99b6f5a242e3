"""The app's side of the process boundary: where a run trains, and how the app follows a worker.

A run trains in a worker process (``core/runs/worker.py``): a thread in the app's process would share
the interpreter lock with the web server (with 20 people polling the page, training in a thread ran 94%
slower, bench/RESULTS.md), and a crash in training (a segfault, the kernel's OOM killer) would take the
page down with it. On several GPUs the worker is ``accelerate launch --multi_gpu --num_processes N -m
core.runs.worker --run-dir <run folder>`` (data parallel); on one device it is ``python -m
core.runs.worker``. ``SFT_COACH_TRAIN_IN=thread`` trains in the manager's thread instead (tests that
inject faults in-process use it).

The run folder is the only channel between the two sides (``core/runs/store.py``):

- before the worker starts and after it ends the app writes the run's state; while it runs the worker
  does, and the app's ``Run`` mirrors it (``Run.adopt``), so snapshots show the metrics live;
- Stop reaches the worker as the folder's stop flag; every rank agrees on it at the same step end;
  a worker that has not ended ``stop_grace_seconds`` after Stop is terminated, as a last resort;
- the worker's stdout and stderr go to its log; a failed run shows the worker's error sentence and the
  log's tail.

A worker outlives nothing: when the app that started it is gone, it saves a checkpoint at the next step
end and exits, leaving the run "training" on disk so the next app lists it as interrupted and resumable.
An app that restarts sooner kills the old worker first (``stop_stale_worker``), so two processes never
write one run folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.runs.failures import StopTraining, WorkerExited, describe_worker_exit
from core.runs.record import ACTIVE_PHASES, Run
from core.runs.standby import ROOT, WORKER_MODULE, StandbyWorker, warm_worker_enabled, worker_env
from core.runs.store import RunFolder

TRAIN_IN_ENV = "SFT_COACH_TRAIN_IN"


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
    or the run manager's thread when ``train_in`` (default: ``SFT_COACH_TRAIN_IN``) is ``"thread"``."""
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


class DefaultTrainer:
    """The trainer ``app.py`` hands the manager: a worker process (one per GPU), or this process's thread.

    With one device a warm standby worker waits for the next run (``core/runs/standby.py``), unless
    ``SFT_COACH_WARM_WORKER=0`` or ``SFT_COACH_TRAIN_IN=thread``: the first one starts when the first page opens
    (``warm``; at the app's start its imports would slow the page's), the next as each run ends.
    """

    def __init__(self, standby: StandbyWorker | None = None) -> None:
        self.standby = standby
        self._warmed: tuple[int | None, dict] | None = None  # the last head start sent, to which standby

    def __call__(self, run: Run) -> None:
        plan = plan_launch(count_cuda_gpus())
        if plan.uses_subprocess:
            standby = self.standby if plan.num_processes == 1 and not plan.use_accelerate else None
            SubprocessTrainer(plan, standby=standby)(run)
            return
        from core.runs.train import run_training

        run_training(run)

    def warm(self, config: dict) -> bool:
        """A head start on the run ``config`` would start (core/runs/warm.py); False when no standby waits."""
        if not self.standby:
            return False
        self.standby.start()  # the first page opened: started now, not with the app (it would slow the page up)
        sent = (self.standby.pid, config)
        if sent == self._warmed:
            return True  # every page load asks again; the standby did it already
        self._warmed = sent
        return self.standby.warm(config)

    def close(self) -> None:
        if self.standby:
            self.standby.close()


def default_trainer() -> DefaultTrainer:
    train_in = (os.environ.get(TRAIN_IN_ENV) or "process").strip().lower()
    if not warm_worker_enabled() or train_in == "thread":
        return DefaultTrainer()
    return DefaultTrainer(StandbyWorker())


@dataclass
class SubprocessTrainer:
    """A ``TrainerFn`` for ``RunManager``: trains the run in a worker process and mirrors its folder."""

    plan: LaunchPlan
    poll_seconds: float = 0.1  # how soon Stop reaches the worker and its news the page: a stat and a read
    stop_grace_seconds: float = 600.0  # a step plus a checkpoint save of a large model can take minutes
    app_pid: int | None = None  # the process the worker outlives nothing of: this one unless a test says otherwise
    standby: StandbyWorker | None = None
    """A warm worker to hand the run to (core/runs/standby.py), replaced once the run has ended; None: start cold."""

    def __call__(self, run: Run) -> None:
        folder = run.folder
        folder.clear_stop()  # left over from an earlier stop of a resumed run
        env = worker_env(self.app_pid)
        run.set_message(f"Starting the training worker ({self.plan.num_processes} rank(s))...")
        follower = folder.follow()
        with run.lock:
            run.writes = False  # the worker writes the run folder from here on
        try:
            process = self.standby.take(folder.path, env) if self.standby else None
            if process is None:
                with folder.worker_log.open("ab") as log:
                    process = subprocess.Popen(
                        self.plan.command(folder.path),
                        cwd=ROOT,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # its own process group: terminating it reaches every rank
                    )
            folder.write_worker_pid(process.pid)
            try:
                terminated = self._follow(run, process, follower)
            finally:
                folder.clear_worker_pid()
        finally:
            with run.lock:
                run.writes = True  # the worker is gone (or never started): the app writes again
            if self.standby:
                self.standby.start()  # the next run's worker, fresh: one process never trains two runs
        if terminated:
            raise StopTraining(
                f"The training worker did not stop within {self.stop_grace_seconds:.0f} s of Stop and was "
                "terminated; resume from the last complete checkpoint, if there is one."
            )
        if process.returncode != 0 or run.phase in ("preparing", "training", "stopping"):
            tail = folder.log_tail()
            raise WorkerExited(run.error or describe_worker_exit(process.returncode, tail), tail)

    def _follow(self, run: Run, process: subprocess.Popen, follower) -> bool:
        """Mirror the worker's folder until it exits; True when it had to be terminated after Stop."""
        folder = run.folder
        stop_seen_at: float | None = None
        terminated = False
        while True:
            ended = process.poll() is not None
            if run.stop_event.is_set() and stop_seen_at is None:
                folder.request_stop()
                stop_seen_at = time.time()
            if stop_seen_at is not None and not terminated and time.time() - stop_seen_at > self.stop_grace_seconds:
                _terminate(process)
                terminated = True
            state = folder.read_state()
            if not ended and state and state.get("phase") not in ACTIVE_PHASES:
                # The worker recorded how the run ended but is still exiting: for the app the run has not ended
                # until the process has (a Resume now would start a second worker on the same folder).
                state = {k: v for k, v in state.items() if k not in ("phase", "finished_at")}
            run.adopt(state, follower.new_rows(), folder.read_probes())
            if ended:
                return terminated
            time.sleep(self.poll_seconds)


def stop_stale_worker(folder: RunFolder, wait_seconds: float = 10.0) -> bool:
    """Kill the worker an earlier app process left training in ``folder``; True if one was still running.

    Only a process whose command line is this run's worker is touched: a pid reused by
    anything else is left alone (Linux's /proc tells; elsewhere nothing is killed).
    """
    pid = folder.read_worker_pid()
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if pid else []
    except OSError:
        command = []
    name = folder.run_id
    is_this_worker = WORKER_MODULE.encode() in command and (
        any(Path(a.decode()).name == name for a in command) or _writes_log_of(pid, folder)  # a standby handed it
    )
    if not is_this_worker:
        folder.clear_worker_pid()
        return False
    try:
        os.killpg(pid, signal.SIGKILL)  # the worker leads its own process group (start_new_session)
    except ProcessLookupError:
        pass
    deadline = time.time() + wait_seconds
    while process_alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    folder.clear_worker_pid()
    return True


def _writes_log_of(pid: int, folder: RunFolder) -> bool:
    """True when the process's output goes to ``folder``'s worker log: a standby worker handed this run."""
    try:
        return Path(os.readlink(f"/proc/{pid}/fd/1")) == folder.worker_log.resolve()
    except OSError:
        return False


def process_alive(pid: int) -> bool:
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
