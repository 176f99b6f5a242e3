"""The class leaderboard: a Bradley–Terry rating from the arena's votes, next to probe scores and validation loss.

Everyone sees the same anonymous table (each model by its codename; a person's own models marked "yours");
the instructor's export adds which run each model is. The rating's "±" is 1.96 standard errors (about a
95% interval), so two models whose intervals overlap widely are not told apart by the votes yet.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from core.owners import owner_folder_name
from core.workshop.answering import HEADLINE_SCORE
from core.workshop.arena import ClassArena, Entry
from core.workshop.rating import Vote, fit_bradley_terry
from core.workshop.shared import ClassBoard

COLUMNS = ["Rank", "Model", "Rating", "± (95%)", "Votes", "Won", "Probe score", "Validation loss"]
INSTRUCTOR_COLUMNS = [*COLUMNS, "Run", "Run name"]


@dataclass(frozen=True)
class Standing:
    rank: int
    entry: Entry
    rating: float
    interval: float
    votes: int
    wins: float
    probe_score: float | None
    probe_metric: str | None

    def row(self, viewer: str | None = None) -> list:
        mine = viewer is not None and self.entry.owner_hash == owner_folder_name(viewer)
        score = "—" if self.probe_score is None else f"{self.probe_score:.0%} {self.probe_metric.replace('_', ' ')}"
        loss = "—" if self.entry.validation_loss is None else f"{self.entry.validation_loss:.3f}"
        name = self.entry.codename + (" (yours)" if mine else "")
        return [self.rank, name, round(self.rating), round(self.interval), self.votes, self.wins, score, loss]


def standings(board: ClassBoard, arena: ClassArena) -> list[Standing]:
    """Every submitted model that answered the current probe set, by rating (strongest first)."""
    probes = board.probe_set()
    if probes is None:
        return []
    entries = {e.entry_id: e for e in arena.answered(probes.version) if (arena.answers(e.entry_id) or {})["answers"]}
    votes = [Vote(v["a"], v["b"], v["winner"]) for v in arena.votes(probes.version) if v["a"] != v["b"]]
    table = []
    for rank, rating in enumerate(fit_bradley_terry(list(entries), votes), start=1):
        scores = (arena.answers(rating.model) or {}).get("scores") or {}
        metric = next((m for m in HEADLINE_SCORE.values() if m in scores), None)
        entry = entries[rating.model]
        table.append(
            Standing(
                rank,
                entry,
                rating.elo,
                1.96 * rating.elo_error,
                rating.votes,
                rating.wins,
                scores.get(metric) if metric else None,
                metric,
            )  # fmt: skip
        )
    return table


def leaderboard_rows(board: ClassBoard, arena: ClassArena, viewer: str | None) -> list[list]:
    """The table a participant sees: anonymous, their own models marked."""
    return [standing.row(viewer) for standing in standings(board, arena)]


def leaderboard_csv(board: ClassBoard, arena: ClassArena) -> str:
    """The instructor's export: the table plus each model's run id and name."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(INSTRUCTOR_COLUMNS)
    for standing in standings(board, arena):
        writer.writerow([*standing.row(), standing.entry.run_id, standing.entry.run_name])
    return out.getvalue()
