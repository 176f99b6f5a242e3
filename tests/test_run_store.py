"""Run folders on disk: tolerant reading, and telling complete checkpoints from partial ones."""

from __future__ import annotations

import json

from core.run_store import last_complete_checkpoint, list_checkpoints, read_jsonl, write_json


def _checkpoint(
    run_dir, step, files=("trainer_state.json", "optimizer.pt", "scheduler.pt", "adapter_model.safetensors")
):
    folder = run_dir / "checkpoints" / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    for name in files:
        content = json.dumps({"log_history": [{"step": step, "eval_loss": 1.5}]}) if name.endswith(".json") else "x"
        (folder / name).write_text(content)
    return folder


def test_partial_checkpoints_are_skipped(tmp_path):
    _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 20, files=("adapter_model.safetensors", "optimizer.pt"))  # crashed mid-save
    found = list_checkpoints(tmp_path)
    assert [(c.step, c.complete) for c in found] == [(10, True), (20, False)]
    assert last_complete_checkpoint(tmp_path).step == 10
    assert found[0].eval_loss == 1.5


def test_a_checkpoint_with_an_unreadable_state_is_not_complete(tmp_path):
    folder = _checkpoint(tmp_path, 5)
    (folder / "trainer_state.json").write_text("{broken")
    assert last_complete_checkpoint(tmp_path) is None


def test_no_checkpoints_folder(tmp_path):
    assert list_checkpoints(tmp_path) == [] and last_complete_checkpoint(tmp_path) is None


def test_broken_jsonl_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n[1, 2]\n{"step": 2\n\n{"step": 3}\n')
    result = read_jsonl(path)
    assert [r["step"] for r in result.rows] == [1, 3]
    assert result.skipped == 2


def test_write_json_leaves_no_temporary_file(tmp_path):
    write_json(tmp_path / "state.json", {"phase": "training"})
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
