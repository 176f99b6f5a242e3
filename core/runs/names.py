"""Readable run names: what the data was, which model, when it started ("json-extraction · SmolLM2-135M · 14:05").

A run id (``20260101-140512-3fa9c2d1``) stays the key everywhere; the name is only what a person reads in a
run list or a model picker, short enough to fit a dropdown.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

# A folder the Data step writes for one use of a dataset ends with its time and a random tail
# (core/data/wizard.py new_dataset_folder): "my-data-jsonl-20260101-120000-a1b2c3".
_FOLDER_STAMP = re.compile(r"-\d{8}-\d{6}-[0-9a-f]{6}$")


def dataset_short_name(dataset: str) -> str:
    """The dataset as a person named it: a demo's name, a file's or folder's name without the app's stamp.

    >>> dataset_short_name("json_extraction"), dataset_short_name("/data/ann/my-rows-jsonl-20260101-120000-a1b2c3")
    ('json-extraction', 'my-rows-jsonl')
    >>> dataset_short_name("/home/ann/support.jsonl")
    'support'
    """
    text = str(dataset or "").strip().rstrip("/")
    if not text:
        return "no dataset"
    if "/" not in text and "\\" not in text:
        return text.replace("_", "-")  # a built-in demo
    path = Path(text)
    name = path.stem if path.suffix in (".jsonl", ".json", ".txt", ".csv", ".parquet") else path.name
    return _FOLDER_STAMP.sub("", name) or name


def model_short_name(model_id: str) -> str:
    """The model's own name, without its organisation or folder; "-Instruct" left out to keep names short.

    >>> model_short_name("HuggingFaceTB/SmolLM2-135M-Instruct"), model_short_name("/models/tiny-random-llama")
    ('SmolLM2-135M', 'tiny-random-llama')
    """
    name = str(model_id or "").rstrip("/").replace("\\", "/").split("/")[-1] or "model"
    return name.removesuffix("-Instruct")


def start_time_text(created_at: float | None, now: float | None = None) -> str:
    """The start time: "14:05" today, "3 Jan 14:05" another day of this year, "3 Jan 2025 14:05" before.

    >>> start_time_text(None)
    'not started'
    """
    if not created_at:
        return "not started"
    when, today = time.localtime(created_at), time.localtime(now if now is not None else time.time())
    if when.tm_year != today.tm_year:
        return f"{when.tm_mday} {time.strftime('%b %Y %H:%M', when)}"
    if when.tm_yday != today.tm_yday:
        return f"{when.tm_mday} {time.strftime('%b %H:%M', when)}"
    return time.strftime("%H:%M", when)


def readable_run_name(dataset: str, model_id: str, created_at: float | None, now: float | None = None) -> str:
    """dataset · model · start time, e.g. "json-extraction · SmolLM2-135M · 14:05"."""
    return " · ".join((dataset_short_name(dataset), model_short_name(model_id), start_time_text(created_at, now)))


def distinct_names(names: list[str]) -> list[str]:
    """The names with a number added to the second and later of any that repeat (two runs started the same minute).

    >>> distinct_names(["a", "b", "a", "a"])
    ['a', 'b', 'a (2)', 'a (3)']
    """
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out
