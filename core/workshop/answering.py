"""Every submitted model answers the instructor's probe set, in the background, between trainings.

``answer_waiting`` asks one waiting model at a time (greedy answers, core/probe_sets.py's settings, through the
shared model pool) and stops as soon as ``busy()`` says a training run wants the machine: the model being
asked then keeps waiting and is asked again, from the first prompt, once nothing trains. ``AnswerWorker`` runs
that every few seconds in a daemon thread. When the probe set has reference answers and the shared dataset is a
built-in task, the answers are scored with that task's scorer (core/scoring.py through core/evaluate.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from core.chat import chat_once
from core.probe_sets import PROBE_SETTINGS
from core.workshop.arena import ClassArena
from core.workshop.shared import ClassBoard

# The score the leaderboard shows for each built-in task: the one that says the model did the job.
HEADLINE_SCORE = {
    "json_extraction": "field_accuracy",
    "word_problems": "answer_accuracy",
    "tool_calling": "right_call_rate",
}


def probe_scores(task: str | None, answers: list[str], references: list[str | None]) -> dict | None:
    """The task's scores of ``answers`` (None without a built-in task or reference answers)."""
    if task not in HEADLINE_SCORE or not references or any(r is None for r in references):
        return None
    from core.evaluate import score_answers

    scores = score_answers(task, answers, [str(r) for r in references])
    return {k: v for k, v in scores.items() if isinstance(v, int | float)}


def answer_waiting(
    board: ClassBoard, arena: ClassArena, pool, busy: Callable[[], bool] = lambda: False, settings=PROBE_SETTINGS
) -> int:
    """Ask every waiting model the probe set; returns how many answered in full (fewer when ``busy`` interrupts)."""
    probes = board.probe_set()
    if probes is None or not probes.prompts:
        return 0
    shared = board.dataset()
    task = None
    if shared is not None:
        from core.evaluate import task_for_dataset

        task = task_for_dataset(shared.dataset)
    done = 0
    for entry in arena.waiting(probes.version):
        if busy():
            break
        if not Path(entry.result_dir).is_dir():
            continue  # the run was removed since it was submitted: nothing left to ask
        answers = []
        try:
            with pool.use(entry.result_dir) as loaded:
                for prompt in probes.prompts:
                    if busy():
                        return done
                    answers.append(chat_once(loaded.model, loaded.tokenizer, prompt.as_messages(), settings))
        except (OSError, ValueError, RuntimeError) as err:  # a model that can't load or answer: said, not retried
            arena.save_answers(entry.entry_id, probes.version, [], None, error=f"{type(err).__name__}: {err}"[:300])
            continue
        scores = probe_scores(task, answers, [p.reference for p in probes.prompts])
        arena.save_answers(entry.entry_id, probes.version, answers, scores)
        done += 1
    return done


class AnswerWorker:
    """A daemon thread that runs ``answer_waiting`` every ``interval`` seconds while nothing trains."""

    def __init__(
        self, board: ClassBoard, arena: ClassArena, pool_factory, busy: Callable[[], bool], interval: float = 3.0
    ):
        self.board, self.arena, self.pool_factory, self.busy = board, arena, pool_factory, busy
        self.interval = interval
        self.last_error: str | None = None
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="class-answers", daemon=True)

    def start(self) -> AnswerWorker:
        self._thread.start()
        return self

    def wake(self) -> None:
        """Look for waiting models now (a model was submitted, a probe set published)."""
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self.busy():
                continue
            probes = self.board.probe_set()
            if probes is None or not self.arena.waiting(probes.version):
                continue
            try:
                answer_waiting(self.board, self.arena, self.pool_factory(), self.busy)
                self.last_error = None
            except Exception as err:  # noqa: BLE001 - one broken model must not stop the class's answers
                self.last_error = f"{type(err).__name__}: {err}"
                print(f"Class answers: {self.last_error}")
