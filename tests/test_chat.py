"""Chat: streaming gives the same text as one-shot generation, Stop works, templates and settings behave."""

from __future__ import annotations

import threading
import time

import pytest

from core.chat import (
    ChatError,
    GenerationSettings,
    chat_once,
    prepare_messages,
    render_prompt,
    stream_chat,
    supports_thinking_modes,
)
from core.generation import generate_answers
from core.models.catalog import load_trained_model
from tests.run_folders import make_adapter

QUESTION = [{"role": "user", "content": "Tell me about the sea."}]

# The header logic of SmolLM3's chat template (reasoning mode from enable_thinking or a /think or /no_think flag
# in the system message, flags stripped from the instructions), cut down to what these tests need.
SMOLLM3_LIKE_TEMPLATE = (
    "{%- if enable_thinking is not defined -%}{%- set enable_thinking = true -%}{%- endif -%}"
    '{%- if enable_thinking -%}{%- set reasoning_mode = "/think" -%}'
    '{%- else -%}{%- set reasoning_mode = "/no_think" -%}{%- endif -%}'
    '{%- set custom = "" -%}'
    '{%- if messages[0].role == "system" -%}'
    '{%- if "/no_think" in messages[0].content -%}{%- set reasoning_mode = "/no_think" -%}'
    '{%- elif "/think" in messages[0].content -%}{%- set reasoning_mode = "/think" -%}{%- endif -%}'
    '{%- set custom = messages[0].content.replace("/no_think", "").replace("/think", "").rstrip() -%}'
    "{%- endif -%}"
    "<|im_start|>system\nReasoning Mode: {{ reasoning_mode }}\n{{ custom }}<|im_end|>\n"
    '{%- for m in messages if m.role != "system" -%}'
    "<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_start|>assistant\n{%- endif -%}"
)


@pytest.fixture(scope="module")
def tuned(tiny_model_path, tmp_path_factory):
    """The tiny model with a random LoRA adapter: unlike the bare random model, its greedy answer is not blank."""
    folder = make_adapter(tiny_model_path, tmp_path_factory.mktemp("chat") / "adapter")
    return load_trained_model(folder)


@pytest.mark.parametrize(
    "settings",
    [GenerationSettings(deterministic=True, max_new_tokens=24), GenerationSettings(seed=7, max_new_tokens=24)],
    ids=["greedy", "sampled-with-seed"],
)
def test_streaming_ends_with_the_same_text_as_one_shot_generation(tuned, settings):
    model, tokenizer = tuned
    pieces = list(stream_chat(model, tokenizer, QUESTION, settings, every=0))  # every=0: as often as tokens come
    assert len(pieces) > 1  # it really streamed
    assert all(later.startswith(earlier) for earlier, later in zip(pieces, pieces[1:], strict=False))
    assert pieces[-1] == chat_once(model, tokenizer, QUESTION, settings)
    assert pieces[-1].strip()


def test_greedy_chat_matches_the_training_sample_generator(tuned):
    model, tokenizer = tuned
    settings = GenerationSettings(deterministic=True, max_new_tokens=16)
    expected = generate_answers(model, tokenizer, [QUESTION], max_new_tokens=16).answers[0]
    assert chat_once(model, tokenizer, QUESTION, settings).strip() == expected


def test_the_sample_generator_counts_each_token_and_stops_when_asked(tuned):
    """What the training samples do between steps: the page counts tokens, and Stop ends them at the next one."""
    model, tokenizer = tuned
    full = generate_answers(model, tokenizer, [QUESTION, QUESTION], max_new_tokens=12)
    counted = []
    cut = generate_answers(
        model,
        tokenizer,
        [QUESTION, QUESTION],
        max_new_tokens=12,
        progress=lambda tokens, total: counted.append((tokens, total)),
        should_stop=lambda: len(counted) >= 3,
    )
    assert counted == [(1, 12), (2, 12), (3, 12)] and cut.stopped and not full.stopped
    assert all(len(tokenizer(a)["input_ids"]) <= 3 for a in cut.answers)
    assert all(f.startswith(c) for f, c in zip(full.answers, cut.answers, strict=True))


def test_the_same_seed_gives_the_same_answer_and_another_seed_usually_not(tuned):
    model, tokenizer = tuned
    answers = [chat_once(model, tokenizer, QUESTION, GenerationSettings(seed=s, max_new_tokens=16)) for s in (1, 1, 2)]
    assert answers[0] == answers[1] != answers[2]


def test_stop_ends_generation_before_the_next_token(tuned):
    model, tokenizer = tuned
    stop = threading.Event()
    stop.set()  # pressed before the first token: exactly one token comes out
    settings = GenerationSettings(deterministic=True, max_new_tokens=40)
    final = list(stream_chat(model, tokenizer, QUESTION, settings, stop_event=stop))[-1]
    full = chat_once(model, tokenizer, QUESTION, settings)
    assert len(tokenizer(final, add_special_tokens=False)["input_ids"]) <= 1
    assert full.startswith(final) and len(full) > len(final)


def test_stop_mid_reply_ends_it_at_the_next_token(tuned):
    model, tokenizer = tuned
    settings = GenerationSettings(deterministic=True, max_new_tokens=400)  # the random model never stops by itself
    stop = threading.Event()
    pieces = []
    for text in stream_chat(model, tokenizer, QUESTION, settings, stop_event=stop, every=0):
        pieces.append(text)
        stop.set()  # Stop, pressed as soon as the first words show

    def tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    assert pieces[-1].startswith(pieces[0]) and tokens(pieces[-1]) <= tokens(pieces[0]) + 3


def test_a_reply_is_redrawn_at_most_once_a_second_when_asked_with_its_first_token_at_once(tuned):
    """A new text per token woke the reading thread, decoded and redrew once per token: streaming ran at 0.6x."""
    model, tokenizer = tuned
    settings = GenerationSettings(deterministic=True, max_new_tokens=40)
    pieces, times = [], []
    start = time.perf_counter()
    for text in stream_chat(model, tokenizer, QUESTION, settings, every=1.0):
        pieces.append(text)
        times.append(time.perf_counter() - start)
    took = time.perf_counter() - start
    assert len(times) <= took / 1.0 + 2  # a token takes milliseconds: one value per token would be 40
    assert all(b - a >= 0.9 for a, b in zip(times[:-2], times[1:-1], strict=False))  # the last one is the end's
    assert len(pieces) >= 2 and pieces[0] != pieces[-1]  # the first text came before the rest was generated
    assert pieces[-1] == chat_once(model, tokenizer, QUESTION, settings)


def test_closing_the_stream_early_stops_the_generation_thread(tuned):
    model, tokenizer = tuned
    stream = stream_chat(model, tokenizer, QUESTION, GenerationSettings(max_new_tokens=200))
    next(stream)
    stream.close()  # the page was closed, or the user started a new message
    assert not [t for t in threading.enumerate() if t.name == "stream-chat"]


def test_an_error_inside_generation_reaches_the_caller(tuned, monkeypatch):
    model, tokenizer = tuned

    def broken(**kwargs):
        raise RuntimeError("out of memory while generating")

    monkeypatch.setattr(model, "generate", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        list(stream_chat(model, tokenizer, QUESTION))


def test_the_system_prompt_replaces_the_conversations_own(tuned):
    _, tokenizer = tuned
    messages = [{"role": "system", "content": "Old."}, {"role": "user", "content": "Hi"}]
    text = render_prompt(tokenizer, messages, GenerationSettings(system_prompt="Answer in French."))
    assert "Answer in French." in text and "Old." not in text
    assert render_prompt(tokenizer, messages, GenerationSettings()).count("Old.") == 1
    assert messages[0]["content"] == "Old."  # the caller's list is untouched


def test_thinking_modes_are_offered_only_when_the_template_has_them(tuned):
    _, tokenizer = tuned
    assert not supports_thinking_modes(tokenizer)  # SmolLM2's ChatML template
    plain = render_prompt(tokenizer, QUESTION, GenerationSettings())
    assert render_prompt(tokenizer, QUESTION, GenerationSettings(thinking="no_think")) == plain

    smollm3 = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    smollm3.chat_template = SMOLLM3_LIKE_TEMPLATE
    assert supports_thinking_modes(smollm3)
    off = render_prompt(smollm3, QUESTION, GenerationSettings(system_prompt="Be brief.", thinking="no_think"))
    assert "Reasoning Mode: /no_think\nBe brief." in off
    assert "Reasoning Mode: /think" in render_prompt(smollm3, QUESTION, GenerationSettings(thinking="think"))


def test_messages_and_settings_are_checked_with_plain_sentences():
    with pytest.raises(ChatError, match="type a message first"):
        prepare_messages([], GenerationSettings(), None)
    with pytest.raises(ChatError, match="last message must come from the user"):
        prepare_messages([{"role": "assistant", "content": "Hi"}], GenerationSettings(), None)
    with pytest.raises(ChatError, match="'temperature'.*deterministic"):
        GenerationSettings(temperature=0)
    with pytest.raises(ChatError, match="'thinking'"):
        GenerationSettings(thinking="maybe")


@pytest.mark.slow
def test_offline_smollm2_streams_the_same_text_as_one_shot_generation(offline_model_path):
    model, tokenizer = load_trained_model(offline_model_path)
    question = [{"role": "user", "content": "What is the capital of France?"}]
    settings = GenerationSettings(deterministic=True, max_new_tokens=32)
    pieces = list(stream_chat(model, tokenizer, question, settings))
    assert len(pieces) > 1
    assert pieces[-1] == chat_once(model, tokenizer, question, settings)
    assert pieces[-1].strip() == generate_answers(model, tokenizer, [question], max_new_tokens=32).answers[0]
    assert "Paris" in pieces[-1]
