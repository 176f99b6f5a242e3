"""The whole-run time estimate: every part a run spends time on, measured runs preferred, and what a run took."""

from __future__ import annotations

import time

import pytest

from core.config import RunConfig
from core.run_time import actual_parts, estimate_run_time, measured_overheads
from core.runs.record import Run
from core.runs.store import RunFolder

pytestmark = pytest.mark.unit


def _finished_run(runs_dir, run_id: str, startup: float, sample_seconds: float, model: str = "m", dtype="") -> Run:
    folder = RunFolder(runs_dir / run_id)
    config = RunConfig(model_id=model, sample_every=20, max_steps=60)
    folder.create(config.to_dict())
    run = Run(run_id=run_id, config=config, folder=folder, owner="ann")
    run.created_at = 1000.0
    run.set_phase("training")
    run.started_at = 1000.0 + startup
    run.record_samples(0, ["a", "b", "c"], ["x", "y", "z"], sample_seconds, dtype)
    run.record_samples(20, ["a", "b", "c"], ["x", "y", "z"], sample_seconds, dtype)
    run.record_eval(20, {"eval_loss": 1.0, "eval_runtime": 3.2, "eval_samples_per_second": 10.0})
    run.record_metrics(1, {"loss": 2.0})
    run.step = 60
    run.set_phase("finished", "Finished 60 steps.")
    run.finished_at = run.started_at + 200.0
    run.save_state()
    return run


def test_the_estimate_counts_start_up_sampling_evaluation_and_saving_not_only_the_steps():
    config = RunConfig(max_steps=60, sample_every=20, eval_steps=20, max_eval_rows=32)
    estimate = estimate_run_time(config, 2.2, 60, n_probes=3, eval_rows=100, tokens_per_row=88)
    parts = dict(estimate.parts)
    assert parts["60 training steps"] == pytest.approx(132.0)
    assert parts["start-up"] == 6.0 and parts["4 rounds of sample answers"] == pytest.approx(4 * 5.6)
    assert "2 evaluations of 32 rows" in parts and parts["saving and checking"] == 5.0
    # the last step's evaluation reads every validation row (core/runs/train.py): ~3x the 32-row ones
    assert parts["a final evaluation of 100 rows"] == pytest.approx(parts["2 evaluations of 32 rows"] / 2 * 100 / 32)
    assert estimate.total_seconds == pytest.approx(sum(parts.values()))
    assert estimate.total_seconds > 1.4 * 132  # the steps alone were what the page used to show
    assert not estimate.measured
    quiet = estimate_run_time(RunConfig(sample_every=0, eval_steps=0), 2.2, 60, n_probes=0, eval_rows=0,
                              tokens_per_row=88)  # fmt: skip
    assert [name for name, _ in quiet.parts] == ["start-up", "60 training steps", "saving and checking"]


def test_measured_runs_of_the_same_model_replace_the_reference_figures(tmp_path):
    _finished_run(tmp_path, "queued-behind-another", startup=100.0, sample_seconds=4.0)
    _finished_run(tmp_path, "quick", startup=30.0, sample_seconds=6.0)
    _finished_run(tmp_path, "other-model", startup=1.0, sample_seconds=1.0, model="other")
    overheads = measured_overheads(tmp_path, "m")
    assert overheads.runs == 2 and overheads.startup_seconds == 30.0  # the fastest: a queue wait only adds
    assert overheads.sample_seconds == 5.0 and overheads.sample_tokens == 3 * 64
    assert overheads.eval_seconds_per_row == pytest.approx(0.1)
    config = RunConfig(max_steps=60, sample_every=20, sample_max_new_tokens=32, eval_steps=20, max_eval_rows=32)
    estimate = estimate_run_time(config, 2.0, 60, n_probes=3, eval_rows=50, tokens_per_row=88, overheads=overheads)
    parts = dict(estimate.parts)
    assert parts["start-up"] == 30.0 and parts["4 rounds of sample answers"] == pytest.approx(
        4 * 2.5
    )  # half the tokens
    assert parts["2 evaluations of 32 rows"] == pytest.approx(2 * 3.2) and estimate.measured
    assert parts["a final evaluation of 50 rows"] == pytest.approx(5.0)  # 0.1 s a row, measured
    assert measured_overheads(tmp_path, "never-trained") is None


def test_sample_answers_are_estimated_in_the_precision_that_will_answer_them(tmp_path):
    """core/sample_copy.py: a bfloat16 copy answers ~3x faster; float32 points must not slow its estimate, nor
    the copy's speed up a float32 one."""
    config = RunConfig(max_steps=60, sample_every=20)
    reference = {
        dtype: dict(estimate_run_time(config, 2.0, 60, n_probes=3, eval_rows=0, tokens_per_row=88, sample_dtype=dtype)
                    .parts)["4 rounds of sample answers"]
        for dtype in ("", "bfloat16")
    }  # fmt: skip
    assert reference == {"": pytest.approx(4 * 5.6), "bfloat16": pytest.approx(4 * 2.0)}
    _finished_run(tmp_path, "before-the-copy", startup=30.0, sample_seconds=6.0)
    _finished_run(tmp_path, "with-the-copy", startup=30.0, sample_seconds=1.5, dtype="bfloat16")
    assert measured_overheads(tmp_path, "m", "bfloat16").sample_seconds == 1.5
    assert measured_overheads(tmp_path, "m").sample_seconds == 6.0
    only_float32 = tmp_path / "only-float32"
    _finished_run(only_float32, "r", startup=30.0, sample_seconds=6.0)
    assert measured_overheads(only_float32, "m", "bfloat16").sample_seconds is None  # the reference figure then


def test_what_a_run_took_is_split_into_the_same_parts(tmp_path):
    run = _finished_run(tmp_path, "r", startup=40.0, sample_seconds=5.0)
    total, parts = actual_parts(run.snapshot())
    assert total == pytest.approx(240.0)
    assert dict(parts) == {
        "start-up": pytest.approx(40.0),
        "60 training steps and saving": pytest.approx(240.0 - 40.0 - 10.0 - 3.2),
        "sample answers": 10.0,
        "evaluation": 3.2,
    }
    run.set_phase("training")
    run.finished_at = None
    assert actual_parts(run.snapshot()) is None  # while it runs, the card shows the live clocks instead


def test_a_started_run_keeps_its_estimate_and_the_result_sets_it_beside_what_it_took(tmp_path):
    from ui.train_views import render_time_taken

    run = _finished_run(tmp_path, "r", startup=40.0, sample_seconds=5.0)
    run.folder.write_estimate({"total_seconds": 60.0, "parts": [], "measured": False})
    text = render_time_taken(run.snapshot())
    assert "Took 4 min 00 s</b> from Start: start-up 40 s" in text
    assert "Estimated at Start: 1 min 00 s, 4.0× longer (a busy machine" in text


def test_the_manager_writes_the_estimate_given_at_start(tmp_path):
    from core.runs.manager import RunManager
    from tests.fakes import fake_trainer

    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1))
    run = manager.start(RunConfig(max_steps=1), owner="ann", estimate={"total_seconds": 99.0, "parts": []})
    assert run.folder.read_estimate()["total_seconds"] == 99.0
    deadline = time.time() + 20
    while manager.snapshot(run.run_id, owner="ann").is_active and time.time() < deadline:
        time.sleep(0.05)
