"""Typed paths open only the asking person's own folders and, where local paths are on, the allowed folders."""

from __future__ import annotations

import os

import pytest

from core.config import RunConfig
from core.file_access import (
    PathNotAllowed,
    check_dataset_choice,
    check_model_choice,
    default_local_paths,
    owner_datasets,
    owner_uploads,
    resolve_for,
)
from core.paths import app_secret
from core.runs.manager import RunManager
from tests.fakes import fake_trainer


def _refusal(typed: str, owner: str, data_dir, runs=()) -> str:
    with pytest.raises(PathNotAllowed) as caught:
        resolve_for(typed, owner, data_dir, runs)
    return str(caught.value)


def _upload(data_dir, owner: str, name: str = "chats.jsonl", text: str = '{"text": "hi"}\n'):
    folder = owner_uploads(owner, data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_a_person_opens_their_own_uploads_and_datasets_even_with_local_paths_off(data_dir, monkeypatch):
    monkeypatch.delenv("SFT_COACH_LOCAL_PATHS", raising=False)
    mine = _upload(data_dir, "ann")
    assert resolve_for(str(mine), "ann", data_dir) == mine.resolve()
    converted = owner_datasets("ann", data_dir) / "my-rows-1"
    converted.mkdir(parents=True)
    assert resolve_for(str(converted), "ann", data_dir) == converted.resolve()


@pytest.mark.parametrize("local_paths_on", [False, True])
def test_secrets_system_files_and_other_peoples_files_are_refused(data_dir, tmp_path, monkeypatch, local_paths_on):
    if local_paths_on:
        monkeypatch.setenv("SFT_COACH_LOCAL_PATHS", "1")
        monkeypatch.setenv("SFT_COACH_ALLOWED_FOLDERS", str(tmp_path))  # the data folder lies inside it, too
    else:
        monkeypatch.delenv("SFT_COACH_LOCAL_PATHS", raising=False)
    app_secret()  # writes <data>/.secret
    bobs = _upload(data_dir, "bob", "bobs-notes.jsonl")
    bob_run = data_dir / "runs" / "20261201-bob"
    bob_run.mkdir(parents=True)
    link = owner_uploads("ann", data_dir) / "innocent.jsonl"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(bobs)  # a link inside ann's own folder to bob's file
    hidden = tmp_path / ".ssh" / "id_rsa"
    hidden.parent.mkdir()
    hidden.write_text("PRIVATE KEY")
    attempts = [
        "/etc/passwd",
        str(data_dir / ".secret"),
        str(bobs),
        str(bob_run),
        str(owner_uploads("ann", data_dir) / ".." / owner_uploads("bob", data_dir).name / bobs.name),
        str(link),
        str(hidden),
        "~/../../etc/passwd",
        "",
    ]
    for typed in attempts:
        message = _refusal(typed, "ann", data_dir)
        assert "is not a path you can use here" in message
        assert "root:x" not in message and app_secret() not in message and "PRIVATE KEY" not in message


def test_the_refusal_reads_the_same_whether_the_path_exists_or_not(data_dir, monkeypatch):
    monkeypatch.delenv("SFT_COACH_LOCAL_PATHS", raising=False)
    there = _refusal("/etc/passwd", "ann", data_dir).replace("/etc/passwd", "<path>")
    missing = _refusal("/etc/no-such-file", "ann", data_dir).replace("/etc/no-such-file", "<path>")
    assert there == missing


def test_with_local_paths_on_files_in_the_allowed_folders_open_but_not_hidden_ones(local_paths, data_dir):
    (local_paths / "chats.jsonl").write_text("{}\n")
    (local_paths / "sub").mkdir()
    (local_paths / "sub" / "more.jsonl").write_text("{}\n")
    assert resolve_for(str(local_paths / "sub" / ".." / "chats.jsonl"), "ann", data_dir) == local_paths / "chats.jsonl"
    assert resolve_for(str(local_paths / "sub" / "more.jsonl"), "ann", data_dir).name == "more.jsonl"
    (local_paths / ".env").write_text("TOKEN=x")
    assert "not a path you can use" in _refusal(str(local_paths / ".env"), "ann", data_dir)
    outside = local_paths.parent / "outside.jsonl"
    outside.write_text("{}\n")
    (local_paths / "escape.jsonl").symlink_to(outside)  # a symlink out of the allowed folder
    assert "not a path you can use" in _refusal(str(local_paths / "escape.jsonl"), "ann", data_dir)


def test_local_paths_default_on_only_for_loopback():
    assert default_local_paths("127.0.0.1") == "1" and default_local_paths("0.0.0.0") == "0"


def test_a_model_is_a_known_id_a_hub_id_or_a_folder_the_person_may_open(data_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("SFT_COACH_LOCAL_PATHS", raising=False)
    run = data_dir / "runs" / "20261201-ann"
    (run / "final").mkdir(parents=True)
    assert check_model_choice("HuggingFaceTB/SmolLM2-360M-Instruct", "ann", data_dir) == (
        "HuggingFaceTB/SmolLM2-360M-Instruct"
    )
    assert check_model_choice(str(run / "final"), "ann", data_dir, [run]) == str((run / "final").resolve())
    for typed in (str(run / "final"), "/etc", "../data", "~/models/x"):
        with pytest.raises(PathNotAllowed, match="not a model folder you can use here"):
            check_model_choice(typed, "bob", data_dir)
    # A Hub-shaped id that is also a folder next to the app counts as a path.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org" / "model").mkdir(parents=True)
    with pytest.raises(PathNotAllowed):
        check_model_choice("org/model", "ann", data_dir)
    assert check_dataset_choice("json_extraction", "ann", data_dir, demos=["json_extraction"]) == "json_extraction"


def test_a_run_can_not_be_started_on_another_persons_model_or_data(data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("SFT_COACH_LOCAL_PATHS", raising=False)
    manager = RunManager(tmp_path / "runs", trainer=fake_trainer(steps=1))
    bob_run = manager.start(RunConfig(), owner="bob")
    manager.wait(bob_run.run_id, timeout=10)
    bobs_upload = _upload(data_dir, "bob")
    with pytest.raises(PathNotAllowed, match="model folder"):
        manager.start(RunConfig(model_id=str(bob_run.run_dir / "final")), owner="ann")
    with pytest.raises(PathNotAllowed, match="dataset"):
        manager.start(RunConfig(dataset=str(bobs_upload)), owner="ann")
    with pytest.raises(PathNotAllowed, match="dataset"):
        manager.start(RunConfig(dataset=str(data_dir / ".secret")), owner="ann")
    # bob himself may train on top of his own run and on his own upload
    again = manager.start(RunConfig(model_id=str(bob_run.run_dir), dataset=str(bobs_upload)), owner="bob")
    assert manager.wait(again.run_id, timeout=10).phase == "finished"
    assert os.path.commonpath([again.config.dataset, str(data_dir)]) == str(data_dir.resolve())
