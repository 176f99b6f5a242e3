"""HF Jobs submission with a fake Hub client: the call matches the exported command, the token never leaks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from core.config import RunConfig
from core.hf_jobs import HfJobsError, build_job_request, submit_recipe_job
from core.recipe import HF_JOBS_FLAVOR, export_recipe
from tests.devices import CPU

TOKEN = "hf_fakeTokenValue0123456789"


class FakeHub:
    """Stands in for huggingface_hub.HfApi: records calls, accepts only TOKEN, echoes bad tokens in its errors."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def _check(self, token):
        if token != TOKEN:
            raise PermissionError(f"401 Unauthorized: invalid token {token}")

    def whoami(self, token=None):
        self._check(token)
        self.calls.append(("whoami", {}))
        return {"name": "ann"}

    def create_repo(self, repo_id, **kwargs):
        self._check(kwargs["token"])
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        self._check(kwargs["token"])
        self.calls.append(("upload_folder", kwargs))

    def run_job(self, **kwargs):
        self._check(kwargs["token"])
        self.calls.append(("run_job", kwargs))
        return SimpleNamespace(
            id="68a1b2c3d4", url="https://huggingface.co/jobs/ann/68a1b2c3d4", status=SimpleNamespace(stage="RUNNING")
        )


@pytest.fixture()
def recipe(tmp_path):
    return export_recipe(RunConfig(), tmp_path / "recipe", CPU)


@pytest.fixture()
def online(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def test_the_api_call_is_the_exported_command_with_the_repos_filled_in(recipe):
    request = build_job_request(recipe, "ann/my-data", "ann/my-model")
    assert request.command == recipe.hf_jobs_command.replace("your-name/your-dataset", "ann/my-data").replace(
        "your-name/your-model", "ann/my-model"
    )
    assert request.flavor == HF_JOBS_FLAVOR and request.timeout == "2h"
    assert request.env == {"SFT_DATA": "ann/my-data", "HUB_MODEL_ID": "ann/my-model"}
    assert request.secret_names == ("HF_TOKEN",)
    assert request.script == recipe.folder / "train_sft.py" and request.script.is_file()
    without_output = build_job_request(recipe, "ann/my-data")
    assert "HUB_MODEL_ID" not in without_output.env and "HUB_MODEL_ID" not in without_output.command


def test_a_bad_repo_id_is_refused_with_the_field_named(recipe):
    with pytest.raises(HfJobsError, match="'dataset_repo'.*your-name/repo-name"):
        build_job_request(recipe, "just-a-name")


def test_submitting_pushes_the_data_starts_the_job_and_returns_where_to_follow_it(recipe, online):
    hub = FakeHub()
    result = submit_recipe_job(recipe, "ann/my-data", "ann/my-model", token=TOKEN, api=hub)
    assert result.job_id == "68a1b2c3d4" and result.status == "RUNNING"
    assert result.url == "https://huggingface.co/jobs/ann/68a1b2c3d4"
    assert result.logs_command == "hf jobs logs 68a1b2c3d4"
    names = [name for name, _ in hub.calls]
    assert names == ["whoami", "create_repo", "upload_folder", "run_job"]
    upload = hub.calls[2][1]
    assert upload["repo_id"] == "ann/my-data" and upload["folder_path"].endswith("/data")
    job = hub.calls[3][1]
    script = job["env"].pop("SFT_COACH_SCRIPT")  # the script travels inline and runs as `uv run train_sft.py`
    assert script == (recipe.folder / "train_sft.py").read_text() and "uv run /tmp/train_sft.py" in job["command"][-1]
    assert job["flavor"] == HF_JOBS_FLAVOR and job["timeout"] == "2h" and job["namespace"] == "ann"
    assert job["env"] == {"SFT_DATA": "ann/my-data", "HUB_MODEL_ID": "ann/my-model"}
    assert job["secrets"] == {"HF_TOKEN": TOKEN}  # the one place the value goes: the job's secret
    shown = result.describe() + repr(result) + result.command + result.status_command
    assert TOKEN not in shown
    assert all(TOKEN not in p.read_text() for p in recipe.folder.rglob("*") if p.is_file())


def test_a_bad_token_is_refused_with_a_readable_message_that_hides_it(recipe, online):
    bad = "hf_wrongTokenValue987654321"
    with pytest.raises(HfJobsError) as caught:
        submit_recipe_job(recipe, "ann/my-data", token=bad, api=FakeHub())
    message = str(caught.value)
    assert "token was refused" in message and "401 Unauthorized" in message
    assert bad not in message and caught.value.__cause__ is None and caught.value.__suppress_context__


def test_offline_nothing_is_sent_and_the_message_says_why(recipe, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub = FakeHub()
    with pytest.raises(HfJobsError, match="offline.*HF_HUB_OFFLINE") as caught:
        submit_recipe_job(recipe, "ann/my-data", token=TOKEN, api=hub)
    assert hub.calls == [] and "hf jobs uv run" in str(caught.value) and TOKEN not in str(caught.value)


def test_without_a_token_nothing_is_sent_and_the_message_says_how_to_get_one(recipe, online, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)  # nor one saved by `hf auth login`
    hub = FakeHub()
    with pytest.raises(HfJobsError, match="No Hugging Face token.*HF_TOKEN"):
        submit_recipe_job(recipe, "ann/my-data", api=hub)
    assert hub.calls == []
