"""The Train step's timer: every second it only compares what the page shows with the run; the page is redrawn
(through the change event of a state) only when the run moved on or the chart options changed."""

from __future__ import annotations

import gradio as gr

from core.config import RunConfig
from core.runs.manager import RunManager
from tests.fake_trainers import fake_trainer
from ui.train import build_train_step


def test_the_timer_redraws_the_page_only_when_something_changed(tmp_path, request_as):
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=5))
    with gr.Blocks() as demo:
        build_train_step(manager, gr.State(RunConfig().to_dict()), trackio_dir=str(tmp_path))
    handlers = {fn.name: fn.fn for fn in demo.fns.values()}
    watch, refresh = handlers["watch"], handlers["refresh"]
    ann, bob = request_as("ann"), request_as("bob")
    run_id = manager.start(RunConfig(), owner="ann").run_id
    manager.wait(run_id, timeout=30)

    moved_on = watch(None, None, 0.6, "step", ann)  # a page just opened: the newest run is there to show
    shown = refresh(None, None, 0.6, "step", ann)
    key = shown[-1]
    assert shown[0] == run_id and "Finished" in shown[1] and moved_on[0] == key
    assert watch(run_id, key, 0.6, "step", ann) == gr.skip()  # nothing new: a skipped state, nothing redrawn
    assert refresh(run_id, key, 0.6, "step", ann) == [gr.skip()] * (len(shown) - 1) + [key]
    assert watch(run_id, key, 0.8, "step", ann)[0] != key  # the smoothing moved: redraw
    charts = slice(3, 10)  # the loss chart and the six other metrics
    only_status = refresh(run_id, (key[0], ("training",)), 0.6, "step", ann)  # e.g. the message changed
    assert "Finished" in only_status[1] and only_status[charts] == [gr.skip()] * 7
    again = refresh(None, None, 0.6, "step", ann)  # another tab: the same charts, not built again
    assert all(a is b for a, b in zip(again[charts], shown[charts], strict=True))
    assert watch(run_id, key, 0.6, "step", bob)[0][0][0] == "no run"  # another person sees none of ann's runs
