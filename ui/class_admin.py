"""Workshop mode, the instructor's side, inside the admin tab: share a dataset, a preset and a probe set; export.

What is shared is what the instructor's own page uses now: the dataset committed in 2 · Data (*Use this
dataset*) and the numbers of 3 · Settings, read from what the page remembers for them on the server
(core/remembered.py), never from values a page sends. Every event makes an ``InstructorPass`` from the
person asking and who unlocked the admin view on this page (kept on the server): anyone else changes nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from core.config import ConfigError, field_label
from core.models.catalog import OFFLINE_MODEL_ID, TINY_MODEL_ID, list_models
from core.paths import data_dir
from core.probe_sets import prompts_from_rows, prompts_from_text
from core.remembered import recall
from core.runs.manager import RunManager
from core.workshop.leaderboard import leaderboard_csv
from core.workshop.shared import NotInstructor, instructor_pass
from ui.data_views import render_message
from ui.identity import request_owner
from ui.workshop import class_room, start_answer_worker

LOCKABLE = (
    "model_id", "method", "learning_rate", "max_steps", "max_length", "per_device_batch_size",
    "gradient_accumulation_steps", "num_epochs", "lora_r", "lora_alpha",
)  # fmt: skip
NOT_ALLOWED = (
    "Only the instructor changes what the class shares: enter the admin password above first, or sign in as the "
    "Space's owner."
)


class ClassAdmin:
    """The instructor's handlers; ``opener`` is who unlocked the admin view on this page (server-side state)."""

    def __init__(self, manager: RunManager) -> None:
        self.manager = manager

    def _pass(self, opener: str | None, request: gr.Request):
        who = request_owner(request)
        teacher = instructor_pass(who, opener)
        if teacher is None:
            raise NotInstructor(NOT_ALLOWED)
        return who, teacher

    def _own_settings(self, who: str) -> dict:
        known = [OFFLINE_MODEL_ID, TINY_MODEL_ID, *(c.model_id for c in list_models())]
        kept = recall(who, data_dir(), self.manager.run_dirs(who), known)
        if kept.config is None:
            raise ConfigError(
                "Your page has no settings yet: choose a dataset in 2 · Data and settings in 3 · Settings."
            )
        return kept.config

    def _done(self, action, opener, request) -> str:
        try:
            text = action(*self._pass(opener, request))
        except (NotInstructor, ConfigError, ValueError, OverflowError, OSError) as err:
            return render_message(str(err), "error")
        return render_message(text, "ok")

    def publish_dataset(self, opener: str | None, name: str, request: gr.Request) -> str:
        def publish(who, teacher):
            shared = class_room()[0].publish_dataset(teacher, self._own_settings(who), name)
            return f"Shared the dataset '{shared.name}' with the class."

        return self._done(publish, opener, request)

    def publish_preset(self, opener: str | None, locked: list[str], name: str, request: gr.Request) -> str:
        def publish(who, teacher):
            preset = class_room()[0].publish_preset(teacher, self._own_settings(who), locked or (), name)
            fixed = ", ".join(field_label(f) for f in preset.locked) or "nothing"
            return f"Shared the preset '{preset.name}' (locked: {fixed})."

        return self._done(publish, opener, request)

    def publish_probes(self, opener: str | None, text: str, rows: float | None, request: gr.Request) -> str:
        """The pasted prompts, or else the first held-out rows of the shared dataset (with their references)."""

        def publish(who, teacher):
            board = class_room()[0]
            if (text or "").strip():
                prompts = prompts_from_text(text)
            else:
                shared = board.dataset()
                if shared is None:
                    raise ValueError(
                        "Paste prompts (one per line), or share a dataset first to use its held-out rows."
                    )
                from core.evaluate import held_out_rows

                prompts = prompts_from_rows(held_out_rows(shared.dataset, max(int(rows or 5), 1)), int(rows or 5))
            probes = board.publish_probe_set(teacher, prompts)
            start_answer_worker(self.manager).wake()
            return f"Shared a probe set of {len(probes.prompts)} prompts: every submitted model answers it."

        return self._done(publish, opener, request)

    def withdraw(self, opener: str | None, what: str, request: gr.Request) -> str:
        def take_back(who, teacher):
            class_room()[0].withdraw(teacher, what)
            return f"The class no longer sees the {'probe set' if what == 'probes' else what}."

        return self._done(take_back, opener, request)

    def status(self, opener: str | None, request: gr.Request):
        """What is shared now, and the leaderboard as a CSV file to download (the instructor only)."""
        try:
            self._pass(opener, request)
        except NotInstructor as err:
            return render_message(str(err), "warning"), gr.DownloadButton(value=None, visible=False)
        board, arena = class_room()
        dataset, preset, probes = board.dataset(), board.preset(), board.probe_set()
        shared = [
            f"dataset: {dataset.name}" if dataset else "no dataset",
            f"preset: {preset.name} (locked: {', '.join(map(field_label, preset.locked)) or 'nothing'})"
            if preset
            else "no preset",
            f"probe set: {len(probes.prompts)} prompts" if probes else "no probe set",
            f"{len(arena.entries())} models submitted",
        ]
        folder = Path(tempfile.mkdtemp(prefix="class-leaderboard-"))
        csv_path = folder / "class-leaderboard.csv"
        csv_path.write_text(leaderboard_csv(board, arena), encoding="utf-8")
        return render_message("Shared now: " + "; ".join(shared) + ".", "ok"), gr.DownloadButton(
            value=str(csv_path), visible=True
        )


def build_class_admin(manager: RunManager, unlocked_by: gr.State) -> None:
    """The admin tab's class accordion (inside the unlocked panel)."""
    admin = ClassAdmin(manager)
    with gr.Accordion(
        "Class: share a starting point, the probe set, the leaderboard", open=False, elem_id="class-admin"
    ):
        gr.Markdown(
            "Shares what your own page uses now: the dataset from 2 · Data (after *Use this dataset*, or a demo) "
            "and the numbers from 3 · Settings. Participants see them at the top of those steps."
        )
        with gr.Row():
            dataset_name = gr.Textbox(label="Dataset name for the class", elem_id="class-dataset-name", scale=3)
            share_dataset = gr.Button("Share my dataset", elem_id="class-publish-dataset", scale=1)
        with gr.Row():
            preset_name = gr.Textbox(label="Preset name", value="Class preset", elem_id="class-preset-name", scale=1)
            locked = gr.CheckboxGroup(
                [(field_label(name), name) for name in LOCKABLE], label="Lock for everyone", elem_id="class-locked",
                scale=3,
            )  # fmt: skip
            share_preset = gr.Button("Share my settings", elem_id="class-publish-preset", scale=1)
        with gr.Row():
            probe_text = gr.Textbox(
                label="Probe prompts (one per line; empty: held-out rows of the shared dataset)",
                lines=3, elem_id="class-probe-text", scale=3,
            )  # fmt: skip
            probe_rows = gr.Number(value=5, precision=0, label="Held-out rows", elem_id="class-probe-rows", scale=1)
            share_probes = gr.Button("Share the probe set", elem_id="class-publish-probes", scale=1)
        with gr.Row():
            what = gr.Radio(
                [("dataset", "dataset"), ("preset", "preset"), ("probe set", "probes")],
                value="dataset",
                label="Stop sharing",
                elem_id="class-withdraw-what",
            )
            withdraw = gr.Button("Stop sharing it", variant="stop", elem_id="class-withdraw")
        message = gr.HTML(elem_id="class-admin-message")
        status = gr.HTML(elem_id="class-admin-status")
        with gr.Row():
            refresh = gr.Button("Refresh", elem_id="class-admin-refresh")
            export = gr.DownloadButton("Download the leaderboard (CSV)", visible=False, elem_id="class-export")

    shown = [status, export]
    share_dataset.click(admin.publish_dataset, [unlocked_by, dataset_name], message).then(
        admin.status, unlocked_by, shown
    )
    share_preset.click(admin.publish_preset, [unlocked_by, locked, preset_name], message).then(
        admin.status, unlocked_by, shown
    )
    share_probes.click(admin.publish_probes, [unlocked_by, probe_text, probe_rows], message).then(
        admin.status, unlocked_by, shown
    )
    withdraw.click(admin.withdraw, [unlocked_by, what], message).then(admin.status, unlocked_by, shown)
    refresh.click(admin.status, unlocked_by, shown)
