"""Benchmark the dataset wizard's engine: detect + convert + validate (with the chat template) + length stats.

Rows are generated here (raw question/reasoning/answer columns with varied
lengths, a few broken rows and duplicates, like real uploads), converted to
conversational prompt-completion, validated with the SmolLM2 tokenizer (which
renders and tokenizes every row), and summarised as length statistics.

Each size runs twice: once for wall time, once under tracemalloc for the peak
Python memory (tracemalloc slows Python code, so its times are not used).
RSS growth covers the tokenizer's native memory too.

    .venv/bin/python bench/bench_data.py            # 10k and 100k rows
    .venv/bin/python bench/bench_data.py --sizes 1000 10000 --no-memory
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WORDS = "apples pears trains tickets hours minutes boxes coins pages miles cups bags".split()


def generate_rows(n: int, seed: int = 0) -> list[dict]:
    """Raw rows like a reasoning dataset; ~0.5% have an empty answer and ~1% are duplicates."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        if rows and rng.random() < 0.01:
            rows.append(dict(rows[rng.randrange(len(rows))]))
            continue
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        noun = rng.choice(WORDS)
        steps = " ".join(f"Step {k}: consider {rng.choice(WORDS)}." for k in range(rng.randint(1, 40)))
        rows.append(
            {
                "Question": f"Row {i}: Sam has {a} {noun} and gets {b} more. How many {noun} now?",
                "Complex_CoT": f"{steps} {a} + {b} = {a + b}.",
                "Response": "" if rng.random() < 0.005 else f"The answer is {a + b}.",
            }
        )
    return rows


def run_pipeline(rows: list[dict], tokenizer) -> tuple[dict[str, float], tuple]:
    """The wizard's steps in order; returns seconds per step and what the steps produced."""
    from core.data.convert import convert_rows
    from core.data.detect import detect_format
    from core.data.length_chart import length_histogram
    from core.data.stats import length_stats, recommend_max_length, truncation_summary
    from core.data.validate import validate_rows

    times = {}
    start = time.perf_counter()
    detection = detect_format(rows)
    times["detect"] = time.perf_counter() - start

    start = time.perf_counter()
    conversion = convert_rows(rows, detection.format, "conversational_prompt_completion", detection.suggested_mapping)
    times["convert"] = time.perf_counter() - start

    start = time.perf_counter()
    report = validate_rows(
        conversion.rows,
        "conversational_prompt_completion",
        failures=conversion.failures,
        tokenizer=tokenizer,
        max_length=512,
    )
    times["validate+tokenize"] = time.perf_counter() - start

    start = time.perf_counter()
    stats = length_stats(report.lengths)
    recommend_max_length(stats)
    truncation_summary(report.lengths, 512)
    length_histogram(report.lengths, max_length=512)
    times["length stats+histogram"] = time.perf_counter() - start
    times["total"] = sum(times.values())
    return times, (detection, report, stats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    options = parser.parse_args()

    from transformers import AutoTokenizer

    from core.models.catalog import ensure_tiny_model

    tokenizer = AutoTokenizer.from_pretrained(ensure_tiny_model())  # SmolLM2's tokenizer and chat template
    results = {}
    for n in options.sizes:
        rows = generate_rows(n)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        times, (detection, report, stats) = run_pipeline(rows, tokenizer)
        rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
        peak = None
        if not options.no_memory:
            tracemalloc.start()
            run_pipeline(rows, tokenizer)
            peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
            tracemalloc.stop()
        results[n] = times
        print(f"\n{n:,} rows: detected {detection.format} ({detection.confidence:.0%}); {report.summary()}")
        print(f"  lengths p50/p95/p99/max = {stats.p50}/{stats.p95}/{stats.p99}/{stats.max} tokens")
        for step, seconds in times.items():
            print(f"  {step:<24} {seconds:8.2f} s   ({seconds / n * 1e6:7.1f} µs/row)")
        memory = f"peak Python memory {peak:,.0f} MB (tracemalloc); " if peak is not None else ""
        print(f"  {memory}max RSS grew {rss_growth:,.0f} MB")
    sizes = sorted(results)
    for small, large in zip(sizes, sizes[1:], strict=False):
        ratio = results[large]["total"] / results[small]["total"]
        print(f"\nScaling {small:,} -> {large:,} rows ({large / small:.0f}x): total time x{ratio:.1f}")


if __name__ == "__main__":
    main()
