"""Admin view for the instructor of a shared Space: every participant's runs, the queue, the workshop settings.

What it shows: every run (its owner as a pseudonym, never a session id), its status, place in line and training
time; each participant's time used and left; the loss curves of picked runs on one chart; and what it does:
Stop or deprioritise a run, and set workshop mode, the training time per participant and the longest run
(core/workshop/settings.py, kept on the server across restarts).

It exists only when ``SFT_COACH_ADMIN_PASSWORD`` is set or, on a Space with login, for the Space's own account
(core/owners.py ``space_owner``), and shows nothing until the password is entered (that account needs none).
The password is compared in constant time (``hmac.compare_digest``); each wrong guess waits a second, and
wrong guesses are counted per session and per address (``PasswordGate``), so guessing is slow and a stranger's
guesses never lock the real admin out. Unlocking belongs to the person (decided on the server) and the page
that entered the password.
The handlers live in ``AdminView`` so tests call them without a browser: plain methods over the run manager,
and the page's events (``open_view``, ``show``, ``stop_run``, ``deprioritise_run``, ``save_workshop``,
``draw_chart``), which also check the request.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from gradio.components.plot import PlotData
from gradio.context import Context

from core.charts import RUN_COLOURS, figure_json, runs_loss_figure
from core.config import ConfigError
from core.owners import EVERYONE, short_owner, space_owner
from core.runs.manager import RunManager
from core.runs.names import readable_run_name
from core.runs.progress import format_duration
from core.runs.record import ACTIVE_PHASES
from core.storage import disk_usage
from core.workshop.budgets import Allowance
from core.workshop.settings import WorkshopSettings
from ui.class_admin import build_class_admin
from ui.data_views import render_message
from ui.identity import client_address, request_owner

RUN_COLUMNS = ["Run", "Participant", "Status", "In line", "Training time", "Step", "Started"]
PEOPLE_COLUMNS = ["Participant", "Runs", "Waiting", "Training time", "Time left"]
LOCKED = "Enter the admin password first: nothing is shown or changed without it."
MAX_CHART_RUNS = len(RUN_COLOURS)


def admin_password() -> str:
    """The admin password from ``SFT_COACH_ADMIN_PASSWORD``; empty means no password opens the admin view."""
    return os.environ.get("SFT_COACH_ADMIN_PASSWORD", "").strip()


def has_admin_view() -> bool:
    """Whether the page has an admin tab: a password is set, or the Space's owner can sign in."""
    return bool(admin_password() or space_owner())


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
        if space_owner() and session == space_owner():  # signed in as the Space's account (core/owners.py)
            return True, render_message("Admin view open: you are signed in as this Space's owner.", "ok")
        problem = self.gate.refusal(given, session, address)
        if problem:
            return False, render_message(problem, "error")
        return True, render_message("Admin view open for this page. Reloading the page locks it again.", "ok")

    def runs(self, unlocked: bool) -> list[list[str]]:
        """Every run of every participant, newest first: id, participant, status, place in line, time, steps."""
        if not unlocked:
            return []
        rows = []
        for snap in self.manager.summaries(owner=EVERYONE):
            started = time.strftime("%Y-%m-%d %H:%M", time.localtime(snap.started_at or snap.created_at))
            trained = format_duration(self.manager.trained_seconds(snap.run_id)) if snap.started_at else "—"
            place = str(snap.queue_position) if snap.queue_position else ""
            step = f"{snap.step}/{snap.total_steps}"
            rows.append([snap.run_id, short_owner(snap.owner), snap.phase, place, trained, step, started])
        return rows

    def people(self, unlocked: bool) -> list[list[str]]:
        """One row per participant: runs, runs waiting, training time used and left (workshop budget)."""
        if not unlocked:
            return []
        summaries = self.manager.summaries(owner=EVERYONE)
        rows = []
        for owner in dict.fromkeys(s.owner for s in summaries):  # newest run's owner first
            own = [s for s in summaries if s.owner == owner]
            allowance = self.manager.allowance(owner) if owner else Allowance(self.manager.settings(), 0.0)
            left = "no budget" if allowance.left_seconds is None else format_duration(allowance.left_seconds)
            waiting = sum(1 for s in own if s.queue_position)
            rows.append(
                [short_owner(owner), str(len(own)), str(waiting), format_duration(allowance.used_seconds), left]
            )
        return rows

    def summary(self, unlocked: bool) -> str:
        """The queue in the order it will train, workshop mode and the disk use, in one paragraph."""
        if not unlocked:
            return render_message(LOCKED, "warning")
        running = self.manager.training_run()
        places = {s.run_id: s for s in self.manager.summaries(owner=EVERYONE) if s.queue_position}
        line = ", ".join(
            f"{n}. {run_id} ({short_owner(places[run_id].owner)})"
            for n, run_id in enumerate(self.manager.queue_order(), start=1)
            if run_id in places
        )
        settings = self.manager.settings()
        mode = "on: runs take turns by participant" if settings.enabled else "off: first come, first served"
        used = disk_usage(self.root)
        text = (
            f"Training now: {running.run_id if running else 'nothing'}. Queue: {line or 'nobody waiting'}. "
            f"Workshop mode {mode}. "
            f"Disk: uploads {used['uploads'] / 2**20:,.1f} MB, runs {used['runs'] / 2**20:,.1f} MB."
        )
        return render_message(text, "ok")

    def _picked(self, unlocked: bool, run_id: str | None):
        """(the run to act on, None) or (None, the sentence saying why there is none)."""
        if not unlocked:
            return None, render_message(LOCKED, "error")
        job = self.manager.get(run_id or "", owner=EVERYONE)
        if job is None:
            return None, render_message(f"There is no run '{run_id or ''}'. Pick one from the list above.", "error")
        return job, None

    def stop(self, unlocked: bool, run_id: str | None) -> str:
        """Stop (or cancel, when waiting) any person's run."""
        job, problem = self._picked(unlocked, run_id)
        if job is None:
            return problem
        if job.phase not in ACTIVE_PHASES or not self.manager.stop(job.run_id, owner=EVERYONE):
            return render_message(f"Run {job.run_id} is {job.phase}: there is nothing to stop.", "warning")
        return render_message(f"Run {job.run_id} ({short_owner(job.owner)}) is stopping or was cancelled.", "ok")

    def deprioritise(self, unlocked: bool, run_id: str | None) -> str:
        """Move a waiting run behind every other waiting run."""
        job, problem = self._picked(unlocked, run_id)
        if job is None:
            return problem
        if not self.manager.deprioritise(job.run_id, owner=EVERYONE):
            return render_message(
                f"Run {job.run_id} is {job.phase}, not waiting: only a waiting run moves.", "warning"
            )
        place = self.manager.queue_position(job.run_id)
        return render_message(f"Run {job.run_id} ({short_owner(job.owner)}) moved back: now #{place} in line.", "ok")

    def settings_values(self, unlocked: bool) -> tuple:
        """The workshop settings for the form (all None while locked: the form shows nothing)."""
        if not unlocked:
            return None, None, None, None
        settings = self.manager.settings()
        return settings.enabled, settings.budget_minutes, settings.max_steps, settings.max_minutes

    def save_settings(self, unlocked: bool, enabled, budget_minutes, max_steps, max_minutes) -> str:
        """Check and save the workshop settings; a bad value is refused naming its field."""
        if not unlocked:
            return render_message(LOCKED, "error")
        values = {"enabled": enabled, "budget_minutes": budget_minutes, "max_steps": max_steps}
        try:
            settings = WorkshopSettings.from_dict({**values, "max_minutes": max_minutes})
        except ConfigError as err:
            return render_message(f"Nothing was saved. {err}", "error")
        self.manager.save_settings(settings, owner=EVERYONE)
        told = Allowance(settings, 0.0).describe() or "No budget and no limit on run length."
        mode = "Workshop mode is on." if settings.enabled else "Workshop mode is off."
        return render_message(f"Saved. {mode} {told} Participants see it on their next refresh.", "ok")

    def chart(self, unlocked: bool, run_ids: list[str] | None, smoothing: float = 0.6, x_axis: str = "step"):
        """The training loss of the picked runs (at most ``MAX_CHART_RUNS``) on one chart; None while locked."""
        if not unlocked:
            return None
        curves = []
        for run_id in list(run_ids or [])[:MAX_CHART_RUNS]:
            snap = self.manager.snapshot(run_id, owner=EVERYONE) if isinstance(run_id, str) else None
            if snap is not None:
                name = readable_run_name(
                    snap.config.get("dataset", ""), snap.config.get("model_id", ""), snap.created_at
                )
                curves.append((f"{short_owner(snap.owner)} · {name}", snap.metrics))
        axis = "tokens" if x_axis == "tokens" else "step"
        figure = runs_loss_figure(curves, smoothing=min(max(float(smoothing or 0), 0.0), 0.95), x_axis=axis)
        return PlotData(type="plotly", plot=figure_json(figure))  # drawn by the browser, as the Train step's

    def run_choices(self, unlocked: bool) -> tuple[list[tuple[str, str]], list[str]]:
        """(every run as (label, id) for the chart, the active runs' ids to stop or deprioritise)."""
        if not unlocked:
            return [], []
        summaries = self.manager.summaries(owner=EVERYONE)
        labels = [
            (
                f"{short_owner(s.owner)} · {readable_run_name(s.dataset, s.model_id, s.created_at)} · {s.phase}",
                s.run_id,
            )
            for s in summaries
        ]
        return labels, [s.run_id for s in summaries if s.phase in ACTIVE_PHASES]

    # The page's events. ``opener`` is who unlocked the page, kept on the server in gr.State (never sent to
    # the page); each event checks the person asking is still them.

    @staticmethod
    def is_open(opener: str | None, request: gr.Request) -> bool:
        """Whether this page was unlocked by the person asking now."""
        return bool(opener) and opener == request_owner(request)

    def open_view(self, given: str, request: gr.Request):
        """Check the password: unlock the page for this person, empty the box, and show everything."""
        who = request_owner(request)
        unlocked, text = self.unlock(given, session=who, address=client_address(request))
        opener = who if unlocked else None
        return opener, text, gr.Group(visible=unlocked), "", *self.show(opener, request)

    def open_for_owner(self, request: gr.Request) -> tuple | None:
        """On page load: the view opened for the Space's owner, signed in, without a password; None for anyone else."""
        owner = space_owner()
        if not owner or request_owner(request) != owner:
            return None
        return self.open_view("", request)

    def show(self, opener: str | None, request: gr.Request):
        """The summary, the runs, the participants, the runs to pick and the settings, for whoever unlocked it."""
        unlocked = self.is_open(opener, request)
        labels, active = self.run_choices(unlocked)
        return (
            self.summary(unlocked),
            self.runs(unlocked),
            self.people(unlocked),
            gr.Dropdown(choices=active, value=active[0] if active else None),
            gr.Dropdown(choices=labels),
            *self.settings_values(unlocked),
        )

    def stop_run(self, opener: str | None, run_id: str | None, request: gr.Request) -> str:
        """Stop the picked run, for the person who unlocked the page."""
        return self.stop(self.is_open(opener, request), run_id)

    def deprioritise_run(self, opener: str | None, run_id: str | None, request: gr.Request) -> str:
        """Move the picked waiting run to the back of the line, for the person who unlocked the page."""
        return self.deprioritise(self.is_open(opener, request), run_id)

    def save_workshop(self, opener: str | None, enabled, budget, max_steps, max_minutes, request: gr.Request) -> str:
        """Save the workshop settings, for the person who unlocked the page."""
        return self.save_settings(self.is_open(opener, request), enabled, budget, max_steps, max_minutes)

    def draw_chart(self, opener: str | None, run_ids, smoothing, x_axis, request: gr.Request):
        """The picked runs' loss curves, for the person who unlocked the page."""
        return self.chart(self.is_open(opener, request), run_ids, smoothing, x_axis)


def build_admin_view(manager: RunManager) -> AdminTab:
    """Lay out the admin tab (call only when ``has_admin_view()``) and wire its events."""
    view = AdminView(manager)
    # Who unlocked this page (kept on the server, never sent to it); every admin event checks it is still them.
    unlocked_by = gr.State(None)
    gr.Markdown(
        "Every participant's runs, the queue, the workshop settings and disk use, for whoever runs this Space."
    )
    with gr.Row():
        label = "Admin password (the Space's owner needs none: sign in)" if space_owner() else "Admin password"
        password = gr.Textbox(label=label, type="password", elem_id="admin-password", scale=3)
        enter = gr.Button("Open", elem_id="admin-open", scale=1)
    message = gr.HTML(elem_id="admin-message")
    with gr.Group(visible=False) as panel:
        summary = gr.HTML(elem_id="admin-summary")
        with gr.Accordion("Workshop settings", open=True):
            with gr.Row():
                enabled = gr.Checkbox(label=WorkshopSettings.label("enabled"), info=WorkshopSettings.help("enabled"),
                                      elem_id="admin-workshop-mode")  # fmt: skip
                numbers = [
                    gr.Number(label=WorkshopSettings.label(name), info=WorkshopSettings.help(name), minimum=0,
                              precision=0 if name == "max_steps" else None, elem_id=f"admin-{name.replace('_', '-')}")
                    for name in ("budget_minutes", "max_steps", "max_minutes")
                ]  # fmt: skip
            save = gr.Button("Save workshop settings", elem_id="admin-save-settings")
            settings_message = gr.HTML(elem_id="admin-settings-message")
        people = gr.Dataframe(headers=PEOPLE_COLUMNS, interactive=False, elem_id="admin-people", wrap=True)
        table = gr.Dataframe(headers=RUN_COLUMNS, interactive=False, elem_id="admin-runs", wrap=True)
        with gr.Row():
            target = gr.Dropdown(label="Run to act on", choices=[], allow_custom_value=False, elem_id="admin-target")
            stop = gr.Button("Stop this run", variant="stop", elem_id="admin-stop")
            push_back = gr.Button("Move to the back of the line", elem_id="admin-deprioritise")
            refresh = gr.Button("Refresh", elem_id="admin-refresh")
        stop_message = gr.HTML(elem_id="admin-stop-message")
        with gr.Accordion("Compare loss curves", open=True):
            with gr.Row():
                picked = gr.Dropdown(label=f"Runs to compare (up to {MAX_CHART_RUNS})", choices=[], multiselect=True,
                                     max_choices=MAX_CHART_RUNS, elem_id="admin-chart-runs", scale=3)  # fmt: skip
                smoothing = gr.Slider(
                    0, 0.95, value=0.6, step=0.05, label="Smoothing", elem_id="admin-chart-smoothing"
                )
                x_axis = gr.Radio(["step", "tokens"], value="step", label="X axis", elem_id="admin-chart-axis")
            chart = gr.Plot(show_label=False, elem_id="admin-chart")
        build_class_admin(manager, unlocked_by)  # the workshop's shared items and leaderboard (ui/class_admin.py)

    shown = [summary, table, people, target, picked, enabled, *numbers]
    enter.click(view.open_view, password, [unlocked_by, message, panel, password, *shown])
    password.submit(view.open_view, password, [unlocked_by, message, panel, password, *shown])
    opened = [unlocked_by, message, panel, password, *shown]

    def open_for_owner(request: gr.Request):
        return view.open_for_owner(request) or (gr.skip(),) * len(opened)

    if Context.root_block is not None:  # signed in as the Space's owner: open at once (core/owners.py space_owner)
        Context.root_block.load(open_for_owner, None, opened, show_progress="hidden")
    refresh.click(view.show, unlocked_by, shown)
    stop.click(view.stop_run, [unlocked_by, target], stop_message).then(view.show, unlocked_by, shown)
    push_back.click(view.deprioritise_run, [unlocked_by, target], stop_message).then(view.show, unlocked_by, shown)
    save.click(view.save_workshop, [unlocked_by, enabled, *numbers], settings_message).then(
        view.show, unlocked_by, shown
    )
    for control in (picked, smoothing, x_axis):
        control.change(view.draw_chart, [unlocked_by, picked, smoothing, x_axis], chart, show_progress="hidden")
    return AdminTab(password=password, panel=panel, table=table)
