"""A plain-language reading of the training curves (sft-facts §4, "Reading the loss").

``diagnose`` returns one ``Diagnosis``. Rules are checked in this order and the
first that applies wins: a broken run makes every other reading meaningless,
instability explains a rising validation loss by itself, and a rising
validation loss is stronger evidence than a low training loss alone.

1. **broken**: a NaN/inf training or validation loss, a negative loss, or
   ``ZERO_RUN`` (3) logged losses in a row of exactly 0 that did not follow a
   loss already under ``MEMORISATION_LOSS`` (no token carries loss: masking
   or data). Zeros reached gradually are a model reciting: rule 5.
2. **too early**: under ``MIN_POINTS`` (10) logged losses or ``MIN_PROGRESS``
   (5%) of the run's steps: the first steps are mostly noise.
3. **unstable** (§4: "sudden spikes, oscillation, NaN: LR too high"), any of:
   a *spike* (a loss over ``SPIKE_FACTOR`` (3x) the median of the 20 before it
   and 0.5+ higher) in the last 5 points that has not come back down, or 3+
   spikes making up 1%+ of the run; an *exploding gradient norm* (median of
   the last 5 over 10x the earlier median, NaN/inf counting as huge; clipping
   at 1.0, §3, hides the damage, not the cause); a *rising* loss (latest window
   median 20%+ above the lowest earlier one, and beyond 6 noise standard
   errors); *oscillation* (recent step-to-step noise over 75% of the median,
   or over 20% of it after tripling since earlier in the run; 0.15+ nats).
4. **overfitting** (§4: "validation loss rises while training loss keeps
   falling"): 2+ evaluations since the best, all worse, the last 3%+ above it,
   while the smoothed training loss fell 2%+ since that best evaluation.
5. **memorisation** (§4: "extremely low training loss"): recent median
   training loss under ``MEMORISATION_LOSS`` = 0.1 nats/token: the right token
   gets e^-0.1 ~ 90% probability on average, 5x below the 0.5-1.5 where §4
   says healthy runs settle. A validation loss under 0.2 overrules it: the
   model does as well on unseen rows (a very predictable task, not copying).
6. **underfitting** (§4: "loss barely improves"): after 25% of the run (30
   logged points when its length is unknown) the smoothed loss is under 10%
   below where it started. Earlier, a flat loss is reported as too early.
7. **healthy** otherwise, with the level compared to §4's 2-4 start and
   0.5-1.5 finish, and the last validation loss to the training loss at its
   step (within 30%: "tracks it with a small gap"; more is mentioned).

Robust statistics keep batch-4 noise from raising alarms: a level is the median
of a window (a tenth of the points, 10 to 50), the start is the median of the
first 5, the noise scale is a trimmed mean of step-to-step changes (trend and a
few spikes barely move it), and progress is in optimizer steps (the ``step``
key), whatever ``logging_steps`` is. Calibrated on simulated curves (30-5,000
points, 5-30% multiplicative or 0.1-0.25 additive noise, hard batches, warmup;
300 seeds each): at most 1 in 300 false alarms, all at the extreme noise levels.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

SOURCE = "sft-facts §4 (reading the loss)"
STATUSES = ("too_early", "healthy", "overfitting", "underfitting", "memorisation", "unstable", "broken")

MIN_POINTS = 10  # below this, per-step noise dominates any shape
MIN_PROGRESS = 0.05  # share of the run's steps before a diagnosis is offered
ZERO_RUN = 3  # consecutive exact-zero losses that mean nothing carries loss
START_WINDOW = 5  # points whose median is "where the loss started"
SPIKE_FACTOR = 3.0  # a spike is this many times the recent median ...
SPIKE_MIN_RISE = 0.5  # ... and at least this much higher (nats), so tiny low losses don't count
SPIKE_WINDOW = 20  # losses before a point that form its reference median
SPIKE_RECENT = 5  # a spike among the last this many points that has not come back down is an alarm
SPIKES_FOR_UNSTABLE = 3  # this many spikes anywhere, if also SPIKE_SHARE of the points, make a run unstable ...
SPIKE_SHARE = 0.01  # ... so rare hard batches in a 5,000-step run don't
GRAD_EXPLOSION_FACTOR = 10.0  # a recent grad norm this many times the earlier median
DIVERGENCE_RISE = 0.20  # smoothed loss this far above its earlier low
DIVERGENCE_NOISE_Z = 6.0  # ... and this many noise standard errors of a window median above it
OSCILLATION_NOISE = 0.75  # recent step-to-step noise / median: this much is oscillation whatever came before
OSCILLATION_GROWTH = 3.0  # ... or noise this many times the earlier noise ...
OSCILLATION_GROWN_NOISE = 0.2  # ... once it is also this share of the median
OSCILLATION_MIN_NOISE = 0.15  # and never for swings under this many nats (tiny losses jitter in relative terms)
OVERFIT_EVALS = 2  # evaluations after the best one, all worse
OVERFIT_RISE = 0.03  # the last one at least this much above the best (relative), beyond eval jitter
OVERFIT_TRAIN_FALL = 0.02  # and the smoothed training loss at least this much lower than at the best one
MEMORISATION_LOSS = 0.1  # mean NLL 0.1: the right token gets e^-0.1 ~ 90% probability (geometric mean)
UNDERFIT_DROP = 0.10  # relative drop from the start that counts as learning
UNDERFIT_PROGRESS = 0.25  # share of the run before a flat loss counts as underfitting
HEALTHY_START = (2, 4)  # where a pretrained model's SFT loss usually starts (sft-facts §4)
HEALTHY_END = (0.5, 1.5)  # where a healthy SFT loss usually settles (sft-facts §4)
HEALTHY_GAP = 0.3  # validation within 30% of training "tracks it with a small gap" (§4); more is worth a mention


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
    """Concrete next steps (sft-facts §4)."""
    actions: list[dict[str, Any]] = field(default_factory=list)
    """Suggestions the UI can offer as one-click buttons (see the class docstring)."""
    source: str = SOURCE
    """Where the rule and the advice come from."""


# ---------------------------------------------------------------- reading the logs


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _points(entries: list[dict[str, Any]] | None, key: str) -> list[tuple[float, float]]:
    """(step, value) for every entry that has a number under ``key``; the position stands in for a missing step.

    >>> _points([{"step": 5, "loss": 2.0}, {"loss": 1.5}, {"step": 7}], "loss")
    [(5.0, 2.0), (2.0, 1.5)]
    """
    out = []
    for index, entry in enumerate(entries or []):
        if not isinstance(entry, dict):
            continue
        value = _number(entry.get(key))
        if value is None:
            continue
        step = _number(entry.get("step"))
        out.append((step if step is not None and math.isfinite(step) else float(index + 1), value))
    return out


def _window(n: int) -> int:
    """Points per smoothing window: a tenth of the run, at least 10 and at most 50.

    >>> _window(40), _window(300), _window(10_000)
    (10, 30, 50)
    """
    return max(MIN_POINTS, min(50, n // 10))


def _level(values: list[float]) -> float:
    """Median: the loss "level" of a window, unmoved by one odd batch."""
    return statistics.median(values)


def _noise(values: list[float]) -> float:
    """Per-step noise scale: the mean of the smallest 90% of |step-to-step changes|, scaled to a standard deviation.

    Differences cancel a slow trend; dropping the largest 10% keeps a few spikes from inflating it; a trimmed
    mean is steadier than a median on the 30-point windows used here. (For Gaussian noise of scale s, the
    changes have scale s*sqrt(2) and the trimmed mean of their size is 0.657 of that, hence the 1.0758.)

    >>> _noise([1.0, 1.0, 1.0])
    0.0
    """
    changes = sorted(abs(b - a) for a, b in zip(values, values[1:], strict=False))
    kept = changes[: max(1, int(len(changes) * 0.9))]
    return 1.0758 * sum(kept) / len(kept) if len(values) >= 3 else 0.0


def _progress(steps: list[float], total_steps: int | None) -> float | None:
    if not total_steps or total_steps <= 0 or not steps:
        return None
    return max(steps) / total_steps


def _learning_rate(metrics: list[dict[str, Any]], configured: float | None) -> float | None:
    """The configured peak learning rate, else the highest one logged (the peak once warmup is over)."""
    if configured and configured > 0 and math.isfinite(configured):
        return configured
    rates = [r for _, r in _points(metrics, "learning_rate") if math.isfinite(r) and r > 0]
    return max(rates) if rates else None


def _round(value: float) -> float:
    """Two significant figures, so a suggested setting reads like one a person would type.

    >>> _round(0.00065432)
    0.00065
    """
    return float(f"{value:.2g}")


def _restart_with_learning_rate(rate: float | None, factor: float) -> list[dict[str, Any]]:
    return [{"kind": "restart", "changes": {"learning_rate": _round(rate * factor)}}] if rate else []


def _zero_runs(losses: list[float]) -> list[tuple[int, int]]:
    """(start index, length) of every run of exact zeros.

    >>> _zero_runs([1.0, 0.0, 0.0, 2.0, 0.0])
    [(1, 2), (4, 1)]
    """
    runs: list[tuple[int, int]] = []
    for i, value in enumerate(losses):
        if value != 0.0:
            continue
        if runs and runs[-1][0] + runs[-1][1] == i:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((i, 1))
    return runs


def _broken(losses: list[float], evals: list[float], rate: float | None) -> Diagnosis | None:
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
            [{"kind": "stop"}, *_restart_with_learning_rate(rate, 0.5), {"kind": "review_data"}],
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
    for start, length in _zero_runs(losses):
        before = losses[max(0, start - START_WINDOW) : start]
        if length >= ZERO_RUN and not (before and _level(before) < MEMORISATION_LOSS):
            return Diagnosis(
                "broken",
                "Something is broken: the loss is stuck at exactly 0.",
                f"{length} logged steps in a row have a loss of exactly 0"
                + (f", straight after a loss of {_level(before):.3f}" if before else ", from the very first step")
                + ". That means no token carried loss: the masking or the data left nothing to learn from, so the "
                "model is not training.",
                [
                    "Open the rendered training samples in step 2: the answer tokens should carry loss.",
                    "Check that the answer/completion column is not empty and survives truncation (max length).",
                ],
                [{"kind": "stop"}, {"kind": "review_data"}],
                SOURCE + ", and §2 (loss masking)",
            )
    return None


def _too_early(losses: list[float], progress: float | None) -> Diagnosis | None:
    if len(losses) >= MIN_POINTS and (progress is None or progress >= MIN_PROGRESS):
        return None
    share = f" ({progress:.0%} of the run)" if progress is not None else ""
    return Diagnosis(
        "too_early",
        "Too early to tell.",
        f"{len(losses)} loss value(s) so far{share}; the first steps are mostly noise. A healthy run starts around "
        "2-4 and falls quickly, then flattens out.",
    )


def _spikes(losses: list[float]) -> list[tuple[int, float, float]]:
    """(index, loss, reference median) of every spike: SPIKE_FACTOR x the previous SPIKE_WINDOW median and more."""
    found = []
    for i in range(MIN_POINTS, len(losses)):
        reference = _level(losses[max(0, i - SPIKE_WINDOW) : i])
        if reference > 0 and losses[i] > SPIKE_FACTOR * reference and losses[i] - reference >= SPIKE_MIN_RISE:
            found.append((i, losses[i], reference))
    return found


def _recovered(after: list[float], reference: float) -> bool:
    """Whether the losses after a spike are back near the level before it (one hard batch, not a blow-up)."""
    return bool(after) and _level(after) < 1.5 * reference


def _spiking(losses: list[float], steps: list[float]) -> tuple[str, str] | None:
    n, spikes = len(losses), _spikes(losses)
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
    earlier = _level([g for g in grads[:-SPIKE_RECENT] if math.isfinite(g)] or [0.0])
    latest = _level([g if math.isfinite(g) else math.inf for g in grads[-SPIKE_RECENT:]])
    if earlier <= 0 or latest <= GRAD_EXPLOSION_FACTOR * earlier:
        return None
    return (
        "Unstable: the gradient norm exploded.",
        f"The last {SPIKE_RECENT} gradient norms have a median of {latest:.1f}, over {GRAD_EXPLOSION_FACTOR:g}x the "
        f"earlier median of {earlier:.2f}. Gradient clipping limits each step, but the learning rate is probably "
        "too high.",
    )


def _rising(losses: list[float]) -> tuple[str, str] | None:
    n, w = len(losses), _window(len(losses))
    if n < 3 * w:
        return None
    low = min(_level(losses[i : i + w]) for i in range(0, n - 2 * w + 1, w))
    now = _level(losses[-w:])
    margin = DIVERGENCE_NOISE_Z * 1.2533 * _noise(losses) / math.sqrt(w)  # 1.2533: standard error of a median
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
    noise, median = _noise(tail), _level(tail)
    grew = len(earlier) >= 2 * MIN_POINTS and noise >= OSCILLATION_GROWTH * _noise(earlier)
    share = OSCILLATION_GROWN_NOISE if grew else OSCILLATION_NOISE
    if median <= 0 or noise < OSCILLATION_MIN_NOISE or noise < share * median:
        return None
    return (
        "Unstable: the loss is swinging up and down.",
        f"Over the last {len(tail)} points the loss swings by about {noise:.2f} from one step to the next, around a "
        f"median of {median:.2f}{' (far more than earlier in the run)' if grew else ''}. Oscillation like this "
        "usually means the learning rate is too high.",
    )


def _unstable(losses: list[float], steps: list[float], grads: list[float], rate: float | None) -> Diagnosis | None:
    found = _spiking(losses, steps) or _exploding_gradients(grads) or _rising(losses) or _oscillating(losses)
    if found is None:
        return None
    return Diagnosis(
        "unstable",
        found[0],
        found[1],
        [
            "Restart with half the learning rate (sft-facts §3: 5e-5 is the conservative choice for SmolLM3).",
            "If spikes line up with particular rows, check them in step 2 (very long or odd rows).",
        ],
        _restart_with_learning_rate(rate, 0.5),
        SOURCE + ": instability",
    )


def _overfitting(train: list[tuple[float, float]], evals: list[tuple[float, float]]) -> Diagnosis | None:
    if len(evals) < OVERFIT_EVALS + 1:
        return None
    best_index = min(range(len(evals)), key=lambda i: evals[i][1])
    best_step, best = evals[best_index]
    after = [v for _, v in evals[best_index + 1 :]]
    last = evals[-1][1]
    if len(after) < OVERFIT_EVALS or not all(v > best for v in after) or last < best * (1 + OVERFIT_RISE):
        return None
    w = _window(len(train))
    then = [v for s, v in train if s <= best_step][-w:]
    now = _level([v for _, v in train[-w:]])
    if not then or now > _level(then) * (1 - OVERFIT_TRAIN_FALL):
        return None
    return Diagnosis(
        "overfitting",
        "Overfitting: validation loss is rising while training loss falls.",
        f"Validation loss was best at {best:.3f} (step {best_step:g}) and has risen to {last:.3f} over the "
        f"{len(after)} evaluations since, while the training loss kept falling from {_level(then):.3f} to {now:.3f}. "
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


def _memorisation(losses: list[float], evals: list[float], total_steps: int | None) -> Diagnosis | None:
    recent = _level(losses[-max(MIN_POINTS, 2 * _window(len(losses))) :])
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


def _underfitting(losses: list[float], progress: float | None, rate: float | None) -> Diagnosis | None:
    """A Diagnosis (underfitting, or too early to judge a flat start), else None."""
    start, now = _level(losses[:START_WINDOW]), _level(losses[-_window(len(losses)) :])
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
            "With LoRA, a higher rank (32 or 64) adds capacity (sft-facts §3); or try a bigger model.",
        ],
        _restart_with_learning_rate(rate, 2.0),
        SOURCE + ": underfitting",
    )


def _healthy(train: list[tuple[float, float]], evals: list[tuple[float, float]], old_spikes: int) -> Diagnosis:
    losses = [v for _, v in train]
    start, now = _level(losses[:START_WINDOW]), _level(losses[-_window(len(losses)) :])
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
        then = _level([v for s, v in train if s <= eval_step][-_window(len(train)) :] or [now])
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


def diagnose(
    metrics: list[dict[str, Any]],
    eval_metrics: list[dict[str, Any]] | None = None,
    total_steps: int | None = None,
    *,
    learning_rate: float | None = None,
) -> Diagnosis:
    """Read the curves and say what they mean, with the numbers behind it and what to do next.

    ``metrics`` and ``eval_metrics`` are the job's logged entries (``loss`` /
    ``eval_loss`` with their ``step``); ``total_steps`` is the run's planned
    optimizer steps, if known. ``learning_rate`` is the configured peak rate
    that suggested restarts scale; without it the highest logged rate is used
    (lower than the peak during warmup). Never raises on odd input.

    >>> diagnose([]).status
    'too_early'
    >>> diagnose([{"step": i, "loss": 0.8 + 2.2 * 0.9**i} for i in range(1, 41)], total_steps=40).status
    'healthy'
    """
    train = _points(metrics, "loss")
    evals_all = _points(eval_metrics, "eval_loss")
    losses, steps = [v for _, v in train], [s for s, _ in train]
    evals = [v for _, v in evals_all]
    rate = _learning_rate(metrics, learning_rate)
    progress = _progress(steps, total_steps)
    found = _broken(losses, evals, rate) or _too_early(losses, progress)
    if found:
        return found
    grads = [v for _, v in _points(metrics, "grad_norm")]
    found = (
        _unstable(losses, steps, grads, rate)
        or _overfitting(train, evals_all)
        or _memorisation(losses, evals, total_steps)
        or _underfitting(losses, progress, rate)
    )
    return found or _healthy(train, evals_all, len(_spikes(losses)))
