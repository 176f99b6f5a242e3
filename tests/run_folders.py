"""Run folders for tests that need one on disk without training: checkpoints shaped as TRL leaves them."""

from __future__ import annotations

import json
from pathlib import Path

COMPLETE_CHECKPOINT_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt", "adapter_model.safetensors")


def make_checkpoint(run_dir: Path, step: int, files=COMPLETE_CHECKPOINT_FILES, eval_loss: float = 1.5) -> Path:
    """``<run_dir>/checkpoints/checkpoint-<step>/`` with ``files`` (placeholders; trainer_state.json is real JSON)."""
    folder = Path(run_dir) / "checkpoints" / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    for name in files:
        state = {"log_history": [{"step": step, "eval_loss": eval_loss}]}
        (folder / name).write_text(json.dumps(state) if name.endswith(".json") else "x")
    return folder
