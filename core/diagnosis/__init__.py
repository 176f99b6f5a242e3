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
   falling"): 2+ evaluations since the best, all worse, the last 3%+ (and
   0.02+ nats) above it, while the smoothed training loss fell 2%+ since that
   best evaluation.
5. **memorisation** (§4: "extremely low training loss"): recent median
   training loss under ``MEMORISATION_LOSS`` = 0.1 nats/token: the right token
   gets e^-0.1 ~ 90% probability on average, 5x below the 0.5-1.5 where §4
   says healthy runs settle. A validation loss under 0.2 overrules it: the
   model does as well on unseen rows (a very predictable task, not copying).
   So does a templated task (the built-in demos: answers that follow a few
   fixed patterns) until a validation point shows the unseen rows far higher:
   there a loss near 0 is the goal.
6. **underfitting** (§4: "loss barely improves"): after 25% of the run (30
   logged points when its length is unknown) the smoothed loss is under 10%
   below where it started. Earlier, a flat loss is reported as too early.
7. **healthy** otherwise, with the level compared to §4's 2-4 start and
   0.5-1.5 finish, and the last validation loss to the training loss at its
   step (within 30% or 0.05 nats: "tracks it"; more is mentioned, above or
   below). Before the first validation point it says when that comes, and
   makes no claim about unseen rows.

Every rule reads one ``LossFacts`` (``core/diagnosis/facts.py``): the numbers the Train step's card and the
run's summary show too. The loss "fell from" the first logged value, as the card says; smoothed values are
named as medians.

- ``core/diagnosis/facts.py``: the ``LossFacts`` of a run, and its ``RunContext`` (validation split, task).
- ``core/diagnosis/validation.py``: the sentences about validation, or why there is none yet.
- ``core/diagnosis/thresholds.py``: every threshold above, with why it is set there.
- ``core/diagnosis/curves.py``: logged entries into points; the robust statistics (level, noise, window).
- ``core/diagnosis/instability.py``: rule 3; ``core/diagnosis/rules.py``: the others.
- ``core/diagnosis/verdict.py``: the ``Diagnosis`` every rule returns.
"""

from __future__ import annotations

from typing import Any

from core.diagnosis.facts import LossFacts, RunContext, loss_facts
from core.diagnosis.instability import diagnose_unstable, find_spikes
from core.diagnosis.rules import (
    diagnose_broken,
    diagnose_healthy,
    diagnose_memorisation,
    diagnose_overfitting,
    diagnose_too_early,
    diagnose_underfitting,
)
from core.diagnosis.verdict import Diagnosis


def diagnose(
    metrics: list[dict[str, Any]],
    eval_metrics: list[dict[str, Any]] | None = None,
    total_steps: int | None = None,
    *,
    learning_rate: float | None = None,
    context: RunContext | None = None,
) -> Diagnosis:
    """Read the curves and say what they mean, with the numbers behind it and what to do next.

    ``metrics`` and ``eval_metrics`` are the job's logged entries (``loss`` /
    ``eval_loss`` with their ``step``); ``total_steps`` is the run's planned
    optimizer steps, if known; ``context`` what the run's settings and data say
    (a validation split, how often it is measured, a templated task).
    ``learning_rate`` is the configured peak rate that suggested restarts scale;
    without it the highest logged rate is used (lower than the peak during
    warmup). Never raises on odd input.

    >>> diagnose([]).status
    'too_early'
    >>> diagnose([{"step": i, "loss": 0.8 + 2.2 * 0.9**i} for i in range(1, 41)], total_steps=40).status
    'healthy'
    """
    return diagnose_facts(loss_facts(metrics, eval_metrics, total_steps, context), learning_rate=learning_rate)


def diagnose_facts(facts: LossFacts, *, learning_rate: float | None = None) -> Diagnosis:
    """``diagnose`` of facts already computed: the Train step passes the ones its status card shows."""
    losses, evals = facts.losses, [v for _, v in facts.evals]
    rate = facts.peak_rate(learning_rate)
    found = diagnose_broken(losses, evals, rate) or diagnose_too_early(facts)
    if found:
        return found
    found = (
        diagnose_unstable(losses, facts.steps, list(facts.grad_norms), rate)
        or diagnose_overfitting(facts)
        or diagnose_memorisation(facts)
        or diagnose_underfitting(facts, rate)
    )
    return found or diagnose_healthy(facts, len(find_spikes(losses)))
