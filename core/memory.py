"""Will this run fit, and how long will it take? A back-of-the-envelope estimate, with its formula shown.

Memory (bytes) = weights + gradients + optimizer states + activations:

- weights: every parameter at the load dtype (float32 on CPU, bfloat16 on a
  bf16 GPU; on a GPU without bf16 float32 master weights plus fp16 autocast's
  copies for a full fine-tune, a float16 frozen base for LoRA); QLoRA stores
  the transformer blocks' linear layers in 4-bit NF4 (~0.5 byte per
  parameter plus block scales), embeddings stay 16-bit;
- gradients: one per *trainable* parameter (all of them for a full fine-tune,
  only the adapter for LoRA/QLoRA), same dtype as the trained weights;
- optimizer: AdamW keeps two states per trainable parameter, counted in
  float32 (8 bytes) - PEFT keeps adapter weights in float32 anyway;
- activations: what the backward pass needs per token and layer (the
  inputs of every matmul, the attention probabilities, the MLP's gated
  intermediate, k/v expanded to every head) plus three float32 copies of the
  logits over the vocabulary (logits, log-probabilities and the logits' gradient);
  gradient checkpointing keeps only each layer's input and recomputes one
  layer at a time.

What it ignores: the framework itself (the PyTorch runtime, a CUDA context of
~0.5 GB, the CPU allocator's caching), memory fragmentation, temporary
buffers inside kernels, the data loader and the tokenizer. The verdict leaves
room for them (see ``FITS_SHARE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.config import RunConfig
from core.device import DeviceInfo, weights_dtype
from core.oom_retry import retry_settings_after_oom
from core.throughput import MeasuredThroughput

GB = 2**30
# Leave 30% of the memory for what the formula ignores (runtime, fragmentation, kernels' scratch space);
# above 90% the run is likely to fail. App's own margins, calibrated against tests/test_memory.py.
FITS_SHARE = 0.70
TIGHT_SHARE = 0.90
# bitsandbytes NF4 with double quantization: 4 bits per weight + ~0.127 bit of block constants (QLoRA paper).
NF4_BYTES_PER_PARAM = (4 + 0.127) / 8
# Measured in sft-facts §6 on a 2-core CPU: SmolLM2-135M, batch 4, short chats:
# ~2.5 s per optimizer step for a full fine-tune, ~2.2 s with LoRA r=16.
REFERENCE_SECONDS_PER_STEP = {"full": 2.5, "lora": 2.2}
REFERENCE_PARAMS = 134_515_008  # SmolLM2-135M, counted by parameter_counts() from its config.json
REFERENCE_BATCH = 4
REFERENCE_CORES = 2
# "Short chats": the JSON-extraction demo rows the app trains on, mean length in SmolLM2 tokens (measured by
# core/data/stats.measure_lengths over the 1,000 training rows).
REFERENCE_TOKENS_PER_ROW = 88


@dataclass(frozen=True)
class ParameterCounts:
    """Parameters of a decoder-only transformer, from its config.json."""

    total: int
    embedding: int  # input embeddings + an untied LM head
    block_linear: int  # the linear layers inside the transformer blocks (what QLoRA quantizes)
    trainable_lora: int  # LoRA A and B matrices for the chosen targets


def _config_value(model_config: dict, *names: str, default: Any = None) -> Any:
    for name in names:
        if model_config.get(name) is not None:
            return model_config[name]
    text = model_config.get("text_config") or {}
    for name in names:
        if text.get(name) is not None:
            return text[name]
    return default


def model_shape(model_config: dict) -> dict[str, int]:
    """The sizes the estimate needs; raises ValueError naming what is missing."""
    hidden = _config_value(model_config, "hidden_size", "n_embd", "d_model")
    layers = _config_value(model_config, "num_hidden_layers", "n_layer", "num_layers")
    heads = _config_value(model_config, "num_attention_heads", "n_head")
    vocab = _config_value(model_config, "vocab_size")
    if not all((hidden, layers, heads, vocab)):
        raise ValueError(
            "The model's config.json lacks hidden_size, num_hidden_layers, num_attention_heads or vocab_size, "
            "so its memory can't be estimated."
        )
    head_dim = _config_value(model_config, "head_dim", default=None) or hidden // heads
    return {
        "hidden": int(hidden),
        "layers": int(layers),
        "heads": int(heads),
        "kv_heads": int(_config_value(model_config, "num_key_value_heads", default=heads)),
        "head_dim": int(head_dim),
        "intermediate": int(_config_value(model_config, "intermediate_size", "n_inner", default=4 * hidden)),
        "vocab": int(vocab),
        "tied": bool(_config_value(model_config, "tie_word_embeddings", default=True)),
        "attention_bias": bool(_config_value(model_config, "attention_bias", default=False))
        or str(model_config.get("model_type", "")).startswith("qwen2"),
    }


def parameter_counts(model_config: dict, lora_r: int = 16, lora_target: str = "all-linear") -> ParameterCounts:
    """Count a Llama/Qwen-style decoder's parameters from its config (gated MLP, RMSNorm, GQA attention).

    >>> counts = parameter_counts({"hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9,
    ...     "num_key_value_heads": 3, "intermediate_size": 1536, "vocab_size": 49152, "head_dim": 64})
    >>> counts.total
    134515008
    """
    s = model_shape(model_config)
    h, inter, q_dim, kv_dim = s["hidden"], s["intermediate"], s["heads"] * s["head_dim"], s["kv_heads"] * s["head_dim"]
    # (in, out) of every linear layer in one block
    attention = [(h, q_dim), (h, kv_dim), (h, kv_dim), (q_dim, h)]
    mlp = [(h, inter), (h, inter), (inter, h)]
    per_block_linear = sum(i * o for i, o in attention + mlp)
    per_block_bias = (q_dim + 2 * kv_dim) if s["attention_bias"] else 0
    per_block_norms = 2 * h
    embedding = s["vocab"] * h * (1 if s["tied"] else 2)
    block_linear = s["layers"] * per_block_linear
    total = embedding + block_linear + s["layers"] * (per_block_bias + per_block_norms) + h  # + final norm
    targets = attention if lora_target == "attention" else attention + mlp
    lora = s["layers"] * sum(lora_r * (i + o) for i, o in targets)
    return ParameterCounts(total=total, embedding=embedding, block_linear=block_linear, trainable_lora=lora)


def _weight_bytes(device: DeviceInfo, method: str) -> int:
    """Bytes per weight at the dtype the app loads the model in (core/device.weights_dtype).

    A full fine-tune on a GPU without bf16 keeps float32 master weights (4 bytes) and computes in float16.
    """
    return 4 if weights_dtype(device, method) == "float32" else 2


def _compute_bytes(device: DeviceInfo) -> int:
    """Bytes per activation: 16-bit on CUDA (bf16, or fp16 autocast), float32 on CPU and MPS."""
    return 2 if device.is_cuda else 4


def activation_bytes(
    model_config: dict, batch: int, length: int, dtype_bytes: int, checkpointing: bool, keeps_scores: bool = True
) -> int:
    """Activations kept for the backward pass, for ``batch`` rows of ``length`` tokens.

    Per token and layer a Llama block keeps about 12 x hidden (norms, q/k/v/o
    inputs and outputs, k/v repeated to every head, residuals) + 4 x intermediate
    (gate, up, activation, product) + 2 x heads x length (attention scores and
    probabilities, as PyTorch's CPU/"math" attention keeps them; on CUDA its
    flash / memory-efficient kernels keep none: ``keeps_scores=False``). The LM head
    adds three float32 copies of the logits (logits, log-probabilities and the
    logits' gradient: measured on the tiny model, tests/test_memory.py).
    With gradient checkpointing only each layer's input (hidden) is kept, plus
    one layer's activations while it is recomputed.
    """
    s = model_shape(model_config)
    tokens = batch * length
    per_layer_token = 12 * s["hidden"] + 4 * s["intermediate"] + 3 * s["kv_heads"] * s["head_dim"]
    scores = batch * s["heads"] * length * length * 2 * dtype_bytes if keeps_scores else 0
    per_layer = tokens * per_layer_token * dtype_bytes + scores
    if checkpointing:  # each layer's input, plus one layer recomputed at a time
        blocks = tokens * s["hidden"] * dtype_bytes * s["layers"] + per_layer
    else:
        blocks = per_layer * s["layers"]
    logits = tokens * s["vocab"] * 4 * 3
    return int(blocks + logits)


@dataclass
class MemoryEstimate:
    """Bytes per part, the total, and how it compares with the device."""

    parts: dict[str, int]
    available_bytes: int
    where: str  # "GPU memory" or "RAM"
    verdict: str  # "fits", "tight" or "won't fit"
    advice: str  # what to change when it is tight or won't fit, else why it fits
    changes: dict[str, Any] = field(default_factory=dict)  # settings that make it fit (empty when it fits)
    formula: str = ""
    ignores: str = ""

    @property
    def total_bytes(self) -> int:
        return sum(self.parts.values())

    @property
    def share(self) -> float:
        return self.total_bytes / self.available_bytes if self.available_bytes else math.inf


FORMULA = (
    "memory = weights + gradients + AdamW states (2 x float32 per trainable parameter) + activations "
    "(per layer and token ~12 x hidden + 4 x intermediate values, attention probabilities, and 3 float32 "
    "copies of the logits over the vocabulary), at batch x the longest row a batch can hold"
)
IGNORES = (
    "It ignores the PyTorch runtime itself, a CUDA context (~0.5 GB), allocator caching and fragmentation, "
    "kernels' scratch space and the data loader; the verdict keeps 30% of the memory free for them."
)


def memory_parts(
    model_config: dict, config: RunConfig, device: DeviceInfo, row_tokens: int | None = None
) -> dict[str, int]:
    """Bytes for weights, gradients, optimizer states and activations (see the module docstring).

    ``row_tokens`` is the longest row in the data when known: TRL pads each
    batch to its longest row, so shorter data needs less than ``max_length``.
    """
    counts = parameter_counts(model_config, config.lora_r, config.lora_target)
    dtype_bytes = _weight_bytes(device, config.method)
    if config.method == "qlora":
        other = counts.total - counts.block_linear
        weights = counts.block_linear * NF4_BYTES_PER_PARAM + other * 2
    else:
        weights = counts.total * dtype_bytes
    if dtype_bytes == 4 and device.is_cuda:
        weights += counts.block_linear * 2  # fp16 autocast caches a float16 copy of each linear weight per forward
    if config.method == "full":
        trainable, grad_bytes = counts.total, dtype_bytes
    else:
        trainable, grad_bytes = counts.trainable_lora, 4  # PEFT keeps adapter weights (and so grads) in float32
        weights += counts.trainable_lora * 4
    length = min(config.max_length, row_tokens) if row_tokens else config.max_length
    activations = activation_bytes(
        model_config,
        config.per_device_batch_size,
        length,
        _compute_bytes(device),
        config.gradient_checkpointing,
        keeps_scores=not device.is_cuda,
    )
    return {
        "weights": int(weights),
        "gradients": int(trainable * grad_bytes),
        "optimizer": int(trainable * 8),
        "activations": activations,
    }


def device_memory_bytes(device: DeviceInfo) -> tuple[int, str]:
    """Memory a run can use: the GPU's total memory, or the RAM available right now on a CPU."""
    if device.kind == "cpu":
        import psutil

        return int(psutil.virtual_memory().available), "RAM available now"
    return int(device.memory_gb * GB), "GPU memory" if device.is_cuda else "memory"


def _verdict(total: int, available: int) -> str:
    if total <= FITS_SHARE * available:
        return "fits"
    if total <= TIGHT_SHARE * available:
        return "tight"
    return "won't fit"


def estimate_memory(
    model_config: dict,
    config: RunConfig,
    device: DeviceInfo,
    available_bytes: int | None = None,
    row_tokens: int | None = None,
) -> MemoryEstimate:
    """Estimate the run's peak memory and say whether it fits; when not, the smallest change that makes it fit.

    The changes are tried in the order ``retry_settings_after_oom`` uses after a real out-of-memory
    error (LoRA instead of full, smaller per-device batch with more accumulation, gradient checkpointing,
    shorter max length), so the advice here and the retry button agree.
    """
    parts = memory_parts(model_config, config, device, row_tokens)
    if available_bytes is None:
        available_bytes, where = device_memory_bytes(device)
    else:
        where = "GPU memory" if device.is_cuda else "RAM"
    total = sum(parts.values())
    verdict = _verdict(total, available_bytes)
    estimate = MemoryEstimate(parts, available_bytes, where, verdict, "", {}, FORMULA, IGNORES)
    if verdict == "fits":
        estimate.advice = f"About {total / GB:.1f} GB of {available_bytes / GB:.0f} GB {where}: plenty of room."
        return estimate
    changes: dict[str, Any] = {}
    steps: list[str] = []
    candidate = config
    for _ in range(8):
        change, why = retry_settings_after_oom(candidate)
        if not change:
            break
        changes.update(change)
        steps.append(why)
        candidate = RunConfig.from_dict({**candidate.to_dict(), **change})
        if (
            _verdict(sum(memory_parts(model_config, candidate, device, row_tokens).values()), available_bytes)
            == "fits"
        ):
            break
    fixed = (
        _verdict(sum(memory_parts(model_config, candidate, device, row_tokens).values()), available_bytes) == "fits"
    )
    head = f"About {total / GB:.1f} GB of {available_bytes / GB:.0f} GB {where}. "
    if fixed:
        estimate.advice = head + "To make it fit: " + " Then: ".join(steps)
        estimate.changes = changes
    else:
        estimate.advice = head + "Even the smallest settings won't fit: pick a smaller model, or QLoRA on a GPU."
    return estimate


def describe_estimate(estimate: MemoryEstimate) -> list[tuple[str, float]]:
    """(part, GB) rows for display, biggest first."""
    return sorted(((name, size / GB) for name, size in estimate.parts.items()), key=lambda row: -row[1])


@dataclass(frozen=True)
class TimeEstimate:
    """Seconds for the whole run and how the figure was reached (None when there is no measured throughput)."""

    seconds: float | None
    seconds_per_step: float | None
    explanation: str


def estimate_time(
    model_config: dict,
    config: RunConfig,
    device: DeviceInfo,
    tokens_per_row: float,
    total_steps: int,
    measured: MeasuredThroughput | None = None,
) -> TimeEstimate:
    """time = tokens per step x steps / throughput.

    The throughput is, when there is one, the tokens/s a run of the same model
    and method measured on this machine (``measured``, from
    core/throughput.measured_throughput): the most honest figure there is.
    Otherwise it is the reference of sft-facts §6: SmolLM2-135M, batch 4 of
    short chats, 2-core CPU, ~2.2 s per step with LoRA (~2.5 s full), scaled
    by model size (compute grows with the parameter count) and by the number of
    CPU cores. No reference is claimed for GPUs: none was measured here.
    """
    tokens_per_step = config.effective_batch_size * max(tokens_per_row, 1.0)
    if measured is not None:
        throughput = measured.tokens_per_second
        seconds = tokens_per_step / throughput * total_steps
        return TimeEstimate(
            seconds,
            tokens_per_step / throughput,
            f"{tokens_per_step:,.0f} tokens per step x {total_steps:,} steps / {throughput:,.0f} tokens/s "
            f"= {_duration(seconds)}. Throughput measured on this machine by an earlier run of the same model and "
            f"method (median of {measured.steps} steps).",  # whose run it was is not this person's business
        )
    if device.kind != "cpu":
        return TimeEstimate(
            None,
            None,
            "No measured throughput for this GPU yet: the Train step shows the real speed after a few steps.",
        )
    method = "full" if config.method == "full" else "lora"
    reference_tokens = REFERENCE_BATCH * REFERENCE_TOKENS_PER_ROW
    throughput = reference_tokens / REFERENCE_SECONDS_PER_STEP[method]  # tokens/s for SmolLM2-135M on 2 cores
    params = parameter_counts(model_config, config.lora_r, config.lora_target).total
    throughput *= REFERENCE_PARAMS / params * min(device.cpu_count, 16) / REFERENCE_CORES
    per_step = tokens_per_step / throughput
    seconds = per_step * total_steps
    explanation = (
        f"{tokens_per_step:,.0f} tokens per step x {total_steps:,} steps / {throughput:,.0f} tokens/s "
        f"= {_duration(seconds)}. Reference throughput measured with this app (SmolLM2-135M, batch 4, 2-core CPU: "
        f"{REFERENCE_SECONDS_PER_STEP[method]} s per {method} step of ~{reference_tokens} tokens), scaled to this "
        f"model's size and {device.cpu_count} cores: no run of this model and method has been measured on this "
        "machine yet."
    )
    return TimeEstimate(seconds, per_step, explanation)


def _duration(seconds: float) -> str:
    """
    >>> _duration(42), _duration(150), _duration(7260)
    ('42 s', '2.5 min', '2.0 h')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


duration_text = _duration
