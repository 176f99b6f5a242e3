"""The GPU check kit (bench/gpu_check.sh): its CPU mode runs the GPU code with tiny sizes, and what it skips."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.gpu_kit.machine import skip_reason
from bench.gpu_kit.paths import ForcedFp16Plan, launch_plan, loss_checks
from bench.gpu_kit.plan import GPU_PATHS, TINY_PLAN, peak_flops
from tests.devices import A10G, CPU, T4

ROOT = Path(__file__).resolve().parent.parent


def test_each_path_is_skipped_for_what_the_machine_lacks_and_only_that():
    reasons = {p.name: skip_reason(p.method, p.precision, T4, "") for p in GPU_PATHS}
    assert "no bf16" in reasons["LoRA bf16"] and "no bf16" in reasons["full bf16"]
    assert reasons["LoRA fp16 (as on a T4)"] == reasons["QLoRA 4-bit"] == ""  # a T4 trains these itself
    no_bnb = "bitsandbytes can't be imported (ImportError: no module)"
    assert skip_reason("qlora", "4-bit", A10G, no_bnb) == no_bnb
    assert skip_reason("lora", "bf16", A10G, no_bnb) == ""
    assert all("needs a CUDA GPU" in skip_reason(p.method, p.precision, CPU, "") for p in GPU_PATHS)
    assert skip_reason("lora", "float32", CPU, "") == "" and "CPU's row" in skip_reason("lora", "float32", A10G, "")


def test_the_forced_fp16_worker_is_the_apps_worker_behind_one_patch():
    plan = launch_plan(forced_fp16=True)
    assert isinstance(plan, ForcedFp16Plan) and plan.num_processes == 1
    assert plan.command("r")[1:] == ["-m", "bench.gpu_kit.t4_worker", "--run-dir", "r"]
    assert launch_plan(forced_fp16=False).command("r")[1:3] == ["-m", "core.runs.worker"]
    assert peak_flops("NVIDIA H200") == peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("Tesla T4") is None  # no MFU rather than a made-up one
    assert loss_checks([10.8, 10.5, 9.9]) == (True, True)
    assert loss_checks([9.0, 9.5, 10.0]) == (True, False)
    assert loss_checks([10.8, float("inf")]) == (False, False)


def test_the_pack_pins_what_the_app_pins():
    pins = {}
    for line in (ROOT / "requirements-gpu.txt").read_text().splitlines() + (
        ROOT / "requirements.txt"
    ).read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    kit = dict(
        line.split("==") for line in (ROOT / "bench/gpu_kit/wheels.txt").read_text().splitlines() if "==" in line
    )
    for name in ("trl", "datasets", "bitsandbytes", "trackio", "gradio_client"):
        assert kit[name] == pins[name], name


def _run_check(tmp_path: Path, tokenizer: Path, parts: str) -> tuple[dict, str]:
    """``bash bench/gpu_check.sh`` on this CPU; its JSON and what it printed (it must succeed)."""
    out = tmp_path / "check.json"
    env = {**os.environ, "PYTHON": sys.executable, "SFT_COACH_GPU_KIT_SITE": str(tmp_path / "site")}
    command = ["bash", str(ROOT / "bench" / "gpu_check.sh"), "--out", str(out), "--work", str(tmp_path / "work")]
    done = subprocess.run(
        [*command, "--tokenizer", str(tokenizer), "--parts", parts], capture_output=True, text=True, env=env,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    results = json.loads(out.read_text())
    assert results["sizes"] == "tiny" and results["machine"]["kind"] == "cpu" and results["ok"]
    assert "result: ok" in done.stdout
    return results, done.stdout


# Two runs of the kit (each starts a few processes that import the training stack): each stays under a minute.
def test_on_a_cpu_the_paths_memory_and_chat_run_tiny_and_the_gpu_ones_say_why_not(tmp_path, tiny_model_path):
    results, printed = _run_check(tmp_path, tiny_model_path, "paths,memory,chat")
    paths = {row["path"]: row for row in results["paths"]}
    for path in GPU_PATHS:  # skipped with the reason, never faked
        assert paths[path.name]["skipped"].startswith("needs a CUDA GPU"), paths[path.name]
    cpu = paths["LoRA float32 (CPU)"]
    assert cpu["ok"] and cpu["finite"] and cpu["falling"] and len(cpu["losses"]) == TINY_PLAN.path_steps
    assert cpu["checkpoint_ok"] and cpu["worker_load_check"].startswith("Reloaded from disk and generated")
    assert "| QLoRA 4-bit | skipped: needs a CUDA GPU" in printed

    memory = {row["case"]: row for row in results["memory"]}
    assert memory["tiny QLoRA, 256 tokens"]["skipped"].startswith("needs a CUDA GPU")
    measured = [row for row in memory.values() if "ratio" in row]
    assert len(measured) == 3 and all(row["ok"] for row in measured), measured

    chat = results["chat"]["paths"]
    assert chat["chat_once"]["tokens"] > 0 and chat["stream_chat"]["tokens"] > 0 and chat["stream_chat"]["first_text"]


def test_on_a_cpu_the_app_and_plain_trl_train_the_same_rows_to_the_same_losses(tmp_path, tiny_model_path):
    results, _ = _run_check(tmp_path, tiny_model_path, "speed")
    speed = {(row["run"], row["batching"]): row for row in results["speed"]}
    assert set(speed) == {("app", "padded"), ("app", "packed (wrapped)"), ("plain TRL", "padded"),
                          ("plain TRL", "packed (wrapped)"), ("plain TRL", "padding-free (TRL bfd)")}  # fmt: skip
    assert all(row["tokens_per_s"] > 0 and row["model_tflops"] > 0 and "mfu" not in row for row in speed.values())
    # Same model, rows, seed and settings: the app and plain TRL log the same losses (the app's CPU head: 2e-5).
    assert speed[("app", "padded")]["max_loss_diff_vs_trl"] < 1e-3
    assert speed[("app", "packed (wrapped)")]["max_loss_diff_vs_trl"] < 1e-3
