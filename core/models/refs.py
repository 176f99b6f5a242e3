"""Model refs: what a person picked to chat with or compare, and which ones they may pick.

A *model ref* is whatever the user picked: a base model id (the offline
SmolLM2, the tiny test model, a Hub id), a local model folder, or a run's
result or checkpoint folder, which holds either a full model or a LoRA adapter.
``resolve_ref`` works out what to load for one; the picker lists a person's
own runs' results and checkpoints next to the base models (``model_refs_for``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from core.models.catalog import (
    OFFLINE_MODEL_ID,
    TINY_MODEL_ID,
    ModelUnavailableError,
    gguf_path,
    is_local_model_folder,
    offline_model_dir,
    resolve_model,
    tiny_model_enabled,
)
from core.runs.store import RunFolder, run_folders

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ModelRef:
    """One entry of the chat model picker."""

    ref: str
    """What to pass to ``ModelPool.use``: a model id or a folder path."""
    label: str
    """What the picker shows."""
    kind: str
    """'base', 'final' (a run's result) or 'checkpoint'."""
    run_id: str | None = None
    step: int | None = None
    eval_loss: float | None = None
    is_adapter: bool = False


@dataclass(frozen=True)
class ResolvedRef:
    """Where a model ref's weights come from."""

    ref: str
    base: str
    """What ``from_pretrained`` loads: a local folder or a Hub id (the base model, for an adapter)."""
    adapter: str | None
    """The LoRA adapter folder, or None for a full model."""
    tokenizer_source: str


def is_adapter_folder(path: str | Path) -> bool:
    """True for a folder holding a LoRA adapter (``adapter_config.json``)."""
    folder = Path(path).expanduser()
    return folder.is_dir() and (folder / "adapter_config.json").is_file()


def _adapter_config(folder: Path) -> dict:
    """PEFT's adapter_config.json of an adapter folder (a model file, not a run file), {} when unreadable."""
    import json

    try:
        payload = json.loads((folder / "adapter_config.json").read_text())
    except (OSError, ValueError):
        return {}
    return payload if isinstance(payload, dict) else {}


def adapter_base_model(adapter_dir: str | Path) -> str:
    """The base model an adapter was trained on: the run's ``model_id`` if known, else what PEFT recorded."""
    folder = Path(adapter_dir).expanduser()
    run = RunFolder.holding(folder)
    if run is not None:
        model_id = (run.read_config() or {}).get("model_id")
        if model_id:
            return str(model_id)
    recorded = _adapter_config(folder).get("base_model_name_or_path")
    if not recorded:
        raise ModelUnavailableError(
            f"The adapter in {folder} does not say which base model it belongs to "
            "(no base_model_name_or_path in adapter_config.json). Load it from its run folder instead."
        )
    return str(recorded)


def resolve_ref(ref: str, progress: Progress | None = None) -> ResolvedRef:
    """Work out what to load for a model ref, or raise ModelUnavailableError with a sentence saying why not."""
    ref = (ref or "").strip()
    if ref and is_adapter_folder(ref):
        folder = str(Path(ref).expanduser().resolve())
        base = resolve_model(adapter_base_model(folder), progress)
        has_tokenizer = (Path(folder) / "tokenizer_config.json").is_file()
        return ResolvedRef(ref, base, folder, folder if has_tokenizer else base)
    path = resolve_model(ref, progress)
    return ResolvedRef(ref, path, None, path)


# -- the picker --------------------------------------------------------------------------------------------
def _short_name(model_id: str) -> str:
    return Path(model_id).name if is_local_model_folder(model_id) else model_id.split("/")[-1]


def _base_refs(run_model_ids: list[str]) -> list[ModelRef]:
    ids: list[str] = []
    if gguf_path() is not None or (offline_model_dir() / "config.json").is_file():
        ids.append(OFFLINE_MODEL_ID)
    if tiny_model_enabled():
        ids.append(TINY_MODEL_ID)
    ids += run_model_ids
    unique = list(dict.fromkeys(ids))
    return [ModelRef(mid, f"Base model: {_short_name(mid)}", "base") for mid in unique]


def _final_eval_loss(run: RunFolder, step: int) -> float | None:
    for entry in reversed(run.read_rows("evals").rows):
        if entry.get("step") == step and "eval_loss" in entry:
            return float(entry["eval_loss"])
    return None


def _describe(kind: str, run_id: str, step: int | None, adapter: bool, eval_loss: float | None) -> str:
    what = "LoRA adapter" if adapter else "full model"
    where = "final" if kind == "final" else "checkpoint"
    parts = [f"step {step}"] if step is not None else []
    parts.append(what)
    if eval_loss is not None:
        parts.append(f"eval loss {eval_loss:.3f}")
    return f"Run {run_id} · {where} ({', '.join(parts)})"


def _run_refs(run: RunFolder, include_checkpoints: bool) -> list[ModelRef]:
    state = run.read_state() or {}
    refs = []
    result = state.get("result_dir")
    if result and Path(result).is_dir():
        step = state.get("step")
        adapter = is_adapter_folder(result)
        loss = _final_eval_loss(run, step) if step is not None else None
        label = _describe("final", run.run_id, step, adapter, loss)
        refs.append(ModelRef(str(result), label, "final", run.run_id, step, loss, adapter))
    if include_checkpoints:
        for checkpoint in reversed([c for c in run.checkpoints() if c.complete]):
            path, step, loss = str(checkpoint.path), checkpoint.step, checkpoint.eval_loss
            adapter = is_adapter_folder(path)
            label = _describe("checkpoint", run.run_id, step, adapter, loss)
            refs.append(ModelRef(path, label, "checkpoint", run.run_id, step, loss, adapter))
    return refs


def list_model_refs(
    runs_dir: str | Path | None = None, include_checkpoints: bool = True, run_ids: Iterable[str] | None = None
) -> list[ModelRef]:
    """What the chat picker offers: base models first, then each run's result and checkpoints, newest first.

    ``run_ids`` limits the runs to one person's (their runs' base models too: another person's model id can
    be a path that says whose it is). Checkpoints are listed newest step first, with their validation loss
    when one was measured at that step; incomplete checkpoints are left out.
    """
    from core.paths import runs_dir as default_runs_dir

    runs = list(run_folders(runs_dir if runs_dir is not None else default_runs_dir()))[::-1]
    if run_ids is not None:
        wanted = set(run_ids)
        runs = [run for run in runs if run.run_id in wanted]
    run_refs: list[ModelRef] = []
    model_ids: list[str] = []
    for run in runs:
        config = run.read_config()
        if config is None or run.read_state() is None:
            continue
        if config.get("model_id"):
            model_ids.append(str(config["model_id"]))
        run_refs += _run_refs(run, include_checkpoints)
    return _base_refs(model_ids) + run_refs


def model_refs_for(owner: str, manager) -> list[ModelRef]:
    """The models one person may pick (``manager`` is the ``RunManager``): every base model their runs or the
    app offer, and the results and checkpoints of their own runs; never another person's run or base model."""
    own = {summary.run_id for summary in manager.summaries(owner=owner)}
    return [ref for ref in list_model_refs(manager.runs_dir, run_ids=own) if ref.kind == "base" or ref.run_id in own]


def default_pair(refs: list[ModelRef]) -> tuple[str, str] | None:
    """The side-by-side default: the newest run's result against the base model it was trained from."""
    for ref in refs:
        if ref.kind == "final" and ref.run_id:
            run = RunFolder.holding(ref.ref)
            base = (run.read_config() or {}).get("model_id") if run else None
            if base:
                return str(base), ref.ref
    return None
