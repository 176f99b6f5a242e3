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


def test_the_sample_answers_count_their_tokens_and_stop_pressed_midway_ends_them_unrecorded(tmp_path, monkeypatch):
    """Step-0 samples take a minute on a CPU: the page sees each token counted, and Stop ends them at once."""
    import core.generation
    from core.generation import GenerationResult

    run = _run(tmp_path)
    run.watch_stop_flag = True  # a one-process worker reads Stop from the folder itself
    seen = []

    def generate_answers(model, tokenizer, prompts, max_new_tokens, *, should_stop, progress):
        for token in range(1, max_new_tokens + 1):
            if token == 5:
                run.folder.request_stop()  # what the app writes when Stop is pressed, between two tokens
            progress(token, max_new_tokens)
            seen.append((run.message, run.activity_since))
            callback.said_at = 0.0  # let every token through the once-a-second limit
            if should_stop():
                return GenerationResult(["half"] * len(prompts), 1.0, stopped=True)
        return GenerationResult(["full"] * len(prompts), 1.0)

    monkeypatch.setattr(core.generation, "generate_answers", generate_answers)
    probes = [{"messages": [{"role": "user", "content": "2+2?"}]}, {"messages": [{"role": "user", "content": "3+3?"}]}]
    callback = CoachCallback(run, probes)
    callback.on_train_begin(None, _state(0), TrainerControl())
    assert seen[1][0].endswith("held-out prompts at step 0: 2 of at most 64 tokens.")
    assert len({since for _, since in seen[:4]}) == 1  # one activity: its clock is not reset by each token
    assert seen[4][0].startswith("Stop pressed: ending the sample answers now") and len(seen) == 5
    assert run.samples == []  # half answers are never recorded


def test_an_evaluation_counts_its_batches_and_says_when_stop_waits_for_it(tmp_path):
    run = _run(tmp_path)
    callback = CoachCallback(run, probes=[])
    batches = list(range(7))
    for _ in range(3):
        callback.said_at = 0.0
        callback.on_prediction_step(None, _state(20), TrainerControl(), eval_dataloader=batches)
    assert run.message == "Evaluating on the validation rows at step 20: batch 3 of 7."
    run.request_stop()
    callback.said_at = 0.0
    callback.on_prediction_step(None, _state(20), TrainerControl(), eval_dataloader=batches)
    assert run.message.startswith("Stop pressed: ending the evaluation now") and "batch 4 of 7" in run.message
    callback.on_evaluate(None, _state(20), TrainerControl())
    assert callback.eval_batches == 0 and run.message.startswith("Stop pressed")  # not "Training." after Stop


def test_a_mirror_keeps_the_workers_stop_message_and_counts_an_activity_once(tmp_path):
    run = _run(tmp_path)
    run.set_message("Generating sample answers…")
    started = run.activity_since
    run.set_message("Generating sample answers: 3 of at most 64 tokens.", progress=True)
    assert run.activity_since == started
    mirror = Run(run_id="run", config=run.config, folder=run.folder, owner="ann", writes=False)
    mirror.stop_event.set()
    mirror.adopt({"phase": "training", "message": "Stop pressed: ending the evaluation now …"}, {}, None)
    assert mirror.phase == "stopping" and mirror.message.startswith("Stop pressed: ending the evaluation")
    mirror.adopt({"phase": "training", "message": "Training.", "activity_since": started}, {}, None)
    assert mirror.message.startswith("Stopping now") and mirror.activity_since == started


def test_the_base_models_step_0_answers_are_computed_once_and_read_by_the_next_run(tmp_path, monkeypatch):
    """Nothing is trained at step 0, so a second run of the same model and prompts shows them at once."""
    import core.generation
    from core import sample_copy
    from core.generation import GenerationResult
    from core.runs.baseline import baseline_key

    monkeypatch.setenv("SFT_COACH_DATA", str(tmp_path / "data"))
    # The device would answer with a bf16 copy, but this run's model gets none (here: no model at all, as a model
    # too big for the copy): the key follows the model, not the device, or a table mixes the two kinds.
    monkeypatch.setattr(sample_copy, "_cpu_bf16", lambda: True)
    assert sample_copy.used_on("cpu")
    calls = []

    def generate_answers(model, tokenizer, prompts, max_new_tokens, *, should_stop, progress):
        calls.append(len(prompts))
        return GenerationResult(["base answer"] * len(prompts), 4.0)

    monkeypatch.setattr(core.generation, "generate_answers", generate_answers)
    probes = [{"messages": [{"role": "user", "content": "2+2?"}]}]
    (tmp_path / "model").mkdir()
    asked = []

    def key(dtype: str) -> str:  # what RunInputs.baseline gives the callback: the key for a precision
        asked.append(dtype)
        return baseline_key(tmp_path / "model", "template", [p["messages"] for p in probes], 64, "lora", dtype)

    first, second = _run(tmp_path / "a"), _run(tmp_path / "b")
    CoachCallback(first, probes, key).on_train_begin(None, _state(0), TrainerControl())
    CoachCallback(second, probes, key).on_train_begin(None, _state(0), TrainerControl())
    assert calls == [1]  # generated once
    kept = {"step": 0, "prompts": ["2+2?"], "answers": ["base answer"], "seconds": 0.0, "dtype": ""}
    assert second.samples == [kept]
    later = CoachCallback(second, probes, key)
    later.on_step_end(None, _state(10), TrainerControl())  # sample_every=0 here: no sampling between steps
    later.on_train_end(None, _state(10), TrainerControl())
    assert calls == [1, 1]  # after step 0 the model has changed: always generated
    assert asked == ["", "", ""]  # no model here, so no bfloat16 copy: read, written, then read under one key
    other = baseline_key(tmp_path / "model", "template", [p["messages"] for p in probes], 64, "qlora", "")
    assert other != key("")  # a 4-bit base answers differently


def test_a_settled_worker_collects_its_garbage_and_hides_what_lives_from_the_collector():
    """core/runs/worker.py ``settle``: done while the standby waits, so Trainer.train's full collection is short."""
    import gc
    import weakref

    from core.runs.worker import settle

    class Node:
        pass

    def cycle() -> weakref.ref:
        node = Node()
        node.me = node  # only the cyclic collector frees it
        return weakref.ref(node)

    gone, alive = cycle(), [Node() for _ in range(1000)]
    try:
        settle()
        assert gone() is None
        assert gc.get_freeze_count() >= len(alive)
        after = len(gc.get_objects())  # the collector's generations hold only what was made since
        assert after < gc.get_freeze_count() / 10
        # An object frozen by one head start that becomes garbage later is freed by the next settle.
        node = alive.pop()
        node.me, frozen = node, weakref.ref(node)
        del node
        settle(collect=False)
        assert frozen() is not None  # the cold path's freeze does not collect
        settle()
        assert frozen() is None
    finally:
        gc.unfreeze()
