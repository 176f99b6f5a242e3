"""Start -> first loss point, and Stop -> "Stopped", this tree against an earlier revision, in one run.

    .venv/bin/python bench/bench_start_stop.py [--before REV] [--tries 10] [--warm-tries 5]

The Quick demo (the app's default settings) on the offline SmolLM2-135M through the run manager and its
worker process, the way the page starts runs, without the web server (the page's once-a-second timer adds up
to 1 s to what a person sees; it is not counted here). For each tree, in a fresh process and data folder:

1. first loss point: seconds from ``manager.start`` to the first logged loss. The earlier revision: a first
   run (the step-0 answers are generated) and a second one (they are kept); this tree: a cold start first (no
   worker waiting, nothing kept: a first visitor's run), then ``--warm-tries`` runs, each started once a fresh
   standby worker was ready and warmed for the settings (what the page does when it opens): their median and
   maximum;
2. Stop: ``--tries`` runs, each stopped at a random moment (seeded) between 0 and 14 s after its first loss
   point, with samples and evaluations every 5 steps so that moments fall in them too; seconds from
   ``manager.stop`` until the run's phase is *stopped*, and what the run was doing when Stop was pressed.

The earlier revision's files come from ``git archive REV`` of the repository in the current folder (this
venv); run the script from a copy of a commit to measure that commit while the checkout changes. State the
load average: on a busy machine every figure moves; compare the two trees of one run, not runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def _first_loss(manager, config, owner: str) -> tuple[object, float]:
    started = time.time()
    job = manager.start(config, owner=owner)
    while not (snapshot := manager.snapshot(job.run_id, owner=owner)).metrics:
        if not snapshot.is_active or time.time() - started > 900:
            raise RuntimeError(f"no loss point: {snapshot.phase}, {snapshot.error}\n{snapshot.error_detail}")
        time.sleep(0.05)
    return job, time.time() - started


def child(tries: int, seed: int, warm_tries: int = 1) -> dict:
    """Measure in this process's tree (sys.path[0]); returns the figures as a dict."""
    from dataclasses import replace

    from core.config import RunConfig
    from core.models.catalog import OFFLINE_MODEL_ID
    from core.runs.launcher import LaunchPlan, SubprocessTrainer
    from core.runs.manager import RunManager

    try:
        from core.runs.standby import StandbyWorker
    except ImportError:  # a revision before the warm worker
        StandbyWorker = None  # noqa: N806

    owner = "bench"
    quick = RunConfig(model_id=OFFLINE_MODEL_ID, max_steps=500)
    figures: dict = {"first_loss": []}
    if StandbyWorker:  # this tree: first a cold start (no worker waiting, nothing kept), as a first visitor's run
        cold = RunManager(Path(os.environ["SFT_COACH_DATA"]) / "runs-cold",
                          trainer=SubprocessTrainer(LaunchPlan("subprocess", num_processes=1)))  # fmt: skip
        job, seconds = _first_loss(cold, quick, owner)
        figures["cold_first_loss"] = round(seconds, 2)
        cold.stop(job.run_id, owner=owner)
        cold.wait(job.run_id, timeout=600)
    standby = StandbyWorker() if StandbyWorker else None
    if standby:
        standby.start()
    trainer = SubprocessTrainer(LaunchPlan("subprocess", num_processes=1), standby=standby) if standby else (
        SubprocessTrainer(LaunchPlan("subprocess", num_processes=1)))  # fmt: skip
    if standby:
        trainer.warm = standby.warm  # what launcher.DefaultTrainer offers the manager
    manager = RunManager(Path(os.environ["SFT_COACH_DATA"]) / "runs", trainer=trainer)

    def ready(config) -> None:
        if standby:  # a fresh standby after each run: its imports done, then one head start
            standby.wait_for("ready", timeout=300)
            if manager.warm(config, owner=owner):
                standby.wait_for("Warmed", timeout=600)
                if not standby.wait_for("Warmed the model", timeout=0):  # "Warmed nothing: ..." measures nothing
                    raise RuntimeError("the head start warmed nothing: the warm figures would be cold ones")

    for _ in range(warm_tries if standby else 2):
        ready(quick)
        job, seconds = _first_loss(manager, quick, owner)
        figures["first_loss"].append(round(seconds, 2))
        manager.stop(job.run_id, owner=owner)
        manager.wait(job.run_id, timeout=600)

    busy = replace(quick, sample_every=5, eval_steps=5, save_steps=5)
    moments = random.Random(seed)
    figures["stops"] = []
    for _ in range(tries):
        ready(busy)
        job, _ = _first_loss(manager, busy, owner)
        time.sleep(moments.uniform(0, 14))
        doing = manager.snapshot(job.run_id, owner=owner).message
        pressed = time.time()
        manager.stop(job.run_id, owner=owner)
        final = manager.wait(job.run_id, timeout=900)
        seconds = round(time.time() - pressed, 2)
        figures["stops"].append({"seconds": seconds, "doing": doing[:70], "phase": final.phase})
    if standby:
        standby.close()
    return figures


def measure(tree: Path, data: Path, tries: int, seed: int, warm_tries: int) -> dict:
    env = {**os.environ, "SFT_COACH_DATA": str(data), "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(tree), "--tries", str(tries),
         "--seed", str(seed), "--warm-tries", str(warm_tries)],
        env=env, cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"the measurement in {tree} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _report(label: str, figures: dict) -> None:
    stops = [s["seconds"] for s in figures["stops"]]
    print(f"\n## {label}")
    if "cold_first_loss" in figures:
        print(f"first loss point, cold (no worker waiting, nothing kept): {figures['cold_first_loss']} s")
    firsts = figures["first_loss"]
    if "cold_first_loss" in figures:
        print(f"first loss point, warm worker ready (s): {firsts}: median {percentile(firsts, 0.5):.2f}, "
              f"max {max(firsts):.2f}")  # fmt: skip
    else:
        print(f"first loss point (s): {firsts}")
    if stops:
        print(f"Stop -> stopped (s): p50 {percentile(stops, 0.5):.2f}, p95 {percentile(stops, 0.95):.2f}, "
              f"max {max(stops):.2f} over {len(stops)} tries")  # fmt: skip
    for stop in figures["stops"]:
        print(f"  {stop['seconds']:6.2f} s  {stop['phase']:8s} pressed while: {stop['doing']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also measure the app at this git revision")
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--warm-tries", type=int, default=5, help="runs started on a warm worker (median, max)")
    parser.add_argument("--child", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.child)
        print(json.dumps(child(args.tries, args.seed, args.warm_tries)))
        return
    sys.path.insert(0, str(ROOT))
    from core.models.catalog import ensure_offline_model

    ensure_offline_model()  # converted once beforehand
    print(f"# Start and Stop, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="sft-coach-bench-") as tmp:
        folder = Path(tmp)
        results = {}
        if args.before:
            old = folder / "before-tree"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.before], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
            results[f"at {args.before}"] = measure(old, folder / "data-before", args.tries, args.seed, args.warm_tries)
            print(f"(load average after the earlier revision: {os.getloadavg()})")
        results["this tree"] = measure(ROOT, folder / "data-now", args.tries, args.seed, args.warm_tries)
    print(f"(load average at the end: {os.getloadavg()})")
    for label, figures in results.items():
        _report(label, figures)
    if args.before:
        old, new = results[f"at {args.before}"], results["this tree"]
        first, kept, warm = old["first_loss"][0], old["first_loss"][-1], percentile(new["first_loss"], 0.5)
        if "cold_first_loss" in old:  # both trees have the warm worker
            before = percentile(old["first_loss"], 0.5)
            print(f"\nfirst loss point, warm worker ready, median: {before:.2f} s before, {warm:.2f} s now; "
                  f"cold: {old['cold_first_loss']:.1f} s before, {new['cold_first_loss']:.1f} s now")  # fmt: skip
        else:
            print(
                f"\nfirst loss point: {first:.1f} s (first run) / {kept:.1f} s (kept step-0 answers) before, "
                f"{warm:.1f} s with the warm worker: {first / warm:.1f}x / {kept / warm:.1f}x faster"
            )
        if "cold_first_loss" in new and "cold_first_loss" not in old:
            cold = new["cold_first_loss"]
            print(f"first loss point, cold: {first:.1f} s before, {cold:.1f} s now ({first / cold:.1f}x)")
        if old["stops"] and new["stops"]:
            p_old = percentile([s["seconds"] for s in old["stops"]], 0.95)
            p_new = percentile([s["seconds"] for s in new["stops"]], 0.95)
            print(f"Stop p95: {p_old:.2f} s before, {p_new:.2f} s now ({p_old / p_new:.1f}x)")


if __name__ == "__main__":
    main()
