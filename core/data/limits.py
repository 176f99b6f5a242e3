"""What one dataset may cost the server: rows, memory and one row's size when it is read, characters when shown.

A 46 KB Parquet file can hold a million rows, one JSONL line can be a 50 MB string and a JSON file can nest
lists 100,000 deep; read and shown as they are, a few such uploads fill a shared Space's memory and send
megabytes of HTML to the browser (issue 14). The readers count while they read (``ReadBudget``) and stop at
the first limit passed with a sentence naming the file, the limit, what was found and what to do; previews
cut every cell (``clip_text``, ``clip_strings``). Each limit is read from its environment variable here and
nowhere else; 0 turns a limit off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from core.data.errors import DataError

# 2x the largest case bench/bench_data.py measures (100k rows: 48 s of checks on 2 cores, 144 MB of Python
# memory), so a real dataset fits and one file's checks stay within a few minutes.
DEFAULT_MAX_LOAD_ROWS = 200_000
# The rows of one file in the server's memory. A 16 GB Space holds the app (~0.6 GB, bench_load), a training
# worker (2.5 GB for SmolLM2-135M, bench_memory) and this much for each of several people loading data at once.
DEFAULT_MAX_DECODED_MB = 512
# One example: ~250,000 tokens at ~4 characters a token, far above any max length a model trains on
# (the app recommends at most 4,096, sft-facts §3); a longer row is cut there anyway.
DEFAULT_MAX_ROW_MB = 1
# A conversation is 3 levels deep (row -> messages -> turn); tool calls and nested metadata add a few more.
# Far below the depth at which Python's own recursion (json, repr, copy: ~1,000 frames) gives up.
MAX_DEPTH = 64
# An SFT dataset has a handful of columns; each one becomes a choice in the five mapping dropdowns.
MAX_COLUMNS = 1_000
# What holding one JSON object or list costs beyond its text: sys.getsizeof({"role": "user", "content": "x"})
# is 184 bytes in CPython 3.11, plus its slot in the list of rows.
OBJECT_BYTES = 200
# Previews: a cell shows this many characters, a whole row (as JSON) this many; the rest is counted, not sent.
PREVIEW_CELL_CHARS = 2_000
PREVIEW_ROW_CHARS = 20_000

_MB = 1024 * 1024


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return max(float(raw), 0.0) if raw else default
    except ValueError:
        return default


@dataclass(frozen=True)
class LoadLimits:
    """The limits one file is read under; 0 means no limit (set by an admin for a private machine)."""

    max_rows: int = DEFAULT_MAX_LOAD_ROWS  # SFT_COACH_MAX_LOAD_ROWS
    max_decoded_mb: float = DEFAULT_MAX_DECODED_MB  # SFT_COACH_MAX_DECODED_MB
    max_row_mb: float = DEFAULT_MAX_ROW_MB  # SFT_COACH_MAX_ROW_MB
    max_depth: int = MAX_DEPTH

    @classmethod
    def from_env(cls) -> LoadLimits:
        """The limits in effect: ``SFT_COACH_MAX_LOAD_ROWS``, ``_MAX_DECODED_MB`` and ``_MAX_ROW_MB``."""
        return cls(
            max_rows=int(_env_number("SFT_COACH_MAX_LOAD_ROWS", DEFAULT_MAX_LOAD_ROWS)),
            max_decoded_mb=_env_number("SFT_COACH_MAX_DECODED_MB", DEFAULT_MAX_DECODED_MB),
            max_row_mb=_env_number("SFT_COACH_MAX_ROW_MB", DEFAULT_MAX_ROW_MB),
        )

    def check_row_count(self, name: str, count: int, advice: str = "") -> None:
        """Refuse ``count`` rows (known before reading them, e.g. from Parquet metadata) when above the limit."""
        if self.max_rows and count > self.max_rows:
            raise DataError(_too_many_rows(name, f"{count:,} rows", self.max_rows, advice))

    def check_decoded_size(self, name: str, size: float, advice: str = "") -> None:
        """Refuse data that would take ``size`` bytes in memory once read, when above the limit."""
        if self.max_decoded_mb and size > self.max_decoded_mb * _MB:
            raise DataError(_too_big(name, f"about {size / _MB:,.0f} MB", self.max_decoded_mb, advice))


def _too_many_rows(name: str, found: str, limit: int, advice: str = "") -> str:
    return (
        f"{name} has {found}, above this app's limit of {limit:,} rows for one dataset. "
        f"{advice or 'Load a sample (for example its first rows) or split the file and load one part.'} "
        "An admin can raise the limit with the environment variable SFT_COACH_MAX_LOAD_ROWS."
    )


def _too_big(name: str, found: str, limit_mb: float, advice: str = "", where: str = "") -> str:
    counted = f" (counted up to {where})" if where else ""
    return (
        f"{name} would take {found} of memory once read{counted}, above this app's limit of {limit_mb:,.0f} MB "
        f"for one dataset. {advice or 'Load a smaller sample or split the file and load one part.'} "
        "An admin can raise the limit with the environment variable SFT_COACH_MAX_DECODED_MB."
    )


class ReadBudget:
    """Counts the rows and memory of one file while it is read; raises a DataError at the first limit passed.

    ``check_row`` is called with a row's size before it is parsed (a JSONL line's bytes), ``add`` once it is
    kept; ``limits=None`` counts nothing (the training worker reads files the Data step has already checked).
    """

    def __init__(self, name: str, limits: LoadLimits | None) -> None:
        self.name = name
        self.limits = limits
        self.rows = 0
        self.decoded = 0
        self.longest_row = int(limits.max_row_mb * _MB) if limits is not None and limits.max_row_mb else 0
        """The row limit in bytes (0: none), for readers that can stop reading a line there."""

    def check_row(self, size: int, where: str) -> None:
        """Refuse one row of ``size`` bytes (characters) above the row limit; ``where`` is e.g. "line 12"."""
        limits = self.limits
        if limits is not None and limits.max_row_mb and size > limits.max_row_mb * _MB:
            raise DataError(
                f"{self.name}, {where}: this one row is {size / _MB:,.1f} MB, above this app's limit of "
                f"{limits.max_row_mb:,g} MB for one row (about {limits.max_row_mb * 250_000:,.0f} tokens, far more "
                "than a model trains on at once). Remove that row or split its text into several rows, and load "
                "the file again. An admin can raise the limit with the environment variable SFT_COACH_MAX_ROW_MB."
            )

    def add(self, size: int, objects: int = 1, where: str = "") -> None:
        """Count one kept row: ``size`` bytes of text and ``objects`` JSON objects or lists (the row included)."""
        limits = self.limits
        if limits is None:
            return
        self.rows += 1
        self.decoded += size + OBJECT_BYTES * max(objects, 1)
        if limits.max_rows and self.rows > limits.max_rows:
            raise DataError(_too_many_rows(self.name, f"more than {limits.max_rows:,} rows", limits.max_rows))
        self._check_decoded(where)

    def _check_decoded(self, where: str) -> None:
        limit = self.limits.max_decoded_mb
        if limit and self.decoded > limit * _MB:
            raise DataError(_too_big(self.name, f"more than {limit:,.0f} MB", limit, where=where))

    def add_bytes(self, size: int, rows: int, where: str = "") -> None:
        """Count ``rows`` rows decoded together (a Parquet batch) before they become Python objects."""
        limits = self.limits
        if limits is None:
            return
        self.decoded += size + OBJECT_BYTES * rows
        self._check_decoded(where)


class TooDeeplyNested(ValueError):
    """A JSON value nests lists and objects deeper than ``MAX_DEPTH``; the message is a sentence for a beginner."""

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        super().__init__(
            f"it nests lists and objects more than {limit} levels deep. A training example needs a few levels "
            "(a row holds messages, a message holds its text), so the file is probably damaged"
        )


def nesting_error(name: str, where: str, err: TooDeeplyNested, row: int | None = None) -> DataError:
    """The sentence for a file nested too deeply at ``where`` ("line 12", "the document")."""
    return DataError(f"{name}, {where}: {err}. Fix or remove that part of the file and load it again.", row=row)


def measure_row(value: object, stop_after: int = MAX_DEPTH) -> tuple[int, int, int]:
    """(characters of text, objects and lists, depth) of a parsed row: what holding it costs, without recursion.

    Numbers and other scalars count 8 characters. The walk stops once deeper than ``stop_after``.

    >>> measure_row({"messages": [{"role": "user", "content": "Hi"}]})
    (25, 3, 3)
    """
    size, objects, deepest = 0, 0, 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            size += len(item)
            continue
        children = item.items() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            size += 8
            continue
        objects += 1
        deepest = max(deepest, depth)
        if depth > stop_after:
            break
        if isinstance(item, dict):
            for key, child in children:
                size += len(key) if isinstance(key, str) else 8
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in children)
    return size, objects, deepest


def clip_text(text: str, limit: int = PREVIEW_CELL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how many were left out.

    >>> clip_text("abcdef", 3)
    'abc… (3 more characters)'
    >>> clip_text("abc", 3)
    'abc'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def clip_strings(value: object, limit: int = PREVIEW_CELL_CHARS, depth: int = MAX_DEPTH) -> object:
    """A copy of a JSON-like value with every string cut by ``clip_text`` (the input is not changed).

    Levels below ``depth`` are shown as "…" (the readers refuse deeper rows; Hub rows are not walked there).

    >>> clip_strings({"messages": [{"content": "abcdef"}]}, 3)
    {'messages': [{'content': 'abc… (3 more characters)'}]}
    """
    if isinstance(value, str):
        return clip_text(value, limit)
    if isinstance(value, dict | list) and depth <= 0:
        return "…"
    if isinstance(value, dict):
        return {key: clip_strings(child, limit, depth - 1) for key, child in value.items()}
    if isinstance(value, list):
        return [clip_strings(child, limit, depth - 1) for child in value]
    return value
