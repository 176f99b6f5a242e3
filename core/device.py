"""What hardware training will run on, and the precision settings that follow from it."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceInfo:
    """The device a run will use."""

    kind: str  # "cuda", "mps" or "cpu"
    name: str
    memory_gb: float  # GPU memory, or system RAM on CPU
    bf16: bool  # the device computes in bfloat16 natively
    cpu_count: int

    @property
    def is_cuda(self) -> bool:
        return self.kind == "cuda"

    def describe(self) -> str:
        return f"{self.name} ({self.memory_gb:.0f} GB{' GPU memory' if self.kind != 'cpu' else ' RAM'})"


def detect_device() -> DeviceInfo:
    """Inspect the machine once; imports torch, so call it lazily."""
    import psutil
    import torch

    cpus = os.cpu_count() or 1
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        # Native bf16 only (Ampere, compute capability 8.0, and newer): torch's default also says True for older
        # GPUs that merely store bf16 tensors (a T4 does), where bf16 runs emulated and FlashAttention 2 not at all.
        bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
        return DeviceInfo("cuda", props.name, props.total_memory / 2**30, bf16, cpus)
    ram = psutil.virtual_memory().total / 2**30
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return DeviceInfo("mps", "Apple GPU (MPS)", ram, False, cpus)
    return DeviceInfo("cpu", f"CPU, {cpus} cores", ram, False, cpus)


def precision_flags(device: DeviceInfo) -> dict[str, bool]:
    """bf16 where the GPU supports it, fp16 on older GPUs, float32 on CPU/MPS.

    SFTConfig turns bf16 on unless fp16 is set, which must not happen on a CPU
    (sft-facts §7), so both flags are always set explicitly.
    """
    if device.is_cuda:
        return {"bf16": device.bf16, "fp16": not device.bf16}
    return {"bf16": False, "fp16": False}


def weights_dtype(device: DeviceInfo, method: str) -> str:
    """The dtype the base model's weights are loaded in, for ``method`` ("full", "lora" or "qlora") on ``device``.

    - bf16 GPUs load bfloat16 and train in bf16 (optimizer states stay float32 inside AdamW's math).
    - fp16 GPUs (no bf16, e.g. a T4): mixed precision needs float32 *master* weights. The gradient scaler refuses
      float16 gradients ("Attempting to unscale FP16 gradients", torch.amp.GradScaler), so a full fine-tune loads
      float32 and computes in float16 under autocast. LoRA and QLoRA train only the adapter, which PEFT keeps in
      float32 (``autocast_adapter_dtype``), so their frozen base stays float16 and uses half the memory.
    - CPU and MPS train in float32.

    >>> t4, l4 = DeviceInfo("cuda", "Tesla T4", 16, False, 8), DeviceInfo("cuda", "NVIDIA L4", 24, True, 8)
    >>> weights_dtype(t4, "full"), weights_dtype(t4, "lora"), weights_dtype(l4, "full"), weights_dtype(l4, "qlora")
    ('float32', 'float16', 'bfloat16', 'bfloat16')
    """
    if not device.is_cuda:
        return "float32"
    if device.bf16:
        return "bfloat16"
    return "float32" if method == "full" else "float16"


def flash_attention_installed() -> bool:
    """Whether the ``flash-attn`` package (FlashAttention 2) can be imported; it is not in requirements.txt."""
    import importlib.util

    return importlib.util.find_spec("flash_attn") is not None


def attention_implementation(device: DeviceInfo) -> str | None:
    """The ``attn_implementation`` the model is loaded with; None keeps transformers' default (CPU, MPS).

    On CUDA: FlashAttention 2 when flash-attn is installed and the GPU is
    Ampere or newer (FlashAttention 2 needs Ampere+, the same GPUs that have
    bf16, so ``device.bf16`` stands for it); otherwise PyTorch's fused SDPA,
    which needs no extra package. Set explicitly so the run records it.
    """
    if not device.is_cuda:
        return None
    if device.bf16 and flash_attention_installed():
        return "flash_attention_2"
    return "sdpa"
