"""The admin view: absent without a password, shows nothing for a wrong one, and sees and stops everyone's runs."""

from __future__ import annotations

import json
import threading

from core.config import RunConfig
from core.owners import EVERYONE
from core.runs.manager import RunManager
from core.workshop.settings import WorkshopSettings
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
        assert rows[ann][1].startswith("guest-") and rows[bob][1] == "hf:bob"  # private ids as pseudonyms
        assert "ann-private" not in str(view.runs(unlocked)) + str(view.people(unlocked))
        assert (rows[bob][2], rows[bob][3]) == ("queued", "1")
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
        opener, message, _panel, password_box, summary, rows, *_ = view.open_view("s3cret", admin)
        assert opener == "admin-browser-id" and "Admin view open" in message and password_box == ""
        assert f"Training now: {ann}" in summary and ann in {row[0] for row in rows}
        assert view.open_view("guess", stranger)[0] is None  # a wrong password unlocks nothing
        summary, rows, people, _, _, *settings = view.show(opener, stranger)  # the admin's state, sent by another
        assert "password first" in summary and rows == [] and people == [] and settings == [None] * 4
        assert "password first" in view.stop_run(opener, ann, stranger)
        assert manager.get(ann, owner=EVERYONE).phase != "stopping"
        assert "is stopping" in view.stop_run(opener, ann, admin)
    finally:
        gate.set()


def test_the_instructor_sets_the_workshop_and_a_stranger_can_neither_read_nor_change_it(tmp_path, request_as):
    gate = threading.Event()
    manager, ann, bob = _manager_with_two_people(tmp_path, gate)
    view = AdminView(manager, password="s3cret", delay=0)
    admin, stranger = request_as("admin-browser-id"), request_as("stranger-browser-id")
    try:
        opener = view.open_view("s3cret", admin)[0]
        assert view.show(opener, admin)[-4:] == (False, 0.0, 0, 0.0)  # the defaults, shown in the form
        saved = view.save_workshop(opener, True, 20, 100, 8, admin)
        assert "Saved. Workshop mode is on." in saved and "at most 100 steps and 8 min 00 s" in saved
        assert manager.settings() == WorkshopSettings(enabled=True, budget_minutes=20, max_steps=100, max_minutes=8)
        refused = view.save_workshop(opener, True, -5, 100, 8, admin)
        assert "Nothing was saved" in refused and "Training time per participant (minutes)&#x27; = -5" in refused
        for forged in (opener, "admin-browser-id", None):  # the admin's state, their id as a value, nothing
            assert "password first" in view.save_workshop(forged, False, 0, 0, 0, stranger)
            assert view.show(forged, stranger)[-4:] == (None, None, None, None)
            assert view.draw_chart(forged, [ann, bob], 0.6, "step", stranger) is None
            assert "password first" in view.deprioritise_run(forged, bob, stranger)
        assert manager.settings().enabled is True  # unchanged by the stranger
        people = {row[0]: row for row in view.people(True)}
        assert people["hf:bob"][1:3] == ["1", "1"] and people["hf:bob"][4] == "20 min 00 s"  # 1 run, waiting
    finally:
        gate.set()


def test_the_instructor_moves_a_waiting_run_back_and_compares_runs_on_one_chart(tmp_path):
    gate = threading.Event()
    manager, ann, bob = _manager_with_two_people(tmp_path, gate)
    cat = manager.start(RunConfig(), owner="hf:cat").run_id
    view = AdminView(manager, password="s3cret", delay=0)
    try:
        assert manager.queue_order() == [bob, cat]
        assert "moved back: now #2 in line" in view.deprioritise(True, bob)
        assert manager.queue_order() == [cat, bob]
        assert "not waiting" in view.deprioritise(True, ann) and "There is no run" in view.deprioritise(True, "x")
        gate.set()
        for run_id in (ann, bob, cat):
            manager.wait(run_id, timeout=20)
        figure = json.loads(view.chart(True, [ann, cat, "forged-id", None], smoothing=0.0, x_axis="tokens").plot)
        names = [trace["name"] for trace in figure["data"]]
        assert len(names) == 2 and names[0].startswith("guest-") and names[1].startswith("hf:cat · ")
        assert figure["data"][1]["x"] == [100.0, 200.0] and figure["layout"]["xaxis"]["title"]["text"] == "tokens seen"
        labels, active = view.run_choices(True)
        assert {value for _, value in labels} == {ann, bob, cat} and active == []
    finally:
        gate.set()


def test_the_spaces_own_account_opens_the_admin_view_without_the_password(tmp_path, monkeypatch):
    from ui.admin import has_admin_view

    monkeypatch.delenv("SFT_COACH_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("SPACE_AUTHOR_NAME", "teacher")
    monkeypatch.setenv("OAUTH_CLIENT_ID", "abc")
    assert has_admin_view()
    view = AdminView(RunManager(tmp_path / "runs", trainer=fake_trainer()), delay=0)
    assert view.unlock("", session="hf:teacher")[0] is True
    assert view.unlock("", session="hf:student")[0] is False
    assert view.unlock("", session="0f" * 16)[0] is False  # a session id is never an account
    monkeypatch.delenv("OAUTH_CLIENT_ID")  # without login nobody is the Space's account
    assert view.unlock("", session="hf:teacher")[0] is False and not has_admin_view()


def test_the_spaces_owner_finds_the_view_open_on_load_and_can_share_with_the_class(tmp_path, monkeypatch):
    import time
    from types import SimpleNamespace

    import gradio as gr

    from core.paths import data_dir
    from core.remembered import remember_settings
    from core.workshop.shared import ClassBoard
    from ui.class_admin import ClassAdmin
    from ui.identity import SESSION_STATE_KEY

    def signed_in(username: str | None) -> gr.Request:
        login = {"userinfo": {"preferred_username": username}, "expires_at": time.time() + 3600} if username else {}
        scope = {"state": {SESSION_STATE_KEY: "0f" * 16}, "session": {"oauth_info": login} if login else {}}
        return gr.Request(request=SimpleNamespace(scope=scope))

    monkeypatch.delenv("SFT_COACH_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("SPACE_AUTHOR_NAME", "teacher")
    monkeypatch.setenv("OAUTH_CLIENT_ID", "abc")
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer())
    view = AdminView(manager, delay=0)
    opened = view.open_for_owner(signed_in("teacher"))
    assert opened[0] == "hf:teacher" and opened[2].visible is True  # who opened it, and the panel shown
    assert view.open_for_owner(signed_in("student")) is None  # anyone else: nothing opens, nothing is sent
    assert view.open_for_owner(signed_in(None)) is None
    # The owner shares with the class without a password (what the page shares is what their page uses now)
    remember_settings("hf:teacher", data_dir(), RunConfig(max_steps=40).to_dict(), None)
    message = ClassAdmin(manager).publish_preset(None, [], "Owner's preset", signed_in("teacher"))
    assert "Shared the preset" in message, message
    assert "Only the instructor" in ClassAdmin(manager).publish_preset(None, [], "x", signed_in("student"))
    assert ClassBoard(data_dir()).preset().name == "Owner's preset"
