"""Faults a shared Space meets: the disk filling up (while a checkpoint, or the run's own files, are written), and
the Hub out of reach.

A full disk fails the run with a sentence that says so, where, and what to do; every metric up to the
failure stays on disk; the checkpoint cut short is never resumed from, the one before it is; and the job
manager goes on to the next run; a disk still full as the run is marked failed gets that mark into state.json at
the first read after space is freed, and an app restarted meanwhile starts (SECURITY.md, "Faults"). Training runs
in the manager's thread here (``SFT_COACH_TRAIN_IN=thread``), so the fault can be injected into this process.
"""

from __future__ import annotations

import errno
import os

import pytest

from core.config import RunConfig
from core.models.catalog import OFFLINE_MODEL_ID, TINY_MODEL_ID
from core.owners import EVERYONE
from core.runs.failures import describe_exception, is_disk_full
from core.runs.manager import RunManager
from core.runs.store import RunFolder
from tests.fakes import fake_trainer

SAVE_STEPS = 2
FAILING_STEP = 2 * SAVE_STEPS  # the second checkpoint hits the full disk


def _settings(**changes) -> RunConfig:
    values = dict(
        model_id=TINY_MODEL_ID,
        max_steps=6,
        save_steps=SAVE_STEPS,
        eval_steps=0,
        sample_every=0,
        num_probe_prompts=0,
    )
    return RunConfig(**{**values, **changes})


@pytest.fixture
def thread_mode(monkeypatch):
    monkeypatch.setenv("SFT_COACH_TRAIN_IN", "thread")


def _fill_disk_at_second_checkpoint(monkeypatch):
    """Make torch.save of the 2nd checkpoint's optimizer state write a few bytes, then fail like a full disk.

    Returns the paths that failed, and a function that frees the space again.
    """
    import torch

    real_save = torch.save
    failed: list[str] = []

    def save(obj, f, *args, **kwargs):
        path = str(f)
        if path.endswith("optimizer.pt") and f"checkpoint-{FAILING_STEP}" in path:
            with open(path, "wb") as handle:
                handle.write(b"PK\x03\x04 cut short")  # what a full disk leaves behind: the start of the file
            failed.append(path)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    return failed, lambda: monkeypatch.setattr(torch, "save", real_save)


def test_a_full_disk_while_checkpointing_fails_clearly_and_the_run_resumes(
    tmp_path, tiny_model_path, thread_mode, monkeypatch
):
    failed_saves, free_space = _fill_disk_at_second_checkpoint(monkeypatch)
    manager = RunManager(tmp_path / "runs")
    job = manager.start(_settings(), owner="tester")
    snap = manager.wait(job.run_id, timeout=600)

    assert failed_saves, "the fault was never injected"
    assert snap.phase == "failed", snap.error_detail
    assert "disk is full" in snap.error
    assert str(job.run_dir) in snap.error  # where
    assert "Free some space" in snap.error and "save_total_limit" in snap.error  # what to do
    assert "No space left on device" in snap.error_detail

    # Every logged step up to the failure is on disk, no line damaged.
    metrics = RunFolder(job.run_dir).read_rows("metrics")
    assert metrics.skipped == 0
    assert [row["step"] for row in metrics.rows] == list(range(1, FAILING_STEP + 1))

    # The checkpoint cut short is there but not complete; the one before it is what resume will use.
    checkpoints = {c.step: c.complete for c in RunFolder(job.run_dir).checkpoints()}
    assert checkpoints == {SAVE_STEPS: True, FAILING_STEP: False}
    assert RunFolder(job.run_dir).last_complete_checkpoint().step == SAVE_STEPS

    # A restarted app lists the run as failed (resumable), not as lost.
    assert RunManager(tmp_path / "runs").get(job.run_id, owner=EVERYONE).phase == "failed"

    # The manager keeps working: the next run starts and finishes.
    free_space()
    other = manager.start(_settings(max_steps=1, save_steps=0), owner="tester")
    assert manager.wait(other.run_id, timeout=600).phase == "finished"

    # Resume continues from the complete checkpoint (step 2), through the damaged one's step, to the end.
    manager.resume(job.run_id, owner=EVERYONE)
    final = manager.wait(job.run_id, timeout=600)
    assert final.phase == "finished", final.error_detail
    assert [m["step"] for m in final.metrics] == list(range(1, 7))  # no step lost, none counted twice
    assert RunFolder(job.run_dir).read_rows("metrics").rows == final.metrics
    assert all(c.complete for c in RunFolder(job.run_dir).checkpoints())  # the step-4 folder was written again in full
    assert final.load_check.startswith("Reloaded from disk")


class _DiskFullFromStep:
    """The run folder's writers (core/runs/store.py), refusing every write from ``step``'s metrics row on.

    ``full = False`` frees the space again, for good.
    """

    def __init__(self, monkeypatch, step: int) -> None:
        import core.runs.store

        self.full = False
        self.fills_at: int | None = step
        write_json, append_jsonl = core.runs.store._write_json, core.runs.store._append_jsonl

        def refuse(path) -> None:
            if self.full:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

        def append(path, entry, durable=False):
            if path.name == "metrics.jsonl" and entry["step"] == self.fills_at:
                self.full, self.fills_at = True, None
            refuse(path)
            append_jsonl(path, entry, durable)

        def write(path, payload):
            refuse(path)
            write_json(path, payload)

        monkeypatch.setattr(core.runs.store, "_append_jsonl", append)
        monkeypatch.setattr(core.runs.store, "_write_json", write)


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # nothing escapes the manager
def test_a_disk_still_full_as_the_run_fails_gets_the_failed_mark_on_disk_once_there_is_room(tmp_path, monkeypatch):
    disk = _DiskFullFromStep(monkeypatch, step=3)
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=5))
    job = manager.start(RunConfig(), owner="tester")
    snap = manager.wait(job.run_id, timeout=10)
    assert snap.phase == "failed" and snap.error.startswith("The disk is full"), snap.error_detail
    assert RunFolder(job.run_dir).read_state()["phase"] == "training"  # the mark cannot reach the disk yet
    assert [row["step"] for row in RunFolder(job.run_dir).read_rows("metrics").rows] == [1, 2]  # nothing lost
    assert manager.snapshot(job.run_id, owner=EVERYONE).phase == "failed"  # the page says so all along
    assert (
        RunManager(tmp_path / "runs").get(job.run_id, owner=EVERYONE).phase == "interrupted"
    )  # a restart now: starts, resumable

    disk.full = False  # space is freed; the page's next poll writes the mark
    assert [j.run_id for j in manager.runs(owner=EVERYONE)] == [job.run_id]
    state = RunFolder(job.run_dir).read_state()
    assert (state["phase"], state["error"]) == ("failed", snap.error)
    again = RunManager(tmp_path / "runs").get(
        job.run_id, owner=EVERYONE
    )  # a restart now lists it as failed, with the reason
    assert (again.phase, again.error) == ("failed", snap.error)
    assert (
        manager.wait(manager.start(RunConfig(), owner="tester").run_id, timeout=10).phase == "finished"
    )  # and runs go on


@pytest.mark.parametrize(
    "err",
    [
        OSError(errno.ENOSPC, "No space left on device", "/data/runs/r1/checkpoints/checkpoint-40/optimizer.pt"),
        OSError(errno.EDQUOT, "Disk quota exceeded"),
        # torch.save's C++ writer loses the errno:
        RuntimeError(
            "[enforce fail at inline_container.cc:626] . PytorchStreamWriter failed writing file data/3: "
            "file write failed"
        ),  # fmt: skip
        # safetensors' Rust writer:
        Exception('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left" })'),
    ],
    ids=["enospc", "quota", "torch-writer", "safetensors-writer"],
)
def test_every_way_a_full_disk_surfaces_is_recognised(err):
    assert is_disk_full(err)
    message = describe_exception(err, "/data/runs/r1")
    assert message.startswith("The disk is full: saving to /data/runs/r1 failed.")
    assert "save_total_limit" in message and "resume" in message


def test_a_full_disk_hidden_behind_a_wrapper_is_recognised_and_located():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/data/runs/r2/metrics.jsonl")
        except OSError as inner:
            raise RuntimeError("callback failed") from inner
    except RuntimeError as outer:
        message = describe_exception(outer)  # no run folder given (the worker process): the file's folder
    assert message.startswith("The disk is full: saving to /data/runs/r2 failed.")


def test_other_errors_are_not_taken_for_a_full_disk():
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied", "/data/runs"))
    assert not is_disk_full(ValueError("shapes do not match"))
    assert describe_exception(ValueError("shapes do not match")) == "ValueError: shapes do not match"


def test_a_hub_model_during_a_hub_outage_fails_the_run_with_what_to_do(tmp_path, thread_mode, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    manager = RunManager(tmp_path / "runs")
    snap = manager.wait(
        manager.start(_settings(model_id="HuggingFaceTB/SmolLM2-360M-Instruct"), owner="tester").run_id, 120
    )
    assert snap.phase == "failed"
    assert snap.error.startswith("Could not reach the Hugging Face Hub to get 'HuggingFaceTB/SmolLM2-360M-Instruct'")
    assert OFFLINE_MODEL_ID in snap.error  # what to pick instead
    assert "ModelUnavailableError" not in snap.error  # a sentence, not a class name


def test_a_hub_model_with_hf_hub_offline_set_says_so(tmp_path, thread_mode, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    manager = RunManager(tmp_path / "runs")
    snap = manager.wait(
        manager.start(_settings(model_id="HuggingFaceTB/SmolLM2-360M-Instruct"), owner="tester").run_id, 120
    )
    assert snap.phase == "failed"
    assert "HF_HUB_OFFLINE is set" in snap.error and OFFLINE_MODEL_ID in snap.error
