"""The single RunConfig -> SFTConfig translation, the LoRA config and how the base model loads."""

from __future__ import annotations

import pytest

from core.config import ConfigError, RunConfig, describe_fields
from core.device import DeviceInfo
from core.trl_args import SFT_ARGUMENTS_FROM_SETTINGS, build_lora_config, build_model_init_kwargs, build_sft_config

CPU = DeviceInfo("cpu", "CPU, 2 cores", 24.0, False, 2)
A10G = DeviceInfo("cuda", "NVIDIA A10G", 24.0, True, 8)
T4 = DeviceInfo("cuda", "Tesla T4", 16.0, False, 8)


def test_extra_passes_real_sft_config_arguments_through(tmp_path):
    args = build_sft_config(RunConfig(extra={"weight_decay": 0.05, "max_grad_norm": None}), tmp_path, CPU)
    assert args.weight_decay == 0.05 and args.max_grad_norm is None


def test_every_argument_the_app_gives_sft_config_is_refused_in_extra(tmp_path, monkeypatch):
    """A key in ``extra`` that build_sft_config also sets would reach SFTConfig twice (a TypeError at Start)."""
    import trl

    passed = {}
    monkeypatch.setattr(trl, "SFTConfig", lambda **kwargs: passed.update(kwargs))
    build_sft_config(RunConfig(early_stopping_patience=2), tmp_path, CPU)
    assert "learning_rate" in passed and "output_dir" in passed
    for name in passed:
        with pytest.raises(ConfigError, match=f"'{name}' can't be set here"):
            RunConfig(extra={name: 1})
    assert set(SFT_ARGUMENTS_FROM_SETTINGS.values()) <= set(describe_fields())  # each names a real setting


def test_cpu_sft_config_is_float32_without_checkpointing_and_logs_to_trackio(tmp_path):
    args = build_sft_config(RunConfig(), tmp_path, CPU)
    assert args.bf16 is False and args.fp16 is False
    assert not args.gradient_checkpointing  # SFTConfig defaults it on; pointless for 135M on CPU (sft-facts §7)
    assert args.use_cpu is True
    assert args.report_to == ["trackio"]
    assert build_sft_config(RunConfig(), tmp_path, CPU, project="sft-coach-0f3a").project == "sft-coach-0f3a"
    assert args.logging_steps == 1
    assert args.max_steps == RunConfig().max_steps
    assert args.model_init_kwargs["dtype"] == "float32"


def test_gpu_precision_follows_the_device():
    # A real SFTConfig can't be built for a CUDA device on this CPU machine (TrainingArguments checks the
    # hardware), so the GPU path is tested at the level of the values it passes.
    from core.device import precision_flags

    assert build_model_init_kwargs(RunConfig(), A10G)["dtype"] == "bfloat16"
    assert precision_flags(A10G) == {"bf16": True, "fp16": False}
    assert build_model_init_kwargs(RunConfig(), T4)["dtype"] == "float16"
    assert precision_flags(T4) == {"bf16": False, "fp16": True}


def test_qlora_is_refused_on_cpu_with_the_reason(tmp_path):
    with pytest.raises(ConfigError, match="CUDA"):
        build_sft_config(RunConfig(method="qlora"), tmp_path, CPU)


def test_qlora_on_cuda_loads_the_base_in_4bit():
    kwargs = build_model_init_kwargs(RunConfig(method="qlora"), A10G)
    quant = kwargs["quantization_config"]
    assert quant.load_in_4bit and not quant.load_in_8bit  # never both (sft-facts §3)
    assert quant.bnb_4bit_quant_type == "nf4"


def test_lora_config_follows_the_settings():
    lora = build_lora_config(RunConfig(lora_r=8, lora_alpha=16, lora_target="attention"))
    assert lora.r == 8 and lora.lora_alpha == 16
    assert set(lora.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj"}
    assert build_lora_config(RunConfig(method="full")) is None


def test_remote_code_is_off_unless_the_admin_allows_it(monkeypatch):
    from core.recipe import recipe_values

    monkeypatch.delenv("SFT_COACH_ALLOW_REMOTE_CODE", raising=False)
    assert build_model_init_kwargs(RunConfig(), CPU)["trust_remote_code"] is False
    monkeypatch.setenv("SFT_COACH_ALLOW_REMOTE_CODE", "0")
    assert build_model_init_kwargs(RunConfig(), CPU)["trust_remote_code"] is False
    monkeypatch.setenv("SFT_COACH_ALLOW_REMOTE_CODE", "1")
    assert build_model_init_kwargs(RunConfig(), CPU)["trust_remote_code"] is True
    values = recipe_values(RunConfig(), CPU, "some/model", "data", has_eval=False)
    assert values["model_init_kwargs"]["trust_remote_code"] is True  # the exported recipe says the same
