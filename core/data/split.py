"""Hold out a validation set: a seeded share of the rows (5% by default), or a validation split the data came with.

The validation loss is how the app spots overfitting (sft-facts §4), so the
held-out rows must not also be training rows: exact duplicates across the two
sets are counted and reported.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.data.errors import DataError
from core.data.to_trl import freeze

DEFAULT_VALIDATION_FRACTION = 0.05  # ~5% held out: enough rows for a stable loss, few taken from training
MIN_ROWS_TO_SPLIT = 20  # below this a held-out set is too small to say anything; train on everything


@dataclass
class Split:
    """Training and validation rows, and one sentence saying how they were chosen."""

    train: list[dict]
    validation: list[dict]
    description: str
    warnings: list[str] = field(default_factory=list)
    validation_indices: list[int] = field(default_factory=list)
    """0-based positions (in the rows given) of the rows held out, when they were split off here."""


def split_train_validation(
    rows: Sequence[dict],
    fraction: float = DEFAULT_VALIDATION_FRACTION,
    seed: int = 42,
    validation_rows: Sequence[dict] | None = None,
) -> Split:
    """Split ``rows`` into train and validation, or use ``validation_rows`` when given; same seed, same split.

    >>> split = split_train_validation([{"text": str(i)} for i in range(100)], seed=1)
    >>> len(split.train), len(split.validation)
    (95, 5)
    >>> split_train_validation([{"text": str(i)} for i in range(100)], seed=1).validation == split.validation
    True
    """
    if not 0 <= fraction < 0.5:
        raise DataError(f"The validation share must be between 0 and 0.5 (got {fraction}); 0.05 (5%) is typical.")
    rows = list(rows)
    if not rows:
        raise DataError("There are no rows to train on: every row was left out. See the validation report.")
    if validation_rows:
        split = Split(rows, list(validation_rows), f"Training on {len(rows):,} rows; using the provided "
                      f"validation split ({len(validation_rows):,} rows).")  # fmt: skip
    elif fraction == 0 or len(rows) < MIN_ROWS_TO_SPLIT:
        why = "no validation share was asked for" if fraction == 0 else f"fewer than {MIN_ROWS_TO_SPLIT} rows"
        return Split(
            rows,
            [],
            f"Training on all {len(rows):,} rows with no validation set ({why}), so overfitting can't be measured.",
        )
    else:
        order = list(range(len(rows)))
        random.Random(seed).shuffle(order)  # a local generator: no global random state moves
        held = set(order[: max(1, round(len(rows) * fraction))])
        split = Split(
            [row for i, row in enumerate(rows) if i not in held],
            [row for i, row in enumerate(rows) if i in held],
            f"Holding out {len(held):,} of {len(rows):,} rows ({fraction:.0%}, seed {seed}) for validation; "
            f"training on {len(rows) - len(held):,}.",
            validation_indices=sorted(held),
        )
    train_keys = {freeze(row) for row in split.train}
    leaked = sum(freeze(row) in train_keys for row in split.validation)
    if leaked:
        split.warnings.append(
            f"{leaked:,} validation rows also appear among the training rows (exact duplicates): the validation "
            "loss will look better than it is. Remove duplicates to measure it fairly."
        )
    return split
