"""The Train step's result panel lists every checkpoint with its step and validation loss."""

from __future__ import annotations

import json

from tests.run_folders import make_checkpoint
from ui.train_views import render_checkpoints


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
