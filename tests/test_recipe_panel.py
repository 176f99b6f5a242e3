"""The Settings step's recipe export, called as the page calls it: the settings in effect, written to files."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from core.config import RunConfig
from ui.recipe_panel import export_recipe_files


def test_the_export_writes_the_recipe_of_the_settings_in_effect(data_dir):
    files, yaml_text, commands = export_recipe_files(RunConfig(max_steps=7).to_dict())
    assert "max_steps: 7" in yaml_text and "trl sft --config recipe.yaml" in commands
    assert {Path(f).name for f in files} >= {"recipe.yaml", "train_sft.py"}
    assert all(Path(f).resolve().is_relative_to((data_dir / "recipes").resolve()) for f in files)


def test_a_recipe_that_cannot_be_written_is_refused_with_the_reason():
    with pytest.raises(gr.Error, match="Could not export the recipe"):
        export_recipe_files({**RunConfig().to_dict(), "dataset": "no-such-demo-dataset"})
