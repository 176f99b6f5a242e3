"""Launch the real app in a subprocess on a free loopback port (for the app and browser tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests import ROOT

LAUNCH_REFUSED: str | None = None
"""While set, starting the app raises with this reason: tests/conftest.py sets it for every test marked ``unit``,
so a test that launches the app yet is classified unit fails instead of slowing the quick run down."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppServer:
    """``python app.py`` with the tiny model offered, its data in ``data_dir``, its log in ``log_path``.

    Tests start it through the ``launch_app`` fixture (tests/conftest.py), which also stops it and reads its log.
    """

    def __init__(
        self, data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None, root: Path = ROOT
    ) -> None:
        if LAUNCH_REFUSED:
            raise RuntimeError(LAUNCH_REFUSED)
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_path
        env = dict(os.environ)
        env.update(
            {
                "SFT_COACH_DATA": str(data_dir),
                "SFT_COACH_TINY_MODEL": "1",
                "GRADIO_ANALYTICS_ENABLED": "False",
                "HF_HUB_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env or {})
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "app.py", "--port", str(self.port), "--no-warm-up"],
            cwd=root,  # another checkout of the app (bench/bench_server_cpu.py --before), else this one
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_up(self, timeout: float = 90) -> float:
        start = time.time()
        while time.time() - start < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"The app exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return time.time() - start
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"The app did not answer within {timeout} s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text()
