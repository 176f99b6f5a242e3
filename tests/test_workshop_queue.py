"""The waiting line in workshop mode: turns by person, the instructor's push back, honest waits."""

from __future__ import annotations

import threading
import time

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


def _hanging_trainer(hold: threading.Event):
    """A trainer whose run trains until ``hold`` is set: the run that was training when the app died."""

    def train(run) -> None:
        run.set_total_steps(10)
        run.set_phase("training", "Training.")
        hold.wait(60)

    return train


def test_a_restart_keeps_the_waiting_runs_in_their_place_with_the_instructors_push_back(tmp_path):
    hold = threading.Event()
    before = RunManager(tmp_path / "runs", trainer=_hanging_trainer(hold))
    before.save_settings(WorkshopSettings(enabled=True, max_steps=20), owner=EVERYONE)
    estimate = {"total_seconds": 600.0, "parts": [["start-up", 60.0], ["500 training steps", 540.0]]}
    names = {before.start(RunConfig(max_steps=500), owner="ann", estimate=estimate).run_id: "ann-0"}
    for who, count in (("ann", 2), ("bob", 2), ("cat", 1)):
        for n in range(1, count + 1):
            names[before.start(RunConfig(max_steps=500), owner=who, estimate=estimate).run_id] = f"{who}-{n}"
    ids = {name: run_id for run_id, name in names.items()}
    assert before.deprioritise(ids["bob-1"], owner=EVERYONE)
    line = [names[r] for r in before.queue_order()]
    assert line == ["bob-2", "cat-1", "ann-1", "ann-2", "bob-1"]  # bob-1 pushed behind everyone
    capped = 60.0 + 540.0 * 20 / 500  # the estimate, at the instructor's 20 steps
    for place, run_id in enumerate(before.queue_order(), 1):
        assert abs(before.wait_estimate(run_id).seconds - capped * place) < 5
    notice = before.start_notice(ids["cat-1"], owner=EVERYONE)
    assert "at most 20" in notice
    before._start_next_locked = lambda: None  # the process dies here: it starts nothing more

    gate = threading.Event()
    after = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1, gate=gate), workshop=before.workshop)
    try:
        assert after.get(ids["ann-0"], owner=EVERYONE).phase == "interrupted"  # it was training: resumable
        assert after.get(ids["bob-2"], owner=EVERYONE).phase in ("preparing", "training")  # first in line: it starts
        assert [names[r] for r in after.queue_order()] == line[1:]
        assert after.start_notice(ids["cat-1"], owner=EVERYONE) == notice
        for place, run_id in enumerate(after.queue_order(), 1):  # the capped estimates were kept: each wait is known
            wait = after.wait_estimate(run_id)
            assert wait.complete and wait.runs_ahead == place and abs(wait.seconds - capped * place) < 5
    finally:
        gate.set()
    for name in line:
        assert after.wait(ids[name], timeout=30).phase == "finished"
    started = sorted(line, key=lambda name: after.get(ids[name], owner=EVERYONE).started_at)
    assert started == line
    hold.set()


def test_a_restart_without_a_saved_line_still_starts_the_waiting_runs_in_the_order_they_came(tmp_path):
    hold = threading.Event()
    before = RunManager(tmp_path / "runs", trainer=_hanging_trainer(hold))
    first = before.start(RunConfig(), owner="ann")
    waiting = [before.start(RunConfig(), owner=who).run_id for who in ("bob", "cat")]
    before._start_next_locked = lambda: None
    (tmp_path / "runs" / "line.json").write_text("{damaged")
    gate = threading.Event()
    after = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1, gate=gate), workshop=before.workshop)
    gate.set()
    assert after.get(first.run_id, owner=EVERYONE).phase == "interrupted"
    assert [after.wait(run_id, timeout=30).phase for run_id in waiting] == ["finished", "finished"]
    assert after.get(waiting[0], owner=EVERYONE).started_at <= after.get(waiting[1], owner=EVERYONE).started_at
    hold.set()


def test_a_time_limited_run_ahead_bounds_the_wait_even_past_its_estimate(tmp_path):
    gate = threading.Event()
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=200, delay=0.05, gate=gate))
    manager.save_settings(WorkshopSettings(enabled=True, max_minutes=0.5), owner=EVERYONE)  # 30 s a run
    short = {"total_seconds": 2.0, "parts": [["start-up", 1.0], ["200 training steps", 1.0]]}
    ann = manager.start(RunConfig(max_steps=200), owner="ann", estimate=short)
    bob = manager.start(RunConfig(max_steps=200), owner="bob", estimate=short)
    try:
        gate.set()
        deadline = time.time() + 10
        while manager.get(ann.run_id, owner=EVERYONE).step < 3 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(2.5)  # ann has run past her 2 s estimate: only the 30 s limit says when she ends
        wait = manager.wait_estimate(bob.run_id)
        assert wait.complete, "the limit is a promise: the wait is 'about', not 'at least'"
        assert 20 <= wait.seconds <= 30
    finally:
        manager.stop(ann.run_id, owner=EVERYONE)
        manager.stop(bob.run_id, owner=EVERYONE)
        manager.wait(ann.run_id, timeout=30)
