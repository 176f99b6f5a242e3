"""Stop ends a training step or an evaluation where it is (core/runs/interrupt.py) and keeps the last whole step."""

from __future__ import annotations

import pytest
import torch
from transformers import TrainerCallback

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from core.owners import EVERYONE
from core.runs.interrupt import StopNow, StopWatch
from core.runs.manager import RunManager
from core.runs.store import RunFolder
from core.runs.train import run_training


def test_the_watch_raises_only_while_armed_and_from_the_backward_pass_too():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 1))
    stop = [False]
    watch = StopWatch(lambda: stop[0], every=0)
    watch.install(model)
    stop[0] = True
    model(torch.ones(1, 4)).sum().backward()  # not armed (an optimizer step, a save): nothing is cut
    with pytest.raises(StopNow), watch.armed():
        model(torch.ones(1, 4))
    stop[0] = False
    with watch.armed():
        model(torch.ones(1, 4))
    loss = model(torch.ones(1, 4)).sum()
    with pytest.raises(StopNow), watch.armed():
        stop[0] = True
        loss.backward()  # the forward ran before Stop: the gradient hooks end the backward pass
    watch.remove()
    stop[0] = False
    with watch.armed():  # unhooked: Stop pressed inside is seen only where the trainer looks (a step end)
        stop[0] = True
        model(torch.ones(1, 4))


class StopWhen(TrainerCallback):
    """Presses Stop at one moment of the run, and counts the evaluation batches and steps that began."""

    def __init__(self, run_getter, during: str) -> None:
        self.run_getter, self.during = run_getter, during
        self.eval_batches = 0
        self.steps_begun = 0

    def on_step_begin(self, args, state, control, **kwargs):
        self.steps_begun += 1
        if self.during == "step" and state.global_step == 2:
            self.run_getter().request_stop()  # step 3 begins: Stop lands inside its forward/backward

    def on_prediction_step(self, args, state, control, **kwargs):
        self.eval_batches += 1
        if self.during == "evaluation":
            self.run_getter().request_stop()


def _stopped_run(tmp_path, during: str, **settings):
    runs = {}
    watcher = StopWhen(lambda: runs["run"], during)

    def trainer(run):
        runs["run"] = run
        run_training(run, extra_callbacks=[watcher])

    manager = RunManager(tmp_path / "runs", trainer=trainer)
    values = dict(model_id=TINY_MODEL_ID, sample_every=0, num_probe_prompts=1, sample_max_new_tokens=4)
    job = manager.start(RunConfig(**{**values, **settings}), owner="tester")
    return manager, job, manager.wait(job.run_id, timeout=600), watcher


def test_stop_inside_a_step_keeps_the_step_before_and_resumes_from_it(tmp_path, tiny_model_path):
    manager, job, snap, watcher = _stopped_run(tmp_path, "step", max_steps=6, save_steps=0, eval_steps=0)
    assert snap.phase == "stopped", (snap.error, snap.error_detail)
    assert snap.step == 2 and [m["step"] for m in snap.metrics] == [1, 2]  # step 3 was cut, never counted
    assert RunFolder(job.run_dir).last_complete_checkpoint().step == 2
    assert (job.run_dir / "final" / "adapter_config.json").is_file()
    manager.resume(job.run_id, owner=EVERYONE)
    watcher.during = ""
    snap = manager.wait(job.run_id, timeout=600)
    assert snap.phase == "finished", (snap.error, snap.error_detail)
    assert [m["step"] for m in snap.metrics] == [1, 2, 3, 4, 5, 6]


def test_stop_during_an_evaluation_ends_it_at_once_and_saves_that_step(tmp_path, tiny_model_path):
    _, job, snap, watcher = _stopped_run(tmp_path, "evaluation", max_steps=6, save_steps=0, eval_steps=2,
                                         max_eval_rows=64, per_device_batch_size=2)  # fmt: skip
    assert snap.phase == "stopped", (snap.error, snap.error_detail)
    assert watcher.eval_batches == 1  # of 32: the second batch never began
    assert snap.step == 2 and not snap.eval_metrics
    assert RunFolder(job.run_dir).last_complete_checkpoint().step == 2
    assert (job.run_dir / "final" / "adapter_config.json").is_file()
