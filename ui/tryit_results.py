"""The Try it step's longer jobs: a probe set across two models, quick scores before vs after, sharing.

The handlers come first (``ResultEvents``); then each builder lays out one sub-tab
(call it inside that ``gr.Tab``), wires its events, and returns the components the
step's refresh fills in. These are blocking handlers with a progress bar: seconds to a
minute or two each.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from core.demo_data import DEMO_DATASETS
from core.evaluate import DEFAULT_ROWS, evaluate_run, load_evaluation
from core.models.refs import is_adapter_folder
from core.owners import oauth_enabled
from core.probe_sets import PROBE_SETTINGS, prompts_from_demo, prompts_from_run, prompts_from_text, run_probe_set
from core.share import ShareError
from core.share.merge import merge_adapter
from core.share.push import hub_unavailable_reason, push_model
from ui.identity import hub_token, request_owner
from ui.toasts import warn
from ui.tryit_context import EXPECTED_ERRORS, TryItContext, model_picker, progress_reporter
from ui.tryit_views import render_probe_table, render_scores, run_id_of

PROMPT_SOURCES = [("The run's probe prompts", "run"), ("Held-out demo rows", "demo"), ("Paste prompts", "pasted")]


@dataclass(frozen=True)
class ProbeSetTab:
    """The probe set's two model lists, which the step's refresh fills."""

    base: gr.Dropdown
    tuned: gr.Dropdown


@dataclass(frozen=True)
class ScoresTab:
    """The quick scores' run list, which the step's refresh fills."""

    run: gr.Dropdown


@dataclass(frozen=True)
class ShareTab:
    """The share tab's run list and the line saying what pushing needs, both filled by the step's refresh."""

    run: gr.Dropdown
    hub_note: gr.Markdown


def show_source(picked: str):
    """Show the demo picker or the prompts box, for the prompt source picked."""
    return gr.Row(visible=picked == "demo"), gr.Textbox(visible=picked == "pasted")


class ResultEvents:
    """The handlers of the probe set, quick scores and share tabs, over the runs and models of the person asking."""

    def __init__(self, ctx: TryItContext) -> None:
        self.ctx = ctx

    def _prompts_for(self, picked, demo_name, row_count, pasted, base_ref, tuned_ref, who):
        ctx = self.ctx
        if picked == "pasted":
            return prompts_from_text(pasted)
        if picked == "demo":
            return prompts_from_demo(demo_name, int(row_count))
        run_id = run_id_of(tuned_ref, refs := ctx.refs_for(who)) or run_id_of(base_ref, refs)
        if run_id is None:
            raise ValueError(
                "The run's probe prompts need a model from one of your runs as model 2; "
                "or choose held-out demo rows or paste prompts."
            )
        return prompts_from_run(ctx.manager.runs_dir / run_id)

    def run_probes(
        self,
        picked,
        demo_name,
        row_count,
        pasted,
        base_ref,
        tuned_ref,
        request: gr.Request,
        progress=gr.Progress(),  # noqa: B008 - gradio injects it
    ):
        """Answer the chosen prompts with both models, greedy: the table, its CSV and JSONL, and a summary."""
        ctx = self.ctx
        try:
            who = request_owner(request)
            models = [ctx.check_ref(ref, who) for ref in dict.fromkeys(r for r in (base_ref, tuned_ref) if r)]
            prompts = self._prompts_for(picked, demo_name, row_count, pasted, base_ref, tuned_ref, who)
            progress(0, desc="Loading the first model...")
            reporter = progress_reporter(progress, len(prompts) * len(models) + 2)  # + loading each model
            results = run_probe_set(
                ctx.pool(), prompts, models, progress=reporter, stop_event=ctx.stops.fresh(request, "probe")
            )
        except EXPECTED_ERRORS as err:
            warn(str(err))
            return gr.skip(), gr.skip(), f"**Could not run the probe set:** {err}"
        folder = Path(tempfile.mkdtemp(prefix="sft-coach-probes-"))
        saved = [str(results.to_csv(folder / "probe_set.csv")), str(results.to_jsonl(folder / "probe_set.jsonl"))]
        stopped = " Stopped early: the table holds the answers so far." if results.stopped else ""
        summary = (
            f"{len(prompts)} prompt(s) × {len(results.labels)} model(s), greedy, "
            f"at most {PROBE_SETTINGS.max_new_tokens} new tokens.{stopped}"
        )
        return render_probe_table(results.table()), saved, summary

    def show_saved(self, run_id, request: gr.Request):
        """The scores saved with this person's picked run, if it has any."""
        try:
            return render_scores(load_evaluation(self.ctx.run_dir(run_id, request_owner(request))))
        except ValueError:
            return render_scores(None)

    def score(self, run_id, row_count, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - gradio injects it
        """Score this person's run before vs after fine-tuning on held-out rows."""
        ctx = self.ctx
        try:
            run_dir = ctx.run_dir(run_id, request_owner(request))
            progress(0, desc="Loading the base model...")
            expected = 5 + 2 * -(-int(row_count) // 8)  # loading both models, then each batch of 8 rows, twice
            scores = evaluate_run(ctx.pool(), run_dir, int(row_count), progress=progress_reporter(progress, expected))
        except EXPECTED_ERRORS as err:
            warn(str(err))
            return gr.skip()
        return render_scores(scores)

    def merge_run(self, run_id, request: gr.Request, progress=gr.Progress()):  # noqa: B008 - gradio injects it
        """Fold the LoRA adapter of this person's run into its base and save one plain model folder."""
        ctx = self.ctx
        try:
            who = request_owner(request)
            run_dir = ctx.run_dir(run_id, who)
            snapshot = ctx.manager.snapshot(run_id, owner=who)
            result_dir = snapshot.result_dir if snapshot else None
            if not result_dir:
                raise ShareError(f"The run {run_id} has no trained model yet: let it finish first.")
            if not is_adapter_folder(result_dir):
                return f"This run fine-tuned the whole model: `{result_dir}` is already a plain model folder."
            merged = merge_adapter(result_dir, progress=progress_reporter(progress, 3))
        except EXPECTED_ERRORS as err:
            warn(str(err))
            return f"**Could not merge:** {err}"
        return f"Saved the merged model of run `{run_dir.name}` to `{merged}`."

    def push_run(self, run_id, repo, secret, kind, is_private, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        """Push and say how it went; the token box is emptied on every answer, so the secret leaves the page."""
        reason = hub_unavailable_reason()
        if reason:
            warn(reason)
            return f"**Can't push from here.** {reason}", ""
        try:
            run_dir = self.ctx.run_dir(run_id, request_owner(request))
            reporter = progress_reporter(progress, 4)
            token = hub_token(request, secret)  # signed in: the login's own token, never a page value
            pushed = push_model(run_dir, repo, kind, token, bool(is_private), progress=reporter)
        except EXPECTED_ERRORS as err:  # ShareError messages never contain the token
            warn(str(err))
            return f"**Could not push:** {err}", ""
        return f"Pushed {len(pushed.files)} files to [{pushed.repo_id}]({pushed.url}).", ""


def build_probe_set_tab(ctx: TryItContext) -> ProbeSetTab:
    """Prompts from a run, a demo or pasted lines, answered by two models; a table and CSV/JSONL downloads."""
    gr.Markdown("The same prompts to two models, greedy (so differences come from the weights), as a table.")
    with gr.Row():
        base = model_picker("Model 1 (e.g. the base model)", "probe-model-base")
        tuned = model_picker("Model 2 (e.g. a checkpoint)", "probe-model-tuned")
    source = gr.Radio(
        PROMPT_SOURCES,
        value="run",
        label="Prompts",
        info="The run's probes are the held-out prompts model 2's run answered during training.",
        elem_id="probe-source",
    )
    with gr.Row(visible=False) as demo_row:
        demos = [(d.title, name) for name, d in DEMO_DATASETS.items()]
        demo = gr.Dropdown(demos, value="json_extraction", label="Demo")
        rows = gr.Slider(1, 50, value=10, step=1, label="Rows")
    text = gr.Textbox(label="One prompt per line", lines=5, visible=False, elem_id="probe-text")
    with gr.Row():
        go = gr.Button("Run probe set", variant="primary", elem_id="probe-run")
        stop = gr.Button("Stop", variant="stop", elem_id="probe-stop")
    note = gr.Markdown(elem_id="probe-note")
    table = gr.HTML(render_probe_table([]), elem_id="probe-table")
    files = gr.File(label="Download (CSV, JSONL)", file_count="multiple", elem_id="probe-files")

    events = ResultEvents(ctx)
    source.change(show_source, source, [demo_row, text], show_progress="hidden")
    go.click(events.run_probes, [source, demo, rows, text, base, tuned], [table, files, note])
    stop.click(ctx.stops.handler("probe"), None, None, queue=False)
    return ProbeSetTab(base=base, tuned=tuned)


def build_scores_tab(ctx: TryItContext) -> ScoresTab:
    """Before vs after on held-out rows: task scores for the demos, validation loss for your own data."""
    gr.Markdown(
        "Before vs after on held-out rows the model never trained on. Built-in demos: valid-JSON rate, exact match "
        "and field accuracy (or final-answer accuracy). Your own data: validation loss and perplexity on the "
        "answer tokens. 20 rows take about a minute for SmolLM2 on a quiet CPU, several while a run trains (they "
        "share the processor); the bar counts the rows and tokens as they are answered."
    )
    with gr.Row():
        run_picker = gr.Dropdown(label="Run", choices=[], elem_id="score-run", scale=3)
        rows = gr.Slider(5, 100, value=DEFAULT_ROWS, step=5, label="Held-out rows", scale=2, elem_id="score-rows")
    go = gr.Button("Score before vs after", variant="primary", elem_id="score-run-button")
    result = gr.HTML(render_scores(None), elem_id="score-result")

    events = ResultEvents(ctx)
    run_picker.change(events.show_saved, [run_picker], result, show_progress="hidden")
    go.click(events.score, [run_picker, rows], result)
    return ScoresTab(run=run_picker)


def build_share_tab(ctx: TryItContext) -> ShareTab:
    """Merge the adapter into its base and save it; push adapter or merged model to the Hub with a model card."""
    run_picker = gr.Dropdown(label="Run", choices=[], elem_id="share-run")
    gr.Markdown(
        "**Merge** folds the LoRA adapter into the base weights and saves one plain model folder that loads "
        "without PEFT (type its folder into a model list above to chat with it)."
    )
    merge = gr.Button("Merge adapter and save", elem_id="share-merge")
    merge_note = gr.Markdown(elem_id="share-merge-note")
    gr.Markdown("**Push to the Hugging Face Hub** with a generated model card (data, settings, loss, scores, votes).")
    hub_note = gr.Markdown(elem_id="share-hub-note")
    with gr.Row():
        repo_id = gr.Textbox(label="Repository", placeholder="your-name/my-smollm2-json", elem_id="share-repo")
        token = gr.Textbox(
            label="Hugging Face token (write access)",
            type="password",
            placeholder="hf_... (or set HF_TOKEN); used for this push only, never saved",
            elem_id="share-token",
            visible=not oauth_enabled(),  # signed in, the app pushes with the person's own login
        )
    with gr.Row():
        what = gr.Radio(
            [("LoRA adapter (small)", "adapter"), ("Merged model (loads without PEFT)", "merged")],
            value="adapter",
            label="What to share",
        )
        private = gr.Checkbox(True, label="Private repository")
    push = gr.Button("Push to Hub", variant="primary", elem_id="share-push")
    push_note = gr.Markdown(elem_id="share-push-note")

    events = ResultEvents(ctx)
    merge.click(events.merge_run, [run_picker], merge_note)
    push.click(events.push_run, [run_picker, repo_id, token, what, private], [push_note, token])
    return ShareTab(run=run_picker, hub_note=hub_note)


def hub_note_text(signed_in_as: str | None = None) -> str:
    """The line under 'Push to the Hugging Face Hub': why it can't work here, or what it needs (``signed_in_as``:
    the account of the person asking, with Hugging Face login on)."""
    reason = hub_unavailable_reason()
    if reason:
        return f"⚠️ {reason}"
    if signed_in_as:
        return (
            f"Pushes as **{signed_in_as}**, with your Hugging Face login (no token to paste, none kept). "
            "A name without a user goes under yours."
        )
    if oauth_enabled():
        return (
            "Pushes with your Hugging Face account: sign in with the button at the top of the page (no token to "
            "paste, none kept). A name without a user goes under yours."
        )
    return "Needs a token with write access; a name without a user goes under yours."
