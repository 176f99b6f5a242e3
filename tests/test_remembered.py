"""The page remembers each person's checklist, dataset, settings and step, and only for them.

``core/remembered.py`` keeps them; ``ui/remember.py`` saves and restores them for the person the server
decides (``request_as``: the request as the session middleware leaves it). A second person, or a stored
file naming a folder the person may not open, gets nothing of the first's.
"""

from __future__ import annotations

import json

import gradio as gr
import pytest

from app import STEPS
from core.config import RunConfig
from core.file_access import owner_datasets
from core.models.catalog import TINY_MODEL_ID
from core.remembered import recall, remember_answers, remember_settings, remember_step, remembered_folder
from core.runs.manager import RunManager
from ui.remember import PageMemory

ANN, BOB = "a" * 32, "b" * 32


def _dataset_of(owner: str, data_dir) -> str:
    folder = owner_datasets(owner, data_dir) / "my-rows-1"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text('{"prompt": "hi", "completion": "hello"}\n')
    return str(folder)


@pytest.fixture
def memory(data_dir) -> PageMemory:
    return PageMemory(RunManager(data_dir / "runs", trainer=lambda *a, **k: None), STEPS)


def test_answers_settings_and_step_come_back_for_their_owner(data_dir):
    dataset = _dataset_of(ANN, data_dir)
    remember_answers(ANN, data_dir, {"tried_prompting": "yes", "has_data": "not sure", "nonsense": "yes"})
    remember_settings(ANN, data_dir, RunConfig(dataset=dataset, max_steps=7).to_dict(), 1_234)
    remember_step(ANN, data_dir, "train", STEPS)
    kept = recall(ANN, data_dir, known_steps=STEPS)
    assert kept.answers == {"tried_prompting": "yes", "has_data": "not sure"}
    assert kept.config["dataset"] == dataset and kept.config["max_steps"] == 7
    assert kept.dataset_rows == 1_234 and kept.step == "train" and not kept.notes


def test_a_new_person_starts_blank(data_dir):
    remember_answers(ANN, data_dir, {"tried_prompting": "yes"})
    kept = recall(BOB, data_dir, known_steps=STEPS)
    assert kept.answers == {} and kept.config is None and kept.step is None


def test_another_persons_dataset_in_a_stored_file_is_refused(data_dir):
    """A stored settings file naming someone else's dataset (or /etc) gives back the demo, with a note."""
    theirs = _dataset_of(BOB, data_dir)
    for forged in (theirs, "/etc", str(data_dir / ".secret"), "../../etc/passwd"):
        folder = remembered_folder(ANN, data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        config = {**RunConfig().to_dict(), "dataset": forged}
        (folder / "settings.json").write_text(json.dumps({"config": config, "dataset_rows": 99}))
        kept = recall(ANN, data_dir, known_steps=STEPS)
        assert kept.config["dataset"] == RunConfig().dataset, forged
        assert kept.dataset_rows is None and "no longer there" in kept.notes[0]


def test_a_dataset_cleaned_up_since_gives_back_the_demo(data_dir):
    dataset = _dataset_of(ANN, data_dir)
    remember_settings(ANN, data_dir, RunConfig(dataset=dataset).to_dict(), 50)
    for file in (data_dir / "datasets").rglob("*.jsonl"):
        file.unlink()
    (owner_datasets(ANN, data_dir) / "my-rows-1").rmdir()
    kept = recall(ANN, data_dir, known_steps=STEPS)
    assert kept.config["dataset"] == RunConfig().dataset and kept.dataset_rows is None


def test_broken_or_unknown_stored_values_are_ignored(data_dir):
    folder = remembered_folder(ANN, data_dir)
    folder.mkdir(parents=True)
    (folder / "checklist.json").write_text("{not json")
    (folder / "settings.json").write_text(json.dumps({"config": {"learning_rate": "lots", "root": 1}}))
    (folder / "step.json").write_text(json.dumps({"step": "admin"}))
    kept = recall(ANN, data_dir, known_steps=STEPS)
    assert kept.answers == {} and kept.config is None and kept.step is None and kept.notes


def test_the_page_restores_what_its_person_chose_and_nothing_for_a_stranger(memory, data_dir, request_as):
    ann = request_as(ANN, "ann-page")
    dataset = _dataset_of(ANN, data_dir)
    memory.keep_answers(ann, "Yes", "Not sure", "No", None, "<img src=x>")
    memory.keep_settings(RunConfig(model_id=TINY_MODEL_ID, dataset=dataset).to_dict(), 321, ann)
    memory.step_keeper("train")(ann)

    config, rows, *answers, tabs, _ = memory.restore(request_as(ANN, "ann-reloaded"))
    assert config["dataset"] == dataset and config["model_id"] == TINY_MODEL_ID and rows == 321
    assert answers[:3] == ["Yes", "Not sure", "No"]
    assert all(isinstance(a, type(gr.skip())) for a in answers[3:])  # not answered: the page keeps its own
    assert tabs.selected == "train"

    stranger = memory.restore(request_as(BOB, "bob-page"))
    assert all(isinstance(value, type(gr.skip())) for value in stranger[:-1])  # nothing remembered for them
    assert dataset not in repr(stranger)


def test_settings_the_page_cannot_train_are_not_kept(memory, data_dir, request_as):
    ann = request_as(ANN)
    memory.keep_settings({**RunConfig().to_dict(), "learning_rate": -1}, 5, ann)
    memory.keep_settings({"dataset": "x", "evil": True}, 5, ann)
    assert recall(ANN, data_dir).config is None
