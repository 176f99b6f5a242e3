"""Tokenised training data kept by content hash, so a run of rows already tokenised skips TRL's preparation.

TRL's ``SFTTrainer`` prepares each dataset before training: chat template, tokenising, labels, truncation,
packing, shuffling. On the 2-core CPU that is ~0.9 s of the ~1.5 s it takes to build the trainer for the
1,000 demo rows, and it grows with the rows (bench/RESULTS.md). What it produces depends only on the rows,
the tokenizer and a few settings, so the first run (or the standby worker's head start, core/runs/warm.py)
keeps the prepared datasets here and a later run with the same key passes them to the trainer with
``dataset_kwargs={"skip_prepare_dataset": True}`` (TRL's documented way to hand it prepared data).

The key holds the rows themselves (every value of every row, train and validation), the tokenizer (its
folder, chat template, special tokens, vocabulary size and how it splits a probe text), the settings that
``SFTTrainer._prepare_dataset`` reads, and the versions of TRL, datasets and transformers. Entries live in
``<data folder>/tokenised/<key>/``, written to a temporary folder and renamed, so a reader finds a whole
entry or none; only the newest ``KEEP`` entries are kept.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from core.paths import data_dir

KEEP = 8  # entries kept; the oldest go first (a 100k-row dataset's entry is tens of MB)
# SFTConfig fields TRL 1.16's SFTTrainer reads while preparing a dataset (sft_trainer.py, _prepare_dataset and
# the completion-only / template choices made in __init__).
PREPARE_FIELDS = (
    "assistant_only_loss", "completion_only_loss", "dataset_text_field", "max_length", "packing",
    "packing_strategy", "eval_packing", "padding_free", "seed", "shuffle_dataset", "truncation_mode",
    "chat_template_path", "eos_token", "pad_token", "remove_unused_columns",
)  # fmt: skip
_PROBE_TEXT = 'Hello, world! 123 ünïcödé\n\t{"key": [1, 2]}'


def _rows_digest(digest, dataset) -> None:
    if dataset is None:
        digest.update(b"no dataset")
        return
    digest.update(json.dumps(sorted(dataset.column_names)).encode())
    for batch in dataset.iter(batch_size=1000):
        digest.update(json.dumps(batch, sort_keys=True, default=str).encode())


def tokenised_key(train, evaluation, tokenizer, args) -> str:
    """A hash of everything TRL's preparation of ``train`` and ``evaluation`` depends on."""
    import datasets
    import transformers
    import trl

    settings = {name: getattr(args, name, None) for name in PREPARE_FIELDS}
    identity = [
        getattr(tokenizer, "name_or_path", ""),
        getattr(tokenizer, "chat_template", None),
        tokenizer.eos_token,
        tokenizer.pad_token,
        len(tokenizer),
        tokenizer(_PROBE_TEXT)["input_ids"],
    ]
    digest = hashlib.sha256()
    digest.update(json.dumps([trl.__version__, datasets.__version__, transformers.__version__]).encode())
    digest.update(json.dumps([settings, identity], sort_keys=True, default=str).encode())
    _rows_digest(digest, train)
    _rows_digest(digest, evaluation)
    return digest.hexdigest()


def _folder() -> Path:
    return data_dir() / "tokenised"


def read_tokenised(key: str):
    """The prepared (train, validation) datasets kept under ``key``; None when there is no whole entry."""
    from datasets import load_from_disk

    entry = _folder() / key
    try:
        train = load_from_disk(str(entry / "train"))
        evaluation = load_from_disk(str(entry / "eval")) if (entry / "eval").is_dir() else None
    except (OSError, ValueError):  # missing, or damaged: the run prepares its data itself
        return None
    entry.touch()  # recently used: pruned last
    return train, evaluation


def keep_tokenised(key: str, train, evaluation) -> None:
    """Keep the prepared datasets under ``key``; a full disk or a second writer only loses this copy."""
    folder = _folder()
    entry = folder / key
    if entry.is_dir():
        return
    partial = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=folder, prefix=f".{key}."))
        train.save_to_disk(str(partial / "train"))
        if evaluation is not None:
            evaluation.save_to_disk(str(partial / "eval"))
        partial.rename(entry)
    except OSError:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        return
    _prune(folder)


def _prune(folder: Path) -> None:
    """Keep the newest ``KEEP`` entries, and no half-written folder a stopped worker left behind."""
    entries = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    whole = [p for p in entries if not p.name.startswith(".")]
    for stale in whole[KEEP:] + [p for p in entries if p.name.startswith(".")][1:]:
        shutil.rmtree(stale, ignore_errors=True)
