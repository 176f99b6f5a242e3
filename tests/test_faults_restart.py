"""Faults a shared Space meets: the app process killed mid-run, then started again on the same data folder.

The restarted app lists the run as interrupted, keeps every metric up to its last
complete checkpoint, and resumes it from there to the end (SECURITY.md, "Nothing lost"); a run that
was waiting in line waits on and trains (core/runs/line.py).
"""

from __future__ import annotations

import time

from core.models.catalog import TINY_MODEL_ID
from tests.app_server import AppServer


def _poll(client, run_id: str, done, timeout: float = 600) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.predict(run_id, api_name="/run_status")
        if done(status):
            return status
        time.sleep(0.3)
    raise TimeoutError(f"run {run_id}: condition not reached; last status {status}")


def test_a_run_survives_the_app_being_killed_mid_run(tmp_path, tiny_model_path):
    from gradio_client import Client

    data = tmp_path / "data"
    first = AppServer(data, tmp_path / "first.log")
    try:
        first.wait_until_up()
        client = Client(first.url, verbose=False)
        # 60 steps with a checkpoint every 20 (RunConfig.save_steps): kill once one checkpoint is complete.
        run_id = client.predict(TINY_MODEL_ID, "json_extraction", 60, api_name="/start_training")
        waiting = client.predict(TINY_MODEL_ID, "json_extraction", 5, api_name="/start_training")
        assert client.predict(waiting, api_name="/run_status")["phase"] == "queued"
        _poll(client, run_id, lambda s: s["step"] >= 21 or s["phase"] not in ("queued", "preparing", "training"))
        first.process.kill()  # SIGKILL: no clean-up code runs
        first.process.wait(10)
    finally:
        first.stop()

    second = AppServer(data, tmp_path / "second.log")
    try:
        second.wait_until_up()
        client = Client(second.url, verbose=False)
        status = client.predict(run_id, api_name="/run_status")
        assert status["phase"] == "interrupted", status
        assert len(status["losses"]) >= 20  # every step up to the kill was on disk
        # the run that waited in line was not lost: it trains now, first in line
        after = _poll(client, waiting, lambda s: s["phase"] in ("finished", "failed", "stopped", "interrupted"))
        assert after["phase"] == "finished" and after["step"] == 5, after

        client.predict(run_id, api_name="/resume_training")
        status = _poll(client, run_id, lambda s: s["phase"] in ("finished", "failed", "stopped"))
        assert status["phase"] == "finished", status
        assert status["step"] == status["total_steps"] == 60
        assert len(status["losses"]) == 60  # resumed from the checkpoint: no step lost, none counted twice
        assert status["load_check"].startswith("Reloaded from disk")
        assert "Traceback" not in second.log()
    finally:
        second.stop()
