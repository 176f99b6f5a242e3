"""Run folders on disk: tolerant reading, and telling complete checkpoints from partial ones."""

from __future__ import annotations

from core.runs.store import RunFolder, parse_lines
from tests.run_folders import make_checkpoint as _checkpoint


def test_partial_checkpoints_are_skipped(tmp_path):
    _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 20, files=("adapter_model.safetensors", "optimizer.pt"))  # crashed mid-save
    found = RunFolder(tmp_path).checkpoints()
    assert [(c.step, c.complete) for c in found] == [(10, True), (20, False)]
    assert RunFolder(tmp_path).last_complete_checkpoint().step == 10
    assert found[0].eval_loss == 1.5


def test_a_checkpoint_with_an_unreadable_state_is_not_complete(tmp_path):
    folder = _checkpoint(tmp_path, 5)
    (folder / "trainer_state.json").write_text("{broken")
    assert RunFolder(tmp_path).last_complete_checkpoint() is None


def test_no_checkpoints_folder(tmp_path):
    assert RunFolder(tmp_path).checkpoints() == [] and RunFolder(tmp_path).last_complete_checkpoint() is None


def test_broken_jsonl_lines_are_skipped_and_counted(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n[1, 2]\n{"step": 2\n\n{"step": 3}\n')
    result = RunFolder(tmp_path).read_rows("metrics")
    assert [r["step"] for r in result.rows] == [1, 3]
    assert result.skipped == 2


def test_write_json_leaves_no_temporary_file(tmp_path):
    RunFolder(tmp_path).write_state({"phase": "training"})
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_parse_lines_keeps_objects_only():
    assert parse_lines('{"a": 1}\n"text"\n').rows == [{"a": 1}]


def test_the_follower_reads_complete_lines_once_and_skips_what_was_there(tmp_path):
    folder = RunFolder(tmp_path)
    folder.append_row("metrics", {"step": 1})
    follower = folder.follow()
    folder.append_row("metrics", {"step": 2})
    with (tmp_path / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 3')  # still being written
    assert follower.new_rows()["metrics"] == [{"step": 2}]
    with (tmp_path / "metrics.jsonl").open("a") as handle:
        handle.write("}\n")
    assert follower.new_rows() == {"metrics": [{"step": 3}], "evals": [], "samples": []}


def test_a_model_folder_knows_its_run(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.create({"model_id": "m"})
    folder.write_state({"phase": "finished"})
    checkpoint = _checkpoint(folder.path, 4)
    assert RunFolder.holding(checkpoint) == folder and folder.is_checkpoint(checkpoint)
    assert RunFolder.holding(folder.final_dir) == folder and not folder.is_checkpoint(folder.final_dir)
    assert RunFolder.holding(tmp_path / "elsewhere" / "final") is None


def test_votes_are_appended_whole_and_read_back(tmp_path):
    folder = RunFolder(tmp_path)
    folder.append_vote({"round_id": "r1", "vote": "A"})
    folder.append_vote({"round_id": "r2", "vote": "tie", "prompt": "Ünïcode ✓"})
    assert [row["round_id"] for row in folder.read_votes().rows] == ["r1", "r2"]
    assert folder.read_votes().rows[1]["prompt"] == "Ünïcode ✓"
