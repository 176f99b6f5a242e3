"""The Settings step's Jobs form: offline or with bad input it says why nothing was sent, and clears the token;
the hardware picker and its estimate come from the Hub's list the server read."""

from __future__ import annotations

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from core.runs.manager import RunManager
from ui.hf_jobs_panel import JobsEvents, load_hardware, show_estimate

TOKEN = "hf_abcdefghijklmnopqrstuvwxyz0123456789"


def submit_job(values, dataset, output, secret, request, flavor="a10g-small", limit="2h"):
    from core.paths import runs_dir
    from tests.fakes import fake_trainer

    events = JobsEvents(RunManager(runs_dir(), trainer=fake_trainer()))  # in this test's data folder
    shown, token_box, run_id = events.submit_job(values, dataset, output, secret, flavor, limit, request)
    return shown, token_box


def test_offline_nothing_is_sent_and_the_token_is_cleared(monkeypatch, tiny_model_path, request_as):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()
    shown, token_box = submit_job(values, "ann/sft-data", "ann/model", TOKEN, request_as("ann"))
    assert "Not submitted" in shown and "offline" in shown and "hf jobs uv run" in shown
    assert token_box == "" and TOKEN not in shown


def test_a_bad_repo_id_is_named(monkeypatch, tiny_model_path, request_as):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    values = RunConfig(model_id=TINY_MODEL_ID).to_dict()
    shown, _ = submit_job(values, "no slash here", "ann/model", TOKEN, request_as("ann"))
    assert "dataset_repo" in shown and "your-name/repo-name" in shown


def test_another_persons_dataset_is_refused_before_anything_is_written_or_pushed(data_dir, request_as):
    from core.data.export import write_training_folder
    from core.file_access import owner_datasets

    rows = [{"messages": [{"role": "user", "content": "ANN-SECRET"}, {"role": "assistant", "content": "ok"}]}] * 20
    ann_data = write_training_folder(rows, [], owner_datasets("ann", data_dir) / "mine")
    values = {**RunConfig(model_id=TINY_MODEL_ID).to_dict(), "dataset": str(ann_data)}
    shown, _ = submit_job(values, "bob/sft-data", "bob/model", TOKEN, request_as("bob"))
    assert "Not submitted" in shown and "not a dataset you can use here" in shown
    copies = [p for p in (data_dir / "recipes").rglob("*.jsonl")] if (data_dir / "recipes").exists() else []
    assert not any("ANN-SECRET" in p.read_text() for p in copies)


def test_without_a_model_repo_nothing_is_sent_and_the_field_is_named(monkeypatch, tiny_model_path, request_as):
    shown, _ = submit_job(RunConfig(model_id=TINY_MODEL_ID).to_dict(), "ann/data", " ", TOKEN, request_as("ann"))
    assert "Not submitted" in shown and "&#x27;output_repo&#x27;" in shown and "loss curve" in shown


def test_the_picker_lists_the_hubs_hardware_and_the_estimate_prices_the_pick(
    fake_hub_url, monkeypatch, tiny_model_path, request_as
):
    from tests.fake_hub import TOKEN as HUB_TOKEN

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    picker, listed, _ = load_hardware(HUB_TOKEN, request_as("ann"))
    assert ("Nvidia A10G - small · 24 GB · $1.00/h", "a10g-small") in picker.choices and picker.value == "a10g-small"
    values = RunConfig(model_id=TINY_MODEL_ID, max_steps=200).to_dict()
    text, limit = show_estimate(values, "t4-small", listed)
    assert text.startswith("**Estimate:** About") and "Nvidia T4 - small ($0.40/h)" in text and limit == "30m"
    forged, _ = show_estimate(values, "h200x8", listed)  # not in the list the server read: no made-up price
    assert "Show Jobs hardware and prices" in forged
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "HF_HUB_OFFLINE is set" in load_hardware(HUB_TOKEN, request_as("ann"))[2]
