"""The page remembers: a reload (or an app restart) opens where the person was, with what they chose.

Checklist answers, the settings the Data and Settings steps wrote (``config_state``: the dataset in use,
its row count, the model and numbers) and the step shown are kept on the server for the person the server
decides for each event (ui/identity.py), in core/remembered.py. Every value comes back checked for that
person, so another person's page never sees them, and a dataset path a page made up is refused there.
"""

from __future__ import annotations

import time

import gradio as gr

from core.checklist import QUESTIONS
from core.models.catalog import OFFLINE_COPY_ID, OFFLINE_MODEL_ID, TINY_MODEL_ID, list_models
from core.paths import data_dir
from core.remembered import recall, remember_answers, remember_settings, remember_step
from core.runs.manager import RunManager
from ui.checklist import as_answer
from ui.identity import request_owner
from ui.toasts import inform


class PageMemory:
    """Handlers that keep and restore one person's page; ``steps`` are the ids of the step tabs."""

    def __init__(self, manager: RunManager, steps: tuple[str, ...]) -> None:
        self.manager = manager
        self.steps = steps

    def restore(self, request: gr.Request) -> tuple:
        """On page load: the settings, row count, checklist answers and step this person left the page with."""
        who = request_owner(request)
        known_models = [OFFLINE_MODEL_ID, OFFLINE_COPY_ID, TINY_MODEL_ID, *(c.model_id for c in list_models())]
        kept = recall(who, data_dir(), self.manager.run_dirs(who), known_models, self.steps)
        for note in kept.notes:
            inform(note)
        choices = [kept.answers.get(q.key) for q in QUESTIONS]
        return (
            kept.config if kept.config is not None else gr.skip(),
            kept.dataset_rows if kept.config is not None else gr.skip(),
            *(choice.capitalize() if choice else gr.skip() for choice in choices),
            gr.Tabs(selected=kept.step) if kept.step else gr.skip(),
            time.time(),  # always new: ``restored`` changes, and what waits for the restored settings runs
        )

    def keep_answers(self, request: gr.Request, *choices) -> None:
        """The person answered a question: keep all five answers (Gradio hands the request first)."""
        answers = {q.key: as_answer(c) for q, c in zip(QUESTIONS, choices, strict=False)}
        remember_answers(request_owner(request), data_dir(), answers)

    def keep_settings(self, values: dict | None, rows: int | None, request: gr.Request) -> None:
        """The settings or the dataset in use changed: keep them (only a valid RunConfig is kept)."""
        if values:
            from core.config import ConfigError

            try:
                remember_settings(request_owner(request), data_dir(), values, rows)
            except (ConfigError, TypeError, ValueError):
                pass  # the Settings step already says what is wrong with them; the last good ones stay

    def keep_opened_step(self, opened: gr.SelectData, request: gr.Request) -> None:
        """The person clicked a step's tab: keep it (the tabs are in ``steps``' order; the admin tab is not kept)."""
        index = opened.index if isinstance(opened.index, int) else -1
        if 0 <= index < len(self.steps):
            remember_step(request_owner(request), data_dir(), self.steps[index], self.steps)

    def step_keeper(self, step: str):
        """A handler that keeps ``step`` as the one this person is on (a Next button pressed)."""

        def keep_step(request: gr.Request) -> None:
            remember_step(request_owner(request), data_dir(), step, self.steps)

        keep_step.__name__ = f"keep_step_{step}"
        return keep_step


def wire_page_memory(
    memory: PageMemory,
    config_state: gr.State,
    dataset_rows: gr.State,
    radios: tuple[gr.Radio, ...],
    tabs: gr.Tabs,
    restored: gr.State,
    demo: gr.Blocks,
) -> None:
    """Keep what changes, and restore it when a page opens."""
    # Only the person's own clicks (``input``): a dataset's answer to the data question is not theirs. One
    # listener that keeps the last click: five listeners ran quick clicks side by side, and an older one could
    # write last and lose the newest answer (seen in the browser: a "Not sure" gone after a reload).
    gr.on(
        [radio.input for radio in radios],
        memory.keep_answers,
        list(radios),
        None,
        show_progress="hidden",
        trigger_mode="always_last",  # a click while one is being kept is kept after it, with every answer
    )
    gr.on(
        [config_state.change, dataset_rows.change],
        memory.keep_settings,
        [config_state, dataset_rows],
        None,
        show_progress="hidden",
        trigger_mode="always_last",
    )
    # The step tabs' own select event also fires when a page opens and when an event switches tabs; the Tabs'
    # select fires only for a click, so opening the page on step 1 never overwrites where the person was.
    tabs.select(memory.keep_opened_step, None, None, show_progress="hidden")
    outputs = [config_state, dataset_rows, *radios, tabs, restored]
    demo.load(memory.restore, None, outputs, show_progress="hidden")
