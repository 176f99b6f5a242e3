"""Part of step 3, Settings: send the recipe to Hugging Face Jobs, as a run of the Train step's list.

The hardware picker lists the Hub's Jobs hardware with its price per hour (``core/hf_jobs/hardware.py``);
picking one shows the time and cost estimate and fills in a time limit. Submit pushes the data, starts the
Job and lists it as a remote run of this person (``core/runs/remote.py``); the page then shows it in the
Train step. The token is the signed-in person's own (a Space with Hugging Face login; ui/identity.py
``hub_token``), else the password box's (or HF_TOKEN / `hf auth login` when the box is empty); it is kept in
memory to follow the Job, never stored, logged or shown again (SECURITY.md).
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass

import gradio as gr

from core.config import ConfigError, RunConfig
from core.data.errors import DataError
from core.hf_jobs import HfJobsError
from core.hf_jobs.hardware import HardwareError, JobsHardware, estimate_job, list_hardware
from core.hub import find_token
from core.owners import oauth_enabled
from core.recipe import HF_JOBS_FLAVOR
from core.runs.manager import RunManager
from ui.identity import hub_token, request_owner
from ui.toasts import warn

NO_LIST = (
    "The price and the time estimate need the Hub's hardware list: press *Show Jobs hardware and prices*. "
    "Without it the recipe's default machine is used."
)


@dataclass(frozen=True)
class HfJobsPanel:
    """The Jobs form's button, the box that says how the submission went, and the run it listed."""

    submit: gr.Button
    outcome: gr.HTML
    submitted: gr.State
    """The id of the remote run the last submission listed (the app shows it in the Train step)."""


def load_hardware(secret: str, request: gr.Request) -> tuple:
    """The Hub's hardware list into the picker (GPUs first, with their price), or why it could not be read."""
    try:
        found = list_hardware(find_token(hub_token(request, secret)))
    except HardwareError as err:
        return gr.skip(), gr.skip(), f"**Hardware list not loaded.** {err}"
    choices = [(hw.label(), hw.name) for hw in found]
    default = HF_JOBS_FLAVOR if any(hw.name == HF_JOBS_FLAVOR for hw in found) else found[0].name if found else None
    return gr.Dropdown(choices=choices, value=default), [asdict(hw) for hw in found], gr.skip()


def _picked(listed: list[dict] | None, name: str) -> JobsHardware | None:
    """The machine ``name`` of the list the server read (the picker's value is input: it only chooses)."""
    return next((JobsHardware(**hw) for hw in listed or [] if hw.get("name") == name), None)


def show_estimate(values: dict, name: str, listed: list[dict] | None) -> tuple[str, str | dict]:
    """Time and cost of the settings on the picked machine, and a time limit that leaves room (twice the time)."""
    from ui.settings_views import data_profile, model_config_for

    hardware = _picked(listed, name)
    if hardware is None:
        return NO_LIST, gr.skip()
    try:
        config = RunConfig.from_dict(values)
    except ConfigError as err:
        return f"**No estimate:** {err}", gr.skip()
    model_config, _ = model_config_for(config.model_id)
    if model_config is None:
        return f"**No time estimate:** the model's config.json is not readable here; {hardware.label()}.", gr.skip()
    profile = data_profile(config.dataset, config.model_id)
    estimate = estimate_job(model_config, config, profile.mean_tokens or 88, hardware, profile.n_rows)
    return f"**Estimate:** {estimate.describe()}", estimate.suggested_timeout()


def build_hf_jobs_panel(config_state: gr.State, manager: RunManager | None) -> HfJobsPanel:
    """Lay out the Jobs form inside the recipe accordion and wire its events."""
    gr.Markdown(
        "**Run it on Hugging Face Jobs** (needs internet and a token with write access): the converted data is "
        "pushed as a private dataset, the recipe's script runs on Hugging Face's machines and pushes its loss and "
        "its result to your model repo; the run appears in *4 · Train* like a local one, and its result in "
        "*5 · Try it*."
    )
    with gr.Row():
        dataset_repo = gr.Textbox(
            label="Dataset repo for the data", placeholder="your-name/sft-coach-data", elem_id="jobs-dataset-repo"
        )
        output_repo = gr.Textbox(
            label="Model repo for the result", placeholder="your-name/my-fine-tune", elem_id="jobs-output-repo"
        )
        token = gr.Textbox(
            label="Hugging Face token (optional if HF_TOKEN is set)",
            type="password",
            elem_id="jobs-token",
            visible=not oauth_enabled(),  # signed in, the job runs under the person's own login
        )
    with gr.Row():
        hardware = gr.Dropdown(
            label="Hardware",
            choices=[(HF_JOBS_FLAVOR, HF_JOBS_FLAVOR)],
            value=HF_JOBS_FLAVOR,
            elem_id="jobs-hardware",
            info="Billed per minute while the Job runs.",
        )
        timeout = gr.Textbox(
            label="Time limit",
            value="2h",
            elem_id="jobs-timeout",
            info="The Job is stopped at this limit, e.g. 45m or 2h.",
        )
    load = gr.Button("Show Jobs hardware and prices", size="sm", elem_id="jobs-load-hardware")
    estimate = gr.Markdown(NO_LIST, elem_id="jobs-estimate")
    submit = gr.Button("Submit to Hugging Face Jobs", elem_id="jobs-submit")
    outcome = gr.HTML(elem_id="jobs-outcome")
    listed = gr.State([])  # the hardware the server read from the Hub, for this page
    submitted = gr.State(None)

    load.click(load_hardware, token, [hardware, listed, estimate]).then(
        show_estimate, [config_state, hardware, listed], [estimate, timeout]
    )
    hardware.input(show_estimate, [config_state, hardware, listed], [estimate, timeout])
    events = JobsEvents(manager)
    # The token box is cleared on every answer, so the secret does not stay in the page.
    submit.click(
        events.submit_job,
        [config_state, dataset_repo, output_repo, token, hardware, timeout],
        [outcome, token, submitted],
    )
    return HfJobsPanel(submit=submit, outcome=outcome, submitted=submitted)


class JobsEvents:
    """The Submit handler, over the process-wide run manager."""

    def __init__(self, manager: RunManager | None) -> None:
        self.manager = manager

    def submit_job(
        self,
        values: dict,
        dataset: str,
        output: str,
        secret: str,
        flavor: str,
        limit: str,
        request: gr.Request,
    ) -> tuple:
        """Export the recipe (from a dataset the asking person may open), submit it and list it as their run;
        returns the outcome to show, an empty token box and the new run's id."""
        from core.runs.remote import submit_to_jobs
        from ui.settings_views import device_info

        if self.manager is None:
            return "<div class='coach-card'><b>Not submitted.</b> This page has no run list.</div>", "", gr.skip()
        try:
            run = submit_to_jobs(
                self.manager,
                request_owner(request),
                RunConfig.from_dict(values),
                device_info(),
                dataset_repo=dataset,
                output_repo=output,
                token=hub_token(request, secret),
                flavor=flavor or None,
                timeout=limit or None,
            )
        except (HfJobsError, ConfigError, DataError) as err:
            warn("Nothing was started on Hugging Face Jobs; the reason is below the button.")
            return f"<div class='coach-card'><b>Not submitted.</b> {html.escape(str(err))}</div>", "", gr.skip()
        job = run.folder.read_remote() or {}
        text = (
            f"Submitted to Hugging Face Jobs as {job.get('job_id')} on {job.get('flavor')}: it is now your newest run "
            f"in 4 · Train, followed from here (status, logs, loss), and its result comes back to 5 · Try it. "
            f"Also at {job.get('url')}."
        )
        return f"<div class='coach-card'>{html.escape(text)}</div>", "", run.run_id
