"""The why behind each number of a preset, written for the values actually in effect.

A preset suggests numbers; the user may then change any of them. The cards
the Settings step shows must never quote the preset's old numbers as if they
were still in effect ("60 steps x batch 4" after the batch became 8), so the
explanations are built here from a ``RunConfig`` (the preset's own at first,
the edited one afterwards), with the preset's suggestion kept for comparison.
Every reference figure names its public source in words (``core/sources.cite``),
which the page turns into a link; the comments name the section of the team's
notes (../shared/reference/sft-facts.md) each figure was checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import RunConfig
from core.device import DeviceInfo, precision_flags
from core.sources import cite

if TYPE_CHECKING:
    from core.presets import Preset

# Batch size by dataset size (sft-facts §3, Training Hub): < 1,000: 32-64; 1,000-10,000: 128; > 10,000: 256+.
TRAINING_HUB_BATCH = ((1_000, 32, "32-64"), (10_000, 128, "128"), (math.inf, 256, "256+"))


@dataclass(frozen=True)
class Advice:
    """One number shown to the user, with why and where it comes from."""

    label: str
    value: str
    why: str
    source: str


def effective_batch_for(n_rows: int) -> tuple[int, str]:
    """Training Hub's effective batch by dataset size (sft-facts §3), and the range it comes from.

    >>> effective_batch_for(500), effective_batch_for(1000), effective_batch_for(50_000)
    ((32, '32-64'), (128, '128'), (256, '256+'))
    """
    return next((batch, text) for limit, batch, text in TRAINING_HUB_BATCH if n_rows < limit)


MIN_STEPS = 100  # sft-facts §3 (Tinker): aim for at least 100 optimizer steps, usually best with 1,000+.
# sft-facts §6, measured on a 2-core CPU: SmolLM2-135M, batch 4, short chats, ~2.2 s per LoRA step.
REFERENCE_STEP = "on a 2-core CPU a step of 4 short chats takes ~2.2 s (measured with this app)"


def preset_effective_batch(n_rows: int, epochs: float) -> int:
    """Training Hub's effective batch for the data size, or a smaller power of two when that would train fewer
    than Tinker's ``MIN_STEPS`` optimizer steps over ``epochs`` passes (Tinker: smaller batches often fine-tune
    better), so a preset never falls short of its own step advice.

    >>> preset_effective_batch(1000, 3), preset_effective_batch(1000, 5), preset_effective_batch(50_000, 2)
    (16, 32, 256)
    """
    hub_batch, _ = effective_batch_for(n_rows)
    most = max(1, int(n_rows * epochs) // MIN_STEPS)  # the largest batch that still gives MIN_STEPS steps
    return hub_batch if hub_batch <= most else 2 ** int(math.log2(most))


def few_steps_warning(total: int, rows_seen: int) -> str:
    """A warning when a run has fewer optimizer steps than Tinker's minimum, else "".

    >>> "at least 100" in few_steps_warning(24, 3000), few_steps_warning(150, 3000)
    (True, '')
    """
    if total >= MIN_STEPS:
        return ""
    smaller = max(1, rows_seen // MIN_STEPS)
    return (
        f"Only {total} optimizer steps: Tinker advises at least {MIN_STEPS}, usually best with 1,000+ "
        f"({cite('tinker_lr')}). An effective batch of {smaller} would give about {MIN_STEPS}; smaller batches "
        "often fine-tune better, says the same page."
    )


def precision_advice(device: DeviceInfo) -> Advice:
    """bf16 where supported, fp16 on GPUs without it, float32 on CPU (core/device.precision_flags)."""
    flags = precision_flags(device)
    if flags["bf16"]:
        return Advice("Precision", "bfloat16", "This GPU computes in bfloat16 natively: half the memory.", "device")
    if flags["fp16"]:
        return Advice(
            "Precision",
            "float16",
            "This GPU has no bfloat16: float16 mixed precision, with the trained weights kept in float32 "
            "(float16 gradients can't be scaled safely).",
            "device",
        )
    return Advice(
        "Precision",
        "float32",
        "A CPU trains in float32; bf16 must stay off there (SFTConfig turns it on by default).",
        cite("trl_sft"),
    )


def _batch_text(config: RunConfig) -> str:
    return f"{config.per_device_batch_size} x {config.gradient_accumulation_steps}"


def _passes(config: RunConfig, n_rows: int) -> float:
    return config.max_steps * config.effective_batch_size / max(n_rows, 1)


def _length_why(preset: Preset, config: RunConfig) -> str:
    data = preset.data
    reason = data.length_reason or "TRL-style default."
    if preset.name == "Quick demo":
        reason = f"The shortest of the usual choices ({cite('training_hub')}) is 512 tokens. " + (
            data.length_reason or "The demo rows are far shorter."
        )
    if config.max_length == preset.config.max_length:
        return reason
    longest = data.p99 or data.max_tokens
    if longest is None:
        return f"In effect: {config.max_length} tokens; the rows were not measured. Suggested: {reason}"
    which = "the longest row" if data.p99 is None else "99 of every 100 rows"
    if longest <= config.max_length:
        return (
            f"In effect: {config.max_length} tokens, which holds {which} (up to {longest:,} tokens). "
            f"Suggested: {reason}"
        )
    return (
        f"In effect: {config.max_length} tokens, shorter than {which} (up to {longest:,} tokens): longer rows are "
        f"truncated. Suggested: {reason}"
    )


def _quick_demo_advice(preset: Preset, config: RunConfig) -> list[Advice]:
    data, lr = preset.data, preset.lr
    hub_batch, _ = effective_batch_for(data.n_rows)
    effective = config.effective_batch_size
    accumulation = (
        "no accumulation"
        if config.gradient_accumulation_steps == 1
        else f"{config.gradient_accumulation_steps} accumulated (effective {effective})"
    )
    batch_why = f"{config.per_device_batch_size} rows per step, {accumulation}: for scale, {REFERENCE_STEP}."
    if hub_batch > effective:
        batch_why += (
            f" The Training Hub's {hub_batch} for {data.n_rows:,} rows would make each step "
            f"{hub_batch / effective:.0f} times longer."
        )
    steps_why = (
        f"{config.max_steps} steps x batch {effective} = {config.max_steps * effective:,} rows seen of "
        f"{data.n_rows:,} (~{_passes(config, data.n_rows):.1f} passes): enough for the loss to fall and the answers "
        "to change."
    )
    if config.max_steps < MIN_STEPS:
        steps_why += f" Below Tinker's {MIN_STEPS}-step minimum on purpose: a demo, not a finished model."
    return [
        Advice(
            "Learning rate", f"{config.learning_rate:.1e}", _quick_demo_lr_why(config, lr.value), _lr_source(preset)
        ),
        Advice("Batch", _batch_text(config), batch_why, cite("training_hub")),
        Advice("Max length", str(config.max_length), _length_why(preset, config), cite("training_hub")),
        Advice("Steps", str(config.max_steps), steps_why, cite("tinker_lr")),
    ]


def _quick_demo_lr_why(config: RunConfig, recommended: float) -> str:
    """Why the Quick demo keeps its tested learning rate, and how it stands against this model's recommendation."""
    in_effect = config.learning_rate
    full = " (a tenth of LoRA's, for a full fine-tune: Tinker cookbook)" if config.method == "full" else ""
    if math.isclose(in_effect, recommended, rel_tol=0.05):
        return f"The recommendation for this model{full}; Balanced and Thorough use it too."
    if in_effect < recommended:
        return (
            f"Recommended for this model: {recommended:.1e}. The Quick demo keeps {in_effect:.1e}{full}, on purpose: "
            "its batch of 4 is far smaller than the batches Tinker's figures were measured at (128 in its "
            "cookbook's sweep), and a smaller batch wants a smaller step, so it rounds down to the value tested to "
            f"make the loss fall within 60 steps on the demo data. Balanced and Thorough use {recommended:.1e}."
        )
    return (
        f"Recommended for this model: {recommended:.1e}. The Quick demo keeps {in_effect:.1e}{full}, the value "
        "tested on SmolLM2-135M for a 60-step demo, above this model's figure: pick Balanced or Thorough to use "
        "the recommendation."
    )


def _lr_source(preset: Preset) -> str:
    """The page the learning rate's recommendation comes from: the cookbook table, the formula, or SmolLM3's guide."""
    if preset.lr.table_value is not None:
        return cite("tinker_get_lr")
    return cite("tinker_lr") if preset.lr.formula_value is not None else cite("smol_course")


def _batch_choice(data, epochs: float) -> str:
    """Why the preset's effective batch: Training Hub's by data size, or smaller to reach Tinker's step minimum."""
    hub_batch, hub_range = effective_batch_for(data.n_rows)
    chosen = preset_effective_batch(data.n_rows, epochs)
    if chosen == hub_batch:
        return (
            f"{data.n_rows:,} training rows -> effective batch {hub_batch} (Training Hub: {hub_range} for this size)"
        )
    hub_steps = math.ceil(data.n_rows / hub_batch) * epochs
    steps = math.ceil(data.n_rows / chosen) * epochs
    return (
        f"Training Hub suggests an effective batch of {hub_range} for {data.n_rows:,} rows, but over {epochs:g} "
        f"passes that is only {hub_steps:g} optimizer steps, under the {MIN_STEPS} Tinker advises; so the preset "
        f"takes {chosen} ({steps:g} steps), and Tinker finds smaller batches often fine-tune better"
    )


def _epochs_why(epochs: float) -> str:
    if epochs == 3:
        return "3 passes: where the two guides meet (Training Hub 2-3, SmolLM3 3-5 epochs)."
    return (
        f"{epochs:g} passes: SmolLM3's upper end (3-5); Training Hub (2-3) warns that more risks overfitting on "
        "small data, so training stops early once the validation loss stops improving."
    )


def _guided_advice(preset: Preset, config: RunConfig) -> list[Advice]:
    data, device = preset.data, preset.device
    batch_why = _batch_choice(data, preset.epochs)
    if _batch_text(config) == _batch_text(preset.config):
        batch_why += f"; split {_batch_text(config)} accumulated so it fits {device.describe()}."
    else:
        batch_why += f"; in effect {_batch_text(config)} = effective batch {config.effective_batch_size}."
    per_pass = max(1, math.ceil(data.n_rows / config.effective_batch_size))
    warmup = max(1, round(config.max_steps * config.warmup_ratio))
    steps_why = (
        f"{data.n_rows:,} rows / effective batch {config.effective_batch_size} = {per_pass} steps per pass; "
        f"{config.max_steps} steps = ~{config.max_steps / per_pass:.1f} passes. The preset aims at "
        f"{_epochs_why(preset.epochs)} Warmup {warmup} steps (~{config.warmup_ratio:.0%})."
    )
    return [
        Advice("Learning rate", f"{config.learning_rate:.1e}", preset.lr.reason, _lr_source(preset)),
        Advice("Batch", _batch_text(config), batch_why, cite("training_hub", "tinker_lr")),
        Advice("Max length", str(config.max_length), _length_why(preset, config), cite("training_hub")),
        Advice("Steps", str(config.max_steps), steps_why, cite("training_hub", "smol_course", "tinker_lr")),
    ]


def explain_settings(preset: Preset, config: RunConfig | None = None) -> tuple[list[Advice], list[str]]:
    """(advice cards, warnings) for ``config`` (default: the preset's own), every number the one in effect."""
    config = config or preset.config
    if preset.name == "Quick demo":
        advice = _quick_demo_advice(preset, config)
        warnings = []
    else:
        advice = _guided_advice(preset, config)
        rows_seen = config.max_steps * config.effective_batch_size
        warnings = [w for w in [few_steps_warning(config.max_steps, rows_seen)] if w]
    advice.append(precision_advice(preset.device))
    if config.gradient_checkpointing:
        why = (
            "the estimate says memory is short without it"
            if preset.config.gradient_checkpointing
            else "you turned it on; the estimate does not need it"
        )
        warnings.append(f"Gradient checkpointing is on: {why} (~20% slower).")
    return advice, warnings


def preset_caption(preset: Preset, summary: str) -> str:
    """One line under the preset choice: what the selected preset is for and the numbers it suggests for this data.

    Built from the preset itself, so Balanced never shows the Quick demo's numbers.
    """
    config, rows = preset.config, preset.data.n_rows
    adapters = "every weight trained" if config.method == "full" else f"LoRA r{config.lora_r}"
    return (
        f"{preset.name}: {summary} Suggests {config.max_steps} optimizer steps x effective batch "
        f"{config.effective_batch_size} (~{_passes(config, rows):.1f} passes over {rows:,} rows), {adapters}, "
        f"learning rate {config.learning_rate:.1e}."
    )
