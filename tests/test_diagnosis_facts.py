"""A run's loss facts (core/diagnosis/facts.py): one set of numbers, and what the run's settings and data add."""

from __future__ import annotations

import json

from core.config import RunConfig
from core.data.export import write_training_folder
from core.data.prepare import load_demo_rows
from core.diagnosis.facts import RunContext, loss_facts, run_context


def test_the_facts_of_logged_entries():
    metrics = [{"step": s, "loss": 3.0 - 0.1 * s, "grad_norm": 0.5} for s in range(1, 21)]
    facts = loss_facts(metrics, [{"step": 10, "eval_loss": 2.5}, {"step": 20, "eval_loss": 2.2}], 60)
    assert facts.first == (1.0, 2.9) and facts.latest == (20.0, 1.0) and facts.steps_done == 20
    assert facts.latest_eval == (20.0, 2.2) and facts.best_eval == (20.0, 2.2) and facts.lowest == (20.0, 1.0)
    assert facts.start_level == 2.7 and facts.window == 10 and round(facts.recent_level, 3) == 1.45
    assert round(facts.train_level_at(10), 3) == 2.45 and facts.progress == 20 / 60
    assert loss_facts([], None).first is None and loss_facts([], None).recent_level is None


def test_the_next_validation_point_follows_the_schedule_and_the_run_length():
    every_20 = RunContext(validation_split=True, eval_every=20)
    metrics = [{"step": s, "loss": 1.0} for s in range(1, 15)]
    assert loss_facts(metrics, [], 60, every_20).next_eval_step == 20
    assert loss_facts(metrics, [{"step": 20, "eval_loss": 1.0}], 60, every_20).next_eval_step == 40
    assert loss_facts(metrics, [{"step": 60, "eval_loss": 1.0}], 60, every_20).next_eval_step is None  # run over
    assert loss_facts(metrics, [], 60, RunContext(validation_split=False, eval_every=20)).next_eval_step is None
    assert loss_facts(metrics, [], 60, RunContext(validation_split=True, eval_every=0)).next_eval_step is None


def test_a_runs_context_comes_from_its_settings_and_its_rows(tmp_path):
    demo = run_context(RunConfig().to_dict())  # the app's defaults: the JSON demo, validation every 20 steps
    assert demo == RunContext(validation_split=True, eval_every=20, templated=True, task="json_extraction")
    train, test, _ = load_demo_rows("json_extraction")
    committed = write_training_folder(train, test, tmp_path / "json-extraction-20260101-120000-abcdef")
    assert run_context({"dataset": str(committed), "eval_steps": 20}) == demo  # the rows decide, not the name
    few = tmp_path / "few.jsonl"
    few.write_text("".join(json.dumps({"prompt": f"q{i}", "completion": "a"}) + "\n" for i in range(5)))
    assert run_context({"dataset": str(few), "eval_steps": 20}) == RunContext(validation_split=False, eval_every=20)
    assert run_context({"dataset": str(tmp_path / "moved"), "eval_steps": 0}) == RunContext(eval_every=0)
