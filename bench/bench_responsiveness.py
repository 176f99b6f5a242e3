"""Time to page, time to the first loss point, and how the page answers while training saturates the CPU.

    .venv/bin/python bench/bench_responsiveness.py [--viewers 20] [--seconds 90]

Measured side by side in one run, on loopback only:

1. time from `python app.py` (already set up) to the page answering;
2. time from Start (Quick demo on the offline SmolLM2-135M) to the first logged loss;
3. p50/p95 latency of the polling endpoint (`run_status`) and of loading the page, with 1 viewer and with N
   viewers polling once a second, while the run trains;
4. training steps/s with no viewers vs with N viewers (the same run, measured over the two windows);

and all of it again for each niceness of the app's session in ``--server-nice`` (core/priority.py), one app
after another in one run. ``--before REV`` measures the app at that git revision too (its files from ``git
archive``, this venv), alternating with this tree over ``--rounds`` rounds.

Every request loop is bounded in count and time and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.bench_load import RequestFailed  # noqa: E402
from bench.revision import revision_tree  # noqa: E402
from tests.app_server import AppServer  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def viewers(url: str, run_id: str, count: int, seconds: float) -> tuple[list[float], list[float], int]:
    """``count`` simulated viewers each poll the run once a second and reload the page every 10 s.

    One asyncio loop speaks Gradio's queue protocol over httpx (bench/bench_load.py): 50 gradio_client
    Clients would cost more CPU than the server they measure on this 2-core machine.
    """
    return asyncio.run(_viewers(url, run_id, count, seconds))


async def _viewers(url: str, run_id: str, count: int, seconds: float) -> tuple[list[float], list[float], int]:
    import httpx

    from bench.bench_load import GradioSession, Tally, off_queue

    tally = Tally()
    deadline = time.time() + seconds
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count * 2 + 10)) as http:
        config = json.loads(await GradioSession(http, url, {}, tally).get("config"))
        fn_index = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}

        async def viewer(index: int) -> None:
            tab = GradioSession(http, url, fn_index, tally, off_queue(config))
            await asyncio.sleep(index / count)  # viewers arrive spread over the first second
            for tick in range(int(seconds) + 1):
                if time.time() >= deadline:
                    return
                start = time.perf_counter()
                try:
                    await tab.timed("poll", tab.call("run_status", [run_id]))
                    if tick % 10 == index % 10:
                        await tab.timed("page", tab.get(""))
                except RequestFailed:
                    pass  # counted in tally.errors
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - start)))

        await asyncio.gather(*(viewer(i) for i in range(count)))
    return tally.latencies["poll"], tally.latencies["page"], len(tally.errors)


def steps_during(client, metrics_file: Path, run_id: str, work) -> tuple[float, object]:
    """Training steps/s while ``work()`` runs (one over the median time between consecutive steps), and its result.

    The median, from the per-step times in the run's ``metrics.jsonl``, leaves out the pause at an evaluation
    and sampling step (every 20 steps in the Quick demo, ~30 s on 2 cores): a window that happened to hold one
    would otherwise read as training 3x slower, or stopped, whatever the viewers did.
    """
    from core.runs.store import RunFolder

    client.predict(run_id, api_name="/run_status")  # the app follows the worker's files when asked
    start = time.time()
    result = work()
    end = time.time()
    times = [
        row["time"]
        for row in RunFolder(metrics_file.parent).read_rows("metrics").rows
        if start <= row.get("time", 0) <= end
    ]
    gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    if not gaps:
        return float("nan"), result
    return 1 / gaps[len(gaps) // 2], result


def cpu_shares(app, work, seconds: float) -> tuple[object, tuple[float, float]]:
    """``work()``'s result, and the cores the app's own process and this bench (the viewers) used meanwhile.

    The viewers' client runs on the same 2 cores as the app: its CPU slows training as much as the server's
    does, though real viewers' browsers are elsewhere. Both are printed, so the slowdown can be read for each.
    """
    started, app_before, bench_before = time.time(), sum(app.cpu_times()[:2]), time.process_time()
    result = work()
    wall = max(time.time() - started, 1e-9)
    return result, ((sum(app.cpu_times()[:2]) - app_before) / wall, (time.process_time() - bench_before) / wall)


def measure(nice: int, viewers_count: int, seconds: float, root: Path = ROOT) -> dict:
    """One app from ``root`` (its session at niceness ``nice``, core/priority.py): page, first loss, three windows."""
    from gradio_client import Client

    from core.models.catalog import OFFLINE_MODEL_ID

    with tempfile.TemporaryDirectory(prefix="sft-coach-bench-", ignore_cleanup_errors=True) as tmp:
        folder = Path(tmp)
        env = {"SFT_COACH_TINY_MODEL": "0", "SFT_COACH_SERVER_NICE": str(nice)}
        server = AppServer(folder / "data", folder / "server.log", env, root=root)
        try:
            page_seconds = server.wait_until_up(120)
            client = Client(server.url, verbose=False)
            click = time.time()
            run_id = client.predict(OFFLINE_MODEL_ID, "json_extraction", 500, api_name="/start_training")
            while not client.predict(run_id, api_name="/run_status")["losses"]:
                time.sleep(0.2)
                if time.time() - click > 300:
                    raise TimeoutError("no loss point within 300 s")
            first_loss_seconds = time.time() - click
            metrics = folder / "data" / "runs" / run_id / "metrics.jsonl"
            app = psutil.Process(server.process.pid)
            quiet, _ = steps_during(client, metrics, run_id, lambda: time.sleep(seconds))
            _, one = steps_during(client, metrics, run_id, lambda: viewers(server.url, run_id, 1, seconds))
            crowd = lambda: viewers(server.url, run_id, viewers_count, seconds)  # noqa: E731
            busy, (many, cpu) = steps_during(client, metrics, run_id, lambda: cpu_shares(app, crowd, seconds))
            client.predict(run_id, api_name="/stop_training")
            deadline = time.time() + 120  # the worker saves the step it stopped at: let it finish before cleanup
            active = ("queued", "preparing", "training", "stopping")
            while client.predict(run_id, api_name="/run_status")["phase"] in active and time.time() < deadline:
                time.sleep(0.5)
            said = next((line for line in server.log().splitlines() if "CPU share" in line), "")
        finally:
            server.stop()
    return {"nice": nice, "page": page_seconds, "first_loss": first_loss_seconds, "quiet": quiet, "busy": busy,
            "one": one, "many": many, "cpu": cpu, "said": said}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=90)  # each window spans an eval + sampling step
    parser.add_argument("--server-nice", default="0", help="niceness values of the app's session to compare: 0,10")
    parser.add_argument("--before", metavar="REV", help="also measure the app at this git revision, side by side")
    parser.add_argument("--rounds", type=int, default=1, help="with --before: rounds, alternating which goes first")
    args = parser.parse_args()
    from core.models.catalog import ensure_offline_model

    ensure_offline_model()  # converted once beforehand: a first run's conversion is not page time
    started = time.time()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="sft-coach-rev-") as checkout:
        trees = {"this tree": ROOT}
        if args.before:  # the revision's files only (git archive): nothing in this working tree changes
            trees = {args.before: revision_tree(args.before, checkout), "this tree": ROOT}
        results = []
        for round_ in range(args.rounds if args.before else 1):
            order = list(trees) if round_ % 2 == 0 else list(trees)[::-1]
            for name in order:
                for nice in args.server_nice.split(","):
                    measured = measure(int(nice), args.viewers, args.seconds, trees[name])
                    results.append({"tree": name, "round": round_ + 1, **measured})
    print(f"# Responsiveness, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, started {time.ctime(started)}")
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: {os.getloadavg()[0]:.2f}")
    for r in results:
        print(f"\n## {r['tree']}, round {r['round']}, app session niceness {r['nice']}: {r['said']}")
        print(f"time to page: {r['page']:.1f} s (goal < 8 s)")
        print(f"time from Start to the first loss point: {r['first_loss']:.1f} s")
        print("| viewers | poll p50 (ms) | poll p95 (ms) | page p50 (ms) | page p95 (ms) | errors |")
        print("|---|---|---|---|---|---|")
        for count, (poll, page, errors) in ((1, r["one"]), (args.viewers, r["many"])):
            print(
                f"| {count} | {percentile(poll, 0.5):.0f} | {percentile(poll, 0.95):.0f} | "
                f"{percentile(page, 0.5):.0f} | {percentile(page, 0.95):.0f} | {errors} |"
            )
        print(f"CPU while {args.viewers} viewers polled: the app's server {r['cpu'][0]:.2f} cores, "
              f"the viewers' client (this bench) {r['cpu'][1]:.2f} cores")  # fmt: skip
        drop = (1 - r["busy"] / r["quiet"]) * 100 if r["quiet"] else float("nan")
        print(
            f"training steps/s: {r['quiet']:.3f} with no viewers, {r['busy']:.3f} with {args.viewers} viewers "
            f"({drop:.1f}% slower; goal <= 15%)"
        )


if __name__ == "__main__":
    main()
