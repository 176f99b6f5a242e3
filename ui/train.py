"""Step 4, Train: start a run, watch it live, stop it.

The page never owns the run. Start hands a ``RunConfig`` to the process-wide
``JobManager``; a ``gr.Timer`` then reads a snapshot of the job every second
and redraws only what changed. Closing the tab leaves the run going, and
opening the page again re-attaches to it.
"""

from __future__ import annotations

import html

import gradio as gr

from core.config import ConfigError, RunConfig
from core.jobs import JobBusyError, JobManager, JobSnapshot
from core.models import OFFLINE_MODEL_ID, list_models
from core.progress import format_duration, measure_progress

POLL_SECONDS = 1.0

PHASE_LABELS = {
    "queued": ("Queued", "#6b7280"),
    "preparing": ("Preparing", "#2563eb"),
    "training": ("Training", "#2563eb"),
    "stopping": ("Stopping", "#d97706"),
    "finished": ("Finished", "#16a34a"),
    "failed": ("Failed", "#dc2626"),
    "stopped": ("Stopped", "#d97706"),
}


def _dataset_choices() -> list[tuple[str, str]]:
    from core.demo_data import DEMO_DATASETS

    return [(demo.title, name) for name, demo in DEMO_DATASETS.items()]


def render_status(snapshot: JobSnapshot | None) -> str:
    """The status card: phase, message, progress bar and the numbers that matter."""
    if snapshot is None:
        return (
            "<div class='coach-card'><b>No run yet.</b> Pick a model and a dataset, then press "
            "<b>Start training</b>. The first loss values appear within a minute.</div>"
        )
    label, colour = PHASE_LABELS.get(snapshot.phase, (snapshot.phase, "#6b7280"))
    progress = measure_progress(snapshot)
    percent = int(progress.fraction * 100)
    loss = "—" if progress.latest_loss is None else f"{progress.latest_loss:.3f}"
    first = "" if progress.first_loss is None else f" (started at {progress.first_loss:.3f})"
    speed = "—" if progress.tokens_per_second is None else f"{progress.tokens_per_second:,.0f}"
    step_time = "—" if progress.seconds_per_step is None else f"{progress.seconds_per_step:.2f} s"
    total = progress.total_steps or "?"
    return f"""
<div class='coach-card'>
  <div><span class='coach-badge' style='background:{colour}'>{label}</span>
       <span class='coach-run-id'>run {html.escape(snapshot.job_id)}</span></div>
  <p class='coach-message'>{html.escape(snapshot.message)}</p>
  <div class='coach-bar' role='progressbar' aria-valuenow='{percent}' aria-valuemin='0' aria-valuemax='100'>
    <div style='width:{percent}%'></div></div>
  <table class='coach-stats'><tr>
    <td><small>Step</small><br><b>{progress.step} / {total}</b></td>
    <td><small>Loss</small><br><b>{loss}</b>{first}</td>
    <td><small>Elapsed</small><br><b>{format_duration(progress.elapsed_seconds)}</b></td>
    <td><small>Time left</small><br><b>{format_duration(progress.eta_seconds)}</b></td>
    <td><small>Tokens / s</small><br><b>{speed}</b></td>
    <td><small>Per step</small><br><b>{step_time}</b></td>
  </tr></table>
</div>"""


def render_samples(snapshot: JobSnapshot | None) -> str:
    """Probe answers, newest step first, one column per held-out prompt; all text escaped."""
    if snapshot is None or not snapshot.samples:
        return (
            "<p class='coach-muted'>Sample answers to held-out prompts appear here at step 0 and as training goes.</p>"
        )
    prompts = snapshot.samples[0]["prompts"]
    head = "".join(f"<th>{html.escape(p)}</th>" for p in prompts)
    rows = []
    references = [p.get("reference", "") for p in snapshot.probes]
    if any(references):
        cells = "".join(f"<td><code>{html.escape(r)}</code></td>" for r in references[: len(prompts)])
        rows.append(f"<tr class='coach-expected'><th>Expected</th>{cells}</tr>")
    for entry in reversed(snapshot.samples):
        cells = "".join(f"<td>{html.escape(a) or '<i>(empty)</i>'}</td>" for a in entry["answers"])
        rows.append(f"<tr><th>Step {entry['step']}<br><small>{entry['seconds']:.1f} s</small></th>{cells}</tr>")
    return (
        "<div class='coach-samples'><table><thead><tr><th>When</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def render_result(snapshot: JobSnapshot | None, trackio_dir: str) -> str:
    """What happened at the end: where the result is, that it loads, and how to compare runs."""
    if snapshot is None or snapshot.is_active:
        return ""
    parts = []
    if snapshot.phase == "failed":
        parts.append(f"**Training failed.** {snapshot.error}")
        if snapshot.error_detail:
            detail = html.escape(snapshot.error_detail[-4000:])
            parts.append(f"<details><summary>Technical details</summary><pre>{detail}</pre></details>")
    if snapshot.result_dir:
        parts.append(f"**Saved to** `{snapshot.result_dir}`")
    if snapshot.load_check:
        parts.append(f"**Load check:** {snapshot.load_check}")
    parts.append(
        f"**Compare runs in trackio:** run `trackio show --project sft-coach` with `TRACKIO_DIR={trackio_dir}` "
        "in a terminal (the logs are local; nothing is uploaded)."
    )
    return "\n\n".join(parts)


def build_train_step(manager: JobManager, trackio_dir: str) -> dict:
    """Lay out the Train step and wire its events; returns the components other steps may use."""
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            model = gr.Dropdown(
                choices=[(c.label, c.model_id) for c in list_models()],
                value=OFFLINE_MODEL_ID,
                label="Model",
                info="Offline models work without internet; Hub models need it. You can also type a local folder.",
                allow_custom_value=True,
            )
            dataset = gr.Dropdown(
                choices=_dataset_choices(),
                value="json_extraction",
                label="Dataset",
                info="Built-in demos are generated by the app, no download needed.",
            )
            max_steps = gr.Slider(
                10,
                500,
                value=RunConfig().max_steps,
                step=10,
                label="Training steps",
                info="Quick demo: 60 steps of LoRA, a few minutes on 2 CPU cores.",
            )
            with gr.Row():
                start = gr.Button("Start training", variant="primary", elem_id="start-training")
                stop = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop-training")
        with gr.Column(scale=3):
            status = gr.HTML(render_status(None), elem_id="run-status")
            loss_plot = gr.Plot(label="Training loss", elem_id="loss-plot")
            gr.Markdown("### Sample answers to held-out prompts")
            samples = gr.HTML(render_samples(None), elem_id="samples")
            result = gr.Markdown(elem_id="run-result")

    job_id = gr.State(None)
    render_key = gr.State(None)
    timer = gr.Timer(POLL_SECONDS, active=True)

    def start_run(model_id: str, dataset_name: str, steps: float):
        try:
            config = RunConfig(model_id=model_id, dataset=dataset_name, max_steps=int(steps))
            job = manager.start(config)
        except (ConfigError, JobBusyError) as err:
            gr.Warning(str(err))
            return gr.skip(), gr.skip()
        return job.job_id, None

    def stop_run(current: str | None):
        if not current or not manager.stop(current):
            gr.Info("There is no running training to stop.")

    def refresh(current: str | None, last_key):
        from core.charts import loss_figure

        job = manager.get(current) if current else None
        if job is None:
            job = manager.active_job() or next(iter(manager.jobs()), None)
        snapshot = job.snapshot() if job else None
        key = None
        if snapshot:
            key = (
                snapshot.job_id,
                snapshot.phase,
                snapshot.step,
                len(snapshot.metrics),
                len(snapshot.samples),
                snapshot.message,
            )
        if key is not None and key == last_key:
            return (gr.skip(),) * 6 + (last_key,)
        active = bool(snapshot and snapshot.is_active)
        return (
            snapshot.job_id if snapshot else current,
            render_status(snapshot),
            loss_figure(snapshot.metrics if snapshot else []),
            render_samples(snapshot),
            render_result(snapshot, trackio_dir),
            gr.Button(interactive=active and snapshot.phase != "stopping"),
            key,
        )

    _register_api(manager)
    outputs = [job_id, status, loss_plot, samples, result, stop, render_key]
    start.click(start_run, [model, dataset, max_steps], [job_id, render_key]).then(
        refresh, [job_id, render_key], outputs
    )
    stop.click(stop_run, [job_id], None).then(refresh, [job_id, render_key], outputs)
    timer.tick(refresh, [job_id, render_key], outputs, show_progress="hidden")
    return {"model": model, "dataset": dataset, "job_id": job_id, "start": start, "stop": stop}


def _register_api(manager: JobManager) -> None:
    """Plain endpoints for scripts and ``gradio_client`` (the page itself uses the events above)."""

    def start_training(model_id: str, dataset: str, max_steps: int) -> str:
        """Start a run with the Quick demo settings; returns its run id."""
        try:
            return manager.start(RunConfig(model_id=model_id, dataset=dataset, max_steps=int(max_steps))).job_id
        except (ConfigError, JobBusyError) as err:
            raise gr.Error(str(err)) from err

    def run_status(run_id: str) -> dict:
        """Phase, step counts, logged losses and samples of a run."""
        job = manager.get(run_id)
        if job is None:
            raise gr.Error(f"There is no run with id {run_id!r} in this app.")
        snap = job.snapshot()
        return {
            "phase": snap.phase,
            "message": snap.message,
            "error": snap.error,
            "step": snap.step,
            "total_steps": snap.total_steps,
            "losses": [m["loss"] for m in snap.metrics if "loss" in m],
            "samples": snap.samples,
            "result_dir": snap.result_dir,
            "load_check": snap.load_check,
        }

    def stop_training(run_id: str) -> bool:
        """Ask a run to stop at the next step; True if it was running."""
        return manager.stop(run_id)

    gr.api(start_training, api_name="start_training")
    gr.api(run_status, api_name="run_status")
    gr.api(stop_training, api_name="stop_training")
