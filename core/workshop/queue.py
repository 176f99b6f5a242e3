"""The order of the waiting line, and how long each waiting run has to wait.

First come, first served lets one person who queues five runs hold the trainer for an hour. In workshop
mode the line takes turns by person instead (round robin): the person served longest ago (or never) goes
first with their oldest waiting run, then the next person, and once everyone waiting has had a turn, each
one's second run, and so on. A run the instructor deprioritised waits behind every other run.

The manager keeps the waiting runs in the order they came; these functions only order them, so the
order shown to everyone is the order the trainer takes them in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Waiting:
    """One run in the line: its id, its owner and when the instructor deprioritised it (0: never)."""

    run_id: str
    owner: str | None
    deprioritised: int = 0


def fair_order(waiting: list[Waiting], last_started: dict[str | None, float], by_person: bool = True) -> list[str]:
    """The run ids in the order they will start.

    ``waiting``: in the order they came; ``last_started``: when each owner's latest run left the line;
    ``by_person``: take turns by owner (workshop mode), else first come, first served.

    >>> line = [Waiting("a1", "ann"), Waiting("a2", "ann"), Waiting("a3", "ann"), Waiting("b1", "bob")]
    >>> fair_order(line, {}), fair_order(line, {}, by_person=False)
    (['a1', 'b1', 'a2', 'a3'], ['a1', 'a2', 'a3', 'b1'])
    >>> fair_order(line, {"ann": 100.0})  # ann was just served: bob goes first
    ['b1', 'a1', 'a2', 'a3']
    >>> fair_order([Waiting("a1", "ann", deprioritised=1), Waiting("b1", "bob")], {})
    ['b1', 'a1']
    """
    normal = [w for w in waiting if not w.deprioritised]
    pushed_back = sorted((w for w in waiting if w.deprioritised), key=lambda w: w.deprioritised)
    if not by_person:
        return [w.run_id for w in normal + pushed_back]
    per_owner: dict[str | None, list[str]] = {}
    for item in normal:  # dicts keep insertion order: owners by their oldest waiting run
        per_owner.setdefault(item.owner, []).append(item.run_id)
    arrival = {owner: place for place, owner in enumerate(per_owner)}
    owners = sorted(per_owner, key=lambda owner: (last_started.get(owner, float("-inf")), arrival[owner]))
    order = []
    for turn in range(max((len(runs) for runs in per_owner.values()), default=0)):
        order += [per_owner[owner][turn] for owner in owners if turn < len(per_owner[owner])]
    return order + [w.run_id for w in pushed_back]


@dataclass(frozen=True)
class WaitEstimate:
    """Seconds until a waiting run starts: the time left of the run training now plus the runs ahead."""

    seconds: float
    runs_ahead: int
    complete: bool
    """False when a run ahead has no estimate (or has overrun it): then the wait is at least ``seconds``."""

    def describe(self) -> str:
        """The sentence under the place in line.

        >>> WaitEstimate(420, 2, True).describe()
        'About 7 min until it starts (the estimates of the 2 runs ahead of it, the one training included).'
        >>> WaitEstimate(30, 1, False).describe()
        'At least 1 min until it starts: not every run ahead of it has a time estimate, or one ran past its own.'
        """
        minutes = max(1, round(self.seconds / 60))
        ahead = "the run ahead of it" if self.runs_ahead == 1 else f"the {self.runs_ahead} runs ahead of it"
        if not self.complete:
            return (
                f"At least {minutes} min until it starts: not every run ahead of it has a time estimate, "
                "or one ran past its own."
            )
        return f"About {minutes} min until it starts (the estimates of {ahead}, the one training included)."


def wait_estimates(
    order: list[str], seconds_of: dict[str, float | None], training_left: float | None, training: bool
) -> dict[str, WaitEstimate]:
    """The wait of every waiting run in ``order``.

    ``seconds_of``: each waiting run's whole-run estimate (core/run_time.py, capped by the longest run
    allowed; None: none); ``training_left``: seconds left of the run training now (None: unknown);
    ``training``: whether a run trains now at all.

    >>> waits = wait_estimates(["b", "c"], {"b": 300.0, "c": 200.0}, 60.0, True)
    >>> waits["b"].seconds, waits["c"].seconds, waits["c"].runs_ahead, waits["c"].complete
    (60.0, 360.0, 2, True)
    >>> wait_estimates(["b", "c"], {"b": None, "c": 200.0}, 60.0, True)["c"].complete
    False
    """
    seconds = training_left or 0.0
    complete = training_left is not None or not training
    ahead = 1 if training else 0
    waits = {}
    for run_id in order:
        waits[run_id] = WaitEstimate(seconds, ahead, complete)
        own = seconds_of.get(run_id)
        seconds += own or 0.0
        complete = complete and own is not None
        ahead += 1
    return waits


def capped_estimate(estimate: dict | None, asked_steps: int, steps: int, max_minutes: float) -> float | None:
    """Seconds a run will take, from its whole-run estimate (core/run_time.py ``RunTimeEstimate.to_dict``),
    after the instructor's caps: fewer steps than asked, and no more than ``max_minutes`` after start-up.

    >>> estimate = {"total_seconds": 236.0, "parts": [["start-up", 36.0], ["100 training steps", 200.0]]}
    >>> capped_estimate(estimate, 100, 100, 0), capped_estimate(estimate, 100, 50, 0)
    (236.0, 136.0)
    >>> capped_estimate(estimate, 100, 100, max_minutes=1)  # start-up + 1 min
    96.0
    >>> capped_estimate(None, 100, 100, 0) is None
    True
    """
    if not estimate or not isinstance(estimate.get("total_seconds"), int | float):
        return None
    parts = [(str(name), float(seconds)) for name, seconds in estimate.get("parts", [])]
    total = float(estimate["total_seconds"])
    if 0 < steps < asked_steps:  # the steps part shrinks with the cap (the other parts barely do)
        step_part = sum(seconds for name, seconds in parts if "training steps" in name)
        total -= step_part * (1 - steps / asked_steps)
    if max_minutes:
        startup = sum(seconds for name, seconds in parts if name == "start-up")
        total = min(total, startup + max_minutes * 60)
    return total


def after_limit_seconds(estimate: dict | None) -> float:
    """Seconds a run still takes once its time limit stops it: the final evaluation and saving, from its estimate.

    >>> after_limit_seconds({"parts": [["start-up", 36.0], ["a final evaluation of 90 rows", 12.0],
    ...                                ["saving and checking", 5.0]]})
    17.0
    >>> after_limit_seconds(None)
    0.0
    """
    parts = (estimate or {}).get("parts", [])
    ends = ("a final evaluation", "saving")
    return float(sum(s for name, s in parts if str(name).startswith(ends) and isinstance(s, int | float)))


def limited_left(limit: float, trained: float, after_limit: float, estimated_left: float | None) -> float:
    """Seconds left of a training run that has a time limit: its estimate's, but never past the limit.

    The limit is a promise the estimate is not: a run stopped by it ends within ``after_limit`` seconds (final
    evaluation, saving) of ``limit`` seconds of training, however slow the machine is today.

    >>> limited_left(600, 100, 20, estimated_left=200.0), limited_left(600, 100, 20, estimated_left=None)
    (200.0, 520.0)
    >>> limited_left(600, 100, 20, estimated_left=-30.0)  # it ran past its estimate: the limit still holds
    520.0
    """
    by_limit = max(0.0, float(limit - trained)) + after_limit
    if estimated_left is None or estimated_left <= 0:
        return by_limit
    return min(estimated_left, by_limit)


def calibration(took_and_estimated: list[tuple[float, float]], last: int = 5) -> float:
    """How much longer than estimated the latest runs took: the median of took / estimated (1.0 with none).

    The estimates come from this machine's earlier runs or reference figures; a busy machine (several
    participants' pages, other work) makes every run slower alike, so the waits are scaled by what the
    last ``last`` runs really took.

    >>> calibration([]), calibration([(120.0, 60.0), (200.0, 100.0), (30.0, 60.0)])
    (1.0, 2.0)
    """
    ratios = [took / estimated for took, estimated in took_and_estimated[-last:] if estimated > 0 and took > 0]
    if not ratios:
        return 1.0
    ratios.sort()
    middle = len(ratios) // 2
    return ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2
