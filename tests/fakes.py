"""Stand-ins for TRL that train nothing: they record a run the way ``core.runs.train.run_training`` does."""

from __future__ import annotations

import threading
import time

from core.runs.record import Run


def fake_trainer(steps: int = 5, delay: float = 0.0, fail_at: int | None = None, gate: threading.Event | None = None):
    """Logs a falling loss each step and honours Stop at the step end like the real callback.

    ``delay``: seconds per step; ``fail_at``: the step that raises; ``gate``: each step waits for it (up to 5 s).
    Like the real trainer it returns or raises and leaves the final phase to ``Run.conclude``.
    """

    def train(run: Run) -> None:
        run.set_total_steps(steps)
        run.set_phase("training", "Training.")
        for step in range(1, steps + 1):
            if gate is not None:
                gate.wait(5)
            if fail_at == step:
                raise RuntimeError("the fake trainer broke on purpose")
            run.record_metrics(step, {"loss": 3.0 / step, "learning_rate": 1e-3, "num_tokens": 100 * step})
            run.set_step(step)
            time.sleep(delay)
            if run.stop_requested:
                return
        run.set_result(str(run.run_dir / "final"), "ok")

    return train
