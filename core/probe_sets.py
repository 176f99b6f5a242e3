"""Probe sets: the same list of prompts put to several models, as a table to read and download.

Prompts come from a run's ``probes.json`` (the held-out prompts followed
during training), from the held-out rows of a built-in demo, or from pasted
text with one prompt per line. Answers are greedy by default, so a
difference between two columns comes from the weights, not from sampling.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.chat import GenerationSettings, chat_once
from core.runs.store import RunFolder

Progress = Callable[[str], None]

# Greedy and a budget that fits a JSON object or a short reasoning: reproducible columns in seconds per answer.
PROBE_SETTINGS = GenerationSettings(deterministic=True, max_new_tokens=128)
MAX_PROMPTS = 200  # a probe set is for reading; more than this belongs in an evaluation


@dataclass(frozen=True)
class ProbePrompt:
    """One prompt of a probe set: the messages the model sees and, when known, the expected answer."""

    messages: tuple[tuple[str, str], ...]
    """(role, content) pairs ending with the user's message; a tuple so the prompt is hashable and immutable."""
    reference: str | None = None

    @classmethod
    def from_messages(cls, messages: list[dict], reference: str | None = None) -> ProbePrompt:
        return cls(tuple((m["role"], m["content"]) for m in messages), reference)

    @property
    def text(self) -> str:
        """The user's (last) message: what the table shows as the prompt."""
        return self.messages[-1][1]

    def as_messages(self) -> list[dict]:
        return [{"role": role, "content": content} for role, content in self.messages]


def prompts_from_text(text: str) -> list[ProbePrompt]:
    """One prompt per non-empty line of pasted text.

    >>> [p.text for p in prompts_from_text("What is 2+2?\\n\\n  Name a colour.  ")]
    ['What is 2+2?', 'Name a colour.']
    """
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise ValueError("Paste at least one prompt, one per line.")
    if len(lines) > MAX_PROMPTS:
        raise ValueError(f"That is {len(lines)} prompts; a probe set takes at most {MAX_PROMPTS}. Paste fewer.")
    return [ProbePrompt.from_messages([{"role": "user", "content": line}]) for line in lines]


def prompts_from_rows(rows: list[dict], limit: int) -> list[ProbePrompt]:
    """Prompts and reference answers from conversational rows (``messages`` or prompt-completion)."""
    from core.data.to_trl import prompt_messages, reference_answer
    from core.data.tool_templates import hermes_text_row, needs_tool_template

    prompts = []
    for row in rows:
        if len(prompts) >= limit:
            break
        # A probe prompt is (role, text) pairs: a tool list can only reach the model as text in the system message.
        row = hermes_text_row(row) if needs_tool_template(row) else row
        try:
            prompts.append(ProbePrompt.from_messages(prompt_messages(row), reference_answer(row) or None))
        except (ValueError, KeyError, StopIteration):
            continue  # not conversational (plain text rows): nothing to ask
    return prompts


def prompts_from_demo(name: str, limit: int = 10) -> list[ProbePrompt]:
    """The first ``limit`` held-out rows of a built-in demo, with their system prompt and reference answer."""
    from core.data.prepare import load_demo_rows

    _, held_out, _ = load_demo_rows(name)
    return prompts_from_rows(held_out, limit)


def _held_out_lookup(dataset: str) -> dict[str, ProbePrompt]:
    """Held-out prompts of a run's dataset by user text, to recover system prompts that probes.json leaves out."""
    from core.data.prepare import prepare_training_data

    try:
        data = prepare_training_data(dataset)
    except Exception:  # the file may have moved since training; the plain prompts still work
        return {}
    return {p.text: p for p in prompts_from_rows(data.eval_rows, MAX_PROMPTS)}


def prompts_from_run(run_dir: str | Path) -> list[ProbePrompt]:
    """The probe prompts a run followed during training, with the full prompt (system message included)."""
    run = RunFolder(run_dir)
    probes = run.read_probes()
    if not probes:
        raise ValueError(f"The run {run.run_id} has no probe prompts (it recorded none, or they were lost).")
    dataset = (run.read_config() or {}).get("dataset")
    known = _held_out_lookup(dataset) if dataset else {}
    prompts = []
    for probe in probes:
        text, reference = probe["prompt"], probe.get("reference") or None
        full = known.get(text)
        prompts.append(full if full else ProbePrompt.from_messages([{"role": "user", "content": text}], reference))
    return prompts


def default_label(ref: str) -> str:
    """A short column name for a model ref: a model id, a folder's name, 'run id/final' or 'run id/checkpoint-20'."""
    path = Path(ref)
    if not path.is_dir():
        return ref
    run = RunFolder.holding(path)
    return f"{run.run_id}/{path.name}" if run is not None else path.name


def _unique_labels(refs: list[str], labels: dict[str, str] | None) -> dict[str, str]:
    result, seen = {}, set()
    for ref in refs:
        label = (labels or {}).get(ref) or default_label(ref)
        candidate, number = label, 2
        while candidate in seen:
            candidate, number = f"{label} ({number})", number + 1
        seen.add(candidate)
        result[ref] = candidate
    return result


@dataclass
class ProbeResults:
    """Answers of every model to every prompt; ``rows`` holds one dict per (prompt, model)."""

    prompts: list[ProbePrompt]
    labels: dict[str, str]
    """Model ref -> column name, in column order."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False

    def table(self) -> list[dict[str, str]]:
        """One row per prompt: the prompt, its reference answer and one column per model."""
        answers = {(row["prompt_index"], row["model"]): row["answer"] for row in self.rows}
        table = []
        for index, prompt in enumerate(self.prompts):
            line = {"prompt": prompt.text, "reference": prompt.reference or ""}
            for ref, label in self.labels.items():
                line[label] = answers.get((index, ref), "")
            table.append(line)
        return table

    def to_csv(self, path: str | Path) -> Path:
        """Write the table (one row per prompt, one column per model) as CSV; returns the path."""
        path = Path(path)
        columns = ["prompt", "reference", *self.labels.values()]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.table())
        return path

    def to_jsonl(self, path: str | Path) -> Path:
        """Write one JSON line per (prompt, model) answer; returns the path."""
        path = Path(path)
        with path.open("w", encoding="utf-8") as handle:
            for row in self.rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path


def run_probe_set(
    pool,
    prompts: list[ProbePrompt],
    refs: list[str],
    settings: GenerationSettings = PROBE_SETTINGS,
    labels: dict[str, str] | None = None,
    progress: Progress | None = None,
    stop_event: threading.Event | None = None,
) -> ProbeResults:
    """Ask every model every prompt. Models go one at a time, so each is loaded once.

    ``stop_event`` ends the run after the current answer; the results so far
    are returned with ``stopped=True``.
    """
    if not prompts:
        raise ValueError("There are no prompts to run: paste some, or pick a run or a demo.")
    if not refs:
        raise ValueError("Pick at least one model to ask.")
    refs = list(dict.fromkeys(refs))
    results = ProbeResults(list(prompts), _unique_labels(refs, labels))
    for model_number, ref in enumerate(refs, start=1):
        with pool.use(ref, progress=progress) as loaded:
            for index, prompt in enumerate(prompts):
                if stop_event is not None and stop_event.is_set():
                    results.stopped = True
                    return results
                if progress:
                    progress(f"Model {model_number} of {len(refs)}, prompt {index + 1} of {len(prompts)}...")
                start = time.perf_counter()
                answer = chat_once(loaded.model, loaded.tokenizer, prompt.as_messages(), settings, stop_event)
                results.rows.append(
                    {
                        "prompt_index": index,
                        "prompt": prompt.text,
                        "reference": prompt.reference,
                        "model": ref,
                        "label": results.labels[ref],
                        "answer": answer,
                        "seconds": round(time.perf_counter() - start, 3),
                    }
                )
    return results
