"""Step 4, Train: start a run, watch it live, stop, resume or retry it.

The page never owns the run. Start hands a ``RunConfig`` to the process-wide
``RunManager``; a ``gr.Timer`` then reads a snapshot of the chosen run every
second and redraws only what changed. Closing the tab leaves the run going;
reloading the page (or opening ``?run=<id>``) re-attaches to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gradio as gr
from gradio.context import Context

from core.config import MAX_OWN_PROBES, ConfigError, RunConfig
from core.diagnosis.facts import LossFacts, run_facts
from core.models.catalog import honest_model_id, model_description
from core.oom_retry import retry_settings_after_oom
from core.owners import SCRIPT_OWNER
from core.paths import data_dir
from core.runs.manager import RunManager, SpaceLimit
from core.runs.record import RESUMABLE_PHASES, RunSnapshot
from core.workshop.budgets import BudgetSpent
from core.workshop.shared import ClassBoard
from ui.identity import hub_token, request_owner
from ui.toasts import inform, refusal, warn
from ui.trackio_mount import dashboard_link
from ui.train_charts import EXTRA_METRICS, chart_data, chart_key
from ui.train_views import (
    WorkshopLines,
    render_chart_guide,
    render_diagnosis,
    render_result,
    render_samples,
    render_status,
    render_trackio_link,
    run_choices,
)

POLL_SECONDS = 1.0
# After Start, the run's status card comes into view: on a phone it sits below the buttons and prompts.
SHOW_STATUS = "() => document.getElementById('run-status')?.scrollIntoView({block: 'nearest', behavior: 'smooth'})"
# What ``TrainEvents.refresh`` returns, in this order: the chosen run, the page's parts, then its render key.
REFRESH_OUTPUTS = (
    "run_id", "status", "diagnosis", "loss_plot", *(f"plot_{key}" for key, _, _ in EXTRA_METRICS), "samples",
    "result", "start", "stop", "resume", "retry", "retry_note", "runs", "render_key",
)  # fmt: skip


def _diagnosis(snapshot: RunSnapshot | None, facts: LossFacts | None = None):
    """The reading of the run's curves, from the facts its status card shows (computed here when not given)."""
    if snapshot is None or not snapshot.metrics:
        return None
    from core.diagnosis import diagnose_facts

    rate = snapshot.config.get("learning_rate")  # the configured peak: what a suggested restart scales
    return diagnose_facts(facts or run_facts(snapshot), learning_rate=rate if isinstance(rate, int | float) else None)


def _retry_changes(snapshot: RunSnapshot | None, facts: LossFacts | None = None) -> tuple[dict, str] | None:
    """What a one-click retry would change: less memory after an OOM, or the diagnosis' restart advice."""
    if snapshot is None:
        return None
    if snapshot.phase == "failed" and snapshot.error and "out of memory" in snapshot.error:
        return retry_settings_after_oom(RunConfig.from_dict(snapshot.config))
    diagnosis = _diagnosis(snapshot, facts)
    for action in getattr(diagnosis, "actions", []) or []:
        if action.get("kind") == "restart" and action.get("changes"):
            changes = action["changes"]
            return changes, "Restart with " + ", ".join(
                f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in changes.items()
            )
    return None


def _shown_key(snapshot: RunSnapshot | None, smooth: float, axis: str, workshop: tuple = ()) -> tuple:
    """What the Train step's outputs depend on, as (the charts' key, the rest): unchanged, so is the page.

    ``workshop``: the wait and the time used, to the minute (``TrainEvents._workshop``), so the card says them anew.
    """
    charts = chart_key(snapshot, smooth, axis)
    if snapshot is None:
        return (charts, workshop)
    rest = (snapshot.phase, snapshot.step, len(snapshot.samples), snapshot.message, snapshot.queue_position)
    return (charts, (*rest, *workshop))


def _any_active(own_runs: list) -> bool:
    """Whether one of the person's runs trains or waits: Start stays off until it ends (a reload included)."""
    return any(summary.is_active for summary in own_runs)


@dataclass(frozen=True)
class TrainStep:
    """The Train step's parts other code reaches, and the names of the script endpoints it serves."""

    run_id: gr.State
    summary: gr.Markdown
    start: gr.Button
    stop: gr.Button
    api_names: tuple[str, ...]


def describe_config(values: dict | None) -> str:
    """What Start would train: model, data, method and the main numbers."""
    if not values:
        return "Choose data and settings in steps 2 and 3."
    config = RunConfig.from_dict(values)
    method = {"lora": f"LoRA r={config.lora_r}", "qlora": f"QLoRA r={config.lora_r}", "full": "full fine-tune"}
    steps = f"{config.max_steps} steps" if config.max_steps > 0 else f"{config.num_epochs:g} epochs"
    return (
        "**What will be trained**\n\n"
        f"- Model: {model_description(honest_model_id(config.model_id))}\n- Data: `{config.dataset}`\n"
        f"- {method[config.method]}, learning rate {config.learning_rate:g}\n"
        f"- Batch {config.per_device_batch_size} × {config.gradient_accumulation_steps} accumulation, "
        f"max length {config.max_length}, {steps}"
    )


def _estimate(config: RunConfig) -> dict | None:
    """The whole-run time estimate the Settings step shows, kept with the run to compare with what it takes."""
    from ui.settings_views import run_time_estimate

    try:
        estimated = run_time_estimate(config)
    except Exception:  # noqa: BLE001  (an estimate must never stop a Start: the model or data may be unreadable yet)
        return None
    return estimated[0].to_dict() if estimated else None


def pick_run(picked: str | None) -> tuple:
    """A run was picked from the list: it becomes the one shown, drawn afresh."""
    return picked, None


class TrainEvents:
    """The Train step's handlers, over the process-wide run manager; each asks it for the runs of the person asking."""

    def __init__(self, manager: RunManager) -> None:
        self.manager = manager

    def open_page(self, request: gr.Request) -> str | None:
        """A page opened: ``?run=<id>`` picks one of this person's runs (else the timer shows their newest)."""
        # this person: the account when logged in, else the session cookie's id (ui/identity.py)
        wanted = request.query_params.get("run") if request else None
        return wanted if wanted and self.manager.get(wanted, owner=request_owner(request)) else None

    def start_run(self, values: dict | None, own_text: str, request: gr.Request):
        """Start (or queue) a run of the settings with this person's own test prompts."""
        # The prompts box is read here, not through its own event: Start must see what was just typed.
        prompts = [line.strip() for line in (own_text or "").splitlines() if line.strip()]
        try:
            config = RunConfig.from_dict({**(values or {}), "probe_prompts": prompts})
            ClassBoard(data_dir()).check_locks(config)  # the instructor's locked settings, whatever the page sent
            job = self.manager.start(config, owner=request_owner(request), estimate=_estimate(config))
        except (ConfigError, SpaceLimit, BudgetSpent) as err:
            warn(str(err))
            return gr.skip(), gr.skip()
        notice = self.manager.start_notice(job.run_id, owner=request_owner(request))
        if notice:
            warn(notice)
        place, wait = self.manager.queue_position(job.run_id), self.manager.wait_estimate(job.run_id)
        if job.phase == "queued" and place:
            inform(f"Another run is training; yours is number {place} in line. {wait.describe() if wait else ''}")
        return job.run_id, None

    def warm_run(self, values: dict | None, request: gr.Request) -> None:
        """A page opened or its settings changed: the run they would start gets a head start (core/runs/warm.py)."""
        try:
            self.manager.warm(RunConfig.from_dict(values or {}), owner=request_owner(request))
        except (ConfigError, ValueError, OSError):
            pass  # only a head start: Start checks the same settings again and says what is wrong

    def stop_run(self, current: str | None, request: gr.Request) -> None:
        """Stop this person's shown run at the next step, or cancel it while it waits (or its Hugging Face Job)."""
        who = request_owner(request)
        try:
            stopped = bool(current) and self.manager.stop(current, owner=who)
        except ConfigError as err:  # the Hub refused to cancel the Job: say why
            warn(str(err))
            return
        if not stopped:
            inform("There is no running or waiting run of yours to stop.")

    def resume_run(self, current: str | None, request: gr.Request) -> None:
        """Continue this person's shown run from its last complete checkpoint."""
        try:
            self.manager.resume(current or "", owner=request_owner(request))
        except (ConfigError, KeyError) as err:
            warn(str(err).strip("'\""))
        return None

    def retry_run(self, current: str | None, request: gr.Request):
        """Start a new run of this person's shown run with the suggested changes (``_retry_changes``)."""
        who = request_owner(request)
        snapshot = self.manager.snapshot(current, owner=who) if current else None
        suggestion = _retry_changes(snapshot)
        if suggestion is None or not suggestion[0]:
            inform("There is no suggested change to retry with.")
            return gr.skip(), gr.skip()
        values = {**snapshot.config, **suggestion[0]}
        try:
            ClassBoard(data_dir()).check_locks(RunConfig.from_dict(values))
            job = self.manager.start(RunConfig.from_dict(values), owner=who)
        except (ConfigError, SpaceLimit, BudgetSpent) as err:
            warn(str(err))
            return gr.skip(), gr.skip()
        inform(suggestion[1])
        return job.run_id, None

    def _latest(self, current: str | None, who: str) -> RunSnapshot | None:
        """The chosen run if it is this person's, else their newest one."""
        snapshot = self.manager.snapshot(current, owner=who) if current else None
        if snapshot is None:
            own = self.manager.summaries(owner=who)
            snapshot = self.manager.snapshot(own[0].run_id, owner=who) if own else None
        return snapshot

    def _workshop(self, snapshot: RunSnapshot | None, who: str) -> tuple[WorkshopLines, tuple]:
        """The card's workshop lines for this person, and what of them the render key follows (to the minute)."""
        allowance = self.manager.allowance(who)
        wait = self.manager.wait_estimate(snapshot.run_id) if snapshot and snapshot.phase == "queued" else None
        notice = self.manager.start_notice(snapshot.run_id, owner=who) if snapshot else ""
        lines = WorkshopLines(wait.describe() if wait else "", notice, allowance.describe())
        key = (lines.wait, notice, int(allowance.used_seconds // 60), *allowance.settings.to_dict().values())
        return lines, key

    def watch(self, current: str | None, last_key, smooth: float, axis: str, request: gr.Request):
        """Every second: a new token for ``moved_on`` when the page is out of date, else skip."""
        # Every second in every open page. Gradio applies gr.skip() to a component by building it anew (~3 ms
        # each, ~50 ms for the refresh's 18 outputs): so the timer only compares, and ``moved_on``'s change event
        # redraws when there is something new. ``moved_on`` is a hidden textbox, not a State: the tick runs off
        # the queue, and the page fires a State's change events only for queued events. The token says nothing
        # of the run (what changed stays on the server); the clock makes each one new.
        who = request_owner(request)
        snapshot = self._latest(current, who)
        key = _shown_key(snapshot, smooth, axis, self._workshop(snapshot, who)[1])
        return gr.skip() if key == last_key else str(time.monotonic_ns())

    def refresh(self, current: str | None, last_key, smooth: float, axis: str, request: gr.Request) -> list:
        """Redraw what changed of this person's run (``REFRESH_OUTPUTS``): status, charts, samples, buttons."""
        who = request_owner(request)
        snapshot = self._latest(current, who)
        workshop, workshop_key = self._workshop(snapshot, who)
        key = _shown_key(snapshot, smooth, axis, workshop_key)
        if key == last_key:
            return [gr.skip()] * (len(REFRESH_OUTPUTS) - 1) + [last_key]
        own_runs = self.manager.summaries(owner=who)
        remote = frozenset(run.run_id for run in own_runs if self.manager.is_remote(run.run_id))
        job = self.manager.remote_job(snapshot.run_id, who) if snapshot else None
        active = bool(snapshot and snapshot.is_active)
        if job and active:  # after a restart a signed-in person's Job is followed again with their own login
            self.manager.remote.lend_token(snapshot.run_id, hub_token(request))
        facts = run_facts(snapshot) if snapshot else None  # one set of numbers: the card, the diagnosis, the retry
        suggestion = _retry_changes(snapshot, facts) if snapshot and not active else None
        can_resume = bool(snapshot and snapshot.phase in RESUMABLE_PHASES) and not job  # a Job is submitted anew
        diagnosis_html = render_diagnosis(_diagnosis(snapshot, facts)) if snapshot and snapshot.metrics else ""
        charts_shown = last_key is not None and last_key[0] == key[0]  # e.g. only the message changed
        return [
            snapshot.run_id if snapshot else current,
            render_status(snapshot, self.manager.queue_length(), facts, job, workshop),
            diagnosis_html,
            *([gr.skip()] * (1 + len(EXTRA_METRICS)) if charts_shown else chart_data(snapshot, smooth, axis)),
            render_samples(snapshot),
            render_result(snapshot, dashboard_link(who)),
            gr.Button(interactive=not _any_active([run for run in own_runs if run.run_id not in remote])),
            gr.Button(
                interactive=active and snapshot.phase != "stopping",
                value="Cancel the Job" if job else "Cancel" if snapshot and snapshot.phase == "queued" else "Stop",
            ),
            gr.Button(interactive=can_resume),
            gr.Button(interactive=bool(suggestion and suggestion[0])),
            f"*Suggested:* {suggestion[1]}" if suggestion else "",
            gr.Dropdown(choices=run_choices(own_runs, remote), value=snapshot.run_id if snapshot else None),
            key,
        ]


def build_train_step(manager: RunManager, config_state: gr.State) -> TrainStep:
    """Lay out the Train step and wire its events; returns the parts other steps may use."""
    limits_text = manager.limits.describe()
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            # What Start trains: the page's settings, redrawn whenever they change (a remembered one on load too).
            summary = gr.Markdown(describe_config(config_state.value), elem_id="train-summary")
            with gr.Row():
                start = gr.Button("Start training", variant="primary", elem_id="start-training")
                stop = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop-training")
            with gr.Row():
                resume = gr.Button("Resume", interactive=False, elem_id="resume-training")
                retry = gr.Button("Retry with suggested changes", interactive=False, elem_id="retry-training")
            retry_note = gr.Markdown(elem_id="retry-note")
            own_prompts = gr.Textbox(
                label="Your own test prompts (optional)",
                info=f"One per line, up to {MAX_OWN_PROBES}. Answered at step 0 and at every sampling step, next to "
                "the held-out prompts, so you see how the model treats inputs you care about.",
                lines=2,
                elem_id="own-probes",
            )
            if limits_text:
                gr.Markdown(f"*{limits_text}*")
            runs = gr.Dropdown(
                label="Your runs",
                choices=[],
                value=None,
                elem_id="run-picker",
                info="Past runs stay listed after a restart; pick one to see its curves.",
            )
            with gr.Accordion("Chart options", open=False):
                smoothing = gr.Slider(
                    0,
                    0.95,
                    value=0.6,
                    step=0.05,
                    label="Smoothing",
                    info="Exponential moving average, as in TensorBoard; raw points stay faint.",
                )
                x_axis = gr.Radio(["step", "tokens"], value="step", label="X axis")
            # The folder link opens the dashboard, which shows only the asker's project (ui/trackio_mount.py).
            gr.HTML(render_trackio_link("trackio/"), elem_id="trackio-link")
        with gr.Column(scale=3):
            status = gr.HTML(render_status(None), elem_id="run-status")
            diagnosis = gr.HTML(elem_id="diagnosis")
            loss_plot = gr.Plot(label="Loss", elem_id="loss-plot", show_label=False)
            with gr.Accordion(
                "More metrics: learning rate, gradient norm, accuracy, entropy, speed, memory", open=False
            ):
                gr.HTML(render_chart_guide(EXTRA_METRICS))
                with gr.Row():
                    extra_plots = [gr.Plot(show_label=False, elem_id=f"plot-{key}") for key, _, _ in EXTRA_METRICS[:3]]
                with gr.Row():
                    extra_plots += [
                        gr.Plot(show_label=False, elem_id=f"plot-{key}") for key, _, _ in EXTRA_METRICS[3:]
                    ]
            gr.Markdown("### Answers to held-out prompts")
            samples = gr.HTML(render_samples(None), elem_id="samples")
            result = gr.HTML(elem_id="run-result")

    run_id = gr.State(None)
    render_key = gr.State(None)  # what the page shows (``_shown_key``), as of its last refresh
    moved_on = gr.Textbox(visible=False)  # set by the timer when the run changed since then: its change refreshes
    timer = gr.Timer(POLL_SECONDS, active=True)

    parts = {
        "run_id": run_id, "status": status, "diagnosis": diagnosis, "loss_plot": loss_plot,
        **{f"plot_{key}": plot for (key, _, _), plot in zip(EXTRA_METRICS, extra_plots, strict=True)},
        "samples": samples, "result": result, "start": start, "stop": stop, "resume": resume, "retry": retry,
        "retry_note": retry_note, "runs": runs, "render_key": render_key,
    }  # fmt: skip
    outputs = [parts[name] for name in REFRESH_OUTPUTS]
    poll_inputs = [run_id, render_key, smoothing, x_axis]
    events = TrainEvents(manager)
    refresh = events.refresh

    config_state.change(describe_config, config_state, summary, show_progress="hidden")
    config_state.change(events.warm_run, config_state, None, show_progress="hidden")
    start.click(events.start_run, [config_state, own_prompts], [run_id, render_key]).then(
        refresh, poll_inputs, outputs
    ).then(None, js=SHOW_STATUS)
    stop.click(events.stop_run, [run_id], None).then(refresh, poll_inputs, outputs)
    resume.click(events.resume_run, [run_id], render_key).then(refresh, poll_inputs, outputs)
    retry.click(events.retry_run, [run_id], [run_id, render_key]).then(refresh, poll_inputs, outputs)
    runs.input(pick_run, runs, [run_id, render_key]).then(refresh, poll_inputs, outputs)
    for control in (smoothing, x_axis):
        control.change(refresh, poll_inputs, outputs, show_progress="hidden")
    # Off the queue: the page posts each tick as one request, where a queued event costs a join, an event stream
    # and the queue's bookkeeping (a quiet tick 6.7 ms of server CPU queued, 3.2 ms off it: bench/RESULTS.md),
    # every second in every open page. The tick only reads a snapshot; its change event (queued) does the drawing.
    timer.tick(events.watch, poll_inputs, moved_on, show_progress="hidden", queue=False)
    moved_on.change(refresh, poll_inputs, outputs, show_progress="hidden")
    endpoints = ScriptEndpoints(manager)
    for name in ScriptEndpoints.NAMES:  # a script's poll, like the page's tick, is one request off the queue
        gr.api(getattr(endpoints, name), api_name=name, queue=name not in ScriptEndpoints.POLLS)
    if Context.root_block is not None:  # the app's Blocks: "load" fires when a page opens
        Context.root_block.load(events.open_page, None, run_id)
        Context.root_block.load(events.warm_run, config_state, None, show_progress="hidden")
    return TrainStep(run_id=run_id, summary=summary, start=start, stop=stop, api_names=ScriptEndpoints.NAMES)


class ScriptEndpoints:
    """Plain endpoints for scripts and ``gradio_client`` (the page itself uses the events above).

    A browser's runs belong to its private id, so a script that learns or guesses
    a browser's run id still gets "no run" here (SECURITY.md, "Runs and people").
    """

    NAMES = ("start_training", "run_status", "stop_training", "resume_training")
    POLLS = ("run_status",)  # read-only and cheap: answered without the queue

    def __init__(self, manager: RunManager) -> None:
        self.manager = manager

    def start_training(self, model_id: str, dataset: str, max_steps: int) -> str:
        """Start a run with the Quick demo settings on the given model and data; returns its run id."""
        try:
            config = RunConfig(model_id=model_id, dataset=dataset, max_steps=int(max_steps))
            return self.manager.start(config, owner=SCRIPT_OWNER).run_id
        except (ConfigError, SpaceLimit, BudgetSpent) as err:
            raise refusal(str(err)) from err

    def run_status(self, run_id: str) -> dict:
        """Phase, step counts, logged losses, validation losses and samples of a run started by a script."""
        snapshot = self.manager.snapshot(run_id, owner=SCRIPT_OWNER)
        if snapshot is None:
            raise refusal(f"There is no run with id {run_id!r} started through this API.")
        return {
            "phase": snapshot.phase,
            "message": snapshot.message,
            "error": snapshot.error,
            "step": snapshot.step,
            "total_steps": snapshot.total_steps,
            "queue_position": snapshot.queue_position,
            "losses": [m["loss"] for m in snapshot.metrics if "loss" in m],
            "eval_losses": [m["eval_loss"] for m in snapshot.eval_metrics if "eval_loss" in m],
            "samples": snapshot.samples,
            "result_dir": snapshot.result_dir,
            "load_check": snapshot.load_check,
        }

    def stop_training(self, run_id: str) -> bool:
        """Ask a script's run to stop at the next step (or cancel it while it waits); True if it was active."""
        return self.manager.stop(run_id, owner=SCRIPT_OWNER)

    def resume_training(self, run_id: str) -> str:
        """Continue a script's stopped, failed or interrupted run from its last complete checkpoint."""
        try:
            return self.manager.resume(run_id, owner=SCRIPT_OWNER).run_id
        except KeyError as err:
            raise refusal(f"There is no run with id {run_id!r} started through this API.") from err
        except ConfigError as err:
            raise refusal(str(err)) from err
