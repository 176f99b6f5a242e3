"""An app with Hugging Face login on, for the sign-in tests: what its data folder holds and how a tab signs in.

The app runs with ``OAUTH_CLIENT_ID`` set (what ``hf_oauth: true`` sets on a Space) and no ``SPACE_ID``, so
Gradio mocks the login the way it documents for local testing: the machine's saved token and ``whoami`` give
the profile (ann, on the fake Hub), and the login session holds Gradio's mock access token, which the fake Hub
(tests/fake_hub.py) knows as ann's login. The ``signed_in_app`` fixture (tests/conftest.py) starts it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from core.owners import SESSION_COOKIE, _signature
from core.tracking import trackio_project
from tests.fake_hub import TOKEN
from tests.run_folders import make_run

MOCK_LOGIN_TOKEN = "mock-oauth-token-for-local-dev"  # the access token gradio.oauth's local mock puts in a session
SECRET = secrets.token_hex(16)  # the app's cookie key, so a test can hold a stranger's valid cookie
STRANGER = secrets.token_hex(16)  # a browser session id, as the app issues them: 32 hex digits
ANN, ANN_RUN, STRANGER_RUN = "hf:ann", "20260101-120000-aaaa0001", "20260101-120000-bbbb0002"


def app_env(hub_url: str) -> dict[str, str]:
    return {
        "OAUTH_CLIENT_ID": "test-client",
        "HF_ENDPOINT": hub_url,
        "HF_HUB_OFFLINE": "0",
        "HF_TOKEN": TOKEN,  # the machine's saved token: gradio's mock reads the profile with it; pushes never use it
        "SFT_COACH_SECRET": SECRET,
    }


def prepare_data(data_dir: Path, tiny_model_path: Path) -> None:
    """A finished run of ann's account and one of the stranger's browser, each with its trackio log."""
    import trackio  # logs where TRACKIO_DIR points (tests/conftest.py), which the app inherits

    for owner, run_id, seed in ((ANN, ANN_RUN, 1), (STRANGER, STRANGER_RUN, 2)):
        run_dir = make_run(data_dir / "runs", tiny_model_path, run_id, seed=seed)
        state = json.loads((run_dir / "state.json").read_text())
        (run_dir / "state.json").write_text(json.dumps({**state, "owner": owner}))
        trackio.init(project=trackio_project(owner), name=f"{'ann' if owner == ANN else 'stranger'}-{run_id}")
        for step, loss in enumerate((2.0, 1.2, 0.7, 0.4)):
            trackio.log({"train/loss": loss}, step=step)
        trackio.finish()


def stranger_cookie() -> dict[str, str]:
    """The stranger's session cookie, signed as the app signs them."""
    return {SESSION_COOKIE: f"{STRANGER}.{_signature(STRANGER, SECRET)}"}
