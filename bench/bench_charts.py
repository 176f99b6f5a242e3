"""Server CPU for one redraw of every Train-step chart: the revision before (plotly figure objects) vs this tree.

    .venv/bin/python bench/bench_charts.py [--before REV] [--repeats 15]

One redraw is what the Train step's refresh hands ``gr.Plot`` for its seven charts (the loss and six other
metrics), then what Gradio does with each before sending it: ``Plot.postprocess`` (for a plotly figure object,
``to_json``), the data model's ``model_dump`` and the JSON of the message. The revision before builds
``plotly.graph_objects.Figure`` objects with its own ``core/charts.py`` (``git show REV:core/charts.py``, imported by
``bench/at_revision.py``); this tree sends figure JSON built as plain data (``ui/train_charts.chart_data``). Both
see the same metrics:
a Quick-demo run (60 logged steps, 3 validation points), a 2,000-step run and a 10,000-step run (downsampled
for display), with smoothing on, the smoothing changed on every redraw so nothing comes from a cache.

CPU time is ``time.process_time`` of this process around each redraw (one thread, so it is the redraw's own
CPU, not the shared machine's latency); the two ways alternate redraw by redraw (A B, B A, ...) and the
medians are printed with their ratio. The machine is shared with other work: the load average is printed.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.at_revision import module_at  # noqa: E402


def run_metrics(steps: int) -> tuple[list[dict], list[dict]]:
    """Entries as a run records them: a falling loss with noise and the other logged metrics; validation every 20."""
    import random

    rng = random.Random(0)
    metrics = [
        {"step": i, "loss": 2.0 / (1 + i / 50) + rng.gauss(0, 0.1), "num_tokens": 300.0 * i, "learning_rate": 2e-4,
         "grad_norm": 0.5 + rng.random(), "mean_token_accuracy": 0.6, "entropy": 1.2, "tokens_per_second": 350.0,
         "memory_gb": 1.1, "epoch": i / steps, "time": float(i)}
        for i in range(1, steps + 1)
    ]  # fmt: skip
    evals = [{"step": s, "eval_loss": 1.5, "eval_mean_token_accuracy": 0.55} for s in range(20, steps + 1, 20)]
    return metrics, evals


@functools.cache
def page_plot():
    """One ``gr.Plot``, as the page has (made once, outside the timings)."""
    import gradio as gr

    return gr.Plot()


def send(values: list) -> int:
    """What Gradio does with each chart value before it leaves: postprocess, model_dump, the message's JSON."""
    payload = [page_plot().postprocess(value).model_dump() for value in values]
    return len(json.dumps(payload))


def redraw_before(charts, extra_metrics, metrics, evals, smoothing: float) -> int:
    # the revision before's ui/train.py _figures: figure objects, handed to gr.Plot
    loss = charts.loss_figure(metrics, evals, smoothing=smoothing, x_axis="step")
    extra = [charts.metric_figure(metrics, key, title, unit) for key, title, unit in extra_metrics]
    return send([loss, *extra])


def redraw_now(metrics, evals, smoothing: float) -> int:
    from ui.train_charts import chart_data

    snapshot = SimpleNamespace(run_id="bench", metrics=metrics, eval_metrics=evals)
    return send(chart_data(snapshot, smoothing, "step"))


def measure(fn, *args) -> tuple[float, int]:
    start = time.process_time()
    size = fn(*args)
    return (time.process_time() - start) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="4db6ce8", help="the revision to compare with (default: before this work)")
    parser.add_argument("--repeats", type=int, default=15, help="redraws of each way per run length")
    args = parser.parse_args()

    from ui.train_charts import EXTRA_METRICS

    charts = module_at(args.before, "core/charts.py")
    print(f"# One redraw of the Train step's 7 charts, ms of server CPU (median of {args.repeats})")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}")
    print("(a shared machine: other work runs beside this; CPU time, not latency, is what is measured)\n")
    # warm-up: plotly's validators and the template load once per process, in both ways
    small = run_metrics(5)
    redraw_before(charts, EXTRA_METRICS, *small, 0.6)
    redraw_now(*small, 0.6)
    print(f"| run | {args.before} (figure objects) | this tree (figure JSON) | ratio | bytes sent before / now |")
    print("|---|---|---|---|---|")
    for steps in (60, 2000, 10_000):
        metrics, evals = run_metrics(steps)
        before, now, sizes = [], [], (0, 0)
        for i in range(args.repeats):
            smoothing = 0.6 + i * 1e-4  # new every redraw: nothing cached
            ways = [("before", redraw_before, (charts, EXTRA_METRICS, metrics, evals, smoothing))]
            ways.append(("now", redraw_now, (metrics, evals, smoothing)))
            for name, fn, fn_args in ways if i % 2 == 0 else reversed(ways):
                ms, size = measure(fn, *fn_args)
                (before if name == "before" else now).append(ms)
                sizes = (size, sizes[1]) if name == "before" else (sizes[0], size)
        b, n = statistics.median(before), statistics.median(now)
        print(f"| {steps:,} steps | {b:.1f} | {n:.1f} | {b / n:.1f}x | {sizes[0]:,} / {sizes[1]:,} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
