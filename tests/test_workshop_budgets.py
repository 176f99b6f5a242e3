"""Training-time budgets and the longest run: enforced by the manager, said in sentences a participant reads."""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.owners import EVERYONE
from core.runs.manager import RunManager
from core.workshop.budgets import BudgetSpent
from core.workshop.settings import WorkshopSettings
from tests.fakes import fake_trainer


def _manager(tmp_path, settings: WorkshopSettings, **trainer) -> RunManager:
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(**trainer))
    manager.save_settings(settings, owner=EVERYONE)
    return manager


def test_a_participant_over_budget_cant_start_and_is_told_what_they_used_and_had(tmp_path):
    manager = _manager(tmp_path, WorkshopSettings(enabled=True, budget_minutes=0.01), steps=3, delay=0.3)
    first = manager.start(RunConfig(), owner="ann")
    assert manager.wait(first.run_id, timeout=20).phase in ("finished", "stopped")
    allowance = manager.allowance("ann")
    assert allowance.used_seconds >= 0.6 and allowance.left_seconds == 0
    with pytest.raises(BudgetSpent, match=r"You have used your training time: \d s of the 1 s the instructor gives"):
        manager.start(RunConfig(), owner="ann")
    assert len(manager.runs(owner="ann")) == 1  # nothing was queued
    bob = manager.start(RunConfig(), owner="bob")  # ann's budget is hers alone
    assert manager.wait(bob.run_id, timeout=20).phase in ("finished", "stopped")
    assert "training time" in manager.allowance("bob").describe()


def test_budgets_apply_only_in_workshop_mode(tmp_path):
    manager = _manager(tmp_path, WorkshopSettings(enabled=False, budget_minutes=0.001), steps=2, delay=0.1)
    for _ in range(2):
        assert manager.wait(manager.start(RunConfig(), owner="ann").run_id, timeout=20).phase == "finished"
    assert manager.allowance("ann").left_seconds is None


def test_a_run_that_waited_while_its_owners_budget_ran_out_is_cancelled_with_the_reason(tmp_path):
    manager = _manager(tmp_path, WorkshopSettings(enabled=True, budget_minutes=0.01), steps=4, delay=0.3)
    first = manager.start(RunConfig(), owner="ann")
    second = manager.start(RunConfig(), owner="ann")  # queued while ann still had time left
    assert manager.wait(first.run_id, timeout=20).step >= 2
    snap = manager.wait(second.run_id, timeout=20)
    assert snap.phase == "cancelled" and "You have used your training time" in snap.message
    assert snap.started_at is None  # it never trained


def test_a_run_stops_at_the_longest_run_allowed_and_keeps_what_it_trained(tmp_path):
    manager = _manager(tmp_path, WorkshopSettings(max_minutes=0.01), steps=200, delay=0.02)
    snap = manager.wait(manager.start(RunConfig(), owner="ann").run_id, timeout=20)
    assert snap.phase == "stopped" and 5 < snap.step < 200
    assert snap.message.startswith("Stopped at step") and "the instructor's limit of 1 s per run" in snap.message


def test_a_run_never_trains_past_its_owners_budget_left(tmp_path):
    manager = _manager(
        tmp_path, WorkshopSettings(enabled=True, budget_minutes=0.01, max_minutes=10), steps=200, delay=0.02
    )
    snap = manager.wait(manager.start(RunConfig(), owner="ann").run_id, timeout=20)
    assert snap.phase == "stopped" and snap.step < 200
    assert 0.6 <= manager.allowance("ann").used_seconds < 2.5


def test_steps_over_the_longest_run_are_capped_and_the_participant_is_told(tmp_path):
    manager = _manager(tmp_path, WorkshopSettings(max_steps=100), steps=1)
    run = manager.start(RunConfig(max_steps=500), owner="ann")
    assert run.config.max_steps == 100
    notice = manager.start_notice(run.run_id, owner="ann")
    assert (
        notice == "You asked for 500 steps; the instructor allows at most 100 per run, so this run trains 100 steps."
    )
    assert manager.start_notice(run.run_id, owner="bob") == ""  # another person's run tells them nothing
    epochs = manager.start(RunConfig(max_steps=-1, num_epochs=3), owner="bob")
    assert epochs.config.max_steps == 100 and "whole epochs" in manager.start_notice(epochs.run_id, owner="bob")
    short = manager.start(RunConfig(max_steps=60), owner="cat")
    assert short.config.max_steps == 60 and manager.start_notice(short.run_id, owner="cat") == ""
    for job in (run, epochs, short):
        manager.wait(job.run_id, timeout=20)


def test_what_a_participant_is_told_about_their_time():
    from core.workshop.budgets import Allowance

    settings = WorkshopSettings(enabled=True, budget_minutes=20, max_steps=100, max_minutes=5)
    text = Allowance(settings, used_seconds=150).describe()
    assert text == (
        "Workshop: you have used 2 min 30 s of your 20 min 00 s training time; 17 min 30 s left. "
        "Each run trains at most 100 steps and 5 min 00 s."
    )


def test_a_resumed_run_counts_its_training_not_the_pause_before_resume(tmp_path):
    import time

    from tests.run_folders import make_checkpoint

    settings = WorkshopSettings(enabled=True, budget_minutes=10, max_minutes=0.05)  # 3 s a run
    manager = _manager(tmp_path, settings, steps=400, delay=0.02)
    run = manager.start(RunConfig(max_steps=400), owner="ann")
    assert manager.wait(run.run_id, timeout=20).phase == "stopped"  # at the 3 s limit
    before = manager.allowance("ann").used_seconds
    make_checkpoint(run.run_dir, 2)
    time.sleep(2.0)  # a pause that is not training
    manager.resume(run.run_id, owner="ann")
    snap = manager.wait(run.run_id, timeout=20)
    assert snap.phase == "stopped" and snap.step > 30  # it trained its own 3 s again, not stopped at once
    used = manager.allowance("ann").used_seconds
    assert 2.5 < used - before < 4.5  # this segment only: the 2 s pause is not counted
