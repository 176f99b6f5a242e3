"""Stop within a second: a training step or an evaluation is ended where it is, not at its end.

On a 2-core CPU one step of the Quick demo takes ~3 s and an evaluation of 32 rows ~10 s; Stop that waits for
the step end (TrainerCallback's ``should_training_stop``) waited for both. ``StopWatch`` asks the run's stop
flag at most every 50 ms from hooks that run all through a step: before each layer's forward and after each
trainable weight's gradient is accumulated (the backward pass). Once Stop is seen inside a forward/backward
pass or an evaluation (``armed``) it raises ``StopNow`` there. Neither changes a weight, an optimizer state
or the step count: those change only in the optimizer step, where the watch is not armed. So the model is
still the one of the last complete step, and the trainer saves that step as the checkpoint to resume from
(``core/runs/train.py``). The half-accumulated gradients are dropped.

One training process only: with several ranks every rank must stop at the same step end, which
``core/runs/worker.py``'s ``StopSync`` decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StopNow(Exception):  # noqa: N818 - an event, not an error
    """Stop was pressed during a training step or an evaluation; the last complete step is what is kept."""


class StopWatch:
    """Watches ``should_stop`` from inside the model's passes and raises ``StopNow`` where that is safe."""

    def __init__(self, should_stop: Callable[[], bool], every: float = 0.05) -> None:
        self.should_stop = should_stop
        self.every = every
        self._armed = 0
        self._asked_at = 0.0
        self._handles: list = []

    def check(self, *_args, at_once: bool = False) -> None:
        """Raise ``StopNow`` if armed and Stop was pressed (asked at most every ``every`` seconds; ``at_once``:
        now, as before each evaluation batch, whose tiny-model forward can take less than ``every``)."""
        if not self._armed:
            return
        now = time.monotonic()
        if now - self._asked_at < self.every and not at_once:
            return
        self._asked_at = now
        if self.should_stop():
            raise StopNow()

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Inside: Stop ends the work at the next hook. Outside (optimizer step, saving): it waits."""
        self._armed += 1
        try:
            self._asked_at = 0.0
            self.check()
            yield
        finally:
            self._armed -= 1

    def install(self, model) -> None:
        """Hook ``model``: its forward and each layer's (the members of its module lists, a transformer's blocks),
        and every trainable weight's gradient in the backward pass. Not every module: sample answers, which run
        unarmed, would pay a call per module per token."""
        import torch

        layers = [m for lst in model.modules() if isinstance(lst, torch.nn.ModuleList) for m in lst]
        for module in [model, *layers]:
            self._handles.append(module.register_forward_pre_hook(self.check))
        for parameter in model.parameters():
            if parameter.requires_grad:
                self._handles.append(parameter.register_post_accumulate_grad_hook(self.check))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
