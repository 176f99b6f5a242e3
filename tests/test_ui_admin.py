"""The admin view: absent without a password, shows nothing for a wrong one, and sees and stops everyone's runs."""

from __future__ import annotations

import threading

from core.config import RunConfig
from core.owners import EVERYONE
from core.runs.manager import RunManager
from tests.fakes import fake_trainer
from ui.admin import AdminView, PasswordGate, admin_password


def _manager_with_two_people(tmp_path, gate: threading.Event) -> tuple[RunManager, str, str]:
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=2, gate=gate))
    ann = manager.start(RunConfig(), owner="ann-private-browser-id")
    bob = manager.start(RunConfig(), owner="hf:bob")
    return manager, ann.run_id, bob.run_id


def test_no_password_set_means_no_admin_view_and_nothing_unlocks(tmp_path, monkeypatch):
    monkeypatch.delenv("SFT_COACH_ADMIN_PASSWORD", raising=False)
    assert admin_password() == ""
    view = AdminView(RunManager(tmp_path / "runs", trainer=fake_trainer()), delay=0)
    assert view.unlock("")[0] is False  # an empty guess must not match an empty password


def test_the_app_has_an_admin_tab_only_when_a_password_is_set(monkeypatch):
    from app import create_app

    def has_admin_tab() -> bool:
        return any(getattr(b, "elem_id", None) == "admin-password" for b in create_app().blocks.values())

    monkeypatch.delenv("SFT_COACH_ADMIN_PASSWORD", raising=False)
    assert not has_admin_tab()
    monkeypatch.setenv("SFT_COACH_ADMIN_PASSWORD", "s3cret")
    assert has_admin_tab()


def test_a_wrong_password_is_refused_and_shows_no_runs(tmp_path):
    gate = threading.Event()
    manager, ann, bob = _manager_with_two_people(tmp_path, gate)
    view = AdminView(manager, password="s3cret", delay=0)
    try:
        unlocked, message = view.unlock("guess")
        assert unlocked is False and "Wrong admin password" in message
        assert view.runs(unlocked) == []
        assert "password first" in view.summary(unlocked)
        assert "password first" in view.stop(unlocked, ann)
        assert manager.get(ann, owner=EVERYONE).phase != "stopping"
    finally:
        gate.set()


def test_guessing_is_locked_after_several_wrong_tries():
    gate = PasswordGate("s3cret", delay=0, max_failures=3, window=60)
    for _ in range(3):
        assert "Wrong" in gate.refusal("guess")
    assert "Too many wrong passwords" in gate.refusal("s3cret")  # even the right one waits out the lock


def test_a_strangers_guesses_never_lock_the_admin_out():
    gate = PasswordGate("s3cret", delay=0, max_failures=3, window=60, address_failures=10, address_window=600)
    for _ in range(3):
        assert "Wrong" in gate.refusal("guess", session="stranger", address="203.0.113.7")
    assert "Too many" in gate.refusal("s3cret", session="stranger", address="203.0.113.7")
    assert gate.refusal("s3cret", session="admin", address="198.51.100.2") is None  # another person, elsewhere


def test_a_guesser_who_changes_session_is_still_locked_by_address():
    gate = PasswordGate("s3cret", delay=0, max_failures=3, window=60, address_failures=5, address_window=600)
    for attempt in range(5):  # a fresh session (cookie dropped) for every guess
        assert "Wrong" in gate.refusal("guess", session=f"new-{attempt}", address="203.0.113.7")
    assert "Too many" in gate.refusal("s3cret", session="yet-another", address="203.0.113.7")
    assert gate.refusal("s3cret", session="admin", address="198.51.100.2") is None


def test_the_address_is_the_nearest_proxys_entry_not_what_the_client_wrote(request_as):
    from ui.identity import client_address

    request = request_as("ann")
    request.kwargs["headers"] = {"x-forwarded-for": "1.2.3.4, 203.0.113.7"}  # the client wrote 1.2.3.4 itself
    assert client_address(request) == "203.0.113.7"


def test_the_right_password_shows_every_owners_runs_and_stops_any(tmp_path, data_dir):
    gate = threading.Event()
    manager, ann, bob = _manager_with_two_people(tmp_path, gate)
    view = AdminView(manager, password="s3cret", root=data_dir, delay=0)
    try:
        unlocked, _ = view.unlock("s3cret")
        assert unlocked is True
        rows = {row[0]: row for row in view.runs(unlocked)}
        assert set(rows) == {ann, bob}
        assert rows[ann][1] == "ann-pr…" and rows[bob][1] == "hf:bob"  # private ids shortened, accounts in full
        assert rows[bob][2] == "queued (#1 in line)"
        summary = view.summary(unlocked)
        assert f"Training now: {ann}" in summary and f"1. {bob} (hf:bob)" in summary and "runs " in summary
        assert "is stopping or was cancelled" in view.stop(unlocked, bob)
        assert manager.get(bob, owner=EVERYONE).phase == "cancelled"
        view.stop(unlocked, ann)
        gate.set()
        assert manager.wait(ann, timeout=10).phase == "stopped"
        assert "nothing to stop" in view.stop(unlocked, ann)
        assert "There is no run" in view.stop(unlocked, "nope")
    finally:
        gate.set()


def test_the_page_unlocked_by_the_admin_shows_nothing_to_anyone_else(tmp_path, data_dir, request_as):
    gate = threading.Event()
    manager, ann, _ = _manager_with_two_people(tmp_path, gate)
    view = AdminView(manager, password="s3cret", root=data_dir, delay=0)
    admin, stranger = request_as("admin-browser-id"), request_as("stranger-browser-id")
    try:
        opener, message, _panel, password_box, summary, rows, _target = view.open_view("s3cret", admin)
        assert opener == "admin-browser-id" and "Admin view open" in message and password_box == ""
        assert f"Training now: {ann}" in summary and ann in {row[0] for row in rows}
        assert view.open_view("guess", stranger)[0] is None  # a wrong password unlocks nothing
        summary, rows, _ = view.show(opener, stranger)  # the admin's page state, sent by someone else
        assert "password first" in summary and rows == []
        assert "password first" in view.stop_run(opener, ann, stranger)
        assert manager.get(ann, owner=EVERYONE).phase != "stopping"
        assert "is stopping" in view.stop_run(opener, ann, admin)
    finally:
        gate.set()
