"""Server CPU per page load, per ``run_status`` poll and per Train-step timer tick, as CPU time, not latency.

    .venv/bin/python bench/bench_server_cpu.py [--count 30] [--model tiny|offline] [--before REV] [--rounds 1]

``--before REV`` measures the app at that git revision first (its files from ``git archive``, this venv),
then this working tree, and prints them side by side. ``--rounds N`` measures both N times, alternating
which goes first (AB BA AB ...), and prints the median of each figure: one pair differs by ±20% from the
next on this shared machine, more than most changes.

Latency on a shared 2-core machine is noisy; the CPU seconds the app's process spends per request are not,
and on 2 cores every one of them comes out of training. Launches ``python app.py`` on loopback (the tiny
model preselected by default, to keep it light), lets two short runs finish (one through the script API
for ``run_status``, one through the page's Start so a tab's timer has a run to show), then, one request
at a time, reads the server's CPU time (``psutil`` user + system, the training workers excluded) around:

- a page load by a new visitor: ``/``, ``/config`` and every event the page fires when it loads (the
  load events, what they chain with ``.then``, the change events of the browser-stored owner id, which
  the first load event sets, and of any state an event changed), in a fresh session;
- the same by the visitor who started a run, plus the page's first timer tick, which draws that run;
- a ``run_status`` poll, in one session;
- a Train-step timer tick in a tab watching a finished run: nothing changed (the common case), and with
  the chart smoothing set to a new value every tick (everything redrawn, nothing cached).

Idle CPU (the app's own threads) is measured over the same span and subtracted. Every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_load import GradioSession, Tally, off_queue  # noqa: E402
from bench.revision import revision_tree  # noqa: E402
from tests.app_server import AppServer  # noqa: E402


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class PageModel:
    """What a browser does when it loads this page, read from the app's own config."""

    def __init__(self, config: dict) -> None:
        self.components = {c["id"]: c for c in config["components"]}
        self.deps = config["dependencies"]
        self.fn_index = {d["api_name"]: d["id"] for d in self.deps if d.get("api_name")}
        self.on_load = [d for d in self.deps if any(t[1] == "load" for t in d["targets"])]
        self.owner_ids = {i for i, c in self.components.items() if c["type"] == "browserstate"}
        self.owner_changed = [
            d for d in self.deps if any(t[0] in self.owner_ids and t[1] == "change" for t in d["targets"])
        ]
        ticks = [d for d in self.deps if any(t[1] == "tick" for t in d["targets"])]
        if len(ticks) != 1:
            raise RuntimeError(f"expected one timer on the page, found {len(ticks)}")
        self.tick = ticks[0]

    def then_of(self, dep_id: int) -> list[dict]:
        return [d for d in self.deps if d.get("trigger_after") == dep_id]

    def change_of(self, component_ids: list[int]) -> list[dict]:
        return [d for d in self.deps if any(t[0] in component_ids and t[1] == "change" for t in d["targets"])]

    def inputs(self, dep: dict, owner: str | None, overrides: dict[int, object] | None = None) -> list:
        """The values a browser sends: state stays on the server (None), the owner from localStorage."""
        values = []
        for component_id in dep["inputs"]:
            component = self.components[component_id]
            if overrides and component_id in overrides:
                values.append(overrides[component_id])
            elif component["type"] == "state":
                values.append(None)
            elif component["type"] == "browserstate":
                values.append(owner)
            else:
                values.append(component.get("props", {}).get("value"))
        return values


async def call(
    tab: GradioSession,
    dep: dict,
    data: list,
    page: PageModel | None = None,
    owner: str | None = None,
    overrides: dict[int, object] | None = None,
):
    """Run one event; with ``page``, then the change events of the states it changed, as a browser does."""
    tab.fn_index.setdefault(f"#{dep['id']}", dep["id"])
    direct = dep.get("queue") is False  # sent as the browser sends it: one request, off the queue
    if direct:
        tab.direct |= {dep["id"]}
    result = await tab.call(f"#{dep['id']}", data)
    changed = list(tab.changed_state_ids)
    if direct:  # the outputs it sent a value (not a skip) change, and fire their change events
        changed += [i for i, value in zip(dep["outputs"], result or [], strict=False) if not _skipped(value)]
    if page is not None:
        for after in page.change_of(changed)[:10]:
            await call(tab, after, page.inputs(after, owner, overrides), page, owner, overrides)
    return result


def _skipped(value: object) -> bool:
    """An output the event left as it was (``gr.skip()``: an update with no value)."""
    return isinstance(value, dict) and value.get("__type__") == "update" and "value" not in value


async def load_page(http, url: str, page: PageModel, tally: Tally, owner: str | None) -> str:
    """One page load in a fresh session, as the browser does it; returns the owner id the page settled on."""
    tab = GradioSession(http, url, {}, tally)
    await tab.get("")
    await tab.get("config")

    # One at a time: GradioSession reads one event stream per call (the CPU spent is the same).
    settled = owner
    pending = list(page.on_load)
    while pending:
        dep = pending.pop(0)
        result = await call(tab, dep, page.inputs(dep, owner), page, owner)
        pending += page.then_of(dep["id"])
        for component_id, value in zip(dep["outputs"], result or [], strict=False):
            if component_id in page.owner_ids and isinstance(value, str):
                settled = value
    if settled != owner:
        for dep in page.owner_changed:
            await call(tab, dep, page.inputs(dep, settled), page, settled)
    return settled


async def wait_until_ended(runs: Path, count: int, timeout: float = 600) -> None:
    """Until ``count`` runs in the app's runs folder have finished (read from their state.json)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = [json.loads(p.read_text()) for p in runs.glob("*/state.json")]
        if len(states) >= count and all(s["phase"] in ("finished", "failed", "stopped") for s in states):
            failed = [s for s in states if s["phase"] != "finished"]
            if failed:
                raise RuntimeError(f"a run ended {failed[0]['phase']}: {failed[0].get('error')}")
            return
        await asyncio.sleep(1)
    raise TimeoutError(f"the runs in {runs} did not finish within {timeout} s")


async def measure(server: AppServer, runs: Path, count: int, model_id: str) -> dict[str, float]:
    import httpx

    pid = server.process.pid
    tally = Tally()
    async with httpx.AsyncClient(timeout=300) as http:
        config = json.loads(await GradioSession(http, server.url, {}, tally).get("config"))
        page = PageModel(config)
        tab = GradioSession(http, server.url, page.fn_index, tally, off_queue(config))
        script_run = (await tab.call("start_training", [model_id, "json_extraction", 10]))[0]
        owner = await load_page(http, server.url, page, tally, None)  # a visitor, who then starts a run
        start = next(d for d in page.deps if d.get("api_name") == "start_run")
        await call(tab, start, page.inputs(start, owner))
        await wait_until_ended(runs, 2)
        print(f"both runs finished; measuring {count} of each", flush=True)

        smoothing = next(i for i in page.tick["inputs"] if page.components[i]["type"] == "slider")

        async def pages(n: int):
            for _ in range(n):
                await load_page(http, server.url, page, tally, None)

        async def returning_pages(n: int):
            for _ in range(n):
                await load_page(http, server.url, page, tally, owner)
                fresh = GradioSession(http, server.url, {}, tally)  # the page's first tick draws the run
                await call(fresh, page.tick, page.inputs(page.tick, owner), page, owner)

        async def polls(n: int):
            for _ in range(n):
                await tab.call("run_status", [script_run])

        async def quiet_ticks(n: int):
            for _ in range(n):
                await call(tab, page.tick, page.inputs(page.tick, owner), page, owner)

        new_smoothing = itertools.count(1)

        async def redrawn_ticks(n: int):
            for _ in range(n):
                shown = {smoothing: 0.5 + next(new_smoothing) / 1000}  # moved between ticks: all redrawn, anew
                await call(tab, page.tick, page.inputs(page.tick, owner, shown), page, owner, shown)

        async def idle(n: int):
            await asyncio.sleep(10)

        kinds = {
            "idle (per s)": idle,
            "page load, new visitor": pages,
            "page load with a finished run, and its first tick": returning_pages,
            "run_status poll": polls,
            "timer tick, nothing changed": quiet_ticks,
            "timer tick, charts redrawn": redrawn_ticks,
        }
        for warm in (pages, polls, redrawn_ticks, quiet_ticks):  # first-time imports and caches out of the way;
            await warm(4)  # quiet ticks last: the page then shows the default smoothing
        figures = {}
        idle_rate = 0.0
        for name, work in kinds.items():
            cpu, wall = cpu_seconds(pid), time.perf_counter()
            await work(count)
            spent, elapsed = cpu_seconds(pid) - cpu, time.perf_counter() - wall
            if name.startswith("idle"):
                idle_rate = spent / elapsed
                figures[name] = idle_rate * 1000
            else:
                figures[name] = max(0.0, spent - idle_rate * elapsed) / count * 1000
    if tally.errors:
        raise RuntimeError(f"{len(tally.errors)} requests failed: {tally.errors[:3]}")
    return figures


def measure_app(root: Path, count: int, model_id: str, log_copy: Path | None) -> dict[str, float]:
    """Launch the app from ``root`` (its own data folder), measure it, stop it."""
    from core.models.catalog import TINY_MODEL_ID

    with tempfile.TemporaryDirectory(prefix="sft-coach-cpu-") as tmp:
        folder = Path(tmp)
        env = {"SFT_COACH_DEFAULT_MODEL": model_id, "SFT_COACH_TINY_MODEL": "1"}
        server = AppServer(folder / "data", folder / "server.log", env, root=root)
        try:
            server.wait_until_up(120)
            return asyncio.run(measure(server, folder / "data" / "runs", count, TINY_MODEL_ID))
        finally:
            server.stop()
            if log_copy:
                log_copy.write_text(server.log())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="requests of each kind")
    parser.add_argument("--model", choices=["tiny", "offline"], default="tiny", help="the model the page preselects")
    parser.add_argument("--before", metavar="REV", help="also measure the app at this git revision, side by side")
    parser.add_argument("--rounds", type=int, default=1, help="measure each tree N times, alternating; medians")
    parser.add_argument("--keep-log", type=Path, help="copy the (last) server log here")
    args = parser.parse_args()
    from core.models.catalog import OFFLINE_MODEL_ID, TINY_MODEL_ID, ensure_tiny_model

    ensure_tiny_model()  # built once beforehand (both runs train it)
    model_id = TINY_MODEL_ID if args.model == "tiny" else OFFLINE_MODEL_ID
    columns: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sft-coach-rev-") as checkout:
        trees = {"this tree": ROOT}
        if args.before:  # the revision's files only (git archive): nothing in this working tree changes
            trees = {args.before: revision_tree(args.before, checkout), "this tree": ROOT}
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(trees)[::-1]
            for name in order:
                log = args.keep_log if name == "this tree" else None
                rounds[name].append(measure_app(trees[name], args.count, model_id, log))
        for name, measured in rounds.items():
            columns[name] = {kind: statistics.median(m[kind] for m in measured) for kind in measured[0]}
    print(f"# Server CPU per request, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, model {model_id}")
    print(f"{args.count} of each, one at a time; CPU time of the app's process, its idle rate subtracted")
    print(f"median of {args.rounds} round(s), alternating which app goes first; load average {os.getloadavg()[0]:.2f}")
    print("| request | " + " | ".join(f"{name} (ms)" for name in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for kind in next(iter(columns.values())):
        print(f"| {kind} | " + " | ".join(f"{figures[kind]:.1f}" for figures in columns.values()) + " |")


if __name__ == "__main__":
    main()
