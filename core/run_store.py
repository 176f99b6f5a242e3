"""A run's folder on disk: what is written while it trains, and how it is read back after a restart.

    runs/<run id>/config.json     the RunConfig
    runs/<run id>/state.json      phase, message, error, step counts, owner, result paths
    runs/<run id>/metrics.jsonl   one line per logged training step
    runs/<run id>/eval.jsonl      one line per evaluation on the validation split
    runs/<run id>/samples.jsonl   one line per round of probe generations
    runs/<run id>/probes.json     the held-out prompts followed during training
    runs/<run id>/checkpoints/    TRL checkpoints (checkpoint-<step>/)
    runs/<run id>/final/          the trained adapter or model

Every JSON file is written atomically, and JSON-lines files are read
tolerantly: a line cut short by a crash is skipped and counted, never fatal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def write_json(path: Path, payload: dict) -> None:
    """Write atomically, so a crash never leaves a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(path)


def append_jsonl(path: Path, entry: dict) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(entry, default=str) + "\n")


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


@dataclass
class JsonLines:
    rows: list[dict[str, Any]]
    skipped: int  # lines that were not valid JSON objects (e.g. cut short by a crash)


def read_jsonl(path: Path) -> JsonLines:
    """Read a JSON-lines file, skipping (and counting) broken lines."""
    rows: list[dict[str, Any]] = []
    skipped = 0
    if not path.is_file():
        return JsonLines(rows, 0)
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            skipped += 1
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            skipped += 1
    return JsonLines(rows, skipped)


def rewrite_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace a JSON-lines file atomically (used when a resumed run drops steps it will redo)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    tmp.replace(path)


_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
# The trainer writes trainer_state.json last, after the weights, optimizer and scheduler:
# a checkpoint folder without it was cut short (a crash or a full disk) and must not be loaded.
_REQUIRED_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
_WEIGHT_FILES = ("adapter_model.safetensors", "model.safetensors", "model.safetensors.index.json")


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    step: int
    complete: bool
    eval_loss: float | None


def _eval_loss_at(state: dict | None, step: int) -> float | None:
    for entry in reversed((state or {}).get("log_history", [])):
        if entry.get("step") == step and "eval_loss" in entry:
            return float(entry["eval_loss"])
    return None


def list_checkpoints(run_dir: Path) -> list[Checkpoint]:
    """Checkpoints of a run, oldest first, each marked complete or not."""
    folder = Path(run_dir) / "checkpoints"
    found = []
    if not folder.is_dir():
        return found
    for child in folder.iterdir():
        match = _CHECKPOINT.match(child.name)
        if not match or not child.is_dir():
            continue
        step = int(match.group(1))
        complete = all((child / name).is_file() for name in _REQUIRED_FILES) and any(
            (child / name).is_file() for name in _WEIGHT_FILES
        )
        state = read_json(child / "trainer_state.json") if complete else None
        if complete and state is None:
            complete = False  # present but unreadable
        found.append(Checkpoint(child, step, complete, _eval_loss_at(state, step)))
    return sorted(found, key=lambda c: c.step)


def last_complete_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The newest checkpoint that can be resumed from; partial ones are skipped."""
    complete = [c for c in list_checkpoints(run_dir) if c.complete]
    return complete[-1] if complete else None
