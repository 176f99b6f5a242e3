"""Memory estimate vs measured peak RSS, side by side in one run: baseline (imports) apart from training.

    .venv/bin/python bench/bench_memory.py [--steps 3] [--cold] [--only tiny-lora-128]

Every case trains in a fresh subprocess, through the app's own path
(``core.models.catalog.resolve_model``, ``core.trl_args.build_sft_config`` and
``core.runs.sft_trainer.CoachSFTTrainer``, reporting to trackio as the app does), on
rows long enough that every row is truncated to ``max_length``: the estimate's
worst case, where TRL's padding to the longest row saves nothing.

The child reads the kernel's peak resident set (``VmHWM`` in /proc/self/status)
per stage, resetting it in between (``echo 5 > /proc/self/clear_refs``, Linux
4.0+), so a high-water mark left by one stage never hides in the next:

- baseline: RSS after importing torch, transformers, PEFT, TRL and trackio;
- model: peak while ``resolve_model`` finds (or, in an empty cache, converts
  from GGUF) the model folder;
- training: peak during ``trainer.train()``; "measured" = that peak minus the
  baseline, i.e. weights + gradients + optimizer + activations + whatever the
  trainer adds, which is what ``core.memory.estimate_memory`` estimates.

It also prints the process's lifetime peak (the largest of the stages' peaks):
what a naive measurement reads. ``--cold`` adds the tiny-model case with ``SFT_COACH_CACHE`` pointing at
an empty folder (the state of a fresh clone on a fresh machine); it runs the
GGUF conversion (~35 s, sft-facts §7) inside the measured process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 2**20
# (name, model, method, max_length); batch 4 everywhere, as the Quick demo (sft-facts §6 measured batch 4).
CASES = [
    ("tiny-lora-128", "tiny", "lora", 128),
    ("tiny-lora-512", "tiny", "lora", 512),
    ("smollm2-lora-128", "smollm2", "lora", 128),
    ("smollm2-lora-512", "smollm2", "lora", 512),
    ("smollm2-full-128", "smollm2", "full", 128),
]
BATCH = 4


def _vm_hwm() -> int:
    """Peak resident set since start or the last reset, in bytes (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("No VmHWM in /proc/self/status: this bench needs Linux.")


def _reset_hwm() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _long_rows(tokenizer, length: int, count: int) -> list[dict]:
    """Language-modelling rows of more than ``length`` tokens each (every position carries loss)."""
    words = "the model learns to answer in the format the examples show and nothing else".split()
    rows = []
    for i in range(count):
        text = " ".join(words[(i + j) % len(words)] for j in range(length * 2))
        assert len(tokenizer(text)["input_ids"]) > length
        rows.append({"text": text})
    return rows


def child(spec: dict) -> dict:
    """One measured case, in this (fresh) process."""
    result = {"rss_start": _rss()}
    from core.ml_stack import import_training_stack

    import_training_stack()
    import trackio  # noqa: F401  (the app reports every run to trackio)

    result["baseline"] = _rss()  # imports only: the process the training runs in
    result["import_peak"] = _vm_hwm()

    from core.models.catalog import OFFLINE_MODEL_ID, TINY_MODEL_ID, resolve_model

    _reset_hwm()
    started = time.time()
    model_path = resolve_model(TINY_MODEL_ID if spec["model"] == "tiny" else OFFLINE_MODEL_ID)
    result["resolve_seconds"] = time.time() - started
    result["resolve_peak"] = _vm_hwm()
    result["after_resolve"] = _rss()

    from datasets import Dataset
    from transformers import AutoTokenizer
    from transformers.trainer_callback import PrinterCallback

    from core.config import RunConfig
    from core.device import detect_device
    from core.memory import estimate_memory
    from core.models.catalog import read_model_config
    from core.runs.sft_trainer import CoachSFTTrainer
    from core.trl_args import build_lora_config, build_sft_config

    config = RunConfig(
        model_id=str(model_path), method=spec["method"], per_device_batch_size=BATCH, max_length=spec["length"],
        max_steps=spec["steps"], sample_every=0, num_probe_prompts=0, eval_steps=0, save_steps=0, seed=0,
    )  # fmt: skip
    device = detect_device()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    dataset = Dataset.from_list(_long_rows(tokenizer, spec["length"], BATCH * spec["steps"]))
    args = build_sft_config(config, Path(spec["out"]) / "checkpoints", device, has_eval=False)
    trainer = CoachSFTTrainer(
        model=str(model_path),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=build_lora_config(config),
    )
    trainer.remove_callback(PrinterCallback)
    result["ready"] = _rss()  # model loaded (PEFT applied), data tokenized
    result["build_peak"] = _vm_hwm()  # since resolve_model started: conversion, loading, tokenizing
    _reset_hwm()
    started = time.time()
    trainer.train()
    result["train_seconds"] = time.time() - started
    result["train_peak"] = _vm_hwm()
    # clear_refs resets ru_maxrss too (both read the mm's high-water mark): the lifetime peak is the stages' max.
    result["lifetime_peak"] = max(result["import_peak"], result["build_peak"], result["train_peak"])
    estimate = estimate_memory(read_model_config(str(model_path)), config, device, row_tokens=spec["length"])
    result["estimate"] = estimate.parts
    return result


def run_case(name: str, model: str, method: str, length: int, steps: int, cache: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        spec = {"model": model, "method": method, "length": length, "steps": steps, "out": tmp}
        env = {
            **os.environ,
            "TRACKIO_DIR": str(Path(tmp) / "trackio"),
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            # Peak RSS also counts malloc arenas, one per busy thread (3452ba4: +22% once on a saturated
            # machine): fix threads and arenas so the figure measures the run, not the load.
            "OMP_NUM_THREADS": "2",
            "MALLOC_ARENA_MAX": "2",
        }
        if cache is not None:
            env["SFT_COACH_CACHE"] = cache
        out = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, env=env
        )
        if out.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
    result["name"] = name
    return result


def report(result: dict) -> str:
    parts = result["estimate"]
    estimate = sum(parts.values())
    measured = result["train_peak"] - result["baseline"]
    naive = result["lifetime_peak"] - result["baseline"]
    weights_measured = result["ready"] - result["baseline"]
    growth = result["train_peak"] - result["ready"]
    training_parts = parts["gradients"] + parts["optimizer"] + parts["activations"]
    return (
        f"{result['name']:<22} baseline {result['baseline'] / MB:7.0f} MB | "
        f"estimate {estimate / MB:7.0f} MB  measured {measured / MB:7.0f} MB  ratio {measured / estimate:5.2f} | "
        f"weights est {parts['weights'] / MB:5.0f} / loaded {weights_measured / MB:5.0f} MB | "
        f"grads+optim+act est {training_parts / MB:6.0f} / growth {growth / MB:6.0f} MB | "
        f"resolve peak {result['resolve_peak'] / MB:6.0f} MB ({result['resolve_seconds']:.0f} s) | "
        f"lifetime peak - baseline {naive / MB:6.0f} MB (ratio {naive / estimate:4.2f}) | "
        f"train {result['train_seconds']:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps per case")
    parser.add_argument("--cold", action="store_true", help="also run tiny-lora-128 in an empty model cache")
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, batch {BATCH}, {args.steps} steps")
    rows = []
    for name, model, method, length in CASES:
        if args.only and name not in args.only:
            continue
        result = run_case(name, model, method, length, args.steps, cache=None)
        rows.append(result)
        print(report(result), flush=True)
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="bench-memory-cache-") as cache:
            result = run_case("tiny-lora-128 (cold)", "tiny", "lora", 128, args.steps, cache=cache)
        rows.append(result)
        print(report(result), flush=True)
    # The tolerance is for warm caches: a cold one measures the GGUF conversion's leftovers too (see the cold row).
    ratios = [(r["train_peak"] - r["baseline"]) / sum(r["estimate"].values()) for r in rows if "cold" not in r["name"]]
    if ratios:
        worst = max(ratios, key=lambda r: abs(r - 1))
        print(f"# warm cache, measured / estimate: {min(ratios):.2f} to {max(ratios):.2f} ({abs(worst - 1):.0%} off)")


if __name__ == "__main__":
    main()
