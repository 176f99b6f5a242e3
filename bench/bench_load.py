"""Load test on loopback: N people use the app for D seconds while one run trains.

    .venv/bin/python bench/bench_load.py [--sessions 50] [--seconds 300] [--tiny]
    .venv/bin/python bench/bench_load.py --workshop [--sessions 30]   # a class in workshop mode (load_workshop.py)

Each simulated session does what a person does, over and over until the time is up:
load the page (``/`` and ``/config``, then the page's load event), upload a small JSONL
file (``/gradio_api/upload``) and get its preview (the upload event of step 2, exactly as
the browser calls it), then watch the training run (``/run_status`` once a second). Every
fifth session also queues a run of its own (``/start_training``) and follows its place in
line. At the end every queued run is cancelled and the training run stopped, so nothing
keeps training.

Reported: errors (should be 0), lost runs (started but not listed afterwards: should be 0),
queued runs that never showed a place in line (should be 0), the server's peak RSS
(``VmHWM``) and its training workers', p50/p95 latency per request kind, and the CPU the
client itself used.

The client is light on purpose: one process, asyncio and httpx speaking the Gradio
protocol (join the queue, read the event stream), not one ``gradio_client.Client`` per
session; ``--compare-gradio-client K`` measures what K of those would cost instead.
Every loop is bounded in count and time and stops by itself; the exit code is 1 when
there were errors, lost runs or queued runs without a place.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app_server import AppServer  # noqa: E402

REQUEST_TIMEOUT = 60.0  # one request, queue wait included
ENDED = ("finished", "failed", "stopped", "interrupted", "cancelled")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (``VmHWM``) in MB, or 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child_pids(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def sample_jsonl(index: int, rows: int = 30) -> bytes:
    """A small conversational dataset, different per session."""
    lines = []
    for row in range(rows):
        a, b = index + row, 3 * row + 1
        messages = [
            {"role": "user", "content": f"What is {a} plus {b}?"},
            {"role": "assistant", "content": f"{a} plus {b} is {a + b}."},
        ]
        lines.append(json.dumps({"messages": messages}))
    return ("\n".join(lines) + "\n").encode()


class RequestFailed(RuntimeError):
    pass


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    started_runs: list[str] = field(default_factory=list)
    queued_runs: list[str] = field(default_factory=list)
    positions_seen: dict[str, int] = field(default_factory=dict)


def off_queue(config: dict) -> frozenset[int]:
    """The ids of the page's events that run off the queue (``queue=False``): a browser posts each as one request."""
    return frozenset(dep["id"] for dep in config["dependencies"] if dep.get("queue") is False)


class GradioSession:
    """One browser tab's worth of Gradio protocol over a shared httpx client: its own session hash.

    ``direct``: the event ids the app runs off the queue (``off_queue``), sent the way the browser's client
    sends them, as one POST to ``run/predict``; every other event joins the queue and reads its event stream.
    """

    def __init__(
        self, http, base: str, fn_index: dict[str, int], tally: Tally, direct: frozenset[int] = frozenset()
    ) -> None:
        self.http = http
        self.base = base
        self.fn_index = fn_index
        self.tally = tally
        self.direct = direct
        self.session_hash = secrets.token_hex(6)
        self.changed_state_ids: list[int] = []  # of the last call: a browser then fires their change events

    async def timed(self, kind: str, coroutine):
        start = time.perf_counter()
        try:
            result = await asyncio.wait_for(coroutine, REQUEST_TIMEOUT)
        except Exception as err:  # noqa: BLE001 - counted and reported
            self.tally.errors.append(f"{kind}: {type(err).__name__}: {str(err)[:200]}")
            raise RequestFailed(kind) from err
        self.tally.latencies[kind].append((time.perf_counter() - start) * 1000)
        return result

    async def get(self, path: str) -> bytes:
        response = await self.http.get(self.base + path)
        response.raise_for_status()
        return response.content

    async def upload(self, name: str, content: bytes) -> dict:
        files = {"files": (name, content, "application/octet-stream")}
        response = await self.http.post(self.base + "gradio_api/upload", files=files)
        response.raise_for_status()
        path = response.json()[0]
        meta = {"_type": "gradio.FileData"}
        return {"path": path, "orig_name": name, "size": len(content), "mime_type": None, "meta": meta}

    async def call(self, api_name: str, data: list):
        """Join the queue for one event and read this session's event stream until it completes."""
        body = {"data": data, "fn_index": self.fn_index[api_name], "session_hash": self.session_hash}
        body.update({"event_data": None, "trigger_id": None})
        if body["fn_index"] in self.direct:
            return await self._direct(body)
        response = await self.http.post(self.base + "gradio_api/queue/join", json=body)
        response.raise_for_status()
        event_id = response.json()["event_id"]
        url = self.base + "gradio_api/queue/data"
        async with self.http.stream("GET", url, params={"session_hash": self.session_hash}) as stream:
            stream.raise_for_status()
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "unexpected_error":
                    raise RuntimeError(message.get("message"))
                if message.get("event_id") != event_id or message.get("msg") != "process_completed":
                    continue
                output = message.get("output") or {}
                if not message.get("success", False):
                    raise RuntimeError(output.get("error") or "the event failed")
                self.changed_state_ids = output.get("changed_state_ids") or []
                return output.get("data")
        raise RuntimeError(f"the event stream ended before {api_name} completed")

    async def _direct(self, body: dict):
        """An event off the queue: one POST, answered with the outputs (the path names no endpoint: fn_index does)."""
        response = await self.http.post(self.base + "gradio_api/run/predict", json=body)
        output = response.json()
        if response.status_code != 200:
            raise RuntimeError(output.get("error") or f"HTTP {response.status_code}")
        self.changed_state_ids = output.get("changed_state_ids") or []
        return output.get("data")


async def person(
    index: int,
    http,
    base: str,
    fn_index: dict,
    tally: Tally,
    main_run: str,
    deadline: float,
    queue_model: str,
    direct: frozenset[int] = frozenset(),
) -> None:
    """One simulated person: page, upload and preview, watch the run; every fifth also queues a run.

    ``http`` is this person's own client (its own cookie jar, so the app sees a person of its own) over the
    connection pool everyone shares.
    """
    tab = GradioSession(http, base, fn_index, tally, direct)
    await asyncio.sleep(random.Random(index).uniform(0, 3))  # people do not all arrive in the same second
    own_run = None
    for cycle in range(1000):  # bounded; the deadline ends it much sooner
        if time.time() > deadline:
            return
        try:
            await tab.timed("page", tab.get(""))
            await tab.timed("config", tab.get("config"))
            await tab.timed("load event", tab.call("open_page", [None]))
            name = f"session{index}-{cycle}.jsonl"
            file = await tab.timed("upload", tab.upload(name, sample_jsonl(index)))
            preview = await tab.timed("preview", tab.call("pick_upload", [file, None]))
            if "plus" not in json.dumps(preview):
                tally.errors.append(f"preview: session {index} did not see its rows")
            if index % 5 == 0 and own_run is None:
                own_run = await tab.timed(
                    "queue a run", tab.call("start_training", [queue_model, "json_extraction", 5])
                )
                own_run = own_run[0]
                tally.started_runs.append(own_run)
                tally.queued_runs.append(own_run)
            for _ in range(10):
                if time.time() > deadline:
                    return
                tick = time.perf_counter()
                status = (await tab.timed("poll", tab.call("run_status", [main_run])))[0]
                if status["phase"] not in ("preparing", "training"):
                    tally.errors.append(f"poll: the training run is {status['phase']}: {status.get('error')}")
                if own_run is not None:
                    mine = (await tab.timed("poll own", tab.call("run_status", [own_run])))[0]
                    if mine["queue_position"]:
                        tally.positions_seen[own_run] = mine["queue_position"]
                await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - tick)))
        except RequestFailed:
            await asyncio.sleep(1.0)  # counted; carry on like a person pressing reload


async def resident_sizes(pid: int, until: float, peaks: dict[str, float]) -> None:
    """Sample the server's and its training workers' peak RSS every 2 s (workers end before the server)."""
    while time.time() < until:
        peaks["server"] = max(peaks.get("server", 0.0), peak_rss_mb(pid))
        for child in child_pids(pid):
            peaks["workers"] = max(peaks.get("workers", 0.0), peak_rss_mb(child))
        await asyncio.sleep(2)


async def finish(tab: GradioSession, tally: Tally, main_run: str) -> dict[str, str]:
    """Cancel every queued run first (so none starts), then stop the training run; wait until all have ended."""
    for run_id in [*tally.queued_runs, main_run]:
        try:
            await tab.timed("stop", tab.call("stop_training", [run_id]))
        except RequestFailed:
            pass  # counted; the loop below tries again
    phases: dict[str, str] = {}
    stopped_at = dict.fromkeys([*tally.queued_runs, main_run], time.time())
    deadline = time.time() + 300
    while time.time() < deadline:
        for run_id in tally.started_runs:
            try:
                phases[run_id] = (await tab.timed("final status", tab.call("run_status", [run_id])))[0]["phase"]
            except RequestFailed:
                phases.pop(run_id, None)
        active = [r for r, phase in phases.items() if phase not in ENDED]
        if not active and len(phases) == len(tally.started_runs):
            break
        for run_id in active:  # a run that started meanwhile, or a stop that came too early, gets another stop
            if phases[run_id] != "stopping" and time.time() - stopped_at.get(run_id, 0) > 15:
                stopped_at[run_id] = time.time()
                try:
                    await tab.timed("stop", tab.call("stop_training", [run_id]))
                except RequestFailed:
                    pass  # counted; tried again in 15 s
        await asyncio.sleep(1)
    return phases


async def load_test(server: AppServer, args) -> tuple[Tally, dict[str, str], dict[str, float], float]:
    import httpx

    from core.models.catalog import OFFLINE_MODEL_ID, TINY_MODEL_ID

    model = TINY_MODEL_ID if args.tiny else OFFLINE_MODEL_ID
    limits = httpx.Limits(max_connections=args.sessions * 2 + 10, max_keepalive_connections=args.sessions * 2 + 10)
    tally = Tally()
    peaks: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as http:
        config = json.loads(await GradioSession(http, server.url, {}, tally).get("config"))
        fn_index = {d["api_name"]: d["id"] for d in config["dependencies"] if d.get("api_name")}
        direct = off_queue(config)
        tab = GradioSession(http, server.url, fn_index, tally, direct)
        # One run trains throughout: more steps than the test lasts; stopped at the end.
        main_run = (await tab.timed("start", tab.call("start_training", [model, "json_extraction", 100_000])))[0]
        tally.started_runs.append(main_run)
        started = time.time()
        while (await tab.timed("poll", tab.call("run_status", [main_run])))[0]["phase"] != "training":
            if time.time() - started > 300:
                raise TimeoutError("the training run did not start within 300 s")
            await asyncio.sleep(1)
        deadline = time.time() + args.seconds
        monitor = asyncio.create_task(resident_sizes(server.process.pid, deadline + 330, peaks))
        # One client (one cookie jar: one person to the app) per simulated person, over one shared pool.
        transport = httpx.AsyncHTTPTransport(limits=limits)
        clients = [httpx.AsyncClient(timeout=REQUEST_TIMEOUT, transport=transport) for _ in range(args.sessions)]
        people = [
            person(i, clients[i], server.url, fn_index, tally, main_run, deadline, model, direct)
            for i in range(args.sessions)
        ]
        await asyncio.gather(*people)
        for client in clients:
            await client.aclose()
        window = time.time() - (deadline - args.seconds)
        phases = await finish(tab, tally, main_run)
        peaks["server"] = max(peaks.get("server", 0.0), peak_rss_mb(server.process.pid))
        monitor.cancel()
    return tally, phases, peaks, window


def measure_gradio_client(url: str, count: int, polls: int, run_id: str) -> str:
    """CPU and memory that ``count`` gradio_client Clients in this process cost, each polling ``polls`` times."""
    from gradio_client import Client

    cpu = time.process_time()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.time()
    clients = [Client(url, verbose=False) for _ in range(count)]
    built = time.process_time() - cpu
    for _ in range(polls):
        for client in clients:
            client.predict(run_id, api_name="/run_status")
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    return (
        f"{count} gradio_client Clients: {built:.1f} CPU s to create, {time.process_time() - cpu:.1f} CPU s with "
        f"{polls} polls each, {time.time() - start:.1f} s wall, client peak RSS +{grown:.0f} MB"
    )


@dataclass
class LoadReport:
    tally: Tally
    phases: dict[str, str]  # every run that could be read back at the end, with its final phase
    peaks: dict[str, float]  # peak RSS in MB: "server", "workers"
    window: float  # seconds the sessions ran
    page_seconds: float
    client_cpu: float  # CPU seconds this (client) process used
    runs_on_disk: set[str]
    traceback_in_log: str  # the first traceback in the server's log (up to 3,000 characters), or ""
    comparison: str = ""

    @property
    def lost(self) -> list[str]:
        return [r for r in self.tally.started_runs if r not in self.phases or r not in self.runs_on_disk]

    @property
    def without_place(self) -> list[str]:
        return [r for r in self.tally.queued_runs if r not in self.tally.positions_seen]

    @property
    def still_active(self) -> list[str]:
        return [r for r, phase in self.phases.items() if phase not in ENDED]

    @property
    def ok(self) -> bool:
        return not (self.tally.errors or self.lost or self.without_place or self.still_active)


def run_load_test(sessions: int, seconds: float, tiny: bool = False, compare_gradio_client: int = 0) -> LoadReport:
    """Launch the app on loopback, run the sessions against it, stop every run, stop the app."""
    args = argparse.Namespace(sessions=sessions, seconds=seconds, tiny=tiny)
    if not tiny:
        from core.models.catalog import ensure_offline_model

        ensure_offline_model()  # converted once beforehand, outside the measured window
    cpu_before = time.process_time()
    with tempfile.TemporaryDirectory(prefix="sft-coach-load-") as tmp:
        folder = Path(tmp)
        server = AppServer(folder / "data", folder / "server.log", {"SFT_COACH_TINY_MODEL": "1" if tiny else "0"})
        try:
            page_seconds = server.wait_until_up(120)
            tally, phases, peaks, window = asyncio.run(load_test(server, args))
            client_cpu = time.process_time() - cpu_before
            comparison = ""
            if compare_gradio_client:
                comparison = measure_gradio_client(server.url, compare_gradio_client, 5, tally.started_runs[0])
            runs = folder / "data" / "runs"
            on_disk = {p.name for p in runs.iterdir() if (p / "state.json").is_file()} if runs.is_dir() else set()
            log = server.log()
            first = log.find("Traceback")
            traceback_in_log = log[first : first + 3000] if first >= 0 else ""
        finally:
            server.stop()
    return LoadReport(tally, phases, peaks, window, page_seconds, client_cpu, on_disk, traceback_in_log, comparison)


def print_latencies_and_errors(tally: Tally) -> None:
    """p50/p95 per request kind as a table, then the errors (the first ten)."""
    print("| request | count | p50 (ms) | p95 (ms) |")
    print("|---|---|---|---|")
    for kind, values in tally.latencies.items():
        print(f"| {kind} | {len(values)} | {percentile(values, 0.5):.0f} | {percentile(values, 0.95):.0f} |")
    print(f"errors: {len(tally.errors)}")
    for error in tally.errors[:10]:
        print(f"  - {error}")


def print_report(report: LoadReport, sessions: int, seconds: float, tiny: bool) -> None:
    tally = report.tally
    print(f"# Load test, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}, loopback")
    print(
        f"{sessions} sessions for {seconds:g} s ({report.window:.0f} s measured) while one run trains "
        f"({'tiny model' if tiny else 'SmolLM2-135M'}); page up in {report.page_seconds:.1f} s"
    )
    print_latencies_and_errors(tally)
    queued = len(tally.queued_runs)
    print(f"runs started: {len(tally.started_runs)} (1 training, {queued} queued); lost: {len(report.lost)}")
    print(f"queued runs that never showed a place in line: {len(report.without_place)}")
    print(f"runs still active at the end: {len(report.still_active)}")
    server, workers = report.peaks.get("server", 0), report.peaks.get("workers", 0)
    print(f"server peak RSS (VmHWM): {server:.0f} MB; training worker: {workers:.0f} MB")
    share = report.client_cpu / max(report.window, 1) * 100
    print(f"client CPU: {report.client_cpu:.1f} s for {report.window:.0f} s of load ({share:.0f}% of one core)")
    print(f"Traceback in the server log: {'yes' if report.traceback_in_log else 'no'}")
    if report.traceback_in_log:
        print(report.traceback_in_log)
    if report.comparison:
        print(report.comparison)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--tiny", action="store_true", help="train the tiny random model (tests), not SmolLM2-135M")
    parser.add_argument("--compare-gradio-client", type=int, default=0, metavar="K")
    workshop = parser.add_argument_group("--workshop: N participants each training (bench/load_workshop.py)")
    workshop.add_argument("--workshop", action="store_true", help="a class in workshop mode: everyone trains")
    workshop.add_argument("--greedy-every", type=int, default=10, help="every K-th participant starts several runs")
    workshop.add_argument("--greedy-runs", type=int, default=3, help="how many runs they start at once")
    workshop.add_argument("--max-steps", type=int, default=3, help="the instructor's longest run, in steps")
    workshop.add_argument("--max-minutes", type=float, default=0.2, help="the instructor's longest run, in minutes")
    workshop.add_argument("--poll", type=float, default=2.0, help="seconds between a waiting page's refreshes")
    workshop.add_argument("--train-in", choices=("process", "thread"), default="process", help="SFT_COACH_TRAIN_IN")
    args = parser.parse_args(argv)
    if args.workshop:
        from bench.load_workshop import run_class

        args.seconds = args.seconds if args.seconds != 300 else 3600  # the deadline for the whole class
        return run_class(args)
    report = run_load_test(args.sessions, args.seconds, args.tiny, args.compare_gradio_client)
    print_report(report, args.sessions, args.seconds, args.tiny)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
