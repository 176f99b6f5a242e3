"""Merge a LoRA adapter into its base model: one plain model folder that loads without PEFT."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.models.catalog import (
    remote_code_allowed,
    resolve_model,
)
from core.models.refs import adapter_base_model, is_adapter_folder
from core.runs.store import RunFolder
from core.share import Progress, ShareError

MERGED_MARKER = "sft_coach_merged"  # written last into a merged folder: newer than the adapter means up to date


# -- merging ---------------------------------------------------------------------------------------------
def merge_adapter(
    adapter_dir: str | Path, output_dir: str | Path | None = None, progress: Progress | None = None
) -> Path:
    """Fold a LoRA adapter into its base model's weights and save the result as a plain model folder.

    The merged model needs no PEFT to load and gives the same answers as the
    adapter on its base (up to float rounding). Default output: ``merged/``
    next to the adapter's run folder. Written to a temporary folder first, so
    a crash never leaves half a model behind.
    """
    from core.ml_stack import import_training_stack

    import_training_stack()  # a click handler's worker thread: see core/ml_stack.py
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    adapter_dir = Path(adapter_dir)
    if not is_adapter_folder(adapter_dir):
        raise ShareError(
            f"{adapter_dir} holds no LoRA adapter (no adapter_config.json), so there is nothing to merge."
        )
    output = Path(output_dir) if output_dir else _default_merge_dir(adapter_dir)
    marker, weights = output / MERGED_MARKER, adapter_dir / "adapter_model.safetensors"
    if marker.is_file() and (not weights.is_file() or marker.stat().st_mtime >= weights.stat().st_mtime):
        return output  # merged before, and the adapter has not been saved again since
    if progress:
        progress("Merging the LoRA adapter into the base model...")
    base = resolve_model(adapter_base_model(adapter_dir), progress)
    # float32 on the CPU: merging in half precision would round the merged weights differently from the adapter.
    model = AutoModelForCausalLM.from_pretrained(
        base, dtype="float32", use_safetensors=True, trust_remote_code=remote_code_allowed()
    )
    merged = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    tmp = output.with_name(output.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(adapter_dir).save_pretrained(tmp)
    (tmp / MERGED_MARKER).write_text(f"{adapter_dir}\n")
    shutil.rmtree(output, ignore_errors=True)
    tmp.rename(output)
    return output


def _default_merge_dir(adapter_dir: Path) -> Path:
    run = RunFolder.holding(adapter_dir)
    if run is not None and run.is_checkpoint(adapter_dir):
        return run.path / f"merged-{adapter_dir.name}"
    return adapter_dir.parent / "merged"
