"""``bench_load.py --workshop``: a class of N participants in workshop mode, everyone training, one trainer.

Each participant opens the page (their own cookie: their own person to the app) and presses Start through
the page's own events; every ``greedy_every``-th one starts ``greedy_runs`` runs at once (from as many tabs).
Every run is capped by the instructor's settings (``SFT_COACH_MAX_STEPS``, so the class finishes in
minutes). While they wait, their pages poll the Train step's refresh event every ``poll`` seconds, as the
page's timer does, and read the status card: the place in line and the wait it says.

Reported: errors, lost runs (started, not on disk or not ended), queued runs that never showed a place or a
wait; from the runs' own records on disk, the order they trained in, each participant's wait for their
first run (max, and the spread max - min), and how many times a participant's second or later run trained
while someone else's first run was waiting (0 when turns go by person). The same arrivals and the same
measured run times replayed first come, first served give the comparison (computed, not a second run: it
would double the machine time); and the waits the cards showed against the waits that followed.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.bench_load import GradioSession, RequestFailed, Tally, percentile, print_latencies_and_errors
from tests.app_server import AppServer

ENDED = ("finished", "failed", "stopped", "interrupted", "cancelled")
ENDED_LABELS = ("Finished", "Failed", "Stopped", "Interrupted", "Cancelled")  # the status card's badge
PLACE = re.compile(r"Place in line: (\d+)\.")
RUN_ID = re.compile(r"title='run id'>([0-9a-f-]+)<")
WAIT = re.compile(r"(About|At least) (\d+) min until it starts")


@dataclass
class ClassTally(Tally):
    shown_waits: dict[str, tuple[float, str, int]] = field(default_factory=dict)  # run -> (seen at, kind, minutes)
    tabs: dict[str, str] = field(default_factory=dict)  # run id -> participant
    given_up: list[str] = field(default_factory=list)  # runs still waiting or training at the deadline


async def tab_of_participant(
    who: str, http, base: str, fn_index: dict, tally: ClassTally, deadline: float, poll: float
) -> None:
    """One tab: open the page, Start, then poll the Train step until the run has ended."""
    tab = GradioSession(http, base, fn_index, tally)
    try:
        await tab.timed("page", tab.get(""))
        await tab.timed("load event", tab.call("open_page", [None]))
    except RequestFailed:
        return
    try:
        await tab.timed("start", tab.call("start_run", [None, ""]))
    except RequestFailed:
        pass  # counted; the server may still have queued the run (a slow Start): the status card says
    run_id = None  # the page's state keeps it on the server; the status card names it
    while time.time() < deadline:
        try:
            shown = await tab.timed("poll", tab.call("refresh", [None, None, 0.6, "step"]))
        except RequestFailed:
            await asyncio.sleep(poll)
            continue
        status = shown[1] if shown and isinstance(shown[1], str) else ""
        named = RUN_ID.search(status)
        if run_id is None:
            if not named:
                tally.errors.append(f"start: {who}'s status card names no run: {status[:200]}")
                return
            run_id = named.group(1)
            tally.started_runs.append(run_id)
            tally.tabs[run_id] = who
        place, wait = PLACE.search(status), WAIT.search(status)
        if place:
            if run_id not in tally.positions_seen:
                tally.queued_runs.append(run_id)
            tally.positions_seen[run_id] = int(place.group(1))
        if wait and run_id not in tally.shown_waits:
            tally.shown_waits[run_id] = (time.time(), wait.group(1), int(wait.group(2)))
        if status and not place and any(f">{label}<" in status for label in ENDED_LABELS):
            return
        await asyncio.sleep(poll)
    if run_id is not None:  # the class is over: whoever still waits gives up (Cancel, or Stop when it trains)
        tally.given_up.append(run_id)
        try:
            await tab.timed("give up", tab.call("stop_run", [None]))
        except RequestFailed:
            pass  # counted


@dataclass
class RunRecord:
    run_id: str
    owner: str
    created: float
    started: float  # first training step
    finished: float
    phase: str
    left_line: float = 0.0  # when it left the line: the previous run's end, or its own start when nothing trained


def read_runs(runs_dir: Path) -> list[RunRecord]:
    """Every run on disk, in the order they trained; when each left the line (one trains at a time)."""
    records = []
    for state_file in runs_dir.glob("*/state.json"):
        state = json.loads(state_file.read_text())
        never = state.get("started_at") is None  # cancelled in line at the end: it waited to the end
        records.append(
            RunRecord(
                state_file.parent.name,
                state.get("owner") or "",
                float(state["created_at"]),
                math.inf if never else float(state["started_at"]),
                float(state.get("finished_at") or time.time()),
                state.get("phase", ""),
            )
        )
    records.sort(key=lambda r: r.started)
    previous_end = 0.0
    for record in records:
        if record.started == math.inf:
            record.left_line = math.inf
            continue
        record.left_line = max(record.created, previous_end)
        previous_end = record.finished
    return records


def first_run_waits(records: list[RunRecord]) -> dict[str, float]:
    """Each participant's wait for their first run: from pressing Start to leaving the line (inf: never left)."""
    waits: dict[str, float] = {}
    for record in sorted(records, key=lambda r: r.created):
        waits.setdefault(record.owner, record.left_line - record.created)
    return waits


def overtakes(records: list[RunRecord]) -> int:
    """How often a participant's second or later run left the line while another's first run was waiting."""
    first_of: dict[str, RunRecord] = {}
    for record in sorted(records, key=lambda r: r.created):
        first_of.setdefault(record.owner, record)
    count = 0
    for record in records:
        if first_of[record.owner] is record:
            continue
        t = record.left_line
        count += any(f.owner != record.owner and f.created < t and f.left_line > t for f in first_of.values())
    return count


def replay_first_come_first_served(records: list[RunRecord]) -> list[RunRecord]:
    """The same arrivals and measured run times, trained in the order they came (the line without turns)."""
    replayed, previous_end = [], 0.0
    measured = [r.finished - r.left_line for r in records if r.left_line < math.inf]
    typical = statistics.median(measured) if measured else 0.0
    for record in sorted(records, key=lambda r: r.created):
        took = record.finished - record.left_line if record.left_line < math.inf else typical
        left = max(record.created, previous_end)
        replayed.append(RunRecord(record.run_id, record.owner, record.created, left, left + took, record.phase, left))
        previous_end = left + took
    return replayed


async def class_load(server: AppServer, args) -> ClassTally:
    import httpx

    tally = ClassTally()
    limits = httpx.Limits(max_connections=args.sessions * 4 + 10, max_keepalive_connections=args.sessions * 4 + 10)
    transport = httpx.AsyncHTTPTransport(limits=limits)
    async with httpx.AsyncClient(timeout=60, transport=transport) as http:
        config = json.loads(await GradioSession(http, server.url, {}, tally).get("config"))
    fn_index: dict[str, int] = {}
    for dep in config["dependencies"]:
        fn_index.setdefault(dep.get("api_name"), dep["id"])
    deadline = time.time() + args.seconds
    clients, tabs = [], []
    for index in range(args.sessions):
        client = httpx.AsyncClient(timeout=60, transport=transport)  # one cookie jar: one participant
        clients.append(client)
        await client.get(server.url)  # the cookie, before several tabs start at once
        runs = args.greedy_runs if index % args.greedy_every == 0 else 1
        for _ in range(runs):
            tabs.append(tab_of_participant(f"p{index}", client, server.url, fn_index, tally, deadline, args.poll))
    await asyncio.gather(*tabs)
    for client in clients:
        await client.aclose()
    return tally


def run_class(args) -> int:
    """Launch the app in workshop mode, run the class, print the report; 1 when anything went wrong."""
    from core.models.catalog import TINY_MODEL_ID

    env = {
        "SFT_COACH_WORKSHOP": "1",
        "SFT_COACH_MAX_STEPS": str(args.max_steps),
        "SFT_COACH_MAX_RUN_MINUTES": str(args.max_minutes),  # stops a run's end-of-run samples too
        "SFT_COACH_DEFAULT_MODEL": TINY_MODEL_ID,  # the class trains the tiny model: runs of seconds, not minutes
        # "thread": each run trains in the app's process, sparing the ~13 s (far more on a busy machine) a worker
        # process takes to import torch, transformers and TRL before every run; the order is the same
        "SFT_COACH_TRAIN_IN": args.train_in,
    }
    with tempfile.TemporaryDirectory(prefix="sft-coach-class-") as tmp:
        folder = Path(tmp)
        server = AppServer(folder / "data", folder / "server.log", env)
        try:
            server.wait_until_up(120)
            began = time.time()
            tally = asyncio.run(class_load(server, args))
            took = time.time() - began
            records = read_runs(folder / "data" / "runs")
            log = server.log()
        finally:
            server.stop()
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[:3]
    on_disk = {r.run_id: r for r in records}
    lost = [r for r in tally.started_runs if r not in on_disk or on_disk[r].phase not in ENDED]
    gave_up = set(tally.given_up)
    bad = [r for r in records if r.phase not in ("finished", "stopped") and r.run_id not in gave_up]
    limited = sum(1 for r in records if r.phase == "stopped")
    waiting = [r for r in tally.started_runs if r in on_disk and on_disk[r].left_line - on_disk[r].created > 5]
    no_place = [r for r in waiting if r not in tally.positions_seen]
    no_wait = [r for r in waiting if r not in tally.shown_waits]
    fair, fifo = first_run_waits(records), first_run_waits(replay_first_come_first_served(records))
    trained_first = {who: wait for who, wait in fair.items() if wait < math.inf}
    ratio_shown = [
        (on_disk[r].left_line - seen) / (minutes * 60)
        for r, (seen, kind, minutes) in tally.shown_waits.items()
        if kind == "About" and r in on_disk and minutes and on_disk[r].left_line < math.inf
    ]
    greedy = sum(1 for i in range(args.sessions) if i % args.greedy_every == 0)
    print(f"# Workshop load test, {time.strftime('%Y-%m-%d %H:%M')}, loopback, load average {' '.join(load)}")
    print(
        f"{args.sessions} participants ({greedy} starting {args.greedy_runs} runs at once), tiny model capped at "
        f"{args.max_steps} steps and {args.max_minutes:g} min, one trainer (training in a {args.train_in}); "
        f"{sum(1 for r in records if r.left_line < math.inf)} of {len(records)} runs trained in {took / 60:.1f} min"
    )
    print_latencies_and_errors(tally)
    print(f"runs started: {len(tally.started_runs)}; lost: {len(lost)}; ended badly: {len(bad)}; ", end="")
    print(f"stopped by the longest-run limit: {limited}; given up at the deadline: {len(gave_up)}")
    print(f"runs that waited: {len(waiting)}; without a place in line shown: {len(no_place)}; ", end="")
    print(f"without a wait shown: {len(no_wait)}")
    print(f"participants whose first run trained: {len(trained_first)} of {len(fair)}")

    def minutes(values) -> str:
        finite = [v for v in values if v < math.inf]
        return f"{max(finite) / 60:.1f} min" if finite else "-"

    print("| first run of each participant that trained | turns by person (measured) | first come, first served "
          "(replayed) |\n|---|---|---|")  # fmt: skip
    replayed_first = [fifo[who] for who in trained_first]
    print(f"| longest wait | {minutes(trained_first.values())} | {minutes(replayed_first)} |")
    if trained_first:
        spread = (max(trained_first.values()) - min(trained_first.values())) / 60
        replayed_spread = (max(replayed_first) - min(replayed_first)) / 60
        print(f"| wait spread (max - min) | {spread:.1f} min | {replayed_spread:.1f} min |")
        median_fair, median_fifo = statistics.median(trained_first.values()), statistics.median(replayed_first)
        print(f"| median wait | {median_fair / 60:.1f} min | {median_fifo / 60:.1f} min |")
    print(f"| later runs that left the line while another's first run waited | {overtakes(records)} | "
          f"{overtakes(replay_first_come_first_served(records))} |")  # fmt: skip
    if trained_first and max(trained_first.values()) > 0:
        ratio = max(replayed_first) / max(trained_first.values())
        print(f"ratio, longest first-run wait first come first served / turns by person: {ratio:.2f}")
    if ratio_shown:
        print(
            f"waits the cards said ('About N min') vs waited, {len(ratio_shown)} runs: median waited/said "
            f"{statistics.median(ratio_shown):.2f} (p10 {percentile(ratio_shown, 0.1):.2f}, "
            f"p90 {percentile(ratio_shown, 0.9):.2f})"
        )
    print(f"Traceback in the server log: {'yes' if 'Traceback' in log else 'no'}")
    if "Traceback" in log:
        print(log[log.find("Traceback") :][:3000])
    return 1 if tally.errors or lost or bad or no_place or no_wait else 0
