"""Push a run's adapter or merged model to the Hugging Face Hub, with its model card.

Uploads go through the small ``HubClient`` protocol: ``HfHubClient`` is the real one
(``HfApi.create_repo`` + ``upload_folder``); tests use a fake one for the logic, and the real one against a
local fake of the Hub's HTTP API.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from core.hub import explain_error, find_token, missing_token_sentence, offline_reason, repo_id_problem
from core.models.catalog import (
    ModelUnavailableError,
)
from core.models.refs import is_adapter_folder
from core.runs.store import RunFolder
from core.share import Progress, ShareError
from core.share.card import build_model_card, write_loss_curve
from core.share.merge import MERGED_MARKER, merge_adapter

# Files a trainer leaves next to the weights that do not belong in a shared model: pickles (unsafe to load),
# optimizer state, and TRL's own README (replaced by our card).
_NOT_SHARED = {"README.md", "training_args.bin", "trainer_state.json", MERGED_MARKER, "sft_coach_complete"}
_NOT_SHARED_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".partial")


# -- the upload folder ------------------------------------------------------------------------------------
def _result_dir(run_dir: Path) -> Path:
    result = (RunFolder(run_dir).read_state() or {}).get("result_dir")
    if not result or not Path(result).is_dir():
        raise ShareError(f"The run {run_dir.name} has no trained model to share yet: let it finish first.")
    return Path(result)


def model_folder_to_share(run_dir: str | Path, what: str, progress: Progress | None = None) -> Path:
    """The folder whose weights get shared: the adapter, or the merged (or fully fine-tuned) model."""
    run_dir = Path(run_dir)
    result = _result_dir(run_dir)
    if what == "adapter":
        if not is_adapter_folder(result):
            raise ShareError("This run fine-tuned the whole model, so there is no adapter: share the model instead.")
        return result
    if what == "merged":
        return merge_adapter(result, progress=progress) if is_adapter_folder(result) else result
    raise ShareError(f"'{what}' is not something to share: use 'adapter' or 'merged'.")


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # no second copy of the weights on disk
    except OSError:
        shutil.copy2(source, target)


def prepare_upload_folder(
    run_dir: str | Path, what: str, repo_id: str, progress: Progress | None = None, names: dict | None = None
) -> Path:
    """Build ``<run>/share/<what>/``: the model files, a README.md model card and the loss curve image."""
    run_dir = Path(run_dir)
    source = model_folder_to_share(run_dir, what, progress)
    folder = RunFolder(run_dir).share_dir(what)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for item in sorted(source.iterdir()):
        if item.is_file() and item.name not in _NOT_SHARED and not item.name.endswith(_NOT_SHARED_SUFFIXES):
            _link_or_copy(item, folder / item.name)
    image = write_loss_curve(run_dir, folder)
    card = build_model_card(run_dir, repo_id, "adapter" if is_adapter_folder(source) else "model", image, names)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


# -- the Hub ---------------------------------------------------------------------------------------------
class HubClient(Protocol):
    """The three Hub calls sharing needs."""

    def whoami(self, token: str) -> str:
        """The user name the token belongs to."""

    def create_repo(self, repo_id: str, token: str, private: bool) -> str:
        """Create the model repository if it does not exist; return its URL."""

    def upload_folder(self, folder: Path, repo_id: str, token: str, message: str) -> str:
        """Upload every file of ``folder`` in one commit; return the commit URL."""


class HfHubClient:
    """The real Hub, through ``huggingface_hub.HfApi`` (``endpoint`` defaults to ``HF_ENDPOINT`` or huggingface.co)."""

    def __init__(self, endpoint: str | None = None) -> None:
        from huggingface_hub import HfApi

        self.api = HfApi(endpoint=endpoint)

    def whoami(self, token: str) -> str:
        return self.api.whoami(token=token)["name"]

    def create_repo(self, repo_id: str, token: str, private: bool) -> str:
        return str(self.api.create_repo(repo_id, token=token, private=private, exist_ok=True))

    def upload_folder(self, folder: Path, repo_id: str, token: str, message: str) -> str:
        info = self.api.upload_folder(folder_path=str(folder), repo_id=repo_id, token=token, commit_message=message)
        return str(info.commit_url)


def hub_unavailable_reason() -> str | None:
    """A sentence saying why pushing can't work here (offline mode), or None when it may."""
    if offline_reason():
        return (
            "Sharing needs the Hugging Face Hub, but this app runs offline (HF_HUB_OFFLINE is set). "
            "Your model stays saved in its run folder; push it from a machine with internet access."
        )
    return None


def resolve_token(token: str | None) -> str:
    """The token to use: the one typed in, else HF_TOKEN or a saved login (core/hub.py). Never stored anywhere."""
    value = find_token(token)
    if not value:
        raise ShareError(missing_token_sentence("nothing was pushed"))
    return value


def explain_hub_error(err: BaseException, token: str) -> str:
    """A beginner sentence for a failed push; the token never appears in it."""
    return explain_error(err, token, "Your model stays saved in its run folder, so you can push it later.")


@dataclass
class PushResult:
    """What a push did."""

    repo_id: str
    url: str
    commit_url: str
    folder: Path
    files: list[str]


def check_repo_id(repo_id: str) -> str:
    """A valid repository name ('name' or 'user/name'), or ShareError saying what is wrong."""
    problem = repo_id_problem(repo_id)
    if problem:
        raise ShareError(problem)
    return repo_id.strip()


def push_model(
    run_dir: str | Path,
    repo_id: str,
    what: str = "adapter",
    token: str | None = None,
    private: bool = True,
    client: HubClient | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Push a run's adapter (``what='adapter'``) or merged model (``'merged'``) with a generated model card.

    A name without a user ('my-model') goes under the token's user. The repo
    is private unless ``private=False``.
    """
    repo_id = check_repo_id(repo_id)
    secret = resolve_token(token)
    if client is None:
        reason = hub_unavailable_reason()
        if reason:
            raise ShareError(reason)
        client = HfHubClient()
    try:
        if "/" not in repo_id:
            repo_id = f"{client.whoami(secret)}/{repo_id}"
        folder = prepare_upload_folder(run_dir, what, repo_id, progress)
        if progress:
            progress(f"Creating {repo_id} on the Hub...")
        url = client.create_repo(repo_id, secret, private)
        if progress:
            progress(f"Uploading {what} files...")
        commit_url = client.upload_folder(folder, repo_id, secret, f"Upload {what} trained with SFT Coach")
    except (ShareError, ModelUnavailableError):
        raise
    except Exception as err:  # HTTP errors and network errors come from several libraries
        raise ShareError(explain_hub_error(err, secret)) from None  # `from None`: the cause may quote headers
    files = sorted(p.name for p in folder.iterdir())
    return PushResult(repo_id, url, commit_url, folder, files)
