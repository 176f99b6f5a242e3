"""The Train step's views: every checkpoint with its validation loss; a status card quoting the diagnosis' numbers."""

from __future__ import annotations

import json

from core.config import RunConfig
from core.runs.record import RunSnapshot
from tests.run_folders import make_checkpoint
from ui.train_views import render_checkpoints, render_status


def test_checkpoints_are_listed_newest_first_with_eval_loss_best_and_partial_ones_marked(tmp_path):
    run_dir = tmp_path / "run<script>"
    for step, loss in ((20, 0.61), (40, 0.52)):
        folder = make_checkpoint(run_dir, step)
        (folder / "trainer_state.json").write_text(json.dumps({"log_history": [{"step": step, "eval_loss": loss}]}))
    make_checkpoint(run_dir, 60, files=("adapter_model.safetensors",))  # the app died while saving
    html = render_checkpoints(run_dir, best=str(run_dir / "checkpoints" / "checkpoint-40"))
    rows = html.split("<tr>")[2:]
    assert [row.split("</td>")[0] for row in rows] == ["<td>60", "<td>40", "<td>20"]
    assert "0.5200" in rows[1] and "best" in rows[1] and "0.6100" in rows[2]
    assert "incomplete: skipped when resuming" in rows[0]
    assert "<script>" not in html and "run&lt;script&gt;" in html


def test_a_run_without_checkpoints_shows_nothing(tmp_path):
    assert render_checkpoints(tmp_path) == ""


def test_the_status_card_counts_the_seconds_of_what_a_live_run_is_doing_and_stops_counting_when_it_ends(tmp_path):
    """The page redraws only on news; the card's clocks (elapsed, and how long the current activity has taken)
    count on in the browser (ui/style.py TICKER_JS), so a minute of step-0 samples never looks frozen."""
    import re
    import time

    from core.config import RunConfig
    from core.runs.record import Run
    from core.runs.store import RunFolder
    from ui.train_views import render_status

    folder = RunFolder(tmp_path / "run")
    folder.create(RunConfig().to_dict())
    run = Run(run_id="run", config=RunConfig(), folder=folder, owner="ann")
    run.set_phase("training", "Training on the CPU.")
    run.started_at = time.time() - 30
    run.set_message("Generating sample answers to 3 held-out prompts at step 0…")
    run.activity_since = time.time() - 12
    card = render_status(run.snapshot())
    activity = re.search(r"id='activity-elapsed' data-coach-since='([\d.]+)'>(\d+) s<", card)
    assert activity and 11.5 <= float(activity.group(1)) <= 14 and activity.group(2) in ("12", "13")
    assert re.search(r"id='coach-elapsed'><span data-coach-since='3\d\.\d'>3\d s</span>", card)
    run.set_phase("finished", "Finished 10 steps.")
    assert "data-coach-since" not in render_status(run.snapshot())  # an ended run's clocks stand still


def _snapshot(metrics, evals, config) -> RunSnapshot:
    return RunSnapshot(
        run_id="r1", phase="training", message="Training.", error=None, error_detail=None, config=config,
        run_dir="/tmp/r1", owner="me", created_at=0.0, started_at=0.0, finished_at=None, step=metrics[-1]["step"],
        total_steps=60, metrics=metrics, eval_metrics=evals, samples=[], probes=[], result_dir=None,
        load_check=None, best_checkpoint=None, summary={},
    )  # fmt: skip


def test_the_card_and_the_diagnosis_quote_the_same_losses():
    """The issue's run: the card said "from 1.008", the diagnosis "fell from 0.825"; validation "—" and a verdict."""
    from ui.train import _diagnosis

    losses = [1.008, 0.95, 0.825, 0.6, 0.41, 0.3, 0.2, 0.12, 0.08, 0.05, 0.03, 0.02, 0.012, 0.01]
    metrics = [{"step": s, "time": float(s), "loss": v} for s, v in enumerate(losses, start=1)]
    snapshot = _snapshot(metrics, [], RunConfig().to_dict())  # the defaults: the JSON demo, evaluated every 20 steps
    card, reading = render_status(snapshot), _diagnosis(snapshot)
    assert "(from 1.008)" in card and "fell from 1.008 at step 1" in reading.explanation
    assert "<b>—</b> <small" in card and "(first at step 20)" in card
    assert "No validation point yet: the first is at step 20." in reading.explanation
    assert "unseen rows" not in reading.title and "this task is templated" in reading.explanation
    evaluated = _snapshot(metrics + [{"step": 20, "time": 20.0, "loss": 0.009}], [{"step": 20, "eval_loss": 0.006}],
                          RunConfig().to_dict())  # fmt: skip
    card, reading = render_status(evaluated), _diagnosis(evaluated)
    assert "<b>0.006</b> <small>(step 20)</small>" in card and "Validation loss 0.006 (step 20)" in reading.explanation
    assert "-" not in reading.explanation.split("Validation loss")[1].split("%")[0]


def test_the_sample_table_says_when_its_answers_came_from_a_bf16_copy():
    from dataclasses import replace

    from core.sample_copy import SAMPLE_PRECISION_NOTE
    from ui.train_views import render_samples

    metrics = [{"step": 1, "time": 1.0, "loss": 1.0}]
    entry = {"step": 0, "prompts": ["2+2?"], "answers": ["4"], "seconds": 1.2}
    plain = replace(_snapshot(metrics, [], RunConfig().to_dict()), samples=[{**entry, "dtype": ""}])
    assert "4" in render_samples(plain) and "bfloat16" not in render_samples(plain)
    assert "bfloat16" not in render_samples(replace(plain, samples=[entry]))  # a run recorded before the copy
    copied = replace(plain, samples=[{**entry, "dtype": "bfloat16"}])
    assert SAMPLE_PRECISION_NOTE in render_samples(copied)
