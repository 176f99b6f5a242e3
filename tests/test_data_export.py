"""Export (core/data/export.py): JSONL that loads back, a training folder the trainer reads, and Hub pushes that
fail clearly offline without ever showing the token."""

from __future__ import annotations

import pytest

from core.data.errors import DataError
from core.data.export import export_jsonl, push_dataset, write_training_folder
from core.data.load import load_file
from tests.fake_hub import FakeHubAPI

ROWS = [
    {"prompt": [{"role": "user", "content": "Ünïcødé? 😀"}], "completion": [{"role": "assistant", "content": "Yes."}]},
    {"prompt": [{"role": "user", "content": "Line\nbreak"}], "completion": [{"role": "assistant", "content": "Ok"}]},
]


def test_exported_jsonl_loads_back_identically(tmp_path):
    path = export_jsonl(ROWS, tmp_path / "sub" / "converted.jsonl")
    assert load_file(path).rows == ROWS
    assert "😀" in path.read_text(encoding="utf-8")  # readable UTF-8, not \\u escapes
    assert not list(tmp_path.glob("**/*.partial"))


def test_rows_that_are_not_json_are_named(tmp_path):
    with pytest.raises(DataError, match="Row 2"):
        export_jsonl([{"a": 1}, {"a": {1, 2}}], tmp_path / "x.jsonl")
    assert not (tmp_path / "x.jsonl").exists()


def test_training_folder_round_trips_through_prepare_training_data(tmp_path):
    from core.data.prepare import prepare_training_data

    folder = write_training_folder(ROWS * 20, ROWS, tmp_path / "run-data")
    prepared = prepare_training_data(str(folder), num_probes=2)
    assert prepared.train_rows == ROWS * 20 and prepared.eval_rows == ROWS
    assert prepared.probes[0]["messages"] == ROWS[0]["prompt"]
    write_training_folder(ROWS * 20, [], folder)  # a later export without validation removes the stale file
    assert not (folder / "test.jsonl").exists()
    with pytest.raises(DataError, match="no rows to train on"):
        write_training_folder([], [], folder)


def test_push_offline_fails_fast_and_never_shows_the_token(monkeypatch):
    token = "hf_secret_token_123"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError) as info:
        push_dataset(ROWS, "me/my-data", token)
    assert "HF_HUB_OFFLINE" in str(info.value) and token not in str(info.value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(DataError) as info:
        push_dataset(ROWS, "me/my-data", token)
    assert "offline" in str(info.value) and token not in str(info.value)


@pytest.mark.parametrize(
    "repo, token, message", [("no-slash", "t", "your-name/repo-name"), ("me/data", "", "No Hugging Face token found")]
)
def test_push_checks_its_inputs(repo, token, message, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", "/nonexistent-sft-coach-test")  # no token saved by `hf auth login` either
    with pytest.raises(DataError, match=message):
        push_dataset(ROWS, repo, token)


def test_a_wrong_token_gets_the_hubs_401_sentence_from_the_real_client(monkeypatch, fake_hub_url):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "0")
    wrong = "hf_WrongToken000000000000000000000"
    with pytest.raises(DataError, match=r"refused the token \(401 Unauthorized\)") as caught:
        push_dataset(ROWS, "ann/my-data", wrong)
    assert wrong not in str(caught.value)
    assert ("GET", "/api/whoami-v2") in FakeHubAPI.requests  # it asked the (fake) Hub, it did not guess
