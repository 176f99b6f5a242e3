"""Heavy data work (checking every row with a tokenizer) runs one at a time per person, and stops when not wanted.

Checking 100k rows takes ~48 s of a core (bench/RESULTS.md, data path). Without a limit, seven uploads in a row
ran seven checks at once, and they went on for minutes after their pages had closed (issue 14). Here:

- a person has at most one check running; a newer request from the same person stops the older one at its
  next checkpoint (its result would be replaced anyway) and waits for it to stop, then runs;
- a check whose page went away stops at its next checkpoint (``cancel_page``);
- the work calls ``ticket.raise_if_stopped`` between batches of rows, which raises ``WorkCancelled``.

No gradio here: the Data step holds one ``HeavyWorkLimiter`` and passes the person and the page in.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from core.data.errors import DataError

SUPERSEDED = "a newer check of the same person's data started"
PAGE_CLOSED = "the page that asked for it was closed"
# How long a new check waits for the one it replaces to stop. A check stops within one batch of rows
# (512 rows, ~0.25 s on 2 cores); only work that can't be interrupted (loading a tokenizer) takes longer.
DEFAULT_WAIT_SECONDS = 30.0


class WorkCancelled(Exception):  # noqa: N818 - named for what happened, like KeyboardInterrupt
    """The work was stopped before it finished; the message says why (``SUPERSEDED``, ``PAGE_CLOSED``)."""


@dataclass(eq=False)
class WorkTicket:
    """One piece of heavy work: whose it is, which page asked, and the event that stops it."""

    owner: str
    page: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set to stop the work; a caller may pass its own (e.g. one that also follows a Stop button)."""
    reason: str = ""
    """Why it was stopped, once it was."""
    superseded: bool = False
    """True once a newer request from the same owner came; its result must not be shown."""

    def stop(self, reason: str) -> None:
        if not self.cancel.is_set():
            self.reason = reason
        self.cancel.set()

    def should_stop(self) -> bool:
        return self.cancel.is_set()

    def raise_if_stopped(self) -> None:
        """The checkpoint the work calls between batches: raises ``WorkCancelled`` once the ticket is stopped."""
        if self.cancel.is_set():
            raise WorkCancelled(self.reason or "it was stopped")


class HeavyWorkLimiter:
    """At most one piece of heavy work per owner; the newest request wins, a closed page stops its work.

    ``begin`` returns a ticket (or raises ``WorkCancelled`` when a still newer request came while it waited,
    ``DataError`` when the work it replaces did not stop within ``wait_seconds``); ``end`` must follow.
    """

    def __init__(self, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._changed = threading.Condition()
        self._running: dict[str, WorkTicket] = {}
        self._newest: dict[str, WorkTicket] = {}

    def begin(self, owner: str, page: str | None = None, cancel: threading.Event | None = None) -> WorkTicket:
        """Start ``owner``'s work once their previous work (told to stop now) has stopped."""
        ticket = WorkTicket(owner, page, cancel or threading.Event())
        deadline = time.monotonic() + self.wait_seconds
        with self._changed:
            older = self._newest.get(owner)
            if older is not None:
                older.superseded = True
                older.stop(SUPERSEDED)
            self._newest[owner] = ticket
            self._changed.notify_all()  # an older one still waiting to start gives up now
            while True:
                if ticket.should_stop():
                    self._forget(ticket)
                    raise WorkCancelled(ticket.reason or "it was stopped")
                running = self._running.get(owner)
                if running is None:
                    self._running[owner] = ticket
                    return ticket
                running.stop(SUPERSEDED)
                left = deadline - time.monotonic()
                if left <= 0:
                    self._forget(ticket)
                    raise DataError(
                        "Your previous check of the rows is still stopping, so this one did not start. Wait a few "
                        "seconds, then pick the data or the model again."
                    )
                self._changed.wait(left)

    def end(self, ticket: WorkTicket) -> None:
        """The work of ``ticket`` is over (finished, failed or stopped): the owner's next work may run."""
        with self._changed:
            self._forget(ticket)
            self._changed.notify_all()

    def is_newest(self, ticket: WorkTicket) -> bool:
        """Whether no newer request from the same owner came since ``ticket`` began (its result may be shown)."""
        return not ticket.superseded

    def cancel_page(self, page: str) -> int:
        """Stop every piece of work (running or waiting) that ``page`` asked for; how many there were."""
        with self._changed:
            tickets = {id(t): t for t in (*self._running.values(), *self._newest.values()) if t.page == page}
            for ticket in tickets.values():
                ticket.stop(PAGE_CLOSED)
            self._changed.notify_all()
        return len(tickets)

    def running(self, owner: str) -> WorkTicket | None:
        """The owner's work that is running now, if any."""
        with self._changed:
            return self._running.get(owner)

    def _forget(self, ticket: WorkTicket) -> None:
        if self._running.get(ticket.owner) is ticket:
            del self._running[ticket.owner]
        if self._newest.get(ticket.owner) is ticket:
            del self._newest[ticket.owner]  # nothing newer came: forget the owner
