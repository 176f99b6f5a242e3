"""Side by side uses identical settings; blind rounds are fair coins; votes persist and map back to models."""

from __future__ import annotations

import json
import math
import random
import threading

import pytest

from core.ab_test import ABRound, compare, new_round, record_vote, stream_compare, tally
from core.chat import GenerationSettings
from core.models.pool import ModelPool
from tests.run_folders import make_adapter

HELLO = [{"role": "user", "content": "Hello there"}]


@pytest.fixture(scope="module")
def adapter(tiny_model_path, tmp_path_factory):
    return str(make_adapter(tiny_model_path, tmp_path_factory.mktemp("ab") / "adapter"))


def test_side_by_side_generates_both_sides_with_identical_settings_and_seed(tiny_model_path, adapter):
    pool = ModelPool()
    result = compare(pool, str(tiny_model_path), adapter, HELLO, GenerationSettings(seed=None, max_new_tokens=8))
    assert result.settings.seed is not None  # one seed drawn for both sides
    assert result.used_a == result.used_b
    assert result.used_a["seed"] == result.settings.seed and result.used_a["do_sample"] is True
    assert result.answer_a != result.answer_b


def test_the_same_model_on_both_sides_gives_identical_answers_even_when_sampling(adapter):
    pool = ModelPool()
    result = compare(pool, adapter, adapter, HELLO, GenerationSettings(seed=None, max_new_tokens=12))
    assert result.answer_a == result.answer_b and result.answer_a.strip()


def test_streamed_side_by_side_ends_with_the_same_answers(tiny_model_path, adapter):
    pool = ModelPool()
    settings = GenerationSettings(seed=3, max_new_tokens=8)
    frames = list(stream_compare(pool, str(tiny_model_path), adapter, HELLO, settings))
    assert all(b == "" for _, b in frames[:1])  # A first, then B
    final = compare(pool, str(tiny_model_path), adapter, HELLO, settings)
    assert frames[-1] == (final.answer_a, final.answer_b)


def test_stop_during_side_by_side_skips_the_second_model(tiny_model_path, adapter):
    stop = threading.Event()
    stop.set()
    frames = list(stream_compare(ModelPool(), adapter, str(tiny_model_path), HELLO, GenerationSettings(), stop))
    assert frames and all(b == "" for _, b in frames)


def test_blind_order_is_a_fair_coin_over_many_rounds():
    draws = 4000
    rng = random.Random(12345)
    first_as_a = sum(new_round("Hi", "base", "tuned", rng).model_a == "base" for _ in range(draws))
    # Binomial(4000, 0.5): standard deviation ~31.6; five of them make a false alarm less likely than 1 in 10^6.
    assert abs(first_as_a - draws / 2) < 5 * math.sqrt(draws * 0.25)
    swapped = sum(new_round("Hi", "tuned", "base", rng).model_a == "base" for _ in range(draws))
    assert abs(swapped - draws / 2) < 5 * math.sqrt(draws * 0.25)
    system_coin = [new_round("Hi", "base", "tuned").model_a for _ in range(200)]
    assert set(system_coin) == {"base", "tuned"}


def test_votes_persist_across_a_restart_and_map_back_to_the_models(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shown = [ABRound("r1", "p", "base", "tuned"), ABRound("r2", "p", "tuned", "base")]
    shown.append(ABRound("r3", "p", "base", "tuned"))
    record_vote(run_dir, shown[0], "B", answers=("plain", "json"))  # tuned shown as B
    record_vote(run_dir, shown[1], "A")  # tuned shown as A
    record_vote(run_dir, shown[2], "tie")
    record_vote(run_dir, ABRound("r4", "p", "tuned", "base"), "both_bad")

    again = tally(run_dir)  # a fresh read, as after an app restart
    assert again.rounds == 4 and again.wins == {"base": 0, "tuned": 2}
    assert (again.ties, again.both_bad) == (1, 1)
    assert "fine-tuned won 2" in again.summary({"tuned": "fine-tuned", "base": "base model"})
    first = json.loads((run_dir / "votes.jsonl").read_text().splitlines()[0])
    assert first["winner"] == "tuned" and first["answer_b"] == "json"


def test_a_round_takes_one_vote_and_only_real_votes(tmp_path):
    round_ = ABRound("r1", "p", "base", "tuned")
    with pytest.raises(ValueError, match="not a vote"):
        record_vote(tmp_path, round_, "C")
    record_vote(tmp_path, round_, "A")
    with pytest.raises(ValueError, match="already has a vote"):
        record_vote(tmp_path, round_, "B")
    with pytest.raises(ValueError, match="two different models"):
        new_round("Hi", "base", "base")


def test_votes_from_many_threads_all_land_and_a_damaged_line_is_skipped(tmp_path):
    rounds = [ABRound(f"r{i}", "p", "base", "tuned") for i in range(40)]
    threads = [threading.Thread(target=record_vote, args=(tmp_path, r, "A")) for r in rounds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with (tmp_path / "votes.jsonl").open("a") as handle:
        handle.write('{"round_id": "cut", "vo')  # a crash mid-write
    result = tally(tmp_path)
    assert result.rounds == 40 and result.wins["base"] == 40 and result.skipped_lines == 1
