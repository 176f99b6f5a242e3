"""Token-length statistics (core/data/stats.py): lengths match what the trainer builds; advice and histogram."""

from __future__ import annotations

import pytest

from core.data.preview import prepare_like_trainer
from core.data.stats import (
    LengthStats,
    length_stats,
    measure_lengths,
    model_context_length,
    recommend_max_length,
    truncation_summary,
)

FORMATS = ("text", "prompt_completion", "messages", "conversational_prompt_completion")


@pytest.mark.parametrize("fmt", FORMATS)
def test_measured_lengths_equal_the_trainers_token_counts(fmt, four_format_rows, data_tokenizer):
    rows = four_format_rows[fmt]
    measured = measure_lengths(rows, fmt, data_tokenizer, batch_size=3)
    prepared = prepare_like_trainer(rows, data_tokenizer, max_length=None)
    assert measured.lengths == [len(example["input_ids"]) for example in prepared]
    if fmt in ("prompt_completion", "conversational_prompt_completion"):
        first_trained = [
            example["labels"].index(next(x for x in example["labels"] if x != -100)) for example in prepared
        ]
        assert measured.prompt_lengths == first_trained


def test_rows_left_out_earlier_are_not_measured(four_format_rows, data_tokenizer):
    rows = [None, *four_format_rows["messages"][:2], None]
    assert [n is None for n in measure_lengths(rows, "messages", data_tokenizer).lengths] == [True, False, False, True]


def test_percentiles():
    stats = length_stats([None, *range(1, 1001)])
    assert (stats.n, stats.p50, stats.p95, stats.p99, stats.max) == (1000, 500, 950, 990, 1000)
    assert length_stats([]).n == 0


@pytest.mark.parametrize(
    "p95, p99, model_max, expected",
    [(100, 200, None, 512), (600, 700, None, 1024), (1500, 3000, None, 2048), (9000, 9000, None, 4096),
     (3000, 3000, 2048, 2048)],
)  # fmt: skip
def test_recommended_max_length_rounds_p95_up_and_respects_the_model(p95, p99, model_max, expected):
    value, reason = recommend_max_length(LengthStats(100, 50, p95, p99, p99, 60.0), model_max_length=model_max)
    assert value == expected and f"{p95:,} tokens" in reason
    if model_max:
        assert "capped" in reason
    assert recommend_max_length(LengthStats(100, 50, 600, 1500, 1500, 60.0), percentile=99)[0] == 2048


def test_truncation_summary_matches_what_trl_does(four_format_rows, data_tokenizer):
    rows = list(four_format_rows["conversational_prompt_completion"][:4])
    rows[1] = {**rows[1], "prompt": [{"role": "user", "content": "word " * 300}]}  # the prompt alone is too long
    lengths = measure_lengths(rows, "conversational_prompt_completion", data_tokenizer)
    max_length = 128
    summary = truncation_summary(lengths, max_length)
    kept = prepare_like_trainer(rows, data_tokenizer, max_length=max_length)
    assert summary.n_truncated == 1 and summary.n_dropped == 1
    assert len(kept) == len(rows) - summary.n_dropped  # TRL really drops it
    assert summary.message.startswith("1 rows (25.0%) exceed 128 tokens and will be truncated.")
    assert "keep_start" in summary.message and "dropped from training" in summary.message
    assert "nothing will be truncated" in truncation_summary(lengths, 4096).message


def test_model_context_length_reads_the_config(tiny_model_path):
    assert model_context_length(str(tiny_model_path)) == 2048
    assert model_context_length("/nonexistent/folder") is None
