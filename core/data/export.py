"""Save converted rows: as JSONL, as a training folder the trainer reads, or as a dataset on the Hugging Face Hub.

The Hub token is passed to ``huggingface_hub``/``datasets`` and nowhere else:
it is never logged, written to disk, or put in a message (errors are redacted).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from core.data.errors import DataError, shorten
from core.hub import explain_error, find_token, missing_token_sentence, offline_reason, repo_id_problem


def export_jsonl(rows: Sequence[dict], path: str | Path) -> Path:
    """Write ``rows`` as JSON Lines (UTF-8, one object per line); written to a temp file first, then moved.

    >>> import tempfile, pathlib
    >>> path = export_jsonl([{"text": "é"}], pathlib.Path(tempfile.mkdtemp()) / "out.jsonl")
    >>> path.read_text(encoding="utf-8")
    '{"text": "é"}\\n'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", encoding="utf-8") as handle:
        for number, row in enumerate(rows, start=1):
            try:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            except (TypeError, ValueError) as err:
                tmp.unlink(missing_ok=True)
                raise DataError(f"Row {number} can't be written as JSON ({err}). Check it in the report.") from None
    os.replace(tmp, path)
    return path


def write_training_folder(train_rows: Sequence[dict], validation_rows: Sequence[dict], folder: str | Path) -> Path:
    """Write ``train.jsonl`` (and ``test.jsonl`` when there are validation rows) into ``folder``.

    That folder is what ``RunConfig.dataset`` takes: ``prepare_training_data``
    trains on train.jsonl and uses test.jsonl as the validation set.
    """
    folder = Path(folder)
    if not train_rows:
        raise DataError("There are no rows to train on: every row was left out. See the validation report.")
    export_jsonl(train_rows, folder / "train.jsonl")
    test = folder / "test.jsonl"
    if validation_rows:
        export_jsonl(validation_rows, test)
    elif test.exists():
        test.unlink()  # a stale validation file from an earlier export would be read as this data's
    return folder


def push_dataset(
    train_rows: Sequence[dict],
    repo_id: str,
    token: str | None = None,
    *,
    validation_rows: Sequence[dict] | None = None,
    private: bool = True,
) -> str:
    """Upload the rows as a dataset repository (private by default) and return its URL.

    Goes through the app's one door to the Hub (core/hub.py): its offline rule, repo-id check, token lookup
    (typed, else ``HF_TOKEN``, else ``hf auth login``) and its sentences for 401, 403 and no network.
    """
    problem = repo_id_problem(repo_id, need_namespace=True)
    if problem:
        raise DataError(problem)
    repo_id = repo_id.strip()
    token = find_token(token)
    if not token:
        raise DataError(missing_token_sentence("nothing was pushed"))
    if not train_rows:
        raise DataError("There are no rows to push.")
    reason = offline_reason(datasets=True)
    if reason:
        raise DataError(f"Can't push to the Hub: {reason}. Download the JSONL file instead.")
    from huggingface_hub import HfApi

    keep = "Download the JSONL file instead."
    try:
        HfApi().whoami(token=token)  # fails fast when offline or when the token is wrong
    except Exception as err:  # httpx/requests/OSError for the network, HfHubHTTPError for a bad token
        raise DataError(explain_error(err, token, keep)) from None
    from datasets import Dataset, DatasetDict

    splits = {"train": Dataset.from_list(list(train_rows))}
    if validation_rows:
        splits["validation"] = Dataset.from_list(list(validation_rows))
    try:
        DatasetDict(splits).push_to_hub(repo_id, token=token, private=private)
    except Exception as err:  # upload failures come in many types
        raise DataError(f"Pushing to '{repo_id}' failed: {shorten(explain_error(err, token, keep), 300)}") from None
    return f"https://huggingface.co/datasets/{repo_id}"
