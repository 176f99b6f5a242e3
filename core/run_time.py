"""How long a whole run takes, from Start to the saved model: not only its training steps.

A run also starts up (the worker imports torch, transformers and TRL, loads the model, tokenises the
data), answers the held-out prompts at step 0, every ``sample_every`` steps and at the end, evaluates
every ``eval_steps`` steps, and saves. On the offline model on a 2-core CPU those add about half
to the Quick demo's 60 steps (bench/RESULTS.md: start-up 5-6 s for a worker started with the run, under
a second with the warm worker; one sampling point 2 s from a bfloat16 copy, 5.6 s from the float32
model; three evaluations ~30 s). Each part is taken from the runs of the same model measured on this
machine when there are some, else from those reference figures scaled to the model; the run's result
then shows the estimate it started with next to what it took.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass
from pathlib import Path

from core.config import FINAL_EVAL_ROWS, RunConfig
from core.runs.store import RunFolder, run_folders

# Reference figures, SmolLM2-135M-Instruct on this project's 2-core CPU (bench/RESULTS.md, 2026-11-29 to 12-02).
REFERENCE_STARTUP_SECONDS = 6.0  # Start -> training, a worker started with the run (5.1-6.0 s); warm: 0.4-0.6 s
REFERENCE_SAMPLE_SECONDS = 5.6  # one sampling point: 3 prompts x 64 new tokens, one batched generate
REFERENCE_COPY_SAMPLE_SECONDS = 2.0  # the same, answered by a bfloat16 copy (core/sample_copy.py; 2026-12-02)
REFERENCE_SAMPLE_TOKENS = 3 * 64
REFERENCE_SAVE_SECONDS = 5.0  # save the adapter, reload it and generate 16 tokens (the load check)
EVAL_SPEEDUP = 3.0  # an evaluation step is a forward pass only: ~1/3 of a training step's compute per token


@dataclass(frozen=True)
class Overheads:
    """What runs of one model measured on this machine, besides their training steps."""

    startup_seconds: float | None
    """The fastest Start -> first step seen (a queued run's wait only adds, so the minimum is the honest one)."""
    sample_seconds: float | None
    """Median seconds of one sampling point."""
    sample_tokens: int | None
    """Prompts x new tokens of those sampling points, to scale to other settings."""
    eval_seconds_per_row: float | None
    runs: int


@dataclass(frozen=True)
class RunTimeEstimate:
    """Seconds from Start to the saved model, and the parts they come from."""

    total_seconds: float
    parts: tuple[tuple[str, float], ...]
    """(what, seconds), in the order they happen."""
    measured: bool
    """True when every overhead comes from runs measured on this machine."""

    def to_dict(self) -> dict:
        return {"total_seconds": self.total_seconds, "parts": [list(p) for p in self.parts], "measured": self.measured}


def sample_rounds(config: RunConfig, steps: int, n_probes: int) -> int:
    """Sampling points of a run: step 0, every ``sample_every`` steps before the last, and the end.

    >>> sample_rounds(RunConfig(sample_every=20), 60, 3)
    4
    >>> sample_rounds(RunConfig(sample_every=0), 60, 3), sample_rounds(RunConfig(), 60, 0)
    (2, 0)
    """
    if not n_probes or steps <= 0:
        return 0
    every = config.sample_every
    return 2 + (len(range(every, steps, every)) if every else 0)


def estimate_run_time(
    config: RunConfig,
    step_seconds: float,
    steps: int,
    *,
    n_probes: int,
    eval_rows: int,
    tokens_per_row: float,
    scale: float = 1.0,
    overheads: Overheads | None = None,
    sample_dtype: str = "",
) -> RunTimeEstimate:
    """The whole run: start-up + steps + sampling + evaluation + saving.

    ``step_seconds``: one optimizer step (core/memory.py ``estimate_time``); ``scale``: how much slower this
    model and machine are than the reference (its seconds per step over SmolLM2's on 2 cores), applied to the
    reference figures only; measured ones are already this machine's. ``sample_dtype``: "bfloat16" where the
    answers come from a bfloat16 copy (core/sample_copy.py ``answer_dtype_on``), about 3x faster on a CPU.

    >>> estimate = estimate_run_time(RunConfig(), 2.2, 60, n_probes=3, eval_rows=32, tokens_per_row=88)
    >>> [name for name, _ in estimate.parts]
    ['start-up', '60 training steps', '4 rounds of sample answers', '3 evaluations of 32 rows', 'saving and checking']
    >>> round(estimate.total_seconds)  # 6 + 132 + 22 + 18 + 5
    183
    """
    overheads = overheads or Overheads(None, None, None, None, 0)
    startup = overheads.startup_seconds if overheads.startup_seconds is not None else REFERENCE_STARTUP_SECONDS * scale
    tokens = n_probes * config.sample_max_new_tokens
    if overheads.sample_seconds is not None and overheads.sample_tokens:
        per_round = overheads.sample_seconds * tokens / overheads.sample_tokens
    else:
        reference = REFERENCE_COPY_SAMPLE_SECONDS if sample_dtype else REFERENCE_SAMPLE_SECONDS
        per_round = reference * scale * tokens / REFERENCE_SAMPLE_TOKENS
    rounds = sample_rounds(config, steps, n_probes)
    evals = steps // config.eval_steps if config.eval_steps > 0 and eval_rows else 0
    rows = min(eval_rows, config.max_eval_rows) if config.max_eval_rows else eval_rows
    if overheads.eval_seconds_per_row is not None:
        per_eval = overheads.eval_seconds_per_row * rows
    else:  # forward passes over the rows, at the training throughput
        tokens_per_second = config.effective_batch_size * tokens_per_row / max(step_seconds, 1e-6)
        per_eval = rows * tokens_per_row / (tokens_per_second * EVAL_SPEEDUP)
    parts = [("start-up", startup), (f"{steps:,} training steps", step_seconds * steps)]
    if rounds:
        parts.append((f"{rounds} rounds of sample answers", rounds * per_round))
    final_rows = min(eval_rows, FINAL_EVAL_ROWS)
    final = bool(evals) and final_rows > rows and not config.early_stopping_patience  # on every row (train.py)
    if final and steps % config.eval_steps == 0:
        evals -= 1  # the last step's evaluation is the final one
    if evals:
        parts.append((f"{evals} evaluation{'s' if evals != 1 else ''} of {rows} rows", evals * per_eval))
    if final:
        parts.append((f"a final evaluation of {final_rows} rows", per_eval * final_rows / max(rows, 1)))
    parts.append(("saving and checking", REFERENCE_SAVE_SECONDS * scale))
    measured = overheads.startup_seconds is not None and overheads.sample_seconds is not None
    return RunTimeEstimate(sum(s for _, s in parts), tuple(parts), measured)


def measured_overheads(runs_dir: str | Path, model_id: str, sample_dtype: str = "") -> Overheads | None:
    """Start-up, sampling and evaluation times measured by this machine's runs of ``model_id`` (None: none yet).

    Only the sampling points answered in ``sample_dtype`` count ("": by the model itself; "bfloat16": by a
    bfloat16 copy), so runs from before the copy, or with it switched off, don't slow the estimate down.
    """
    startups, samples, evals = [], [], []
    tokens = None
    runs = 0
    for folder in run_folders(runs_dir):
        found = _run_overheads(str(folder.path), folder.stamps())
        if found is None or found[0] != model_id:
            continue
        runs += 1
        _, startup, sample_seconds, sample_tokens, eval_per_row = found
        if startup is not None:
            startups.append(startup)
        samples += [seconds for seconds, dtype in sample_seconds if dtype == sample_dtype]
        tokens = tokens or sample_tokens
        evals += eval_per_row
    if not runs:
        return None
    return Overheads(
        min(startups) if startups else None,
        statistics.median(samples) if samples else None,
        tokens if samples else None,
        statistics.median(evals) if evals else None,
        runs,
    )


@functools.lru_cache(maxsize=1024)
def _run_overheads(run_dir: str, stamps: tuple):
    """(model id, start-up, [(sampling seconds, dtype)], prompts x tokens, [eval seconds per row]) of one run."""
    folder = RunFolder(run_dir)
    config, state = folder.read_config(), folder.read_state()
    if not config or not state:
        return None
    startup = None
    if state.get("started_at") and state.get("created_at") and not state.get("resume_from"):
        startup = float(state["started_at"]) - float(state["created_at"])
    samples = folder.read_rows("samples").rows
    sample_tokens = len(samples[0]["prompts"]) * int(config.get("sample_max_new_tokens", 64)) if samples else None
    rows = folder.read_rows("evals").rows  # the trainer logs eval_runtime and eval_samples_per_second
    evals = [1 / e["eval_samples_per_second"] for e in rows if e.get("eval_samples_per_second")]
    return (
        config.get("model_id"),
        startup,
        [(float(s["seconds"]), s.get("dtype") or "") for s in samples if s.get("seconds")],
        sample_tokens,
        evals,
    )


def actual_parts(snapshot) -> tuple[float, list[tuple[str, float]]] | None:
    """What an ended run took, Start to end, and its parts: (total, [(what, seconds)]); None while it runs."""
    if snapshot.finished_at is None or snapshot.started_at is None:
        return None
    total = snapshot.finished_at - snapshot.created_at
    startup = snapshot.started_at - snapshot.created_at
    sampling = sum(float(s.get("seconds") or 0) for s in snapshot.samples)
    evaluation = sum(float(e.get("eval_runtime") or 0) for e in snapshot.eval_metrics)
    steps = max(0.0, total - startup - sampling - evaluation)
    parts = [("start-up", startup), (f"{snapshot.step:,} training steps and saving", steps)]
    parts += [("sample answers", sampling)] if sampling else []
    parts += [("evaluation", evaluation)] if evaluation else []
    return total, parts
