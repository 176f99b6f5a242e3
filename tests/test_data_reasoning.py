"""Reasoning modes (core/data/reasoning.py): per row and per dataset, for each kind of thinking switch."""

from __future__ import annotations

import importlib.resources

from core.data.load import loaded_from_rows
from core.data.preview import prepare_like_trainer
from core.data.reasoning import NO_SWITCH, SYSTEM_FLAG, TEMPLATE_KWARG, reasoning_notes, row_mode, thinking_switch
from core.data.to_trl import ColumnMapping
from core.data.wizard import draft_dataset


def chat(answer: str, system: str | None = None, **extra) -> dict:
    turns = [{"role": "system", "content": system}] if system else []
    return {"messages": [*turns, {"role": "user", "content": "Q?"}, {"role": "assistant", "content": answer}], **extra}


def test_trls_qwen3_template_is_read_as_an_enable_thinking_switch():
    qwen3 = (importlib.resources.files("trl") / "chat_templates" / "qwen3.jinja").read_text()
    assert thinking_switch(qwen3) == TEMPLATE_KWARG


def test_a_trace_with_a_no_think_flag_is_a_conflict_under_a_system_flag_template():
    mode = row_mode(chat("<think>\nhmm\n</think>\nA.", system="Be brief. /no_think"), SYSTEM_FLAG)
    assert mode.conflict and mode.mode == "no thinking"
    notes = reasoning_notes([chat("<think>\nhmm\n</think>\nA.", system="/no_think")], "… /no_think …")
    assert notes[-1].startswith("1 rows ask for no thinking but their answer has a reasoning trace (rows 1)")


def test_plain_data_under_a_template_without_a_switch_gets_no_note():
    assert reasoning_notes([chat("A."), chat("B.")], "{% for m in messages %}{% endfor %}") == []
    assert row_mode(chat("<think>\nx\n</think>\nA."), NO_SWITCH).mode == "thinking, with a reasoning trace"


def test_a_per_row_enable_thinking_column_reaches_the_template_through_chat_template_kwargs(data_tokenizer):
    rows = [{"q": "Hi", "a": "Hello", "enable_thinking": False}, {"q": "2+2?", "a": "4"}]
    draft = draft_dataset(loaded_from_rows(rows, "typed rows"), "typed", mapping=ColumnMapping("q", "a"))
    kwargs = [row["chat_template_kwargs"] for row in draft.conversion.rows]
    assert kwargs == [{"enable_thinking": False}, {"enable_thinking": True}]
    assert row_mode(draft.conversion.rows[0], SYSTEM_FLAG).mode == "no thinking"
    assert draft.report.n_trained == 2
    # What the trainer renders (TRL's own preparation): the flag is there, row by row.
    template = (
        "{{ 'think:on ' if enable_thinking is not defined or enable_thinking else 'think:off ' }}"
        "{% for m in messages %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}>{% endif %}"
    )
    prepared = prepare_like_trainer(draft.conversion.rows, data_tokenizer, chat_template=template)
    texts = [data_tokenizer.decode(example["input_ids"]) for example in prepared]
    assert texts[0].startswith("think:off Hi") and texts[1].startswith("think:on 2+2?")
