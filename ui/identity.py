"""Who is asking, decided on the server for every event: the signed-in account, else the session cookie.

``SessionCookieMiddleware`` gives every browser a signed, HttpOnly session cookie on its first request
(page scripts can't read it; a forged or edited one is replaced by a fresh id that owns nothing).
``request_owner`` turns the request Gradio hands an event into the owner id that ``core/`` takes
(core/owners.py). No event takes its owner from a component value: a value the page sends back is input.
"""

from __future__ import annotations

import os
from http.cookies import SimpleCookie

import gradio as gr

from core.owners import SESSION_COOKIE, new_session_cookie, oauth_enabled, owner_for, session_id_from_cookie
from ui.toasts import refusal

SESSION_STATE_KEY = "sft_coach_session_id"
COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie: runs stay findable for a year


class SessionCookieMiddleware:
    """ASGI middleware: every request carries a valid session cookie, issued on the first one."""

    def __init__(self, app, secret: str) -> None:
        self.app = app
        self.secret = secret
        # A Space shows the app in an iframe on huggingface.co: the browser sends the cookie there only when
        # it is SameSite=None and Secure (Gradio's own login cookie does the same on a Space).
        on_space = bool(os.environ.get("SPACE_ID"))
        self.attributes = f"Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; " + (
            "SameSite=None; Secure" if on_space else "SameSite=Lax"
        )

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers", []))
        raw = b"; ".join(value for name, value in headers if name == b"cookie").decode("latin-1")
        jar = SimpleCookie()
        try:
            jar.load(raw)
        except Exception:  # noqa: BLE001 - a malformed Cookie header is treated as no cookie
            jar = SimpleCookie()
        current = jar[SESSION_COOKIE].value if SESSION_COOKIE in jar else None
        session_id = session_id_from_cookie(current, self.secret)
        if session_id:
            await self.app(_with_session(scope, session_id), receive, send)
            return
        fresh = new_session_cookie(self.secret)
        # This request already counts as the new session (the page's first events may share its connection).
        kept = [(name, value) for name, value in headers if name != b"cookie"]
        others = "; ".join(f"{key}={morsel.value}" for key, morsel in jar.items() if key != SESSION_COOKIE)
        cookie_header = f"{SESSION_COOKIE}={fresh}" + (f"; {others}" if others else "")
        scope = {**scope, "headers": [*kept, (b"cookie", cookie_header.encode("latin-1"))]}
        scope = _with_session(scope, fresh.split(".")[0])
        set_cookie = f"{SESSION_COOKIE}={fresh}; {self.attributes}".encode("latin-1")

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", set_cookie)]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class NamedEndpointsGuard:
    """ASGI middleware: the by-name API routes answer only for the script endpoints; page events get a 404.

    Gradio serves every event by name at ``/gradio_api/{api,call,call/v2,run}/<name>``, even one kept off the
    API page. The page calls its events by number: through the queue, or, for an event off the queue
    (``queue=False``: the Train step's tick, the Stop buttons of Try it), with one POST to ``run/predict``. Both
    stay open to it (and so to anyone copying it: hence ``request_owner`` in every event); the app's queue has
    ``api_open=False``, so ``run/predict`` reaches only the events off the queue, as on a Space.
    """

    PREFIXES = ("/gradio_api/api/", "/gradio_api/call/v2/", "/gradio_api/call/", "/gradio_api/run/")
    PAGE_ROUTE = "/gradio_api/run/predict"  # the page's own: an event off the queue, named by its number

    def __init__(self, app, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = {name.strip("/") for name in allowed}

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        prefix = next((p for p in self.PREFIXES if path.startswith(p)), None)
        if path.rstrip("/") == self.PAGE_ROUTE:
            prefix = None
        if prefix is not None and path[len(prefix) :].strip("/").split("/")[0] not in self.allowed:
            body = b'{"detail": "Not an API endpoint of this app. See /gradio_api/info for the ones there are."}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _with_session(scope: dict, session_id: str) -> dict:
    """The request's scope with its verified session id in ``request.state`` (where ``request_owner`` reads it)."""
    return {**scope, "state": {**scope.get("state", {}), SESSION_STATE_KEY: session_id}}


def _session_id(request: gr.Request) -> str | None:
    """The session id the middleware verified for this request; None when the middleware did not see it."""
    underlying = getattr(request, "request", None)
    if underlying is not None:
        return underlying.scope.get("state", {}).get(SESSION_STATE_KEY)
    state = request.__dict__.get("state")  # a request Gradio pickled keeps its state (route_utils.Request)
    return getattr(state, SESSION_STATE_KEY, None) if state is not None else None


def _login_info(request: gr.Request | None) -> dict:
    """This request's own login session (Space with login only; expired counts as none), else {}."""
    if not oauth_enabled() or request is None:
        return {}
    from gradio.oauth import _get_valid_oauth_info_from_session  # the check Gradio's own OAuthProfile uses

    underlying = getattr(request, "request", None)
    session = underlying.scope.get("session", {}) if underlying is not None else {}
    return _get_valid_oauth_info_from_session(session) or {}


def signed_in_username(request: gr.Request | None) -> str | None:
    """The Hugging Face username of this request's login session (Space with login only), else None."""
    return (_login_info(request).get("userinfo") or {}).get("preferred_username")


def hub_token(request: gr.Request | None, typed: str | None = None) -> str | None:
    """The Hub token for this event, used for that one call and kept nowhere.

    With sign-in on: the signed-in person's OAuth access token, read here from the server-side login session of
    this very request; ``typed`` is ignored (the page shows no token box then). It is not taken from a
    ``gr.OAuthToken`` parameter: Gradio 6.31 fills one from an ``oauth_token`` field that the caller may put in
    the request body when the session has none (gradio/route_utils.py ``oauth_token_from_body``), and a value
    the page sends is input. Without sign-in (a local run): what was typed, else None, and core/hub.py falls back
    to ``HF_TOKEN`` or the ``hf auth login`` token of the machine.
    """
    if oauth_enabled():
        return _login_info(request).get("access_token") or None
    return (typed or "").strip() or None


def scope_owner(scope: dict) -> str | None:
    """The owner of a plain HTTP request the app serves itself (the trackio mount): the same rule as for events,
    read from what the middlewares put in its scope (the login session, the verified cookie id); else None."""
    from gradio.oauth import _get_valid_oauth_info_from_session

    info = (_get_valid_oauth_info_from_session(scope.get("session") or {}) or {}) if oauth_enabled() else {}
    username = (info.get("userinfo") or {}).get("preferred_username")
    return owner_for(username, (scope.get("state") or {}).get(SESSION_STATE_KEY))


def request_owner(request: gr.Request | None) -> str:
    """The owner id for this event; gr.Error (shown to the person) when the request carries no identity."""
    who = owner_for(signed_in_username(request), _session_id(request)) if request is not None else None
    if not who:
        raise refusal(
            "This page has no session, so the app can't tell whose runs and files are yours. "
            "Reload the page; if that does not help, allow cookies for this site."
        )
    return who


def client_address(request: gr.Request | None) -> str:
    """The network address a request came from: the nearest proxy's ``X-Forwarded-For`` entry, else the socket's.

    A Space's proxy (connecting from a private address) appends the address it saw to ``X-Forwarded-For``;
    anything before that entry was sent by the client itself and could be made up, so only the last entry is
    used, and only when the connection comes from a proxy.
    """
    if request is None:
        return ""
    client = getattr(request, "client", None)
    direct = str(getattr(client, "host", "") or "")
    headers = getattr(request, "headers", None) or {}
    forwarded = headers.get("x-forwarded-for", "") if hasattr(headers, "get") else ""
    if forwarded.strip() and _is_proxy(direct):
        return forwarded.split(",")[-1].strip()
    return direct


def _is_proxy(address: str) -> bool:
    """A connection from a private or loopback address comes through a proxy of the deployment (a Space's)."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return not address  # no socket address at all (a request built in a test): take the header
    return ip.is_private or ip.is_loopback
