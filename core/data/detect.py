"""Say which shape a dataset has: one of TRL's four formats, a common shape we can convert, or raw columns.

Detection looks at keys and structure, not at the values, so a ``messages``
row whose content is null is still recognised as ``messages`` (validation then
names the bad value). Each ``is_…`` function checks one row; ``detect_format``
samples rows spread over the whole dataset and reports the share that matches.

Formats (sft-facts §2 for TRL's four):

- ``text``: ``{"text": "..."}`` (language modeling)
- ``messages``: ``{"messages": [{"role", "content"}, ...]}`` (conversational)
- ``prompt_completion``: ``{"prompt": "...", "completion": "..."}``
- ``conversational_prompt_completion``: prompt and completion are lists of messages
- ``sharegpt``: ``{"conversations": [{"from": "human", "value": ...}, ...]}``
- ``alpaca``: ``{"instruction", "input", "output"}``
- ``openai_chat``: ``messages`` with OpenAI extras (``name``, ``tool_calls``, ``weight``, tool/developer roles)
- ``preference``: ``chosen`` and ``rejected`` answers (with a ``prompt``, ``conversations`` or an implicit prompt)
- ``raw_columns``: anything else; needs a column mapping
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.data.formats import (  # noqa: F401  (re-exported: callers use detect.TEXT etc.)
    ALPACA,
    CONVERSATIONAL_PROMPT_COMPLETION,
    FORMAT_LABELS,
    MESSAGES,
    OPENAI_CHAT,
    PREFERENCE,
    PROMPT_COMPLETION,
    RAW_COLUMNS,
    SHAREGPT,
    TEXT,
    TRL_FORMATS,
    UNKNOWN,
)
from core.data.to_trl import ColumnMapping

_OPENAI_MESSAGE_KEYS = {"name", "tool_calls", "tool_call_id", "function_call", "weight", "refusal"}
_OPENAI_ROLES = {"tool", "function", "developer"}


def _is_turn_list(value: object, keys: tuple[str, ...]) -> bool:
    return isinstance(value, list) and any(isinstance(t, dict) and any(k in t for k in keys) for t in value)


def is_messages_row(row: dict) -> bool:
    """A TRL conversational row: ``messages`` is a list of turns with a role or content.

    >>> is_messages_row({"messages": [{"role": "user", "content": None}]})
    True
    >>> is_messages_row({"messages": "hi"})
    False
    """
    return _is_turn_list(row.get("messages"), ("role", "content"))


def is_sharegpt_row(row: dict) -> bool:
    """ShareGPT: ``conversations`` is a list of ``from``/``value`` turns (some exports use role/content).

    >>> is_sharegpt_row({"conversations": [{"from": "human", "value": "Hi"}]})
    True
    """
    return _is_turn_list(row.get("conversations"), ("from", "value", "role", "content"))


def is_conversational_prompt_completion_row(row: dict) -> bool:
    """Prompt and completion are both lists of messages.

    >>> is_conversational_prompt_completion_row({"prompt": [{"role": "user", "content": "a"}], "completion": []})
    True
    """
    return "completion" in row and isinstance(row.get("prompt"), list)


def is_prompt_completion_row(row: dict) -> bool:
    """Prompt and completion columns that are not lists of messages.

    >>> is_prompt_completion_row({"prompt": "The sky is", "completion": " blue."})
    True
    """
    return "prompt" in row and "completion" in row and not isinstance(row["prompt"], list)


def is_alpaca_row(row: dict) -> bool:
    """Alpaca: ``instruction`` and ``output`` (``input`` optional).

    >>> is_alpaca_row({"instruction": "Add", "input": "2 2", "output": "4"})
    True
    """
    return "instruction" in row and "output" in row


def is_text_row(row: dict) -> bool:
    """TRL language modeling: a ``text`` column.

    >>> is_text_row({"text": "The sky is blue."})
    True
    """
    return "text" in row


def is_openai_chat_row(row: dict) -> bool:
    """``messages`` using OpenAI extras: names, tool calls, weights, or tool/developer roles.

    >>> is_openai_chat_row({"messages": [{"role": "developer", "content": "Be brief."}]})
    True
    >>> is_openai_chat_row({"messages": [{"role": "user", "content": "Hi"}]})
    False
    """
    if not is_messages_row(row):
        return False
    if "tools" in row or "functions" in row:
        return True
    turns = [t for t in row["messages"] if isinstance(t, dict)]
    return any(_OPENAI_MESSAGE_KEYS & t.keys() or t.get("role") in _OPENAI_ROLES for t in turns)


def row_format(row: object) -> str:
    """The format one row has, by its keys; structure wins over plain columns.

    >>> row_format({"conversations": [{"from": "gpt", "value": "Hi"}]})
    'sharegpt'
    >>> row_format({"Question": "q", "Answer": "a"})
    'raw_columns'
    """
    if not isinstance(row, dict) or not row:
        return UNKNOWN
    if "chosen" in row and "rejected" in row:  # before the conversation shapes: their turns are only the prompt
        return PREFERENCE
    if is_messages_row(row):
        return MESSAGES
    if is_sharegpt_row(row):
        return SHAREGPT
    if is_conversational_prompt_completion_row(row):
        return CONVERSATIONAL_PROMPT_COMPLETION
    if is_prompt_completion_row(row):
        return PROMPT_COMPLETION
    if is_alpaca_row(row):
        return ALPACA
    if is_text_row(row):
        return TEXT
    return RAW_COLUMNS


@dataclass(frozen=True)
class Detection:
    """What ``detect_format`` found."""

    format: str
    """One of the format names above."""
    confidence: float
    """Share of the sampled rows that have this format (0-1)."""
    explanation: str
    """One sentence for the user: what was found and how sure."""
    sampled: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    """How many sampled rows had each format (mixed schemas show up here)."""
    suggested_mapping: ColumnMapping | None = None
    """For raw columns: a guess at which column plays which part."""
    first_mismatch: int | None = None
    """1-based number of the first sampled row that does not have the detected format."""

    @property
    def is_trl_format(self) -> bool:
        return self.format in TRL_FORMATS

    @property
    def needs_mapping(self) -> bool:
        return self.format == RAW_COLUMNS


def sample_indices(n_rows: int, sample_size: int) -> list[int]:
    """Row indices spread evenly over the dataset, so a schema change halfway through is seen.

    >>> sample_indices(10, 4)
    [0, 3, 6, 9]
    >>> sample_indices(3, 10)
    [0, 1, 2]
    """
    if n_rows <= sample_size:
        return list(range(n_rows))
    if sample_size <= 1:
        return [0]
    step = (n_rows - 1) / (sample_size - 1)
    return sorted({round(i * step) for i in range(sample_size)})


# Column-name hints for guessing a mapping; first match wins. Names are compared lower-case without separators.
_PROMPT_NAMES = ("question", "prompt", "instruction", "query", "input", "problem", "user", "request", "source")
_COMPLETION_NAMES = ("response", "answer", "output", "completion", "target", "solution", "assistant", "reply")
_REASONING_NAMES = ("complexcot", "cot", "reasoning", "rationale", "thinking", "thought", "thoughts", "explanation")
_SYSTEM_NAMES = ("system", "systemprompt", "systemmessage")
_CONTEXT_NAMES = ("context", "input", "document", "passage", "background")


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def suggest_mapping(columns: Sequence[str]) -> ColumnMapping | None:
    """Guess which columns are prompt, completion, reasoning, system and context, from their names.

    >>> suggest_mapping(["Question", "Complex_CoT", "Response"])
    ColumnMapping(prompt='Question', completion='Response', system=None, reasoning='Complex_CoT', context=None)
    >>> suggest_mapping(["a", "b"]) is None
    True
    """
    by_name = {_normalise(c): c for c in columns}

    def pick(names: tuple[str, ...], taken: set[str]) -> str | None:
        for hint in names:
            column = by_name.get(hint)
            if column and column not in taken:
                return column
        return None

    prompt = pick(_PROMPT_NAMES, set())
    completion = pick(_COMPLETION_NAMES, {prompt} if prompt else set())
    if not prompt or not completion:
        return None
    taken = {prompt, completion}
    reasoning = pick(_REASONING_NAMES, taken)
    system = pick(_SYSTEM_NAMES, taken | {reasoning})
    context = pick(_CONTEXT_NAMES, taken | {reasoning, system})
    return ColumnMapping(prompt=prompt, completion=completion, system=system, reasoning=reasoning, context=context)


def _explain(fmt: str, matched: int, sampled: int, n_rows: int, first_mismatch: int | None) -> str:
    label = FORMAT_LABELS[fmt]
    scope = f"all {sampled:,} rows" if sampled == n_rows else f"{sampled:,} rows sampled across the {n_rows:,}"
    if matched == sampled:
        return f"Detected {label}: {scope} have this shape."
    mismatch = f" (the first that doesn't is row {first_mismatch:,})" if first_mismatch else ""
    return (
        f"Mostly {label}: {matched:,} of {scope} have this shape{mismatch}; the others have different columns "
        "and will be reported when the rows are checked."
    )


def detect_format(rows: Sequence[dict], sample_size: int = 1000) -> Detection:
    """Detect the format of ``rows`` from an even sample of them.

    >>> d = detect_format([{"prompt": "a", "completion": "b"}] * 3 + [{"text": "c"}])
    >>> d.format, d.confidence, d.first_mismatch
    ('prompt_completion', 0.75, 4)
    """
    n_rows = len(rows)
    if n_rows == 0:
        return Detection(UNKNOWN, 0.0, "There are no rows to look at.")
    indices = sample_indices(n_rows, sample_size)
    formats = [row_format(rows[i]) for i in indices]
    counts = Counter(formats)
    fmt, matched = counts.most_common(1)[0]
    if fmt == MESSAGES and any(is_openai_chat_row(rows[i]) for i, f in zip(indices, formats, strict=True) if f == fmt):
        fmt = OPENAI_CHAT
        counts[OPENAI_CHAT] = counts.pop(MESSAGES)
    first_mismatch = next(
        (i + 1 for i, f in zip(indices, formats, strict=True) if f != (MESSAGES if fmt == OPENAI_CHAT else fmt)),
        None,
    )
    mapping = None
    if fmt == RAW_COLUMNS:
        columns = list(dict.fromkeys(k for i in indices[:100] if isinstance(rows[i], dict) for k in rows[i]))
        mapping = suggest_mapping(columns)
    explanation = _explain(fmt, matched, len(indices), n_rows, first_mismatch)
    if fmt == RAW_COLUMNS:
        explanation += (
            f" Suggested mapping: prompt = '{mapping.prompt}', answer = '{mapping.completion}'."
            if mapping
            else " Pick which column is the prompt and which is the answer."
        )
    if fmt == UNKNOWN:
        explanation = "The rows are empty objects or not objects at all; there is nothing to train on."
    return Detection(fmt, matched / len(indices), explanation, len(indices), dict(counts), mapping, first_mismatch)
