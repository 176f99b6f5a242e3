"""The Try it step's pure helpers: who sees which models, the settings form, and escaping of model text."""

from __future__ import annotations

import pytest

from core.ab_test import ABRound, ABTally
from core.chat import ChatError
from core.evaluate import BeforeAfter
from core.models.refs import ModelRef
from ui.tryit_views import (
    chat_display,
    default_chat_ref,
    keep_or_default,
    render_answer,
    render_probe_table,
    render_reveal,
    render_scores,
    render_tally,
    run_id_of,
    settings_from_inputs,
)

BASE = ModelRef("base-model", "Base model: base-model", "base")
MINE = ModelRef("/runs/r1/final", "Run r1 · final", "final", "r1", 4)
MINE_CHECKPOINT = ModelRef("/runs/r1/checkpoints/checkpoint-2", "Run r1 · checkpoint", "checkpoint", "r1", 2)


def test_chat_opens_on_the_newest_result_and_knows_each_models_run():
    refs = [BASE, MINE, MINE_CHECKPOINT]  # one person's list (core/models/refs.py model_refs_for)
    assert default_chat_ref(refs) == MINE.ref  # chat opens on the newest fine-tuned result
    assert default_chat_ref([BASE]) == BASE.ref
    assert default_chat_ref([]) is None
    assert run_id_of(MINE_CHECKPOINT.ref, refs) == "r1"
    assert run_id_of(BASE.ref, refs) is None
    assert run_id_of("typed/hub-id", refs) is None


def test_a_refresh_keeps_what_the_user_picked_or_typed():
    assert keep_or_default(MINE.ref, BASE.ref) == MINE.ref
    assert keep_or_default("/my/model/folder", BASE.ref) == "/my/model/folder"
    assert keep_or_default(None, BASE.ref) == BASE.ref


def test_the_settings_form_becomes_generation_settings_or_a_clear_error():
    settings = settings_from_inputs("Be brief.", 0.7, 0.9, 128.0, 1.1, 7.0, False, "no_think")
    assert (settings.temperature, settings.top_p, settings.max_new_tokens, settings.seed) == (0.7, 0.9, 128, 7)
    assert settings.system_prompt == "Be brief." and settings.thinking == "no_think"
    assert settings_from_inputs("", 0.6, 0.95, 64, 1.0, None, False, "default").thinking is None
    with pytest.raises(ChatError, match="max_new_tokens"):
        settings_from_inputs("", 0.6, 0.95, 0, 1.0, 42, False, "default")


def test_model_and_user_text_is_escaped_everywhere_it_is_shown():
    evil = "<script>alert(1)</script><think>hm</think>"
    shown = chat_display([{"role": "user", "content": evil}, {"role": "assistant", "content": ""}])
    assert "<script>" not in shown[0]["content"] and "&lt;think&gt;" in shown[0]["content"]
    assert shown[1]["content"] == "<i>(empty answer)</i>"
    assert "<script>" not in render_answer("<b>model</b>", evil, "<i>note</i>")
    assert "&lt;b&gt;model" in render_answer("<b>model</b>", evil)
    table = render_probe_table([{"prompt": evil, "reference": "", "model <x>": evil}])
    assert "<script>" not in table and "model &lt;x&gt;" in table
    assert "(blank answer)" in render_probe_table([{"prompt": "Hi", "reference": "", "m": "\n\n  "}])
    round_ = ABRound("r", evil, "<a>", "<b>")
    assert "<script>" not in render_reveal(round_, "A", {}, "run<1>")
    assert "&lt;a&gt;" in render_reveal(round_, "tie", {}, None)


def test_the_reveal_and_the_tally_name_the_models():
    round_ = ABRound("r", "Hi", MINE.ref, BASE.ref)
    names = {MINE.ref: MINE.label, BASE.ref: BASE.label}
    reveal = render_reveal(round_, "B", names, "r1")
    assert "Your vote: B is better." in reveal
    assert f"<b>A</b> was {MINE.label}" in reveal and f"<b>B</b> was {BASE.label}" in reveal
    result = ABTally(rounds=1, wins={MINE.ref: 0, BASE.ref: 1})
    assert "1 blind round(s): Base model: base-model won 1" in render_tally("r1", result, names)
    assert "saved with the run" in render_tally(None, None, names)


def test_scores_show_before_and_after_per_metric():
    result = BeforeAfter(
        "task_scores", "json_extraction", 20, "base", "tuned", {"valid_json_rate": 0.15}, {"valid_json_rate": 0.9}
    )
    html = render_scores(result)
    assert "<td>Valid JSON</td><td>15%</td><td>90%</td>" in html
    assert "Valid JSON: 15% before, 90% after (better)." in html
    loss = BeforeAfter("validation_loss", "mine.jsonl", 64, "b", "t", {"loss": 2.5}, {"loss": 1.25})
    assert "<td>2.500</td><td>1.250</td>" in render_scores(loss)
    assert "press" in render_scores(None)
