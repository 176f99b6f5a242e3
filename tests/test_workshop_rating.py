"""The class leaderboard's Bradley–Terry rating on synthetic votes: the known order comes back, the error shrinks."""

from __future__ import annotations

import math
import random

import pytest

from core.workshop.rating import Vote, fit_bradley_terry


def synthetic_votes(strengths: dict[str, float], n: int, seed: int = 0, tie_rate: float = 0.0) -> list[Vote]:
    """``n`` votes between random pairs, each won with the Bradley–Terry chance of the true strengths."""
    rng = random.Random(seed)
    names = list(strengths)
    votes = []
    for _ in range(n):
        a, b = rng.sample(names, 2)
        if rng.random() < tie_rate:
            votes.append(Vote(a, b, "tie"))
            continue
        p = 1 / (1 + math.exp(strengths[b] - strengths[a]))
        votes.append(Vote(a, b, "a" if rng.random() < p else "b"))
    return votes


TRUE = {"best": 1.5, "good": 0.5, "fair": -0.3, "poor": -1.4}


def test_the_known_order_is_recovered_from_enough_votes():
    ratings = fit_bradley_terry(list(TRUE), synthetic_votes(TRUE, 2000, seed=1))
    assert [r.model for r in ratings] == ["best", "good", "fair", "poor"]
    # the fit's differences are close to the true ones (log-odds), within a few standard errors
    fitted = {r.model: r.strength for r in ratings}
    for name in TRUE:
        error = next(r.standard_error for r in ratings if r.model == name)
        assert abs((fitted[name] - fitted["poor"]) - (TRUE[name] - TRUE["poor"])) < 4 * error + 0.05


def test_the_uncertainty_shrinks_as_votes_come_in():
    errors = []
    for n in (20, 80, 320, 1280):
        ratings = fit_bradley_terry(list(TRUE), synthetic_votes(TRUE, n, seed=2))
        errors.append(max(r.standard_error for r in ratings))
    assert errors == sorted(errors, reverse=True), errors
    assert errors[-1] < errors[0] / 3  # about 1/sqrt(n): 64 times the votes, about an eighth of the error


def test_a_model_nobody_voted_on_sits_in_the_middle_with_the_priors_width():
    ratings = fit_bradley_terry(["a", "b", "new"], [Vote("a", "b", "a")] * 10)
    new = next(r for r in ratings if r.model == "new")
    assert new.votes == 0 and new.elo == pytest.approx(1000)
    # its error is the prior's (2 log-odds, against an average it is part of: 2·sqrt(2/3)), wider than the others'
    assert new.standard_error == pytest.approx(2 * math.sqrt(2 / 3), rel=0.01)
    assert all(r.standard_error < new.standard_error for r in ratings if r.model != "new")
    winner = ratings[0]
    assert winner.model == "a" and math.isfinite(winner.elo)  # ten wins and no loss: strong, not infinite


def test_ties_count_half_and_pull_two_models_together():
    ratings = fit_bradley_terry(["x", "y"], [Vote("x", "y", "tie")] * 30)
    assert ratings[0].wins == pytest.approx(15) and abs(ratings[0].elo - ratings[1].elo) < 1e-6


def test_a_vote_must_name_a_winner_and_two_models():
    with pytest.raises(ValueError, match="'a', 'b' or 'tie'"):
        Vote("x", "y", "left")
    with pytest.raises(ValueError, match="two different"):
        Vote("x", "x", "a")
