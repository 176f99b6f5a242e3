"""The machines the advice and config tests reason about, each described once (as ``core.device`` would)."""

from core.device import DeviceInfo

CPU = DeviceInfo("cpu", "CPU, 2 cores", 24.0, False, 2)  # this machine, as a free Space has it
A10G = DeviceInfo("cuda", "NVIDIA A10G", 24.0, True, 8)  # Ampere: bf16
T4 = DeviceInfo("cuda", "Tesla T4", 16.0, False, 8)  # Turing: no bf16, no FlashAttention 2
H100 = DeviceInfo("cuda", "NVIDIA H100 80GB HBM3", 80.0, True, 16)  # Hopper: bf16, FlashAttention 2

# Compute capability of each fake GPU: bf16 is native from 8.0 (Ampere); a T4 (7.5) stores bf16 tensors only.
COMPUTE_CAPABILITY = {T4.name: (7, 5), A10G.name: (8, 6), H100.name: (9, 0)}


def fake_cuda(monkeypatch, device: DeviceInfo, flash_attn: bool = False) -> None:
    """Make ``torch.cuda`` on this CPU machine answer like ``device`` (and flash-attn be installed or not).

    ``is_bf16_supported`` answers as torch does on that GPU: with emulation allowed (torch's default) a T4 says
    yes too, since it can hold a bf16 tensor.
    """
    import importlib.util
    from types import SimpleNamespace

    import torch

    major, minor = COMPUTE_CAPABILITY[device.name]
    props = SimpleNamespace(name=device.name, total_memory=int(device.memory_gb * 2**30), major=major, minor=minor)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index=0: props)
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: major >= 8 or including_emulation
    )
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "flash_attn":
            return SimpleNamespace(name="flash_attn") if flash_attn else None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
