"""The Train step's timer: every second it only compares what the page shows with the run; the page is redrawn
(through the change event of a state) only when the run moved on or the chart options changed."""

from __future__ import annotations

import gradio as gr

from core.config import RunConfig
from core.runs.manager import RunManager
from tests.fakes import fake_trainer
from ui.train import EXTRA_METRICS, REFRESH_OUTPUTS, TrainEvents


def test_the_timer_redraws_the_page_only_when_something_changed(tmp_path, request_as):
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=5))
    events = TrainEvents(manager)
    ann, bob = request_as("ann"), request_as("bob")
    run_id = manager.start(RunConfig(), owner="ann").run_id
    manager.wait(run_id, timeout=30)
    charts = ["loss_plot", *(f"plot_{key}" for key, _, _ in EXTRA_METRICS)]  # the loss chart and six other metrics

    def refresh(current, last_key, request) -> dict:
        return dict(zip(REFRESH_OUTPUTS, events.refresh(current, last_key, 0.6, "step", request), strict=True))

    moved_on = events.watch(None, None, 0.6, "step", ann)  # a page just opened: the newest run is there to show
    assert isinstance(moved_on, str) and run_id not in moved_on  # a token for the page: nothing of the run
    shown = refresh(None, None, ann)
    key = shown["render_key"]
    assert shown["run_id"] == run_id and "Finished" in shown["status"]
    assert events.watch(run_id, key, 0.6, "step", ann) == gr.skip()  # nothing new: skipped, nothing redrawn
    assert events.watch(None, key, 0.6, "step", ann) == gr.skip()  # a reloaded page: the same run is the newest
    unchanged = refresh(run_id, key, ann)
    assert unchanged["render_key"] == key and all(unchanged[name] == gr.skip() for name in REFRESH_OUTPUTS[:-1])
    assert events.watch(run_id, key, 0.8, "step", ann) not in (gr.skip(), moved_on)  # the smoothing moved: redraw
    only_status = refresh(run_id, (key[0], ("training",)), ann)  # e.g. the message changed
    assert "Finished" in only_status["status"] and all(only_status[name] == gr.skip() for name in charts)
    again = refresh(None, None, ann)  # another tab: the same charts, not built again
    assert all(again[name] is shown[name] for name in charts)
    assert events.watch(run_id, key, 0.6, "step", bob) != gr.skip()  # bob's page does not show ann's run ...
    drawn = {name: value for name, value in refresh(run_id, None, bob).items() if name != "run_id"}  # (his input)
    assert run_id not in str(drawn)  # ... and what it draws instead has nothing of it
