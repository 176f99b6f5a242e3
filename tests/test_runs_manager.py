"""The run manager with a fake trainer: phases, one run at a time, Stop, failures, files on disk."""

from __future__ import annotations

import json
import threading
import time

import pytest

from core.config import ConfigError, RunConfig
from core.models.origin import OFFLINE_COPY_ID
from core.owners import EVERYONE, NoOwnerError
from core.runs.failures import StopTraining
from core.runs.manager import Limits, RunManager, RunQueueFull
from core.runs.record import Run
from tests.fakes import fake_trainer


def test_a_run_goes_from_preparing_to_finished_and_writes_its_files(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=4))
    job = manager.start(RunConfig(), owner="tester")
    snap = manager.wait(job.run_id, timeout=10)
    assert snap.phase == "finished"
    assert [m["step"] for m in snap.metrics] == [1, 2, 3, 4]
    lines = (tmp_path / job.run_id / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["loss"] for line in lines] == [3.0, 1.5, 1.0, 0.75]
    state = json.loads((tmp_path / job.run_id / "state.json").read_text())
    assert state["phase"] == "finished" and state["step"] == 4
    config = json.loads((tmp_path / job.run_id / "config.json").read_text())
    # SmolLM2 picked with HF_HUB_OFFLINE set (as in the tests) trains its offline copy, and the config says so
    assert RunConfig.from_dict(config) == RunConfig(model_id=OFFLINE_COPY_ID)
    assert snap.metrics[-1]["tokens_per_second"] > 0


def test_one_run_trains_at_a_time_and_later_ones_wait_in_order(tmp_path):
    gate = threading.Event()
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=2, gate=gate))
    first = manager.start(RunConfig(), owner="ann")
    second = manager.start(RunConfig(), owner="bob")
    third = manager.start(RunConfig(), owner="cat")
    assert first.phase in ("preparing", "training")
    assert (second.phase, third.phase) == ("queued", "queued")
    assert manager.snapshot(second.run_id, owner=EVERYONE).queue_position == 1
    assert manager.snapshot(third.run_id, owner=EVERYONE).queue_position == 2
    gate.set()
    for job in (first, second, third):
        assert manager.wait(job.run_id, timeout=10).phase == "finished"
    assert first.started_at <= second.started_at <= third.started_at


def test_a_waiting_run_can_be_cancelled_and_the_line_moves_up(tmp_path):
    gate = threading.Event()
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=1, gate=gate))
    manager.start(RunConfig(), owner="tester")
    second, third = manager.start(RunConfig(), owner="tester"), manager.start(RunConfig(), owner="tester")
    assert manager.stop(second.run_id, owner=EVERYONE) is True
    assert second.phase == "cancelled"
    assert manager.snapshot(third.run_id, owner=EVERYONE).queue_position == 1
    gate.set()
    assert manager.wait(third.run_id, timeout=10).phase == "finished"


def test_queue_limits_are_enforced_with_clear_messages(tmp_path):
    gate = threading.Event()
    limits = Limits(max_queued_per_owner=1)
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=1, gate=gate), limits=limits)
    manager.start(RunConfig(), owner="ann")
    with pytest.raises(RunQueueFull, match="allows 1"):
        manager.start(RunConfig(), owner="ann")
    manager.start(RunConfig(), owner="bob")  # other people are not limited by ann's runs
    gate.set()
    assert "at most 1 waiting run" in limits.describe()


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SFT_COACH_MAX_QUEUED", "2")
    assert Limits.from_env() == Limits(max_queued_per_owner=2, max_dataset_rows=0)


def test_people_see_only_their_own_runs(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=1))
    ann = manager.start(RunConfig(), owner="ann")
    manager.wait(ann.run_id, timeout=10)
    assert manager.get(ann.run_id, owner="bob") is None
    assert manager.stop(ann.run_id, owner="bob") is False
    assert [j.run_id for j in manager.runs(owner="bob")] == []
    assert [j.run_id for j in manager.runs(owner="ann")] == [ann.run_id]


def test_a_missing_owner_is_refused_and_never_means_everyone(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=1))
    ann = manager.start(RunConfig(), owner="ann")
    manager.wait(ann.run_id, timeout=10)
    for missing in (None, ""):
        with pytest.raises(NoOwnerError):
            manager.runs(owner=missing)
        with pytest.raises(NoOwnerError):
            manager.get(ann.run_id, owner=missing)
        with pytest.raises(NoOwnerError):
            manager.stop(ann.run_id, owner=missing)
        with pytest.raises(NoOwnerError):
            manager.start(RunConfig(), owner=missing)
    with pytest.raises(ValueError, match="belongs to one person"):
        manager.start(RunConfig(), owner=EVERYONE)
    assert [j.run_id for j in manager.runs(owner=EVERYONE)] == [ann.run_id]


def test_a_run_without_an_owner_is_shown_to_the_admin_only(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=1))
    ann = manager.start(RunConfig(), owner="ann")
    manager.wait(ann.run_id, timeout=10)
    state = json.loads((ann.run_dir / "state.json").read_text())
    state["owner"] = None  # a run folder from an older version, or copied in by hand
    (ann.run_dir / "state.json").write_text(json.dumps(state))
    again = RunManager(tmp_path, trainer=fake_trainer(steps=1))
    assert again.runs(owner="ann") == [] and again.runs(owner="bob") == []
    assert again.get(ann.run_id, owner="bob") is None and again.stop(ann.run_id, owner="bob") is False
    assert [j.run_id for j in again.runs(owner=EVERYONE)] == [ann.run_id]


def test_after_a_restart_past_runs_are_listed_and_an_active_one_is_interrupted(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=3))
    done = manager.start(RunConfig(), owner="tester")
    manager.wait(done.run_id, timeout=10)
    # Simulate a run that was training when the process died: its state file still says "training".
    crashed = manager.start(RunConfig(), owner="tester")
    manager.wait(crashed.run_id, timeout=10)
    state = json.loads((crashed.run_dir / "state.json").read_text())
    state["phase"] = "training"
    (crashed.run_dir / "state.json").write_text(json.dumps(state))
    with (crashed.run_dir / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 4, "loss": 0.5')  # a line cut short by the crash

    again = RunManager(tmp_path, trainer=fake_trainer(steps=3))
    listed = {j.run_id: j for j in again.runs(owner=EVERYONE)}
    assert set(listed) == {done.run_id, crashed.run_id}
    assert listed[done.run_id].phase == "finished"
    assert [m["loss"] for m in listed[done.run_id].metrics] == [3.0, 1.5, 1.0]
    assert listed[crashed.run_id].phase == "interrupted"
    assert "resume" in listed[crashed.run_id].message
    assert "1 damaged line" in listed[crashed.run_id].message
    assert len(listed[crashed.run_id].metrics) == 3


def test_resume_needs_a_complete_checkpoint(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=3, fail_at=2))
    job = manager.start(RunConfig(), owner="tester")
    assert manager.wait(job.run_id, timeout=10).phase == "failed"
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        manager.resume(job.run_id, owner=EVERYONE)
    partial = job.run_dir / "checkpoints" / "checkpoint-1"
    partial.mkdir(parents=True)
    (partial / "adapter_model.safetensors").write_bytes(b"half")  # no trainer_state.json: cut short
    with pytest.raises(ConfigError, match="no complete checkpoint"):
        manager.resume(job.run_id, owner=EVERYONE)


def test_stop_takes_effect_at_the_next_step(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=1000, delay=0.01))
    job = manager.start(RunConfig(), owner="tester")
    while job.snapshot().step < 3:
        time.sleep(0.01)
    assert manager.stop(job.run_id, owner=EVERYONE) is True
    snap = manager.wait(job.run_id, timeout=10)
    assert snap.phase == "stopped"
    assert 3 <= snap.step < 1000
    assert manager.stop(job.run_id, owner=EVERYONE) is False  # nothing left to stop


def test_stop_before_training_began(tmp_path):
    def slow_preparation(job: Run) -> None:
        while not job.stop_requested:
            time.sleep(0.01)
        raise StopTraining()

    manager = RunManager(tmp_path, trainer=slow_preparation)
    job = manager.start(RunConfig(), owner="tester")
    manager.stop(job.run_id, owner=EVERYONE)
    assert manager.wait(job.run_id, timeout=10).phase == "stopped"


def test_an_exception_fails_the_run_readably_and_the_manager_stays_usable(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=5, fail_at=3))
    job = manager.start(RunConfig(), owner="tester")
    snap = manager.wait(job.run_id, timeout=10)
    assert snap.phase == "failed"
    assert "the fake trainer broke on purpose" in snap.error
    assert "Traceback" in snap.error_detail
    assert [m["step"] for m in snap.metrics] == [1, 2]  # what was logged before the failure is kept
    manager._trainer = fake_trainer(steps=2)
    assert manager.wait(manager.start(RunConfig(), owner="tester").run_id, timeout=10).phase == "finished"


def test_out_of_memory_is_explained(tmp_path):
    def oom(job: Run) -> None:
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    manager = RunManager(tmp_path, trainer=oom)
    snap = manager.wait(manager.start(RunConfig(), owner="tester").run_id, timeout=10)
    assert snap.phase == "failed"
    assert "smaller batch size" in snap.error


def test_jobs_are_listed_newest_first_and_run_ids_are_unguessable(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=1))
    ids = []
    for _ in range(3):
        ids.append(manager.start(RunConfig(), owner="tester").run_id)
        manager.wait(ids[-1], timeout=10)
    assert [j.run_id for j in manager.runs(owner=EVERYONE)] == ids[::-1]
    assert len({i.rsplit("-", 1)[1] for i in ids}) == 3  # random suffix
    assert all(len(i.rsplit("-", 1)[1]) == 24 for i in ids)  # 96 random bits


def test_a_row_limit_refuses_a_bigger_dataset_with_what_to_do_and_lets_a_smaller_one_train(tmp_path, local_paths):
    from core.runs.manager import TooManyRows

    rows = [
        {"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(30)
    ]
    data = local_paths / "upload"
    data.mkdir()
    (data / "train.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n\n")
    (data / "test.jsonl").write_text(json.dumps(rows[0]) + "\n")
    small = local_paths / "small.jsonl"
    small.write_text("\n".join(json.dumps(row) for row in rows[:21]))  # 21 rows: 1 held out, 20 to train
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1), limits=Limits(max_dataset_rows=20))
    with pytest.raises(TooManyRows, match="has 30 rows to train on; this Space trains at most 20 in one run"):
        manager.start(RunConfig(dataset=str(data)), owner="ann")
    with pytest.raises(TooManyRows, match="rows to train on"):  # a built-in demo is counted as it trains
        manager.start(RunConfig(), owner="ann")
    assert manager.summaries(owner="ann") == []  # nothing was queued
    run = manager.start(RunConfig(dataset=str(small)), owner="ann")
    assert manager.wait(run.run_id, timeout=10).phase == "finished"
