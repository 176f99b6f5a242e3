"""Shared fixtures: every output folder points at a temporary directory; models come from a persistent cache.

The offline model conversion (~30 s) and the tiny random model are cached in
``SFT_COACH_CACHE`` (``~/.cache/sft-coach`` unless set), so only the first
test session on a machine pays for them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# trackio reads TRACKIO_DIR once, when first imported: point it at a throwaway folder for the whole session.
os.environ["TRACKIO_DIR"] = tempfile.mkdtemp(prefix="sft-coach-trackio-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the Hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data folder (runs, uploads)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("SFT_COACH_DATA", str(folder))
    return folder


@pytest.fixture(scope="session")
def offline_model_path() -> Path:
    from core.models.catalog import ensure_offline_model

    return ensure_offline_model()


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    from core.models.catalog import ensure_tiny_model

    return ensure_tiny_model()


@pytest.fixture
def local_paths(tmp_path, monkeypatch) -> Path:
    """Local paths switched on, as on a single person's machine, with ``tmp_path/files`` the one allowed folder."""
    folder = tmp_path / "files"
    folder.mkdir()
    monkeypatch.setenv("SFT_COACH_LOCAL_PATHS", "1")
    monkeypatch.setenv("SFT_COACH_ALLOWED_FOLDERS", str(folder))
    return folder


@pytest.fixture
def request_as():
    """A factory of the request Gradio hands an event, as the session middleware leaves it for a given person."""
    from types import SimpleNamespace

    import gradio as gr

    from ui.identity import SESSION_STATE_KEY

    def make(session_id: str, session_hash: str = "page-1"):
        request = gr.Request(session_hash=session_hash)
        request.__dict__["state"] = SimpleNamespace(**{SESSION_STATE_KEY: session_id})
        return request

    return make
