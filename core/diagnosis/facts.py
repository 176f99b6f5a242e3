"""The numbers a run's loss curves come down to, computed once from its logged entries.

The Train step's status card, the diagnosis and the run's summary (the model card) all read one ``LossFacts``,
so the loss they quote "from", the validation loss they show (or "—"), and the step of the next validation point
are the same numbers everywhere. ``run_facts`` builds it for a run: its metrics, and what its settings and its
data say about validation (is there a split, how often it is measured) and about the task (a templated one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.diagnosis.curves import level, peak_learning_rate, points, window_size
from core.diagnosis.thresholds import START_WINDOW

Point = tuple[float, float]


@dataclass(frozen=True)
class RunContext:
    """What a run's settings and data say about its curves, beyond the logged numbers."""

    validation_split: bool | None = None
    """Whether the run holds out validation rows (None: unknown, e.g. a script that passed only metrics)."""
    eval_every: int | None = None
    """Optimizer steps between validation points (``eval_steps``); 0 = never measured."""
    templated: bool = False
    """The rows follow a few fixed patterns (the built-in demos): a loss near 0 is expected, not a warning."""
    task: str | None = None
    """The built-in demo the rows are (core.data.prepare.find_demo), else None."""


@dataclass(frozen=True)
class LossFacts:
    """A run's loss in numbers, each computed one way: what every sentence about the loss quotes."""

    train: tuple[Point, ...]
    """(step, loss) of every logged training loss, in order."""
    evals: tuple[Point, ...]
    """(step, validation loss) of every validation point, in order."""
    grad_norms: tuple[float, ...]
    total_steps: int | None
    """The run's planned optimizer steps, when known."""
    logged_peak_rate: float | None
    """The highest learning rate logged (the peak once warmup is over)."""
    context: RunContext = RunContext()

    @property
    def losses(self) -> list[float]:
        return [v for _, v in self.train]

    @property
    def steps(self) -> list[float]:
        return [s for s, _ in self.train]

    @property
    def steps_done(self) -> int:
        return int(max(self.steps)) if self.train else 0

    @property
    def progress(self) -> float | None:
        """Share of the run's optimizer steps done, or None when its length is unknown."""
        if not self.total_steps or self.total_steps <= 0 or not self.train:
            return None
        return self.steps_done / self.total_steps

    @property
    def first(self) -> Point | None:
        """The first logged training loss: what the card shows it fell "from"."""
        return self.train[0] if self.train else None

    @property
    def latest(self) -> Point | None:
        return self.train[-1] if self.train else None

    @property
    def window(self) -> int:
        """Points in the smoothing window (core/diagnosis/curves.py): a tenth of the run, 10 to 50."""
        return min(len(self.train), window_size(len(self.train)))

    @property
    def start_level(self) -> float | None:
        """Median of the first ``START_WINDOW`` losses: where the loss started, unmoved by one odd batch."""
        return level(self.losses[:START_WINDOW]) if self.train else None

    @property
    def recent_level(self) -> float | None:
        """Median of the last ``window`` losses: the smoothed training loss now."""
        return level(self.losses[-self.window :]) if self.train else None

    @property
    def lowest(self) -> Point | None:
        finite = [p for p in self.train if math.isfinite(p[1])]
        return min(finite, key=lambda p: p[1]) if finite else None

    @property
    def latest_eval(self) -> Point | None:
        return self.evals[-1] if self.evals else None

    @property
    def best_eval(self) -> Point | None:
        finite = [p for p in self.evals if math.isfinite(p[1])]
        return min(finite, key=lambda p: p[1]) if finite else None

    @property
    def validation_planned(self) -> bool:
        """Whether validation points will come: a split is held out (or known to be) and measuring is on."""
        return self.context.validation_split is not False and self.context.eval_every != 0

    @property
    def next_eval_step(self) -> int | None:
        """The step of the next validation point, when it is known and still to come in this run."""
        every = self.context.eval_every
        if not every or not self.validation_planned:
            return None
        done = int(self.latest_eval[0]) if self.evals else 0
        step = (done // every + 1) * every
        return step if not self.total_steps or step <= self.total_steps else None

    def train_level_at(self, step: float) -> float | None:
        """The smoothed training loss as of ``step``: median of the last ``window`` losses logged up to it."""
        before = [v for s, v in self.train if s <= step][-self.window :]
        return level(before) if before else None

    def peak_rate(self, configured: float | None) -> float | None:
        """The configured peak learning rate when there is one, else the highest logged."""
        if configured and configured > 0 and math.isfinite(configured):
            return configured
        return self.logged_peak_rate


def loss_facts(
    metrics: list[dict[str, Any]] | None,
    eval_metrics: list[dict[str, Any]] | None = None,
    total_steps: int | None = None,
    context: RunContext | None = None,
) -> LossFacts:
    """The facts of logged entries (``loss`` / ``eval_loss`` / ``grad_norm`` with their ``step``).

    >>> facts = loss_facts([{"step": s, "loss": 2.0 / s} for s in range(1, 11)], [{"step": 5, "eval_loss": 0.5}])
    >>> facts.first, facts.latest, facts.latest_eval, round(facts.recent_level, 3)
    ((1.0, 2.0), (10.0, 0.2), (5.0, 0.5), 0.367)
    """
    return LossFacts(
        train=tuple(points(metrics, "loss")),
        evals=tuple(points(eval_metrics, "eval_loss")),
        grad_norms=tuple(v for _, v in points(metrics, "grad_norm")),
        total_steps=total_steps if total_steps and total_steps > 0 else None,
        logged_peak_rate=peak_learning_rate(metrics or [], None),
        context=context or RunContext(),
    )


def run_facts(snapshot) -> LossFacts:
    """The facts of a run (a ``RunSnapshot``): its metrics, with what its settings and data say (``RunContext``)."""
    config = snapshot.config or {}
    return loss_facts(snapshot.metrics, snapshot.eval_metrics, snapshot.total_steps or None, run_context(config))


def run_context(config: dict[str, Any]) -> RunContext:
    """What a run's settings say: how often validation is measured, and (from its data) a split and a task."""
    eval_every = config.get("eval_steps")
    eval_every = int(eval_every) if isinstance(eval_every, int | float) and not isinstance(eval_every, bool) else None
    split, task = _dataset_traits(str(config.get("dataset") or ""), _modified(config.get("dataset")))
    return RunContext(validation_split=split, eval_every=eval_every, templated=_is_templated(task), task=task)


def _is_templated(task: str | None) -> bool:
    from core.demo_data import DEMO_DATASETS

    demo = DEMO_DATASETS.get(task or "")
    return bool(demo and demo.templated)


def _modified(dataset: Any) -> float:
    """When the dataset's files last changed (0 for a demo name or a missing path): the cache key's freshness."""
    try:
        path = Path(str(dataset)).expanduser()
        files = [path / "train.jsonl", path / "test.jsonl"] if path.is_dir() else [path]
        return max((f.stat().st_mtime for f in files if f.exists()), default=0.0)
    except (OSError, ValueError):
        return 0.0


@lru_cache(maxsize=64)
def _dataset_traits(dataset: str, modified: float) -> tuple[bool | None, str | None]:
    """(whether training holds out validation rows, the built-in demo the rows are), read as the trainer reads them.

    Cached per dataset and modification time: the Train step asks once a second while a run trains.
    """
    from core.data.prepare import DataError, prepare_training_data

    if not dataset:
        return None, None
    try:
        prepared = prepare_training_data(dataset, num_probes=0)
    except (DataError, OSError, ValueError):
        return None, None  # moved or unreadable since training started: unknown, and said no more precisely
    return bool(prepared.eval_rows), prepared.demo
