"""Each training path through the app's own worker: ``core.runs.manager.RunManager`` starting ``python -m
core.runs.worker`` (``core/runs/launcher.py``), as the app does on one GPU; then the checks a person would make."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.gpu_kit.plan import LEARNING_RATES, KitPlan, TrainPath
from core.runs.launcher import LaunchPlan


@dataclass(frozen=True)
class ForcedFp16Plan(LaunchPlan):
    """The app's one-process launch, with the worker started through ``bench.gpu_kit.t4_worker`` (no bf16)."""

    def command(self, run_dir: str | Path) -> list[str]:
        return [sys.executable, "-m", "bench.gpu_kit.t4_worker", "--run-dir", str(run_dir)]


def launch_plan(forced_fp16: bool) -> LaunchPlan:
    from core.runs.launcher import plan_launch

    plan = plan_launch(gpu_count=1, train_in="process")  # one GPU: one worker process, as the app
    return ForcedFp16Plan(plan.mode, plan.num_processes, plan.use_accelerate, plan.reason) if forced_fp16 else plan


def run_in_worker(config, runs_dir: Path, forced_fp16: bool = False, timeout: float = 900):
    """Train ``config`` in the app's worker process and return its final snapshot."""
    from core.runs.launcher import SubprocessTrainer
    from core.runs.manager import RunManager

    manager = RunManager(runs_dir, trainer=SubprocessTrainer(launch_plan(forced_fp16), poll_seconds=0.2))
    run = manager.start(config, owner="gpu-check")
    snapshot = manager.wait(run.run_id, timeout=timeout)
    if snapshot.is_active:
        manager.stop(run.run_id, owner="gpu-check")
        snapshot = manager.wait(run.run_id, timeout=120)
    return snapshot


def kit_config(model_dir: Path, data_dir: Path, method: str, batch: int, max_length: int, steps: int, **settings):
    """The ``RunConfig`` of one of the kit's runs: no evaluation, samples only at the start and the end, seed 42."""
    from core.config import RunConfig

    values = dict(
        model_id=str(model_dir), dataset=str(data_dir), method=method, learning_rate=LEARNING_RATES[method],
        per_device_batch_size=batch, max_length=max_length, max_steps=steps, eval_steps=0, sample_every=0, seed=42,
    )  # fmt: skip
    return RunConfig(**{**values, **settings})


def loss_checks(losses: list[float]) -> tuple[bool, bool]:
    """(every loss finite, the loss fell): the last third's mean below the first third's.

    >>> loss_checks([10.8, 10.1, 9.0, 7.5, 6.0, 5.2])
    (True, True)
    >>> loss_checks([10.8, float("nan"), 9.0])
    (False, False)
    """
    finite = bool(losses) and all(math.isfinite(x) for x in losses)
    third = max(1, len(losses) // 3)
    falling = finite and len(losses) >= 2 and sum(losses[-third:]) / third < sum(losses[:third]) / third
    return finite, falling


def check_path(path: TrainPath, plan: KitPlan, model_dir: Path, data_dir: Path, work: Path) -> dict:
    """Train ``path`` for a few steps in the worker; finite and falling loss, a checkpoint that reloads."""
    from core.runs.store import RunFolder

    config = kit_config(
        model_dir, data_dir, path.method, 4, plan.path_max_length, plan.path_steps,
        save_steps=plan.path_steps // 2, num_probe_prompts=1, sample_max_new_tokens=8,
    )  # fmt: skip
    started = time.time()
    slug = path.name.split(" (")[0].replace(" ", "-").lower()
    snapshot = run_in_worker(config, work / "runs" / slug, forced_fp16=path.forced_fp16)
    losses = [float(m["loss"]) for m in snapshot.metrics if "loss" in m]
    finite, falling = loss_checks(losses)
    result = {
        "path": path.name,
        "method": path.method,
        "precision": path.precision,
        "phase": snapshot.phase,
        "steps": snapshot.step,
        "losses": losses,
        "finite": finite,
        "falling": falling,
        "worker_load_check": snapshot.load_check,
        "seconds": round(time.time() - started, 1),
        "peak_memory_gb": max((m.get("memory_gb", 0.0) for m in snapshot.metrics), default=None),
    }
    if snapshot.phase != "finished":
        result["error"] = snapshot.error
        result["log_tail"] = RunFolder(snapshot.run_dir).log_tail(40)
    checkpoint = RunFolder(snapshot.run_dir).last_complete_checkpoint()
    result["checkpoint"] = "no complete checkpoint was saved"
    if checkpoint is not None:  # reloaded later, in the jobs process (bench/gpu_kit/jobs.py reload_job)
        result["checkpoint_path"], result["checkpoint_step"] = str(checkpoint.path), checkpoint.step
    return result


def reload_job(result: dict) -> dict | None:
    """The job that reloads the path's checkpoint and generates from it, or None when there is none."""
    if "checkpoint_path" not in result:
        return None
    return {"kind": "reload", "id": f"reload {result['path']}", "model": result["checkpoint_path"]}


def finish_path(result: dict, reloaded: dict | None) -> dict:
    """The path's verdict once its checkpoint was reloaded: finished, finite and falling loss, reload and generate."""
    step = result.get("checkpoint_step")
    if reloaded is not None and reloaded["ok"]:
        result["checkpoint"] = (
            f"checkpoint-{step} reloaded, generated {reloaded['tokens']} tokens: {reloaded['answer'][:32]!r}"
        )
        result["checkpoint_ok"] = reloaded["tokens"] > 0
    elif reloaded is not None:
        result["checkpoint"] = f"checkpoint-{step} did not reload: {reloaded['error']}"
    result["ok"] = bool(
        result["phase"] == "finished" and result["finite"] and result["falling"] and result.get("checkpoint_ok")
    )
    return result


def check_paths(plan: KitPlan, device, model_dir: Path, data_dir: Path, work: Path, bnb_problem: str) -> list[dict]:
    """Every GPU path (skipped with its reason where this machine can't train it), and on a CPU the CPU's own."""
    from bench.gpu_kit.machine import skip_reason
    from bench.gpu_kit.plan import CPU_PATHS, GPU_PATHS

    rows = []
    for path in GPU_PATHS + (() if device.is_cuda else CPU_PATHS):
        why = skip_reason(path.method, path.precision, device, bnb_problem)
        if path.forced_fp16 and not why and not device.bf16:  # a GPU without bf16 trains in fp16 by itself
            path = TrainPath(path.name.replace(" (as on a T4)", ""), path.method, path.precision)
        rows.append({"path": path.name, "skipped": why} if why else check_path(path, plan, model_dir, data_dir, work))
        print(f"  {path.name}: {rows[-1].get('skipped') or rows[-1]['phase']}", flush=True)
    return rows
