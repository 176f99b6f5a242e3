"""The base model's answers to a run's held-out prompts (its step-0 samples), computed once and kept.

At step 0 nothing has been trained: a LoRA adapter adds nothing (its B matrices start at zero) and a
full fine-tune has not moved, so the answers are the base model's, the same for every run of that model
with those prompts and generation length. On the 2-core CPU they cost ~6 s on a quiet machine and a
minute on a busy one, before the first training step (bench/RESULTS.md); so the first run computes them
and the next ones read them. The key holds everything the answers depend on: the weight files (name,
size, modification time), the chat template, the prompts, the number of new tokens, the method (a
4-bit QLoRA base answers differently) and the device kind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from core.paths import data_dir

_WEIGHTS = ("*.safetensors", "*.bin", "*.gguf")


def baseline_key(
    model_path: str | Path, chat_template: str | None, prompts: list, max_new_tokens: int, method: str, device: str
) -> str:
    """A hash of everything the base model's greedy answers depend on.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> a = baseline_key(folder, "t", [[{"role": "user", "content": "Hi"}]], 64, "lora", "cpu")
    >>> a == baseline_key(folder, "t", [[{"role": "user", "content": "Hi"}]], 64, "lora", "cpu")
    True
    >>> a == baseline_key(folder, "t", [[{"role": "user", "content": "Hi"}]], 32, "lora", "cpu")
    False
    """
    folder = Path(model_path)
    weights = sorted(
        (p.name, p.stat().st_size, p.stat().st_mtime_ns) for pattern in _WEIGHTS for p in folder.glob(pattern)
    )
    payload = [str(folder.resolve()), weights, chat_template, prompts, int(max_new_tokens), method, device]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _path(key: str) -> Path:
    return data_dir() / "baselines" / f"{key}.json"


def read_baseline(key: str) -> list[str] | None:
    """The answers kept under ``key``, or None."""
    try:
        answers = json.loads(_path(key).read_text(encoding="utf-8")).get("answers")
    except (OSError, ValueError, AttributeError):
        return None
    return answers if isinstance(answers, list) and all(isinstance(a, str) for a in answers) else None


def write_baseline(key: str, answers: list[str]) -> None:
    """Keep the answers (written whole, then renamed: a reader never sees half a file); a full disk only loses it."""
    path = _path(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_text(json.dumps({"answers": answers}), encoding="utf-8")
        partial.replace(path)
    except OSError:
        pass  # an optimisation: the next run computes them again
