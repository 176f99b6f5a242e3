"""Training speed, side by side in one run: the app's run manager vs plain `trl sft`, and app defaults vs TRL's.

    .venv/bin/python bench/bench_training.py [--steps 30] [--before REV]

Three runs on the same model (the offline SmolLM2-135M-Instruct), the same data
(the JSON-extraction demo, written to JSONL) and the same seed:

1. plain TRL: TRL's own CLI, `trl sft --config plain.yaml`, LoRA r16 on all
   linear layers, batch 4, max length 256, float32, gradient checkpointing off;
2. the app: the same settings through `core.runs.manager.RunManager` (sample
   generation and evaluation off, so only training is timed);
3. TRL defaults: the same CLI, leaving gradient checkpointing at SFTConfig's
   default (on) — what a user gets without the app's device-aware defaults.

It prints steps/s, tokens/s, peak RSS and the largest per-step loss difference
against plain TRL, and the ratios. Every run logs to trackio, as the app does.

``--before REV`` also trains through the app at that git revision (its files from ``git archive``, this
venv), right before this tree's app run, and prints this tree's steps/s against it; runs 3 and the
one-thread CLI run are left out then, to keep the comparison short.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.revision import revision_tree  # noqa: E402

SETTINGS = {
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 1,
    "max_length": 256,
    "learning_rate": 1e-3,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0.1,
    "seed": 42,
    "data_seed": 42,
}


KINDS = {
    "trl": "plain `trl sft`, same settings (all cores)",
    "app": "SFT Coach run manager",
    "trl-defaults": "plain `trl sft`, TRL defaults (gradient checkpointing on, all cores)",
    "trl-cli-default": "plain `trl sft` as launched by default (accelerate sets OMP_NUM_THREADS=1)",
}


def write_plain_recipe(folder: Path, model: str, data: Path, steps: int, checkpointing: bool | None) -> Path:
    import yaml

    recipe = {
        "model_name_or_path": model,
        "dtype": "float32",
        "datasets": [{"path": "json", "data_files": str(data), "split": "train"}],
        "use_peft": True,
        "lora_r": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.0,
        "lora_target_modules": "all-linear",
        "output_dir": str(folder / "out"),
        "max_steps": steps,
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": steps,  # one checkpoint at the end: its trainer_state.json holds every logged loss
        "save_only_model": True,
        "report_to": "trackio",
        "project": "sft-coach-bench",
        "trackio_static_space_id": False,
        "use_cpu": True,
        "bf16": False,
        "disable_tqdm": True,
        **SETTINGS,
    }
    if checkpointing is not None:
        recipe["gradient_checkpointing"] = checkpointing
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def run_plain_trl(
    folder: Path, model: str, data: Path, steps: int, checkpointing: bool | None, all_threads: bool = True
) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    recipe = write_plain_recipe(folder, model, data, steps, checkpointing)
    env = {**os.environ, "TRACKIO_DIR": str(folder / "trackio")}
    env.pop("OMP_NUM_THREADS", None)
    if all_threads:
        # `trl sft` goes through `accelerate launch`, which sets OMP_NUM_THREADS=1 on a CPU machine unless told
        # otherwise; the app's in-process trainer uses every core. Same threads = same settings.
        env["OMP_NUM_THREADS"] = str(os.cpu_count())
    start = time.time()
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "trl"), "sft", "--config", str(recipe)], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"trl sft failed:\n{out.stderr[-3000:]}")
    state = json.loads((folder / "out" / f"checkpoint-{steps}" / "trainer_state.json").read_text())
    logs = [h for h in state["log_history"] if "loss" in h]
    # The checkpoint is written before the end-of-training log, which TRL's printer sends to stdout.
    summary = next(
        ast.literal_eval(line) for line in out.stdout.splitlines() if line.startswith("{") and "train_runtime" in line
    )
    return {
        "wall": time.time() - start,
        "train_runtime": float(summary["train_runtime"]),
        "losses": [h["loss"] for h in logs],
        "tokens": logs[-1]["num_tokens"],
    }


def run_app(folder: Path, data: Path, steps: int) -> dict:
    # The folder holding train.jsonl (+ test.jsonl): all of train.jsonl is trained on, as `trl sft` does.
    os.environ["TRACKIO_DIR"] = str(folder / "trackio")
    from core.config import RunConfig
    from core.models.catalog import OFFLINE_MODEL_ID
    from core.runs.manager import RunManager

    config = RunConfig(
        model_id=OFFLINE_MODEL_ID, dataset=str(data.parent), max_steps=steps, max_length=SETTINGS["max_length"],
        learning_rate=SETTINGS["learning_rate"], per_device_batch_size=4, sample_every=0, num_probe_prompts=0,
        eval_steps=0, save_steps=0, seed=42,
    )  # fmt: skip
    manager = RunManager(folder / "runs")
    start = time.time()
    snapshot = manager.wait(manager.start(config, owner="tester").run_id)
    if snapshot.phase != "finished":
        raise RuntimeError(f"the app's run failed: {snapshot.error}\n{snapshot.error_detail}")
    return {
        "wall": time.time() - start,
        "train_runtime": snapshot.summary["train_runtime"],
        "losses": [m["loss"] for m in snapshot.metrics],
        "tokens": snapshot.metrics[-1]["num_tokens"],
    }


def child(kind: str, folder: str, model: str, data: str, steps: int) -> None:
    """Run one measurement in this (fresh) process and print it as JSON, with the process's peak RSS."""
    folder_path, data_path = Path(folder), Path(data)
    if kind == "app":
        result = run_app(folder_path, data_path, steps)
    else:
        checkpointing = None if kind == "trl-defaults" else False
        # "trl-cli-default" keeps the one thread accelerate gives `trl sft` on a CPU (before, it got every core).
        all_threads = kind != "trl-cli-default"
        result = run_plain_trl(folder_path, model, data_path, steps, checkpointing, all_threads)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["peak_rss_gb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, children) / 2**20
    print("RESULT " + json.dumps(result))


def measure(kind: str, folder: Path, model: str, data: Path, steps: int, tree: Path = ROOT) -> dict:
    """One run in a fresh process; ``tree``: the source tree whose bench (and app) runs it."""
    # The app opens the benchmark's data folder by path, as on one person's machine (core/file_access.py).
    env = {**os.environ, "SFT_COACH_LOCAL_PATHS": "1", "SFT_COACH_ALLOWED_FOLDERS": str(data.parent.parent)}
    out = subprocess.run(
        [sys.executable, str(tree / "bench" / "bench_training.py"), "--child", kind, str(folder / kind), model,
         str(data), str(steps)],
        capture_output=True, text=True, cwd=tree, env=env,
    )  # fmt: skip
    line = next((row for row in out.stdout.splitlines() if row.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{kind} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--child", nargs=5, metavar=("KIND", "FOLDER", "MODEL", "DATA", "STEPS"))
    parser.add_argument("--before", metavar="REV", help="also train through the app at this git revision")
    args = parser.parse_args()
    if args.child:
        kind, folder, model, data, steps = args.child
        child(kind, folder, model, data, int(steps))
        return

    from core.demo_data import write_demo_jsonl
    from core.models.catalog import ensure_offline_model

    model = str(ensure_offline_model())
    with tempfile.TemporaryDirectory(prefix="sft-coach-bench-") as tmp:
        folder = Path(tmp)
        data = write_demo_jsonl("json_extraction", folder / "data")["train"]
        kinds = dict(KINDS)
        results = {"trl": measure("trl", folder, model, data, args.steps)}
        if args.before:
            old = revision_tree(args.before, folder / f"tree-{args.before}")
            (old / ".venv").symlink_to(ROOT / ".venv")
            label = f"SFT Coach run manager at {args.before}"
            results[label] = measure("app", folder / "before", model, data, args.steps, tree=old)
            kinds = {"trl": KINDS["trl"], label: label, "app": KINDS["app"]}
        results["app"] = measure("app", folder, model, data, args.steps)
        for kind in kinds:
            if kind not in results:
                results[kind] = measure(kind, folder, model, data, args.steps)

    print(
        f"# Training speed, {args.steps} steps, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}"
    )
    print("| run | steps/s | tokens/s | peak RSS (GB) | max per-step loss diff vs plain TRL |")
    print("|---|---|---|---|---|")
    base = results["trl"]
    for kind, label in kinds.items():
        r = results[kind]
        steps_per_s = args.steps / r["train_runtime"]
        tokens_per_s = r["tokens"] / r["train_runtime"]
        diff = max(abs(a - b) for a, b in zip(r["losses"], base["losses"], strict=True))
        print(f"| {label} | {steps_per_s:.3f} | {tokens_per_s:.0f} | {r['peak_rss_gb']:.2f} | {diff:.2e} |")
    app = results["app"]["train_runtime"]
    print(f"\nload average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"app vs plain TRL, same settings: {base['train_runtime'] / app:.2f}x steps/s (goal >= 1.15x)")
    if args.before:
        before = results[f"SFT Coach run manager at {args.before}"]["train_runtime"]
        print(f"this tree vs {args.before}: {before / app:.3f}x steps/s (goal >= 1.0x: no slower)")
        return
    defaults, cli = results["trl-defaults"]["train_runtime"], results["trl-cli-default"]["train_runtime"]
    print(f"app defaults vs TRL defaults: {defaults / app:.2f}x steps/s (goal >= 1.3x)")
    print(f"app vs `trl sft` launched as is (one thread): {cli / app:.2f}x steps/s")


if __name__ == "__main__":
    main()
