"""The waiting line in workshop mode: turns by person, the instructor's push back, honest waits."""

from __future__ import annotations

import threading

from core.config import RunConfig
from core.owners import EVERYONE
from core.runs.manager import RunManager
from core.workshop.queue import Waiting, fair_order
from core.workshop.settings import WorkshopSettings
from tests.fakes import fake_trainer


def _manager(tmp_path, gate: threading.Event, workshop: bool) -> RunManager:
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1, gate=gate))
    manager.save_settings(WorkshopSettings(enabled=workshop), owner=EVERYONE)
    return manager


def _queue_a_class(manager: RunManager) -> dict[str, str]:
    """ann trains; then ann queues three more, bob two, cat one (in that order): run id -> name."""
    names = {manager.start(RunConfig(), owner="ann").run_id: "ann-0"}
    for who, count in (("ann", 3), ("bob", 2), ("cat", 1)):
        for n in range(1, count + 1):
            names[manager.start(RunConfig(), owner=who).run_id] = f"{who}-{n}"
    return names


def test_workshop_mode_takes_turns_by_person_and_runs_start_in_the_order_shown(tmp_path):
    gate = threading.Event()
    manager = _manager(tmp_path, gate, workshop=True)
    names = _queue_a_class(manager)
    shown = [names[run_id] for run_id in manager.queue_order()]
    # ann was served last (her first run is training): bob and cat go before her next runs, then turns go on
    assert shown == ["bob-1", "cat-1", "ann-1", "bob-2", "ann-2", "ann-3"]
    places = {names[s.run_id]: s.queue_position for s in manager.summaries(owner=EVERYONE) if s.queue_position}
    assert places == {name: place for place, name in enumerate(shown, start=1)}
    gate.set()
    for run_id in names:
        assert manager.wait(run_id, timeout=20).phase == "finished"
    started = sorted(names, key=lambda run_id: manager.get(run_id, owner=EVERYONE).started_at)
    assert [names[run_id] for run_id in started] == ["ann-0", *shown]


def test_without_workshop_mode_the_line_is_first_come_first_served(tmp_path):
    gate = threading.Event()
    manager = _manager(tmp_path, gate, workshop=False)
    names = _queue_a_class(manager)
    try:
        assert [names[r] for r in manager.queue_order()] == ["ann-1", "ann-2", "ann-3", "bob-1", "bob-2", "cat-1"]
    finally:
        gate.set()


def test_the_instructor_pushes_a_run_behind_every_other(tmp_path):
    gate = threading.Event()
    manager = _manager(tmp_path, gate, workshop=True)
    names = _queue_a_class(manager)
    ids = {name: run_id for run_id, name in names.items()}
    try:
        assert manager.deprioritise(ids["bob-1"], owner="ann") is False  # not ann's run: nothing moves
        assert manager.deprioritise(ids["bob-1"], owner=EVERYONE) is True
        assert manager.deprioritise(ids["ann-0"], owner=EVERYONE) is False  # training, not waiting
        assert [names[r] for r in manager.queue_order()][-2:] == ["ann-3", "bob-1"]
        assert manager.deprioritise(ids["cat-1"], owner=EVERYONE) is True
        assert [names[r] for r in manager.queue_order()][-2:] == ["bob-1", "cat-1"]  # pushed back in turn
    finally:
        gate.set()


def test_a_participant_served_long_ago_goes_before_one_served_recently():
    line = [Waiting("b1", "bob"), Waiting("a1", "ann"), Waiting("c1", "cat")]
    assert fair_order(line, {"bob": 300.0, "ann": 100.0}) == ["c1", "a1", "b1"]  # cat never trained


def test_every_waiting_run_is_told_its_wait_from_the_estimates_ahead_of_it(tmp_path):
    gate = threading.Event()
    manager = _manager(tmp_path, gate, workshop=True)
    estimate = {"total_seconds": 600.0, "parts": [["start-up", 60.0], ["60 training steps", 540.0]]}
    training = manager.start(RunConfig(), owner="ann", estimate=estimate)
    bob = manager.start(RunConfig(), owner="bob", estimate=estimate)
    cat = manager.start(RunConfig(), owner="cat", estimate=estimate)
    dan = manager.start(RunConfig(), owner="dan")  # no estimate
    eve = manager.start(RunConfig(), owner="eve", estimate=estimate)
    try:
        assert manager.wait_estimate(training.run_id) is None  # not waiting
        first, second = manager.wait_estimate(bob.run_id), manager.wait_estimate(cat.run_id)
        assert 590 <= first.seconds <= 600 and first.runs_ahead == 1 and first.complete
        assert 1190 <= second.seconds <= 1200 and second.runs_ahead == 2
        assert "About 20 min" in second.describe()
        after_unknown = manager.wait_estimate(eve.run_id)
        assert not after_unknown.complete and "At least 30 min" in after_unknown.describe()
        assert manager.wait_estimate(dan.run_id).complete
    finally:
        gate.set()


def test_waits_are_scaled_by_how_long_the_latest_runs_took_against_their_estimates(tmp_path):
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=4, delay=0.5))  # 2 s a run
    estimate = {"total_seconds": 1.0, "parts": [["start-up", 0.0], ["4 training steps", 1.0]]}
    first = manager.start(RunConfig(), owner="ann", estimate=estimate)
    assert manager.wait(first.run_id, timeout=20).phase == "finished"  # took ~2x its estimate
    manager.start(RunConfig(), owner="bob", estimate=estimate)
    waiting = manager.start(RunConfig(), owner="cat", estimate=estimate)
    wait = manager.wait_estimate(waiting.run_id)
    assert wait.complete and wait.seconds > 1.5  # bob's 1 s estimate, scaled by ~2: not 1 s minus what he trained
    manager.wait(waiting.run_id, timeout=20)
