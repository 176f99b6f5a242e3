"""The Train step in workshop mode: a participant's card says their place, their wait, capped steps and time left."""

from __future__ import annotations

import threading

import gradio as gr

from core.config import RunConfig
from core.owners import EVERYONE
from core.runs.manager import RunManager
from core.workshop.settings import WorkshopSettings
from tests.fakes import fake_trainer
from ui.train import REFRESH_OUTPUTS, TrainEvents

ESTIMATE = {"total_seconds": 300.0, "parts": [["start-up", 30.0], ["60 training steps", 270.0]]}


def _status(events: TrainEvents, request, current=None) -> str:
    shown = dict(zip(REFRESH_OUTPUTS, events.refresh(current, None, 0.6, "step", request), strict=True))
    return shown["status"]


def test_a_waiting_participant_sees_their_place_wait_capped_steps_and_time_left(tmp_path, request_as, monkeypatch):
    gate = threading.Event()
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=2, gate=gate))
    manager.save_settings(WorkshopSettings(enabled=True, budget_minutes=20, max_steps=100), owner=EVERYONE)
    events = TrainEvents(manager)
    told: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda text: told.append(text))
    monkeypatch.setattr(gr, "Info", lambda text: told.append(text))
    monkeypatch.setattr("ui.train._estimate", lambda config: ESTIMATE)  # the Settings step's estimate: tested there
    ann, bob, cat = request_as("ann"), request_as("bob"), request_as("cat")
    try:
        manager.start(RunConfig(), owner="ann", estimate=ESTIMATE)
        assert "20 min 00 s left" in _status(events, cat)  # no run yet: the budget is there already
        bob_run, _ = events.start_run(RunConfig(max_steps=500).to_dict(), "", bob)
        assert (
            told[0]
            == "You asked for 500 steps; the instructor allows at most 100 per run, so this run trains 100 steps."
        )
        assert told[1].startswith("Another run is training; yours is number 1 in line. About 5 min until it starts")
        card = _status(events, bob, bob_run)
        assert "Place in line: 1." in card and "About 5 min until it starts" in card
        assert "so this run trains 100 steps" in card and "of your 20 min 00 s training time" in card
        assert "Place in line" not in _status(events, ann) and "so this run trains" not in _status(events, ann)
        assert bob_run not in _status(events, cat, bob_run)  # someone else's run id shows them nothing of it
    finally:
        gate.set()
