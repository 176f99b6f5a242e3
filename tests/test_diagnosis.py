"""The curve diagnosis: each pattern on synthetic noisy curves, no false alarm on healthy ones, odd input."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import RunConfig
from core.diagnosis import diagnose, diagnose_facts
from core.diagnosis.facts import RunContext, loss_facts
from core.diagnosis.thresholds import MEMORISATION_LOSS
from core.diagnosis.verdict import STATUSES

# Two real runs from this app (SmolLM2-135M-Instruct, LoRA, batch 4, lr 1e-3, 60 steps, JSON extraction demo).
SMOLLM2_FIRST_40_STEPS = [
    2.262, 2.268, 2.201, 1.947, 1.646, 1.653, 1.353, 1.287, 1.102, 0.91, 1.086, 0.965, 0.893, 0.821, 0.742, 0.851,
    0.772, 0.798, 0.708, 0.788, 0.763, 0.752, 0.694, 0.646, 0.765, 0.702, 0.683, 0.668, 0.645, 0.7, 0.638, 0.706,
    0.501, 0.566, 0.525, 0.622, 0.539, 0.483, 0.435, 0.538,
]  # fmt: skip
# The tiny randomly initialised test model: it starts at ln(vocab) ~ 10.8 and can barely learn.
TINY_RANDOM_MODEL_60_STEPS = [
    10.791, 10.805, 10.784, 10.778, 10.757, 10.732, 10.715, 10.683, 10.683, 10.641, 10.648, 10.615, 10.605, 10.608,
    10.574, 10.585, 10.582, 10.572, 10.55, 10.565, 10.555, 10.552, 10.531, 10.526, 10.525, 10.515, 10.52, 10.5,
    10.503, 10.488, 10.483, 10.471, 10.472, 10.479, 10.473, 10.451, 10.469, 10.442, 10.45, 10.437, 10.45, 10.426,
    10.446, 10.421, 10.408, 10.411, 10.426, 10.385, 10.406, 10.414, 10.398, 10.403, 10.421, 10.404, 10.42, 10.426,
    10.417, 10.42, 10.42, 10.401,
]  # fmt: skip


def curve(values, lr: float = 1e-3, grads=None, every: int = 1) -> list[dict]:
    """Metric entries as the run manager records them."""
    grads = [0.5] * len(values) if grads is None else grads
    return [
        {"step": (i + 1) * every, "time": float(i), "loss": float(v), "learning_rate": lr, "grad_norm": float(g),
         "num_tokens": 400.0 * (i + 1), "epoch": i / len(values)}
        for i, (v, g) in enumerate(zip(values, grads, strict=True))
    ]  # fmt: skip


def level(n: int, start: float = 3.0, end: float = 0.8, speed: float = 0.12) -> np.ndarray:
    """Sharp initial drop, then a gradual plateau at ``end`` (sft-facts §4's healthy shape)."""
    return end + (start - end) * np.exp(-np.arange(n) / (speed * n))


def noisy(clean: np.ndarray, seed: int, noise: float = 0.12) -> list[float]:
    """Batch-4 style noise: multiplicative (10-15% per step), plus an occasional harder batch."""
    rng = np.random.default_rng(seed)
    values = clean * np.exp(rng.normal(0, noise, len(clean)))
    hard = rng.random(len(clean)) < 0.02
    values[hard] *= rng.uniform(1.2, 1.8, hard.sum())
    return values.tolist()


def noisy_grads(n: int, seed: int) -> list[float]:
    return (0.5 * np.exp(np.random.default_rng(seed + 1).normal(0, 0.4, n))).tolist()


def evals(clean: np.ndarray, every: int, seed: int, gap: float = 0.08, rising: float = 0.0) -> list[dict]:
    """A validation loss every ``every`` steps: the train level plus a small gap, with 0.5% jitter."""
    rng = np.random.default_rng(seed + 2)
    out = []
    for k in range(every, len(clean) + 1, every):
        value = (clean[k - 1] + gap) * np.exp(rng.normal(0, 0.005)) + rising * max(0, k - len(clean) / 2)
        out.append({"step": k, "time": float(k), "eval_loss": float(value), "eval_runtime": 1.0})
    return out


def validation_at(steps, values) -> list[dict]:
    return [{"step": s, "eval_loss": v} for s, v in zip(steps, values, strict=True)]


# ---------------------------------------------------------------- healthy, and no false alarms


@pytest.mark.parametrize("n", [60, 300, 2000])
def test_healthy_noisy_curves_raise_no_alarm_across_50_seeds(n):
    clean = level(n)
    statuses = {
        diagnose(curve(noisy(clean, seed), grads=noisy_grads(n, seed)), evals(clean, n // 5, seed), n).status
        for seed in range(50)
    }
    assert statuses == {"healthy"}


def test_healthy_with_sparse_logging_and_warmup_raises_no_alarm():
    """logging_steps=10 and a flat warmup start: progress is read from the step numbers."""
    n = 100
    clean = np.concatenate([np.full(10, 3.0), level(n - 10)])
    for seed in range(50):
        result = diagnose(curve(noisy(clean, seed), every=10), total_steps=10 * n)
        assert result.status == "healthy", result.explanation


def test_a_real_smollm2_run_is_healthy_and_says_why_in_numbers():
    result = diagnose(curve(SMOLLM2_FIRST_40_STEPS), [{"step": 20, "eval_loss": 0.743}], total_steps=60)
    assert result.status == "healthy"
    assert "fell from 2.262 at step 1" in result.explanation  # the first logged loss: what the card says too
    assert "0.743" in result.explanation
    assert result.actions == []


def test_healthy_but_still_high_says_more_steps_may_help():
    clean = level(100, start=4.0, end=2.0)
    result = diagnose(curve(noisy(clean, 0)), total_steps=100)
    assert result.status == "healthy" and "more steps may help" in result.explanation


# ---------------------------------------------------------------- too early


def test_too_early_with_few_points_or_little_progress():
    assert diagnose(curve([3.0, 2.8, 2.7]), total_steps=100).status == "too_early"
    assert diagnose(curve(noisy(level(40), 0)), total_steps=1000).status == "too_early"  # 4% of the run


def test_a_flat_start_before_a_quarter_of_the_run_is_too_early_not_underfitting():
    values = noisy(np.full(20, 2.5), 1, noise=0.03)
    result = diagnose(curve(values), total_steps=200)
    assert result.status == "too_early"
    assert "barely moved" in result.title


# ---------------------------------------------------------------- broken


def test_nan_or_infinite_loss_is_broken_and_offers_a_lower_learning_rate():
    values = noisy(level(30), 0) + [float("nan")]
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "broken"
    assert {"kind": "restart", "changes": {"learning_rate": 5e-4}} in result.actions
    assert diagnose(curve(noisy(level(30), 0)), [{"step": 20, "eval_loss": float("inf")}]).status == "broken"


def test_a_loss_stuck_at_exactly_zero_is_broken_masking():
    result = diagnose(curve(noisy(level(20), 0) + [0.0, 0.0, 0.0]), total_steps=100)
    assert result.status == "broken"
    assert "exactly 0" in result.title and {"kind": "review_data"} in result.actions
    assert diagnose(curve([0.0] * 30), total_steps=30).status == "broken"


def test_one_zero_loss_is_not_broken():
    values = noisy(level(40), 0)
    values[20] = 0.0
    assert diagnose(curve(values), total_steps=40).status == "healthy"


def test_zeros_reached_gradually_are_memorisation_not_broken():
    values = [max(0.0, 2.5 * np.exp(-i / 4) - 0.02) for i in range(60)] + [0.0] * 10
    assert diagnose(curve(values), total_steps=70).status == "memorisation"


def test_a_negative_loss_is_broken():
    assert diagnose(curve(noisy(level(30), 0) + [-0.5]), total_steps=31).status == "broken"


# ---------------------------------------------------------------- unstable


def test_a_fresh_spike_is_unstable_and_suggests_half_the_learning_rate():
    values = noisy(level(40), 1)
    values[-1] = 6.0
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "unstable"
    assert "6.00" in result.explanation
    assert result.actions == [{"kind": "restart", "changes": {"learning_rate": 5e-4}}]


def test_one_old_spike_that_recovered_is_noted_not_alarmed():
    values = noisy(level(100), 2)
    values[50] = 6.0
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "healthy"
    assert "1 earlier spike(s) recovered" in result.explanation


def test_repeated_spikes_are_unstable_even_if_each_recovered():
    values = noisy(level(100), 3)
    for i in (40, 60, 80):
        values[i] = 5.0
    assert diagnose(curve(values), total_steps=100).status == "unstable"


def test_exploding_grad_norm_is_unstable():
    grads = noisy_grads(40, 4)
    grads[-5:] = [20.0, 25.0, 30.0, 40.0, 60.0]
    result = diagnose(curve(noisy(level(40), 4), grads=grads), total_steps=100)
    assert result.status == "unstable" and "gradient norm" in result.title


def test_one_large_grad_norm_is_not_an_alarm():
    grads = noisy_grads(60, 5)
    grads[-2] = 30.0  # clipping handles a single one
    assert diagnose(curve(noisy(level(60), 5), grads=grads), total_steps=60).status == "healthy"


def test_nan_grad_norms_are_unstable_but_an_fp16_overflow_step_is_not():
    grads = noisy_grads(40, 6)
    grads[-1] = float("inf")  # an fp16 loss-scaler overflow: the step is skipped, training goes on
    assert diagnose(curve(noisy(level(40), 6), grads=grads), total_steps=40).status == "healthy"
    grads[-3:] = [float("nan")] * 3
    assert diagnose(curve(noisy(level(40), 6), grads=grads), total_steps=40).status == "unstable"


def test_a_loss_that_goes_back_up_is_unstable():
    n = 120
    clean = np.concatenate([level(60), np.linspace(0.9, 2.2, n - 60)])
    result = diagnose(curve(noisy(clean, 7, noise=0.08)), total_steps=200)
    assert result.status == "unstable" and "going back up" in result.title


def test_oscillation_is_unstable():
    n = 100
    clean = level(n)
    swings = np.where(np.arange(n) % 2 == 0, 0.5, 2.5)
    values = np.concatenate([noisy(clean[:60], 8, noise=0.05), clean[60:] * swings[60:]])
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "unstable" and "swinging" in result.title


# ---------------------------------------------------------------- overfitting


def test_rising_validation_loss_with_falling_training_loss_is_overfitting():
    n = 200
    clean = level(n, end=0.5)
    validation = validation_at((40, 80, 120, 160, 200), (1.3, 1.0, 1.05, 1.12, 1.25))
    result = diagnose(curve(noisy(clean, 9, noise=0.08)), validation, total_steps=n)
    assert result.status == "overfitting"
    assert "1.000" in result.explanation and "1.250" in result.explanation and "step 80" in result.explanation
    assert result.actions[0] == {"kind": "stop_keep_best"}
    assert result.actions[1]["changes"]["max_steps"] == 80


def test_one_worse_evaluation_is_not_yet_overfitting():
    validation = validation_at((40, 80, 120), (1.3, 1.0, 1.1))
    assert diagnose(curve(noisy(level(120), 10)), validation, total_steps=120).status == "healthy"


def test_jitter_of_one_percent_in_validation_loss_is_not_overfitting():
    validation = validation_at((40, 80, 120, 160), (1.3, 1.0, 1.01, 1.015))
    assert diagnose(curve(noisy(level(160), 11)), validation, total_steps=160).status == "healthy"


# ---------------------------------------------------------------- memorisation


def test_extremely_low_training_loss_is_possible_memorisation():
    values = noisy(level(100, start=2.5, end=0.03), 12, noise=0.1)
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "memorisation"
    assert f"{MEMORISATION_LOSS:g}" in result.explanation
    assert {"kind": "restart", "changes": {"max_steps": 50}} in result.actions


def test_very_low_loss_on_validation_too_is_a_predictable_task_not_memorisation():
    values = noisy(level(100, start=2.5, end=0.03), 12, noise=0.1)
    result = diagnose(curve(values), [{"step": 100, "eval_loss": 0.06}], total_steps=100)
    assert result.status == "healthy"


def test_low_training_loss_with_a_high_flat_validation_loss_is_memorisation():
    values = noisy(level(100, start=2.5, end=0.03), 12, noise=0.1)
    validation = [{"step": s, "eval_loss": 1.1} for s in (50, 100)]
    result = diagnose(curve(values), validation, total_steps=100)
    assert result.status == "memorisation" and "1.100" in result.explanation


# ---------------------------------------------------------------- underfitting


def test_a_flat_loss_is_underfitting_and_suggests_twice_the_learning_rate():
    values = noisy(np.full(50, 2.5), 13, noise=0.03)
    result = diagnose(curve(values), total_steps=100)
    assert result.status == "underfitting"
    assert result.actions == [{"kind": "restart", "changes": {"learning_rate": 2e-3}}]


def test_the_real_tiny_random_model_run_is_underfitting():
    result = diagnose(curve(TINY_RANDOM_MODEL_60_STEPS), total_steps=60)
    assert result.status == "underfitting"
    assert "10.784" in result.explanation  # the start: median of the first five
    assert "pretrained" in result.explanation  # ~ln(vocab size): it predicts at random


def test_the_configured_learning_rate_wins_over_the_logged_one():
    """During warmup the logged rate is below the peak; the configured one is what a restart should scale."""
    values = noisy(np.full(50, 2.5), 13, noise=0.03)
    result = diagnose(curve(values, lr=1e-5), total_steps=100, learning_rate=2e-4)
    assert result.actions[0]["changes"]["learning_rate"] == 4e-4


# ---------------------------------------------------------------- every suggestion can be applied


@pytest.mark.parametrize("seed", range(3))
def test_every_restart_suggestion_is_a_valid_run_config(seed):
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    cases = [
        curve(noisy(level(40), seed) + [float("nan")]),
        curve(noisy(level(40), seed)[:-1] + [8.0]),
        curve(noisy(np.full(50, 2.5), seed, noise=0.03)),
        curve(noisy(level(100, end=0.03), seed)),
    ]
    validation = validation_at((10, 20, 30, 40), (1.3, 1.0, 1.05, 1.2))
    results = [diagnose(c, total_steps=100) for c in cases]
    results.append(diagnose(curve(noisy(level(40, end=0.5), seed, noise=0.05)), validation, total_steps=40))
    restarts = [a["changes"] for r in results for a in r.actions if a["kind"] == "restart"]
    assert len(restarts) == len(results)
    for changes in restarts:
        assert set(changes) <= fields
        RunConfig(**changes)


# ---------------------------------------------------------------- odd input


def test_empty_one_point_missing_keys_and_junk_entries():
    assert diagnose([]).status == "too_early"
    assert diagnose([], []).status == "too_early"
    assert diagnose(curve([2.5])).status == "too_early"
    junk = [{"step": 1}, {"loss": None}, {"loss": "2.0"}, "not a dict", {"loss": True}, {"grad_norm": 1.0}]
    assert diagnose(junk, [{"eval_loss": None}], total_steps=0).status == "too_early"
    no_steps = [{"loss": v} for v in noisy(level(40), 0)]
    assert diagnose(no_steps).status == "healthy"


finite_or_not = st.floats(allow_nan=True, allow_infinity=True)
entries = st.lists(
    st.dictionaries(st.sampled_from(["loss", "grad_norm", "learning_rate", "step", "eval_loss", "x"]), finite_or_not),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(entries, st.one_of(st.none(), entries), st.one_of(st.none(), st.integers(-5, 10**6)), finite_or_not)
def test_diagnose_never_raises(metrics, validation, total, rate):
    result = diagnose(metrics, validation, total, learning_rate=rate)
    assert result.status in STATUSES and result.title and result.explanation


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=0, max_size=300), st.integers(1, 400))
def test_diagnose_never_raises_on_plausible_losses(values, total):
    assert diagnose(curve(values), total_steps=total).status in STATUSES


# ---------------------------------------------------------------- each rule's words match its numbers
# Each test builds a curve, runs the diagnosis, reads the numbers back out of its sentence and checks them against
# the facts (core/diagnosis/facts.py) and against each other: a percentage from the numbers printed beside it.

FACTS_CONTEXT = RunContext(validation_split=True, eval_every=20)


def quoted(pattern: str, text: str) -> list[float]:
    """The numbers ``pattern``'s groups catch in ``text``; ``#`` is a number (a full stop after it left out)."""
    found = re.search(pattern.replace("-#", r"(-\d+(?:\.\d+)?)").replace("#", r"(\d+(?:\.\d+)?)"), text)
    assert found, f"{pattern!r} not in {text!r}"
    return [float(group) for group in found.groups()]


def test_broken_nan_counts_the_values_it_says():
    values = noisy(level(30), 0) + [float("nan"), float("inf")]
    (count,) = quoted(r"(\d+) logged loss value\(s\) are NaN", diagnose(curve(values)).explanation)
    assert count == sum(not np.isfinite(v) for v in values)


def test_broken_negative_names_the_lowest_loss():
    values = noisy(level(30), 0) + [-0.5, -0.25]
    (lowest,) = quoted(r"The loss reached -#", diagnose(curve(values)).explanation)
    assert lowest == -0.5


def test_broken_zeros_count_the_zeros_and_the_loss_before_them():
    values = noisy(level(20), 0) + [0.0] * 4
    length, before = quoted(
        r"(\d+) logged steps in a row .* straight after a loss of #", diagnose(curve(values)).explanation
    )
    assert length == 4 and before == pytest.approx(np.median(values[15:20]), abs=5e-4)


def test_too_early_counts_the_points_and_the_share_of_the_run():
    count, share = quoted(
        r"(\d+) loss value\(s\) so far \((\d+)% of the run\)",
        diagnose(curve([3.0, 2.8, 2.7]), total_steps=100).explanation,
    )
    assert count == 3 and share == 3


def test_a_spike_names_its_step_its_loss_and_the_median_it_is_3x_over():
    values = noisy(level(40), 1)
    values[-1] = 6.0
    step, loss, median = quoted(
        r"At step (\d+) the loss jumped to #, over 3x the median of #",
        diagnose(curve(values), total_steps=100).explanation,
    )
    assert step == 40 and loss == 6.0 and loss > 3 * median
    assert median == pytest.approx(np.median(values[19:39]), abs=5e-3)


def test_exploding_gradients_quote_both_medians():
    grads = noisy_grads(40, 4)
    grads[-5:] = [20.0, 25.0, 30.0, 40.0, 60.0]
    text = diagnose(curve(noisy(level(40), 4), grads=grads), total_steps=100).explanation
    latest, earlier = quoted(r"median of #, over 10x the earlier median of #", text)
    assert latest == 30.0 and latest > 10 * earlier and earlier == pytest.approx(np.median(grads[:-5]), abs=5e-3)


def test_a_rising_loss_says_how_much_higher_from_the_numbers_it_prints():
    clean = np.concatenate([level(60), np.linspace(0.9, 2.2, 60)])
    text = diagnose(curve(noisy(clean, 7, noise=0.08)), total_steps=200).explanation
    low, now, higher = quoted(r"rose from a low of # to # \((\d+)% higher\)", text)
    assert higher == pytest.approx((now / low - 1) * 100, abs=1)


def test_oscillation_quotes_a_swing_large_against_its_median():
    clean = level(100)
    swings = np.where(np.arange(100) % 2 == 0, 0.5, 2.5)
    values = np.concatenate([noisy(clean[:60], 8, noise=0.05), clean[60:] * swings[60:]])
    text = diagnose(curve(values), total_steps=100).explanation
    points, swing, median = quoted(r"last (\d+) points the loss swings by about # .* median of #", text)
    assert median == pytest.approx(np.median(values[-int(points) :]), abs=5e-3) and swing >= 0.2 * median


def test_overfitting_quotes_the_best_and_last_validation_and_the_training_fall():
    clean = level(120, start=3.0, end=0.5)
    validation = validation_at([20, 40, 60, 80, 100, 120], [1.4, 1.1, 1.0, 1.05, 1.15, 1.25])
    result = diagnose(curve(noisy(clean, 9, noise=0.05)), validation, total_steps=120)
    assert result.status == "overfitting"
    best, step, last, since, then, now = quoted(
        r"best at # \(step (\d+)\) and has risen to # over the (\d+) evaluations since, while the "
        r"smoothed training loss kept falling from # to #",
        result.explanation,
    )
    assert (best, step, last, since) == (1.0, 60, 1.25, 3) and now < then


def test_memorisation_quotes_the_loss_the_probability_and_the_next_validation_point():
    values = noisy(level(100, start=2.5, end=0.03), 12, noise=0.1)
    facts = loss_facts(curve(values), None, 100, FACTS_CONTEXT)
    result = diagnose_facts(facts)
    recent, window, chance = quoted(
        r"recent training loss is # \(median of the last (\d+) .* about (\d+)% probability",
        result.explanation,
    )
    assert recent == round(facts.recent_level, 3) < 0.1 and window == facts.window
    assert chance == round(np.exp(-recent) * 100)
    assert quoted(r"the first is at step (\d+)", result.explanation) == [20.0]


def test_underfitting_quotes_where_it_started_and_is_and_the_drop_between():
    values = noisy(np.full(50, 2.5), 13, noise=0.03)
    facts = loss_facts(curve(values), None, 100)
    result = diagnose_facts(facts)
    assert result.status == "underfitting"
    now, window, drop, start = quoted(
        r"loss is # \(median of the last (\d+) logged values\), (\d+)% below the # it started at",
        result.explanation,
    )
    assert (now, start) == (round(facts.recent_level, 3), round(facts.start_level, 3)) and window == facts.window
    assert drop == round((start - now) / start * 100) and drop < 10


def test_healthy_quotes_the_first_loss_the_card_shows_and_a_gap_that_adds_up():
    facts = loss_facts(curve(SMOLLM2_FIRST_40_STEPS), [{"step": 20, "eval_loss": 1.2}], 60)
    result = diagnose_facts(facts)
    first, step, now, drop = quoted(r"fell from # at step (\d+) to # \(median .*\), (\d+)% lower", result.explanation)
    assert (first, step) == (facts.first[1], facts.first[0]) == (2.262, 1)
    assert drop == round((first - now) / first * 100)
    value, at, above, train = quoted(
        r"Validation loss # \(step (\d+)\) is (\d+)% above the training loss \(#\)",
        result.explanation,
    )
    assert (value, at) == (1.2, 20) and train == round(facts.train_level_at(20), 3)
    assert above == round((value - train) / train * 100)


# ---------------------------------------------------------------- issue 19's contradictions, on the app's defaults


def templated_demo_run(steps: int = 60, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """A Quick demo run on the JSON demo: from ~1.0 to near 0 (the answers are templated), evaluated every 20 steps."""
    rng = np.random.default_rng(seed)
    clean = 0.006 + 1.0 * np.exp(-np.arange(steps) / 4)
    values = (clean * np.exp(rng.normal(0, 0.1, steps))).tolist()
    validation = validation_at(range(20, steps + 1, 20), [0.006] * (steps // 20))
    return curve(values), validation


DEMO_CONTEXT = RunContext(validation_split=True, eval_every=20, templated=True, task="json_extraction")


@pytest.mark.parametrize("templated", [True, False])
def test_no_verdict_on_unseen_rows_before_a_validation_point(templated):
    metrics, _ = templated_demo_run()
    context = dataclasses.replace(DEMO_CONTEXT, templated=templated)
    for done in range(10, 20):  # enough points to judge, before the first validation point at step 20
        result = diagnose(metrics[:done], [], 60, context=context)
        assert "unseen rows too" not in result.title
        assert "No validation point yet: the first is at step 20." in result.explanation
        assert not any("Keep some rows for validation" in advice for advice in result.advice)


def test_memorisation_advice_never_asks_for_validation_rows_a_run_already_has():
    values = noisy(level(100, start=2.5, end=0.03), 12, noise=0.1)
    with_split = diagnose(curve(values), [], 100, context=RunContext(validation_split=True, eval_every=20))
    assert with_split.status == "memorisation"
    assert not any("Keep some rows" in a for a in with_split.advice)
    assert any("validation loss at step 20" in a for a in with_split.advice)
    without = diagnose(curve(values), [], 100, context=RunContext(validation_split=False, eval_every=20))
    assert any("Keep some rows for validation" in a for a in without.advice)
    assert "There is no validation split" in without.explanation


def test_a_validation_loss_below_the_training_loss_is_never_a_negative_percent_above():
    metrics, validation = templated_demo_run()
    result = diagnose(metrics, validation, 60, context=DEMO_CONTEXT)
    assert not re.search(r"-\d+% above", result.explanation)
    assert "Validation loss 0.006 (step 60) tracks the training loss" in result.explanation  # both near 0
    lower = diagnose(curve(SMOLLM2_FIRST_40_STEPS), [{"step": 40, "eval_loss": 0.3}], 60)
    (below,) = quoted(r"is (\d+)% below the training loss", lower.explanation)
    assert below > 30 and not re.search(r"-\d+%", lower.explanation)


def test_a_templated_demo_run_is_healthy_at_every_step_and_says_a_loss_near_0_is_expected():
    metrics, validation = templated_demo_run()
    for done in range(10, 61, 5):
        evals = [e for e in validation if e["step"] <= done]
        result = diagnose(metrics[:done], evals, 60, context=DEMO_CONTEXT)
        assert result.status == "healthy", (done, result.title, result.explanation)
        assert "this task is templated" in result.explanation
    assert result.title == "Healthy: a loss near 0, as expected for this templated task."


def test_a_templated_task_that_does_badly_on_unseen_rows_is_still_memorisation():
    metrics, _ = templated_demo_run()
    result = diagnose(metrics, validation_at([20, 40, 60], [0.9, 1.0, 1.1]), 60, context=DEMO_CONTEXT)
    assert result.status in ("memorisation", "overfitting")
    assert "1.100" in result.explanation


def test_the_diagnosis_says_the_loss_fell_from_the_first_value_the_card_shows():
    metrics, _ = templated_demo_run()
    metrics[0]["loss"], metrics[2]["loss"] = 1.008, 0.825  # the run: its first five had a median of 0.825
    facts = loss_facts(metrics[:30], [], 60, DEMO_CONTEXT)
    assert facts.first[1] == 1.008
    assert "fell from 1.008 at step 1" in diagnose_facts(facts).explanation
