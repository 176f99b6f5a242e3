"""Models loaded for chat and comparison: at most two at a time, least recently used unloaded first.

What a picked model is (a *model ref*) and which refs a person may pick live in ``core/models/refs.py``.

How LoRA adapters share their base (issue 6, "Resources"):

- The pool keeps one entry per set of *base weights*. An adapter is loaded
  onto the entry of its base with PEFT (``PeftModel.from_pretrained`` for the
  first adapter, ``load_adapter`` for the next ones) instead of loading a
  second copy of the base, so "base vs fine-tuned" costs one model's memory.
- PEFT injects the LoRA layers into the base modules *in place*: once an
  adapter is loaded, the entry's model no longer computes base outputs on its
  own. A base ref on such an entry therefore runs inside
  ``PeftModel.disable_adapter()``, and an adapter ref activates its adapter
  with ``set_adapter`` first (tests/test_models_pool.py checks both against
  freshly loaded models).
- Each entry has a lock: one generation at a time per entry, because the
  active adapter is state shared by everyone using that entry. The pool's own
  lock guards the table of entries and loading.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.ml_stack import import_training_stack, import_transformers
from core.models.catalog import (
    remote_code_allowed,
)
from core.models.refs import Progress, ResolvedRef, resolve_ref

# Adapters are small (a few MB for r=16 on a 135M model) but each one adds layers to every forward pass's
# bookkeeping; beyond this many on one base, the least recently used is deleted and reloaded when needed again.
MAX_ADAPTERS_PER_MODEL = 4


def _adapter_name(folder: str) -> str:
    """A stable PEFT adapter name for a folder (PEFT names can't contain dots or slashes)."""
    return "a" + hashlib.sha1(folder.encode()).hexdigest()[:12]


def _torch_dtype(device: str):
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    return torch.float32  # CPU and MPS generate in float32 here, as they train


def _load_tokenizer(source: str):
    import_transformers()  # chat handlers run in worker threads: see core/ml_stack.py
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=remote_code_allowed())
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _load_model(source: str, device: str):
    import_transformers()
    from transformers import AutoModelForCausalLM

    # Untrusted weights: only safetensors (no pickle); code from the model's repository only if the admin allows it.
    model = AutoModelForCausalLM.from_pretrained(
        source, dtype=_torch_dtype(device), use_safetensors=True, trust_remote_code=remote_code_allowed()
    )
    return model.to(device).eval()


@dataclass
class LoadedModel:
    """What ``ModelPool.use`` hands out: a model ready to generate as the requested ref, and its tokenizer."""

    ref: str
    model: Any
    tokenizer: Any
    device: str
    adapter: str | None


@dataclass
class _Entry:
    key: str
    model: Any
    tokenizer: Any
    device: str
    adapters: OrderedDict[str, tuple[str, Any]] = field(default_factory=OrderedDict)  # name -> (folder, tokenizer)
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


def device_for_chat(training_active: bool) -> tuple[str, str]:
    """Where chat should run now, and a sentence for the page saying why.

    While a training run holds the GPU, chat runs on the CPU rather than
    waiting: slower answers, but the training keeps all GPU memory.
    """
    import torch

    if torch.cuda.is_available():
        if training_active:
            return "cpu", "A training run is using the GPU, so chat runs on the CPU for now (slower answers)."
        return "cuda", "Chat runs on the GPU."
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        if training_active:
            return "cpu", "A training run is using the Apple GPU, so chat runs on the CPU for now (slower answers)."
        return "mps", "Chat runs on the Apple GPU (MPS)."
    return "cpu", "This machine has no GPU, so chat runs on the CPU: fine for small models, slow for big ones."


class ModelPool:
    """Loads models by ref on demand and keeps at most ``max_loaded`` base models in memory.

    One per process (the Try it step creates it on first use, ``ui/tryit_context.shared_pool``): it holds
    locks and large tensors, so it must not live in ``gr.State``. Use it as
    ``with pool.use(ref) as loaded: ...``.
    """

    def __init__(self, max_loaded: int = 2, device: str = "cpu") -> None:
        if max_loaded < 1:
            raise ValueError(f"max_loaded must be at least 1 (got {max_loaded}).")
        self.max_loaded = max_loaded
        self.device = device
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._hub_refs: dict[str, ResolvedRef] = {}  # Hub ids already checked online: no network call per message
        self._lock = threading.Lock()

    # -- what is loaded -------------------------------------------------------------------------
    def loaded(self) -> list[str]:
        """Keys (base folder or Hub id) of the loaded models, least recently used first."""
        with self._lock:
            return list(self._entries)

    def loaded_adapters(self, ref: str) -> list[str]:
        """Adapter folders currently loaded on the base of ``ref`` (empty when that base is not loaded)."""
        key = resolve_ref(ref).base
        with self._lock:
            entry = self._entries.get(key)
            return [folder for folder, _ in entry.adapters.values()] if entry else []

    def clear(self) -> None:
        """Unload every model that is not in use right now."""
        with self._lock:
            for key in [k for k, e in self._entries.items() if not e.lock.locked()]:
                del self._entries[key]
        _free_memory()

    # -- using a model --------------------------------------------------------------------------
    @contextmanager
    def use(self, ref: str, device: str | None = None, progress: Progress | None = None) -> Iterator[LoadedModel]:
        """Yield the model for ``ref`` (loading it if needed), held for this caller alone until the block ends."""
        device = device or self.device
        resolved = self._resolve(ref, progress)
        entry = self._entry_for(resolved.base, device, progress)
        with entry.lock:
            entry.last_used = time.monotonic()
            if entry.device != device:
                entry.model.to(device)
                entry.device = device
            tokenizer = entry.tokenizer
            if resolved.adapter is not None:
                tokenizer = self._activate_adapter(entry, resolved, progress)
                context = nullcontext()
            elif entry.adapters:
                context = entry.model.disable_adapter()  # LoRA layers sit inside the base modules now
            else:
                context = nullcontext()
            with context:
                yield LoadedModel(ref, entry.model, tokenizer, device, resolved.adapter)

    def _resolve(self, ref: str, progress: Progress | None) -> ResolvedRef:
        """Resolve a ref; local folders every time (checkpoints get rotated away), Hub ids once."""
        cached = self._hub_refs.get(ref)
        if cached is not None:
            return cached
        resolved = resolve_ref(ref, progress)
        if resolved.adapter is None and resolved.base == ref.strip() and not Path(ref).expanduser().exists():
            self._hub_refs[ref] = resolved
        return resolved

    def _entry_for(self, key: str, device: str, progress: Progress | None) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self._evict(room_for=0)  # catch up if models in use earlier kept the pool over its limit
                return entry
            self._evict(room_for=1)
            if progress:
                progress(f"Loading {Path(key).name or key}...")
            entry = _Entry(key, _load_model(key, device), _load_tokenizer(key), device)
            self._entries[key] = entry
            return entry

    def _evict(self, room_for: int) -> None:
        """Unload least recently used models not in use until ``room_for`` more fit (called under the pool lock).

        A model in use is never unloaded; if every loaded model is in use, the
        pool goes over its limit for a moment and shrinks on a later call. The
        most recently used entry (the one being asked for) is always kept.
        """
        evicted = False
        for key in list(self._entries)[:-1] if room_for == 0 else list(self._entries):
            if len(self._entries) + room_for <= self.max_loaded:
                break
            if not self._entries[key].lock.locked():
                del self._entries[key]
                evicted = True
        if evicted:
            _free_memory()

    def _activate_adapter(self, entry: _Entry, resolved: ResolvedRef, progress: Progress | None):
        """Load the adapter onto the entry's base if needed, make it the active one; return its tokenizer."""
        import_training_stack()  # TRL and PEFT resolve names lazily too: core/ml_stack.py
        from peft import PeftModel

        folder = resolved.adapter
        name = _adapter_name(folder)
        if name not in entry.adapters:
            if progress:
                progress(f"Loading the LoRA adapter {Path(folder).name} on top of the base model...")
            if isinstance(entry.model, PeftModel):
                if len(entry.adapters) >= MAX_ADAPTERS_PER_MODEL:
                    oldest = next(iter(entry.adapters))  # least recently used; never the one asked for
                    entry.model.delete_adapter(oldest)
                    del entry.adapters[oldest]
                entry.model.load_adapter(folder, adapter_name=name)
            else:
                entry.model = PeftModel.from_pretrained(entry.model, folder, adapter_name=name)
            entry.model.to(entry.device).eval()
            tokenizer = _load_tokenizer(resolved.tokenizer_source)
            entry.adapters[name] = (folder, tokenizer)
        entry.adapters.move_to_end(name)
        entry.model.set_adapter(name, inference_mode=True)
        return entry.adapters[name][1]


def _free_memory() -> None:
    import sys

    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
