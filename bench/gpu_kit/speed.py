"""Training throughput side by side in one run: the app's worker against plain TRL on the same settings.

Three ways to batch the same rows (plain text of uniformly 1/8 to all of max length tokens):

- padded: each batch padded to its longest row (TRL's default, and the app's);
- packed: rows joined and cut into blocks of max length ("wrapped", the app's ``RunConfig.packing``);
- padding-free: TRL's best-fit packing ("bfd"), which turns padding-free batches on; TRL only, the app has no
  setting for it. TRL's docs support it with FlashAttention 2/3; with SDPA, transformers builds a block-diagonal
  mask from the restarting position ids, so it runs (and is measured) without flash-attn too.

tokens/s is the median over the logged steps after the first (``core.throughput.run_throughput``, the figure the
app's time estimate uses), counting only real tokens (TRL's ``num_tokens``, no padding). MFU is those tokens/s x
``core.throughput.training_flops_per_token`` at max length (PaLM's 6N + 12LHQT; the attention term at the full
max length, as PaLM counts it) / the GPU's dense BF16 peak.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.gpu_kit.plan import LEARNING_RATES, KitPlan

VARIANTS = (  # (name, packing, TRL's packing_strategy, whether the app offers it)
    ("padded", False, "wrapped", True),
    ("packed (wrapped)", True, "wrapped", True),
    ("padding-free (TRL bfd)", True, "bfd", False),
)


def measure(metrics: list[dict], shape, plan: KitPlan, peak: float | None) -> dict:
    from core.throughput import run_throughput, training_flops_per_token

    losses = [float(m["loss"]) for m in metrics if "loss" in m]
    measured = run_throughput(metrics)
    result: dict = {"losses": losses, "steps": len(losses)}
    if measured is None:
        result["note"] = "too few logged steps for a median"
        return result
    tokens_per_s, intervals = measured
    flops = training_flops_per_token(shape, plan.speed_length, "lora", 16, "all-linear")
    result.update(tokens_per_s=tokens_per_s, intervals=intervals, model_tflops=tokens_per_s * flops / 1e12)
    if peak:
        result["mfu"] = tokens_per_s * flops / peak
    return result


def app_speed(plan: KitPlan, model_dir: Path, data_dir: Path, work: Path, peak: float | None) -> list[dict]:
    """The app's worker on each way of batching it offers; one row each."""
    from bench.gpu_kit.paths import kit_config, run_in_worker

    rows: list[dict] = []
    for name, packing, _, in_app in VARIANTS:
        if not in_app:
            continue
        config = kit_config(
            model_dir, data_dir, "lora", plan.speed_batch, plan.speed_length, plan.speed_steps,
            packing=packing, num_probe_prompts=0, save_steps=0,
        )  # fmt: skip
        started = time.time()
        snapshot = run_in_worker(config, work / "runs" / f"speed-{len(rows)}")
        row = {"run": "app", "batching": name, "phase": snapshot.phase, "seconds": round(time.time() - started, 1)}
        if snapshot.phase == "finished":
            row.update(measure(snapshot.metrics, plan.speed_shape, plan, peak))
        else:
            row["error"] = snapshot.error
        rows.append(row)
    return rows


def trl_jobs(plan: KitPlan, model_dir: Path, data_dir: Path, work: Path) -> list[dict]:
    """Plain TRL on the same rows and settings, each way of batching (run by bench/gpu_kit/jobs.py)."""
    return [
        {
            "kind": "trl",
            "id": f"trl {name}",
            "batching": name,
            "model": str(model_dir),
            "data": str(data_dir),
            "out": str(work / f"trl-{i}"),
            "learning_rate": LEARNING_RATES["lora"],
            "batch": plan.speed_batch,
            "max_length": plan.speed_length,
            "packing": packing,
            "packing_strategy": strategy,
            "steps": plan.speed_steps,
        }
        for i, (name, packing, strategy, _) in enumerate(VARIANTS)
    ]


def finish_speed(app_rows: list[dict], jobs: list[dict], results: list[dict], plan: KitPlan, peak) -> list[dict]:
    """The app's rows and plain TRL's, each app row compared with TRL's row of the same batching."""
    rows = list(app_rows)
    for job, result in zip(jobs, results, strict=True):
        row = {"run": "plain TRL", "batching": job["batching"], "phase": "finished" if result["ok"] else "failed"}
        if result["ok"]:
            row.update(measure(result["metrics"], plan.speed_shape, plan, peak), seconds=result.get("seconds"))
        else:
            row["error"] = result["error"]
        rows.append(row)
    _compare(rows)
    return rows


def _compare(rows: list[dict]) -> None:
    """Each app row against plain TRL's row of the same batching: tokens/s ratio and the largest loss difference."""
    trl = {r["batching"]: r for r in rows if r["run"] == "plain TRL"}
    for row in rows:
        other = trl.get(row["batching"])
        if row["run"] != "app" or not other or "tokens_per_s" not in row or "tokens_per_s" not in other:
            continue
        row["vs_trl"] = row["tokens_per_s"] / other["tokens_per_s"]
        pairs = list(zip(row["losses"], other["losses"], strict=False))
        row["max_loss_diff_vs_trl"] = max(abs(a - b) for a, b in pairs) if pairs else None
