"""A plain-language reading of the training curves (sft-facts §4).

Rules, checked in this order (the first that applies wins, because a broken
or unstable run makes every other reading meaningless):

1. **broken**: a NaN/inf loss, or a loss of exactly 0 for 3+ logged steps
   (masking or data that leaves nothing to learn).
2. **too early**: fewer than 10 logged steps, or under 5% of the run.
3. **unstable**: recent losses spike above 3x the rolling median of the
   previous 10 steps, or the gradient norm jumps above 10x its median.
4. **overfitting**: the validation loss rose in each of the last 2 evaluations
   (3 evaluations in total at least) and ended above its minimum by 2%+,
   while the smoothed training loss kept falling.
5. **memorisation**: the smoothed training loss is below 0.1 (sft-facts §4:
   "extremely low training loss"; a token-mean NLL of 0.1 means ~90% of the
   probability on every next token: the model is reciting).
6. **underfitting**: after 25%+ of the run, the smoothed loss fell by less
   than 10% from its start.
7. **healthy** otherwise: it fell clearly and validation tracks training.

Smoothing is the median of the first/last windows of 5 steps, so the noisy
per-step losses of small batches do not raise false alarms.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

SOURCE = "sft-facts §4 (reading the loss)"
MIN_POINTS = 10
SPIKE_FACTOR = 3.0
GRAD_SPIKE_FACTOR = 10.0
MEMORISATION_LOSS = 0.1
UNDERFIT_DROP = 0.10
WINDOW = 5


@dataclass
class Diagnosis:
    status: str
    title: str
    explanation: str
    advice: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    source: str = SOURCE


def _values(entries: list[dict[str, Any]], key: str) -> list[float]:
    out = []
    for entry in entries or []:
        value = entry.get(key) if isinstance(entry, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append(float(value))
    return out


def _learning_rate_of(metrics: list[dict[str, Any]]) -> float | None:
    rates = [r for r in _values(metrics, "learning_rate") if r > 0]
    return max(rates) if rates else None


def summarise_run(metrics: list[dict[str, Any]]) -> dict[str, float | int | None]:
    """A few plain numbers about the training loss."""
    losses = [v for v in _values(metrics, "loss") if math.isfinite(v)]
    tokens = _values(metrics, "num_tokens")
    if not losses:
        return {
            "steps": 0,
            "first_loss": None,
            "last_loss": None,
            "min_loss": None,
            "drop_percent": None,
            "tokens": int(tokens[-1]) if tokens else None,
        }
    first = statistics.median(losses[:WINDOW])
    last = statistics.median(losses[-WINDOW:])
    return {
        "steps": len(losses),
        "first_loss": first,
        "last_loss": last,
        "min_loss": min(losses),
        "drop_percent": (1 - last / first) * 100 if first > 0 else None,
        "tokens": int(tokens[-1]) if tokens else None,
    }


def _restart_lower_lr(metrics) -> list[dict[str, Any]]:
    rate = _learning_rate_of(metrics)
    return [{"kind": "restart", "changes": {"learning_rate": rate / 2}}] if rate else []


def diagnose(
    metrics: list[dict[str, Any]], eval_metrics: list[dict[str, Any]] | None = None, total_steps: int | None = None
) -> Diagnosis:
    """Read the curves and say what they mean, with the numbers behind it and what to do next."""
    losses = _values(metrics, "loss")
    bad = [v for v in losses if not math.isfinite(v)]
    zeros = [v for v in losses[-3:] if v == 0.0]
    if bad or len(zeros) == 3:
        what = "NaN or infinite" if bad else "exactly 0"
        return Diagnosis(
            "broken",
            "Something is broken: the loss is " + what + ".",
            f"The training loss became {what}. A zero loss usually means no token carries loss (a masking or data "
            "problem); NaN means the numbers blew up, often from a learning rate that is far too high.",
            [
                "Check the rendered training samples in step 2: do the answer tokens carry loss?",
                "Lower the learning rate (e.g. by 10x) and start again.",
            ],
            [{"kind": "stop"}, *_restart_lower_lr(metrics)],
        )
    enough = len(losses) >= MIN_POINTS and (not total_steps or len(losses) >= 0.05 * total_steps)
    if not enough:
        return Diagnosis(
            "too_early",
            "Too early to tell.",
            f"{len(losses)} loss value(s) so far; the first steps are noisy. A healthy run starts around 2-4 and "
            "falls quickly.",
        )
    for i in range(max(WINDOW * 2, len(losses) - WINDOW), len(losses)):
        reference = statistics.median(losses[i - 10 : i])
        if reference > 0 and losses[i] > SPIKE_FACTOR * reference:
            return Diagnosis(
                "unstable",
                "Unstable: the loss is spiking.",
                f"At logged step {i + 1} the loss jumped to {losses[i]:.2f}, over {SPIKE_FACTOR:g}x the recent median "
                f"of {reference:.2f}. Spikes and oscillation usually mean the learning rate is too high.",
                ["Restart with a lower learning rate (half is a good first try).", "Check for very long or odd rows."],
                _restart_lower_lr(metrics),
            )
    grads = _values(metrics, "grad_norm")
    if len(grads) >= 10:
        median = statistics.median(grads[:-3])
        if median > 0 and max(grads[-3:]) > GRAD_SPIKE_FACTOR * median:
            return Diagnosis(
                "unstable",
                "Unstable: the gradient norm exploded.",
                f"The gradient norm reached {max(grads[-3:]):.1f}, over {GRAD_SPIKE_FACTOR:g}x its median of "
                f"{median:.2f}. Clipping limits the damage, but the learning rate is probably too high.",
                ["Restart with a lower learning rate."],
                _restart_lower_lr(metrics),
            )
    summary = summarise_run(metrics)
    first, last = summary["first_loss"], summary["last_loss"]
    evals = _values(eval_metrics or [], "eval_loss")
    if len(evals) >= 3 and evals[-1] > evals[-2] > evals[-3] and evals[-1] > min(evals) * 1.02 and last < first:
        best = min(evals)
        return Diagnosis(
            "overfitting",
            "Overfitting: validation loss is rising while training loss falls.",
            f"Validation loss went from its best of {best:.3f} up to {evals[-1]:.3f} over the last evaluations, "
            f"while training loss kept falling to {last:.3f}. The model is learning the training rows, not the task.",
            [
                "Stop now and keep the best checkpoint.",
                "Train for fewer steps or epochs.",
                "Add more, or more varied, data.",
                "Turn on early stopping on validation loss.",
            ],
            [{"kind": "stop_keep_best"}],
        )
    if last < MEMORISATION_LOSS:
        return Diagnosis(
            "memorisation",
            "Possible memorisation: the training loss is extremely low.",
            f"The training loss is {last:.3f}, below {MEMORISATION_LOSS:g}: the model predicts almost every training "
            "token with near certainty. Check the samples: do answers copy training rows or fail on new prompts?",
            ["Compare answers on held-out prompts in step 5.", "Use fewer steps or more varied data."],
            [{"kind": "stop_keep_best"}],
        )
    progressed = not total_steps or len(losses) >= 0.25 * total_steps
    if progressed and first > 0 and (first - last) / first < UNDERFIT_DROP:
        return Diagnosis(
            "underfitting",
            "Underfitting: the loss is barely moving.",
            f"After {len(losses)} steps the loss went from {first:.3f} to {last:.3f}, a drop of "
            f"{(first - last) / first * 100:.0f}%. The model is learning very slowly.",
            ["Raise the learning rate (e.g. 2x).", "Check data quality in step 2.", "Consider a bigger model."],
            [{"kind": "restart", "changes": {"learning_rate": (_learning_rate_of(metrics) or 1e-4) * 2}}],
        )
    gap = f" Validation loss {evals[-1]:.3f} tracks it." if evals else ""
    return Diagnosis(
        "healthy",
        "Healthy: the loss is falling as it should.",
        f"The loss fell from {first:.3f} to {last:.3f} ({summary['drop_percent']:.0f}% lower).{gap} A healthy run "
        "drops sharply, then flattens out around 0.5-1.5.",
        ["Keep an eye on the sample answers: the format should settle before the loss flattens."],
    )
