"""The training preview (core/data/preview.py, templates.py) shows exactly what SFTTrainer trains on.

For each of TRL's four formats, rows built by the wizard's converters go into a
real ``trl.SFTTrainer`` with the tiny model: the preview's tokens and loss
flags equal the trainer's prepared labels and its collator's batch, and two
training steps run on them.
"""

from __future__ import annotations

import math

import pytest

from core.data.errors import DataError
from core.data.export import write_training_folder
from core.data.preview import (
    pad_eos_check,
    prepare_like_trainer,
    render_preview_html,
    render_training_preview,
)
from core.data.templates import (
    SMOLLM2_CHAT_TEMPLATE,
    SMOLLM2_TRAINING_TEMPLATE,
    assistant_only_loss_support,
    default_system_prompt,
    training_chat_template,
    write_chat_template,
)
from core.data.validate import validate_rows

FORMATS = ("text", "prompt_completion", "messages", "conversational_prompt_completion")


def _trainer(model_path, rows, tmp_path, **config):
    from datasets import Dataset
    from transformers import AutoTokenizer
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, report_to="none", max_steps=2,
        activation_checkpointing=False, per_device_train_batch_size=2, logging_steps=1, save_strategy="no",
        disable_tqdm=True, dataloader_num_workers=0, seed=0, **config,
    )  # fmt: skip
    trainer = SFTTrainer(
        model=str(model_path), args=args, train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(model_path),
    )  # fmt: skip
    trainer.remove_callback(PrinterCallback)
    return trainer


def _assert_preview_matches_trainer(preview, trainer):
    prepared = trainer.train_dataset
    assert len(prepared) == len(preview)
    for rendered, example in zip(preview, prepared, strict=True):
        assert rendered.token_ids == example["input_ids"]
        assert rendered.labels == example["labels"]
        assert [loss for _, loss in rendered.segments] == [label != -100 for label in example["labels"]]
    batch = trainer.data_collator([prepared[i] for i in range(min(4, len(prepared)))])
    for rendered, labels in zip(preview, batch["labels"].tolist(), strict=False):
        n = len(rendered.labels)
        assert labels[:n] == rendered.labels and set(labels[n:]) <= {-100}  # padding never carries loss


@pytest.mark.parametrize("fmt", FORMATS)
def test_preview_equals_trainer_labels_and_the_converted_rows_train(
    fmt, four_format_rows, tiny_model_path, data_tokenizer, tmp_path
):
    from core.data.prepare import prepare_training_data

    rows = four_format_rows[fmt]
    assert validate_rows(rows, fmt, tokenizer=data_tokenizer, max_length=1024).n_trained == len(rows)
    # The wizard hands training a folder: check the trainer gets back exactly these rows from it.
    folder = write_training_folder(rows, [], tmp_path / "data")
    assert prepare_training_data(str(folder)).train_rows == rows
    trainer = _trainer(tiny_model_path, rows, tmp_path)
    preview = render_training_preview(rows, data_tokenizer, n=len(rows))
    _assert_preview_matches_trainer(preview, trainer)
    for rendered in preview:
        assert rendered.checks[0].ok and "<|im_end|>" in rendered.checks[0].message  # EOS present and trained
        assert rendered.n_loss_tokens > 0
    trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert trainer.state.global_step == 2 and len(losses) == 2 and all(math.isfinite(x) for x in losses)


def test_truncated_and_dropped_rows_match_the_trainer(four_format_rows, tiny_model_path, data_tokenizer, tmp_path):
    rows = list(four_format_rows["conversational_prompt_completion"][:4])
    rows[1] = {**rows[1], "prompt": [{"role": "user", "content": "word " * 100}]}  # prompt longer than max_length
    rows[2] = {**rows[2], "completion": [{"role": "assistant", "content": "word " * 100}]}  # answer cut off
    trainer = _trainer(tiny_model_path, rows, tmp_path, max_length=64)
    preview = render_training_preview(rows, data_tokenizer, n=4, max_length=64)
    assert [r.dropped for r in preview] == [False, True, False, False]
    _assert_preview_matches_trainer([r for r in preview if not r.dropped], trainer)
    assert "drops this row" in preview[1].checks[0].message
    assert preview[2].checks[0].severity == "warning" and "Cut at the max length" in preview[2].checks[0].message


def test_assistant_only_loss_with_the_smollm2_training_template(tiny_model_path, data_tokenizer, tmp_path):
    rows = [
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Hi {i}"},
                      {"role": "assistant", "content": f"Hello {i}"}, {"role": "user", "content": "And?"},
                      {"role": "assistant", "content": "Bye."}]}
        for i in range(4)
    ]  # fmt: skip
    template_path = write_chat_template(SMOLLM2_TRAINING_TEMPLATE, tmp_path)
    trainer = _trainer(
        tiny_model_path, rows, tmp_path, assistant_only_loss=True, chat_template_path=str(template_path)
    )
    preview = render_training_preview(
        rows, data_tokenizer, n=4, assistant_only_loss=True, chat_template=SMOLLM2_TRAINING_TEMPLATE
    )
    _assert_preview_matches_trainer(preview, trainer)
    trained = [text for text, loss in preview[0].segments if loss]
    assert "".join(trained) == "Hello 0<|im_end|>Bye.<|im_end|>"  # only the answers and their end-of-turn
    assert any("system prompt is in the training text" in c.message for c in preview[0].checks)
    trainer.train()
    assert trainer.state.global_step == 2


def test_stock_smollm2_template_with_assistant_only_loss_is_caught_before_start(
    tiny_model_path, data_tokenizer, tmp_path
):
    rows = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}] * 2
    with pytest.raises(ValueError, match="not training-compatible"):
        _trainer(tiny_model_path, rows, tmp_path, assistant_only_loss=True)  # what Start would hit
    advice = assistant_only_loss_support(data_tokenizer)
    assert not advice.works_as_is and advice.training_template == SMOLLM2_TRAINING_TEMPLATE
    assert "generation" in advice.explanation and "prompt-completion" in advice.options[0]
    with pytest.raises(DataError, match="prompt-completion"):
        render_training_preview(rows, data_tokenizer, assistant_only_loss=True)
    with pytest.raises(DataError, match="needs conversational data"):
        prepare_like_trainer([{"text": "x"}], data_tokenizer, assistant_only_loss=True)


def test_training_template_renders_exactly_like_the_stock_one(data_tokenizer):
    assert data_tokenizer.chat_template == SMOLLM2_CHAT_TEMPLATE
    assert training_chat_template(data_tokenizer) == SMOLLM2_TRAINING_TEMPLATE
    user, answer, system = {"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}, {
        "role": "system", "content": "S."}  # fmt: skip
    conversations = [[user], [user, answer], [system, user, answer], [user, answer, user, answer], [system, user]]
    for conversation in conversations:
        for generation_prompt in (False, True):
            stock = data_tokenizer.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=generation_prompt
            )
            ours = data_tokenizer.apply_chat_template(
                conversation, tokenize=False, add_generation_prompt=generation_prompt,
                chat_template=SMOLLM2_TRAINING_TEMPLATE,
            )  # fmt: skip
            assert ours == stock


def test_checks_report_system_prompts_defaults_and_pad_eos(four_format_rows, data_tokenizer):
    rows = four_format_rows["messages"][:2]  # row 1 has a system prompt, row 2 doesn't
    preview = render_training_preview(rows, data_tokenizer, n=2)
    assert any(c.message == "The row's system prompt is in the training text." for c in preview[0].checks)
    assert any("adds its default one" in c.message and "SmolLM" in c.message for c in preview[1].checks)
    assert default_system_prompt(data_tokenizer).startswith("You are a helpful AI assistant named SmolLM")
    check = pad_eos_check(data_tokenizer)
    assert "same token ('<|im_end|>')" in check.message and check.severity == "info"


def test_html_escapes_user_text_and_marks_loss_tokens(data_tokenizer):
    rows = [{"prompt": [{"role": "user", "content": "<script>alert('x')</script> & \"quotes\""}],
             "completion": [{"role": "assistant", "content": "<b>bold</b>"}]}]  # fmt: skip
    preview = render_training_preview(rows, data_tokenizer, n=1)
    html = render_preview_html(preview, [pad_eos_check(data_tokenizer)])
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "&amp;" in html
    assert "&lt;|im_end|&gt;" in html  # special tokens are shown, escaped
    assert 'class="sft-loss"' in html and 'class="sft-context"' in html
    assert "Row 1 · " in html and "carry loss" in html
