"""Convert a whole dataset to the chosen TRL format, and recommend which format to choose.

``convert_rows`` keeps the row order and length: row *i* of the result comes
from row *i* of the input, or is None with the reason in ``failures[i]``, so
every later report can name the user's own row numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.data.detect import sample_indices
from core.data.errors import DataError
from core.data.formats import (
    ALPACA,
    CONVERSATIONAL_PROMPT_COMPLETION,
    FORMAT_LABELS,
    MESSAGES,
    OPENAI_CHAT,
    PROMPT_COMPLETION,
    RAW_COLUMNS,
    SHAREGPT,
    TEXT,
    TRL_FORMATS,
)
from core.data.to_trl import ColumnMapping, check_mapping, convert_row, normalize_role


@dataclass
class Conversion:
    """The converted rows plus everything the user should know about the conversion."""

    rows: list[dict | None]
    """One entry per input row, in order; None where the row could not be converted."""
    source_format: str
    target_format: str
    failures: dict[int, str] = field(default_factory=dict)
    """0-based row index -> why that row could not be converted."""
    notes: list[str] = field(default_factory=list)
    """Changes made on the way, e.g. "renamed roles: human -> user (1,204 turns)"."""

    @property
    def n_converted(self) -> int:
        return len(self.rows) - len(self.failures)

    def summary(self) -> str:
        """One sentence: how many rows converted into what, and how many could not be."""
        text = f"Converted {self.n_converted:,} of {len(self.rows):,} rows to {FORMAT_LABELS[self.target_format]}."
        if self.failures:
            first = min(self.failures)
            text += (
                f" {len(self.failures):,} could not be converted and will be left out (row numbers count from 1; "
                f"first: row {first + 1:,}: {self.failures[first]})"
            )
        return text


_DROPPED_OPENAI_KEYS = ("name", "weight", "refusal")


def _tally_changes(source: dict, source_format: str, renamed: Counter) -> None:
    """Count role renames and dropped OpenAI fields, so the notes say exactly what changed."""
    key, role_key = ("conversations", "from") if source_format == SHAREGPT else ("messages", "role")
    turns = source.get(key)
    if isinstance(turns, list):
        for turn in turns:
            if isinstance(turn, dict):
                role = turn.get(role_key, turn.get("role"))
                new = normalize_role(role)
                if isinstance(role, str) and new != role:
                    renamed[(role, new)] += 1
                for extra in _DROPPED_OPENAI_KEYS:
                    if extra in turn and not (extra == "name" and new == "tool"):  # a tool result keeps its name
                        renamed[("field", extra)] += 1


def convert_rows(
    rows: Sequence[dict],
    source_format: str,
    target_format: str,
    mapping: ColumnMapping | None = None,
    columns: list[str] | None = None,
) -> Conversion:
    """Convert every row; rows that can't be converted are kept as None with their reason, never dropped silently.

    >>> result = convert_rows([{"q": "Hi", "a": "Hello"}, {"q": "Bye", "a": None}], "raw_columns",
    ...                       "conversational_prompt_completion", ColumnMapping("q", "a"))
    >>> result.n_converted, result.failures
    (1, {1: "The answer column 'a' is empty (null). Fill it in or leave this row out."})
    """
    if target_format not in TRL_FORMATS:
        raise DataError(f"'{target_format}' is not one of TRL's formats: {', '.join(TRL_FORMATS)}.")
    if source_format == RAW_COLUMNS:
        if mapping is None:
            raise DataError("These rows need a column mapping: pick the prompt and answer columns first.")
        if columns is not None:
            check_mapping(mapping, columns)
    conversion = Conversion(rows=[], source_format=source_format, target_format=target_format)
    renamed: Counter = Counter()
    track_roles = source_format in (MESSAGES, SHAREGPT, OPENAI_CHAT)
    for index, row in enumerate(rows):
        try:
            converted = convert_row(row, source_format, target_format, mapping)
        except DataError as err:
            conversion.rows.append(None)
            conversion.failures[index] = str(err)
            continue
        conversion.rows.append(converted)
        if track_roles:
            _tally_changes(row, source_format, renamed)
    for (old, new), count in sorted(renamed.items(), key=lambda item: -item[1]):
        if old == "field":
            conversion.notes.append(
                f"Left out the message field '{new}' in {count:,} turns: chat templates don't use it."
            )
        else:
            conversion.notes.append(f"Renamed role '{old}' to '{new}' in {count:,} turns.")
    if source_format == ALPACA:
        conversion.notes.append("The instruction and its input (when there is one) became the user's message.")
    return conversion


def _single_turn_share(rows: Sequence[dict], source_format: str, sample_size: int = 200) -> float:
    key = "conversations" if source_format == SHAREGPT else "messages"
    indices = sample_indices(len(rows), sample_size)
    single = 0
    for i in indices:
        turns = rows[i].get(key) if isinstance(rows[i], dict) else None
        roles = [normalize_role(t.get("role", t.get("from"))) for t in turns or [] if isinstance(t, dict)]
        if roles.count("assistant") == 1 and roles[-1:] == ["assistant"]:
            single += 1
    return single / len(indices) if indices else 0.0


def recommend_target_format(source_format: str, rows: Sequence[dict] | None = None) -> tuple[str, str]:
    """The TRL format to convert to, and one sentence saying why.

    Instruction data goes to conversational prompt-completion: TRL then puts
    the loss on the answer only (completion_only_loss, on by default), which
    gave small but consistent gains in SmolLM3's SFT, and it works with every
    chat template (sft-facts §2). Multi-turn chats stay ``messages`` so no turn
    is lost.

    >>> recommend_target_format("alpaca")[0]
    'conversational_prompt_completion'
    >>> recommend_target_format("text")[0]
    'text'
    """
    answer_only = (
        "so the loss falls on the answer only (TRL's default for prompt-completion data, which gave small but "
        "consistent gains in SmolLM3's fine-tuning) and the model's chat template is applied as at inference."
    )
    if source_format == TEXT:
        return TEXT, "Plain text has no prompt and answer: every token is trained, as in pre-training."
    if source_format == PROMPT_COMPLETION:
        return PROMPT_COMPLETION, (
            "Prompt-completion, as it is: TRL already puts the loss on the completion only. For a chat model, "
            "conversational prompt-completion applies its chat template as at inference."
        )
    if source_format in (ALPACA, RAW_COLUMNS, CONVERSATIONAL_PROMPT_COMPLETION):
        return CONVERSATIONAL_PROMPT_COMPLETION, "Conversational prompt-completion, " + answer_only
    if source_format in (MESSAGES, SHAREGPT, OPENAI_CHAT):
        share = _single_turn_share(rows, source_format) if rows else 0.0
        if share >= 0.95:
            return CONVERSATIONAL_PROMPT_COMPLETION, (
                f"Conversational prompt-completion: {share:.0%} of the conversations end with their only answer, "
                + answer_only
            )
        return MESSAGES, (
            "Messages: these are multi-turn conversations, and this keeps every turn. By default every token is "
            "trained (prompts too); the preview step shows how to put the loss on the assistant's turns only."
        )
    raise DataError(f"There is no TRL format to recommend for '{source_format}' rows.")
