"""Step 5, Try it: talk to the trained model, compare it with the base model, score it, share it.

Every model comes from one process-wide ``ModelPool`` (at most two base
models in memory, LoRA adapters applied on a loaded base), created on first
use. Chat, side by side and blind A/B stream tokens through short-lived
generator handlers; Stop sets a per-session ``threading.Event`` that the
generation checks before each token, so the text so far stays on the page.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from core.ab_test import VOTES, new_round, record_vote, stream_compare, tally
from core.chat import ChatError, stream_chat
from core.models.pool import device_for_chat
from core.models.refs import default_pair
from core.runs.manager import RunManager
from ui.identity import request_owner, signed_in_username
from ui.toasts import warn
from ui.tryit_context import (
    EXPECTED_ERRORS,
    TryItContext,
    model_picker,
    prompt_edited,
    prompt_state,
    restore_prompt,
)
from ui.tryit_results import build_probe_set_tab, build_scores_tab, build_share_tab, hub_note_text
from ui.tryit_views import (
    THINKING_CHOICES,
    VOTE_LABELS,
    TrainedPrompt,
    chat_display,
    comparison_note,
    default_chat_ref,
    keep_or_default,
    picker_choices,
    prompt_after_pick,
    render_answer,
    render_reveal,
    render_tally,
    run_id_of,
    settings_from_inputs,
)

INTRO = """Put the fine-tuned model to work. **Chat** with any model, compare two **side by side** with the same
settings and seed, vote in a **blind A/B** test, run a **probe set** of prompts, get **quick scores** before vs after
fine-tuning, and **share** the result. Models load on first use (a few seconds) and stay loaded, two at most."""


@dataclass(frozen=True)
class TryItStep:
    """The Try it step's parts other code reaches: the refresh button, the chat's model list and conversation."""

    refresh: gr.Button
    chat_model: gr.Dropdown
    chatbot: gr.Chatbot


def clear_chat() -> tuple[list, list]:
    """Empty the conversation, shown and kept."""
    return [], []


class TryItEvents:
    """The Try it step's handlers for chat, side by side and blind A/B, and its model lists.

    Each decides who is asking from the request and checks every model a page sends back (``ctx.check_ref``)
    before the pool opens it.
    """

    def __init__(self, ctx: TryItContext) -> None:
        self.ctx = ctx

    def refresh_lists(
        self, chat_v, a_v, b_v, ab1_v, ab2_v, base_v, tuned_v, score_v, share_v, prompt, shown_for, request: gr.Request
    ):
        """Fill every model and run list with this person's choices, keeping what each list shows if still there.

        The system prompt follows the model Chat shows: a run's model newly shown brings its training prompt.
        """
        ctx = self.ctx
        who = request_owner(request)
        refs = ctx.refs_for(who)
        choices = picker_choices(refs)
        first = refs[0].ref if refs else None
        base, tuned = default_pair(refs) or (first, default_chat_ref(refs))
        defaults = [default_chat_ref(refs), base, tuned, base, tuned, base, tuned]
        current = [chat_v, a_v, b_v, ab1_v, ab2_v, base_v, tuned_v]
        updates = [
            gr.Dropdown(choices=choices, value=keep_or_default(value, default))
            for value, default in zip(current, defaults, strict=True)
        ]
        runs = ctx.run_choices(who)
        run_ids = [run for _, run in runs]
        run_updates = [
            gr.Dropdown(choices=runs, value=value if value in run_ids else (run_ids[0] if run_ids else None))
            for value in (score_v, share_v)
        ]
        chat_ref = keep_or_default(chat_v, default_chat_ref(refs))
        prompt_parts = self._follow(prompt, shown_for, [chat_ref], who)
        return [
            *updates,
            *run_updates,
            ctx.describe_device(),
            hub_note_text(signed_in_username(request)),
            *prompt_parts,
        ]

    def _follow(self, prompt: str, shown_for: TrainedPrompt | None, picked: list, who: str) -> list:
        """The system prompt box, its note, the restore button and the prompt's run, once ``picked`` are shown."""
        trained = self.ctx.trained_prompt(picked, who)
        if trained is None:  # a base model or a typed one: what the person has in the box stays as it is
            return [gr.skip(), *prompt_state(None, "")]
        prompt = prompt_after_pick(trained, shown_for, prompt or "")
        return [prompt, *prompt_state(trained, prompt)]

    def follow_one(self, prompt, shown_for, ref, request: gr.Request) -> list:
        """Chat's model was picked (or the Chat tab opened): fill in the system prompt its run trained with."""
        return self._follow(prompt, shown_for, [ref], request_owner(request))

    def follow_pair(self, prompt, shown_for, first, second, request: gr.Request) -> list:
        """A comparison's model was picked: the run's system prompt (the second side's run first) goes to both."""
        return self._follow(prompt, shown_for, [second, first], request_owner(request))

    def chat_event(self, text, history, ref, sp, temp, tp, new, rep, sd, det, think, request: gr.Request):
        """Answer a chat message, streaming the tokens; on a problem the message goes back into the box."""
        ctx = self.ctx
        text, history = (text or "").strip(), list(history or [])
        try:
            if not text:
                raise ChatError("Type a message first.")
            if not ref:
                raise ChatError("Pick a model to chat with (or type a model folder or Hub id).")
            ref = ctx.check_ref(ref, request_owner(request))
            settings = settings_from_inputs(sp, temp, tp, new, rep, sd, det, think)
        except ValueError as err:  # ChatError, or a model folder this person may not open
            warn(str(err))
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        stop_event = ctx.stops.fresh(request, "chat")
        conversation = [*history, {"role": "user", "content": text}]
        loading = chat_display(conversation) + [{"role": "assistant", "content": "<i>Loading the model…</i>"}]
        yield loading, history, "", ctx.describe_device()
        answer = ""
        try:
            device, _ = device_for_chat(ctx.training_active())
            with ctx.pool().use(ref, device=device) as loaded:
                for answer in stream_chat(loaded.model, loaded.tokenizer, conversation, settings, stop_event):
                    shown = chat_display([*conversation, {"role": "assistant", "content": answer}])
                    yield shown, history, "", gr.skip()
        except EXPECTED_ERRORS as err:
            warn(str(err))
            yield chat_display(history), history, text, gr.skip()  # the message goes back into the box
            return
        finished = [*conversation, {"role": "assistant", "content": answer}]
        yield chat_display(finished), finished, "", gr.skip()

    def compare_event(self, prompt, ref_a, ref_b, sp, temp, tp, new, rep, sd, det, think, request: gr.Request):
        """Answer one prompt with two models, the same settings and seed, streaming both sides."""
        ctx = self.ctx
        who = request_owner(request)
        try:
            if not (prompt or "").strip():
                raise ChatError("Type a prompt for both models first.")
            if not ref_a or not ref_b:
                raise ChatError("Pick a model on each side.")
            ref_a, ref_b = ctx.check_ref(ref_a, who), ctx.check_ref(ref_b, who)
            settings = settings_from_inputs(sp, temp, tp, new, rep, sd, det, think)
        except ValueError as err:  # ChatError, or a model folder this person may not open
            warn(str(err))
            yield gr.skip(), gr.skip()
            return
        if settings.seed is None and not settings.deterministic:
            settings = settings.with_seed(secrets.randbelow(2**31))  # one seed for both sides, shown to the user
        note = comparison_note(settings, ctx.trained_prompt([ref_b, ref_a], who))
        names = ctx.names_for(ctx.refs_for(who))
        title_a, title_b = names.get(ref_a, ref_a), names.get(ref_b, ref_b)
        stop_event = ctx.stops.fresh(request, "sbs")
        messages = [{"role": "user", "content": prompt.strip()}]
        yield render_answer(title_a, None, "Loading…"), render_answer(title_b, None, "Waiting for the left side…")
        answers = ("", "")
        try:
            for answers in stream_compare(ctx.pool(), ref_a, ref_b, messages, settings, stop_event):
                yield render_answer(title_a, answers[0], "Answering…"), render_answer(title_b, answers[1], "")
        except EXPECTED_ERRORS as err:
            warn(str(err))
            return
        stopped = " Stopped early." if stop_event.is_set() else ""
        yield render_answer(title_a, answers[0], note + stopped), render_answer(title_b, answers[1], note + stopped)

    def tally_for(self, ref_1, ref_2, request: gr.Request) -> str:
        """The blind A/B tally saved with the run of the picked models (the second model's run first)."""
        refs = self.ctx.refs_for(request_owner(request))
        run_id = run_id_of(ref_2, refs) or run_id_of(ref_1, refs)
        runs_dir = self.ctx.manager.runs_dir
        return render_tally(run_id, tally(runs_dir / run_id) if run_id else None, self.ctx.names_for(refs))

    def ab_event(self, prompt, ref_1, ref_2, sp, temp, tp, new, rep, sd, det, think, request: gr.Request):
        """A new blind round: both answers streamed as A and B in a random order, then the vote buttons."""
        ctx = self.ctx
        who = request_owner(request)
        hidden = [gr.Button(interactive=False)] * len(VOTES)
        try:
            checked = [ctx.check_ref(ref, who) if ref else "" for ref in (ref_1, ref_2)]
            round_ = new_round(prompt or "", *checked)
            settings = settings_from_inputs(sp, temp, tp, new, rep, sd, det, think)
        except ValueError as err:
            warn(str(err))
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), *[gr.skip()] * len(VOTES)
            return
        stop_event = ctx.stops.fresh(request, "ab")
        messages = [{"role": "user", "content": round_.prompt}]
        yield render_answer("Answer A", None, "Loading…"), render_answer("Answer B", None), None, "", *hidden
        answers = ("", "")
        try:
            for answers in stream_compare(ctx.pool(), round_.model_a, round_.model_b, messages, settings, stop_event):
                yield render_answer("Answer A", answers[0]), render_answer("Answer B", answers[1]), None, "", *hidden
        except EXPECTED_ERRORS as err:
            warn(str(err))
            return
        refs = ctx.refs_for(who)  # votes go with the second model's run (the fine-tuned one by default)
        run_id = run_id_of(ref_2, refs) or run_id_of(ref_1, refs)
        state = {"round": round_, "answers": answers, "voted": False, "run_id": run_id}
        shown = [gr.Button(interactive=True)] * len(VOTES)
        yield render_answer("Answer A", answers[0]), render_answer("Answer B", answers[1]), state, "", *shown

    def cast_vote(self, vote: str, state, request: gr.Request):
        """Record this round's vote with the run (once per round), then reveal which model wrote which answer."""
        ctx = self.ctx
        who = request_owner(request)
        if not state or state.get("voted"):
            warn("Start a new blind round first: each round takes one vote.")
            return gr.skip(), gr.skip(), gr.skip(), *[gr.skip()] * len(VOTES)
        round_, run_id = state["round"], state["run_id"]
        try:
            if run_id:  # the run must still be this person's: votes are saved in its folder
                record_vote(ctx.run_dir(run_id, who), round_, vote, tuple(state["answers"]))
        except ValueError as err:
            warn(str(err))
            return gr.skip(), gr.skip(), gr.skip(), *[gr.skip()] * len(VOTES)
        names = ctx.names_for(ctx.refs_for(who))
        reveal = render_reveal(round_, vote, names, run_id)
        result = render_tally(run_id, tally(ctx.manager.runs_dir / run_id) if run_id else None, names)
        return {**state, "voted": True}, reveal, result, *[gr.Button(interactive=False)] * len(VOTES)

    def vote_handler(self, vote: str) -> Callable:
        """The handler of one vote button (Gradio passes the request by the annotation of its own signature)."""

        def cast(state, request: gr.Request):
            return self.cast_vote(vote, state, request)

        return cast


def build_tryit_step(manager: RunManager, opened: gr.Tab | None = None) -> TryItStep:
    """Lay out the Try it step and wire its events; ``opened`` (the step's tab) refreshes the lists when shown."""
    ctx = TryItContext(manager)
    gr.Markdown(INTRO, elem_id="tryit-intro")
    with gr.Row(equal_height=True):
        device_note = gr.Markdown(elem_id="tryit-device")
        refresh = gr.Button("↻ Refresh model list", size="sm", scale=0, min_width=180, elem_id="tryit-refresh")
    with gr.Row(equal_height=True):
        system_prompt = gr.Textbox(
            label="System prompt (Chat, Side by side and Blind A/B)",
            lines=2,
            scale=5,
            elem_id="tryit-system-prompt",
            placeholder="Optional, e.g. 'Extract the facts from the text as a JSON object.'",
            info="Sent as the first message, to every model alike. Picking a run's model fills in the one it was "
            "trained with: the format it learned comes with that prompt.",
        )
        restore = gr.Button(
            "Use the run's system prompt", size="sm", scale=0, min_width=200, visible=False, elem_id="prompt-restore"
        )
    prompt_note = gr.HTML(elem_id="system-prompt-note")
    with gr.Accordion(
        "Generation settings (shared by Chat, Side by side and Blind A/B)", open=False, elem_id="gen-settings"
    ):
        with gr.Row():
            temperature = gr.Slider(0.05, 2, value=0.6, step=0.05, label="Temperature", info="Higher = more varied.")
            top_p = gr.Slider(0.05, 1, value=0.95, step=0.05, label="Top-p", info="0.95 keeps the likely tokens.")
            max_new_tokens = gr.Slider(
                16, 1024, value=256, step=16, label="Max new tokens", elem_id="gen-max-new-tokens"
            )
            repetition_penalty = gr.Slider(1, 2, value=1.0, step=0.05, label="Repetition penalty", info="1 = off.")
        with gr.Row():
            deterministic = gr.Checkbox(
                False, label="Deterministic (greedy)", info="Always the most likely token: same answer every time."
            )
            seed = gr.Number(42, precision=0, label="Seed", info="Same seed and settings give the same answer.")
            thinking = gr.Radio(
                THINKING_CHOICES, value="default", label="Thinking mode", info="SmolLM3 only; other models ignore it."
            )
    settings_inputs = [system_prompt, temperature, top_p, max_new_tokens, repetition_penalty, seed, deterministic]
    settings_inputs.append(thinking)

    with gr.Tabs():
        with gr.Tab("Chat", id="tryit-chat"):
            chat_model = model_picker("Model", "chat-model")
            chatbot = gr.Chatbot(
                label="Conversation", elem_id="chat-window", height=340, buttons=["copy"], feedback_options=None
            )
            with gr.Row():
                message = gr.Textbox(
                    show_label=False, placeholder="Type a message, then Enter", scale=5, elem_id="chat-message"
                )
                send = gr.Button("Send", variant="primary", scale=0, min_width=90, elem_id="chat-send")
                chat_stop = gr.Button("Stop generating", variant="stop", scale=0, min_width=180, elem_id="chat-stop")
                clear = gr.Button("Clear", scale=0, min_width=80, elem_id="chat-clear")
        with gr.Tab("Side by side", id="tryit-sbs") as sbs_tab:
            gr.Markdown(
                "One prompt, two models, the very same settings and seed: any difference comes from the weights."
            )
            with gr.Row():
                sbs_a = model_picker("Left model", "sbs-model-a")
                sbs_b = model_picker("Right model", "sbs-model-b")
            sbs_prompt = gr.Textbox(label="Prompt", lines=2, elem_id="sbs-prompt")
            with gr.Row():
                sbs_go = gr.Button("Compare", variant="primary", elem_id="sbs-compare")
                sbs_stop = gr.Button("Stop generating", variant="stop", elem_id="sbs-stop")
            with gr.Row(equal_height=False):
                sbs_out_a = gr.HTML(render_answer("Left model", None), elem_id="sbs-answer-a")
                sbs_out_b = gr.HTML(render_answer("Right model", None), elem_id="sbs-answer-b")
        with gr.Tab("Blind A/B", id="tryit-ab") as ab_tab:
            gr.Markdown(
                "The two answers appear as **A** and **B** in a random order. Vote first, then see which model "
                "wrote which. Votes are saved with the run, so the tally survives a restart and goes into the "
                "model card."
            )
            with gr.Row():
                ab_1 = model_picker("First model", "ab-model-1")
                ab_2 = model_picker("Second model", "ab-model-2")
            ab_prompt = gr.Textbox(label="Prompt", lines=2, elem_id="ab-prompt")
            with gr.Row():
                ab_go = gr.Button("New blind round", variant="primary", elem_id="ab-new-round")
                ab_stop = gr.Button("Stop generating", variant="stop", elem_id="ab-stop")
            with gr.Row(equal_height=False):
                ab_out_a = gr.HTML(render_answer("Answer A", None), elem_id="ab-answer-a")
                ab_out_b = gr.HTML(render_answer("Answer B", None), elem_id="ab-answer-b")
            with gr.Row():
                vote_buttons = {
                    vote: gr.Button(VOTE_LABELS[vote], interactive=False, elem_id=f"ab-vote-{vote.lower()}")
                    for vote in VOTES
                }
            ab_reveal = gr.HTML(elem_id="ab-reveal")
            ab_tally = gr.HTML(elem_id="ab-tally")
        with gr.Tab("Probe set", id="tryit-probes"):
            probes = build_probe_set_tab(ctx)
        with gr.Tab("Quick scores", id="tryit-scores"):
            scores = build_scores_tab(ctx)
        with gr.Tab("Share", id="tryit-share"):
            share = build_share_tab(ctx)

    chat_history = gr.State([])
    ab_state = gr.State(None)
    prompt_for = gr.State(None)  # the TrainedPrompt the box was filled from: set on the server only

    events = TryItEvents(ctx)
    pickers = [chat_model, sbs_a, sbs_b, ab_1, ab_2, probes.base, probes.tuned]
    run_pickers = [scores.run, share.run]
    prompt_outputs = [system_prompt, prompt_note, restore, prompt_for]
    refresh_outputs = [*pickers, *run_pickers, device_note, share.hub_note, *prompt_outputs]
    refresh_inputs = [*pickers, *run_pickers, system_prompt, prompt_for]
    refresh.click(events.refresh_lists, refresh_inputs, refresh_outputs)
    if opened is not None:
        opened.select(events.refresh_lists, refresh_inputs, refresh_outputs, show_progress="hidden")

    # Chat's own model is followed by the refresh that runs when the step opens; a comparison's when its tab does.
    for tab, shown in ((None, [chat_model]), (sbs_tab, [sbs_a, sbs_b]), (ab_tab, [ab_1, ab_2])):
        follow = events.follow_one if len(shown) == 1 else events.follow_pair
        for picker in shown:
            picker.input(follow, [system_prompt, prompt_for, *shown], prompt_outputs, show_progress="hidden")
        if tab is not None:
            tab.select(follow, [system_prompt, prompt_for, *shown], prompt_outputs, show_progress="hidden")
    edited = dict(show_progress="hidden", trigger_mode="always_last")
    system_prompt.input(prompt_edited, [system_prompt, prompt_for], prompt_outputs[1:], **edited)
    restore.click(restore_prompt, [prompt_for], prompt_outputs)

    chat_inputs = [message, chat_history, chat_model, *settings_inputs]
    chat_outputs = [chatbot, chat_history, message, device_note]
    send.click(events.chat_event, chat_inputs, chat_outputs, show_progress="hidden")
    message.submit(events.chat_event, chat_inputs, chat_outputs, show_progress="hidden")
    chat_stop.click(ctx.stops.handler("chat"), None, None, queue=False)
    clear.click(clear_chat, None, [chatbot, chat_history])

    sbs_inputs = [sbs_prompt, sbs_a, sbs_b, *settings_inputs]
    sbs_go.click(events.compare_event, sbs_inputs, [sbs_out_a, sbs_out_b], show_progress="hidden")
    sbs_stop.click(ctx.stops.handler("sbs"), None, None, queue=False)

    ab_inputs = [ab_prompt, ab_1, ab_2, *settings_inputs]
    ab_outputs = [ab_out_a, ab_out_b, ab_state, ab_reveal, *vote_buttons.values()]
    ab_go.click(events.ab_event, ab_inputs, ab_outputs, show_progress="hidden")
    ab_stop.click(ctx.stops.handler("ab"), None, None, queue=False)
    for vote, button in vote_buttons.items():
        button.click(events.vote_handler(vote), [ab_state], [ab_state, ab_reveal, ab_tally, *vote_buttons.values()])
    for picker in (ab_1, ab_2):
        picker.change(events.tally_for, [ab_1, ab_2], ab_tally, show_progress="hidden")
    return TryItStep(refresh=refresh, chat_model=chat_model, chatbot=chatbot)
