"""Model sources: the offline default, local folders, and a clear message when the Hub is out of reach."""

from __future__ import annotations

import json

import pytest

from core.models.catalog import (
    OFFLINE_COPY_ID,
    OFFLINE_COPY_LABEL,
    OFFLINE_MODEL_ID,
    TINY_MODEL_ID,
    ModelUnavailableError,
    list_models,
    load_trained_model,
    needs_remote_code,
    remote_code_allowed,
    resolve_model,
)


def test_offline_model_is_listed_first_and_marked_available():
    first = list_models()[0]  # the tests run with HF_HUB_OFFLINE=1: SmolLM2 is its offline copy, named so
    assert (first.model_id, first.label) == (OFFLINE_COPY_ID, OFFLINE_COPY_LABEL)
    assert first.offline is True
    assert all(not c.offline for c in list_models() if "(Hub)" in c.label)


def test_tiny_model_is_listed_only_when_asked(monkeypatch):
    monkeypatch.delenv("SFT_COACH_TINY_MODEL", raising=False)
    assert TINY_MODEL_ID not in [c.model_id for c in list_models()]
    monkeypatch.setenv("SFT_COACH_TINY_MODEL", "1")
    assert TINY_MODEL_ID in [c.model_id for c in list_models()]


def test_offline_model_folder_is_a_plain_trainable_model(offline_model_path):
    config = json.loads((offline_model_path / "config.json").read_text())
    assert "quantization_config" not in config  # Trainer refuses models flagged as quantized (sft-facts §6)
    assert config["model_type"] == "llama"
    assert config["hidden_size"] == 576
    assert resolve_model(OFFLINE_COPY_ID) == str(offline_model_path)
    assert resolve_model(OFFLINE_MODEL_ID) == str(offline_model_path)  # HF_HUB_OFFLINE=1 here: the Hub can't help


def test_hub_id_fails_fast_offline_and_offers_the_offline_model(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as err:
        resolve_model("HuggingFaceTB/SmolLM2-360M-Instruct")
    assert OFFLINE_MODEL_ID in str(err.value)
    assert "local model folder" in str(err.value)


def test_unreachable_hub_gives_a_clear_message(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ModelUnavailableError, match="Could not reach the Hugging Face Hub"):
        resolve_model("HuggingFaceTB/SmolLM2-360M-Instruct")


def test_a_folder_without_config_is_refused(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelUnavailableError, match="config.json"):
        resolve_model(str(tmp_path))


def test_empty_choice_is_refused():
    with pytest.raises(ModelUnavailableError, match="No model chosen"):
        resolve_model("  ")


def test_local_folder_resolves_to_itself(tiny_model_path):
    assert resolve_model(str(tiny_model_path)) == str(tiny_model_path)


def test_load_trained_model_rejects_an_empty_folder(tmp_path):
    with pytest.raises(ModelUnavailableError, match="neither a LoRA adapter nor a model"):
        load_trained_model(tmp_path)


def _folder_needing_remote_code(tmp_path):
    folder = tmp_path / "custom-model"
    folder.mkdir()
    config = {"model_type": "my_own_arch", "auto_map": {"AutoModelForCausalLM": "modeling_mine.MyModel"}}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_a_model_that_needs_remote_code_is_refused_with_how_the_admin_allows_it(tmp_path, monkeypatch):
    monkeypatch.delenv("SFT_COACH_ALLOW_REMOTE_CODE", raising=False)
    folder = _folder_needing_remote_code(tmp_path)
    with pytest.raises(ModelUnavailableError, match="SFT_COACH_ALLOW_REMOTE_CODE=1") as err:
        resolve_model(str(folder))
    assert "admin" in str(err.value)


def test_the_admin_can_allow_remote_code(tmp_path, monkeypatch):
    monkeypatch.setenv("SFT_COACH_ALLOW_REMOTE_CODE", "1")
    folder = _folder_needing_remote_code(tmp_path)
    assert remote_code_allowed() is True
    assert resolve_model(str(folder)) == str(folder.resolve())


def test_a_known_architecture_with_an_auto_map_needs_no_remote_code():
    assert not needs_remote_code({"model_type": "llama", "auto_map": {"AutoModel": "x.Y"}})
    assert needs_remote_code({"model_type": "my_own_arch", "auto_map": {"AutoModel": "x.Y"}})
    assert not needs_remote_code({"model_type": "my_own_arch"})


def test_tokenizer_loads_follow_the_remote_code_switch(monkeypatch, tiny_model_path):
    """The Data step's tokenizer and the preset's length profile obey SFT_COACH_ALLOW_REMOTE_CODE too."""
    import transformers

    from core.data.preview import load_tokenizer
    from core.presets import profile_dataset

    seen = []
    real = transformers.AutoTokenizer.from_pretrained

    def spy(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code"))
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", spy)
    for allowed in ("1", ""):
        monkeypatch.setenv("SFT_COACH_ALLOW_REMOTE_CODE", allowed)
        load_tokenizer(str(tiny_model_path))
        profile_dataset("json_extraction", str(tiny_model_path), 2048)
    assert seen == [True, True, False, False]
