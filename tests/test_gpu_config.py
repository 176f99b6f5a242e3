"""What a run on a CUDA GPU is configured with, checked with fake CUDA devices on this CPU machine.

TrainingArguments refuses bf16 on a machine without a GPU, so a real SFTConfig can't be built for a
CUDA device here: these tests record the keyword arguments ``build_sft_config`` passes to
``trl.SFTConfig`` instead, and build a real one for the CPU.
"""

from __future__ import annotations

import pytest

import core.device
from core.config import RunConfig
from core.device import DeviceInfo, attention_implementation
from core.trl_args import build_model_init_kwargs, build_sft_config
from tests.devices import CPU, T4

MPS = DeviceInfo("mps", "Apple GPU (MPS)", 16.0, False, 8)
H100 = DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 80.0, True, 16)  # Hopper: bf16, FlashAttention 2


@pytest.fixture
def sft_config_kwargs(monkeypatch):
    """Replace trl.SFTConfig by a recorder; returns the kwargs of the last call."""
    import trl

    from core.ml_stack import import_training_stack

    import_training_stack()
    seen: dict = {}

    def record(**kwargs):
        seen.clear()
        seen.update(kwargs)
        return kwargs

    monkeypatch.setattr(trl, "SFTConfig", record)
    return seen


@pytest.fixture
def flash_attn(monkeypatch):
    """Pretend flash-attn is (or is not) installed: call with True or False."""

    def set_installed(installed: bool) -> None:
        monkeypatch.setattr(core.device, "flash_attention_installed", lambda: installed)

    return set_installed


def test_bf16_gpu_trains_in_bf16_with_sdpa_when_flash_attn_is_missing(tmp_path, sft_config_kwargs, flash_attn):
    flash_attn(False)
    build_sft_config(RunConfig(), tmp_path, H100)
    assert sft_config_kwargs["bf16"] is True and sft_config_kwargs["fp16"] is False
    assert sft_config_kwargs["use_cpu"] is False
    init = sft_config_kwargs["model_init_kwargs"]
    assert init["dtype"] == "bfloat16"
    assert init["attn_implementation"] == "sdpa"


def test_bf16_gpu_uses_flash_attention_2_when_installed(tmp_path, sft_config_kwargs, flash_attn):
    flash_attn(True)
    build_sft_config(RunConfig(method="full"), tmp_path, H100)
    assert sft_config_kwargs["model_init_kwargs"]["attn_implementation"] == "flash_attention_2"
    assert sft_config_kwargs["bf16"] is True


def test_gpu_without_bf16_uses_fp16_and_never_flash_attention(tmp_path, sft_config_kwargs, flash_attn):
    flash_attn(True)  # installed, but a T4 (pre-Ampere) can't run FlashAttention 2
    build_sft_config(RunConfig(), tmp_path, T4)
    assert sft_config_kwargs["fp16"] is True and sft_config_kwargs["bf16"] is False
    init = sft_config_kwargs["model_init_kwargs"]
    assert init["dtype"] == "float16"
    assert init["attn_implementation"] == "sdpa"


def test_gradient_checkpointing_follows_the_setting_on_gpu(tmp_path, sft_config_kwargs, flash_attn):
    flash_attn(False)
    build_sft_config(RunConfig(), tmp_path, H100)
    assert sft_config_kwargs["activation_checkpointing"] is False  # SFTConfig would turn it on (sft-facts §7)
    build_sft_config(RunConfig(gradient_checkpointing=True), tmp_path, H100)
    assert sft_config_kwargs["activation_checkpointing"] is True


def test_qlora_on_gpu_computes_in_the_gpu_precision(flash_attn):
    import torch

    flash_attn(False)
    assert build_model_init_kwargs(RunConfig(method="qlora"), H100)["quantization_config"].bnb_4bit_compute_dtype == (
        torch.bfloat16
    )
    kwargs = build_model_init_kwargs(RunConfig(method="qlora"), T4)
    assert kwargs["quantization_config"].bnb_4bit_compute_dtype == torch.float16
    assert kwargs["attn_implementation"] == "sdpa"


@pytest.mark.parametrize("device", [CPU, MPS], ids=["cpu", "mps"])
def test_no_cuda_only_setting_off_cuda(device, flash_attn):
    flash_attn(True)  # even with flash-attn installed
    kwargs = build_model_init_kwargs(RunConfig(), device)
    assert kwargs["dtype"] == "float32"
    assert "attn_implementation" not in kwargs  # transformers' own default (sdpa where supported)
    assert "quantization_config" not in kwargs and "device_map" not in kwargs
    assert attention_implementation(device) is None


def test_real_cpu_sft_config_has_nothing_cuda_only(tmp_path):
    args = build_sft_config(RunConfig(), tmp_path, CPU)
    assert args.bf16 is False and args.fp16 is False and args.use_cpu is True
    assert not args.padding_free and not args.packing  # padding-free needs FlashAttention (TRL's docs)
    assert "attn_implementation" not in args.model_init_kwargs
    assert not args.use_liger_kernel


def test_flash_attention_check_reflects_this_machine():
    import importlib.util

    assert core.device.flash_attention_installed() == (importlib.util.find_spec("flash_attn") is not None)
