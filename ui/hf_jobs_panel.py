"""Part of step 3, Settings: send the exported recipe to Hugging Face Jobs and say where to follow it.

The token is the signed-in person's own (a Space with Hugging Face login; ui/identity.py ``hub_token``), else
the password box's (or HF_TOKEN / `hf auth login` when the box is empty); it is used for this one request and
is never stored, logged or shown again (SECURITY.md).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr

from core.config import ConfigError, RunConfig
from core.data.errors import DataError
from core.device import detect_device
from core.hf_jobs import HfJobsError, submit_recipe_job
from core.owners import oauth_enabled
from ui.identity import hub_token, request_owner
from ui.toasts import warn


@dataclass(frozen=True)
class HfJobsPanel:
    """The Jobs form's button and the box that says how the submission went."""

    submit: gr.Button
    outcome: gr.HTML


def build_hf_jobs_panel(config_state: gr.State) -> HfJobsPanel:
    """Lay out the Jobs form inside the recipe accordion and wire its button."""
    gr.Markdown(
        "**Run it on Hugging Face Jobs** (needs internet and a token with write access): the converted data is "
        "pushed as a private dataset, then the recipe's script runs on Hugging Face's machines."
    )
    with gr.Row():
        dataset_repo = gr.Textbox(
            label="Dataset repo for the data", placeholder="your-name/sft-coach-data", elem_id="jobs-dataset-repo"
        )
        output_repo = gr.Textbox(
            label="Model repo for the result (optional)",
            placeholder="your-name/my-fine-tune",
            elem_id="jobs-output-repo",
        )
        token = gr.Textbox(
            label="Hugging Face token (optional if HF_TOKEN is set)",
            type="password",
            elem_id="jobs-token",
            visible=not oauth_enabled(),  # signed in, the job runs under the person's own login
        )
    submit = gr.Button("Submit to Hugging Face Jobs", elem_id="jobs-submit")
    outcome = gr.HTML(elem_id="jobs-outcome")

    # The token box is cleared on every answer, so the secret does not stay in the page.
    submit.click(submit_job, [config_state, dataset_repo, output_repo, token], [outcome, token])
    return HfJobsPanel(submit=submit, outcome=outcome)


def submit_job(values: dict, dataset: str, output: str, secret: str, request: gr.Request) -> tuple[str, str]:
    """Export the recipe (from a dataset the asking person may open) and submit it; returns the outcome to show
    and an empty token box."""
    from core.recipe import export_recipe_for

    try:
        recipe = export_recipe_for(request_owner(request), RunConfig.from_dict(values), detect_device(), "jobs")
        submission = submit_recipe_job(recipe, dataset, output or None, token=hub_token(request, secret))
    except (HfJobsError, ConfigError, DataError) as err:
        warn("Nothing was started on Hugging Face Jobs; the reason is below the button.")
        return f"<div class='coach-card'><b>Not submitted.</b> {html.escape(str(err))}</div>", ""
    return f"<div class='coach-card'>{html.escape(submission.describe())}</div>", ""
