"""Rule 3, instability: a loss spike that stays, an exploding gradient norm, a rising or an oscillating loss.

sft-facts §4: "sudden spikes, oscillation, NaN: LR too high".
"""

from __future__ import annotations

import math

from core.diagnosis.curves import level, noise_scale, window_size
from core.diagnosis.thresholds import (
    DIVERGENCE_NOISE_Z,
    DIVERGENCE_RISE,
    GRAD_EXPLOSION_FACTOR,
    MIN_POINTS,
    OSCILLATION_GROWN_NOISE,
    OSCILLATION_GROWTH,
    OSCILLATION_MIN_NOISE,
    OSCILLATION_NOISE,
    SPIKE_FACTOR,
    SPIKE_MIN_RISE,
    SPIKE_RECENT,
    SPIKE_SHARE,
    SPIKE_WINDOW,
    SPIKES_FOR_UNSTABLE,
)
from core.diagnosis.verdict import SOURCE, Diagnosis, restart_with_learning_rate


def find_spikes(losses: list[float]) -> list[tuple[int, float, float]]:
    """(index, loss, reference median) of every spike: SPIKE_FACTOR x the previous SPIKE_WINDOW median and more."""
    found = []
    for i in range(MIN_POINTS, len(losses)):
        reference = level(losses[max(0, i - SPIKE_WINDOW) : i])
        if reference > 0 and losses[i] > SPIKE_FACTOR * reference and losses[i] - reference >= SPIKE_MIN_RISE:
            found.append((i, losses[i], reference))
    return found


def _recovered(after: list[float], reference: float) -> bool:
    """Whether the losses after a spike are back near the level before it (one hard batch, not a blow-up)."""
    return bool(after) and level(after) < 1.5 * reference


def _spiking(losses: list[float], steps: list[float]) -> tuple[str, str] | None:
    n, spikes = len(losses), find_spikes(losses)
    fresh = [s for s in spikes if s[0] >= n - SPIKE_RECENT and not _recovered(losses[s[0] + 1 :], s[2])]
    if not fresh and (len(spikes) < SPIKES_FOR_UNSTABLE or len(spikes) < SPIKE_SHARE * n):
        return None
    i, value, reference = (fresh or spikes)[-1]
    repeat = f" It is spike number {len(spikes)} in this run." if len(spikes) > 1 else ""
    return (
        "Unstable: the loss is spiking.",
        f"At step {steps[i]:g} the loss jumped to {value:.2f}, over {SPIKE_FACTOR:g}x the median of {reference:.2f} "
        f"just before it.{repeat} One hard batch can do this once; repeated spikes mean the learning rate is too "
        "high.",
    )


def _exploding_gradients(grads: list[float]) -> tuple[str, str] | None:
    if len(grads) < MIN_POINTS + SPIKE_RECENT:
        return None
    earlier = level([g for g in grads[:-SPIKE_RECENT] if math.isfinite(g)] or [0.0])
    latest = level([g if math.isfinite(g) else math.inf for g in grads[-SPIKE_RECENT:]])
    if earlier <= 0 or latest <= GRAD_EXPLOSION_FACTOR * earlier:
        return None
    return (
        "Unstable: the gradient norm exploded.",
        f"The last {SPIKE_RECENT} gradient norms have a median of {latest:.1f}, over {GRAD_EXPLOSION_FACTOR:g}x the "
        f"earlier median of {earlier:.2f}. Gradient clipping limits each step, but the learning rate is probably "
        "too high.",
    )


def _rising(losses: list[float]) -> tuple[str, str] | None:
    n, w = len(losses), window_size(len(losses))
    if n < 3 * w:
        return None
    low = min(level(losses[i : i + w]) for i in range(0, n - 2 * w + 1, w))
    now = level(losses[-w:])
    margin = DIVERGENCE_NOISE_Z * 1.2533 * noise_scale(losses) / math.sqrt(w)  # 1.2533: standard error of a median
    if low <= 0 or now <= low * (1 + DIVERGENCE_RISE) or now - low <= margin:
        return None
    return (
        "Unstable: the loss is going back up.",
        f"The smoothed training loss rose from a low of {low:.3f} to {now:.3f} ({(now / low - 1) * 100:.0f}% higher). "
        "Training loss should not climb; this usually means the learning rate is too high for this model and data.",
    )


def _oscillating(losses: list[float]) -> tuple[str, str] | None:
    recent = max(3 * MIN_POINTS, len(losses) // 10)
    tail, earlier = losses[-recent:], losses[:-recent]
    noise, median = noise_scale(tail), level(tail)
    grew = len(earlier) >= 2 * MIN_POINTS and noise >= OSCILLATION_GROWTH * noise_scale(earlier)
    share = OSCILLATION_GROWN_NOISE if grew else OSCILLATION_NOISE
    if median <= 0 or noise < OSCILLATION_MIN_NOISE or noise < share * median:
        return None
    return (
        "Unstable: the loss is swinging up and down.",
        f"Over the last {len(tail)} points the loss swings by about {noise:.2f} from one step to the next, around a "
        f"median of {median:.2f}{' (far more than earlier in the run)' if grew else ''}. Oscillation like this "
        "usually means the learning rate is too high.",
    )


def diagnose_unstable(
    losses: list[float], steps: list[float], grads: list[float], rate: float | None
) -> Diagnosis | None:
    found = _spiking(losses, steps) or _exploding_gradients(grads) or _rising(losses) or _oscillating(losses)
    if found is None:
        return None
    return Diagnosis(
        "unstable",
        found[0],
        found[1],
        [
            "Restart with half the learning rate (the smol course gives 5e-5 as SmolLM3's conservative choice).",
            "If spikes line up with particular rows, check them in step 2 (very long or odd rows).",
        ],
        restart_with_learning_rate(rate, 0.5),
        SOURCE + ": instability",
    )
