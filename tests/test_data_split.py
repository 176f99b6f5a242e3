"""Train/validation split (core/data/split.py)."""

from __future__ import annotations

import pytest

from core.data.errors import DataError
from core.data.split import split_train_validation

ROWS = [{"text": f"row {i}"} for i in range(200)]


def test_default_holds_out_five_percent_with_a_seed():
    first = split_train_validation(ROWS, seed=7)
    assert (len(first.train), len(first.validation)) == (190, 10)
    assert split_train_validation(ROWS, seed=7).validation == first.validation
    assert split_train_validation(ROWS, seed=8).validation != first.validation
    assert sorted(first.train + first.validation, key=lambda r: int(r["text"][4:])) == ROWS  # nothing lost
    assert "Holding out 10 of 200 rows (5%, seed 7)" in first.description
    assert [ROWS[i] for i in first.validation_indices] == first.validation


def test_provided_validation_split_is_used_as_is():
    split = split_train_validation(ROWS, validation_rows=[{"text": "held out"}])
    assert split.train == ROWS and split.validation == [{"text": "held out"}]
    assert "provided validation split (1 rows)" in split.description


def test_small_data_trains_on_everything_and_says_why():
    split = split_train_validation(ROWS[:10])
    assert split.train == ROWS[:10] and split.validation == []
    assert "fewer than 20 rows" in split.description
    assert "no validation share" in split_train_validation(ROWS, fraction=0).description


def test_duplicates_across_train_and_validation_are_reported():
    split = split_train_validation(ROWS[:50] * 4, seed=1)
    assert split.warnings and "validation loss will look better" in split.warnings[0]


def test_bad_fraction_and_no_rows_are_explained():
    with pytest.raises(DataError, match="between 0 and 0.5"):
        split_train_validation(ROWS, fraction=0.7)
    with pytest.raises(DataError, match="no rows to train on"):
        split_train_validation([])
