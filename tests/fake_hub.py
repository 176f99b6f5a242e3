"""A local fake of the Hugging Face Hub's HTTP API on loopback, for the real ``huggingface_hub`` client.

The ``fake_hub_url`` fixture (tests/conftest.py) starts it and points ``huggingface_hub`` at it; nothing
reaches the real Hub.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

TOKEN = "hf_FakeTokenOnlyForTests0123456789abc"


class FakeHubAPI(BaseHTTPRequestHandler):
    """The endpoints HfApi.create_repo and upload_folder call (huggingface_hub 2.4), with regular uploads only,
    and ``model_info`` for the models put in ``models`` (repo id -> what the Hub answers about it)."""

    committed: dict[str, bytes] = {}
    requests: list[tuple[str, str]] = []
    models: dict[str, dict] = {}
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
        repo_id = self.path.split("?")[0].removeprefix("/api/models/")
        if self.path.startswith("/api/models/") and repo_id in self.models:
            return self._reply(200, {"id": repo_id, **self.models[repo_id]})
        if _jobs_route(self, "GET", b""):  # Jobs and the job's output repo (the section at the end)
            return
        self._reply(404, {"error": "Repository not found"})

    def do_HEAD(self) -> None:
        self.requests.append(("HEAD", self.path))
        if not _jobs_route(self, "HEAD", b""):
            self._reply(404, {"error": "Entry not found"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests.append(("POST", self.path))
        if not self._authorised():
            return
        if _jobs_route(self, "POST", body):  # Jobs (the section at the end)
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
            repo = "/".join(self.path.split("/")[3:5])
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "file":
                    self.committed[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                    FakeJobs.push_file(repo, item["value"]["path"], self.committed[item["value"]["path"]])
            self.commits.append((self.user, repo, self.headers["Authorization"].split(" ", 1)[1]))
            return self._reply(200, {"commitUrl": f"{host}/{repo}/commit/{'a' * 40}", "commitOid": "a" * 40})
        self._reply(404, {"error": "Not found"})


def start_fake_hub() -> tuple[ThreadingHTTPServer, str]:
    """Serve the fake Hub on a free loopback port; returns the server (call ``shutdown``) and its URL."""
    FakeHubAPI.committed, FakeHubAPI.requests, FakeHubAPI.models, FakeHubAPI.commits = {}, [], {}, []
    FakeJobs.reset()
    ACCOUNTS.clear()
    ACCOUNTS.update(DEFAULT_ACCOUNTS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHubAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


# -- Jobs, and the files of a job's output repo --------------------------------------------------------------
# The endpoints HfApi.list_jobs_hardware, run_job, inspect_job, fetch_job_logs, fetch_job_metrics and cancel_job
# call, and those snapshot_download and a plain file download read (repo info, tree, resolve). A test plays
# the Job's side with FakeJobs: it moves a job's stage on, adds log lines and pushes files to its output repo.

HARDWARE = [  # the shape of the Hub's /api/jobs/hardware, prices per minute as the Hub gives them
    {"name": "cpu-basic", "prettyName": "CPU Basic", "cpu": "2 vCPU", "ram": "16 GB", "accelerator": None,
     "unitCostMicroUSD": 167, "unitCostUSD": 0.000167, "unitLabel": "minute"},
    {"name": "t4-small", "prettyName": "Nvidia T4 - small", "cpu": "4 vCPU", "ram": "15 GB",
     "accelerator": {"type": "gpu", "model": "T4", "quantity": "1", "vram": "16 GB", "manufacturer": "Nvidia"},
     "unitCostMicroUSD": 6667, "unitCostUSD": 0.006667, "unitLabel": "minute"},
    {"name": "a10g-small", "prettyName": "Nvidia A10G - small", "cpu": "4 vCPU", "ram": "15 GB",
     "accelerator": {"type": "gpu", "model": "A10G", "quantity": "1", "vram": "24 GB", "manufacturer": "Nvidia"},
     "unitCostMicroUSD": 16667, "unitCostUSD": 0.016667, "unitLabel": "minute"},
    {"name": "a10g-largex4", "prettyName": "4x Nvidia A10G - large", "cpu": "48 vCPU", "ram": "184 GB",
     "accelerator": {"type": "gpu", "model": "A10G", "quantity": "4", "vram": "96 GB", "manufacturer": "Nvidia"},
     "unitCostMicroUSD": 83333, "unitCostUSD": 0.083333, "unitLabel": "minute"},
]  # fmt: skip


class FakeJobs:
    """The fake Hub's jobs and repo files; tests drive a job with ``set_stage``, ``add_logs`` and ``push_file``."""

    jobs: dict[str, dict] = {}
    logs: dict[str, list[tuple[str, str]]] = {}
    files: dict[tuple[str, str], bytes] = {}
    cancels: list[str] = []

    @classmethod
    def reset(cls) -> None:
        cls.jobs, cls.logs, cls.files, cls.cancels = {}, {}, {}, []

    @classmethod
    def set_stage(cls, job_id: str, stage: str, message: str | None = None) -> None:
        cls.jobs[job_id]["status"] = {"stage": stage, "message": message}

    @classmethod
    def add_logs(cls, job_id: str, *lines: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 2))
        cls.logs.setdefault(job_id, []).extend((stamp, line) for line in lines)

    @classmethod
    def push_file(cls, repo: str, path: str, data: bytes) -> None:
        cls.files[(repo, path)] = data

    @classmethod
    def repo_files(cls, repo: str) -> dict[str, bytes]:
        return {path: data for (name, path), data in cls.files.items() if name == repo}


def _sha(repo: str) -> str:
    """The repo's current commit: changes whenever a file does (so cached downloads stay honest)."""
    digest = hashlib.sha1(repo.encode())
    for path, data in sorted(FakeJobs.repo_files(repo).items()):
        digest.update(path.encode() + hashlib.sha1(data).digest())
    return digest.hexdigest()


def _sse(handler: FakeHubAPI, events: list[dict]) -> None:
    """Server-sent events, then the connection closes (HTTP/1.0): what fetch_job_logs/metrics read."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    for event in events:
        handler.wfile.write(f"data: {json.dumps(event)}\n\n".encode())


def _raw(handler: FakeHubAPI, method: str, repo: str, path: str) -> None:
    data = FakeJobs.files.get((repo, path))
    if data is None:
        return handler._reply(404, {"error": "Entry not found"})
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
    handler.send_header("X-Repo-Commit", _sha(repo))
    handler.end_headers()
    if method == "GET":
        handler.wfile.write(data)


def _jobs_route(handler: FakeHubAPI, method: str, body: bytes) -> bool:
    """Answer a Jobs or repo-file request; False when the path is not one of them."""
    path = unquote(urlparse(handler.path).path)
    parts = path.strip("/").split("/")
    if path == "/api/jobs/hardware":
        handler._reply(200, HARDWARE)
        return True
    if parts[:2] == ["api", "jobs"] and len(parts) >= 3:
        if not handler._authorised():
            return True
        namespace = parts[2]
        if method == "POST" and len(parts) == 3:
            spec = json.loads(body)
            job_id = secrets.token_hex(12)
            FakeJobs.jobs[job_id] = {
                **spec, "id": job_id, "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "owner": {"id": "u-" + namespace, "name": namespace, "type": "user"},
                "status": {"stage": "SCHEDULING", "message": None},
            }  # fmt: skip
            handler._reply(200, FakeJobs.jobs[job_id])
            return True
        job = FakeJobs.jobs.get(parts[3]) if len(parts) >= 4 else None
        if job is None or job["owner"]["name"] != namespace:
            handler._reply(404, {"error": "Job not found"})
        elif len(parts) == 4:
            handler._reply(200, job)
        elif parts[4] == "logs":
            _sse(handler, [{"timestamp": t, "data": line} for t, line in FakeJobs.logs.get(job["id"], [])])
        elif parts[4] == "metrics":
            if job["status"]["stage"] != "RUNNING":
                handler._reply(406, {"error": "Job is not running"})
            else:
                gpu = {"utilization": 87, "memory_used_bytes": 14_200_000_000, "memory_total_bytes": 24_000_000_000}
                _sse(handler, [{"cpu_usage_pct": 40, "gpus": {"882fa930": gpu}, "replica": "r1"}])
        elif parts[4] == "cancel" and method == "POST":
            FakeJobs.cancels.append(job["id"])
            FakeJobs.set_stage(job["id"], "CANCELED")
            handler._reply(200, {})
        else:
            return False
        return True
    if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("revision", "tree"):
        repo = "/".join(parts[2:4])
        if not handler._authorised():
            return True
        files = FakeJobs.repo_files(repo)
        if not files:
            handler._reply(404, {"error": "Repository not found"})
        elif parts[4] == "revision":
            siblings = [{"rfilename": name} for name in sorted(files)]
            handler._reply(200, {"id": repo, "sha": _sha(repo), "private": True, "siblings": siblings})
        else:
            tree = [{"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                    for name, data in sorted(files.items())]  # fmt: skip
            handler._reply(200, tree)
        return True
    if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
        if handler._authorised():  # the output repo is private
            _raw(handler, method, "/".join(parts[:2]), "/".join(parts[4:]))
        return True
    return False


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
