"""A Bradley–Terry rating from pairwise votes, with its uncertainty: the class leaderboard's numbers.

Each model has a strength ``θ``; the chance that a voter prefers model ``i`` to model ``j`` is
``σ(θ_i − θ_j)`` (the logistic function). The strengths are the maximum a posteriori fit: the votes'
log-likelihood plus a Gaussian prior ``θ ~ N(0, prior_sd²)`` on each model, maximised by Newton's method.
The prior is what makes a fit with few votes sensible: a model that won its only vote is not infinitely
strong, and a model nobody voted on stays at the middle with a wide uncertainty. A tie counts as half a win
for each side.

The uncertainty is the standard error from the Fisher information of that same objective (the inverse of
its negative Hessian at the fit), of each strength against the class average (strengths mean something only
against each other): it shrinks roughly as one over the square root of a model's votes.
Ratings are shown on the Elo scale (400 points per factor of ten in the odds, 1000 in the middle), the
scale the LMSYS Chatbot Arena uses for its Bradley–Terry fit, so "+100" reads as it does there.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

ELO_PER_UNIT = 400 / math.log(10)  # Elo points per unit of log-odds
ELO_CENTRE = 1000.0
PRIOR_SD = 2.0  # log-odds: a model a voter prefers 7 times in 8 is about 2 units above the other


@dataclass(frozen=True)
class Vote:
    """One comparison: ``a`` against ``b``, and who won (``"a"``, ``"b"`` or ``"tie"``)."""

    a: Hashable
    b: Hashable
    winner: str

    def __post_init__(self) -> None:
        if self.winner not in ("a", "b", "tie"):
            raise ValueError(f"A vote's winner is 'a', 'b' or 'tie', not {self.winner!r}.")
        if self.a == self.b:
            raise ValueError("A vote compares two different models.")


@dataclass(frozen=True)
class Rating:
    """One model's fitted strength (log-odds) and standard error, its votes, and both on the Elo scale."""

    model: Hashable
    strength: float
    standard_error: float
    votes: int
    wins: float  # ties count half

    @property
    def elo(self) -> float:
        return ELO_CENTRE + ELO_PER_UNIT * self.strength

    @property
    def elo_error(self) -> float:
        """One standard error in Elo points (about 95% of the time the true rating is within 1.96 of these)."""
        return ELO_PER_UNIT * self.standard_error


def fit_bradley_terry(
    models: Sequence[Hashable], votes: Iterable[Vote], prior_sd: float = PRIOR_SD, iterations: int = 100
) -> list[Rating]:
    """The ratings of ``models`` from ``votes``, strongest first (votes naming other models are left out).

    >>> ratings = fit_bradley_terry(["x", "y"], [Vote("x", "y", "a")] * 8 + [Vote("x", "y", "b")] * 2)
    >>> [r.model for r in ratings], round(ratings[0].elo - ratings[1].elo)
    (['x', 'y'], 224)
    """
    import numpy as np

    if prior_sd <= 0:
        raise ValueError(f"The prior's standard deviation must be positive (got {prior_sd}).")
    index = {model: i for i, model in enumerate(dict.fromkeys(models))}
    n = len(index)
    wins = np.zeros((n, n))  # wins[i, j]: how often i was preferred to j (ties half each)
    for vote in votes:
        if vote.a not in index or vote.b not in index:
            continue
        i, j = index[vote.a], index[vote.b]
        share = {"a": 1.0, "b": 0.0, "tie": 0.5}[vote.winner]
        wins[i, j] += share
        wins[j, i] += 1.0 - share
    games = wins + wins.T
    precision = 1.0 / prior_sd**2
    theta = np.zeros(n)
    hessian = -precision * np.eye(n)
    for _ in range(iterations):
        diff = theta[:, None] - theta[None, :]
        p = 1.0 / (1.0 + np.exp(-diff))  # p[i, j]: chance i is preferred to j
        gradient = (wins - games * p).sum(axis=1) - precision * theta
        weight = games * p * (1.0 - p)
        hessian = weight - np.diag(weight.sum(axis=1)) - precision * np.eye(n)
        step = np.linalg.solve(hessian, gradient)
        theta = theta - step
        if np.max(np.abs(step), initial=0.0) < 1e-10:
            break
    # Standard errors: the inverse Fisher information (negative Hessian) of the objective at the fit.
    diff = theta[:, None] - theta[None, :]
    p = 1.0 / (1.0 + np.exp(-diff))
    weight = games * p * (1.0 - p)
    information = np.diag(weight.sum(axis=1)) - weight + precision * np.eye(n)
    covariance = np.linalg.inv(information) if n else information
    # Strengths only mean something against each other: what the votes can pin down is each model against the
    # class average (the average itself is held at 0 by the prior alone), so that is the error reported.
    centre = np.eye(n) - np.full((n, n), 1.0 / n) if n else information
    covariance = centre @ covariance @ centre
    ratings = [
        Rating(
            model=model,
            strength=float(theta[i]),
            standard_error=float(math.sqrt(max(covariance[i, i], 0.0))),
            votes=int(round(games[i].sum())),
            wins=float(wins[i].sum()),
        )
        for model, i in index.items()
    ]
    return sorted(ratings, key=lambda r: r.strength, reverse=True)
