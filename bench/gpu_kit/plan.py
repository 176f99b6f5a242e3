"""What the GPU check runs: the training paths, and the sizes on a GPU and on a CPU (the same code, tiny sizes)."""

from __future__ import annotations

from dataclasses import dataclass

from core.throughput import SMOLLM2_1_7B, SMOLLM2_135M, ModelShape

# The tests' tiny random Llama (core/models/catalog.ensure_tiny_model): two layers, hidden size 64.
TINY = ModelShape("tiny-random-llama", layers=2, hidden=64, intermediate=128, heads=4, kv_heads=2, vocab=49152)
# measured / estimate inside this band passes: the fit verdict keeps 30% of the memory free (core/memory.FITS_SHARE),
# so an estimate up to 1/0.7 = 1.43x too low still never calls a run that can't fit "fits"; one 30% too high refuses
# runs that would fit.
MEMORY_TOLERANCE = (0.70, 1 / 0.70)
# H100 SXM and H200 share the same tensor cores: 989 TFLOP/s dense BF16 (NVIDIA's datasheets; core/throughput.py).
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12}


@dataclass(frozen=True)
class TrainPath:
    """One way the app trains: a method and the precision the worker computes in."""

    name: str
    method: str  # RunConfig.method
    precision: str  # "bf16", "fp16", "4-bit" (QLoRA) or "float32" (CPU)
    forced_fp16: bool = False
    """Run on a bf16 GPU as if it had none (a T4): the worker sees torch.cuda.is_bf16_supported() False."""


GPU_PATHS = (
    TrainPath("LoRA bf16", "lora", "bf16"),
    TrainPath("full bf16", "full", "bf16"),
    TrainPath("LoRA fp16 (as on a T4)", "lora", "fp16", forced_fp16=True),
    TrainPath("full fp16 (as on a T4)", "full", "fp16", forced_fp16=True),
    TrainPath("QLoRA 4-bit", "qlora", "4-bit"),
)
CPU_PATHS = (TrainPath("LoRA float32 (CPU)", "lora", "float32"),)
# Peak learning rates: LoRA the app's default (Quick demo); a full fine-tune moves every weight, so 10x lower.
LEARNING_RATES = {"lora": 1e-3, "qlora": 1e-3, "full": 1e-4}


@dataclass(frozen=True)
class MemoryCase:
    """One training configuration whose peak memory is measured against ``core.memory.estimate_memory``."""

    name: str
    model: str  # "path" or "speed": which of the kit's two models
    method: str
    max_length: int
    batch: int = 4
    gradient_checkpointing: bool = False


@dataclass(frozen=True)
class KitPlan:
    """The sizes of one check: the model each part trains, how long, on how many tokens."""

    sizes: str  # "gpu" (SmolLM2 shapes) or "tiny"
    path_shape: ModelShape
    path_steps: int
    path_max_length: int
    speed_shape: ModelShape
    speed_length: int
    speed_batch: int
    speed_steps: int
    memory_cases: tuple[MemoryCase, ...]
    chat_tokens: int
    chat_rounds: int
    memory_steps: int = 3


GPU_PLAN = KitPlan(
    sizes="gpu",
    path_shape=SMOLLM2_135M,
    path_steps=10,
    path_max_length=512,
    speed_shape=SMOLLM2_1_7B,
    speed_length=2048,
    speed_batch=4,
    speed_steps=12,
    memory_cases=(
        MemoryCase("SmolLM2-135M LoRA, 512 tokens", "path", "lora", 512),
        MemoryCase("SmolLM2-135M full, 512 tokens", "path", "full", 512),
        MemoryCase("SmolLM2-1.7B LoRA, 2048 tokens", "speed", "lora", 2048),
        MemoryCase("SmolLM2-1.7B full, 1024 tokens, checkpointing", "speed", "full", 1024, 4, True),
        MemoryCase("SmolLM2-1.7B QLoRA, 2048 tokens", "speed", "qlora", 2048),
    ),
    chat_tokens=128,
    chat_rounds=2,
)
# Tiny sizes keep the CPU run of the suite under a minute: plain TRL's tiled LM head costs ~1 s per 100 tokens on
# a CPU even for the tiny model (its vocabulary is SmolLM2's 49,152), so batches are small; 5 logged steps are the
# fewest a median tokens/s is taken from (core/throughput.py: one warm-up interval, then at least 3).
TINY_PLAN = KitPlan(
    sizes="tiny",
    path_shape=TINY,
    path_steps=4,
    path_max_length=128,
    speed_shape=TINY,
    speed_length=64,
    speed_batch=2,
    speed_steps=5,
    memory_cases=(
        # ~1,000 tokens a step at least: below that the CPU allocator's ~70 MB of its own outweighs the run
        # (bench/RESULTS.md, memory estimate)
        MemoryCase("tiny LoRA, 256 tokens", "path", "lora", 256),
        MemoryCase("tiny full, 256 tokens", "path", "full", 256),
        MemoryCase("tiny LoRA, 512 tokens", "path", "lora", 512, 2),
        MemoryCase("tiny QLoRA, 256 tokens", "path", "qlora", 256),
    ),
    chat_tokens=8,
    chat_rounds=1,
    memory_steps=2,
)


def peak_flops(device_name: str) -> float | None:
    """The GPU's dense BF16 peak from its name, or None when the kit does not know it (then no MFU)."""
    return next((flops for key, flops in PEAK_BF16_FLOPS.items() if key in device_name), None)
