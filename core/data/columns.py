"""What becomes of every column of a dataset: used (as what), ignored (and why), or blocking rows.

The Data step lists this right after detection, so no column disappears without a word. A column that
is ignored but looks meaningful (a label, a rejected answer, images, tools, weights, a system prompt)
gets a sentence saying what it would mean and what to do about it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.data.formats import (
    ALPACA,
    CONVERSATIONAL_PROMPT_COMPLETION,
    MESSAGES,
    OPENAI_CHAT,
    PREFERENCE,
    PROMPT_COMPLETION,
    RAW_COLUMNS,
    SHAREGPT,
    TEXT,
)
from core.data.labels import MARKED_BAD_CODE, SCORE_COLUMNS, VERDICT_COLUMNS
from core.data.parts import MEDIA_CODE, MEDIA_COLUMNS
from core.data.preference import chosen_holds_prompt, prompt_column

if TYPE_CHECKING:
    from core.data.wizard import DataDraft

USED, IGNORED, BLOCKING = "used", "ignored", "blocking"

# The columns each format reads, and as what.
_READS = {
    TEXT: {"text": "the text: every token is trained"},
    MESSAGES: {"messages": "the conversation"},
    OPENAI_CHAT: {"messages": "the conversation"},
    SHAREGPT: {"conversations": "the conversation", "system": "the system prompt"},
    PROMPT_COMPLETION: {"prompt": "the prompt", "completion": "the answer (the only text with loss)"},
    CONVERSATIONAL_PROMPT_COMPLETION: {"prompt": "the prompt turns", "completion": "the answer turns (with loss)"},
    ALPACA: {
        "instruction": "the user's message",
        "input": "added to the user's message",
        "output": "the answer",
        "system": "the system prompt",
    },
}
_MAPPED_AS = {
    "prompt": "the prompt (the user's message)",
    "completion": "the answer",
    "system": "the system prompt",
    "reasoning": "the reasoning, in <think>…</think> before the answer",
    "context": "added after the prompt",
}
_ID_LIKE = re.compile(r"^(id|idx|index|uuid|_id|.*_id|source|dataset|split|url|category|task|lang|language)$", re.I)


@dataclass(frozen=True)
class ColumnFate:
    """One column and what becomes of it."""

    column: str
    fate: str
    """``used``, ``ignored`` or ``blocking`` (its rows are left out)."""
    detail: str
    """As what it is used, or why it is ignored / blocking."""
    action: str = ""
    """What the person can do about it, when there is something."""


def _ignored(column: str, source: str) -> ColumnFate:
    """Why an unused column is ignored; columns that look meaningful get their own sentence."""
    name = column.lower()
    if source == TEXT and (name in VERDICT_COLUMNS or name in SCORE_COLUMNS):
        return ColumnFate(
            column,
            IGNORED,
            "a label for the whole text (a class, e.g. positive or negative): plain text is trained as it is, so no "
            "row is left out because of it.",
            "To teach the model to predict the label, map the text as the prompt and this column as the answer.",
        )
    if name in ("score_chosen", "score_rejected", "prompt_id"):
        return ColumnFate(column, IGNORED, "part of the preference pair's bookkeeping, not of the example.")
    if name in ("rejected", "chosen"):
        return ColumnFate(column, IGNORED, "a preference answer; SFT learns only from good answers.")
    if name in VERDICT_COLUMNS or name in SCORE_COLUMNS:
        return ColumnFate(
            column,
            IGNORED,
            "its values are not a good/bad verdict or a score (they look like classes), so no row is left out "
            "because of it.",
            "To train the model to predict it, map it as the answer.",
        )
    if name in ("tools", "functions"):
        return ColumnFate(column, IGNORED, "a tool list, but these rows hold no tool calls SFT Coach can read.")
    if name in ("weight", "loss_weight", "sample_weight"):
        return ColumnFate(
            column,
            IGNORED,
            "a weight per row; every row is trained once.",
            "To train a row more, repeat it; to leave it out, remove it from the file.",
        )
    if name in ("system", "system_prompt", "systemprompt"):
        return ColumnFate(
            column, IGNORED, "a system prompt, which this format doesn't read.", "Map it as the system prompt."
        )
    if _ID_LIKE.match(name):
        return ColumnFate(column, IGNORED, "an identifier or label for the row, not part of the example.")
    hint = "Map it in the columns box if it should be part of the example." if source != TEXT else ""
    return ColumnFate(column, IGNORED, "not read by this format.", hint)


def account_columns(draft: DataDraft) -> list[ColumnFate]:
    """Every column of the draft's rows, in file order, with what becomes of it.

    >>> from core.data.loaded import LoadedData
    >>> from core.data.wizard import draft_dataset
    >>> rows = [{"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away.", "id": n} for n in range(3)]
    >>> [(c.column, c.fate) for c in account_columns(draft_dataset(LoadedData(rows, "pairs", list(rows[0])), "p"))]
    [('prompt', 'used'), ('chosen', 'used'), ('rejected', 'ignored'), ('id', 'ignored')]
    """
    source, choices = draft.source_format, draft.choices
    reads = dict(_READS.get(source, {}))
    if source == RAW_COLUMNS and draft.mapping:
        for part, column in vars(draft.mapping).items():
            if column:
                reads[column] = _MAPPED_AS[part]
    whole = False
    if source == PREFERENCE:
        first = next((r for r in draft.loaded.rows if isinstance(r, dict) and "chosen" in r), {})
        whole = chosen_holds_prompt(first)
        if whole:
            reads["chosen"] = "the whole conversation: its first turns are the prompt, its last answer is trained"
        else:
            reads[prompt_column(draft.loaded.columns)] = "the prompt"
            reads["chosen"] = "the answer: SFT learns the chosen one"
        reads["system"] = "the system prompt"
    converted = next((r for r in draft.conversion.rows if r is not None), None) if draft.conversion else None
    codes = list(draft.conversion.failure_codes.values()) if draft.conversion else []
    rule = draft.label_rule
    fates = []
    for column in map(str, draft.loaded.columns):
        if column in reads:
            fates.append(ColumnFate(column, USED, reads[column]))
        elif source == PREFERENCE and column == "rejected":
            fates.append(
                ColumnFate(
                    column,
                    IGNORED,
                    "the worse answer of each pair. SFT learns to write answers, so it learns from the chosen one; "
                    "preference training (e.g. TRL's DPO) is what compares the two.",
                    "After this SFT run, the same file can train DPO from the fine-tuned model.",
                )
            )
        elif rule is not None and column == rule.column:
            if choices.label_rule is not None:
                left_out = codes.count(MARKED_BAD_CODE)
                detail = (
                    f"marks rows good or bad: the {rule.good:,} rows marked good are trained, {left_out:,} left out."
                )
                fates.append(ColumnFate(column, USED, detail, "Choose to train every row to keep the others."))
            else:
                fates.append(ColumnFate(column, IGNORED, "you chose to train every row, whatever it says."))
        elif column == "enable_thinking" and converted is not None and "chat_template_kwargs" in converted:
            fates.append(ColumnFate(column, USED, "the row's thinking switch, passed to the chat template"))
        elif column in MEDIA_COLUMNS:
            fates.append(_media_fate(column, choices.drop_media, codes.count(MEDIA_CODE)))
        elif source == PREFERENCE and column in ("prompt", "messages", "conversations") and whole:
            fates.append(ColumnFate(column, IGNORED, "a copy of what the 'chosen' conversation already holds."))
        elif converted is not None and column in ("tools", "functions") and "tools" in converted:
            fates.append(
                ColumnFate(
                    column,
                    USED,
                    "the tools each row offers: given to the chat template, or written as text in the system "
                    "message when the model's template can't render tools (step 6 says which)",
                )
            )
        elif converted is not None and column in converted and column not in ("prompt", "completion", "messages"):
            fates.append(ColumnFate(column, USED, "passed on with each row"))
        else:
            fates.append(_ignored(column, source))
    return fates


def _media_fate(column: str, dropped: bool, left_out: int) -> ColumnFate:
    if dropped:
        return ColumnFate(
            column,
            IGNORED,
            "you chose to drop the images, audio and video: their rows train on their text alone, without the "
            "<image> placeholders.",
        )
    if not left_out:
        return ColumnFate(column, IGNORED, "empty in every row.")
    return ColumnFate(
        column,
        BLOCKING,
        f"{left_out:,} rows bring images, audio or video, and SFT Coach trains text models: they are left out.",
        "Choose to drop the images to train those rows on their text alone (placeholders such as <image> are "
        "removed), or pick a vision-language model outside this app.",
    )


def columns_summary(fates: list[ColumnFate]) -> str:
    """One sentence counting the fates.

    >>> columns_summary([ColumnFate("a", "used", ""), ColumnFate("b", "ignored", "")])
    '1 column used, 1 ignored.'
    """
    used = sum(f.fate == USED for f in fates)
    ignored = sum(f.fate == IGNORED for f in fates)
    blocking = sum(f.fate == BLOCKING for f in fates)
    text = f"{used:,} column{'s' if used != 1 else ''} used, {ignored:,} ignored"
    return text + (f", {blocking:,} leaving rows out." if blocking else ".")
