"""Prove the app on one CUDA GPU: every training path, speed against plain TRL, the memory estimate, chat speed.

    bash bench/gpu_check.sh [--out FILE] [--parts paths,speed,memory,chat] [--tiny]   # installs what is missing
    .venv/bin/python bench/gpu_check.py [same options]                                 # where all is installed

Under 8 minutes on one H100/H200. On a machine without CUDA it runs the same code with the tiny sizes (the test
suite does: tests/test_gpu_check.py), and every part a CPU can't run is skipped with its reason, never faked.

1. paths: the app's own worker (``python -m core.runs.worker`` started by ``core.runs.manager.RunManager``, as the
   app does on one GPU) trains a SmolLM2-135M-shaped model a few steps per path: LoRA bf16, full bf16, LoRA fp16
   and full fp16 (forced, as on a T4: ``bench/gpu_kit/t4_worker.py``), QLoRA 4-bit. Each needs a finite, falling
   loss and a checkpoint that reloads (``load_trained_model``) and generates.
2. speed: the app vs plain TRL ``SFTTrainer`` on the same settings, a SmolLM2-1.7B-shaped model, bf16, length
   2048, LoRA r16: tokens/s and MFU, padded, packed, and padding-free (``bench/gpu_kit/speed.py``).
3. memory: ``core.memory.estimate_memory`` vs ``torch.cuda.max_memory_allocated`` (tolerance in
   ``bench/gpu_kit/plan.py``: MEMORY_TOLERANCE).
4. chat: ``core.chat`` tokens/s, streamed and not, on the Try it step's model pool.

Models are random weights of the published shapes around the offline SmolLM2 tokenizer (no Hub, no download):
``bench/gpu_kit/build.py``. It prints Markdown tables and writes everything, with the machine, the versions and
the load average, to JSON. Exit code 0 only when every part that ran passed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PARTS = ("paths", "speed", "memory", "chat")


def set_up_environment(work: Path) -> None:
    """Point every folder the app writes at ``work``, and let it open the kit's model and data folders by path."""
    os.environ["SFT_COACH_DATA"] = str(work / "app-data")
    os.environ["SFT_COACH_LOCAL_PATHS"] = "1"
    os.environ["SFT_COACH_ALLOWED_FOLDERS"] = str(work / "inputs")
    os.environ["TRACKIO_DIR"] = str(work / "trackio")
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing from the Hub: the models are built here
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "0")  # one GPU: the app's one-worker path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="the JSON file (default: gpu-check-results/gpu_check-<time>.json)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)}")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes even on a GPU (always on a CPU)")
    parser.add_argument("--tokenizer", help="a folder with the SmolLM2 tokenizer (default: the pack's, or the app's)")
    parser.add_argument("--work", type=Path, help="a folder for models, runs and logs (default: a new temporary one)")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: {', '.join(unknown)} unknown; use some of {', '.join(PARTS)}.")
    work = (args.work or Path(tempfile.mkdtemp(prefix="sft-coach-gpu-check-"))).resolve()
    (work / "inputs").mkdir(parents=True, exist_ok=True)
    set_up_environment(work)
    started = time.time()

    from bench.gpu_kit import report
    from bench.gpu_kit.build import build_model, find_tokenizer, write_path_data, write_speed_data
    from bench.gpu_kit.machine import bitsandbytes_problem, describe_machine, load_average
    from bench.gpu_kit.plan import GPU_PLAN, MEMORY_TOLERANCE, TINY_PLAN, peak_flops
    from core.device import detect_device
    from core.ml_stack import import_transformers

    import_transformers()
    device = detect_device()
    plan = TINY_PLAN if args.tiny or not device.is_cuda else GPU_PLAN
    bnb_problem = bitsandbytes_problem() if device.is_cuda else "bitsandbytes needs a CUDA GPU"
    peak = peak_flops(device.name) if device.is_cuda else None
    results: dict = {"machine": describe_machine(device), "sizes": plan.sizes, "parts": parts, "work": str(work)}
    results["load_average_start"] = load_average()
    print(f"# GPU check: {device.describe()}, {plan.sizes} sizes, load average {results['load_average_start']}")

    from transformers import AutoTokenizer

    pack = Path(os.environ.get("SFT_COACH_GPU_KIT_PACK", ROOT / "gpu-kit-pack"))
    tokenizer_dir = find_tokenizer(args.tokenizer, pack)
    inputs = work / "inputs"
    models = {
        part: build_model(shape, tokenizer_dir, inputs / f"model-{shape.name}", device.is_cuda)
        for part, shape in (("path", plan.path_shape), ("speed", plan.speed_shape))
    }
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    timings = {"build": round(time.time() - started, 1)}
    out = args.out or ROOT / "gpu-check-results" / f"gpu_check-{time.strftime('%Y%m%d-%H%M%S')}.json"
    save(results, out)

    done: dict[str, dict] = {}
    jobs: list[dict] = []  # what runs in one process of its own at the end: reloads, plain TRL, memory, chat
    if "paths" in parts:
        print("## paths: the app's worker", flush=True)
        from bench.gpu_kit.paths import check_paths, reload_job

        part = time.time()
        data = write_path_data(inputs / "path-data", 4 * plan.path_steps + 8)
        results["paths"] = check_paths(plan, device, models["path"], data, work, bnb_problem)
        jobs += [job for job in map(reload_job, results["paths"]) if job]
        timings["paths"] = round(time.time() - part, 1)
        save(results, out)
    if "speed" in parts:
        print("## speed: the app's worker (plain TRL runs with the jobs)", flush=True)
        from bench.gpu_kit.speed import app_speed, trl_jobs

        part = time.time()
        rows = 2 * plan.speed_batch * plan.speed_steps + 8
        data = write_speed_data(tokenizer, inputs / "speed-data", rows, plan.speed_length // 8, plan.speed_length)
        app_rows = app_speed(plan, models["speed"], data, work, peak)
        speed_jobs = trl_jobs(plan, models["speed"], data, work)
        jobs += speed_jobs
        timings["speed (app)"] = round(time.time() - part, 1)
        save(results | {"speed": app_rows}, out)
    if "memory" in parts:
        from bench.gpu_kit.memory_check import memory_jobs

        memory_rows, memory_runs = memory_jobs(plan, device, models, work, bnb_problem)
        jobs += memory_runs
    if "chat" in parts:
        jobs.append(
            {
                "kind": "chat",
                "id": "chat",
                "model": str(models["speed"]),
                "tokens": plan.chat_tokens,
                "rounds": plan.chat_rounds,
            }
        )
    if jobs:
        print(f"## {len(jobs)} jobs in one process: " + ", ".join(job["id"] for job in jobs), flush=True)
        from bench.gpu_kit.run_jobs import run_jobs

        part = time.time()
        done = dict(zip((job["id"] for job in jobs), run_jobs(jobs, work), strict=True))
        timings["jobs"] = round(time.time() - part, 1)
    if "paths" in parts:
        from bench.gpu_kit.paths import finish_path

        results["paths"] = [
            finish_path(r, done.get(f"reload {r['path']}")) if "phase" in r else r for r in results["paths"]
        ]
    if "speed" in parts:
        from bench.gpu_kit.speed import finish_speed

        results["speed"] = finish_speed(app_rows, speed_jobs, [done[j["id"]] for j in speed_jobs], plan, peak)
    if "memory" in parts:
        from bench.gpu_kit.memory_check import finish_memory

        results["memory"] = finish_memory(memory_rows, memory_runs, [done[j["id"]] for j in memory_runs])
    if "chat" in parts:
        results["chat"] = done["chat"]

    results["seconds"] = {**timings, "total": round(time.time() - started, 1)}
    results["load_average_end"] = load_average()
    results["failed"] = report.failures(results)
    results["ok"] = not results["failed"]
    print(report.render(results, plan, MEMORY_TOLERANCE))
    save(results, out)
    print(f"JSON: {out}")
    return 0 if results["ok"] else 1


def save(results: dict, out: Path) -> None:
    """Write what is known so far: a check stopped at a time limit still leaves the parts it finished."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
