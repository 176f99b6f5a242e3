"""Read one file format into rows (dicts), reporting every line it could not read.

Policy for broken lines (JSONL, CSV): the good lines load and every skipped
line is reported with its line number and reason (``ReadResult.skipped``),
so nothing disappears silently. When no line is readable, or more lines are
broken than readable, the file is refused instead: it is probably not the
format its name says.

Readers take the display ``name`` of the file (an upload keeps its original
name there) so that messages name what the user picked, not a temp path.

- ``core/data/readers/json_files.py``: JSON Lines and JSON documents.
- ``core/data/readers/csv_files.py``: CSV and TSV files with a header row.
- here: what every reader returns (``ReadResult``), the broken-lines policy, and the checks on raw bytes.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from core.data.errors import DataError

UTF8_BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 64 * 1024
# Magic numbers of files people upload by mistake under a text name.
_MAGIC = [
    (b"PAR1", "a Parquet file"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx file is one, too)"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3", "an SQLite database"),
]


@dataclass
class ReadResult:
    """Rows read from one file, with what was skipped and why."""

    rows: list[dict]
    line_numbers: array | None = None
    """File line (1-based) where each row starts; None when rows are items of one JSON document."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(line or item number, reason) for every line that was not loaded."""
    warnings: list[str] = field(default_factory=list)
    validation_rows: list[dict] | None = None
    """Rows of a validation split found in the same file (a JSON object with train/validation lists)."""


def describe_skipped(skipped: list[tuple[int, str]], unit: str = "line", limit: int = 5) -> str:
    """List the first few skipped lines for a message.

    >>> describe_skipped([(3, "not valid JSON"), (9, "empty")], limit=1)
    'line 3 (not valid JSON) and 1 more'
    """
    shown = ", ".join(f"{unit} {number} ({reason})" for number, reason in skipped[:limit])
    more = len(skipped) - limit
    return shown + (f" and {more:,} more" if more > 0 else "")


def sniff_binary(head: bytes, name: str) -> str | None:
    """Why ``head`` (the first bytes of a file) is not text, or None when it looks like text.

    >>> sniff_binary(b"PAR1\\x00\\x00", "x.jsonl")
    'x.jsonl is a Parquet file, not text.'
    >>> sniff_binary(b'{"a": 1}', "x.jsonl") is None
    True
    """
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"{name} is {what}, not text."
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{name} is saved as UTF-16 text. Save it again as UTF-8 (e.g. 'CSV UTF-8' in Excel)."
    if b"\x00" in head:
        return f"{name} looks like a binary file (it contains zero bytes), not text."
    return None


def utf8_problem(data: bytes, start: int, name: str, where: str) -> str:
    """The message for a byte at ``start`` of ``data`` that is not UTF-8, with how to save the file again."""
    bad = data[start : start + 1].hex().upper()
    return (
        f"{name}, {where}: byte 0x{bad} is not valid UTF-8 text. The file was probably saved as Windows-1252 or "
        "Latin-1 (Excel does this). Save it again as UTF-8 ('CSV UTF-8' in Excel, 'Save with encoding: UTF-8' "
        "in an editor) and load it again."
    )


def refuse_if_mostly_broken(result: ReadResult, name: str, kind: str) -> ReadResult:
    """Apply the broken-lines policy: refuse an empty or mostly broken file, else warn about the skipped lines."""
    if not result.rows and not result.skipped:
        raise DataError(f"{name} is empty: it has no rows. Pick a {kind} file with one example per row.")
    if not result.rows or len(result.skipped) > len(result.rows):
        raise DataError(
            f"{name}: {len(result.skipped):,} lines could not be read and only {len(result.rows):,} could, so this "
            f"does not look like a valid {kind} file. First problems: {describe_skipped(result.skipped)}. "
            "Fix those lines (or export the file again) and load it again."
        )
    if result.skipped:
        result.warnings.append(
            f"{name}: skipped {len(result.skipped):,} line(s) that could not be read: "
            f"{describe_skipped(result.skipped)}. The other {len(result.rows):,} rows loaded; fix those lines "
            "and load the file again to include them."
        )
    return result
