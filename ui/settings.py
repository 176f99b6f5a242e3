"""Step 3, Settings: a preset that explains its numbers, every field for the curious, a fit check, a recipe.

The numbers, their reasons and the estimates all come from ``core/presets.py``
and ``core/memory.py``; this module only lays them out and turns edits into a
validated ``RunConfig`` held in ``config_state``. The recipe export has its own
panel (``ui/recipe_panel.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.context import Context

from core.config import ConfigError, RunConfig, describe_field, field_label
from core.file_access import PathNotAllowed, check_model_choice
from core.models.catalog import default_model_id, list_models
from core.paths import data_dir
from core.runs.manager import RunManager
from ui.identity import request_owner
from ui.recipe_panel import build_recipe_panel
from ui.settings_views import (
    build_preset_for,
    device_info,
    model_config_for,
    preset_update,
    render_cards,
    render_fit,
    render_lr_sources,
)

# The RunConfig fields typed in under "Advanced", in this order. Their labels, help and kinds come from the
# fields' metadata (core/config.describe_field): the help says what a number does; the cards carry the advice.
ADVANCED_FIELDS = (
    "learning_rate", "per_device_batch_size", "gradient_accumulation_steps", "max_length", "num_epochs",
    "warmup_ratio", "lora_r", "lora_alpha", "lora_dropout", "eval_steps", "save_steps", "early_stopping_patience",
    "sample_every", "logging_steps", "seed",
)  # fmt: skip

# What every handler returns, in this order (``_outputs`` fills the rest with gr.skip()).
OUTPUT_NAMES = [
    "config",
    "preset",
    "cards",
    "steps",
    "message",
    "fit",
    "apply_fix",
    "reapply",
    "lr_sources",
    "preset_info",
    "method",
    "lora_target",
    "checkpointing",
    *ADVANCED_FIELDS,
]
# The RunConfig fields a preset sets (core/presets.build_preset): a new dataset recomputes them unless edited.
# Not max_length: "Use this dataset" writes the one chosen in the Data step, and that choice stands.
PRESET_FIELDS = (
    "learning_rate", "per_device_batch_size", "gradient_accumulation_steps", "num_epochs", "max_steps",
    "warmup_ratio", "eval_steps", "save_steps", "sample_every", "lora_r", "lora_alpha", "early_stopping_patience",
    "gradient_checkpointing",
)  # fmt: skip


def _outputs(**values) -> tuple:
    """A full outputs tuple: the named values, gr.skip() for everything else."""
    unknown = set(values) - set(OUTPUT_NAMES)
    if unknown:
        raise KeyError(f"Not a Settings output: {', '.join(sorted(unknown))}")
    return tuple(values.get(name, gr.skip()) for name in OUTPUT_NAMES)


def _fix_changes(config: RunConfig) -> dict:
    from core.memory import estimate_memory
    from ui.settings_views import data_profile

    model_config, _ = model_config_for(config.model_id)
    if model_config is None:
        return {}
    profile = data_profile(config.dataset, config.model_id)
    return estimate_memory(model_config, config, device_info(), row_tokens=profile.max_tokens).changes


def _everything(preset, config: RunConfig, note: str = "", reapply: bool = False) -> tuple:
    """Show ``config`` everywhere: cards, fit check, advanced fields; and store it with its preset."""
    return _outputs(
        config=config.to_dict(),
        preset=preset,
        cards=render_cards(preset, config),
        steps=config.max_steps,
        message=note,
        fit=render_fit(config, config.model_id),
        apply_fix=gr.update(visible=bool(_fix_changes(config))),
        reapply=gr.update(visible=reapply),
        lr_sources=render_lr_sources(config),
        preset_info=preset_update(preset),
        method=config.method,
        lora_target=config.lora_target,
        checkpointing=config.gradient_checkpointing,
        **{name: getattr(config, name) for name in ADVANCED_FIELDS},
    )


def _preset_name(preset) -> str:
    return preset.name if preset is not None else "Quick demo"


def apply_preset(name: str, method_value: str, model_id: str, values: dict) -> tuple:
    """A preset was picked (or re-applied): its numbers replace the settings, for the dataset in use."""
    values = values or RunConfig().to_dict()
    if method_value == "qlora" and not device_info().is_cuda:
        method_value = values.get("method", "lora") if values.get("method") != "qlora" else "lora"
    try:
        preset = build_preset_for(name, method_value, model_id or default_model_id(), values.get("dataset", ""))
    except (ConfigError, ValueError) as err:
        return _outputs(message=f"**Can't build this preset:** {err}")
    return _everything(preset, preset.config)


def apply_edit(values: dict, preset, model_id: str, method_value: str, target: str, ckpt: bool, max_steps, *raw):
    """A field was edited by hand: validate the whole config, then show every number as it now is."""
    changes = {}
    for name, value in zip(ADVANCED_FIELDS, raw, strict=True):
        if value is None:
            return _outputs(message=f"**Can't use this:** {field_label(name)} ({name}) is empty: type a number.")
        changes[name] = int(value) if describe_field(name).kind == "int" else float(value)
    changes.update(
        model_id=model_id or default_model_id(),
        method=method_value,
        lora_target=target,
        gradient_checkpointing=bool(ckpt),
        max_steps=int(max_steps),
    )
    try:
        config = RunConfig.from_dict({**values, **changes})
        config.check_device(device_info())
    except ConfigError as err:
        # QLoRA on a CPU: put the radio back, keep everything else
        return _outputs(message=f"**Can't use this:** {err}", method=RunConfig.from_dict(values).method)
    if config.to_dict() == values:
        return _outputs(message="")
    if preset is None or config.model_id != values.get("model_id") or config.method != values.get("method"):
        # a new model or method changes the advice itself: rebuild the preset's reasons for it
        preset = build_preset_for(_preset_name(preset), config.method, config.model_id, config.dataset)
    return _everything(preset, config)


def apply_memory_fix(values: dict, preset) -> tuple:
    config = RunConfig.from_dict(values)
    changes = _fix_changes(config)
    if not changes:
        return _outputs(message="Nothing to change: it fits.")
    applied = ", ".join(f"{field_label(name)} = {value}" for name, value in changes.items())
    return _everything(preset, RunConfig.from_dict({**values, **changes}), f"Applied: {applied}.")


def hand_edited(values: dict, preset) -> list[str]:
    """The preset fields whose value differs from what ``preset`` set: the user (or a fit fix) changed them."""
    return [name for name in PRESET_FIELDS if values.get(name) != getattr(preset.config, name)]


def refresh_from_state(values: dict, preset) -> tuple:
    """Another step changed the settings (a new dataset, a retry): show them and re-check the fit.

    A new dataset rebuilds the preset for it: its numbers replace the old
    dataset's unless some were edited by hand, which then stay, with a note
    and a button to re-apply the preset.
    """
    if not values:
        return _outputs()
    config = RunConfig.from_dict(values)
    if preset is None:
        preset = build_preset_for("Quick demo", config.method, config.model_id, config.dataset)
    if preset.config.dataset == config.dataset:
        return _shown(preset, config)
    fresh = build_preset_for(preset.name, config.method, config.model_id, config.dataset)
    edited = hand_edited(values, preset)
    rows = f"{fresh.data.n_rows:,} training rows"
    if edited:
        names = ", ".join(field_label(name) for name in edited)
        note = (
            f"**The dataset changed** ({rows}). You set these by hand, so your values stay: {names}. The cards "
            f"show what the {fresh.name} preset suggests for this data. Press 'Re-apply the preset to this "
            "dataset' to use its numbers."
        )
        return _shown(fresh, config, note, reapply=True)
    updated = RunConfig.from_dict({**values, **{name: getattr(fresh.config, name) for name in PRESET_FIELDS}})
    note = f"**The dataset changed** ({rows}): the {fresh.name} preset's numbers were worked out again for it."
    if updated.to_dict() == values:
        return _shown(fresh, updated, note)
    return _everything(fresh, updated, note)


def _shown(preset, config: RunConfig, note: str | None = None, reapply: bool = False) -> tuple:
    """Everything for ``config`` except writing it back: it is what ``config_state`` already holds."""
    result = dict(zip(OUTPUT_NAMES, _everything(preset, config, note or "", reapply), strict=True))
    result["config"] = gr.skip()
    if note is None:
        result["message"] = gr.skip()
    return tuple(result.values())


class SettingsEvents:
    """The Settings handlers that open a typed model: each first checks it against what the person asking may use.

    ``manager`` says which runs are theirs (a run's folder is a model they may pick). The request comes first:
    Gradio hands it to the parameter at its position, and ``edit_setting`` ends in ``*rest``.
    """

    def __init__(self, manager: RunManager | None) -> None:
        self.manager = manager

    def model_problem(self, model_id: str | None, request: gr.Request) -> str:
        """Why the person asking may not use a typed model (another person's run, a folder on the server), or ""."""
        who = request_owner(request)
        own_runs = self.manager.run_dirs(who) if self.manager else []
        try:
            check_model_choice(
                model_id or default_model_id(), who, data_dir(), own_runs, [c.model_id for c in list_models()]
            )
        except PathNotAllowed as err:
            return f"**Can't use this model:** {err}"
        return ""

    def pick_preset(self, request: gr.Request, name: str, method_value: str, model_id: str, values: dict) -> tuple:
        """A preset was picked or re-applied (``apply_preset``), for a model this person may use."""
        problem = self.model_problem(model_id, request)
        return _outputs(message=problem) if problem else apply_preset(name, method_value, model_id, values)

    def edit_setting(self, request: gr.Request, values: dict, preset, model_id: str, *rest) -> tuple:
        """A setting was edited by hand (``apply_edit``), with a model this person may use."""
        problem = self.model_problem(model_id, request)
        return _outputs(message=problem) if problem else apply_edit(values, preset, model_id, *rest)


@dataclass(frozen=True)
class SettingsStep:
    """The Settings step's parts other code reaches: the model, method and preset choices, the steps, the fit."""

    model: gr.Dropdown
    method: gr.Radio
    preset: gr.Radio
    steps: gr.Slider
    fit: gr.HTML
    jobs_submitted: gr.State
    """The remote run a Hugging Face Jobs submission listed (ui/hf_jobs_panel.py)."""
    fields: dict[
        str, gr.components.Component
    ]  # every setting typed in, by RunConfig field (the class preset locks some)


def _choices(name: str) -> list[tuple[str, str]]:
    """A radio's (label, value) pairs for the RunConfig field ``name``, from its metadata."""
    return [(label, value) for value, label in describe_field(name).choices.items()]


def build_settings_step(
    config_state: gr.State, manager: RunManager | None = None, restored: gr.State | None = None
) -> SettingsStep:
    """Lay out the Settings step and wire its events; writes the chosen values into ``config_state``.

    ``restored`` changes once a page has its remembered settings back (ui/remember.py): the starting cards
    are drawn then, from those settings, not from the defaults the page opened with.

    A typed model is checked against what the person asking may open (``SettingsEvents``, core/file_access.py)
    before its config or tokenizer is read.
    """
    from core.presets import PRESET_NAMES, PRESET_SUMMARIES

    defaults = RunConfig()
    # A cheap look for an NVIDIA driver, so the page comes up without importing torch; Start checks for real.
    has_cuda = Path("/proc/driver/nvidia/version").exists()
    qlora_reason = (
        ""
        if has_cuda
        else "QLoRA is off here: its 4-bit base model needs bitsandbytes, which runs on a CUDA GPU, "
        "and this machine has no NVIDIA GPU."
    )
    with gr.Row():
        model = gr.Dropdown(
            choices=[(c.label, c.model_id) for c in list_models()],
            value=default_model_id(),
            label=describe_field("model_id").label,
            info=describe_field("model_id").help,
            allow_custom_value=True,
            elem_id="model-choice",
            scale=2,
        )
        method = gr.Radio(
            _choices("method"),
            value=defaults.method,
            label=describe_field("method").label,
            info=qlora_reason or describe_field("method").help,
            elem_id="method-choice",
            elem_classes=[] if has_cuda else ["coach-qlora-off"],
            scale=2,
        )
    preset_name = gr.Radio(
        list(PRESET_NAMES),
        value="Quick demo",
        label="Preset",
        info=f"Quick demo: {PRESET_SUMMARIES['Quick demo']}",  # the selected preset's own numbers follow on load
        elem_id="preset-choice",
    )
    # Filled when the page loads (``show_start``): working the preset out imports torch and reads the data,
    # which would hold the page back by seconds if done while it is built.
    waiting = "<p class='coach-muted'>Working out the settings for this model, dataset and machine...</p>"
    cards = gr.HTML(waiting, elem_id="settings-cards")
    steps = gr.Slider(
        1,
        5000,
        value=defaults.max_steps,
        step=1,
        label=describe_field("max_steps").label,
        elem_id="max-steps",
        info=describe_field("max_steps").help,
    )
    message = gr.Markdown(elem_id="settings-message")
    fit = gr.HTML(waiting, elem_id="fit-panel")
    apply_fix = gr.Button("Apply the change that makes it fit", visible=False, elem_id="apply-fix", size="sm")
    reapply = gr.Button(
        "Re-apply the preset to this dataset", visible=False, elem_id="reapply-preset", size="sm", variant="primary"
    )
    with gr.Accordion("Advanced: every setting", open=False, elem_id="advanced-settings"):
        lr_sources = gr.Markdown(elem_id="lr-sources")
        fields = {}
        with gr.Row():
            for name in ADVANCED_FIELDS:
                fields[name] = gr.Number(
                    value=getattr(defaults, name),
                    label=describe_field(name).label,
                    info=describe_field(name).help,
                    precision=0 if describe_field(name).kind == "int" else None,
                    elem_id=f"field-{name.replace('_', '-')}",
                    min_width=170,
                )
        with gr.Row():
            lora_target = gr.Radio(
                _choices("lora_target"),
                value=defaults.lora_target,
                label=describe_field("lora_target").label,
                info=describe_field("lora_target").help,
                elem_id="field-lora-target",
            )
            checkpointing = gr.Checkbox(
                value=defaults.gradient_checkpointing,
                label=describe_field("gradient_checkpointing").label,
                info=describe_field("gradient_checkpointing").help,
                elem_id="field-gradient-checkpointing",
            )
    recipe = build_recipe_panel(config_state, manager)

    preset_state = gr.State(None)  # the Preset object last applied, to show what an edit changed
    field_components = [fields[name] for name in ADVANCED_FIELDS]
    components = {
        "config": config_state,
        "preset": preset_state,
        "cards": cards,
        "steps": steps,
        "message": message,
        "fit": fit,
        "apply_fix": apply_fix,
        "reapply": reapply,
        "lr_sources": lr_sources,
        "preset_info": preset_name,
        "method": method,
        "lora_target": lora_target,
        "checkpointing": checkpointing,
        **fields,
    }
    outputs = [components[name] for name in OUTPUT_NAMES]
    edit_inputs = [config_state, preset_state, model, method, lora_target, checkpointing, steps, *field_components]

    events = SettingsEvents(manager)
    preset_name.input(events.pick_preset, [preset_name, method, model, config_state], outputs)
    reapply.click(events.pick_preset, [preset_name, method, model, config_state], outputs)
    for component in (method, lora_target, checkpointing, *field_components):
        component.input(events.edit_setting, edit_inputs, outputs, show_progress="hidden")
    for component in (model, steps):
        component.change(events.edit_setting, edit_inputs, outputs, show_progress="hidden")
    apply_fix.click(apply_memory_fix, [config_state, preset_state], outputs)
    config_state.change(refresh_from_state, [config_state, preset_state], outputs, show_progress="hidden")
    start_outputs = [cards, fit, lr_sources, preset_name, preset_state]
    if restored is not None:
        restored.change(show_start, [config_state], start_outputs, show_progress="hidden")
    elif Context.root_block is not None:  # the app's Blocks: "load" fires when a page opens
        Context.root_block.load(show_start, [config_state], start_outputs, show_progress="hidden")
    inputs = {"model_id": model, "method": method, "max_steps": steps, "lora_target": lora_target, **fields}
    inputs["gradient_checkpointing"] = checkpointing
    return SettingsStep(
        model=model,
        method=method,
        preset=preset_name,
        steps=steps,
        fit=fit,
        fields=inputs,
        jobs_submitted=recipe.jobs.submitted,
    )


def show_start(values: dict | None) -> tuple:
    """The cards, fit check, learning-rate sources and preset choice for the page's starting settings.

    Settings a person left with (ui/remember.py) come back as numbers; the preset shown is the one they match,
    so Balanced's numbers are never described as edits of the Quick demo.
    """
    from core.presets import PRESET_NAMES

    start = RunConfig.from_dict(values) if values else RunConfig(model_id=default_model_id())
    matching = ("learning_rate", "per_device_batch_size", "gradient_accumulation_steps", "max_steps", "lora_r")
    preset = None
    for name in PRESET_NAMES:
        candidate = build_preset_for(name, start.method, start.model_id, start.dataset)
        if all(getattr(candidate.config, f) == getattr(start, f) for f in matching):
            preset = candidate
            break
    preset = preset or build_preset_for("Quick demo", start.method, start.model_id, start.dataset)
    choice = preset_update(preset)
    if isinstance(choice, dict):
        choice["value"] = preset.name
    return render_cards(preset, start), render_fit(start, start.model_id), render_lr_sources(start), choice, preset
