"""What a ``RunConfig`` becomes for TRL: the ``trl.SFTConfig``, the ``peft.LoraConfig``, how the model loads.

``build_sft_config`` is the only function that builds a ``trl.SFTConfig``, so
a TRL upgrade touches one place; the run (``core/runs/train.py``), the recipe
export (``core/recipe.py``) and the memory benchmark all train from what it
returns. ``RunConfig`` validates its ``extra`` options against the tables here
(``core/config.py`` imports this module, never the other way round).
"""

from __future__ import annotations

import functools
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.device import DeviceInfo, attention_implementation, precision_flags, weights_dtype
from core.ml_stack import import_training_stack
from core.models.catalog import remote_code_allowed

if TYPE_CHECKING:  # for type hints only: core/config.py imports this module to validate RunConfig.extra
    from core.config import RunConfig

# Llama-style attention projections; "attention only" in sft-facts §3 (LoRA / QLoRA).
ATTENTION_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]

# How documents are packed (RunConfig.packing). TRL 1.16's default, "bfd", keeps documents apart but cuts each one
# at max_length and drops the rest (trl/data_utils.py _pack_bfd, on_seq_length_overflow="truncate"); "bfd_split"
# keeps every token but turns on padding-free batches, which TRL supports only with FlashAttention. "wrapped"
# joins the documents (each ends with EOS) and cuts them into blocks of max_length: every token is trained, plain
# attention masks work on any device, and it is the Training Hub guide's block_size (core/data/documents.py).
PACKING_STRATEGY = "wrapped"

# The trl.SFTConfig arguments build_sft_config sets from a RunConfig field; ``extra`` can't set them (SFTConfig
# would get the argument twice), and its error names the setting to change instead.
SFT_ARGUMENTS_FROM_SETTINGS = {
    "learning_rate": "learning_rate",
    "per_device_train_batch_size": "per_device_batch_size",
    "per_device_eval_batch_size": "per_device_batch_size",
    "gradient_accumulation_steps": "gradient_accumulation_steps",
    "max_length": "max_length",
    "packing": "packing",
    "packing_strategy": "packing",
    "max_steps": "max_steps",
    "num_train_epochs": "num_epochs",
    "warmup_steps": "warmup_ratio",
    "logging_steps": "logging_steps",
    "save_strategy": "save_steps",
    "save_steps": "save_steps",
    "eval_strategy": "eval_steps",
    "eval_steps": "eval_steps",
    "load_best_model_at_end": "early_stopping_patience",
    "metric_for_best_model": "early_stopping_patience",
    "greater_is_better": "early_stopping_patience",
    "seed": "seed",
    "data_seed": "seed",
    "activation_checkpointing": "gradient_checkpointing",
    "gradient_checkpointing": "gradient_checkpointing",  # not passed: the older name of activation_checkpointing
}
# The ones it decides itself for every run: where the run writes, what it logs to, precision, how the model loads
# (``trust_remote_code`` is the admin's switch, core/models.remote_code_allowed).
SFT_ARGUMENTS_FROM_THE_APP = frozenset(
    {
        "output_dir", "run_name", "lr_scheduler_type", "logging_first_step", "save_total_limit", "use_cpu",
        "dataloader_num_workers", "report_to", "project", "trackio_static_space_id", "disable_tqdm",
        "model_init_kwargs", "bf16", "fp16", "trust_remote_code",
    }
)  # fmt: skip


@functools.cache
def sft_argument_names() -> frozenset[str]:
    """The names ``trl.SFTConfig`` accepts (imports TRL: ~7 s the first time, so only when ``extra`` is used)."""
    import_training_stack()
    from trl import SFTConfig

    return frozenset(f.name for f in fields(SFTConfig) if f.init)


def build_lora_config(config: RunConfig):
    """The ``peft.LoraConfig`` for a LoRA/QLoRA run, or None for full fine-tuning."""
    if not config.uses_peft:
        return None
    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from peft import LoraConfig

    targets = "all-linear" if config.lora_target == "all-linear" else ATTENTION_MODULES
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )


def build_model_init_kwargs(config: RunConfig, device: DeviceInfo) -> dict[str, Any]:
    """How the trainer loads the base model: dtype, and 4-bit quantization for QLoRA on CUDA.

    The dtype is ``core.device.weights_dtype``: on a GPU without bf16 a full fine-tune keeps float32 master weights
    (fp16 autocast computes in float16), LoRA/QLoRA a float16 frozen base under float32 adapters.
    """
    config.check_device(device)
    # Untrusted weights: only safetensors (no pickle); code from the model's repository only if the admin allows it.
    kwargs: dict[str, Any] = {"use_safetensors": True, "trust_remote_code": remote_code_allowed()}
    kwargs["dtype"] = weights_dtype(device, config.method)
    if device.is_cuda:
        kwargs["attn_implementation"] = attention_implementation(device)  # sdpa, or FlashAttention 2 if installed
    if config.method == "qlora":
        import torch
        from transformers import BitsAndBytesConfig

        # 4-bit NF4 with double quantization, the QLoRA recipe; 4-bit and 8-bit are never both on (sft-facts §3).
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16 if device.bf16 else torch.float16,
        )
        kwargs["device_map"] = {"": 0}
    return kwargs


def build_sft_config(
    config: RunConfig,
    output_dir: str | Path,
    device: DeviceInfo,
    run_name: str = "sft-coach",
    has_eval: bool = True,
    project: str = "sft-coach",
):
    """Turn a ``RunConfig`` into a ``trl.SFTConfig``: the only place that does. ``project``: the trackio project
    the run logs to (the app gives each person their own, core/tracking.py)."""
    import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
    from trl import SFTConfig

    config.check_device(device)
    evaluate = has_eval and config.eval_steps > 0
    save_steps = config.save_steps or 500
    early_stopping = evaluate and config.early_stopping_patience > 0
    if early_stopping:
        save_steps = config.eval_steps  # the best model is chosen among saved checkpoints, so save at every eval
    return SFTConfig(
        output_dir=str(output_dir),
        run_name=run_name,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        max_length=config.max_length,  # with packing: the block size
        packing=config.packing,
        packing_strategy=PACKING_STRATEGY,
        max_steps=config.max_steps,
        num_train_epochs=config.num_epochs,
        warmup_steps=config.warmup_ratio,  # transformers 5: a float below 1 is a ratio of total steps
        lr_scheduler_type="cosine",
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if (config.save_steps or early_stopping) else "no",
        save_steps=save_steps,
        save_total_limit=3,
        eval_strategy="steps" if evaluate else "no",
        eval_steps=config.eval_steps or None,
        load_best_model_at_end=early_stopping,
        metric_for_best_model="eval_loss" if early_stopping else None,
        greater_is_better=False if early_stopping else None,
        seed=config.seed,
        data_seed=config.seed,
        activation_checkpointing=config.gradient_checkpointing,
        use_cpu=device.kind == "cpu",
        dataloader_num_workers=0,
        report_to=["trackio"],
        project=project,
        trackio_static_space_id=False,  # never deploy a dashboard Space from here
        disable_tqdm=True,
        model_init_kwargs=build_model_init_kwargs(config, device),
        **precision_flags(device),
        **config.extra,
    )
