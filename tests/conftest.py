"""Shared fixtures, and the markers that sort tests into the quick ``unit`` run and the rest.

Every output folder points at a temporary directory. Models come from a persistent cache: the offline model
conversion (~30 s) and the tiny random model are cached in ``SFT_COACH_CACHE`` (``~/.cache/sft-coach`` unless
set), so only the first test session on a machine pays for them.

Markers are given by what a test uses, never by hand (but ``slow`` and ``browser``): a test that asks for a
fixture in ``HEAVY_FIXTURES`` (itself or through another fixture) gets that fixture's marker, a test in a
module that imports ``AppServer`` is marked ``app``, and every test with none of ``NOT_UNIT`` is marked
``unit``. ``pytest -m unit`` is the quick run: no training, no model weights loaded, no app launched, no
browser. A test marked ``unit`` that starts the app anyway fails (see ``tests/app_server.py``), and
tests/test_markers.py checks that the modules reaching a launched app hold no test outside ``app``/``browser``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:  # the repository's modules (core, ui, tests) import from its root
    sys.path.insert(0, _ROOT)

from tests import app_server  # noqa: E402 - needs the root on sys.path

# trackio reads TRACKIO_DIR once, when first imported: point it at a throwaway folder for the whole session.
os.environ["TRACKIO_DIR"] = tempfile.mkdtemp(prefix="sft-coach-trackio-")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the Hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# No warm standby worker in launched apps (each costs ~13 s of CPU and 0.5 GB); the tests that test it start one.
os.environ.setdefault("SFT_COACH_WARM_WORKER", "0")

HEAVY_FIXTURES = {
    "launch_app": "app",  # starts `python app.py` in a subprocess (every launched-app fixture goes through it)
    "tiny_model_path": "model",  # the tiny random model's weights: training, generation, a model pool
    "offline_model_path": "model",  # the real SmolLM2-135M's weights
}
NOT_UNIT = ("slow", "browser", *HEAVY_FIXTURES.values())


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = getattr(item, "fixturenames", ())  # the whole closure: fixtures of fixtures count too
        for fixture, marker in HEAVY_FIXTURES.items():
            if fixture in used:
                item.add_marker(marker)
        if getattr(getattr(item, "module", None), "AppServer", None) is app_server.AppServer:
            item.add_marker("app")  # the module starts the app itself, without the fixture (test_faults_restart.py)
        if not any(item.get_closest_marker(marker) for marker in NOT_UNIT):
            item.add_marker("unit")


@pytest.fixture(autouse=True)
def unit_tests_launch_no_app(request, monkeypatch) -> None:
    """A test marked ``unit`` that starts the app fails at once: it belongs with the ``app`` tests."""
    if request.node.get_closest_marker("unit"):
        reason = f"{request.node.nodeid} is marked unit but starts the app: ask for the launch_app fixture instead."
        monkeypatch.setattr(app_server, "LAUNCH_REFUSED", reason)


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own data folder (runs, uploads)."""
    folder = tmp_path / "data"
    monkeypatch.setenv("SFT_COACH_DATA", str(folder))
    return folder


@pytest.fixture(scope="session")
def offline_model_path() -> Path:
    from core.models.catalog import ensure_offline_model

    return ensure_offline_model()


@pytest.fixture(scope="session")
def tiny_model_path() -> Path:
    from core.models.catalog import ensure_tiny_model

    return ensure_tiny_model()


@pytest.fixture(scope="session")
def data_tokenizer():
    """The tiny model's tokenizer (SmolLM2's, with its chat template); loading it loads no weights, so tests that
    only tokenize stay ``unit``."""
    from transformers import AutoTokenizer

    from core.models.catalog import ensure_tiny_model

    return AutoTokenizer.from_pretrained(ensure_tiny_model())


@pytest.fixture(scope="session")
def four_format_rows() -> dict[str, list[dict]]:
    """A few rows in each of TRL's four formats, built by the wizard's own converters from demo-like raw rows."""
    from core.data.convert import convert_rows
    from core.data.to_trl import ColumnMapping

    raw = [
        {
            "Question": f"Sam has {i} apples and buys {i + 2} more. How many now?",
            "Complex_CoT": f"{i} + {i + 2} = {2 * i + 2}.",
            "Response": f"The answer is {2 * i + 2}.",
            "System": "You solve word problems." if i % 2 else "",
        }
        for i in range(1, 9)
    ]
    mapping = ColumnMapping("Question", "Response", system="System", reasoning="Complex_CoT")
    out = {}
    for target in ("text", "prompt_completion", "messages", "conversational_prompt_completion"):
        conversion = convert_rows(raw, "raw_columns", target, mapping)
        assert not conversion.failures, conversion.failures
        out[target] = conversion.rows
    return out


@pytest.fixture(scope="module")
def launch_app(tmp_path_factory, tiny_model_path):
    """Start the real app (``python app.py`` on a loopback port), once or more per test module.

    Returns ``launch(env=None, *, name="app", tracebacks_allowed=False, prepare=None) -> AppServer``: the app
    with the tiny model offered and preselected (``SFT_COACH_DEFAULT_MODEL``), ``env`` added to its environment,
    its data folder in a fresh temporary folder (``app.data_dir``), first given to ``prepare`` if set. Each app
    is stopped when the module's tests are done, and then its log must hold no Python traceback unless
    ``tracebacks_allowed``.
    """
    from core.models.catalog import TINY_MODEL_ID

    started: list[tuple[app_server.AppServer, bool]] = []

    def launch(
        env: dict[str, str] | None = None, *, name: str = "app", tracebacks_allowed: bool = False, prepare=None
    ) -> app_server.AppServer:
        folder = tmp_path_factory.mktemp(name)
        if prepare is not None:  # fill the data folder before the app first reads it (runs to recover, say)
            prepare(folder / "data")
        app = app_server.AppServer(
            folder / "data", folder / "server.log", {"SFT_COACH_DEFAULT_MODEL": TINY_MODEL_ID, **(env or {})}
        )
        started.append((app, tracebacks_allowed))
        app.wait_until_up()
        return app

    yield launch
    for app, _ in started:
        app.stop()
    for app, tracebacks_allowed in started:
        log = app.log()
        assert tracebacks_allowed or "Traceback" not in log, log[-4000:]


@pytest.fixture(scope="module")
def signed_in_app(launch_app, tiny_model_path):
    """The app with Hugging Face login on (Gradio's local login mock) against the fake Hub: tests/signed_in.py."""
    from tests import signed_in
    from tests.fake_hub import ACCOUNTS, start_fake_hub

    hub, hub_url = start_fake_hub()
    ACCOUNTS[signed_in.MOCK_LOGIN_TOKEN] = "ann"  # the login session's access token is ann's on this (fake) Hub
    app = launch_app(
        signed_in.app_env(hub_url),
        name="signed-in",
        prepare=lambda data: signed_in.prepare_data(data, tiny_model_path),
        tracebacks_allowed=True,  # a forged run id is refused by Gradio with a logged traceback; the tests check
    )
    yield app
    hub.shutdown()
    hub.server_close()


@pytest.fixture(scope="module")
def server(launch_app):
    """The launched app, one per test module that asks for it (see ``launch_app``)."""
    return launch_app(name="server")


@pytest.fixture
def local_paths(tmp_path, monkeypatch) -> Path:
    """Local paths switched on, as on a single person's machine, with ``tmp_path/files`` the one allowed folder."""
    folder = tmp_path / "files"
    folder.mkdir()
    monkeypatch.setenv("SFT_COACH_LOCAL_PATHS", "1")
    monkeypatch.setenv("SFT_COACH_ALLOWED_FOLDERS", str(folder))
    return folder


@pytest.fixture
def request_as():
    """A factory of the request Gradio hands an event, as the session middleware leaves it for a given person."""
    from types import SimpleNamespace

    import gradio as gr

    from ui.identity import SESSION_STATE_KEY

    def make(session_id: str, session_hash: str = "page-1"):
        request = gr.Request(session_hash=session_hash)
        request.__dict__["state"] = SimpleNamespace(**{SESSION_STATE_KEY: session_id})
        return request

    return make


@pytest.fixture
def fake_hub_url(monkeypatch):
    """The fake Hub's address; ``huggingface_hub`` (its default endpoint too) points there for the test."""
    from huggingface_hub import constants

    from tests.fake_hub import start_fake_hub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the fake Hub is local; the real one stays unreached
    server, url = start_fake_hub()
    monkeypatch.setattr(constants, "ENDPOINT", url)
    # file downloads build their address from this template, made from the endpoint when huggingface_hub loads
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
    yield url
    server.shutdown()
    server.server_close()
