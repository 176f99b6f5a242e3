"""What Try it must repeat from a run's training rows: the system prompt they all start with.

A model fine-tuned on rows that share a system prompt learns the pair: given that prompt it answers in the
trained format, without it a small model often falls back to prose (the JSON demo: exact JSON with its
system prompt, "Lisbon, 31, a hospital nurse." without). So Try it fills the prompt in for a run's model.

The process that trains a run records the prompt when it prepares the rows (``record_trained_with``);
``trained_system_prompt`` is the one place that answers "which system prompt did this run train with", for
runs recorded before that file existed too (from the dataset the run's config names).
"""

from __future__ import annotations

import threading
from collections import Counter

from core.runs.store import RunFolder


def first_system_message(row: dict) -> str | None:
    """The system message a conversational row starts with, or None (no system message, or not conversational).

    >>> first_system_message({"messages": [{"role": "system", "content": "Be JSON."}]})
    'Be JSON.'
    >>> first_system_message({"prompt": [{"role": "user", "content": "x"}], "completion": []}) is None
    True
    """
    turns = row.get("messages") if isinstance(row.get("messages"), list) else row.get("prompt")
    if not isinstance(turns, list) or not turns or not isinstance(turns[0], dict):
        return None
    first = turns[0]
    if first.get("role") != "system" or not isinstance(first.get("content"), str) or not first["content"].strip():
        return None
    return first["content"]


def shared_system_prompt(rows: list[dict]) -> str:
    """The system prompt most rows start with, when at least half of them do; else "".

    Rows that each carry their own system prompt teach no single one, and Try it should not pretend otherwise.

    >>> row = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "q"}]}
    >>> shared_system_prompt([row, row, {"messages": [{"role": "user", "content": "q"}]}])
    'S'
    >>> shared_system_prompt([{"text": "plain"}]), shared_system_prompt([])
    ('', '')
    """
    counts = Counter(prompt for prompt in map(first_system_message, rows) if prompt is not None)
    if not counts:
        return ""
    prompt, count = counts.most_common(1)[0]
    return prompt if 2 * count >= len(rows) else ""


def record_trained_with(folder: RunFolder, train_rows: list[dict]) -> str:
    """Write the system prompt of the rows a run is about to train on into its folder; returns it."""
    prompt = shared_system_prompt(train_rows)
    folder.write_trained_with({"system_prompt": prompt})
    return prompt


_cache: dict[tuple, str] = {}
_cache_lock = threading.Lock()


def trained_system_prompt(folder: RunFolder) -> str:
    """The system prompt the run's training rows start with ("" when they have none in common).

    What the run recorded when it trained; for a run that recorded nothing (started before this was kept),
    the rows of the dataset its config names, if that dataset can still be read ("" if not). Callers check
    that the run belongs to the person asking before they show the answer.
    """
    recorded = folder.read_trained_with()
    if recorded is not None:
        prompt = recorded.get("system_prompt")
        return prompt if isinstance(prompt, str) else ""
    key = (str(folder.path), folder.stamps()[0])
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    prompt = _from_dataset((folder.read_config() or {}).get("dataset"))
    with _cache_lock:
        _cache[key] = prompt
    return prompt


def _from_dataset(dataset: object) -> str:
    from core.data.prepare import DataError, prepare_training_data

    if not isinstance(dataset, str) or not dataset.strip():
        return ""
    try:
        return shared_system_prompt(prepare_training_data(dataset).train_rows)
    except (DataError, OSError, ValueError):
        return ""  # the dataset was moved or deleted since: nothing to go by
