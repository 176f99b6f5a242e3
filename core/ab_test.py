"""Side by side and blind A/B: two models answer the same prompt with the very same settings and seed.

Side by side shows which model said what. A blind round hides it: the two
answers are shown as A and B in an order drawn at random (a fair coin per
round), the user votes A, B, tie or both bad, and the vote is appended to
the run's ``votes.jsonl`` with which model was behind each letter, so the
tally survives a restart and goes into the model card.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.chat import GenerationSettings, chat_once, generation_kwargs, stream_chat
from core.runs.store import RunFolder

VOTES = ("A", "B", "tie", "both_bad")


# -- side by side ----------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """Two models' answers to one conversation, and exactly how each was generated."""

    ref_a: str
    ref_b: str
    answer_a: str
    answer_b: str
    settings: GenerationSettings
    """The settings both sides used; its seed is fixed even when the caller asked for a new one."""
    used_a: dict[str, Any] = field(default_factory=dict)
    """The arguments ``generate`` got for side A (settings, seed, token ids)."""
    used_b: dict[str, Any] = field(default_factory=dict)


def _with_fixed_seed(settings: GenerationSettings | None) -> GenerationSettings:
    """Draw one seed for both sides when none is given, so they never sample with different seeds."""
    settings = settings or GenerationSettings()
    return settings if settings.seed is not None else settings.with_seed(secrets.randbelow(2**31))


def _record(loaded, settings: GenerationSettings) -> dict[str, Any]:
    used = dict(generation_kwargs(loaded.model, loaded.tokenizer, settings))
    used.update(seed=settings.seed, system_prompt=settings.system_prompt, thinking=settings.thinking)
    return used


def compare(
    pool, ref_a: str, ref_b: str, messages: list[dict], settings: GenerationSettings | None = None
) -> Comparison:
    """Both models' whole answers to ``messages``, generated one after the other with identical settings."""
    settings = _with_fixed_seed(settings)
    answers, used = [], []
    for ref in (ref_a, ref_b):
        with pool.use(ref) as loaded:
            answers.append(chat_once(loaded.model, loaded.tokenizer, messages, settings))
            used.append(_record(loaded, settings))
    return Comparison(ref_a, ref_b, answers[0], answers[1], settings, used[0], used[1])


def stream_compare(
    pool,
    ref_a: str,
    ref_b: str,
    messages: list[dict],
    settings: GenerationSettings | None = None,
    stop_event: threading.Event | None = None,
) -> Iterator[tuple[str, str]]:
    """Yield ``(answer_a_so_far, answer_b_so_far)``: A streams first, then B (one model computes at a time).

    Running them one after the other keeps both answers as fast as possible
    on a small machine and lets two refs share one loaded base model.
    """
    settings = _with_fixed_seed(settings)
    answer_a = ""
    with pool.use(ref_a) as loaded:
        for answer_a in stream_chat(loaded.model, loaded.tokenizer, messages, settings, stop_event):
            yield answer_a, ""
    if stop_event is not None and stop_event.is_set():
        return
    with pool.use(ref_b) as loaded:
        for answer_b in stream_chat(loaded.model, loaded.tokenizer, messages, settings, stop_event):
            yield answer_a, answer_b


# -- blind rounds ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ABRound:
    """One blind round: which model is shown as A and which as B. Plain data, safe to keep in page state."""

    round_id: str
    prompt: str
    model_a: str
    model_b: str

    def model_for(self, letter: str) -> str:
        return self.model_a if letter == "A" else self.model_b


def new_round(prompt: str, ref_1: str, ref_2: str, rng: random.Random | None = None) -> ABRound:
    """Start a blind round: a fair coin decides whether ``ref_1`` is shown as A or as B.

    ``rng`` is for tests; by default the coin comes from the operating
    system, so the order can't be guessed from earlier rounds.
    """
    if not prompt.strip():
        raise ValueError("Type a prompt for both models to answer first.")
    if ref_1 == ref_2:
        raise ValueError("Pick two different models for a blind test; with one model on both sides nothing differs.")
    coin = (rng or random.SystemRandom()).random() < 0.5
    model_a, model_b = (ref_1, ref_2) if coin else (ref_2, ref_1)
    return ABRound(secrets.token_hex(8), prompt, model_a, model_b)


_vote_lock = threading.Lock()  # one vote per round: the check and the append happen together


def record_vote(run_dir: str | Path, round_: ABRound, vote: str, answers: tuple[str, str] | None = None) -> dict:
    """Save a vote on a blind round with the run (it survives restarts); returns the saved entry.

    ``vote`` is 'A', 'B', 'tie' or 'both_bad'. Each round takes one vote.
    """
    if vote not in VOTES:
        raise ValueError(f"'{vote}' is not a vote: use one of {', '.join(VOTES)}.")
    run = RunFolder(run_dir)
    if not run.path.is_dir():
        raise ValueError(f"There is no run folder at {run_dir}, so the vote can't be saved with the run.")
    entry = {
        "round_id": round_.round_id,
        "time": time.time(),
        "prompt": round_.prompt,
        "model_a": round_.model_a,
        "model_b": round_.model_b,
        "vote": vote,
        "winner": round_.model_for(vote) if vote in ("A", "B") else None,
    }
    if answers is not None:
        entry["answer_a"], entry["answer_b"] = answers
    with _vote_lock:
        if any(row.get("round_id") == round_.round_id for row in run.read_votes().rows):
            raise ValueError("This round already has a vote. Start a new round to vote again.")
        run.append_vote(entry)
    return entry


@dataclass
class ABTally:
    """What the votes of a run add up to."""

    rounds: int = 0
    wins: dict[str, int] = field(default_factory=dict)
    """Rounds each model won, by model ref."""
    ties: int = 0
    both_bad: int = 0
    skipped_lines: int = 0
    """Damaged vote lines that were not counted."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "wins": dict(self.wins),
            "ties": self.ties,
            "both_bad": self.both_bad,
            "skipped_lines": self.skipped_lines,
        }

    def summary(self, names: dict[str, str] | None = None) -> str:
        """One sentence for the page and the model card, naming models by ``names`` (ref -> label) if given."""
        if not self.rounds:
            return "No blind A/B votes yet."
        names = names or {}
        ranked = sorted(self.wins.items(), key=lambda item: -item[1])
        won = ", ".join(f"{names.get(ref, ref)} won {count}" for ref, count in ranked) or "no model won a round"
        return f"{self.rounds} blind round(s): {won}; {self.ties} tie(s), {self.both_bad} with both answers bad."


def tally(run_dir: str | Path) -> ABTally:
    """Count a run's blind votes per model (kept with the run; survives restarts)."""
    lines = RunFolder(run_dir).read_votes()
    result = ABTally(skipped_lines=lines.skipped)
    for row in lines.rows:
        vote = row.get("vote")
        if vote not in VOTES:
            result.skipped_lines += 1
            continue
        result.rounds += 1
        for ref in (row.get("model_a"), row.get("model_b")):
            result.wins.setdefault(str(ref), 0)
        if vote == "tie":
            result.ties += 1
        elif vote == "both_bad":
            result.both_bad += 1
        else:
            winner = str(row["model_a"] if vote == "A" else row["model_b"])
            result.wins[winner] += 1
    return result
