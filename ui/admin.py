"""Admin view for the instructor of a shared Space: every run of every person, the queue, disk use, Stop any run.

It exists only when ``SFT_COACH_ADMIN_PASSWORD`` is set (no password, no tab at all), and shows nothing until
the password is entered. The password is compared in constant time (``hmac.compare_digest``); each wrong
guess waits a second, and wrong guesses are counted per session and per address (``PasswordGate``), so
guessing is slow and a stranger's guesses never lock the real admin out. Unlocking belongs to the person
(decided on the server) and the page that entered the password.
The handlers live in ``AdminView`` so tests call them without a browser: plain methods over the run manager,
and the page's events (``open_view``, ``show``, ``stop_run``), which also check the request.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from core.owners import EVERYONE, short_owner
from core.runs.manager import RunManager
from core.runs.record import ACTIVE_PHASES
from core.storage import disk_usage
from ui.class_admin import build_class_admin
from ui.data_views import render_message
from ui.identity import client_address, request_owner

RUN_COLUMNS = ["Run", "Owner", "Phase", "Step", "Started"]
LOCKED = "Enter the admin password first: nothing is shown or changed without it."


def admin_password() -> str:
    """The admin password from ``SFT_COACH_ADMIN_PASSWORD``; empty means there is no admin view."""
    return os.environ.get("SFT_COACH_ADMIN_PASSWORD", "").strip()


class PasswordGate:
    """Checks a password in constant time and slows guessing, counted per source so a stranger can't lock others out.

    Wrong tries are counted per session (five in a minute lock that session for the minute) and per network
    address (twenty in ten minutes lock the address for ten minutes). The real admin, in another session
    from another address, is never locked by someone else's guesses; a guesser pays a second per try.
    """

    def __init__(
        self,
        password: str,
        delay: float = 1.0,
        max_failures: int = 5,
        window: float = 60.0,
        address_failures: int = 20,
        address_window: float = 600.0,
    ) -> None:
        self._password = password.encode()
        self._delay = delay
        self._limits = {"session": (max_failures, window), "address": (address_failures, address_window)}
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def refusal(self, given: str | None, session: str = "", address: str = "") -> str | None:
        """None when ``given`` is the password; otherwise the sentence to show. ``session``/``address``: who tries."""
        now = time.monotonic()
        sources = [("session", session), ("address", address)]
        with self._lock:
            for kind, key in sources:
                limit, window = self._limits[kind]
                recent = [t for t in self._failures.get((kind, key), []) if now - t < window]
                self._failures[(kind, key)] = recent
                if len(recent) >= limit:
                    wait = window - (now - recent[0])
                    return f"Too many wrong passwords from here. Wait {wait:.0f} seconds, then try again."
        if self._password and hmac.compare_digest((given or "").encode(), self._password):
            return None
        with self._lock:
            for kind, key in sources:
                self._failures.setdefault((kind, key), []).append(now)
            if len(self._failures) > 10_000:  # forget sources with no recent failure (a crowd of guessers)
                self._failures = {k: v for k, v in self._failures.items() if v and now - v[-1] < 600}
        time.sleep(self._delay)  # a guesser pays a second per try
        return "Wrong admin password: nothing is shown. Check SFT_COACH_ADMIN_PASSWORD with whoever runs the Space."


@dataclass(frozen=True)
class AdminTab:
    """The admin tab's password box, the panel it opens and the table of runs."""

    password: gr.Textbox
    panel: gr.Group
    table: gr.Dataframe


class AdminView:
    """What the admin tab does, as plain methods over the run manager (the tests call these directly)."""

    def __init__(
        self, manager: RunManager, password: str | None = None, root: Path | None = None, delay: float = 1.0
    ) -> None:
        self.manager = manager
        self.root = root
        self.gate = PasswordGate(admin_password() if password is None else password, delay=delay)

    def unlock(self, given: str | None, session: str = "", address: str = "") -> tuple[bool, str]:
        problem = self.gate.refusal(given, session, address)
        if problem:
            return False, render_message(problem, "error")
        return True, render_message("Admin view open for this page. Reloading the page locks it again.", "ok")

    def runs(self, unlocked: bool) -> list[list[str]]:
        """Every run of every owner, newest first: id, owner (shortened), phase, step/total, started."""
        if not unlocked:
            return []
        rows = []
        for snap in self.manager.summaries(owner=EVERYONE):
            phase = snap.phase + (f" (#{snap.queue_position} in line)" if snap.queue_position else "")
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(snap.started_at or snap.created_at))
            rows.append([snap.run_id, short_owner(snap.owner), phase, f"{snap.step}/{snap.total_steps}", started])
        return rows

    def summary(self, unlocked: bool) -> str:
        """The queue and the disk use of uploads and runs, in one paragraph."""
        if not unlocked:
            return render_message(LOCKED, "warning")
        running = self.manager.training_run()
        waiting = sorted(
            (snap.queue_position, snap.run_id, short_owner(snap.owner))
            for snap in self.manager.summaries(owner=EVERYONE)
            if snap.queue_position
        )
        line = ", ".join(f"{pos}. {run_id} ({owner})" for pos, run_id, owner in waiting) or "nobody waiting"
        used = disk_usage(self.root)
        text = (
            f"Training now: {running.run_id if running else 'nothing'}. Queue: {line}. "
            f"Disk: uploads {used['uploads'] / 2**20:,.1f} MB, runs {used['runs'] / 2**20:,.1f} MB."
        )
        return render_message(text, "ok")

    def stop(self, unlocked: bool, run_id: str | None) -> str:
        """Stop (or cancel, when waiting) any person's run."""
        if not unlocked:
            return render_message(LOCKED, "error")
        job = self.manager.get(run_id or "", owner=EVERYONE)
        if job is None:
            return render_message(f"There is no run '{run_id or ''}'. Pick one from the list above.", "error")
        if job.phase not in ACTIVE_PHASES or not self.manager.stop(job.run_id, owner=EVERYONE):
            return render_message(f"Run {job.run_id} is {job.phase}: there is nothing to stop.", "warning")
        return render_message(f"Run {job.run_id} ({short_owner(job.owner)}) is stopping or was cancelled.", "ok")

    # The page's events. ``opener`` is who unlocked the page, kept on the server in gr.State (never sent to
    # the page); each event checks the person asking is still them.

    @staticmethod
    def is_open(opener: str | None, request: gr.Request) -> bool:
        """Whether this page was unlocked by the person asking now."""
        return bool(opener) and opener == request_owner(request)

    def open_view(self, given: str, request: gr.Request):
        """Check the password: unlock the page for this person, empty the box, and show the runs."""
        who = request_owner(request)
        unlocked, text = self.unlock(given, session=who, address=client_address(request))
        opener = who if unlocked else None
        return opener, text, gr.Group(visible=unlocked), "", *self.show(opener, request)

    def show(self, opener: str | None, request: gr.Request):
        """The summary, every run and the active runs to pick from, for the person who unlocked the page."""
        unlocked = self.is_open(opener, request)
        rows = self.runs(unlocked)
        active = [row[0] for row in rows if row[2].split(" ")[0] in ACTIVE_PHASES]
        return self.summary(unlocked), rows, gr.Dropdown(choices=active, value=active[0] if active else None)

    def stop_run(self, opener: str | None, run_id: str | None, request: gr.Request) -> str:
        """Stop the picked run, for the person who unlocked the page."""
        return self.stop(self.is_open(opener, request), run_id)


def build_admin_view(manager: RunManager) -> AdminTab:
    """Lay out the admin tab (call only when ``admin_password()`` is set) and wire its events."""
    view = AdminView(manager)
    # Who unlocked this page (kept on the server, never sent to it); every admin event checks it is still them.
    unlocked_by = gr.State(None)
    gr.Markdown("Every person's runs, the queue and disk use, for whoever runs this Space.")
    with gr.Row():
        password = gr.Textbox(label="Admin password", type="password", elem_id="admin-password", scale=3)
        enter = gr.Button("Open", elem_id="admin-open", scale=1)
    message = gr.HTML(elem_id="admin-message")
    with gr.Group(visible=False) as panel:
        summary = gr.HTML(elem_id="admin-summary")
        table = gr.Dataframe(headers=RUN_COLUMNS, interactive=False, elem_id="admin-runs", wrap=True)
        with gr.Row():
            target = gr.Dropdown(label="Run to stop", choices=[], allow_custom_value=False, elem_id="admin-target")
            stop = gr.Button("Stop this run", variant="stop", elem_id="admin-stop")
            refresh = gr.Button("Refresh", elem_id="admin-refresh")
        stop_message = gr.HTML(elem_id="admin-stop-message")
        build_class_admin(manager, unlocked_by)  # the workshop's shared items and leaderboard (ui/class_admin.py)

    shown = [summary, table, target]
    enter.click(view.open_view, password, [unlocked_by, message, panel, password, *shown])
    password.submit(view.open_view, password, [unlocked_by, message, panel, password, *shown])
    refresh.click(view.show, unlocked_by, shown)
    stop.click(view.stop_run, [unlocked_by, target], stop_message).then(view.show, unlocked_by, shown)
    return AdminTab(password=password, panel=panel, table=table)
