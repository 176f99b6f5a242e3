"""Training FLOPs per token and the tokens/s they allow on a GPU: model-FLOPs utilisation (MFU) on paper.

The formula (PaLM, Chowdhery et al. 2022, Appendix B "Model FLOPs utilization"):

    training FLOPs per token = 6 * N + 12 * L * H * Q * T

with N the parameters used in matrix multiplies, L layers, H attention heads,
Q the head dimension and T the sequence length. 6N is 2N for the forward pass
(one multiply and one add per weight) and 4N for the backward pass (2N for the
gradient of the activations, 2N for the gradient of the weights). The
attention term is QK^T and attention x V (2 * 2 * H * Q * T per token per layer
forward), times 3 for forward + backward. Like PaLM, it counts the full T x T
score matrix even though causal attention needs about half of it.

Here N counts every weight matrix a token goes through: the q/k/v/o projections
(with fewer k/v heads under grouped-query attention), the three SwiGLU MLP
matrices and the LM head (a real ``hidden x vocab`` matmul even when it shares
its weights with the input embedding). The embedding lookup is a gather, not a
matmul, and RMSNorm weights are negligible, so neither is counted.

LoRA: the base weights are frozen, so their weight gradients (2N) are never
computed; the forward (2N) and the activation gradients (2N) still are. Each
adapter ``B @ A`` with rank r on a ``d_in x d_out`` matrix has r * (d_in + d_out)
weights that get the full 6 FLOPs per weight. So LoRA costs
``4 * N + 6 * N_lora + 12 * L * H * Q * T``: about 2/3 of a full fine-tune's
compute, not the tiny fraction its trainable-parameter count suggests.

Gradient checkpointing recomputes the forward pass during backward: +2N (and
the attention forward) of hardware FLOPs, ~+33% for a full fine-tune. MFU
counts model FLOPs only, so at the same hardware utilisation the tokens/s
drop by the same factor.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from core.runs.store import RunFolder

# H100 SXM dense BF16 peak (NVIDIA H100 datasheet: 989.4 TFLOP/s without sparsity; sft-facts §5 "about 990").
H100_BF16_PEAK_FLOPS = 989e12
# End-to-end training MFU is typically ~30% (sft-facts §5); dense matmuls alone reach 72-77% of peak.
TYPICAL_MFU = 0.30


@dataclass(frozen=True)
class ModelShape:
    """The shape of a Llama-style decoder (grouped-query attention, SwiGLU MLP)."""

    name: str
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    head_dim: int | None = None
    """Per-head width; None means hidden // heads (the usual case)."""

    @property
    def q_dim(self) -> int:
        return self.heads * (self.head_dim or self.hidden // self.heads)

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * (self.head_dim or self.hidden // self.heads)

    def layer_matrices(self) -> dict[str, tuple[int, int]]:
        """(in, out) of every weight matrix in one decoder layer, by the module name PEFT targets."""
        d, i = self.hidden, self.intermediate
        return {
            "q_proj": (d, self.q_dim),
            "k_proj": (d, self.kv_dim),
            "v_proj": (d, self.kv_dim),
            "o_proj": (self.q_dim, d),
            "gate_proj": (d, i),
            "up_proj": (d, i),
            "down_proj": (i, d),
        }

    @property
    def matmul_params(self) -> int:
        """N: weights used in matrix multiplies per token (all layers plus the LM head)."""
        per_layer = sum(a * b for a, b in self.layer_matrices().values())
        return self.layers * per_layer + self.hidden * self.vocab

    @classmethod
    def from_config(cls, config: dict, name: str = "") -> ModelShape:
        """Read the shape from a Hugging Face ``config.json`` dict (Llama-style keys)."""
        return cls(
            name=name or config.get("_name_or_path", "") or config.get("model_type", "model"),
            layers=config["num_hidden_layers"],
            hidden=config["hidden_size"],
            intermediate=config["intermediate_size"],
            heads=config["num_attention_heads"],
            kv_heads=config.get("num_key_value_heads") or config["num_attention_heads"],
            vocab=config["vocab_size"],
            head_dim=config.get("head_dim"),
        )


# From the published config.json of HuggingFaceTB/SmolLM3-3B: num_hidden_layers 36, hidden_size 2048,
# intermediate_size 11008, num_attention_heads 16, num_key_value_heads 4, vocab_size 128256 (tied embeddings).
SMOLLM3_3B = ModelShape("SmolLM3-3B", layers=36, hidden=2048, intermediate=11008, heads=16, kv_heads=4, vocab=128256)
# From the published config.json of HuggingFaceTB/SmolLM2-1.7B(-Instruct): num_hidden_layers 24, hidden_size 2048,
# intermediate_size 8192, num_attention_heads 32, num_key_value_heads 32, vocab_size 49152 (tied embeddings).
SMOLLM2_1_7B = ModelShape(
    "SmolLM2-1.7B", layers=24, hidden=2048, intermediate=8192, heads=32, kv_heads=32, vocab=49152
)
# From the published config.json of HuggingFaceTB/SmolLM2-135M(-Instruct), the app's offline model.
SMOLLM2_135M = ModelShape("SmolLM2-135M", layers=30, hidden=576, intermediate=1536, heads=9, kv_heads=3, vocab=49152)

# The module names PEFT's "all-linear" picks in a Llama layer (it leaves the LM head out), and "attention".
LORA_TARGET_MODULES = {
    "all-linear": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    "attention": ("q_proj", "k_proj", "v_proj", "o_proj"),
}


def lora_params(shape: ModelShape, rank: int, target: str = "all-linear") -> int:
    """Trainable LoRA weights: r * (d_in + d_out) per adapted matrix, in every layer."""
    if target not in LORA_TARGET_MODULES:
        raise ValueError(f"LoRA target '{target}' is unknown: use one of {', '.join(LORA_TARGET_MODULES)}.")
    matrices = shape.layer_matrices()
    return shape.layers * sum(rank * sum(matrices[name]) for name in LORA_TARGET_MODULES[target])


def attention_flops_per_token(shape: ModelShape, seq_len: int) -> int:
    """12 * L * H * Q * T: attention scores and weighted values, forward and backward (PaLM, Appendix B)."""
    return 12 * shape.layers * shape.q_dim * seq_len


def training_flops_per_token(
    shape: ModelShape,
    seq_len: int,
    method: str = "full",
    lora_rank: int = 16,
    lora_target: str = "all-linear",
    recompute: bool = False,
) -> int:
    """Model FLOPs to train on one token (see the module docstring for the formula and its source).

    ``recompute=True`` adds the forward pass that gradient checkpointing runs
    again during backward: hardware FLOPs, not model FLOPs.
    """
    n = shape.matmul_params
    attention = attention_flops_per_token(shape, seq_len)
    if method == "full":
        flops = 6 * n + attention
        lora_forward = 0
    elif method in ("lora", "qlora"):
        n_lora = lora_params(shape, lora_rank, lora_target)
        flops = 4 * n + 6 * n_lora + attention
        lora_forward = 2 * n_lora
    else:
        raise ValueError(f"Method '{method}' is unknown: use 'full', 'lora' or 'qlora'.")
    if recompute:
        flops += 2 * n + lora_forward + attention // 3  # the forward pass again: matmuls and attention
    return flops


def tokens_per_second(
    flops_per_token: float, mfu: float = TYPICAL_MFU, peak_flops: float = H100_BF16_PEAK_FLOPS
) -> float:
    """Training tokens/s one GPU sustains at ``mfu`` of its peak."""
    if not (0 < mfu <= 1):
        raise ValueError(f"MFU {mfu!r} is not valid: use a fraction above 0 and at most 1, e.g. 0.3.")
    return mfu * peak_flops / flops_per_token


def hours_for_tokens(tokens: float, tokens_per_s: float) -> float:
    """Wall-clock hours to train on ``tokens`` at ``tokens_per_s``."""
    return tokens / tokens_per_s / 3600


@dataclass(frozen=True)
class MeasuredThroughput:
    """Training tokens/s measured by a run on this machine (its logged steps), for the time estimate."""

    tokens_per_second: float
    run_id: str
    steps: int
    """Logged step intervals the figure is the median of."""
    finished_at: float
    """Time of the run's last logged step (seconds since the epoch)."""


# The first logged step includes loading and the first forward pass's allocations: never count it.
WARMUP_INTERVALS = 1
MIN_INTERVALS = 3  # app's choice: fewer logged steps than this say too little about the speed


def run_throughput(metrics: list[dict]) -> tuple[float, int] | None:
    """Median tokens/s over the logged training steps after the first, and how many intervals it used.

    The median, not the mean: a step that also generated probe answers or ran an
    evaluation is slow for reasons the next run may not share, and the median
    ignores those few outliers.

    >>> rows = [{"step": s, "time": 10.0 * s, "num_tokens": 400 * s, "loss": 1.0} for s in range(1, 6)]
    >>> run_throughput(rows)
    (40.0, 3)
    """
    rows = [m for m in metrics if "loss" in m and "num_tokens" in m and "time" in m]
    rates = []
    for before, after in zip(rows[WARMUP_INTERVALS:], rows[WARMUP_INTERVALS + 1 :], strict=False):
        seconds, tokens = after["time"] - before["time"], after["num_tokens"] - before["num_tokens"]
        if after["step"] > before["step"] and seconds > 0 and tokens > 0:
            rates.append(tokens / seconds)
    if len(rates) < MIN_INTERVALS:
        return None
    rates.sort()
    middle = len(rates) // 2
    median = rates[middle] if len(rates) % 2 else (rates[middle - 1] + rates[middle]) / 2
    return median, len(rates)


def measured_throughput(runs_dir: str | Path, model_id: str, method: str) -> MeasuredThroughput | None:
    """The most recent run in ``runs_dir`` (finished or still running) of ``model_id`` with ``method``, or None.

    A QLoRA and a LoRA run differ in speed (4-bit base), so the method must match too.
    """
    best: MeasuredThroughput | None = None
    folder = Path(runs_dir)
    if not folder.is_dir():
        return None
    for run_dir in folder.iterdir():
        record = _run_record(run_dir)
        if record is None or record[:2] != (model_id, method) or record[2] is None:
            continue
        measured = record[2]
        if best is None or measured.finished_at > best.finished_at:
            best = measured
    return best


def _run_record(run_dir: Path) -> tuple[str | None, str, MeasuredThroughput | None] | None:
    """(model id, method, measured throughput) of a run folder; its files are read again only once they change.

    The fit check asks on every page load and every settings edit: reading every run's metrics each time
    cost ~2.5 ms of CPU per run of 300 steps, 0.1 s per page with 40 runs.
    """
    stamps = RunFolder(run_dir).stamps()
    return None if stamps[0] is None else _read_run_record(str(run_dir), stamps)


@functools.lru_cache(maxsize=1024)
def _read_run_record(run_dir: str, stamps: tuple) -> tuple[str | None, str, MeasuredThroughput | None] | None:
    folder = RunFolder(run_dir)
    config = folder.read_config()
    if not config:
        return None
    metrics = folder.read_rows("metrics").rows
    measured = run_throughput(metrics)
    found = None
    if measured is not None:
        finished = max(m.get("time", 0.0) for m in metrics)
        found = MeasuredThroughput(measured[0], folder.run_id, measured[1], finished)
    return config.get("model_id"), config.get("method", "lora"), found
