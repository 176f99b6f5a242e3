"""Runs that train on Hugging Face Jobs: in the same run list as local ones, followed from this app.

A remote run is a run folder like any other (config, state, metrics…) plus the Job it follows
(``RunFolder.write_remote``). ``RemoteFollower`` looks at every active remote run every few seconds
(``core/hf_jobs/follow.py``) and records what it saw through the run's own methods, so the Train step
draws its status card and loss curve as for a local run. When the Job has completed, its result is
downloaded into the run's ``final/`` folder, where Try it finds it. After a restart the manager lists the
run again and the follower picks it up where it was: the Job went on without the app.

Tokens are kept in memory only: the one a run was submitted with, or one lent later by an event of its
owner (``lend_token``, e.g. a sign-in); else ``core/hub.find_token`` (``HF_TOKEN`` or the saved login).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.hf_jobs.follow import JobFollowError, JobLook, cancel_job, download_result, look_at_job
from core.hub import find_token
from core.runs.record import ACTIVE_PHASES, Run

if TYPE_CHECKING:
    from core.config import RunConfig
    from core.device import DeviceInfo
    from core.runs.manager import RunManager

POLL_SECONDS = float(os.environ.get("SFT_COACH_JOBS_POLL_SECONDS", "") or 10)  # each look is 3-4 Hub calls


def _rows_after(rows: list[dict], key: str, done: list[dict]) -> list[dict]:
    """The pushed rows holding ``key`` past the last step already recorded (the file holds every row so far)."""
    last = max((int(row.get("step", 0)) for row in done), default=-1)
    return [row for row in rows if key in row and int(row.get("step", 0)) > last]


class RemoteFollower:
    """Follows the active remote runs ``runs()`` returns, on one background thread started by ``wake``."""

    def __init__(self, runs: Callable[[], list[Run]], poll_seconds: float = POLL_SECONDS) -> None:
        self._runs = runs
        self._poll = poll_seconds
        self._tokens: dict[str, str] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one look at a run at a time (the thread and a Cancel)

    def lend_token(self, run_id: str, token: str | None) -> None:
        """Use ``token`` for this run from now on (kept in memory only)."""
        if token:
            self._tokens[run_id] = token
            self.wake()

    def wake(self) -> None:
        """Look at the remote runs now (and start the thread that keeps looking, once)."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="sft-remote-runs", daemon=True)
            self._thread.start()
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.clear()
            for run in self._runs():
                try:
                    self.look(run)
                except OSError:
                    pass  # a full disk: the next look writes again
                except Exception as err:  # noqa: BLE001 - one broken run must not stop following the others
                    run.set_message(f"Could not follow this Job ({type(err).__name__}: {err}); trying again.")
            self._wake.wait(self._poll)

    def _token(self, run_id: str) -> str | None:
        return self._tokens.get(run_id) or find_token(None)

    def look(self, run: Run) -> None:
        """One look at the run's Job, recorded in the run."""
        job = run.folder.read_remote() or {}
        with self._lock:
            if run.phase not in ACTIVE_PHASES:
                return
            try:
                seen = look_at_job(job["job_id"], job["namespace"], job.get("output_repo"), self._token(run.run_id))
            except JobFollowError as err:
                run.set_message(f"Following the Job on Hugging Face: {err} Trying again in a moment.", progress=True)
                return
            if seen.log_lines != job.get("log"):
                run.folder.write_remote({**job, "log": seen.log_lines})
            self._record(run, job, seen)

    def _record(self, run: Run, job: dict, seen: JobLook) -> None:
        new = {
            "metrics": _rows_after(seen.rows, "loss", run.metrics),
            "evals": _rows_after(seen.rows, "eval_loss", run.eval_metrics),
        }
        for kind, rows in new.items():
            for row in rows:
                run.folder.append_row(kind, row)
        total = max((int(row["max_steps"]) for row in seen.rows if isinstance(row.get("max_steps"), int)), default=0)
        run.adopt({"total_steps": total} if total else {}, new, None)
        flavor, step = job.get("flavor", "?"), run.step
        if seen.stage == "SCHEDULING":
            if run.phase == "queued":
                run.set_phase("preparing", f"Waiting for a {flavor} machine on Hugging Face Jobs.")
        elif seen.stage == "RUNNING":
            steps = f"step {step} of {run.total_steps or '?'}" if seen.rows else "starting up (no step pushed yet)"
            gpu = seen.gpu_text()
            last = seen.log_lines[-1][:160] if seen.log_lines else ""
            text = f"Training on Hugging Face Jobs ({flavor}): {steps}" + (f"; {gpu}" if gpu else "") + "."
            text += f" Last log line: {last}" if last else ""
            if run.phase != "training":
                run.set_phase("training", text)
            elif text != run.message:
                run.set_message(text, progress=True)
        elif seen.stage == "COMPLETED":
            self._fetch_result(run, job)
        elif seen.stage == "ERROR":
            why = seen.status_message or (seen.log_lines[-1] if seen.log_lines else "no reason given")
            with run.lock:
                run.error, run.error_detail = f"The Job failed on Hugging Face Jobs: {why}", "\n".join(seen.log_lines)
            run.set_phase("failed", run.error)
        else:  # CANCELED, DELETED
            run.set_phase("cancelled", f"Cancelled on Hugging Face Jobs at step {step}.")

    def _fetch_result(self, run: Run, job: dict) -> None:
        repo = job.get("output_repo")
        try:
            final = download_result(repo, run.folder.final_dir, self._token(run.run_id))
        except JobFollowError as err:
            with run.lock:
                run.error = f"The Job completed, but its result could not be downloaded: {err}"
            run.set_phase("failed", run.error)
            return
        kind = "LoRA adapter" if run.config.uses_peft else "model"
        run.set_result(str(final), None)
        run.set_phase(
            "finished", f"Finished {run.step} steps on Hugging Face Jobs; the {kind} from {repo} is in {final}."
        )

    def cancel(self, run: Run) -> str | None:
        """Cancel the run's Job; None when the Hub took it, else the reason it did not."""
        job = run.folder.read_remote() or {}
        try:
            cancel_job(job["job_id"], job["namespace"], self._token(run.run_id))
        except JobFollowError as err:
            return str(err)
        run.set_message("Cancel sent to Hugging Face Jobs; waiting for the Job to stop.")
        self.look(run)
        return None


def submit_to_jobs(
    manager: RunManager,
    owner: str,
    config: RunConfig,
    device: DeviceInfo,
    *,
    dataset_repo: str,
    output_repo: str,
    token: str | None,
    flavor: str | None = None,
    timeout: str | None = None,
    estimate: dict | None = None,
) -> Run:
    """Export ``owner``'s recipe, submit it to Hugging Face Jobs, and list it as their remote run.

    ``output_repo`` is needed: the script pushes its metrics and its result there, and the app reads both.
    """
    from core.hf_jobs.submit import HfJobsError, submit_recipe_job
    from core.hub import repo_id_problem
    from core.recipe import export_recipe_for

    if not (output_repo or "").strip():
        raise HfJobsError(
            "'output_repo': name a model repo for the result (e.g. your-name/my-fine-tune): the Job pushes its "
            "loss curve and the trained model there, and the app follows and downloads them from it."
        )
    if repo_id_problem(output_repo, need_namespace=True):
        raise HfJobsError(f"'output_repo': {repo_id_problem(output_repo, need_namespace=True)}")
    config = manager.checked_inputs(config, owner)
    recipe = export_recipe_for(owner, config, device, "jobs")
    found = find_token(token)
    sent = submit_recipe_job(recipe, dataset_repo, output_repo, token=found, flavor=flavor, timeout=timeout)
    job = {
        "job_id": sent.job_id, "namespace": sent.namespace, "url": sent.url, "flavor": sent.flavor,
        "dataset_repo": sent.dataset_repo, "output_repo": sent.output_repo, "estimate": estimate or {},
    }  # fmt: skip
    return manager.start_remote(config, owner, job, found)
