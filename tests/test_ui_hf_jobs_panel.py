"""The Settings step's Jobs form: offline or with bad input it says why nothing was sent, and clears the token."""

from __future__ import annotations

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from ui.hf_jobs_panel import submit_job

TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789"


def test_offline_nothing_is_sent_and_the_token_is_cleared(monkeypatch, tiny_model_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()
    shown, token_box = submit_job(values, "ann/sft-data", "", TOKEN)
    assert "Not submitted" in shown and "offline" in shown and "hf jobs uv run" in shown
    assert token_box == "" and TOKEN not in shown


def test_a_bad_repo_id_is_named(monkeypatch, tiny_model_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shown, _ = submit_job(RunConfig(model_id=TINY_MODEL_ID).to_dict(), "no slash here", "", TOKEN)
    assert "dataset_repo" in shown and "your-name/repo-name" in shown
