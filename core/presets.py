"""Hyperparameter presets that explain themselves: every number comes with a one-line why and its source.

Each figure's public source is named in words (``core/sources.cite``) and
linked in the page; the comments name the section of the team's internal
notes each figure was checked against (never shown in the page).
Where two sources disagree, the advice shows both and says which one the
preset picked and why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from core.config import RunConfig
from core.device import DeviceInfo
from core.preset_advice import Advice, effective_batch_for, explain_settings, few_steps_warning, preset_effective_batch
from core.sources import cite

PRESET_NAMES = ("Quick demo", "Balanced", "Thorough")
# What each preset is for; its numbers come from the preset built for the data (core/preset_advice.preset_caption).
PRESET_SUMMARIES = {
    "Quick demo": "A few minutes on a laptop CPU with LoRA. Shows learning, not a finished model.",
    "Balanced": "The guides' middle of the road: batch size from your data size, 3 passes, LoRA r16.",
    "Thorough": "More capacity and more passes (LoRA r32, up to 5 passes), with early stopping on validation loss.",
}

# sft-facts §3, Learning rate: SmolLM3 SFT guide presets (full or LoRA fine-tune of SmolLM3).
SMOLLM3_LR = {"conservative": 5e-5, "balanced": 1e-4, "aggressive": 2e-4}
# sft-facts §3, Tinker formula: LR = lr_base * M_LoRA * (2000 / hidden_size) ** P.
TINKER_LR_BASE = 5e-5
TINKER_LORA_MULTIPLIER = 10
TINKER_EXPONENT = {"llama": 0.781, "qwen": 0.0775}
# sft-facts §3, Tinker cookbook get_lr table: best LoRA LR from one SFT sweep; full fine-tuning = LoRA LR / 10.
TINKER_TABLE = {
    "llama-3.2-1b": 1e-3,
    "llama-3.2-3b": 1e-3,
    "llama-3.1-8b": 3e-4,
    "qwen3-4b": 1e-3,
    "qwen3-8b": 1e-3,
    "qwen3-32b": 3e-4,
    "70b": 3e-4,
}
# sft-facts §3, Training Hub guide (full SFT of larger models; LoRA).
TRAINING_HUB_LR = {"full": "1e-6 to 5e-6", "lora": "1e-5, up to 1e-4 only if underfitting"}
# sft-facts §3, memory presets for per-device batch x accumulation: 2 x 8 limited, 4 x 4 balanced, 8 x 2 more memory.
PER_DEVICE_CHOICES = (8, 4, 2)
WARMUP_RATIO = 0.1  # sft-facts §3: warmup about 10% of total steps.
EVALS_PER_RUN = 10  # app's choice: ~10 validation points draw a readable validation curve.


@dataclass(frozen=True)
class LearningRateAdvice:
    """The learning rate to use, and every source's figure for comparison."""

    value: float
    reason: str
    family: str | None
    formula: str | None  # the Tinker formula with the numbers filled in
    formula_value: float | None
    table_value: float | None
    smollm3: dict[str, float]
    training_hub: str

    def comparison(self) -> str:
        lines = [f"SmolLM3 guide: conservative 5e-5, balanced 1e-4, aggressive 2e-4 ({cite('smol_course')})."]
        if self.formula:
            lines.append(f"Tinker formula: {self.formula} ({cite('tinker_lr')}).")
        if self.table_value:
            lines.append(f"Tinker cookbook table: {self.table_value:.0e} for this model ({cite('tinker_get_lr')}).")
        lines.append(f"Training Hub: {self.training_hub} ({cite('training_hub')}).")
        return "\n".join(lines)


def model_family(model_config: dict) -> str | None:
    """'llama', 'qwen' or None, from config.json's model_type and architectures.

    >>> model_family({"model_type": "llama"}), model_family({"model_type": "qwen3"}), model_family({})
    ('llama', 'qwen', None)
    """
    model_type = str(model_config.get("model_type", "")).lower()
    architectures = " ".join(model_config.get("architectures") or []).lower()
    if model_type == "llama" or "llamafor" in architectures:
        return "llama"
    if model_type.startswith("qwen") or "qwen" in architectures:
        return "qwen"
    return None


def _round2(value: float) -> float:
    """Two significant figures: 0.0012967 -> 0.0013."""
    return float(f"{value:.2g}")


def tinker_formula(hidden_size: int, family: str, method: str) -> tuple[float, str]:
    """The Tinker learning-rate formula (sft-facts §3), its value and the formula with the numbers filled in.

    >>> value, text = tinker_formula(576, "llama", "lora")
    >>> round(value, 6), text
    (0.001322, '5e-05 x 10 x (2000 / 576) ^ 0.781 = 1.3e-03')
    """
    multiplier = TINKER_LORA_MULTIPLIER if method != "full" else 1
    exponent = TINKER_EXPONENT[family]
    value = TINKER_LR_BASE * multiplier * (2000 / hidden_size) ** exponent
    return value, f"{TINKER_LR_BASE:g} x {multiplier} x (2000 / {hidden_size}) ^ {exponent:g} = {value:.1e}"


def tinker_table_value(model_id: str, method: str) -> float | None:
    """The Tinker cookbook's empirical LoRA LR for a known model (full fine-tuning: / 10), else None."""
    name = (model_id or "").lower()
    for key, lora_lr in TINKER_TABLE.items():
        if key in name:
            return lora_lr if method != "full" else lora_lr / 10
    return None


def recommend_learning_rate(model_config: dict, method: str, model_id: str = "") -> LearningRateAdvice:
    """One learning rate, with the reason, plus every source's figure for the comparison.

    Picks, in order: the Tinker cookbook table when it lists the model (an
    empirical sweep beats a fit); the Tinker formula for a Llama- or
    Qwen-family model (fitted on sweeps, < 0.5% regret); SmolLM3's balanced
    preset for SmolLM3 and any other model (conservative for a full fine-tune
    of an unknown model).
    """
    model_id = model_id or str(model_config.get("_name_or_path", ""))
    family = model_family(model_config)
    hidden = model_config.get("hidden_size") or (model_config.get("text_config") or {}).get("hidden_size")
    formula_value, formula = (None, None)
    if family and hidden:
        formula_value, formula = tinker_formula(int(hidden), family, method)
    table = tinker_table_value(model_id, method)
    hub = TRAINING_HUB_LR["full" if method == "full" else "lora"]
    kind = "a full fine-tune" if method == "full" else "LoRA"
    if table is not None:
        value = table
        reason = (
            f"The Tinker cookbook's sweep found {table:.0e} best for this model with {kind} "
            f"({cite('tinker_get_lr')}); "
            "a measured optimum beats a fitted formula."
        )
    elif formula_value is not None:
        value = _round2(formula_value)
        reason = (
            f"Tinker formula for a {family.title()}-family model with hidden size {hidden} and {kind}: "
            f"{formula} ({cite('tinker_lr')}). It adapts to the model's size; the SmolLM3 figures are for a 3B model "
            "and the Training Hub ones for larger models still."
        )
    else:
        value = SMOLLM3_LR["balanced"] if method != "full" else SMOLLM3_LR["conservative"]
        which = "balanced" if method != "full" else "conservative"
        reason = (
            f"No Tinker figure covers this model (not Llama or Qwen family), so the SmolLM3 guide's {which} "
            f"value {value:.0e} ({cite('smol_course')})."
        )
    return LearningRateAdvice(value, reason, family, formula, formula_value, table, dict(SMOLLM3_LR), hub)


@dataclass(frozen=True)
class BatchAdvice:
    per_device: int
    accumulation: int
    why: str

    @property
    def effective(self) -> int:
        return self.per_device * self.accumulation


def recommend_batch(
    n_rows: int,
    device: DeviceInfo,
    model_config: dict | None = None,
    method: str = "lora",
    max_length: int = 512,
    row_tokens: int | None = None,
    epochs: float | None = None,
) -> BatchAdvice:
    """Effective batch from the data size, split into per-device batch x accumulation that fits the device.

    With ``epochs``, the batch is made smaller where the data size's batch would train fewer than Tinker's
    minimum of steps over that many passes (``core/preset_advice.preset_effective_batch``).

    The split is the largest of the memory presets 8 x 2, 4 x 4, 2 x 8 (sft-facts §3)
    whose estimated memory fits; on a CPU at most 4 per device (the measured
    setting, sft-facts §6): a bigger batch is not faster on a few cores, it only
    needs more RAM.
    """
    from core.memory import estimate_memory

    effective, hub_range = effective_batch_for(n_rows)
    if epochs:
        effective = preset_effective_batch(n_rows, epochs)
    choices = [b for b in PER_DEVICE_CHOICES if device.is_cuda or b <= 4]
    per_device = choices[-1]
    for candidate in choices:
        if model_config is None:
            per_device = 4 if 4 in choices else candidate
            break
        config = RunConfig(method=method, per_device_batch_size=candidate, max_length=max_length)
        if estimate_memory(model_config, config, device, row_tokens=row_tokens).verdict == "fits":
            per_device = candidate
            break
    per_device = min(per_device, effective)
    accumulation = max(1, effective // per_device)
    why = (
        f"{n_rows:,} training rows -> effective batch {effective} (Training Hub: {hub_range} for this data size"
        f"{'; smaller, for at least 100 steps' if epochs and effective < effective_batch_for(n_rows)[0] else ''}; "
        f"{cite('training_hub')}), split {per_device} per step x {accumulation} accumulated so it fits "
        f"{device.describe()}."
    )
    return BatchAdvice(per_device, accumulation, why)


@dataclass(frozen=True)
class StepsAdvice:
    total: int
    steps_per_epoch: int
    epochs: float
    warmup: int
    eval_every: int
    warning: str


def recommend_steps(n_rows: int, effective_batch: int, epochs: float) -> StepsAdvice:
    """Optimizer steps for ``epochs`` passes, ~10% warmup, ~10 evaluations, and a warning under 100 steps.

    >>> advice = recommend_steps(1000, 128, 3)
    >>> advice.total, advice.warmup, advice.eval_every, "100" in advice.warning
    (24, 2, 2, True)
    """
    per_epoch = max(1, math.ceil(n_rows / effective_batch))
    total = max(1, math.ceil(per_epoch * epochs))
    warning = few_steps_warning(total, int(n_rows * epochs))
    return StepsAdvice(
        total=total,
        steps_per_epoch=per_epoch,
        epochs=epochs,
        warmup=max(1, round(total * WARMUP_RATIO)),
        eval_every=max(1, total // EVALS_PER_RUN),
        warning=warning,
    )


@dataclass
class DataProfile:
    """What the presets need to know about the training data."""

    n_rows: int
    p95: int | None = None
    p99: int | None = None
    mean_tokens: float | None = None
    max_tokens: int | None = None
    recommended_length: int | None = None
    length_reason: str = ""


@dataclass
class Preset:
    """A named preset built for one model, dataset and device, and what its numbers were worked out from."""

    name: str
    config: RunConfig
    data: DataProfile
    lr: LearningRateAdvice
    device: DeviceInfo
    epochs: float = 1.0
    """Passes over the data the preset aims at (the Quick demo counts steps instead)."""
    advice: list[Advice] = field(default_factory=list)
    """The cards for ``config``; core/preset_advice.explain_settings rewrites them for edited values."""
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.advice:
            self.advice, self.warnings = explain_settings(self, self.config)


def _cadence(config_values: dict, total: int, eval_every: int) -> None:
    config_values.update(
        max_steps=total,
        warmup_ratio=WARMUP_RATIO,
        eval_steps=eval_every,
        save_steps=eval_every,  # a checkpoint at every evaluation, so the best one can be kept
        sample_every=max(1, total // 5),  # app's choice: ~5 snapshots of the held-out answers per run
    )


def build_preset(
    name: str,
    *,
    model_config: dict,
    device: DeviceInfo,
    data: DataProfile,
    method: str = "lora",
    model_id: str = "",
    dataset: str = "json_extraction",
) -> Preset:
    """Build the named preset into a valid ``RunConfig`` with the advice behind each number."""
    if name not in PRESET_NAMES:
        raise ValueError(f"Unknown preset '{name}': pick one of {', '.join(PRESET_NAMES)}.")
    lr = recommend_learning_rate(model_config, method, model_id)
    base = {"model_id": model_id or RunConfig().model_id, "dataset": dataset, "method": method}
    if name == "Quick demo":
        return _quick_demo(base, lr, device, data)
    epochs = 3 if name == "Balanced" else 5
    length = data.recommended_length or RunConfig().max_length
    batch = recommend_batch(data.n_rows, device, model_config, method, length, data.max_tokens, epochs)
    steps = recommend_steps(data.n_rows, batch.effective, epochs)
    values = {
        **base,
        "learning_rate": lr.value,
        "per_device_batch_size": batch.per_device,
        "gradient_accumulation_steps": batch.accumulation,
        "max_length": length,
        "num_epochs": float(epochs),
    }
    _cadence(values, steps.total, steps.eval_every)
    if name == "Thorough":
        # sft-facts §3, LoRA: r = 16 to start; 32 or 64 if underfitting; alpha = 2 x r.
        # sft-facts §3, Steps: stop when validation loss stops improving.
        values.update(lora_r=32, lora_alpha=64, early_stopping_patience=3)
    config = _fit_memory(RunConfig(**values), model_config, device, data.max_tokens)
    return Preset(name, config, data, lr, device, float(epochs))


def _quick_demo(base: dict, lr: LearningRateAdvice, device: DeviceInfo, data: DataProfile) -> Preset:
    """The RunConfig defaults: tested to show learning in a few minutes on a 2-core CPU."""
    values = dict(base)
    if base["method"] == "full":
        # sft-facts §3, Tinker cookbook: full fine-tuning = LoRA LR / 10.
        values["learning_rate"] = RunConfig().learning_rate / 10
    return Preset("Quick demo", RunConfig(**values), data, lr, device)


def _fit_memory(config: RunConfig, model_config: dict, device: DeviceInfo, row_tokens: int | None) -> RunConfig:
    """Turn gradient checkpointing on only when the estimate says memory needs it (sft-facts §7: ~20% slower)."""
    from core.memory import estimate_memory

    if estimate_memory(model_config, config, device, row_tokens=row_tokens).verdict == "fits":
        return config
    with_checkpointing = RunConfig.from_dict({**config.to_dict(), "gradient_checkpointing": True})
    if estimate_memory(model_config, with_checkpointing, device, row_tokens=row_tokens).verdict != "won't fit":
        return with_checkpointing
    return config


def profile_dataset(dataset: str, tokenizer_path: str | Path | None, model_context: int | None = None) -> DataProfile:
    """Row count and token-length percentiles of the training rows, measured as the trainer will tokenize them."""
    from core.data.detect import row_format
    from core.data.prepare import prepare_training_data
    from core.data.stats import length_stats, measure_lengths, recommend_from_lengths

    prepared = prepare_training_data(dataset)
    profile = DataProfile(n_rows=len(prepared.train_rows))
    if tokenizer_path is None or not prepared.train_rows:
        return profile
    from core.ml_stack import import_transformers

    import_transformers()  # never race the warm-up thread's imports (core/ml_stack.py)
    from transformers import AutoTokenizer

    from core.models.catalog import remote_code_allowed

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path), trust_remote_code=remote_code_allowed())
    fmt = row_format(prepared.train_rows[0])
    lengths = measure_lengths(prepared.train_rows, fmt, tokenizer)
    stats = length_stats(lengths)
    profile.p95, profile.p99, profile.mean_tokens, profile.max_tokens = stats.p95, stats.p99, stats.mean, stats.max
    profile.recommended_length, profile.length_reason, _ = recommend_from_lengths(lengths, model_context)
    return profile
