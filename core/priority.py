"""The web server's share of the CPU while a run trains, through Linux's autogroups.

With autogroup scheduling (``/proc/sys/kernel/sched_autogroup_enabled``, on in most Linux kernels) the CPU is
shared between *sessions* first and threads second: every training worker starts a session of its own
(``start_new_session`` in core/runs/launcher.py and core/runs/standby.py), so it is one group, and the app (the
web server and every page event) is another. When both want the CPU, each group gets a share by its niceness,
whatever its number of threads. Raising the app group's niceness (``/proc/<pid>/autogroup``, allowed without
root: only lowering needs it) gives training the larger share while people watch, and costs nothing when the
server is idle; the worker's group keeps niceness 0, since a new session starts a new group.

Only a session of the app's own is lowered: where the app shares its session with a terminal (``python app.py``
typed in a shell), lowering it would lower the shell and everything started from it too, so nothing is done.
A Space's container starts the app as its session's leader; the tests' app servers get their own session.
``SFT_COACH_SERVER_NICE`` sets the niceness (0: leave it as it is).
"""

from __future__ import annotations

import os
from pathlib import Path

SERVER_NICE_ENV = "SFT_COACH_SERVER_NICE"
DEFAULT_SERVER_NICE = 0
AUTOGROUP = Path("/proc/self/autogroup")


def server_nice() -> int:
    """The niceness asked for the app's group: ``SFT_COACH_SERVER_NICE`` (0 to 19), else the default."""
    raw = os.environ.get(SERVER_NICE_ENV, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_SERVER_NICE
    except ValueError:
        value = DEFAULT_SERVER_NICE
    return min(max(value, 0), 19)


def own_session() -> bool:
    """Whether this process leads a session of its own, starting one when it can (not a process group leader)."""
    if os.getsid(0) == os.getpid():
        return True
    try:
        os.setsid()
    except OSError:  # a process group leader (a shell's job): it stays in the shell's session
        return False
    return True


def lower_server_share(nice: int | None = None, autogroup: Path = AUTOGROUP) -> str:
    """Give the app's group the niceness ``nice`` (``server_nice()`` when None); returns what was done."""
    nice = server_nice() if nice is None else nice
    if nice <= 0:
        return "The web server keeps its CPU share (SFT_COACH_SERVER_NICE is 0)."
    if not autogroup.exists():
        return "This kernel has no autogroups: the web server keeps its CPU share."
    if not own_session():
        return "The app shares its session with a terminal: its CPU share is left as it is."
    try:
        autogroup.write_text(str(nice))
    except OSError as err:
        return f"Could not lower the web server's CPU share: {err}."
    return f"The web server's session runs at niceness {nice}: training gets the larger CPU share while people watch."
