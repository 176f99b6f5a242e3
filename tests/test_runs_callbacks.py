"""The training callbacks, each alone: no trainer, no model, a run record and TRL's own state objects."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")

from transformers import TrainerControl, TrainerState  # noqa: E402

from core.config import RunConfig  # noqa: E402
from core.runs.record import Run  # noqa: E402
from core.runs.store import RunFolder  # noqa: E402
from core.runs.train import CoachCallback  # noqa: E402
from core.runs.worker import StopSync  # noqa: E402


def _run(tmp_path, **settings) -> Run:
    folder = RunFolder(tmp_path / "run")
    config = RunConfig(sample_every=0, **settings)
    folder.create(config.to_dict())
    run = Run(run_id="run", config=config, folder=folder, owner="ann", phase="training")
    run.save_state()
    return run


def _state(step: int, max_steps: int = 10) -> TrainerState:
    state = TrainerState()
    state.global_step, state.max_steps = step, max_steps
    return state


def test_coach_callback_records_losses_evaluations_and_the_summary_in_the_run(tmp_path):
    run = _run(tmp_path)
    callback = CoachCallback(run, probes=[])
    callback.on_log(None, _state(1), TrainerControl(), logs={"loss": 2.5, "learning_rate": 1e-4, "flag": True})
    callback.on_log(None, _state(1), TrainerControl(), logs={"eval_loss": 2.0})
    callback.on_log(None, _state(1), TrainerControl(), logs={"train_runtime": 12.0, "train_loss": 2.4})
    assert [(m["step"], m["loss"]) for m in run.metrics] == [(1, 2.5)] and "flag" not in run.metrics[0]
    assert run.eval_metrics[0]["eval_loss"] == 2.0 and run.summary["train_runtime"] == 12.0
    assert [row["loss"] for row in run.folder.read_rows("metrics").rows] == [2.5]  # written through the store


def test_coach_callback_turns_stop_into_should_training_stop_and_a_save_at_the_next_step_end(tmp_path):
    run = _run(tmp_path)
    callback = CoachCallback(run, probes=[])
    control = callback.on_step_end(None, _state(3), TrainerControl())
    assert not control.should_training_stop and run.step == 3
    run.request_stop()
    assert run.phase == "stopping"
    control = callback.on_step_end(None, _state(4), TrainerControl())
    assert control.should_training_stop and control.should_save and run.step == 4


def test_stop_sync_reads_the_stop_flag_at_the_step_end(tmp_path, monkeypatch):
    monkeypatch.delenv("SFT_COACH_APP_PID", raising=False)
    run = _run(tmp_path)
    sync = StopSync(run)
    args = type("Args", (), {"device": "cpu"})()
    sync.on_step_end(args, _state(1), TrainerControl())
    assert not run.stop_requested
    run.folder.request_stop()  # what the app's launcher writes when Stop is pressed
    control = sync.on_step_end(args, _state(2), TrainerControl())
    assert run.stop_requested and not control.should_training_stop  # CoachCallback, next in line, stops it


def test_stop_sync_saves_and_leaves_when_the_app_is_gone(tmp_path, monkeypatch):
    monkeypatch.setenv("SFT_COACH_APP_PID", "999999999")  # no such process
    sync = StopSync(_run(tmp_path))
    control = sync.on_step_end(type("Args", (), {"device": "cpu"})(), _state(5), TrainerControl())
    assert control.should_save and control.should_training_stop and sync.orphaned


def test_the_end_of_a_run_is_decided_in_one_place(tmp_path):
    finished = _run(tmp_path / "a")
    finished.set_result(str(finished.folder.final_dir), "ok")
    finished.step = 6
    finished.conclude()
    assert finished.phase == "finished" and finished.message.startswith("Finished 6 steps; the LoRA adapter is saved")
    stopped = _run(tmp_path / "b")
    stopped.request_stop()
    stopped.conclude()
    assert stopped.phase == "stopped"
    failed = _run(tmp_path / "c")
    try:
        raise MemoryError("CUDA out of memory")
    except MemoryError as err:
        failed.conclude(err)
    assert failed.phase == "failed" and "ran out of memory" in failed.error and "MemoryError" in failed.error_detail
    assert RunFolder(failed.run_dir).read_state()["phase"] == "failed"
    failed.conclude()  # a run that ended stays as it ended
    assert failed.phase == "failed"


def test_a_stop_that_lands_as_the_last_step_ends_is_a_finished_run_with_nothing_to_resume(tmp_path):
    from core.config import ConfigError
    from tests.run_folders import make_checkpoint

    run = _run(tmp_path)
    run.total_steps = run.step = 8
    make_checkpoint(run.run_dir, 8)
    run.set_result(str(run.folder.final_dir), "ok")
    run.request_stop()
    run.conclude()
    assert run.phase == "finished" and "Finished 8 steps" in run.message
    run.phase = "stopped"  # as an older version recorded it
    with pytest.raises(ConfigError, match="already trained all its 8 steps: nothing is left to resume"):
        run.rewind_to_checkpoint()
    assert run.phase == "stopped" and run.resume_from is None  # the refusal changed nothing
