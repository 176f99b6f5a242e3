"""Which files and folders a person may open: the one rule for typed paths, run inputs and Try it models.

A path typed by a person (in the Data step, the Try it model picker, a run's model or dataset, a script's
``start_training``) is resolved first (``~``, ``..`` and symlinks followed) and must then lie inside a folder
that person may use:

- their own places in the data folder: their uploads, the datasets they converted, their runs;
- and, only where local paths are switched on, the allowed folders: ``SFT_COACH_ALLOWED_FOLDERS``
  (separated by ``:``), else the home folder and the folder the app started in. Hidden files and folders
  (a name starting with ``.``) and the rest of the data folder (other people's files, the app's secret)
  are never among them.

Local paths are on only when ``SFT_COACH_LOCAL_PATHS=1``; ``python app.py`` sets that when it is bound to
the loopback address (one person on their own machine) unless the variable is already set, and a shared
deployment (a Space binds to 0.0.0.0) leaves them off. A refusal reads the same whether the path exists or
not, and never shows what is in a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from core.config import ConfigError
from core.owners import owner_folder_name

ALLOWED_FOLDERS_ENV = "SFT_COACH_ALLOWED_FOLDERS"
LOCAL_PATHS_ENV = "SFT_COACH_LOCAL_PATHS"
UPLOADS = "uploads"
DATASETS = "datasets"


class PathNotAllowed(ConfigError):
    """A typed path is outside the folders this person may use (or does not exist: the message is the same)."""


def local_paths_enabled() -> bool:
    """Whether people may type paths of files on the server outside their own uploads, datasets and runs."""
    return os.environ.get(LOCAL_PATHS_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def default_local_paths(host: str) -> str:
    """What ``SFT_COACH_LOCAL_PATHS`` defaults to for an app bound to ``host``: on for loopback only.

    >>> default_local_paths("127.0.0.1"), default_local_paths("localhost"), default_local_paths("0.0.0.0")
    ('1', '1', '0')
    """
    return "1" if host in ("127.0.0.1", "localhost", "::1") else "0"


def allowed_folders() -> list[Path]:
    """The admin-allowed folders (resolved); empty while local paths are off."""
    if not local_paths_enabled():
        return []
    listed = [p for p in os.environ.get(ALLOWED_FOLDERS_ENV, "").split(os.pathsep) if p.strip()]
    folders = listed or [str(Path.home()), os.getcwd()]
    return [Path(p).expanduser().resolve() for p in folders]


def owner_uploads(owner: str, data_root: Path) -> Path:
    """The folder that holds one person's uploads (a hash of their id: the id itself is a key to their runs)."""
    return data_root / UPLOADS / owner_folder_name(owner)


def owner_datasets(owner: str, data_root: Path) -> Path:
    """The folder that holds the datasets one person converted with *Use this dataset*."""
    return data_root / DATASETS / owner_folder_name(owner)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _hidden_below(path: Path, folder: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(folder).parts)


def resolve_for(
    typed: str, owner: str, data_root: Path, own_run_dirs: Iterable[Path] = (), what: str = "path"
) -> Path:
    """The resolved path if ``owner`` may open it, else PathNotAllowed (one message, whether it exists or not)."""
    text = (typed or "").strip()
    try:
        path = Path(text).expanduser().resolve() if text else None
    except (OSError, RuntimeError, ValueError):  # a loop of symlinks, a NUL byte
        path = None
    data_root = data_root.resolve()
    own = [owner_uploads(owner, data_root), owner_datasets(owner, data_root), *(Path(d) for d in own_run_dirs)]
    if path is not None:
        if any(_inside(path, folder.resolve()) for folder in own):
            return path
        for folder in allowed_folders():
            if _inside(path, folder) and not _inside(path, data_root) and not _hidden_below(path, folder):
                return path
    raise PathNotAllowed(_refusal(text, what))


def _refusal(typed: str, what: str) -> str:
    shown = typed if len(typed) <= 80 else typed[:77] + "..."
    instead = (
        "pick the base model or one of your own runs from the list, or type a Hub id (owner/name)"
        if what == "model folder"
        else "upload the file instead, or pick one of your own runs"
    )
    if local_paths_enabled():
        where = ", ".join(str(f) for f in allowed_folders()) or "(none)"
        return (
            f"'{shown}' is not a {what} you can use here. This app opens your own uploads, converted datasets "
            f"and runs, and files under these folders: {where} (hidden files and the app's data folder are "
            f"never opened). The admin can change the list with {ALLOWED_FOLDERS_ENV}."
        )
    return (
        f"'{shown}' is not a {what} you can use here. On this shared app, files on the server can't be opened "
        f"by path: {instead}. (The admin can switch local paths on with {LOCAL_PATHS_ENV}=1 and "
        f"{ALLOWED_FOLDERS_ENV}.)"
    )


def looks_like_path(text: str) -> bool:
    """True for a typed model that can only be a path on the server, not a Hub id.

    >>> [looks_like_path(t) for t in ("HuggingFaceTB/SmolLM2-135M", "gpt2", "/etc", "~/m", "./m", "a/b/c", "..")]
    [False, False, True, True, True, True, True]
    """
    text = text.strip()
    return text.startswith(("/", "~", ".", "\\")) or text.count("/") > 1 or "\\" in text


def check_model_choice(
    model: str, owner: str, data_root: Path, own_run_dirs: Iterable[Path] = (), known_ids: Iterable[str] = ()
) -> str:
    """``model`` if ``owner`` may load it: a known base model, a Hub id, or a folder they may open (see above).

    A Hub-shaped id that is also a folder next to the app counts as a path, so it can't reach around the rule.
    """
    text = (model or "").strip()
    if text in set(known_ids):
        return text
    if text and not looks_like_path(text) and not Path(text).exists():
        return text  # a Hub id: loading checks that it exists and may be used
    return str(resolve_for(text, owner, data_root, own_run_dirs, what="model folder"))


def check_dataset_choice(
    dataset: str, owner: str, data_root: Path, own_run_dirs: Iterable[Path] = (), demos: Iterable[str] = ()
) -> str:
    """``dataset`` if ``owner`` may train on it: a built-in demo, else a file or folder they may open."""
    text = (dataset or "").strip()
    if text in set(demos):
        return text
    return str(resolve_for(text, owner, data_root, own_run_dirs, what="dataset"))
