"""Start ``bench.gpu_kit.jobs`` in a fresh process and read back one result per job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_jobs(jobs: list[dict], work: Path, timeout: float = 1200) -> list[dict]:
    """Run ``jobs`` one after another in one new process; a job that never reported gets the process's error."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    log = work / f"jobs-{jobs[0]['kind']}-{len(list(work.glob('jobs-*.log')))}.log"
    try:
        with log.open("w") as handle:
            done = subprocess.run(
                [sys.executable, "-m", "bench.gpu_kit.jobs", json.dumps(jobs)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=handle,
                text=True,
                timeout=timeout,
            )
        stdout, why = done.stdout, f"the job process exited with code {done.returncode}"
    except subprocess.TimeoutExpired as err:
        stdout, why = err.stdout or "", f"the job process ran past {timeout:.0f} s and was stopped"
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    found = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
            found[result["id"]] = result
    tail = log.read_text()[-2000:]
    missing = {"ok": False, "error": f"{why} before reporting", "log_tail": tail}
    return [found.get(job["id"]) or missing for job in jobs]
