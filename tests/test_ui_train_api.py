"""The Train step's script endpoints reach only runs started through them, never a browser's runs."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.owners import EVERYONE
from core.runs.manager import RunManager
from tests.fakes import fake_trainer
from ui.train import ScriptEndpoints


def test_a_script_cannot_read_or_stop_a_browsers_run(tmp_path):
    import gradio as gr

    manager = RunManager(tmp_path, trainer=fake_trainer(steps=200, delay=0.01))
    api = ScriptEndpoints(manager)
    browser_run = manager.start(RunConfig(), owner="0d4aaeef23539ee115f585573c81eefe")
    with pytest.raises(gr.Error, match="no run with id"):
        api.run_status(browser_run.run_id)
    assert api.stop_training(browser_run.run_id) is False
    assert manager.snapshot(browser_run.run_id, owner=EVERYONE).phase in ("preparing", "training")
    manager.stop(browser_run.run_id, owner=EVERYONE)
    manager.wait(browser_run.run_id, timeout=10)


def test_a_script_reads_and_stops_its_own_run(tmp_path):
    manager = RunManager(tmp_path, trainer=fake_trainer(steps=200, delay=0.01))
    api = ScriptEndpoints(manager)
    run_id = api.start_training("any-model", "json_extraction", 200)
    assert api.run_status(run_id)["phase"] in ("queued", "preparing", "training")
    assert api.stop_training(run_id) is True
    manager.wait(run_id, timeout=10)
    assert api.run_status(run_id)["phase"] == "stopped"
    assert manager.runs(owner="someone-else") == []
