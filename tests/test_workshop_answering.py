"""Every submitted model answers the instructor's probe set in the background, never while a run trains."""

from __future__ import annotations

from core.chat import GenerationSettings
from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from core.models.pool import ModelPool
from core.probe_sets import prompts_from_demo
from core.runs.manager import RunManager
from core.workshop.answering import answer_waiting
from core.workshop.arena import ClassArena
from core.workshop.leaderboard import leaderboard_rows
from core.workshop.shared import ClassBoard, instructor_pass
from tests.run_folders import make_adapter

SHORT = GenerationSettings(deterministic=True, max_new_tokens=6)  # the tiny random model never stops by itself


def test_waiting_models_answer_between_trainings_and_again_for_a_new_probe_set(tmp_path, tiny_model_path):
    def train(run) -> None:  # a finished LoRA run of the tiny model, as the trainer leaves it
        run.set_total_steps(1)
        make_adapter(tiny_model_path, run.run_dir / "final", seed=len(run.run_id))
        run.set_result(str(run.run_dir / "final"), "ok")

    manager = RunManager(tmp_path / "runs", trainer=train)
    board, arena = ClassBoard(tmp_path), ClassArena(tmp_path)
    teacher = instructor_pass("t", "t")
    board.publish_dataset(teacher, RunConfig(dataset="json_extraction").to_dict())
    probes = board.publish_probe_set(teacher, prompts_from_demo("json_extraction", 2))
    for person in ("ann", "bob"):
        job = manager.start(RunConfig(model_id=TINY_MODEL_ID), owner=person)
        manager.wait(job.run_id, timeout=30)
        arena.submit(person, job.run_id, manager)
    pool = ModelPool()

    assert answer_waiting(board, arena, pool, busy=lambda: True, settings=SHORT) == 0  # a run trains: nobody asked
    assert len(arena.waiting(probes.version)) == 2
    assert answer_waiting(board, arena, pool, busy=lambda: False, settings=SHORT) == 2
    assert arena.waiting(probes.version) == []
    for entry in arena.entries():
        stored = arena.answers(entry.entry_id)
        assert len(stored["answers"]) == 2 and stored["error"] is None
        assert 0 <= stored["scores"]["field_accuracy"] <= 1  # scored by the demo task's own scorer
    assert all(row[6].endswith("field accuracy") for row in leaderboard_rows(board, arena, viewer="ann"))

    newer = board.publish_probe_set(teacher, prompts_from_demo("json_extraction", 1))
    assert len(arena.waiting(newer.version)) == 2  # a new probe set: every model answers again
