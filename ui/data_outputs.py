"""What the Data step's events return: component updates built from a ``DataDraft`` or a ``DataCheck``.

Kept apart from the layout (ui/data.py) so each file stays readable; the HTML itself is in ui/data_views.py.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import gradio as gr

from core.data.formats import FORMAT_LABELS, RAW_COLUMNS
from core.data.load import load_demo
from core.data.parts import MEDIA_CODE, MEDIA_COLUMNS
from core.data.wizard import DataCheck, DataDraft, draft_dataset, target_choices, unusable_reason
from core.models.catalog import ModelUnavailableError
from ui.data_views import (
    render_converted_rows,
    render_detection,
    render_lengths,
    render_loss_advice,
    render_message,
    render_report,
    render_rows_table,
)
from ui.toasts import warn

DEFAULT_DEMO = "json_extraction"  # the quick path: what RunConfig trains on when nobody touches this step
PREVIEW_ROWS = 5
MAPPING_PARTS = [
    ("prompt", "Prompt (the user's message)", True),
    ("completion", "Answer (what the model learns to write)", True),
    ("system", "System prompt (optional)", False),
    ("reasoning", "Reasoning (optional, goes in <think>…</think> before the answer)", False),
    ("context", "Input / context (optional, added after the prompt)", False),
]
NO_COLUMN = ""
# What ``draft_updates`` and ``check_updates`` return, in this order (the Data step wires its components so).
DRAFT_OUTPUTS = (
    "draft", "message", "detected", "preview", "text_split", "mapping_box",
    *(f"map_{part}" for part, _, _ in MAPPING_PARTS), "target", "train_every_row", "drop_media", "mapped", "report",
    "provided",
)  # fmt: skip
CHECK_OUTPUTS = (
    "check", "report", "report_file", "model_note", "training_preview", "loss_advice", "histogram", "lengths",
    "export",
)  # fmt: skip


@functools.cache
def starting_draft() -> DataDraft:
    """The built-in demo every page starts with, made once per process: a DataDraft never changes."""
    return draft_dataset(load_demo(DEFAULT_DEMO), DEFAULT_DEMO)


def draft_or_start(current: DataDraft | None) -> DataDraft:
    """The draft a page shows: its draft state holds None for ``starting_draft()``.

    gr.State serialises its default for every new session and on every update of the state, ~0.1 s of CPU
    for the demo's rows, so the pages share the starting draft instead of each holding a copy.
    """
    return starting_draft() if current is None else current


def first_rows(draft: DataDraft) -> str:
    rows = [draft.loaded.rows[i] for i in range(min(PREVIEW_ROWS, draft.loaded.n_rows))]
    return render_rows_table(rows, draft.loaded.columns, f"First {len(rows)} rows, as loaded")


def mapping_choices(draft: DataDraft) -> list[tuple[list[tuple[str, str]], str]]:
    """(choices, value) for each mapping dropdown: the draft's columns, the mapping in use preselected."""
    columns = [str(c) for c in draft.loaded.columns]
    detected = draft.detection.format != RAW_COLUMNS  # then "no column" means: read the detected format
    result = []
    for part, _, required in MAPPING_PARTS:
        value = getattr(draft.mapping, part) if draft.mapping else None
        if required and detected:
            choices = [(f"(as detected: {FORMAT_LABELS[draft.detection.format]})", NO_COLUMN)]
        else:
            choices = [] if required else [("(none)", NO_COLUMN)]
        choices += [(c, c) for c in columns]
        result.append((choices, value or (None if required and not detected else NO_COLUMN)))
    return result


def mapping_box_props(draft: DataDraft) -> dict:
    """The column box: open when the rows need a mapping (or have one), closed but there otherwise."""
    if draft.needs_mapping:
        label = "Columns: which column plays which part"
    else:
        label = "Columns: read other columns instead of the detected format"
    return {"open": draft.needs_mapping, "label": label}


def row_choice_props(draft: DataDraft) -> tuple[dict, dict]:
    """The 'train every row' and 'drop the images' boxes: shown when the rows have a label or bring media."""
    rule, choices = draft.label_rule, draft.choices
    every = {
        "visible": rule is not None,
        "value": rule is not None and choices.label_rule is None,
        "label": f"Train every row, also the {rule.bad + rule.unmarked:,} that '{rule.column}' does not mark good"
        if rule
        else "Train every row",
        "info": rule.describe() if rule else None,
    }
    media = any(any(row.get(c) for c in MEDIA_COLUMNS) for row in draft.loaded.rows[:2000] if isinstance(row, dict))
    codes = draft.conversion.failure_codes.values() if draft.conversion else ()
    media = media or choices.drop_media or MEDIA_CODE in codes
    drop = {
        "visible": media,
        "value": choices.drop_media,
        "info": "SFT Coach trains text models. Unticked, rows with images, audio or video are left out; ticked, "
        "they are trained on their text alone, with placeholders such as <image> removed.",
    }
    return every, drop


def target_props(draft: DataDraft) -> dict:
    """The target-format radio's choices, value and the recommendation with its reason."""
    return {
        "choices": [(FORMAT_LABELS[f], f) for f in target_choices(draft.source_format)],
        "value": draft.target_format,
        "info": f"Recommended: {FORMAT_LABELS[draft.recommended_format]}. {draft.recommendation_reason}",
    }


def provided_props(draft: DataDraft) -> dict:
    count = len(draft.validation_rows or [])
    return {
        "visible": bool(draft.validation_rows),
        "label": f"Use the validation split that came with the data ({count:,} rows) instead of holding out a share",
    }


def draft_updates(draft: DataDraft, message: str = "", kind: str = "warning", full: bool = True) -> list:
    """Updates for the draft state and sections 1-5; ``full=False`` leaves the dropdowns the user is editing alone."""
    dropdowns = [gr.Dropdown(choices=c, value=v) if full else gr.skip() for c, v in mapping_choices(draft)]
    return [
        draft,
        render_message(message, kind),
        render_detection(draft),  # its list of columns follows the choices
        first_rows(draft) if full else gr.skip(),
        gr.Radio(visible=bool(draft.loaded.text_split), value=draft.loaded.text_split or None),
        gr.Accordion(**mapping_box_props(draft)),
        *dropdowns,
        gr.Radio(**target_props(draft)),
        *(gr.Checkbox(**props) for props in row_choice_props(draft)),
        render_converted_rows(draft),
        render_report(draft.report, pending=draft.report is not None),
        gr.Checkbox(**provided_props(draft)),
    ]


def load_message(draft: DataDraft) -> str:
    warnings = draft.loaded.warnings
    if not warnings:
        return ""
    return f"Loaded with {len(warnings):,} warning(s): " + " ".join(warnings[:3]) + (" …" if len(warnings) > 3 else "")


def refused(err: Exception, previous: DataDraft | None, what: str, outputs: int = len(DRAFT_OUTPUTS)) -> list:
    """Keep everything as it was and say why the new data was refused."""
    kept = f" The data below ({previous.loaded.source}) is unchanged." if previous else ""
    text = f"Could not use {what}: {err}{kept}"
    warn(text)
    return [gr.skip(), render_message(text, "error"), *[gr.skip()] * (outputs - 2)]


def _write_downloads(check: DataCheck) -> tuple[str, str]:
    """The full report (CSV) and the rows that will be trained (JSONL), in a fresh temporary folder."""
    from core.data.export import export_jsonl

    folder = Path(tempfile.mkdtemp(prefix="sft-coach-data-"))
    report = check.report.to_csv(folder / f"{check.draft.name}-report.csv")
    rows = export_jsonl(check.trained_rows(), folder / f"{check.draft.name}-converted.jsonl")
    return str(report), str(rows)


def check_updates(check: DataCheck, tokenizer) -> list:
    """Updates for the check state, report, downloads, preview, advice and lengths (``tokenizer`` None: not loaded)."""
    from core.data.documents import plain_text_loss
    from core.data.length_chart import length_histogram
    from core.data.packed_preview import render_packed_preview
    from core.data.preview import Check, pad_eos_check, render_preview_html, render_training_preview
    from core.data.templates import assistant_only_loss_support

    report_path, rows_path = _write_downloads(check)
    draft = check.draft
    if tokenizer is None:
        preview = render_message(f"The training text can't be shown: {check.problem}", "error")
        advice, figure = "", None
        model_note = f"**Model:** `{check.model_id or '(none)'}`: its tokenizer could not be loaded."
    else:
        rows = check.trained_rows()
        if rows and draft.packed:
            rendered = render_packed_preview(rows, tokenizer, check.max_length)
            plain = Check(True, "info", plain_text_loss(check.max_length))
            preview = render_preview_html(rendered, extra_checks=[plain], unit="Block")
        elif rows:
            rendered = render_training_preview(
                rows, tokenizer, n=3, row_numbers=check.trained_row_numbers(), max_length=check.max_length
            )
            notes = [Check(False, "warning", check.tools_note)] if check.tools_note else []  # said before training
            preview = render_preview_html(rendered, extra_checks=[*notes, pad_eos_check(tokenizer)])
        else:
            preview = render_message("Every row is left out, so there is nothing to preview.", "error")
        packed_block = check.max_length if draft.packed else None
        advice = render_loss_advice(draft.target_format, assistant_only_loss_support(tokenizer), packed_block)
        figure = length_histogram(check.lengths, check.max_length)
        what = "blocks, packed" if draft.packed else "rows, rendered with this model's chat template"
        model_note = (
            f"**Model:** `{check.model_id}` (change it in step 3; this preview follows). The first {what} that "
            "will be trained, by TRL's own code."
        )
        if check.tools_note:
            model_note += f"\n\n**Tools:** {check.tools_note}"
    return [
        check,
        render_report(check.report),
        gr.DownloadButton(value=report_path, visible=True),
        model_note,
        preview,
        advice,
        figure,
        render_lengths(check),
        gr.DownloadButton(value=rows_path, visible=True),
    ]


def stale_check_cleared(current: DataDraft | None, check: DataCheck | None) -> list:
    """A new draft: clear the previous data's check (split, preview, report, downloads) until its own is ready.

    Everything is skipped when ``check`` is already the check of ``current``.
    """
    current = draft_or_start(current)
    if check is not None and check.draft is current:
        return [gr.skip()] * len(CHECK_OUTPUTS)
    reason = unusable_reason(current, None)
    return [
        None,
        render_report(current.report, pending=current.report is not None),
        gr.DownloadButton(value=None, visible=False),
        "",
        render_message(reason, "warning"),
        "",
        None,
        render_lengths(None),
        gr.DownloadButton(value=None, visible=False),
    ]


def use_state(current: DataDraft | None, check: DataCheck | None) -> tuple:
    """*Use this dataset*: enabled, or disabled with the real reason shown under it."""
    reason = unusable_reason(draft_or_start(current), check)
    return gr.Button(interactive=not reason), render_message(reason, "warning")


def downloads_exist(updates: list) -> bool:
    """Whether the report and rows files of ``check_updates``' download buttons are still on disk."""
    paths = [u.constructor_args.get("value") for u in updates if isinstance(u, gr.DownloadButton)]
    return all(path and Path(path).is_file() for path in paths)


def model_max_length(model_id: str) -> int | None:
    """The longest input the model accepts, to cap the recommendation; None when unknown."""
    from core.data.stats import model_context_length
    from core.models.catalog import resolve_model

    try:
        return model_context_length(resolve_model(model_id))
    except ModelUnavailableError:
        return None
