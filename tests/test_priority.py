"""The app's session gives training the larger CPU share (core/priority.py), never its terminal's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.priority import AUTOGROUP, lower_server_share, server_nice

ROOT = Path(__file__).resolve().parent.parent


def _in_child(code: str, **popen) -> str:
    """Run ``code`` in a fresh Python (the way app.py is started by a script or a test: not a group leader)."""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, **popen)
    return out.stdout.strip()


def test_nothing_changes_at_niceness_0_or_without_autogroups(tmp_path, monkeypatch):
    monkeypatch.delenv("SFT_COACH_SERVER_NICE", raising=False)
    fake = tmp_path / "autogroup"
    fake.write_text("/autogroup-1 nice 0\n")
    assert "keeps its CPU share" in lower_server_share(0, fake) and fake.read_text().endswith("nice 0\n")
    assert "no autogroups" in lower_server_share(10, tmp_path / "missing")
    for raw, expected in (("12", 12), ("99", 19), ("-5", 0), ("many", 0)):
        monkeypatch.setenv("SFT_COACH_SERVER_NICE", raw)
        assert server_nice() == expected


def test_the_app_takes_a_session_of_its_own_and_lowers_only_that(tmp_path):
    fake = tmp_path / "autogroup"
    fake.write_text("")
    code = (
        "import os; from pathlib import Path; from core.priority import lower_server_share; "
        f"print(lower_server_share(7, Path({str(fake)!r}))); print(os.getsid(0) == os.getpid())"
    )
    said, leads = _in_child(code).splitlines()
    assert "niceness 7" in said and leads == "True" and fake.read_text() == "7"


@pytest.mark.skipif(not AUTOGROUP.exists(), reason="this kernel has no autogroups")
def test_on_this_kernel_the_sessions_group_really_runs_nicer_and_a_worker_session_does_not():
    code = (
        "import subprocess, sys; from core.priority import lower_server_share; lower_server_share(5); "
        "print(open('/proc/self/autogroup').read().strip()); "
        "worker = subprocess.run([sys.executable, '-c', \"print(open('/proc/self/autogroup').read().strip())\"], "
        "capture_output=True, text=True, start_new_session=True); print(worker.stdout.strip())"
    )
    app, worker = _in_child(code).splitlines()
    assert app.endswith("nice 5"), app
    assert worker.endswith("nice 0") and worker.split()[0] != app.split()[0], worker  # its own group, full share
