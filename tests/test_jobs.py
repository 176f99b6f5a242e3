"""The job manager with a fake trainer: phases, one run at a time, Stop, failures, files on disk."""

from __future__ import annotations

import json
import threading
import time

import pytest

from core.config import RunConfig
from core.jobs import Job, JobBusyError, JobManager, StopTraining


def fake_trainer(steps: int = 5, delay: float = 0.0, fail_at: int | None = None, gate: threading.Event | None = None):
    """A stand-in for TRL: logs a falling loss each step, honours stop requests like the real callback."""

    def train(job: Job) -> None:
        job.set_total_steps(steps)
        job.set_phase("training", "Training.")
        for step in range(1, steps + 1):
            if gate is not None:
                gate.wait(5)
            if fail_at == step:
                raise RuntimeError("the fake trainer broke on purpose")
            job.record_metrics(step, {"loss": 3.0 / step, "learning_rate": 1e-3, "num_tokens": 100 * step})
            job.set_step(step)
            time.sleep(delay)
            if job.stop_requested:
                job.set_phase("stopped", f"Stopped at step {step}.")
                return
        job.set_result(str(job.run_dir / "final"), "ok")
        job.set_phase("finished", "Done.")

    return train


def test_a_run_goes_from_preparing_to_finished_and_writes_its_files(tmp_path):
    manager = JobManager(tmp_path, trainer=fake_trainer(steps=4))
    job = manager.start(RunConfig())
    snap = manager.wait(job.job_id, timeout=10)
    assert snap.phase == "finished"
    assert [m["step"] for m in snap.metrics] == [1, 2, 3, 4]
    lines = (tmp_path / job.job_id / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["loss"] for line in lines] == [3.0, 1.5, 1.0, 0.75]
    state = json.loads((tmp_path / job.job_id / "state.json").read_text())
    assert state["phase"] == "finished" and state["step"] == 4
    config = json.loads((tmp_path / job.job_id / "config.json").read_text())
    assert RunConfig.from_dict(config) == RunConfig()
    assert snap.metrics[-1]["tokens_per_second"] > 0


def test_only_one_run_at_a_time(tmp_path):
    gate = threading.Event()
    manager = JobManager(tmp_path, trainer=fake_trainer(steps=2, gate=gate))
    first = manager.start(RunConfig())
    with pytest.raises(JobBusyError, match=first.job_id):
        manager.start(RunConfig())
    gate.set()
    assert manager.wait(first.job_id, timeout=10).phase == "finished"
    second = manager.start(RunConfig())  # free again once the first one ended
    assert manager.wait(second.job_id, timeout=10).phase == "finished"


def test_stop_takes_effect_at_the_next_step(tmp_path):
    manager = JobManager(tmp_path, trainer=fake_trainer(steps=1000, delay=0.01))
    job = manager.start(RunConfig())
    while job.snapshot().step < 3:
        time.sleep(0.01)
    assert manager.stop(job.job_id) is True
    snap = manager.wait(job.job_id, timeout=10)
    assert snap.phase == "stopped"
    assert 3 <= snap.step < 1000
    assert manager.stop(job.job_id) is False  # nothing left to stop


def test_stop_before_training_began(tmp_path):
    def slow_preparation(job: Job) -> None:
        while not job.stop_requested:
            time.sleep(0.01)
        raise StopTraining()

    manager = JobManager(tmp_path, trainer=slow_preparation)
    job = manager.start(RunConfig())
    manager.stop(job.job_id)
    assert manager.wait(job.job_id, timeout=10).phase == "stopped"


def test_an_exception_fails_the_run_readably_and_the_manager_stays_usable(tmp_path):
    manager = JobManager(tmp_path, trainer=fake_trainer(steps=5, fail_at=3))
    job = manager.start(RunConfig())
    snap = manager.wait(job.job_id, timeout=10)
    assert snap.phase == "failed"
    assert "the fake trainer broke on purpose" in snap.error
    assert "Traceback" in snap.error_detail
    assert [m["step"] for m in snap.metrics] == [1, 2]  # what was logged before the failure is kept
    manager._trainer = fake_trainer(steps=2)
    assert manager.wait(manager.start(RunConfig()).job_id, timeout=10).phase == "finished"


def test_out_of_memory_is_explained(tmp_path):
    def oom(job: Job) -> None:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    manager = JobManager(tmp_path, trainer=oom)
    snap = manager.wait(manager.start(RunConfig()).job_id, timeout=10)
    assert snap.phase == "failed"
    assert "smaller batch size" in snap.error


def test_jobs_are_listed_newest_first_and_run_ids_are_unguessable(tmp_path):
    manager = JobManager(tmp_path, trainer=fake_trainer(steps=1))
    ids = []
    for _ in range(3):
        ids.append(manager.start(RunConfig()).job_id)
        manager.wait(ids[-1], timeout=10)
    assert [j.job_id for j in manager.jobs()] == ids[::-1]
    assert len({i.rsplit("-", 1)[1] for i in ids}) == 3  # random suffix
    assert all(len(i.rsplit("-", 1)[1]) == 8 for i in ids)
