"""The Hub's Jobs hardware with its price, and what a run will take there: time and cost before submitting.

The estimate, for one run of ``config`` on one machine of the list::

    tokens         = steps x effective batch x tokens per row    (the mean row length measured on the data)
    tokens/s       = MFU x the GPU's dense BF16 peak / training FLOPs per token   (core/throughput.py)
    training hours = tokens / tokens/s / 3600
    hours          = training hours + start-up hours
    cost           = hours x price per hour   (the Hub's own price: ``unit_cost_usd`` per ``unit_label``)

- Training FLOPs per token: PaLM's ``6N + 12·L·H·Q·T`` (``4N + 6·N_lora`` + attention with LoRA), from
  ``core/throughput.py`` with the model's own ``config.json``; T is the rows' mean length, capped at the
  run's max length.
- MFU 30 %: the typical end-to-end training utilisation (the Smol Training Playbook); a 135M model on a
  big GPU reaches far less, so its time is a floor, said in the text.
- Peaks: NVIDIA's datasheets, dense (without sparsity), BF16 tensor cores (FP16 for the T4, which has no
  BF16): below. A GPU missing from the table gets the price but no time.
- The exported script trains on one GPU (``uv run``, not ``accelerate launch``): a machine with 4 GPUs is
  priced for 4 and trains at the speed of 1, and the text says so.
- Start-up: scheduling, ``uv`` installing torch + TRL, downloading the model: ``STARTUP_SECONDS``, the
  app's assumption (a few minutes on the Hub's machines), billed like the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.config import RunConfig
from core.hub import explain_error, offline_reason, scrub
from core.throughput import TYPICAL_MFU, ModelShape, tokens_per_second, training_flops_per_token

# Dense BF16 (T4: FP16) tensor-core peaks, FLOP/s, from NVIDIA's datasheets (the figures without sparsity).
GPU_PEAK_FLOPS = {
    "H200": 989e12,  # H200 SXM datasheet: the same compute as the H100 SXM
    "H100": 989e12,  # H100 SXM datasheet: 989.4 TFLOP/s BF16
    "A100": 312e12,  # A100 datasheet: 312 TFLOP/s BF16
    "L40S": 362e12,  # L40S datasheet: 362.05 TFLOP/s BF16 (733 with sparsity)
    "A10G": 125e12,  # NVIDIA A10 datasheet: 125 TFLOP/s BF16; AWS's A10G is its cloud variant
    "L4": 121e12,  # L4 datasheet: 121 TFLOP/s BF16 (242 with sparsity)
    "T4": 65e12,  # T4 datasheet: 65 TFLOP/s FP16 mixed precision
}
STARTUP_SECONDS = 5 * 60  # app's assumption: scheduling + installing torch/TRL with uv + downloading the model
SECONDS_PER_UNIT = {"second": 1, "minute": 60, "hour": 3600}


class HardwareError(RuntimeError):
    """The Hub's hardware list could not be read; the message says why."""


@dataclass(frozen=True)
class JobsHardware:
    """One machine Jobs rents: its name for the API, what it holds and its price per hour."""

    name: str
    pretty_name: str
    gpu: str | None
    """The accelerator's model (e.g. "A10G"), None for a CPU machine."""
    gpus: int
    vram: str
    price_per_hour: float

    def label(self) -> str:
        """ "Nvidia A10G - small · 24 GB · $1.00/h" """
        vram = f" · {self.vram}" if self.vram else ""
        return f"{self.pretty_name}{vram} · ${self.price_per_hour:.2f}/h"


def _from_info(info: Any) -> JobsHardware:
    accelerator = info.accelerator
    per_unit = SECONDS_PER_UNIT.get(str(info.unit_label).lower(), 60)
    return JobsHardware(
        name=info.name,
        pretty_name=info.pretty_name,
        gpu=accelerator.model if accelerator else None,
        gpus=int(accelerator.quantity) if accelerator and str(accelerator.quantity).isdigit() else 0,
        vram=accelerator.vram if accelerator else "",
        price_per_hour=float(info.unit_cost_usd) * 3600 / per_unit,
    )


def list_hardware(token: str | None) -> list[JobsHardware]:
    """The Hub's Jobs hardware (``HfApi.list_jobs_hardware``), GPUs first, cheapest first within each."""
    reason = offline_reason()
    if reason:
        raise HardwareError(f"{reason}, so the Jobs hardware list can't be read.")
    from huggingface_hub import HfApi

    try:
        found = [_from_info(info) for info in HfApi().list_jobs_hardware(token=token or None)]
    except Exception as err:  # noqa: BLE001 - one sentence, never the token
        raise HardwareError("The Jobs hardware list: " + scrub(explain_error(err, token), token)) from None
    return sorted(found, key=lambda hw: (hw.gpu is None, hw.price_per_hour))


def peak_flops(gpu: str | None) -> float | None:
    """The table's peak for an accelerator model named by the Hub ("A10G", "H100", "L40S"…), or None."""
    name = (gpu or "").upper().replace("NVIDIA", "").strip()
    return next((peak for key, peak in GPU_PEAK_FLOPS.items() if name.startswith(key)), None)


@dataclass(frozen=True)
class JobEstimate:
    """What one run costs on one machine; ``hours`` None when the GPU's speed is unknown."""

    hardware: JobsHardware
    tokens: int
    tokens_per_second: float | None
    hours: float | None
    cost: float | None

    def suggested_timeout(self) -> str:
        """The Job's time limit: twice the estimate, at least 30 min, in whole minutes (an estimate can be off)."""
        if self.hours is None:
            return "2h"
        return f"{max(30, math.ceil(self.hours * 2 * 60))}m"

    def describe(self) -> str:
        hw = self.hardware
        if self.hours is None:
            return (
                f"{self.tokens:,} training tokens on {hw.pretty_name} at ${hw.price_per_hour:.2f}/h; this app has no "
                "speed figure for this hardware, so no time or cost is estimated."
            )
        one_gpu = f" The script trains on one of its {hw.gpus} GPUs; you pay for all of them." if hw.gpus > 1 else ""
        return (
            f"About {_hours_text(self.hours)} and ${self.cost:.2f} on {hw.pretty_name} (${hw.price_per_hour:.2f}/h): "
            f"{self.tokens:,} tokens at ~{self.tokens_per_second:,.0f} tokens/s ({TYPICAL_MFU:.0%} of the GPU's peak, "
            f"PaLM's FLOPs per token) take {_hours_text(self.tokens / self.tokens_per_second / 3600)}, plus "
            f"~{STARTUP_SECONDS // 60} min to start. A small model uses less of a big GPU, so read the training time "
            f"as a floor.{one_gpu}"
        )


def _hours_text(hours: float) -> str:
    """ "under a minute", "12 min", "2.5 h" """
    minutes = hours * 60
    if minutes < 1:
        return "under a minute"
    return f"{minutes:.0f} min" if minutes < 90 else f"{hours:.1f} h"


def estimate_job(
    model_config: dict, config: RunConfig, tokens_per_row: float, hardware: JobsHardware, train_rows: int = 0
) -> JobEstimate:
    """Time and cost of ``config`` on ``hardware`` (the formula and its sources are in the module docstring).

    >>> shape = {"num_hidden_layers": 30, "hidden_size": 576, "intermediate_size": 1536, "num_attention_heads": 9,
    ...          "num_key_value_heads": 3, "vocab_size": 49152}
    >>> a10g = JobsHardware("a10g-small", "Nvidia A10G - small", "A10G", 1, "24 GB", 1.0)
    >>> estimate = estimate_job(shape, RunConfig(max_steps=1000), 88, a10g)
    >>> estimate.tokens, round(estimate.tokens_per_second), round(estimate.hours * 60), round(estimate.cost, 2)
    (352000, 64051, 5, 0.08)
    """
    steps = config.max_steps
    if steps <= 0:  # an epoch count: the rows over the effective batch, per epoch
        steps = math.ceil(max(train_rows, 1) / config.effective_batch_size) * max(1, math.ceil(config.num_epochs))
    length = max(1, round(min(tokens_per_row, config.max_length)))
    tokens = int(steps * config.effective_batch_size * length)
    peak = peak_flops(hardware.gpu)
    if peak is None:
        return JobEstimate(hardware, tokens, None, None, None)
    flops = training_flops_per_token(
        ModelShape.from_config(model_config),
        length,
        method=config.method,
        lora_rank=config.lora_r,
        lora_target=config.lora_target,
        recompute=config.gradient_checkpointing,
    )
    speed = tokens_per_second(flops, TYPICAL_MFU, peak)
    hours = (tokens / speed + STARTUP_SECONDS) / 3600
    return JobEstimate(hardware, tokens, speed, hours, hours * hardware.price_per_hour)
