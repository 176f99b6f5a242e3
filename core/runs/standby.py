"""The next run's worker, started before anyone presses Start: a warm standby.

A worker process spends ~13 s importing torch, transformers and TRL before it reads anything (bench/RESULTS.md),
and then loads the model, prepares the data and answers the probe prompts with the base model. None of that
depends on the run, so the app keeps one worker started ahead (``python -m core.runs.worker --standby``) that
has done the imports and waits on its stdin. Its protocol is one JSON object a line:

- ``{"warm": {config}}``: a head start for the run these settings would start (``core/runs/warm.py``);
- ``{"run": "<run folder>"}``: train that run, exactly as a worker started for it would (its output goes
  to the run's log from then on), then exit. Nothing else is ever handed to it.

The standby is used once and replaced after each run, so every run starts in a process that trained nothing
before. It is handed a run only when the environment it was started with is the one a new worker would get
(a changed setting, such as a data folder, means a fresh worker). When the app is gone its stdin closes and
the standby exits; Stop, the grace period, restart survival and one run at a time work as for any worker,
because after the hand-over it *is* the run's worker (``core/runs/launcher.py``). One device only: with
several GPUs each run is an ``accelerate launch`` of its own.

``SFT_COACH_WARM_WORKER=0`` turns it off (the tests do, except where they test it: each standby holds the ML
stack in memory, ~0.5 GB, and costs ~13 s of CPU to start).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

WORKER_MODULE = "core.runs.worker"
APP_PID_ENV = "SFT_COACH_APP_PID"  # the worker watches this process and leaves when it is gone
WARM_WORKER_ENV = "SFT_COACH_WARM_WORKER"
ROOT = Path(__file__).resolve().parent.parent.parent


def worker_env(app_pid: int | None = None) -> dict[str, str]:
    """The environment a worker process starts with: this one, plus the app's pid and the code's folder."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env[APP_PID_ENV] = str(app_pid or os.getpid())
    return env


def warm_worker_enabled() -> bool:
    """``SFT_COACH_WARM_WORKER``: on unless ``0``/``false``/``no``/``off``."""
    return os.environ.get(WARM_WORKER_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


# Set in the app's own environment by a library the first time it is used, after the standby started: torch
# writes its default inductor cache folder (torch/_inductor/runtime/cache_dir_utils.py), the same folder the
# worker's torch picks for itself. Without this, the app's first run always discarded the warm worker.
SET_BY_LIBRARIES = ("TORCHINDUCTOR_CACHE_DIR",)


def _set_by_a_library(key: str, standby_env: dict[str, str]) -> bool:
    """Whether ``key`` differs only because a library set its default after the standby started."""
    return key in SET_BY_LIBRARIES and key not in standby_env


class StandbyWorker:
    """At most one warm worker process, waiting; ``take`` hands it a run, ``start`` starts the next one."""

    def __init__(self, app_pid: int | None = None) -> None:
        self.app_pid = app_pid
        self._process: subprocess.Popen | None = None
        self._env: dict[str, str] | None = None
        self._lock = threading.Lock()
        self._said: list[str] = []  # what the waiting standby printed: "ready", then a sentence per head start
        self._news = threading.Condition()

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None and self._process.poll() is None else None

    def start(self) -> None:
        """Start a standby unless one is waiting already; returns at once (it imports in its own time)."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            self._env = worker_env(self.app_pid)
            self._process = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, "--standby"],
                cwd=ROOT,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,  # until a run is handed over: then the run's log
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, as every worker (launcher._terminate)
            )
            with self._news:
                self._said = []
            threading.Thread(target=self._listen, args=(self._process,), name="standby-news", daemon=True).start()

    def _listen(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            with self._news:
                if process is self._process:
                    self._said.append(line.decode(errors="replace").strip())
                    self._news.notify_all()

    def wait_for(self, what: str, count: int = 1, timeout: float = 300) -> bool:
        """Wait until the waiting standby has said ``what`` (a line's start) ``count`` times: ``"ready"`` once its
        imports are done, ``"Warmed"`` after each head start. For benchmarks and tests; the app never waits."""
        with self._news:
            return self._news.wait_for(lambda: sum(s.startswith(what) for s in self._said) >= count, timeout)

    def warm(self, config: dict) -> bool:
        """Tell the waiting standby what the next run will probably be; False when none is waiting."""
        with self._lock:
            return self._send({"warm": config})

    def take(self, run_dir: str | Path, env: dict[str, str]) -> subprocess.Popen | None:
        """Hand the run in ``run_dir`` to the standby and return its process; None when there is none to use.

        A standby started with another environment than ``env`` is ended instead: the run starts cold.
        """
        with self._lock:
            process, self._process = self._process, None
            if process is None or process.poll() is not None:
                return None
            changed = sorted(
                k for k in {*env, *self._env} if env.get(k) != self._env.get(k) and not _set_by_a_library(k, self._env)
            )
            if changed:
                print(f"The environment changed since the warm worker started ({', '.join(changed)}): a fresh one.")
                _end(process)
                return None
            self._process = process
            handed = self._send({"run": str(run_dir)})
            self._process = None
            try:
                process.stdin.close()  # nothing else will be said to it
            except OSError:
                pass
            if not handed:
                _end(process)
                return None
            return process

    def close(self) -> None:
        """End the waiting standby (the app is shutting down, or a test is done)."""
        with self._lock:
            process, self._process = self._process, None
        if process is not None:
            _end(process)

    def _send(self, message: dict) -> bool:
        process = self._process
        if process is None or process.poll() is not None or process.stdin is None:
            return False
        try:
            process.stdin.write((json.dumps(message) + "\n").encode())
            process.stdin.flush()
        except (OSError, ValueError):  # it exited meanwhile
            return False
        return True


def _end(process: subprocess.Popen) -> None:
    try:
        process.kill()
        process.wait(10)
    except (OSError, subprocess.TimeoutExpired):
        pass
