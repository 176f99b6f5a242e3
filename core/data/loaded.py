"""A dataset as loaded, before any conversion: what every loader (file, folder, demo, Hub) returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LoadedData:
    """A dataset as loaded, before any conversion. Never modified after loading."""

    rows: Sequence[dict]
    """The examples: a list of dicts, or a ``datasets.Dataset`` (which also yields dicts)."""
    source: str
    """One line saying where the rows came from, e.g. "chat.jsonl (uploaded file)"."""
    columns: list[str]
    """Column names, in order of first appearance (over the first rows for large data)."""
    warnings: list[str] = field(default_factory=list)
    """Everything that was not loaded exactly as it is (skipped lines, unwrapped JSON...)."""
    line_numbers: Sequence[int] | None = None
    """File line of each row (1-based), when it differs from the row number; for messages."""
    validation_rows: Sequence[dict] | None = None
    """A validation split that came with the data (Hub split, demo test set, train/validation JSON)."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(line, reason) for every line of the file that was not loaded."""
    text_split: str = ""
    """How a plain-text file was cut into documents: "blocks" (blank lines) or "file" (one document); "" when the
    rows did not come from plain text (core/data/readers/text_files.py)."""

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def __deepcopy__(self, memo: dict) -> LoadedData:
        # Immutable by contract, so sharing is safe; gr.State deep-copies its value on every event (sft-facts §7),
        # which would otherwise copy a million rows per click.
        return self

    def row_label(self, index: int) -> str:
        """How to name row ``index`` (0-based) in a message: "row 12 (line 14)".

        >>> LoadedData([{}, {}], "x", [], line_numbers=[1, 3]).row_label(1)
        'row 2 (line 3)'
        """
        label = f"row {index + 1:,}"
        if self.line_numbers is not None and self.line_numbers[index] != index + 1:
            label += f" (line {self.line_numbers[index]:,})"
        return label
