"""What a page does over HTTP, without a browser: its own cookie jar and session hash, events called by number.

Used by the attacker tests: the same calls the page makes, from a client that can send any value for any
input of any event, including events no button on its page would fire.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

import httpx


@dataclass
class EventResult:
    success: bool
    data: list | None
    error: str | None
    raw: str = ""  # every message of the event stream for this event, as text (for leak checks)


@dataclass
class PageClient:
    """One browser tab: GET / (which sets its session cookie), then events by their id in /config."""

    base: str
    cookies: dict[str, str] | None = None  # forged cookies, sent instead of what the server set
    headers: dict[str, str] | None = None  # e.g. X-Forwarded-For, as a Space's proxy would add it
    http: httpx.Client = field(init=False)
    session_hash: str = field(default_factory=lambda: secrets.token_hex(6))
    config: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(timeout=120, cookies=self.cookies, headers=self.headers)
        if self.cookies is not None:  # keep sending exactly the forged cookies, whatever the server sets
            self.http.event_hooks["response"] = [lambda response: self._keep_forged()]

    def _keep_forged(self) -> None:
        self.http.cookies.clear()
        for name, value in (self.cookies or {}).items():
            self.http.cookies.set(name, value)

    def open(self) -> PageClient:
        self.http.get(self.base).raise_for_status()
        self.config = self.http.get(self.base + "config").json()
        return self

    def close(self) -> None:
        self.http.close()

    @property
    def dependencies(self) -> list[dict]:
        return [d for d in self.config["dependencies"] if d.get("backend_fn", True)]

    def dependency(self, api_name: str) -> dict:
        return next(d for d in self.config["dependencies"] if d.get("api_name") == api_name)

    def component(self, component_id: int) -> dict:
        return next(c for c in self.config["components"] if c["id"] == component_id)

    def data_for(self, dep: dict, values: dict[str, object] | None = None) -> list:
        """Inputs for an event: ``values`` by elem_id, else what the page holds (its default), None for states."""
        data = []
        for component_id in dep["inputs"]:
            component = self.component(component_id)
            props = component.get("props", {})
            elem_id = props.get("elem_id")
            if values and elem_id in values:
                data.append(values[elem_id])
            else:
                data.append(None if component.get("type") == "state" else props.get("value"))
        return data

    def upload(self, name: str, content: bytes) -> dict:
        response = self.http.post(self.base + "gradio_api/upload", files={"files": (name, content)})
        response.raise_for_status()
        path = response.json()[0]
        return {"path": path, "orig_name": name, "size": len(content), "meta": {"_type": "gradio.FileData"}}

    def call(self, fn_index: int, data: list, timeout: float = 120, extra: dict | None = None) -> EventResult:
        """One event as the page sends it: joining the queue and reading this tab's event stream until that event
        completes, or, for an event off the queue (``queue=False``), one POST (``extra``: more fields for the
        request body, e.g. a forged ``oauth_token``)."""
        body = {"data": data, "fn_index": fn_index, "session_hash": self.session_hash}
        body.update({"event_data": None, "trigger_id": None, **(extra or {})})
        dep = next((d for d in self.config.get("dependencies", []) if d["id"] == fn_index), {})
        if dep.get("queue") is False:
            return self.call_direct(body, timeout)
        response = self.http.post(self.base + "gradio_api/queue/join", json=body)
        if response.status_code != 200:
            return EventResult(False, None, f"HTTP {response.status_code}: {response.text[:300]}", response.text)
        event_id = response.json()["event_id"]
        raw: list[str] = []
        url = self.base + "gradio_api/queue/data"
        with self.http.stream("GET", url, params={"session_hash": self.session_hash}, timeout=timeout) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") not in (event_id, None):
                    continue
                raw.append(line)
                if message.get("msg") == "unexpected_error":
                    return EventResult(False, None, message.get("message"), "\n".join(raw))
                if message.get("msg") != "process_completed":
                    continue
                output = message.get("output") or {}
                ok = bool(message.get("success", False))
                return EventResult(ok, output.get("data"), None if ok else output.get("error"), "\n".join(raw))
        return EventResult(False, None, "the event stream ended early", "\n".join(raw))

    def call_direct(self, body: dict, timeout: float = 120) -> EventResult:
        """An event off the queue, as the browser sends it: one POST to ``run/predict``, answered with the outputs."""
        response = self.http.post(self.base + "gradio_api/run/predict", json=body, timeout=timeout)
        try:
            output = response.json()
        except ValueError:
            return EventResult(False, None, f"HTTP {response.status_code}: {response.text[:300]}", response.text)
        if response.status_code != 200:
            return EventResult(False, None, output.get("error") or f"HTTP {response.status_code}", response.text)
        return EventResult(True, output.get("data"), None, response.text)

    def call_named(self, api_name: str, values: dict[str, object] | None = None, timeout: float = 120) -> EventResult:
        dep = self.dependency(api_name)
        return self.call(dep["id"], self.data_for(dep, values), timeout)
