"""The curve diagnosis on synthetic curves of each pattern, and no false alarm on healthy noisy runs."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from core.diagnosis import diagnose, summarise_run


def curve(values, lr=1e-3, grad=1.0):
    return [
        {"step": i + 1, "loss": v, "learning_rate": lr, "grad_norm": grad, "num_tokens": 100 * (i + 1)}
        for i, v in enumerate(values)
    ]


def healthy(seed: int, n: int = 100) -> list[float]:
    rng = random.Random(seed)
    return [0.8 + 2.2 * math.exp(-i / 12) + rng.gauss(0, 0.08) for i in range(n)]


def test_healthy_noisy_curves_raise_no_alarm():
    statuses = {diagnose(curve(healthy(seed)), total_steps=100).status for seed in range(50)}
    assert statuses == {"healthy"}


def test_too_early():
    assert diagnose(curve([3.0, 2.8, 2.7]), total_steps=100).status == "too_early"
    assert diagnose([], total_steps=100).status == "too_early"


def test_nan_or_zero_loss_is_broken():
    assert diagnose(curve(healthy(0, 20) + [float("nan")])).status == "broken"
    assert diagnose(curve(healthy(0, 20) + [0.0, 0.0, 0.0])).status == "broken"


def test_spikes_are_unstable_and_suggest_a_lower_learning_rate():
    values = healthy(1, 40)
    values[-1] = 9.0
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "unstable"
    assert result.actions[0]["changes"]["learning_rate"] == 5e-4


def test_exploding_grad_norm_is_unstable():
    metrics = curve(healthy(2, 30))
    metrics[-1]["grad_norm"] = 50.0
    assert diagnose(metrics, total_steps=100).status == "unstable"


def test_rising_validation_loss_with_falling_training_loss_is_overfitting():
    evals = [{"step": s, "eval_loss": v} for s, v in zip((20, 40, 60, 80), (1.2, 1.0, 1.1, 1.25), strict=True)]
    result = diagnose(curve(healthy(3, 80)), evals, total_steps=100)
    assert result.status == "overfitting"
    assert "1.000" in result.explanation and "1.250" in result.explanation


def test_extremely_low_training_loss_is_possible_memorisation():
    values = [2.5 * math.exp(-i / 4) + 0.01 for i in range(60)]
    assert diagnose(curve(values), total_steps=60).status == "memorisation"


def test_a_flat_loss_is_underfitting():
    rng = random.Random(4)
    values = [2.5 + rng.gauss(0, 0.05) for _ in range(50)]
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "underfitting"
    assert result.actions[0]["changes"]["learning_rate"] == 2e-3


def test_summary_numbers():
    summary = summarise_run(curve([3.0] * 5 + [1.0] * 5))
    assert (summary["first_loss"], summary["last_loss"], summary["steps"]) == (3.0, 1.0, 10)
    assert round(summary["drop_percent"]) == 67


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["loss", "grad_norm", "learning_rate", "step", "x"]),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        max_size=40,
    ),
    st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),
)
def test_diagnose_never_raises(metrics, total):
    assert diagnose(metrics, metrics, total).status
