"""What the validation points say next to the training loss, or why there is none yet, in one sentence each.

Every percentage is computed from the numbers as the sentence prints them (three decimals), so a reader who
checks the arithmetic gets the same figure; a difference is worded "above" or "below", never "-36% above".
"""

from __future__ import annotations

from core.diagnosis.facts import LossFacts
from core.diagnosis.thresholds import HEALTHY_GAP, HEALTHY_GAP_FLOOR


def shown(value: float) -> float:
    """A loss as the sentences print it (three decimals): percentages are computed from this."""
    return round(value, 3)


def percent_apart(value: float, reference: float) -> float:
    """How far ``value`` is from ``reference``, in percent of it, as printed (0 when the reference shows as 0).

    >>> percent_apart(0.75, 1.0), percent_apart(1.25, 1.0)
    (-25.0, 25.0)
    """
    value, reference = shown(value), shown(reference)
    return (value - reference) / reference * 100 if reference > 0 else 0.0


def no_point_yet(facts: LossFacts) -> str:
    """Why there is no validation loss to read yet: when the first point comes, or why none will."""
    context = facts.context
    if context.validation_split is False:
        return (
            "There is no validation split (too few rows to hold some out, or none was kept), so nothing measures "
            "how well this carries over to unseen rows."
        )
    if context.eval_every == 0:
        return "Validation is off (Eval steps = 0), so nothing measures how well this carries over to unseen rows."
    upcoming = facts.next_eval_step
    return f"No validation point yet: the first is at step {upcoming}." if upcoming else "No validation point yet."


def versus_training(facts: LossFacts) -> str:
    """The latest validation loss against the smoothed training loss at its step."""
    step, value = facts.latest_eval
    train = facts.train_level_at(step)
    if train is None:
        return f"Validation loss {shown(value):.3f} (step {step:g})."
    gap = percent_apart(value, train)
    start = f"Validation loss {shown(value):.3f} (step {step:g})"
    if abs(shown(value) - shown(train)) <= HEALTHY_GAP_FLOOR or round(abs(gap)) <= HEALTHY_GAP * 100:  # as printed
        return f"{start} tracks the training loss ({shown(train):.3f} at that step) closely."
    if gap > 0:
        return (
            f"{start} is {gap:.0f}% above the training loss ({shown(train):.3f}) at that step: a gap to keep an "
            "eye on."
        )
    return (
        f"{start} is {-gap:.0f}% below the training loss ({shown(train):.3f}) at that step: the held-out rows are "
        "no harder for the model than the training rows, no sign of overfitting."
    )
