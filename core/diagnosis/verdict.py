"""The ``Diagnosis`` every rule returns, its statuses, and the learning-rate restart several rules suggest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.sources import cite

SOURCE = cite("llm_course") + " (reading the loss)"
STATUSES = ("too_early", "healthy", "overfitting", "underfitting", "memorisation", "unstable", "broken")


@dataclass(frozen=True)
class Diagnosis:
    """One reading of the curves, for a beginner, with what to do next.

    ``actions`` are machine-readable suggestions the UI can turn into buttons:
    ``{"kind": "stop"}`` (stop now, a checkpoint is saved),
    ``{"kind": "stop_keep_best"}`` (stop and keep the best validation checkpoint),
    ``{"kind": "restart", "changes": {<RunConfig field>: value}}`` (a new run with these settings),
    ``{"kind": "review_data"}`` (look at the rendered training samples and which tokens carry loss),
    ``{"kind": "compare_samples"}`` (look at the answers to held-out prompts).
    """

    status: str
    """One of ``STATUSES``."""
    title: str
    """A short headline in plain language."""
    explanation: str
    """Two or three sentences citing the numbers in the curve that led here."""
    advice: list[str] = field(default_factory=list)
    """Concrete next steps (the team's notes, sft-facts §4)."""
    actions: list[dict[str, Any]] = field(default_factory=list)
    """Suggestions the UI can offer as one-click buttons (see the class docstring)."""
    source: str = SOURCE
    """Where the rule and the advice come from."""


def _round(value: float) -> float:
    """Two significant figures, so a suggested setting reads like one a person would type.

    >>> _round(0.00065432)
    0.00065
    """
    return float(f"{value:.2g}")


def restart_with_learning_rate(rate: float | None, factor: float) -> list[dict[str, Any]]:
    """The restart action with ``rate`` scaled by ``factor``, or none when the rate is unknown."""
    return [{"kind": "restart", "changes": {"learning_rate": _round(rate * factor)}}] if rate else []
