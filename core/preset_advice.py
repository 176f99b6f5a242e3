"""The why behind each number of a preset, written for the values actually in effect.

A preset suggests numbers; the user may then change any of them. The cards
the Settings step shows must never quote the preset's old numbers as if they
were still in effect ("60 steps x batch 4" after the batch became 8), so the
explanations are built here from a ``RunConfig`` (the preset's own at first,
the edited one afterwards), with the preset's suggestion kept for comparison.
Every reference figure names its source (../shared/reference/sft-facts.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.config import RunConfig
from core.device import DeviceInfo, precision_flags

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
REFERENCE_STEP = "on a 2-core CPU a step of 4 short chats takes ~2.2 s (sft-facts §6)"


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
        f"(sft-facts §3). An effective batch of {smaller} would give about {MIN_STEPS}; smaller batches often "
        "fine-tune better (Tinker, sft-facts §3)."
    )


def precision_advice(device: DeviceInfo) -> Advice:
    """bf16 where supported, fp16 on GPUs without it, float32 on CPU (core/device.precision_flags)."""
    flags = precision_flags(device)
    if flags["bf16"]:
        return Advice("Precision", "bfloat16", "This GPU computes in bfloat16 natively: half the memory.", "device")
    if flags["fp16"]:
        return Advice("Precision", "float16", "This GPU has no bfloat16: float16 mixed precision.", "device")
    return Advice(
        "Precision",
        "float32",
        "A CPU trains in float32; bf16 must stay off there (SFTConfig turns it on by default).",
        "sft-facts §7",
    )


def _batch_text(config: RunConfig) -> str:
    return f"{config.per_device_batch_size} x {config.gradient_accumulation_steps}"


def _passes(config: RunConfig, n_rows: int) -> float:
    return config.max_steps * config.effective_batch_size / max(n_rows, 1)


def _length_why(preset: Preset, config: RunConfig) -> str:
    data = preset.data
    reason = data.length_reason or "TRL-style default."
    if preset.name == "Quick demo":
        reason = "The shortest of the usual choices (sft-facts §3) is 512 tokens. " + (
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
            f" The Training Hub's {hub_batch} for {data.n_rows:,} rows (sft-facts §3) would make each step "
            f"{hub_batch / effective:.0f} times longer."
        )
    steps_why = (
        f"{config.max_steps} steps x batch {effective} = {config.max_steps * effective:,} rows seen of "
        f"{data.n_rows:,} (~{_passes(config, data.n_rows):.1f} passes): enough for the loss to fall and the answers "
        "to change."
    )
    if config.max_steps < MIN_STEPS:
        steps_why += (
            f" Below Tinker's {MIN_STEPS}-step minimum on purpose (sft-facts §3): a demo, not a finished model."
        )
    return [
        Advice(
            "Learning rate",
            f"{config.learning_rate:.1e}",
            f"Close to the Tinker formula's value for SmolLM2-135M with LoRA (~1.3e-3, sft-facts §3); "
            f"this model's own recommendation is {lr.value:.1e}. Full fine-tuning uses a tenth (Tinker cookbook).",
            "sft-facts §3",
        ),
        Advice("Batch", _batch_text(config), batch_why, "sft-facts §3, §6"),
        Advice("Max length", str(config.max_length), _length_why(preset, config), "sft-facts §3"),
        Advice("Steps", str(config.max_steps), steps_why, "sft-facts §3"),
    ]


def _epochs_why(epochs: float) -> str:
    if epochs == 3:
        return "3 passes: where the two guides meet (Training Hub 2-3, SmolLM3 3-5 epochs; sft-facts §3)."
    return (
        f"{epochs:g} passes: SmolLM3's upper end (3-5); Training Hub (2-3) warns that more risks overfitting on "
        "small data, so training stops early once the validation loss stops improving (sft-facts §3)."
    )


def _guided_advice(preset: Preset, config: RunConfig) -> list[Advice]:
    data, device = preset.data, preset.device
    hub_batch, hub_range = effective_batch_for(data.n_rows)
    batch_why = (
        f"{data.n_rows:,} training rows -> effective batch {hub_batch} (Training Hub: {hub_range} for this data "
        "size, sft-facts §3)"
    )
    if _batch_text(config) == _batch_text(preset.config):
        batch_why += f", split {_batch_text(config)} accumulated so it fits {device.describe()}."
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
        Advice("Learning rate", f"{config.learning_rate:.1e}", preset.lr.reason, "sft-facts §3"),
        Advice("Batch", _batch_text(config), batch_why, "sft-facts §3"),
        Advice("Max length", str(config.max_length), _length_why(preset, config), "sft-facts §3"),
        Advice("Steps", str(config.max_steps), steps_why, "sft-facts §3"),
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
        warnings.append(f"Gradient checkpointing is on: {why} (~20% slower, sft-facts §7).")
    return advice, warnings
