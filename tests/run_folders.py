"""Run folders and LoRA adapters built from the tiny model in well under a second, as a finished run leaves them."""

from __future__ import annotations

import json
from pathlib import Path

from core.config import RunConfig


def make_adapter(base_path: Path, folder: Path, seed: int = 1) -> Path:
    """Save a LoRA adapter with random (non-zero) weights, so its answers differ from the base model's."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_path)
    config = LoraConfig(
        r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"
    )
    get_peft_model(model, config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(base_path).save_pretrained(folder)
    return folder


def make_run(
    runs_dir: Path,
    base_path: Path,
    run_id: str = "20260101-120000-aaaa0001",
    checkpoint_eval_losses: dict[int, float | None] | None = None,
    losses: tuple[float, ...] = (3.0, 2.0, 1.2, 0.9),
    seed: int = 1,
) -> Path:
    """A finished LoRA run folder as core/runs/store.py lays it out: config, state, metrics, probes, results."""
    run_dir = runs_dir / run_id
    run_dir.mkdir(parents=True)
    config = RunConfig(model_id=str(base_path), max_steps=len(losses), sample_every=0)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    state = {"job_id": run_id, "phase": "finished", "step": len(losses), "result_dir": str(run_dir / "final")}
    (run_dir / "state.json").write_text(json.dumps(state))
    with (run_dir / "metrics.jsonl").open("w") as handle:
        for step, loss in enumerate(losses, start=1):
            handle.write(json.dumps({"step": step, "loss": loss, "learning_rate": 1e-3}) + "\n")
    probes = [{"prompt": "Ada Lovelace, 36, lives in London.", "reference": '{"name": "Ada"}'}]
    (run_dir / "probes.json").write_text(json.dumps({"probes": probes}))
    make_adapter(base_path, run_dir / "final", seed)
    for step, eval_loss in (checkpoint_eval_losses or {}).items():
        checkpoint = run_dir / "checkpoints" / f"checkpoint-{step}"
        make_adapter(base_path, checkpoint, seed + step)
        history = [{"step": step, "loss": 1.0}] + ([{"step": step, "eval_loss": eval_loss}] if eval_loss else [])
        (checkpoint / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": history}))
        (checkpoint / "optimizer.pt").write_bytes(b"")
        (checkpoint / "scheduler.pt").write_bytes(b"")
    return run_dir


COMPLETE_CHECKPOINT_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt", "adapter_model.safetensors")


def make_checkpoint(run_dir: Path, step: int, files=COMPLETE_CHECKPOINT_FILES, eval_loss: float = 1.5) -> Path:
    """A checkpoint folder of ``run_dir`` holding ``files`` (all four: complete; fewer: a save cut short)."""
    folder = Path(run_dir) / "checkpoints" / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    for name in files:
        state = {"log_history": [{"step": step, "eval_loss": eval_loss}]}
        (folder / name).write_text(json.dumps(state) if name.endswith(".json") else "x")
    return folder
