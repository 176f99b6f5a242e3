"""The other rules (broken, too early, overfitting, memorisation, underfitting) and the healthy reading.

Each rule returns a ``Diagnosis`` or None; healthy is what is left when none applies.
"""

from __future__ import annotations

import math

from core.diagnosis.curves import level, window_size, zero_runs
from core.diagnosis.thresholds import (
    HEALTHY_END,
    HEALTHY_GAP,
    HEALTHY_START,
    MEMORISATION_LOSS,
    MIN_POINTS,
    MIN_PROGRESS,
    OVERFIT_EVALS,
    OVERFIT_RISE,
    OVERFIT_TRAIN_FALL,
    START_WINDOW,
    UNDERFIT_DROP,
    UNDERFIT_PROGRESS,
    ZERO_RUN,
)
from core.diagnosis.verdict import SOURCE, Diagnosis, restart_with_learning_rate
from core.sources import cite


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


def diagnose_too_early(losses: list[float], progress: float | None) -> Diagnosis | None:
    if len(losses) >= MIN_POINTS and (progress is None or progress >= MIN_PROGRESS):
        return None
    share = f" ({progress:.0%} of the run)" if progress is not None else ""
    return Diagnosis(
        "too_early",
        "Too early to tell.",
        f"{len(losses)} loss value(s) so far{share}; the first steps are mostly noise. A healthy run starts around "
        "2-4 and falls quickly, then flattens out.",
    )


def diagnose_overfitting(train: list[tuple[float, float]], evals: list[tuple[float, float]]) -> Diagnosis | None:
    if len(evals) < OVERFIT_EVALS + 1:
        return None
    best_index = min(range(len(evals)), key=lambda i: evals[i][1])
    best_step, best = evals[best_index]
    after = [v for _, v in evals[best_index + 1 :]]
    last = evals[-1][1]
    if len(after) < OVERFIT_EVALS or not all(v > best for v in after) or last < best * (1 + OVERFIT_RISE):
        return None
    w = window_size(len(train))
    then = [v for s, v in train if s <= best_step][-w:]
    now = level([v for _, v in train[-w:]])
    if not then or now > level(then) * (1 - OVERFIT_TRAIN_FALL):
        return None
    return Diagnosis(
        "overfitting",
        "Overfitting: validation loss is rising while training loss falls.",
        f"Validation loss was best at {best:.3f} (step {best_step:g}) and has risen to {last:.3f} over the "
        f"{len(after)} evaluations since, while the training loss kept falling from {level(then):.3f} to {now:.3f}. "
        "The model is learning the training rows rather than the task.",
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


def diagnose_memorisation(losses: list[float], evals: list[float], total_steps: int | None) -> Diagnosis | None:
    recent = level(losses[-max(MIN_POINTS, 2 * window_size(len(losses))) :])
    if recent >= MEMORISATION_LOSS or (evals and evals[-1] < 2 * MEMORISATION_LOSS):
        return None
    gap = (
        f" The validation loss is {evals[-1]:.3f}, far higher: it does not carry over to unseen rows."
        if evals
        else " There is no validation loss to show whether this carries over to unseen rows."
    )
    shorter = [{"kind": "restart", "changes": {"max_steps": max(1, int(total_steps) // 2)}}] if total_steps else []
    return Diagnosis(
        "memorisation",
        "Possible memorisation: the training loss is extremely low.",
        f"The recent training loss is {recent:.3f}, below {MEMORISATION_LOSS:g} (a healthy run settles around "
        f"0.5-1.5): on average the model puts about {math.exp(-recent):.0%} probability on the right next token.{gap}",
        [
            "Compare the answers to held-out prompts: do they copy training rows, lack variety, fail on new prompts?",
            "Train for fewer steps or epochs (e.g. half), or add more varied data.",
            "Keep some rows for validation so the app can measure how well learning carries over.",
        ],
        [{"kind": "compare_samples"}, {"kind": "stop"}, *shorter],
        SOURCE + ": memorisation",
    )


def diagnose_underfitting(losses: list[float], progress: float | None, rate: float | None) -> Diagnosis | None:
    """A Diagnosis (underfitting, or too early to judge a flat start), else None."""
    start, now = level(losses[:START_WINDOW]), level(losses[-window_size(len(losses)) :])
    if start <= 0 or (start - now) / start >= UNDERFIT_DROP:
        return None
    drop = (start - now) / start * 100
    enough = progress >= UNDERFIT_PROGRESS if progress is not None else len(losses) >= 3 * MIN_POINTS
    if not enough:
        share = f" at {progress:.0%} of the run" if progress is not None else ""
        return Diagnosis(
            "too_early",
            "Too early to tell: the loss has barely moved yet.",
            f"The loss went from {start:.3f} to {now:.3f} ({drop:.0f}% lower){share}. Warmup can keep it flat for a "
            f"while; if it still hasn't fallen {UNDERFIT_DROP:.0%} by {UNDERFIT_PROGRESS:.0%} of the run, the model "
            "is underfitting.",
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
        f"After {len(losses)} logged steps the smoothed loss went from {start:.3f} to {now:.3f}, only {drop:.0f}% "
        f"lower (under {UNDERFIT_DROP:.0%}): the model is learning very slowly.{context}",
        [
            "Raise the learning rate (2x is a good first try).",
            "Check data quality in step 2: are the answers consistent and the loss on the right tokens?",
            "With LoRA, a higher rank (32 or 64) adds capacity (Training Hub's guide); or try a bigger model.",
        ],
        restart_with_learning_rate(rate, 2.0),
        SOURCE + ": underfitting",
    )


def diagnose_healthy(train: list[tuple[float, float]], evals: list[tuple[float, float]], old_spikes: int) -> Diagnosis:
    losses = [v for _, v in train]
    start, now = level(losses[:START_WINDOW]), level(losses[-window_size(len(losses)) :])
    drop = (1 - now / start) * 100 if start > 0 else 0.0
    if now > HEALTHY_END[1]:
        where = f"still above the usual {HEALTHY_END[0]}-{HEALTHY_END[1]} where it settles; more steps may help"
    elif now < HEALTHY_END[0]:
        where = f"below the usual {HEALTHY_END[0]}-{HEALTHY_END[1]}; watch the samples for copied training rows"
    else:
        where = f"in the usual {HEALTHY_END[0]}-{HEALTHY_END[1]} range"
    text = f"The loss fell from {start:.3f} to {now:.3f} ({drop:.0f}% lower), {where}."
    if evals:
        eval_step, last = evals[-1]
        then = level([v for s, v in train if s <= eval_step][-window_size(len(train)) :] or [now])
        gap = (last - then) / then if then > 0 else 0.0
        text += f" Validation loss {last:.3f} (step {eval_step:g}) " + (
            "tracks the training loss closely."
            if abs(gap) <= HEALTHY_GAP
            else f"is {gap:.0%} above the training loss at that step: a gap to keep an eye on."
        )
    if old_spikes:
        text += f" {old_spikes} earlier spike(s) recovered."
    low_and_generalising = now < MEMORISATION_LOSS
    return Diagnosis(
        "healthy",
        "Healthy: very low loss on unseen rows too." if low_and_generalising else "Healthy: the loss is falling.",
        text,
        [
            "Keep an eye on the answers to held-out prompts: the format should settle before the loss flattens.",
            "Stop when the validation loss stops improving.",
        ],
        [],
    )
