"""The class arena and leaderboard: submit only your own finished run, blind pairs, one vote each, kept on disk."""

from __future__ import annotations

import random
import threading

import pytest

from core.config import RunConfig
from core.probe_sets import prompts_from_text
from core.runs.manager import RunManager
from core.workshop.arena import ClassArena, Matchup, SubmissionError
from core.workshop.leaderboard import leaderboard_csv, leaderboard_rows
from core.workshop.shared import ClassBoard, instructor_pass
from tests.fakes import fake_trainer

PROMPTS = ["Name a colour.", "What is 2+2?"]


def trainer_with_result(eval_loss: float = 1.25):
    """The fake trainer, leaving a result folder and one validation loss as a finished run does."""
    train = fake_trainer(steps=2)

    def run_and_save(run) -> None:
        train(run)
        run.record_eval(2, {"eval_loss": eval_loss})
        (run.run_dir / "final").mkdir()

    return run_and_save


def finished_run(manager: RunManager, owner: str) -> str:
    job = manager.start(RunConfig(), owner=owner)
    assert manager.wait(job.run_id, timeout=20).phase == "finished"
    return job.run_id


@pytest.fixture
def room(tmp_path):
    """A class of three with one finished run each, the probe set published, every model's answers in."""
    manager = RunManager(tmp_path / "runs", trainer=trainer_with_result())
    board, arena = ClassBoard(tmp_path), ClassArena(tmp_path)
    probes = board.publish_probe_set(instructor_pass("t", "t"), prompts_from_text("\n".join(PROMPTS)))
    entries = {}
    for person in ("ann", "bob", "cat"):
        entry = arena.submit(person, finished_run(manager, person), manager)
        arena.save_answers(entry.entry_id, probes.version, [f"{person}'s answer {i}" for i in range(2)], None)
        entries[person] = entry
    return manager, board, arena, probes.version, entries


def test_a_person_submits_only_a_finished_run_of_their_own(tmp_path):
    manager = RunManager(tmp_path / "runs", trainer=trainer_with_result(0.8))
    arena = ClassArena(tmp_path)
    ann_run, bob_run = finished_run(manager, "ann"), finished_run(manager, "bob")
    entry = arena.submit("ann", ann_run, manager)
    assert entry.validation_loss == 0.8 and entry.owned_by("ann") and not entry.owned_by("bob")
    assert "ann" not in (tmp_path / "workshop" / "class" / "entries.json").read_text()  # only the owner's hash
    for forged in (bob_run, str(tmp_path / "runs" / bob_run), f"../{bob_run}", "", "*"):
        with pytest.raises(SubmissionError, match="no run"):
            arena.submit("ann", forged, manager)
    with pytest.raises(SubmissionError, match="already in the class arena"):
        arena.submit("ann", ann_run, manager)
    gate = threading.Event()  # a run held at its first step: not finished
    busy = RunManager(tmp_path / "other-runs", trainer=fake_trainer(steps=2, gate=gate))
    training = busy.start(RunConfig(), owner="ann")
    with pytest.raises(SubmissionError, match="only a finished run"):
        arena.submit("ann", training.run_id, busy)
    gate.set()
    assert [e.run_id for e in ClassArena(tmp_path).submitted_runs("ann")] == [ann_run]  # kept across a restart


def test_the_arena_never_shows_a_person_their_own_model_nor_who_made_the_answers(room):
    _, _, arena, version, entries = room
    for seed in range(20):
        matchup = arena.next_matchup("ann", version, PROMPTS, random.Random(seed))
        assert isinstance(matchup, Matchup)
        assert "ann's" not in matchup.left + matchup.right
        shown = " ".join(str(v) for v in vars(matchup).values())
        for entry in entries.values():  # no id, run or owner of any model in what the page gets
            assert entry.entry_id not in shown and entry.run_id not in shown and entry.owner_hash not in shown
    lonely = ClassArena(arena.folder.parent.parent)
    assert "two models of other people" in lonely.next_matchup("ann", "another version", PROMPTS)


def test_one_vote_per_person_per_pair_and_prompt_and_only_on_the_matchup_they_were_shown(room):
    _, _, arena, version, _ = room
    shown = arena.next_matchup("ann", version, PROMPTS, random.Random(0))
    with pytest.raises(ValueError, match="no pair of answers waiting"):
        arena.vote("bob", shown.token, "a")  # another person's token is nothing to them
    with pytest.raises(ValueError, match="'a', 'b' or 'tie'"):
        arena.vote("ann", shown.token, "both")
    assert arena.vote("ann", shown.token, "a") == "Left"
    with pytest.raises(ValueError, match="no pair of answers waiting"):
        arena.vote("ann", shown.token, "b")  # the same matchup twice
    # ann has one pair of others (bob, cat) and two prompts: two votes, then nothing is left for her
    second = arena.next_matchup("ann", version, PROMPTS, random.Random(1))
    assert isinstance(second, Matchup) and second.prompt != shown.prompt
    arena.vote("ann", second.token, "tie")
    assert "voted on every pair" in arena.next_matchup("ann", version, PROMPTS)
    assert len(ClassArena(arena.folder.parent.parent).votes(version)) == 2  # on disk: a restart keeps them


def test_the_leaderboard_rates_from_votes_marks_your_own_and_exports_runs_for_the_instructor(room):
    _, board, arena, version, entries = room
    rng = random.Random(3)
    for voter in ("ann", "bob", "cat", "dan", "eve"):
        while isinstance(matchup := arena.next_matchup(voter, version, PROMPTS, rng), Matchup):
            # everyone prefers cat's answers, then bob's, then ann's
            rank = {"cat": 3, "bob": 2, "ann": 1}
            left, right = (rank[text.split("'")[0]] for text in (matchup.left, matchup.right))
            arena.vote(voter, matchup.token, "a" if left > right else "b")
    rows = leaderboard_rows(board, arena, viewer="bob")
    assert [row[1].removesuffix(" (yours)") for row in rows] == [entries[p].codename for p in ("cat", "bob", "ann")]
    assert [row[1].endswith("(yours)") for row in rows] == [False, True, False]
    assert rows[0][2] > rows[1][2] > rows[2][2] and all(row[3] > 0 for row in rows)  # rating and its ± interval
    assert rows[0][7] == "1.250"  # the run's last validation loss
    exported = leaderboard_csv(board, arena)
    assert (
        exported.splitlines()[0].startswith("Rank,Model,Rating") and entries["cat"].run_id in exported.splitlines()[1]
    )
    assert "yours" not in exported
