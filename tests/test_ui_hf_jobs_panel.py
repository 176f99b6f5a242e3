"""The Settings step's Jobs form: offline or with bad input it says why nothing was sent, and clears the token."""

from __future__ import annotations

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from ui.hf_jobs_panel import submit_job

TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789"


def test_offline_nothing_is_sent_and_the_token_is_cleared(monkeypatch, tiny_model_path, request_as):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()
    shown, token_box = submit_job(values, "ann/sft-data", "", TOKEN, request_as("ann"))
    assert "Not submitted" in shown and "offline" in shown and "hf jobs uv run" in shown
    assert token_box == "" and TOKEN not in shown


def test_a_bad_repo_id_is_named(monkeypatch, tiny_model_path, request_as):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shown, _ = submit_job(RunConfig(model_id=TINY_MODEL_ID).to_dict(), "no slash here", "", TOKEN, request_as("ann"))
    assert "dataset_repo" in shown and "your-name/repo-name" in shown


def test_another_persons_dataset_is_refused_before_anything_is_written_or_pushed(data_dir, request_as):
    from core.data.export import write_training_folder
    from core.file_access import owner_datasets

    rows = [{"messages": [{"role": "user", "content": "ANN-SECRET"}, {"role": "assistant", "content": "ok"}]}] * 20
    ann_data = write_training_folder(rows, [], owner_datasets("ann", data_dir) / "mine")
    values = {**RunConfig(model_id=TINY_MODEL_ID).to_dict(), "dataset": str(ann_data)}
    shown, _ = submit_job(values, "bob/sft-data", "", TOKEN, request_as("bob"))
    assert "Not submitted" in shown and "not a dataset you can use here" in shown
    copies = [p for p in (data_dir / "recipes").rglob("*.jsonl")] if (data_dir / "recipes").exists() else []
    assert not any("ANN-SECRET" in p.read_text() for p in copies)
