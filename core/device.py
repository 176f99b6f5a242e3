"""What hardware training will run on, and the precision settings that follow from it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from core.sources import cite


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


# -- a GPU that was given but is not used ---------------------------------------------------------------------------
# What NVIDIA_VISIBLE_DEVICES holds when a container has no GPU (the NVIDIA container runtime's own words for none).
NO_GPU_VALUES = ("", "void", "none")


def gpu_given(
    environ: dict[str, str] | None = None, which=None, device_file: str | Path = "/dev/nvidia0"
) -> str | None:
    """What says this machine was given an NVIDIA GPU, whatever torch thinks; None when nothing does.

    The NVIDIA container runtime sets ``NVIDIA_VISIBLE_DEVICES`` in a container that gets a GPU (a GPU Space) and
    mounts ``nvidia-smi`` and ``/dev/nvidia0`` into it; a machine with a driver installed has them too.
    """
    environ = os.environ if environ is None else environ
    which = which or shutil.which
    visible = environ.get("NVIDIA_VISIBLE_DEVICES", "").strip()
    if visible.lower() not in NO_GPU_VALUES:
        return f"NVIDIA_VISIBLE_DEVICES={visible}"
    if which("nvidia-smi"):
        return "nvidia-smi is installed"
    if Path(device_file).exists():
        return f"{device_file} exists"
    return None


def nvidia_driver_version() -> str | None:
    """The NVIDIA driver's version as ``nvidia-smi`` reports it, or None (no nvidia-smi, or it failed)."""
    import subprocess

    if not shutil.which("nvidia-smi"):
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if out.returncode == 0 and lines else None


def gpu_unused_warning(given: str | None, device: DeviceInfo, torch_build: str, driver: str | None) -> str | None:
    """The page's warning when a GPU was given but PyTorch can't use it (training would crawl on the CPU), else None.

    ``torch_build``: e.g. "torch 2.13.0+cu126, built for CUDA 12.6"; ``driver``: the NVIDIA driver version, if known.

    >>> cpu = DeviceInfo("cpu", "CPU, 4 cores", 15, False, 4)
    >>> gpu_unused_warning(None, cpu, "torch 2.13.0", None) is None  # no GPU given: nothing to say
    True
    >>> gpu_unused_warning("nvidia-smi is installed", cpu, "torch 2.13.0+cu130, built for CUDA 13.0", "550.54")[:60]
    'This machine was given a GPU (nvidia-smi is installed), but '
    """
    if given is None or device.is_cuda:
        return None
    driver_text = f" and the NVIDIA driver is {driver}" if driver else ""
    return (
        f"This machine was given a GPU ({given}), but PyTorch can't use it: {torch_build}{driver_text}. "
        f"Training would run on the {device.describe()} instead, many times slower. A torch build for CUDA 12.x needs "
        f"a driver 525 or newer, one for CUDA 13.x 580 or newer ({cite('cuda_compat')}): install the torch build "
        "this driver supports (the Space image uses CUDA 12.6) and restart the app."
    )


def check_gpu_in_use() -> str | None:
    """At start: the warning for the page when a GPU was given but torch can't see it; imports torch only then."""
    given = gpu_given()
    if given is None:
        return None  # the usual CPU machine: no torch import at start-up
    import torch

    cuda = torch.version.cuda
    build = f"torch {torch.__version__}, " + (f"built for CUDA {cuda}" if cuda else "a build without CUDA")
    return gpu_unused_warning(given, detect_device(), build, nvidia_driver_version())
