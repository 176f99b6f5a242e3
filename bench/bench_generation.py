"""Generation speed, side by side in one run: chat tokens/s (streamed vs not), and what the sample table costs.

    .venv/bin/python bench/bench_generation.py [--quick] [--chat-only] [--before REV] [--rounds N]

Two measurements on the offline SmolLM2-135M-Instruct (float32, CPU):

1. Chat: the same prompts answered by ``core.chat.chat_once`` and ``core.chat.stream_chat``, greedy and
   sampled (same seed, so both paths produce the same text), interleaved round by round (A B, then B A) so
   a busy neighbour on the shared CPU slows both alike. Tokens are the reply re-encoded by the tokenizer
   (the end-of-turn token is not counted). Streaming also reports the time to the first piece of text.
   Both run in a worker thread, as in the app (Gradio runs handlers in worker threads; stream_chat
   generates in its own thread). ``--before REV`` adds that revision's ``stream_chat`` (its ``core/chat.py``
   from ``git show``) to the same rounds, so the streaming before and after are measured side by side.
   ``chat_once, fresh thread`` is one generate call in a thread started for it, as stream_chat's is: under load
   a fresh thread generated several times faster than a long-lived one (0.5 vs 2.9 tok/s at load 20+ on
   2026-12-01), which would otherwise count for streaming. One extra pair times chat_once on the main thread vs
   a worker thread: on this shared 2-core CPU, torch's 2 OpenMP threads on the main thread were ~10x slower.
2. Sample-table share: one training run through the app's run manager with the Quick demo's settings
   (LoRA r16, batch 4, max length 512, JSON-extraction demo) and the probe table at a tighter cadence, so
   several sampling points fall in a short run. The probe generation time per sampling point comes from
   ``core.generation.generate_answers`` on the model being trained (what the run records), and the time
   per training step from the gaps between consecutive logged steps, excluding gaps that contain a
   sampling point. Both come from the same run, then are combined for the Quick demo's cadence: 60 steps,
   samples at 0/20/40/60 (``RunConfig.sample_every``, ``num_probe_prompts``, ``sample_max_new_tokens``).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.at_revision import module_at  # noqa: E402

CHAT_PROMPTS = [
    [{"role": "user", "content": "Explain in a few sentences why the sky is blue."}],
    [{"role": "user", "content": "Write a short list of tips for learning to cook at home."}],
]


def time_chat_once(model, tokenizer, messages, settings) -> dict:
    from core.chat import chat_once

    start = time.perf_counter()
    text = chat_once(model, tokenizer, messages, settings)
    return {"seconds": time.perf_counter() - start, "text": text, "first": None}


def time_stream_chat(model, tokenizer, messages, settings, stream_chat=None) -> dict:
    if stream_chat is None:
        from core.chat import stream_chat

    start = time.perf_counter()
    first = None
    text = ""
    for text in stream_chat(model, tokenizer, messages, settings):
        if first is None and text:
            first = time.perf_counter() - start
    return {"seconds": time.perf_counter() - start, "text": text, "first": first}


def bench_chat(
    model_path: Path, max_new_tokens: int, rounds: int, before: str | None = None, greedy_only: bool = False
) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.chat import GenerationSettings

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="float32")
    model.eval()
    modes = {
        "greedy": GenerationSettings(deterministic=True, max_new_tokens=max_new_tokens),
        "sampled": GenerationSettings(max_new_tokens=max_new_tokens, seed=42),  # temperature 0.6, top_p 0.95
    }
    if greedy_only:
        del modes["sampled"]
    paths = {"chat_once": time_chat_once, "stream_chat": time_stream_chat}
    # stream_chat generates in a thread of its own, started for each reply; under load a fresh thread generated
    # several times faster than this long-lived one (2026-12-01), so one generate call is also timed in one.
    paths["chat_once, fresh thread"] = lambda *args: in_worker_thread(time_chat_once, *args)
    if before:
        old_stream = module_at(before, "core/chat.py").stream_chat
        paths[f"stream_chat at {before}"] = lambda *args: time_stream_chat(*args, stream_chat=old_stream)
    # Warm-up: the first generate call pays for one-off allocations.
    time_chat_once(model, tokenizer, CHAT_PROMPTS[0], GenerationSettings(deterministic=True, max_new_tokens=8))
    results: dict = {(mode, path): {"seconds": 0.0, "tokens": 0, "first": []} for mode in modes for path in paths}
    mismatches = 0
    for round_index in range(rounds):
        order = list(paths) if round_index % 2 == 0 else list(reversed(paths))
        load = os.getloadavg()[0]
        print(f"round {round_index + 1} of {rounds}, load average {load:.2f}", file=sys.stderr, flush=True)
        for mode, settings in modes.items():
            for messages in CHAT_PROMPTS:
                texts = {}
                for path in order:
                    run = paths[path](model, tokenizer, messages, settings)
                    tokens = len(tokenizer(run["text"], add_special_tokens=False)["input_ids"])
                    entry = results[(mode, path)]
                    entry["seconds"] += run["seconds"]
                    entry["tokens"] += tokens
                    if run["first"] is not None:
                        entry["first"].append(run["first"])
                    texts[path] = run["text"]
                mismatches += sum(texts["chat_once"] != text for text in texts.values())
    return {"results": results, "mismatches": mismatches}


def in_worker_thread(fn, *args):
    """Run ``fn(*args)`` in a fresh thread, as a Gradio handler would, and return its result."""
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = fn(*args)
        except BaseException as err:  # raised again in the caller's thread
            outcome["error"] = err

    thread = threading.Thread(target=work, name="bench-worker")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def main_vs_worker_thread(model_path: Path, max_new_tokens: int) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.chat import GenerationSettings

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="float32")
    settings = GenerationSettings(deterministic=True, max_new_tokens=max_new_tokens)
    args = (model, tokenizer, CHAT_PROMPTS[0], settings)
    in_worker_thread(time_chat_once, *args)  # warm-up
    worker = in_worker_thread(time_chat_once, *args)["seconds"]
    main = time_chat_once(*args)["seconds"]
    return {"worker": worker, "main": main}


def bench_sampling_share(steps: int, sample_every: int, folder: Path) -> dict:
    os.environ["TRACKIO_DIR"] = str(folder / "trackio")
    from core.config import RunConfig
    from core.runs.manager import RunManager

    defaults = RunConfig()
    config = RunConfig(max_steps=steps, sample_every=sample_every, eval_steps=0, save_steps=0)
    manager = RunManager(folder / "runs")
    snapshot = manager.wait(manager.start(config, owner="tester").run_id)
    if snapshot.phase != "finished":
        raise RuntimeError(f"the training run failed: {snapshot.error}\n{snapshot.error_detail}")
    sample_steps = {s["step"] for s in snapshot.samples}
    logged = sorted((m["step"], m["time"]) for m in snapshot.metrics if "loss" in m)
    # Sampling at step k runs in on_step_end, before step k is logged: the gap ending at step k contains it.
    clean_gaps = [
        t1 - t0
        for (s0, t0), (s1, t1) in zip(logged, logged[1:], strict=False)
        if s1 == s0 + 1 and s1 not in sample_steps
    ]
    return {
        "config": config,
        "defaults": defaults,
        "step_seconds": statistics.median(clean_gaps),
        "step_gaps": clean_gaps,
        "samples": [(s["step"], s["seconds"]) for s in snapshot.samples],
        "train_runtime": snapshot.summary.get("train_runtime", float("nan")),
    }


def quick_demo_sampling_points(max_steps: int, sample_every: int) -> list[int]:
    """Steps at which the app samples: start, every ``sample_every`` steps, and the end (core/runs/train.py)."""
    points = {0, max_steps}
    if sample_every:
        points.update(range(sample_every, max_steps, sample_every))
    return sorted(points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter answers and an 8-step run")
    parser.add_argument("--chat-only", action="store_true", help="only the chat measurement, no training run")
    parser.add_argument("--before", help="a git revision whose stream_chat joins the chat rounds")
    parser.add_argument("--rounds", type=int, help="chat rounds (default 2)")
    parser.add_argument("--greedy-only", action="store_true", help="chat with greedy decoding only")
    args = parser.parse_args()
    max_new_tokens, rounds = (32, 2) if args.quick else (64, 2)
    rounds = args.rounds or rounds
    steps, sample_every = (8, 4) if args.quick else (16, 8)

    import torch

    from core.models.catalog import ensure_offline_model

    model_path = ensure_offline_model()
    print(
        f"# Generation, SmolLM2-135M-Instruct float32, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}, {time.strftime('%Y-%m-%d')}"
        f"{' (--quick)' if args.quick else ''}; load average at start {os.getloadavg()[0]:.2f} "
        "(a shared machine: other work may run beside this)\n"
    )
    chat = in_worker_thread(bench_chat, model_path, max_new_tokens, rounds, args.before, args.greedy_only)
    print(f"## Chat: {len(CHAT_PROMPTS)} prompts x {rounds} round(s), max_new_tokens {max_new_tokens}\n")
    print("| decoding | path | tokens | seconds | tokens/s | first text (s, median) |")
    print("|---|---|---|---|---|---|")
    rates = {}
    for (mode, path), r in chat["results"].items():
        rates[(mode, path)] = r["tokens"] / r["seconds"]
        first = f"{statistics.median(r['first']):.2f}" if r["first"] else "-"
        print(f"| {mode} | {path} | {r['tokens']} | {r['seconds']:.2f} | {rates[(mode, path)]:.1f} | {first} |")
    streams = [path for (mode, path) in rates if mode == "greedy" and path.startswith("stream_chat")]
    for mode in ("greedy",) if args.greedy_only else ("greedy", "sampled"):
        for path in streams:
            for once in ("chat_once", "chat_once, fresh thread"):
                ratio = rates[(mode, path)] / rates[(mode, once)]
                print(f"{mode}: {path} / {once} tokens/s = {ratio:.3f}")
    if not args.greedy_only:
        ratio = rates[("sampled", "chat_once")] / rates[("greedy", "chat_once")]
        print(f"sampled / greedy tokens/s (chat_once) = {ratio:.3f}")
    print(f"replies that differed from chat_once's: {chat['mismatches']} (expected 0)")
    print(f"load average at the end of the chat rounds {os.getloadavg()[0]:.2f}")
    if args.chat_only:
        return
    threads = main_vs_worker_thread(model_path, 16)
    print(
        f"chat_once, 16 greedy tokens: worker thread {threads['worker']:.2f} s, main thread {threads['main']:.2f} s "
        f"-> main / worker time = {threads['main'] / threads['worker']:.2f}\n"
    )

    with tempfile.TemporaryDirectory(prefix="sft-coach-bench-gen-") as tmp:
        share = bench_sampling_share(steps, sample_every, Path(tmp))
    config, defaults = share["config"], share["defaults"]
    print(
        f"## Sample table vs training: one run of {steps} steps, samples every {sample_every} "
        f"({config.num_probe_prompts} prompts x {config.sample_max_new_tokens} new tokens, greedy)\n"
    )
    print("| sampling point (step) | probe generation (s) |")
    print("|---|---|")
    for step, seconds in share["samples"]:
        print(f"| {step} | {seconds:.2f} |")
    sample_seconds = statistics.mean(s for _, s in share["samples"])
    step_seconds = share["step_seconds"]
    gaps = share["step_gaps"]
    print(
        f"\ntraining step: median {step_seconds:.2f} s over {len(gaps)} clean steps "
        f"(min {min(gaps):.2f}, max {max(gaps):.2f}); probe generation: mean {sample_seconds:.2f} s per point"
    )
    print(f"one sampling point = {sample_seconds / step_seconds:.2f} training steps")
    measured_share = sum(s for _, s in share["samples"]) / share["train_runtime"]
    print(f"this run: sampling took {100 * measured_share:.1f}% of train_runtime ({share['train_runtime']:.1f} s)")

    points = quick_demo_sampling_points(defaults.max_steps, defaults.sample_every)
    training = defaults.max_steps * step_seconds
    sampling = len(points) * sample_seconds
    print(
        f"\nQuick demo ({defaults.max_steps} steps, samples at {'/'.join(map(str, points))}): "
        f"training {training:.0f} s + sampling {sampling:.0f} s -> sampling is "
        f"{100 * sampling / (training + sampling):.1f}% of wall time"
    )


if __name__ == "__main__":
    main()
