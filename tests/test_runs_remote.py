"""A run on Hugging Face Jobs in the run list, followed through the fake Hub (tests/fake_hub.py) by the real
client: its curve and logs update, Cancel reaches the Job, the finished adapter is downloaded where Try it
finds it, a restart keeps following it, and nobody else sees or touches it."""

from __future__ import annotations

import json

import pytest

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from core.recipe import JOB_METRICS_FILE
from core.runs.manager import RunManager
from core.runs.remote import submit_to_jobs
from tests.devices import CPU
from tests.fake_hub import TOKEN, FakeJobs
from tests.run_folders import make_adapter

ANN, BOB = "session:ann", "session:bob"


def _no_local_training(run):
    raise AssertionError(f"a remote run went to the local trainer: {run.run_id}")


@pytest.fixture()
def hub(fake_hub_url, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)  # what a restarted app follows with: the token is never on disk


def _submit(manager: RunManager, owner: str = ANN):
    config = RunConfig(model_id=TINY_MODEL_ID, max_steps=4, sample_every=0)
    run = submit_to_jobs(
        manager, owner, config, CPU, dataset_repo="ann/data", output_repo="ann/model", token=TOKEN, flavor="t4-small"
    )
    return run, (run.folder.read_remote() or {})["job_id"]


def _push_rows(*losses: float) -> None:
    rows = [{"step": i, "time": 100.0 + i, "loss": loss, "max_steps": 4} for i, loss in enumerate(losses, 1)]
    FakeJobs.push_file("ann/model", JOB_METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows).encode())


def test_a_job_is_a_run_of_its_owner_to_its_adapter_through_a_restart(hub, tmp_path, tiny_model_path):
    manager = RunManager(tmp_path / "runs", trainer=_no_local_training)
    run, job_id = _submit(manager)
    assert [s.run_id for s in manager.summaries(ANN)] == [run.run_id] and manager.is_remote(run.run_id)
    assert FakeJobs.jobs[job_id]["flavor"] == "t4-small"
    # another person: no run listed, none readable or stoppable by its id
    assert manager.summaries(BOB) == [] and manager.snapshot(run.run_id, BOB) is None
    assert manager.stop(run.run_id, BOB) is False and FakeJobs.cancels == []

    FakeJobs.set_stage(job_id, "RUNNING")
    FakeJobs.add_logs(job_id, "Downloading the model", "{'loss': 2.1, 'step': 2}")
    _push_rows(2.5, 2.1)
    manager.remote.look(run)
    snapshot = manager.snapshot(run.run_id, ANN)
    assert snapshot.phase == "training" and [m["loss"] for m in snapshot.metrics] == [2.5, 2.1]
    assert (snapshot.step, snapshot.total_steps) == (2, 4)
    assert (
        "step 2 of 4" in snapshot.message and "GPU 87 % busy" in snapshot.message and "'loss': 2.1" in snapshot.message
    )

    restarted = RunManager(tmp_path / "runs", trainer=_no_local_training)  # the app restarts; the Job trains on
    again = restarted.get(run.run_id, ANN)
    assert again.phase == "training" and restarted.is_remote(run.run_id) and len(again.metrics) == 2
    _push_rows(2.5, 2.1, 1.4, 0.9)
    make_adapter(tiny_model_path, tmp_path / "adapter")  # what the Job's trainer pushed at its end
    for path in (tmp_path / "adapter").rglob("*"):
        if path.is_file():
            FakeJobs.push_file("ann/model", str(path.relative_to(tmp_path / "adapter")), path.read_bytes())
    FakeJobs.set_stage(job_id, "COMPLETED")
    restarted.remote.look(again)
    done = restarted.snapshot(run.run_id, ANN)
    assert done.phase == "finished" and [m["loss"] for m in done.metrics] == [2.5, 2.1, 1.4, 0.9]
    assert done.result_dir == str(again.folder.final_dir) and "Hugging Face Jobs" in done.message

    from core.models.catalog import load_trained_model
    from core.models.refs import model_refs_for

    assert done.result_dir in {ref.ref for ref in model_refs_for(ANN, restarted)}  # Try it's picker
    assert done.result_dir not in {ref.ref for ref in model_refs_for(BOB, restarted)}
    model, _ = load_trained_model(done.result_dir)
    assert model.peft_config  # the adapter on the tiny base, like a local run's result
    assert TOKEN not in "".join(p.read_text(errors="replace") for p in again.folder.path.glob("*.json*"))


def test_cancel_reaches_the_job_and_ends_the_run(hub, tmp_path):
    manager = RunManager(tmp_path / "runs", trainer=_no_local_training)
    run, job_id = _submit(manager)
    FakeJobs.set_stage(job_id, "RUNNING")
    assert manager.stop(run.run_id, ANN) is True
    assert FakeJobs.cancels == [job_id]
    snapshot = manager.snapshot(run.run_id, ANN)
    assert snapshot.phase == "cancelled" and "Cancelled on Hugging Face Jobs" in snapshot.message
    assert manager.stop(run.run_id, ANN) is False  # ended: nothing more to cancel
