"""The instructor's workshop settings: checked, kept on the server across a restart, the environment as defaults."""

from __future__ import annotations

import pytest

from core.config import ConfigError, RunConfig
from core.owners import EVERYONE
from core.runs.manager import RunManager
from core.workshop.settings import WorkshopSettings, WorkshopSettingsStore
from tests.fakes import fake_trainer


def test_settings_saved_by_the_instructor_survive_a_restart(tmp_path, data_dir):
    saved = WorkshopSettings(enabled=True, budget_minutes=15, max_steps=80, max_minutes=6)
    RunManager(tmp_path / "runs", trainer=fake_trainer()).save_settings(saved, owner=EVERYONE)
    assert (data_dir / "workshop" / "settings.json").is_file()  # under the data folder, beside the runs
    after_restart = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1))
    assert after_restart.settings() == saved
    run = after_restart.start(RunConfig(max_steps=500), owner="ann")  # and they are applied after it
    assert run.config.max_steps == 80
    after_restart.wait(run.run_id, timeout=10)
    used = after_restart.allowance("ann").used_seconds
    again = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1))  # the time used is the runs' own record
    assert used > 0 and again.allowance("ann").used_seconds == used and again.allowance("bob").used_seconds == 0


def test_the_environment_gives_the_defaults_until_the_instructor_saves(tmp_path, monkeypatch):
    monkeypatch.setenv("SFT_COACH_WORKSHOP", "1")
    monkeypatch.setenv("SFT_COACH_GPU_BUDGET_MINUTES", "30")
    monkeypatch.setenv("SFT_COACH_MAX_STEPS", "200")
    monkeypatch.setenv("SFT_COACH_MAX_RUN_MINUTES", "not a number")
    store = WorkshopSettingsStore(tmp_path / "settings.json")
    assert store.load() == WorkshopSettings(enabled=True, budget_minutes=30, max_steps=200, max_minutes=0)
    store.save(WorkshopSettings(enabled=False, max_steps=50))
    assert store.load() == WorkshopSettings(enabled=False, max_steps=50)  # the page's choice wins over the variables
    (tmp_path / "settings.json").write_text("{cut short")
    assert store.load().max_steps == 200  # an unreadable file: the defaults, never a crash


def test_only_the_admin_view_saves_settings(tmp_path):
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer())
    with pytest.raises(PermissionError):
        manager.save_settings(WorkshopSettings(enabled=True), owner="ann")
    assert manager.settings() == WorkshopSettings()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"budget_minutes": -1}, "'Training time per participant (minutes)' = -1 can't be negative"),
        ({"max_steps": 12.5}, "'Longest run (steps)' = 12.5 must be a whole number"),
        ({"max_minutes": "ten"}, "'Longest run (minutes)' must be a number"),
        ({"max_minutes": float("nan")}, "'Longest run (minutes)' must be a number"),
        ({"enabled": "yes"}, "'Workshop mode' must be on or off"),
        ({"owner": "ann"}, "Unknown workshop setting(s): owner"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(values, message):
    with pytest.raises(ConfigError) as raised:
        WorkshopSettings.from_dict(values)
    assert message in str(raised.value)
