"""Sharing: a merge answers like its adapter, the model card holds the run's real figures, the token never leaks.

Pushes run against a fake ``HubClient`` for the logic, and once through the
real ``huggingface_hub.HfApi`` against a local fake of the Hub's HTTP API
(create repo, validate YAML, preupload, commit) on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from core.ab_test import ABRound, record_vote
from core.chat import GenerationSettings, chat_once
from core.evaluate import BeforeAfter, save_evaluation
from core.models.catalog import OFFLINE_MODEL_ID, load_trained_model
from core.models.origin import GGUF_SOURCE_REPO, OFFLINE_COPY_ID
from core.models.pool import ModelPool
from core.share import ShareError
from core.share.card import build_model_card, loss_curve_svg
from core.share.merge import merge_adapter
from core.share.push import HfHubClient, check_repo_id, model_folder_to_share, push_model
from tests.fake_hub import TOKEN, FakeHubAPI
from tests.run_folders import make_run

HELLO = [{"role": "user", "content": "Hello there"}]
GREEDY = GenerationSettings(deterministic=True, max_new_tokens=12)
ADAPTER_FILES = {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json"}


class HubRefused(Exception):
    """What an HTTP error from the Hub looks like to core.share: an exception with a response and a status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.response = SimpleNamespace(status_code=status)


class FakeHub:
    """Records what would have been uploaded; refuses any token but the right one."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.repos: list[tuple[str, bool]] = []
        self.uploads: dict[str, dict[str, bytes]] = {}

    def _check(self, token: str) -> None:
        if token != self.token:
            raise HubRefused(401, f"Invalid credentials in Authorization header (Bearer {token})")

    def whoami(self, token: str) -> str:
        self._check(token)
        return "ann"

    def create_repo(self, repo_id: str, token: str, private: bool) -> str:
        self._check(token)
        self.repos.append((repo_id, private))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, folder: Path, repo_id: str, token: str, message: str) -> str:
        self._check(token)
        self.uploads[repo_id] = {p.name: p.read_bytes() for p in folder.iterdir()}
        return f"https://huggingface.co/{repo_id}/commit/abc"


@pytest.fixture
def run_dir(tmp_path, tiny_model_path):
    """A finished LoRA run with validation losses, a saved evaluation and three blind votes."""
    run = make_run(tmp_path / "runs", tiny_model_path, checkpoint_eval_losses={2: 1.5}, losses=(3.2, 2.1, 1.4, 1.1))
    with (run / "eval.jsonl").open("w") as handle:
        handle.write(
            json.dumps({"step": 2, "eval_loss": 1.5}) + "\n" + json.dumps({"step": 4, "eval_loss": 1.25}) + "\n"
        )
    before = {"n": 10, "valid_json_rate": 0.1, "exact_match_rate": 0.0, "field_accuracy": 0.04}
    after = {"n": 10, "valid_json_rate": 0.9, "exact_match_rate": 0.5, "field_accuracy": 0.76}
    save_evaluation(run, BeforeAfter("task_scores", "json_extraction", 10, "base", "tuned", before, after))
    final, base = str(run / "final"), str(tiny_model_path)
    record_vote(run, ABRound("r1", "p", base, final), "B")
    record_vote(run, ABRound("r2", "p", final, base), "A")
    record_vote(run, ABRound("r3", "p", base, final), "tie")
    return run


def _front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_a_merged_adapter_answers_exactly_like_the_adapter_on_its_base(run_dir):
    import torch

    merged = merge_adapter(run_dir / "final")
    assert merged == run_dir / "merged"
    assert (merged / "config.json").is_file() and not (merged / "adapter_config.json").exists()
    merged_model, tokenizer = load_trained_model(merged)
    adapter_model, _ = load_trained_model(run_dir / "final")
    expected = chat_once(adapter_model, tokenizer, HELLO, GREEDY)
    assert chat_once(merged_model, tokenizer, HELLO, GREEDY) == expected
    with ModelPool().use(str(run_dir / "final")) as loaded:  # the adapter applied on the shared base
        assert chat_once(loaded.model, loaded.tokenizer, HELLO, GREEDY) == expected
    ids = tokenizer("Hello there, how are you?", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(merged_model(ids).logits, adapter_model(ids).logits, atol=1e-4)
    assert merge_adapter(run_dir / "final") == merged  # done once, reused afterwards


def test_the_model_card_holds_the_runs_real_figures(run_dir, tmp_path, tiny_model_path):
    config = json.loads((run_dir / "config.json").read_text())
    config["model_id"] = OFFLINE_MODEL_ID  # as a run on the Hub's SmolLM2 records it (the Hub could be reached)
    (run_dir / "config.json").write_text(json.dumps(config))
    votes = run_dir / "votes.jsonl"  # the base model was picked as the offline default too
    votes.write_text(votes.read_text().replace(json.dumps(str(tiny_model_path)), json.dumps(OFFLINE_MODEL_ID)))
    card = build_model_card(run_dir, "ann/smollm2-json", "adapter", "loss_curve.svg")
    meta = _front_matter(card)
    assert meta["base_model"] == OFFLINE_MODEL_ID and meta["library_name"] == "peft"
    assert {"trl", "sft", "sft-coach"} <= set(meta["tags"]) and "datasets" not in meta  # the demo is not on the Hub
    for expected in (
        "JSON extraction",
        "split before its answer into TRL's conversational prompt-completion format. The loss falls",
        "| `learning_rate` | 0.001 |",
        "| `max_steps` | 4 |",
        "Optimizer steps trained: 4",
        "Final training loss: 1.1000 (step 4)",
        "Lowest training loss: 1.1000 (step 4)",
        "Final validation loss: 1.2500; lowest 1.2500 (step 4)",
        "![Training loss by step](loss_curve.svg)",
        "| Valid JSON | 10% | 90% |",
        "| Field accuracy | 4% | 76% |",
        "3 blind round(s): this fine-tuned model won 2, base model (SmolLM2-135M-Instruct) won 0; 1 tie(s)",
        'AutoPeftModelForCausalLM.from_pretrained("ann/smollm2-json")',
    ):
        assert expected in card, expected
    assert str(tmp_path) not in card  # no local paths leak into a public card


def test_a_card_for_a_run_on_the_offline_copy_names_the_weights_it_really_trained(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    config["model_id"] = OFFLINE_COPY_ID  # as a Start records SmolLM2 while the Hub can't be reached
    (run_dir / "config.json").write_text(json.dumps(config))
    card = build_model_card(run_dir, "ann/smollm2-json", "adapter")
    assert _front_matter(card)["base_model"] == GGUF_SOURCE_REPO  # not the original's id
    assert "A LoRA adapter for an offline copy of SmolLM2-135M-Instruct: the 4-bit Q4_1 GGUF file" in card
    assert f"not the weights of [{OFFLINE_MODEL_ID}]" in card


def test_a_card_for_a_word_problems_run_describes_the_column_mapping(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    config.update(dataset="word_problems", method="full")
    (run_dir / "config.json").write_text(json.dumps(config))
    card = build_model_card(run_dir, "ann/wp", "model")
    assert "prompt ← `Question`, completion ← `Response`, with `Complex_CoT` wrapped in `<think>…</think>`" in card
    assert "lora_r" not in card and _front_matter(card)["library_name"] == "transformers"
    assert "base_model" not in _front_matter(card)  # a local folder is not a Hub id


def test_the_loss_curve_is_a_valid_svg_with_both_curves():
    svg = loss_curve_svg([(1, 3.0), (2, 2.0), (3, 1.5)], [(2, 2.2), (3, 1.9)])
    root = ET.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert [len(line.get("points").split()) for line in lines] == [3, 2]
    assert "validation loss" in svg
    with pytest.raises(ValueError, match="no loss values"):
        loss_curve_svg([])


def test_push_adapter_uploads_the_adapter_and_its_card_under_the_users_name(run_dir):
    hub = FakeHub()
    result = push_model(run_dir, "smollm2-json", "adapter", token=TOKEN, client=hub)
    assert result.repo_id == "ann/smollm2-json" and hub.repos == [("ann/smollm2-json", True)]
    uploaded = hub.uploads["ann/smollm2-json"]
    assert ADAPTER_FILES | {"README.md", "loss_curve.svg"} <= set(uploaded)
    assert "training_args.bin" not in uploaded  # a pickle from the trainer: never shared
    assert b"ann/smollm2-json" in uploaded["README.md"]
    assert uploaded["adapter_model.safetensors"] == (run_dir / "final" / "adapter_model.safetensors").read_bytes()


def test_push_merged_uploads_a_plain_model(run_dir):
    hub = FakeHub()
    push_model(run_dir, "ann/merged", "merged", token=TOKEN, client=hub, private=False)
    uploaded = hub.uploads["ann/merged"]
    assert {"config.json", "model.safetensors", "README.md"} <= set(uploaded)
    assert "adapter_config.json" not in uploaded and hub.repos == [("ann/merged", False)]
    assert b"library_name: transformers" in uploaded["README.md"]


def test_a_bad_token_gets_a_plain_answer_without_the_token(run_dir, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    wrong = TOKEN[::-1]
    with pytest.raises(ShareError, match="refused the token") as caught:
        push_model(run_dir, "ann/x", token=wrong, client=FakeHub())
    assert wrong not in str(caught.value) and caught.value.__cause__ is None
    with pytest.raises(ShareError, match="No Hugging Face token"):
        push_model(run_dir, "ann/x", client=FakeHub())
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert push_model(run_dir, "ann/x", client=FakeHub()).repo_id == "ann/x"  # HF_TOKEN is used when none is typed


def test_offline_the_push_explains_why_it_cannot_work(run_dir):
    with pytest.raises(ShareError, match="runs offline"):  # conftest sets HF_HUB_OFFLINE=1
        push_model(run_dir, "ann/x", token=TOKEN)


def test_what_can_be_shared_depends_on_the_run(tmp_path, tiny_model_path, run_dir):
    with pytest.raises(ShareError, match="not a valid repository name"):
        check_repo_id("ann/my model!")
    full = make_run(tmp_path / "other", tiny_model_path)
    shutil.rmtree(full / "final")
    shutil.copytree(tiny_model_path, full / "final")  # a full fine-tune saves a whole model
    with pytest.raises(ShareError, match="no adapter"):
        model_folder_to_share(full, "adapter")
    assert model_folder_to_share(full, "merged") == full / "final"


def test_no_file_written_by_sharing_contains_the_token(run_dir, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)
    hub = FakeHub()
    push_model(run_dir, "ann/a", "adapter", client=hub)
    push_model(run_dir, "ann/m", "merged", token=TOKEN, client=hub)
    with pytest.raises(ShareError):
        push_model(run_dir, "ann/m", token=TOKEN + "x", client=hub)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "README.md" for p in written) and any(p.name == "model.safetensors" for p in written)
    assert [p for p in written if TOKEN.encode() in p.read_bytes()] == []
    assert all(TOKEN.encode() not in content for files in hub.uploads.values() for content in files.values())
    assert TOKEN not in caplog.text


# -- the real HfApi against a local fake of the Hub's HTTP API (tests/fake_hub.py) ------------------------
def test_the_real_hub_client_creates_the_repo_and_uploads_through_the_hub_api(run_dir, fake_hub_url):
    result = push_model(run_dir, "ann/smollm2-json", token=TOKEN, client=HfHubClient(endpoint=fake_hub_url))
    assert result.url == f"{fake_hub_url}/ann/smollm2-json"
    assert ("POST", "/api/repos/create") in FakeHubAPI.requests
    assert ADAPTER_FILES | {"README.md", "loss_curve.svg"} <= set(FakeHubAPI.committed)
    assert FakeHubAPI.committed["README.md"].startswith(b"---\n")
    assert all(TOKEN.encode() not in content for content in FakeHubAPI.committed.values())


def test_the_real_hub_client_turns_a_401_into_a_plain_sentence(run_dir, fake_hub_url):
    wrong = "hf_WrongToken000000000000000000000"
    with pytest.raises(ShareError, match=r"refused the token \(401 Unauthorized\)") as caught:
        push_model(run_dir, "ann/smollm2-json", token=wrong, client=HfHubClient(endpoint=fake_hub_url))
    assert wrong not in str(caught.value)
    assert not FakeHubAPI.committed
