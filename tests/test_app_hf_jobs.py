"""A Hugging Face Job in the launched app, against the fake Hub on loopback (tests/fake_hub.py): submitted from
the Settings step it is a run of the Train step's list, its logs and loss curve update, another person sees
none of it, the finished adapter is offered in Try it, and Cancel reaches the Job. (A restart that keeps
following the Job: tests/test_runs_remote.py, over the same run folder, without a second app launch.)"""

from __future__ import annotations

import json
import re
import time

from core.recipe import JOB_METRICS_FILE
from tests.app_server import AppServer
from tests.fake_hub import TOKEN, FakeJobs, start_fake_hub
from tests.page_client import PageClient
from tests.run_folders import make_adapter

SUBMIT = {"jobs-dataset-repo": "ann/data", "jobs-output-repo": "ann/model", "jobs-hardware": "t4-small"}


def _until(page: PageClient, text: str, timeout: float = 30) -> str:
    """The Train step's refresh, again until it shows ``text``."""
    deadline = time.time() + timeout
    while True:
        shown = page.call_named("refresh", {}).raw
        if text in shown or time.time() > deadline:
            assert text in shown, shown[-3000:]
            return shown
        time.sleep(0.3)


def _push_rows(*losses: float) -> None:
    rows = [{"step": i, "time": 100.0 + i, "loss": loss, "max_steps": 4} for i, loss in enumerate(losses, 1)]
    FakeJobs.push_file("ann/model", JOB_METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows).encode())


def test_a_job_is_followed_in_the_page_to_try_it_and_cancelled(tmp_path, tiny_model_path):
    from core.models.catalog import TINY_MODEL_ID

    hub, url = start_fake_hub()
    env = {"HF_ENDPOINT": url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": TOKEN, "SFT_COACH_JOBS_POLL_SECONDS": "0.3",
           "SFT_COACH_DEFAULT_MODEL": TINY_MODEL_ID}  # fmt: skip
    app = AppServer(tmp_path / "data", tmp_path / "app.log", env)
    try:
        app.wait_until_up()
        ann, bob = PageClient(app.url).open(), PageClient(app.url).open()
        listed = ann.call_named("load_hardware", {})
        assert listed.success and "$0.40/h" in str(listed.data)
        estimate = ann.call_named("show_estimate", {"jobs-hardware": "t4-small"})  # with the list the server read
        assert "Estimate:** About" in str(estimate.data) and "$0.40/h" in str(estimate.data)
        sent = ann.call_named("submit_job", SUBMIT)
        assert sent.success and "Submitted to Hugging Face Jobs" in sent.raw, sent.raw[-2000:]
        (job_id,) = FakeJobs.jobs
        assert FakeJobs.jobs[job_id]["flavor"] == "t4-small" and TOKEN not in sent.raw

        FakeJobs.set_stage(job_id, "RUNNING")
        FakeJobs.add_logs(job_id, "Loading the model", "{'loss': 2.1, 'step': 2}")
        _push_rows(2.5, 2.1)
        shown = _until(ann, "step 2 of 4")
        assert "HF Jobs · " in shown and "id='job-logs'" in shown and "Loading the model" in shown
        assert "Cancel the Job" in shown and "2.1" in shown  # the loss curve's points are in the plot's data
        run_id = re.search(r"title='run id'>([\w-]+)<", shown).group(1)
        stranger = bob.call_named("refresh", {}).raw
        assert job_id not in stranger and "HF Jobs" not in stranger and "2.5" not in stranger
        assert "no running or waiting run" in bob.call_named("stop_run", {}).raw and FakeJobs.cancels == []

        _push_rows(2.5, 2.1, 1.4, 0.9)
        make_adapter(tiny_model_path, tmp_path / "adapter")  # what the Job's trainer pushed at its end
        for path in (tmp_path / "adapter").iterdir():
            FakeJobs.push_file("ann/model", path.name, path.read_bytes())
        FakeJobs.set_stage(job_id, "COMPLETED")
        done = _until(ann, "Finished 4 steps on Hugging Face Jobs")
        assert "0.9" in done
        assert f"{run_id}/final" in ann.call_named("refresh_lists", {}).raw  # Try it offers the downloaded adapter
        assert run_id not in bob.call_named("refresh_lists", {}).raw + bob.call_named("refresh", {}).raw

        again = ann.call_named("submit_job", SUBMIT)
        assert "Submitted to Hugging Face Jobs" in again.raw, again.raw[-1500:]
        (second,) = set(FakeJobs.jobs) - {job_id}
        assert ann.call_named("show_submitted_run", {}).success  # what the page does next: show the new run
        FakeJobs.set_stage(second, "RUNNING")
        _until(ann, "Cancel the Job")
        assert ann.call_named("stop_run", {}).success and FakeJobs.cancels == [second]
        _until(ann, "Cancelled on Hugging Face Jobs")
    finally:
        app.stop()
        hub.shutdown()
    assert "Traceback" not in app.log(), app.log()[-3000:]
