"""SmolLM2-135M-Instruct trains from the Hub's own weights when the Hub answers, and from its offline copy (named
as such in the model list, the run's config and the Train step) only when it can't: HF_HUB_OFFLINE, or no answer.

The Hub is the local fake one (tests/fake_hub.py) or a loopback port where nothing listens."""

from __future__ import annotations

import json
import socket

import pytest

from core.config import RunConfig
from core.models import origin
from core.models.catalog import (
    OFFLINE_MODEL_ID,
    default_model_id,
    honest_model_id,
    list_models,
    resolve_model,
)
from core.models.origin import OFFLINE_COPY_ID, OFFLINE_COPY_LABEL, hub_unreachable_reason
from core.owners import SCRIPT_OWNER
from core.runs.manager import RunManager
from tests.fake_hub import FakeHubAPI
from tests.fakes import fake_trainer

SMOLLM2_INFO = ("GET", f"/api/models/{OFFLINE_MODEL_ID}")


@pytest.fixture(autouse=True)
def fresh_answers():
    origin.forget_hub_answers()
    yield
    origin.forget_hub_answers()


@pytest.fixture
def online(monkeypatch, fake_hub_url):
    """The fake Hub answers for SmolLM2, and the app may ask it (HF_HUB_OFFLINE unset)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    FakeHubAPI.models[OFFLINE_MODEL_ID] = {"config": {"model_type": "llama"}, "tags": ["safetensors"]}
    return fake_hub_url


@pytest.fixture
def unreachable(monkeypatch):
    """The Hub's address is a loopback port where nothing listens, and HF_HUB_OFFLINE is unset."""
    from huggingface_hub import constants

    with socket.socket() as probe:  # a port that was free a moment ago: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")


def _started_model_id(tmp_path) -> str:
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1))
    run = manager.start(RunConfig(model_id=OFFLINE_MODEL_ID), owner=SCRIPT_OWNER)
    return json.loads((run.folder.path / "config.json").read_text())["model_id"]


def test_online_smollm2_trains_from_the_hubs_own_weights(online, tmp_path):
    assert hub_unreachable_reason() is None
    first = list_models()[0]
    assert (first.model_id, first.label) == (OFFLINE_MODEL_ID, "SmolLM2-135M-Instruct (Hub)")
    assert default_model_id() == honest_model_id(OFFLINE_MODEL_ID) == OFFLINE_MODEL_ID
    assert resolve_model(OFFLINE_MODEL_ID) == OFFLINE_MODEL_ID  # a Hub id for from_pretrained, not the copy's folder
    assert _started_model_id(tmp_path) == OFFLINE_MODEL_ID
    asked = FakeHubAPI.requests.count(SMOLLM2_INFO)
    assert asked >= 1
    list_models()
    assert FakeHubAPI.requests.count(SMOLLM2_INFO) == asked  # the answer is kept: no new request per list


def test_an_unreachable_hub_trains_the_offline_copy_and_says_so(unreachable, tmp_path):
    assert "can't be reached (ConnectError)" in hub_unreachable_reason()
    first = list_models()[0]
    assert (first.model_id, first.label) == (OFFLINE_COPY_ID, OFFLINE_COPY_LABEL)
    assert "offline copy" in first.label and "GGUF" in first.label
    assert default_model_id() == OFFLINE_COPY_ID
    assert _started_model_id(tmp_path) == OFFLINE_COPY_ID  # the run's config names what really trains


def test_hf_hub_offline_trains_the_offline_copy_without_asking_the_hub(monkeypatch, fake_hub_url, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    FakeHubAPI.models[OFFLINE_MODEL_ID] = {"config": {"model_type": "llama"}}  # it would answer, but is not asked
    assert hub_unreachable_reason().startswith("HF_HUB_OFFLINE is set")
    assert list_models()[0].model_id == OFFLINE_COPY_ID
    assert _started_model_id(tmp_path) == OFFLINE_COPY_ID
    assert SMOLLM2_INFO not in FakeHubAPI.requests


def test_the_train_summary_names_the_offline_copy():
    from ui.train import describe_config

    summary = describe_config(RunConfig(model_id=OFFLINE_MODEL_ID).to_dict())  # HF_HUB_OFFLINE=1 in the tests
    assert f"Model: {OFFLINE_COPY_LABEL}: the Hub can't be reached, so not the Hub's own weights" in summary
    other = describe_config(RunConfig(model_id="HuggingFaceTB/SmolLM2-360M-Instruct").to_dict())
    assert "Model: `HuggingFaceTB/SmolLM2-360M-Instruct`" in other
