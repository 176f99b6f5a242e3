"""The one door to the Hub: every part of the app agrees on offline, finds the same token, and hides it."""

from __future__ import annotations

import pytest

from core.hub import explain_error, find_token, offline_reason, repo_id_problem, scrub


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "On"])
def test_every_part_of_the_app_sees_the_same_offline_setting(monkeypatch, value, tmp_path):
    from core.config import RunConfig
    from core.data.errors import DataError
    from core.data.from_hub import check_hub_dataset
    from core.device import DeviceInfo
    from core.hf_jobs import HfJobsError, submit_recipe_job
    from core.models.catalog import ModelUnavailableError, check_hub_model
    from core.share.push import hub_unavailable_reason

    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert offline_reason() and hub_unavailable_reason()
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE is set"):
        check_hub_model("HuggingFaceTB/SmolLM2-360M-Instruct")
    with pytest.raises(DataError, match="HF_HUB_OFFLINE is set"):
        check_hub_dataset("HuggingFaceH4/no_robots")
    from core.recipe import export_recipe

    recipe = export_recipe(RunConfig(), tmp_path / "recipe", DeviceInfo("cpu", "CPU, 2 cores", 24.0, False, 2))
    with pytest.raises(HfJobsError, match="offline"):
        submit_recipe_job(recipe, "ann/data", token="hf_x", api=object())  # nothing is called on the API


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_values_huggingface_hub_reads_as_false_are_online_everywhere(monkeypatch, value):
    from core.share.push import hub_unavailable_reason

    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert offline_reason() is None and hub_unavailable_reason() is None


def test_a_token_saved_by_hf_auth_login_is_found(monkeypatch, tmp_path):
    import huggingface_hub.constants

    saved = tmp_path / "token"
    saved.write_text("hf_saved_by_login")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(saved))
    from core.share.push import resolve_token

    assert find_token(None) == "hf_saved_by_login" == resolve_token("")
    assert find_token("  hf_typed ") == "hf_typed"  # a typed token wins
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert find_token("") == "hf_from_env"
    # With Hugging Face sign-in on (a Space), a token saved on the server is its owner's: never a visitor's.
    monkeypatch.setenv("OAUTH_CLIENT_ID", "space-client")
    assert find_token("") is None and find_token("hf_signed_in") == "hf_signed_in"


def test_the_token_never_survives_in_a_sentence():
    class Unauthorized(Exception):
        response = type("R", (), {"status_code": 500})()

    sentence = explain_error(Unauthorized("500 for https://hub?token=hf_secret123"), "hf_secret123")
    assert "hf_secret123" not in sentence and "[token hidden]" in sentence
    assert scrub("Bearer hf_x", "hf_x") == "Bearer [token hidden]" and scrub("text", None) == "text"


def test_repo_ids_follow_the_hubs_alphabet():
    assert repo_id_problem("ann/smollm2-json") is None
    for bad in ("", "ann/my model", "../etc", "ann/x.git", "a/b/c"):
        assert repo_id_problem(bad)
    assert "your-name/repo-name" in repo_id_problem("no-namespace", need_namespace=True)


@pytest.mark.parametrize("typed", ["ann/my data!", "a/b/c", "../../etc/passwd", "~/data", "ann/..", ""])
def test_the_hub_dataset_picker_refuses_what_is_not_a_repo_id_before_asking_the_hub(typed, monkeypatch):
    from core.data.errors import DataError
    from core.data.from_hub import check_hub_dataset

    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")  # never reached
    with pytest.raises(DataError, match="is not a Hub dataset id"):
        check_hub_dataset(typed)
