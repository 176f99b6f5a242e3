"""The Space image: its start script puts data and Hub downloads on persistent storage when mounted, and its
header and Dockerfile say what the app needs (login, a bf16 GPU, a torch build the Space's driver can run)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _start(tmp_path: Path, **env: str) -> dict[str, str]:
    """Run scripts/space_start.sh with a stand-in ``python`` that prints the environment the app would get."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "python"
    fake.write_text('#!/bin/sh\necho "ARGS=$*"\nenv\n')
    fake.chmod(0o755)
    base = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    out = subprocess.run(
        ["sh", str(ROOT / "scripts" / "space_start.sh")], env={**base, **env}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    seen = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    assert seen["ARGS"] == "app.py"
    return seen


def test_a_mounted_volume_keeps_runs_and_hub_downloads(tmp_path):
    volume = tmp_path / "data"
    volume.mkdir()
    env = _start(tmp_path, SFT_COACH_STORAGE=str(volume))
    assert env["SFT_COACH_DATA"] == f"{volume}/sft-coach"
    assert env["HF_HOME"] == f"{volume}/.huggingface"  # models are not downloaded again after a restart
    assert env["SFT_COACH_CACHE"] == f"{volume}/sft-coach-cache"


def test_without_a_volume_the_app_uses_the_containers_disk_and_says_so(tmp_path):
    env = _start(tmp_path, SFT_COACH_STORAGE=str(tmp_path / "not-mounted"))
    assert env["SFT_COACH_DATA"] == f"{tmp_path}/home/data"
    assert "HF_HOME" not in env


def test_a_spaces_own_variables_win(tmp_path):
    volume = tmp_path / "data"
    volume.mkdir()
    env = _start(tmp_path, SFT_COACH_STORAGE=str(volume), SFT_COACH_DATA="/elsewhere", HF_HOME="/hf")
    assert (env["SFT_COACH_DATA"], env["HF_HOME"]) == ("/elsewhere", "/hf")


def test_a_read_only_volume_is_not_used(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders: the check needs an ordinary user")
    volume = tmp_path / "data"
    volume.mkdir(mode=0o555)
    assert _start(tmp_path, SFT_COACH_STORAGE=str(volume))["SFT_COACH_DATA"] == f"{tmp_path}/home/data"


def _front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---", 2)[1])


def test_the_space_header_turns_login_on_and_suggests_a_bf16_gpu():
    header = _front_matter()
    assert header["sdk"] == "docker" and header["app_port"] == 7860
    assert header["hf_oauth"] is True  # per-account ownership (SECURITY.md) needs the Space's login
    # Push, dataset upload and Jobs use the login (ui/identity.py hub_token): new repos and jobs, never delete.
    assert set(header["hf_oauth_scopes"]) == {"openid", "profile", "contribute-repos", "jobs"}
    # Ampere or newer (bf16): L4, L40S, A10G, A100, H100; not the T4, whose fp16 path has not run on a real one.
    assert re.fullmatch(r"(l4x\d|l40sx\d|a10g-\w+|a100-\w+|h100(x\d)?)", header["suggested_hardware"])


def test_the_image_installs_torch_for_the_drivers_spaces_have():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    base = re.search(r"^FROM python:(\d+)\.(\d+)-slim", dockerfile, re.M)
    assert base and (int(base[1]), int(base[2])) >= (3, 11)
    index = re.search(r"download\.pytorch\.org/whl/cu(\d+)", dockerfile)
    assert index and index[1].startswith("12")  # CUDA 12.x: any driver from 525 on; PyPI's CUDA 13 needs 580
    pinned = re.search(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)[1]
    assert f"torch=={pinned}" in dockerfile
    assert 'CMD ["sh", "scripts/space_start.sh"]' in dockerfile
