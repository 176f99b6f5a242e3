"""Secrets: a Hub token in the environment reaches no file a training run writes, and no log line.

The run goes the way the app runs it: the run manager starts a worker process (which inherits the
environment, token included), trackio logs into ``<data>/trackio`` as ``app.py`` sets it, and every file
under the data folder is then read as bytes: run state, config, metrics, samples, probes, checkpoints
(``training_args.bin`` is a pickle of the trainer's arguments), the final adapter, the worker's log and
trackio's database (SECURITY.md, "Secrets"). The recipe exports and the model card have their own token
tests (tests/test_recipe.py, tests/test_share.py). With Hugging Face sign-in, the login's own token pushes
and is then found in no file, no log line and nothing the page gets back (tests/test_hf_signin.py has the
whole signed-in app).
"""

from __future__ import annotations

import json
import logging
import pickle
import secrets
from pathlib import Path
from types import SimpleNamespace

from core.config import RunConfig
from core.models.catalog import TINY_MODEL_ID
from core.paths import runs_dir
from core.runs.manager import RunManager
from core.runs.record import Run
from core.tracking import trackio_project

TOKEN = "hf_" + secrets.token_hex(17)  # shaped like a real token, and found nowhere by chance


def files_holding(folder: Path, secret: str) -> tuple[list[Path], list[Path]]:
    """(every file under ``folder``, the ones whose bytes contain ``secret``)."""
    written = sorted(p for p in folder.rglob("*") if p.is_file())
    return written, [p for p in written if secret.encode() in p.read_bytes()]


def test_a_training_run_writes_the_hub_token_nowhere(data_dir, tiny_model_path, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", TOKEN)  # the older name huggingface_hub still reads
    monkeypatch.setenv("TRACKIO_DIR", str(data_dir / "trackio"))  # where app.py points trackio
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "info")  # the worker's log says more than it does by default
    caplog.set_level(logging.DEBUG)
    manager = RunManager(runs_dir())
    settings = dict(max_steps=2, save_steps=1, eval_steps=1, max_eval_rows=2, sample_every=1)
    job = manager.start(
        RunConfig(model_id=TINY_MODEL_ID, num_probe_prompts=1, sample_max_new_tokens=4, **settings), owner="tester"
    )
    snap = manager.wait(job.run_id, timeout=600)
    assert snap.phase == "finished", (snap.error, snap.error_detail)

    written, leaking = files_holding(data_dir, TOKEN)
    names = {p.relative_to(job.run_dir).as_posix() for p in written if p.is_relative_to(job.run_dir)}
    expected = {
        "config.json", "state.json", "metrics.jsonl", "eval.jsonl", "samples.jsonl", "probes.json", "worker.log",
        "checkpoints/checkpoint-1/training_args.bin", "checkpoints/checkpoint-2/trainer_state.json",
        "final/adapter_model.safetensors", "final/adapter_config.json",
    }  # fmt: skip
    assert expected <= names, expected - names  # the scan saw what a run writes, not an empty folder
    assert any(p.is_relative_to(data_dir / "trackio") for p in written), "trackio wrote nothing to scan"
    assert (
        data_dir / "trackio" / f"{trackio_project('tester')}.db"
    ).is_file()  # the run logged to its owner's project
    assert not leaking, f"the token is in {[p.relative_to(data_dir).as_posix() for p in leaking]}"
    assert TOKEN not in caplog.text


def test_the_scan_finds_a_token_planted_in_a_run_folder(data_dir):
    """The scan above can fail: a token in a state message or in a nested pickle is found."""

    def careless_trainer(job: Run) -> None:
        job.set_phase("training", f"Logged in with {TOKEN}.")  # lands in state.json
        checkpoint = job.run_dir / "checkpoints" / "checkpoint-1"
        checkpoint.mkdir(parents=True)
        (checkpoint / "training_args.bin").write_bytes(pickle.dumps({"hub_token": TOKEN}))

    manager = RunManager(runs_dir(), trainer=careless_trainer)
    job = manager.start(RunConfig(), owner="tester")
    manager.wait(job.run_id, timeout=10)
    _, leaking = files_holding(data_dir, TOKEN)
    assert [p.relative_to(job.run_dir).as_posix() for p in leaking] == [
        "checkpoints/checkpoint-1/training_args.bin",
        "state.json",
    ]


def test_a_signed_in_push_leaves_the_login_token_nowhere(data_dir, tiny_model_path, fake_hub_url, monkeypatch, caplog):
    import gradio as gr

    from tests.fake_hub import ACCOUNTS, FakeHubAPI
    from tests.run_folders import make_run
    from ui.tryit_context import TryItContext
    from ui.tryit_results import ResultEvents

    login_token = "hf_oauth_" + secrets.token_hex(17)
    ACCOUNTS[login_token] = "ann"
    monkeypatch.setenv("OAUTH_CLIENT_ID", "space-client")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # the fake Hub on loopback (the fixture points huggingface_hub there)
    caplog.set_level(logging.DEBUG)
    run_dir = make_run(runs_dir(), tiny_model_path)
    state = json.loads((run_dir / "state.json").read_text())
    (run_dir / "state.json").write_text(json.dumps({**state, "owner": "hf:ann"}))
    login = {"access_token": login_token, "userinfo": {"preferred_username": "ann"}, "expires_at": 9e9}
    request = gr.Request(request=SimpleNamespace(scope={"state": {}, "session": {"oauth_info": login}}))
    events = ResultEvents(TryItContext(RunManager(runs_dir())))

    shown = events.push_run(run_dir.name, "ann/model", "", "adapter", True, request, progress=lambda *a, **k: None)
    assert "Pushed" in shown[0] and [c[2] for c in FakeHubAPI.commits] == [login_token], shown
    _, leaking = files_holding(data_dir, login_token)
    assert not leaking and login_token not in repr(shown) and login_token not in caplog.text
