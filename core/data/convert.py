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
    PREFERENCE,
    PROMPT_COMPLETION,
    RAW_COLUMNS,
    SHAREGPT,
    TEXT,
    TRL_FORMATS,
)
from core.data.labels import LabelRule
from core.data.parts import text_only
from core.data.preference import to_prompt_completion
from core.data.to_trl import ColumnMapping, check_mapping, convert_row, normalize_role
from core.data.tools import is_tool_turn
from core.data.weights import cut_at_last_trained, has_marks


@dataclass
class Conversion:
    """The converted rows plus everything the user should know about the conversion."""

    rows: list[dict | None]
    """One entry per input row, in order; None where the row could not be converted."""
    source_format: str
    target_format: str
    failures: dict[int, str] = field(default_factory=dict)
    """0-based row index -> why that row could not be converted."""
    failure_codes: dict[int, str] = field(default_factory=dict)
    """0-based row index -> the report's problem code, for rows left out on purpose (media, marked bad)."""
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


_DROPPED_OPENAI_KEYS = ("name", "refusal")


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


@dataclass(frozen=True)
class RowChoices:
    """What the person chose about rows that are more than a prompt and an answer."""

    label_rule: LabelRule | None = None
    """Train only the rows this rule marks good (None: every row)."""
    drop_media: bool = False
    """Train rows that bring images, audio or video on their text alone (False: leave them out)."""


class _Tally:
    """What the conversion did to rows on the way, for the notes."""

    def __init__(self) -> None:
        self.renamed: Counter = Counter()
        self.joined = self.weighted_rows = self.context_answers = self.untrained_answers = 0

    def notes(self, source_format: str, target_format: str) -> list[str]:
        notes = []
        for (old, new), count in sorted(self.renamed.items(), key=lambda item: -item[1]):
            if old == "field":
                notes.append(f"Left out the message field '{new}' in {count:,} turns: chat templates don't use it.")
            else:
                notes.append(f"Renamed role '{old}' to '{new}' in {count:,} turns.")
        if self.joined:
            notes.append(f"Joined the text parts of {self.joined:,} messages into one text each.")
        if self.weighted_rows and target_format == CONVERSATIONAL_PROMPT_COMPLETION:
            note = (
                f"{self.weighted_rows:,} conversations mark answers as not trained (weight 0): each is trained on its "
                f"last answer marked for training, and the {self.untrained_answers:,} answers marked 0 are context "
                "only, never learned."
            )
            if self.context_answers:
                many = self.context_answers != 1
                note += (
                    f" {self.context_answers:,} earlier answer{'s' if many else ''} marked for training "
                    f"{'are' if many else 'is'} context too (prompt-completion has one answer per row)."
                )
            notes.append(note)
        elif self.weighted_rows:
            notes.append(
                f"{self.weighted_rows:,} conversations mark {self.untrained_answers:,} answers as not trained "
                "(weight 0), but the 'messages' format trains every turn, those too. Train as conversational "
                "prompt-completion to honour the marks."
            )
        if source_format == ALPACA:
            notes.append("The instruction and its input (when there is one) became the user's message.")
        if source_format == PREFERENCE:
            notes.append(
                "Preference pairs: each row is trained on its prompt and chosen answer; the rejected answers are "
                "not used (SFT learns from good answers, preference training such as DPO compares the two)."
            )
        return notes


def _turn_key(row: dict, source_format: str) -> str | None:
    if source_format == SHAREGPT:
        return "conversations"
    return "messages" if source_format in (MESSAGES, OPENAI_CHAT) else None


def _prepare(row: object, source_format: str, target_format: str, choices: RowChoices, tally: _Tally) -> object:
    """The row as the per-row converters take it: label checked, parts joined, preference and weights read."""
    if not isinstance(row, dict):
        return row  # convert_row names the problem
    if choices.label_rule is not None:
        choices.label_rule.refuse(row)
    row, joined = text_only(row, choices.drop_media)
    tally.joined += joined
    if source_format == PREFERENCE:
        return to_prompt_completion(row)
    key = _turn_key(row, source_format)
    if key and has_marks(row.get(key)):
        cut, context, untrained = cut_at_last_trained(row[key])
        if cut is None:
            raise DataError("Every answer in this conversation is marked not trained (weight 0). Leave it out.")
        tally.weighted_rows += 1
        tally.untrained_answers += untrained
        if target_format == CONVERSATIONAL_PROMPT_COMPLETION:
            tally.context_answers += context
            row = {**row, key: cut}
    return row


def convert_rows(
    rows: Sequence[dict],
    source_format: str,
    target_format: str,
    mapping: ColumnMapping | None = None,
    columns: list[str] | None = None,
    choices: RowChoices | None = None,
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
    choices = choices or RowChoices()
    conversion = Conversion(rows=[], source_format=source_format, target_format=target_format)
    tally = _Tally()
    track_roles = source_format in (MESSAGES, SHAREGPT, OPENAI_CHAT)
    fmt = CONVERSATIONAL_PROMPT_COMPLETION if source_format == PREFERENCE else source_format
    for index, row in enumerate(rows):
        try:
            converted = convert_row(
                _prepare(row, source_format, target_format, choices, tally), fmt, target_format, mapping
            )
        except DataError as err:
            conversion.rows.append(None)
            conversion.failures[index] = str(err)
            if err.code:
                conversion.failure_codes[index] = err.code
            continue
        conversion.rows.append(converted)
        if track_roles:
            _tally_changes(row, source_format, tally.renamed)
    conversion.notes = tally.notes(source_format, target_format)
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


def _marked_share(rows: Sequence[dict], source_format: str, sample_size: int = 200) -> float:
    key = "conversations" if source_format == SHAREGPT else "messages"
    indices = sample_indices(len(rows), sample_size)
    marked = sum(1 for i in indices if isinstance(rows[i], dict) and has_marks(rows[i].get(key)))
    return marked / len(indices) if indices else 0.0


def _has_tool_results(rows: Sequence[dict], source_format: str, sample_size: int = 200) -> bool:
    """Whether sampled conversations hold tool results (a ``tool`` / ``observation`` turn)."""
    key, role_key = ("conversations", "from") if source_format == SHAREGPT else ("messages", "role")
    for i in sample_indices(len(rows), sample_size):
        turns = rows[i].get(key) if isinstance(rows[i], dict) else None
        if isinstance(turns, list) and any(
            is_tool_turn(t, role_key)
            and not (t.get("tool_calls") or t.get("function_call"))
            and normalize_role(t.get(role_key, t.get("role"))) != "assistant"
            for t in turns
            if isinstance(t, dict)
        ):
            return True
    return False


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
    if source_format == PREFERENCE:
        return CONVERSATIONAL_PROMPT_COMPLETION, (
            "Conversational prompt-completion: the prompt, then the chosen answer as the completion, " + answer_only
        )
    if source_format in (ALPACA, RAW_COLUMNS, CONVERSATIONAL_PROMPT_COMPLETION):
        return CONVERSATIONAL_PROMPT_COMPLETION, "Conversational prompt-completion, " + answer_only
    if source_format in (MESSAGES, SHAREGPT, OPENAI_CHAT):
        if rows and _marked_share(rows, source_format) > 0:
            return CONVERSATIONAL_PROMPT_COMPLETION, (
                "Conversational prompt-completion: the rows mark which answers to train (weight 0 = don't), and "
                "this format trains each conversation's last answer marked for training and none marked 0."
            )
        if rows and _has_tool_results(rows, source_format):
            return CONVERSATIONAL_PROMPT_COMPLETION, (
                "Conversational prompt-completion: these conversations hold tool results, which the model must read, "
                "not learn to write. This trains each row's last answer (a tool call or the reply) and keeps the tool "
                "list and results as context; as 'messages' every token would carry loss, tool results included, "
                "unless the chat template marks the assistant's turns."
            )
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
