"""Workshop mode, the participant's side: "From your instructor" at the top of Data and Settings, and the Class tab.

The class's shared items, arena and leaderboard live in ``core/workshop/``; this module lays them out and turns
clicks into calls, each for the person the server decides (ui/identity.py). Which models the arena's two answers
come from never reaches the page: the matchup stays in the arena, the page holds only its random token.
Workshop mode is on where someone can be the instructor (an admin password, or a Space with login).
"""

from __future__ import annotations

import html
import os
import threading
from dataclasses import dataclass

import gradio as gr
from gradio.context import Context

from core.config import ConfigError, RunConfig, field_label
from core.paths import data_dir
from core.runs.manager import RunManager
from core.workshop.answering import AnswerWorker
from core.workshop.arena import ClassArena, Matchup, SubmissionError
from core.workshop.leaderboard import COLUMNS, leaderboard_rows
from core.workshop.shared import ClassBoard, space_owner
from ui.data_views import render_message
from ui.identity import request_owner
from ui.toasts import inform, warn

FROM_INSTRUCTOR = "From your instructor"
_rooms: dict[str, tuple[ClassBoard, ClassArena]] = {}
_rooms_lock = threading.Lock()


def workshop_enabled() -> bool:
    """Whether someone can be the instructor here: an admin password is set, or the Space has login."""
    return bool(os.environ.get("SFT_COACH_ADMIN_PASSWORD", "").strip()) or space_owner() is not None


def class_room() -> tuple[ClassBoard, ClassArena]:
    """The one board and arena of this app (the arena keeps the open matchups in memory)."""
    root = str(data_dir())
    with _rooms_lock:
        if root not in _rooms:
            _rooms[root] = (ClassBoard(root), ClassArena(root))
        return _rooms[root]


def _card(title: str, lines: list[str]) -> str:
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f"<div class='coach-card'><strong>{html.escape(title)}</strong><ul>{items}</ul></div>"


# ---- the boxes at the top of 2 · Data and 3 · Settings ---------------------------------------------------------


def show_class_dataset(request: gr.Request):
    """The shared dataset's box, shown only when the instructor shared one."""
    request_owner(request)
    shared = class_room()[0].dataset()
    if shared is None:
        return gr.Group(visible=False), ""
    rows = f"{shared.train_rows:,} training rows" if shared.train_rows is not None else "a built-in demo"
    lines = [f"{shared.name}: {rows}, max length {shared.max_length}, already converted and checked."]
    return gr.Group(visible=True), _card(f"{FROM_INSTRUCTOR}: a dataset", lines)


def use_class_dataset(values: dict | None, request: gr.Request):
    """Start from the shared dataset: a copy in this person's own datasets folder, the settings pointed at it."""
    who = request_owner(request)
    try:
        changes, rows = class_room()[0].copy_dataset_for(who, data_dir())
        config = RunConfig.from_dict({**(values or {}), **changes})
    except (ConfigError, OSError) as err:
        warn(str(err))
        return gr.skip(), gr.skip(), render_message(str(err), "error")
    inform("Training will use your instructor's dataset.")
    return config.to_dict(), rows, render_message("You start from your instructor's dataset.", "ok")


@dataclass(frozen=True)
class ClassPresetBox:
    """The shared preset's box; ``wire`` connects it to the Settings step's fields once they exist."""

    group: gr.Group
    info: gr.HTML
    use: gr.Button
    message: gr.HTML

    def wire(self, settings, config_state: gr.State, opened: gr.Tab | None = None) -> None:
        """``opened``: the Settings tab; the box is read again each time it is opened (a share made meanwhile)."""
        names = list(settings.fields)
        fields = [settings.fields[name] for name in names]

        def show_preset_box(request: gr.Request):
            return show_class_preset(names, request)

        def use_preset_box(values: dict | None, request: gr.Request):
            return use_class_preset(names, values, request)

        outputs = [self.group, self.info, *fields]
        if Context.root_block is not None:
            Context.root_block.load(show_preset_box, None, outputs, show_progress="hidden")
        if opened is not None:
            opened.select(show_preset_box, None, outputs, show_progress="hidden")
        self.use.click(use_preset_box, [config_state], [config_state, self.message, *fields])


def _locks(names: list[str]) -> tuple[tuple[str, ...], list]:
    preset = class_room()[0].preset()
    locked = preset.locked if preset else ()
    return locked, [gr.update(interactive=name not in locked) for name in names]


def show_class_preset(names: list[str], request: gr.Request):
    """The shared preset's box, and the locked fields disabled (Start refuses a change to them anyway)."""
    request_owner(request)
    preset = class_room()[0].preset()
    locked, updates = _locks(names)
    if preset is None:
        return gr.Group(visible=False), "", *updates
    shown = ", ".join(f"{field_label(k)}: {v}" for k, v in preset.values.items() if k in locked) or "none"
    lines = [
        f"{preset.name}: learning rate {preset.values.get('learning_rate')}, {preset.values.get('max_steps')} steps.",
        f"Locked for the class (you can't change these): {shown}.",
    ]
    return gr.Group(visible=True), _card(f"{FROM_INSTRUCTOR}: a preset", lines), *updates


def use_class_preset(names: list[str], values: dict | None, request: gr.Request):
    request_owner(request)
    try:
        config = class_room()[0].start_from_preset(values)
    except ConfigError as err:
        warn(str(err))
        return gr.skip(), render_message(str(err), "error"), *_locks(names)[1]
    inform("Your settings are your instructor's preset now.")
    return config, render_message("You start from your instructor's preset.", "ok"), *_locks(names)[1]


def build_class_dataset_box(config_state: gr.State, dataset_rows: gr.State, opened: gr.Tab | None = None) -> gr.Group:
    """The "From your instructor" dataset box at the top of 2 · Data (hidden until one is shared).

    Read when the page loads and each time ``opened`` (the Data tab) is opened: a page open before the instructor
    shared finds the box when the participant goes to the step, without a reload.
    """
    with gr.Group(visible=False, elem_id="class-dataset") as group:
        info = gr.HTML(elem_id="class-dataset-info")
        use = gr.Button("Start from your instructor's dataset", variant="primary", elem_id="class-dataset-use")
        message = gr.HTML(elem_id="class-dataset-message")
    if Context.root_block is not None:
        Context.root_block.load(show_class_dataset, None, [group, info], show_progress="hidden")
    if opened is not None:
        opened.select(show_class_dataset, None, [group, info], show_progress="hidden")
    use.click(use_class_dataset, [config_state], [config_state, dataset_rows, message])
    return group


def build_class_preset_box() -> ClassPresetBox:
    """The "From your instructor" preset box at the top of 3 · Settings; call ``wire`` after the step is built."""
    with gr.Group(visible=False, elem_id="class-preset") as group:
        info = gr.HTML(elem_id="class-preset-info")
        use = gr.Button("Start from your instructor's preset", variant="primary", elem_id="class-preset-use")
        message = gr.HTML(elem_id="class-preset-message")
    return ClassPresetBox(group, info, use, message)


# ---- the Class tab: submit, arena, leaderboard -----------------------------------------------------------------

BLANK_ANSWER = "(no text: this model answered only with spaces or line breaks)"


def _readable(answer: str) -> str:
    """An answer as the arena shows it: without the blank lines around it (a box of 6 lines can look empty while
    the text sits below), and a blank one said in words (an empty box reads as "still loading")."""
    return answer.strip() or BLANK_ANSWER


class ClassEvents:
    """The Class tab's handlers; each decides who is asking from the request."""

    def __init__(self, manager: RunManager) -> None:
        self.manager = manager
        self.worker = start_answer_worker(manager)

    def submit_choices(self, request: gr.Request):
        """This person's finished runs not in the arena yet, and what they have submitted."""
        who = request_owner(request)
        arena = class_room()[1]
        submitted = {e.run_id for e in arena.submitted_runs(who)}
        from core.runs.names import readable_run_name

        choices = [
            (f"{readable_run_name(s.dataset, s.model_id, s.created_at)} ({s.run_id})", s.run_id)
            for s in self.manager.summaries(owner=who)
            if s.phase == "finished" and s.run_id not in submitted
        ]
        mine = [e.codename for e in arena.submitted_runs(who)]
        note = f"Your models in the arena: {', '.join(mine)}." if mine else "You have not submitted a run yet."
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None), render_message(note, "ok")

    def submit(self, run_id: str | None, request: gr.Request):
        who = request_owner(request)
        try:
            entry = class_room()[1].submit(who, run_id or "", self.manager)
        except SubmissionError as err:
            warn(str(err))
            return self.submit_choices(request)[0], render_message(str(err), "error")
        self.worker.wake()
        text = (
            f"Submitted as {entry.codename}. It answers the instructor's probe set between trainings; "
            "then it appears in the arena and on the leaderboard."
        )
        return self.submit_choices(request)[0], render_message(text, "ok")

    def next_pair(self, request: gr.Request):
        """Two anonymous answers to one probe prompt, never from this person's own models."""
        who = request_owner(request)
        board, arena = class_room()
        probes = board.probe_set()
        if probes is None:
            shown = "Your instructor has not shared a probe set yet: the arena opens when they do."
        else:
            shown = arena.next_matchup(who, probes.version, [p.text for p in probes.prompts])
        if not isinstance(shown, Matchup):
            buttons = [gr.Button(interactive=False)] * 3
            return None, render_message(shown, "warning"), "", "", *buttons
        prompt = f"<div class='coach-card'><strong>Prompt</strong><pre>{html.escape(shown.prompt)}</pre></div>"
        left, right = (_readable(answer) for answer in (shown.left, shown.right))
        return shown.token, prompt, left, right, *[gr.Button(interactive=True)] * 3

    def vote(self, token: str | None, choice: str, request: gr.Request):
        who = request_owner(request)
        try:
            picked = class_room()[1].vote(who, token or "", choice)
        except ValueError as err:
            warn(str(err))
            return render_message(str(err), "error")
        return render_message(f"Vote kept: {picked}. Here is the next pair.", "ok")

    def leaderboard(self, request: gr.Request):
        who = request_owner(request)
        board, arena = class_room()
        probes = board.probe_set()
        rows = leaderboard_rows(board, arena, viewer=who)
        if probes is None:
            status = "No probe set is shared yet, so no model has answered."
        else:
            waiting = len(arena.waiting(probes.version))
            votes = len(arena.votes(probes.version))
            status = (
                f"{len(rows)} models answered the probe set ({len(probes.prompts)} prompts), {waiting} waiting "
                f"(answers are made between trainings); {votes} votes so far."
            )
        return rows, render_message(status, "ok")


_workers: dict[int, AnswerWorker] = {}
_workers_lock = threading.Lock()


def start_answer_worker(manager: RunManager) -> AnswerWorker:
    """The one background job of this manager that has submitted models answer the probe set, between trainings."""
    from ui.tryit_context import shared_pool

    with _workers_lock:
        if id(manager) not in _workers:
            board, arena = class_room()

            def busy() -> bool:
                return manager.training_run() is not None or manager.queue_length() > 0

            _workers[id(manager)] = AnswerWorker(board, arena, shared_pool, busy).start()
        return _workers[id(manager)]


def build_class_tab(manager: RunManager, opened: gr.Tab) -> None:
    """The Class tab: submit a finished run, vote in the blind arena, read the leaderboard."""
    events = ClassEvents(manager)
    gr.Markdown(
        "Submit a finished run to the class. Every submitted model answers your instructor's probe set; in the "
        "arena you compare two anonymous answers to the same prompt (never your own model's), and the leaderboard "
        "rates every model from everyone's votes."
    )
    with gr.Row():
        # A typed or forged value reaches ``submit``, which says in words that it is no run of theirs.
        run = gr.Dropdown(
            label="Your finished run", choices=[], allow_custom_value=True, elem_id="class-submit-run", scale=3
        )
        submit = gr.Button("Submit to the class", variant="primary", elem_id="class-submit", scale=1)
    submitted = gr.HTML(elem_id="class-submit-message")
    gr.Markdown("### Arena: which answer is better?")
    token = gr.State(None)  # the matchup's random token; the models behind it stay on the server
    prompt = gr.HTML(elem_id="class-arena-prompt")
    with gr.Row():
        left = gr.Textbox(label="Answer 1", interactive=False, lines=6, elem_id="class-arena-left")
        right = gr.Textbox(label="Answer 2", interactive=False, lines=6, elem_id="class-arena-right")
    with gr.Row():
        vote_a = gr.Button("Answer 1 is better", interactive=False, elem_id="class-vote-a")
        vote_tie = gr.Button("Both equally good", interactive=False, elem_id="class-vote-tie")
        vote_b = gr.Button("Answer 2 is better", interactive=False, elem_id="class-vote-b")
        next_pair = gr.Button("Next pair", elem_id="class-next-pair")
    voted = gr.HTML(elem_id="class-arena-message")
    gr.Markdown(
        "### Leaderboard\nRatings are a Bradley–Terry fit of the votes on the Elo scale (1000 is the class "
        "average); ± is about a 95% interval, so models whose intervals overlap are not told apart yet. Probe "
        "score: the built-in task's own check of the answers, where the shared dataset is a demo."
    )
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="class-leaderboard", wrap=True)
    status = gr.HTML(elem_id="class-status")
    refresh = gr.Button("Refresh", elem_id="class-refresh")

    pair_outputs = [token, prompt, left, right, vote_a, vote_tie, vote_b]
    opened.select(events.submit_choices, None, [run, submitted]).then(events.leaderboard, None, [table, status])
    submit.click(events.submit, [run], [run, submitted]).then(events.leaderboard, None, [table, status])
    next_pair.click(events.next_pair, None, pair_outputs)
    for button, choice in ((vote_a, "a"), (vote_tie, "tie"), (vote_b, "b")):

        def cast(held: str | None, request: gr.Request, choice: str = choice):
            return events.vote(held, choice, request)

        cast.__name__ = f"vote_{choice}"
        button.click(cast, [token], [voted]).then(events.next_pair, None, pair_outputs).then(
            events.leaderboard, None, [table, status]
        )
    refresh.click(events.leaderboard, None, [table, status]).then(events.submit_choices, None, [run, submitted])
