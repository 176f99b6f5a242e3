"""A local fake of the Hugging Face Hub's HTTP API on loopback, for the real ``huggingface_hub`` client.

The ``fake_hub_url`` fixture (tests/conftest.py) starts it and points ``huggingface_hub`` at it; nothing
reaches the real Hub.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "hf_FakeTokenOnlyForTests0123456789abc"


class FakeHubAPI(BaseHTTPRequestHandler):
    """The endpoints HfApi.create_repo and upload_folder call (huggingface_hub 2.4), with regular uploads only."""

    committed: dict[str, bytes] = {}
    requests: list[tuple[str, str]] = []
    commits: list[tuple[str, str, str]] = []  # (the account that committed, the repo, the token it used)
    user: str | None = None  # the account of the request being answered

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def _reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("X-Error-Message", payload["error"])
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        self.user = signed_in_user(self.headers.get("Authorization"))  # accounts and sign-in, below
        if self.user:
            return True
        self._reply(401, {"error": "Invalid credentials in Authorization header"})
        return False

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path))
        if self.path.startswith("/api/whoami"):
            if self._authorised():
                self._reply(200, whoami_answer(self.user))
            return
        self._reply(404, {"error": "Repository not found"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests.append(("POST", self.path))
        if not self._authorised():
            return
        host = f"http://{self.headers['Host']}"
        if self.path == "/api/repos/create":
            request = json.loads(body)
            return self._reply(200, {"url": f"{host}/{request['organization']}/{request['name']}"})
        if self.path == "/api/validate-yaml":
            return self._reply(200, {"errors": [], "warnings": []})
        if "/preupload/" in self.path:
            files = json.loads(body)["files"]
            modes = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]
            return self._reply(200, {"files": modes})
        if "/commit/" in self.path:
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    self.committed[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            repo = "/".join(self.path.split("/")[3:5])
            self.commits.append((self.user, repo, self.headers["Authorization"].split(" ", 1)[1]))
            return self._reply(200, {"commitUrl": f"{host}/{repo}/commit/{'a' * 40}", "commitOid": "a" * 40})
        self._reply(404, {"error": "Not found"})


def start_fake_hub() -> tuple[ThreadingHTTPServer, str]:
    """Serve the fake Hub on a free loopback port; returns the server (call ``shutdown``) and its URL."""
    FakeHubAPI.committed, FakeHubAPI.requests, FakeHubAPI.commits = {}, [], []
    ACCOUNTS.clear()
    ACCOUNTS.update(DEFAULT_ACCOUNTS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHubAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


# -- accounts and sign-in (issue 18, "sign in once") -----------------------------------------------------------
# Tokens the fake Hub knows, each an account's: a personal token, or the access token of a Hugging Face login.
# A test that signs someone in (gradio's local OAuth mock, say) adds that login's access token here.
OTHER_TOKEN = "hf_FakeTokenOfBobOnlyForTests0123456789"
DEFAULT_ACCOUNTS = {TOKEN: "ann", OTHER_TOKEN: "bob"}
ACCOUNTS: dict[str, str] = dict(DEFAULT_ACCOUNTS)


def signed_in_user(authorization: str | None) -> str | None:
    """The account whose token a request's ``Authorization: Bearer …`` header carries, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    return ACCOUNTS.get(token) if scheme == "Bearer" else None


def whoami_answer(user: str) -> dict:
    """``/api/whoami-v2`` for ``user``, with the fields gradio's local login mock reads (fullname, avatarUrl)."""
    return {
        "type": "user",
        "name": user,
        "fullname": user.title(),
        "avatarUrl": f"/avatars/{user}.png",
        "auth": {"accessToken": {"role": "write"}},
    }
