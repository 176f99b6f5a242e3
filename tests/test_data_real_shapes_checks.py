"""Content checks and reasoning modes on small corpora shaped like real data (tests/data/real_shapes/), through
the two functions the Data step calls: ``draft_dataset`` and ``check_dataset`` with the offline tokenizer."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from core.data.load import load_path
from core.data.preview import render_training_preview
from core.data.stats import length_stats, recommend_max_length
from core.data.wizard import cached_tokenizer, check_dataset, draft_dataset
from core.models.catalog import OFFLINE_MODEL_ID

SHAPES = Path(__file__).parent / "data" / "real_shapes"

# A SmolLM3-style template written for this test: the switch as SmolLM3-3B's own template has it
# (enable_thinking defaults to true, /no_think or /think in the system prompt wins, no-thinking answers
# get an empty think block), without its metadata header and tools.
SMOLLM3_LIKE = (
    "{%- set thinking = enable_thinking if enable_thinking is defined else true -%}"
    '{%- set system = messages[0].content if messages[0].role == "system" else "" -%}'
    '{%- if "/no_think" in system %}{% set thinking = false %}{% elif "/think" in system %}{% set thinking = true %}'
    "{% endif -%}"
    '{{- "<|im_start|>system\\nReasoning Mode: " + ("/think" if thinking else "/no_think") + "\\n" + system + '
    '"<|im_end|>\\n" -}}'
    '{%- for message in messages if message.role != "system" -%}'
    '{%- if message.role == "assistant" -%}{{- "<|im_start|>assistant\\n" + ("" if thinking else '
    '"<think>\\n\\n</think>\\n") + message.content + "<|im_end|>\\n" -}}'
    '{%- else -%}{{- "<|im_start|>" + message.role + "\\n" + message.content + "<|im_end|>\\n" -}}{%- endif -%}'
    "{%- endfor -%}"
    '{%- if add_generation_prompt %}{{- "<|im_start|>assistant\\n" + ("" if thinking else '
    '"<think>\\n\\n</think>\\n") -}}{% endif -%}'
)


@pytest.fixture(scope="module")
def tokenizer(offline_model_path):
    return cached_tokenizer(OFFLINE_MODEL_ID)


def with_template(tokenizer, template: str):
    other = copy.copy(tokenizer)  # never change the cached tokenizer
    other.chat_template = template
    return other


def load(name: str):
    return draft_dataset(load_path(SHAPES / name), name)


def messages_of(report, code: str) -> dict[int, str]:
    return {p.row: p.message for p in report.problems if p.code == code}


def test_placeholders_are_flagged_by_row_and_braces_in_code_json_or_latex_are_not(tokenizer):
    draft = load("placeholders.jsonl")
    assert draft.source_format == "messages"
    check = check_dataset(draft, tokenizer, model_id=OFFLINE_MODEL_ID)
    report = check.report
    assert (report.n_trained, report.n_left_out) == (10, 0)
    found = messages_of(report, "placeholder")
    assert sorted(found) == [2, 5, 8]  # rows 3, 4, 6, 7, 9, 10: JSON, f-string code, LaTeX, `Jinja`, a link, a dict
    assert found[2].startswith("The assistant turn contains '{{name}}', a template placeholder that was never filled")
    assert "'{{ author }}'" in found[5] and found[5].startswith("The user turn")
    assert "'[INSERT COMPANY NAME]'" in found[8]
    assert report.summary() == (
        "10 of 10 rows will be trained. Trained, but worth a look: template placeholder left in (3 rows). "
        "Row numbers count from 1."
    )


def test_a_looping_answer_is_flagged_and_no_longer_sets_the_max_length(tokenizer):
    draft = load("repetition.jsonl")
    check = check_dataset(draft, tokenizer, model_id=OFFLINE_MODEL_ID)
    loops = messages_of(check.report, "repetition")
    assert list(loops) == [7]
    assert loops[7].startswith("The answer repeats itself: 'I would be happy to help you with that.' comes back 400")
    # Before: in 13 rows the 95th percentile row *is* the loop, and the recommendation jumped to 4096.
    assert recommend_max_length(length_stats(check.lengths))[0] == 4096
    assert check.length_outliers == [6]
    assert check.recommended_max_length == check.max_length == 512
    assert "Not counted: 1 row is far longer than the rest (row 7, " in check.recommendation_reason
    assert "is truncated there" in check.recommendation_reason
    # The loop is trained (warnings never leave a row out), cut at 512 tokens like any long row.
    assert (check.report.n_trained, check.report.n_left_out) == (13, 0)
    assert list(messages_of(check.report, "too_long")) == [7]


def test_answers_with_no_user_turn_before_them_are_trained_with_a_warning(tokenizer):
    draft = load("no_user_turn.jsonl")
    assert draft.target_format == "messages"
    check = check_dataset(draft, tokenizer, model_id=OFFLINE_MODEL_ID)
    report = check.report
    assert sorted(messages_of(report, "no_user_turn")) == [2, 4, 5]
    assert messages_of(report, "no_user_turn")[2].startswith("The first answer has no user turn before it")
    assert (report.n_trained, report.n_left_out) == (6, 1)
    assert report.summary().startswith(
        "6 of 7 rows will be trained. 1 is left out: no assistant turn (1). Trained, but worth a look: answer with "
        "no question before it (3 rows)."
    )


def test_mixed_reasoning_modes_are_explained_for_the_offline_model_and_for_templates_with_a_switch(tokenizer):
    draft = load("reasoning_mixed.jsonl")
    offline = check_dataset(draft, tokenizer, model_id=OFFLINE_MODEL_ID)
    assert (offline.report.n_trained, offline.report.n_left_out) == (8, 0)
    assert offline.report.notes[0] == "4 rows train with a reasoning trace, 4 without."
    assert offline.report.notes[1].startswith(
        "Mixed reasoning modes. This model's chat template has no thinking switch: a <think>…</think> trace is "
        "trained as plain answer text"
    )

    smollm3 = with_template(tokenizer, SMOLLM3_LIKE)
    check = check_dataset(draft, smollm3, model_id="smollm3-like")
    assert check.report.notes[0] == "4 rows train with a reasoning trace, 4 without."
    assert check.report.notes[1].startswith(
        "Mixed reasoning modes: 2 of them have no /no_think flag, so a SmolLM3-style template renders them in "
        "thinking mode with no trace"
    )
    assert "(rows 5, 6;" in check.report.notes[1]
    rendered = render_training_preview(check.trained_rows(), smollm3, n=8, row_numbers=check.trained_row_numbers())
    modes = {r.row: next(c.message for c in r.checks if c.message.startswith("Reasoning:")) for r in rendered}
    assert modes[1].startswith("Reasoning: thinking, with a reasoning trace.")
    assert modes[5].startswith("Reasoning: thinking mode, no trace.")
    assert modes[7].startswith("Reasoning: no thinking. No-thinking mode (/no_think)")
    assert "Reasoning Mode: /no_think" in rendered[6].text and "<think>\n\n</think>\nChat." in rendered[6].text


def test_one_word_labels_are_not_flagged_but_one_stub_among_full_answers_is(tokenizer):
    labels = load("short_labels.jsonl")
    assert labels.source_format == "alpaca"
    check = check_dataset(labels, tokenizer, model_id=OFFLINE_MODEL_ID)
    assert (check.report.n_trained, check.report.n_left_out) == (30, 0)
    assert check.report.problems == []  # every answer is one word: that is what this dataset is

    qa = load("short_answers.jsonl")
    assert qa.source_format == "raw_columns" and qa.mapping.completion == "answer"
    check = check_dataset(qa, tokenizer, model_id=OFFLINE_MODEL_ID)
    assert (check.report.n_trained, check.report.n_left_out) == (13, 0)
    assert messages_of(check.report, "short_answer") == {
        9: "The answer is only 'ok', while half of this dataset's answers have 56 characters or more: a stub or a "
        "truncated answer? Write the full answer or leave the row out."
    }
