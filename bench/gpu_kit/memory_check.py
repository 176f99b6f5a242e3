"""The memory estimate (``core.memory.estimate_memory``) against what training really took, case by case."""

from __future__ import annotations

from pathlib import Path

from bench.gpu_kit.plan import MEMORY_TOLERANCE, KitPlan


def memory_jobs(plan: KitPlan, device, models: dict[str, Path], work: Path, bnb_problem: str):
    """One row per case (skipped ones with their reason) and the jobs that measure the others."""
    from bench.gpu_kit.machine import skip_reason

    precision = ("bf16" if device.bf16 else "fp16") if device.is_cuda else "float32"
    rows, jobs = [], []
    for i, case in enumerate(plan.memory_cases):
        why = skip_reason(case.method, "4-bit" if case.method == "qlora" else precision, device, bnb_problem)
        rows.append({"case": case.name, "skipped": why} if why else {"case": case.name})
        if not why:
            jobs.append(
                {
                    "kind": "memory",
                    "id": f"memory {case.name}",
                    "case": case.name,
                    "model": str(models[case.model]),
                    "method": case.method,
                    "batch": case.batch,
                    "max_length": case.max_length,
                    "steps": plan.memory_steps,
                    "checkpointing": case.gradient_checkpointing,
                    "out": str(work / f"memory-{i}"),
                }
            )
    return rows, jobs


def finish_memory(rows: list[dict], jobs: list[dict], results: list[dict]) -> list[dict]:
    """Each measured case's ratio, and whether it is inside ``MEMORY_TOLERANCE``."""
    by_case = {job["case"]: result for job, result in zip(jobs, results, strict=True)}
    low, high = MEMORY_TOLERANCE
    for row in rows:
        result = by_case.get(row["case"])
        if result is None:
            continue
        if not result["ok"]:
            row.update(error=result["error"], ok=False)
            continue
        ratio = result["measured"] / result["estimate"]
        row.update(
            estimate=result["estimate"],
            measured=result["measured"],
            ratio=ratio,
            parts=result["estimate_parts"],
            measured_as=result["measured_as"],
            ok=low <= ratio <= high,
        )
    return rows
