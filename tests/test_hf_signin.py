"""Sign in once: on an app with Hugging Face login, pushing uses the signed-in person's own token, from the
server-side login session of that request; never a page value, a forged request field or the server's token.

The ``signed_in_app`` fixture (tests/conftest.py, tests/signed_in.py) runs ``python app.py`` with login on,
Gradio's local login mock signing in as ann, and ``huggingface_hub`` pointed at the fake Hub, so the push runs
the real client code end to end.
"""

from __future__ import annotations

import json

from tests.fake_hub import OTHER_TOKEN, FakeHubAPI
from tests.page_client import PageClient
from tests.signed_in import ANN_RUN, MOCK_LOGIN_TOKEN, STRANGER_RUN, stranger_cookie


def _signed_in(base: str) -> PageClient:
    """A tab that went through the login button: Gradio's callback sets its login session cookie."""
    page = PageClient(base).open()
    answer = page.http.get(base + "login/callback")
    assert answer.status_code in (302, 307), answer.text
    # The login cookie is Secure (Gradio sets it so for a Space's https iframe): httpx would keep it off plain
    # http, so it is copied into the jar as Chromium on 127.0.0.1 keeps it.
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
    assert FakeHubAPI.commits == [("ann", "ann/smollm2-json", MOCK_LOGIN_TOKEN)]
    assert MOCK_LOGIN_TOKEN not in answer
    ok, answer = _push(page, ANN_RUN, "bare-name")  # a bare name goes under the signed-in account
    assert ok and "ann/bare-name" in answer, answer
    page.close()


def test_without_signing_in_nothing_is_pushed_with_the_servers_token_or_a_forged_one(signed_in_app):
    FakeHubAPI.commits.clear()
    stranger = PageClient(signed_in_app.url, cookies=stranger_cookie()).open()
    # Its own run, with a token typed into the hidden box: ignored, and HF_TOKEN (ann's) is never the fallback.
    ok, answer = _push(stranger, STRANGER_RUN, "ann/stolen", typed=OTHER_TOKEN)
    assert ok and "not signed in" in answer, answer
    # A token put in the request body where Gradio would fill a gr.OAuthToken parameter: ignored too.
    dep = stranger.dependency("push_run")
    data = stranger.data_for(dep, {"share-run": STRANGER_RUN, "share-repo": "bob/forged"})
    forged = stranger.call(dep["id"], data, extra={"oauth_token": OTHER_TOKEN})
    assert forged.success and "not signed in" in json.dumps(forged.data), forged
    # ann's run, by its id: not theirs, so nothing is read or pushed.
    ok, answer = _push(stranger, ANN_RUN, "ann/stolen-2")
    assert not ok or "Pushed" not in answer, answer
    stranger.close()
    assert FakeHubAPI.commits == []
    log = signed_in_app.log()  # its only tracebacks: Gradio refusing a run id that is not among the asker's choices
    assert log.count("Traceback") <= log.count("is not in the list of choices"), log[-3000:]
