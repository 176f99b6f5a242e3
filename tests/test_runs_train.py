"""Real TRL training through the run manager: the tiny model for speed, the offline SmolLM2 for the real thing."""

from __future__ import annotations

import json
import math
import time

import pytest

from core.config import RunConfig
from core.models.catalog import OFFLINE_MODEL_ID, TINY_MODEL_ID, load_trained_model
from core.owners import EVERYONE
from core.runs.manager import RunManager


def _train(tmp_path, **settings):
    manager = RunManager(tmp_path / "runs")
    job = manager.start(RunConfig(**settings), owner="tester")
    return manager, job, manager.wait(job.run_id, timeout=900)


def test_tiny_model_trains_on_the_json_demo_and_records_everything(tmp_path, tiny_model_path):
    _, job, snap = _train(tmp_path, model_id=TINY_MODEL_ID, max_steps=4, sample_every=2, sample_max_new_tokens=8)
    assert snap.phase == "finished", snap.error_detail
    assert [m["step"] for m in snap.metrics] == [1, 2, 3, 4]
    for key in ("loss", "learning_rate", "grad_norm", "mean_token_accuracy", "entropy", "num_tokens", "epoch"):
        assert key in snap.metrics[-1], key
    assert [s["step"] for s in snap.samples] == [0, 2, 4]
    assert len(snap.probes) == 3 and all(p["reference"].startswith("{") for p in snap.probes)
    lines = (job.run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]
    assert (job.run_dir / "final" / "adapter_config.json").is_file()
    assert snap.load_check.startswith("Reloaded from disk")
    trained_with = json.loads((job.run_dir / "trained-with.json").read_text())  # what Try it fills in
    assert trained_with == {"system_prompt": "Extract the facts from the text as a JSON object."}


def test_own_probe_prompts_are_answered_next_to_the_held_out_ones(tmp_path, tiny_model_path):
    own = "Extract: Ada Lovelace, 36, lives in London."
    _, _, snap = _train(
        tmp_path, model_id=TINY_MODEL_ID, max_steps=2, sample_every=0, sample_max_new_tokens=4, probe_prompts=[own]
    )
    assert snap.phase == "finished", snap.error_detail
    assert [p["prompt"] for p in snap.probes][-1] == own and snap.probes[-1]["reference"] == ""
    assert all(s["prompts"][-1] == own and len(s["answers"]) == 4 for s in snap.samples)


def test_word_problems_demo_trains_as_prompt_completion(tmp_path, tiny_model_path):
    _, _, snap = _train(
        tmp_path, model_id=TINY_MODEL_ID, dataset="word_problems", max_steps=2, sample_every=0, sample_max_new_tokens=4
    )
    assert snap.phase == "finished", snap.error_detail
    assert "<think>" in snap.probes[0]["reference"]


def test_full_fine_tune_saves_a_whole_model(tmp_path, tiny_model_path):
    _, job, snap = _train(
        tmp_path,
        model_id=TINY_MODEL_ID,
        method="full",
        max_steps=2,
        sample_every=0,
        num_probe_prompts=1,
        sample_max_new_tokens=4,
    )
    assert snap.phase == "finished", snap.error_detail
    assert (job.run_dir / "final" / "config.json").is_file()


def test_stop_mid_run_saves_what_was_trained(tmp_path, tiny_model_path):
    manager = RunManager(tmp_path / "runs")
    job = manager.start(
        RunConfig(model_id=TINY_MODEL_ID, max_steps=400, sample_every=0, num_probe_prompts=1, sample_max_new_tokens=4),
        owner="tester",
    )
    deadline = time.time() + 300
    while job.snapshot().step < 3 and time.time() < deadline:
        time.sleep(0.05)
    assert manager.stop(job.run_id, owner=EVERYONE)
    snap = manager.wait(job.run_id, timeout=300)
    assert snap.phase == "stopped", snap.error_detail
    assert 3 <= snap.step < 400
    assert (job.run_dir / "final" / "adapter_config.json").is_file()


def test_a_broken_dataset_fails_the_run_and_the_manager_keeps_working(tmp_path, tiny_model_path, local_paths):
    bad = local_paths / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{not json\n')
    manager = RunManager(tmp_path / "runs")
    snap = manager.wait(
        manager.start(RunConfig(model_id=TINY_MODEL_ID, dataset=str(bad)), owner="tester").run_id, timeout=300
    )
    assert snap.phase == "failed"
    assert "line 2" in snap.error
    good = manager.start(
        RunConfig(model_id=TINY_MODEL_ID, max_steps=1, sample_every=0, num_probe_prompts=0), owner="tester"
    )
    assert manager.wait(good.run_id, timeout=300).phase == "finished"


@pytest.mark.slow
def test_offline_smollm2_learns_the_json_format(tmp_path, offline_model_path):
    """The real thing: a few steps of the Quick demo on SmolLM2-135M; the loss falls and the result reloads."""
    _, job, snap = _train(
        tmp_path,
        model_id=OFFLINE_MODEL_ID,
        max_steps=12,
        sample_every=0,
        num_probe_prompts=2,
        sample_max_new_tokens=48,
    )
    assert snap.phase == "finished", snap.error_detail
    losses = [m["loss"] for m in snap.metrics]
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < 0.6 * sum(losses[:3]) / 3, losses
    first, last = snap.samples[0], snap.samples[-1]
    assert (first["step"], last["step"]) == (0, 12)
    assert all(answer.lstrip().startswith("{") for answer in last["answers"]), last["answers"]
    model, tokenizer = load_trained_model(job.run_dir / "final")
    assert model.peft_config  # the LoRA adapter was applied on top of the reloaded base


def test_resume_continues_the_step_count_and_the_learning_rate_schedule(tmp_path, tiny_model_path):
    # 16 steps: Stop reaches the worker within about a second (the app mirrors the run twice a second); with 8,
    # a loaded machine's worker could reach the last step first, and there is nothing to resume then.
    settings = dict(
        model_id=TINY_MODEL_ID, max_steps=16, save_steps=2, eval_steps=0, sample_every=0, num_probe_prompts=0
    )
    _, _, straight = _train(tmp_path / "straight", **settings)
    expected_lr = {m["step"]: m["learning_rate"] for m in straight.metrics}

    manager = RunManager(tmp_path / "runs")
    job = manager.start(RunConfig(**settings), owner="tester")
    while job.snapshot().step < 3 and job.snapshot().is_active:
        time.sleep(0.02)
    manager.stop(job.run_id, owner=EVERYONE)
    stopped = manager.wait(job.run_id, timeout=300)
    assert stopped.phase == "stopped", stopped.error_detail
    resumed_from = stopped.step
    manager.resume(job.run_id, owner=EVERYONE)
    final = manager.wait(job.run_id, timeout=300)
    assert final.phase == "finished", final.error_detail
    assert [m["step"] for m in final.metrics] == list(range(1, 17)), (resumed_from, [m["step"] for m in final.metrics])
    assert resumed_from < 16
    for entry in final.metrics:
        assert entry["learning_rate"] == pytest.approx(expected_lr[entry["step"]], rel=1e-6), entry


def test_validation_loss_is_measured_during_training(tmp_path, tiny_model_path):
    _, job, snap = _train(
        tmp_path,
        model_id=TINY_MODEL_ID,
        max_steps=5,
        eval_steps=2,
        max_eval_rows=8,
        sample_every=0,
        num_probe_prompts=0,
    )
    assert snap.phase == "finished", snap.error_detail
    # Every 2 steps on the first 8 validation rows, and the last step (not a multiple of 2) on all 100 of them.
    assert [(e["step"], e["eval_rows"]) for e in snap.eval_metrics] == [(2, 8), (4, 8), (5, 100)]
    assert all(e["eval_loss"] > 0 for e in snap.eval_metrics)
    assert (job.run_dir / "eval.jsonl").is_file()


@pytest.mark.slow
def test_offline_smollm2_trains_on_the_tool_calling_demo(tmp_path, offline_model_path):
    """Tool rows train on SmolLM2 (its template can't render tools: they go in as Hermes-style text)."""
    _, _, snap = _train(
        tmp_path,
        model_id=OFFLINE_MODEL_ID,
        dataset="tool_calling",
        max_steps=10,
        sample_every=0,
        num_probe_prompts=1,
        sample_max_new_tokens=8,
    )
    assert snap.phase == "finished", snap.error_detail
    losses = [m["loss"] for m in snap.metrics]
    assert len(losses) == 10 and all(math.isfinite(loss) for loss in losses)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3, losses
    assert snap.probes[0]["reference"].startswith("<tool_call>\n{")
