"""The Settings step's recipe export, called as the page calls it: the settings in effect, written to files."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from core.config import RunConfig
from ui.recipe_panel import export_recipe_files


def test_the_export_writes_the_recipe_of_the_settings_in_effect(data_dir, request_as):
    files, yaml_text, commands = export_recipe_files(RunConfig(max_steps=7).to_dict(), request_as("ann"))
    assert "max_steps: 7" in yaml_text and "trl sft --config recipe.yaml" in commands
    assert {Path(f).name for f in files} >= {"recipe.yaml", "train_sft.py"}
    assert all(Path(f).resolve().is_relative_to((data_dir / "recipes").resolve()) for f in files)


def test_a_recipe_that_cannot_be_written_is_refused_with_the_reason(request_as):
    with pytest.raises(gr.Error, match="Could not export the recipe"):
        export_recipe_files({**RunConfig().to_dict(), "dataset": "no-such-demo-dataset"}, request_as("ann"))


def test_two_people_exporting_at_once_get_their_own_folders_and_never_each_others_rows(data_dir, request_as):
    from core.data.export import write_training_folder
    from core.file_access import owner_datasets

    # Ann's converted dataset, in her own folder, with a row only she has.
    ann_data = owner_datasets("ann", data_dir) / "mine"
    write_training_folder(
        [{"messages": [{"role": "user", "content": "ANN-SECRET"}, {"role": "assistant", "content": "ok"}]}] * 20,
        [],
        ann_data,
    )
    ann_files, _, _ = export_recipe_files({**RunConfig().to_dict(), "dataset": str(ann_data)}, request_as("ann"))
    assert any("ANN-SECRET" in Path(f).read_text() for f in ann_files if f.endswith(".jsonl"))
    # Bob sends Ann's dataset path as his settings: refused, nothing of hers written anywhere for him.
    with pytest.raises(gr.Error, match="not a dataset you can use here"):
        export_recipe_files({**RunConfig().to_dict(), "dataset": str(ann_data)}, request_as("bob"))
    bob_files, _, _ = export_recipe_files(RunConfig().to_dict(), request_as("bob"))
    assert not any("ANN-SECRET" in Path(f).read_text() for f in bob_files if f.endswith(".jsonl"))
    assert Path(ann_files[0]).parent.parent != Path(bob_files[0]).parent.parent  # each person's own folder
    again, _, _ = export_recipe_files(RunConfig().to_dict(), request_as("bob"))
    assert Path(again[0]).parent != Path(bob_files[0]).parent  # same second, still a folder of its own
