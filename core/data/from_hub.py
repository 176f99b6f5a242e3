"""Datasets on the Hugging Face Hub: load one, preview it, and check first that the Hub is reachable.

Offline (``HF_HUB_OFFLINE`` set, or no network) every call fails within a few
seconds with a sentence saying so, instead of hanging in ``load_dataset``.
A token is passed through to the Hub and never logged, written or shown.
"""

from __future__ import annotations

from core.data.errors import DataError, shorten
from core.data.limits import OBJECT_BYTES, LoadLimits
from core.data.loaded import LoadedData
from core.file_access import looks_like_path
from core.hub import offline_reason, repo_id_problem, scrub

HUB_TIMEOUT_SECONDS = 5.0
_OFFLINE_HINT = "Upload a file, pick a built-in demo, or type the path of a local file instead."


def check_hub_dataset(dataset_id: str, token: str | None = None, timeout: float = HUB_TIMEOUT_SECONDS) -> None:
    """Fail fast, with a sentence a beginner can act on, when a Hub dataset can't be reached."""
    dataset_id = (dataset_id or "").strip()
    # A path ("/data/...", "./x", "~/x") would make datasets.load_dataset read files on the server: never here.
    # The id itself follows the Hub's rule for repo names (core/hub.py, the one check the app uses).
    if not dataset_id or looks_like_path(dataset_id) or repo_id_problem(dataset_id):
        raise DataError(
            f"'{dataset_id}' is not a Hub dataset id. Type it as owner/name, e.g. 'HuggingFaceH4/no_robots'."
        )
    reason = offline_reason(datasets=True)
    if reason:
        raise DataError(f"Can't load '{dataset_id}': {reason}. {_OFFLINE_HINT}")
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        HfApi().dataset_info(dataset_id, timeout=timeout, token=token)
    except GatedRepoError:
        raise DataError(
            f"'{dataset_id}' is gated: accept its terms on its Hub page and give a token that has access."
        ) from None
    except RepositoryNotFoundError:
        raise DataError(
            f"There is no dataset called '{dataset_id}' on the Hugging Face Hub (or it is private and needs a "
            "token). Check the spelling, e.g. 'HuggingFaceH4/no_robots'."
        ) from None
    except Exception as err:  # network failures come from several libraries (httpx, requests, OSError)
        raise DataError(
            f"Could not reach the Hugging Face Hub to get '{dataset_id}' ({type(err).__name__}). "
            f"This machine seems to be offline. {_OFFLINE_HINT}"
        ) from None


def load_hub(
    dataset_id: str,
    config: str | None = None,
    split: str = "train",
    *,
    validation_split: str | None = None,
    token: str | None = None,
    timeout: float = HUB_TIMEOUT_SECONDS,
) -> LoadedData:
    """Download one split (and optionally a validation split) of a Hub dataset with ``datasets.load_dataset``."""
    check_hub_dataset(dataset_id, token, timeout)
    from datasets import load_dataset

    def fetch(which: str):
        try:
            return load_dataset(dataset_id, config or None, split=which, token=token)
        except ValueError as err:  # unknown config or split: the message lists the valid names
            raise DataError(f"'{dataset_id}': {scrub(shorten(str(err), 400), token)}") from None
        except Exception as err:  # download and parsing failures come in many types
            raise DataError(
                f"Loading '{dataset_id}' (split '{which}') failed: {type(err).__name__}: "
                f"{scrub(shorten(str(err), 300), token)}"
            ) from None

    rows = fetch(split)
    validation = fetch(validation_split) if validation_split else None
    # On disk the rows cost nothing yet; the Data step turns them into Python objects, so the file limits apply.
    limits = LoadLimits.from_env()
    for which, part in ((split, rows), (validation_split, validation)):
        if part is None:
            continue
        name = f"'{dataset_id}' (split '{which}')"
        advice = f"Type a slice as the split to load its first rows, e.g. {which.split('[')[0]}[:{limits.max_rows}]."
        limits.check_row_count(name, len(part), advice)
        limits.check_decoded_size(name, part.data.nbytes + OBJECT_BYTES * len(part), advice)
    where = f"config '{config}', " if config else ""
    return LoadedData(
        rows=rows,
        source=f"{dataset_id} (Hugging Face Hub, {where}split '{split}')",
        columns=list(rows.column_names),
        validation_rows=validation,
    )
