"""The machine the check runs on: its device, what it lacks for each path, the versions and the load."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata

from core.device import DeviceInfo, nvidia_driver_version

PACKAGES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "bitsandbytes", "trackio", "flash-attn")


def bitsandbytes_problem() -> str:
    """Why bitsandbytes can't be used here ("" when it can): QLoRA's 4-bit base needs it."""
    try:
        import bitsandbytes  # noqa: F401
    except Exception as err:  # an ImportError, or a CUDA library it can't find, raised while importing
        return f"bitsandbytes can't be imported ({type(err).__name__}: {str(err)[:160]})"
    return ""


def skip_reason(method: str, precision: str, device: DeviceInfo, bnb_problem: str) -> str:
    """Why the app can't train ``method`` in ``precision`` on ``device`` ("" when it can)."""
    if precision == "float32":
        return "a GPU trains in bf16 or fp16 (core/device.py); float32 is the CPU's row" if device.is_cuda else ""
    if not device.is_cuda:
        return f"needs a CUDA GPU; this machine has {device.describe()}"
    if precision == "bf16" and not device.bf16:
        return f"{device.name} has no bf16: the app trains in fp16 here (the fp16 rows)"
    if method == "qlora" and bnb_problem:
        return bnb_problem
    return ""


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def describe_machine(device: DeviceInfo) -> dict:
    """What a reader of the results needs to know about where they were measured."""
    import torch

    info = {
        "device": device.describe(),
        "kind": device.kind,
        "bf16": device.bf16,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cuda": torch.version.cuda,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "packages": package_versions(),
    }
    if device.is_cuda:
        info["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
        info["driver"] = nvidia_driver_version() or "unknown (no nvidia-smi)"
    return info


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine slows every figure)."""
    return [round(x, 2) for x in os.getloadavg()]
