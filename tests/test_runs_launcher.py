"""The subprocess path: which machines use it, and a real worker training the tiny model on CPU with one process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from core.owners import EVERYONE
from core.runs.launcher import TRAIN_IN_ENV, LaunchPlan, SubprocessTrainer, plan_launch, stop_stale_worker
from core.runs.manager import RunManager
from core.runs.store import STOP_FLAG, WORKER_LOG, WORKER_PID, RunFolder

ONE_CPU_PROCESS = LaunchPlan("subprocess", num_processes=1)


def test_two_gpus_train_through_accelerate_with_one_process_per_gpu(tmp_path):
    plan = plan_launch(gpu_count=2)
    assert plan.uses_subprocess
    command = plan.command(tmp_path / "run")
    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert "--multi_gpu" in command
    assert command[command.index("--num_processes") + 1] == "2"
    assert command[-4:] == ["-m", "core.runs.worker", "--run-dir", str(tmp_path / "run")]
    assert "--cpu" not in command


def test_one_gpu_or_a_cpu_trains_in_one_worker_process_unless_told_to_use_a_thread(monkeypatch):
    monkeypatch.delenv(TRAIN_IN_ENV, raising=False)
    for gpus in (0, 1):
        plan = plan_launch(gpu_count=gpus)
        assert plan.uses_subprocess and plan.num_processes == 1 and not plan.use_accelerate
        assert plan_launch(gpu_count=gpus, train_in="thread").mode == "thread"
    monkeypatch.setenv(TRAIN_IN_ENV, "Thread ")
    assert plan_launch(gpu_count=0).mode == "thread"
    assert plan_launch(gpu_count=2).use_accelerate  # several GPUs always get one process each
    monkeypatch.setenv(TRAIN_IN_ENV, "threads")
    with pytest.raises(ValueError, match="SFT_COACH_TRAIN_IN must be 'process' or 'thread', not 'threads'"):
        plan_launch(gpu_count=0)


def test_one_process_on_cpu_runs_plain_python_or_accelerate_with_cpu(tmp_path):
    assert ONE_CPU_PROCESS.command("r") == [sys.executable, "-m", "core.runs.worker", "--run-dir", "r"]
    command = LaunchPlan("subprocess", use_accelerate=True).command("r")
    assert "--cpu" in command and "--multi_gpu" not in command
    assert command[command.index("--num_processes") + 1] == "1"


def _tiny(**settings) -> RunConfig:
    values = dict(model_id=TINY_MODEL_ID, sample_every=0, num_probe_prompts=1, sample_max_new_tokens=4)
    return RunConfig(**{**values, **settings})


def test_worker_trains_and_the_parent_sees_every_step_live(tmp_path, tiny_model_path):
    manager = RunManager(tmp_path / "runs", trainer=SubprocessTrainer(ONE_CPU_PROCESS, poll_seconds=0.2))
    job = manager.start(_tiny(max_steps=6, save_steps=0, eval_steps=3, max_eval_rows=4), owner="tester")
    seen_while_active: list[int] = []
    deadline = time.time() + 600
    while time.time() < deadline:
        snap = manager.snapshot(job.run_id, owner=EVERYONE)
        if not snap.is_active:
            break
        if snap.metrics:
            seen_while_active.append(len(snap.metrics))
        time.sleep(0.1)
    snap = manager.wait(job.run_id, timeout=60)
    assert snap.phase == "finished", (snap.error, snap.error_detail)
    assert seen_while_active and min(seen_while_active) < 6  # the parent followed the steps while they came in
    assert [m["step"] for m in snap.metrics] == [1, 2, 3, 4, 5, 6]
    assert "loss" in snap.metrics[-1] and "memory_gb" in snap.metrics[-1]
    lines = (job.run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert [e["step"] for e in snap.eval_metrics] == [3, 6]
    assert [s["step"] for s in snap.samples] == [0, 6] and len(snap.probes) == 1
    assert (snap.step, snap.total_steps) == (6, 6)
    assert (job.run_dir / "final" / "adapter_config.json").is_file()
    assert snap.load_check.startswith("Reloaded from disk")
    state = json.loads((job.run_dir / "state.json").read_text())
    assert state["phase"] == "finished" and state["step"] == 6


def test_stop_mid_run_stops_the_worker_with_a_checkpoint(tmp_path, tiny_model_path, monkeypatch):
    # One writer at a time: while the worker runs (its pid file is there) the app never writes state.json.
    app_writes_while_the_worker_ran = []
    real_write_state = RunFolder.write_state

    def write_state(folder, state):
        if folder.read_worker_pid() is not None:
            app_writes_while_the_worker_ran.append(state["phase"])
        real_write_state(folder, state)

    monkeypatch.setattr(RunFolder, "write_state", write_state)
    manager = RunManager(tmp_path / "runs", trainer=SubprocessTrainer(ONE_CPU_PROCESS, poll_seconds=0.2))
    job = manager.start(_tiny(max_steps=400, save_steps=0, eval_steps=0), owner="tester")
    deadline = time.time() + 600
    while manager.snapshot(job.run_id, owner=EVERYONE).step < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert manager.stop(job.run_id, owner=EVERYONE)
    assert manager.snapshot(job.run_id, owner=EVERYONE).phase == "stopping"  # at once, before the worker sees it
    snap = manager.wait(job.run_id, timeout=600)
    assert snap.phase == "stopped", (snap.error, snap.error_detail)
    assert 3 <= snap.step < 400
    checkpoint = RunFolder(job.run_dir).last_complete_checkpoint()
    assert checkpoint is not None and checkpoint.step == snap.step
    assert (job.run_dir / "final" / "adapter_config.json").is_file()
    assert (job.run_dir / STOP_FLAG).is_file()
    assert app_writes_while_the_worker_ran == []  # the page showed "stopping" from memory, not by writing


def test_a_worker_whose_app_is_gone_saves_a_checkpoint_and_exits(tmp_path, tiny_model_path):
    app = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])  # stands in for the app
    trainer = SubprocessTrainer(ONE_CPU_PROCESS, poll_seconds=0.2, app_pid=app.pid)
    manager = RunManager(tmp_path / "runs", trainer=trainer)
    job = manager.start(_tiny(max_steps=400, save_steps=0, eval_steps=0), owner="tester")
    deadline = time.time() + 600
    while manager.snapshot(job.run_id, owner=EVERYONE).step < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert (job.run_dir / WORKER_PID).is_file()
    app.kill()
    app.wait()
    snap = manager.wait(job.run_id, timeout=600)
    checkpoint = RunFolder(job.run_dir).last_complete_checkpoint()
    assert checkpoint is not None and 3 <= checkpoint.step < 400
    assert [m["step"] for m in snap.metrics] == list(range(1, checkpoint.step + 1))  # nothing lost
    assert "The app is gone: saving a checkpoint" in (job.run_dir / WORKER_LOG).read_text()
    assert not (job.run_dir / "final").exists()  # it left at once: the next app resumes the run
    assert not (job.run_dir / WORKER_PID).exists()


def _sleeper(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", *args], start_new_session=True)


def test_a_restarted_app_kills_the_worker_left_in_a_run_folder_and_nothing_else(tmp_path):
    run_dir = tmp_path / "runs" / "20261123-abc"
    run_dir.mkdir(parents=True)
    worker = _sleeper("-m", "core.runs.worker", "--run-dir", str(run_dir))
    stranger = _sleeper("--run-dir", str(run_dir))  # a reused pid: not our worker
    try:
        (run_dir / WORKER_PID).write_text(str(stranger.pid))
        assert not stop_stale_worker(RunFolder(run_dir))
        assert stranger.poll() is None and not (run_dir / WORKER_PID).exists()
        (run_dir / WORKER_PID).write_text(str(worker.pid))
        assert stop_stale_worker(RunFolder(run_dir))
        assert worker.wait(10) == -9 and not (run_dir / WORKER_PID).exists()
        assert not stop_stale_worker(RunFolder(run_dir))  # no pid file: nothing to do
    finally:
        for process in (worker, stranger):
            process.kill()
            process.wait()


def test_a_failing_worker_marks_the_run_failed_with_its_error(tmp_path, tiny_model_path, local_paths):
    manager = RunManager(tmp_path / "runs", trainer=SubprocessTrainer(ONE_CPU_PROCESS, poll_seconds=0.2))
    missing = local_paths / "no-such-model"  # in an allowed folder: the run starts, and the worker finds nothing
    snap = manager.wait(manager.start(_tiny(model_id=str(missing)), owner="tester").run_id, timeout=300)
    assert snap.phase == "failed"
    assert snap.error.startswith("Training failed in the worker process: ")
    assert str(missing) in snap.error and "is not a model folder" in snap.error
    assert "Traceback" in snap.error_detail  # the worker's log tail, for the details view
    assert (tmp_path / "runs" / snap.run_id / WORKER_LOG).is_file()
    # The manager is free for the next run.
    good = manager.start(_tiny(max_steps=1, save_steps=0, eval_steps=0, num_probe_prompts=0), owner="tester")
    assert manager.wait(good.run_id, timeout=300).phase == "finished"


def test_a_worker_killed_by_the_system_says_so_and_what_to_change(tmp_path, tiny_model_path):
    manager = RunManager(tmp_path / "runs", trainer=SubprocessTrainer(ONE_CPU_PROCESS, poll_seconds=0.2))
    job = manager.start(_tiny(max_steps=400, save_steps=0, eval_steps=0), owner="tester")
    deadline = time.time() + 600
    while manager.snapshot(job.run_id, owner=EVERYONE).step < 2 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(int((job.run_dir / WORKER_PID).read_text()), signal.SIGKILL)  # as the out-of-memory killer does
    snap = manager.wait(job.run_id, timeout=120)
    assert snap.phase == "failed"
    assert "killed (SIGKILL)" in snap.error and "ran out of memory" in snap.error and "smaller batch" in snap.error
    assert "Created new run" not in snap.error  # a log line is not given as the reason


class _DeafPlan(LaunchPlan):
    """A 'worker' that never looks at the stop file, to exercise the last resort."""

    def command(self, run_dir):
        return [sys.executable, "-c", "import time; time.sleep(120)"]


def test_a_worker_that_ignores_stop_is_terminated_after_the_grace_period(tmp_path):
    trainer = SubprocessTrainer(_DeafPlan("subprocess"), poll_seconds=0.1, stop_grace_seconds=0.5)
    manager = RunManager(tmp_path / "runs", trainer=trainer)
    job = manager.start(RunConfig(), owner="tester")
    time.sleep(0.5)
    started = time.time()
    assert manager.stop(job.run_id, owner=EVERYONE)
    snap = manager.wait(job.run_id, timeout=30)
    assert time.time() - started < 15
    assert snap.phase == "stopped"
    assert "terminated" in snap.message


class _TwoCpuRanks(LaunchPlan):
    """Two data-parallel ranks on CPU (torchrun + gloo): what accelerate's --multi_gpu does, minus the GPUs."""

    def command(self, run_dir):
        worker = ["-m", "core.runs.worker", "--run-dir", str(run_dir)]
        return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", *worker]


@pytest.mark.slow
def test_two_ranks_record_each_step_once_and_stop_together(tmp_path, tiny_model_path):
    trainer = SubprocessTrainer(_TwoCpuRanks("subprocess", num_processes=2), poll_seconds=0.2)
    manager = RunManager(tmp_path / "runs", trainer=trainer)
    job = manager.start(_tiny(max_steps=400, save_steps=0, eval_steps=0), owner="tester")
    deadline = time.time() + 600
    while manager.snapshot(job.run_id, owner=EVERYONE).step < 3 and time.time() < deadline:
        time.sleep(0.05)
    manager.stop(job.run_id, owner=EVERYONE)
    snap = manager.wait(job.run_id, timeout=600)
    assert snap.phase == "stopped", (snap.error, snap.error_detail)
    lines = (job.run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == list(range(1, snap.step + 1))  # rank 1 wrote nothing
    assert [s["step"] for s in snap.samples] == [0]  # Stop skips the end-of-run samples: it must not wait for them
    # Both ranks left the loop at the same step.
    assert RunFolder(job.run_dir).last_complete_checkpoint().step == snap.step
    assert (job.run_dir / "final" / "adapter_config.json").is_file()


class _SlowExitPlan(LaunchPlan):
    """A 'worker' that records the run as stopped, then takes two seconds to exit (as a real one saving does)."""

    def command(self, run_dir):
        script = (
            "import json, pathlib, sys, time; p = pathlib.Path(sys.argv[1]) / 'state.json'; "
            "s = json.loads(p.read_text()); s['phase'] = 'stopped'; s['message'] = 'Stopped at step 0.'; "
            "p.write_text(json.dumps(s)); time.sleep(2)"
        )
        return [sys.executable, "-c", script, str(run_dir)]


def test_a_run_has_not_ended_for_the_app_until_its_worker_has_exited(tmp_path):
    manager = RunManager(tmp_path / "runs", trainer=SubprocessTrainer(_SlowExitPlan("subprocess"), poll_seconds=0.1))
    run = manager.start(RunConfig(), owner="tester")
    seen, deadline = [], time.time() + 1.5
    while time.time() < deadline:
        seen.append(manager.snapshot(run.run_id, owner=EVERYONE).phase)
        time.sleep(0.05)
    assert "stopped" not in seen  # the worker wrote "stopped" at once, but it was still running
    assert manager.wait(run.run_id, timeout=30).phase == "stopped"
