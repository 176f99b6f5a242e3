"""Which reasoning mode each row trains: with a thinking trace, in thinking mode without one, or without thinking.

What a ``<think>…</think>`` trace does depends on the model's chat template (read from the templates
themselves):

- SmolLM3 (``HuggingFaceTB/SmolLM3-3B``): a thinking switch in the system prompt. ``enable_thinking``
  defaults to true; ``/no_think`` or ``/think`` in the first (system) message overrides it. In thinking mode
  each answer is rendered as written; in no-thinking mode the template puts an empty
  ``<think>\\n\\n</think>\\n`` before it.
- Qwen3 (``trl/chat_templates/qwen3.jinja``, the template Qwen3 ships): the final answer is always
  rendered inside a think block, an empty one when the row has no trace (its no-thinking form);
  ``enable_thinking=False`` only adds that empty block to the generation prompt.
- Templates with no switch (SmolLM2's ChatML, the offline model): a trace is just text in the answer.

TRL 1.16's ``SFTTrainer`` passes a row's ``chat_template_kwargs`` column to the chat template, so a per-row
``enable_thinking`` reaches it; ``carry_thinking_flags`` puts the user's column there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.sources import SOURCES

SYSTEM_FLAG = "system_flag"  # SmolLM3-style: /think and /no_think in the system prompt
TEMPLATE_KWARG = "template_kwarg"  # Qwen3-style: the enable_thinking template argument
NO_SWITCH = "no_switch"  # SmolLM2 and most templates: nothing to switch

WITH_TRACE = "thinking, with a reasoning trace"
FLAG_NO_TRACE = "thinking mode, no trace"
NO_THINKING = "no thinking"

_TRACE = re.compile(r"\s*<think>(.*?)</think>", re.S)
_SMOLLM3 = f"{SOURCES['smollm3_card'].name}: {SOURCES['smollm3_card'].url}"
_QWEN3 = f"{SOURCES['qwen3_card'].name}: {SOURCES['qwen3_card'].url}"


def thinking_switch(chat_template: str | None) -> str:
    """How the template switches thinking on and off, read from its text.

    >>> thinking_switch('{%- if "/no_think" in system_message -%}…'), thinking_switch("{{ enable_thinking }}")
    ('system_flag', 'template_kwarg')
    >>> thinking_switch("{% for message in messages %}…")
    'no_switch'
    """
    text = chat_template or ""
    if "/no_think" in text:
        return SYSTEM_FLAG
    if "enable_thinking" in text:
        return TEMPLATE_KWARG
    return NO_SWITCH


def find_trace(answer: str) -> str | None:
    """The reasoning trace at the start of an answer ("" for an empty think block), or None without one.

    >>> find_trace("<think>\\nAdd them.\\n</think>\\n4"), find_trace("<think>\\n\\n</think>4"), find_trace("4")
    ('Add them.', '', None)
    """
    found = _TRACE.match(answer)
    return found.group(1).strip() if found else None


def system_flag(turns: Sequence[dict]) -> bool | None:
    """True for /think, False for /no_think in the first (system) message, as SmolLM3's template reads it.

    >>> system_flag([{"role": "system", "content": "Be brief. /no_think"}]), system_flag([{"role": "user"}])
    (False, None)
    """
    first = turns[0] if turns and isinstance(turns[0], dict) else {}
    content = first.get("content") if first.get("role") == "system" else None
    if not isinstance(content, str):
        return None
    if "/no_think" in content:  # checked first, as the template does
        return False
    return True if "/think" in content else None


def template_flag(row: dict) -> bool | None:
    """The row's own ``enable_thinking`` (TRL's ``chat_template_kwargs`` column), or None.

    >>> template_flag({"chat_template_kwargs": {"enable_thinking": False}}), template_flag({})
    (False, None)
    """
    kwargs = row.get("chat_template_kwargs")
    value = kwargs.get("enable_thinking") if isinstance(kwargs, dict) else None
    return value if isinstance(value, bool) else None


def _raw_flag(raw: object) -> bool | None:
    if not isinstance(raw, dict):
        return None
    value = raw.get("enable_thinking")
    return value if isinstance(value, bool) else template_flag(raw)


def carry_thinking_flags(raw_rows: Sequence[object], converted: Sequence[dict | None]) -> list[dict | None]:
    """Converted rows with the raw row's ``enable_thinking`` column put in ``chat_template_kwargs``; new dicts.

    When any row has one, every row gets one (true, both templates' default, where missing): a column that
    is absent on some rows reaches the template as None, which SmolLM3's template reads as "no thinking".

    >>> rows = carry_thinking_flags([{"enable_thinking": False}, {}], [{"messages": []}, {"messages": []}])
    >>> [row["chat_template_kwargs"] for row in rows]
    [{'enable_thinking': False}, {'enable_thinking': True}]
    >>> carry_thinking_flags([{}], [{"messages": []}])
    [{'messages': []}]
    """
    flags = [_raw_flag(raw) for raw in raw_rows]
    if all(flag is None for flag in flags):
        return list(converted)
    return [
        None if row is None else {**row, "chat_template_kwargs": {"enable_thinking": True if flag is None else flag}}
        for row, flag in zip(converted, flags, strict=True)
    ]


@dataclass(frozen=True)
class RowMode:
    """The reasoning mode one row trains, and why, in a sentence."""

    mode: str
    explanation: str
    conflict: bool = False
    """The row asks for no thinking but its answer carries a trace."""


def _turns(row: dict) -> list[dict]:
    if isinstance(row.get("messages"), list):
        return [t for t in row["messages"] if isinstance(t, dict)]
    if isinstance(row.get("prompt"), list) and isinstance(row.get("completion"), list):
        return [t for t in row["prompt"] + row["completion"] if isinstance(t, dict)]
    return []


def row_mode(row: dict, switch: str) -> RowMode | None:
    """The mode a converted conversational row trains with a template of this ``switch``; None without an answer.

    >>> row = {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}
    >>> row_mode(row, SYSTEM_FLAG).mode, row_mode(row, TEMPLATE_KWARG).mode, row_mode(row, NO_SWITCH).mode
    ('thinking mode, no trace', 'no thinking', 'no thinking')
    """
    turns = _turns(row)
    answers = [t["content"] for t in turns if t.get("role") == "assistant" and isinstance(t.get("content"), str)]
    if not answers:
        return None
    trace = find_trace(answers[-1])
    if switch == SYSTEM_FLAG:
        flag = system_flag(turns)
        enabled = flag if flag is not None else template_flag(row)
        enabled = True if enabled is None else enabled
        if not enabled and trace:
            return RowMode(NO_THINKING, "No-thinking mode (/no_think), but the answer has a reasoning trace: the "
                           "template puts an empty <think></think> before it, so the model sees two. Remove the "
                           "flag or the trace.", conflict=True)  # fmt: skip
        if not enabled:
            return RowMode(NO_THINKING, "No-thinking mode (/no_think): the template puts an empty "
                           "<think></think> before the answer.")  # fmt: skip
        if trace:
            return RowMode(WITH_TRACE, "Thinking mode (/think) with a reasoning trace.")
        default = "" if flag or template_flag(row) else ", the template's default without a /no_think flag"
        return RowMode(FLAG_NO_TRACE, f"Thinking mode (/think{default}) but no reasoning trace: the model "
                       "learns to skip its reasoning when asked to think. Add /no_think to the system prompt if "
                       "this is a non-thinking example.")  # fmt: skip
    if switch == TEMPLATE_KWARG:
        if trace and template_flag(row) is False:
            return RowMode(WITH_TRACE, "The row sets enable_thinking to false, but its answer has a reasoning "
                           "trace. Remove one of them.", conflict=True)  # fmt: skip
        if trace:
            return RowMode(WITH_TRACE, "Thinking mode: the trace is rendered inside <think></think>.")
        return RowMode(NO_THINKING, "No thinking: the template renders the answer after an empty "
                       "<think></think>, its form for enable_thinking=False.")  # fmt: skip
    if trace:
        return RowMode(WITH_TRACE, "The <think>…</think> trace is plain answer text for this model: its chat "
                       "template has no thinking switch, so the model learns to always write it.")  # fmt: skip
    return RowMode(NO_THINKING, "No reasoning trace.")


def describe_row_mode(row: dict, chat_template: str | None) -> list[tuple[str, str]]:
    """(severity, sentence) for a row's preview: its reasoning mode, when there is anything to say.

    Nothing for a row with no trace and no flag under a template with no switch (most datasets, SmolLM2).
    """
    switch = thinking_switch(chat_template)
    mode = row_mode(row, switch)
    if mode is None:
        return []
    turns = _turns(row)
    plain = switch == NO_SWITCH and mode.mode == NO_THINKING
    if plain and system_flag(turns) is None:
        return []
    if plain:
        return [("info", "The /think or /no_think flag in the system prompt is plain text for this model's "
                 "template: nothing switches thinking on or off.")]  # fmt: skip
    severity = "warning" if mode.conflict or mode.mode == FLAG_NO_TRACE else "info"
    return [(severity, f"Reasoning: {mode.mode}. {mode.explanation}")]


def reasoning_notes(rows: Sequence[dict | None], chat_template: str | None) -> list[str]:
    """Dataset-level sentences on the reasoning modes the rows train, with a warning when they mix by accident.

    Empty for data with no trace and no flag under a template with no switch.
    """
    switch = thinking_switch(chat_template)
    modes = {i: row_mode(row, switch) for i, row in enumerate(rows) if row is not None}
    modes = {i: m for i, m in modes.items() if m is not None}
    counts = Counter(m.mode for m in modes.values())
    flags = any(system_flag(_turns(rows[i])) is not None or template_flag(rows[i]) is not None for i in modes)
    traced, without = counts[WITH_TRACE], counts[FLAG_NO_TRACE] + counts[NO_THINKING]
    if not modes or (switch == NO_SWITCH and not traced and not flags):
        return []
    notes = [f"{traced:,} rows train with a reasoning trace, {without:,} without."]
    numbers = [i for i, m in modes.items() if m.mode == FLAG_NO_TRACE][:10]
    shown = ", ".join(f"{i + 1:,}" for i in numbers)
    if switch == SYSTEM_FLAG and counts[FLAG_NO_TRACE]:
        warning = "Mixed reasoning modes: " if traced else ""
        notes.append(
            f"{warning}{counts[FLAG_NO_TRACE]:,} of them have no /no_think flag, so a SmolLM3-style template renders "
            "them in thinking mode with no trace, and the model learns to skip its reasoning when asked to think. "
            f"Add /no_think to their system prompt if they are non-thinking examples (rows {shown}"
            f"{'…' if counts[FLAG_NO_TRACE] > len(numbers) else ''}; {_SMOLLM3})."
        )
    elif switch == TEMPLATE_KWARG and without:
        notes.append(
            f"A Qwen3-style template renders the {without:,} without a trace after an empty <think></think>, its "
            f"no-thinking form, so the model learns both modes ({_QWEN3})."
        )
    elif switch == NO_SWITCH:
        text = ("This model's chat template has no thinking switch: a <think>…</think> trace is trained as plain "
                "answer text, and /think or /no_think flags as plain prompt text.")  # fmt: skip
        if traced and without:
            text = ("Mixed reasoning modes. " + text + " Nothing tells the model when to reason, so it learns to "
                    "write a trace for some prompts and not for others. Keep one kind, or pick a model whose "
                    f"template has a switch ({_SMOLLM3}).")  # fmt: skip
        notes.append(text)
    conflicts = [i for i, m in modes.items() if m.conflict]
    if conflicts:
        notes.append(
            f"{len(conflicts):,} rows ask for no thinking but their answer has a reasoning trace (rows "
            f"{', '.join(f'{i + 1:,}' for i in conflicts[:10])}): remove the flag or the trace."
        )
    return notes
