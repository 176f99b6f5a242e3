"""The other rules (broken, too early, overfitting, memorisation, underfitting) and the healthy reading.

Each rule returns a ``Diagnosis`` or None; healthy is what is left when none applies. They read one
``LossFacts`` (core/diagnosis/facts.py), the numbers the Train step's card shows too, and print each number they
quote once, with what it is (the first logged value, or a median of the last few), and every percentage from the
numbers as printed.
"""

from __future__ import annotations

import math

from core.diagnosis.curves import level, zero_runs
from core.diagnosis.facts import LossFacts
from core.diagnosis.thresholds import (
    HEALTHY_END,
    HEALTHY_START,
    MEMORISATION_LOSS,
    MIN_POINTS,
    MIN_PROGRESS,
    OVERFIT_EVALS,
    OVERFIT_MIN_RISE,
    OVERFIT_RISE,
    OVERFIT_TRAIN_FALL,
    START_WINDOW,
    UNDERFIT_DROP,
    UNDERFIT_PROGRESS,
    ZERO_RUN,
)
from core.diagnosis.validation import no_point_yet, percent_apart, shown, versus_training
from core.diagnosis.verdict import SOURCE, Diagnosis, restart_with_learning_rate
from core.sources import cite

TEMPLATED = "this task is templated (its answers follow a few fixed patterns), so a loss near 0 is expected"


def diagnose_broken(losses: list[float], evals: list[float], rate: float | None) -> Diagnosis | None:
    bad = [v for v in losses + evals if not math.isfinite(v)]
    if bad:
        return Diagnosis(
            "broken",
            "Something is broken: the loss is NaN or infinite.",
            f"{len(bad)} logged loss value(s) are NaN or infinite: the numbers blew up and the weights are likely "
            "ruined. This usually means a learning rate far too high, or a data row with no usable tokens.",
            [
                "Stop this run: it will not recover.",
                "Restart with half the learning rate; halve it again if it blows up again.",
                "Check the rendered training samples in step 2 for empty or very long rows.",
            ],
            [{"kind": "stop"}, *restart_with_learning_rate(rate, 0.5), {"kind": "review_data"}],
            SOURCE + ": instability, NaN",
        )
    negative = [v for v in losses if v < 0]
    if negative:
        return Diagnosis(
            "broken",
            "Something is broken: the loss is negative.",
            f"The loss reached {min(negative):.3f}, but a cross-entropy loss can never go below 0. The loss is not "
            "being computed on the training text as expected.",
            ["Check the training settings and the rendered samples in step 2."],
            [{"kind": "stop"}, {"kind": "review_data"}],
        )
    for start, length in zero_runs(losses):
        before = losses[max(0, start - START_WINDOW) : start]
        if length >= ZERO_RUN and not (before and level(before) < MEMORISATION_LOSS):
            return Diagnosis(
                "broken",
                "Something is broken: the loss is stuck at exactly 0.",
                f"{length} logged steps in a row have a loss of exactly 0"
                + (f", straight after a loss of {level(before):.3f}" if before else ", from the very first step")
                + ". That means no token carried loss: the masking or the data left nothing to learn from, so the "
                "model is not training.",
                [
                    "Open the rendered training samples in step 2: the answer tokens should carry loss.",
                    "Check that the answer/completion column is not empty and survives truncation (max length).",
                ],
                [{"kind": "stop"}, {"kind": "review_data"}],
                SOURCE + "; " + cite("trl_sft") + ": loss masking",
            )
    return None


def diagnose_too_early(facts: LossFacts) -> Diagnosis | None:
    losses, progress = facts.losses, facts.progress
    if len(losses) >= MIN_POINTS and (progress is None or progress >= MIN_PROGRESS):
        return None
    share = f" ({progress:.0%} of the run)" if progress is not None else ""
    return Diagnosis(
        "too_early",
        "Too early to tell.",
        f"{len(losses)} loss value(s) so far{share}; the first steps are mostly noise. A healthy run starts around "
        "2-4 and falls quickly, then flattens out.",
    )


def diagnose_overfitting(facts: LossFacts) -> Diagnosis | None:
    evals = facts.evals
    if len(evals) < OVERFIT_EVALS + 1:
        return None
    best_index = min(range(len(evals)), key=lambda i: evals[i][1])
    best_step, best = evals[best_index]
    after = [v for _, v in evals[best_index + 1 :]]
    last = evals[-1][1]
    risen = last >= best * (1 + OVERFIT_RISE) and last - best >= OVERFIT_MIN_RISE
    if len(after) < OVERFIT_EVALS or not all(v > best for v in after) or not risen:
        return None
    then, now = facts.train_level_at(best_step), facts.recent_level
    if then is None or now > then * (1 - OVERFIT_TRAIN_FALL):
        return None
    return Diagnosis(
        "overfitting",
        "Overfitting: validation loss is rising while training loss falls.",
        f"Validation loss was best at {best:.3f} (step {best_step:g}) and has risen to {last:.3f} over the "
        f"{len(after)} evaluations since, while the smoothed training loss kept falling from {then:.3f} to "
        f"{now:.3f}. The model is learning the training rows rather than the task.",
        [
            f"Stop now and keep the best checkpoint (step {best_step:g}).",
            "Train for fewer steps or epochs next time.",
            "Add more, or more varied, training data.",
            "Turn on early stopping on validation loss.",
        ],
        [
            {"kind": "stop_keep_best"},
            {"kind": "restart", "changes": {"max_steps": int(best_step), "early_stopping_patience": OVERFIT_EVALS}},
        ],
        SOURCE + ": overfitting",
    )


def _validation_advice(facts: LossFacts) -> str:
    """What to do about validation when the training loss alone can't tell copying from an easy task."""
    context = facts.context
    if context.validation_split is False:
        return "Keep some rows for validation (step 2) so the app can measure how well learning carries over."
    if context.eval_every == 0:
        return "Turn on evaluation (Eval steps above 0, step 3): the validation rows measure how well it carries over."
    if facts.next_eval_step:
        return (
            f"Read the validation loss at step {facts.next_eval_step}: close to the training loss means an easy, "
            "predictable task; far above it means copying."
        )
    return "Compare with the validation loss: close to the training loss means a predictable task, far above, copying."


def diagnose_memorisation(facts: LossFacts) -> Diagnosis | None:
    recent, latest_eval = shown(facts.recent_level), facts.latest_eval
    if recent >= MEMORISATION_LOSS:
        return None
    if latest_eval and latest_eval[1] < 2 * MEMORISATION_LOSS:
        return None  # as low on unseen rows: a predictable task, not copying (healthy says so)
    if facts.context.templated and not latest_eval:
        return None  # expected for a templated task until a validation point says otherwise (healthy says so)
    if latest_eval:
        step, value = latest_eval
        gap = f" The validation loss is {value:.3f} (step {step:g}), far higher: this does not carry over to new rows."
        if facts.context.templated:
            gap += " Even on a templated task, unseen rows should come out nearly as low."
        advice = []
    else:
        gap = " " + no_point_yet(facts)
        advice = [_validation_advice(facts)]
    total = facts.total_steps
    shorter = [{"kind": "restart", "changes": {"max_steps": max(1, int(total) // 2)}}] if total else []
    return Diagnosis(
        "memorisation",
        "Possible memorisation: the training loss is extremely low.",
        f"The recent training loss is {recent:.3f} (median of the last {facts.window} logged values), below "
        f"{MEMORISATION_LOSS:g} (a healthy run settles around 0.5-1.5): on average the model puts about "
        f"{math.exp(-recent):.0%} probability on the right next token.{gap}",
        [
            "Compare the answers to held-out prompts: do they copy training rows, lack variety, fail on new prompts?",
            "Train for fewer steps or epochs (e.g. half), or add more varied data.",
            *advice,
        ],
        [{"kind": "compare_samples"}, {"kind": "stop"}, *shorter],
        SOURCE + ": memorisation",
    )


def diagnose_underfitting(facts: LossFacts, rate: float | None) -> Diagnosis | None:
    """A Diagnosis (underfitting, or too early to judge a flat start), else None."""
    start, now, progress = facts.start_level, facts.recent_level, facts.progress
    drop = -percent_apart(now, start)  # as printed, so "9% lower" never comes with "it fell 10%"
    if shown(start) <= 0 or round(drop) >= UNDERFIT_DROP * 100:
        return None
    both = (
        f"{shown(now):.3f} (median of the last {facts.window} logged values), {drop:.0f}% below the "
        f"{shown(start):.3f} it started at (median of the first {min(START_WINDOW, len(facts.train))})"
    )
    enough = progress >= UNDERFIT_PROGRESS if progress is not None else len(facts.train) >= 3 * MIN_POINTS
    if not enough:
        share = f" at {progress:.0%} of the run" if progress is not None else ""
        return Diagnosis(
            "too_early",
            "Too early to tell: the loss has barely moved yet.",
            f"The loss is {both}{share}. Warmup can keep it flat for a while; if it still hasn't fallen "
            f"{UNDERFIT_DROP:.0%} by {UNDERFIT_PROGRESS:.0%} of the run, the model is underfitting.",
        )
    if now <= HEALTHY_END[1]:
        context = (
            f" It is already in the usual {HEALTHY_END[0]}-{HEALTHY_END[1]} range, so the model may have known this "
            "task before: check the samples before changing anything."
        )
    elif start > 2 * HEALTHY_START[1]:
        context = (
            f" A pretrained model usually starts around {HEALTHY_START[0]}-{HEALTHY_START[1]}; a start this high "
            "means it predicts almost at random: is it a pretrained model?"
        )
    else:
        context = ""
    return Diagnosis(
        "underfitting",
        "Underfitting: the loss is barely moving.",
        f"After {len(facts.train)} logged steps the loss is {both}: under {UNDERFIT_DROP:.0%} lower, the model is "
        f"learning very slowly.{context}",
        [
            "Raise the learning rate (2x is a good first try).",
            "Check data quality in step 2: are the answers consistent and the loss on the right tokens?",
            "With LoRA, a higher rank (32 or 64) adds capacity (Training Hub's guide); or try a bigger model.",
        ],
        restart_with_learning_rate(rate, 2.0),
        SOURCE + ": underfitting",
    )


def _where_it_settles(now: float, templated: bool) -> str:
    low, high = HEALTHY_END
    if now > high:
        return f"still above the usual {low}-{high} where it settles; more steps may help"
    if now < low and templated:
        return f"below the usual {low}-{high}, as it should be: {TEMPLATED}"
    if now < low:
        return f"below the usual {low}-{high}; watch the samples for copied training rows"
    return f"in the usual {low}-{high} range"


def diagnose_healthy(facts: LossFacts, old_spikes: int) -> Diagnosis:
    (first_step, first), now = facts.first, shown(facts.recent_level)
    templated, latest_eval = facts.context.templated, facts.latest_eval
    change, smoothed = percent_apart(now, first), f"(median of the last {facts.window} logged values)"
    started = f"{shown(first):.3f} at step {first_step:g}"
    if change < 0:
        text = f"The loss fell from {started} to {now:.3f} {smoothed}, {-change:.0f}% lower"
    else:
        text = f"The loss is {now:.3f} {smoothed}, no lower than the {started} where it started"
    validation = versus_training(facts) if latest_eval else no_point_yet(facts)
    text += f", {_where_it_settles(now, templated)}. {validation}"
    if old_spikes:
        text += f" {old_spikes} earlier spike(s) recovered."
    if now < MEMORISATION_LOSS and templated:
        title = "Healthy: a loss near 0, as expected for this templated task."
    elif now < MEMORISATION_LOSS:  # memorisation would have fired without a validation loss this low
        title = "Healthy: very low loss on unseen rows too."
    else:
        title = "Healthy: the loss is falling." if change < 0 else "Healthy: the loss is steady."
    stop = (
        "Stop when the validation loss stops improving."
        if facts.validation_planned
        else "Keep some rows for validation next time: its loss shows when to stop."
    )
    return Diagnosis(
        "healthy",
        title,
        text,
        ["Keep an eye on the answers to held-out prompts: the format should settle before the loss flattens.", stop],
        [],
    )
