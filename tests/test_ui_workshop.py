"""The workshop's page events, called as the people the server decides: the instructor publishes, nobody else."""

from __future__ import annotations

import random

from core.config import RunConfig
from core.remembered import remember_settings
from core.runs.manager import RunManager
from core.workshop.arena import Matchup
from tests.fakes import fake_trainer
from tests.test_workshop_arena import PROMPTS, finished_run, trainer_with_result
from ui.class_admin import ClassAdmin
from ui.workshop import ClassEvents, class_room, use_class_dataset, use_class_preset


def test_only_the_person_who_unlocked_the_admin_view_publishes(tmp_path, data_dir, request_as):
    admin = ClassAdmin(RunManager(tmp_path / "runs", trainer=fake_trainer()))
    remember_settings("teacher", data_dir, RunConfig(max_steps=7).to_dict(), None)  # what the teacher's page uses
    remember_settings("student", data_dir, RunConfig(max_steps=99).to_dict(), None)
    teacher, student = request_as("teacher"), request_as("student")
    for opener in (None, "", "student-forged", "teacher"):  # the student's page: never unlocked by them
        text = admin.publish_preset(opener, ["max_steps"], "mine", student)
        assert "Only the instructor" in text
    assert class_room()[0].preset() is None
    assert "Shared the preset" in admin.publish_preset("teacher", ["max_steps"], "Class", teacher)
    assert class_room()[0].preset().values["max_steps"] == 7  # the teacher's own settings, not a page's values
    status, export = admin.status("teacher", student)  # the teacher's page state, reused by someone else
    assert "Only the instructor" in status and export.constructor_args.get("visible") is False


def test_a_participant_starts_from_the_shared_items_and_the_lock_holds(tmp_path, data_dir, request_as):
    admin = ClassAdmin(RunManager(tmp_path / "runs", trainer=fake_trainer()))
    remember_settings("teacher", data_dir, RunConfig(dataset="word_problems", learning_rate=5e-4).to_dict(), None)
    teacher, student = request_as("teacher"), request_as("student")
    admin.publish_dataset("teacher", "Maths", teacher)
    admin.publish_preset("teacher", ["learning_rate"], "Class", teacher)
    config, rows, message = use_class_dataset(RunConfig().to_dict(), student)
    assert config["dataset"] == "word_problems" and "You start from your instructor" in message
    names = ["learning_rate", "max_steps"]
    config, message, lr_box, steps_box = use_class_preset(names, RunConfig().to_dict(), student)
    assert config["learning_rate"] == 5e-4
    assert lr_box["interactive"] is False and steps_box["interactive"] is True


def test_the_arena_events_carry_answers_only_never_who_made_them(tmp_path, request_as):
    manager = RunManager(tmp_path / "runs", trainer=trainer_with_result())
    board, arena = class_room()
    from core.probe_sets import prompts_from_text
    from core.workshop.shared import instructor_pass

    probes = board.publish_probe_set(instructor_pass("t", "t"), prompts_from_text("\n".join(PROMPTS)))
    entries = []
    for person in ("ann", "bob", "cat"):
        entry = arena.submit(person, finished_run(manager, person), manager)
        arena.save_answers(entry.entry_id, probes.version, [f"answer {i}" for i in range(2)], None)
        entries.append(entry)
    events = ClassEvents(manager)
    token, prompt, left, right, *buttons = events.next_pair(request_as("ann"))
    shown = f"{token} {prompt} {left} {right}"
    for entry in entries:
        assert entry.entry_id not in shown and entry.run_id not in shown and entry.owner_hash not in shown
    refused = events.vote(token, "a", request_as("bob"))  # bob holds no matchup: ann's token is nothing to him
    assert "no pair of answers waiting" in refused
    assert "Vote kept" in events.vote(token, "a", request_as("ann"))
    rows, _ = events.leaderboard(request_as("ann"))
    assert sum(row[1].endswith("(yours)") for row in rows) == 1 and len(rows) == 3
    assert isinstance(arena.next_matchup("ann", probes.version, PROMPTS, random.Random(0)), Matchup)
