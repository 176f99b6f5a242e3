"""Memory and time estimates: weights agree with accelerate's own count; the total with measured peak RSS on CPU."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.memory import (
    GB,
    REFERENCE_PARAMS,
    REFERENCE_TOKENS_PER_ROW,
    estimate_memory,
    estimate_time,
    memory_parts,
    parameter_counts,
)
from tests.devices import A10G, CPU, T4
from tests.model_configs import SMOLLM2

QWEN2_05B = {  # Qwen2-0.5B config.json: q/k/v biases, tied embeddings
    "model_type": "qwen2",
    "architectures": ["Qwen2ForCausalLM"],
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_attention_heads": 14,
    "num_hidden_layers": 24,
    "num_key_value_heads": 2,
    "vocab_size": 151936,
    "tie_word_embeddings": True,
    "max_position_embeddings": 32768,
}
# The estimate vs measured peak RSS is a machine measurement: bench/bench_memory.py prints it (bench/RESULTS.md).


def _accelerate_size(model_config: dict) -> int:
    """accelerate's own size of the model (what `accelerate estimate-memory` reports), built with no weights."""
    from accelerate import init_empty_weights
    from accelerate.utils import calculate_maximum_sizes
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(**model_config)
    with init_empty_weights():
        model = AutoModelForCausalLM.from_config(config)
    total, _ = calculate_maximum_sizes(model)
    head, embed = model.get_output_embeddings().weight, model.get_input_embeddings().weight
    if config.tie_word_embeddings and head is not embed:
        # Built on the meta device, transformers 5 leaves the LM head untied (tying happens when weights load),
        # so accelerate counts the shared matrix twice; the trained model holds it once.
        total -= head.numel() * head.element_size()
    return total


@pytest.mark.parametrize("model_config", [SMOLLM2, QWEN2_05B], ids=["smollm2-135m", "qwen2-0.5b"])
def test_weights_match_accelerates_estimate(model_config):
    from accelerate.commands.estimate import estimate_training_usage

    accelerate_bytes = _accelerate_size(model_config)  # float32
    ours = parameter_counts(model_config).total * 4
    assert ours == pytest.approx(accelerate_bytes, rel=0.01)
    # accelerate's float32 training figure (weights + gradients + 2 Adam states) vs ours for a full fine-tune:
    usage = estimate_training_usage(accelerate_bytes, "float32")
    parts = memory_parts(model_config, RunConfig(method="full"), CPU)
    ours_training = parts["weights"] + parts["gradients"] + parts["optimizer"]
    assert ours_training == pytest.approx(usage["model"] + usage["gradients"] + usage["optimizer"], rel=0.01)


def test_smollm2_parameter_count_is_the_reference_used_for_time():
    assert parameter_counts(SMOLLM2).total == REFERENCE_PARAMS
    assert parameter_counts(SMOLLM2).trainable_lora == 4_884_480  # LoRA r16 on all linear layers


def test_verdicts_and_the_change_that_makes_it_fit():
    config = RunConfig(method="full", per_device_batch_size=8, max_length=2048)
    total = estimate_memory(SMOLLM2, config, CPU, available_bytes=1000 * GB).total_bytes
    assert estimate_memory(SMOLLM2, config, CPU, available_bytes=int(total / 0.5)).verdict == "fits"
    assert estimate_memory(SMOLLM2, config, CPU, available_bytes=int(total / 0.8)).verdict == "tight"
    short = estimate_memory(SMOLLM2, config, CPU, available_bytes=int(total / 1.5))
    assert short.verdict == "won't fit"
    assert short.changes and "To make it fit" in short.advice
    fixed = RunConfig.from_dict({**config.to_dict(), **short.changes})
    assert estimate_memory(SMOLLM2, fixed, CPU, available_bytes=short.available_bytes).verdict == "fits"
    hopeless = estimate_memory(SMOLLM2, config, CPU, available_bytes=GB // 10)
    assert hopeless.verdict == "won't fit" and "smaller model" in hopeless.advice


def test_lora_and_qlora_need_less_than_full_and_checkpointing_cuts_activations():
    full = memory_parts(SMOLLM2, RunConfig(method="full"), A10G)
    lora = memory_parts(SMOLLM2, RunConfig(method="lora"), A10G)
    qlora = memory_parts(SMOLLM2, RunConfig(method="qlora"), A10G)
    assert lora["optimizer"] < full["optimizer"] / 20
    assert qlora["weights"] < lora["weights"] < full["weights"] * 1.1
    plain = memory_parts(SMOLLM2, RunConfig(max_length=2048), CPU)["activations"]
    checkpointed = memory_parts(SMOLLM2, RunConfig(max_length=2048, gradient_checkpointing=True), CPU)
    assert checkpointed["activations"] < plain / 3


def test_a_full_fine_tune_on_a_gpu_without_bf16_counts_float32_master_weights():
    from core.memory import parameter_counts

    counts = parameter_counts(SMOLLM2)
    t4, a10g = (
        memory_parts(SMOLLM2, RunConfig(method="full"), T4),
        memory_parts(SMOLLM2, RunConfig(method="full"), A10G),
    )
    # float32 weights and gradients, plus fp16 autocast's float16 copy of every linear weight
    assert t4["weights"] == counts.total * 4 + counts.block_linear * 2 and a10g["weights"] == counts.total * 2
    assert t4["gradients"] == 2 * a10g["gradients"]
    assert t4["activations"] == a10g["activations"]  # both compute in 16 bits
    lora = RunConfig(method="lora")
    assert memory_parts(SMOLLM2, lora, T4) == memory_parts(SMOLLM2, lora, A10G)  # a float16 frozen base on a T4


def test_time_estimate_reproduces_the_measured_reference_and_scales_with_tokens():
    lora = estimate_time(SMOLLM2, RunConfig(), CPU, REFERENCE_TOKENS_PER_ROW, 60)
    assert lora.seconds_per_step == pytest.approx(2.2)  # sft-facts §6
    assert lora.seconds == pytest.approx(132)
    full = estimate_time(SMOLLM2, RunConfig(method="full"), CPU, REFERENCE_TOKENS_PER_ROW, 60)
    assert full.seconds_per_step == pytest.approx(2.5)
    bigger = estimate_time(SMOLLM2, RunConfig(gradient_accumulation_steps=4), CPU, REFERENCE_TOKENS_PER_ROW, 60)
    assert bigger.seconds == pytest.approx(4 * lora.seconds)
    assert estimate_time(SMOLLM2, RunConfig(), A10G, 88, 60).seconds is None  # no measured GPU figure
