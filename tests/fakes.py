"""A stand-in for TRL that the job manager runs in a thread: runs end in seconds, with a falling loss."""

from __future__ import annotations

import threading
import time

from core.jobs import Job


def fake_trainer(steps: int = 5, delay: float = 0.0, fail_at: int | None = None, gate: threading.Event | None = None):
    """A stand-in for TRL: logs a falling loss each step, honours stop requests like the real callback."""

    def train(job: Job) -> None:
        job.set_total_steps(steps)
        job.set_phase("training", "Training.")
        for step in range(1, steps + 1):
            if gate is not None:
                gate.wait(5)
            if fail_at == step:
                raise RuntimeError("the fake trainer broke on purpose")
            job.record_metrics(step, {"loss": 3.0 / step, "learning_rate": 1e-3, "num_tokens": 100 * step})
            job.set_step(step)
            time.sleep(delay)
            if job.stop_requested:
                job.set_phase("stopped", f"Stopped at step {step}.")
                return
        job.set_result(str(job.run_dir / "final"), "ok")
        job.set_phase("finished", "Done.")

    return train
