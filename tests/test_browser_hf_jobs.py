"""Hugging Face Jobs in a real browser, against the fake Hub on loopback (tests/fake_hub.py): pick a machine
from the Hub's list, read the estimate, submit, and follow the Job in the Train step (logs, loss curve) until
Cancel. Screenshots go to ``test-artifacts/screenshots``: look at them."""

from __future__ import annotations

import json

import pytest

from core.models.catalog import TINY_MODEL_ID
from core.recipe import JOB_METRICS_FILE
from tests.browser import app_errors, chromium_page, open_tab, plot_points, run_phase, shot, wait_for
from tests.fake_hub import TOKEN, FakeJobs, start_fake_hub

pytestmark = pytest.mark.browser


def test_a_job_is_priced_submitted_followed_and_cancelled_in_the_page(launch_app):
    hub, url = start_fake_hub()
    env = {"HF_ENDPOINT": url, "HF_HUB_OFFLINE": "0", "HF_TOKEN": TOKEN, "SFT_COACH_JOBS_POLL_SECONDS": "0.5",
           "SFT_COACH_DEFAULT_MODEL": TINY_MODEL_ID}  # fmt: skip
    try:
        app = launch_app(env, name="jobs")
        with chromium_page() as (page, errors):
            page.goto(app.url)
            open_tab(page, "3 · Settings")
            page.locator("#recipe-export").get_by_text("Export a recipe").click()
            page.locator("#jobs-dataset-repo textarea").fill("ann/sft-data")
            page.locator("#jobs-output-repo textarea").fill("ann/my-fine-tune")
            page.locator("#jobs-load-hardware").click()
            estimate = page.locator("#jobs-estimate")
            estimate.get_by_text("Nvidia A10G - small ($1.00/h)", exact=False).wait_for(timeout=60_000)
            page.locator("#jobs-hardware input").click()
            page.get_by_role("option", name="Nvidia T4 - small · 16 GB · $0.40/h").click()
            estimate.get_by_text("Nvidia T4 - small ($0.40/h)", exact=False).wait_for(timeout=60_000)
            assert page.locator("#jobs-timeout textarea").input_value() == "30m"  # twice the estimate, at least 30 min
            shot(page, "jobs-1-estimate", "#jobs-dataset-repo")
            page.locator("#jobs-submit").click()

            page.locator("#job-info").get_by_text("On Hugging Face Jobs · t4-small").wait_for(timeout=60_000)
            (job_id,) = FakeJobs.jobs
            FakeJobs.set_stage(job_id, "RUNNING")
            FakeJobs.add_logs(job_id, "Installed 61 packages in 41s", "{'loss': 2.1, 'grad_norm': 1.3, 'step': 2}")
            rows = [{"step": s, "time": 100.0 + s, "loss": 3.0 / s, "max_steps": 8} for s in range(1, 5)]
            FakeJobs.push_file(
                "ann/my-fine-tune", JOB_METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows).encode()
            )
            wait_for(lambda: "step 4 of 8" in page.locator("#run-status").inner_text(), what="the Job's step 4")
            wait_for(lambda: sum(plot_points(page, "loss-plot")) >= 4, what="the Job's loss curve")
            assert "Installed 61 packages" in page.locator("#job-logs").inner_text()
            assert page.locator("#run-picker input").input_value().startswith("HF Jobs · ")
            shot(page, "jobs-2-training")

            page.locator("#stop-training").get_by_text("Cancel the Job").click()
            wait_for(lambda: run_phase(page) == "Cancelled", what="the Job cancelled")
            assert FakeJobs.cancels == [job_id]
            assert app_errors(errors) == []
    finally:
        hub.shutdown()
