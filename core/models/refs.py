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
    honest_model_id,
    is_local_model_folder,
    offline_model_dir,
    resolve_model,
    tiny_model_enabled,
)
from core.runs.names import distinct_names, readable_run_name
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
    training: bool = False
    """The run is still training: a checkpoint is from the step named, not the run's final result."""


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
        ids.append(honest_model_id(OFFLINE_MODEL_ID))  # its offline copy, named so, when the Hub can't be reached
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


def _describe(name: str, kind: str, step: int | None, eval_loss: float | None, training: bool) -> str:
    """What the picker shows for a run's model: the run's readable name, then which of its models.

    A run still training is said so: its checkpoints are from the step named, its result (if any) from an
    earlier part of the run, before it was resumed.
    """
    what = ("earlier result" if training else "final") if kind == "final" else "checkpoint"
    where = f"step {step}" if step is not None else "step unknown"
    extra = f", eval loss {eval_loss:.3f}" if eval_loss is not None else ""
    if training:
        extra = " (training still running)"
    return f"{name} · {what}, {where}{extra}"


def _resumed_at(state: dict) -> int | None:
    """The step a resumed run went on from (its result, if any, was saved there); None when not resumed."""
    name = Path(str(state.get("resume_from") or "")).name
    return int(name.removeprefix("checkpoint-")) if name.startswith("checkpoint-") and name[11:].isdigit() else None


def _run_refs(run: RunFolder, name: str, include_checkpoints: bool) -> list[ModelRef]:
    from core.runs.record import ACTIVE_PHASES

    state = run.read_state() or {}
    training = state.get("phase") in ACTIVE_PHASES
    refs = []
    result = state.get("result_dir")
    if result and Path(result).is_dir():
        # While a resumed run trains, state.json's step is where training is now, not where the result was saved.
        step = _resumed_at(state) if training else state.get("step")
        adapter = is_adapter_folder(result)
        loss = _final_eval_loss(run, step) if step is not None and not training else None
        label = _describe(name, "final", step, loss, training)
        refs.append(ModelRef(str(result), label, "final", run.run_id, step, loss, adapter, training))
    if include_checkpoints:
        for checkpoint in reversed([c for c in run.checkpoints() if c.complete]):
            path, step, loss = str(checkpoint.path), checkpoint.step, checkpoint.eval_loss
            label = _describe(name, "checkpoint", step, loss, training)
            refs.append(ModelRef(path, label, "checkpoint", run.run_id, step, loss, is_adapter_folder(path), training))
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
    readable: list[tuple[RunFolder, dict]] = []
    for run in runs:
        config, state = run.read_config(), run.read_state()
        if config is not None and state is not None:
            readable.append((run, config))
    names = distinct_names([run_name(run, config) for run, config in readable])
    run_refs: list[ModelRef] = []
    model_ids = [str(config["model_id"]) for _, config in readable if config.get("model_id")]
    for (run, _), name in zip(readable, names, strict=True):
        run_refs += _run_refs(run, name, include_checkpoints)
    return _base_refs(model_ids) + run_refs


def run_name(run: RunFolder, config: dict | None = None) -> str:
    """The run's readable name (core/runs/names.py) from its folder: dataset · model · start time."""
    config = config if config is not None else (run.read_config() or {})
    created = (run.read_state() or {}).get("created_at")
    return readable_run_name(str(config.get("dataset", "")), str(config.get("model_id", "")), created)


def model_refs_for(owner: str, manager) -> list[ModelRef]:
    """The models one person may pick (``manager`` is the ``RunManager``): every base model their runs or the
    app offer, and the results and checkpoints of their own runs; never another person's run or base model."""
    own = {summary.run_id for summary in manager.summaries(owner=owner)}
    return [ref for ref in list_model_refs(manager.runs_dir, run_ids=own) if ref.kind == "base" or ref.run_id in own]


def default_pair(refs: list[ModelRef]) -> tuple[str, str] | None:
    """The side-by-side default: the newest result of a run no longer training, against its base model."""
    for ref in refs:
        if ref.kind == "final" and ref.run_id and not ref.training:
            run = RunFolder.holding(ref.ref)
            base = (run.read_config() or {}).get("model_id") if run else None
            if base:
                return str(base), ref.ref
    return None
