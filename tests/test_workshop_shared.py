"""What the instructor shares with the class: visible to all, changed by the instructor only, kept on disk."""

from __future__ import annotations

import pytest

from core.config import ConfigError, RunConfig
from core.data.export import write_training_folder
from core.file_access import check_dataset_choice, owner_datasets
from core.probe_sets import ProbePrompt, prompts_from_text
from core.workshop.shared import ClassBoard, InstructorPass, NotInstructor, instructor_pass

ROWS = [{"prompt": [{"role": "user", "content": f"q{i}"}], "completion": [{"role": "assistant", "content": "a"}]}
        for i in range(12)]  # fmt: skip


def committed_dataset(data_root, owner="teacher"):
    """A dataset as 'Use this dataset' leaves it in the instructor's own datasets folder."""
    return write_training_folder(
        ROWS[:10], ROWS[10:], owner_datasets(owner, data_root) / "rows-20260101-120000-abc123"
    )


def test_only_a_pass_made_on_the_server_lets_someone_publish(tmp_path, monkeypatch):
    board = ClassBoard(tmp_path)
    config = RunConfig(learning_rate=3e-4).to_dict()
    for forged in (None, True, "teacher", {"owner": "teacher"}, "InstructorPass(…)"):
        with pytest.raises(NotInstructor):
            board.publish_preset(forged, config)
        with pytest.raises(NotInstructor):
            board.publish_probe_set(forged, prompts_from_text("hi"))
        with pytest.raises(NotInstructor):
            board.withdraw(forged, "preset")
    assert board.preset() is None and board.probe_set() is None
    # the pass: the person who unlocked the admin view on this page, or the Space's own author when signed in
    assert instructor_pass("student", admin_unlocked_by="teacher") is None
    assert instructor_pass("", admin_unlocked_by="") is None
    assert isinstance(instructor_pass("teacher", admin_unlocked_by="teacher"), InstructorPass)
    monkeypatch.setenv("SPACE_AUTHOR_NAME", "prof")
    assert instructor_pass("hf:prof") is None  # no Hugging Face login on this app: the name proves nothing
    monkeypatch.setenv("OAUTH_CLIENT_ID", "x")
    assert isinstance(instructor_pass("hf:prof"), InstructorPass) and instructor_pass("hf:student") is None


def test_shared_items_are_seen_by_everyone_and_survive_a_restart(tmp_path):
    teacher = instructor_pass("teacher", "teacher")
    board = ClassBoard(tmp_path)
    config = {**RunConfig(learning_rate=3e-4, max_steps=30).to_dict(), "dataset": str(committed_dataset(tmp_path))}
    board.publish_dataset(teacher, config, name="Support tickets")
    board.publish_preset(teacher, config, locked=["learning_rate", "max_steps"], name="Workshop")
    board.publish_probe_set(teacher, [ProbePrompt.from_messages([{"role": "user", "content": "q1"}], "a")])

    again = ClassBoard(tmp_path)  # a new app process reads the same folder
    dataset, preset, probes = again.dataset(), again.preset(), again.probe_set()
    assert (dataset.name, dataset.train_rows, dataset.validation_rows) == ("Support tickets", 10, 2)
    assert preset.locked == ("learning_rate", "max_steps") and preset.values["learning_rate"] == 3e-4
    assert "dataset" not in preset.values  # the dataset is shared on its own
    assert [p.text for p in probes.prompts] == ["q1"] and probes.prompts[0].reference == "a"

    # a participant starts from them: their own copy of the dataset, which their runs may train on
    changes, rows = again.copy_dataset_for("student", tmp_path)
    assert rows == 10 and check_dataset_choice(changes["dataset"], "student", tmp_path) == changes["dataset"]
    assert str(owner_datasets("student", tmp_path)) in changes["dataset"]
    start = again.start_from_preset({**RunConfig().to_dict(), **changes})
    assert start["learning_rate"] == 3e-4 and start["max_steps"] == 30 and start["dataset"] == changes["dataset"]

    again.withdraw(teacher, "dataset")
    assert ClassBoard(tmp_path).dataset() is None
    with pytest.raises(ConfigError, match="has not shared a dataset"):
        again.copy_dataset_for("student", tmp_path)


def test_locked_fields_are_refused_at_start_and_free_ones_are_not(tmp_path):
    board = ClassBoard(tmp_path)
    board.check_locks(RunConfig(learning_rate=1e-2))  # nothing shared: nothing locked
    board.publish_preset(instructor_pass("t", "t"), RunConfig(learning_rate=3e-4).to_dict(), locked=["learning_rate"])
    board.check_locks(RunConfig(learning_rate=3e-4, max_steps=7))  # a free field may change
    with pytest.raises(ConfigError, match=r"Learning rate.*locked by your instructor at 0.0003 \(yours: 0.01\)"):
        board.check_locks(RunConfig(learning_rate=1e-2))
    with pytest.raises(ConfigError, match="a preset locks only its own settings"):
        board.publish_preset(instructor_pass("t", "t"), RunConfig().to_dict(), locked=["dataset"])


def test_a_demo_can_be_shared_by_name_and_an_unconverted_file_cannot(tmp_path):
    teacher = instructor_pass("t", "t")
    board = ClassBoard(tmp_path)
    assert board.publish_dataset(teacher, RunConfig(dataset="word_problems").to_dict()).dataset == "word_problems"
    assert board.copy_dataset_for("s", tmp_path)[0]["dataset"] == "word_problems"
    loose = tmp_path / "rows.jsonl"
    loose.write_text("{}\n")
    with pytest.raises(ConfigError, match="Use this dataset"):
        board.publish_dataset(teacher, RunConfig(dataset=str(loose)).to_dict())
