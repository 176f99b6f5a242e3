"""What to change when a run needs less memory: the cheapest change first, and a sentence saying why.

The Train step's retry after an out-of-memory error (``ui/train.py``) and the
fit check's advice before a run (``core/memory.estimate_memory``) both walk
this one ladder, so the advice and the retry button agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.config import RunConfig


def retry_settings_after_oom(config: RunConfig) -> tuple[dict[str, Any], str]:
    """Settings that need less memory, and a sentence saying what changed and why.

    In order of what costs least: halve the per-device batch and double the
    accumulation (the effective batch, hence the training, stays the same);
    at batch 1, turn on gradient checkpointing (~20% slower, sft-facts §7);
    then halve the max length; a full fine-tune switches to LoRA first.

    >>> from core.config import RunConfig
    >>> retry_settings_after_oom(RunConfig(per_device_batch_size=4, gradient_accumulation_steps=2))[0]
    {'per_device_batch_size': 2, 'gradient_accumulation_steps': 4}
    >>> retry_settings_after_oom(RunConfig(per_device_batch_size=1, gradient_checkpointing=True, max_length=128))
    ({}, 'The settings are already as small as they go: pick a smaller model or QLoRA on a GPU.')
    """
    if config.method == "full":
        return {"method": "lora"}, "Switch to LoRA: only small adapter weights get gradients and optimizer states."
    if config.per_device_batch_size > 1:
        batch = config.per_device_batch_size // 2
        accumulation = config.gradient_accumulation_steps * config.per_device_batch_size // batch
        return (
            {"per_device_batch_size": batch, "gradient_accumulation_steps": accumulation},
            f"Batch size {config.per_device_batch_size} -> {batch} with accumulation "
            f"{config.gradient_accumulation_steps} -> {accumulation}: same effective batch, less memory per step.",
        )
    if not config.gradient_checkpointing:
        return {
            "gradient_checkpointing": True
        }, "Turn on gradient checkpointing: ~20% slower, far less activation memory."
    if config.max_length > 256:
        return (
            {"max_length": config.max_length // 2},
            f"Max length {config.max_length} -> {config.max_length // 2}: longer rows will be truncated.",
        )
    return {}, "The settings are already as small as they go: pick a smaller model or QLoRA on a GPU."
