"""One look at a running Job, Cancel, and the trained result fetched from the Hub.

A look (``look_at_job``) is four calls of the real client: ``inspect_job`` (the stage), ``fetch_job_logs``
(the last lines, without following), ``fetch_job_metrics`` (one sample of the machine: GPU use and memory)
and the metrics file the exported script pushes to the output repo as it trains
(``core/recipe.py`` ``JOB_METRICS_FILE``: every logged step, about once a minute). Only the stage is
needed: the others may fail (no log yet, no file pushed yet) and the look says what it has.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.hub import explain_error, scrub
from core.recipe import JOB_METRICS_FILE
from core.runs.store import parse_lines

ENDED_STAGES = ("COMPLETED", "CANCELED", "ERROR", "DELETED")  # huggingface_hub's TERMINAL_JOB_STAGES
LOG_LINES = 40  # the tail the Train step shows


class JobFollowError(RuntimeError):
    """The Job could not be read, cancelled or its result fetched; the message says why, without the token."""


@dataclass(frozen=True)
class JobLook:
    """What a Job shows at one moment."""

    stage: str
    status_message: str | None
    log_lines: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Every step the run pushed so far (training rows with ``loss``, evaluation rows with ``eval_loss``)."""
    machine: dict[str, Any] | None = None
    """One sample of the Job's machine metrics (``gpus``: utilisation and memory per GPU)."""

    @property
    def ended(self) -> bool:
        return self.stage in ENDED_STAGES

    def gpu_text(self) -> str:
        """ "GPU 87 % busy, 14.2 of 24.0 GB" for the first GPU, or "" without a sample."""
        gpus = list(((self.machine or {}).get("gpus") or {}).values())
        if not gpus or not isinstance(gpus[0], dict):
            return ""
        gpu = gpus[0]
        used, total = gpu.get("memory_used_bytes"), gpu.get("memory_total_bytes")
        memory = f", {used / 1e9:.1f} of {total / 1e9:.1f} GB" if used is not None and total else ""
        return f"GPU {gpu.get('utilization', 0):.0f} % busy{memory}"


def _api():
    from huggingface_hub import HfApi

    return HfApi()  # at huggingface_hub's endpoint, read now (the tests point it at a local fake Hub)


def _failed(what: str, err: BaseException, token: str | None) -> JobFollowError:
    return JobFollowError(f"{what}: {scrub(explain_error(err, token), token)}")


def pushed_rows(repo_id: str, token: str | None) -> list[dict[str, Any]]:
    """The rows the Job's script pushed to ``repo_id`` so far; [] before its first push."""
    from huggingface_hub.utils import build_hf_headers, get_session

    # hf_hub_url's template is fixed when huggingface_hub is imported; the endpoint is read now instead
    url = f"{_api().endpoint}/{repo_id}/resolve/main/{JOB_METRICS_FILE}"
    response = get_session().get(url, headers=build_hf_headers(token=token))
    if response.status_code in (401, 403, 404):  # no repo or no file yet: the script pushes after its first steps
        return []
    response.raise_for_status()
    return parse_lines(response.text).rows


def look_at_job(job_id: str, namespace: str, output_repo: str | None, token: str | None) -> JobLook:
    """The Job's stage, its last log lines, one machine sample and the rows its run pushed."""
    api = _api()
    try:
        info = api.inspect_job(job_id=job_id, namespace=namespace, token=token)
    except Exception as err:  # noqa: BLE001
        raise _failed(f"Could not read the Job {job_id}", err, token) from None
    stage, message = str(info.status.stage), info.status.message
    lines: list[str] = []
    machine = None
    rows: list[dict[str, Any]] = []
    try:
        lines = [scrub(line, token) for line in api.fetch_job_logs(job_id=job_id, namespace=namespace, token=token)]
    except Exception:  # noqa: BLE001 - no logs yet: the stage still says where the Job is
        pass
    if stage == "RUNNING":
        try:
            machine = next(iter(api.fetch_job_metrics(job_id=job_id, namespace=namespace, token=token)), None)
        except Exception:  # noqa: BLE001 - the machine's figures are a bonus
            pass
    if output_repo:
        try:
            rows = pushed_rows(output_repo, token)
        except Exception:  # noqa: BLE001 - the curve waits for the next look
            pass
    return JobLook(stage, message, lines[-LOG_LINES:], rows, machine)


def cancel_job(job_id: str, namespace: str, token: str | None) -> None:
    """Ask the Hub to cancel the Job (``HfApi.cancel_job``)."""
    try:
        _api().cancel_job(job_id=job_id, namespace=namespace, token=token)
    except Exception as err:  # noqa: BLE001
        raise _failed(f"Could not cancel the Job {job_id}", err, token) from None


def download_result(repo_id: str, folder: Path, token: str | None) -> Path:
    """The trained adapter or model from ``repo_id`` into ``folder`` (``snapshot_download``), without the metrics."""
    from huggingface_hub import snapshot_download

    partial = folder.with_name(folder.name + ".download")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        snapshot_download(
            repo_id, local_dir=partial, token=token, ignore_patterns=[JOB_METRICS_FILE, ".gitattributes"]
        )
    except Exception as err:  # noqa: BLE001
        shutil.rmtree(partial, ignore_errors=True)
        raise _failed(f"Could not download the result from {repo_id}", err, token) from None
    shutil.rmtree(partial / ".cache", ignore_errors=True)  # huggingface_hub's bookkeeping of the download
    shutil.rmtree(folder, ignore_errors=True)
    partial.replace(folder)  # whole or not at all: Try it never sees half an adapter
    return folder
