"""A bfloat16 copy of the model a CPU trains, that answers the sample prompts three times faster.

Generating a token reads every weight once (0.54 GB for SmolLM2-135M in float32), so on a CPU the sample
answers are bound by memory, not arithmetic: a point costs the same for 1 prompt as for 3, with 1 thread as
with 2 (bench/RESULTS.md). Half the bytes per weight, and the LoRA adapters merged into the weights they
adapt (no second path per layer), make each token about three times cheaper on a CPU that computes in
bfloat16 (AVX-512 BF16 or AMX: ``torch.ops.mkldnn._is_mkldnn_bf16_supported()``). Training itself is
untouched: it keeps its float32 weights, only the copy is rounded.

The copy is built once per run and refreshed before each sampling point from the live weights: a LoRA
run copies base + delta for each adapted layer, a full fine-tune copies every parameter. Greedy decoding
in bfloat16 can pick another token where two are nearly tied, so an answer can differ from the float32
model's after a few words; the step-0 answers come from the same kind of copy, so the sample table
compares like with like, and the page says where the answers come from (``SAMPLE_PRECISION_NOTE``).

``SFT_COACH_SAMPLE_BF16=0`` answers with the live float32 model instead.
"""

from __future__ import annotations

import copy
import functools
import os

SAMPLE_PRECISION_NOTE = (
    "On this CPU the sample answers come from a bfloat16 copy of the model (about 3x faster to generate; "
    "training keeps full precision), so a word or two can differ from what the model says in Try it."
)
COPY_DTYPE = "bfloat16"
"""The ``dtype`` kept with answers a copy made ("": the model itself): sample rows, step-0 keys, estimates."""


def _switched_on() -> bool:
    return os.environ.get("SFT_COACH_SAMPLE_BF16", "1") != "0"


@functools.cache  # the CPU does not change while the app runs
def _cpu_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def wanted(model) -> bool:
    """True when a bfloat16 copy answers faster than ``model`` itself: float32 weights on a bf16-capable CPU."""
    import torch

    if not _switched_on():
        return False
    if getattr(model, "is_loaded_in_4bit", False) or getattr(model, "is_loaded_in_8bit", False):
        return False
    params = list(model.parameters()) if hasattr(model, "parameters") else []
    if not params or any(p.device.type != "cpu" or p.dtype != torch.float32 for p in params):
        return False
    for peft in (getattr(model, "peft_config", None) or {}).values():
        if getattr(peft, "use_dora", False) or getattr(peft, "modules_to_save", None):
            return False  # DoRA merges through a magnitude vector, saved modules train outside the adapters
    import psutil

    copy_bytes = sum(p.numel() for p in params) * 2
    if copy_bytes > psutil.virtual_memory().available // 4:
        return False  # the copy stays for the whole run: never let it crowd the training itself
    return _cpu_bf16()


def answer_dtype(model) -> str:
    """``COPY_DTYPE`` when ``model``'s sample answers come from a copy (``wanted``), else ""."""
    return COPY_DTYPE if wanted(model) else ""


def answer_dtype_on(device_kind: str) -> str:
    """The same, before a model is loaded: ``COPY_DTYPE`` where this kind of device answers from a copy."""
    return COPY_DTYPE if used_on(device_kind) else ""


def used_on(device_kind: str) -> bool:
    """Whether sample answers on this kind of device come from a bfloat16 copy, before a model is loaded (the
    run-time estimate, the head start's look for kept step-0 answers); each run's own model decides (``wanted``).

    Training on a CPU keeps float32 weights (core/device.py ``weights_dtype``), so there it is the CPU's bf16
    support and the switch that decide.
    """
    return device_kind == "cpu" and _switched_on() and _cpu_bf16()


def _lora_layers(live) -> dict[str, object]:
    """The LoRA-adapted layers of a PEFT model, by their name in the base model (the merged copy's names)."""
    from peft.tuners.lora import LoraLayer

    return {name: m for name, m in live.get_base_model().named_modules() if isinstance(m, LoraLayer)}


class SampleCopy:
    """The live model's weights, merged and rounded to ``dtype``, kept for generating between training steps."""

    def __init__(self, live, dtype=None) -> None:
        import torch

        self.dtype = dtype or torch.bfloat16
        self.is_peft = hasattr(live, "get_base_model") and hasattr(live, "peft_config")
        shadow = copy.deepcopy(live)
        if self.is_peft:
            shadow = shadow.merge_and_unload()
        for module in shadow.modules():
            # A copied patch answers with the live model: TRL's fused LM head (trl/trainer/utils.py
            # ``add_fused_lm_head``) replaces ``forward`` per instance and keeps the original, bound to the live
            # model, in a closure that deepcopy does not copy. Hooks (Stop's watch) are the training's too.
            module.__dict__.pop("forward", None)
            module._forward_hooks.clear()
            module._forward_pre_hooks.clear()
        for param in shadow.parameters():  # buffers (rotary frequencies) keep float32, as a bf16 load keeps them
            param.data = param.data.to(self.dtype)
            param.requires_grad_(False)
        shadow.eval()
        self.model = shadow
        self._targets = dict(shadow.named_parameters())

    def refresh(self, live):
        """Copy ``live``'s current weights in (merged, rounded) and return the copy, ready to generate."""
        import torch

        with torch.no_grad():
            if not self.is_peft:
                for name, param in live.named_parameters():
                    self._targets[name].copy_(param)
                return self.model
            for name, layer in _lora_layers(live).items():
                base = layer.get_base_layer()
                weight = base.weight.detach().clone()
                for adapter in layer.active_adapters:
                    if adapter in layer.lora_A or adapter in getattr(layer, "lora_embedding_A", {}):
                        weight += layer.get_delta_weight(adapter).to(weight.dtype)
                self._targets[f"{name}.weight"].copy_(weight)
        return self.model


def sampling_model(live, kept: SampleCopy | None) -> tuple[object, SampleCopy | None]:
    """The model to answer with now, and the copy to keep for the next point (None: answer with ``live``).

    ``kept`` is the copy of an earlier point of the same run, refreshed instead of built again.
    """
    if kept is None:
        if not wanted(live):
            return live, None
        kept = SampleCopy(live)
    return kept.refresh(live), kept
