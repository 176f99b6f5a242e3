"""Upload folders and clean-up: safe names, one folder per person, age and quota limits, folders in use kept."""

from __future__ import annotations

import os
import threading
import time

import pytest

from core.config import RunConfig
from core.data.errors import DataError
from core.owners import EVERYONE
from core.runs.manager import RunManager
from core.storage import (
    CleanupPolicy,
    clean_up,
    clean_up_runs,
    clean_up_uploads,
    owner_folder_name,
    safe_filename,
    save_upload,
    take_removal_notice,
    uploads_root,
)
from tests.fakes import fake_trainer

HOUR = 3600


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("/etc/shadow", "shadow"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        (".bashrc", "bashrc"),
        ("..", "upload"),
        ("", "upload"),
        ("chats.jsonl", "chats.jsonl"),
        ("my chats; rm -rf (1).jsonl", "my_chats_rm_-rf_1_.jsonl"),
    ],
)
def test_upload_names_lose_folders_dots_and_odd_characters(sent, kept):
    assert safe_filename(sent) == kept


def _temp_file(tmp_path, name="chats.jsonl", size=10):
    path = tmp_path / "gradio-temp" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def test_an_upload_is_copied_into_its_owners_folder_under_a_safe_name(tmp_path, data_dir):
    source = _temp_file(tmp_path)
    saved = save_upload(source, "ann-secret-id", name="../../../outside.jsonl")
    assert saved == data_dir / "uploads" / owner_folder_name("ann-secret-id") / "outside.jsonl"
    assert saved.read_bytes() == source.read_bytes()
    assert "ann-secret-id" not in str(saved)  # the owner id is a key to their runs: never in a path
    assert not (data_dir.parent / "outside.jsonl").exists()
    other = save_upload(source, "bob")
    assert other.parent != saved.parent


def test_uploads_without_an_owner_get_a_fresh_folder_each(tmp_path):
    source = _temp_file(tmp_path)
    assert save_upload(source, None).parent != save_upload(source, None).parent


def test_an_upload_over_the_size_limit_is_refused_and_not_copied(tmp_path, monkeypatch):
    monkeypatch.setenv("SFT_COACH_MAX_UPLOAD_MB", "1")
    source = _temp_file(tmp_path, size=2 * 2**20)
    with pytest.raises(DataError, match="SFT_COACH_MAX_UPLOAD_MB"):
        save_upload(source, "ann")
    assert not any(uploads_root().rglob("chats.jsonl"))


def test_a_missing_temp_file_says_to_upload_again(tmp_path):
    with pytest.raises(DataError, match="Upload it again"):
        save_upload(tmp_path / "gone.jsonl", "ann")


def _upload_aged(tmp_path, owner: str, hours: float, size: int = 10, name: str = "chats.jsonl"):
    saved = save_upload(_temp_file(tmp_path, name, size), owner)
    then = time.time() - hours * HOUR
    for path in (saved, saved.parent):
        os.utime(path, (then, then))
    return saved.parent


def test_uploads_past_the_age_limit_are_removed_and_their_owner_is_told_once(tmp_path, capsys):
    old = _upload_aged(tmp_path, "ann", hours=30, name="old chats.jsonl")
    fresh = _upload_aged(tmp_path, "bob", hours=2)
    report = clean_up(None, policy=CleanupPolicy(upload_max_age_hours=24))
    assert not old.exists() and fresh.exists()
    assert "kept for 24 hours" in report.describe()
    assert "kept for 24 hours" in capsys.readouterr().out  # the server log says what went
    notice = take_removal_notice("ann")
    assert "old_chats.jsonl" in notice and "upload it again" in notice
    assert take_removal_notice("ann") is None  # told once
    assert take_removal_notice("bob") is None


def test_over_the_quota_the_oldest_uploads_go_first(tmp_path):
    mb = 2**20
    oldest = _upload_aged(tmp_path, "ann", hours=3, size=mb)
    middle = _upload_aged(tmp_path, "bob", hours=2, size=mb)
    newest = _upload_aged(tmp_path, "cat", hours=1, size=mb)
    report = clean_up_uploads(CleanupPolicy(upload_max_age_hours=24, upload_quota_mb=1.5))
    assert (oldest.exists(), middle.exists(), newest.exists()) == (False, False, True)
    assert report.freed_bytes == 2 * mb
    assert "2000" not in report.describe() and "1.5 MB" in report.describe()


def test_the_uploaders_own_folder_is_never_removed(tmp_path):
    mine = _upload_aged(tmp_path, "ann", hours=48, size=2**20)
    other = _upload_aged(tmp_path, "bob", hours=47, size=2**20)
    clean_up_uploads(CleanupPolicy(upload_max_age_hours=24, upload_quota_mb=0.5), keep_owners=["ann"])
    assert mine.exists() and not other.exists()


def test_an_upload_an_active_run_reads_is_kept_however_old(tmp_path):
    folder = _upload_aged(tmp_path, "ann", hours=48)
    gate = threading.Event()
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1, gate=gate))
    job = manager.start(RunConfig(dataset=str(folder / "chats.jsonl")), owner="ann")
    try:
        clean_up(manager, policy=CleanupPolicy(upload_max_age_hours=24))
        assert folder.exists()
    finally:
        gate.set()
        manager.wait(job.run_id, timeout=10)
    clean_up(manager, policy=CleanupPolicy(upload_max_age_hours=24))
    assert not folder.exists()  # the run ended: now the age limit applies


def test_ended_runs_past_the_run_age_are_removed_and_active_ones_kept(tmp_path):
    gate = threading.Event()
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1, gate=gate))
    finished = manager.start(RunConfig(), owner="tester")
    gate.set()
    manager.wait(finished.run_id, timeout=10)
    gate.clear()
    active = manager.start(RunConfig(), owner="tester")
    later = time.time() + 10 * 86400
    try:
        assert clean_up_runs(CleanupPolicy(run_max_age_days=0), manager, now=later).removed == []  # 0: keep all
        report = clean_up_runs(CleanupPolicy(run_max_age_days=7), manager, now=later)
        assert [j.run_id for j in manager.runs(owner=EVERYONE)] == [active.run_id]
        assert not finished.run_dir.exists() and active.run_dir.exists()
        assert finished.run_id in report.describe()
    finally:
        gate.set()
        manager.wait(active.run_id, timeout=10)


def test_the_policy_reads_the_environment_and_ignores_nonsense(monkeypatch):
    monkeypatch.setenv("SFT_COACH_UPLOAD_MAX_AGE_HOURS", "2")
    monkeypatch.setenv("SFT_COACH_UPLOAD_QUOTA_MB", "oops")
    monkeypatch.setenv("SFT_COACH_RUN_MAX_AGE_DAYS", "30")
    assert CleanupPolicy.from_env() == CleanupPolicy(2, 2000, 30)
