"""The ladder of changes that make a run need less memory: cheapest first, the training itself kept where it can be."""

from __future__ import annotations

from core.config import RunConfig
from core.oom_retry import retry_settings_after_oom


def _walk(config: RunConfig) -> list[dict]:
    """Every change the ladder makes, applied one after another, until it has nothing left to change."""
    changes = []
    for _ in range(20):
        change, why = retry_settings_after_oom(config)
        if not change:
            assert "smaller model" in why  # the last word says what to do instead
            return changes
        assert why.endswith(".")
        changes.append(change)
        config = RunConfig.from_dict({**config.to_dict(), **change})
    raise AssertionError("the ladder never ends")


def test_a_full_fine_tune_switches_to_lora_first():
    assert retry_settings_after_oom(RunConfig(method="full", per_device_batch_size=8))[0] == {"method": "lora"}


def test_halving_the_batch_keeps_the_effective_batch():
    config = RunConfig(per_device_batch_size=8, gradient_accumulation_steps=3)
    change, why = retry_settings_after_oom(config)
    smaller = RunConfig.from_dict({**config.to_dict(), **change})
    assert smaller.per_device_batch_size == 4 and smaller.effective_batch_size == config.effective_batch_size
    assert "same effective batch" in why


def test_the_ladder_goes_batch_then_checkpointing_then_length():
    steps = _walk(RunConfig(per_device_batch_size=4, max_length=1024))
    assert steps == [
        {"per_device_batch_size": 2, "gradient_accumulation_steps": 2},
        {"per_device_batch_size": 1, "gradient_accumulation_steps": 4},
        {"gradient_checkpointing": True},
        {"max_length": 512},
        {"max_length": 256},
    ]
