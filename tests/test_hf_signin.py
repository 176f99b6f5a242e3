"""Sign in once: on an app with Hugging Face login, pushing uses the signed-in person's own token, from the
server-side login session of that request; nobody else's session, page value or the server's saved token.

The app runs as ``python app.py`` with ``OAUTH_CLIENT_ID`` set (what ``hf_oauth: true`` sets on a Space) but
no ``SPACE_ID``: Gradio then mocks the login the way it documents for local testing (the machine's saved token
and ``whoami`` give the profile; the login session holds Gradio's mock access token). ``huggingface_hub`` in the
app points at the fake Hub (tests/fake_hub.py), which knows that access token as ann's login, so the push runs
the real client code end to end.
"""

from __future__ import annotations

import json
import secrets

import pytest

from core.owners import SESSION_COOKIE, _signature
from tests.app_server import AppServer
from tests.fake_hub import ACCOUNTS, OTHER_TOKEN, TOKEN, FakeHubAPI, start_fake_hub
from tests.page_client import PageClient
from tests.run_folders import make_run

MOCK_LOGIN_TOKEN = "mock-oauth-token-for-local-dev"  # the access token gradio.oauth's local mock puts in a session
SECRET = secrets.token_hex(16)
STRANGER = secrets.token_hex(16)  # a session id, as the app issues them: 32 hex digits
ANN_RUN, STRANGER_RUN = "20260101-120000-aaaa0001", "20260101-120000-bbbb0002"


def _own(run_dir, owner: str) -> None:
    state = json.loads((run_dir / "state.json").read_text())
    (run_dir / "state.json").write_text(json.dumps({**state, "owner": owner}))


@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory, tiny_model_path):
    """The app with login on, a finished run of the account hf:ann and one of a stranger's browser session."""
    hub, hub_url = start_fake_hub()
    ACCOUNTS[MOCK_LOGIN_TOKEN] = "ann"  # the login session's access token is ann's on this (fake) Hub
    folder = tmp_path_factory.mktemp("signin")
    runs = folder / "data" / "runs"
    _own(make_run(runs, tiny_model_path, ANN_RUN), "hf:ann")
    _own(make_run(runs, tiny_model_path, STRANGER_RUN, seed=2), STRANGER)
    env = {
        "OAUTH_CLIENT_ID": "test-client",
        "HF_ENDPOINT": hub_url,
        "HF_HUB_OFFLINE": "0",
        "HF_TOKEN": TOKEN,  # the machine's saved token: gradio's mock reads the profile with it; pushes never use it
        "SFT_COACH_SECRET": SECRET,
    }
    app = AppServer(folder / "data", folder / "server.log", env)
    try:
        app.wait_until_up()
        yield app
    finally:
        app.stop()
        hub.shutdown()
        hub.server_close()
        log = app.log()  # the only tracebacks: Gradio refusing a run id that is not among the asker's choices
        assert log.count("Traceback") <= log.count("is not in the list of choices"), log[-3000:]


def _signed_in(base: str) -> PageClient:
    """A tab that went through the login button: Gradio's callback sets its login session cookie."""
    page = PageClient(base).open()
    answer = page.http.get(base + "login/callback")
    assert answer.status_code in (302, 307), answer.text
    # The login cookie is Secure (Gradio sets it so for a Space's https iframe): httpx would keep it off plain
    # http, so it is copied into the jar as the browser on 127.0.0.1 keeps it.
    page.http.cookies.set("session", answer.cookies["session"])
    return page


def _push(page: PageClient, run_id: str, repo: str, typed: str = "") -> tuple[bool, str]:
    page.call_named("refresh_lists")  # opening Try it fills the run pickers with this person's runs
    result = page.call_named("push_run", {"share-run": run_id, "share-repo": repo, "share-token": typed})
    return result.success, json.dumps(result.data) if result.success else str(result.error)


def test_the_page_offers_login_and_no_token_box(signed_in_app):
    page = PageClient(signed_in_app.url).open()
    by_id = {c["props"].get("elem_id"): c for c in page.config["components"] if c["props"].get("elem_id")}
    assert "Sign in with Hugging Face" in by_id["hf-login"]["props"]["value"]
    assert by_id["share-token"]["props"]["visible"] is False
    assert by_id["jobs-token"]["props"]["visible"] is False
    page.close()


def test_a_signed_in_person_pushes_without_typing_a_token(signed_in_app):
    FakeHubAPI.commits.clear()
    page = _signed_in(signed_in_app.url)
    ok, answer = _push(page, ANN_RUN, "ann/smollm2-json")
    assert ok and "Pushed" in answer and "ann/smollm2-json" in answer, answer
    # The commit came with the login's own token, never the server's saved HF_TOKEN, and the token is not echoed.
    assert {(user, repo, token) for user, repo, token in FakeHubAPI.commits} == {
        ("ann", "ann/smollm2-json", MOCK_LOGIN_TOKEN)
    }
    assert MOCK_LOGIN_TOKEN not in answer
    # A bare name goes under the signed-in account.
    ok, answer = _push(page, ANN_RUN, "bare-name")
    assert ok and "ann/bare-name" in answer, answer
    page.close()


def test_without_signing_in_nothing_is_pushed_with_the_servers_token_or_a_forged_one(signed_in_app):
    FakeHubAPI.commits.clear()
    cookie = f"{STRANGER}.{_signature(STRANGER, SECRET)}"
    stranger = PageClient(signed_in_app.url, cookies={SESSION_COOKIE: cookie}).open()
    # Its own run, with a token typed into the hidden box: ignored, and HF_TOKEN (ann's) is never the fallback.
    ok, answer = _push(stranger, STRANGER_RUN, "ann/stolen", typed=OTHER_TOKEN)
    assert ok and "not signed in" in answer, answer
    # A token put in the request body where Gradio would fill a gr.OAuthToken parameter: ignored too.
    stranger.call_named("refresh_lists")
    dep = stranger.dependency("push_run")
    data = stranger.data_for(dep, {"share-run": STRANGER_RUN, "share-repo": "bob/forged"})
    body = {"data": data, "fn_index": dep["id"], "session_hash": stranger.session_hash, "oauth_token": OTHER_TOKEN}
    assert stranger.http.post(signed_in_app.url + "gradio_api/queue/join", json=body).status_code == 200
    # ann's run, by its id: not theirs, so nothing is read or pushed.
    ok, answer = _push(stranger, ANN_RUN, "ann/stolen-2")
    assert not ok or "Pushed" not in answer, answer
    stranger.close()
    signed_in = _signed_in(signed_in_app.url)  # the stranger's forged body had time to run: nothing came of it
    signed_in.call_named("refresh_lists")
    assert FakeHubAPI.commits == []
    signed_in.close()
