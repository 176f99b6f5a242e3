"""Step 2, Data: choose a dataset, see how it is read and checked, and exactly what the model will be trained on.

A beginner reads top to bottom: 1 source, 2 what was detected, 3 columns and format, 4 every row checked,
5 validation split, 6 the training text for the chosen model, 7 token lengths, 8 use it. Loading and
mapping are instant and make a ``DataDraft``; the checks that need the model's tokenizer run right after,
on their own event with a progress bar (``DataCheck``, ui/data_check.py), so the page never waits on them.
The steps themselves are ``core.data.wizard``; this file holds the handlers that load, map and use the data,
then the layout and its wiring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.context import Context

from core.config import ConfigError, RunConfig
from core.data.documents import resplit_documents
from core.data.errors import DataError
from core.data.load import SUPPORTED_SUFFIXES, load_demo, load_file, load_path, max_upload_mb
from core.data.readers.text_files import TEXT_SPLITS
from core.data.to_trl import ColumnMapping
from core.data.wizard import (
    DataCheck,
    DataDraft,
    draft_dataset,
    new_dataset_folder,
    split_dataset,
    unusable_reason,
    write_dataset,
)
from core.demo_data import DEMO_DATASETS
from core.file_access import PathNotAllowed, allowed_folders, local_paths_enabled, owner_datasets, resolve_for
from core.paths import data_dir
from core.runs.manager import RunManager
from core.storage import clean_up, safe_filename, save_upload, take_removal_notice
from ui.data_check import RowChecks
from ui.data_outputs import (
    CHECK_OUTPUTS,
    DEFAULT_DEMO,
    DRAFT_OUTPUTS,
    MAPPING_PARTS,
    draft_or_start,
    draft_updates,
    first_rows,
    load_message,
    mapping_box_props,
    mapping_choices,
    provided_props,
    refused,
    row_choice_props,
    stale_check_cleared,
    starting_draft,
    target_props,
    use_state,
)
from ui.data_views import render_converted_rows, render_detection, render_in_use, render_message, render_report
from ui.identity import request_owner
from ui.toasts import inform, warn


@dataclass(frozen=True)
class DataStep:
    """The Data step's parts other steps and tests reach: the demo picker, the draft and check states, Use."""

    choice: gr.Radio
    draft: gr.State
    check: gr.State
    use: gr.Button


def _show_loaded(loader, what: str, name: str, previous: DataDraft | None) -> list:
    """Read rows with ``loader`` and show them; a DataError keeps what was shown and says why."""
    try:
        new = draft_dataset(loader(), name)
    except DataError as err:
        return refused(err, draft_or_start(previous), what)
    return draft_updates(new, load_message(new))


def pick_demo(name: str, previous: DataDraft | None) -> list:
    """Show a built-in demo dataset."""
    return _show_loaded(lambda: load_demo(name), f"the demo '{name}'", name, previous)


def pick_hub(dataset_id: str, config: str, split: str, previous: DataDraft | None) -> list:
    """Load one split of a Hub dataset and show it."""
    from core.data.from_hub import load_hub

    dataset_id = (dataset_id or "").strip()
    return _show_loaded(
        lambda: load_hub(dataset_id, config=(config or "").strip() or None, split=(split or "").strip() or "train"),
        f"'{dataset_id}' from the Hub",
        dataset_id,
        previous,
    )


class FileLoads:
    """The loaders that open files on this server for the person asking: an upload, or a typed path.

    ``manager`` tells the clean-up before each upload which folders active runs still read, and which run
    folders a typed path may name.
    """

    def __init__(self, manager: RunManager | None) -> None:
        self.manager = manager

    def pick_upload(self, path: str | None, previous: DataDraft | None, request: gr.Request) -> list:
        """Copy an upload into this person's own folder (old uploads cleared first) and show it."""
        if not path:
            return [gr.skip()] * len(DRAFT_OUTPUTS)
        who = request_owner(request)
        name = safe_filename(Path(path).name)

        def load():
            clean_up(self.manager, keep_owners=[who])  # before saving: the new file can never be the one removed
            saved = save_upload(path, who)  # out of Gradio's shared temp folder, into this person's own
            return load_file(saved, name, origin="uploaded file")

        return _show_loaded(load, name, Path(name).stem, previous)

    def pick_path(self, path: str, previous: DataDraft | None, request: gr.Request) -> list:
        """Load a typed file or folder, once it is checked against the folders this person may open."""
        path = (path or "").strip()
        if not path:
            return refused(DataError("type the path of a file or folder first."), draft_or_start(previous), "the path")
        try:  # resolved (``..``, symlinks) and checked before anything opens it; the refusal never says if it exists
            who = request_owner(request)
            own_runs = self.manager.run_dirs(who) if self.manager else []
            allowed = resolve_for(path, who, data_dir(), own_runs, what="file or folder")
        except PathNotAllowed as err:
            return refused(DataError(str(err)), draft_or_start(previous), "the path")
        return _show_loaded(lambda: load_path(allowed), path, Path(path).name, previous)


def removal_notice(request: gr.Request):
    """On page load: say if one of this person's old uploads was removed to free space."""
    text = take_removal_notice(request_owner(request))
    return render_message(text, "warning") if text else gr.skip()


def remap(current: DataDraft | None, *choices) -> list:
    """A column, the training format or a row choice was changed: convert the rows again.

    Picking a prompt and an answer column reads the rows as raw columns, whatever was detected; clearing them
    goes back to the detected format.
    """
    *columns, wanted_format, train_every_row, drop_media = choices
    current = draft_or_start(current)
    picked = {part: column or None for (part, _, _), column in zip(MAPPING_PARTS, columns, strict=True)}
    mapping = None
    if current.detection.needs_mapping or picked["prompt"] or picked["completion"]:
        required = {"prompt": picked["prompt"] or "", "completion": picked["completion"] or ""}
        mapping = ColumnMapping(**{**picked, **required})
    if (mapping is None) != (current.mapping is None) or current.needs_mapping != (mapping is not None):
        wanted_format = None  # another way of reading the rows: start from its recommended format
    same_rows = bool(train_every_row) == (current.label_rule is not None and current.choices.label_rule is None)
    same_rows = same_rows and bool(drop_media) == current.choices.drop_media
    if mapping == current.mapping and wanted_format == current.target_format and same_rows:
        return draft_updates(current, full=False)  # back to the choice in use: nothing to redo
    try:
        new = draft_dataset(
            current.loaded,
            current.name,
            mapping,
            wanted_format,
            train_every_row=bool(train_every_row),
            drop_media=bool(drop_media),
        )
    except DataError as err:
        text = f"This choice can't be used: {err} The rows below still use the previous choice."
        warn(text)
        return [gr.skip(), render_message(text, "error"), *[gr.skip()] * (len(DRAFT_OUTPUTS) - 2)]
    return draft_updates(new, full=False)


def resplit(current: DataDraft | None, split: str) -> list:
    """Plain text cut into documents another way (per blank-line block, or the whole file as one)."""
    current = draft_or_start(current)
    if not current.loaded.text_split or split == current.loaded.text_split:
        return [gr.skip()] * len(DRAFT_OUTPUTS)
    new = draft_dataset(resplit_documents(current.loaded, split), current.name)
    return draft_updates(new, load_message(new))


def use_dataset(
    current: DataCheck | None,
    showing: DataDraft | None,
    use_provided: bool,
    share: float,
    split_seed: float | None,
    values: dict,
    request: gr.Request,
):
    """Write the split rows into this person's datasets folder and point the settings at them."""
    showing = draft_or_start(showing)
    reason = unusable_reason(showing, current)  # the button is disabled then, but a page's click is only input
    if reason:
        warn(reason)
        return gr.skip(), gr.skip(), render_message(reason, "error")
    try:
        split = split_dataset(current, share / 100, int(split_seed or 0), use_provided)
        # into this person's own datasets folder: a run may train only on data its owner may open
        mine = owner_datasets(request_owner(request), data_dir())
        folder = write_dataset(split, new_dataset_folder(mine, showing.name))
        updates = {"dataset": str(folder), "max_length": current.max_length, "packing": showing.packed}
        config = RunConfig.from_dict({**(values or {}), **updates})
    except (DataError, ConfigError, OSError) as err:
        warn(f"Could not use this dataset: {err}")
        return gr.skip(), gr.skip(), render_message(f"Could not use this dataset: {err}", "error")
    inform(f"Training will use {len(split.train):,} rows from {showing.loaded.source}.")
    done = render_message(
        f"Wrote {len(split.train):,} training and {len(split.validation):,} validation rows to {folder}.", "ok"
    )
    return config.to_dict(), len(split.train), done


def show_in_use(values: dict, rows: int | None) -> str:
    """What the Train step will use now: the dataset, its max length (block size when packed) and row count."""
    return render_in_use(values["dataset"], values["max_length"], rows, packing=bool(values.get("packing")))


def build_data_step(config_state: gr.State, dataset_rows: gr.State, manager: RunManager | None = None) -> DataStep:
    """Lay out the Data step and wire its events; "Use this dataset" writes into ``config_state``.

    Uploads are copied into the asking person's own folder (``core/storage.py``; who is asking comes from the
    request, ui/identity.py); ``manager`` tells the clean-up that runs after each upload which folders active
    runs still read. The "Local file or folder" tab exists only where local paths are switched on
    (core/file_access.py), and then opens only the folders allowed there.
    """
    initial = starting_draft()
    defaults = RunConfig()
    gr.Markdown(
        "Choose what the model learns from, then check it from top to bottom. Nothing changes for training until "
        f"you press **Use this dataset**; until then the built-in *{DEMO_DATASETS[DEFAULT_DEMO].title}* demo is used."
    )
    gr.Markdown("### 1 · Choose the data")
    with gr.Tabs():
        with gr.Tab("Built-in demo"):
            demo_choice = gr.Radio(
                [(demo.title, name) for name, demo in DEMO_DATASETS.items()],
                value=DEFAULT_DEMO,
                label="Built-in demo datasets",
                info="Generated by the app with a fixed seed: no download needed.",
                elem_id="demo-choice",
            )
        with gr.Tab("Upload a file"):
            upload = gr.File(
                label=f"JSONL, JSON, CSV, Parquet or plain text (.txt, .md), up to {max_upload_mb():,.0f} MB",
                file_types=list(SUPPORTED_SUFFIXES),
                type="filepath",
                elem_id="data-upload",
            )
        with gr.Tab("Hugging Face Hub"):
            with gr.Row():
                hub_id = gr.Textbox(label="Dataset id", placeholder="owner/name, e.g. HuggingFaceH4/no_robots")
                hub_config = gr.Textbox(label="Config (optional)", placeholder="default")
                hub_split = gr.Textbox(label="Split", value="train")
            hub_load = gr.Button("Load from the Hub", elem_id="hub-load")
        local_path = local_load = None
        if local_paths_enabled():  # one person on their own machine, or an admin who allowed folders
            with gr.Tab("Local file or folder"):
                local_path = gr.Textbox(
                    label="Path on the machine running this app",
                    placeholder="/data/chats.jsonl, or a folder with train.jsonl (+ validation.jsonl)",
                    info="Files under: " + ", ".join(str(f) for f in allowed_folders()) + " (not hidden files).",
                )
                local_load = gr.Button("Load", elem_id="local-load")
    message = gr.HTML(elem_id="data-message")

    gr.Markdown("### 2 · What was found")
    detected = gr.HTML(render_detection(initial), elem_id="data-detected")
    preview = gr.HTML(first_rows(initial), elem_id="data-preview")

    gr.Markdown("### 3 · Columns and training format")
    text_split = gr.Radio(
        [(label.capitalize(), value) for value, label in TEXT_SPLITS.items()],
        label="Plain text: what is one document?",
        info="Each document ends with the end-of-text token; documents are then joined and cut into blocks.",
        visible=bool(initial.loaded.text_split),
        elem_id="text-split",
    )
    with gr.Accordion(elem_id="column-mapping", **mapping_box_props(initial)) as mapping_box:
        gr.Markdown(
            "Say which column plays which part; the guess is prefilled. For rows in a detected format, leave the "
            "prompt and answer on *as detected*, or pick two columns to read the rows your own way."
        )
        with gr.Row():
            dropdowns = [
                gr.Dropdown(label=label, choices=choices, value=value, elem_id=f"map-{part}", min_width=160)
                for (part, label, _), (choices, value) in zip(MAPPING_PARTS, mapping_choices(initial), strict=True)
            ]
    target = gr.Radio(label="Train as", elem_id="target-format", **target_props(initial))
    every_props, media_props = row_choice_props(initial)
    train_every_row = gr.Checkbox(elem_id="train-every-row", **every_props)
    drop_media = gr.Checkbox(
        label="Drop images, audio and video; train those rows on their text", elem_id="drop-media", **media_props
    )
    mapped = gr.HTML(render_converted_rows(initial), elem_id="mapped-preview")

    gr.Markdown("### 4 · Every row checked")
    report_html = gr.HTML(render_report(initial.report, pending=True), elem_id="data-validation")
    with gr.Row():
        report_file = gr.DownloadButton(
            "Download the full report (CSV)", visible=False, elem_id="report-download", size="sm"
        )

    gr.Markdown("### 5 · Hold out a validation set")
    provided = gr.Checkbox(value=True, elem_id="use-provided-validation", **provided_props(initial))
    with gr.Row():
        fraction = gr.Slider(
            0,
            20,
            value=5,
            step=1,
            label="Validation share (%)",
            info="Rows kept aside to measure the validation loss, which shows overfitting (Hugging Face LLM course, "
            "SFT chapter). ~5% is typical.",
            elem_id="validation-share",
        )
        seed = gr.Number(defaults.seed, label="Seed (same seed, same split)", precision=0, elem_id="split-seed")
    split_html = gr.HTML(elem_id="split-summary")

    gr.Markdown("### 6 · What the model will be trained on")
    model_note = gr.Markdown(elem_id="preview-model")
    training_preview = gr.HTML(elem_id="training-preview")
    loss_advice = gr.HTML(elem_id="loss-advice-box")

    gr.Markdown("### 7 · Token lengths")
    histogram = gr.Plot(show_label=False, elem_id="length-histogram")
    lengths_html = gr.HTML(elem_id="length-info")
    accept = gr.Checkbox(
        value=True,
        label="Train with the recommended max length (unticked: keep the max length from the settings)",
        elem_id="accept-max-length",
    )

    gr.Markdown("### 8 · Use it")
    with gr.Row():
        use = gr.Button("Use this dataset", variant="primary", interactive=False, elem_id="use-dataset")
        export = gr.DownloadButton("Download the converted rows (JSONL)", visible=False, elem_id="export-jsonl")
    use_reason = gr.HTML(render_message(unusable_reason(initial, None), "warning"), elem_id="use-reason")
    in_use = gr.HTML(render_in_use(defaults.dataset, defaults.max_length), elem_id="data-in-use")
    use_message = gr.HTML(elem_id="use-message")

    # None stands for the starting draft, which every page starts with and shares (ui/data_outputs.py).
    draft = gr.State(None)
    check = gr.State(None)
    parts = {
        "draft": draft, "message": message, "detected": detected, "preview": preview, "text_split": text_split,
        "mapping_box": mapping_box,
        **{f"map_{part}": dropdown for (part, _, _), dropdown in zip(MAPPING_PARTS, dropdowns, strict=True)},
        "target": target, "train_every_row": train_every_row, "drop_media": drop_media, "mapped": mapped,
        "report": report_html, "provided": provided,
    }  # fmt: skip
    draft_outputs = [parts[name] for name in DRAFT_OUTPUTS]
    checked = {
        "check": check, "report": report_html, "report_file": report_file, "model_note": model_note,
        "training_preview": training_preview, "loss_advice": loss_advice, "histogram": histogram,
        "lengths": lengths_html, "export": export,
    }  # fmt: skip
    check_outputs = [checked[name] for name in CHECK_OUTPUTS]
    files, checks = FileLoads(manager), RowChecks()

    loads = [
        (demo_choice.input, pick_demo, [demo_choice, draft]),
        (upload.upload, files.pick_upload, [upload, draft]),
        (hub_load.click, pick_hub, [hub_id, hub_config, hub_split, draft]),
    ]
    if local_path is not None:
        loads += [
            (local_load.click, files.pick_path, [local_path, draft]),
            (local_path.submit, files.pick_path, [local_path, draft]),
        ]
    for trigger, handler, inputs in loads:
        trigger(handler, inputs, draft_outputs, show_progress="minimal")
    gr.on(None, removal_notice, None, message, show_progress="hidden")  # on load: say if an old upload was removed
    gr.on(
        [d.input for d in dropdowns] + [target.input, train_every_row.input, drop_media.input],
        remap,
        [draft, *dropdowns, target, train_every_row, drop_media],
        draft_outputs,
        show_progress="hidden",
    )
    # The tokenizer checks run once the page is up (no inputs: a load-only event), and again when the draft,
    # the model (config_state) or the max-length choice changes; they skip when nothing they depend on changed.
    checking = {
        "fn": checks.check_with_model,
        "inputs": [draft, config_state, accept, check],
        "outputs": check_outputs,
        "trigger_mode": "always_last",
        "show_progress_on": [training_preview, histogram],
    }
    gr.on(None, lambda: None).then(**checking)
    # A new draft first clears what was shown for the previous one (its split, preview, report, downloads).
    draft.change(stale_check_cleared, [draft, check], check_outputs, show_progress="hidden").then(**checking)
    gr.on([config_state.change, accept.change], **checking)
    gr.on([draft.change, check.change], use_state, [draft, check], [use, use_reason], show_progress="hidden")
    text_split.input(resplit, [draft, text_split], draft_outputs, show_progress="minimal")
    if Context.root_block is not None:  # the app's Blocks: "unload" fires when a page closes (its heartbeat ends)
        Context.root_block.unload(checks.page_closed)
    gr.on(
        [check.change, provided.change, fraction.release, seed.change],
        checks.show_split,
        [check, provided, fraction, seed],
        split_html,
        show_progress="hidden",
    )
    use.click(
        use_dataset, [check, draft, provided, fraction, seed, config_state], [config_state, dataset_rows, use_message]
    )
    gr.on(
        [config_state.change, dataset_rows.change],
        show_in_use,
        [config_state, dataset_rows],
        in_use,
        show_progress="hidden",
    )
    return DataStep(choice=demo_choice, draft=draft, check=check, use=use)
