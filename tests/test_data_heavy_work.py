"""Heavy data work one at a time per person (core/data/heavy_work.py): a newer request stops the older one and runs
after it, a closed page stops its check at the next batch, and a check that won't stop makes the next one refused
with a sentence. Threads are coordinated with events, never with sleeps or timing thresholds."""

from __future__ import annotations

import threading

import pytest

from core.data.errors import DataError
from core.data.heavy_work import PAGE_CLOSED, SUPERSEDED, HeavyWorkLimiter, WorkCancelled

GUARD = 60  # seconds an event may take before the test gives up: a deadlock guard, not a measurement


def _begin_in_thread(limiter: HeavyWorkLimiter, owner: str, page: str | None = None) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["ticket"] = limiter.begin(owner, page)
        except (WorkCancelled, DataError) as err:
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_newer_request_stops_the_older_and_runs_once_it_has_stopped():
    limiter = HeavyWorkLimiter()
    first = limiter.begin("ann", "tab-1")
    thread, outcome = _begin_in_thread(limiter, "ann", "tab-1")
    assert first.cancel.wait(GUARD)  # the newer request told the running check to stop...
    assert thread.is_alive() and limiter.running("ann") is first  # ...and waits: never two at once for one person
    with pytest.raises(WorkCancelled, match=SUPERSEDED):
        first.raise_if_stopped()  # what the check does at its next batch
    limiter.end(first)
    thread.join(GUARD)
    second = outcome["ticket"]
    assert limiter.running("ann") is second and not second.should_stop()
    assert not limiter.is_newest(first) and limiter.is_newest(second)  # the stopped one's result is never shown
    limiter.end(second)
    assert limiter.running("ann") is None and limiter._newest == {}  # nothing kept once the work is done


def test_other_people_are_not_held_up_or_stopped():
    limiter = HeavyWorkLimiter(wait_seconds=0)
    ann = limiter.begin("ann")
    bob = limiter.begin("bob")  # returns at once although ann's check runs
    assert not ann.should_stop() and not bob.should_stop()
    assert limiter.running("ann") is ann and limiter.running("bob") is bob


def test_a_check_that_does_not_stop_in_time_makes_the_next_one_refused_with_a_sentence():
    limiter = HeavyWorkLimiter(wait_seconds=0)
    stuck = limiter.begin("ann")
    with pytest.raises(DataError, match="previous check of the rows is still stopping") as info:
        limiter.begin("ann")
    assert "Wait a few seconds" in str(info.value)
    assert stuck.should_stop() and limiter.running("ann") is stuck  # told to stop; still the one running
    limiter.end(stuck)
    limiter.end(limiter.begin("ann"))  # once it ended, the next one starts


def test_a_request_still_waiting_gives_up_when_a_newer_one_comes():
    limiter = HeavyWorkLimiter()
    running = limiter.begin("ann")
    waiting, waiting_outcome = _begin_in_thread(limiter, "ann")
    assert running.cancel.wait(GUARD)  # the second request is waiting for the first to stop
    newest, newest_outcome = _begin_in_thread(limiter, "ann")
    waiting.join(GUARD)
    assert isinstance(waiting_outcome["error"], WorkCancelled)  # replaced before it started: it never runs
    limiter.end(running)
    newest.join(GUARD)
    assert limiter.running("ann") is newest_outcome["ticket"]


def test_closing_the_page_stops_its_check_at_the_next_batch_of_rows(data_tokenizer):
    from core.data.stats import measure_lengths

    limiter = HeavyWorkLimiter()
    ticket = limiter.begin("ann", page="tab-1")
    other = limiter.begin("bob", page="tab-2")
    batches = []

    def checkpoint() -> None:
        batches.append(len(batches))
        if len(batches) == 2:  # the page goes away while the second batch is checked
            assert limiter.cancel_page("tab-1") == 1
        ticket.raise_if_stopped()

    rows = [{"text": f"row {i}"} for i in range(2_000)]
    with pytest.raises(WorkCancelled, match=PAGE_CLOSED):
        measure_lengths(rows, "text", data_tokenizer, batch_size=100, checkpoint=checkpoint)
    assert len(batches) == 2  # 20 batches without the cancel
    assert not other.should_stop()  # another page's check goes on
    limiter.end(ticket)
    assert limiter.running("ann") is None


def test_a_waiting_request_whose_page_closes_gives_up():
    limiter = HeavyWorkLimiter()
    running = limiter.begin("ann", page="tab-1")
    waiting, outcome = _begin_in_thread(limiter, "ann", page="tab-2")
    assert running.cancel.wait(GUARD)
    limiter.cancel_page("tab-2")
    waiting.join(GUARD)
    assert isinstance(outcome["error"], WorkCancelled) and PAGE_CLOSED in str(outcome["error"])
    limiter.end(running)
    assert limiter._newest == {} and limiter.running("ann") is None
