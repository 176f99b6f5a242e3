"""Small pure functions that turn one example into one of TRL's formats.

Each takes one row and returns a new dict (the input is never mutated), in
the style of TRL's ``data_utils.py``; ``convert_rows`` applies them to a whole
dataset and records, by row, every row it could not convert. A row that can't
be converted raises ``DataError`` naming the field and what to do; nothing
else escapes (the converters are fuzzed with hypothesis).

Conversational sources keep message contents as they are, even when they are
not text: ``validate`` then names the row, turn and problem. Columns mapped
from raw data must hold text (numbers are written out as text).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.data.errors import DataError, type_name
from core.data.formats import (
    ALPACA,
    CONVERSATIONAL_PROMPT_COMPLETION,
    MESSAGES,
    OPENAI_CHAT,
    PROMPT_COMPLETION,
    RAW_COLUMNS,
    SHAREGPT,
    TEXT,
)
from core.data.tools import RESULT_ROLES, TOOL_ROLE, row_tools, tool_turn

# Speaker names seen in ShareGPT-style and other exports, mapped to the roles chat templates know.
ROLE_ALIASES = {
    "user": "user",
    "human": "user",
    "prompter": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "bot": "assistant",
    "chatgpt": "assistant",
    "model": "assistant",
    "ai": "assistant",
    "system": "system",
    "developer": "system",  # OpenAI's newer name for the system message
    **dict.fromkeys(RESULT_ROLES, TOOL_ROLE),  # a tool's result (core/data/tools.py)
}
KNOWN_ROLES = ("system", "user", "assistant", TOOL_ROLE)


@dataclass(frozen=True)
class ColumnMapping:
    """Which of the user's columns play which part in a training example."""

    prompt: str
    completion: str
    system: str | None = None
    reasoning: str | None = None
    context: str | None = None

    def columns(self) -> list[str]:
        """The columns this mapping reads, prompt and completion first."""
        parts = (self.prompt, self.completion, self.system, self.reasoning, self.context)
        return [c for c in parts if c]


def check_mapping(mapping: ColumnMapping, columns: list[str]) -> None:
    """Raise a DataError when the mapping names a column that doesn't exist or uses one column twice.

    >>> check_mapping(ColumnMapping("q", "a"), ["q", "a"])
    >>> check_mapping(ColumnMapping("q", "q"), ["q"])
    Traceback (most recent call last):
    ...
    core.data.errors.DataError: Column 'q' is picked twice. Each part (prompt, answer, ...) needs its own column.
    """
    if not mapping.prompt or not mapping.completion:
        raise DataError("Pick a column for the prompt and one for the answer (completion).")
    used = mapping.columns()
    for column in used:
        if column not in columns:
            raise DataError(f"There is no column '{column}'. The columns are: {', '.join(columns)}.", field=column)
    duplicates = sorted({c for c in used if used.count(c) > 1})
    if duplicates:
        raise DataError(
            f"Column '{duplicates[0]}' is picked twice. Each part (prompt, answer, ...) needs its own column."
        )


def normalize_role(role: object) -> object:
    """The chat-template role for a speaker name; unknown names are returned unchanged (validation reports them).

    >>> normalize_role("Human"), normalize_role("gpt"), normalize_role("narrator")
    ('user', 'assistant', 'narrator')
    """
    if isinstance(role, str):
        return ROLE_ALIASES.get(role.strip().lower(), role)
    return role


def wrap_reasoning(reasoning: str, answer: str) -> str:
    """Put the reasoning before the answer inside ``<think>`` tags (sft-facts §2).

    >>> wrap_reasoning("2 + 2 is 4.", "The answer is 4.")
    '<think>\\n2 + 2 is 4.\\n</think>\\nThe answer is 4.'
    """
    return f"<think>\n{reasoning.strip()}\n</think>\n{answer.strip()}"


def column_text(row: dict, column: str, part: str, required: bool = True) -> str:
    """The text in ``row[column]``; numbers become text, anything else is an error naming the column.

    >>> column_text({"a": 42}, "a", "answer")
    '42'
    >>> column_text({"a": " "}, "a", "answer")
    Traceback (most recent call last):
    ...
    core.data.errors.DataError: The answer column 'a' is empty. Fill it in or leave this row out.
    """
    value = row.get(column)
    if value is None:
        if not required:
            return ""
        missing = "is missing" if column not in row else "is empty (null)"
        raise DataError(f"The {part} column '{column}' {missing}. Fill it in or leave this row out.", field=column)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise DataError(
            f"The {part} column '{column}' holds {type_name(value)}, not text. Pick a text column, "
            "or turn the value into text (e.g. a JSON string) before loading.",
            field=column,
        )
    text = str(value).strip()
    if not text and required:
        raise DataError(f"The {part} column '{column}' is empty. Fill it in or leave this row out.", field=column)
    return text


def mapped_parts(row: dict, mapping: ColumnMapping) -> tuple[list[dict], list[dict]]:
    """Prompt messages and completion messages built from mapped columns.

    >>> mapped_parts({"q": "Hi?", "a": "Hello."}, ColumnMapping("q", "a"))
    ([{'role': 'user', 'content': 'Hi?'}], [{'role': 'assistant', 'content': 'Hello.'}])
    """
    user = column_text(row, mapping.prompt, "prompt")
    if mapping.context:
        context = column_text(row, mapping.context, "context", required=False)
        user = f"{user}\n\n{context}" if context else user
    answer = column_text(row, mapping.completion, "answer")
    if mapping.reasoning:
        reasoning = column_text(row, mapping.reasoning, "reasoning", required=False)
        answer = wrap_reasoning(reasoning, answer) if reasoning else answer
    prompt = []
    if mapping.system:
        system = column_text(row, mapping.system, "system prompt", required=False)
        if system:
            prompt.append({"role": "system", "content": system})
    prompt.append({"role": "user", "content": user})
    return prompt, [{"role": "assistant", "content": answer}]


def to_conversational_prompt_completion(row: dict, mapping: ColumnMapping) -> dict:
    """Map arbitrary columns into TRL's conversational prompt-completion format.

    Loss then falls on the completion (the assistant answer) only, which is
    TRL's default for prompt-completion data (sft-facts §2).

    >>> row = {"Question": "What is 2 + 2?", "Complex_CoT": "Add them.", "Response": "4"}
    >>> out = to_conversational_prompt_completion(row, ColumnMapping("Question", "Response", reasoning="Complex_CoT"))
    >>> out["prompt"]
    [{'role': 'user', 'content': 'What is 2 + 2?'}]
    >>> out["completion"][0]["content"]
    '<think>\\nAdd them.\\n</think>\\n4'
    """
    prompt, completion = mapped_parts(row, mapping)
    return {"prompt": prompt, "completion": completion}


def alpaca_parts(row: dict) -> tuple[list[dict], list[dict]]:
    """Alpaca's instruction (+ input) as the user turn and output as the answer.

    >>> alpaca_parts({"instruction": "Add.", "input": "2 and 2", "output": "4"})[0]
    [{'role': 'user', 'content': 'Add.\\n\\n2 and 2'}]
    """
    mapping = ColumnMapping(
        "instruction",
        "output",
        system="system" if "system" in row else None,
        context="input" if "input" in row else None,
    )
    return mapped_parts(row, mapping)


def _turn(turn: object, role_key: str, content_key: str) -> object:
    if not isinstance(turn, dict):
        return turn  # validation reports "turn N is not an object"
    out = {"role": normalize_role(turn.get(role_key, turn.get("role")))}
    if content_key in turn or "content" in turn:
        out["content"] = turn.get(content_key, turn.get("content"))
    return out


def _turns(turns: list, role_key: str, content_key: str, first: int = 1) -> list:
    """Each turn with its role mapped; tool calls and results in TRL's shape (core/data/tools.py)."""
    return [
        tool_turn(turn, role_key, content_key, number) or _turn(turn, role_key, content_key)
        for number, turn in enumerate(turns, start=first)
    ]


def conversation_turns(row: dict, source_format: str) -> list:
    """The turns of a conversational row, with speaker names mapped to template roles.

    >>> conversation_turns({"conversations": [{"from": "human", "value": "Hi"}]}, "sharegpt")
    [{'role': 'user', 'content': 'Hi'}]
    """
    if source_format == SHAREGPT:
        key, role_key, content_key = "conversations", "from", "value"
    else:
        key, role_key, content_key = "messages", "role", "content"
    turns = row.get(key)
    if not isinstance(turns, list):
        raise DataError(
            f"This row has no '{key}' list (it has {', '.join(map(str, row)) or 'no fields'}). "
            "Leave it out or fix its columns.",
            field=key,
        )
    out = _turns(turns, role_key, content_key)
    system = row.get("system")
    if source_format == SHAREGPT and isinstance(system, str) and system.strip():
        if not (out and isinstance(out[0], dict) and out[0].get("role") == "system"):
            out.insert(0, {"role": "system", "content": system.strip()})
    return out


def split_at_last_answer(turns: list) -> tuple[list, list]:
    """Split a conversation before its last assistant turn: (prompt, [last answer]).

    >>> split_at_last_answer([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    ([{'role': 'user', 'content': 'Hi'}], [{'role': 'assistant', 'content': 'Hello'}])
    """
    last = max((i for i, t in enumerate(turns) if isinstance(t, dict) and t.get("role") == "assistant"), default=None)
    if last is None:
        raise DataError("This conversation has no assistant turn, so there is no answer to learn. Leave it out.")
    if last != len(turns) - 1:
        raise DataError(
            "This conversation goes on after its last assistant answer; prompt-completion can't hold those turns. "
            "Remove the trailing turns, or keep the 'messages' format."
        )
    return turns[:last], turns[last:]


def _conversation(row: dict, source_format: str, mapping: ColumnMapping | None) -> tuple[list, list | None]:
    """(turns, completion) where completion is None when the source gives one list of turns."""
    if source_format in (MESSAGES, SHAREGPT, OPENAI_CHAT):
        return conversation_turns(row, source_format), None
    if source_format == CONVERSATIONAL_PROMPT_COMPLETION:
        prompt, completion = row.get("prompt"), row.get("completion")
        for name, value in (("prompt", prompt), ("completion", completion)):
            if not isinstance(value, list):
                raise DataError(
                    f"The {name} is {type_name(value)}, not a list of messages like in the other rows.", field=name
                )
        return _turns(prompt, "role", "content"), _turns(completion, "role", "content", first=len(prompt) + 1)
    if source_format == ALPACA:
        return alpaca_parts(row)
    if source_format == PROMPT_COMPLETION:
        return mapped_parts(row, ColumnMapping("prompt", "completion"))
    if source_format == RAW_COLUMNS:
        if mapping is None:
            raise DataError("These rows need a column mapping: pick the prompt and answer columns first.")
        return mapped_parts(row, mapping)
    raise DataError(f"Rows in the '{source_format}' format can't be turned into a conversation.")


def _plain_text(turns: list) -> str:
    return "\n\n".join(str(t.get("content", "")) for t in turns if isinstance(t, dict))


def convert_row(row: dict, source_format: str, target_format: str, mapping: ColumnMapping | None = None) -> dict:
    """Convert one row from ``source_format`` into the TRL ``target_format``; a new dict, the input untouched.

    >>> convert_row({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
    ...             "sharegpt", "conversational_prompt_completion")
    {'prompt': [{'role': 'user', 'content': 'Hi'}], 'completion': [{'role': 'assistant', 'content': 'Hello'}]}
    >>> convert_row({"text": "Once upon a time"}, "text", "messages")
    Traceback (most recent call last):
    ...
    core.data.errors.DataError: Plain text has no prompt and answer to tell apart; it can only be trained as 'text'.
    """
    if not isinstance(row, dict):
        raise DataError(f"This row is {type_name(row)}, not an object with named fields. Leave it out.")
    if source_format == TEXT:
        if target_format != TEXT:
            raise DataError("Plain text has no prompt and answer to tell apart; it can only be trained as 'text'.")
        return {"text": row.get("text")}
    if source_format == PROMPT_COMPLETION and target_format in (PROMPT_COMPLETION, TEXT):
        prompt, completion = row.get("prompt"), row.get("completion")
        if target_format == PROMPT_COMPLETION:
            return {"prompt": prompt, "completion": completion}
        return {"text": f"{column_text(row, 'prompt', 'prompt')}{column_text(row, 'completion', 'completion')}"}
    turns, completion = _conversation(row, source_format, mapping)
    tools = (
        row_tools(row)
        if source_format in (MESSAGES, SHAREGPT, OPENAI_CHAT, CONVERSATIONAL_PROMPT_COMPLETION)
        else None
    )
    extra = {"tools": tools} if tools else {}  # TRL passes this column to the chat template (core/data/tools.py)
    if target_format == MESSAGES:
        return {"messages": turns + (completion or []), **extra}
    if target_format == CONVERSATIONAL_PROMPT_COMPLETION:
        if completion is None:
            turns, completion = split_at_last_answer(turns)
        return {"prompt": turns, "completion": completion, **extra}
    if completion is None or source_format == CONVERSATIONAL_PROMPT_COMPLETION:
        raise DataError(
            "Conversations need the model's chat template: pick 'messages' or conversational prompt-completion "
            "as the target format."
        )
    prompt_text = _plain_text(turns)
    if target_format == PROMPT_COMPLETION:
        return {"prompt": f"{prompt_text}\n", "completion": _plain_text(completion)}
    if target_format == TEXT:
        return {"text": f"{prompt_text}\n{_plain_text(completion)}"}
    raise DataError(f"'{target_format}' is not one of TRL's formats (text, messages, prompt_completion, ...).")


def prompt_messages(row: dict) -> list[dict]:
    """The messages a model sees before it answers, for a conversational row.

    For ``messages`` rows that is everything before the last assistant turn;
    for prompt-completion rows it is the prompt.

    >>> prompt_messages({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})
    [{'role': 'user', 'content': 'Hi'}]
    """
    if "messages" in row:
        messages = list(row["messages"])
        last_assistant = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=len(messages))
        return messages[:last_assistant]
    if "prompt" in row and isinstance(row["prompt"], list):
        return list(row["prompt"])
    raise DataError("This row is not conversational: it has neither 'messages' nor a list 'prompt'.")


def reference_answer(row: dict) -> str:
    """The answer the training data expects for a conversational row."""
    if "messages" in row:
        assistant = [m for m in row["messages"] if m["role"] == "assistant"]
        if assistant and assistant[-1].get("tool_calls"):  # a call: the answer is the call, written as text
            from core.data.tool_templates import tool_call_text

            return "\n".join(tool_call_text(call) for call in assistant[-1]["tool_calls"])
        return assistant[-1]["content"] if assistant else ""
    if "completion" in row:
        completion = row["completion"]
        return completion[-1]["content"] if isinstance(completion, list) else str(completion)
    return ""


def freeze(value: object) -> object:
    """A hashable copy of a JSON-like value (dicts become sorted tuples), for finding duplicate rows.

    Cheaper than serialising: the strings inside are shared, not copied.

    >>> freeze({"b": [1, {"c": 2}], "a": "x"}) == freeze({"a": "x", "b": [1, {"c": 2}]})
    True
    """
    if isinstance(value, dict):
        try:
            items = sorted(value.items())  # JSON keys are unique strings, so values are never compared
        except TypeError:  # keys of mixed types
            items = sorted(value.items(), key=lambda item: repr(item[0]))
        return tuple((k, v if type(v) is str else freeze(v)) for k, v in items)
    if isinstance(value, list | tuple):
        return ("__list__", *(v if type(v) is str else freeze(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value
