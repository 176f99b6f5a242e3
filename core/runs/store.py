"""A run's folder on disk: the one module that knows its file names and opens its files.

    <run id>/config.json       the RunConfig                                  written once, at start
    <run id>/state.json        phase, message, error, steps, owner, results   the run's one writer
    <run id>/metrics.jsonl     one line per logged training step              the run's one writer
    <run id>/eval.jsonl        one line per evaluation on the validation split
    <run id>/samples.jsonl     one line per round of probe generations
    <run id>/probes.json       the held-out prompts followed during training
    <run id>/trained-with.json the system prompt of the training rows          the run's one writer
    <run id>/checkpoints/      TRL checkpoints (checkpoint-<step>/)           the trainer
    <run id>/final/            the trained adapter or model                   the trainer
    <run id>/stop-requested    present once Stop was pressed                  the app, read by the worker
    <run id>/worker.log        the worker's stdout and stderr                 the worker process
    <run id>/worker.pid        the worker's process id while it runs          the app
    <run id>/votes.jsonl       blind A/B votes (Try it)                       the app
    <run id>/evaluation.json   the latest before/after scores (Try it)        the app
    <run id>/share/<what>/     the folder pushed to the Hub (Share)           the app
    <run id>/remote.json       a remote run's Hugging Face Job, its last logs the app (core/runs/remote.py)

"The run's one writer" is the process that trains it while it trains (the worker, or the app's own
thread with ``SFT_COACH_TRAIN_IN=thread``) and the app before and after; ``core/runs/launcher.py`` hands
the pen over. Everything else reads through ``RunFolder`` (as trackio's ``SQLiteStorage`` is the only
owner of its database): the run list, the charts, Try it, Share, the time estimate.

Every JSON file is written atomically, and JSON-lines files are read tolerantly: a line cut short by
a crash is skipped and counted, never fatal.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG = "config.json"
STATE = "state.json"
METRICS = "metrics.jsonl"
EVALS = "eval.jsonl"
SAMPLES = "samples.jsonl"
PROBES = "probes.json"
TRAINED_WITH = "trained-with.json"
VOTES = "votes.jsonl"
EVALUATION = "evaluation.json"
ESTIMATE = "estimate.json"
REMOTE = "remote.json"
STOP_FLAG = "stop-requested"
WORKER_LOG = "worker.log"
WORKER_PID = "worker.pid"
CHECKPOINTS = "checkpoints"
FINAL = "final"
SHARE = "share"
ROWS = {"metrics": METRICS, "evals": EVALS, "samples": SAMPLES}  # the row logs a run appends to as it trains


def _write_json(path: Path, payload: Any) -> None:
    """Write atomically, so a crash never leaves a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(path)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


@dataclass
class JsonLines:
    rows: list[dict[str, Any]]
    skipped: int  # lines that were not valid JSON objects (e.g. cut short by a crash)


def parse_lines(text: str) -> JsonLines:
    """JSON objects, one per line; broken lines are skipped and counted.

    >>> parse_lines('{"step": 1}\\n{"step": 2, "lo\\n[3]\\n')
    JsonLines(rows=[{'step': 1}], skipped=2)
    """
    rows: list[dict[str, Any]] = []
    skipped = 0
    for line in text.splitlines():
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


def _read_jsonl(path: Path) -> JsonLines:
    try:
        return parse_lines(path.read_text(errors="replace"))
    except OSError:
        return JsonLines([], 0)


def _append_jsonl(path: Path, entry: dict, durable: bool = False) -> None:
    """Append one JSON line with a single write to a file opened for appending.

    With ``O_APPEND`` the kernel places each write at the end of the file, so two writers never overwrite
    each other; a crash can at worst leave a cut line, which the readers skip and count. ``durable``: fsync
    before returning (a vote a person cast must survive a power cut; a metric row can be redone).
    """
    data = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def _rewrite_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
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


class RunFolder:
    """Typed reads and writes of one run folder (the layout is in this module's docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunFolder) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def run_id(self) -> str:
        return self.path.name

    def is_run(self) -> bool:
        """True when the folder holds a run (its config and state are there)."""
        return (self.path / CONFIG).is_file() and (self.path / STATE).is_file()

    @classmethod
    def holding(cls, model_path: str | Path) -> RunFolder | None:
        """The run a result (``final/``) or checkpoint (``checkpoints/checkpoint-N/``) folder belongs to."""
        folder = Path(model_path).expanduser()
        for candidate in (folder.parent, folder.parent.parent):
            run = cls(candidate)
            if run.is_run():
                return run
        return None

    def is_checkpoint(self, model_path: str | Path) -> bool:
        """True when ``model_path`` is one of this run's checkpoint folders (not its final result)."""
        path = Path(model_path)
        return path.parent == self.checkpoints_dir and bool(_CHECKPOINT.match(path.name))

    # -- config and state ---------------------------------------------------------------------
    def create(self, config: dict[str, Any]) -> None:
        """Make the folder of a new run and write its config (once: a run's settings never change)."""
        self.path.mkdir(parents=True)
        _write_json(self.path / CONFIG, config)

    def read_config(self) -> dict[str, Any] | None:
        config = _read_json(self.path / CONFIG)
        return config if isinstance(config, dict) else None

    def read_state(self) -> dict[str, Any] | None:
        state = _read_json(self.path / STATE)
        return state if isinstance(state, dict) else None

    def write_state(self, state: dict[str, Any]) -> None:
        _write_json(self.path / STATE, state)

    def read_estimate(self) -> dict[str, Any] | None:
        """How long the run was expected to take when it started (core/run_time.py), to set beside what it took."""
        estimate = _read_json(self.path / ESTIMATE)
        return estimate if isinstance(estimate, dict) else None

    def write_estimate(self, estimate: dict[str, Any]) -> None:
        _write_json(self.path / ESTIMATE, estimate)

    # -- what a run logs as it trains -----------------------------------------------------------
    def read_rows(self, kind: str) -> JsonLines:
        """``kind``: "metrics", "evals" or "samples"."""
        return _read_jsonl(self.path / ROWS[kind])

    def append_row(self, kind: str, entry: dict[str, Any]) -> None:
        _append_jsonl(self.path / ROWS[kind], entry)

    def keep_rows_up_to(self, step: int) -> dict[str, list[dict[str, Any]]]:
        """Drop the logged rows after ``step`` (a resumed run redoes them); returns what is kept, by kind."""
        kept = {}
        for kind, name in ROWS.items():
            kept[kind] = [row for row in self.read_rows(kind).rows if row.get("step", 0) <= step]
            _rewrite_jsonl(self.path / name, kept[kind])
        return kept

    def follow(self) -> RowFollower:
        """A reader of the rows appended from now on (the app follows a worker's run this way)."""
        return RowFollower(self)

    def read_probes(self) -> list[dict[str, str]]:
        payload = _read_json(self.path / PROBES)
        probes = payload.get("probes", []) if isinstance(payload, dict) else []
        return [p for p in probes if isinstance(p, dict)]

    def write_probes(self, probes: list[dict[str, str]]) -> None:
        _write_json(self.path / PROBES, {"probes": probes})

    def write_trained_with(self, payload: dict[str, Any]) -> None:
        _write_json(self.path / TRAINED_WITH, payload)

    def read_trained_with(self) -> dict[str, Any] | None:
        """What the run recorded of its training rows (core/runs/trained_with.py); None for older runs."""
        payload = _read_json(self.path / TRAINED_WITH)
        return payload if isinstance(payload, dict) else None

    def stamps(self) -> tuple:
        """(mtime, size) of the config and metrics, None where missing: a cache key that changes with the run."""
        stamps = []
        for name in (CONFIG, METRICS):
            try:
                stat = (self.path / name).stat()
                stamps.append((stat.st_mtime_ns, stat.st_size))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    # -- what the trainer saves -------------------------------------------------------------------
    @property
    def checkpoints_dir(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def final_dir(self) -> Path:
        return self.path / FINAL

    def checkpoints(self) -> list[Checkpoint]:
        """Checkpoints of the run, oldest first, each marked complete or not."""
        found = []
        if not self.checkpoints_dir.is_dir():
            return found
        for child in self.checkpoints_dir.iterdir():
            match = _CHECKPOINT.match(child.name)
            if not match or not child.is_dir():
                continue
            step = int(match.group(1))
            complete = all((child / name).is_file() for name in _REQUIRED_FILES) and any(
                (child / name).is_file() for name in _WEIGHT_FILES
            )
            state = _read_json(child / "trainer_state.json") if complete else None
            if complete and not isinstance(state, dict):
                complete, state = False, None  # present but unreadable
            found.append(Checkpoint(child, step, complete, _eval_loss_at(state, step)))
        return sorted(found, key=lambda c: c.step)

    def last_complete_checkpoint(self) -> Checkpoint | None:
        """The newest checkpoint that can be resumed from; partial ones are skipped."""
        complete = [c for c in self.checkpoints() if c.complete]
        return complete[-1] if complete else None

    # -- the app and its worker -------------------------------------------------------------------
    def request_stop(self) -> None:
        (self.path / STOP_FLAG).touch()

    def stop_requested(self) -> bool:
        return (self.path / STOP_FLAG).exists()

    def clear_stop(self) -> None:
        (self.path / STOP_FLAG).unlink(missing_ok=True)

    @property
    def worker_log(self) -> Path:
        """Where the worker's stdout and stderr go (the launcher opens it for the child process)."""
        return self.path / WORKER_LOG

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.worker_log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def write_worker_pid(self, pid: int) -> None:
        (self.path / WORKER_PID).write_text(str(pid))

    def read_worker_pid(self) -> int | None:
        try:
            return int((self.path / WORKER_PID).read_text().strip())
        except (OSError, ValueError):
            return None

    def clear_worker_pid(self) -> None:
        (self.path / WORKER_PID).unlink(missing_ok=True)

    # -- what Try it and Share add -----------------------------------------------------------------
    def append_vote(self, entry: dict[str, Any]) -> None:
        _append_jsonl(self.path / VOTES, entry, durable=True)

    def read_votes(self) -> JsonLines:
        return _read_jsonl(self.path / VOTES)

    def write_evaluation(self, payload: dict[str, Any]) -> Path:
        path = self.path / EVALUATION
        _write_json(path, payload)
        return path

    def read_evaluation(self) -> dict[str, Any] | None:
        payload = _read_json(self.path / EVALUATION)
        return payload if isinstance(payload, dict) else None

    def share_dir(self, what: str) -> Path:
        return self.path / SHARE / what

    # -- a run that trains on Hugging Face Jobs ------------------------------------------------------
    def write_remote(self, job: dict[str, Any]) -> None:
        """The Job this run follows (id, namespace, hardware, repos, its last log lines; never a token)."""
        _write_json(self.path / REMOTE, job)

    def read_remote(self) -> dict[str, Any] | None:
        """The Job of a remote run, None for a run trained here."""
        job = _read_json(self.path / REMOTE)
        return job if isinstance(job, dict) else None


class RowFollower:
    """Reads the rows a run folder gains, from where it last stopped: only complete lines, each once.

    A line still being written waits for the next poll. The rows already in the files when the follower
    starts are skipped (a resumed run's record already holds them).
    """

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        self.offsets = {}
        for kind, name in ROWS.items():
            path = folder.path / name
            self.offsets[kind] = path.stat().st_size if path.is_file() else 0

    def new_rows(self) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for kind, name in ROWS.items():
            try:
                with (self.folder.path / name).open("rb") as handle:
                    handle.seek(self.offsets[kind])
                    chunk = handle.read()
            except OSError:
                found[kind] = []
                continue
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self.offsets[kind] += len(complete)
            found[kind] = parse_lines(complete.decode("utf-8", errors="replace")).rows
        return found


def run_folders(runs_dir: str | Path) -> Iterator[RunFolder]:
    """Every run under ``runs_dir``, oldest first (run ids start with their start time)."""
    folder = Path(runs_dir)
    if not folder.is_dir():
        return
    for child in sorted(folder.iterdir()):
        run = RunFolder(child)
        if child.is_dir() and run.is_run():
            yield run
