"""The CPU loss path gives the same per-step numbers as TRL's own fused head."""

from __future__ import annotations

import pytest


def _train(trainer_cls, model_path, dataset, tmp_path, **overrides):
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig

    args = SFTConfig(
        output_dir=str(tmp_path / trainer_cls.__name__), per_device_train_batch_size=4, max_length=128, max_steps=4,
        learning_rate=1e-3, logging_steps=1, report_to="none", use_cpu=True, bf16=False,
        activation_checkpointing=False,
        save_strategy="no", disable_tqdm=True, seed=0, **overrides,
    )  # fmt: skip
    trainer = trainer_cls(
        model=str(model_path), args=args, train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(model_path),
        peft_config=LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"),
    )  # fmt: skip
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return [h for h in trainer.state.log_history if "loss" in h]


@pytest.mark.parametrize("rows_of", ["messages", "prompt_completion"])
def test_same_loss_and_metrics_as_trl(tmp_path, tiny_model_path, rows_of):
    from datasets import Dataset
    from trl import SFTTrainer

    from core.data.prepare import prepare_training_data
    from core.demo_data import generate_demo
    from core.runs.sft_trainer import CoachSFTTrainer

    if rows_of == "messages":  # the JSON demo as generated; the app trains it as prompt-completion
        rows = generate_demo("json_extraction", n_train=64, n_test=0)["train"]
    else:
        rows = prepare_training_data("word_problems").train_rows[:64]
    dataset = Dataset.from_list(rows)
    theirs = _train(SFTTrainer, tiny_model_path, dataset, tmp_path)
    ours = _train(CoachSFTTrainer, tiny_model_path, dataset, tmp_path)
    assert len(ours) == len(theirs) == 4
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine["loss"] == pytest.approx(reference["loss"], abs=1e-4)
        assert mine["grad_norm"] == pytest.approx(reference["grad_norm"], rel=1e-3)
        assert mine["entropy"] == pytest.approx(reference["entropy"], abs=1e-3)
        assert mine["mean_token_accuracy"] == pytest.approx(reference["mean_token_accuracy"], abs=1e-6)
        assert mine["num_tokens"] == reference["num_tokens"]


def test_gradient_accumulation_keeps_the_same_loss(tmp_path, tiny_model_path):
    from datasets import Dataset
    from trl import SFTTrainer

    from core.data.prepare import prepare_training_data
    from core.runs.sft_trainer import CoachSFTTrainer

    dataset = Dataset.from_list(prepare_training_data("json_extraction").train_rows[:64])
    theirs = _train(SFTTrainer, tiny_model_path, dataset, tmp_path, gradient_accumulation_steps=2)
    ours = _train(CoachSFTTrainer, tiny_model_path, dataset, tmp_path, gradient_accumulation_steps=2)
    assert [round(h["loss"], 4) for h in ours] == [round(h["loss"], 4) for h in theirs]


def test_heads_that_are_more_than_one_matmul_keep_trls_path(tmp_path, tiny_model_path):
    """A soft-capped or scaled head (Gemma 2, Granite, Cohere) is left to TRL's fused head, which applies it."""
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig

    from core.data.prepare import prepare_training_data
    from core.runs.sft_trainer import CoachSFTTrainer

    args = SFTConfig(output_dir=str(tmp_path), max_steps=1, report_to="none", use_cpu=True, bf16=False)
    trainer = CoachSFTTrainer(
        model=str(tiny_model_path), args=args,
        train_dataset=Dataset.from_list(prepare_training_data("json_extraction").train_rows[:8]),
        peft_config=LoraConfig(r=8, target_modules="all-linear", task_type="CAUSAL_LM"),
    )  # fmt: skip
    model = trainer.model
    backbone, lm_head = trainer._plain_head(model)
    assert lm_head is model.get_base_model().lm_head and backbone is model.get_base_model().model
    for field, value in [("final_logit_softcapping", 30.0), ("logits_scaling", 8.0), ("logit_scale", 0.0625)]:
        setattr(model.get_base_model().config, field, value)
        assert trainer._plain_head(model) is None, field
        setattr(model.get_base_model().config, field, None)
    trainer.args.loss_type = "dft"
    assert trainer._plain_head(model) is None
