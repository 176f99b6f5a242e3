"""The Hugging Face Jobs side of the run manager: runs that train on a Job, listed with the rest.

``RunManager`` (core/runs/manager.py) inherits these methods. A remote run never queues for the local trainer;
``core/runs/remote.py`` follows its Job (after a restart too) and writes what it learns into the run.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

from core.config import RunConfig
from core.owners import require_owner
from core.runs.record import ACTIVE_PHASES, Run
from core.runs.remote import RemoteFollower
from core.runs.store import RunFolder


class RemoteLine:
    """Mixed into ``RunManager``: the runs on Hugging Face Jobs."""

    runs_dir: Path
    remote: RemoteFollower
    _runs: dict[str, Run]
    _remote: set[str]
    _lock: threading.Lock

    # and RunManager's checked_inputs and get

    def _active_remote_runs(self) -> list[Run]:
        with self._lock:
            return [self._runs[run_id] for run_id in self._remote if self._runs[run_id].phase in ACTIVE_PHASES]

    def is_remote(self, run_id: str) -> bool:
        """Whether the run trains on Hugging Face Jobs (the page marks it so)."""
        return run_id in self._remote

    def remote_job(self, run_id: str, owner: object) -> dict | None:
        """The Hugging Face Job of ``owner``'s remote run (its id, machine, page, last log lines), else None."""
        run = self.get(run_id, owner) if run_id in self._remote else None
        return run.folder.read_remote() if run else None

    def start_remote(self, config: RunConfig, owner: str, job: dict, token: str | None = None) -> Run:
        """List a run that ``owner`` submitted to Hugging Face Jobs (``job``: its id, namespace, flavor, repos)
        and follow it; ``token`` is kept in memory only, to follow the Job."""
        if not isinstance(require_owner(owner), str):
            raise ValueError("A run belongs to one person: pass their owner id, not EVERYONE.")
        config = self.checked_inputs(config, owner)
        with self._lock:
            run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(12)
            folder = RunFolder(self.runs_dir / run_id)
            folder.create(config.to_dict())
            folder.write_remote(job)
            run = Run(run_id=run_id, config=config, folder=folder, owner=owner)
            run.message = f"Submitted to Hugging Face Jobs as {job.get('job_id')}; waiting for its first news."
            run.save_state()
            self._runs[run_id] = run
            self._remote.add(run_id)
        self.remote.lend_token(run_id, token)
        self.remote.wake()
        return run
