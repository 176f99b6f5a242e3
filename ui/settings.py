"""Step 3, Settings: a preset that explains its numbers, every field for the curious, a fit check, a recipe.

The numbers, their reasons and the estimates all come from ``core/presets.py``,
``core/memory.py`` and ``core/recipe.py``; this module only lays them out and
turns edits into a validated ``RunConfig`` held in ``config_state``.
"""

from __future__ import annotations

import functools
import html
import time
from pathlib import Path

import gradio as gr

from core.config import ConfigError, RunConfig
from core.models import OFFLINE_MODEL_ID, TINY_MODEL_ID, default_model_id, list_models
from ui.hf_jobs_panel import build_hf_jobs_panel

# Advanced fields: (RunConfig name, label, kind, info). The info says what the number does, not what to pick:
# the preset cards carry the advice and its sources.
ADVANCED = [
    ("learning_rate", "Learning rate", "float", "Peak rate after warmup; too high: loss spikes, too low: slow."),
    ("per_device_batch_size", "Batch size per step", "int", "Rows per forward pass; lower it first for memory."),
    ("gradient_accumulation_steps", "Gradient accumulation", "int", "Effective batch = batch size x this."),
    ("max_length", "Max length (tokens)", "int", "Longer rows are truncated (TRL keeps the start)."),
    ("num_epochs", "Epochs", "float", "Passes over the data; used when steps is -1."),
    ("warmup_ratio", "Warmup ratio", "float", "Share of steps ramping the LR up (~0.1)."),
    ("lora_r", "LoRA rank r", "int", "Adapter capacity; 16 to start, 32-64 if underfitting."),
    ("lora_alpha", "LoRA alpha", "int", "Adapter scaling; usually 2 x r."),
    ("lora_dropout", "LoRA dropout", "float", "Usually 0.0."),
    ("eval_steps", "Evaluate every (steps)", "int", "Validation loss cadence; 0 = never."),
    ("save_steps", "Checkpoint every (steps)", "int", "0 = none (Stop still saves one)."),
    ("early_stopping_patience", "Early stopping patience", "int", "Evaluations without improvement; 0 = off."),
    ("sample_every", "Sample answers every (steps)", "int", "Held-out answers during training; 0 = start/end."),
    ("logging_steps", "Log every (steps)", "int", "1 keeps the live curve smooth."),
    ("seed", "Seed", "int", "Data order and LoRA initialisation."),
]
METHOD_LABELS = {"lora": "LoRA", "qlora": "QLoRA (4-bit base)", "full": "Full fine-tune"}
VERDICT_COLOURS = {"fits": "#15803d", "tight": "#b45309", "won't fit": "#b91c1c"}


@functools.cache
def _device():
    from core.device import detect_device

    return detect_device()


@functools.cache
def _model_config(model_id: str) -> tuple[dict | None, str | None]:
    """(config.json, local folder) of a model, without downloading: None when it is only on an unreachable Hub."""
    from core.models import is_local_model_folder, offline_model_dir, read_model_config, tiny_model_dir

    folder = {OFFLINE_MODEL_ID: offline_model_dir(), TINY_MODEL_ID: tiny_model_dir()}.get(model_id)
    if folder is None and is_local_model_folder(model_id):
        folder = model_id
    if folder is not None and Path(folder).is_dir():
        return read_model_config(str(folder)), str(folder)
    if model_id == OFFLINE_MODEL_ID:
        from core.models import ensure_offline_model

        path = ensure_offline_model()
        return read_model_config(str(path)), str(path)
    try:
        return read_model_config(model_id), None
    except Exception:  # offline, unknown id, gated: the panel says the estimate needs the model's config
        return None, None


@functools.cache
def _profile(dataset: str, model_id: str):
    from core.data.stats import model_context_length
    from core.presets import DataProfile, profile_dataset

    _, folder = _model_config(model_id)
    try:
        context = model_context_length(folder) if folder else None
        return profile_dataset(dataset, folder, context)
    except Exception as err:  # a dataset that can't be read yet: the Data step reports it; here, fall back
        return DataProfile(n_rows=1000, length_reason=f"Data not measured ({type(err).__name__}).")


def _card(label: str, value: str, why: str, source: str, note: str = "") -> str:
    note_html = f"<br><small><b>{html.escape(note)}</b></small>" if note else ""
    return (
        f"<div class='coach-card coach-setting'><div class='coach-muted'>{html.escape(label)}</div>"
        f"<div class='coach-setting-value'>{html.escape(value)}</div>"
        f"<small>{html.escape(why)}</small><br><small class='coach-muted'>Source: {html.escape(source)}</small>"
        f"{note_html}</div>"
    )


def render_cards(preset, config: RunConfig) -> str:
    """The preset's four numbers with their why and source; edited values say what the preset suggested."""
    current = {
        "Learning rate": (f"{config.learning_rate:.1e}", preset.config.learning_rate != config.learning_rate),
        "Batch": (
            f"{config.per_device_batch_size} x {config.gradient_accumulation_steps}",
            config.effective_batch_size != preset.config.effective_batch_size,
        ),
        "Max length": (str(config.max_length), config.max_length != preset.config.max_length),
        "Steps": (str(config.max_steps), config.max_steps != preset.config.max_steps),
    }
    cards = []
    for advice in preset.advice:
        if advice.label in current:
            value, edited = current[advice.label]
            note = f"You changed this; the preset suggests {advice.value}." if edited else ""
            cards.append(_card(advice.label, value, advice.why, advice.source, note))
    precision = next((a for a in preset.advice if a.label == "Precision"), None)
    warnings = "".join(f"<p class='coach-warning'>⚠ {html.escape(w)}</p>" for w in preset.warnings)
    extra = (
        f"<p class='coach-muted'>Precision: {precision.value}. {html.escape(precision.why)}</p>" if precision else ""
    )
    return f"<div class='coach-settings-grid'>{''.join(cards)}</div>{warnings}{extra}"


def render_fit(config: RunConfig, model_id: str) -> str:
    """The memory verdict (fits / tight / won't fit) with its parts, the fix, and the time estimate."""
    from core.memory import GB, describe_estimate, duration_text, estimate_memory, estimate_time

    model_config, _ = _model_config(model_id)
    if model_config is None:
        return (
            "<div class='coach-card'>Can't estimate memory: the model's config.json is not available offline. "
            "Pick the offline model or a local folder to see the fit check.</div>"
        )
    device = _device()
    profile = _profile(config.dataset, model_id)
    estimate = estimate_memory(model_config, config, device, row_tokens=profile.max_tokens)
    colour = VERDICT_COLOURS[estimate.verdict]
    rows = "".join(f"<tr><td>{name}</td><td>{size:.2f} GB</td></tr>" for name, size in describe_estimate(estimate))
    timing = estimate_time(model_config, config, device, profile.mean_tokens or 88, config.max_steps)
    time_line = (
        f"<b>Time:</b> about {duration_text(timing.seconds)} ({timing.seconds_per_step:.1f} s per step)."
        if timing.seconds is not None
        else "<b>Time:</b> unknown here."
    )
    length_note = (
        f"Activations at the longest row in the data ({profile.max_tokens} tokens): TRL pads each batch to its "
        "longest row."
        if profile.max_tokens and profile.max_tokens < config.max_length
        else f"Activations at the full max length ({config.max_length} tokens)."
    )
    return (
        f"<div class='coach-card' id='fit-verdict'><span class='coach-badge' style='background:{colour}'>"
        f"{estimate.verdict}</span> <b>{estimate.total_bytes / GB:.2f} GB</b> of "
        f"{estimate.available_bytes / GB:.0f} GB {estimate.where} ({device.describe()})."
        f"<p>{html.escape(estimate.advice)}</p><table class='coach-stats'>{rows}</table>"
        f"<p>{time_line} <small>{html.escape(timing.explanation)}</small></p>"
        f"<details><summary>How this is estimated</summary><p><small>{html.escape(estimate.formula)}. "
        f"{html.escape(length_note)} {html.escape(estimate.ignores)}</small></p></details></div>"
    )


def _build_preset(name: str, method: str, model_id: str, dataset: str):
    from core.presets import build_preset

    model_config, _ = _model_config(model_id)
    if model_config is None:
        model_config = _model_config(OFFLINE_MODEL_ID)[0]  # the advice then names SmolLM2's figures
    return build_preset(
        name,
        model_config=model_config,
        device=_device(),
        data=_profile(dataset, model_id),
        method=method,
        model_id=model_id,
        dataset=dataset,
    )


def build_settings_step(config_state: gr.State) -> dict:
    """Lay out the Settings step; writes the chosen values into ``config_state``."""
    from core.presets import PRESET_NAMES, PRESET_SUMMARIES

    defaults = RunConfig()
    # A cheap look for an NVIDIA driver, so the page comes up without importing torch; Start checks for real.
    has_cuda = Path("/proc/driver/nvidia/version").exists()
    qlora_reason = (
        ""
        if has_cuda
        else "QLoRA is off here: its 4-bit base model needs bitsandbytes and a CUDA GPU (sft-facts §3), "
        "and this machine has no NVIDIA GPU."
    )
    with gr.Row():
        model = gr.Dropdown(
            choices=[(c.label, c.model_id) for c in list_models()],
            value=default_model_id(),
            label="Model",
            info="Offline models work without internet; Hub models need it. You can also type a local model folder.",
            allow_custom_value=True,
            elem_id="model-choice",
            scale=2,
        )
        method = gr.Radio(
            [(METHOD_LABELS[m], m) for m in ("lora", "qlora", "full")],
            value=defaults.method,
            label="Method",
            info=qlora_reason or "LoRA trains small adapters; QLoRA also loads the base in 4-bit; full trains all.",
            elem_id="method-choice",
            elem_classes=[] if has_cuda else ["coach-qlora-off"],
            scale=2,
        )
    preset_name = gr.Radio(
        list(PRESET_NAMES),
        value="Quick demo",
        label="Preset",
        info=" · ".join(f"{n}: {PRESET_SUMMARIES[n]}" for n in PRESET_NAMES),
        elem_id="preset-choice",
    )
    start = RunConfig(model_id=default_model_id())
    cards = gr.HTML(
        lambda: render_cards(_build_preset("Quick demo", "lora", start.model_id, start.dataset), start),
        elem_id="settings-cards",
    )
    steps = gr.Slider(
        1,
        5000,
        value=defaults.max_steps,
        step=1,
        label="Training steps",
        elem_id="max-steps",
        info="Quick demo: 60 steps of LoRA, a few minutes on 2 CPU cores.",
    )
    message = gr.Markdown(elem_id="settings-message")
    fit = gr.HTML(lambda: render_fit(start, start.model_id), elem_id="fit-panel")
    apply_fix = gr.Button("Apply the change that makes it fit", visible=False, elem_id="apply-fix", size="sm")
    with gr.Accordion("Advanced: every setting", open=False, elem_id="advanced-settings"):
        lr_sources = gr.Markdown(elem_id="lr-sources")
        fields = {}
        with gr.Row():
            for name, label, kind, info in ADVANCED:
                fields[name] = gr.Number(
                    value=getattr(defaults, name),
                    label=label,
                    info=info,
                    precision=0 if kind == "int" else None,
                    elem_id=f"field-{name.replace('_', '-')}",
                    min_width=170,
                )
        with gr.Row():
            lora_target = gr.Radio(
                [("All linear layers", "all-linear"), ("Attention only", "attention")],
                value=defaults.lora_target,
                label="LoRA targets",
                elem_id="field-lora-target",
            )
            checkpointing = gr.Checkbox(
                value=defaults.gradient_checkpointing,
                label="Gradient checkpointing (~20% slower, far less activation memory; sft-facts §7)",
                elem_id="field-gradient-checkpointing",
            )
    with gr.Accordion("Export a recipe: train without the app", open=False, elem_id="recipe-export"):
        gr.Markdown(
            "A `trl sft --config` YAML, a standalone TRL + PEFT script, and the commands for `accelerate launch` "
            "and Hugging Face Jobs, with the converted data as JSONL. No tokens or secrets are written."
        )
        export = gr.Button("Export recipe", elem_id="export-recipe")
        recipe_files = gr.File(label="Recipe files", file_count="multiple", interactive=False, elem_id="recipe-files")
        recipe_yaml = gr.Code(label="recipe.yaml", language="yaml", elem_id="recipe-yaml")
        recipe_commands = gr.Code(label="Commands", language="shell", elem_id="recipe-commands")
        build_hf_jobs_panel(config_state)

    preset_state = gr.State(None)  # the Preset object last applied, to show what an edit changed
    field_components = [fields[name] for name, *_ in ADVANCED]

    def _field_values(config: RunConfig) -> list:
        return [getattr(config, name) for name, *_ in ADVANCED]

    def _lr_sources(config: RunConfig) -> str:
        from core.presets import recommend_learning_rate

        model_config, _ = _model_config(config.model_id)
        if model_config is None:
            return "Learning-rate sources need the model's config.json."
        advice = recommend_learning_rate(model_config, config.method, config.model_id)
        lines = advice.comparison().replace("\n", "  \n")
        return f"**Learning rate: recommended {advice.value:.1e}.** {advice.reason}  \n{lines}"

    def _everything(preset, config: RunConfig, note: str = ""):
        estimate_fix = _fix_changes(config)
        return (
            config.to_dict(),
            preset,
            render_cards(preset, config),
            config.max_steps,
            note,
            render_fit(config, config.model_id),
            gr.Button(visible=bool(estimate_fix)),
            _lr_sources(config),
            config.method,
            config.lora_target,
            config.gradient_checkpointing,
            *_field_values(config),
        )

    outputs = [
        config_state,
        preset_state,
        cards,
        steps,
        message,
        fit,
        apply_fix,
        lr_sources,
        method,
        lora_target,
        checkpointing,
        *field_components,
    ]

    def _fix_changes(config: RunConfig) -> dict:
        from core.memory import estimate_memory

        model_config, _ = _model_config(config.model_id)
        if model_config is None:
            return {}
        profile = _profile(config.dataset, config.model_id)
        return estimate_memory(model_config, config, _device(), row_tokens=profile.max_tokens).changes

    def apply_preset(name: str, method_value: str, model_id: str, values: dict):
        values = values or RunConfig().to_dict()
        if method_value == "qlora" and not _device().is_cuda:
            method_value = values.get("method", "lora") if values.get("method") != "qlora" else "lora"
        try:
            preset = _build_preset(name, method_value, model_id or default_model_id(), values.get("dataset", ""))
        except (ConfigError, ValueError) as err:
            return (gr.skip(),) * 4 + (f"**Can't build this preset:** {err}",) + (gr.skip(),) * (len(outputs) - 5)
        return _everything(preset, preset.config)

    def apply_edit(values: dict, preset, model_id: str, method_value: str, target: str, ckpt: bool, max_steps, *raw):
        changes = {name: value for (name, *_), value in zip(ADVANCED, raw, strict=True)}
        for (name, _, kind, _), value in zip(ADVANCED, raw, strict=True):
            if value is None:
                return (
                    (gr.skip(),) * 4
                    + (f"**Can't use this:** Setting '{name}' is empty: type a number.",)
                    + (gr.skip(),) * (len(outputs) - 5)
                )
            changes[name] = int(value) if kind == "int" else float(value)
        changes.update(
            model_id=model_id or default_model_id(),
            method=method_value,
            lora_target=target,
            gradient_checkpointing=bool(ckpt),
            max_steps=int(max_steps),
        )
        try:
            config = RunConfig.from_dict({**values, **changes})
            config.check_device(_device())
        except ConfigError as err:
            keep = (gr.skip(),) * 4 + (f"**Can't use this:** {err}",) + (gr.skip(),) * 3
            revert = RunConfig.from_dict(values).method  # QLoRA on a CPU: put the radio back, keep everything else
            return keep + (revert,) + (gr.skip(),) * (len(outputs) - 9)
        if config.to_dict() == values:
            return (gr.skip(),) * 4 + ("",) + (gr.skip(),) * (len(outputs) - 5)
        if preset is None or config.model_id != values.get("model_id") or config.method != values.get("method"):
            # a new model or method changes the advice itself: rebuild the preset's reasons for it
            preset = _build_preset(_preset_name(preset), config.method, config.model_id, config.dataset)
        return _everything(preset, config)

    def _preset_name(preset) -> str:
        return preset.name if preset is not None else "Quick demo"

    def apply_memory_fix(values: dict, preset):
        config = RunConfig.from_dict(values)
        changes = _fix_changes(config)
        if not changes:
            return (gr.skip(),) * 4 + ("Nothing to change: it fits.",) + (gr.skip(),) * (len(outputs) - 5)
        return _everything(preset, RunConfig.from_dict({**values, **changes}), "Applied: " + ", ".join(changes))

    def refresh_from_state(values: dict, preset):
        """Another step changed the settings (dataset, a retry): show them and re-check the fit."""
        if not values:
            return (gr.skip(),) * len(outputs)
        config = RunConfig.from_dict(values)
        if preset is None:
            preset = _build_preset("Quick demo", config.method, config.model_id, config.dataset)
        result = list(_everything(preset, config))
        result[0] = gr.skip()  # never write back what was just read
        result[4] = gr.skip()
        return tuple(result)

    def export_recipe_files(values: dict):
        from core.paths import data_dir
        from core.recipe import export_recipe

        try:
            config = RunConfig.from_dict(values)
            folder = data_dir() / "recipes" / time.strftime("%Y%m%d-%H%M%S")
            recipe = export_recipe(config, folder, _device())
        except Exception as err:  # a data or config problem: say it, keep everything
            raise gr.Error(f"Could not export the recipe: {err}") from None
        return [str(p) for p in recipe.files], recipe.yaml_text, recipe.commands_text()

    edit_inputs = [config_state, preset_state, model, method, lora_target, checkpointing, steps, *field_components]
    preset_name.input(apply_preset, [preset_name, method, model, config_state], outputs)
    for component in (method, lora_target, checkpointing, *field_components):
        component.input(apply_edit, edit_inputs, outputs, show_progress="hidden")
    for component in (model, steps):
        component.change(apply_edit, edit_inputs, outputs, show_progress="hidden")
    apply_fix.click(apply_memory_fix, [config_state, preset_state], outputs)
    config_state.change(refresh_from_state, [config_state, preset_state], outputs, show_progress="hidden")
    export.click(export_recipe_files, config_state, [recipe_files, recipe_yaml, recipe_commands])
    return {"model": model, "steps": steps, "preset": preset_name, "method": method, "fit": fit}
