"""trackio's own dashboard, served by the app under ``/trackio/``, showing each person their own project only.

``TrackioMount`` is ASGI middleware around the Gradio app: a request under ``/trackio/`` goes to trackio's
Starlette dashboard (built on first use, from the installed trackio), everything else to Gradio. Who is asking
is decided here for every request, from the session cookie or the login session (ui/identity.py
``scope_owner``), and core/tracking.py ``dashboard_decision`` says which of the dashboard's API calls pass: reads
of that person's project only. A project named in a link, a query string or a request body is input; the
person's own project is the only one answered. Writes, uploads, the MCP and login routes and trackio's other
files are refused.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote

from core.tracking import dashboard_decision, trackio_project
from ui.identity import scope_owner

PREFIX = "/trackio"
MAX_BODY = 1 << 20  # the dashboard's calls are small JSON objects
_REFUSED_PATHS = ("/api/upload", "/gradio_api", "/oauth", "/login", "/mcp", "/artifact_blob")


def dashboard_link(owner: str) -> str:
    """The page-relative link to this person's dashboard (works under a Space's or a proxy's root path)."""
    return f"trackio/?project={trackio_project(owner)}"


class TrackioMount:
    """ASGI middleware: ``/trackio/...`` is this person's trackio dashboard; any other path goes on to Gradio."""

    def __init__(self, app) -> None:
        self.app = app
        self._dashboard = None
        self._lock = threading.Lock()

    def _trackio_app(self):
        with self._lock:  # built once, on the first visit: the page itself never waits for trackio
            if self._dashboard is None:
                import os
                from urllib.parse import quote

                from trackio import utils
                from trackio.server import build_starlette_app_only

                # trackio links its logos at the server's root (/file?...): relative, they stay under /trackio/.
                for variable, name in (("LIGHT", "light"), ("DARK", "dark")):
                    logo = utils.TRACKIO_LOGO_DIR / f"trackio_logo_type_{name}_transparent.png"
                    os.environ.setdefault(f"TRACKIO_LOGO_{variable}_URL", f"file?path={quote(str(logo))}")

                self._dashboard, _write_token = build_starlette_app_only(mcp_server=False)
            return self._dashboard

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        if path == PREFIX:  # the dashboard's links are relative to the folder
            await _send(
                send, 307, b"", [(b"location", (PREFIX + "/?" + scope.get("query_string", b"").decode()).encode())]
            )
            return
        owner = scope_owner(scope)
        if not owner:
            await _send_json(
                send, 403, {"error": "This page has no session: reload the app, then open the dashboard."}
            )
            return
        inner = path[len(PREFIX) :]
        project = trackio_project(owner)
        if inner.startswith(_REFUSED_PATHS):
            await _send_json(send, 403, {"error": "Not available here: this dashboard only reads your own runs."})
            return
        if inner == "/__trackio/frontend_version":  # polled every second per tab: a constant, not a hash of files
            await _send_json(send, 200, {"version": "sft-coach"})
            return
        if inner == "/file" and not _own_file(scope, project):
            await _send(send, 404, b"Not found", [(b"content-type", b"text/plain")])
            return
        if inner.startswith("/api/"):
            body = await _read_body(receive)
            if body is None:
                await _send_json(send, 413, {"error": "The request is too large."})
                return
            from trackio.sqlite_storage import SQLiteStorage

            decision = dashboard_decision(inner[len("/api/") :], body, project, SQLiteStorage.get_projects())
            if decision.action != "pass":
                await _send_json(send, decision.status, decision.payload)
                return
            receive = _replay(body, receive)
        scope = {**scope, "root_path": scope.get("root_path", "") + PREFIX}
        await self._trackio_app()(scope, receive, send)


def _own_file(scope: dict, project: str) -> bool:
    """``/file?path=`` serves only trackio's logos and this person's project's own media."""
    from trackio import utils

    wanted = parse_qs(scope.get("query_string", b"").decode()).get("path", [""])[0]
    target = Path(unquote(wanted)).resolve(strict=False)
    return any(
        target.is_relative_to(root.resolve()) for root in (utils.TRACKIO_LOGO_DIR, utils.project_media_dir(project))
    )


async def _read_body(receive) -> bytes | None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body"):
            return body


def _replay(body: bytes, original):
    """A ``receive`` that hands the body already read to trackio, then listens to the client again."""
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return await original()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send(send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_json(send, status: int, payload: object) -> None:
    await _send(send, status, json.dumps(payload).encode(), [(b"content-type", b"application/json")])
