"""The machines the advice and config tests reason about, each described once (as ``core.device`` would)."""

from core.device import DeviceInfo

CPU = DeviceInfo("cpu", "CPU, 2 cores", 24.0, False, 2)  # this machine, as a free Space has it
A10G = DeviceInfo("cuda", "NVIDIA A10G", 24.0, True, 8)  # Ampere: bf16
T4 = DeviceInfo("cuda", "Tesla T4", 16.0, False, 8)  # Turing: no bf16, no FlashAttention 2
