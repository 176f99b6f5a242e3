"""The valid-tool-call score of the offline model before and after a short CPU run on the tool-calling demo.

    .venv/bin/python bench/bench_tool_calls.py [--steps 40] [--rows 20]

Trains SmolLM2-135M-Instruct (the app's defaults: LoRA r16 on all linear layers, learning rate 1e-3, batch 4)
on the built-in ``tool_calling`` demo through the run manager, then scores greedy answers of the base model
and the fine-tuned one on the first ``--rows`` held-out rows with ``core.scoring.score_tool_calls``, exactly
as Try it's quick scores do. SmolLM2's template can't render tools, so both models see them as Hermes-style
text in the system message (core/data/tool_templates.py). Prints the scores, the times and the load average
(the machine is shared: a high load makes the times, not the scores, worse).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rows", type=int, default=20)
    options = parser.parse_args()

    from core.config import RunConfig
    from core.evaluate import evaluate_run
    from core.models.catalog import OFFLINE_MODEL_ID
    from core.models.pool import ModelPool
    from core.runs.manager import RunManager

    print(f"load average at start: {os.getloadavg()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as folder:
        manager = RunManager(Path(folder) / "runs")
        config = RunConfig(
            model_id=OFFLINE_MODEL_ID,
            dataset="tool_calling",
            max_steps=options.steps,
            sample_every=0,
            num_probe_prompts=0,
            eval_steps=0,
        )
        start = time.perf_counter()
        job = manager.start(config, owner="bench")
        snap = manager.wait(job.run_id, timeout=3600)
        trained = time.perf_counter() - start
        if snap.phase != "finished":
            raise SystemExit(f"training ended as {snap.phase}: {snap.error_detail}")
        losses = [m["loss"] for m in snap.metrics if "loss" in m]
        print(f"trained {options.steps} steps in {trained:.0f} s; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
        print(f"load average after training: {os.getloadavg()}")
        result = evaluate_run(ModelPool(max_loaded=2), job.run_dir, options.rows)
        for side in ("before", "after"):
            scores = {k: round(v, 3) for k, v in getattr(result, side).items() if isinstance(v, float)}
            print(f"{side}: {scores}")
        reasons = result.after.get("reasons", [])
        print("after, first reasons:", reasons[:6])
        print(f"scored {result.n} held-out rows in {result.seconds:.0f} s; load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
