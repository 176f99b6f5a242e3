"""Import torch, transformers, PEFT and TRL once, one thread at a time.

transformers 5 resolves its public names lazily (``_LazyModule``). Two threads
importing it for the first time at once can see a half-initialised module and
fail with "cannot import name 'AutoTokenizer' from 'transformers'". In the app
that happened when Start was clicked while the warm-up thread was still
importing TRL: the run failed before its first step. Every code path that may
run off the main thread and needs the stack calls one of these functions
first; after the first call they cost a flag check.
"""

from __future__ import annotations

import threading

_lock = threading.RLock()
_imported: set[str] = set()


def import_transformers() -> None:
    """torch and the transformers names the app uses (tokenizers, models, configs, callbacks)."""
    if "transformers" in _imported:
        return
    with _lock:
        if "transformers" in _imported:
            return
        import torch  # noqa: F401
        from transformers import (  # noqa: F401
            AutoConfig,
            AutoModelForCausalLM,
            AutoTokenizer,
            TextIteratorStreamer,
            TrainerCallback,
        )

        _imported.add("transformers")


def import_training_stack() -> None:
    """Everything a training run needs: the above plus PEFT and TRL (TRL alone takes ~7 s cold, sft-facts §7)."""
    if "trl" in _imported:
        return
    with _lock:
        if "trl" in _imported:
            return
        import_transformers()
        import peft  # noqa: F401
        from trl import SFTConfig, SFTTrainer  # noqa: F401

        _imported.add("trl")
