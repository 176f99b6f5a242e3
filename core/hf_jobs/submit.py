"""Send an exported recipe to Hugging Face Jobs (a rented GPU), and say where to follow it.

The command comes from ``core/recipe.py`` (``Recipe.hf_jobs_command``): this
module fills in the dataset and output repos, the hardware and the time limit,
turns that same command into the API call, so what the page shows and what is
sent cannot drift apart, and submits it. The call is ``HfApi.run_job`` on the
image ``hf jobs uv run`` uses, with the script handed over in an environment
variable and run by ``uv run`` as the command would: ``run_uv_job`` would first
create a storage bucket in the person's namespace to carry one small file.
The token travels only as the job's ``HF_TOKEN`` secret and the API's ``token=``
argument; it is never put in a returned text, a message or a file, and any
error text is scrubbed of it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.hub import find_token, missing_token_sentence, offline_reason, repo_id_problem, scrub
from core.recipe import DATA_FOLDER, Recipe

DATASET_PLACEHOLDER = "your-name/your-dataset"
MODEL_PLACEHOLDER = "your-name/your-model"
UV_IMAGE = "ghcr.io/astral-sh/uv:python3.12-bookworm"  # huggingface_hub's DEFAULT_UV_IMAGE for `hf jobs uv run`
SCRIPT_VARIABLE = "SFT_COACH_SCRIPT"
# Write the script the variable holds to a file and run it as `hf jobs uv run` does (uv reads its dependencies).
RUN_SCRIPT = 'printf "%s" "$SFT_COACH_SCRIPT" > /tmp/{name} && exec uv run /tmp/{name}'
JOB_LABEL = {"sft-coach": "run"}  # how the Hub's job list tells the app's Jobs apart
_FLAVOR = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_TIMEOUT = re.compile(r"^\d{1,4}(\.\d+)?[smhd]?$")  # the Jobs API's duration: a number and s, m, h or d


class HfJobsError(RuntimeError):
    """A Hugging Face Jobs submission could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class HfJobRequest:
    """One ``hf jobs uv run`` call: the command to show and the same values for ``run_uv_job``."""

    command: str
    script: Path
    flavor: str
    timeout: str
    env: dict[str, str] = field(default_factory=dict)
    secret_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class HfJobSubmission:
    """A submitted job: its id and where to follow it. Holds no token."""

    job_id: str
    url: str
    status: str
    dataset_repo: str
    command: str
    namespace: str = ""
    flavor: str = ""
    output_repo: str | None = None

    @property
    def logs_command(self) -> str:
        return f"hf jobs logs {self.job_id}"

    @property
    def status_command(self) -> str:
        return f"hf jobs inspect {self.job_id}"

    def describe(self) -> str:
        return (
            f"Submitted to Hugging Face Jobs as {self.job_id} ({self.status}). Follow it at {self.url} "
            f"or with `{self.logs_command}`; the data was pushed to the dataset {self.dataset_repo}."
        )


def _check_repo_id(name: str, value: str) -> str:
    problem = repo_id_problem(value, need_namespace=True)
    if problem:
        raise HfJobsError(f"'{name}': {problem}")
    return value.strip()


def build_job_request(
    recipe: Recipe,
    dataset_repo: str,
    output_repo: str | None = None,
    flavor: str | None = None,
    timeout: str | None = None,
) -> HfJobRequest:
    """The recipe's ``hf jobs`` command with the repos (and the hardware, time limit) filled in, parsed into the
    API call's values."""
    dataset_repo = _check_repo_id("dataset_repo", dataset_repo)
    command = recipe.hf_jobs_command.replace(DATASET_PLACEHOLDER, dataset_repo)
    if flavor:
        if not _FLAVOR.match(flavor.strip()):
            raise HfJobsError(f"'hardware': {flavor!r} is not a Jobs hardware name (e.g. a10g-small); pick one.")
        command = re.sub(r"--flavor \S+", f"--flavor {flavor.strip()}", command)
    if timeout:
        if not _TIMEOUT.match(timeout.strip()):
            raise HfJobsError(f"'timeout': {timeout!r} is not a duration: write e.g. 90m, 2h or 1.5h.")
        command = re.sub(r"--timeout \S+", f"--timeout {timeout.strip()}", command)
    if output_repo:
        command = command.replace(MODEL_PLACEHOLDER, _check_repo_id("output_repo", output_repo))
    else:
        command = command.replace(f" -e HUB_MODEL_ID={MODEL_PLACEHOLDER}", "")
    words = shlex.split(command.replace("\\\n", " "))
    if words[:4] != ["hf", "jobs", "uv", "run"]:
        raise HfJobsError(f"The recipe's Jobs command does not start with `hf jobs uv run`: {command!r}.")
    values: dict[str, Any] = {"env": {}, "secrets": []}
    rest = words[4:]
    while rest and rest[0].startswith("-"):
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--flavor":
            values["flavor"] = value
        elif flag == "--timeout":
            values["timeout"] = value
        elif flag == "--secrets":
            values["secrets"].append(value)
        elif flag in ("-e", "--env"):
            key, _, setting = value.partition("=")
            values["env"][key] = setting
        else:
            raise HfJobsError(f"The recipe's Jobs command has a flag this app cannot send: {flag}.")
    if len(rest) != 1:
        raise HfJobsError(f"The recipe's Jobs command should end with one script, not {rest!r}.")
    return HfJobRequest(
        command=command,
        script=recipe.folder / rest[0],
        flavor=values.get("flavor", "cpu-basic"),
        timeout=values.get("timeout", "30m"),
        env=values["env"],
        secret_names=tuple(values["secrets"]),
    )


def _find_token(token: str | None) -> str:
    found = find_token(token)
    if not found:
        raise HfJobsError(missing_token_sentence("nothing was sent"))
    return found


def submit_recipe_job(
    recipe: Recipe,
    dataset_repo: str,
    output_repo: str | None = None,
    token: str | None = None,
    api: Any = None,
    flavor: str | None = None,
    timeout: str | None = None,
) -> HfJobSubmission:
    """Push the recipe's data as a private dataset, start the training job, and return where to follow it.

    ``api`` is an ``huggingface_hub.HfApi`` (the default, at ``huggingface_hub``'s endpoint) or anything with
    the same ``whoami``, ``create_repo``, ``upload_folder`` and ``run_job``.
    """
    request = build_job_request(recipe, dataset_repo, output_repo, flavor, timeout)
    if offline_reason():
        raise HfJobsError(
            "The app is offline (HF_HUB_OFFLINE is set), so nothing was sent to Hugging Face Jobs. Unset it on a "
            f"machine with internet, or run the command yourself:\n{request.command}"
        )
    token = _find_token(token)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    step = "checking your token"
    try:
        user = api.whoami(token=token)
        step = f"pushing the data to the dataset {request.env.get('SFT_DATA')}"
        repo = request.env["SFT_DATA"]
        api.create_repo(repo, repo_type="dataset", private=True, exist_ok=True, token=token)
        api.upload_folder(repo_id=repo, repo_type="dataset", folder_path=str(recipe.folder / DATA_FOLDER), token=token)
        step = "starting the job"
        job = api.run_job(
            image=UV_IMAGE,
            command=["sh", "-c", RUN_SCRIPT.format(name=request.script.name)],
            env={**request.env, SCRIPT_VARIABLE: request.script.read_text(encoding="utf-8")},
            secrets={name: token for name in request.secret_names},  # the script reads HF_TOKEN to push
            flavor=request.flavor,
            timeout=request.timeout,
            labels=JOB_LABEL,
            namespace=user["name"],
            token=token,
        )
    except Exception as err:  # noqa: BLE001 - every failure becomes one sentence without the token
        detail = scrub(f"{type(err).__name__}: {err}", token)
        hint = (
            " The token was refused: check that it is valid and has write access (https://huggingface.co/settings/tokens)."
            if step == "checking your token"
            else ""
        )
        raise HfJobsError(f"Hugging Face Jobs: failed while {step}.{hint} ({detail[:300]})") from None
    owner = (user or {}).get("name", "?")
    status = getattr(getattr(job, "status", None), "stage", "submitted")
    return HfJobSubmission(
        job_id=job.id,
        url=getattr(job, "url", f"https://huggingface.co/jobs/{owner}/{job.id}"),
        status=str(status),
        dataset_repo=request.env["SFT_DATA"],
        command=request.command,
        namespace=owner,
        flavor=request.flavor,
        output_repo=request.env.get("HUB_MODEL_ID"),
    )
