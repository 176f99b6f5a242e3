"""What a run on a CUDA GPU is configured with, checked with fake CUDA devices on this CPU machine.

TrainingArguments refuses bf16 on a machine without a GPU, so a real SFTConfig can't be built for a
CUDA device here: these tests record the keyword arguments ``build_sft_config`` passes to
``trl.SFTConfig`` instead, and build a real one for the CPU.
"""

from __future__ import annotations

import pytest

import core.device
from core.config import RunConfig
from core.device import DeviceInfo, attention_implementation, detect_device, gpu_given, gpu_unused_warning
from core.trl_args import build_lora_config, build_model_init_kwargs, build_sft_config
from tests.devices import A10G, CPU, H100, T4, fake_cuda

MPS = DeviceInfo("mps", "Apple GPU (MPS)", 16.0, False, 8)


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


@pytest.mark.parametrize(("method", "dtype"), [("full", "float32"), ("lora", "float16")])
def test_gpu_without_bf16_uses_fp16_with_float32_trained_weights(
    tmp_path, sft_config_kwargs, flash_attn, method, dtype
):
    flash_attn(True)  # installed, but a T4 (pre-Ampere) can't run FlashAttention 2
    build_sft_config(RunConfig(method=method), tmp_path, T4)
    assert sft_config_kwargs["fp16"] is True and sft_config_kwargs["bf16"] is False
    init = sft_config_kwargs["model_init_kwargs"]
    # fp16 autocast needs float32 master weights for what trains: the whole model, or LoRA's float32 adapter
    # over a float16 frozen base (PEFT upcasts adapters, tested below)
    assert init["dtype"] == dtype
    assert init["attn_implementation"] == "sdpa"


# Each GPU class: (device, flash-attn installed) -> (bf16, fp16, dtype of a full fine-tune, attention)
GPU_CLASSES = {
    "no-bf16 (T4)": (T4, True, (False, True, "float32", "sdpa")),
    "bf16 (A10G)": (A10G, False, (True, False, "bfloat16", "sdpa")),
    "bf16+FlashAttention (H100)": (H100, True, (True, False, "bfloat16", "flash_attention_2")),
}


@pytest.mark.parametrize("gpu", GPU_CLASSES)
def test_detected_gpu_class_sets_precision_dtype_and_attention(gpu, monkeypatch, tmp_path, sft_config_kwargs):
    device, flash, (bf16, fp16, dtype, attention) = GPU_CLASSES[gpu]
    fake_cuda(monkeypatch, device, flash_attn=flash)
    detected = detect_device()
    assert (detected.kind, detected.name, detected.bf16) == ("cuda", device.name, device.bf16)
    build_sft_config(RunConfig(method="full"), tmp_path, detected)
    init = sft_config_kwargs["model_init_kwargs"]
    assert (sft_config_kwargs["bf16"], sft_config_kwargs["fp16"], sft_config_kwargs["use_cpu"]) == (bf16, fp16, False)
    assert (init["dtype"], init["attn_implementation"]) == (dtype, attention)


def test_a_t4_that_only_emulates_bf16_is_not_taken_for_a_bf16_gpu(monkeypatch):
    import torch

    fake_cuda(monkeypatch, T4)
    assert torch.cuda.is_bf16_supported()  # torch's default check says yes: a T4 can hold bf16 tensors
    assert detect_device().bf16 is False  # but it computes bf16 emulated, slowly, and FlashAttention 2 not at all


def _one_fp16_mixed_precision_step(model) -> float:
    """One optimizer step as Trainer takes it with fp16=True on CUDA: fp16 autocast and a gradient scaler."""
    import torch

    torch.manual_seed(0)
    trainable = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in trainable]
    optimizer = torch.optim.AdamW(trainable, lr=1e-3)
    scaler = torch.amp.GradScaler("cpu")  # the same scaler class as on CUDA; its checks are device-independent
    ids = torch.randint(0, 100, (2, 12))
    with torch.autocast("cpu", dtype=torch.float16):
        loss = model(input_ids=ids, labels=ids).loss
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)  # the step that fails on float16 gradients
    scaler.step(optimizer)
    scaler.update()
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, trainable, strict=True))
    return float(loss.detach())


@pytest.mark.parametrize("method", ["full", "lora"])
def test_the_t4_load_settings_survive_an_fp16_optimizer_step(tiny_model_path, method):
    import math

    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    init = build_model_init_kwargs(RunConfig(method=method), T4)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, **init)
    if method == "lora":
        model = get_peft_model(model, build_lora_config(RunConfig(method=method)))  # as SFTTrainer does
    assert {p.dtype for p in model.parameters() if p.requires_grad} == {torch.float32}
    assert math.isfinite(_one_fp16_mixed_precision_step(model))


def test_float16_weights_fail_the_first_fp16_optimizer_step(tiny_model_path):
    """What the app did before: a full fine-tune loaded in float16 under fp16=True (the check above can fail)."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float16)
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        _one_fp16_mixed_precision_step(model)


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


def test_the_signs_of_a_given_gpu(tmp_path):
    nothing = {"which": lambda name: None, "device_file": tmp_path / "nvidia0"}
    assert gpu_given({}, **nothing) is None
    for none in ("", "void", "none", "NONE"):  # the NVIDIA container runtime's words for "no GPU here"
        assert gpu_given({"NVIDIA_VISIBLE_DEVICES": none}, **nothing) is None
    assert gpu_given({"NVIDIA_VISIBLE_DEVICES": "0"}, **nothing) == "NVIDIA_VISIBLE_DEVICES=0"
    assert (
        gpu_given({}, which=lambda name: f"/usr/bin/{name}", device_file=tmp_path / "x") == "nvidia-smi is installed"
    )
    (tmp_path / "nvidia0").touch()
    assert gpu_given({}, **nothing) == f"{tmp_path / 'nvidia0'} exists"


def test_the_warning_names_the_build_the_driver_and_the_cpu_it_would_train_on():
    warning = gpu_unused_warning("NVIDIA_VISIBLE_DEVICES=0", CPU, "torch 2.13.0, built for CUDA 13.0", "550.54.15")
    assert "NVIDIA_VISIBLE_DEVICES=0" in warning and "built for CUDA 13.0" in warning and "550.54.15" in warning
    assert CPU.describe() in warning and "580" in warning
    assert gpu_unused_warning("NVIDIA_VISIBLE_DEVICES=0", T4, "torch 2.13.0+cu126", "550.54.15") is None  # in use
