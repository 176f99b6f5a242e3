"""The worker's side of the process boundary: ``python -m core.runs.worker --run-dir <run folder>``.

Or ``--standby``: a worker started before the run exists, which imports the training stack, may get a head
start on the next run (``core/runs/warm.py``) and trains the run folder the app then hands it on stdin
(``core/runs/standby.py``). From the hand-over on it is the same worker.

The worker opens the run the app left in the folder (``Run.load``), becomes its one writer (on the main
process; other ranks write nothing), trains it with ``core.runs.train.run_training`` and records how it
ended (``Run.conclude``). The app mirrors the folder meanwhile (``core/runs/launcher.py``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import sys
import threading
import traceback
from pathlib import Path

from core.ml_stack import import_transformers
from core.runs.launcher import process_alive
from core.runs.record import Run
from core.runs.standby import APP_PID_ENV
from core.runs.store import RunFolder

import_transformers()  # this module runs only in the worker process, where training needs it at once
from transformers import TrainerCallback  # noqa: E402


def _app_gone() -> bool:
    """True once the app process that started this worker has exited."""
    app_pid = os.environ.get(APP_PID_ENV, "")
    return app_pid.isdigit() and not process_alive(int(app_pid))


class StopSync(TrainerCallback):
    """At each step end every rank learns whether Stop was requested, or the app is gone, on any of them.

    An all-reduce of one flag (0 go on, 1 Stop, 2 the app is gone) so every rank leaves at the same step;
    on Stop it sets the run's stop event, which ``CoachCallback`` (after this one) turns into
    ``should_training_stop``. Without the app, the worker saves a checkpoint and exits without touching
    the run's state, which the next app start reads as interrupted and resumable from that checkpoint.
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self.orphaned = False

    def on_step_end(self, args, state, control, **kwargs):
        flag = 2 if _app_gone() else 1 if self.run.folder.stop_requested() else 0
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
            self.run.stop_event.set()
        return control

    def on_save(self, args, state, control, **kwargs):
        if self.orphaned:
            os._exit(0)  # nobody is left to report to; the checkpoint just written is complete


def open_run(run_dir: Path) -> Run:
    """The run as the app left it in ``run_dir``, set up as this rank's writer (or not)."""
    run = Run.load(RunFolder(run_dir))
    if run is None:
        raise FileNotFoundError(f"{run_dir} is not a run folder: it needs a readable state.json and config.json.")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    run.writes = int(os.environ.get("RANK", "0")) == 0
    run.watch_stop_flag = world_size == 1  # with several ranks only StopSync decides, at the same step on all
    return run


def run_worker(run_dir: Path) -> int:
    """Train the run in ``run_dir``; returns the process exit code (1 when the run failed)."""
    from core.runs.train import run_training

    run = open_run(run_dir)
    error: BaseException | None = None
    try:
        run_training(run, extra_callbacks=[StopSync(run)])
    except BaseException as err:  # noqa: BLE001 - record every failure for the app, then exit non-zero
        error = err
        traceback.print_exc()
    run.conclude(error)
    return 1 if run.phase == "failed" else 0


def _messages(lines) -> queue.Queue:
    """The app's messages to a standby, read on a thread as they come; None once the app has closed the pipe."""
    inbox: queue.Queue = queue.Queue()

    def read() -> None:
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict):
                inbox.put(message)
        inbox.put(None)

    threading.Thread(target=read, name="standby-inbox", daemon=True).start()
    return inbox


def _latest(inbox: queue.Queue, message: dict | None) -> dict | None:
    """The message to act on: a later head start replaces an earlier one; a run or the app's end comes first."""
    while message is not None and "warm" in message and not inbox.empty():
        message = inbox.get_nowait()
    return message


def settle(collect: bool = True) -> None:
    """Collect the garbage, then hide every object alive from the cyclic garbage collector (``gc.freeze``).

    ``Trainer.train`` begins with a full collection (accelerate's ``free_memory``), which walks every object the
    imports and the head start left: 0.3-0.6 s of the warm start's 3 s to the first loss point on this CPU. Done
    while nobody waits, that collection walks only what the run itself creates. Without ``collect`` (the cold
    path, where a collection now would cost what it saves) only the freeze: the imports' few cycles stay.
    """
    gc.unfreeze()  # an earlier head start's objects can be garbage now: this collection sees them too
    if collect:
        gc.collect()
    gc.freeze()


def run_standby(lines=None) -> int:
    """Wait, warm, and train the one run the app hands over; returns the exit code."""
    import torch

    import core.runs.train  # noqa: F401 - the training stack, imported while nobody waits
    from core.runs.warm import warm

    if torch.cuda.device_count() > 1:
        return 0  # several GPUs: each run is an accelerate launch of its own, a standby is never handed one
    inbox = _messages(sys.stdin.buffer if lines is None else lines)
    settle()
    print("ready", flush=True)  # for StandbyWorker.wait_for
    while True:
        message = _latest(inbox, inbox.get())
        if message is None:
            return 0  # the app is gone (or never handed a run): nothing to do
        if isinstance(message.get("run"), str):
            return _take_run(Path(message["run"]))
        if isinstance(message.get("warm"), dict):
            try:
                said = warm(message["warm"], should_stop=lambda: not inbox.empty())
            except Exception as err:  # noqa: BLE001 - a head start never fails anything; the run meets the error
                said = f"Warmed nothing: {err}"
            if inbox.empty():  # not while a run waits
                settle()
            print(said, flush=True)


def _take_run(run_dir: Path) -> int:
    """Become the worker of ``run_dir``: output to its log from here on, then train it."""
    run_dir = run_dir.resolve()
    log = os.open(RunFolder(run_dir).worker_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return run_worker(run_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="SFT Coach training worker: trains one run folder.")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-dir", type=Path, help="the run folder the run manager created")
    which.add_argument("--standby", action="store_true", help="wait for a run folder on stdin (a warm worker)")
    args = parser.parse_args(argv)
    if args.standby:
        return run_standby()
    import core.runs.train  # noqa: F401 - imported now so that the freeze below covers the training stack

    settle(collect=False)
    return run_worker(args.run_dir.resolve())


def exit_now(code: int) -> None:
    """Leave at once when the run's end is on disk: the app waits for this process to exit before it calls the run
    ended (core/runs/launcher.py), and the interpreter's own teardown (torch, the model) took about 0.8 s of the
    1.8 s from Stop to *stopped*. Everything a run writes is written and closed before this; trackio's run was
    finished at the training's end (its callback's ``on_train_end``)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main())
