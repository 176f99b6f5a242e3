"""Preference pairs (a chosen and a rejected answer to one prompt), read as SFT data on the chosen answers.

Preference training (TRL's DPOTrainer) compares the two answers; SFT can only learn to write answers, so
it learns from the chosen one and leaves the rejected one out (TRL's preference formats:
https://huggingface.co/docs/trl/dataset_formats). The shapes people bring:

- standard: ``{"prompt": "...", "chosen": "...", "rejected": "..."}``
- conversational: ``prompt``, ``chosen`` and ``rejected`` are lists of messages
- implicit prompt: ``chosen`` and ``rejected`` are whole conversations that share their first turns
- ShareGPT (LLaMA-Factory's export): ``conversations`` holds the prompt turns, ``chosen`` and ``rejected``
  are one ``{"from": "gpt", "value": ...}`` turn each
- Anthropic HH: ``chosen`` is one text of ``\\n\\nHuman: … \\n\\nAssistant: …`` turns

``to_prompt_completion`` turns one such row into TRL's conversational prompt-completion row, which the
rest of the wizard already converts and checks.
"""

from __future__ import annotations

import re

from core.data.errors import DataError, type_name
from core.data.to_trl import conversation_turns, normalize_role, split_at_last_answer

_PROMPT_COLUMNS = ("prompt", "question", "instruction", "input", "query")
_CONVERSATION_COLUMNS = ("conversations", "messages")
_HH_TURN = re.compile(r"\n\n(Human|Assistant): ")


def is_preference_row(row: dict) -> bool:
    """A row with a ``chosen`` and a ``rejected`` answer.

    >>> is_preference_row({"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."})
    True
    >>> is_preference_row({"prompt": "Hi", "completion": "Hello!"})
    False
    """
    return "chosen" in row and "rejected" in row


def prompt_column(columns) -> str | None:
    """The column that holds the prompt of a preference row, if any (``None``: the prompt is implicit).

    >>> prompt_column(["conversations", "chosen", "rejected"]), prompt_column(["chosen", "rejected"])
    ('conversations', None)
    """
    for name in (*_CONVERSATION_COLUMNS, *_PROMPT_COLUMNS):
        if name in columns:
            return name
    return None


def chosen_holds_prompt(row: dict) -> bool:
    """Whether the chosen answer is the whole conversation, its prompt included (UltraFeedback, HH, implicit).

    >>> chosen_holds_prompt({"prompt": "Hi", "chosen": [{"role": "user", "content": "Hi"}], "rejected": []})
    True
    >>> chosen_holds_prompt({"prompt": "Hi", "chosen": "Hello", "rejected": "No"})
    False
    """
    chosen = row.get("chosen")
    if isinstance(chosen, str):
        return bool(_HH_TURN.search(chosen)) or prompt_column(row) is None
    if isinstance(chosen, list):
        roles = [normalize_role(t.get("role", t.get("from"))) for t in chosen if isinstance(t, dict)]
        return any(role != "assistant" for role in roles) or prompt_column(row) is None
    return prompt_column(row) is None


def parse_hh(text: str) -> list[dict]:
    """Anthropic HH's ``\\n\\nHuman: … \\n\\nAssistant: …`` text as a list of messages.

    >>> parse_hh("\\n\\nHuman: Hi\\n\\nAssistant: Hello!")
    [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
    """
    pieces = _HH_TURN.split(text)
    turns = []
    for speaker, content in zip(pieces[1::2], pieces[2::2], strict=True):
        turns.append({"role": "user" if speaker == "Human" else "assistant", "content": content.strip()})
    return turns


def _as_turns(value: object, part: str) -> list:
    """Messages from a text, one turn object or a list of turns (ShareGPT or role/content keys)."""
    if isinstance(value, list):
        return conversation_turns({"conversations": value}, "sharegpt")
    if isinstance(value, dict):
        return conversation_turns({"conversations": [value]}, "sharegpt")
    if isinstance(value, str):
        if _HH_TURN.search(value):
            return parse_hh(value)
        if not value.strip():
            raise DataError(f"The {part} is empty. Fill it in or leave this row out.", field=part)
        return [{"role": "assistant" if part == "chosen" else "user", "content": value.strip()}]
    raise DataError(f"The {part} is {type_name(value)}, not text or a list of messages.", field=part)


def to_prompt_completion(row: dict) -> dict:
    """The row as conversational prompt-completion: the prompt, and the chosen answer as the completion.

    >>> to_prompt_completion({"prompt": "2+2?", "chosen": "4", "rejected": "5"})
    {'prompt': [{'role': 'user', 'content': '2+2?'}], 'completion': [{'role': 'assistant', 'content': '4'}]}
    >>> sharegpt = {"conversations": [{"from": "human", "value": "Hi"}], "chosen": {"from": "gpt", "value": "Hey!"},
    ...             "rejected": {"from": "gpt", "value": "..."}}
    >>> to_prompt_completion(sharegpt)["completion"]
    [{'role': 'assistant', 'content': 'Hey!'}]
    >>> to_prompt_completion({"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hey"}],
    ...                       "rejected": []})["prompt"]
    [{'role': 'user', 'content': 'Hi'}]
    """
    if "chosen" not in row or row["chosen"] is None:
        raise DataError("This row has no chosen answer. Leave it out.", field="chosen")
    chosen = _as_turns(row["chosen"], "chosen")
    column = prompt_column(row)
    if chosen_holds_prompt(row) or row.get(column) in (None, "", []):
        # the chosen answer is the whole conversation (UltraFeedback, HH): its first turns are the prompt
        prompt, chosen = split_at_last_answer(chosen)
    else:
        prompt = _as_turns(row[column], "prompt")
    system = row.get("system")
    if isinstance(system, str) and system.strip() and not (prompt and prompt[0].get("role") == "system"):
        prompt = [{"role": "system", "content": system.strip()}, *prompt]
    return {"prompt": prompt, "completion": chosen}
