"""The class arena: finished runs submitted to the class, their answers to the probe set, and blind votes.

On disk under the data folder, so everything survives a restart:

    workshop/class/entries.json        each submitted model: its anonymous id, owner (hashed), run, result
    workshop/class/answers/<id>.json   that model's answers to the probe set (and the set's version)
    workshop/class/arena-votes.jsonl   one line per vote: voter (hashed), the two models, the prompt, the winner

A participant submits only a finished run of their own: the run is looked up through the run manager for the
owner the server decided, so a forged run id or folder finds nothing. The arena shows two answers to the same
prompt and nothing else: which models they are stays on the server, in a matchup the voter holds by a random
token. A person never gets a pair that includes a model of theirs, and votes once per pair and prompt.
Owner ids are a key to a person's runs, so only their hash (core/owners.owner_folder_name) is written here.
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.owners import owner_folder_name, require_owner
from core.remembered import read_json, write_json
from core.workshop.shared import WORKSHOP

CLASS = "class"
ENTRIES_FILE = "entries.json"
VOTES_FILE = "arena-votes.jsonl"
ANSWERS = "answers"
CHOICES = ("a", "b", "tie")


class SubmissionError(ValueError):
    """A run that can't be submitted to the class, with the reason in a sentence."""


@dataclass(frozen=True)
class Entry:
    """One model in the class arena. ``entry_id`` is random: it says nothing about the run or the person."""

    entry_id: str
    owner_hash: str
    run_id: str
    run_name: str
    result_dir: str
    validation_loss: float | None
    submitted_at: float

    @property
    def codename(self) -> str:
        """How the leaderboard names the model: anonymous, the same for everyone."""
        return f"Model {self.entry_id[:4].upper()}"

    def owned_by(self, owner: str) -> bool:
        return self.owner_hash == owner_folder_name(owner)


@dataclass(frozen=True)
class Matchup:
    """What a voter sees: a prompt and two answers. The models behind them stay in the arena."""

    token: str
    prompt: str
    left: str
    right: str


def _validation_loss(snapshot) -> float | None:
    """The last validation loss the run logged (None when it logged none)."""
    losses = [m["eval_loss"] for m in (getattr(snapshot, "eval_metrics", None) or []) if "eval_loss" in m]
    return float(losses[-1]) if losses else None


class ClassArena:
    """Submissions, answers and votes of one app's class (``data_root/workshop/class``)."""

    def __init__(self, data_root: str | Path) -> None:
        self.folder = Path(data_root) / WORKSHOP / CLASS
        self._lock = threading.Lock()
        self._matchups: dict[str, tuple[str, str, str, int, str]] = {}  # token -> (voter hash, a, b, prompt, version)

    # -- submissions -----------------------------------------------------------------------------------------
    def entries(self) -> list[Entry]:
        stored = read_json(self.folder / ENTRIES_FILE)
        entries = []
        for item in stored if isinstance(stored, list) else []:
            try:
                entries.append(Entry(**item))
            except TypeError:
                continue
        return entries

    def submit(self, owner: str, run_id: str, manager) -> Entry:
        """Submit ``owner``'s finished run ``run_id`` to the class (found through the manager for that owner)."""
        require_owner(owner)
        from core.runs.names import readable_run_name

        mine = {summary.run_id: summary for summary in manager.summaries(owner=owner)}
        summary = mine.get((run_id or "").strip())
        if summary is None:
            raise SubmissionError(f"There is no run '{run_id or ''}' of yours to submit. Pick one from the list.")
        if summary.phase != "finished" or not summary.result_dir or not Path(summary.result_dir).is_dir():
            raise SubmissionError(f"Run {summary.run_id} is {summary.phase}: only a finished run can be submitted.")
        with self._lock:
            entries = self.entries()
            if any(e.run_id == summary.run_id for e in entries):
                raise SubmissionError(f"Run {summary.run_id} is already in the class arena.")
            snapshot = manager.snapshot(summary.run_id, owner=owner)
            entry = Entry(
                entry_id=secrets.token_hex(8),
                owner_hash=owner_folder_name(owner),
                run_id=summary.run_id,
                run_name=readable_run_name(summary.dataset, summary.model_id, summary.created_at),
                result_dir=summary.result_dir,
                validation_loss=_validation_loss(snapshot),
                submitted_at=time.time(),
            )
            write_json(self.folder / ENTRIES_FILE, [asdict(e) for e in [*entries, entry]])
        return entry

    def submitted_runs(self, owner: str) -> list[Entry]:
        """The entries of ``owner``'s own runs."""
        return [e for e in self.entries() if e.owned_by(owner)]

    # -- answers to the probe set -----------------------------------------------------------------------------
    def answers(self, entry_id: str) -> dict[str, Any] | None:
        """``{"version", "answers", "scores"}`` of an entry, or None before it answered."""
        if not entry_id.isalnum():
            return None
        stored = read_json(self.folder / ANSWERS / f"{entry_id}.json")
        return stored if isinstance(stored, dict) and isinstance(stored.get("answers"), list) else None

    def save_answers(
        self, entry_id: str, version: str, answers: list[str], scores: dict | None, error: str | None = None
    ) -> None:
        """Keep an entry's answers (or, with ``error``, why it could not answer: it is not asked again)."""
        payload = {"version": version, "answers": list(answers), "scores": scores, "error": error, "at": time.time()}
        write_json(self.folder / ANSWERS / f"{entry_id}.json", payload)

    def answered(self, version: str) -> list[Entry]:
        """The entries whose answers are to the probe set ``version``."""
        return [e for e in self.entries() if (self.answers(e.entry_id) or {}).get("version") == version]

    def waiting(self, version: str) -> list[Entry]:
        """The entries still to answer the probe set ``version``, oldest submission first."""
        done = {e.entry_id for e in self.answered(version)}
        return [e for e in self.entries() if e.entry_id not in done]

    # -- votes --------------------------------------------------------------------------------------------------
    def votes(self, version: str | None = None) -> list[dict[str, Any]]:
        """Every vote (of the probe set ``version`` when given), oldest first."""
        path = self.folder / VOTES_FILE
        if not path.exists():
            return []
        votes = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                vote = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if isinstance(vote, dict) and (version is None or vote.get("version") == version):
                votes.append(vote)
        return votes

    def next_matchup(self, owner: str, version: str, prompts: list[str], rng: random.Random | None = None):
        """Two anonymous answers to one prompt for ``owner`` to compare, or a sentence saying why there is none."""
        require_owner(owner)
        rng = rng or random.Random()
        voter = owner_folder_name(owner)
        others = [
            e
            for e in self.answered(version)
            if e.owner_hash != voter and len(self.answers(e.entry_id)["answers"]) == len(prompts)
        ]
        if len(others) < 2:
            return "The arena opens when two models of other people have answered the probe set. Try again soon."
        votes = self.votes(version)
        mine = {(frozenset((v["a"], v["b"])), v["prompt"]) for v in votes if v.get("voter") == voter}
        counts: dict[frozenset, int] = {}
        for v in votes:
            counts[frozenset((v["a"], v["b"]))] = counts.get(frozenset((v["a"], v["b"])), 0) + 1
        open_pairs = []
        for i, a in enumerate(others):
            for b in others[i + 1 :]:
                pair = frozenset((a.entry_id, b.entry_id))
                free = [p for p in range(len(prompts)) if (pair, p) not in mine]
                if free:
                    open_pairs.append((counts.get(pair, 0), rng.random(), a, b, free))
        if not open_pairs:
            return "You have voted on every pair and prompt there is. Thank you! New models may join later."
        _, _, a, b, free = min(open_pairs, key=lambda item: item[:2])  # the pair with the fewest votes first
        if rng.random() < 0.5:
            a, b = b, a
        prompt = rng.choice(free)
        left, right = (self.answers(e.entry_id)["answers"][prompt] for e in (a, b))
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._matchups = {k: v for k, v in self._matchups.items() if v[0] != voter}  # one open matchup each
            self._matchups[token] = (voter, a.entry_id, b.entry_id, prompt, version)
        return Matchup(token, prompts[prompt], left, right)

    def vote(self, owner: str, token: str, choice: str) -> str:
        """Record ``owner``'s vote on the matchup they were shown (``choice``: "a" left, "b" right, "tie")."""
        require_owner(owner)
        if choice not in CHOICES:
            raise ValueError(f"A vote is 'a', 'b' or 'tie', not {choice!r}.")
        voter = owner_folder_name(owner)
        with self._lock:
            held = self._matchups.get(token or "")
            if held is None or held[0] != voter:
                raise ValueError("There is no pair of answers waiting for your vote: press 'Next pair'.")
            del self._matchups[token]
            _, a, b, prompt, version = held
            pair = frozenset((a, b))
            if any(
                v.get("voter") == voter and frozenset((v["a"], v["b"])) == pair and v["prompt"] == prompt
                for v in self.votes(version)
            ):
                raise ValueError("You have already voted on these two answers to this prompt.")
            line = {"voter": voter, "a": a, "b": b, "prompt": prompt, "winner": choice, "version": version}
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / VOTES_FILE).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({**line, "at": time.time()}) + "\n")
        return {"a": "Left", "b": "Right", "tie": "Both equally good"}[choice]
