"""Part of step 3, Settings: export the settings as a recipe that trains without the app, or send it to HF Jobs.

The files and commands come from ``core/recipe.py``; this module lays out the accordion and shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from core.config import RunConfig
from core.runs.manager import RunManager
from ui.hf_jobs_panel import HfJobsPanel, build_hf_jobs_panel
from ui.identity import request_owner
from ui.settings_views import device_info
from ui.toasts import refusal


@dataclass(frozen=True)
class RecipePanel:
    """The export button and what it fills: the files to download, the YAML and the commands."""

    export: gr.Button
    files: gr.File
    yaml: gr.Code
    commands: gr.Code
    jobs: HfJobsPanel


def export_recipe_files(values: dict, request: gr.Request) -> tuple[list[str], str, str]:
    """Write the recipe of the settings in effect into a new folder of the asking person's own.

    ``core.recipe.export_recipe_for`` checks the dataset against what that person may open. A problem is
    refused with its reason.
    """
    from core.recipe import export_recipe_for

    try:
        recipe = export_recipe_for(request_owner(request), RunConfig.from_dict(values), device_info())
    except Exception as err:  # a data or config problem: say it, keep everything
        raise refusal(f"Could not export the recipe: {err}") from None
    return [str(p) for p in recipe.files], recipe.yaml_text, recipe.commands_text()


def build_recipe_panel(config_state: gr.State, manager: RunManager | None = None) -> RecipePanel:
    """Lay out the recipe accordion, with the Jobs form inside, and wire its button."""
    with gr.Accordion("Export a recipe: train without the app", open=False, elem_id="recipe-export"):
        gr.Markdown(
            "A `trl sft --config` YAML, a standalone TRL + PEFT script, and the commands for `accelerate launch` "
            "and Hugging Face Jobs, with the converted data as JSONL. No tokens or secrets are written."
        )
        export = gr.Button("Export recipe", elem_id="export-recipe")
        files = gr.File(label="Recipe files", file_count="multiple", interactive=False, elem_id="recipe-files")
        yaml = gr.Code(label="recipe.yaml", language="yaml", elem_id="recipe-yaml")
        commands = gr.Code(label="Commands", language="shell", elem_id="recipe-commands")
        jobs = build_hf_jobs_panel(config_state, manager)
    export.click(export_recipe_files, config_state, [files, yaml, commands])
    return RecipePanel(export=export, files=files, yaml=yaml, commands=commands, jobs=jobs)
