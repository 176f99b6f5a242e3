"""The validation report: every problem by row, counts, what will be trained, and a downloadable copy.

Row numbers count from 1: row 1 is the first example (a CSV's header is not
a row). When the file line differs (skipped or blank lines, multi-line CSV
cells), the line is given too.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.data.stats import TokenLengths

ERROR = "error"  # the row is left out of training
WARNING = "warning"  # the row is trained, but the user should look at it

# code -> (title shown to the user, severity)
PROBLEM_KINDS = {
    "not_converted": ("could not be converted", ERROR),
    "has_media": ("brings images, audio or video (text models only)", ERROR),
    "marked_bad": ("marked not good by its label or score", ERROR),
    "missing_field": ("missing field", ERROR),
    "empty_field": ("empty text", ERROR),
    "wrong_type": ("wrong type (not text)", ERROR),
    "unknown_role": ("unknown role", ERROR),
    "no_assistant_turn": ("no assistant turn", ERROR),
    "template_rejects": ("the chat template rejects it", ERROR),
    "dropped_by_trainer": ("prompt fills the max length (the trainer drops it)", ERROR),
    "role_order": ("unusual role order", WARNING),
    "ends_with_prompt": ("ends without an answer", WARNING),
    "control_token": ("contains a special token as text", WARNING),
    "duplicate": ("duplicate", WARNING),
    "too_long": ("longer than the max length (truncated)", WARNING),
    "placeholder": ("template placeholder left in", WARNING),
    "no_user_turn": ("answer with no question before it", WARNING),
    "repetition": ("answer repeats itself", WARNING),
    "echo": ("answer is the prompt again", WARNING),
    "short_answer": ("very short answer for this dataset", WARNING),
}


@dataclass(frozen=True)
class Problem:
    """One problem in one row."""

    row: int
    """1-based row number."""
    code: str
    severity: str
    message: str
    field: str | None = None
    line: int | None = None
    """File line of the row, when it differs from the row number."""

    def where(self) -> str:
        """ "row 12" or "row 12 (line 14)".

        >>> Problem(12, "duplicate", "warning", "Same as row 3.", line=14).where()
        'row 12 (line 14)'
        """
        return f"row {self.row:,}" + (f" (line {self.line:,})" if self.line else "")


@dataclass
class ValidationReport:
    """Everything ``validate_rows`` found, and which rows will be trained."""

    n_rows: int
    trained: list[int]
    """0-based indices of the rows that will be trained, in order."""
    problems: list[Problem] = field(default_factory=list)
    max_length: int | None = None
    notes: list[str] = field(default_factory=list)
    """Dataset-level remarks (e.g. the length check was skipped because no tokenizer was given)."""
    lengths: TokenLengths | None = None
    """Token lengths measured on the way (with a tokenizer), for ``stats``; None without one."""

    @property
    def n_trained(self) -> int:
        return len(self.trained)

    @property
    def n_left_out(self) -> int:
        return self.n_rows - len(self.trained)

    def rows_with(self, severity: str | None = None) -> Counter:
        """How many rows have each problem code (a row counts once per code)."""
        seen = {(p.row, p.code) for p in self.problems if severity is None or p.severity == severity}
        return Counter(code for _, code in seen)

    def counts(self) -> dict[str, int]:
        """Rows affected per problem code, most frequent first."""
        return dict(self.rows_with().most_common())

    def examples(self, code: str | None = None, limit: int = 5) -> list[Problem]:
        """The first ``limit`` problems (of one code, or of any)."""
        return [p for p in self.problems if code is None or p.code == code][:limit]

    def sections(self, limit: int = 5) -> list[dict]:
        """One entry per problem code, errors first: title, severity, rows affected and the first examples."""
        counts = self.rows_with()
        order = sorted(counts, key=lambda c: (PROBLEM_KINDS[c][1] != ERROR, -counts[c]))
        return [
            {
                "code": code,
                "title": PROBLEM_KINDS[code][0],
                "severity": PROBLEM_KINDS[code][1],
                "rows": counts[code],
                "examples": [f"{p.where()}: {p.message}" for p in self.examples(code, limit)],
            }
            for code in order
        ]

    def summary(self) -> str:
        """Sentences for the user: how many rows will be trained and why the others were left out.

        >>> ValidationReport(3, [0, 2], [Problem(2, "no_assistant_turn", "error", "No answer.")]).summary()
        '2 of 3 rows will be trained. 1 is left out: no assistant turn (1). Row numbers count from 1.'
        """
        text = f"{self.n_trained:,} of {self.n_rows:,} rows will be trained."
        errors = self.rows_with(ERROR)
        if self.n_left_out:
            verb = "is" if self.n_left_out == 1 else "are"
            reasons = ", ".join(f"{PROBLEM_KINDS[c][0]} ({n:,})" for c, n in errors.most_common())
            text += f" {self.n_left_out:,} {verb} left out: {reasons}."
        warnings = self.rows_with(WARNING)
        if warnings:
            text += " Trained, but worth a look: " + ", ".join(
                f"{PROBLEM_KINDS[c][0]} ({n:,} row{'s' if n != 1 else ''})" for c, n in warnings.most_common()
            )
            text += "."
        if self.problems:
            text += " Row numbers count from 1."
        return text

    def trained_rows(self, rows: Sequence[dict | None]) -> list[dict]:
        """The rows that will be trained, taken from ``rows`` (the converted rows the report was made for)."""
        return [rows[i] for i in self.trained]

    def to_jsonl(self, path: str | Path) -> Path:
        """Write the full report: a summary line, then one line per problem."""
        path = Path(path)
        with path.open("w", encoding="utf-8") as handle:
            head = {
                "summary": self.summary(),
                "rows": self.n_rows,
                "trained": self.n_trained,
                "left_out": self.n_left_out,
                "problems_per_code": self.counts(),
                "row_numbers": "count from 1",
            }
            handle.write(json.dumps(head, ensure_ascii=False) + "\n")
            for problem in self.problems:
                handle.write(json.dumps(asdict(problem), ensure_ascii=False) + "\n")
        return path

    def to_csv(self, path: str | Path) -> Path:
        """Write one CSV line per problem (row, line, severity, code, problem, field, message)."""
        path = Path(path)
        with path.open("w", encoding="utf-8-sig", newline="") as handle:  # BOM: Excel opens it as UTF-8
            writer = csv.writer(handle)
            writer.writerow(["row", "line", "severity", "code", "problem", "field", "message"])
            for p in self.problems:
                writer.writerow(
                    [p.row, p.line or "", p.severity, p.code, PROBLEM_KINDS[p.code][0], p.field or "", p.message]
                )
        return path
