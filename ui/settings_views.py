"""What the Settings step shows: the preset cards, the fit check, and the cached look-ups they need.

Every number on the cards is the one in effect (core/preset_advice.py writes
the explanations for the edited values); the fit check's time estimate uses a
throughput measured on this machine when a run of the same model and method
has one (core/throughput.measured_throughput).
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

from core.config import RunConfig
from core.glossary import annotate_html
from core.models.catalog import OFFLINE_COPY_ID, OFFLINE_MODEL_ID, TINY_MODEL_ID

VERDICT_COLOURS = {"fits": "#15803d", "tight": "#b45309", "won't fit": "#b91c1c"}


@functools.cache
def device_info():
    from core.device import detect_device

    return detect_device()


@functools.cache
def model_config_for(model_id: str) -> tuple[dict | None, str | None]:
    """(config.json, local folder) of a model, without downloading: None when it is only on an unreachable Hub."""
    from core.models.catalog import is_local_model_folder, offline_model_dir, read_model_config, tiny_model_dir

    # SmolLM2's offline copy has the Hub model's config.json: either id reads it without a download
    folder = {
        OFFLINE_MODEL_ID: offline_model_dir(),
        OFFLINE_COPY_ID: offline_model_dir(),
        TINY_MODEL_ID: tiny_model_dir(),
    }.get(model_id)
    if folder is None and is_local_model_folder(model_id):
        folder = model_id
    if folder is not None and Path(folder).is_dir():
        return read_model_config(str(folder)), str(folder)
    if model_id in (OFFLINE_MODEL_ID, OFFLINE_COPY_ID):
        from core.models.catalog import ensure_offline_model

        path = ensure_offline_model()
        return read_model_config(str(path)), str(path)
    try:
        return read_model_config(model_id), None
    except Exception:  # offline, unknown id, gated: the panel says the estimate needs the model's config
        return None, None


@functools.cache
def data_profile(dataset: str, model_id: str):
    """Row count and token lengths of a dataset (cached: every "Use this dataset" writes a new folder)."""
    from core.data.stats import model_context_length
    from core.presets import DataProfile, profile_dataset

    _, folder = model_config_for(model_id)
    try:
        context = model_context_length(folder) if folder else None
        return profile_dataset(dataset, folder, context)
    except Exception as err:  # a dataset that can't be read yet: the Data step reports it; here, fall back
        return DataProfile(n_rows=1000, length_reason=f"Data not measured ({type(err).__name__}).")


@functools.cache
def validation_rows(dataset: str) -> int:
    """How many validation rows a dataset brings (the demos hold out 100; a folder its test.jsonl)."""
    from core.demo_data import DEMO_DATASETS

    if dataset in DEMO_DATASETS:
        return 100
    from core.data.prepare import jsonl_rows

    try:
        return jsonl_rows(Path(dataset) / "test.jsonl")
    except OSError:
        return 0


def run_time_estimate(config: RunConfig, model_id: str | None = None):
    """(whole-run estimate, step estimate) for ``config`` on this machine; None without the model's config."""
    from core.memory import REFERENCE_SECONDS_PER_STEP, estimate_time
    from core.paths import runs_dir
    from core.run_time import estimate_run_time, measured_overheads
    from core.sample_copy import answer_dtype_on
    from core.throughput import measured_throughput

    model_id = model_id or config.model_id
    model_config, _ = model_config_for(model_id)
    if model_config is None:
        return None
    device = device_info()
    profile = data_profile(config.dataset, model_id)
    tokens_per_row = profile.mean_tokens or 88
    measured = measured_throughput(runs_dir(), model_id, config.method)
    timing = estimate_time(model_config, config, device, tokens_per_row, config.max_steps, measured)
    if timing.seconds_per_step is None:
        return None
    reference = REFERENCE_SECONDS_PER_STEP["full" if config.method == "full" else "lora"]
    sample_dtype = answer_dtype_on(device.kind)
    whole = estimate_run_time(
        config,
        timing.seconds_per_step,
        config.max_steps,
        n_probes=config.num_probe_prompts + len(config.probe_prompts),
        eval_rows=validation_rows(config.dataset),
        tokens_per_row=tokens_per_row,
        scale=timing.seconds_per_step / reference if device.kind == "cpu" else 1.0,
        overheads=measured_overheads(runs_dir(), model_id, sample_dtype),
        sample_dtype=sample_dtype,
    )
    return whole, timing


def describe_run_time(whole) -> str:
    """ "about 3.1 min from Start to the saved model: start-up 6 s · 60 training steps 2.2 min · …" """
    from core.memory import duration_text

    parts = " · ".join(f"{name} {duration_text(seconds)}" for name, seconds in whole.parts)
    source = "measured by earlier runs of this model here" if whole.measured else "reference figures for this machine"
    return f"about {duration_text(whole.total_seconds)} from Start to the saved model: {parts} ({source})"


def build_preset_for(name: str, method: str, model_id: str, dataset: str):
    """The named preset for this model, dataset and machine."""
    from core.presets import build_preset

    model_config, _ = model_config_for(model_id)
    if model_config is None:
        model_config = model_config_for(OFFLINE_MODEL_ID)[0]  # the advice then names SmolLM2's figures
    return build_preset(
        name,
        model_config=model_config,
        device=device_info(),
        data=data_profile(dataset, model_id),
        method=method,
        model_id=model_id,
        dataset=dataset,
    )


def _card(label: str, value: str, why: str, source: str, note: str = "") -> str:
    note_html = f"<br><small><b>{html.escape(note)}</b></small>" if note else ""
    return (
        f"<div class='coach-card coach-setting'><div class='coach-muted'>{html.escape(label)}</div>"
        f"<div class='coach-setting-value'>{html.escape(value)}</div>"
        f"<small>{annotate_html(why)}</small><br><small class='coach-muted'>Source: {annotate_html(source)}</small>"
        f"{note_html}</div>"
    )


def render_cards(preset, config: RunConfig) -> str:
    """The preset's four numbers as they are in effect, with their why and source; edits say what it suggested."""
    from core.preset_advice import explain_settings

    suggested = {advice.label: advice.value for advice in preset.advice}
    advice, warnings = explain_settings(preset, config)
    cards = []
    for item in advice:
        if item.label == "Precision":
            continue
        edited = item.value != suggested.get(item.label, item.value)
        note = f"You changed this; the preset suggests {suggested[item.label]}." if edited else ""
        cards.append(_card(item.label, item.value, item.why, item.source, note))
    precision = next((a for a in advice if a.label == "Precision"), None)
    warning_html = "".join(f"<p class='coach-warning'>⚠ {annotate_html(w)}</p>" for w in warnings)
    extra = (
        f"<p class='coach-muted'>Precision: {precision.value}. {annotate_html(precision.why)} "
        f"{annotate_html(precision.source)}</p>"
        if precision
        else ""
    )
    return f"<div class='coach-settings-grid'>{''.join(cards)}</div>{warning_html}{extra}"


def render_lr_sources(config: RunConfig) -> str:
    """Every source's learning rate for this model, linked, with the terms explained and any departure named."""
    from core.glossary import explain_terms_markdown
    from core.presets import recommend_learning_rate
    from core.sources import link_sources_markdown

    model_config, _ = model_config_for(config.model_id)
    if model_config is None:
        return "Learning-rate sources need the model's config.json."
    advice = recommend_learning_rate(model_config, config.method, config.model_id)
    lines = advice.comparison().replace("\n", "  \n")
    text = f"**Learning rate: recommended {advice.value:.1e}.** {advice.reason}  \n{lines}"
    if abs(config.learning_rate - advice.value) > 0.05 * advice.value:  # say so when the settings depart from it
        text += (
            f"  \n**In effect: {config.learning_rate:.1e}**, not the recommendation: the Learning rate card says why."
        )
    return f"{link_sources_markdown(text)}\n\n{explain_terms_markdown(text)}"


def render_fit(config: RunConfig, model_id: str) -> str:
    """The memory verdict (fits / tight / won't fit) with its parts, the fix, and the time estimate."""
    from core.memory import GB, describe_estimate, estimate_memory

    model_config, _ = model_config_for(model_id)
    if model_config is None:
        return (
            "<div class='coach-card'>Can't estimate memory: the model's config.json is not available offline. "
            "Pick the offline model or a local folder to see the fit check.</div>"
        )
    device = device_info()
    profile = data_profile(config.dataset, model_id)
    estimate = estimate_memory(model_config, config, device, row_tokens=profile.max_tokens)
    colour = VERDICT_COLOURS[estimate.verdict]
    rows = "".join(f"<tr><td>{name}</td><td>{size:.2f} GB</td></tr>" for name, size in describe_estimate(estimate))
    estimated = run_time_estimate(config, model_id)
    if estimated is None:
        time_line, timing_note = "<b>Time:</b> unknown here.", ""
    else:
        whole, timing = estimated
        time_line = (
            f"<b id='time-estimate'>Time:</b> {html.escape(describe_run_time(whole))}; "
            f"{timing.seconds_per_step:.1f} s per training step."
        )
        timing_note = timing.explanation
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
        f"<p>{html.escape(estimate.advice)}</p><table class='coach-columns' style='width:auto'>{rows}</table>"
        f"<p>{time_line} <small>{html.escape(timing_note)}</small></p>"
        f"<details><summary>How this is estimated</summary><p><small>{html.escape(estimate.formula)}. "
        f"{html.escape(length_note)} {html.escape(estimate.ignores)}</small></p></details></div>"
    )


def preset_caption_for(preset) -> str:
    """What the selected preset is for and the numbers it suggests for this data (never another preset's)."""
    from core.preset_advice import preset_caption
    from core.presets import PRESET_SUMMARIES

    return preset_caption(preset, PRESET_SUMMARIES[preset.name])


def preset_update(preset) -> dict:
    """The preset choice with the selected preset's caption, and each preset's whole-run time beside its name."""
    import gradio as gr

    from core.memory import duration_text
    from core.presets import PRESET_NAMES

    if preset is None:
        return gr.update()
    choices = []
    for name in PRESET_NAMES:
        try:
            other = build_preset_for(name, preset.config.method, preset.config.model_id, preset.config.dataset)
            estimated = run_time_estimate(other.config)
        except Exception:  # noqa: BLE001  (a label must never break the step: the model's config may be missing)
            estimated = None
        choices.append((f"{name} · about {duration_text(estimated[0].total_seconds)}" if estimated else name, name))
    return gr.update(info=preset_caption_for(preset), choices=choices)
