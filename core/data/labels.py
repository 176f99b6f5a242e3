"""Rows marked good or bad: a true/false ``label`` (TRL's unpaired preference format, used by KTO) or a
numeric ``score`` / ``rating``.

SFT teaches every answer it is shown as a good one, so by default only the rows marked good are trained
and the others are left out with their reason; the person can choose to train every row. A ``label``
column that holds words ("positive", "sports") is a classification target, not a verdict on the answer,
and is never read as one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.data.detect import sample_indices
from core.data.errors import DataError

VERDICT_COLUMNS = ("label", "is_good", "good", "accepted", "preferred", "desirable")
SCORE_COLUMNS = ("score", "rating", "reward", "quality", "stars")
MARKED_BAD_CODE = "marked_bad"
"""The report's problem code for a row left out because its label or score marks it as not good."""
_TRUE = {"true", "yes", "good", "1", "accepted", "desirable"}
_FALSE = {"false", "no", "bad", "0", "rejected", "undesirable"}


def verdict(value: object) -> bool | None:
    """True/False for a value that says good or bad; None for anything else.

    >>> verdict(True), verdict(0), verdict("Bad"), verdict("positive"), verdict(None)
    (True, False, False, None, None)
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else None
    return None


def _number(value: object) -> float | None:
    """A score as a number: numbers, and text that is one (CSV cells); None otherwise.

    >>> _number(4), _number(" 3.5 "), _number("good"), _number(True)
    (4.0, 3.5, None, None)
    """
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class LabelRule:
    """Which column marks rows good or bad, and how."""

    column: str
    kind: str
    """"verdict" (true/false) or "score" (a number: good from ``threshold`` up)."""
    threshold: float | None = None
    good: int = 0
    """Rows marked good (counted on all rows)."""
    bad: int = 0
    unmarked: int = 0
    """Rows whose value says neither (missing, or not a verdict / number)."""

    def is_good(self, row: dict) -> bool | None:
        """Whether the row is marked good (None: it says neither)."""
        value = row.get(self.column) if isinstance(row, dict) else None
        if self.kind == "verdict":
            return verdict(value)
        number = _number(value)
        return None if number is None else number >= self.threshold

    def describe(self) -> str:
        """One sentence: what the column means and what is trained by default."""
        if self.kind == "verdict":
            marked = f"Column '{self.column}' marks each answer good (true) or bad (false), as in KTO data"
        else:
            marked = (
                f"Column '{self.column}' scores each answer; rows scoring {self.threshold:g} or more (the top "
                "third of the scores seen) count as good"
            )
        return (
            f"{marked}. SFT teaches every answer it is shown as a good one, so only the {self.good:,} rows marked "
            f"good are trained by default; {self.bad + self.unmarked:,} are left out. You can train every row instead."
        )

    def reason(self, row: dict) -> str:
        """Why a row this rule leaves out is left out."""
        value = row.get(self.column) if isinstance(row, dict) else None
        if self.is_good(row) is None:
            return f"Its '{self.column}' ({value!r}) says neither good nor bad, so it is left out with the bad ones."
        return (
            f"Marked not good ('{self.column}' = {value!r}): SFT would teach this answer as a good one. Choose to "
            "train every row to keep it."
        )

    def refuse(self, row: dict) -> None:
        """Raise the 'marked bad' error for a row that is not marked good."""
        if not self.is_good(row):
            raise DataError(self.reason(row), field=self.column, code=MARKED_BAD_CODE)


def find_label_rule(rows: Sequence[dict], columns: Sequence[str], used: Sequence[str] = ()) -> LabelRule | None:
    """The rule for the first verdict or score column that is not already used as a part of the example.

    A column counts when the values of a sample are all verdicts (or all numbers, for scores) and both
    good and bad occur. ``used``: columns the mapping reads (a ``label`` mapped as the answer is data).

    >>> rows = [{"prompt": "a", "completion": "b", "label": i % 3 != 0} for i in range(9)]
    >>> rule = find_label_rule(rows, ["prompt", "completion", "label"])
    >>> rule.kind, rule.good, rule.bad
    ('verdict', 6, 3)
    >>> find_label_rule([{"text": "x", "label": "positive"}] * 3, ["text", "label"]) is None
    True
    """
    by_lower = {str(c).lower(): c for c in columns if c not in used}
    sample = [rows[i] for i in sample_indices(len(rows), 500) if isinstance(rows[i], dict)]
    for name in VERDICT_COLUMNS:
        column = by_lower.get(name)
        if column is None:
            continue
        verdicts = [verdict(r.get(column)) for r in sample if r.get(column) is not None]
        if verdicts and None not in verdicts and len(set(verdicts)) == 2:
            return _counted(LabelRule(column, "verdict"), rows)
    for name in SCORE_COLUMNS:
        column = by_lower.get(name)
        if column is None:
            continue
        numbers = [_number(r.get(column)) for r in sample if r.get(column) is not None]
        if numbers and None not in numbers and len(set(numbers)) > 1:
            low, high = min(numbers), max(numbers)
            threshold = low + (high - low) * 2 / 3
            if all(n == int(n) for n in numbers):
                threshold = math.ceil(threshold)  # whole-number scales: 1-5 -> 4 and up, 0-10 -> 7 and up
            return _counted(LabelRule(column, "score", threshold), rows)
    return None


def _counted(rule: LabelRule, rows: Sequence[dict]) -> LabelRule:
    good = bad = unmarked = 0
    for row in rows:
        marked = rule.is_good(row)
        good, bad, unmarked = good + (marked is True), bad + (marked is False), unmarked + (marked is None)
    return LabelRule(rule.column, rule.kind, rule.threshold, good, bad, unmarked)
