"""Where the app keeps its files.

Two roots, both overridable by environment variables:

- ``SFT_COACH_DATA``: runs, uploads and trackio logs (``./data`` by default;
  ``/data`` on a Space with persistent storage).
- ``SFT_COACH_CACHE``: things that are expensive to rebuild and safe to share
  between checkouts, such as the offline model converted from GGUF
  (``~/.cache/sft-coach`` by default).
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Root folder for runs, uploads and trackio logs."""
    path = Path(os.environ.get("SFT_COACH_DATA", "data")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Root folder for converted models and other rebuildable artefacts."""
    default = Path.home() / ".cache" / "sft-coach"
    path = Path(os.environ.get("SFT_COACH_CACHE", default)).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """Folder holding one sub-folder per training run."""
    path = data_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def trackio_dir() -> Path:
    """Folder where trackio keeps its local database."""
    path = data_dir() / "trackio"
    path.mkdir(parents=True, exist_ok=True)
    return path


def app_secret() -> str:
    """A random secret kept in the data folder (or ``SFT_COACH_SECRET``), stable across restarts.

    It encrypts the browser's stored owner id, so people find their runs
    again after the app restarts.
    """
    import os
    import secrets

    if os.environ.get("SFT_COACH_SECRET"):
        return os.environ["SFT_COACH_SECRET"]
    path = data_dir() / ".secret"
    if not path.is_file():
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip()
