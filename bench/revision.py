"""The files of an earlier git revision, for the benchmarks that measure it side by side with this tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def revision_tree(rev: str, folder: Path | str, repo: Path = ROOT) -> Path:
    """``rev``'s files from ``git archive`` of ``repo``, extracted into ``folder`` (made if missing); returns it.

    Only the revision's tracked files: nothing in the working tree changes, and the tree runs on this venv.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder
