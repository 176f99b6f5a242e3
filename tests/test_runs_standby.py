"""The warm standby worker (core/runs/standby.py): started before Start, handed one run, then replaced.

The guarantees of a worker started for its run hold for a handed one: its output goes to the run's log, Stop
stops it with a checkpoint, a restarted app finds and kills it, and it leaves when the app is gone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from core.config import ConfigError, RunConfig
from core.models.catalog import OFFLINE_COPY_ID, OFFLINE_MODEL_ID, TINY_MODEL_ID
from core.owners import EVERYONE
from core.paths import data_dir
from core.runs.launcher import LaunchPlan, SubprocessTrainer, stop_stale_worker
from core.runs.manager import RunManager
from core.runs.standby import StandbyWorker
from core.runs.store import WORKER_LOG, RunFolder

ONE_CPU_PROCESS = LaunchPlan("subprocess", num_processes=1)


class Trainer(SubprocessTrainer):
    """The launcher's trainer with the head start the app's default trainer offers (launcher.DefaultTrainer)."""

    def warm(self, config: dict) -> bool:
        return self.standby.warm(config)


def _tiny(**settings) -> RunConfig:
    values = dict(model_id=TINY_MODEL_ID, num_probe_prompts=2, sample_max_new_tokens=4, save_steps=0, eval_steps=0)
    return RunConfig(**{**values, **settings})


def _wait(condition, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def test_a_warmed_standby_trains_the_run_with_its_step_0_answers_kept_and_is_replaced(
    tmp_path, tiny_model_path, monkeypatch, capsys
):
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    standby = StandbyWorker()
    standby.start()
    first = standby.pid
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", "/tmp/torchinductor_test")  # as torch sets it in the app later
    try:
        manager = RunManager(tmp_path / "runs", trainer=Trainer(ONE_CPU_PROCESS, poll_seconds=0.2, standby=standby))
        assert manager.warm(_tiny(max_steps=4), owner="tester")
        # A forged path is refused before anything reads it: the head start reads only what its person may open.
        forged = _tiny(max_steps=4, dataset=str(tmp_path.parent))
        with pytest.raises(ConfigError):
            manager.warm(forged, owner="tester")
        assert standby.wait_for("Warmed the model and the data, and kept the step-0 answers", timeout=180)
        kept = data_dir() / "baselines"
        assert len(list(kept.glob("*.json"))) == 1  # the standby answered the probes while waiting
        assert len(list((data_dir() / "tokenised").iterdir())) == 1  # and left the rows tokenised by TRL
        job = manager.start(_tiny(max_steps=4), owner="tester")
        snap = manager.wait(job.run_id, timeout=600)
        assert snap.phase == "finished", (snap.error, snap.error_detail)
        assert [m["step"] for m in snap.metrics] == [1, 2, 3, 4]
        assert "environment changed" not in capsys.readouterr().out  # the warm worker trained it, not a cold one
        zero = next(s for s in snap.samples if s["step"] == 0)
        assert zero["seconds"] == 0.0 and len(zero["answers"]) == 2  # read from the head start, not generated
        log = (job.run_dir / WORKER_LOG).read_text()
        assert "Traceback" not in log
        _wait(lambda: standby.pid is not None)
        assert standby.pid != first  # a fresh standby for the next run: one process never trains two runs
        assert not _alive(first)
    finally:
        standby.close()


def test_the_offline_models_copy_is_warmed_like_the_model_it_stands_for(tmp_path, offline_model_path):
    """Offline, a run of SmolLM2 trains its named copy (core/models/origin.py): the head start warms that id."""
    standby = StandbyWorker()
    standby.start()
    try:
        manager = RunManager(tmp_path / "runs", trainer=Trainer(ONE_CPU_PROCESS, poll_seconds=0.2, standby=standby))
        settings = RunConfig(model_id=OFFLINE_MODEL_ID, num_probe_prompts=1, sample_max_new_tokens=2)
        assert manager.checked_inputs(settings, owner="tester").model_id == OFFLINE_COPY_ID
        assert manager.warm(settings, owner="tester")
        assert standby.wait_for("Warmed the model and the data", timeout=300)
    finally:
        standby.close()


def test_stop_and_restart_reach_a_handed_worker(tmp_path, tiny_model_path):
    standby = StandbyWorker()
    standby.start()
    try:
        manager = RunManager(tmp_path / "runs", trainer=Trainer(ONE_CPU_PROCESS, poll_seconds=0.2, standby=standby))
        job = manager.start(_tiny(max_steps=400, num_probe_prompts=0), owner="tester")
        _wait(lambda: manager.snapshot(job.run_id, owner=EVERYONE).step >= 2, timeout=600)
        folder = RunFolder(job.run_dir)
        pid = folder.read_worker_pid()
        assert pid is not None and "--standby" in open(f"/proc/{pid}/cmdline").read()
        # A restarted app knows the handed standby for this run's worker by its log, and kills it ...
        assert stop_stale_worker(RunFolder(job.run_dir), wait_seconds=10) is True
        assert not _alive(pid)
        # ... and nobody else's: another run's folder does not claim the next standby.
        other = tmp_path / "runs" / "20261201-other"
        other.mkdir()
        _wait(lambda: standby.pid is not None)
        (other / "worker.pid").write_text(str(standby.pid))
        assert not stop_stale_worker(RunFolder(other))
        assert _alive(standby.pid)
        manager.wait(job.run_id, timeout=60)
        job = manager.start(_tiny(max_steps=400, num_probe_prompts=0), owner="tester")
        _wait(lambda: manager.snapshot(job.run_id, owner=EVERYONE).step >= 2, timeout=600)
        assert manager.stop(job.run_id, owner=EVERYONE)
        snap = manager.wait(job.run_id, timeout=600)
        assert snap.phase == "stopped", (snap.error, snap.error_detail)
        checkpoint = RunFolder(job.run_dir).last_complete_checkpoint()
        assert checkpoint is not None and checkpoint.step == snap.step
    finally:
        standby.close()


def test_a_standby_leaves_when_its_app_is_gone_and_a_changed_environment_starts_cold(tmp_path, monkeypatch):
    code = (
        "import sys; from core.runs.standby import StandbyWorker; s = StandbyWorker(); s.start();"
        "print(s.pid, flush=True); import time; time.sleep(600)"
    )
    app = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    pid = int(app.stdout.readline())
    app.kill()  # SIGKILL: the standby's stdin closes with the app
    app.wait()
    _wait(lambda: not _alive(pid), timeout=120)

    standby = StandbyWorker()
    standby.start()
    try:
        monkeypatch.setenv("SFT_COACH_SOMETHING_NEW", "1")
        from core.runs.standby import worker_env

        assert standby.take(tmp_path, worker_env()) is None  # started before the change: not used
        assert standby.pid is None
    finally:
        standby.close()


def _alive(pid: int | None) -> bool:
    from core.runs.launcher import process_alive

    return bool(pid) and process_alive(pid)
