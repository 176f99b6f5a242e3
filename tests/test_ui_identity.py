"""Who is asking, as the server decides it: the session cookie the middleware issues, or the request's login."""

from __future__ import annotations

import time
from types import SimpleNamespace

import gradio as gr
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from core.owners import SESSION_COOKIE, new_session_cookie
from ui.identity import SESSION_STATE_KEY, NamedEndpointsGuard, SessionCookieMiddleware, hub_token, request_owner

SECRET = "test-secret"


def _app() -> TestClient:
    def whoami(request):
        return JSONResponse({"session": request.scope.get("state", {}).get(SESSION_STATE_KEY)})

    app = Starlette(routes=[Route("/", whoami), Route("/gradio_api/call/{name}", whoami)])
    guarded = NamedEndpointsGuard(SessionCookieMiddleware(app, secret=SECRET), allowed=("/run_status",))
    return TestClient(guarded)


def test_a_first_visit_gets_a_signed_httponly_cookie_and_keeps_it():
    client = _app()
    first = client.get("/")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    session = first.json()["session"]
    assert len(session) == 32 and cookie.split("=", 1)[1].startswith(session + ".")
    again = client.get("/")
    assert again.json()["session"] == session and "set-cookie" not in again.headers  # the same person


@pytest.mark.parametrize("forged", ["0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef.abc"])
def test_a_forged_cookie_is_replaced_by_a_fresh_identity(forged):
    client = _app()
    client.cookies.set(SESSION_COOKIE, forged)
    answer = client.get("/")
    assert answer.json()["session"] not in (forged, forged.split(".")[0]) and "set-cookie" in answer.headers


def test_a_cookie_signed_by_this_app_is_accepted():
    value = new_session_cookie(SECRET)
    client = _app()
    client.cookies.set(SESSION_COOKIE, value)
    assert client.get("/").json()["session"] == value.split(".")[0]


def test_on_a_space_the_cookie_works_inside_the_spaces_iframe(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/sft-coach")
    cookie = _app().get("/").headers["set-cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie


def test_page_events_are_not_served_by_name_but_script_endpoints_are():
    client = _app()
    assert client.get("/gradio_api/call/refresh_5").status_code == 404
    assert client.get("/gradio_api/call/run_status").status_code == 200


def _request(session_id: str | None = None, oauth_info: dict | None = None) -> gr.Request:
    scope_state = {SESSION_STATE_KEY: session_id} if session_id else {}
    scope = {"state": scope_state, "session": {"oauth_info": oauth_info} if oauth_info else {}}
    return gr.Request(request=SimpleNamespace(scope=scope))


def test_the_signed_in_account_comes_from_the_requests_own_login_session(monkeypatch):
    monkeypatch.setenv("OAUTH_CLIENT_ID", "space-client")
    alice = {"userinfo": {"preferred_username": "alice"}, "expires_at": time.time() + 3600}
    assert request_owner(_request("0f" * 16, alice)) == "hf:alice"
    assert request_owner(_request("0f" * 16)) == "0f" * 16  # not signed in: the cookie's id, never an account
    expired = {**alice, "expires_at": time.time() - 1}
    assert request_owner(_request("0f" * 16, expired)) == "0f" * 16


def test_login_data_is_ignored_where_the_space_has_no_login(monkeypatch):
    monkeypatch.delenv("OAUTH_CLIENT_ID", raising=False)
    alice = {"userinfo": {"preferred_username": "alice"}, "expires_at": time.time() + 3600}
    assert request_owner(_request("0f" * 16, alice)) == "0f" * 16


def test_a_request_without_identity_is_refused_with_a_sentence():
    with pytest.raises(gr.Error, match="Reload the page"):
        request_owner(_request(None))
    with pytest.raises(gr.Error):
        request_owner(None)


def test_the_hub_token_is_the_login_sessions_own_and_never_a_page_value(monkeypatch):
    monkeypatch.setenv("OAUTH_CLIENT_ID", "space-client")
    alice = {"access_token": "hf_oauth_alice", "userinfo": {"preferred_username": "alice"}, "expires_at": 9e9}
    assert hub_token(_request("0f" * 16, alice), typed="hf_typed_by_the_page") == "hf_oauth_alice"
    assert hub_token(_request("0f" * 16), typed="hf_typed_by_the_page") is None  # not signed in: no token at all
    assert hub_token(_request("0f" * 16, {**alice, "expires_at": 1}), typed="hf_x") is None  # an expired login
    monkeypatch.delenv("OAUTH_CLIENT_ID")
    assert hub_token(_request("0f" * 16, alice), typed=" hf_typed ") == "hf_typed"  # local run: the typed token
    assert hub_token(_request("0f" * 16, alice), typed="") is None  # core/hub.py then looks for a saved one
